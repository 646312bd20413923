//! What the configuration (environment, `~/.aws` files, flags) puts on the wire, seen by a scripted
//! server; and the files and flags that must be refused with a message that names them.

mod common;

use std::sync::{Arc, Mutex};

use common::{list_xml, s3meta, Reply, ScriptedServer, SeenRequest};

/// A server that answers one object and keeps every request it saw.
fn recording_server() -> (ScriptedServer, Arc<Mutex<Vec<SeenRequest>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let server = ScriptedServer::start(move |r| {
        s.lock().unwrap().push(r.clone());
        if r.target.starts_with("/bkt?") {
            Reply::Http(200, vec![], list_xml(&["k"], None, false))
        } else {
            common::head_ok()
        }
    });
    (server, seen)
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("s3meta-config-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The credential scope of a signed request: `KEY/DATE/REGION/s3/aws4_request`.
fn credential_scope(r: &SeenRequest) -> String {
    let auth = r.header("authorization").expect("signed");
    auth.split("Credential=")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn the_session_token_and_the_region_reach_every_request() {
    let (server, seen) = recording_server();
    let run = s3meta(
        &["scan", "s3://bkt", "--endpoint-url", &server.endpoint],
        &[
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", "TOKEN+/="),
            ("AWS_DEFAULT_REGION", "eu-north-1"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    for r in seen.iter() {
        assert_eq!(r.header("x-amz-security-token"), Some("TOKEN+/="));
        let scope = credential_scope(r);
        assert!(
            scope.starts_with("AKID/") && scope.ends_with("/eu-north-1/s3/aws4_request"),
            "{scope}"
        );
        assert!(r
            .header("authorization")
            .unwrap()
            .contains("x-amz-security-token"));
    }
    assert!(!run.stderr.contains("TOKEN") && !run.stderr.contains("secret"));
}

#[test]
fn the_config_file_gives_the_region_and_the_credentials_file_the_keys() {
    let dir = temp_dir("files");
    let config = dir.join("config");
    let credentials = dir.join("credentials");
    std::fs::write(&config, "[profile p]\nregion = ap-east-1\n").unwrap();
    // A byte-order mark and CRLF line ends, as Windows editors write them.
    std::fs::write(
        &credentials,
        "\u{FEFF}[p]\r\naws_access_key_id = FILEKEY\r\naws_secret_access_key = s\r\n",
    )
    .unwrap();
    let (server, seen) = recording_server();
    let run = s3meta(
        &[
            "scan",
            "s3://bkt",
            "--endpoint-url",
            &server.endpoint,
            "--profile",
            "p",
        ],
        &[
            ("AWS_CONFIG_FILE", config.to_str().unwrap()),
            ("AWS_SHARED_CREDENTIALS_FILE", credentials.to_str().unwrap()),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let scope = credential_scope(&seen.lock().unwrap()[0]);
    assert!(
        scope.starts_with("FILEKEY/") && scope.ends_with("/ap-east-1/s3/aws4_request"),
        "{scope}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

fn usage_error(args: &[&str], env: &[(&str, &str)]) -> String {
    let run = s3meta(args, env);
    assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "one line: {}", run.stderr);
    run.stderr
}

const SCAN: [&str; 4] = ["scan", "s3://bkt", "--endpoint-url", "http://127.0.0.1:1"];

#[test]
fn files_that_cannot_be_credentials_are_refused_by_name() {
    // A device never ends: only the first MiB is read.
    let e = usage_error(&SCAN, &[("AWS_SHARED_CREDENTIALS_FILE", "/dev/zero")]);
    assert!(e.contains("/dev/zero is larger than 1 MiB"), "{e}");
    let dir = temp_dir("bad");
    let bad = dir.join("credentials");
    std::fs::write(
        &bad,
        b"[default]\naws_access_key_id = K\naws_secret_access_key = \xff\n",
    )
    .unwrap();
    let e = usage_error(
        &SCAN,
        &[("AWS_SHARED_CREDENTIALS_FILE", bad.to_str().unwrap())],
    );
    assert!(
        e.contains(&format!("{} line 3 is not UTF-8 text", bad.display())),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn credentials_that_cannot_be_sent_are_refused_without_being_shown() {
    for (name, value) in [
        ("AWS_ACCESS_KEY_ID", "AKID\r\n"),
        ("AWS_SECRET_ACCESS_KEY", "sec\nret"),
        ("AWS_SESSION_TOKEN", "tok en"),
    ] {
        let mut env = vec![
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
        ];
        env.retain(|(n, _)| *n != name);
        env.push((name, value));
        let e = usage_error(&SCAN, &env);
        assert!(
            e.contains("from the environment holds a space or a control character"),
            "{e}"
        );
        assert!(!e.contains(value.trim()), "{e}");
    }
}

#[test]
fn an_output_that_cannot_be_created_is_fatal() {
    let (server, _) = recording_server();
    let run = s3meta(
        &[
            "scan",
            "s3://bkt",
            "--endpoint-url",
            &server.endpoint,
            "--no-sign-request",
            "-o",
            "/nonexistent/dir/out.jsonl",
        ],
        &[],
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("cannot create /nonexistent/dir/out.jsonl"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_progress_line_is_drawn_when_asked_and_only_then() {
    let (server, _) = recording_server();
    let args = [
        "scan",
        "s3://bkt",
        "--endpoint-url",
        &server.endpoint,
        "--no-sign-request",
    ];
    let mut with = args.to_vec();
    with.extend(["--progress", "always"]);
    let run = s3meta(&with, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("\r\u{1b}[2K1 listed, 1 HEADs"),
        "{:?}",
        run.stderr
    );
    // Cleared before the summary.
    assert!(
        run.stderr.contains("\r\u{1b}[2Ks3meta: listed=1"),
        "{:?}",
        run.stderr
    );
    // Not a terminal here: `auto` draws nothing.
    let run = s3meta(&args, &[]);
    assert!(!run.stderr.contains('\u{1b}'), "{:?}", run.stderr);
}

#[test]
fn a_simulator_duration_must_be_a_number_of_seconds() {
    let e = usage_error(&["sim", "--duration", "inf"], &[]);
    assert!(e.contains("--duration takes seconds"), "{e}");
}

/// S3 keys are names, not paths: `..`, `.` and empty segments name objects of their own, and are sent
/// as written (percent-encoded once, never normalised), by s3meta and by hyper under it.
#[test]
fn dot_segments_in_keys_are_sent_as_written() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let keys = ["a/../b", "./x", "a//b", "a/./c", "../../etc/passwd"];
    let server = ScriptedServer::start(move |r| {
        s.lock().unwrap().push(r.target.clone());
        if r.target.starts_with("/bkt?") {
            Reply::Http(200, vec![], list_xml(&keys, None, false))
        } else {
            common::head_ok()
        }
    });
    let run = common::scan_scripted(&server, 1, &["--format", "text"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let printed: Vec<&str> = run
        .stdout
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(printed, keys);
    let mut heads: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|t| !t.starts_with("/bkt?"))
        .cloned()
        .collect();
    heads.sort();
    let mut want: Vec<String> = keys.iter().map(|k| format!("/bkt/{k}")).collect();
    want.sort();
    assert_eq!(heads, want);
}
