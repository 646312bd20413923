//! `s3meta sim` as a process of its own, for the tests that scan it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A running `s3meta sim`, killed when dropped.
pub struct Sim {
    child: Child,
    pub endpoint: String,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sim {
    /// Stops it as Ctrl-C would (SIGTERM) and returns what it printed on stderr: its request counts.
    pub fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(killed.success());
        let err = super::stderr_of(&mut self.child);
        let _ = self.child.wait();
        err
    }
}

/// Starts `s3meta sim` on the first free port of its default range (below the ephemeral ports) and
/// reads the address from its banner: no race between finding a port and binding it.
pub fn start_sim(args: &[&str]) -> Sim {
    let mut child = Command::new(super::binary())
        .args(["sim", "--duration", "120"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start s3meta sim");
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let endpoint = first
        .split("listening on ")
        .nth(1)
        .unwrap_or_else(|| panic!("no banner: {first:?}"))
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    Sim { child, endpoint }
}

/// The count `name=N` in the simulator's summary.
pub fn count(summary: &str, name: &str) -> u64 {
    summary
        .split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("{name} in {summary}"))
        .parse()
        .unwrap()
}

/// The number `name=N` in s3meta's summary line (the last one on its stderr).
pub fn summary_count(stderr: &str, name: &str) -> u64 {
    let line = stderr
        .lines()
        .rfind(|l| l.starts_with("s3meta: listed="))
        .unwrap_or_else(|| panic!("no summary in {stderr}"));
    count(line, name)
}

pub const CREDS: [(&str, &str); 2] = [
    ("AWS_ACCESS_KEY_ID", "S3METASIMACCESSKEY"),
    ("AWS_SECRET_ACCESS_KEY", "s3meta-sim-public-test-secret"),
];

/// Runs `s3meta plan` of `shards` shards of the simulator's bucket (with `extra` options) into `path`,
/// and checks that it was written.
pub fn make_plan(sim: &Sim, shards: usize, path: &std::path::Path, extra: &[&str]) {
    let n = shards.to_string();
    let mut args = vec![
        "plan",
        "s3://sim",
        "--endpoint-url",
        &sim.endpoint,
        "--shards",
        &n,
        "-o",
        path.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let made = super::s3meta(&args, &CREDS);
    assert_eq!(made.code, 0, "{}", made.stderr);
    assert!(
        made.stderr
            .contains(&format!("a plan of {shards} shards, from ")),
        "{}",
        made.stderr
    );
}
