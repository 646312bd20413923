//! `s3meta demo`: the main job on a fresh machine with no S3 at hand. Starts the simulator in-process
//! on an ephemeral loopback port, scans it with the real pipeline over TCP with SigV4, prints the first
//! records, the summary, and what each side cost in CPU.

use std::io::Write;
use std::sync::Arc;

use super::bucket::Layout;
use super::faults::Latency;
use super::{default_options, RunningSim, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY};
use crate::core::endpoint::{Addressing, BucketTarget, Endpoint};
use crate::core::output::Format;
use crate::core::sigv4::{Credentials, Signer, SigningSettings};
use crate::error::Error;
use crate::shell::batching::WakeBatching;
use crate::shell::cputime::thread_cpu;
use crate::shell::fetch::Context;
use crate::shell::progress::stderr_line;
use crate::shell::retry::RetryPolicy;
use crate::shell::scan::{scan, ScanOptions};

pub const DEMO_USAGE: &str = "\
s3meta demo — scan a simulated bucket in-process (no S3 or credentials needed)

USAGE:
    s3meta demo [--objects N] [-j N] [--head-latency L] [--show N] [--format jsonl|text|csv]

Defaults: 100000 objects (about a third with metadata), HEAD latency 1ms, 256 HEADs in flight,
the first 10 records shown.
";

#[derive(Debug, Clone)]
pub struct DemoArgs {
    pub objects: u64,
    pub concurrency: usize,
    pub head_latency: Latency,
    pub show: usize,
    pub format: Format,
}

/// Parses the arguments after `demo`. Returns `None` for `--help`.
pub fn parse_demo_args(args: &[String]) -> Result<Option<DemoArgs>, Error> {
    let mut d = DemoArgs {
        objects: 100_000,
        concurrency: crate::cli::DEFAULT_CONCURRENCY,
        head_latency: Latency::parse("1ms").expect("valid"),
        show: 10,
        format: Format::Jsonl,
    };
    let mut flags = crate::cli::flags::Flags::new(args);
    while let Some(f) = flags.next_flag() {
        let flag = f.name.as_str();
        let value = flags.value(&f, "a value").unwrap_or_default();
        let bad = |what: &str| Error::Usage(format!("{flag} takes {what}, not {value:?}"));
        match flag {
            "-h" | "--help" => return Ok(None),
            "--objects" => {
                d.objects = value
                    .parse()
                    .ok()
                    .filter(|n| *n <= 10_000_000_000)
                    .ok_or_else(|| bad("a number up to 10^10"))?
            }
            "-j" | "--concurrency" => {
                d.concurrency = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=100_000).contains(n))
                    .ok_or_else(|| bad("1 to 100000"))?
            }
            "--head-latency" => d.head_latency = Latency::parse(&value).map_err(Error::Usage)?,
            "--show" => d.show = value.parse().map_err(|_| bad("a number"))?,
            "--format" => {
                d.format = Format::parse(&value).ok_or_else(|| bad("jsonl, text or csv"))?
            }
            other => {
                return Err(Error::Usage(format!(
                    "unknown demo option {other:?} (see s3meta demo --help)"
                )))
            }
        }
    }
    Ok(Some(d))
}

/// Writes the first `limit` lines through, counts the rest.
struct Preview<W: Write> {
    inner: W,
    limit: usize,
    shown: usize,
    hidden: u64,
}

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

/// Runs the demo; returns the exit code.
pub fn run_demo(args: DemoArgs) -> Result<i32, Error> {
    let mut options = default_options();
    options.bucket_name = "demo".into();
    options.bucket.objects = args.objects;
    options.bucket.layout = Layout::Tree {
        fanout: 10,
        depth: 2,
    };
    options.bucket.meta_fraction = 1.0 / 3.0;
    options.head_latency = args.head_latency;
    options.list_latency = Latency::parse("5ms").expect("valid");
    let sim = RunningSim::start("127.0.0.1:0".parse().expect("valid"), options)?;
    let endpoint = format!("http://{}", sim.addr);

    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(
        stdout,
        "s3meta demo: a simulated bucket of {} objects (about 1 in 3 with metadata, HEAD latency {:?}),\n\
         served by `s3meta sim` on {endpoint}, scanned over TCP with SigV4, {} HEADs in flight:\n\n\
         $ s3meta scan s3://demo --endpoint-url {endpoint}",
        args.objects, args.head_latency.base, args.concurrency
    );
    let target = BucketTarget::new(
        Endpoint::parse(&endpoint).map_err(Error::Fatal)?,
        "demo",
        Addressing::Path,
    )
    .map_err(Error::Fatal)?;
    let signer = Signer::new(
        Credentials::new(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, None),
        "us-east-1",
        "s3",
        SigningSettings::S3,
    );
    let batching = WakeBatching::new();
    let runtime = batching
        .runtime()
        .map_err(|e| Error::Fatal(format!("cannot start the runtime: {e}")))?;
    let mut preview = Preview {
        inner: stdout,
        limit: args.show,
        shown: 0,
        hidden: 0,
    };
    let cpu_before = thread_cpu().unwrap_or_default();
    let report = runtime.block_on(async {
        let timeout = std::time::Duration::from_secs(30);
        let ctx = Arc::new(Context::new(
            target,
            Some(signer),
            RetryPolicy::default(),
            timeout,
            args.concurrency,
            batching,
        ));
        let opts = ScanOptions {
            prefix: Vec::new(),
            start_after: None,
            max_keys: 1000,
            concurrency: args.concurrency,
            include_all: false,
            format: args.format,
            progress: false,
        };
        scan(ctx, opts, &mut preview).await
    });
    let client_cpu = thread_cpu().unwrap_or_default().saturating_sub(cpu_before);
    drop(runtime);
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
    report.report_to_stderr();
    let heads = report.counters.heads.max(1) as f64;
    stderr_line(&format!(
        "s3meta demo: client {:.1} µs CPU per HEAD (listing, signing, parsing, output included); simulator {:.1} µs CPU per request",
        client_cpu.as_secs_f64() * 1e6 / heads,
        sim_cpu.as_secs_f64() * 1e6 / requests.max(1) as f64
    ));
    Ok(report.exit_code())
}
