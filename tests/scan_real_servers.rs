//! The real binary against real S3 servers that verify SigV4 (Ceph RGW, s3s-fs and Garage, started and
//! seeded by tests/run.sh with tests/servers/seed_hard.py).
//!
//! Every scan is checked against an independent record: the seed, a second S3 client written apart
//! from s3meta, lists what the server holds without `encoding-type` and HEADs each key itself; a scan
//! must print exactly those keys, sizes and metadata, in that order, and report as vanished exactly
//! the keys the seed's own HEAD did not find. Each server stores hard keys its own way (s3s-fs refuses
//! some and rewrites others): that is the server's business; printing exactly what it holds is ours.
//! The exact output of the hard and ascii keys is also pinned per server in fixtures/golden/SERVER/
//! (`S3META_BLESS=1` rewrites those files; tests/run.sh refuses it).
//!
//! These tests are `#[ignore]`d: a plain `cargo test` lists them as ignored, and tests/run.sh runs them
//! with `--include-ignored`, where a missing server is a failure.

mod common;

use std::path::PathBuf;

use base64::decode;
use common::{servers, Run, Server};
use s3meta::core::escape::{split_unescaped, unescape_text};
use serde_json::Value;

/// Standard base64, for the seed's manifest (the tests may not use the crate under test for it).
mod base64 {
    pub fn decode(s: &str) -> Vec<u8> {
        let value = |c: u8| match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        } as u32;
        let bytes: Vec<u8> = s.bytes().filter(|&c| c != b'=').collect();
        let mut out = Vec::new();
        for chunk in bytes.chunks(4) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0, |n, (i, &c)| n | value(c) << (18 - 6 * i));
            out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
        }
        out
    }
}

/// One object as the seed found it on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Held {
    key: Vec<u8>,
    size: u64,
    /// The seed's own HEAD found it (else: 404).
    found: bool,
    metadata: Metadata,
}

fn oracle(server: &Server) -> (Vec<Held>, Value) {
    let text = std::fs::read_to_string(&server.manifest)
        .unwrap_or_else(|e| panic!("{}: {e}", server.manifest.display()));
    let manifest: Value = serde_json::from_str(&text).unwrap();
    let holds = manifest["holds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| Held {
            key: decode(h["key"].as_str().unwrap()),
            size: h["size"].as_u64().unwrap(),
            found: h["head_status"] == 200,
            metadata: h["metadata"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(n, v)| (n.as_bytes().to_vec(), decode(v.as_str().unwrap())))
                .collect(),
        })
        .collect();
    (holds, manifest)
}

/// What a scan of `prefix` must print (`all`: objects without metadata too), and how many objects it
/// must report as vanished.
fn expected(holds: &[Held], prefix: &[u8], all: bool) -> (Vec<Held>, usize) {
    let under: Vec<&Held> = holds.iter().filter(|h| h.key.starts_with(prefix)).collect();
    let printed = under
        .iter()
        .filter(|h| h.found && (all || !h.metadata.is_empty()))
        .map(|h| (*h).clone())
        .collect();
    (printed, under.iter().filter(|h| !h.found).count())
}

/// The records of a `jsonl` scan: exact key bytes, size and metadata.
fn jsonl_records(stdout: &str) -> Vec<Held> {
    stdout
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
            let key = match v.get("key_base64") {
                Some(b) => decode(b.as_str().unwrap()),
                None => v["key"].as_str().unwrap().as_bytes().to_vec(),
            };
            let metadata = v["metadata"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(n, value)| {
                    let exact = v
                        .get("metadata_base64")
                        .and_then(|m| m.get(n))
                        .map(|b| decode(b.as_str().unwrap()));
                    let bytes =
                        exact.unwrap_or_else(|| value.as_str().unwrap().as_bytes().to_vec());
                    (n.as_bytes().to_vec(), bytes)
                })
                .collect();
            Held {
                key,
                size: v["size"].as_u64().unwrap(),
                found: true,
                metadata,
            }
        })
        .collect()
}

fn unescape(s: &[u8]) -> Vec<u8> {
    unescape_text(s).unwrap_or_else(|| panic!("bad escape in {}", String::from_utf8_lossy(s)))
}

