//! Counters, the live progress line (only while stderr is a terminal, unless asked), and the final
//! summary. Neither holds any text of the server's: only numbers.

use std::io::Write;
use std::time::{Duration, Instant};

use super::connect::AddressConnections;
use super::pacing::PacingSnapshot;
use crate::core::checkpoint::WrittenCounts;

/// What a scan has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub listed: u64,
    pub pages: u64,
    /// Key ranges listed after the first (the listing split the key space this often).
    pub ranges: u64,
    pub heads: u64,
    pub with_metadata: u64,
    pub printed: u64,
    pub vanished: u64,
    pub failed: u64,
    /// Of the objects counted, those written by the runs before a resumed one.
    pub resumed: u64,
}

impl Counters {
    /// The counts of a scan resumed after `written` objects: they are this scan's so far.
    pub fn resumed_from(written: WrittenCounts) -> Counters {
        Counters {
            listed: written.heads,
            heads: written.heads,
            with_metadata: written.with_metadata,
            printed: written.printed,
            vanished: written.vanished,
            failed: written.failed,
            pages: 0,
            ranges: 0,
            resumed: written.heads,
        }
    }

    /// The counts of the objects written, for a checkpoint.
    pub fn written(&self) -> WrittenCounts {
        WrittenCounts {
            heads: self.heads,
            with_metadata: self.with_metadata,
            printed: self.printed,
            vanished: self.vanished,
            failed: self.failed,
        }
    }
}

/// Addresses named one by one in the summary; the rest are counted.
const MAX_ADDRESSES_SHOWN: usize = 16;

/// The one-line summary printed at the end: the counters, then the connections opened, per address
/// when there were several.
pub fn summary_line(
    c: &Counters,
    elapsed: Duration,
    pacing: &PacingSnapshot,
    connections: &[AddressConnections],
) -> String {
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 {
        c.heads.saturating_sub(c.resumed) as f64 / secs
    } else {
        0.0
    };
    let mut line = format!(
        "s3meta: listed={} heads={} with_metadata={} printed={} vanished={} failed={} pages={} seconds={:.2} heads_per_second={:.0} retries={} throttled={} head_limit={} head_limit_lowest={} connections={}",
        c.listed, c.heads, c.with_metadata, c.printed, c.vanished, c.failed, c.pages, secs, rate,
        pacing.retries,
        pacing.heads.throttles + pacing.lists.throttles,
        pacing.heads.in_flight_limit,
        pacing.heads.lowest_in_flight_limit,
        connections.iter().map(|a| a.opened).sum::<u64>()
    );
    if c.ranges > 0 {
        line.push_str(&format!(" ranges={}", c.ranges + 1));
    }
    if c.resumed > 0 {
        line.push_str(&format!(" resumed={}", c.resumed));
    }
    if connections.len() > 1 {
        let shown: Vec<String> = connections
            .iter()
            .take(MAX_ADDRESSES_SHOWN)
            .map(|a| format!("{}={}", a.addr, a.opened))
            .collect();
        line.push_str(" connections_per_address=");
        line.push_str(&shown.join(","));
        if connections.len() > MAX_ADDRESSES_SHOWN {
            line.push_str(&format!(",+{}", connections.len() - MAX_ADDRESSES_SHOWN));
        }
    }
    line
}

/// Draws the progress line when the first object is done, then at most every 250 ms.
pub struct ProgressLine {
    enabled: bool,
    start: Instant,
    last_draw: Option<Instant>,
    drawn: bool,
}

const REDRAW_EVERY: Duration = Duration::from_millis(250);

impl ProgressLine {
    pub fn new(enabled: bool) -> ProgressLine {
        ProgressLine {
            enabled,
            start: Instant::now(),
            last_draw: None,
            drawn: false,
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Draws the line if it is time; `pacing` is asked only then.
    pub fn tick(&mut self, c: &Counters, pacing: impl FnOnce() -> Option<PacingSnapshot>) {
        if !self.enabled || self.last_draw.is_some_and(|t| t.elapsed() < REDRAW_EVERY) {
            return;
        }
        self.last_draw = Some(Instant::now());
        let secs = self.start.elapsed().as_secs_f64();
        let mut line = format!(
            "\r\x1b[2K{} listed, {} HEADs ({:.0}/s), {} with metadata, {} vanished, {} failed",
            c.listed,
            c.heads,
            c.heads.saturating_sub(c.resumed) as f64 / secs.max(1e-9),
            c.with_metadata,
            c.vanished,
            c.failed
        );
        if let Some(p) = pacing() {
            line.push_str(&format!(", limit {}", p.heads.in_flight_limit));
            if let Some(rate) = p.heads.rate {
                line.push_str(&format!(" at {rate:.0}/s"));
            }
            if p.heads.throttles + p.lists.throttles > 0 {
                line.push_str(&format!(
                    ", {} throttled",
                    p.heads.throttles + p.lists.throttles
                ));
            }
            if p.retries > 0 {
                line.push_str(&format!(", {} retries", p.retries));
            }
            if p.waiting > 0 {
                line.push_str(&format!(" ({} waiting)", p.waiting));
            }
        }
        let _ = std::io::stderr().write_all(line.as_bytes());
        self.drawn = true;
    }

    /// Clears the line so that the next message starts clean.
    pub fn clear(&mut self) {
        if self.drawn {
            let _ = std::io::stderr().write_all(b"\r\x1b[2K");
            self.drawn = false;
        }
    }
}
