//! `s3meta sim` as a real process, scanned by the real binary: exact agreement with and without
//! injected faults, signature checks, and `s3meta demo`.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use common::s3meta;

/// A running `s3meta sim`, killed when dropped.
struct Sim {
    child: Child,
    endpoint: String,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_low_port() -> u16 {
    let start = 21000 + (std::process::id() % 6000) as u16;
    (start..32000)
        .chain(21000..start)
        .find(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok())
        .expect("a free port")
}

fn start_sim(args: &[&str]) -> Sim {
    for _ in 0..5 {
        let listen = format!("127.0.0.1:{}", free_low_port());
        let mut child = Command::new(env!("CARGO_BIN_EXE_s3meta"))
            .args(["sim", "--listen", &listen, "--duration", "120"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start s3meta sim");
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        if let Some(rest) = first.split("listening on ").nth(1) {
            let endpoint = rest.split_whitespace().next().unwrap().to_string();
            return Sim { child, endpoint };
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("s3meta sim did not start");
}

const CREDS: [(&str, &str); 2] = [
    ("AWS_ACCESS_KEY_ID", "S3METASIMACCESSKEY"),
    ("AWS_SECRET_ACCESS_KEY", "s3meta-sim-public-test-secret"),
];

fn scan(sim: &Sim, extra: &[&str]) -> common::Run {
    let mut args = vec!["scan", "s3://sim", "--endpoint-url", &sim.endpoint];
    args.extend_from_slice(extra);
    s3meta(&args, &CREDS)
}

#[test]
fn a_clean_scan_lists_every_object_in_order() {
    let sim = start_sim(&[
        "--objects",
        "5000",
        "--layout",
        "tree:4:2",
        "--meta-fraction",
        "0.5",
        "--meta-pairs",
        "2",
    ]);
    let all = scan(&sim, &["--all", "--max-keys", "700", "-j", "32"]);
    assert_eq!(all.code, 0, "{}", all.stderr);
    let lines: Vec<&str> = all.stdout.lines().collect();
    assert_eq!(lines.len(), 5000);
    let keys: Vec<String> = lines
        .iter()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["key"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "keys in order");
    assert_eq!(keys[0], "d0/d0/obj000000");
    let with_meta = lines
        .iter()
        .filter(|l| !l.contains("\"metadata\":{}"))
        .count();
    assert!((2000..3000).contains(&with_meta), "{with_meta}");
    let default = scan(&sim, &[]);
    assert_eq!(default.stdout.lines().count(), with_meta);
    assert!(
        default.stderr.contains(&format!(
            "listed=5000 heads=5000 with_metadata={with_meta} printed={with_meta}"
        )),
        "{}",
        default.stderr
    );
}

#[test]
fn injected_faults_change_nothing_in_the_output() {
    let clean = start_sim(&["--objects", "3000", "--seed", "5"]);
    let expected = scan(&clean, &["--format", "text", "--all"]);
    assert_eq!(expected.code, 0, "{}", expected.stderr);
    let faulty = start_sim(&[
        "--objects",
        "3000",
        "--seed",
        "5",
        "--fail",
        "503:0.05,500:0.02,reset:0.02,truncate:0.02,stall:0.002",
    ]);
    let got = scan(
        &faulty,
        &[
            "--format",
            "text",
            "--all",
            "--retries",
            "10",
            "--timeout",
            "1",
            "-j",
            "64",
        ],
    );
    assert_eq!(got.code, 0, "{}", got.stderr);
    assert!(got.stdout == expected.stdout, "output differs under faults");
}

#[test]
fn the_simulator_checks_signatures() {
    let sim = start_sim(&["--objects", "10"]);
    let run = s3meta(
        &["scan", "s3://sim", "--endpoint-url", &sim.endpoint],
        &[
            ("AWS_ACCESS_KEY_ID", "S3METASIMACCESSKEY"),
            ("AWS_SECRET_ACCESS_KEY", "wrong"),
        ],
    );
    assert_eq!(run.code, 3);
    assert!(
        run.stderr.contains("SignatureDoesNotMatch"),
        "{}",
        run.stderr
    );
    let run = s3meta(
        &[
            "scan",
            "s3://sim",
            "--endpoint-url",
            &sim.endpoint,
            "--no-sign-request",
        ],
        &[],
    );
    assert_eq!(run.code, 3);
    assert!(run.stderr.contains("AccessDenied"), "{}", run.stderr);
    let run = s3meta(
        &["scan", "s3://other-bucket", "--endpoint-url", &sim.endpoint],
        &CREDS,
    );
    assert_eq!(run.code, 3);
    assert!(run.stderr.contains("NoSuchBucket"), "{}", run.stderr);
}

#[test]
fn bad_sim_options_are_usage_errors() {
    for (args, needle) in [
        (vec!["sim", "--layout", "tree:1:1"], "layout"),
        (vec!["sim", "--fail", "503:2"], "--fail"),
        (vec!["sim", "--head-latency", "soon"], "duration"),
        (vec!["sim", "--objects", "99999999999"], "--objects"),
        (vec!["sim", "--listen", "nowhere"], "--listen"),
    ] {
        let run = s3meta(&args, &[]);
        assert_eq!(run.code, 2, "{args:?}");
        assert!(run.stderr.contains(needle), "{args:?}: {}", run.stderr);
    }
}

#[test]
fn the_demo_runs_with_nothing_installed() {
    let run = s3meta(&["demo", "--objects", "3000", "--show", "3"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let records: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with('{')).collect();
    assert_eq!(records.len(), 3, "{}", run.stdout);
    assert!(run.stdout.contains("more records"), "{}", run.stdout);
    assert!(
        run.stderr.contains("listed=3000 heads=3000"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("µs CPU per HEAD"), "{}", run.stderr);
}
