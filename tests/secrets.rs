//! No output of any run, failing in any way, holds the secret key, the session token or a request's
//! signature: scans with recognisable credentials against servers that refuse, fail, echo every
//! header they were sent back in their error text, and close connections; configuration errors; and
//! the simulator's own output.

mod common;

use common::sim::start_sim;
use common::{is_list, list_xml, s3meta, Reply, Run, ScriptedServer};

const KEY_ID: &str = "AKIDCANARYEXAMPLE";
const SECRET: &str = "SECRETcanary/q7Zx9w8v7u6t5s4r3p2o1n0mLkJiHg";
const TOKEN: &str = "TOKENcanaryIQoJb3JpZ2luX2VjEXAMPLE/aaaaBBBBccccDDDDeeeeFFFF0123456789+zz==";

fn creds() -> Vec<(&'static str, &'static str)> {
    vec![
        ("AWS_ACCESS_KEY_ID", KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
        ("AWS_SESSION_TOKEN", TOKEN),
    ]
}

/// Nothing secret anywhere in what the run printed.
fn assert_clean(what: &str, run: &Run) {
    for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        for (name, secret) in [("secret key", SECRET), ("session token", TOKEN)] {
            // Any 16 characters of it, anywhere.
            for start in 0..=secret.len() - 16 {
                let piece = &secret[start..start + 16];
                assert!(
                    !text.contains(piece),
                    "{what}: the {name} is in {stream}:\n{text}"
                );
            }
        }
        if let Some(at) = text.find("Signature=") {
            let after = &text[at + "Signature=".len()..];
            assert!(
                after.bytes().take_while(u8::is_ascii_hexdigit).count() < 64,
                "{what}: a request signature is in {stream}:\n{text}"
            );
        }
    }
}

/// Every header of the request, as an S3 error's message: what a hostile (or debugging) server does.
fn echo_headers(status: u16, req: &common::SeenRequest) -> Reply {
    let echoed: Vec<String> = req
        .headers
        .iter()
        .map(|(n, v)| format!("{n}: {v}"))
        .collect();
    let body = format!(
        "<?xml version=\"1.0\"?><Error><Code>InvalidToken</Code><Message>you sent {}</Message><Token>{TOKEN}</Token></Error>",
        echoed.join(" | ")
    );
    Reply::Http(
        status,
        vec![("x-echo".into(), TOKEN.into())],
        body.into_bytes(),
    )
}

fn scan(server: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "scan",
        "s3://bkt",
        "--endpoint-url",
        server,
        "--retries",
        "2",
    ];
    args.extend_from_slice(extra);
    s3meta(&args, &creds())
}

#[test]
fn a_server_that_echoes_what_it_was_sent_does_not_make_us_print_it() {
    // The listing refused, with every header echoed: 403, and 400 (not retried), and 500 (retried).
    for status in [403, 400, 500] {
        let server = ScriptedServer::start(move |req| echo_headers(status, req));
        let run = scan(&server.endpoint, &[]);
        assert_eq!(run.code, 3, "{}", run.stderr);
        assert!(run.stderr.contains("InvalidToken"), "{}", run.stderr);
        assert!(run.stderr.contains("**redacted**"), "{}", run.stderr);
        assert_clean(&format!("LIST {status}"), &run);
    }
    // Listed, then every HEAD refused: a failed object per key, each with the echo.
    let server = ScriptedServer::start(|req| {
        if is_list(&req.target) {
            let body = list_xml(&["a", "b", &TOKEN[..40]], None, false);
            Reply::Http(200, vec![], body)
        } else {
            echo_headers(403, req)
        }
    });
    let run = scan(&server.endpoint, &["--all"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_clean("HEAD 403", &run);
}

#[test]
fn scans_that_fail_in_other_ways_show_no_secret() {
    // Nobody listening.
    let run = scan("http://127.0.0.1:1", &["--timeout", "2"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_clean("refused connection", &run);
    // Connections closed without an answer.
    let server = ScriptedServer::start(|_| Reply::Close);
    let run = scan(&server.endpoint, &[]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_clean("closed connections", &run);
    // A body that is not a listing.
    let server = ScriptedServer::start(|_| Reply::Http(200, vec![], TOKEN.into()));
    let run = scan(&server.endpoint, &[]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_clean("not a listing", &run);
    // The simulator, which checks signatures: ours do not match its key.
    let sim = start_sim(&["--objects", "10"]);
    let run = s3meta(
        &[
            "scan",
            "s3://sim",
            "--endpoint-url",
            &sim.endpoint,
            "--progress",
            "always",
        ],
        &creds(),
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("SignatureDoesNotMatch") || run.stderr.contains("InvalidAccessKeyId"),
        "{}",
        run.stderr
    );
    assert_clean("sim 403", &run);
}

#[test]
fn configuration_errors_name_where_a_secret_came_from_not_the_secret() {
    let dir = std::env::temp_dir().join(format!("s3meta-secrets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("credentials");
    // A secret with a line break pasted into it, and a broken line after it.
    std::fs::write(
        &file,
        format!("[p]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\naws_session_token = {TOKEN} x\n[broken\n"),
    )
    .unwrap();
    let env = [
        ("AWS_SHARED_CREDENTIALS_FILE", file.to_str().unwrap()),
        ("AWS_CONFIG_FILE", "/nonexistent"),
    ];
    let scan_profile_p = [
        "scan",
        "s3://bkt",
        "--profile",
        "p",
        "--endpoint-url",
        "http://127.0.0.1:1",
    ];
    let run = s3meta(&scan_profile_p, &env);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("line 5"), "{}", run.stderr);
    assert_clean("a broken credentials file", &run);
    std::fs::write(
        &file,
        format!("[p]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\naws_session_token = {TOKEN} x\n"),
    )
    .unwrap();
    let run = s3meta(&scan_profile_p, &env);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("session token"), "{}", run.stderr);
    assert_clean("a token with a space", &run);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_simulators_own_output_shows_no_secret_it_was_given() {
    let mut sim = std::process::Command::new(env!("CARGO_BIN_EXE_s3meta"))
        .args([
            "sim",
            "--objects",
            "5",
            "--duration",
            "0.3",
            "--access-key",
            KEY_ID,
            "--secret-key",
            SECRET,
        ])
        .output()
        .unwrap();
    let run = Run {
        code: sim.status.code().unwrap_or(-1),
        stdout: String::from_utf8(std::mem::take(&mut sim.stdout)).unwrap(),
        stderr: String::from_utf8_lossy(&sim.stderr).into_owned(),
    };
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains(KEY_ID), "{}", run.stdout);
    assert_clean("s3meta sim", &run);
}
