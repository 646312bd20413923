//! Counters, the live progress line (only while stderr is a terminal, unless asked), the final summary,
//! and escaping of untrusted text before it reaches stderr.

use std::io::Write;
use std::time::{Duration, Instant};

use crate::core::output::{push_escaped_text, push_json_string};

/// What a scan has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub listed: u64,
    pub pages: u64,
    pub heads: u64,
    pub with_metadata: u64,
    pub printed: u64,
    pub vanished: u64,
    pub failed: u64,
}

/// Writes one line to stderr. A closed or broken stderr is ignored, never a panic (`eprintln!` panics).
pub fn stderr_line(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err
        .write_all(line.as_bytes())
        .and_then(|_| err.write_all(b"\n"));
}

/// Writes text to stdout, ignoring a closed pipe (`s3meta --help | head -1`).
pub fn stdout_text(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
}

/// Text from a server (an error message) made safe for a terminal: control characters escaped.
pub fn escape_for_terminal(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len());
    push_escaped_text(&mut out, bytes, false);
    String::from_utf8_lossy(&out).into_owned()
}

/// An object key for a message: a JSON string, quoted and escaped.
pub fn quote_key(key: &[u8]) -> String {
    let mut out = Vec::with_capacity(key.len() + 2);
    push_json_string(&mut out, key);
    String::from_utf8_lossy(&out).into_owned()
}

/// The one-line summary printed at the end.
pub fn summary_line(c: &Counters, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 {
        c.heads as f64 / secs
    } else {
        0.0
    };
    format!(
        "s3meta: listed={} heads={} with_metadata={} printed={} vanished={} failed={} seconds={:.2} heads_per_second={:.0}",
        c.listed, c.heads, c.with_metadata, c.printed, c.vanished, c.failed, secs, rate
    )
}

/// Draws the progress line at most every 250 ms.
pub struct ProgressLine {
    enabled: bool,
    start: Instant,
    last_draw: Instant,
    drawn: bool,
}

const REDRAW_EVERY: Duration = Duration::from_millis(250);

impl ProgressLine {
    pub fn new(enabled: bool) -> ProgressLine {
        let now = Instant::now();
        ProgressLine {
            enabled,
            start: now,
            last_draw: now,
            drawn: false,
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    pub fn tick(&mut self, c: &Counters) {
        if !self.enabled || self.last_draw.elapsed() < REDRAW_EVERY {
            return;
        }
        self.last_draw = Instant::now();
        let secs = self.start.elapsed().as_secs_f64();
        let line = format!(
            "\r\x1b[2K{} listed, {} HEADs ({:.0}/s), {} with metadata, {} vanished, {} failed",
            c.listed,
            c.heads,
            c.heads as f64 / secs.max(1e-9),
            c.with_metadata,
            c.vanished,
            c.failed
        );
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
