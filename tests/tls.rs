//! HTTPS end to end, offline: `s3meta sim` serving TLS with a CA made at test time, scanned the way
//! AWS is (virtual-hosted `BUCKET.s3.REGION.amazonaws.com`, no `--endpoint-url`) through `--resolve`
//! and `--ca-bundle`; refusals of untrusted CAs and wrong names; connections over several addresses.

mod common;

use std::path::PathBuf;

use common::sim::{count, start_sim, CREDS};
use common::test_ca::{Issued, TestCa};
use common::{s3meta, Run};

const BUCKET: &str = "tls-bucket";
const AWS_HOST: &str = "tls-bucket.s3.us-east-1.amazonaws.com";

struct Pki {
    ca: TestCa,
    server: Issued,
    dir: PathBuf,
}

/// A CA, and a certificate of AWS's shape (the regional wildcard, and loopback's IP) signed by it.
fn pki(name: &str) -> Pki {
    let dir = std::env::temp_dir().join(format!("s3meta-tls-{}-{name}", std::process::id()));
    let ca = TestCa::new(&dir, "s3meta-test-ca");
    let server = ca.issue(
        "server",
        &[
            "DNS:*.s3.us-east-1.amazonaws.com",
            "DNS:s3.us-east-1.amazonaws.com",
            "IP:127.0.0.1",
        ],
    );
    Pki { ca, server, dir }
}

/// `s3meta sim` serving the test bucket over HTTPS with `cert`, and `extra`.
fn sim_args<'a>(cert: &'a Issued, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["--bucket", BUCKET];
    args.extend(cert.sim_flags());
    args.extend_from_slice(extra);
    args
}

/// `HOST:443:127.0.0.1:PORT` for a simulator at `endpoint` (`https://127.0.0.1:PORT`).
fn resolve_to(host: &str, endpoints: &[&str]) -> String {
    let addrs: Vec<&str> = endpoints
        .iter()
        .map(|e| e.split("://").nth(1).unwrap())
        .collect();
    format!("{host}:443:{}", addrs.join(","))
}

/// The scan of the test bucket as on AWS (virtual-hosted, no `--endpoint-url`), its host resolved to
/// `endpoints`, trusting the test CA, every object printed; then `extra`.
fn scan_resolved(pki: &Pki, endpoints: &[&str], extra: &[&str]) -> Run {
    let bucket = format!("s3://{BUCKET}");
    let resolve = resolve_to(AWS_HOST, endpoints);
    let mut args = vec![
        "scan",
        &bucket,
        "--resolve",
        &resolve,
        "--ca-bundle",
        pki.ca.cert.to_str().unwrap(),
        "--all",
    ];
    args.extend_from_slice(extra);
    s3meta(&args, &CREDS)
}

fn lines(stdout: &str) -> usize {
    stdout.lines().count()
}

#[test]
fn the_aws_default_path_works_offline_over_https() {
    let pki = pki("aws");
    let objects = ["--objects", "2500", "--seed", "3"];
    let https = start_sim(&sim_args(&pki.server, &objects));
    assert!(https.endpoint.starts_with("https://"), "{}", https.endpoint);
    let resolve = resolve_to(AWS_HOST, &[&https.endpoint]);
    let ca = pki.ca.cert.to_str().unwrap();
    let got = scan_resolved(&pki, &[&https.endpoint], &[]);
    assert_eq!(got.code, 0, "{}", got.stderr);
    // Exactly what the same bucket prints over plain HTTP.
    let mut plain_args = vec!["--bucket", BUCKET];
    plain_args.extend_from_slice(&objects);
    let plain = start_sim(&plain_args);
    let want = s3meta(
        &[
            "scan",
            &format!("s3://{BUCKET}"),
            "--endpoint-url",
            &plain.endpoint,
            "--all",
        ],
        &CREDS,
    );
    assert_eq!(want.code, 0, "{}", want.stderr);
    assert_eq!(lines(&got.stdout), 2500);
    assert!(
        got.stdout == want.stdout,
        "the HTTPS scan printed otherwise than the HTTP one"
    );
    assert!(!got.stderr.contains("warning"), "{}", got.stderr);
    // AWS_CA_BUNDLE does what --ca-bundle does.
    let mut env = CREDS.to_vec();
    env.push(("AWS_CA_BUNDLE", ca));
    let by_env = s3meta(
        &[
            "scan",
            &format!("s3://{BUCKET}"),
            "--resolve",
            &resolve,
            "--all",
        ],
        &env,
    );
    assert_eq!(by_env.code, 0, "{}", by_env.stderr);
    assert!(by_env.stdout == want.stdout);
    let summary = https.stop();
    // Virtual-hosted: every request found the bucket from the Host.
    assert!(
        count(&summary, "lists") >= 6 && count(&summary, "refused") == 0,
        "{summary}"
    );
    let _ = std::fs::remove_dir_all(&pki.dir);
}

