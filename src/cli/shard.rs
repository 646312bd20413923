//! `--shard I/N --plan FILE`: which shard of a plan a scan lists, with `auto` taking `I` from the array
//! job it runs in.

use std::path::{Path, PathBuf};

use super::environment::Environment;
use super::UsageError;
use crate::core::plan::{Plan, ShardRange, MAX_PLAN_BYTES, MAX_SHARDS};

/// Where a shard's index comes from, in the order tried: a Kubernetes Indexed Job's pod, a Slurm
/// array task.
pub(crate) const INDEX_VARIABLES: [&str; 2] = ["JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID"];

/// `--shard I/N` as given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ShardFlag {
    /// `None`: `auto`.
    pub index: Option<usize>,
    pub count: usize,
}

fn usage(msg: impl Into<String>) -> UsageError {
    UsageError(msg.into())
}

impl ShardFlag {
    pub(crate) fn parse(value: &str) -> Result<ShardFlag, UsageError> {
        let bad = || {
            usage(format!(
                "--shard takes I/N (0 <= I < N <= {MAX_SHARDS}) or auto/N, not {value:?}"
            ))
        };
        let (i, n) = value.split_once('/').ok_or_else(bad)?;
        let count: usize = n.parse().map_err(|_| bad())?;
        if !(1..=MAX_SHARDS).contains(&count) {
            return Err(bad());
        }
        let index = match i {
            "auto" => None,
            _ => Some(
                i.parse::<usize>()
                    .ok()
                    .filter(|&i| i < count)
                    .ok_or_else(bad)?,
            ),
        };
        Ok(ShardFlag { index, count })
    }

    /// The index: as given, or from the first of [`INDEX_VARIABLES`] that is set.
    pub(crate) fn index(&self, env: &dyn Environment) -> Result<usize, UsageError> {
        if let Some(i) = self.index {
            return Ok(i);
        }
        for name in INDEX_VARIABLES {
            if let Some(v) = env.var(name).map_err(UsageError)? {
                return match v.parse::<usize>() {
                    Ok(i) if i < self.count => Ok(i),
                    _ => Err(usage(format!(
                        "--shard auto/{n}: {name} is {v:?}, not an index from 0 to {}{}",
                        self.count - 1,
                        if name == "SLURM_ARRAY_TASK_ID" {
                            format!(" (submit with --array=0-{})", self.count - 1)
                        } else {
                            String::new()
                        },
                        n = self.count
                    ))),
                };
            }
        }
        Err(usage(format!(
            "--shard auto/{}: neither {} (a Kubernetes Indexed Job) nor {} (a Slurm array task) is set",
            self.count, INDEX_VARIABLES[0], INDEX_VARIABLES[1]
        )))
    }
}

/// Reads the plan at `path` and picks shard `index` of `count` for the listing of `bucket` and
/// `prefix`; a plan of another listing, or of another number of shards, is refused.
pub(crate) fn shard_of_plan(
    path: &Path,
    env: &dyn Environment,
    index: usize,
    count: usize,
    bucket: &str,
    prefix: &[u8],
) -> Result<ShardRange, UsageError> {
    let shown = path.display();
    let text = env
        .read_file(path, MAX_PLAN_BYTES)
        .map_err(|e| usage(format!("the plan {shown} cannot be read: {e}")))?
        .ok_or_else(|| {
            usage(format!(
                "the plan {shown} does not exist (make it with s3meta plan)"
            ))
        })?;
    let mut plan = Plan::parse(&text)
        .map_err(|why| usage(format!("the plan {shown} cannot be used: {why}")))?;
    if plan.bucket != bucket || plan.prefix != prefix {
        return Err(usage(format!(
            "the plan {shown} is of s3://{}/{}, not of this scan's s3://{bucket}/{}",
            plan.bucket,
            String::from_utf8_lossy(&plan.prefix),
            String::from_utf8_lossy(prefix)
        )));
    }
    if plan.shards.len() != count {
        return Err(usage(format!(
            "the plan {shown} has {} shards, --shard says {count}",
            plan.shards.len()
        )));
    }
    Ok(plan.shards.swap_remove(index))
}

/// A path with `{shard}` replaced by the shard's index (so one command line serves every shard).
pub(crate) fn per_shard(path: PathBuf, index: usize) -> PathBuf {
    match path.to_str() {
        Some(p) if p.contains("{shard}") => PathBuf::from(p.replace("{shard}", &index.to_string())),
        _ => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_flags() {
        assert_eq!(
            ShardFlag::parse("3/4").unwrap(),
            ShardFlag {
                index: Some(3),
                count: 4
            }
        );
        assert_eq!(ShardFlag::parse("auto/8").unwrap().index, None);
        for bad in ["4/4", "1", "a/4", "0/0", "-1/4", "0/10001", "auto/"] {
            assert!(ShardFlag::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            per_shard(PathBuf::from("out.{shard}.jsonl"), 7),
            PathBuf::from("out.7.jsonl")
        );
    }
}
