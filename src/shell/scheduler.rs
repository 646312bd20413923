//! The scheduler: takes pages from the lister, gives each listed object its place in the emitter's
//! window, and posts it on a board where up to `concurrency` HEAD tasks take objects one at a time.
//!
//! ```text
//! listing ──pages (≤ PAGES_AHEAD)──► scheduler ──board──► HEAD tasks (≤ concurrency) ──board──► emitter
//! ```
//! A HEAD task goes on to the next object itself when one is done, and ends when none is left to start
//! (or the window's byte budget is used up), so a HEAD costs no task spawn, and several finishes wake
//! the scheduler once. Memory depends on the concurrency, the page size and the budget, never on the
//! bucket or on what a server sends.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, Notify};
use tokio::task::JoinSet;

use super::emitter::Emitter;
use super::error::Error;
use super::lister::{ListerMessage, PageSource};
use super::listing::{run_listing, Listing};
use super::lock;
use super::lookup::{Finished, Lookup};
use super::park_delay::ParkDelay;
use super::retry::SmallRng;
use super::signals::Signal;
use crate::core::list::ListEntry;

/// LIST pages fetched ahead of the HEADs: enough to hide a LIST round trip, bounded so memory stays flat.
const PAGES_AHEAD: usize = 2;
/// A HEAD that stalls holds up the output until its timeout (the records after it wait in the
/// window): the window has room for what the other HEADs finish meanwhile, a few seconds of a fast
/// store, bounded in bytes besides.
const MIN_WINDOW_PLACES: usize = 64 << 10;
/// After a stop signal, HEADs already out get this long to finish (their records are written).
pub(crate) const STOP_GRACE: Duration = Duration::from_secs(5);

/// How much of the work may be under way at once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SchedulerLimits {
    /// HEADs in flight at most.
    pub concurrency: usize,
    /// Objects in the window (waiting, in flight, or finished and waiting for an earlier one).
    pub window_places: usize,
    /// No new HEAD starts while the finished records in the window weigh more than this; and no new
    /// page is taken while they and the listed objects not yet looked up do.
    pub window_bytes: usize,
}

impl SchedulerLimits {
    /// The window for `concurrency` HEADs in flight: four places each, and at least
    /// [`MIN_WINDOW_PLACES`].
    pub(crate) fn new(concurrency: usize, window_bytes: usize) -> SchedulerLimits {
        let concurrency = concurrency.max(1);
        SchedulerLimits {
            concurrency,
            window_places: (concurrency * 4).max(MIN_WINDOW_PLACES),
            window_bytes: window_bytes.max(1),
        }
    }
}

/// How the pipeline ended.
#[derive(Debug, Default)]
pub(crate) struct PipelineEnd {
    /// Why it stopped early; every object listed before it was still reported.
    pub fatal: Option<Error>,
    /// The store lists out of order.
    pub unordered: bool,
    /// Stopped by this signal: what was written is the listing's first objects, in order.
    pub interrupted: Option<Signal>,
}

/// The work the scheduler and the HEAD tasks share.
#[derive(Default)]
struct BoardState {
    /// Objects whose HEAD has not started yet, with their place in the listing.
    todo: VecDeque<(u64, ListEntry)>,
    /// HEADs finished since the scheduler last looked, each with its weight.
    done: Vec<(u64, Finished, usize)>,
    /// HEAD tasks alive; each does one HEAD at a time.
    tasks: usize,
    /// What the records in `done` weigh, and what those waiting in the emitter weighed when the
    /// scheduler last looked: while the two reach the budget, tasks start nothing new.
    done_bytes: usize,
    waiting_bytes: usize,
    budget: usize,
    /// HEAD tasks allowed now (the adaptive limit): a task above it ends after its HEAD.
    max_tasks: usize,
}

impl BoardState {
    fn over_budget(&self) -> bool {
        self.done_bytes + self.waiting_bytes >= self.budget
    }
}

struct Board {
    state: Mutex<BoardState>,
    /// Woken when `done` has something; several finishes before the scheduler runs make one wake-up.
    finished: Notify,
}

