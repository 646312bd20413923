//! `s3meta scan`: arguments, environment and `~/.aws` files → a [`ScanCommand`]. The conventions are
//! aws-cli's, so that what users already have in their fingers works.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::environment::Environment;
use super::flags::Flags;
use super::profile::Profiles;
use super::shard::{per_shard, shard_of_plan, ShardFlag};
use super::UsageError;
use crate::core::endpoint::{host_key, parse_s3_url, Addressing, BucketTarget, Endpoint, Scheme};
use crate::core::output::Format;
use crate::core::plan::MAX_SHARDS;
use crate::core::resolve::ResolveRule;
use crate::core::sigv4::Credentials;
use crate::shell::checkpoint::{CheckpointSettings, DEFAULT_CHECKPOINT_EVERY};
use crate::shell::retry::RetryPolicy;
use crate::shell::scan::{
    ScanConfig, DEFAULT_CONCURRENCY, DEFAULT_MAX_HEADER_BYTES, DEFAULT_MAX_KEYS, DEFAULT_TIMEOUT,
};
use crate::shell::tls::{TlsOptions, TrustRoots};

pub(crate) const USAGE: &str = "\
s3meta — list the custom metadata (x-amz-meta-*) of every object in an S3 bucket, fast

USAGE:
    s3meta scan s3://BUCKET[/PREFIX] [OPTIONS]
    s3meta plan s3://BUCKET[/PREFIX] --shards N [-o FILE]
                                  cut the listing into N key ranges for separate scans (see plan --help)
    s3meta demo [--objects N]     scan a simulated bucket in-process (see s3meta demo --help)
    s3meta sim [OPTIONS]          a synthetic S3 endpoint (see s3meta sim --help)
    s3meta --help | --version

OPTIONS:
        --endpoint-url URL     S3 endpoint, e.g. http://10.0.0.5 [env: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL;
                               default: https://s3.REGION.amazonaws.com]
        --region REGION        signing region [env: AWS_REGION, AWS_DEFAULT_REGION; profile; default: us-east-1]
        --profile NAME         profile in ~/.aws/credentials and ~/.aws/config [env: AWS_PROFILE]
        --no-sign-request      send anonymous requests (public buckets)
        --addressing STYLE     path | virtual [default: path for --endpoint-url, virtual for AWS
                               unless the bucket name holds a '.', which no certificate can match]
        --resolve HOST:PORT:ADDR[,ADDR...]
                               connect to these addresses instead of resolving HOST (curl's form; an
                               ADDR may carry its own port, 10.0.0.5:8443); connections are spread over
                               all of them. The Host, the signature and the certificate stay HOST's.
                               Repeatable; a rule must name the endpoint's host and port
        --ca-bundle FILE       trust only the CA certificates in this PEM file (a private CA)
                               [env: AWS_CA_BUNDLE; profile: ca_bundle; then SSL_CERT_FILE; default:
                               the system's bundle, else Mozilla's roots compiled in]
        --no-verify-ssl        do not check the server's certificate (a warning says so on every run)
    -j, --concurrency N        HEAD requests in flight at most; the limit adapts below it to the store's
                               throttling (503 SlowDown, 429) [default: 256]
        --list-concurrency M   LIST streams at once, each over a range of the key space (split as the
                               listing goes); 1 is one plain paginator. The output is the same bytes
                               whatever M [default: auto, up to 16 while the HEADs wait for keys]
        --max-rps R            never send more than R requests per second (AWS: 5500 HEADs per prefix)
        --no-adapt             keep -j requests in flight whatever the store says (retries still back off)
        --format FORMAT        jsonl | text | csv [default: jsonl]
    -o, --output FILE          write records to FILE instead of stdout
        --checkpoint FILE      record progress in FILE (atomically, every few seconds and at exit);
                               the same command run again resumes from it, and the output ends
                               byte for byte as an uninterrupted run's. Needs -o FILE, or stdout
                               redirected to a file with >>
        --checkpoint-every SECONDS
                               how often the checkpoint is written [default: 5]
        --all                  also print objects that have no custom metadata
        --start-after KEY      start listing after KEY
        --shard I/N            scan shard I (0 to N-1) of the plan given with --plan; auto/N takes I
                               from JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or
                               SLURM_ARRAY_TASK_ID (Slurm array). The N outputs, concatenated in shard
                               order, are the bytes of one scan. {shard} in -o and --checkpoint
                               becomes I, so one command line serves every shard
        --plan FILE            the key ranges made by s3meta plan
        --max-keys N           LIST page size, 1 to 1000 [default: 1000]
        --timeout SECONDS      the longest wait for a response head, and between two parts of a body
                               (connecting waits a third of it, 1 to 10 s) [default: 30]
        --retries N            attempts per request, the first included [default: 20: about a minute
                               of backoff, to ride out an outage]
        --retry-for SECONDS    start no retry this long after a request's first attempt
        --backoff-base SECONDS first retry's longest wait; each doubles it, with full jitter [default: 0.1]
        --backoff-max SECONDS  the longest wait between two attempts [default: 10]
        --max-header-bytes N   largest HEAD response head accepted, 8192 to 16777216 [default: 32768]
        --progress WHEN        never | always | auto (auto: when stderr is a terminal) [default: auto]

