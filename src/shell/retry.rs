//! When to try again and how long to wait: the one retry loop every request goes through. Each
//! attempt waits its turn at the [`AdaptiveLimit`] of its kind (and tells it how the answer went);
//! each retry waits a capped exponential backoff with full jitter, and first takes tokens from the
//! [`RetryBudget`] all requests share, so an outage does not multiply the load.

use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::error::Error;
use super::limit::{now, AdaptiveLimit, Answer};
use super::lock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// No retry starts this long after a request's first attempt (`None`: attempts alone bound it).
    pub give_up_after: Option<Duration>,
}

impl Default for RetryPolicy {
    /// Rides out an outage of about a minute: a bulk scan is worth waiting for.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 20,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(10),
            give_up_after: None,
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

/// The retry budget's bucket: what a retry costs, what a success gives back, how fast it refills by
/// itself (so that a store that answers nothing is still asked, slowly). The AWS SDKs' standard mode
/// has the same costs; it fails a request when the bucket is empty, where a bulk scan waits.
const BUDGET_CAPACITY: f64 = 500.0;
const RETRY_COST: f64 = 5.0;
const TIMEOUT_RETRY_COST: f64 = 10.0;
const SUCCESS_REFUND: f64 = 1.0;
const BUDGET_REFILL_PER_SECOND: f64 = 10.0;
/// A retry waiting for tokens looks again this often (successes refill the bucket meanwhile).
const BUDGET_POLL: Duration = Duration::from_millis(250);

/// Tokens shared by every request of a scan; counts the retries.
#[derive(Debug)]
pub(crate) struct RetryBudget {
    tokens: Mutex<(f64, Instant)>,
    retries: AtomicU64,
    /// Retries waiting now (for their backoff or for tokens).
    waiting: AtomicUsize,
}

impl Default for RetryBudget {
    fn default() -> Self {
        RetryBudget {
            tokens: Mutex::new((BUDGET_CAPACITY, now())),
            retries: AtomicU64::new(0),
            waiting: AtomicUsize::new(0),
        }
    }
}

impl RetryBudget {
    /// Takes `cost` tokens if there are as many (after the time-based refill).
    fn try_take(&self, cost: f64, now: Instant) -> bool {
        let mut guard = lock(&self.tokens);
        let (tokens, last) = &mut *guard;
        let refill = now.saturating_duration_since(*last).as_secs_f64() * BUDGET_REFILL_PER_SECOND;
        *tokens = (*tokens + refill).min(BUDGET_CAPACITY);
        *last = now;
        if *tokens >= cost {
            *tokens -= cost;
            true
        } else {
            false
        }
    }

    async fn take(&self, cost: f64) {
        while !self.try_take(cost, now()) {
            tokio::time::sleep(BUDGET_POLL).await;
        }
    }

    fn give_back(&self, amount: f64) {
        let mut guard = lock(&self.tokens);
        guard.0 = (guard.0 + amount).min(BUDGET_CAPACITY);
    }

    /// Retries made so far.
    pub(crate) fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// Retries waiting now.
    pub(crate) fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }
}

/// What a request's retries go through: the policy, the shared budget, the limit of its kind.
#[derive(Clone, Copy)]
pub(crate) struct Retrying<'a> {
    pub policy: &'a RetryPolicy,
    pub budget: &'a RetryBudget,
    pub limit: &'a AdaptiveLimit,
}

/// Counts a waiting retry while it lives.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(n: &'a AtomicUsize) -> Waiting<'a> {
        n.fetch_add(1, Ordering::Relaxed);
        Waiting(n)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Runs `attempt` until it succeeds, fails in a way no retry can fix, or the policy's attempts (or
