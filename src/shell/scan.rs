//! The scan pipeline: one lister fetches ListObjectsV2 pages ahead into a bounded channel; the scheduler
//! gives each listed object its place in a bounded reorder window and posts it on a board, where up to
//! `concurrency` HEAD tasks take them one at a time; finished objects are written **in listing (key)
//! order**. Memory depends on the concurrency and page size, never on the bucket.
//!
//! ```text
//! lister ──pages (≤ PAGES_AHEAD)──► scheduler ──board──► HEAD tasks (≤ concurrency) ──board──► reorder window ──► output
//! ```
//! A HEAD task goes on to the next object itself when one is done, and ends when none is left to start,
//! so a HEAD costs no task spawn, and several finishes wake the scheduler once.
//! Ordered output is what makes a checkpoint a single key ("everything up to here is written"), and the
//! window is where an adaptive in-flight limit will plug in; several listers over key ranges will feed
//! the same board.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, Notify};
use tokio::task::JoinSet;

use super::fetch::{self, Context, HeadOutcome};
use super::lock;
use super::progress::{quote_key, stderr_line, summary_line, Counters, ProgressLine};
use super::retry::Jitter;
use crate::core::list::{KeyEncoding, ListEntry};
use crate::core::output::{encode, Format, Record};
use crate::core::request::ListParams;
use crate::error::Error;

/// LIST pages fetched ahead of the HEADs: enough to hide a LIST round trip, bounded so memory stays flat.
const PAGES_AHEAD: usize = 2;
/// Output is written in chunks of about this size (whole lines only).
const WRITE_CHUNK: usize = 64 << 10;

#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub prefix: Vec<u8>,
    pub start_after: Option<Vec<u8>>,
    pub max_keys: u32,
    pub concurrency: usize,
    /// Print objects without metadata too.
    pub include_all: bool,
    pub format: Format,
    pub progress: bool,
}

impl ScanOptions {
    /// How many finished objects may wait behind a slow one before no new HEAD starts.
    fn reorder_window(&self) -> usize {
        (self.concurrency * 4).max(1024)
    }
}

/// How a scan ended.
#[derive(Debug)]
pub struct ScanReport {
    pub counters: Counters,
    pub seconds: f64,
    /// Set when the scan stopped early; every object listed before it was still reported.
    pub fatal: Option<Error>,
}

impl ScanReport {
    pub fn summary_line(&self) -> String {
        summary_line(
            &self.counters,
            std::time::Duration::from_secs_f64(self.seconds),
        )
    }

    /// Ends a run on stderr: the fatal error, if any, then the summary line.
    pub fn report_to_stderr(&self) {
        if let Some(e) = &self.fatal {
            stderr_line(&format!("s3meta: {e}"));
        }
        stderr_line(&self.summary_line());
    }

    /// 0 all reported, 1 some objects failed, 3 the scan stopped early.
    pub fn exit_code(&self) -> i32 {
        match (&self.fatal, self.counters.failed) {
            (Some(e), _) => e.exit_code(),
            (None, 0) => 0,
            (None, _) => 1,
        }
    }
}

enum ListerMessage {
    Page(Vec<ListEntry>),
    Fatal(Error),
}

/// Lists the whole prefix, page after page, into `tx`. Detects servers that loop or lose the token.
async fn run_lister(ctx: Arc<Context>, opts: ScanOptions, tx: mpsc::Sender<ListerMessage>) {
    let mut jitter = Jitter::from_clock();
    let mut token: Option<String> = None;
    // Once a page proves the server echoes EncodingType=url without encoding, read every later page raw.
    let mut encoding = KeyEncoding::Auto;
    loop {
        let params = ListParams {
            prefix: &opts.prefix,
            continuation_token: token.as_deref(),
            start_after: if token.is_none() {
                opts.start_after.as_deref()
            } else {
                None
            },
            max_keys: opts.max_keys,
        };
        let page = match fetch::list_page(&ctx, &params, encoding, &mut jitter).await {
            Ok(page) => page,
            Err(e) => {
                let _ = tx.send(ListerMessage::Fatal(e)).await;
                return;
            }
        };
        if page.encoding_ignored {
            encoding = KeyEncoding::Raw;
        }
        let next = if page.is_truncated {
            match page.next_continuation_token {
                Some(t) if !t.is_empty() => Ok(Some(t)),
                _ => Err(Error::Fatal(
                    "ListObjectsV2 said the listing is truncated but sent no NextContinuationToken: the server is not S3-compatible here".into(),
                )),
            }
        } else {
            Ok(None)
        };
        let next = match next {
            Ok(Some(t)) if Some(&t) == token.as_ref() => Err(Error::Fatal(format!(
                "ListObjectsV2 returned the continuation token it was sent ({} chars) again: the listing would loop",
                t.len()
            ))),
            other => other,
        };
        if tx.send(ListerMessage::Page(page.contents)).await.is_err() {
            return; // the scheduler stopped
        }
        match next {
            Ok(Some(t)) => token = Some(t),
            Ok(None) => return,
            Err(e) => {
                let _ = tx.send(ListerMessage::Fatal(e)).await;
                return;
            }
        }
    }
}

