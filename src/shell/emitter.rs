//! The ordered emitter: a reorder window that puts finished objects back in listing order, the
//! encoder, and the writer. A record is written once every object listed before it is written, so the
//! output is in key order and "everything up to key K is written" always holds.
//!
//! With a checkpoint, every few seconds the output is flushed and made durable, and then the
//! checkpoint records the last key written and the output's length: it never claims more than the
//! output holds.
//!
//! The window is bounded twice: in places (the scheduler admits no more than its cap) and in bytes
//! (the scheduler starts no new HEAD while the finished records waiting here weigh more than the
//! budget), so a slow object at the front cannot make memory grow with what the others return.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use super::checkpoint::{write_checkpoint, CheckpointSettings};
use super::error::Error;
use super::lookup::{Finished, HeadOutcome};
use super::output::Output;
use super::pacing::Pacing;
use super::progress::{Counters, ProgressLine};
use super::terminal::{quote_key, stderr_line};
use crate::core::checkpoint::{Checkpoint, ScanIdentity};
use crate::core::output::{encode, Format, Record};

/// A running scan's checkpointing.
struct Checkpointing {
    settings: CheckpointSettings,
    identity: ScanIdentity,
    /// The last key written (`None`: none yet, or the one resumed after).
    last_key: Option<Vec<u8>>,
    /// Written since the last checkpoint.
    dirty: bool,
    last_written: Instant,
    /// Off once the store lists out of order: a key then says nothing about what came before it.
    enabled: bool,
}

/// Output is written in chunks of about this size (whole lines only).
const WRITE_CHUNK: usize = 64 << 10;

pub(crate) struct Emitter<'a> {
    /// `window[i]` is object number `base_seq + i`: `None` until its lookup finishes, then the record
    /// with its weight ([`Finished::weight`], computed once by the task that looked it up).
    window: VecDeque<Option<(Finished, usize)>>,
    base_seq: u64,
    /// What the finished records in the window weigh.
    finished_bytes: usize,
    out: &'a mut dyn Output,
    buf: Vec<u8>,
    /// Bytes the output holds: resumed with, and written since.
    output_bytes: u64,
    checkpointing: Option<Checkpointing>,
    format: Format,
    include_all: bool,
    pub(crate) counters: Counters,
    progress: ProgressLine,
    /// Shown on the progress line: limits, rate, retries.
    pacing: Option<Arc<Pacing>>,
}

