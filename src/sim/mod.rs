//! `s3meta sim`: a synthetic S3 endpoint whose bucket is computed, not stored (see [`bucket`]). A server
//! library: the CLI parses its options, the demo starts one in-process, tests use its bucket model as
//! the oracle of what a scan must print. Built with the `sim` cargo feature (on by default);
//! `--no-default-features` leaves all of it out of the binary.

pub mod auth;
pub mod bucket;
pub mod faults;
pub mod server;
pub mod tls;

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bucket::{BucketSpec, Layout};
use faults::{FaultPlan, Latency};
use server::{SimOptions, SimStats};

use crate::core::escape::terminal_text;
use crate::core::sigv4::Credentials;
use crate::shell::cputime::{process_cpu, thread_cpu};
use crate::shell::error::Error;
use crate::shell::terminal::stderr_line;

/// The access key and secret the simulator accepts by default. Public, documented test values: they
/// protect nothing, and are printed so that any S3 client can be pointed at the simulator.
pub const DEFAULT_ACCESS_KEY: &str = "S3METASIMACCESSKEY";
pub const DEFAULT_SECRET_KEY: &str = "s3meta-sim-public-test-secret";

/// Where a simulator listens: one address, or the first free port of a range, tried from a point of
/// its own so that several simulators started at once do not race for the same port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listen {
    Addr(SocketAddr),
    Range { ip: IpAddr, first: u16, last: u16 },
}

impl Listen {
    /// Loopback, below the kernel's ephemeral ports (which start at 32768).
    pub const LOOPBACK_LOW_PORTS: Listen = Listen::Range {
        ip: IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        first: 20000,
        last: 32767,
    };

    /// `IP:PORT` or `IP:FIRST-LAST`.
    pub fn parse(s: &str) -> Result<Listen, String> {
        let bad = || format!("--listen takes IP:PORT or IP:FIRST-LAST, not {s:?}");
        if let Ok(addr) = s.parse::<SocketAddr>() {
            return Ok(Listen::Addr(addr));
        }
        let (ip, ports) = s.rsplit_once(':').ok_or_else(bad)?;
        let ip: IpAddr = crate::core::endpoint::bare_host(ip)
            .parse()
            .map_err(|_| bad())?;
        let (first, last) = ports.split_once('-').ok_or_else(bad)?;
        let (first, last): (u16, u16) = (
            first.parse().map_err(|_| bad())?,
            last.parse().map_err(|_| bad())?,
        );
        if first == 0 || first > last {
            return Err(bad());
        }
        Ok(Listen::Range { ip, first, last })
    }

    /// A bound listener.
    pub fn bind(&self) -> std::io::Result<std::net::TcpListener> {
        match *self {
            Listen::Addr(addr) => std::net::TcpListener::bind(addr),
            Listen::Range { ip, first, last } => {
                let span = u32::from(last - first) + 1;
                let start = (std::process::id()
                    ^ std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.subsec_nanos())
                        .unwrap_or(0))
                    % span;
                let mut last_error = None;
                for i in 0..span {
                    let port = first + ((start + i) % span) as u16;
                    match std::net::TcpListener::bind((ip, port)) {
                        Ok(l) => return Ok(l),
                        Err(e) => last_error = Some(e),
                    }
                }
                Err(last_error.unwrap_or_else(|| std::io::ErrorKind::AddrInUse.into()))
            }
        }
    }
}

impl std::fmt::Display for Listen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Listen::Addr(a) => write!(f, "{a}"),
            Listen::Range { ip, first, last } => write!(f, "{ip}:{first}-{last}"),
        }
    }
}

/// A simulator to run until it is told to stop.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub listen: Listen,
    pub options: SimOptions,
    /// Stop after this long (else at Ctrl-C or SIGTERM).
    pub duration: Option<Duration>,
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
        credentials: Some(Credentials::new(
            DEFAULT_ACCESS_KEY,
            DEFAULT_SECRET_KEY,
            None,
        )),
        tls: None,
        throttle: None,
        outage: None,
    }
}

fn bind(listen: Listen) -> Result<std::net::TcpListener, Error> {
    let listener = listen.bind().map_err(|source| Error::Setup {
        what: format!("cannot listen on {listen}"),
        source,
    })?;
    listener
        .set_nonblocking(true)
        .map_err(|source| Error::Setup {
            what: "cannot set up the listener".into(),
            source,
        })?;
    Ok(listener)
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| Error::Setup {
            what: "cannot start the simulator's runtime".into(),
            source,
        })
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
    pub fn start(listen: Listen, options: SimOptions) -> Result<RunningSim, Error> {
        let listener = bind(listen)?;
        let addr = listener.local_addr().map_err(|source| Error::Setup {
            what: "cannot read the listener's address".into(),
            source,
        })?;
        let rt = runtime()?;
        let tls = options.tls.as_ref().map(tls::acceptor).transpose()?;
        let stats = Arc::new(SimStats::default());
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread_stats = stats.clone();
        let thread = std::thread::Builder::new()
            .name("s3meta-sim".into())
            .spawn(move || {
                let start_cpu = thread_cpu().unwrap_or_default();
                rt.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    server::serve(listener, options, thread_stats, tls, async {
                        let _ = stop_rx.await;
                    })
                    .await;
                });
                thread_cpu().unwrap_or_default().saturating_sub(start_cpu)
            })
            .map_err(|source| Error::Setup {
                what: "cannot start the simulator thread".into(),
                source,
            })?;
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