Over plain http:// to an address that is not loopback, the access key id, the session token and
the metadata travel unencrypted (the secret key never does): a warning says so.

Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, else the profile
(--profile, AWS_PROFILE or `default`; AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE are honoured).

Ctrl-C or SIGTERM stops the scan in order: HEADs out finish (for up to 5 s), the output is
flushed and the checkpoint written; a second one exits at once.

EXIT CODES: 0 every listed object reported; 1 some objects failed (each named on stderr);
            2 usage or configuration error; 3 fatal S3 error or the scan could not finish;
            4 more than 1% of the listed objects were not found by their HEAD (the output is not complete);
            130 / 143 stopped by SIGINT / SIGTERM (resumable with --checkpoint).
";

pub(crate) const PLAN_USAGE: &str = "\
s3meta plan — cut a listing into N key ranges (shards) that separate scans list on their own

USAGE:
    s3meta plan s3://BUCKET[/PREFIX] --shards N [-o FILE] [OPTIONS]
    s3meta scan s3://BUCKET[/PREFIX] --plan FILE --shard I/N    (for each I from 0 to N-1)

The ranges are balanced from a few hundred LIST probes of the key space, not from a full listing,
so the shards hold about, not exactly, as many objects each. They are exact where it matters: every
object of the listing falls in one shard, and the outputs of the N scans, concatenated in shard
order, are the bytes of one scan of the whole listing. The plan is JSON (README.md, \"Shards\").

OPTIONS:
        --shards N             how many ranges, 1 to 10000
    -o, --output FILE          write the plan to FILE instead of stdout
        --start-after KEY      plan the listing after KEY
        --max-keys N           LIST page size of the probes [default: 1000]
    and the connection options of scan: --endpoint-url, --region, --profile, --no-sign-request,
    --addressing, --resolve, --ca-bundle, --no-verify-ssl, --timeout, --retries, --retry-for,
    --backoff-base, --backoff-max, --max-rps, --no-adapt (see s3meta scan --help).

EXIT CODES: 0 the plan was written; 2 usage or configuration error; 3 the store could not be probed.
";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProgressMode {
    Never,
    Always,
    Auto,
}

/// A scan to run: its configuration, where its records go, when to draw progress.
#[derive(Debug)]
pub(crate) struct ScanCommand {
    pub config: ScanConfig,
    pub output: Option<PathBuf>,
    pub progress: ProgressMode,
    /// Printed before the scan starts, one line each: what the user should know about this run.
    pub warnings: Vec<String>,
}

fn usage(msg: impl Into<String>) -> UsageError {
    UsageError(msg.into())
}

