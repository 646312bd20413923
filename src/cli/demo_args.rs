//! `s3meta demo`: its arguments → a [`DemoConfig`].

use super::flags::Flags;
use super::UsageError;
use crate::core::output::Format;
use crate::demo::DemoConfig;
use crate::sim::faults::Latency;

pub(crate) const DEMO_USAGE: &str = "\
s3meta demo — scan a simulated bucket in-process (no S3 or credentials needed)

USAGE:
    s3meta demo [--objects N] [-j N] [--head-latency L] [--show N] [--format jsonl|text|csv]

Defaults: 100000 objects (about a third with metadata), HEAD latency 1ms, 256 HEADs in flight,
the first 10 records shown.
";

/// Parses the arguments after `demo`. Returns `None` for `--help`.
pub(crate) fn parse_demo_args(args: &[String]) -> Result<Option<DemoConfig>, UsageError> {
    let mut d = DemoConfig::default();
    let mut flags = Flags::new(args);
    while let Some(f) = flags.next_flag() {
        let flag = f.name.as_str();
        if matches!(flag, "-h" | "--help") {
            return Ok(None);
        }
        let value = flags.value(&f, "a value")?;
        let bad = |what: &str| UsageError(format!("{flag} takes {what}, not {value:?}"));
        match flag {
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
            "--head-latency" => d.head_latency = Latency::parse(&value).map_err(UsageError)?,
            "--show" => d.show = value.parse().map_err(|_| bad("a number"))?,
            "--format" => {
                d.format = Format::parse(&value).ok_or_else(|| bad("jsonl, text or csv"))?
            }
            other => {
                return Err(UsageError(format!(
                    "unknown demo option {other:?} (see s3meta demo --help)"
                )))
            }
        }
    }
    Ok(Some(d))
}
