use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use super::*;
use crate::core::endpoint::Addressing;
use crate::core::output::Format;
use crate::shell::scan::{ScanConfig, DEFAULT_CONCURRENCY};

struct FakeEnv {
    vars: HashMap<&'static str, &'static str>,
    files: HashMap<&'static str, &'static [u8]>,
}

impl Environment for FakeEnv {
    fn var(&self, name: &str) -> Result<Option<String>, String> {
        Ok(self.vars.get(name).map(|v| v.to_string()))
    }
    fn read_file(&self, path: &Path, limit: usize) -> std::io::Result<Option<Vec<u8>>> {
        Ok(self
            .files
            .get(path.to_str().unwrap_or(""))
            .map(|v| v[..v.len().min(limit + 1)].to_vec()))
    }
    fn readable_by_others(&self, path: &Path) -> bool {
        self.vars.get("TEST_OPEN_FILE") == path.to_str().as_ref()
    }
}

fn env(vars: &[(&'static str, &'static str)]) -> FakeEnv {
    let mut all: HashMap<_, _> = vars.iter().cloned().collect();
    all.entry("HOME").or_insert("/home/u");
    FakeEnv {
        vars: all,
        files: HashMap::from([
            ("/home/u/.aws/credentials", &b"[default]\naws_access_key_id = DEFKEY\naws_secret_access_key = DEFSECRET\n\n[prod]\naws_access_key_id=PRODKEY\naws_secret_access_key=PRODSECRET\naws_session_token=PRODTOKEN\n[half]\naws_access_key_id=X\n"[..]),
            ("/home/u/.aws/config", &b"[default]\nregion = eu-west-1\n[profile prod]\nregion=ap-south-1\n[profile onlyconfig]\nregion=us-west-2\n[sso-session s]\nregion=xx\n"[..]),
        ]),
    }
}

fn command(args: &[&str], e: &FakeEnv) -> Result<ScanCommand, UsageError> {
    let mut all = vec!["scan".to_string()];
    all.extend(args.iter().map(|s| s.to_string()));
    match parse(&all, e)? {
        Command::Scan(c) => Ok(*c),
        other => panic!("{other:?}"),
    }
}

fn scan(args: &[&str], e: &FakeEnv) -> Result<ScanConfig, UsageError> {
    command(args, e).map(|c| c.config)
}

const ENDPOINT: &str = "--endpoint-url=http://127.0.0.1:9000";

#[test]
fn defaults_and_profile_region() {
    let c = scan(&["s3://bkt/pre/fix", ENDPOINT], &env(&[])).unwrap();
    assert_eq!(c.prefix, b"pre/fix");
    assert_eq!(c.region, "eu-west-1");
    assert_eq!(c.credentials.as_ref().unwrap().access_key_id(), "DEFKEY");
    assert_eq!(c.target.addressing, Addressing::Path);
    assert_eq!(c.concurrency, DEFAULT_CONCURRENCY);
    assert_eq!(c.format, Format::Jsonl);
    assert!(!c.include_all);
}

#[test]
fn environment_keys_beat_profiles_but_not_the_profile_flag() {
    let e = env(&[
        ("AWS_ACCESS_KEY_ID", "ENVKEY"),
        ("AWS_SECRET_ACCESS_KEY", "ENVSECRET"),
        ("AWS_REGION", "us-east-2"),
    ]);
    let c = scan(&["s3://bkt", ENDPOINT], &e).unwrap();
    assert_eq!(c.credentials.unwrap().access_key_id(), "ENVKEY");
    assert_eq!(c.region, "us-east-2");
    let c = scan(&["s3://bkt", ENDPOINT, "--profile", "prod"], &e).unwrap();
    assert_eq!(c.credentials.unwrap().access_key_id(), "PRODKEY");
    let c = scan(&["s3://bkt", ENDPOINT], &env(&[("AWS_PROFILE", "prod")])).unwrap();
    assert_eq!(c.region, "ap-south-1");
    assert!(format!("{:?}", c.credentials).contains("PRODKEY"));
    assert!(!format!("{:?}", c).contains("PRODSECRET"));
    assert!(!format!("{:?}", c).contains("PRODTOKEN"));
}

#[test]
fn endpoint_from_environment_and_addressing() {
    let e = env(&[("AWS_ENDPOINT_URL", "http://10.0.0.5")]);
    let c = scan(&["s3://bkt"], &e).unwrap();
    assert_eq!(c.target.host(), "10.0.0.5");
    let e = env(&[
        ("AWS_ENDPOINT_URL", "http://other:1"),
        ("AWS_ENDPOINT_URL_S3", "http://s3only:2"),
    ]);
    assert_eq!(scan(&["s3://bkt"], &e).unwrap().target.host(), "s3only:2");
    let c = scan(
        &[
            "s3://bkt",
            "--endpoint-url",
            "http://s3.local",
            "--addressing",
            "virtual",
        ],
        &env(&[]),
    )
    .unwrap();
    assert_eq!(c.target.host(), "bkt.s3.local");
}

