//! Fault and latency injection: what the simulator does to a request, decided from `--seed` and the
//! request's arrival number, so a run's sequence of faults is reproducible.

use std::time::Duration;

use super::bucket::mix;

/// One injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status and an S3 error body (503 is `SlowDown`, 500 `InternalError`).
    Status(u16),
    /// Close the connection without answering.
    Reset,
    /// Never answer (the client's timeout must fire).
    Stall,
    /// Promise a body, send half, close (a LIST); on a HEAD, the same as `Reset`.
    Truncate,
}

/// `503:0.02,500:0.01,reset:0.01,stall:0.005,truncate:0.005`: each fault with its probability.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultPlan {
    faults: Vec<(Fault, f64)>,
    seed: u64,
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::Status(code) => write!(f, "{code}"),
            Fault::Reset => f.write_str("reset"),
            Fault::Stall => f.write_str("stall"),
            Fault::Truncate => f.write_str("truncate"),
        }
    }
}

/// As `--fail` takes it; `none` for no faults.
impl std::fmt::Display for FaultPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.faults.is_empty() {
            return f.write_str("none");
        }
        for (i, (fault, rate)) in self.faults.iter().enumerate() {
            write!(f, "{}{fault}:{rate}", if i > 0 { "," } else { "" })?;
        }
        Ok(())
    }
}

impl FaultPlan {
    pub fn parse(spec: &str, seed: u64) -> Result<FaultPlan, String> {
        let mut faults = Vec::new();
        let mut total = 0.0;
        for item in spec.split(',').filter(|s| !s.is_empty()) {
            let (kind, rate) = item
                .split_once(':')
                .ok_or_else(|| format!("--fail {item:?}: write KIND:RATE, e.g. 503:0.02"))?;
            let rate: f64 = rate
                .parse()
                .ok()
                .filter(|r| (0.0..=1.0).contains(r))
                .ok_or_else(|| format!("--fail {item:?}: RATE is 0 to 1"))?;
            let fault = match kind {
                "reset" => Fault::Reset,
                "stall" => Fault::Stall,
                "truncate" => Fault::Truncate,
                code => match code.parse::<u16>() {
                    Ok(c) if (400..=599).contains(&c) => Fault::Status(c),
                    _ => {
                        return Err(format!(
                        "--fail {item:?}: KIND is an HTTP status 400-599, reset, stall or truncate"
                    ))
                    }
                },
            };
            total += rate;
            faults.push((fault, rate));
        }
        if total > 1.0 {
            return Err(format!("--fail {spec:?}: the rates add up to more than 1"));
        }
        Ok(FaultPlan { faults, seed })
    }

    pub fn is_empty(&self) -> bool {
        self.faults.is_empty()
    }

    /// The fault for request number `n`, if any.
    pub fn decide(&self, n: u64) -> Option<Fault> {
        if self.faults.is_empty() {
            return None;
        }
        let mut r = unit(mix(n ^ self.seed.rotate_left(29)));
        for &(fault, rate) in &self.faults {
            if r < rate {
                return Some(fault);
            }
            r -= rate;
        }
        None
    }
}

fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// A latency: fixed, or uniform in `[base, base + jitter]`. Written `1ms`, `250us`, `1ms+0.5ms`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Latency {
    pub base: Duration,
    pub jitter: Duration,
}

/// A duration as `--head-latency` takes it: `0`, `250us`, `1ms`, `1.5ms`, `2s`.
pub fn format_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns == 0 {
        "0".into()
    } else if ns % 1_000_000_000 == 0 {
        format!("{}s", ns / 1_000_000_000)
    } else if ns >= 1_000_000 {
        format!("{}ms", ns as f64 / 1e6)
    } else if ns % 1_000 == 0 {
        format!("{}us", ns / 1_000)
    } else {
        format!("{ns}ns")
    }
}

