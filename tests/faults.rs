//! The real binary against a scripted HTTP server that misbehaves in the ways real servers rarely do on
//! demand: malformed XML, lost or repeated continuation tokens, closed connections, 5xx, 404, 403.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::{head_ok, is_list, list_xml, Reply, ScriptedServer};

fn scan(server: &ScriptedServer, extra: &[&str]) -> common::Run {
    common::scan_scripted(server, 3, extra)
}

#[test]
fn malformed_listing_is_fatal_with_a_clear_message() {
    let server = ScriptedServer::start(|_| {
        Reply::Http(
            200,
            vec![],
            b"<ListBucketResult><Contents><Key>a</Key>".to_vec(),
        )
    });
    let run = scan(&server, &[]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("truncated XML"), "{}", run.stderr);
    assert!(run.stdout.is_empty());
}

#[test]
fn truncated_without_token_reports_what_was_listed_then_fails() {
    let server = ScriptedServer::start(|r| {
        if is_list(&r.target) {
            Reply::Http(200, vec![], list_xml(&["a", "b"], None, true))
        } else {
            head_ok()
        }
    });
    let run = scan(&server, &["--format", "text"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("NextContinuationToken"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "a\ta=1\nb\ta=1\n");
}

#[test]
fn a_repeated_continuation_token_is_a_loop() {
    let server = ScriptedServer::start(|r| {
        if is_list(&r.target) {
            if r.target.contains("continuation-token=T") {
                Reply::Http(200, vec![], list_xml(&["c"], Some("T"), true))
            } else {
                Reply::Http(200, vec![], list_xml(&["a", "b"], Some("T"), true))
            }
        } else {
            head_ok()
        }
    });
    let run = scan(&server, &["--format", "text"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("loop"), "{}", run.stderr);
    assert_eq!(run.stdout, "a\ta=1\nb\ta=1\nc\ta=1\n");
}

#[test]
fn pages_follow_the_token_and_output_keeps_key_order() {
    // The first object is answered only once the other three have been: they finish first, and must
    // still be printed after it.
    let others_seen = Arc::new(AtomicUsize::new(0));
    let seen = others_seen.clone();
    let server = ScriptedServer::start(move |r| {
        if is_list(&r.target) {
            if r.target.contains("continuation-token=1%2Bx%2F%3D") {
                Reply::Http(200, vec![], list_xml(&["k3", "k4"], None, false))
            } else {
                // A real-looking token with '+', '/' and '=' must come back exactly, percent-encoded.
                Reply::Http(200, vec![], list_xml(&["k1", "k2"], Some("1+x/="), true))
            }
        } else if r.target == "/bkt/k1" {
            let waited = std::time::Instant::now();
            while seen.load(Ordering::SeqCst) < 3 && waited.elapsed().as_secs() < 20 {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            head_ok()
        } else {
            seen.fetch_add(1, Ordering::SeqCst);
            head_ok()
        }
    });
    let run = scan(&server, &["--format", "text"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(others_seen.load(Ordering::SeqCst), 3);
    assert_eq!(run.stdout, "k1\ta=1\nk2\ta=1\nk3\ta=1\nk4\ta=1\n");
    assert!(
        run.stderr
            .contains("listed=4 heads=4 with_metadata=4 printed=4 vanished=0 failed=0 pages=2"),
        "{}",
        run.stderr
    );
}

#[test]
fn connections_closed_on_one_key_fail_that_key_only() {
    let server = ScriptedServer::start(|r| {
        if is_list(&r.target) {
            Reply::Http(200, vec![], list_xml(&["bad", "good"], None, false))
        } else if r.target == "/bkt/bad" {
            Reply::Close
        } else {
            head_ok()
        }
    });
    let run = scan(&server, &["--format", "text"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.stdout, "good\ta=1\n");
    assert!(
        run.stderr.contains("s3meta: failed \"bad\":"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("gave up after 3 attempts"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("failed=1"), "{}", run.stderr);
}

#[test]
fn transient_errors_are_retried() {
    let heads = Arc::new(AtomicUsize::new(0));
    let lists = Arc::new(AtomicUsize::new(0));
    let (h, l) = (heads.clone(), lists.clone());
    let server = ScriptedServer::start(move |r| {
        if is_list(&r.target) {
            if l.fetch_add(1, Ordering::SeqCst) == 0 {
                let body = b"<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>".to_vec();
                return Reply::Http(503, vec![], body);
            }
            Reply::Http(200, vec![], list_xml(&["a"], None, false))
        } else if h.fetch_add(1, Ordering::SeqCst) < 2 {
            Reply::Http(500, vec![], Vec::new())
        } else {
            head_ok()
        }
    });
    let run = scan(&server, &["--format", "text"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "a\ta=1\n");
    assert_eq!(lists.load(Ordering::SeqCst), 2);
    assert_eq!(heads.load(Ordering::SeqCst), 3);
}

/// A server whose first LIST gets `first()`, and every later one a page with the key `a`; and the
/// count of LISTs it saw.
fn first_list_answered_with(
    first: impl Fn() -> Reply + Send + Sync + 'static,
) -> (ScriptedServer, Arc<AtomicUsize>) {
    let lists = Arc::new(AtomicUsize::new(0));
    let l = lists.clone();
    let server = ScriptedServer::start(move |r| {
        if is_list(&r.target) {
            if l.fetch_add(1, Ordering::SeqCst) == 0 {
                return first();
            }
            Reply::Http(200, vec![], list_xml(&["a"], None, false))
        } else {
            head_ok()
        }
    });
    (server, lists)
}

#[test]
fn a_slowdown_inside_a_200_is_retried_too() {
    let (server, lists) = first_list_answered_with(|| {
        Reply::Http(
            200,
            vec![],
            b"<Error><Code>SlowDown</Code></Error>".to_vec(),
        )
    });
    let run = scan(&server, &["--format", "text"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(lists.load(Ordering::SeqCst), 2);
}

#[test]
fn vanished_objects_are_reported_not_failed() {
    let server = ScriptedServer::start(|r| {
        if is_list(&r.target) {
            Reply::Http(200, vec![], list_xml(&["gone", "here"], None, false))
        } else if r.target == "/bkt/gone" {
            Reply::Http(404, vec![], Vec::new())
        } else {
            head_ok()
        }
    });
    let run = scan(&server, &["--format", "text"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "here\ta=1\n");
    assert!(run.stderr.contains("vanished \"gone\""), "{}", run.stderr);
    assert!(run.stderr.contains("vanished=1 failed=0"), "{}", run.stderr);
}

#[test]
fn access_denied_names_the_code_and_what_to_check() {
    let server = ScriptedServer::start(|_| {
        Reply::Http(
            403,
            vec![],
            b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>".to_vec(),
        )
    });
    let run = scan(&server, &[]);
    assert_eq!(run.code, 3);
    let first = run.stderr.lines().next().unwrap();
    assert!(
        first.contains("AccessDenied") && first.contains("403") && first.contains("permissions"),
        "{first}"
    );
}

#[test]
fn server_text_is_escaped_and_binary_metadata_kept_exactly() {
    let server = ScriptedServer::start(|r| {
        if is_list(&r.target) {
            Reply::Http(200, vec![], list_xml(&["x&#27;[2Jy"], None, false))
        } else {
            // 0x9B is CSI on 8-bit terminals; as a lone byte it is not UTF-8.
            Reply::Http(
                200,
                vec![("x-amz-meta-v".into(), b"\x9b31m".to_vec())],
                Vec::new(),
            )
        }
    });
    let run = scan(&server, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        !run.stdout.contains('\u{1b}') && !run.stdout.contains('\u{9b}'),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("\"key\":\"x\\u001b[2Jy\""),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "\"metadata\":{\"v\":\"\u{FFFD}31m\"},\"metadata_base64\":{\"v\":\"mzMxbQ==\"}"
        ),
        "{}",
        run.stdout
    );
    let run = scan(&server, &["--format", "text"]);
    assert_eq!(run.stdout, "x\\x1B[2Jy\tv=\\x9B31m\n");
}

#[test]
fn a_server_that_lies_about_encoding_is_caught_by_a_second_head() {
    // s3s-fs style: says EncodingType=url but sends the key raw. "a+b" alone looks encoded ("a b").
    let server = ScriptedServer::start(|r| {
        if is_list(&r.target) {
            let xml = b"<ListBucketResult><EncodingType>url</EncodingType><IsTruncated>false</IsTruncated><Contents><Key>a+b</Key><Size>1</Size></Contents></ListBucketResult>";
            Reply::Http(200, vec![], xml.to_vec())
        } else if r.target == "/bkt/a%2Bb" {
            head_ok()
        } else {
            Reply::Http(404, vec![], Vec::new())
        }
    });
    let run = scan(&server, &["--format", "text"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "a+b\ta=1\n");
}

#[test]
fn throttling_429_is_retried() {
    let heads = Arc::new(AtomicUsize::new(0));
    let h = heads.clone();
    let server = ScriptedServer::start(move |r| {
        if is_list(&r.target) {
            Reply::Http(200, vec![], list_xml(&["a"], None, false))
        } else if h.fetch_add(1, Ordering::SeqCst) < 2 {
            Reply::Http(429, vec![], Vec::new())
        } else {
            head_ok()
        }
    });
    let run = scan(&server, &["--format", "text"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "a\ta=1\n");
    assert_eq!(heads.load(Ordering::SeqCst), 3);
}

#[test]
fn a_head_403_fails_that_object_with_exit_1() {
    let server = ScriptedServer::start(|r| {
        if is_list(&r.target) {
            Reply::Http(200, vec![], list_xml(&["locked", "open"], None, false))
        } else if r.target == "/bkt/locked" {
            Reply::Http(403, vec![], Vec::new())
        } else {
            head_ok()
        }
    });
    let run = scan(&server, &["--format", "text"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.stdout, "open\ta=1\n");
    assert!(
        run.stderr.contains(
            "failed \"locked\": HEAD answered 403 Forbidden (check the credentials and their permissions)"
        ),
        "{}",
        run.stderr
    );
    // A 403 is not retried.
    assert_eq!(server.requests.load(Ordering::SeqCst), 3);
}

#[test]
fn missing_meta_reaches_the_output() {
    let server = ScriptedServer::start(|r| {
        if is_list(&r.target) {
            Reply::Http(200, vec![], list_xml(&["k"], None, false))
        } else {
            Reply::Http(
                200,
                vec![
                    ("x-amz-meta-a".into(), b"1".to_vec()),
                    ("x-amz-missing-meta".into(), b"2".to_vec()),
                ],
                Vec::new(),
            )
        }
    });
    let run = scan(&server, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .ends_with("\"metadata\":{\"a\":\"1\"},\"missing_meta\":2}\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn most_objects_vanishing_is_not_a_success() {
    let keys: Vec<String> = (0..100).map(|i| format!("k{i:03}")).collect();
    let server = ScriptedServer::start(move |r| {
        if is_list(&r.target) {
            let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
            Reply::Http(200, vec![], list_xml(&refs, None, false))
        } else if r.target.as_str() < "/bkt/k003" {
            head_ok()
        } else {
            Reply::Http(404, vec![], Vec::new())
        }
    });
    let run = scan(&server, &["--format", "text"]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert_eq!(run.stdout.lines().count(), 3);
    assert!(
        run.stderr
            .contains("97 of 100 objects looked up (97.0%) were listed but not found"),
        "{}",
        run.stderr
    );
    // A few vanished objects are a bucket that changes under the scan: not an error.
    let server = ScriptedServer::start(|r| {
        if is_list(&r.target) {
            let second = r.target.contains("continuation-token=P2");
            let keys: Vec<String> = (0..1000)
                .map(|i| format!("k{:04}", i + if second { 1000 } else { 0 }))
                .collect();
            let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
            let next = (!second).then_some("P2");
            Reply::Http(200, vec![], list_xml(&refs, next, !second))
        } else if r.target.ends_with('7') && r.target.as_str() < "/bkt/k0150" {
            Reply::Http(404, vec![], Vec::new())
        } else {
            head_ok()
        }
    });
    let run = scan(&server, &["--format", "text"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("vanished=15 "), "{}", run.stderr);
}

#[test]
fn a_reader_that_goes_away_ends_the_scan_quietly() {
    use std::io::{BufRead, BufReader};
    let keys: Vec<String> = (0..1000).map(|i| format!("k{i:04}")).collect();
    let server = ScriptedServer::start(move |r| {
        if is_list(&r.target) {
            let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
            Reply::Http(200, vec![], list_xml(&refs, None, false))
        } else {
            // Long records, so that the output fills the pipe after the reader has gone.
            Reply::Http(
                200,
                vec![("x-amz-meta-v".into(), vec![b'v'; 2000])],
                Vec::new(),
            )
        }
    });
    let mut child = common::command(
        &[
            "scan",
            "s3://bkt",
            "--endpoint-url",
            &server.endpoint,
            "--no-sign-request",
        ],
        &[],
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("{\"key\":\"k0000\""), "{first}");
    // The reader is gone (`| head -1`).
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A bucket whose listing says EncodingType=url: `texts` as the listing sends them, `objects` the keys
/// that exist (each with the same ETag and size, as empty directory markers have).
fn encoded_listing_server(
    texts: &'static [&'static str],
    objects: &'static [&'static str],
) -> ScriptedServer {
    ScriptedServer::start(move |r| {
        if is_list(&r.target) {
            let mut xml = String::from("<ListBucketResult><EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>");
            for t in texts {
                xml.push_str(&format!(
                    "<Contents><Key>{t}</Key><ETag>\"e\"</ETag><Size>0</Size></Contents>"
                ));
            }
            xml.push_str("</ListBucketResult>");
            return Reply::Http(200, vec![], xml.into_bytes());
        }
        let key = r.target.strip_prefix("/bkt/").unwrap_or("");
        let decoded = percent_decode(key);
        if objects.iter().any(|o| o.as_bytes() == decoded) {
            Reply::Http(
                200,
                vec![
                    ("x-amz-meta-name".into(), decoded.clone()),
                    ("etag".into(), b"\"e\"".to_vec()),
                    ("content-length".into(), b"0".to_vec()),
                ],
                Vec::new(),
            )
        } else {
            Reply::Http(404, vec![], Vec::new())
        }
    })
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let (mut out, mut i) = (Vec::new(), 0);
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

#[test]
fn two_keys_whose_texts_read_as_each_others_names_are_each_printed_once() {
    // The same two texts, from a server that encodes (the keys `a b` and `a+b`) and from one that does
    // not (the keys `a%2Bb` and `a+b`, listed in the other order). Each object once, under its name.
    let encodes = encoded_listing_server(&["a+b", "a%2Bb"], &["a b", "a+b"]);
    let run = scan(&encodes, &["--format", "text"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "a b\tname=a b\na+b\tname=a+b\n");
    let raw = encoded_listing_server(&["a%2Bb", "a+b"], &["a%2Bb", "a+b"]);
    let run = scan(&raw, &["--format", "text"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "a%2Bb\tname=a%2Bb\na+b\tname=a+b\n");
    // Where nothing can tell (both readings of the one text exist, no neighbour to order by), the
    // object fails, named, rather than be printed under a name that may be another's.
    let both = encoded_listing_server(&["x+y", "x%2By"], &["x y", "x+y", "x%2By"]);
    let run = scan(&both, &["--format", "text"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.stdout, "x y\tname=x y\n");
    assert!(run.stderr.contains("failed \"x+y\": the listing's text for this key also reads as \"x%2By\", and both names are objects"), "{}", run.stderr);
}

#[test]
fn a_throttling_answer_with_a_large_page_is_still_retried() {
    // A proxy's HTML error page, larger than any S3 error body.
    let (server, lists) =
        first_list_answered_with(|| Reply::Http(503, vec![], vec![b'x'; 200 << 10]));
    let run = scan(&server, &["--format", "text"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(lists.load(Ordering::SeqCst), 2);
}

/// One data VIP of three refuses connections: the scan goes on over the others, and counts only them.
#[test]
fn a_data_vip_that_refuses_is_passed_over() {
    let keys: Vec<String> = (0..200).map(|i| format!("k{i:03}")).collect();
    let server = ScriptedServer::start(move |r| {
        if is_list(&r.target) {
            let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
            Reply::Http(200, vec![], list_xml(&refs, None, false))
        } else {
            head_ok()
        }
    });
    let port = server.endpoint.rsplit(':').next().unwrap().to_owned();
    let live = format!("127.0.0.1:{port}");
    let resolve = format!("vips.example:{port}:127.0.0.1:1,{live},127.0.0.1:2");
    let endpoint = format!("http://vips.example:{port}");
    let run = common::s3meta_within(
        &[
            "scan",
            "s3://bkt",
            "--endpoint-url",
            &endpoint,
            "--resolve",
            &resolve,
            "--no-sign-request",
            "-j",
            "32",
            "--all",
        ],
        &[],
        60,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout.lines().count(), 200);
    let summary = run.stderr.lines().last().unwrap();
    assert!(!summary.contains("connections_per_address"), "{summary}");
    assert!(summary.contains(" connections="), "{summary}");
}
