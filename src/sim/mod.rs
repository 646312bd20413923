//! `s3meta sim`: a synthetic S3 endpoint whose bucket is computed, not stored (see [`bucket`]), and
//! `s3meta demo`, which scans one in-process. Built with the `sim` cargo feature (on by default);
//! `--no-default-features` leaves all of it out of the binary.

pub mod auth;
pub mod bucket;
pub mod demo;
pub mod faults;
pub mod server;

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bucket::{BucketSpec, Layout};
use faults::{FaultPlan, Latency};
use server::{SimOptions, SimStats};

use crate::error::Error;
use crate::shell::progress::stderr_line;

/// The access key and secret the simulator accepts by default. Public, documented test values: they
/// protect nothing, and are printed so that any S3 client can be pointed at the simulator.
pub const DEFAULT_ACCESS_KEY: &str = "S3METASIMACCESSKEY";
pub const DEFAULT_SECRET_KEY: &str = "s3meta-sim-public-test-secret";

pub const SIM_USAGE: &str = "\
s3meta sim — a synthetic S3 endpoint (ListObjectsV2 + HeadObject) over a computed bucket

USAGE:
    s3meta sim [OPTIONS]

OPTIONS:
        --listen ADDR          address to bind [default: 127.0.0.1:0, printed once bound]
        --bucket NAME          the bucket's name [default: sim]
        --objects N            objects in the bucket, up to 10^10 [default: 1000000]
        --layout LAYOUT        flat | tree:FANOUT:DEPTH [default: flat]
        --meta-pairs K         metadata pairs on an object that has metadata [default: 3]
        --meta-bytes B         length of each metadata value [default: 16]
        --meta-fraction F      share of objects with metadata, 0 to 1 [default: 1]
        --head-latency L       added to every HEAD: 1ms, 250us, or 1ms+0.5ms for jitter [default: 0]
        --list-latency L       added to every LIST [default: 0]
        --fail SPEC            injected faults, e.g. 503:0.02,500:0.01,reset:0.01,stall:0.005,truncate:0.005
        --seed S               seed for metadata, jitter and faults [default: 1]
        --anonymous            accept unsigned requests (default: verify SigV4)
        --access-key K         the access key to accept [default: S3METASIMACCESSKEY]
        --secret-key S         its secret [default: s3meta-sim-public-test-secret]
        --duration SECONDS     stop after this long (default: run until Ctrl-C or SIGTERM)
";

/// Parsed `sim` options.
#[derive(Debug, Clone)]
pub struct SimArgs {
    pub listen: SocketAddr,
    pub options: SimOptions,
    pub duration: Option<Duration>,
}

fn usage(msg: impl Into<String>) -> Error {
    Error::Usage(msg.into())
}

fn parse_num<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T, Error> {
    v.parse()
        .map_err(|_| usage(format!("{flag} takes a number, not {v:?}")))
}

/// The options every simulator has unless told otherwise.
pub fn default_options() -> SimOptions {
    SimOptions {
        bucket_name: "sim".into(),
        bucket: BucketSpec {
            objects: 1_000_000,
            layout: Layout::Flat,
            meta_pairs: 3,
            meta_bytes: 16,
            meta_fraction: 1.0,
            seed: 1,
        },
        head_latency: Latency::default(),
        list_latency: Latency::default(),
        faults: FaultPlan::default(),
        seed: 1,
        credentials: Some((DEFAULT_ACCESS_KEY.into(), DEFAULT_SECRET_KEY.into())),
    }
}

/// Parses the arguments after `sim`. Returns `None` for `--help`.
pub fn parse_sim_args(args: &[String]) -> Result<Option<SimArgs>, Error> {
    let mut o = default_options();
    let mut listen: SocketAddr = "127.0.0.1:0".parse().expect("valid address");
    let mut duration = None;
    let mut fail = String::new();
    let (mut key, mut secret, mut anonymous) = (None, None, false);
    let mut flags = crate::cli::flags::Flags::new(args);
    while let Some(f) = flags.next_flag() {
        let flag = f.name.as_str();
        let mut value = || flags.value(&f, "a value");
        match flag {
            "-h" | "--help" => return Ok(None),
            "--listen" => {
                let v = value()?;
                listen = v
                    .parse()
                    .map_err(|_| usage(format!("--listen takes IP:PORT, not {v:?}")))?;
            }
            "--bucket" => o.bucket_name = value()?,
            "--objects" => {
                o.bucket.objects = parse_num(flag, &value()?)?;
                if o.bucket.objects > 10_000_000_000 {
                    return Err(usage("--objects is at most 10000000000"));
                }
            }
            "--layout" => o.bucket.layout = Layout::parse(&value()?).map_err(usage)?,
            "--meta-pairs" => {
                o.bucket.meta_pairs = parse_num(flag, &value()?)?;
                if o.bucket.meta_pairs > 1000 {
                    return Err(usage("--meta-pairs is at most 1000"));
                }
            }
            "--meta-bytes" => {
                o.bucket.meta_bytes = parse_num(flag, &value()?)?;
                if !(1..=8192).contains(&o.bucket.meta_bytes) {
                    return Err(usage("--meta-bytes is 1 to 8192"));
                }
            }
            "--meta-fraction" => {
                let f: f64 = parse_num(flag, &value()?)?;
                if !(0.0..=1.0).contains(&f) {
                    return Err(usage("--meta-fraction is 0 to 1"));
                }
                o.bucket.meta_fraction = f;
            }
            "--head-latency" => o.head_latency = Latency::parse(&value()?).map_err(usage)?,
            "--list-latency" => o.list_latency = Latency::parse(&value()?).map_err(usage)?,
            "--fail" => fail = value()?,
            "--seed" => o.seed = parse_num(flag, &value()?)?,
            "--anonymous" => anonymous = true,
            "--access-key" => key = Some(value()?),
            "--secret-key" => secret = Some(value()?),
            "--duration" => {
                duration = Some(Duration::from_secs_f64(
                    parse_num::<f64>(flag, &value()?)?.max(0.0),
                ))
            }
            other => {
                return Err(usage(format!(
                    "unknown sim option {other:?} (see s3meta sim --help)"
                )))
            }
        }
    }
    o.bucket.seed = o.seed;
    o.faults = FaultPlan::parse(&fail, o.seed).map_err(usage)?;
    o.credentials = if anonymous {
        None
    } else {
        Some((
            key.unwrap_or_else(|| DEFAULT_ACCESS_KEY.into()),
            secret.unwrap_or_else(|| DEFAULT_SECRET_KEY.into()),
        ))
    };
    crate::core::endpoint::validate_bucket(&o.bucket_name, crate::core::endpoint::Addressing::Path)
        .map_err(usage)?;
    Ok(Some(SimArgs {
        listen,
        options: o,
        duration,
    }))
}

