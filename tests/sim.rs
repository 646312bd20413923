//! `s3meta sim` as a real process, scanned by the real binary: exact agreement with and without
//! injected faults, signature checks, and `s3meta demo`.

mod common;

use common::s3meta;
use common::sim::{count, start_sim, Sim, CREDS};
use s3meta::sim::bucket::VirtualBucket;
use serde_json::Value;

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
fn listing_key_ranges_at_once_gives_the_bytes_of_one_stream() {
    for layout in ["flat", "tree:7:3"] {
        let sim = start_sim(&["--objects", "30000", "--layout", layout]);
        let args = ["--all", "--format", "text", "--max-keys", "200"];
        let one = scan(&sim, &[&args[..], &["--list-concurrency", "1"]].concat());
        assert_eq!(one.code, 0, "{}", one.stderr);
        assert_eq!(one.stdout.lines().count(), 30000);
        assert!(!one.stderr.contains(" ranges="), "{}", one.stderr);
        for listers in ["3", "16", "auto"] {
            let run = scan(
                &sim,
                &[&args[..], &["--list-concurrency", listers]].concat(),
            );
            assert_eq!(run.code, 0, "{}", run.stderr);
            assert!(
                run.stdout == one.stdout,
                "{layout}, {listers} listers: output differs"
            );
            assert!(
                run.stderr.contains("listed=30000 heads=30000"),
                "{}",
                run.stderr
            );
            if listers != "auto" {
                assert!(run.stderr.contains(" ranges="), "{}", run.stderr);
            }
        }
    }
}

/// What a scan of a simulator with these objects and this seed must print: its own model of the
/// bucket (keys, sizes, ETags, metadata), computed without a request.
fn model(objects: u64, seed: u64) -> Vec<Value> {
    let mut spec = s3meta::sim::default_options().bucket;
    spec.objects = objects;
    spec.seed = seed;
    let bucket = VirtualBucket::new(spec);
    (0..objects)
        .map(|i| {
            let mut meta = serde_json::Map::new();
            bucket.for_each_metadata(i, |n, v| {
                meta.insert(n.to_string(), Value::String(v.to_string()));
            });
            serde_json::json!({
                "key": bucket.key(i),
                "size": bucket.size(i),
                "etag": bucket.etag(i),
                "metadata": meta,
            })
        })
        .collect()
}

fn records(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            serde_json::json!({
                "key": v["key"], "size": v["size"], "etag": v["etag"], "metadata": v["metadata"],
            })
        })
        .collect()
}

#[test]
fn injected_faults_change_nothing_in_the_output() {
    let faulty = start_sim(&[
        "--objects",
        "3000",
        "--seed",
        "5",
        "--fail",
        "503:0.05,500:0.02,429:0.02,reset:0.02,truncate:0.02,stall:0.002",
    ]);
    let got = scan(
        &faulty,
        &["--all", "--retries", "10", "--timeout", "1", "-j", "64"],
    );
    let summary = faulty.stop();
    assert_eq!(got.code, 0, "{}", got.stderr);
    // Every object, exactly as the simulator's model of its bucket says.
    assert!(
        records(&got.stdout) == model(3000, 5),
        "the output is not the model's"
    );
    // And the faults did happen.
    for fault in [
        "injected_status",
        "injected_reset",
        "injected_stall",
        "injected_truncate",
    ] {
        assert!(count(&summary, fault) > 0, "no {fault}: {summary}");
    }
    assert!(count(&summary, "requests") > 3000 + count(&summary, "injected_status"));
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
        (vec!["sim", "--duration", "inf"], "--duration"),
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
