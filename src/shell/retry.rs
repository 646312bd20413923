//! When to try again and how long to wait: the one retry loop every request goes through, with capped
//! exponential backoff and full jitter. (A retry budget shared by all requests, and the adaptive
//! in-flight limit, will sit beside it.)

use std::future::Future;
use std::time::Duration;

use super::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    pub fn delay(&self, attempt: u32, rng: &mut SmallRng) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        let ceiling = exp.min(self.max_delay);
        ceiling.mul_f64(rng.next_unit())
    }
}

/// Runs `attempt` until it succeeds, fails in a way no retry can fix, or `policy.max_attempts` are
/// used up (then [`Error::GaveUp`] with the last error). Waits [`RetryPolicy::delay`] between attempts.
pub(crate) async fn with_retries<T, F, Fut>(
    policy: &RetryPolicy,
    rng: &mut SmallRng,
    mut attempt: F,
) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let mut attempts = 0;
    loop {
        attempts += 1;
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(e) if !e.is_retryable() => return Err(e),
            Err(e) if attempts >= policy.max_attempts => {
                return Err(Error::GaveUp {
                    attempts,
                    last: Box::new(e),
                })
            }
            Err(_) => tokio::time::sleep(policy.delay(attempts, rng)).await,
        }
    }
}

/// A small xorshift generator (for jitter and the like): no crate, no syscall per draw. Not for anything
/// secret.
#[derive(Debug, Clone)]
pub struct SmallRng(u64);

impl SmallRng {
    pub fn new(seed: u64) -> SmallRng {
        SmallRng(seed | 1)
    }

    /// Seeded from the clock and the process id.
    pub fn from_clock() -> SmallRng {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        SmallRng::new(nanos ^ (std::process::id() as u64) << 32)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform in [0, 1).
    pub fn next_unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::error::Operation;

    #[test]
    fn delays_grow_and_stay_capped() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        let mut rng = SmallRng::new(42);
        for attempt in 1..30 {
            let d = p.delay(attempt, &mut rng);
            let ceiling = Duration::from_millis(100 * (1u64 << (attempt - 1).min(20)))
                .min(Duration::from_secs(1));
            assert!(d <= ceiling, "attempt {attempt}: {d:?} > {ceiling:?}");
        }
        let spread: Vec<_> = (0..50).map(|_| p.delay(3, &mut rng)).collect();
        assert!(spread.iter().any(|d| *d < Duration::from_millis(200)));
        assert!(spread.iter().any(|d| *d > Duration::from_millis(200)));
    }

    fn run<T>(f: impl Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap()
            .block_on(f)
    }

    fn status(code: u16) -> Error {
        Error::Status {
            op: Operation::Head,
            status: code,
            s3: None,
        }
    }

    #[test]
    fn the_loop_retries_what_can_be_fixed_and_stops_at_what_cannot() {
        let policy = RetryPolicy {
            max_attempts: 4,
            ..RetryPolicy::default()
        };
        let mut rng = SmallRng::new(1);
        let mut calls = 0;
        let got = run(with_retries(&policy, &mut rng, || {
            calls += 1;
            let result = if calls < 3 {
                Err(status(503))
            } else {
                Ok(calls)
            };
            async move { result }
        }));
        assert_eq!(got.unwrap(), 3);

        let mut calls = 0;
        let got: Result<(), Error> = run(with_retries(&policy, &mut rng, || {
            calls += 1;
            async { Err(status(403)) }
        }));
        assert_eq!(calls, 1, "a 403 is not retried");
        assert!(matches!(got, Err(Error::Status { status: 403, .. })));

        let mut calls = 0;
        let got: Result<(), Error> = run(with_retries(&policy, &mut rng, || {
            calls += 1;
            async { Err(status(429)) }
        }));
        assert_eq!(calls, 4);
        let err = got.unwrap_err();
        assert!(matches!(err, Error::GaveUp { attempts: 4, .. }), "{err}");
        assert!(
            err.to_string().ends_with("(gave up after 4 attempts)"),
            "{err}"
        );
    }
}