#[test]
fn options_parse() {
    let cmd = command(
        &[
            "s3://bkt",
            ENDPOINT,
            "-j",
            "64",
            "--format",
            "csv",
            "-o",
            "/tmp/x",
            "--all",
            "--start-after",
            "a b",
            "--max-keys=10",
            "--no-sign-request",
            "--progress",
            "never",
            "--retries",
            "3",
            "--timeout",
            "5",
            "--max-header-bytes",
            "100000",
        ],
        &env(&[]),
    )
    .unwrap();
    let c = &cmd.config;
    assert_eq!(c.concurrency, 64);
    assert_eq!(c.format, Format::Csv);
    assert_eq!(cmd.output.as_deref(), Some(Path::new("/tmp/x")));
    assert!(c.include_all && c.credentials.is_none());
    assert_eq!(c.start_after.as_deref(), Some(&b"a b"[..]));
    assert_eq!(c.max_keys, 10);
    assert_eq!(c.max_header_bytes, 100_000);
    assert_eq!(cmd.progress, ProgressMode::Never);
    assert_eq!(c.retry.max_attempts, 3);
    assert_eq!(c.timeout, Duration::from_secs(5));
}

fn usage_error(args: &[&str], e: &FakeEnv) -> String {
    match scan(args, e) {
        Err(UsageError(m)) => m,
        Ok(c) => panic!("expected a usage error, got {c:?}"),
    }
}

#[test]
fn bad_input_gets_a_message_that_names_it() {
    let e = env(&[]);
    assert!(usage_error(&["s3://bkt", "--endpoint-url", "ftp://x"], &e).contains("unknown scheme"));
    assert!(usage_error(&["s3://b", ENDPOINT], &e).contains("bucket name"));
    assert!(usage_error(&["bkt", ENDPOINT], &e).contains("s3://"));
    assert!(usage_error(&["s3://bkt", ENDPOINT, "--profile", "nope"], &e).contains("\"nope\""));
    assert!(
        usage_error(&["s3://bkt", ENDPOINT, "--profile", "half"], &e)
            .contains("no aws_secret_access_key")
    );
    assert!(
        usage_error(&["s3://bkt", ENDPOINT, "--profile", "onlyconfig"], &e)
            .contains("no credentials")
    );
    assert!(usage_error(&["s3://bkt", ENDPOINT, "-j", "0"], &e).contains("-j"));
    assert!(usage_error(&["s3://bkt", ENDPOINT, "--max-keys", "1001"], &e).contains("--max-keys"));
    assert!(usage_error(&["s3://bkt", ENDPOINT, "--bogus"], &e).contains("--bogus"));
    assert!(usage_error(&["s3://bkt", ENDPOINT, "--format"], &e).contains("needs a value"));
    #[cfg(not(feature = "tls"))]
    assert!(usage_error(&["s3://bkt"], &e).contains("TLS"));
    assert!(usage_error(&["s3://bkt", "--resolve", "bkt:443"], &e).contains("no address"));
    let twice = [
        "s3://bkt",
        "--resolve",
        "bkt.s3.eu-west-1.amazonaws.com:443:10.0.0.1",
        "--resolve",
        "BKT.s3.eu-west-1.amazonaws.com.:443:10.0.0.2",
    ];
    assert!(usage_error(&twice, &e).contains("is given twice"));
    assert!(usage_error(
        &["s3://bkt", ENDPOINT, "--resolve", "other:9000:10.0.0.1"],
        &e
    )
    .contains("connections go to 127.0.0.1:9000, which the rule does not name"));
    let missing = env(&[("AWS_ACCESS_KEY_ID", "K"), ("HOME", "/nowhere")]);
    assert!(usage_error(&["s3://bkt", ENDPOINT], &missing).contains("AWS_SECRET_ACCESS_KEY is not"));
    let none = env(&[("HOME", "/nowhere")]);
    assert!(usage_error(&["s3://bkt", ENDPOINT], &none).contains("no credentials"));
}

#[test]
fn help_and_version() {
    assert!(matches!(
        parse(&[], &env(&[])),
        Ok(Command::Text(scan_args::USAGE))
    ));
    assert!(matches!(
        parse(&["--version".into()], &env(&[])),
        Ok(Command::Version)
    ));
    assert!(matches!(
        parse(&["scan".into(), "--help".into()], &env(&[])),
        Ok(Command::Text(scan_args::USAGE))
    ));
    assert!(parse(&["lst".into()], &env(&[])).is_err());
}

