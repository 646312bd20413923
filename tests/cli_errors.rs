//! Usage and configuration errors: exit code 2 and a one-line message that names what was wrong.

mod common;

use common::s3meta;

fn usage_error(args: &[&str], env: &[(&str, &str)]) -> String {
    let run = s3meta(args, env);
    assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
    assert!(run.stdout.is_empty());
    assert_eq!(run.stderr.lines().count(), 1, "one line: {}", run.stderr);
    run.stderr
}

const KEYS: [(&str, &str); 2] = [
    ("AWS_ACCESS_KEY_ID", "AKID"),
    ("AWS_SECRET_ACCESS_KEY", "supersecretvalue"),
];

#[test]
fn bad_arguments() {
    assert!(
        usage_error(&["scan", "s3://bkt", "--endpoint-url", "gopher://x"], &KEYS)
            .contains("unknown scheme")
    );
    assert!(usage_error(
        &["scan", "s3://B_", "--endpoint-url", "http://127.0.0.1:1"],
        &KEYS
    )
    .contains("bucket name"));
    assert!(usage_error(
        &[
            "scan",
            "s3://bkt",
            "--endpoint-url",
            "http://127.0.0.1:1",
            "--format",
            "xml"
        ],
        &KEYS
    )
    .contains("--format"));
    assert!(usage_error(&["scna"], &KEYS).contains("unknown command"));
    assert!(usage_error(
        &["scan", "s3://bkt", "--endpoint-url", "http://127.0.0.1:1"],
        &[("AWS_ACCESS_KEY_ID", "AKID")]
    )
    .contains("AWS_SECRET_ACCESS_KEY"));
    let e = usage_error(
        &[
            "scan",
            "s3://bkt",
            "--endpoint-url",
            "http://127.0.0.1:1",
            "--profile",
            "nope",
        ],
        &KEYS,
    );
    assert!(e.contains("\"nope\""), "{e}");
}

#[test]
fn profiles_come_from_the_files_aws_cli_uses() {
    let dir = std::env::temp_dir().join(format!("s3meta-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let creds = dir.join("credentials");
    std::fs::write(&creds, "[p]\naws_access_key_id = K\n").unwrap();
    let creds = creds.to_str().unwrap();
    let e = usage_error(
        &[
            "scan",
            "s3://bkt",
            "--endpoint-url",
            "http://127.0.0.1:1",
            "--profile",
            "p",
        ],
        &[("AWS_SHARED_CREDENTIALS_FILE", creds)],
    );
    assert!(e.contains("no aws_secret_access_key"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn help_and_version_exit_zero() {
    let run = s3meta(&["--help"], &[]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("s3meta scan s3://BUCKET"));
    let run = s3meta(&["--version"], &[]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.starts_with("s3meta "));
}

#[test]
fn an_unreachable_endpoint_is_fatal_and_names_the_host() {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    let run = s3meta(
        &[
            "scan",
            "s3://bkt",
            "--endpoint-url",
            "http://127.0.0.1:1",
            "--retries",
            "2",
        ],
        &KEYS,
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    let first = run.stderr.lines().next().unwrap();
    assert!(
        first.contains("127.0.0.1:1") && first.to_lowercase().contains("refused"),
        "{first}"
    );
    assert!(!run.stderr.contains("supersecretvalue"));
}
