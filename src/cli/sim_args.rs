//! `s3meta sim`: its arguments → a [`SimConfig`].

use std::path::PathBuf;
use std::time::Duration;

use super::flags::Flags;
use super::UsageError;
use crate::core::endpoint::{validate_bucket, Addressing};
use crate::core::sigv4::Credentials;
use crate::sim::bucket::Layout;
use crate::sim::faults::{parse_duration, FaultPlan, Latency};
use crate::sim::server::{Outage, Throttle};
use crate::sim::tls::SimTls;
use crate::sim::{default_options, Listen, SimConfig, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY};

pub(crate) const SIM_USAGE: &str = "\
s3meta sim — a synthetic S3 endpoint (ListObjectsV2 + HeadObject) over a computed bucket

USAGE:
    s3meta sim [OPTIONS]

OPTIONS:
        --listen ADDR          IP:PORT, or IP:FIRST-LAST for the first free port of a range
                               [default: 127.0.0.1:20000-32767; the address is printed once bound]
        --bucket NAME          the bucket's name [default: sim]
        --objects N            objects in the bucket, up to 10^10 [default: 1000000]
        --layout LAYOUT        flat | tree:FANOUT:DEPTH [default: flat]
        --meta-pairs K         metadata pairs on an object that has metadata [default: 3]
        --meta-bytes B         length of each metadata value [default: 16]
        --meta-fraction F      share of objects with metadata, 0 to 1 [default: 1]
        --head-latency L       added to every HEAD: 1ms, 250us, or 1ms+0.5ms for jitter [default: 0]
        --list-latency L       added to every LIST [default: 0]
        --fail SPEC            injected faults, e.g. 503:0.02,500:0.01,reset:0.01,stall:0.005,truncate:0.005
        --throttle RPS         above RPS requests per second, answer 503 SlowDown (a store under load)
        --retry-after SECONDS  send Retry-After with every throttled answer
        --outage AFTER+FOR     answer 503 SlowDown to everything for FOR, from AFTER past the first
                               request, e.g. 1s+3s
        --seed S               seed for metadata, jitter and faults [default: 1]
        --anonymous            accept unsigned requests (default: verify SigV4)
        --access-key K         the access key to accept [default: S3METASIMACCESSKEY]
        --secret-key S         its secret [default: s3meta-sim-public-test-secret]
        --tls-cert FILE        serve HTTPS with this PEM certificate chain (and --tls-key)
        --tls-key FILE         its PEM private key
        --duration SECONDS     stop after this long, at most a year (default: run until Ctrl-C or SIGTERM)
";

/// The longest `--duration`.
const MAX_DURATION_SECS: f64 = 365.0 * 24.0 * 3600.0;

fn usage(msg: impl Into<String>) -> UsageError {
    UsageError(msg.into())
}

fn parse_num<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T, UsageError> {
    v.parse()
        .map_err(|_| usage(format!("{flag} takes a number, not {v:?}")))
}

/// Parses the arguments after `sim`. Returns `None` for `--help`.
pub(crate) fn parse_sim_args(args: &[String]) -> Result<Option<SimConfig>, UsageError> {
    let mut o = default_options();
    let mut listen = Listen::LOOPBACK_LOW_PORTS;
    let mut duration = None;
    let mut fail = String::new();
    let (mut key, mut secret, mut anonymous) = (None, None, false);
    let (mut tls_cert, mut tls_key) = (None, None);
    let mut retry_after = None;
    let mut flags = Flags::new(args);
    while let Some(f) = flags.next_flag() {
        let flag = f.name.as_str();
        let mut value = || flags.value(&f, "a value");
        match flag {
            "-h" | "--help" => return Ok(None),
            "--listen" => listen = Listen::parse(&value()?).map_err(usage)?,
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
            "--throttle" => {
                let rps: f64 = parse_num(flag, &value()?)?;
                if !(rps.is_finite() && rps >= 1.0) {
                    return Err(usage("--throttle is at least 1 request per second"));
                }
                o.throttle = Some(Throttle {
                    rps,
                    retry_after: None,
                });
            }
            "--retry-after" => retry_after = Some(parse_num::<u64>(flag, &value()?)?),
            "--outage" => {
                let v = value()?;
                let (after, lasting) = v.split_once('+').ok_or_else(|| {
                    usage(format!("--outage takes AFTER+FOR, e.g. 1s+3s, not {v:?}"))
                })?;
                o.outage = Some(Outage {
                    after: parse_duration(after).map_err(usage)?,
                    lasting: parse_duration(lasting).map_err(usage)?,
                });
            }
            "--seed" => o.seed = parse_num(flag, &value()?)?,
            "--anonymous" => anonymous = true,
            "--access-key" => key = Some(value()?),
            "--secret-key" => secret = Some(value()?),
            "--tls-cert" => tls_cert = Some(PathBuf::from(value()?)),
            "--tls-key" => tls_key = Some(PathBuf::from(value()?)),
            "--duration" => {
                let v = value()?;
                let secs: f64 = parse_num(flag, &v)?;
                if !(0.0..=MAX_DURATION_SECS).contains(&secs) {
                    return Err(usage(format!(
                        "--duration takes seconds from 0 to {MAX_DURATION_SECS} (a year), not {v:?}"
                    )));
                }
                duration = Some(Duration::from_secs_f64(secs));
            }
            other => {
                return Err(usage(format!(
                    "unknown sim option {other:?} (see s3meta sim --help)"
                )))
            }
        }
    }
    if let Some(secs) = retry_after {
        match o.throttle.as_mut() {
            Some(t) => t.retry_after = Some(secs),
            None => return Err(usage("--retry-after goes with --throttle")),
        }
    }
    o.bucket.seed = o.seed;
    o.faults = FaultPlan::parse(&fail, o.seed).map_err(usage)?;
    o.credentials = if anonymous {
        None
    } else {
        Some(Credentials::new(
            key.unwrap_or_else(|| DEFAULT_ACCESS_KEY.into()),
            secret.unwrap_or_else(|| DEFAULT_SECRET_KEY.into()),
            None,
        ))
    };
    o.tls = match (tls_cert, tls_key) {
        (Some(cert), Some(key)) => Some(SimTls { cert, key }),
        (None, None) => None,
        _ => return Err(usage("--tls-cert and --tls-key go together")),
    };
    validate_bucket(&o.bucket_name, Addressing::Path).map_err(usage)?;
    Ok(Some(SimConfig {
        listen,
        options: o,
        duration,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<SimConfig>, UsageError> {
        parse_sim_args(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn a_duration_is_a_finite_number_of_seconds() {
        for bad in ["inf", "NaN", "-1", "1e300", "soon"] {
            let err = parse(&["--duration", bad]).err().unwrap();
            assert!(err.0.contains("--duration"), "{bad}: {}", err.0);
        }
        let c = parse(&["--duration", "0.5"]).unwrap().unwrap();
        assert_eq!(c.duration, Some(Duration::from_millis(500)));
    }
}
