#!/usr/bin/env bash
# One s3meta scan per shard of a plan, as a Slurm job array (README.md, "Shards").
#
#   s3meta plan s3://BUCKET/PREFIX --shards 16 -o plan.json
#   sbatch --array=0-15 slurm-array.sh s3://BUCKET/PREFIX plan.json /shared/out
#   # when every task has ended (squeue shows none):
#   for i in $(seq 0 15); do cat /shared/out/shard-$i.jsonl; done > all.jsonl
#
# Give --array=0-(N-1) for a plan of N shards: each task scans shard $SLURM_ARRAY_TASK_ID of
# $SLURM_ARRAY_TASK_COUNT (a plan of another count is refused). Each writes its own output and
# checkpoint in the output folder (on storage every node sees), so a task that is requeued
# (scontrol requeue, preemption, a node that failed) resumes where it stopped, and the outputs,
# concatenated in shard order, are the bytes of one scan of the whole listing.
#
# Credentials and the endpoint come from the environment sbatch passes on (AWS_ACCESS_KEY_ID,
# AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL) or from ~/.aws; never write them into this file.
# S3META names the binary (default: s3meta on PATH); S3META_ARGS adds scan options (-j 512 ...).
#SBATCH --job-name=s3meta
#SBATCH --requeue
#SBATCH --open-mode=append
#SBATCH --output=s3meta-%A_%a.log
#SBATCH --cpus-per-task=1
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: sbatch --array=0-(N-1) $0 s3://BUCKET[/PREFIX] PLAN OUTDIR" >&2; exit 2; }
: "${SLURM_ARRAY_TASK_ID:?submit with sbatch --array=0-(N-1)}"
mkdir -p "$3"
# shellcheck disable=SC2086  # S3META_ARGS is a list of options
exec "${S3META:-s3meta}" scan "$1" --plan "$2" --shard "auto/$SLURM_ARRAY_TASK_COUNT" \
  -o "$3/shard-{shard}.jsonl" --checkpoint "$3/shard-{shard}.checkpoint" --progress never \
  ${S3META_ARGS:-}