/// The raw options, before the environment is consulted.
#[derive(Default)]
struct Args {
    url: Option<String>,
    endpoint_url: Option<String>,
    region: Option<String>,
    profile: Option<String>,
    no_sign_request: bool,
    addressing: Option<Addressing>,
    concurrency: Option<usize>,
    list_concurrency: Option<usize>,
    format: Option<Format>,
    output: Option<PathBuf>,
    all: bool,
    start_after: Option<String>,
    max_keys: Option<u32>,
    timeout: Option<Duration>,
    retries: Option<u32>,
    retry_for: Option<Duration>,
    backoff_base: Option<Duration>,
    backoff_max: Option<Duration>,
    max_rps: Option<f64>,
    no_adapt: bool,
    checkpoint: Option<PathBuf>,
    checkpoint_every: Option<Duration>,
    max_header_bytes: Option<usize>,
    progress: Option<ProgressMode>,
    resolve: Vec<ResolveRule>,
    ca_bundle: Option<PathBuf>,
    no_verify_ssl: bool,
    shard: Option<ShardFlag>,
    plan: Option<PathBuf>,
    shards: Option<usize>,
    /// The names of the options given, in order.
    given: Vec<String>,
}

pub(crate) fn number<T>(flag: &str, value: &str, min: T, max: T) -> Result<T, UsageError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    match value.parse::<T>() {
        Ok(n) if n >= min && n <= max => Ok(n),
        _ => Err(usage(format!(
            "{flag} takes a whole number from {min} to {max}, not {value:?}"
        ))),
    }
}

/// A number of seconds from `min` to `max`, fractions allowed.
fn seconds(flag: &str, value: &str, min: f64, max: f64) -> Result<Duration, UsageError> {
    match value.parse::<f64>() {
        Ok(s) if s.is_finite() && s >= min && s <= max => Ok(Duration::from_secs_f64(s)),
        _ => Err(usage(format!(
            "{flag} takes seconds from {min} to {max}, not {value:?}"
        ))),
    }
}

/// What `scan --help` asks for: the usage text instead of a scan.
pub(crate) enum Parsed {
    Scan(Box<ScanCommand>),
    Help,
}

/// A plan to make: the listing (in a scan's configuration), how many shards, where the plan goes.
#[derive(Debug)]
pub(crate) struct PlanCommand {
    pub config: ScanConfig,
    pub shards: usize,
    pub output: Option<PathBuf>,
    pub warnings: Vec<String>,
}

/// What `plan --help` asks for: the usage text instead of a plan.
pub(crate) enum ParsedPlan {
    Plan(Box<PlanCommand>),
    Help,
}

/// Options of `scan` that a plan has no use for.
const SCAN_ONLY: [&str; 11] = [
    "-j",
    "--concurrency",
    "--list-concurrency",
    "--format",
    "--all",
    "--checkpoint",
    "--checkpoint-every",
    "--progress",
    "--shard",
    "--plan",
    "--max-header-bytes",
];

/// Parses the arguments after `plan`: a scan's, but for `--shards N` and without what only a scan
/// uses.
pub(crate) fn parse_plan(args: &[String], env: &dyn Environment) -> Result<ParsedPlan, UsageError> {
    let a = match parse_args(args)? {
        None => return Ok(ParsedPlan::Help),
        Some(a) => a,
    };
    if let Some(f) = a.given.iter().find(|f| SCAN_ONLY.contains(&f.as_str())) {
        return Err(usage(format!(
            "{f} is an option of scan, not of plan (see plan --help)"
        )));
    }
    let shards = a.shards.ok_or_else(|| {
        usage("plan needs --shards N: how many key ranges to cut the listing into")
    })?;
    let c = resolve(a, env)?;
    Ok(ParsedPlan::Plan(Box::new(PlanCommand {
        config: c.config,
        shards,
        output: c.output,
        warnings: c.warnings,
    })))
}

/// Parses the arguments after `scan`.
pub(crate) fn parse_scan(args: &[String], env: &dyn Environment) -> Result<Parsed, UsageError> {
    let a = match parse_args(args)? {
        None => return Ok(Parsed::Help),
        Some(a) => a,
    };
    if a.shards.is_some() {
        return Err(usage(
            "--shards is an option of plan; a scan of one shard takes --shard I/N --plan FILE",
        ));
    }
    resolve(a, env).map(|c| Parsed::Scan(Box::new(c)))
}

