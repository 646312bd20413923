//! When to try again and how long to wait: capped exponential backoff with full jitter.
//! (A retry budget shared by all requests, and the adaptive in-flight limit, will sit beside it.)

use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1` (attempt 1 is the first retry): uniform in
    /// `[0, min(max_delay, base_delay · 2^(attempt-1))]`, so that many clients do not retry in step.
    pub fn delay(&self, attempt: u32, jitter: &mut Jitter) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        let ceiling = exp.min(self.max_delay);
        ceiling.mul_f64(jitter.next_unit())
    }
}

/// A tiny xorshift generator for jitter: no crate, no syscall per draw. Not for anything secret.
#[derive(Debug, Clone)]
pub struct Jitter(u64);

impl Jitter {
    pub fn new(seed: u64) -> Jitter {
        Jitter(seed | 1)
    }

    pub fn from_clock() -> Jitter {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        Jitter::new(nanos ^ (std::process::id() as u64) << 32)
    }

    /// Uniform in [0, 1).
    pub fn next_unit(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_capped() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        let mut j = Jitter::new(42);
        for attempt in 1..30 {
            let d = p.delay(attempt, &mut j);
            let ceiling = Duration::from_millis(100 * (1u64 << (attempt - 1).min(20)))
                .min(Duration::from_secs(1));
            assert!(d <= ceiling, "attempt {attempt}: {d:?} > {ceiling:?}");
        }
        let spread: Vec<_> = (0..50).map(|_| p.delay(3, &mut j)).collect();
        assert!(
            spread.iter().any(|d| *d < Duration::from_millis(200))
                && spread.iter().any(|d| *d > Duration::from_millis(200))
        );
    }
}
