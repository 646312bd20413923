//! The shipped Slurm array script (docs/examples/slurm-array.sh) on the one-node Slurm tests/run.sh
//! starts: `sbatch --array=0-3` of a 4-shard plan gives the bytes of one scan, also when a task is
//! requeued in the middle and resumes from its checkpoint.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::s3meta;
use common::sim::{make_plan, start_sim, Sim, CREDS};

/// `SLURM_CONF` of the cluster tests/run.sh started, or `None` (the test then fails if Slurm is
/// required, and passes as a no-op in a plain `cargo test --include-ignored` elsewhere).
fn slurm_conf() -> Option<String> {
    let conf = std::env::var("S3META_SLURM_CONF")
        .ok()
        .filter(|c| !c.is_empty());
    let required = std::env::var("S3META_REQUIRE_TOOLS")
        .unwrap_or_default()
        .split(',')
        .any(|s| s == "slurm");
    assert!(
        conf.is_some() || !required,
        "S3META_REQUIRE_TOOLS names slurm, but S3META_SLURM_CONF is not set"
    );
    conf
}

fn slurm(conf: &str, args: &[&str]) -> String {
    let out = Command::new(args[0])
        .args(&args[1..])
        .env("SLURM_CONF", conf)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", args[0]));
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Submits the array script over `plan` with output in `out`; the job id.
fn submit(conf: &str, sim: &Sim, plan: &Path, out: &Path, dir: &Path) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/examples/slurm-array.sh");
    let out = Command::new("sbatch")
        .args(["--parsable", "--array=0-3"])
        .arg(format!("--chdir={}", dir.display()))
        .arg(&script)
        .args(["s3://sim", plan.to_str().unwrap(), out.to_str().unwrap()])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("SLURM_CONF", conf)
        .env("S3META", common::binary())
        // Slow enough that a task is still running when it is requeued.
        .env("S3META_ARGS", "-j 4 --checkpoint-every 0.2")
        .env("AWS_ENDPOINT_URL", &sim.endpoint)
        .envs(CREDS)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sbatch: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// Polls squeue (not `sbatch --wait`, which polls at 2, 10, 42 s) until the job has no task left.
fn wait_for(conf: &str, job: &str, within: Duration) {
    let start = Instant::now();
    while !slurm(conf, &["squeue", "-h", "-j", job, "-o", "%i"]).is_empty() {
        assert!(
            start.elapsed() < within,
            "job {job} still queued after {within:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn joined(out: &Path) -> Vec<u8> {
    (0..4)
        .flat_map(|i| std::fs::read(out.join(format!("shard-{i}.jsonl"))).unwrap())
        .collect()
}

fn log(dir: &Path, job: &str, task: usize) -> String {
    std::fs::read_to_string(dir.join(format!("s3meta-{job}_{task}.log"))).unwrap_or_default()
}

#[test]
#[ignore = "needs the one-node Slurm of tests/run.sh"]
fn a_slurm_array_of_four_shards_gives_the_bytes_of_one_scan_and_resumes_a_requeued_task() {
    let Some(conf) = slurm_conf() else {
        return;
    };
    let dir: PathBuf = std::env::temp_dir().join(format!("s3meta-slurm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let sim = start_sim(&[
        "--objects",
        "12000",
        "--layout",
        "tree:5:3",
        "--head-latency",
        "5ms",
    ]);
    let plan = dir.join("plan.json");
    make_plan(&sim, 4, &plan, &[]);
    let one = s3meta(
        &["scan", "s3://sim", "--endpoint-url", &sim.endpoint],
        &CREDS,
    );
    assert_eq!(one.code, 0, "{}", one.stderr);

    // Every task to its end.
    let out = dir.join("out");
    let job = submit(&conf, &sim, &plan, &out, &dir);
    wait_for(&conf, &job, Duration::from_secs(180));
    for task in 0..4 {
        let cp = std::fs::read_to_string(out.join(format!("shard-{task}.checkpoint"))).unwrap();
        assert!(
            cp.contains("complete true"),
            "task {task}: {}",
            log(&dir, &job, task)
        );
    }
    assert!(
        joined(&out) == one.stdout.as_bytes(),
        "the tasks' outputs differ from one scan"
    );

    // Task 1 requeued while it runs (Slurm stops it with SIGTERM): it starts again and resumes.
    let out = dir.join("requeued");
    let job = submit(&conf, &sim, &plan, &out, &dir);
    let task = format!("{job}_1");
    let start = Instant::now();
    loop {
        let written = std::fs::metadata(out.join("shard-1.jsonl")).map_or(0, |m| m.len());
        let running = slurm(&conf, &["squeue", "-h", "-j", &task, "-o", "%t"]) == "R";
        if running && written > 0 && out.join("shard-1.checkpoint").exists() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "task 1 never ran: {}",
            log(&dir, &job, 1)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    slurm(&conf, &["scontrol", "requeue", &task]);
    // A requeued job waits two minutes before it may start again; it may start now.
    let deadline = Instant::now() + Duration::from_secs(30);
    while slurm(&conf, &["squeue", "-h", "-j", &task, "-o", "%t"]) != "PD" {
        assert!(Instant::now() < deadline, "task 1 was not requeued");
        std::thread::sleep(Duration::from_millis(100));
    }
    slurm(
        &conf,
        &[
            "scontrol",
            "update",
            &format!("JobId={task}"),
            "StartTime=now",
        ],
    );
    wait_for(&conf, &job, Duration::from_secs(180));
    let requeued = log(&dir, &job, 1);
    assert!(requeued.contains("stopped by SIGTERM"), "{requeued}");
    assert!(
        requeued.contains("resuming from the checkpoint"),
        "{requeued}"
    );
    assert!(
        joined(&out) == one.stdout.as_bytes(),
        "after a requeue, the tasks' outputs differ from one scan: {requeued}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