/// The options as given; `None` for `--help`.
fn parse_args(args: &[String]) -> Result<Option<Args>, UsageError> {
    let mut a = Args::default();
    let mut flags = Flags::new(args);
    while let Some(f) = flags.next_flag() {
        let flag = f.name.as_str();
        if flag.starts_with('-') {
            a.given.push(flag.to_owned());
        }
        let mut value = |what: &str| flags.value(&f, what);
        match flag {
            "-h" | "--help" => return Ok(None),
            "--endpoint-url" => a.endpoint_url = Some(value("a URL")?),
            "--region" => a.region = Some(value("a region")?),
            "--profile" => a.profile = Some(value("a profile name")?),
            "--no-sign-request" => a.no_sign_request = true,
            "--addressing" => {
                let v = value("path or virtual")?;
                a.addressing =
                    Some(Addressing::parse(&v).ok_or_else(|| {
                        usage(format!("--addressing is path or virtual, not {v:?}"))
                    })?);
            }
            "-j" | "--concurrency" => {
                a.concurrency = Some(number(flag, &value("a number")?, 1, 100_000)?)
            }
            "--list-concurrency" => {
                let v = value("a number or auto")?;
                a.list_concurrency = match v.as_str() {
                    "auto" => None,
                    _ => Some(number(flag, &v, 1, 1024)?),
                };
            }
            "--format" => {
                let v = value("jsonl, text or csv")?;
                a.format =
                    Some(Format::parse(&v).ok_or_else(|| {
                        usage(format!("--format is jsonl, text or csv, not {v:?}"))
                    })?);
            }
            "-o" | "--output" => a.output = Some(PathBuf::from(value("a file")?)),
            "--all" => a.all = true,
            "--start-after" => a.start_after = Some(value("a key")?),
            "--max-keys" => a.max_keys = Some(number(flag, &value("a number")?, 1, 1000)?),
            "--timeout" => a.timeout = Some(seconds(flag, &value("seconds")?, 0.1, 3600.0)?),
            "--retries" => a.retries = Some(number(flag, &value("a number")?, 1, 1000)?),
            "--retry-for" => {
                a.retry_for = Some(seconds(flag, &value("seconds")?, 0.0, 30.0 * 86400.0)?)
            }
            "--backoff-base" => {
                a.backoff_base = Some(seconds(flag, &value("seconds")?, 0.001, 3600.0)?)
            }
            "--backoff-max" => {
                a.backoff_max = Some(seconds(flag, &value("seconds")?, 0.001, 3600.0)?)
            }
            "--max-rps" => {
                let v = value("requests per second")?;
                a.max_rps = Some(
                    v.parse::<f64>()
                        .ok()
                        .filter(|r| r.is_finite() && (1.0..=10_000_000.0).contains(r))
                        .ok_or_else(|| {
                            usage(format!(
                                "--max-rps takes requests per second from 1 to 10000000, not {v:?}"
                            ))
                        })?,
                );
            }
            "--no-adapt" => a.no_adapt = true,
            "--checkpoint" => a.checkpoint = Some(PathBuf::from(value("a file")?)),
            "--checkpoint-every" => {
                a.checkpoint_every = Some(seconds(flag, &value("seconds")?, 0.01, 86400.0)?)
            }
            "--max-header-bytes" => {
                a.max_header_bytes = Some(number(flag, &value("a number")?, 8192, 16 << 20)?)
            }
            "--resolve" => {
                let rule =
                    ResolveRule::parse(&value("HOST:PORT:ADDR[,ADDR...]")?).map_err(usage)?;
                a.resolve.push(rule);
            }
            "--ca-bundle" => a.ca_bundle = Some(PathBuf::from(value("a PEM file")?)),
            "--no-verify-ssl" => a.no_verify_ssl = true,
            "--shard" => a.shard = Some(ShardFlag::parse(&value("I/N or auto/N")?)?),
            "--plan" => a.plan = Some(PathBuf::from(value("a plan file")?)),
            "--shards" => a.shards = Some(number(flag, &value("a number")?, 1, MAX_SHARDS)?),
            "--progress" => {
                let v = value("never, always or auto")?;
                a.progress = Some(match v.as_str() {
                    "never" => ProgressMode::Never,
                    "always" => ProgressMode::Always,
                    "auto" => ProgressMode::Auto,
                    _ => {
                        return Err(usage(format!(
                            "--progress is never, always or auto, not {v:?}"
                        )))
                    }
                });
            }
            s if s.starts_with('-') && s.len() > 1 => {
                return Err(usage(format!("unknown option {s:?} (see --help)")))
            }
            _ => {
                if a.url.is_some() {
                    return Err(usage(format!(
                        "unexpected argument {flag:?}: give one s3://BUCKET[/PREFIX]"
                    )));
                }
                a.url = Some(flag.to_owned());
            }
        }
    }
    Ok(Some(a))
}