/// The banner: where the simulator listens and what it serves, as a user would type it.
fn banner(addr: SocketAddr, o: &SimOptions) -> String {
    format!(
        "s3meta sim: listening on {}://{addr} bucket={} objects={} layout={} meta_fraction={} head_latency={} list_latency={} fail={}{}",
        if o.tls.is_some() { "https" } else { "http" },
        o.bucket_name,
        o.bucket.objects,
        o.bucket.layout,
        o.bucket.meta_fraction,
        o.head_latency,
        o.list_latency,
        o.faults,
        match (&o.throttle, &o.outage) {
            (None, None) => String::new(),
            (t, out) => format!(
                "{}{}",
                t.map(|t| format!(" throttle={}", t.rps)).unwrap_or_default(),
                out.map(|o| format!(
                    " outage={}+{}",
                    faults::format_duration(o.after),
                    faults::format_duration(o.lasting)
                ))
                .unwrap_or_default()
            ),
        }
    )
}

/// `s3meta sim`: serve until Ctrl-C, SIGTERM or the duration; then print the request counts and CPU.
pub fn run_sim(config: SimConfig) -> Result<(), Error> {
    let listener = bind(config.listen)?;
    let addr = listener.local_addr().map_err(|source| Error::Setup {
        what: "cannot read the listener's address".into(),
        source,
    })?;
    let rt = runtime()?;
    let stats = Arc::new(SimStats::default());
    let o = config.options.clone();
    let tls = o.tls.as_ref().map(tls::acceptor).transpose()?;
    rt.block_on(async {
        let listener =
            tokio::net::TcpListener::from_std(listener).map_err(|source| Error::Setup {
                what: "cannot set up the listener".into(),
                source,
            })?;
        // A closed stdout must not stop the simulator: write, and ignore failures.
        let mut out = std::io::stdout();
        let _ = writeln!(out, "{}", banner(addr, &o));
        let _ = match &o.credentials {
            None => writeln!(out, "# anonymous: use --no-sign-request"),
            Some(c)
                if c.access_key_id() == DEFAULT_ACCESS_KEY
                    && c.secret_access_key() == DEFAULT_SECRET_KEY =>
            {
                writeln!(
                    out,
                    "export AWS_ACCESS_KEY_ID={DEFAULT_ACCESS_KEY} AWS_SECRET_ACCESS_KEY={DEFAULT_SECRET_KEY}  # public test values"
                )
            }
            Some(c) => writeln!(
                out,
                "# SigV4 with access key {} and the secret you gave",
                terminal_text(c.access_key_id().as_bytes(), 200)
            ),
        };
        let _ = out.flush();
        let duration = config.duration;
        let shutdown = async move {
            let ctrl_c = tokio::signal::ctrl_c();
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = ctrl_c => {}
                _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
                _ = async { match duration { Some(d) => tokio::time::sleep(d).await, None => std::future::pending().await } } => {}
            }
        };
        server::serve(listener, o, stats.clone(), tls, shutdown).await;
        Ok::<(), Error>(())
    })?;
    let requests = stats.requests.load(std::sync::atomic::Ordering::Relaxed);
    let cpu = process_cpu().unwrap_or_default();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses_and_ranges() {
        assert_eq!(
            Listen::parse("127.0.0.1:0").unwrap(),
            Listen::Addr("127.0.0.1:0".parse().unwrap())
        );
        let r = Listen::parse("127.0.0.1:21000-21010").unwrap();
        assert_eq!(r.to_string(), "127.0.0.1:21000-21010");
        let a = r.bind().unwrap();
        let b = r.bind().unwrap();
        let (pa, pb) = (
            a.local_addr().unwrap().port(),
            b.local_addr().unwrap().port(),
        );
        assert!(pa != pb && (21000..=21010).contains(&pa) && (21000..=21010).contains(&pb));
        for bad in ["nowhere", "127.0.0.1:5-1", "127.0.0.1:0-9", "1.2.3:4-5"] {
            assert!(Listen::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_banner_says_what_a_user_would_type() {
        let mut o = default_options();
        o.head_latency = Latency::parse("30ms+5ms").unwrap();
        o.bucket.layout = Layout::parse("tree:10:2").unwrap();
        let b = banner("127.0.0.1:20000".parse().unwrap(), &o);
        assert!(b.contains("head_latency=30ms+5ms list_latency=0"), "{b}");
        assert!(
            b.contains("layout=tree:10:2") && b.contains("fail=none"),
            "{b}"
        );
    }
}