/// A HEAD task: takes the next object from the board, looks it up, posts the result, and goes on until
/// nothing is left to start.
async fn head_task<L: Lookup>(lookup: Arc<L>, board: Arc<Board>, mut rng: SmallRng) {
    loop {
        let (seq, entry) = {
            let mut state = lock(&board.state);
            let next = if state.over_budget() || state.tasks > state.max_tasks {
                None
            } else {
                state.todo.pop_front()
            };
            match next {
                Some(job) => job,
                None => {
                    state.tasks -= 1;
                    return;
                }
            }
        };
        let finished = lookup.look_up(entry, &mut rng).await;
        {
            let mut state = lock(&board.state);
            let weight = finished.weight();
            state.done_bytes += weight;
            state.done.push((seq, finished, weight));
        }
        board.finished.notify_one();
    }
}

/// What steers a running pipeline from outside.
pub(crate) struct Steering<'a, F> {
    /// HEADs allowed in flight now (the adaptive limit), below the concurrency.
    pub head_limit: &'a dyn Fn() -> usize,
    /// Resolves when the scan must stop in order.
    pub stop: F,
}

/// Lists, looks up and writes everything `request` asks for, with at most `limits.concurrency` HEADs
/// in flight, and at most what the steering's `head_limit` says now.
pub(crate) async fn run_pipeline<S: PageSource, L: Lookup, F: Future<Output = Signal>>(
    source: Arc<S>,
    lookup: Arc<L>,
    listing: Listing,
    limits: SchedulerLimits,
    steering: Steering<'_, F>,
    emitter: &mut Emitter<'_>,
    park_delay: &ParkDelay,
) -> PipelineEnd {
    let Steering { head_limit, stop } = steering;
    tokio::pin!(stop);
    // Set by a stop signal: when the HEADs out must be done.
    let mut stopping: Option<tokio::time::Instant> = None;
    let ceiling = limits.concurrency.max(1);
    let (tx, mut rx) = mpsc::channel(PAGES_AHEAD);
    let lister = tokio::spawn(run_listing(source, listing, tx));
    let seed = SmallRng::from_clock().next_u64();
    let board = Arc::new(Board {
        state: Mutex::new(BoardState {
            budget: limits.window_bytes,
            ..BoardState::default()
        }),
        finished: Notify::new(),
    });

    // Listed, not yet given a place in the window.
    let mut pending: VecDeque<ListEntry> = VecDeque::new();
    // Objects in the window whose HEAD has not finished (waiting on the board or running).
    let mut unfinished: usize = 0;
    // What the listed objects not yet looked up (pending, waiting or running) hold: a server may list
    // entries with long fields.
    let mut listed_bytes: usize = 0;
    let mut tasks: JoinSet<()> = JoinSet::new();
    let mut spawned: u64 = 0;
    let mut listing = true;
    let mut end = PipelineEnd::default();

    loop {
        let done = {
            let mut state = lock(&board.state);
            state.done_bytes = 0;
            std::mem::take(&mut state.done)
        };
        unfinished -= done.len();
        for (seq, finished, weight) in done {
            listed_bytes = listed_bytes.saturating_sub(finished.entry.heap_bytes());
            emitter.finish(seq, finished, weight);
        }
        if let Err(e) = emitter.write_ready() {
            // The output is gone: nothing more can be reported.
            end.fatal = Some(e);
            break;
        }
        {
            let mut state = lock(&board.state);
            // The board holds at most one round of HEADs, so the window's other places go to records
            // finished out of order; listed objects wait in `pending` (else they fill the window).
            while emitter.len() < limits.window_places && state.todo.len() < ceiling {
                let Some(entry) = pending.pop_front() else {
                    break;
                };
                state.todo.push_back((emitter.admit(), entry));
                unfinished += 1;
            }
            state.waiting_bytes = emitter.finished_bytes();
            let concurrency = head_limit().clamp(1, ceiling);
            state.max_tasks = concurrency;
            // One task per unfinished object, up to the concurrency: no more HEADs run at once.
            while !state.over_budget() && state.tasks < concurrency.min(unfinished) {
                state.tasks += 1;
                spawned += 1;
                let rng = SmallRng::nth(seed, spawned);
                tasks.spawn(head_task(lookup.clone(), board.clone(), rng));
            }
            // Every object on the board is unfinished, so this cannot underflow.
            park_delay.set_in_flight(unfinished - state.todo.len());
        }
        if stopping.is_some() && unfinished == 0 {
            break;
        }
        if emitter.is_empty() && pending.is_empty() {
            // Nothing listed is left unfinished, whatever the sums say.
            listed_bytes = 0;
            if !listing {
                break;
            }
        }
        // Pages wait while everything listed and not yet written weighs the budget; HEADs wait only
        // for the finished records (else listed entries alone could stop the HEADs that drain them).
        let want_page = listing
            && pending.len() < ceiling
            && listed_bytes + emitter.finished_bytes() < limits.window_bytes;
        tokio::select! {
            signal = &mut stop, if stopping.is_none() => {
                // No new page, no new HEAD; those out may finish.
                end.interrupted = Some(signal);
                listing = false;
                rx.close();
                pending.clear();
                let dropped = std::mem::take(&mut lock(&board.state).todo).len();
                unfinished -= dropped;
                stopping = Some(tokio::time::Instant::now() + STOP_GRACE);
            }
            _ = tokio::time::sleep_until(stopping.unwrap_or_else(tokio::time::Instant::now)), if stopping.is_some() => break,
            _ = board.finished.notified(), if unfinished > 0 => {}
            Some(joined) = tasks.join_next(), if !tasks.is_empty() => {
                // Tasks end on their own when nothing is left to start; an error here is a panic.
                if let Err(e) = joined {
                    end.fatal = Some(Error::Setup {
                        what: "a HEAD task ended abnormally".into(),
                        source: std::io::Error::other(e.to_string()),
                    });
                    break;
                }
            }
            message = rx.recv(), if want_page && stopping.is_none() => match message {
                Some(ListerMessage::Page(entries)) => {
                    emitter.counters.pages += 1;
                    emitter.counters.listed += entries.len() as u64;
                    listed_bytes += entries.iter().map(ListEntry::heap_bytes).sum::<usize>();
                    pending.extend(entries);
                }
                Some(ListerMessage::Unordered) => {
                    end.unordered = true;
                    emitter.stop_checkpoints();
                    emitter.message(
                        "s3meta: the server lists keys out of order: records follow the listing's order, not key order",
                    );
                }
                Some(ListerMessage::NextRange) => emitter.counters.ranges += 1,
                Some(ListerMessage::OneStream) => emitter.message(
                    "s3meta: the server does not list after a start-after key as a split needs: listing with one stream",
                ),
                Some(ListerMessage::Fatal(e)) => {
                    end.fatal = Some(e);
                    listing = false;
                }
                None => listing = false,
            },
        }
    }
    lister.abort();
    tasks.abort_all();
    end
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::list::ListPage;
    use crate::core::metadata::ObjectMetadata;
    use crate::core::output::Format;
    use crate::core::request::ListParams;
    use crate::shell::lister::ListRequest;
    use crate::shell::listing::ListingSettings;
    use crate::shell::lookup::HeadOutcome;
    use crate::shell::progress::ProgressLine;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// `n` keys `k00000…`, `per_page` to a page; the token is the index of the next page.
    struct Pages {
        n: usize,
        per_page: usize,
    }

    impl PageSource for Pages {
        async fn fetch_page(
            &self,
            params: &ListParams<'_>,
            _: &mut SmallRng,
        ) -> Result<ListPage, Error> {
            let start: usize = params.continuation_token.map_or(0, |t| t.parse().unwrap());
            let end = (start + self.per_page).min(self.n);
            Ok(ListPage {
                contents: (start..end)
                    .map(|i| ListEntry {
                        key: format!("k{i:05}").into_bytes(),
                        ..Default::default()
                    })
                    .collect(),
                is_truncated: end < self.n,
                next_continuation_token: (end < self.n).then(|| end.to_string()),
                ..Default::default()
            })
        }
    }

    /// Answers every key with one metadata value of `value_bytes`, after a delay that is longest for
    /// the first object; counts the lookups started while the first one is still out.
    struct SlowFirst {
        value_bytes: usize,
        started: AtomicUsize,
        started_while_first_out: AtomicUsize,
        first_done: std::sync::atomic::AtomicBool,
    }

    impl Lookup for SlowFirst {
        async fn look_up(&self, entry: ListEntry, _: &mut SmallRng) -> Finished {
            self.started.fetch_add(1, Ordering::SeqCst);
            let first = entry.key == b"k00000";
            if !first && !self.first_done.load(Ordering::SeqCst) {
                self.started_while_first_out.fetch_add(1, Ordering::SeqCst);
            }
            tokio::time::sleep(Duration::from_millis(if first { 500 } else { 1 })).await;
            if first {
                self.first_done.store(true, Ordering::SeqCst);
            }
            let meta = ObjectMetadata::from_entries([("v", &vec![b'x'; self.value_bytes][..])]);
            Finished {
                entry,
                outcome: HeadOutcome::Found(meta, None),
            }
        }
    }

    fn run(
        pages: Pages,
        lookup: Arc<SlowFirst>,
        limits: SchedulerLimits,
    ) -> (Vec<u8>, PipelineEnd) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        let mut out = Vec::new();
        let end = rt.block_on(async {
            let mut emitter = Emitter::new(&mut out, Format::Text, true, ProgressLine::new(false));
            let request = ListRequest {
                prefix: Vec::new(),
                start_after: None,
                end: None,
                max_keys: 1000,
            };
            let end = run_pipeline(
                Arc::new(pages),
                lookup,
                Listing {
                    request,
                    settings: ListingSettings::one_stream(),
                },
                limits,
                Steering {
                    head_limit: &|| usize::MAX,
                    stop: std::future::pending(),
                },
                &mut emitter,
                &ParkDelay::default(),
            )
            .await;
            let (counters, _, flushed) = emitter.close(true);
            flushed.unwrap();
            assert_eq!(counters.pages, 7);
            end
        });
        (out, end)
    }

    fn slow_first(value_bytes: usize) -> Arc<SlowFirst> {
        Arc::new(SlowFirst {
            value_bytes,
            started: AtomicUsize::new(0),
            started_while_first_out: AtomicUsize::new(0),
            first_done: Default::default(),
        })
    }

    #[test]
    fn every_object_is_written_once_in_order() {
        let lookup = slow_first(10);
        let (out, end) = run(
            Pages {
                n: 3000,
                per_page: 450,
            },
            lookup.clone(),
            SchedulerLimits::new(32, 1 << 30),
        );
        assert!(end.fatal.is_none());
        let text = String::from_utf8(out).unwrap();
        let keys: Vec<&str> = text
            .lines()
            .map(|l| l.split('\t').next().unwrap())
            .collect();
        let expected: Vec<String> = (0..3000).map(|i| format!("k{i:05}")).collect();
        assert_eq!(keys, expected);
        assert_eq!(lookup.started.load(Ordering::SeqCst), 3000);
    }

    #[test]
    fn no_new_head_starts_past_the_byte_budget() {
        // While the first object is out, the others finish and wait behind it. With 100 KB each and a
        // 1 MB budget, about ten of them fill the budget; then only those already running go on.
        let limits = SchedulerLimits::new(8, 1 << 20);
        let lookup = slow_first(100 << 10);
        let (out, end) = run(
            Pages {
                n: 3000,
                per_page: 450,
            },
            lookup.clone(),
            limits,
        );
        assert!(end.fatal.is_none());
        assert_eq!(String::from_utf8(out).unwrap().lines().count(), 3000);
        let started = lookup.started_while_first_out.load(Ordering::SeqCst);
        assert!(
            started <= 10 + 8,
            "{started} lookups started behind the stalled one"
        );
        // Without the budget, the whole window fills.
        let lookup = slow_first(100 << 10);
        run(
            Pages {
                n: 3000,
                per_page: 450,
            },
            lookup.clone(),
            SchedulerLimits::new(8, usize::MAX),
        );
        assert!(lookup.started_while_first_out.load(Ordering::SeqCst) > 900);
    }
}
