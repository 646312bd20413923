//! Hours-long scans that finish, shortened: faults at scale, kills and signals at random moments with
//! resumes from the checkpoint, an outage, a store that throttles. Every one ends with the bytes an
//! undisturbed scan writes.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::sim::{count, start_sim, summary_count, Sim, CREDS};
use common::{command, s3meta_within, Run};

fn scan(sim: &Sim, extra: &[&str]) -> Run {
    let mut args = vec!["scan", "s3://sim", "--endpoint-url", &sim.endpoint];
    args.extend_from_slice(extra);
    s3meta_within(&args, &CREDS, 600)
}

/// Keys printed more than once, and keys of `0..n` not printed (text format: the key comes first).
fn duplicates_and_missing(text: &str, n: usize) -> (usize, usize) {
    let keys: Vec<&str> = text
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    let unique: std::collections::BTreeSet<&str> = keys.iter().copied().collect();
    (keys.len() - unique.len(), n - unique.len().min(n))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("s3meta-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// xorshift, seeded from the clock: the seed is printed with every failure.
struct Moments(u64);

impl Moments {
    fn next_ms(&mut self, low: u64, high: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        low + self.0 % (high - low)
    }
}

fn seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1
}

#[test]
fn faults_at_scale_change_nothing_in_the_output() {
    const N: usize = 200_000;
    let n = N.to_string();
    let common = ["--objects", n.as_str(), "--seed", "9", "--duration", "600"];
    let clean = start_sim(&common);
    let want = scan(&clean, &["--all", "--format", "text"]);
    clean.stop();
    assert_eq!(want.code, 0, "{}", want.stderr);
    let mut args = common.to_vec();
    args.extend([
        "--fail",
        "503:0.02,500:0.01,reset:0.01,stall:0.005,truncate:0.005",
    ]);
    let faulty = start_sim(&args);
    let started = Instant::now();
    let got = scan(&faulty, &["--all", "--format", "text", "--timeout", "1"]);
    let summary = faulty.stop();
    assert_eq!(got.code, 0, "{}", got.stderr);
    let (duplicates, missing) = duplicates_and_missing(&got.stdout, N);
    assert!(
        got.stdout == want.stdout,
        "the output differs from a fault-free run's"
    );
    assert_eq!((duplicates, missing), (0, 0));
    let injected: u64 = [
        "injected_status",
        "injected_reset",
        "injected_stall",
        "injected_truncate",
    ]
    .iter()
    .map(|f| {
        let n = count(&summary, f);
        assert!(n > 0, "no {f}: {summary}");
        n
    })
    .sum();
    let retries = summary_count(&got.stderr, "retries");
    assert!(
        retries >= injected,
        "{retries} retries for {injected} faults"
    );
    eprintln!(
        "faults at scale: {N} objects, {injected} faults injected ({summary}), {retries} retries, duplicates 0, missing 0, {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// A scan of `sim` into `out` with the checkpoint `cp`, as a child process; it lists key ranges at
/// once, so a resume starts from a key a range listed.
fn spawn_scan(sim: &Sim, out: &Path, cp: &Path) -> Child {
    let (out, cp) = (out.to_str().unwrap(), cp.to_str().unwrap());
    let args = [
        "scan",
        "s3://sim",
        "--endpoint-url",
        &sim.endpoint,
        "--format",
        "csv",
        "--all",
        "-o",
        out,
        "--checkpoint",
        cp,
        "--checkpoint-every",
        "0.05",
        "--max-keys",
        "300",
        "--list-concurrency",
        "8",
    ];
    command(&args, &CREDS)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait_for(mut child: Child, secs: u64) -> (i32, String) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status.code().unwrap_or(-1), common::stderr_of(&mut child));
        }
        assert!(Instant::now() < deadline, "the scan did not end");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn send(child: &Child, signal: &str) {
    let ok = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {signal}");
}

/// Stops a scan `stops` times at random moments with `signal`, resuming each time, then lets it end:
/// the output must be the one an uninterrupted scan writes.
fn interrupted_scans_resume_exactly(signal: &str, expect_code: Option<i32>, stops: usize) {
    const N: usize = 120_000;
    let dir = scratch(&format!("stops{}", signal.trim_start_matches('-')));
    let sim = start_sim(&[
        "--objects",
        &N.to_string(),
        "--meta-fraction",
        "0.7",
        "--duration",
        "600",
    ]);
    let (clean, clean_cp) = (dir.join("clean.csv"), dir.join("clean.cp"));
    let (code, err) = wait_for(spawn_scan(&sim, &clean, &clean_cp), 300);
    assert_eq!(code, 0, "{err}");
    let (out, cp) = (dir.join("out.csv"), dir.join("out.cp"));
    let seed = seed();
    let mut moments = Moments(seed);
    let mut at = Vec::new();
    let mut stopped = 0;
    while stopped < stops {
        let child = spawn_scan(&sim, &out, &cp);
        let wait = moments.next_ms(150, 900);
        std::thread::sleep(Duration::from_millis(wait));
        if child_done(&child) {
            break;
        }
        send(&child, signal);
        let (code, err) = wait_for(child, 60);
        at.push(wait);
        stopped += 1;
        if let Some(want) = expect_code {
            if code == 0 {
                break; // it ended just before the signal
            }
            assert_eq!(code, want, "seed {seed}, stops at {at:?} ms: {err}");
            assert!(
                err.contains("run the same command again to resume"),
                "{err}"
            );
        }
    }
    assert!(
        stopped >= stops,
        "seed {seed}: the scan ended after {stopped} stops: make it longer"
    );
    let (code, err) = wait_for(spawn_scan(&sim, &out, &cp), 300);
    assert_eq!(code, 0, "seed {seed}, stops at {at:?} ms: {err}");
    assert!(err.contains("resumed="), "{err}");
    let (want, got) = (std::fs::read(&clean).unwrap(), std::fs::read(&out).unwrap());
    assert!(
        want == got,
        "seed {seed}, {signal} at {at:?} ms after each start: the resumed output ({} bytes) is not the clean one ({} bytes)",
        got.len(),
        want.len()
    );
    // Run once more: the checkpoint says the scan is complete, and nothing changes.
    let (code, err) = wait_for(spawn_scan(&sim, &out, &cp), 60);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("is complete"), "{err}");
    assert!(std::fs::read(&out).unwrap() == want);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn child_done(child: &Child) -> bool {
    std::fs::metadata(format!("/proc/{}", child.id())).is_err()
}

#[test]
fn kill_9_at_random_moments_and_resuming_gives_the_clean_output() {
    interrupted_scans_resume_exactly("-KILL", None, 6);
}

#[test]
fn sigint_and_sigterm_stop_in_order_and_resume_exactly() {
    interrupted_scans_resume_exactly("-INT", Some(130), 3);
    interrupted_scans_resume_exactly("-TERM", Some(143), 3);
}

#[test]
fn an_outage_is_ridden_out_at_the_budgets_rate() {
    const N: usize = 30_000;
    let sim = start_sim(&["--objects", &N.to_string(), "--outage", "0.3s+3s"]);
    let got = scan(&sim, &["--format", "text"]);
    let summary = sim.stop();
    assert_eq!(got.code, 0, "{}", got.stderr);
    assert_eq!(duplicates_and_missing(&got.stdout, N), (0, 0));
    assert_eq!(got.stdout.lines().count(), N);
    // 256 HEADs were out when it began; in 3 s the limits and the budget let few more through.
    let during = count(&summary, "outage");
    assert!(
        during < 1500,
        "{during} requests during the outage: {summary}"
    );
    assert_eq!(summary_count(&got.stderr, "failed"), 0);
    eprintln!("outage: {during} requests answered 503 during 3 s; {summary}");
}

#[test]
fn the_limit_falls_under_throttling_and_rises_after_it() {
    let sim = start_sim(&["--objects", "60000", "--outage", "0.2s+0.5s"]);
    let got = scan(&sim, &["--format", "text"]);
    sim.stop();
    assert_eq!(got.code, 0, "{}", got.stderr);
    let lowest = summary_count(&got.stderr, "head_limit_lowest");
    let last = summary_count(&got.stderr, "head_limit");
    // At least one cut to 0.7 × 256. How many more depends on how many fresh answers the outage gets
    // once the retry budget is spent (a trickle), so the test asks only for a fall and a rise.
    assert!(
        lowest <= 179,
        "the limit fell only to {lowest}: {}",
        got.stderr
    );
    assert!(
        last > lowest,
        "the limit did not rise again: {last} after {lowest}"
    );
}

#[test]
fn a_store_that_throttles_at_a_few_hundred_requests_per_second_gets_every_object() {
    let sim = start_sim(&[
        "--objects",
        "3000",
        "--throttle",
        "300",
        "--head-latency",
        "1ms",
    ]);
    let got = scan(&sim, &["--format", "text"]);
    let summary = sim.stop();
    assert_eq!(got.code, 0, "{}", got.stderr);
    assert_eq!(got.stdout.lines().count(), 3000);
    assert_eq!(summary_count(&got.stderr, "failed"), 0);
    // Most requests answered: the rate settled under the store's instead of hammering it (of the
    // first burst of 256, before any answer, all but a few are throttled).
    let (requests, throttled) = (count(&summary, "requests"), count(&summary, "throttled"));
    assert!(
        throttled * 3 < requests,
        "{throttled} of {requests} throttled"
    );
    eprintln!("throttled store: {throttled} of {requests} requests throttled");
}

#[test]
fn stdout_appended_to_a_file_resumes_and_one_emptied_by_the_shell_is_refused() {
    let dir = scratch("stdout");
    let sim = start_sim(&["--objects", "3000"]);
    let (out, cp) = (dir.join("out.jsonl"), dir.join("out.cp"));
    let run = |append: bool| {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(append)
            .write(true)
            .truncate(!append)
            .open(&out)
            .unwrap();
        let args = [
            "scan",
            "s3://sim",
            "--endpoint-url",
            &sim.endpoint,
            "--checkpoint",
            cp.to_str().unwrap(),
            "--max-rps",
            "2000",
        ];
        command(&args, &CREDS)
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let child = run(true);
    std::thread::sleep(Duration::from_millis(700));
    send(&child, "-INT");
    let (code, err) = wait_for(child, 60);
    assert_eq!(code, 130, "{err}");
    // `>`: the shell empties the file before s3meta starts; that is refused, and nothing is lost but
    // what `>` itself threw away.
    let (code, err) = wait_for(run(false), 60);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("fewer than the") && err.contains("`>` instead of `>>`"),
        "{err}"
    );
    std::fs::remove_file(&cp).unwrap();
    // From the start with `>>`, stopped, then resumed with `>>`: the bytes of one clean run.
    std::fs::write(&out, b"").unwrap();
    let child = run(true);
    std::thread::sleep(Duration::from_millis(700));
    send(&child, "-TERM");
    assert_eq!(wait_for(child, 60).0, 143);
    let (code, err) = wait_for(run(true), 60);
    assert_eq!(code, 0, "{err}");
    let got = std::fs::read_to_string(&out).unwrap();
    let want = scan(&sim, &[]);
    assert!(
        got == want.stdout,
        "the resumed stdout differs from a clean scan's"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_full_disk_is_fatal_in_one_line() {
    let sim = start_sim(&["--objects", "20000"]);
    let got = scan(&sim, &["-o", "/dev/full"]);
    assert_eq!(got.code, 3, "{}", got.stderr);
    assert!(
        got.stderr
            .contains("cannot write the output: No space left on device"),
        "{}",
        got.stderr
    );
    // A checkpoint needs a regular file to cut back.
    let dir = scratch("full");
    let cp = dir.join("cp");
    let got = scan(
        &sim,
        &["-o", "/dev/full", "--checkpoint", cp.to_str().unwrap()],
    );
    assert_eq!(got.code, 2, "{}", got.stderr);
    assert!(
        got.stderr.contains("is not a regular file"),
        "{}",
        got.stderr
    );
    assert!(!cp.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}
