//! How hard to push the store, for one kind of request (LIST or HEAD): an in-flight limit and a
//! request rate that both fall when the store throttles and grow back while it does not, a rate cap
//! given by hand (`--max-rps`), and a pause for everyone when the store asks for one (`Retry-After`).
//!
//! - **In-flight limit** (AIMD): ×[`BETA`] on a throttle, +1 per limit's worth of answers while the
//!   limit is what holds requests back; between 1 and the ceiling (`-j`).
//! - **Rate** (CUBIC, as the AWS SDKs' adaptive mode): off until the first throttle; then the rate
//!   falls to [`BETA`] × what was being sent, and grows back along a cubic that flattens out near the
//!   rate that was throttled, so most of the time is spent just under it. Where even one request in
//!   flight is too many (a store that throttles at a few hundred requests/s and answers in a
//!   millisecond), the rate is what holds.
//!
//! - **Recovery** (slow start): after a run of signals with no growth between them (an outage, a
//!   store restarting), the in-flight limit doubles each round trip back toward [`BETA`] × what it was
//!   before the run, and the rate each [`RECOVERY_DOUBLING`] toward [`BETA`] × what the store
//!   answered per second before it; both grow as above from there. A signal after such growth starts
//!   a new run, from what the store answers now: a store that takes less than before is overshot once.
//!
//! A throttle counts once per decrease: only the answer to a request sent after the last decrease
//! can cause the next one, so a burst of throttled answers to requests already in flight is one
//! signal, not many. [`LimitState`] is the pure rule (time passed in); [`AdaptiveLimit`] shares it.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::lock;
use super::rate_meter::RateMeter;
use super::throttle_window::{Background, Window, SIGNAL_FEWEST, WINDOW_SHORTEST};

/// The share of the rate and of the in-flight limit kept after a throttle.
pub(crate) const BETA: f64 = 0.7;
/// How long CUBIC takes to grow back to the rate that was throttled (its K). The AWS SDKs fix the
/// scaling constant instead (0.4 requests/s per s³), which at thousands of requests/s means tens of
/// seconds under a rate that a swamped first burst may have misjudged low; here it follows the rate.
const CUBIC_PERIOD: f64 = 4.0;
/// The lowest rate the adaptation goes to: the store is still asked, slowly, whether it is back.
const MIN_RATE: f64 = 1.0;
/// The weight of the past in the send rate, per bucket of its meter.
const MEASURE_SMOOTHING: f64 = 0.5;
/// How far behind the present a request may be given its slot: a small burst after a quiet moment.
const BURST: Duration = Duration::from_millis(20);
/// One decrease cuts the rate by at most this factor (besides [`BETA`]).
const MAX_CUT: f64 = 8.0;
/// After a run of signals, the rate doubles this often while the store answers (slow start).
const RECOVERY_DOUBLING: Duration = Duration::from_millis(100);
/// The longest pause a server may impose with one answer.
pub(crate) const MAX_PAUSE: Duration = Duration::from_secs(20);

/// How a limit is set up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LimitSettings {
    /// The in-flight ceiling (`-j`), and the starting limit.
    pub ceiling: usize,
    /// `--max-rps`: a rate never exceeded, adapted or not.
    pub max_rate: Option<f64>,
    /// Adapt to throttling (`false`: the ceiling and the cap hold as given; retries still back off).
    pub adaptive: bool,
}

/// The rule, with time passed in.
#[derive(Debug, Clone)]
pub(crate) struct LimitState {
    settings: LimitSettings,
    in_flight_limit: f64,
    /// `None`: no rate is imposed by the adaptation (yet).
    rate: Option<f64>,
    /// The rate the cubic grows back to: the rate at the last decrease, or a recovery's mark once it
    /// ends. And when the last decrease was.
    w_max: f64,
    last_decrease: Option<Instant>,
    /// Where the cubic starts: the last decrease, or the end of a recovery.
    cubic_origin: Option<Instant>,
    /// The last answer that let the limits grow.
    last_growth: Option<Instant>,
    recovery: Recovery,
    /// The slot of the next request (GCRA): requests are spaced 1/rate apart.
    next_slot: Option<Instant>,
    /// No request is sent before this (a `Retry-After`).
    paused_until: Option<Instant>,
    /// The send rate, requests/s.
    sent: RateMeter,
    pub(crate) throttles: u64,
    pub(crate) decreases: u64,
    /// The lowest the in-flight limit went.
    lowest_in_flight_limit: usize,
    window: Window,
    background: Background,
    /// The window that caused the last decrease, until the next window.
    last_signal: Option<Signal>,
}

