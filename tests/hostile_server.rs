//! The real binary against a scripted server that attacks it: answers built to exhaust memory or CPU,
//! listings that never end, text meant for the terminal. Each test is one attack from issue 7; the
//! memory each one can reach is measured by benches/hostile.py, not here.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{is_list, Reply, ScriptedServer};

fn scan(server: &ScriptedServer, extra: &[&str]) -> common::Run {
    common::scan_scripted(server, 2, extra)
}

/// A ListObjectsV2 page of `<Contents>` entries given as XML, untruncated.
fn page_of(entries: &[String]) -> Vec<u8> {
    let mut xml = String::from("<ListBucketResult><IsTruncated>false</IsTruncated>");
    for e in entries {
        xml.push_str("<Contents>");
        xml.push_str(e);
        xml.push_str("</Contents>");
    }
    xml.push_str("</ListBucketResult>");
    xml.into_bytes()
}

fn entry(key: &str) -> String {
    format!("<Key>{key}</Key><ETag>&quot;e&quot;</ETag><Size>1</Size>")
}

fn head_with(name: &str, value: Vec<u8>) -> Reply {
    Reply::Http(200, vec![(name.into(), value)], Vec::new())
}

fn no_raw_controls(text: &str) -> bool {
    !text.chars().any(|c| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    })
}

