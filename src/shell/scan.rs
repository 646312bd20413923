//! One scan, from its configuration to its report: builds the runtime and the S3 client, runs the
//! pipeline (lister → scheduler → HEAD tasks → emitter), and says how it ended. The CLI and the demo
//! run scans through here alike.

use std::sync::Arc;
use std::time::Duration;

use super::checkpoint::CheckpointSettings;
use super::connect::{AddressConnections, Connector};
use super::emitter::Emitter;
use super::error::Error;
use super::limit::LimitSettings;
use super::lister::ListRequest;
use super::listing::{Listing, ListingSettings};
use super::output::Output;
use super::pacing::{Pacing, PacingSnapshot};
use super::park_delay::ParkDelay;
use super::progress::{summary_line, Counters, ProgressLine};
use super::retry::RetryPolicy;
use super::s3_client::{ClientSettings, S3Client};
use super::scheduler::{run_pipeline, SchedulerLimits, Steering};
use super::signals::{first_signal, Signal};
use super::terminal::{never_show, stderr_line};
use super::tls::TlsOptions;
use crate::core::checkpoint::{Checkpoint, ScanIdentity};
use crate::core::endpoint::{BucketTarget, Scheme};
use crate::core::output::Format;
use crate::core::ranges::Boundary;
use crate::core::resolve::ResolveRule;
use crate::core::sigv4::{Credentials, Signer, SigningSettings};

/// HEADs in flight by default (see the README, "Choosing --concurrency").
pub const DEFAULT_CONCURRENCY: usize = 256;
/// Listers an automatic listing grows to while the HEADs wait for keys.
pub const AUTO_LISTERS: usize = 16;
pub const DEFAULT_MAX_KEYS: u32 = 1000;
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest HEAD response head accepted by default: far above what S3 stores allow (AWS: 2 KB of
/// user metadata in request headers of at most 8 KB). Every connection's read buffer can grow to about
/// twice this, so it sets what `-j` connections can hold (docs/BENCHMARKS.md, "hostile servers").
pub const DEFAULT_MAX_HEADER_BYTES: usize = 32 << 10;
/// What finished records may weigh while they wait for a slower one before them.
pub const DEFAULT_WINDOW_BYTES: usize = 32 << 20;

/// Everything a scan needs, resolved.
#[derive(Debug, Clone)]
pub struct ScanConfig {
    pub target: BucketTarget,
    pub prefix: Vec<u8>,
    pub start_after: Option<Vec<u8>>,
    /// Where the listing stops (a shard's end, `--shard`); `None`: at its end.
    pub end: Option<Boundary>,
    pub region: String,
    /// `None` for anonymous requests.
    pub credentials: Option<Credentials>,
    /// For `https://` endpoints.
    pub tls: TlsOptions,
    /// `--resolve`: addresses to connect to instead of asking the resolver.
    pub resolve: Vec<ResolveRule>,
    pub concurrency: usize,
    /// LIST streams at once over ranges of the key space; `None`: as many as the HEADs need, up to
    /// [`AUTO_LISTERS`].
    pub list_concurrency: Option<usize>,
    pub max_keys: u32,
    pub timeout: Duration,
    pub retry: RetryPolicy,
    /// `--max-rps`: requests per second never exceeded (HEADs and LISTs each).
    pub max_rps: Option<f64>,
    /// Adapt the in-flight limit and the rate to the store's throttling (`--no-adapt` turns it off).
    pub adaptive: bool,
    pub max_header_bytes: usize,
    pub window_bytes: usize,
    pub format: Format,
    /// Print objects without metadata too.
    pub include_all: bool,
    /// Draw the live progress line on stderr.
    pub progress: bool,
    /// Write a checkpoint as the scan goes.
    pub checkpoint: Option<CheckpointSettings>,
    /// Go on from this checkpoint (the output already holds what it records).
    pub resume: Option<Checkpoint>,
    /// Stop in order at SIGINT or SIGTERM (the CLI's scans; not a library caller's).
    pub handle_signals: bool,
}

impl ScanConfig {
    /// A scan of `target` with the defaults of every option.
    pub fn new(target: BucketTarget, credentials: Option<Credentials>) -> ScanConfig {
        ScanConfig {
            target,
            prefix: Vec::new(),
            start_after: None,
            end: None,
            region: "us-east-1".into(),
            credentials,
            tls: TlsOptions::default(),
            resolve: Vec::new(),
            concurrency: DEFAULT_CONCURRENCY,
            list_concurrency: None,
            max_keys: DEFAULT_MAX_KEYS,
            timeout: DEFAULT_TIMEOUT,
            retry: RetryPolicy::default(),
            max_rps: None,
            adaptive: true,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            window_bytes: DEFAULT_WINDOW_BYTES,
            format: Format::Jsonl,
            include_all: false,
            progress: false,
            checkpoint: None,
            resume: None,
            handle_signals: false,
        }
    }

    /// The key the listing starts after: none when `start_after` is empty (a plan's shard that
    /// starts before every key) as when there is none.
    pub(crate) fn listing_start(&self) -> Option<Vec<u8>> {
        self.start_after.clone().filter(|k| !k.is_empty())
    }

    /// What identifies this scan in a checkpoint: what changes the records it writes.
    pub fn identity(&self) -> ScanIdentity {
        let e = &self.target.endpoint;
        ScanIdentity {
            endpoint: format!("{}://{}", e.scheme.as_str(), e.authority()),
            bucket: self.target.bucket.clone(),
            prefix: self.prefix.clone(),
            start_after: self.start_after.clone(),
            end: self.end.clone(),
            format: self.format.name().to_owned(),
            include_all: self.include_all,
        }
    }
}

/// How a scan ended, as far as the exit code is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Every listed object was reported.
    Complete,
    /// Some objects failed; each was named.
    SomeFailed,
    /// Too many listed objects were not found by their HEAD to be believed.
    TooManyVanished,
    /// The scan stopped early.
    Fatal,
    /// The scan could not start: its configuration cannot be used (a CA bundle).
    Misconfigured,
    /// The reader of the output went away (`| head`): a quiet end.
    OutputClosed,
    /// Stopped by a signal; what was written is the listing's first objects, in order.
    Interrupted(Signal),
}

