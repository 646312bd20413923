//! Command line, environment and `~/.aws` files → a [`Command`]. The conventions are aws-cli's, so that
//! what users already have in their fingers works.

use std::path::PathBuf;
use std::time::Duration;

use crate::core::endpoint::{parse_s3_url, Addressing, BucketTarget, Endpoint};
use crate::core::output::Format;
use crate::core::sigv4::Credentials;
use crate::error::Error;
use crate::shell::retry::RetryPolicy;

pub mod flags;
mod profile;

/// HEADs in flight by default (see README, "Choosing --concurrency").
pub const DEFAULT_CONCURRENCY: usize = 256;
pub const DEFAULT_MAX_KEYS: u32 = 1000;
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

pub const USAGE: &str = "\
s3meta — list the custom metadata (x-amz-meta-*) of every object in an S3 bucket, fast

USAGE:
    s3meta scan s3://BUCKET[/PREFIX] [OPTIONS]
    s3meta demo [--objects N]     scan a simulated bucket in-process (see s3meta demo --help)
    s3meta sim [OPTIONS]          a synthetic S3 endpoint (see s3meta sim --help)
    s3meta --help | --version

OPTIONS:
        --endpoint-url URL     S3 endpoint, e.g. http://10.0.0.5 [env: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL;
                               default: https://s3.REGION.amazonaws.com]
        --region REGION        signing region [env: AWS_REGION, AWS_DEFAULT_REGION; profile; default: us-east-1]
        --profile NAME         profile in ~/.aws/credentials and ~/.aws/config [env: AWS_PROFILE]
        --no-sign-request      send anonymous requests (public buckets)
        --addressing STYLE     path | virtual [default: path for --endpoint-url, virtual for AWS]
    -j, --concurrency N        HEAD requests in flight [default: 256]
        --format FORMAT        jsonl | text | csv [default: jsonl]
    -o, --output FILE          write records to FILE instead of stdout
        --all                  also print objects that have no custom metadata
        --start-after KEY      start listing after KEY
        --max-keys N           LIST page size, 1 to 1000 [default: 1000]
        --timeout SECONDS      per-request timeout [default: 30]
        --retries N            attempts per request, the first included [default: 5]
        --progress WHEN        never | always | auto (auto: when stderr is a terminal) [default: auto]

Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, else the profile
(--profile, AWS_PROFILE or `default`; AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE are honoured).

EXIT CODES: 0 every listed object reported; 1 some objects failed (each named on stderr);
            2 usage or configuration error; 3 fatal S3 error or the scan could not finish.
";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    Never,
    Always,
    Auto,
}

/// Everything a scan needs, resolved.
#[derive(Debug, Clone)]
pub struct ScanConfig {
    pub target: BucketTarget,
    pub prefix: String,
    pub region: String,
    /// `None` for `--no-sign-request`.
    pub credentials: Option<Credentials>,
    pub concurrency: usize,
    pub format: Format,
    pub output: Option<PathBuf>,
    pub include_all: bool,
    pub start_after: Option<String>,
    pub max_keys: u32,
    pub timeout: Duration,
    pub retry: RetryPolicy,
    pub progress: ProgressMode,
}

