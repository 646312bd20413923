//! The real binary against real S3 servers that verify SigV4 (Ceph RGW and s3s-fs, started and seeded
//! by tests/run.sh with tests/servers/seed_hard.py). Exact output is pinned per server in
//! fixtures/golden/SERVER/: each server stores hard keys its own way (s3s-fs refuses some), and that is
//! the server's business; printing exactly what it holds is ours. `S3META_BLESS=1` rewrites the files.

mod common;

use std::path::PathBuf;

use common::{servers, Server};
use serde_json::Value;

const BULK: usize = 2600;

/// Replaces ISO-8601 times (`2026-11-26T05:34:21.762Z`) with `<time>`: they change with every seeding.
fn mask_times(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let digits = |from: usize, n: usize| {
        b.len() >= from + n && b[from..from + n].iter().all(u8::is_ascii_digit)
    };
    while i < b.len() {
        let looks_like_time = digits(i, 4)
            && b.get(i + 4) == Some(&b'-')
            && digits(i + 5, 2)
            && b.get(i + 7) == Some(&b'-')
            && digits(i + 8, 2)
            && b.get(i + 10) == Some(&b'T');
        if looks_like_time {
            let mut j = i + 11;
            while j < b.len() && (b[j].is_ascii_digit() || b[j] == b':' || b[j] == b'.') {
                j += 1;
            }
            if b.get(j) == Some(&b'Z') {
                out.push_str("<time>");
                i = j + 1;
                continue;
            }
        }
        let c = s[i..].chars().next().unwrap();
        out.push(c);
        i += c.len_utf8();
    }
    out
}

fn golden(server: &Server, name: &str, actual: &str) {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "fixtures",
        "golden",
        &server.name,
        name,
    ]
    .iter()
    .collect();
    let masked = mask_times(actual);
    if std::env::var_os("S3META_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &masked).unwrap();
        return;
    }
    let expected =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if masked != expected {
        for (n, (a, e)) in masked.lines().zip(expected.lines()).enumerate() {
            assert_eq!(a, e, "{}: {} line {}", server.name, name, n + 1);
        }
        assert_eq!(
            masked.lines().count(),
            expected.lines().count(),
            "{}: {name}: line count",
            server.name
        );
        assert_eq!(masked, expected, "{}: {name}", server.name);
    }
}

fn bulk_text_lines() -> String {
    let mut out = String::new();
    for i in (0..BULK).filter(|i| i % 3 != 0) {
        out.push_str(&format!("bulk/{i:05}\tidx={i};kind=bulk\n"));
    }
    out
}

#[test]
fn hard_keys_and_metadata_exact_output_in_every_format() {
    for server in servers() {
        for (format, file) in [
            ("jsonl", "hard.jsonl"),
            ("text", "hard.text"),
            ("csv", "hard.csv"),
        ] {
            let run = server.scan(&["s3://itest/hard/", "--all", "--format", format]);
            assert_eq!(run.code, 0, "{} {format}: {}", server.name, run.stderr);
            golden(&server, file, &run.stdout);
        }
        // Default: only objects that have metadata.
        let run = server.scan(&["s3://itest/hard/", "--format", "text"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(!run.stdout.contains("hard/no-metadata"));
        golden(&server, "hard-default.text", &run.stdout);
    }
}

#[test]
fn whole_bucket_over_many_pages_in_key_order() {
    for server in servers() {
        let hard = server.scan(&["s3://itest/hard/", "--format", "text"]);
        // 250 keys a page: 11 pages for the bulk objects alone.
        let run = server.scan(&[
            "s3://itest",
            "--format",
            "text",
            "--max-keys",
            "250",
            "-j",
            "64",
        ]);
        assert_eq!(run.code, 0, "{}: {}", server.name, run.stderr);
        assert_eq!(
            run.stdout,
            bulk_text_lines() + &hard.stdout,
            "{}",
            server.name
        );
        let hard_listed = hard
            .stderr
            .split("listed=")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse::<usize>()
            .unwrap();
        let expect = format!("listed={} heads={}", BULK + hard_listed, BULK + hard_listed);
        assert!(
            run.stderr.contains(&expect),
            "{}: {}",
            server.name,
            run.stderr
        );
        assert!(run.stderr.contains("failed=0"), "{}", run.stderr);
    }
}

#[test]
fn jsonl_parses_back_to_what_was_stored() {
    for server in servers() {
        let run = server.scan(&["s3://itest/bulk/", "--all"]);
        assert_eq!(run.code, 0, "{}: {}", server.name, run.stderr);
        let lines: Vec<&str> = run.stdout.lines().collect();
        assert_eq!(lines.len(), BULK);
        for (i, line) in lines.iter().enumerate() {
            let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(v["key"], format!("bulk/{i:05}"));
            assert_eq!(v["size"], 10);
            assert_eq!(
                v["etag"], "336311a016184326ddbdd61edd4eeb52",
                "{}: {line}",
                server.name
            );
            let meta = v["metadata"].as_object().unwrap();
            if i % 3 == 0 {
                assert!(meta.is_empty(), "{line}");
            } else {
                assert_eq!(meta.len(), 2);
                assert_eq!(meta["idx"], i.to_string());
                assert_eq!(meta["kind"], "bulk");
            }
        }
        let with_meta = (0..BULK).filter(|i| i % 3 != 0).count();
        assert!(
            run.stderr
                .contains(&format!("with_metadata={with_meta} printed={BULK}")),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn start_after_and_output_file() {
    for server in servers() {
        let dir =
            std::env::temp_dir().join(format!("s3meta-it-{}-{}", std::process::id(), server.name));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("out.text");
        let run = server.scan(&[
            "s3://itest/bulk/",
            "--start-after",
            "bulk/02595",
            "--format",
            "text",
            "-o",
            file.to_str().unwrap(),
        ]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(run.stdout.is_empty());
        let written = std::fs::read_to_string(&file).unwrap();
        assert_eq!(written, "bulk/02596\tidx=2596;kind=bulk\nbulk/02597\tidx=2597;kind=bulk\nbulk/02599\tidx=2599;kind=bulk\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn a_prefix_with_no_objects_prints_nothing_and_succeeds() {
    for server in servers() {
        let run = server.scan(&["s3://itest/nothing-here/"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(run.stdout.is_empty());
        assert!(run.stderr.contains("listed=0 heads=0"), "{}", run.stderr);
    }
}

#[test]
fn a_wrong_secret_is_fatal_names_the_code_and_never_prints_the_secret() {
    for server in servers() {
        let wrong = format!("{}x", server.secret_key);
        let mut s = server.clone();
        s.secret_key = wrong.clone();
        let run = s.scan(&["s3://itest/bulk/"]);
        assert_eq!(run.code, 3, "{}: {}", server.name, run.stderr);
        let first = run.stderr.lines().next().unwrap();
        assert!(
            first.contains("SignatureDoesNotMatch") && first.contains("secret"),
            "{}: {first}",
            server.name
        );
        assert!(!run.stderr.contains(&wrong) && !run.stderr.contains(&server.secret_key));
        assert!(run.stdout.is_empty());
    }
}

#[test]
fn an_unknown_bucket_is_fatal_and_says_so() {
    for server in servers() {
        let run = server.scan(&["s3://no-such-bucket-here"]);
        assert_eq!(run.code, 3, "{}: {}", server.name, run.stderr);
        let first = run.stderr.lines().next().unwrap();
        assert!(
            first.contains("NoSuchBucket") && first.contains("bucket name"),
            "{}: {first}",
            server.name
        );
    }
}