/// More than this share of the objects looked up, and more than [`VANISHED_MIN`] of them, not found by
/// their HEAD is not a bucket changing under the scan but a scan that reads keys wrong.
const VANISHED_SHARE: f64 = 0.01;
const VANISHED_MIN: u64 = 10;

/// What a scan did and how it ended.
#[derive(Debug)]
pub struct ScanReport {
    pub counters: Counters,
    pub seconds: f64,
    /// Set when the scan stopped early; every object listed before it was still reported.
    pub fatal: Option<Error>,
    /// The store listed out of order.
    pub unordered: bool,
    /// Every address connected to, with how many connections each got.
    pub connections: Vec<AddressConnections>,
    /// Retries, throttles and the limits at the end.
    pub pacing: PacingSnapshot,
    /// Stopped by this signal.
    pub interrupted: Option<Signal>,
    /// Where the checkpoint is, if there is one.
    pub checkpoint: Option<std::path::PathBuf>,
}

impl ScanReport {
    pub fn ending(&self) -> Ending {
        match (&self.fatal, self.counters.failed) {
            (Some(e), _) if e.is_closed_output() => Ending::OutputClosed,
            (Some(e), _) if e.is_configuration() => Ending::Misconfigured,
            (Some(_), _) => Ending::Fatal,
            _ if self.interrupted.is_some() => {
                Ending::Interrupted(self.interrupted.unwrap_or(Signal::Interrupt))
            }
            _ if self.too_many_vanished() => Ending::TooManyVanished,
            (None, 0) => Ending::Complete,
            (None, _) => Ending::SomeFailed,
        }
    }

    /// The report of a scan that did nothing but count `counters`.
    fn of_counters(counters: Counters) -> ScanReport {
        ScanReport {
            counters,
            seconds: 0.0,
            fatal: None,
            unordered: false,
            connections: Vec::new(),
            pacing: PacingSnapshot::default(),
            interrupted: None,
            checkpoint: None,
        }
    }

    /// The report of a scan a checkpoint says is complete: its counts, as they ended.
    pub fn of_checkpoint(checkpoint: &Checkpoint) -> ScanReport {
        ScanReport::of_counters(Counters::resumed_from(checkpoint.counts))
    }

    fn too_many_vanished(&self) -> bool {
        let c = &self.counters;
        c.vanished > VANISHED_MIN && c.vanished as f64 > c.heads as f64 * VANISHED_SHARE
    }

    pub fn summary_line(&self) -> String {
        summary_line(
            &self.counters,
            Duration::from_secs_f64(self.seconds),
            &self.pacing,
            &self.connections,
        )
    }