#[derive(Debug)]
pub enum Command {
    Scan(Box<ScanConfig>),
    #[cfg(feature = "sim")]
    Sim(Box<crate::sim::SimArgs>),
    #[cfg(feature = "sim")]
    Demo(Box<crate::sim::demo::DemoArgs>),
    /// Print this usage text.
    Usage(&'static str),
    Help,
    Version,
}

/// Where configuration comes from besides the arguments; a trait so that tests need no real environment.
pub trait Environment {
    fn var(&self, name: &str) -> Option<String>;
    fn read_file(&self, path: &std::path::Path) -> Option<String>;
}

/// The process environment and file system.
pub struct ProcessEnvironment;

impl Environment for ProcessEnvironment {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
    fn read_file(&self, path: &std::path::Path) -> Option<String> {
        std::fs::read_to_string(path).ok()
    }
}

fn usage(msg: impl Into<String>) -> Error {
    Error::Usage(msg.into())
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
    format: Option<Format>,
    output: Option<PathBuf>,
    all: bool,
    start_after: Option<String>,
    max_keys: Option<u32>,
    timeout: Option<Duration>,
    retries: Option<u32>,
    progress: Option<ProgressMode>,
}

fn number<T>(flag: &str, value: &str, min: T, max: T) -> Result<T, Error>
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

/// Parses the arguments after the program name.
pub fn parse(args: &[String], env: &dyn Environment) -> Result<Command, Error> {
    let sub = match args.first().map(String::as_str) {
        None | Some("-h") | Some("--help") | Some("help") => return Ok(Command::Help),
        Some("-V") | Some("--version") => return Ok(Command::Version),
        Some("scan") => "scan",
        #[cfg(feature = "sim")]
        Some("sim") => {
            return Ok(match crate::sim::parse_sim_args(&args[1..])? {
                Some(a) => Command::Sim(Box::new(a)),
                None => Command::Usage(crate::sim::SIM_USAGE),
            })
        }
        #[cfg(feature = "sim")]
        Some("demo") => {
            return Ok(match crate::sim::demo::parse_demo_args(&args[1..])? {
                Some(a) => Command::Demo(Box::new(a)),
                None => Command::Usage(crate::sim::demo::DEMO_USAGE),
            })
        }
        Some(other) => {
            return Err(usage(format!(
                "unknown command {other:?} (try `s3meta scan s3://BUCKET`)"
            )))
        }
    };
    debug_assert_eq!(sub, "scan");
    let mut a = Args::default();
    let mut flags = flags::Flags::new(&args[1..]);
    while let Some(f) = flags.next_flag() {
        let flag = f.name.as_str();
        let mut value = |what: &str| flags.value(&f, what);
        match flag {
            "-h" | "--help" => return Ok(Command::Help),
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
            "--timeout" => {
                let secs: u64 = number(flag, &value("seconds")?, 1, 3600)?;
                a.timeout = Some(Duration::from_secs(secs));
            }
            "--retries" => a.retries = Some(number(flag, &value("a number")?, 1, 100)?),
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
    resolve(a, env).map(|c| Command::Scan(Box::new(c)))
}

fn resolve(a: Args, env: &dyn Environment) -> Result<ScanConfig, Error> {
    let url = a
        .url
        .ok_or_else(|| usage("scan needs s3://BUCKET[/PREFIX]"))?;
    let (bucket, prefix) = parse_s3_url(&url).map_err(usage)?;
    let profiles = profile::Profiles::load(env);
    let profile_name = a.profile.clone().or_else(|| env.var("AWS_PROFILE"));
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

    let region = a
        .region
        .or_else(|| env.var("AWS_REGION"))
        .or_else(|| env.var("AWS_DEFAULT_REGION"))
        .or_else(|| profiles.get(&profile_name_or_default, "region"))
        .unwrap_or_else(|| "us-east-1".into());
    if region.is_empty()
        || !region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(usage(format!("region {region:?} is not valid")));
    }

    let custom_endpoint = a
        .endpoint_url
        .or_else(|| env.var("AWS_ENDPOINT_URL_S3"))
        .or_else(|| env.var("AWS_ENDPOINT_URL"));
    let endpoint = match &custom_endpoint {
        Some(url) => Endpoint::parse(url).map_err(usage)?,
        None => Endpoint::aws(&region),
    };
    if endpoint.scheme == crate::core::endpoint::Scheme::Https {
        return Err(usage(format!(
            "{}://{}: https endpoints need TLS, which this build does not have yet; use an http:// endpoint",
            endpoint.scheme.as_str(),
            endpoint.authority()
        )));
    }
    let addressing = a.addressing.unwrap_or(if custom_endpoint.is_some() {
        Addressing::Path
    } else {
        Addressing::Virtual
    });
    let target = BucketTarget::new(endpoint, &bucket, addressing).map_err(usage)?;

    let credentials = if a.no_sign_request {
        None
    } else {
        Some(resolve_credentials(
            a.profile.as_deref(),
            profile_name.as_deref(),
            &profiles,
            env,
        )?)
    };

    Ok(ScanConfig {
        target,
        prefix,
        region,
        credentials,
        concurrency: a.concurrency.unwrap_or(DEFAULT_CONCURRENCY),
        format: a.format.unwrap_or(Format::Jsonl),
        output: a.output,
        include_all: a.all,
        start_after: a.start_after,
        max_keys: a.max_keys.unwrap_or(DEFAULT_MAX_KEYS),
        timeout: a.timeout.unwrap_or(DEFAULT_TIMEOUT),
        retry: RetryPolicy {
            max_attempts: a.retries.unwrap_or(RetryPolicy::default().max_attempts),
            ..RetryPolicy::default()
        },
        progress: a.progress.unwrap_or(ProgressMode::Auto),
    })
}

/// aws-cli order: `--profile` first, then the environment's keys, then `AWS_PROFILE` or `default`.
fn resolve_credentials(
    flag_profile: Option<&str>,
    profile_name: Option<&str>,
    profiles: &profile::Profiles,
    env: &dyn Environment,
) -> Result<Credentials, Error> {
    if flag_profile.is_none() {
        match (
            env.var("AWS_ACCESS_KEY_ID"),
            env.var("AWS_SECRET_ACCESS_KEY"),
        ) {
            (Some(id), Some(secret)) => {
                return Ok(Credentials::new(id, secret, env.var("AWS_SESSION_TOKEN")))
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
        (Some(id), Some(secret)) => Ok(Credentials::new(id, secret, profiles.get(name, "aws_session_token"))),
        (Some(_), None) => Err(usage(format!("profile {name:?} has aws_access_key_id but no aws_secret_access_key"))),
        (None, Some(_)) => Err(usage(format!("profile {name:?} has aws_secret_access_key but no aws_access_key_id"))),
        (None, None) => Err(usage(format!(
            "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, give --profile, put keys in profile {name:?}, or use --no-sign-request"
        ))),
    }
}

#[cfg(test)]
mod tests;
