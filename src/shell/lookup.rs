//! Looking up one listed object: its HEAD, and the check of how its key was read.
//!
//! A key whose text has two readings (decoded, or as sent; see `core::list`) is HEADed under the first.
//! The guess is then checked: a 404, or an object whose ETag or size is not the listing's, tries the
//! other reading, and whichever is found (matching the listing, if one does) is the one reported; if
//! the other reading cannot be looked up, the object fails rather than take an answer that did not
//! match. A linked key (each reading is another listed entry's name) is HEADed both ways: the reading
//! that exists is its name; if both exist, nothing can tell them apart, and the object fails, named.

use std::future::Future;

use super::error::Error;
use super::retry::SmallRng;
use super::s3_client::{HeadAnswer, S3Client};
use crate::core::list::ListEntry;
use crate::core::metadata::ObjectMetadata;

/// What looking up one object found.
#[derive(Debug)]
pub(crate) enum HeadOutcome {
    /// The metadata, and the ETag the HEAD returned (used when the listing had none).
    Found(ObjectMetadata, Option<String>),
    /// 404: deleted since it was listed.
    Vanished,
    /// Given up, with the cause.
    Failed(Error),
}

/// A listed object and what its lookup found.
#[derive(Debug)]
pub(crate) struct Finished {
    pub entry: ListEntry,
    pub outcome: HeadOutcome,
}

impl Finished {
    /// About what the record takes in memory until it is written: what the byte budget of the
    /// reorder window counts.
    pub(crate) fn weight(&self) -> usize {
        let fixed = std::mem::size_of::<Finished>();
        let listed = self.entry.heap_bytes();
        let found = match &self.outcome {
            HeadOutcome::Found(meta, etag) => {
                meta.heap_bytes() + etag.as_ref().map_or(0, String::len)
            }
            HeadOutcome::Vanished => 0,
            HeadOutcome::Failed(_) => 128,
        };
        fixed + listed + found
    }
}

/// Looks up listed objects. The scan's HEAD tasks call it; tests give it objects without a network.
pub(crate) trait Lookup: Send + Sync + 'static {
    fn look_up(
        &self,
        entry: ListEntry,
        rng: &mut SmallRng,
    ) -> impl Future<Output = Finished> + Send;
}

/// Whether a HEAD's ETag and size are those of the listed entry (what either side did not give is not
/// held against it).
fn matches_listing(entry: &ListEntry, etag: Option<&str>, size: Option<u64>) -> bool {
    let bare = |e: &str| e.trim().trim_matches('"').to_ascii_lowercase();
    let etag_ok = match (entry.etag.as_deref(), etag) {
        (Some(listed), Some(headed)) => bare(listed) == bare(headed),
        _ => true,
    };
    let size_ok = match (entry.size, size) {
        (Some(listed), Some(headed)) => listed == headed,
        _ => true,
    };
    etag_ok && size_ok
}

impl Lookup for S3Client {
    async fn look_up(&self, mut entry: ListEntry, rng: &mut SmallRng) -> Finished {
        if let Some(problem) = entry.problem.take() {
            return Finished {
                entry,
                outcome: HeadOutcome::Failed(Error::BadEntry(*problem)),
            };
        }
        let two_readings = entry.other_reading.is_some();
        let want_details = two_readings || entry.etag.is_none();
        if entry.linked {
            return self.look_up_both_readings(entry, rng).await;
        }
        let first = self.head(&entry.key, want_details, rng).await;
        let try_other = match &first {
            Ok(HeadAnswer::NotFound) => two_readings,
            Ok(HeadAnswer::Found { etag, size, .. }) => {
                two_readings && !matches_listing(&entry, etag.as_deref(), *size)
            }
            Err(_) => false,
        };
        let answer = if try_other {
            let other = entry.other_reading.clone().unwrap_or_default();
            let second = self.head(&other, true, rng).await;
            let take_second = match (&first, &second) {
                // Not found under the first reading, or found not matching: what the other one
                // found, or why it failed (a mismatched answer is not taken on trust).
                (Ok(HeadAnswer::NotFound), Ok(HeadAnswer::Found { .. }) | Err(_)) => true,
                (Ok(HeadAnswer::Found { .. }), Err(_)) => true,
                (_, Ok(HeadAnswer::Found { etag, size, .. })) => {
                    matches_listing(&entry, etag.as_deref(), *size)
                }
                _ => false,
            };
            if take_second {
                if matches!(second, Ok(HeadAnswer::Found { .. })) {
                    entry.switch_reading();
                }
                second
            } else {
                first
            }
        } else {
            first
        };
        let outcome = match answer {
            Ok(HeadAnswer::Found { metadata, etag, .. }) => HeadOutcome::Found(metadata, etag),
            Ok(HeadAnswer::NotFound) => HeadOutcome::Vanished,
            Err(e) => HeadOutcome::Failed(e),
        };
        Finished { entry, outcome }
    }
}

impl S3Client {
    /// A linked entry: both readings are HEADed, and the one that exists is the entry's name.
    async fn look_up_both_readings(&self, mut entry: ListEntry, rng: &mut SmallRng) -> Finished {
        let other = entry.other_reading.clone().unwrap_or_default();
        let first = self.head(&entry.key, true, rng).await;
        let second = self.head(&other, true, rng).await;
        let outcome = match (first, second) {
            (Err(e), _) | (_, Err(e)) => HeadOutcome::Failed(e),
            (Ok(HeadAnswer::NotFound), Ok(HeadAnswer::NotFound)) => HeadOutcome::Vanished,
            (Ok(HeadAnswer::Found { metadata, etag, .. }), Ok(HeadAnswer::NotFound)) => {
                HeadOutcome::Found(metadata, etag)
            }
            (Ok(HeadAnswer::NotFound), Ok(HeadAnswer::Found { metadata, etag, .. })) => {
                entry.switch_reading();
                HeadOutcome::Found(metadata, etag)
            }
            (Ok(HeadAnswer::Found { .. }), Ok(HeadAnswer::Found { .. })) => {
                HeadOutcome::Failed(Error::AmbiguousKey {
                    other: other.clone(),
                })
            }
        };
        Finished { entry, outcome }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_matches_the_listing_by_etag_and_size() {
        let entry = ListEntry {
            etag: Some("\"ABC\"".into()),
            size: Some(3),
            ..Default::default()
        };
        assert!(matches_listing(&entry, Some("abc"), Some(3)));
        assert!(matches_listing(&entry, None, None));
        assert!(!matches_listing(&entry, Some("\"abd\""), Some(3)));
        assert!(!matches_listing(&entry, Some("\"abc\""), Some(4)));
        assert!(matches_listing(&ListEntry::default(), Some("x"), Some(9)));
    }
}