fn var(env: &dyn Environment, name: &str) -> Result<Option<String>, UsageError> {
    env.var(name).map_err(UsageError)
}

fn resolve(a: Args, env: &dyn Environment) -> Result<ScanCommand, UsageError> {
    let url = a
        .url
        .clone()
        .ok_or_else(|| usage("give the listing as s3://BUCKET[/PREFIX]"))?;
    let (bucket, prefix) = parse_s3_url(&url).map_err(usage)?;
    let profiles = Profiles::load(env).map_err(UsageError)?;
    let profile_name = match a.profile.clone() {
        Some(p) => Some(p),
        None => var(env, "AWS_PROFILE")?,
    };
    if let Some(name) = &profile_name {
        if !profiles.exists(name) {
            return Err(usage(format!(
                "profile {name:?} is not in {} or {}",
                profiles.credentials_path.display(),
                profiles.config_path.display()
            )));
        }
    }
    let profile_name_or_default = profile_name.clone().unwrap_or_else(|| "default".into());

    let region = match a.region {
        Some(r) => r,
        None => match var(env, "AWS_REGION")? {
            Some(r) => r,
            None => match var(env, "AWS_DEFAULT_REGION")? {
                Some(r) => r,
                None => profiles
                    .get(&profile_name_or_default, "region")
                    .unwrap_or_else(|| "us-east-1".into()),
            },
        },
    };
    if region.is_empty()
        || !region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(usage(format!("region {region:?} is not valid")));
    }

    let custom_endpoint = match a.endpoint_url {
        Some(u) => Some(u),
        None => match var(env, "AWS_ENDPOINT_URL_S3")? {
            Some(u) => Some(u),
            None => var(env, "AWS_ENDPOINT_URL")?,
        },
    };
    let endpoint = match &custom_endpoint {
        Some(url) => Endpoint::parse(url).map_err(usage)?,
        None => Endpoint::aws(&region),
    };
    if endpoint.scheme == Scheme::Https && !cfg!(feature = "tls") {
        return Err(usage(format!(
            "https://{}: this build has no TLS (it was built without the `tls` feature); use an http:// endpoint",
            endpoint.authority()
        )));
    }
    // A dotted bucket is more than one label: `*.s3.REGION.amazonaws.com` does not match it.
    let addressing = a.addressing.unwrap_or(
        if custom_endpoint.is_some() || (endpoint.scheme == Scheme::Https && bucket.contains('.')) {
            Addressing::Path
        } else {
            Addressing::Virtual
        },
    );
    let target = BucketTarget::new(endpoint, &bucket, addressing).map_err(usage)?;
    for (i, rule) in a.resolve.iter().enumerate() {
        if a.resolve[..i]
            .iter()
            .any(|r| r.applies_to(&rule.host, rule.port))
        {
            return Err(usage(format!(
                "--resolve {}:{} is given twice: give every address in one rule",
                rule.host, rule.port
            )));
        }
        if !rule.applies_to_target(&target) {
            return Err(usage(format!(
                "--resolve {}:{}: connections go to {}, which the rule does not name",
                rule.host,
                rule.port,
                target.connect_address()
            )));
        }
    }
    let mut warnings = Vec::new();
    let tls = TlsOptions {
        roots: trust_roots(
            a.ca_bundle.clone(),
            &profiles,
            &profile_name_or_default,
            env,
        )?,
        verify: !a.no_verify_ssl,
    };
    if a.ca_bundle.is_some() && (a.no_verify_ssl || target.endpoint.scheme == Scheme::Http) {
        warnings.push(format!(
            "warning: --ca-bundle is not used: {}",
            if a.no_verify_ssl {
                "--no-verify-ssl checks no certificate"
            } else {
                "the endpoint is plain http://"
            }
        ));
    }
    if a.no_verify_ssl && target.endpoint.scheme == Scheme::Https {
        warnings.push(
            "warning: --no-verify-ssl: the server's certificate is not checked, so anyone on the network path can pose as the server and read the credentials' signatures and the metadata"
                .to_owned(),
        );
    }

    let (credentials, credentials_file) = if a.no_sign_request {
        (None, None)
    } else {
        let (c, file) = resolve_credentials(
            a.profile.as_deref(),
            profile_name.as_deref(),
            &profiles,
            env,
        )?;
        (Some(c), file)
    };

    if credentials.is_some()
        && target.endpoint.scheme == Scheme::Http
        && !goes_to_loopback(&target, &a.resolve)
    {
        warnings.push(format!(
            "warning: {} is plain http:// and not loopback: the access key id, the session token and the metadata travel unencrypted (the secret key never does)",
            target.connect_address()
        ));
    }
    if let Some(path) = credentials_file.filter(|p| env.readable_by_others(p)) {
        warnings.push(format!(
            "warning: {} is readable by other users than its owner: chmod 600 it",
            path.display()
        ));
    }

    let mut config = ScanConfig::new(target, credentials);
    config.tls = tls;
    config.resolve = a.resolve;
    config.prefix = prefix.into_bytes();
    config.start_after = a.start_after.map(String::into_bytes);
    config.region = region;
    config.concurrency = a.concurrency.unwrap_or(DEFAULT_CONCURRENCY);
    config.list_concurrency = a.list_concurrency;
    config.max_keys = a.max_keys.unwrap_or(DEFAULT_MAX_KEYS);
    config.timeout = a.timeout.unwrap_or(DEFAULT_TIMEOUT);
    let defaults = RetryPolicy::default();
    config.retry = RetryPolicy {
        max_attempts: a.retries.unwrap_or(defaults.max_attempts),
        base_delay: a.backoff_base.unwrap_or(defaults.base_delay),
        max_delay: a.backoff_max.unwrap_or(defaults.max_delay),
        give_up_after: a.retry_for,
    };
    if config.retry.base_delay > config.retry.max_delay {
        return Err(usage("--backoff-base is longer than --backoff-max"));
    }
    config.max_rps = a.max_rps;
    config.adaptive = !a.no_adapt;
    if a.checkpoint_every.is_some() && a.checkpoint.is_none() {
        return Err(usage("--checkpoint-every goes with --checkpoint FILE"));
    }
    if let (Some(cp), Some(out)) = (&a.checkpoint, &a.output) {
        if cp == out {
            return Err(usage("--checkpoint and --output name the same file"));
        }
    }
    config.checkpoint = a.checkpoint.map(|path| CheckpointSettings {
        path,
        every: a.checkpoint_every.unwrap_or(DEFAULT_CHECKPOINT_EVERY),
    });
    config.max_header_bytes = a.max_header_bytes.unwrap_or(DEFAULT_MAX_HEADER_BYTES);
    let mut output = a.output;
    match (a.shard, &a.plan) {
        (None, None) => {}
        (None, Some(_)) => return Err(usage("--plan goes with --shard I/N (or auto/N)")),
        (Some(_), None) => {
            return Err(usage(
                "--shard needs --plan FILE, the key ranges made by s3meta plan --shards N",
            ))
        }
        (Some(flag), Some(plan)) => {
            if config.start_after.is_some() {
                return Err(usage(
                    "--start-after goes to s3meta plan: a shard starts where its plan says",
                ));
            }
            let index = flag.index(env)?;
            let shard = shard_of_plan(
                plan,
                env,
                index,
                flag.count,
                &config.target.bucket,
                &config.prefix,
            )?;
            config.start_after = shard.start_after;
            config.end = shard.end;
            output = output.map(|o| per_shard(o, index));
            if let Some(cp) = &mut config.checkpoint {
                cp.path = per_shard(cp.path.clone(), index);
            }
        }
    }
    config.format = a.format.unwrap_or(Format::Jsonl);
    config.include_all = a.all;
    Ok(ScanCommand {
        config,
        output,
        progress: a.progress.unwrap_or(ProgressMode::Auto),
        warnings,
    })
}