/// A window that caused a decrease, and what the limits were before it.
#[derive(Debug, Clone, Copy)]
struct Signal {
    share: f64,
    goodput: f64,
    sending: f64,
    judgeable: bool,
    rate: Option<f64>,
    in_flight_limit: f64,
}

/// A decrease that leaves at least this share of the signal's throttles, and this share of its
/// answered requests per second, cured nothing (it cut the rate by 1 - BETA).
const UNCURED: f64 = 0.5;
const GOODPUT_KEPT: f64 = 1.0 - (1.0 - BETA) / 2.0;

impl LimitState {
    pub(crate) fn new(settings: LimitSettings) -> LimitState {
        LimitState {
            in_flight_limit: settings.ceiling.max(1) as f64,
            settings,
            rate: None,
            w_max: 0.0,
            last_decrease: None,
            cubic_origin: None,
            last_growth: None,
            recovery: Recovery::default(),
            next_slot: None,
            paused_until: None,
            sent: RateMeter::default(),
            throttles: 0,
            decreases: 0,
            lowest_in_flight_limit: settings.ceiling.max(1),
            window: Window::default(),
            background: Background::default(),
            last_signal: None,
        }
    }

    /// The in-flight limit now.
    pub(crate) fn in_flight_limit(&self) -> usize {
        (self.in_flight_limit as usize).clamp(1, self.settings.ceiling.max(1))
    }

    /// The rate requests are held to now, if any.
    pub(crate) fn rate(&self) -> Option<f64> {
        match (self.rate, self.settings.max_rate) {
            (Some(a), Some(m)) => Some(a.min(m)),
            (a, m) => a.or(m),
        }
    }

    /// A request is about to be sent at `now`: how long it must wait first. Its slot is taken, so
    /// requests asking at once are spaced out.
    pub(crate) fn reserve(&mut self, now: Instant) -> Duration {
        let mut at = now;
        if let Some(until) = self.paused_until {
            if until > now {
                at = until;
            } else {
                self.paused_until = None;
            }
        }
        if let Some(rate) = self.rate() {
            // A slot a little in the past is still good: a short burst after a quiet moment.
            let earliest = now.checked_sub(BURST).unwrap_or(now);
            let slot = self.next_slot.map_or(at, |s| s.max(earliest)).max(earliest);
            let slot = if at > now { slot.max(at) } else { slot };
            self.next_slot = Some(slot + Duration::from_secs_f64(1.0 / rate.max(MIN_RATE)));
            at = slot.max(now);
        }
        self.count_send(at);
        at.saturating_duration_since(now)
    }

    fn count_send(&mut self, at: Instant) {
        self.sent.count(at, MEASURE_SMOOTHING);
    }

    /// The send rate measured lately, requests/s; before the first bucket is complete, what the
    /// current one shows (a scan throttled from its first burst).
    pub(crate) fn measured_rate(&self, now: Instant) -> f64 {
        self.sent.rate(now)
    }