    /// Ends a run on stderr: the fatal error or the warning about vanished objects, then the summary.
    /// Nothing when the output was closed by its reader; only the error when the scan never started.
    pub fn write_ending(&self) {
        match self.ending() {
            Ending::OutputClosed => return,
            Ending::Misconfigured => {
                if let Some(e) = &self.fatal {
                    stderr_line(&format!("s3meta: {e}"));
                }
                return;
            }
            Ending::Fatal => {
                if let Some(e) = &self.fatal {
                    stderr_line(&format!("s3meta: {e}"));
                }
            }
            Ending::TooManyVanished => {
                let c = &self.counters;
                stderr_line(&format!(
                    "s3meta: error: {} of {} objects looked up ({:.1}%) were listed but not found by their HEAD: the output is not complete. Either the listing and the HEADs disagree about the key names (a server that encodes keys in listings otherwise than it says), or objects are being deleted while the scan runs",
                    c.vanished,
                    c.heads,
                    c.vanished as f64 * 100.0 / c.heads.max(1) as f64
                ));
            }
            Ending::Interrupted(signal) => {
                let how = match &self.checkpoint {
                    Some(path) => format!(
                        "run the same command again to resume from the checkpoint {}",
                        super::terminal::quote_key(path.display().to_string().as_bytes())
                    ),
                    None => "give --checkpoint FILE to make a scan resumable".to_owned(),
                };
                stderr_line(&format!(
                    "s3meta: stopped by {}: the output holds the first {} objects of the listing, in order; {how}",
                    signal.name(),
                    self.counters.heads
                ));
            }
            Ending::Complete | Ending::SomeFailed => {}
        }
        stderr_line(&self.summary_line());
    }
}

/// Runs one scan on a runtime of its own (single-threaded, with the park delay), writing records to
/// `out`. Messages about single objects go to stderr as they happen.
pub fn run_scan(config: &ScanConfig, out: &mut dyn Output) -> ScanReport {
    let failed = |fatal: Error| ScanReport {
        fatal: Some(fatal),
        ..ScanReport::of_counters(Counters::default())
    };
    hide_secrets(config);
    let park_delay = ParkDelay::new();
    let runtime = match park_delay.runtime() {
        Ok(rt) => rt,
        Err(source) => {
            return failed(Error::Setup {
                what: "cannot start the runtime".into(),
                source,
            })
        }
    };
    let connector = match connector(config) {
        Ok(c) => Arc::new(c),
        Err(e) => return failed(e),
    };
    let listers = config.list_concurrency.unwrap_or(AUTO_LISTERS).max(1);
    let pacing = Arc::new(Pacing::new(
        LimitSettings {
            ceiling: config.concurrency,
            max_rate: config.max_rps,
            adaptive: config.adaptive,
        },
        listers,
        config.retry,
    ));
    let listing = ListingSettings {
        listers,
        automatic: config.list_concurrency.is_none(),
        limit: {
            let pacing = pacing.clone();
            Arc::new(move || pacing.list_limit())
        },
        ahead_bytes: config.window_bytes,
    };
    let resumed_after = config.resume.as_ref().and_then(|c| c.after.clone());
    let request = ListRequest {
        prefix: config.prefix.clone(),
        start_after: resumed_after.or_else(|| config.listing_start()),
        end: config.end.clone(),
        max_keys: config.max_keys,
    };
    let limits = SchedulerLimits::new(config.concurrency, config.window_bytes);
    let mut emitter = Emitter::new(
        out,
        config.format,
        config.include_all,
        ProgressLine::new(config.progress),
    )
    .with_pacing(pacing.clone());
    if let Some(settings) = &config.checkpoint {
        emitter = emitter.with_checkpoints(settings.clone(), config.identity());
    }
    if let Some(checkpoint) = &config.resume {
        emitter = emitter.resuming(checkpoint);
    }
    let end = runtime.block_on(async {
        let client = Arc::new(s3_client(config, listers, &park_delay, &connector, &pacing));
        run_pipeline(
            client.clone(),
            client,
            Listing {
                request,
                settings: listing,
            },
            limits,
            Steering {
                head_limit: &|| pacing.head_limit(),
                stop: async {
                    if config.handle_signals {
                        first_signal().await
                    } else {
                        std::future::pending().await
                    }
                },
            },
            &mut emitter,
            &park_delay,
        )
        .await
    });
    let complete = end.fatal.is_none() && end.interrupted.is_none();
    let (counters, elapsed, flushed) = emitter.close(complete);
    let fatal = match (end.fatal, flushed) {
        (Some(e), _) => Some(e),
        (None, Err(e)) => Some(e),
        (None, Ok(())) => None,
    };
    ScanReport {
        counters,
        seconds: elapsed.as_secs_f64(),
        fatal,
        unordered: end.unordered,
        connections: connector.connections(),
        pacing: pacing.snapshot(),
        interrupted: end.interrupted,
        checkpoint: config.checkpoint.as_ref().map(|c| c.path.clone()),
    }
}

