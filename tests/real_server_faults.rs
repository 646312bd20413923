//! Real servers misbehaving as stores do in a long scan: Garage stopped and restarted in the middle
//! of one, and each server behind a proxy that throttles at a few hundred requests per second. The
//! output must be what an undisturbed scan of the same server prints.
//!
//! `#[ignore]`d like the other real-server tests: tests/run.sh runs them with the servers up. This
//! file is a test binary of its own, so that no other test uses Garage while it restarts.

mod common;

use std::io::Read;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::sim::summary_count;
use common::throttle_proxy;
use common::{command, servers, Run, Server};

fn env(server: &Server) -> Vec<(&'static str, String)> {
    server.env()
}

fn run_scan(server: &Server, endpoint: &str, extra: &[&str]) -> Run {
    let mut args = vec!["scan", "s3://itest", "--endpoint-url", endpoint, "--all"];
    args.extend_from_slice(extra);
    let env = env(server);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    common::s3meta_within(&args, &env, 300)
}

fn port_of(endpoint: &str) -> u16 {
    endpoint
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .parse()
        .unwrap()
}

fn wait_until(what: &str, secs: u64, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !ok() {
        assert!(Instant::now() < deadline, "{what} within {secs} s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn alive(pid: &str) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Stops the Garage that tests/servers/garage-up.sh started in `dir` (TERM, then KILL), waits `down`,
/// and starts it again on the same data and configuration (its PID file updated for stop.sh).
fn restart_garage(dir: &Path, port: u16, down: Duration) {
    let pid_file = dir.join("garage.pid");
    let pid = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .to_owned();
    let signal = |name: &str| {
        // It may have exited meanwhile: the outcome is checked by `alive`.
        let _ = Command::new("kill").args([name, &pid]).status();
    };
    signal("-TERM");
    // On TERM, garage serves its open connections until they close, and a scan keeps its own busy:
    // a second later it is killed, as a node that crashes.
    let deadline = Instant::now() + Duration::from_secs(1);
    while alive(&pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    if alive(&pid) {
        signal("-KILL");
    }
    wait_until("garage stops", 30, || !alive(&pid));
    std::thread::sleep(down);
    // As garage-up.sh starts it: in the background, outliving this test (stop.sh stops it).
    let started = Command::new("bash")
        .arg("-c")
        .arg(r#"cd "$1" || exit 1; RUST_LOG=garage=warn nohup garage -c garage.toml server >> garage.log 2>&1 < /dev/null & echo $! > garage.pid"#)
        .arg("restart")
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("start garage again");
    assert!(started.success());
    wait_until("garage answers again", 60, || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
}

#[test]
#[ignore = "needs the real servers of tests/run.sh"]
fn a_garage_restarted_in_the_middle_of_a_scan_is_ridden_out_exactly() {
    let Some(garage) = servers().into_iter().find(|s| s.name == "garage") else {
        panic!("no garage in S3META_TEST_SERVERS");
    };
    let dir = garage.manifest.parent().unwrap().to_owned();
    let clean = run_scan(&garage, &garage.endpoint, &["-j", "8"]);
    assert_eq!(clean.code, 0, "{}", clean.stderr);
    let objects = summary_count(&clean.stderr, "heads");
    assert!(objects > 2000, "{objects}");

    // Slowed down so that the restart falls in the middle: about 10 s of HEADs.
    let rps = (objects / 10).to_string();
    let args = [
        "scan",
        "s3://itest",
        "--endpoint-url",
        &garage.endpoint,
        "--all",
        "-j",
        "8",
        "--max-rps",
        &rps,
    ];
    let env = env(&garage);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut child = command(&args, &env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut b = String::new();
        out.read_to_string(&mut b).unwrap();
        b
    });
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the scan ended before the restart"
    );
    restart_garage(&dir, port_of(&garage.endpoint), Duration::from_secs(2));
    // Still running once garage is back: the scan spanned the whole time it was down.
    let spanned = child.try_wait().unwrap().is_none();
    let status = child.wait().unwrap();
    let err = common::stderr_of(&mut child);
    let stdout = reader.join().unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    // Requests that found no connection either failed and were retried, or waited in the pool for one
    // that a connect opened once garage was back: retries may be 0.
    assert!(
        spanned,
        "the scan ended while garage was down or starting: the restart did not fall in the middle. {err}"
    );
    assert!(
        stdout == clean.stdout,
        "the output differs from the undisturbed scan's: {err}"
    );
}

#[test]
#[ignore = "needs the real servers of tests/run.sh"]
fn behind_a_proxy_that_throttles_at_400_requests_per_second_every_object_is_reported() {
    for server in servers() {
        let clean = run_scan(&server, &server.endpoint, &[]);
        assert_eq!(clean.code, 0, "{}: {}", server.name, clean.stderr);
        let upstream = server
            .endpoint
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let proxy = throttle_proxy::start(&upstream, 400.0);
        let got = run_scan(&server, &proxy.endpoint, &[]);
        let (passed, throttled) = (
            proxy.passed.load(std::sync::atomic::Ordering::Relaxed),
            proxy.throttled.load(std::sync::atomic::Ordering::Relaxed),
        );
        assert_eq!(got.code, 0, "{}: {}", server.name, got.stderr);
        assert_eq!(summary_count(&got.stderr, "failed"), 0, "{}", server.name);
        assert!(
            throttled > 0,
            "{}: the proxy throttled nothing",
            server.name
        );
        assert!(
            passed > 3 * throttled,
            "{}: {throttled} throttled, {passed} answered",
            server.name
        );
        assert!(
            got.stdout == clean.stdout,
            "{}: the output differs",
            server.name
        );
        eprintln!(
            "{} behind a 400 requests/s throttle: {passed} answered, {throttled} throttled",
            server.name
        );
    }
}
