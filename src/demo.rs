//! `s3meta demo`: the main job on a fresh machine with no S3 at hand. Starts the simulator in-process
//! on a loopback port, runs the same scan `s3meta scan` runs over TCP with SigV4, and prints the first
//! records, the summary, and what each side cost in CPU.

use std::io::Write;

use crate::core::endpoint::{Addressing, BucketTarget, Endpoint};
use crate::core::output::Format;
use crate::core::sigv4::Credentials;
use crate::shell::cputime::thread_cpu;
use crate::shell::error::Error;
use crate::shell::output::Output;
use crate::shell::scan::{run_scan, ScanConfig, ScanReport};
use crate::shell::terminal::stderr_line;
use crate::sim::bucket::Layout;
use crate::sim::faults::Latency;
use crate::sim::{default_options, Listen, RunningSim, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY};

/// What the demo scans.
#[derive(Debug, Clone)]
pub struct DemoConfig {
    pub objects: u64,
    pub concurrency: usize,
    pub head_latency: Latency,
    pub show: usize,
    pub format: Format,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            objects: 100_000,
            concurrency: crate::shell::scan::DEFAULT_CONCURRENCY,
            head_latency: Latency {
                base: std::time::Duration::from_millis(1),
                jitter: std::time::Duration::ZERO,
            },
            show: 10,
            format: Format::Jsonl,
        }
    }
}

/// Writes the first `limit` lines through, counts the rest.
struct Preview<W: Write> {
    inner: W,
    limit: usize,
    shown: usize,
    hidden: u64,
}

impl<W: Write> Output for Preview<W> {}

impl<W: Write> Write for Preview<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut rest = buf;
        while self.shown < self.limit && !rest.is_empty() {
            let end = rest
                .iter()
                .position(|&b| b == b'\n')
                .map_or(rest.len(), |p| p + 1);
            self.inner.write_all(&rest[..end])?;
            if rest[end - 1] == b'\n' {
                self.shown += 1;
            }
            rest = &rest[end..];
        }
        self.hidden += rest.iter().filter(|&&b| b == b'\n').count() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Runs the demo and writes its ending on stderr; the report says how the scan went.
pub fn run_demo(config: DemoConfig) -> Result<ScanReport, Error> {
    let mut options = default_options();
    options.bucket_name = "demo".into();
    options.bucket.objects = config.objects;
    options.bucket.layout = Layout::Tree {
        fanout: 10,
        depth: 2,
    };
    options.bucket.meta_fraction = 1.0 / 3.0;
    options.head_latency = config.head_latency;
    options.list_latency = Latency {
        base: std::time::Duration::from_millis(5),
        jitter: std::time::Duration::ZERO,
    };
    let sim = RunningSim::start(Listen::LOOPBACK_LOW_PORTS, options)?;
    let endpoint = format!("http://{}", sim.addr);

    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(
        stdout,
        "s3meta demo: a simulated bucket of {} objects (about 1 in 3 with metadata, HEAD latency {}),\n\
         served by `s3meta sim` on {endpoint}, scanned over TCP with SigV4, {} HEADs in flight:\n\n\
         $ s3meta scan s3://demo --endpoint-url {endpoint}",
        config.objects, config.head_latency, config.concurrency
    );
    let target = BucketTarget::new(
        Endpoint::parse(&endpoint).map_err(setup)?,
        "demo",
        Addressing::Path,
    )
    .map_err(setup)?;
    let mut scan = ScanConfig::new(
        target,
        Some(Credentials::new(
            DEFAULT_ACCESS_KEY,
            DEFAULT_SECRET_KEY,
            None,
        )),
    );
    scan.concurrency = config.concurrency;
    scan.format = config.format;
    let mut preview = Preview {
        inner: stdout,
        limit: config.show,
        shown: 0,
        hidden: 0,
    };
    let cpu_before = thread_cpu().unwrap_or_default();
    let report = run_scan(&scan, &mut preview);
    let client_cpu = thread_cpu().unwrap_or_default().saturating_sub(cpu_before);
    let requests = sim
        .stats
        .requests
        .load(std::sync::atomic::Ordering::Relaxed);
    let sim_cpu = sim.stop();
    let mut stdout = preview.inner;
    if preview.hidden > 0 {
        let _ = writeln!(stdout, "… and {} more records", preview.hidden);
    }
    let _ = stdout.flush();
    report.write_ending();
    let heads = report.counters.heads.max(1) as f64;
    stderr_line(&format!(
        "s3meta demo: client {:.1} µs CPU per HEAD (listing, signing, parsing, output included); simulator {:.1} µs CPU per request",
        client_cpu.as_secs_f64() * 1e6 / heads,
        sim_cpu.as_secs_f64() * 1e6 / requests.max(1) as f64
    ));
    Ok(report)
}

/// The demo builds its own endpoint: a failure to parse it is a bug, reported as a setup error.
fn setup(message: String) -> Error {
    Error::Setup {
        what: "cannot address the simulator".into(),
        source: std::io::Error::other(message),
    }
}