/// Marks the credentials' secrets as never to be shown (the one gate to stderr takes them out).
pub(crate) fn hide_secrets(config: &ScanConfig) {
    if let Some(c) = &config.credentials {
        // A secret that is the key id (MinIO's `minioadmin`) is no secret, and the key id may be shown.
        if c.secret_access_key() != c.access_key_id() {
            never_show(c.secret_access_key());
        }
        if let Some(token) = c.session_token() {
            never_show(token);
        }
    }
}

/// The S3 client of a scan (or a plan) with `listers` LIST streams, on `connector`'s connections.
pub(crate) fn s3_client(
    config: &ScanConfig,
    listers: usize,
    park_delay: &Arc<ParkDelay>,
    connector: &Arc<Connector>,
    pacing: &Arc<Pacing>,
) -> S3Client {
    let signer = config
        .credentials
        .clone()
        .map(|c| Signer::new(c, &config.region, "s3", SigningSettings::S3));
    let settings = ClientSettings {
        timeout: config.timeout,
        concurrency: config.concurrency,
        listers,
        max_header_bytes: config.max_header_bytes,
    };
    S3Client::new(
        config.target.clone(),
        signer,
        settings,
        park_delay.clone(),
        connector.clone(),
        pacing.clone(),
    )
}

/// Where the scan's connections go, and how: the `--resolve` rule for its host if there is one, TLS for
/// `https://`.
pub(crate) fn connector(config: &ScanConfig) -> Result<Connector, Error> {
    let target = &config.target;
    let host = target.connect_host();
    let fixed = ResolveRule::for_target(&config.resolve, target).map(|r| r.addrs.clone());
    let connector = Connector::new(&host, target.connect_port(), fixed, config.timeout);
    match target.endpoint.scheme {
        Scheme::Http => Ok(connector),
        #[cfg(feature = "tls")]
        Scheme::Https => Ok(connector.with_tls(super::tls::TlsClient::new(&config.tls, &host)?)),
        #[cfg(not(feature = "tls"))]
        Scheme::Https => Err(Error::Setup {
            what: "https:// endpoints".into(),
            source: std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "this build has no TLS (built without the `tls` feature)",
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(heads: u64, vanished: u64, failed: u64) -> ScanReport {
        ScanReport::of_counters(Counters {
            heads,
            vanished,
            failed,
            ..Counters::default()
        })
    }

    #[test]
    fn endings() {
        assert_eq!(report(100, 0, 0).ending(), Ending::Complete);
        assert_eq!(report(100, 0, 1).ending(), Ending::SomeFailed);
        // A few vanished objects are a bucket changing under the scan …
        assert_eq!(report(100_000, 10, 0).ending(), Ending::Complete);
        assert_eq!(report(100, 5, 0).ending(), Ending::Complete);
        assert_eq!(report(2000, 15, 0).ending(), Ending::Complete);
        // … more than 1 % and more than 10 are not.
        assert_eq!(report(1000, 11, 0).ending(), Ending::TooManyVanished);
        assert_eq!(report(2637, 2634, 0).ending(), Ending::TooManyVanished);
        let mut r = report(10, 0, 0);
        r.fatal = Some(Error::Output(std::io::ErrorKind::BrokenPipe.into()));
        assert_eq!(r.ending(), Ending::OutputClosed);
        r.fatal = Some(Error::Output(std::io::ErrorKind::Other.into()));
        assert_eq!(r.ending(), Ending::Fatal);
        r.fatal = Some(Error::CaBundle {
            what: "the CA bundle x.pem".into(),
            source: std::io::ErrorKind::NotFound.into(),
        });
        assert_eq!(r.ending(), Ending::Misconfigured);
    }
}