#[test]
fn an_ip_endpoint_is_checked_against_the_certificates_ip_names() {
    let pki = pki("ip");
    let sim = start_sim(&sim_args(&pki.server, &["--objects", "20"]));
    let ca = pki.ca.cert.to_str().unwrap();
    let scan = |endpoint: &str| {
        s3meta(
            &[
                "scan",
                &format!("s3://{BUCKET}"),
                "--endpoint-url",
                endpoint,
                "--ca-bundle",
                ca,
                "--all",
            ],
            &CREDS,
        )
    };
    let ok = scan(&sim.endpoint);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert_eq!(lines(&ok.stdout), 20);
    // localhost is not among the certificate's names.
    let by_name = scan(&sim.endpoint.replace("127.0.0.1", "localhost"));
    assert_eq!(by_name.code, 3, "{}", by_name.stderr);
    assert!(by_name.stdout.is_empty());
    let _ = std::fs::remove_dir_all(&pki.dir);
}

/// The one line a refused scan prints before its summary.
fn fatal_line(stderr: &str) -> &str {
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(lines[1].starts_with("s3meta: listed=0"), "{stderr}");
    lines[0]
}

#[test]
fn an_untrusted_ca_or_another_name_is_refused_in_one_line() {
    let pki = pki("refused");
    let sim = start_sim(&sim_args(&pki.server, &["--objects", "20"]));
    let stranger = TestCa::new(&pki.dir.join("other"), "some-other-ca");
    let bucket = format!("s3://{BUCKET}");
    let resolve = resolve_to(AWS_HOST, &[&sim.endpoint]);

    // A CA that did not sign the server's certificate.
    let untrusted = s3meta(
        &[
            "scan",
            &bucket,
            "--resolve",
            &resolve,
            "--ca-bundle",
            stranger.cert.to_str().unwrap(),
        ],
        &CREDS,
    );
    assert_eq!(untrusted.code, 3, "{}", untrusted.stderr);
    let line = fatal_line(&untrusted.stderr);
    assert!(
        line.contains(&format!("TLS with {AWS_HOST} at 127.0.0.1:"))
            && line.contains("UnknownIssuer")
            && line.contains("--ca-bundle FILE"),
        "{line}"
    );
    // Without --ca-bundle: neither the system's roots nor Mozilla's know the test CA.
    let system = s3meta(&["scan", &bucket, "--resolve", &resolve], &CREDS);
    assert_eq!(system.code, 3, "{}", system.stderr);
    assert!(fatal_line(&system.stderr).contains("UnknownIssuer"));

    // The right CA, but a name the certificate does not hold (another region).
    let other_region = "tls-bucket.s3.eu-west-1.amazonaws.com";
    let wrong_name = s3meta(
        &[
            "scan",
            &bucket,
            "--region",
            "eu-west-1",
            "--resolve",
            &resolve_to(other_region, &[&sim.endpoint]),
            "--ca-bundle",
            pki.ca.cert.to_str().unwrap(),
        ],
        &CREDS,
    );
    assert_eq!(wrong_name.code, 3, "{}", wrong_name.stderr);
    let line = fatal_line(&wrong_name.stderr);
    assert!(
        line.contains("NotValidForName") || line.contains("not valid for name"),
        "{line}"
    );
    assert!(
        line.contains("the certificate is for another name"),
        "{line}"
    );

    // --no-verify-ssl takes it, and says so.
    let unchecked = s3meta(
        &[
            "scan",
            &bucket,
            "--resolve",
            &resolve,
            "--no-verify-ssl",
            "--all",
        ],
        &CREDS,
    );
    assert_eq!(unchecked.code, 0, "{}", unchecked.stderr);
    assert_eq!(lines(&unchecked.stdout), 20);
    assert!(
        unchecked
            .stderr
            .starts_with("s3meta: warning: --no-verify-ssl"),
        "{}",
        unchecked.stderr
    );

    // A bundle that is not one is refused by name.
    let junk = pki.dir.join("junk.pem");
    std::fs::write(&junk, "not a certificate\n").unwrap();
    let bad = s3meta(
        &[
            "scan",
            &bucket,
            "--resolve",
            &resolve,
            "--ca-bundle",
            junk.to_str().unwrap(),
        ],
        &CREDS,
    );
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(
        bad.stderr
            .contains("junk.pem (--ca-bundle): it holds no PEM certificate"),
        "{}",
        bad.stderr
    );
    let _ = std::fs::remove_dir_all(&pki.dir);
}

