//! Throttle windows: the answers of one kind of request counted in windows, and the share a store
//! throttles anyway (its background), against which a window's share is a signal or not.

use std::time::{Duration, Instant};

/// The answers since the last look: a throttle signal is a share of answers throttled that stands
/// out from what the store throttles anyway.
#[derive(Debug, Clone, Default)]
pub(crate) struct Window {
    pub(crate) start: Option<Instant>,
    pub(crate) answers: u64,
    pub(crate) throttled: u64,
}

/// A window is complete with this many answers over at least this long (so that what it shows per
/// second means something), or after the longest time with a few.
const WINDOW_ANSWERS: u64 = 50;
pub(crate) const WINDOW_SHORTEST: Duration = Duration::from_millis(50);
const WINDOW_LONGEST: Duration = Duration::from_secs(1);
const WINDOW_FEWEST: u64 = 5;
/// Or at once, when this many answers, most of them, are throttles: a store swamped by a burst.
const WINDOW_SWAMPED: u64 = 20;
/// A share throttled above the background by this much, and by three standard deviations of the
/// background's own spread, is a signal.
const SIGNAL_MARGIN: f64 = 0.02;
/// The window after a decrease, which judges it, is longer: a signal is a high draw, and the
/// window after it must show the store's own share, not chance.
const JUDGING_ANSWERS: u64 = 500;
const JUDGING_SHORTEST: Duration = Duration::from_millis(200);
const JUDGING_LONGEST: Duration = Duration::from_secs(2);
const JUDGING_FEWEST: u64 = 20;
/// Fewer throttled answers than this in a window are no signal, whatever their share.
pub(crate) const SIGNAL_FEWEST: u64 = 3;

impl Window {
    pub(crate) fn is_complete(&self, elapsed: Duration, judging: bool) -> bool {
        let (answers, shortest, longest, fewest) = if judging {
            (
                JUDGING_ANSWERS,
                JUDGING_SHORTEST,
                JUDGING_LONGEST,
                JUDGING_FEWEST,
            )
        } else {
            (
                WINDOW_ANSWERS,
                WINDOW_SHORTEST,
                WINDOW_LONGEST,
                WINDOW_FEWEST,
            )
        };
        (self.answers >= answers && elapsed >= shortest)
            || (elapsed >= longest && self.answers >= fewest)
            || (self.throttled >= WINDOW_SWAMPED && self.throttled * 2 >= self.answers)
    }

    pub(crate) fn share(&self) -> f64 {
        self.throttled as f64 / self.answers.max(1) as f64
    }

    /// Requests answered without a throttle, per second.
    pub(crate) fn goodput(&self, elapsed: Duration) -> f64 {
        (self.answers - self.throttled) as f64 / elapsed.as_secs_f64().max(1e-3)
    }
}

/// The share of answers a store throttles while it is not overloaded (random `503`s of a store in
/// trouble, which no rate cures). It rises only on proof (a decrease that cured nothing), and falls
/// with the windows that show less, so a rate creeping over what the store allows is still caught.
#[derive(Debug, Clone, Default)]
pub(crate) struct Background {
    pub(crate) share: f64,
}

impl Background {
    const SMOOTHING: f64 = 0.8;

    pub(crate) fn threshold(&self, answers: u64) -> f64 {
        let p = self.share;
        let spread = (p * (1.0 - p) / answers.max(1) as f64).sqrt();
        p + SIGNAL_MARGIN + 3.0 * spread
    }

    /// What the store throttles whatever the rate is at least `share`.
    pub(crate) fn settle_at(&mut self, share: f64) {
        self.share = self.share.max(share);
    }

    pub(crate) fn learn(&mut self, share: f64) {
        if share < self.share {
            self.share = self.share * Self::SMOOTHING + share * (1.0 - Self::SMOOTHING);
        }
    }
}
