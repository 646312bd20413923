//! The scan pipeline: one lister fetches ListObjectsV2 pages ahead into a bounded channel; the scheduler
//! keeps up to `concurrency` HEADs in flight and writes each finished object **in listing (key) order**
//! through a bounded reorder window. Memory depends on the concurrency and page size, never on the bucket.
//!
//! ```text
//! lister ──pages (≤ PAGES_AHEAD)──► pending keys ──► HEAD tasks (≤ concurrency) ──► reorder window ──► output
//! ```
//! Ordered output is what makes a checkpoint a single key ("everything up to here is written"), and the
//! window is where an adaptive in-flight limit will plug in; several listers over key ranges will feed
//! the same pending queue.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::fetch::{self, Context, HeadOutcome};
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

    let mut pending: VecDeque<ListEntry> = VecDeque::new();
    // window[i] is object number base_seq + i: None while its HEAD runs, Some once finished.
    let mut window: VecDeque<Option<Finished>> = VecDeque::with_capacity(window_cap);
    let mut base_seq: u64 = 0;
    let mut heads: JoinSet<(u64, Finished)> = JoinSet::new();
    let mut listing = true;
    let mut fatal: Option<Error> = None;

    'schedule: loop {
        while heads.len() < concurrency && window.len() < window_cap {
            let Some(entry) = pending.pop_front() else {
                break;
            };
            let seq = base_seq + window.len() as u64;
            window.push_back(None);
            let ctx = ctx.clone();
            let mut jitter = Jitter::new(seed ^ seq.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            heads.spawn(async move {
                let mut entry = entry;
                let want_etag = entry.etag.is_none();
                let mut outcome = fetch::head(&ctx, &entry.key, want_etag, &mut jitter).await;
                if let (HeadOutcome::Vanished, Some(as_sent)) = (&outcome, entry.key_as_sent.take())
                {
                    // The server may have claimed EncodingType=url without encoding: try the key as sent.
                    let second = fetch::head(&ctx, &as_sent, want_etag, &mut jitter).await;
                    if matches!(second, HeadOutcome::Found(..)) {
                        entry.key = as_sent;
                        outcome = second;
                    }
                }
                (seq, Finished { entry, outcome })
            });
        }
        ctx.batching.set_in_flight(heads.len());
        let want_page = listing && pending.len() < concurrency;
        if heads.is_empty() && !want_page {
            break;
        }
        tokio::select! {
            joined = heads.join_next(), if !heads.is_empty() => {
                let Some(joined) = joined else { continue };
                let (seq, finished) = match joined {
                    Ok(done) => done,
                    Err(e) => {
                        fatal = Some(Error::Fatal(format!("internal error: a HEAD task ended abnormally: {e}")));
                        break;
                    }
                };
                window[(seq - base_seq) as usize] = Some(finished);
                while let Some(Some(_)) = window.front() {
                    let Some(Some(done)) = window.pop_front() else { break };
                    base_seq += 1;
                    if let Err(e) = emitter.emit(done) {
                        // The output is gone: nothing more can be reported.
                        fatal = Some(e);
                        break 'schedule;
                    }
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
    heads.abort_all();
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