fn warnings(args: &[&str], e: &FakeEnv) -> Vec<String> {
    command(args, e).unwrap().warnings
}

#[test]
fn what_travels_in_clear_or_unchecked_is_said_before_the_scan() {
    let e = env(&[]);
    // Loopback, by address, by name, or through --resolve: nothing to say.
    assert!(warnings(&["s3://bkt", ENDPOINT], &e).is_empty());
    assert!(warnings(&["s3://bkt", "--endpoint-url=http://localhost:9000"], &e).is_empty());
    let resolved = [
        "s3://bkt",
        "--endpoint-url=http://fb.example:80",
        "--resolve",
        "fb.example:80:127.0.0.1:20001,[::1]:20002",
    ];
    assert!(warnings(&resolved, &e).is_empty());
    // Plain http elsewhere, signed: the key id and token travel in clear.
    let w = warnings(&["s3://bkt", "--endpoint-url=http://10.0.0.5"], &e);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("10.0.0.5:80 is plain http://") && w[0].contains("the secret key never does")
    );
    let remote = [
        "s3://bkt",
        "--endpoint-url=http://fb.example",
        "--resolve",
        "fb.example:80:127.0.0.1,10.1.1.1",
    ];
    assert_eq!(warnings(&remote, &e).len(), 1);
    // Unsigned requests carry no key.
    assert!(warnings(
        &[
            "s3://bkt",
            "--endpoint-url=http://10.0.0.5",
            "--no-sign-request"
        ],
        &e
    )
    .is_empty());
    // --no-verify-ssl says so on every run.
    let w = warnings(&["s3://bkt", "--no-verify-ssl"], &e);
    assert!(w.len() == 1 && w[0].contains("--no-verify-ssl"), "{w:?}");
    // A credentials file others can read, when the keys come from it.
    let open = env(&[("TEST_OPEN_FILE", "/home/u/.aws/credentials")]);
    let w = warnings(&["s3://bkt", ENDPOINT], &open);
    assert!(
        w.len() == 1 && w[0].contains("/home/u/.aws/credentials is readable by other users"),
        "{w:?}"
    );
    let from_env = env(&[
        ("TEST_OPEN_FILE", "/home/u/.aws/credentials"),
        ("AWS_ACCESS_KEY_ID", "K"),
        ("AWS_SECRET_ACCESS_KEY", "S"),
    ]);
    assert!(warnings(&["s3://bkt", ENDPOINT], &from_env).is_empty());
}

#[test]
fn trust_roots_come_from_the_flag_the_environment_or_the_profile() {
    use crate::shell::tls::TrustRoots;
    let file = |c: ScanConfig| match c.tls.roots {
        TrustRoots::File { path, from } => (path.display().to_string(), from),
        other => (format!("{other:?}"), String::new()),
    };
    let e = env(&[]);
    assert_eq!(file(scan(&["s3://bkt"], &e).unwrap()).0, "System");
    let with_env = env(&[("AWS_CA_BUNDLE", "/env.pem")]);
    assert_eq!(
        file(scan(&["s3://bkt"], &with_env).unwrap()),
        ("/env.pem".into(), "AWS_CA_BUNDLE".into())
    );
    assert_eq!(
        file(scan(&["s3://bkt", "--ca-bundle", "/flag.pem"], &with_env).unwrap()),
        ("/flag.pem".into(), "--ca-bundle".into())
    );
    let openssl_way = env(&[("SSL_CERT_FILE", "/ssl.pem")]);
    assert_eq!(
        scan(&["s3://bkt", ENDPOINT], &openssl_way)
            .unwrap()
            .tls
            .roots,
        TrustRoots::SystemFile("/ssl.pem".into())
    );
    let c = scan(&["s3://bkt", "--no-verify-ssl"], &e).unwrap();
    assert!(!c.tls.verify);
}

#[test]
fn a_dotted_bucket_on_aws_is_addressed_by_path() {
    let e = env(&[]);
    assert_eq!(
        scan(&["s3://my.bucket"], &e).unwrap().target.addressing,
        Addressing::Path
    );
    assert_eq!(
        scan(&["s3://my-bucket"], &e).unwrap().target.addressing,
        Addressing::Virtual
    );
    let forced = scan(&["s3://my.bucket", "--addressing", "virtual"], &e).unwrap();
    assert_eq!(forced.target.addressing, Addressing::Virtual);
}