#[test]
fn connections_are_spread_over_every_address_given() {
    let pki = pki("vips");
    let objects = ["--objects", "3000"];
    let vips = [
        start_sim(&sim_args(&pki.server, &objects)),
        start_sim(&sim_args(&pki.server, &objects)),
        start_sim(&sim_args(&pki.server, &objects)),
    ];
    let endpoints: Vec<&str> = vips.iter().map(|s| s.endpoint.as_str()).collect();
    let got = scan_resolved(&pki, &endpoints, &["-j", "48"]);
    assert_eq!(got.code, 0, "{}", got.stderr);
    assert_eq!(lines(&got.stdout), 3000);
    let summary = got.stderr.lines().last().unwrap();
    let per_address = summary
        .split_whitespace()
        .find_map(|w| w.strip_prefix("connections_per_address="))
        .unwrap_or_else(|| panic!("{summary}"));
    let counts: Vec<u64> = per_address
        .split(',')
        .map(|a| a.rsplit('=').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(counts.len(), 3, "{summary}");
    // 48 HEAD connections and the LIST's: no address gets much more than its share.
    assert!(counts.iter().all(|&n| (14..=20).contains(&n)), "{summary}");
    for vip in vips {
        let s = vip.stop();
        assert!(count(&s, "heads") > 500, "{s}");
    }
    let _ = std::fs::remove_dir_all(&pki.dir);
}

#[test]
fn one_address_with_a_bad_certificate_does_not_end_the_scan() {
    let pki = pki("one-bad");
    let stranger = TestCa::new(&pki.dir.join("other"), "some-other-ca");
    let bad_cert = stranger.issue("bad", &["DNS:*.s3.us-east-1.amazonaws.com"]);
    let objects = ["--objects", "1500"];
    let bad = start_sim(&sim_args(&bad_cert, &objects));
    let good = [
        start_sim(&sim_args(&pki.server, &objects)),
        start_sim(&sim_args(&pki.server, &objects)),
    ];
    let endpoints = [bad.endpoint.as_str(), &good[0].endpoint, &good[1].endpoint];
    let got = scan_resolved(&pki, &endpoints, &["-j", "32"]);
    assert_eq!(got.code, 0, "{}", got.stderr);
    assert_eq!(lines(&got.stdout), 1500);
    // Only the two good addresses carried connections.
    let summary = got.stderr.lines().last().unwrap();
    assert!(!summary.contains(&bad.endpoint[8..]), "{summary}");
    let _ = std::fs::remove_dir_all(&pki.dir);
}