#[test]
fn rfc2047_that_was_quadratic_decodes_at_once() {
    // 1 MiB of `=?a?b?x` took 88 s of CPU per object before, on the one thread everything runs on.
    let bomb: Vec<u8> = b"=?a?b?x".iter().copied().cycle().take(1 << 20).collect();
    let server = ScriptedServer::start(move |r| {
        if is_list(&r.target) {
            Reply::Http(200, vec![], page_of(&["a", "b", "c", "d"].map(entry)))
        } else {
            head_with("x-amz-meta-x", bomb.clone())
        }
    });
    let run = scan(
        &server,
        &[
            "--format",
            "text",
            "--max-header-bytes",
            "2097152",
            "-o",
            "/dev/null",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("printed=4"), "{}", run.stderr);
}

#[test]
fn a_response_head_larger_than_the_limit_fails_that_object_only() {
    let server = ScriptedServer::start(|r| {
        if is_list(&r.target) {
            Reply::Http(200, vec![], page_of(&["big", "small"].map(entry)))
        } else if r.target == "/bkt/big" {
            head_with("x-amz-meta-v", vec![b'v'; 100 << 10])
        } else {
            head_with("x-amz-meta-v", b"1".to_vec())
        }
    });
    let run = scan(&server, &["--format", "text"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.stdout, "small\tv=1\n");
    assert!(
        run.stderr
            .contains("failed \"big\": HEAD answered with headers larger than 32768 bytes or more than 256 of them (see --max-header-bytes)"),
        "{}",
        run.stderr
    );
    // Sent once more on a wide connection (hyper says "too large" for too many headers as for too
    // many bytes), then not retried: a larger answer will not become smaller.
    assert_eq!(server.requests.load(Ordering::SeqCst), 4);
}

#[test]
fn more_headers_than_a_narrow_connection_takes_go_again_once_on_a_wide_one() {
    // 150 headers: more than hyper parses on the stack, fewer than the default limit allows.
    let keys = ["a", "b", "c", "d"];
    let server = ScriptedServer::start(move |r| {
        if is_list(&r.target) {
            Reply::Http(200, vec![], page_of(&keys.map(entry)))
        } else {
            let headers = (0..150)
                .map(|i| (format!("x-amz-meta-{i:03}"), b"v".to_vec()))
                .collect();
            Reply::Http(200, headers, Vec::new())
        }
    });
    let run = scan(&server, &["--format", "text", "-j", "1"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout.lines().count(), 4, "{}", run.stdout);
    assert!(
        run.stdout.lines().all(|l| l.ends_with(";149=v")),
        "{}",
        run.stdout
    );
    // One LIST, one HEAD refused by the first (narrow) connection, then every HEAD on a wide one.
    assert_eq!(server.requests.load(Ordering::SeqCst), 6);
}

#[test]
fn more_headers_than_the_limit_allows_fail_that_object_only() {
    // Each parsed header costs about 100 bytes beside its text: 300 tiny ones are refused.
    let server = ScriptedServer::start(|r| {
        if is_list(&r.target) {
            Reply::Http(200, vec![], page_of(&["many", "some"].map(entry)))
        } else {
            let n = if r.target == "/bkt/many" { 300 } else { 200 };
            let headers = (0..n)
                .map(|i| (format!("x-amz-meta-{i:03}"), b"v".to_vec()))
                .collect();
            Reply::Http(200, headers, Vec::new())
        }
    });
    let run = scan(&server, &["--format", "text"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout.starts_with("some\t000=v;001=v;"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr
            .contains("failed \"many\": HEAD answered with headers larger than"),
        "{}",
        run.stderr
    );
}

#[test]
fn no_new_head_starts_while_finished_records_fill_the_budget() {
    // The first HEAD stalls; every other returns 900 KB of metadata. Before, all of them were read and
    // held behind the first (1 GB at -j 256); now HEADs stop once 32 MiB of records wait.
    let started = Instant::now();
    let released = Arc::new(AtomicBool::new(false));
    let behind = Arc::new(AtomicUsize::new(0));
    let (r2, b2) = (released.clone(), behind.clone());
    let keys: Vec<String> = (0..200).map(|i| format!("k{i:03}")).collect();
    let listing = page_of(&keys.iter().map(|k| entry(k)).collect::<Vec<_>>());
    let server = ScriptedServer::start(move |r| {
        if is_list(&r.target) {
            return Reply::Http(200, vec![], listing.clone());
        }
        if r.target == "/bkt/k000" {
            while started.elapsed() < Duration::from_millis(2000) {
                std::thread::sleep(Duration::from_millis(10));
            }
            r2.store(true, Ordering::SeqCst);
        } else if !r2.load(Ordering::SeqCst) {
            b2.fetch_add(1, Ordering::SeqCst);
        }
        head_with("x-amz-meta-v", vec![b'v'; 900_000])
    });
    let run = scan(
        &server,
        &[
            "--format",
            "text",
            "-j",
            "16",
            "--max-header-bytes",
            "1048576",
            "-o",
            "/dev/null",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("printed=200"), "{}", run.stderr);
    let behind = behind.load(Ordering::SeqCst);
    // 32 MiB hold about 37 such records; 16 more may be on their way when the budget fills.
    assert!(
        behind <= 37 + 16,
        "{behind} HEADs were answered behind the stalled one"
    );
}

#[test]
fn no_new_page_is_taken_while_listed_entries_fill_the_budget() {
    // Pages of one entry each, with a 4 MiB <DisplayName>; the first HEAD stalls. Before, pages were
    // taken while fewer than -j entries waited: 256 of them, a gigabyte. Now about 32 MiB wait.
    let started = Instant::now();
    let released = Arc::new(AtomicBool::new(false));
    let pages_while_stalled = Arc::new(AtomicUsize::new(0));
    let (r2, p2) = (released.clone(), pages_while_stalled.clone());
    let owner = "o".repeat(4 << 20);
    let server = ScriptedServer::start(move |r| {
        if is_list(&r.target) {
            if !r2.load(Ordering::SeqCst) {
                p2.fetch_add(1, Ordering::SeqCst);
            }
            let page: usize = r
                .target
                .split("continuation-token=p")
                .nth(1)
                .and_then(|t| t.split('&').next())
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
            let more = page + 1 < 40;
            let mut xml = format!("<ListBucketResult><IsTruncated>{more}</IsTruncated>");
            if more {
                xml.push_str(&format!(
                    "<NextContinuationToken>p{}</NextContinuationToken>",
                    page + 1
                ));
            }
            xml.push_str(&format!(
                "<Contents><Key>k{page:02}</Key><Size>1</Size><Owner><DisplayName>{owner}</DisplayName></Owner></Contents></ListBucketResult>"
            ));
            return Reply::Http(200, vec![], xml.into_bytes());
        }
        if r.target == "/bkt/k00" {
            while started.elapsed() < Duration::from_millis(2000) {
                std::thread::sleep(Duration::from_millis(10));
            }
            r2.store(true, Ordering::SeqCst);
        }
        head_with("x-amz-meta-a", b"1".to_vec())
    });
    // One LIST stream: this is the scheduler's budget. Ranges listed at once may hold up to twice
    // the window between them (the listing's own bound, tested in `shell/listing.rs`).
    let run = scan(
        &server,
        &[
            "--format",
            "text",
            "-o",
            "/dev/null",
            "--list-concurrency",
            "1",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("printed=40"), "{}", run.stderr);
    let pages = pages_while_stalled.load(Ordering::SeqCst);
    // 32 MiB hold 8 such entries, listed or finished; two pages wait in the channel, one is on its way.
    assert!(
        pages <= 8 + 3 + 1,
        "{pages} pages were taken behind the stalled HEAD"
    );
}

#[test]
fn a_page_with_more_entries_than_asked_for_is_refused() {
    let keys: Vec<String> = (0..11).map(|i| entry(&format!("k{i:02}"))).collect();
    let server = ScriptedServer::start(move |r| {
        if is_list(&r.target) {
            Reply::Http(200, vec![], page_of(&keys))
        } else {
            head_with("x-amz-meta-a", b"1".to_vec())
        }
    });
    let run = scan(&server, &["--max-keys", "10"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("more than the 10 entries"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());
}

#[test]
fn a_page_body_larger_than_a_page_can_be_is_refused() {
    // Millions of empty <Contents/> took gigabytes before; a page of 10 keys holds at most ~144 KB.
    let body = format!(
        "<ListBucketResult><IsTruncated>false</IsTruncated>{}</ListBucketResult>",
        "<Contents/>".repeat(200_000)
    )
    .into_bytes();
    let server = ScriptedServer::start(move |_| Reply::Http(200, vec![], body.clone()));
    let run = scan(&server, &["--max-keys", "10"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("larger than 147456 bytes"),
        "{}",
        run.stderr
    );
}

#[test]
fn continuation_tokens_that_cycle_stop_the_listing() {
    let server = ScriptedServer::start(|r| {
        if !is_list(&r.target) {
            return head_with("x-amz-meta-a", b"1".to_vec());
        }
        let (keys, next) = if r.target.contains("continuation-token=B") {
            (["c", "d"], "A")
        } else {
            (["a", "b"], "B")
        };
        let mut xml = String::from("<ListBucketResult><IsTruncated>true</IsTruncated>");
        xml.push_str(&format!(
            "<NextContinuationToken>{next}</NextContinuationToken>"
        ));
        for k in keys {
            xml.push_str(&format!("<Contents>{}</Contents>", entry(k)));
        }
        xml.push_str("</ListBucketResult>");
        Reply::Http(200, vec![], xml.into_bytes())
    });
    let run = scan(&server, &["--format", "text"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "page 3 starts at \"a\", which does not come after the previous page's last key \"d\""
        ),
        "{}",
        run.stderr
    );
    // Every key once, none twice.
    assert_eq!(run.stdout, "a\ta=1\nb\ta=1\nc\ta=1\nd\ta=1\n");
}

#[test]
fn a_store_that_lists_out_of_order_is_said_once_and_scanned_whole() {
    let server = ScriptedServer::start(|r| {
        if is_list(&r.target) {
            Reply::Http(200, vec![], page_of(&["m", "b", "x"].map(entry)))
        } else {
            head_with("x-amz-meta-a", b"1".to_vec())
        }
    });
    let run = scan(&server, &["--format", "text"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "m\ta=1\nb\ta=1\nx\ta=1\n");
    assert_eq!(
        run.stderr.matches("lists keys out of order").count(),
        1,
        "{}",
        run.stderr
    );
}

#[test]
fn a_server_that_ignores_start_after_is_caught() {
    let server = ScriptedServer::start(|r| {
        if is_list(&r.target) {
            Reply::Http(200, vec![], page_of(&["a", "b"].map(entry)))
        } else {
            head_with("x-amz-meta-a", b"1".to_vec())
        }
    });
    let run = scan(&server, &["--start-after", "m"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("ignored start-after"), "{}", run.stderr);
    assert!(run.stdout.is_empty());
}

#[test]
fn server_text_reaches_stderr_escaped_and_bounded() {
    // An error code and message with ESC, a line break, bidi controls and character references.
    let message = format!("&#27;[2J&#10;spoof\u{202E}{}", "m".repeat(10_000));
    let body = format!("<Error><Code>Access\u{1b}]0;pwned\u{7}Denied</Code><Message>{message}</Message><Region>&#27;[31m</Region></Error>");
    let server =
        ScriptedServer::start(move |_| Reply::Http(403, vec![], body.clone().into_bytes()));
    let run = scan(&server, &[]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(no_raw_controls(&run.stderr), "{:?}", run.stderr);
    assert!(
        run.stderr.contains("Access\\x1B]0;pwned\\x07Denied"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.lines().next().unwrap().len() < 1000,
        "bounded: {}",
        run.stderr.len()
    );

    // An XML parser message quoting the server's element name.
    let server = ScriptedServer::start(|_| {
        Reply::Http(
            200,
            vec![],
            "<ListBucketResult><a\u{1b}[2Jb>".as_bytes().to_vec(),
        )
    });
    let run = scan(&server, &[]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(no_raw_controls(&run.stderr), "{:?}", run.stderr);
}

#[test]
fn keys_with_bidi_controls_are_escaped_in_every_output() {
    let server = ScriptedServer::start(|r| {
        if is_list(&r.target) {
            Reply::Http(
                200,
                vec![],
                page_of(&[entry("report\u{202E}vsc.exe"), entry("gone\u{2066}")]),
            )
        } else if r.target.starts_with("/bkt/gone") {
            Reply::Http(404, vec![], Vec::new())
        } else {
            head_with("x-amz-meta-a", "b\u{200F}".as_bytes().to_vec())
        }
    });
    for (format, shown) in [
        ("jsonl", "report\\u202evsc.exe"),
        ("text", "report\\u{202E}vsc.exe"),
        ("csv", "report\\u{202E}vsc.exe"),
    ] {
        let run = scan(&server, &["--format", format]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(run.stdout.contains(shown), "{format}: {}", run.stdout);
        assert!(
            no_raw_controls(&run.stdout.replace('\r', "")),
            "{format}: {:?}",
            run.stdout
        );
        assert!(no_raw_controls(&run.stderr), "{:?}", run.stderr);
        assert!(
            run.stderr.contains("vanished \"gone\\u2066\""),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn csv_escapes_what_the_server_sends_and_neutralises_formulas() {
    let server = ScriptedServer::start(|r| {
        if is_list(&r.target) {
            let e = "<Key>=HYPERLINK(1)</Key><LastModified>&#27;[2J2026</LastModified><ETag>@SUM(1+1)</ETag><Size>1</Size>";
            Reply::Http(200, vec![], page_of(&[e.to_string()]))
        } else {
            head_with("x-amz-meta-a", b"1".to_vec())
        }
    });
    let run = scan(&server, &["--format", "csv"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "key,size,last_modified,etag,metadata\r\n\\x3DHYPERLINK(1),1,\\x1B[2J2026,\\x40SUM(1+1),\"{\"\"a\"\":\"\"1\"\"}\"\r\n"
    );
}

#[test]
fn one_bad_entry_fails_that_object_and_the_scan_goes_on() {
    let server = ScriptedServer::start(|r| {
        if is_list(&r.target) {
            let entries = [
                entry("a"),
                "<Key>negative</Key><Size>-1</Size>".to_string(),
                "<Key>binary</Key><ETag>\u{FFFD}</ETag><Size>1</Size>".replace('\u{FFFD}', "\u{1}"),
                entry("z"),
            ];
            let mut body = page_of(&entries);
            // A byte that is not UTF-8 inside the ETag of "binary".
            let at = body.windows(1).position(|w| w == [1]).unwrap();
            body[at] = 0xff;
            Reply::Http(200, vec![], body)
        } else {
            head_with("x-amz-meta-a", b"1".to_vec())
        }
    });
    let run = scan(&server, &["--format", "text"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.stdout, "a\ta=1\nz\ta=1\n");
    assert!(
        run.stderr.contains(
            "failed \"negative\": the listing gave a <Size> that is not a whole number: \"-1\""
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("failed \"binary\": the listing gave a <ETag> that is not UTF-8 text"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("failed=2"), "{}", run.stderr);
}

#[test]
fn a_request_that_cannot_be_built_fails_at_once() {
    // 30,000 `%` become 90,000 bytes of path: more than a URI may hold. No retry can change that.
    let long = "%".repeat(30_000);
    let key = long.clone();
    let heads = Arc::new(AtomicUsize::new(0));
    let h = heads.clone();
    let server = ScriptedServer::start(move |r| {
        if is_list(&r.target) {
            Reply::Http(200, vec![], page_of(&[entry(&key), entry("ok")]))
        } else {
            h.fetch_add(1, Ordering::SeqCst);
            head_with("x-amz-meta-a", b"1".to_vec())
        }
    });
    let run = scan(&server, &["--format", "text", "--retries", "5"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.stdout, "ok\ta=1\n");
    assert!(
        run.stderr.contains("cannot build the HEAD request"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("gave up after"), "{}", run.stderr);
    assert_eq!(
        heads.load(Ordering::SeqCst),
        1,
        "only the good key reached the server"
    );
}
