//! The static build (the README's command; tests/run.sh builds it and names it in
//! S3META_STATIC_BINARY): `file` and `ldd` say it is static, and it scans the simulator over HTTPS
//! from inside an empty root that holds only itself, `/etc/hosts`, `/etc/resolv.conf` and a CA file:
//! by host name through `/etc/hosts`, and with `--resolve` and no resolver files at all.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::sim::{start_sim, CREDS};
use common::test_ca::TestCa;

const NAME: &str = "s3.static-test.example";

fn static_binary() -> PathBuf {
    let path = std::env::var_os("S3META_STATIC_BINARY")
        .expect("S3META_STATIC_BINARY: the static build to test (tests/run.sh builds it)");
    PathBuf::from(path)
}

fn output(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().expect("run");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// An empty root with only the binary and `files` (path inside the root, contents).
fn empty_root(dir: &Path, files: &[(&str, &[u8])]) -> PathBuf {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    std::fs::copy(static_binary(), dir.join("s3meta")).unwrap();
    for (path, bytes) in files {
        let at = dir.join(path.trim_start_matches('/'));
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        std::fs::write(at, bytes).unwrap();
    }
    dir.to_owned()
}

/// `s3meta ARGS` run inside `root`, with nothing in its environment but the simulator's keys.
fn in_root(root: &Path, args: &[&str]) -> (i32, String, String) {
    // As root, chroot; otherwise a user namespace lets us.
    let chroot = ["/usr/sbin/chroot", "/usr/bin/chroot", "/sbin/chroot"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("chroot (coreutils)");
    let mut cmd = if is_root() {
        Command::new(chroot)
    } else {
        let mut c = Command::new("unshare");
        c.args(["--map-root-user", chroot]);
        c
    };
    cmd.arg(root).arg("/s3meta").args(args).env_clear();
    for (k, v) in CREDS {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("chroot");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn is_root() -> bool {
    // /proc/self/status's Uid line, read without libc.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .map(|u| u.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

#[test]
#[ignore = "needs the static build: run by tests/run.sh"]
fn the_static_binary_is_static() {
    let bin = static_binary();
    let (_, file) = output(Command::new("file").arg(&bin));
    assert!(
        file.contains("static") && !file.contains("dynamically linked"),
        "{file}"
    );
    let (_, ldd) = output(Command::new("ldd").arg(&bin));
    assert!(
        ldd.contains("not a dynamic executable") || ldd.contains("statically linked"),
        "{ldd}"
    );
}

#[test]
#[ignore = "needs the static build: run by tests/run.sh"]
fn the_static_binary_scans_over_https_from_an_empty_root() {
    let dir = std::env::temp_dir().join(format!("s3meta-static-{}", std::process::id()));
    let ca = TestCa::new(&dir.join("pki"), "s3meta-static-ca");
    let cert = ca.issue("server", &[&format!("DNS:{NAME}")]);
    let mut sim_args = vec!["--objects", "300"];
    sim_args.extend(cert.sim_flags());
    let sim = start_sim(&sim_args);
    let port = sim.endpoint.rsplit(':').next().unwrap().to_owned();
    let ca_pem = std::fs::read(&ca.cert).unwrap();
    let endpoint = format!("https://{NAME}:{port}");

    // By name, through /etc/hosts; resolv.conf names a server that is not there.
    let hosts = format!("127.0.0.1 {NAME}\n");
    let root = empty_root(
        &dir.join("root"),
        &[
            ("/etc/hosts", hosts.as_bytes()),
            (
                "/etc/resolv.conf",
                b"nameserver 127.0.0.1\noptions timeout:1 attempts:1\n",
            ),
            ("/ca.pem", &ca_pem),
        ],
    );
    let scan = [
        "scan",
        "s3://sim",
        "--endpoint-url",
        &endpoint,
        "--ca-bundle",
        "/ca.pem",
        "--all",
    ];
    let (code, stdout, stderr) = in_root(&root, &scan);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.lines().count(), 300, "{stderr}");

    // With --resolve, no resolver file at all.
    let bare = empty_root(&dir.join("bare"), &[("/ca.pem", &ca_pem)]);
    let resolve = format!("{NAME}:{port}:127.0.0.1");
    let mut with_resolve = scan.to_vec();
    with_resolve.extend(["--resolve", &resolve]);
    let (code, stdout, stderr) = in_root(&bare, &with_resolve);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.lines().count(), 300);

    // And without either, the name does not resolve: a fatal error that says so.
    let mut once = scan.to_vec();
    once.extend(["--retries", "1"]);
    let (code, _, stderr) = in_root(&bare, &once);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains(&format!("resolving {NAME}")), "{stderr}");
    drop(sim);
    let _ = std::fs::remove_dir_all(&dir);
}
