//! A delay before the runtime parks, for fewer, fuller wake-ups. With many HEADs in flight against a
//! busy server, answers trickle in one at a time, and a runtime that wakes for each one pays a wake-up
//! (an `epoll_wait`, caches gone cold since the server ran) per HEAD. So before the runtime parks, it
//! waits a short while (an eighth of the current round-trip time, at most 1 ms) and then takes every
//! answer that arrived meanwhile in one go.
//!
//! What it costs: at most that wait added to a round trip, so at most 1/8 of the throughput when a scan
//! is bound by latency × `-j` alone; nothing when the server is the bottleneck (answers queue up there
//! anyway) or the client's core is (it then never parks). Below 32 HEADs in flight it never waits.
//! What it saves is measured in docs/BENCHMARKS.md ("wake-up batching").

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// No waiting below this many requests in flight: the batch would be too small to pay for the wait.
const MIN_IN_FLIGHT: usize = 32;
/// The wait is this fraction of the smoothed round-trip time …
const RTT_DIVISOR: u32 = 8;
/// … and never longer than this.
const MAX_WAIT: Duration = Duration::from_millis(1);

/// How long to wait before parking, given what is in flight and the smoothed round trip.
pub fn wait_before_park(in_flight: usize, smoothed_rtt: Duration) -> Duration {
    if in_flight < MIN_IN_FLIGHT {
        return Duration::ZERO;
    }
    (smoothed_rtt / RTT_DIVISOR).min(MAX_WAIT)
}

/// What the wait depends on, updated by the scan as it goes (one thread; relaxed atomics suffice).
#[derive(Debug, Default)]
pub struct ParkDelay {
    in_flight: AtomicUsize,
    smoothed_rtt_us: AtomicU64,
}

impl ParkDelay {
    pub fn new() -> Arc<ParkDelay> {
        Arc::new(ParkDelay::default())
    }

    /// A single-threaded tokio runtime that waits as [`wait_before_park`] says before each park.
    pub fn runtime(self: &Arc<Self>) -> std::io::Result<tokio::runtime::Runtime> {
        let me = self.clone();
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .on_thread_park(move || {
                let wait = me.wait();
                if !wait.is_zero() {
                    std::thread::sleep(wait);
                }
            })
            .build()
    }

    pub fn set_in_flight(&self, n: usize) {
        self.in_flight.store(n, Ordering::Relaxed);
    }

    /// One more measured round trip, into an average that weighs the last eight or so.
    pub fn record_round_trip(&self, rtt: Duration) {
        let sample = u64::try_from(rtt.as_micros()).unwrap_or(u64::MAX);
        let old = self.smoothed_rtt_us.load(Ordering::Relaxed);
        let new = if old == 0 {
            sample
        } else {
            old - old / 8 + sample / 8
        };
        self.smoothed_rtt_us.store(new, Ordering::Relaxed);
    }

    fn wait(&self) -> Duration {
        wait_before_park(
            self.in_flight.load(Ordering::Relaxed),
            Duration::from_micros(self.smoothed_rtt_us.load(Ordering::Relaxed)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_a_fraction_of_the_round_trip_only_with_many_in_flight() {
        let ms = Duration::from_millis;
        assert_eq!(wait_before_park(31, ms(4)), Duration::ZERO);
        assert_eq!(wait_before_park(32, ms(4)), Duration::from_micros(500));
        assert_eq!(wait_before_park(256, ms(100)), MAX_WAIT);
        assert_eq!(wait_before_park(256, Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn the_average_follows_the_samples() {
        let b = ParkDelay::default();
        b.set_in_flight(64);
        b.record_round_trip(Duration::from_millis(2));
        assert_eq!(b.wait(), Duration::from_micros(250));
        for _ in 0..100 {
            b.record_round_trip(Duration::from_millis(4));
        }
        let wait = b.wait();
        assert!(
            wait > Duration::from_micros(490) && wait <= Duration::from_micros(500),
            "{wait:?}"
        );
    }
}