/// As `--head-latency` takes it: `1ms`, or `1ms+0.5ms` with jitter.
impl std::fmt::Display for Latency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&format_duration(self.base))?;
        if !self.jitter.is_zero() {
            write!(f, "+{}", format_duration(self.jitter))?;
        }
        Ok(())
    }
}

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let bad = || format!("{s:?} is not a duration (write 1ms, 250us, 0.5ms, 2s)");
    let (num, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(p) => s.split_at(p),
        None => return Err(bad()),
    };
    let n: f64 = num
        .parse()
        .ok()
        .filter(|n: &f64| *n >= 0.0 && n.is_finite())
        .ok_or_else(bad)?;
    let secs = match unit {
        "s" => n,
        "ms" => n / 1e3,
        "us" | "µs" => n / 1e6,
        "ns" => n / 1e9,
        _ => return Err(bad()),
    };
    if secs > 3600.0 {
        return Err(format!("{s:?} is more than an hour"));
    }
    Ok(Duration::from_secs_f64(secs))
}

impl Latency {
    pub fn parse(s: &str) -> Result<Latency, String> {
        match s.split_once('+') {
            Some((b, j)) => Ok(Latency {
                base: parse_duration(b)?,
                jitter: parse_duration(j)?,
            }),
            None => Ok(Latency {
                base: parse_duration(s)?,
                jitter: Duration::ZERO,
            }),
        }
    }

    /// The delay for request number `n`.
    pub fn for_request(&self, n: u64, seed: u64) -> Duration {
        if self.jitter.is_zero() {
            return self.base;
        }
        self.base + self.jitter.mul_f64(unit(mix(n.wrapping_mul(3) ^ seed)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_parse_and_rates_hold() {
        let plan =
            FaultPlan::parse("503:0.02,500:0.01,reset:0.01,stall:0.005,truncate:0.005", 1).unwrap();
        let mut counts = std::collections::HashMap::new();
        for n in 0..200_000 {
            if let Some(f) = plan.decide(n) {
                *counts.entry(format!("{f:?}")).or_insert(0) += 1;
            }
        }
        let near = |k: &str, rate: f64| {
            let got = *counts.get(k).unwrap_or(&0) as f64 / 200_000.0;
            assert!((got - rate).abs() < rate * 0.2, "{k}: {got} vs {rate}");
        };
        near("Status(503)", 0.02);
        near("Reset", 0.01);
        near("Truncate", 0.005);
        assert_eq!(
            plan.decide(12345),
            FaultPlan::parse("503:0.02,500:0.01,reset:0.01,stall:0.005,truncate:0.005", 1)
                .unwrap()
                .decide(12345)
        );
        for bad in ["503", "503:2", "200:0.1", "boom:0.1", "503:0.6,500:0.6"] {
            assert!(FaultPlan::parse(bad, 0).is_err(), "{bad}");
        }
        assert!(FaultPlan::parse("", 0).unwrap().is_empty());
    }

    #[test]
    fn latencies_parse() {
        assert_eq!(
            Latency::parse("1ms").unwrap().base,
            Duration::from_millis(1)
        );
        let l = Latency::parse("1ms+0.5ms").unwrap();
        assert_eq!(l.jitter, Duration::from_micros(500));
        for n in 0..100 {
            let d = l.for_request(n, 9);
            assert!(d >= Duration::from_millis(1) && d <= Duration::from_micros(1500));
        }
        assert_eq!(
            Latency::parse("250us").unwrap().base,
            Duration::from_micros(250)
        );
        for typed in ["0", "1ms", "1ms+500us", "250us", "2s", "30ms+5ms", "1.5ms"] {
            assert_eq!(Latency::parse(typed).unwrap().to_string(), typed);
        }
        let plan = FaultPlan::parse("503:0.02,reset:0.01", 1).unwrap();
        assert_eq!(plan.to_string(), "503:0.02,reset:0.01");
        assert_eq!(FaultPlan::default().to_string(), "none");
        assert!(
            Latency::parse("fast").is_err()
                && Latency::parse("1h").is_err()
                && Latency::parse("-1ms").is_err()
        );
    }
}