/// time) are used up (then [`Error::GaveUp`] with the last error).
pub(crate) async fn with_retries<T, F, Fut>(
    retrying: Retrying<'_>,
    rng: &mut SmallRng,
    mut attempt: F,
) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let Retrying {
        policy,
        budget,
        limit,
    } = retrying;
    let started = now();
    let mut attempts = 0;
    let mut spent = 0.0;
    loop {
        attempts += 1;
        let turn = limit.wait_turn().await;
        let result = attempt().await;
        turn.answered(match &result {
            Ok(_) => Answer::Answered,
            Err(e) if e.is_throttling() => Answer::Throttled,
            Err(e) if e.is_answer() => Answer::Answered,
            Err(_) => Answer::Lost,
        });
        let e = match result {
            Ok(value) => {
                budget.give_back(if spent > 0.0 { spent } else { SUCCESS_REFUND });
                return Ok(value);
            }
            Err(e) => e,
        };
        let out_of_time = policy
            .give_up_after
            .is_some_and(|limit| now().saturating_duration_since(started) >= limit);
        if !e.is_retryable() {
            return Err(e);
        }
        if attempts >= policy.max_attempts || out_of_time {
            return Err(Error::GaveUp {
                attempts,
                last: Box::new(e),
            });
        }
        let cost = if e.is_timeout() {
            TIMEOUT_RETRY_COST
        } else {
            RETRY_COST
        };
        let _waiting = Waiting::new(&budget.waiting);
        tokio::time::sleep(policy.delay(attempts, rng)).await;
        budget.take(cost).await;
        spent += cost;
        budget.retries.fetch_add(1, Ordering::Relaxed);
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

    /// The `n`th of several generators from one seed (one per task), each on a stream of its own.
    pub(crate) fn nth(seed: u64, n: u64) -> SmallRng {
        SmallRng::new(seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15))
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
            give_up_after: None,
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

    fn limit() -> AdaptiveLimit {
        AdaptiveLimit::new(crate::shell::limit::LimitSettings {
            ceiling: 8,
            max_rate: None,
            adaptive: true,
        })
    }

    #[test]
    fn the_loop_retries_what_can_be_fixed_and_stops_at_what_cannot() {
        let policy = RetryPolicy {
            max_attempts: 4,
            ..RetryPolicy::default()
        };
        let (budget, limit) = (RetryBudget::default(), limit());
        let policy = &Retrying {
            policy: &policy,
            budget: &budget,
            limit: &limit,
        };
        let mut rng = SmallRng::new(1);
        let mut calls = 0;
        let got = run(with_retries(*policy, &mut rng, || {
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
        let got: Result<(), Error> = run(with_retries(*policy, &mut rng, || {
            calls += 1;
            async { Err(status(403)) }
        }));
        assert_eq!(calls, 1, "a 403 is not retried");
        assert!(matches!(got, Err(Error::Status { status: 403, .. })));

        let mut calls = 0;
        let got: Result<(), Error> = run(with_retries(*policy, &mut rng, || {
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
        assert_eq!(budget.retries(), 5);
        assert_eq!(limit.snapshot().throttles, 6, "503s and 429s are throttles");
    }

    #[test]
    fn an_empty_budget_makes_retries_wait_for_the_refill() {
        let budget = RetryBudget::default();
        let t0 = now();
        let mut taken = 0;
        while budget.try_take(RETRY_COST, t0) {
            taken += 1;
        }
        assert_eq!(taken, 100, "500 tokens, 5 a retry");
        assert!(!budget.try_take(RETRY_COST, t0 + Duration::from_millis(100)));
        assert!(budget.try_take(RETRY_COST, t0 + Duration::from_millis(600)));
        budget.give_back(1000.0);
        assert!(budget.try_take(BUDGET_CAPACITY, t0 + Duration::from_millis(600)));
        assert!(
            !budget.try_take(1.0, t0 + Duration::from_millis(600)),
            "capped"
        );

        // A request that meets the empty bucket waits (on the paused clock) instead of failing.
        let limit = limit();
        let policy = RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(1),
            ..RetryPolicy::default()
        };
        let retrying = Retrying {
            policy: &policy,
            budget: &budget,
            limit: &limit,
        };
        let mut rng = SmallRng::new(3);
        let mut calls = 0;
        let started = now();
        let got = run(async {
            with_retries(retrying, &mut rng, || {
                calls += 1;
                let r = if calls == 1 { Err(status(500)) } else { Ok(()) };
                async move { r }
            })
            .await
        });
        assert!(got.is_ok());
        assert!(now().saturating_duration_since(started) < Duration::from_secs(5));
    }
}