    /// The store answered a request that asked for its turn at `sent_at` (before any wait: a request
    /// given its slot before a decrease was paced by the old rate); `throttled` if it said to slow down.
    /// `in_flight`: requests of this kind out when it was sent.
    pub(crate) fn on_answer(
        &mut self,
        now: Instant,
        sent_at: Instant,
        throttled: bool,
        in_flight: usize,
    ) {
        if throttled {
            self.throttles += 1;
        }
        if !self.settings.adaptive {
            return;
        }
        // Answers to requests sent before the last decrease say nothing about the rate since.
        if self.last_decrease.is_none_or(|d| sent_at >= d) {
            self.window.answers += 1;
            self.window.throttled += u64::from(throttled);
            let start = *self.window.start.get_or_insert(now);
            let judging = self.last_signal.is_some();
            if self
                .window
                .is_complete(now.saturating_duration_since(start), judging)
            {
                let share = self.window.share();
                let elapsed = now.saturating_duration_since(start);
                // A short window says little per second: what was sent, less what was throttled.
                let goodput = self
                    .window
                    .goodput(elapsed)
                    .min(self.measured_rate(now) * (1.0 - share));
                // Only a long window of a store that answers most requests can show that
                // throttles are the store's own, whatever the rate.
                let judgeable = elapsed >= WINDOW_SHORTEST && share < 0.5;
                let n = self.window.answers;
                self.window = Window::default();
                // The first window after a decrease: throttles that did not fall with the rate,
                // while what was answered did, were not the rate's doing (a store that throttles
                // at random): take them for the background and undo the decrease.
                let sending = self.measured_rate(now);
                if let Some(signal) = self.last_signal.take().filter(|s| s.judgeable && judgeable) {
                    // Sending as much as before (the client, not the limit, held the rate), the
                    // answers per second say nothing: the share alone judges.
                    let cost = goodput < signal.goodput * GOODPUT_KEPT;
                    let cut = sending < signal.sending * GOODPUT_KEPT;
                    if share >= signal.share * UNCURED && (cost || !cut) {
                        self.background.settle_at(share);
                        self.rate = signal.rate;
                        self.in_flight_limit = signal.in_flight_limit;
                        return;
                    }
                }
                let throttled = (share * n as f64).round() as u64;
                if throttled >= SIGNAL_FEWEST && share > self.background.threshold(n) {
                    self.last_signal = Some(Signal {
                        share,
                        goodput,
                        sending,
                        judgeable,
                        rate: self.rate,
                        in_flight_limit: self.in_flight_limit,
                    });
                    self.decrease(now, goodput);
                    return;
                }
                self.background.learn(share);
            }
        }
        if throttled {
            return;
        }
        self.recovery.count_answer(now);
        let since_growth = self.last_growth.map_or(0.0, |g| {
            now.saturating_duration_since(g).as_secs_f64().min(1.0)
        });
        self.last_growth = Some(now);
        if in_flight + 1 >= self.in_flight_limit() {
            let ceiling = self.settings.ceiling.max(1) as f64;
            let back_to = BETA * self.recovery.in_flight;
            self.in_flight_limit = if self.in_flight_limit < back_to {
                // Slow start: +1 per answer, twice the limit per round trip.
                (self.in_flight_limit + 1.0).min(back_to)
            } else {
                self.in_flight_limit + 1.0 / self.in_flight_limit
            }
            .min(ceiling);
        }
        if let (Some(rate), Some(origin)) = (self.rate, self.cubic_origin) {
            let back_to = BETA * self.recovery.rate;
            let next = if rate < back_to {
                // Slow start, then the cubic from there, as if just cut from the rate before the run.
                let doublings = since_growth / RECOVERY_DOUBLING.as_secs_f64();
                let doubled = (rate * 2f64.powf(doublings)).min(back_to);
                if doubled >= back_to {
                    self.w_max = self.recovery.rate;
                    self.cubic_origin = Some(now);
                }
                doubled
            } else {
                let t = now.saturating_duration_since(origin).as_secs_f64();
                let k = CUBIC_PERIOD;
                let c = self.w_max * (1.0 - BETA) / k.powi(3);
                c * (t - k).powi(3) + self.w_max
            };
            // Never more than twice what is being sent: a rate nobody uses proves nothing.
            let grown = next.min(2.0 * self.measured_rate(now).max(rate)).max(rate);
            self.rate = Some(grown.max(MIN_RATE));
        }
    }

