//! `s3meta plan` and `scan --shard I/N` against the simulator: the shards' outputs, concatenated in
//! shard order, are the bytes of one scan; the README's `xargs -P` line does that; a shard resumes
//! from its own checkpoint.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::s3meta;
use common::sim::{make_plan, start_sim, Sim, CREDS};

fn run(sim: &Sim, command: &str, extra: &[&str]) -> common::Run {
    let mut args = vec![command, "s3://sim", "--endpoint-url", &sim.endpoint];
    args.extend_from_slice(extra);
    s3meta(&args, &CREDS)
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("s3meta-shards-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn plan(sim: &Sim, dir: &std::path::Path, shards: usize, extra: &[&str]) -> String {
    let path = dir.join(format!("plan{shards}.json"));
    make_plan(sim, shards, &path, extra);
    path.to_str().unwrap().to_owned()
}

#[test]
fn shards_concatenated_are_the_bytes_of_one_scan() {
    let dir = scratch("concat");
    for layout in ["flat", "tree:7:3"] {
        let sim = start_sim(&["--objects", "30000", "--layout", layout]);
        let args = ["--all", "--format", "text", "--max-keys", "200"];
        let one = run(&sim, "scan", &args);
        assert_eq!(one.code, 0, "{}", one.stderr);
        assert_eq!(one.stdout.lines().count(), 30000);
        for shards in [1, 4, 7] {
            let plan = plan(&sim, &dir, shards, &["--max-keys", "200"]);
            let n = shards.to_string();
            let mut joined = String::new();
            let mut nonempty = 0;
            for i in 0..shards {
                let which = format!("{i}/{n}");
                let part = run(
                    &sim,
                    "scan",
                    &[&args[..], &["--plan", &plan, "--shard", &which]].concat(),
                );
                assert_eq!(part.code, 0, "{}", part.stderr);
                nonempty += usize::from(!part.stdout.is_empty());
                joined.push_str(&part.stdout);
            }
            assert!(
                joined == one.stdout,
                "{layout}, {shards} shards: the concatenation differs from one scan"
            );
            // Balanced enough that every shard holds objects.
            assert_eq!(nonempty, shards, "{layout}, {shards} shards");
        }
        // auto/N takes the index from the array job's variable.
        let plan = plan(&sim, &dir, 4, &[]);
        for var in ["JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID"] {
            let mut env = CREDS.to_vec();
            env.push((var, "2"));
            let args = [
                "scan",
                "s3://sim",
                "--endpoint-url",
                &sim.endpoint,
                "--plan",
                &plan,
                "--shard",
                "auto/4",
            ];
            let auto = s3meta(&args, &env);
            let direct = run(&sim, "scan", &["--plan", &plan, "--shard", "2/4"]);
            assert_eq!(auto.code, 0, "{}", auto.stderr);
            assert!(
                !auto.stdout.is_empty() && auto.stdout == direct.stdout,
                "{var}"
            );
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_plan_of_another_listing_or_shard_count_is_refused() {
    let dir = scratch("refused");
    let sim = start_sim(&["--objects", "3000"]);
    let plan = plan(&sim, &dir, 3, &[]);
    for (args, why) in [
        (
            vec!["--plan", &plan, "--shard", "0/4"],
            "has 3 shards, --shard says 4",
        ),
        (vec!["--shard", "0/3"], "--shard needs --plan FILE"),
        (vec!["--plan", &plan], "--plan goes with --shard"),
        (
            vec!["--plan", &plan, "--shard", "0/3", "--start-after", "a"],
            "--start-after goes to s3meta plan",
        ),
        (
            vec!["--plan", &plan, "--shard", "auto/3"],
            "neither JOB_COMPLETION_INDEX",
        ),
    ] {
        let r = run(&sim, "scan", &args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(why), "{args:?}: {}", r.stderr);
    }
    let mut env = CREDS.to_vec();
    env.push(("SLURM_ARRAY_TASK_ID", "3"));
    let r = s3meta(
        &[
            "scan",
            "s3://sim",
            "--endpoint-url",
            &sim.endpoint,
            "--plan",
            &plan,
            "--shard",
            "auto/3",
        ],
        &env,
    );
    assert!(r.stderr.contains("submit with --array=0-2"), "{}", r.stderr);
    let r = s3meta(
        &[
            "scan",
            "s3://other",
            "--endpoint-url",
            &sim.endpoint,
            "--plan",
            &plan,
            "--shard",
            "0/3",
        ],
        &CREDS,
    );
    assert!(
        r.stderr
            .contains("is of s3://sim/, not of this scan's s3://other/"),
        "{}",
        r.stderr
    );
    let r = run(&sim, "plan", &["--shards", "2", "--format", "csv"]);
    assert!(
        r.stderr
            .contains("--format is an option of scan, not of plan"),
        "{}",
        r.stderr
    );
    let r = run(&sim, "plan", &[]);
    assert!(r.stderr.contains("plan needs --shards N"), "{}", r.stderr);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The README's one-liner: every shard at once with `xargs -P`, one output per shard.
#[test]
fn the_xargs_one_liner_runs_every_shard_at_once() {
    let dir = scratch("xargs");
    let sim = start_sim(&["--objects", "20000", "--layout", "tree:5:3"]);
    let plan = plan(&sim, &dir, 4, &[]);
    let one = run(&sim, "scan", &[]);
    assert_eq!(one.code, 0, "{}", one.stderr);
    let line = format!(
        "seq 0 3 | xargs -P 4 -I{{}} {bin} scan s3://sim --endpoint-url {ep} --plan {plan} --shard {{}}/4 -o {d}/out.{{shard}}.jsonl --checkpoint {d}/out.{{shard}}.checkpoint --progress never && cat {d}/out.0.jsonl {d}/out.1.jsonl {d}/out.2.jsonl {d}/out.3.jsonl",
        bin = common::binary(),
        ep = sim.endpoint,
        d = dir.display()
    );
    let out = Command::new("sh")
        .args(["-c", &line])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(CREDS)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stdout == one.stdout.as_bytes(),
        "the shards' outputs differ from one scan"
    );
    for i in 0..4 {
        let cp = std::fs::read_to_string(dir.join(format!("out.{i}.checkpoint"))).unwrap();
        assert!(cp.contains("complete true"), "{cp}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_shard_resumes_from_its_own_checkpoint() {
    let dir = scratch("resume");
    let sim = start_sim(&["--objects", "20000", "--head-latency", "2ms"]);
    let plan = plan(&sim, &dir, 3, &[]);
    let out = dir.join("out.1.jsonl");
    let cp = dir.join("cp.1");
    let whole = run(&sim, "scan", &["--plan", &plan, "--shard", "1/3"]);
    assert_eq!(whole.code, 0, "{}", whole.stderr);
    let args = [
        "scan",
        "s3://sim",
        "--endpoint-url",
        &sim.endpoint,
        "--plan",
        &plan,
        "--shard",
        "1/3",
        "-j",
        "8",
        "-o",
        out.to_str().unwrap(),
        "--checkpoint",
        cp.to_str().unwrap(),
        "--checkpoint-every",
        "0.1",
    ];
    let child = common::command(&args, &CREDS)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let stopped = child.wait_with_output().unwrap();
    assert_eq!(
        stopped.status.code(),
        Some(143),
        "{}",
        String::from_utf8_lossy(&stopped.stderr)
    );
    let partial = std::fs::read(&out).unwrap();
    assert!(!partial.is_empty() && partial.len() < whole.stdout.len());
    // Another shard's scan does not take this checkpoint.
    let other = s3meta(
        &[&args[..6], &["--shard", "2/3"], &args[8..]].concat(),
        &CREDS,
    );
    assert_eq!(other.code, 2, "{}", other.stderr);
    assert!(
        other.stderr.contains("is of another scan"),
        "{}",
        other.stderr
    );
    let resumed = s3meta(&args, &CREDS);
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert!(
        resumed.stderr.contains("resuming from the checkpoint"),
        "{}",
        resumed.stderr
    );
    assert!(std::fs::read(&out).unwrap() == whole.stdout.as_bytes());
    std::fs::remove_dir_all(&dir).unwrap();
}