impl<'a> Emitter<'a> {
    pub(crate) fn new(
        out: &'a mut dyn Output,
        format: Format,
        include_all: bool,
        progress: ProgressLine,
    ) -> Emitter<'a> {
        let mut buf = Vec::with_capacity(WRITE_CHUNK * 2);
        if let Some(header) = format.header() {
            buf.extend_from_slice(header.as_bytes());
        }
        Emitter {
            window: VecDeque::new(),
            base_seq: 0,
            finished_bytes: 0,
            out,
            buf,
            output_bytes: 0,
            checkpointing: None,
            format,
            include_all,
            counters: Counters::default(),
            progress,
            pacing: None,
        }
    }

    /// Writes a checkpoint for the scan `identity` every `settings.every`.
    pub(crate) fn with_checkpoints(
        mut self,
        settings: CheckpointSettings,
        identity: ScanIdentity,
    ) -> Self {
        self.checkpointing = Some(Checkpointing {
            settings,
            identity,
            last_key: None,
            dirty: false,
            last_written: Instant::now(),
            enabled: true,
        });
        self
    }

    /// Goes on from `checkpoint`: the output already holds its bytes (the header too), and its
    /// counts are this scan's so far.
    pub(crate) fn resuming(mut self, checkpoint: &Checkpoint) -> Self {
        self.output_bytes = checkpoint.output_bytes;
        if checkpoint.output_bytes > 0 {
            self.buf.clear();
        }
        self.counters = Counters::resumed_from(checkpoint.counts);
        if let Some(cp) = self.checkpointing.as_mut() {
            cp.last_key = checkpoint.after.clone();
        }
        self
    }

    /// The store lists out of order: no checkpoint can say what is done.
    pub(crate) fn stop_checkpoints(&mut self) {
        if let Some(cp) = self.checkpointing.as_mut() {
            cp.enabled = false;
        }
    }

    /// Shows `pacing` on the progress line.
    pub(crate) fn with_pacing(mut self, pacing: Arc<Pacing>) -> Self {
        self.pacing = Some(pacing);
        self
    }

    /// A place at the back of the window for the next listed object; its sequence number.
    pub(crate) fn admit(&mut self) -> u64 {
        self.window.push_back(None);
        self.base_seq + self.window.len() as u64 - 1
    }

    /// Places in the window (finished or not).
    pub(crate) fn len(&self) -> usize {
        self.window.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.window.is_empty()
    }

    /// What the finished records waiting in the window weigh.
    pub(crate) fn finished_bytes(&self) -> usize {
        self.finished_bytes
    }

    /// Stores the result of object `seq` (admitted earlier, not finished before), which weighs
    /// `weight`.
    pub(crate) fn finish(&mut self, seq: u64, finished: Finished, weight: usize) {
        let Some(slot) = seq
            .checked_sub(self.base_seq)
            .and_then(|i| self.window.get_mut(i as usize))
        else {
            debug_assert!(false, "object {seq} is not in the window");
            return;
        };
        self.finished_bytes += weight;
        *slot = Some((finished, weight));
    }

    /// Writes every finished object at the front of the window.
    pub(crate) fn write_ready(&mut self) -> Result<(), Error> {
        while let Some(Some(_)) = self.window.front() {
            let Some(Some((finished, weight))) = self.window.pop_front() else {
                break;
            };
            self.base_seq += 1;
            self.finished_bytes -= weight;
            self.emit(finished)?;
        }
        if self
            .checkpointing
            .as_ref()
            .is_some_and(|cp| cp.dirty && cp.last_written.elapsed() >= cp.settings.every)
        {
            self.checkpoint(false)?;
        }
        Ok(())
    }

    /// Flushes the output, makes it durable, then records how far it goes.
    fn checkpoint(&mut self, complete: bool) -> Result<(), Error> {
        self.flush()?;
        let Some(cp) = self.checkpointing.as_mut() else {
            return Ok(());
        };
        cp.last_written = Instant::now();
        if !cp.enabled {
            return Ok(());
        }
        self.out.sync().map_err(Error::Output)?;
        let checkpoint = Checkpoint {
            identity: cp.identity.clone(),
            after: cp.last_key.clone(),
            output_bytes: self.output_bytes,
            counts: self.counters.written(),
            complete,
        };
        write_checkpoint(&cp.settings.path, &checkpoint).map_err(|source| Error::Setup {
            what: format!("cannot write the checkpoint {}", cp.settings.path.display()),
            source,
        })?;
        cp.dirty = false;
        Ok(())
    }

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
        if let Some(cp) = self.checkpointing.as_mut() {
            if !f.entry.key.is_empty() {
                cp.last_key = Some(f.entry.key);
                cp.dirty = true;
            }
        }
        if self.buf.len() >= WRITE_CHUNK {
            self.flush()?;
        }
        let pacing = &self.pacing;
        self.progress
            .tick(&self.counters, || pacing.as_ref().map(|p| p.snapshot()));
        Ok(())
    }

    /// A line on stderr, with the progress line out of its way.
    pub(crate) fn message(&mut self, line: &str) {
        self.progress.clear();
        stderr_line(line);
    }

    fn flush(&mut self) -> Result<(), Error> {
        let result = self.out.write_all(&self.buf).and_then(|_| self.out.flush());
        if result.is_ok() {
            self.output_bytes += self.buf.len() as u64;
        }
        self.buf.clear();
        result.map_err(Error::Output)
    }

    /// Writes what is buffered (with a last checkpoint, `complete` if the scan ran to its end) and
    /// clears the progress line; the counters and the time the scan took.
    pub(crate) fn close(
        mut self,
        complete: bool,
    ) -> (Counters, std::time::Duration, Result<(), Error>) {
        let flushed = if self.checkpointing.is_some() {
            self.checkpoint(complete)
        } else {
            self.flush()
        };
        self.progress.clear();
        (self.counters, self.progress.elapsed(), flushed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::list::ListEntry;
    use crate::core::metadata::ObjectMetadata;

    /// Stores a record as the scheduler does, with the weight its task computed.
    fn finish(e: &mut Emitter<'_>, seq: u64, f: Finished) {
        let weight = f.weight();
        e.finish(seq, f, weight);
    }

    fn found(key: &str, value: &str) -> Finished {
        Finished {
            entry: ListEntry {
                key: key.as_bytes().to_vec(),
                ..Default::default()
            },
            outcome: HeadOutcome::Found(
                ObjectMetadata::from_entries([("m", value.as_bytes())]),
                None,
            ),
        }
    }

    #[test]
    fn records_come_out_in_listing_order_and_the_bytes_are_counted() {
        let mut out = Vec::new();
        let mut e = Emitter::new(&mut out, Format::Text, false, ProgressLine::new(false));
        let seqs: Vec<u64> = (0..3).map(|_| e.admit()).collect();
        assert_eq!(seqs, [0, 1, 2]);
        finish(&mut e, 2, found("c", "3"));
        finish(&mut e, 1, found("b", &"x".repeat(1000)));
        e.write_ready().unwrap();
        assert_eq!((e.len(), e.counters.heads), (3, 0), "the first is not done");
        assert!(e.finished_bytes() > 1000);
        finish(&mut e, 0, found("a", "1"));
        e.write_ready().unwrap();
        assert_eq!((e.len(), e.finished_bytes(), e.counters.printed), (0, 0, 3));
        assert_eq!(e.admit(), 3);
        let (counters, _, flushed) = e.close(true);
        flushed.unwrap();
        assert_eq!(counters.heads, 3);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("a\tm=1\nb\tm=xxx"), "{text}");
        assert!(text.ends_with("c\tm=3\n"), "{text}");
    }

    #[test]
    fn vanished_and_failed_are_counted_not_printed() {
        let mut out = Vec::new();
        let mut e = Emitter::new(&mut out, Format::Csv, true, ProgressLine::new(false));
        for outcome in [
            HeadOutcome::Vanished,
            HeadOutcome::Failed(Error::Listing(
                crate::shell::error::ListingError::TruncatedWithoutToken,
            )),
        ] {
            let seq = e.admit();
            finish(
                &mut e,
                seq,
                Finished {
                    entry: ListEntry::default(),
                    outcome,
                },
            );
        }
        e.write_ready().unwrap();
        let (c, _, _) = e.close(true);
        assert_eq!((c.heads, c.vanished, c.failed, c.printed), (2, 1, 1, 0));
        assert_eq!(out, b"key,size,last_modified,etag,metadata\r\n");
    }

    /// A writer whose reader has gone away.
    struct ClosedPipe;

    impl crate::shell::output::Output for ClosedPipe {}

    use std::io::Write;

    impl Write for ClosedPipe {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_output_is_an_output_error() {
        let mut out = ClosedPipe;
        let e = Emitter::new(&mut out, Format::Csv, true, ProgressLine::new(false));
        let (_, _, flushed) = e.close(true);
        assert!(flushed.unwrap_err().is_closed_output());
    }
}