struct Finished {
    entry: ListEntry,
    outcome: HeadOutcome,
}

/// Writes finished objects in order, counting as it goes.
struct Emitter<'a> {
    out: &'a mut dyn Write,
    buf: Vec<u8>,
    format: Format,
    include_all: bool,
    counters: Counters,
    progress: ProgressLine,
}

impl Emitter<'_> {
    fn emit(&mut self, f: Finished) -> Result<(), Error> {
        self.counters.heads += 1;
        match f.outcome {
            HeadOutcome::Found(meta, head_etag) => {
                if !meta.is_empty() {
                    self.counters.with_metadata += 1;
                }
                if self.include_all || !meta.is_empty() {
                    let record = Record {
                        key: &f.entry.key,
                        size: f.entry.size,
                        last_modified: f.entry.last_modified.as_deref(),
                        etag: f.entry.etag.as_deref().or(head_etag.as_deref()),
                        metadata: &meta,
                    };
                    encode(self.format, &record, &mut self.buf);
                    self.counters.printed += 1;
                }
            }
            HeadOutcome::Vanished => {
                self.counters.vanished += 1;
                self.message(&format!(
                    "s3meta: vanished {}: deleted after it was listed (HEAD 404)",
                    quote_key(&f.entry.key)
                ));
            }
            HeadOutcome::Failed(cause) => {
                self.counters.failed += 1;
                self.message(&format!(
                    "s3meta: failed {}: {cause}",
                    quote_key(&f.entry.key)
                ));
            }
        }
        if self.buf.len() >= WRITE_CHUNK {
            self.flush()?;
        }
        self.progress.tick(&self.counters);
        Ok(())
    }

    fn message(&mut self, line: &str) {
        self.progress.clear();
        stderr_line(line);
    }

    fn flush(&mut self) -> Result<(), Error> {
        let result = self.out.write_all(&self.buf).and_then(|_| self.out.flush());
        self.buf.clear();
        result.map_err(|e| Error::Fatal(format!("cannot write the output: {e}")))
    }
}

/// The work the scheduler and the HEAD tasks share.
#[derive(Default)]
struct Board {
    /// Objects whose HEAD has not started yet, with their place in the listing.
    todo: VecDeque<(u64, ListEntry)>,
    /// HEADs finished since the scheduler last looked.
    done: Vec<(u64, Finished)>,
    /// HEAD tasks alive; each does one HEAD at a time.
    tasks: usize,
}

struct Shared {
    board: Mutex<Board>,
    /// Woken when `done` has something; several finishes before the scheduler runs make one wake-up.
    finished: Notify,
}

/// A HEAD task: takes the next object from the board, HEADs it, posts the result, and goes on until
/// nothing is left to start. A task lives for many HEADs, so a HEAD costs no spawn.
async fn head_task(ctx: Arc<Context>, shared: Arc<Shared>, mut jitter: Jitter) {
    loop {
        let (seq, entry) = {
            let mut board = lock(&shared.board);
            match board.todo.pop_front() {
                Some(job) => job,
                None => {
                    board.tasks -= 1;
                    return;
                }
            }
        };
        let finished = head_object(&ctx, entry, &mut jitter).await;
        lock(&shared.board).done.push((seq, finished));
        shared.finished.notify_one();
    }
}

async fn head_object(ctx: &Context, mut entry: ListEntry, jitter: &mut Jitter) -> Finished {
    let want_etag = entry.etag.is_none();
    let mut outcome = fetch::head(ctx, &entry.key, want_etag, jitter).await;
    if let (HeadOutcome::Vanished, Some(as_sent)) = (&outcome, entry.key_as_sent.take()) {
        // The server may have claimed EncodingType=url without encoding: try the key as sent.
        let second = fetch::head(ctx, &as_sent, want_etag, jitter).await;
        if matches!(second, HeadOutcome::Found(..)) {
            entry.key = as_sent;
            outcome = second;
        }
    }
    Finished { entry, outcome }
}