/// Metadata as name and value bytes, in the order printed.
type Metadata = Vec<(Vec<u8>, Vec<u8>)>;

/// The records of a `text` scan, parsed back: key and metadata (the format has no size).
fn text_records(stdout: &str) -> Vec<(Vec<u8>, Metadata)> {
    stdout
        .lines()
        .map(|line| {
            let fields = split_unescaped(line.as_bytes(), b'\t');
            assert_eq!(fields.len(), 2, "{line}");
            let metadata = if fields[1].is_empty() {
                Vec::new()
            } else {
                split_unescaped(fields[1], b';')
                    .into_iter()
                    .map(|pair| {
                        let nv = split_unescaped(pair, b'=');
                        assert_eq!(nv.len(), 2, "{line}");
                        (unescape(nv[0]), unescape(nv[1]))
                    })
                    .collect()
            };
            (unescape(fields[0]), metadata)
        })
        .collect()
}

/// The records of a `csv` scan, parsed back per RFC 4180: key, size and the metadata JSON.
fn csv_records(stdout: &str) -> Vec<(Vec<u8>, u64, Value)> {
    let mut lines = stdout.split("\r\n");
    assert_eq!(lines.next(), Some("key,size,last_modified,etag,metadata"));
    let mut records = Vec::new();
    let rest: Vec<&str> = lines.collect();
    let joined = rest.join("\r\n");
    let b = joined.as_bytes();
    let (mut fields, mut field, mut i, mut quoted) = (Vec::new(), Vec::new(), 0, false);
    while i < b.len() {
        match (quoted, b[i]) {
            (false, b'"') if field.is_empty() => quoted = true,
            (true, b'"') if b.get(i + 1) == Some(&b'"') => {
                field.push(b'"');
                i += 1;
            }
            (true, b'"') => quoted = false,
            (false, b',') => fields.push(std::mem::take(&mut field)),
            (false, b'\r') if b.get(i + 1) == Some(&b'\n') => {
                fields.push(std::mem::take(&mut field));
                let f = std::mem::take(&mut fields);
                assert_eq!(f.len(), 5);
                assert!(!matches!(f[0].first(), Some(b'=' | b'+' | b'-' | b'@')));
                records.push((
                    unescape(&f[0]),
                    String::from_utf8(f[1].clone()).unwrap().parse().unwrap(),
                    serde_json::from_slice(&f[4]).unwrap(),
                ));
                i += 1;
            }
            (_, c) => field.push(c),
        }
        i += 1;
    }
    records
}

/// Checks a scan of `prefix` against the record: every object the server holds under it printed,
/// exactly, in order; the ones the seed's HEAD did not find, and only those, reported as vanished.
fn check_against_record(server: &Server, prefix: &[u8], all: bool, format: &str, run: &Run) {
    let (holds, _) = oracle(server);
    let (want, vanished) = expected(&holds, prefix, all);
    let name = &server.name;
    assert_eq!(run.code, 0, "{name} {format}: {}", run.stderr);
    let vanished_lines = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("s3meta: vanished "))
        .count();
    assert_eq!(vanished_lines, vanished, "{name}: {}", run.stderr);
    assert!(
        !run.stderr.contains("s3meta: failed "),
        "{name}: {}",
        run.stderr
    );
    let keys_wanted: Vec<&[u8]> = want.iter().map(|h| h.key.as_slice()).collect();
    match format {
        "jsonl" => {
            let got = jsonl_records(&run.stdout);
            let keys: Vec<&[u8]> = got.iter().map(|h| h.key.as_slice()).collect();
            assert_eq!(keys, keys_wanted, "{name}: the keys printed");
            for (g, w) in got.iter().zip(&want) {
                assert_eq!(g, w, "{name}: {}", String::from_utf8_lossy(&w.key));
            }
        }
        "text" => {
            let got = text_records(&run.stdout);
            let keys: Vec<&[u8]> = got.iter().map(|(k, _)| k.as_slice()).collect();
            assert_eq!(keys, keys_wanted, "{name}: the keys printed");
            for ((_, meta), w) in got.iter().zip(&want) {
                assert_eq!(
                    meta,
                    &w.metadata,
                    "{name}: {}",
                    String::from_utf8_lossy(&w.key)
                );
            }
        }
        "csv" => {
            let got = csv_records(&run.stdout);
            let keys: Vec<&[u8]> = got.iter().map(|(k, _, _)| k.as_slice()).collect();
            assert_eq!(keys, keys_wanted, "{name}: the keys printed");
            for ((_, size, meta), w) in got.iter().zip(&want) {
                assert_eq!(*size, w.size);
                let as_json: serde_json::Map<String, Value> = w
                    .metadata
                    .iter()
                    .map(|(n, v)| {
                        (
                            String::from_utf8_lossy(n).into_owned(),
                            Value::String(String::from_utf8_lossy(v).into_owned()),
                        )
                    })
                    .collect();
                assert_eq!(meta, &Value::Object(as_json), "{name}");
            }
        }
        other => panic!("format {other}"),
    }
}

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
        assert_eq!(masked, expected, "{}: {name}", server.name);
    }
}