    /// A signal: the rate falls to [`BETA`] × what the store answered (a swamped store answers what it
    /// can, however much more is sent), and the in-flight limit by [`BETA`].
    fn decrease(&mut self, now: Instant, goodput: f64) {
        self.recovery
            .start_or_go_on(self.in_flight_limit, self.rate);
        self.in_flight_limit = (self.in_flight_limit * BETA).max(1.0);
        self.recovery.after_in_flight = self.in_flight_limit;
        self.lowest_in_flight_limit = self.lowest_in_flight_limit.min(self.in_flight_limit());
        self.last_decrease = Some(now);
        self.cubic_origin = Some(now);
        self.decreases += 1;
        if self.rate.is_none() && self.sent.smoothed == 0.0 {
            // A signal before the send rate was ever measured (the first burst, while connections
            // are still being opened): what was sent per second is not known yet, so only the
            // in-flight limit falls; the next signal sets the rate.
            return;
        }
        let measured = self.measured_rate(now).max(MIN_RATE);
        let sending = self.rate.map_or(measured, |r| r.min(measured));
        // A short window may show almost nothing answered: no more than a bounded cut at once.
        let sending = goodput.clamp(sending / MAX_CUT, sending).max(MIN_RATE);
        self.w_max = sending;
        self.rate = Some((sending * BETA).max(MIN_RATE));
        self.recovery.after_rate = self.rate;
    }

    /// The store asked everyone to wait `wait` (bounded by [`MAX_PAUSE`]).
    pub(crate) fn pause(&mut self, now: Instant, wait: Duration) {
        let until = now + wait.min(MAX_PAUSE);
        if self.paused_until.is_none_or(|u| u < until) {
            self.paused_until = Some(until);
        }
    }
}

/// A run of signals with no growth between them, and where the limits go back to once it ends.
#[derive(Debug, Clone, Copy, Default)]
struct Recovery {
    /// The in-flight limit before the run, and the answers per second of the store before it.
    in_flight: f64,
    rate: f64,
    /// What the last decrease left: growth past [`GROWN`] × these ends the run.
    after_in_flight: f64,
    after_rate: Option<f64>,
    /// Answers that were no throttle, per second. Only an answer closes a bucket, so an outage leaves
    /// what the store answered before it.
    answered: RateMeter,
}

/// Growth past this share above what the last signal left ends a run of signals.
const GROWN: f64 = 1.1;
/// The weight of the past in [`Recovery::answered`], per bucket.
const ANSWERED_SMOOTHING: f64 = 0.75;

impl Recovery {
    fn count_answer(&mut self, now: Instant) {
        self.answered.count(now, ANSWERED_SMOOTHING);
    }

    /// A signal, with the limits before its decrease: the first of a run marks where to come back
    /// to; the next of the same run keeps the higher mark.
    fn start_or_go_on(&mut self, in_flight: f64, rate: Option<f64>) {
        let rate_grew = match (rate, self.after_rate) {
            (Some(now), Some(after)) => now > GROWN * after,
            _ => false,
        };
        let new_run =
            self.after_in_flight == 0.0 || in_flight > GROWN * self.after_in_flight || rate_grew;
        if new_run {
            self.in_flight = in_flight;
            self.rate = self.answered.smoothed;
        } else {
            self.in_flight = self.in_flight.max(in_flight);
            self.rate = self.rate.max(self.answered.smoothed);
        }
    }
}

/// The time now, on the runtime's clock (which tests may pause).
pub(crate) fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// How an answer went, for the adaptation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// The store answered (a success, a 404, an error that is not throttling).
    Answered,
    /// The store said to slow down.
    Throttled,
    /// No answer (a connection error, a timeout): neither a reason to grow nor to shrink.
    Lost,
}

/// One [`LimitState`], shared by every request of its kind, with the number of them out.
#[derive(Debug)]
pub(crate) struct AdaptiveLimit {
    state: Mutex<(LimitState, usize)>,
}

