//! A rate meter: events per second, counted in short buckets and smoothed.

use std::time::{Duration, Instant};

/// The length of a bucket.
pub(crate) const MEASURE_BUCKET: Duration = Duration::from_millis(100);

/// Events per second, counted in buckets of [`MEASURE_BUCKET`] and smoothed. A bucket closes with the
/// first event past its end.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RateMeter {
    pub(crate) smoothed: f64,
    bucket_start: Option<Instant>,
    in_bucket: u64,
}

impl RateMeter {
    /// One event at `at`; `smoothing` is the weight of the past per bucket.
    pub(crate) fn count(&mut self, at: Instant, smoothing: f64) {
        let start = *self.bucket_start.get_or_insert(at);
        let elapsed = at.saturating_duration_since(start);
        if elapsed >= MEASURE_BUCKET {
            let rate = self.in_bucket as f64 / elapsed.as_secs_f64();
            self.smoothed = if self.smoothed == 0.0 {
                rate
            } else {
                self.smoothed * smoothing + rate * (1.0 - smoothing)
            };
            self.bucket_start = Some(at);
            self.in_bucket = 0;
        }
        self.in_bucket += 1;
    }

    /// The smoothed rate; before the first bucket is complete, what the current one shows.
    pub(crate) fn rate(&self, now: Instant) -> f64 {
        if self.smoothed > 0.0 {
            return self.smoothed;
        }
        let elapsed = self
            .bucket_start
            .map_or(Duration::ZERO, |s| now.saturating_duration_since(s))
            .max(Duration::from_millis(1));
        self.in_bucket as f64 / elapsed.as_secs_f64()
    }
}