#[test]
#[ignore = "needs the real servers of tests/run.sh"]
fn the_whole_bucket_is_printed_exactly_as_the_server_holds_it() {
    for server in servers() {
        for format in ["jsonl", "text", "csv"] {
            let run = server.scan(&["s3://itest", "--all", "--format", format]);
            check_against_record(&server, b"", true, format, &run);
        }
        // Default: only objects that have metadata.
        let run = server.scan(&["s3://itest", "--format", "jsonl"]);
        check_against_record(&server, b"", false, "jsonl", &run);
    }
}

#[test]
#[ignore = "needs the real servers of tests/run.sh"]
fn every_printable_ascii_character_survives_on_every_server() {
    for server in servers() {
        let (holds, manifest) = oracle(&server);
        // Coverage: every printable character is in some key the server holds and finds, so a server
        // refusing keys cannot quietly shrink what this test tries.
        for c in 0x20u8..0x7f {
            assert!(
                holds.iter().any(|h| h.found && h.key.contains(&c)),
                "{}: no key with {:?} is held",
                server.name,
                c as char
            );
        }
        let stored = manifest["puts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["stored"] == true)
            .count();
        assert!(
            stored > 2600 + 500,
            "{}: only {stored} PUTs stored",
            server.name
        );
        for prefix in ["ascii/", "hard/"] {
            let run = server.scan(&[&format!("s3://itest/{prefix}"), "--all", "--format", "text"]);
            check_against_record(&server, prefix.as_bytes(), true, "text", &run);
            golden(
                &server,
                &format!("{}text", prefix.replace('/', ".")),
                &run.stdout,
            );
        }
        for (format, file) in [("jsonl", "hard.jsonl"), ("csv", "hard.csv")] {
            let run = server.scan(&["s3://itest/hard/", "--all", "--format", format]);
            check_against_record(&server, b"hard/", true, format, &run);
            golden(&server, file, &run.stdout);
        }
    }
}

#[test]
#[ignore = "needs the real servers of tests/run.sh"]
fn small_pages_give_the_same_output_and_say_how_many_pages() {
    for server in servers() {
        let whole = server.scan(&["s3://itest", "--format", "text", "--all"]);
        let run = server.scan(&[
            "s3://itest",
            "--format",
            "text",
            "--all",
            "--max-keys",
            "250",
            "-j",
            "64",
            "--list-concurrency",
            "1",
        ]);
        check_against_record(&server, b"", true, "text", &run);
        assert_eq!(run.stdout, whole.stdout, "{}", server.name);
        let (holds, _) = oracle(&server);
        let pages = holds.len().div_ceil(250);
        assert!(
            run.stderr.contains(&format!("pages={pages} ")),
            "{}: {pages} pages: {}",
            server.name,
            run.stderr
        );
    }
}

#[test]
#[ignore = "needs the real servers of tests/run.sh"]
fn listing_key_ranges_at_once_gives_the_bytes_of_one_stream() {
    for server in servers() {
        let one = server.scan(&[
            "s3://itest",
            "--format",
            "jsonl",
            "--all",
            "--list-concurrency",
            "1",
        ]);
        for listers in ["4", "16"] {
            // Small pages, so the hard keys fall in many ranges and on their boundaries.
            let run = server.scan(&[
                "s3://itest",
                "--format",
                "jsonl",
                "--all",
                "--max-keys",
                "20",
                "--list-concurrency",
                listers,
            ]);
            check_against_record(&server, b"", true, "jsonl", &run);
            assert_eq!(
                run.stdout, one.stdout,
                "{} with {listers} listers",
                server.name
            );
            let ranges = run
                .stderr
                .split_once(" ranges=")
                .and_then(|(_, r)| r.split(' ').next()?.trim().parse::<u32>().ok());
            assert!(
                ranges.is_some_and(|r| r > 4),
                "{}: {listers} listers split into {ranges:?} ranges: {}",
                server.name,
                run.stderr
            );
        }
    }
}

#[test]
#[ignore = "needs the real servers of tests/run.sh"]
fn four_shards_of_a_plan_give_the_bytes_of_one_scan() {
    for server in servers() {
        let dir = std::env::temp_dir().join(format!(
            "s3meta-it-plan-{}-{}",
            std::process::id(),
            server.name
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let plan = dir.join("plan.json");
        let plan = plan.to_str().unwrap();
        let env = server.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        // Small probe pages, so the cuts fall among the hard keys.
        let made = common::s3meta(
            &[
                "plan",
                "s3://itest",
                "--shards",
                "4",
                "--max-keys",
                "20",
                "-o",
                plan,
                "--endpoint-url",
                &server.endpoint,
            ],
            &env,
        );
        assert_eq!(made.code, 0, "{}: {}", server.name, made.stderr);
        let one = server.scan(&["s3://itest", "--format", "jsonl", "--all"]);
        let mut joined = String::new();
        let mut nonempty = 0;
        for i in 0..4 {
            let which = format!("{i}/4");
            let part = server.scan(&[
                "s3://itest",
                "--format",
                "jsonl",
                "--all",
                "--max-keys",
                "20",
                "--plan",
                plan,
                "--shard",
                &which,
            ]);
            assert_eq!(part.code, 0, "{} shard {i}: {}", server.name, part.stderr);
            nonempty += usize::from(!part.stdout.is_empty());
            joined.push_str(&part.stdout);
        }
        assert!(
            joined == one.stdout,
            "{}: the shards differ from one scan",
            server.name
        );
        assert!(
            nonempty >= 3,
            "{}: {nonempty} shards hold objects",
            server.name
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
#[ignore = "needs the real servers of tests/run.sh"]
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
#[ignore = "needs the real servers of tests/run.sh"]
fn a_prefix_with_no_objects_prints_nothing_and_succeeds() {
    for server in servers() {
        let run = server.scan(&["s3://itest/nothing-here/"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(run.stdout.is_empty());
        assert!(run.stderr.contains("listed=0 heads=0"), "{}", run.stderr);
    }
}

#[test]
#[ignore = "needs the real servers of tests/run.sh"]
fn a_wrong_secret_is_fatal_names_the_code_and_never_prints_the_secret() {
    for server in servers() {
        let wrong = format!("{}x", server.secret_key);
        let mut s = server.clone();
        s.secret_key = wrong.clone();
        let run = s.scan(&["s3://itest/bulk/"]);
        assert_eq!(run.code, 3, "{}: {}", server.name, run.stderr);
        let first = run.stderr.lines().next().unwrap();
        // Garage says AccessDenied, "Invalid signature"; the others SignatureDoesNotMatch.
        assert!(
            (first.contains("SignatureDoesNotMatch") || first.contains("Invalid signature"))
                && first.contains("check the secret access key"),
            "{}: {first}",
            server.name
        );
        assert!(!run.stderr.contains(&wrong) && !run.stderr.contains(&server.secret_key));
        assert!(run.stdout.is_empty());
    }
}

#[test]
#[ignore = "needs the real servers of tests/run.sh"]
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