/// Runs one scan to the end and reports how it went. Output goes to `out`; messages about single
/// objects (vanished, failed) go to stderr as they happen.
pub async fn scan(ctx: Arc<Context>, opts: ScanOptions, out: &mut dyn Write) -> ScanReport {
    let concurrency = opts.concurrency.max(1);
    let window_cap = opts.reorder_window();
    let mut emitter = Emitter {
        out,
        buf: Vec::with_capacity(WRITE_CHUNK * 2),
        format: opts.format,
        include_all: opts.include_all,
        counters: Counters::default(),
        progress: ProgressLine::new(opts.progress),
    };
    if let Some(header) = opts.format.header() {
        emitter.buf.extend_from_slice(header.as_bytes());
    }

    let (tx, mut rx) = mpsc::channel(PAGES_AHEAD);
    let lister = tokio::spawn(run_lister(ctx.clone(), opts.clone(), tx));
    let seed = Jitter::from_clock().next_unit().to_bits();
    let shared = Arc::new(Shared {
        board: Mutex::new(Board::default()),
        finished: Notify::new(),
    });

    // Listed, not yet given a place in the window.
    let mut pending: VecDeque<ListEntry> = VecDeque::new();
    // window[i] is object number base_seq + i: None until its HEAD finishes.
    let mut window: VecDeque<Option<Finished>> = VecDeque::with_capacity(window_cap);
    let mut base_seq: u64 = 0;
    // Objects in the window whose HEAD has not finished (waiting on the board or running).
    let mut unfinished: usize = 0;
    let mut tasks: JoinSet<()> = JoinSet::new();
    let mut spawned: u64 = 0;
    let mut listing = true;
    let mut fatal: Option<Error> = None;

    'schedule: loop {
        let done = {
            let mut board = lock(&shared.board);
            // Finished first, so that the counts below are current.
            let done = std::mem::take(&mut board.done);
            unfinished -= done.len();
            while window.len() < window_cap {
                let Some(entry) = pending.pop_front() else {
                    break;
                };
                board
                    .todo
                    .push_back((base_seq + window.len() as u64, entry));
                window.push_back(None);
                unfinished += 1;
            }
            // One task per unfinished object, up to the concurrency: no more HEADs run at once.
            while board.tasks < concurrency.min(unfinished) {
                board.tasks += 1;
                spawned += 1;
                let jitter = Jitter::new(seed ^ spawned.wrapping_mul(0x9E37_79B9_7F4A_7C15));
                tasks.spawn(head_task(ctx.clone(), shared.clone(), jitter));
            }
            // Every object on the board is unfinished, so this cannot underflow.
            ctx.batching.set_in_flight(unfinished - board.todo.len());
            done
        };
        for (seq, finished) in done {
            window[(seq - base_seq) as usize] = Some(finished);
        }
        while let Some(Some(_)) = window.front() {
            let Some(Some(finished)) = window.pop_front() else {
                break;
            };
            base_seq += 1;
            if let Err(e) = emitter.emit(finished) {
                // The output is gone: nothing more can be reported.
                fatal = Some(e);
                break 'schedule;
            }
        }
        let want_page = listing && pending.len() < concurrency;
        if window.is_empty() && pending.is_empty() && !want_page {
            break;
        }
        tokio::select! {
            _ = shared.finished.notified(), if unfinished > 0 => {}
            Some(joined) = tasks.join_next(), if !tasks.is_empty() => {
                // Tasks end on their own when nothing is left to start; an error here is a panic.
                if let Err(e) = joined {
                    fatal = Some(Error::Fatal(format!("internal error: a HEAD task ended abnormally: {e}")));
                    break;
                }
            }
            message = rx.recv(), if want_page => match message {
                Some(ListerMessage::Page(entries)) => {
                    emitter.counters.pages += 1;
                    emitter.counters.listed += entries.len() as u64;
                    pending.extend(entries);
                }
                Some(ListerMessage::Fatal(e)) => {
                    fatal = Some(e);
                    listing = false;
                }
                None => listing = false,
            },
        }
    }
    lister.abort();
    tasks.abort_all();
    let output_result = emitter.flush();
    if fatal.is_none() {
        if let Err(e) = output_result {
            fatal = Some(e);
        }
    }
    emitter.progress.clear();
    ScanReport {
        counters: emitter.counters,
        seconds: emitter.progress.elapsed().as_secs_f64(),
        fatal,
    }
}