/// A simulator running on its own thread (its own single-threaded runtime).
pub struct RunningSim {
    pub addr: SocketAddr,
    pub stats: Arc<SimStats>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Duration>>,
}

impl RunningSim {
    /// Binds `listen` and serves on a new thread until [`RunningSim::stop`].
    pub fn start(listen: SocketAddr, options: SimOptions) -> Result<RunningSim, Error> {
        let stats = Arc::new(SimStats::default());
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let thread_stats = stats.clone();
        let thread = std::thread::Builder::new()
            .name("s3meta-sim".into())
            .spawn(move || {
                let start_cpu = crate::shell::cputime::thread_cpu().unwrap_or_default();
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ =
                            addr_tx.send(Err(format!("cannot start the simulator's runtime: {e}")));
                        return Duration::ZERO;
                    }
                };
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::bind(listen).await {
                        Ok(l) => l,
                        Err(e) => {
                            let _ = addr_tx.send(Err(format!("cannot listen on {listen}: {e}")));
                            return;
                        }
                    };
                    let _ = addr_tx.send(listener.local_addr().map_err(|e| e.to_string()));
                    server::serve(listener, options, thread_stats, async {
                        let _ = stop_rx.await;
                    })
                    .await;
                });
                crate::shell::cputime::thread_cpu()
                    .unwrap_or_default()
                    .saturating_sub(start_cpu)
            })
            .map_err(|e| Error::Fatal(format!("cannot start the simulator thread: {e}")))?;
        let addr = addr_rx
            .recv()
            .map_err(|_| Error::Fatal("the simulator thread ended before it was listening".into()))?
            .map_err(Error::Fatal)?;
        Ok(RunningSim {
            addr,
            stats,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// Stops serving; returns the CPU time the simulator's thread used.
    pub fn stop(mut self) -> Duration {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

/// `s3meta sim`: serve until Ctrl-C, SIGTERM or `--duration`; then print the request counts and CPU.
pub fn run_sim(args: SimArgs) -> Result<(), Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Fatal(format!("cannot start the runtime: {e}")))?;
    let stats = Arc::new(SimStats::default());
    let o = args.options.clone();
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| Error::Fatal(format!("cannot listen on {}: {e}", args.listen)))?;
        let addr = listener.local_addr().map_err(|e| Error::Fatal(e.to_string()))?;
        // A closed stdout must not stop the simulator: write, and ignore failures.
        let mut out = std::io::stdout();
        let _ = writeln!(
            out,
            "s3meta sim: listening on http://{addr} bucket={} objects={} layout={:?} meta_fraction={} head_latency={:?} list_latency={:?}",
            o.bucket_name, o.bucket.objects, o.bucket.layout, o.bucket.meta_fraction, o.head_latency, o.list_latency
        );
        let _ = match &o.credentials {
            None => writeln!(out, "# anonymous: use --no-sign-request"),
            Some((k, s)) if k == DEFAULT_ACCESS_KEY && s == DEFAULT_SECRET_KEY => {
                writeln!(out, "export AWS_ACCESS_KEY_ID={k} AWS_SECRET_ACCESS_KEY={s}  # public test values")
            }
            Some((k, _)) => writeln!(out, "# SigV4 with access key {k} and the secret you gave"),
        };
        let _ = std::io::stdout().flush();
        let shutdown = async {
            let ctrl_c = tokio::signal::ctrl_c();
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            let duration = args.duration;
            tokio::select! {
                _ = ctrl_c => {}
                _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
                _ = async { match duration { Some(d) => tokio::time::sleep(d).await, None => std::future::pending().await } } => {}
            }
        };
        server::serve(listener, o.clone(), stats.clone(), shutdown).await;
        Ok::<(), Error>(())
    })?;
    let requests = stats.requests.load(std::sync::atomic::Ordering::Relaxed);
    let cpu = crate::shell::cputime::process_cpu().unwrap_or_default();
    let per = if requests > 0 {
        cpu.as_secs_f64() * 1e6 / requests as f64
    } else {
        0.0
    };
    stderr_line(&format!(
        "s3meta sim: {} cpu_seconds={:.2} cpu_us_per_request={per:.1}",
        stats.summary(),
        cpu.as_secs_f64()
    ));
    Ok(())
}