/// A request's turn: it counts as out until it is answered or dropped.
pub(crate) struct Turn<'a> {
    limit: &'a AdaptiveLimit,
    asked: Instant,
    open: bool,
}

impl Turn<'_> {
    pub(crate) fn answered(mut self, answer: Answer) {
        self.open = false;
        let mut guard = lock(&self.limit.state);
        let (state, out) = &mut *guard;
        *out = out.saturating_sub(1);
        if answer != Answer::Lost {
            state.on_answer(now(), self.asked, answer == Answer::Throttled, *out);
        }
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        if self.open {
            let mut guard = lock(&self.limit.state);
            guard.1 = guard.1.saturating_sub(1);
        }
    }
}

impl AdaptiveLimit {
    pub(crate) fn new(settings: LimitSettings) -> AdaptiveLimit {
        AdaptiveLimit {
            state: Mutex::new((LimitState::new(settings), 0)),
        }
    }

    /// Waits for a request's turn (a pause, the rate).
    pub(crate) async fn wait_turn(&self) -> Turn<'_> {
        let asked = now();
        let wait = {
            let mut guard = lock(&self.state);
            guard.1 += 1;
            guard.0.reserve(asked)
        };
        let turn = Turn {
            limit: self,
            asked,
            open: true,
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        turn
    }

    /// The in-flight limit now.
    pub(crate) fn in_flight_limit(&self) -> usize {
        lock(&self.state).0.in_flight_limit()
    }

    pub(crate) fn pause(&self, wait: Duration) {
        lock(&self.state).0.pause(now(), wait);
    }

    pub(crate) fn snapshot(&self) -> LimitSnapshot {
        let guard = lock(&self.state);
        LimitSnapshot {
            in_flight_limit: guard.0.in_flight_limit(),
            lowest_in_flight_limit: guard.0.lowest_in_flight_limit,
            rate: guard.0.rate(),
            throttles: guard.0.throttles,
        }
    }
}

