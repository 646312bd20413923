//! Looking up one listed object: its HEAD, and the check of how its key was read.
//!
//! A key whose text has two readings (decoded, or as sent; see `core::list`) is HEADed under the first.
//! The guess is then checked: a 404, or an object whose ETag or size is not the listing's, tries the
//! other reading, and whichever is found (matching the listing, if one does) is the one reported.

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
        let e = &self.entry;
        let listed = e.key.capacity()
            + e.other_reading.as_ref().map_or(0, Vec::capacity)
            + e.etag.as_ref().map_or(0, String::capacity)
            + e.last_modified.as_ref().map_or(0, String::capacity)
            + e.storage_class.as_ref().map_or(0, String::capacity)
            + e.owner_id.as_ref().map_or(0, String::capacity)
            + e.owner_display_name.as_ref().map_or(0, String::capacity);
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
                // Not found under the first reading: what the other one found, or why it failed.
                (Ok(HeadAnswer::NotFound), Ok(HeadAnswer::Found { .. }) | Err(_)) => true,
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