/// `--ca-bundle`, then `AWS_CA_BUNDLE`, then the profile's `ca_bundle` (aws-cli's order), then
/// `SSL_CERT_FILE` (OpenSSL's, Go's and curl's way to name the system bundle), else the system's roots.
fn trust_roots(
    flag: Option<PathBuf>,
    profiles: &Profiles,
    profile: &str,
    env: &dyn Environment,
) -> Result<TrustRoots, UsageError> {
    let (path, from) = match flag {
        Some(p) => (p, "--ca-bundle".to_owned()),
        None => match var(env, "AWS_CA_BUNDLE")? {
            Some(p) => (PathBuf::from(p), "AWS_CA_BUNDLE".to_owned()),
            None => match profiles.get(profile, "ca_bundle") {
                Some(p) => (PathBuf::from(p), format!("profile {profile:?}")),
                None => match var(env, "SSL_CERT_FILE")? {
                    Some(p) => return Ok(TrustRoots::SystemFile(PathBuf::from(p))),
                    None => return Ok(TrustRoots::System),
                },
            },
        },
    };
    Ok(TrustRoots::File { path, from })
}

/// Whether every connection goes to a loopback address: the endpoint is `localhost` or a loopback IP,
/// or the `--resolve` rule for it names only loopback addresses.
fn goes_to_loopback(target: &BucketTarget, rules: &[ResolveRule]) -> bool {
    if let Some(rule) = ResolveRule::for_target(rules, target) {
        return rule.addrs.iter().all(|a| a.ip().is_loopback());
    }
    let host = host_key(&target.connect_host());
    host == "localhost"
        || host.ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Checks a credential for what cannot go into a request: an access key id and a session token are sent
/// in headers, and a control character or space in any of the three is a paste error. Names where it
/// came from, never the value.
fn checked(value: String, what: &str) -> Result<String, UsageError> {
    if value.bytes().any(|b| b.is_ascii_control() || b == b' ') {
        return Err(usage(format!(
            "{what} holds a space or a control character (a line break?): it cannot be sent"
        )));
    }
    Ok(value)
}

fn credentials(
    id: String,
    secret: String,
    token: Option<String>,
    source: &str,
) -> Result<Credentials, UsageError> {
    let id = checked(id, &format!("the access key id from {source}"))?;
    let secret = checked(secret, &format!("the secret access key from {source}"))?;
    let token = token
        .map(|t| checked(t, &format!("the session token from {source}")))
        .transpose()?;
    Ok(Credentials::new(id, secret, token))
}

/// aws-cli order: `--profile` first, then the environment's keys, then `AWS_PROFILE` or `default`.
/// With the credentials, the file their secret was read from.
fn resolve_credentials<'p>(
    flag_profile: Option<&str>,
    profile_name: Option<&str>,
    profiles: &'p Profiles,
    env: &dyn Environment,
) -> Result<(Credentials, Option<&'p Path>), UsageError> {
    if flag_profile.is_none() {
        match (
            var(env, "AWS_ACCESS_KEY_ID")?,
            var(env, "AWS_SECRET_ACCESS_KEY")?,
        ) {
            (Some(id), Some(secret)) => {
                let token = var(env, "AWS_SESSION_TOKEN")?;
                return Ok((credentials(id, secret, token, "the environment")?, None));
            }
            (Some(_), None) => {
                return Err(usage(
                    "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not",
                ))
            }
            (None, Some(_)) => {
                return Err(usage(
                    "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not",
                ))
            }
            (None, None) => {}
        }
    }
    let name = profile_name.unwrap_or("default");
    let id = profiles.get(name, "aws_access_key_id");
    let secret = profiles.get(name, "aws_secret_access_key");
    match (id, secret) {
        (Some(id), Some(secret)) => Ok((
            credentials(
                id,
                secret,
                profiles.get(name, "aws_session_token"),
                &format!("profile {name:?}"),
            )?,
            profiles.file_of(name, "aws_secret_access_key"),
        )),
        (Some(_), None) => Err(usage(format!("profile {name:?} has aws_access_key_id but no aws_secret_access_key"))),
        (None, Some(_)) => Err(usage(format!("profile {name:?} has aws_secret_access_key but no aws_access_key_id"))),
        (None, None) => Err(usage(format!(
            "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, give --profile, put keys in profile {name:?}, or use --no-sign-request"
        ))),
    }
}