/// What a limit is now, for the progress line and the summary.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LimitSnapshot {
    pub in_flight_limit: usize,
    pub lowest_in_flight_limit: usize,
    pub rate: Option<f64>,
    pub throttles: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(ceiling: usize) -> LimitSettings {
        LimitSettings {
            ceiling,
            max_rate: None,
            adaptive: true,
        }
    }

    /// A store that answers `capacity` requests/s (a token bucket of 50 ms) and throttles the rest,
    /// in `rtt`; a client that keeps the in-flight limit full. Returns (answered/s, throttled share).
    fn drive(capacity: f64, rtt: Duration, seconds: f64, state: &mut LimitState) -> (f64, f64) {
        drive_with(capacity, 0.0, rtt, seconds, state)
    }

    /// A store that throttles everything from `from` to `to` seconds, and then allows `then` requests
    /// per second; the answers per second counted from `measure_from`.
    struct Outage {
        from: f64,
        to: f64,
        then: f64,
        measure_from: f64,
    }

    fn drive_with(
        capacity: f64,
        random: f64,
        rtt: Duration,
        seconds: f64,
        state: &mut LimitState,
    ) -> (f64, f64) {
        drive_through(capacity, random, rtt, seconds, None, state)
    }

    /// The same, with a share of requests throttled at random besides.
    fn drive_through(
        capacity: f64,
        random: f64,
        rtt: Duration,
        seconds: f64,
        outage: Option<Outage>,
        state: &mut LimitState,
    ) -> (f64, f64) {
        // xorshift: the throttles at random, the same every run.
        let mut x: u64 = 11;
        let mut next_unit = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64
        };
        let t0 = Instant::now();
        let step = Duration::from_micros(100);
        let mut now = t0;
        let mut tokens = capacity * 0.05;
        // (answered at, sent at, throttled), and the sends waiting for their slot.
        let mut out: std::collections::VecDeque<(Instant, Instant, bool)> = Default::default();
        let mut scheduled: std::collections::VecDeque<(Instant, Instant)> = Default::default();
        let (mut ok, mut throttled) = (0u64, 0u64);
        let at = |t: f64| t0 + Duration::from_secs_f64(t);
        let (down, then, measured_from) = match &outage {
            Some(o) => ((at(o.from), at(o.to)), o.then, at(o.measure_from)),
            None => ((t0, t0), capacity, t0),
        };
        while now < t0 + Duration::from_secs_f64(seconds) {
            let capacity = if now >= down.1 { then } else { capacity };
            let burst = capacity * 0.05;
            tokens = (tokens + capacity * step.as_secs_f64()).min(burst);
            while out.front().is_some_and(|(done, _, _)| *done <= now) {
                let (_, sent, thr) = out.pop_front().unwrap();
                let in_flight = out.len() + scheduled.len();
                state.on_answer(now, sent, thr, in_flight);
            }
            while out.len() + scheduled.len() < state.in_flight_limit() {
                let wait = state.reserve(now);
                scheduled.push_back((now + wait, now));
            }
            while scheduled.front().is_some_and(|(at, _)| *at <= now) {
                let (_, asked) = scheduled.pop_front().unwrap();
                let down = now >= down.0 && now < down.1;
                let thr = tokens < 1.0 || next_unit() < random || down;
                let counted = u64::from(now >= measured_from);
                if thr {
                    throttled += counted;
                } else {
                    tokens -= 1.0;
                    ok += counted;
                }
                out.push_back((now + rtt, asked, thr));
            }
            now += step;
        }
        let measured_for = seconds - outage.map_or(0.0, |o| o.measure_from);
        (
            ok as f64 / measured_for,
            throttled as f64 / (ok + throttled) as f64,
        )
    }

    #[test]
    fn after_an_outage_the_limits_double_back_to_the_rate_before_it() {
        // 5,500/s allowed; everything throttled for half a second from t = 10 s.
        for rtt_ms in [5, 30] {
            let mut state = LimitState::new(settings(1024));
            let outage = Outage {
                from: 10.0,
                to: 10.5,
                then: 5500.0,
                measure_from: 13.0,
            };
            let rtt = Duration::from_millis(rtt_ms);
            let (rate, share) = drive_through(5500.0, 0.0, rtt, 25.0, Some(outage), &mut state);
            assert!(
                rate > 0.85 * 5500.0,
                "{rtt_ms} ms: {rate:.0}/s after the outage"
            );
            assert!(share < 0.02, "{rtt_ms} ms: {:.2}% throttled", share * 100.0);
        }
    }

    #[test]
    fn a_store_that_takes_less_after_an_outage_is_overshot_once_not_again_and_again() {
        // 5,500/s, everything throttled for a second, then 1,000/s for good: the slow start toward
        // the old rate is throttled once, and the next run starts from what the store answers then
        // (the cubic climbs from there, slowly, as it does from any low rate).
        let mut state = LimitState::new(settings(256));
        let outage = Outage {
            from: 10.0,
            to: 11.0,
            then: 1000.0,
            measure_from: 28.0,
        };
        let rtt = Duration::from_millis(5);
        let (rate, share) = drive_through(5500.0, 0.0, rtt, 40.0, Some(outage), &mut state);
        assert!(rate > 0.8 * 1000.0, "{rate:.0}/s");
        assert!(share < 0.02, "{:.2}% throttled", share * 100.0);
    }

    #[test]
    fn the_rate_settles_just_under_what_the_store_allows() {
        let mut state = LimitState::new(settings(256));
        let (rate, share) = drive(5500.0, Duration::from_millis(5), 60.0, &mut state);
        assert!(rate > 0.85 * 5500.0, "{rate:.0}/s");
        assert!(share < 0.02, "{:.2}% throttled", share * 100.0);
        assert!(state.decreases >= 1);
    }

    #[test]
    fn a_store_slower_than_one_request_in_flight_is_met_by_the_rate() {
        let mut state = LimitState::new(settings(64));
        let (rate, share) = drive(300.0, Duration::from_millis(1), 60.0, &mut state);
        assert!(rate > 0.8 * 300.0, "{rate:.0}/s");
        assert!(share < 0.05, "{:.2}% throttled", share * 100.0);
    }

    #[test]
    fn without_adaptation_the_ceiling_holds_and_throttles_pile_up() {
        let mut state = LimitState::new(LimitSettings {
            adaptive: false,
            ..settings(256)
        });
        let (_, share) = drive(5500.0, Duration::from_millis(5), 5.0, &mut state);
        assert!(share > 0.5, "{share}");
        assert_eq!(state.in_flight_limit(), 256);
    }

    #[test]
    fn throttles_of_requests_sent_before_a_decrease_count_once() {
        let mut s = LimitState::new(settings(100));
        let t0 = Instant::now();
        let ms = |n| Duration::from_millis(n);
        for i in 0..60 {
            s.reserve(t0 + ms(i));
            s.on_answer(t0 + ms(i), t0, true, 50);
        }
        assert_eq!((s.in_flight_limit(), s.decreases), (70, 1), "one decrease");
        assert_eq!(s.throttles, 60);
        // Answers to requests sent before it are counted, not judged.
        for i in 60..200 {
            s.on_answer(t0 + ms(i), t0, true, 50);
        }
        assert_eq!(s.decreases, 1);
        for i in 200..260 {
            s.on_answer(t0 + ms(i), t0 + ms(100), true, 1);
        }
        assert_eq!(
            s.in_flight_limit(),
            49,
            "requests sent after it count again"
        );
    }

    #[test]
    fn random_throttles_that_no_rate_cures_do_not_crush_the_rate() {
        // A store with room for far more, that answers 7% of requests 503 whatever the rate.
        let mut s = LimitState::new(settings(64));
        let (rate, share) = drive_with(1e9, 0.07, Duration::from_millis(2), 30.0, &mut s);
        assert!(s.decreases <= 5, "{} decreases", s.decreases);
        assert!(rate > 0.6 * 32_000.0, "{rate:.0}/s");
        assert!((0.06..0.08).contains(&share), "{share}");
    }

    #[test]
    fn random_throttles_of_a_fast_store_are_not_taken_for_a_signal() {
        for random in [0.02, 0.05, 0.1] {
            let mut s = LimitState::new(settings(256));
            let (rate, share) = drive_with(1e9, random, Duration::from_millis(10), 20.0, &mut s);
            assert!(
                rate > 0.8 * 25_600.0 * (1.0 - random),
                "{random}: {rate:.0}/s"
            );
            assert!(share > random * 0.8, "{random}: {share}");
        }
    }

    #[test]
    fn the_limit_grows_only_while_it_is_what_holds_requests_back() {
        let mut s = LimitState::new(settings(100));
        let t0 = Instant::now();
        for i in 0..60 {
            s.on_answer(t0 + Duration::from_millis(i), t0, true, 0);
        }
        assert_eq!(s.in_flight_limit(), 70);
        let t1 = t0 + Duration::from_millis(100);
        for _ in 0..1000 {
            s.on_answer(t1, t1, false, 3);
        }
        assert_eq!(
            s.in_flight_limit(),
            70,
            "3 in flight: the limit is not the bottleneck"
        );
        for _ in 0..200 {
            s.on_answer(t1, t1, false, 70);
        }
        assert!(s.in_flight_limit() >= 72, "{}", s.in_flight_limit());
    }

    #[test]
    fn a_cap_by_hand_and_a_pause_space_the_requests() {
        let mut s = LimitState::new(LimitSettings {
            max_rate: Some(100.0),
            ..settings(8)
        });
        let t0 = Instant::now();
        let waits: Vec<Duration> = (0..5).map(|_| s.reserve(t0)).collect();
        assert_eq!(waits[0], Duration::ZERO);
        assert_eq!(waits[4], Duration::from_millis(40));
        s.pause(t0, Duration::from_secs(3600));
        let wait = s.reserve(t0);
        assert_eq!(wait, MAX_PAUSE, "a pause is bounded");
    }
}
