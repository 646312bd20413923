//! What listing is made of: where pages come from ([`PageSource`]), what to list, what the listing
//! tells the scheduler, and the check of each page against the ones before it in its stream
//! ([`PageChecker`]); [`super::listing`] runs the streams.
//!
//! S3 lists in UTF-8 byte order, and that is what catches a server whose continuation tokens cycle
//! (A, B, A, B…): the repeated page starts before the previous page's last key. Where keys cannot tell
//! (pages without a key, a store that lists out of order), the tokens do: a token seen before is a loop.
//! The last few thousand tokens are always remembered, those of a run of pages without a key too, and
//! all of them once a page shows the store lists out of order (it is said once; the scan goes on).

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::hash::{Hash, Hasher};

use super::error::{Error, ListingError};
use super::retry::SmallRng;
use super::s3_client::S3Client;
use crate::core::list::{listed_in_order, usable, KeyReading, ListEntry, ListPage};
use crate::core::ranges::Boundary;
use crate::core::request::ListParams;

/// Where pages come from: the S3 client, or pages made up by a test.
pub(crate) trait PageSource: Send + Sync + 'static {
    fn fetch_page(
        &self,
        params: &ListParams<'_>,
        rng: &mut SmallRng,
    ) -> impl Future<Output = Result<ListPage, Error>> + Send;
}

impl PageSource for S3Client {
    async fn fetch_page(
        &self,
        params: &ListParams<'_>,
        rng: &mut SmallRng,
    ) -> Result<ListPage, Error> {
        self.list_page(params, rng).await
    }
}

/// What to list.
#[derive(Debug, Clone)]
pub(crate) struct ListRequest {
    pub prefix: Vec<u8>,
    pub start_after: Option<Vec<u8>>,
    /// Where the listing stops (a shard's end); `None`: at the end of the bucket.
    pub end: Option<Boundary>,
    pub max_keys: u32,
}

/// What the listing tells the scheduler.
#[derive(Debug)]
pub(crate) enum ListerMessage {
    /// The entries of one page, in the listing's order.
    Page(Vec<ListEntry>),
    /// The pages that follow are the next range's (the key space was split).
    NextRange,
    /// The store lists out of order (said once).
    Unordered,
    /// The store does not take `start-after` as a split needs: one stream lists on (said once).
    OneStream,
    /// The listing cannot go on; everything sent before it stands.
    Fatal(Error),
}

/// How many of the latest tokens are always remembered.
const RECENT_TOKENS: usize = 4096;
/// How many pages in a row may come without a single key before the listing is taken for stuck.
const MAX_PAGES_WITHOUT_A_KEY: usize = 100_000;

/// Checks each page against the pages before it.
#[derive(Debug)]
pub(crate) struct PageChecker {
    pages: u64,
    /// The last entry (with a key) of the pages so far, or the start-after key.
    last: Option<ListEntry>,
    /// `last` is the start-after key, not a listed one.
    last_is_start_after: bool,
    unordered: bool,
    /// The last page checked had a usable key.
    had_keys: bool,
    /// Hashes of the latest tokens, oldest first, and the same as a set.
    recent: VecDeque<u64>,
    recent_set: HashSet<u64>,
    /// Hashes of the tokens of the current run of pages without a key (keys cannot catch a loop there).
    keyless: HashSet<u64>,
    /// Hashes of every token since the store was found to list unordered.
    all: HashSet<u64>,
}

fn token_hash(token: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    token.hash(&mut h);
    h.finish()
}

impl PageChecker {
    pub(crate) fn new(start_after: Option<&[u8]>) -> PageChecker {
        PageChecker {
            pages: 0,
            last: start_after.map(|k| ListEntry {
                key: k.to_vec(),
                reading: KeyReading::Plain,
                ..Default::default()
            }),
            last_is_start_after: start_after.is_some(),
            unordered: false,
            had_keys: false,
            recent: VecDeque::new(),
            recent_set: HashSet::new(),
            keyless: HashSet::new(),
            all: HashSet::new(),
        }
    }

    /// Pages checked so far.
    pub(crate) fn pages(&self) -> u64 {
        self.pages
    }

    /// The last entry seen before the next page (or the start-after key).
    pub(crate) fn last(&self) -> Option<&ListEntry> {
        self.last.as_ref()
    }

    /// Checks the order of a page's keys. An error means the page must not be used (its keys were
    /// listed before); `Ok(true)` means this page showed the store lists unordered.
    pub(crate) fn check_entries(&mut self, page: &ListPage) -> Result<bool, Error> {
        self.pages += 1;
        let mut keys = page.contents.iter().filter(|e| usable(e));
        let Some(first) = keys.clone().next() else {
            self.had_keys = false;
            return Ok(false);
        };
        self.had_keys = true;
        let mut newly_unordered = false;
        if !self.unordered {
            let mut previous = first;
            for e in keys.by_ref().skip(1) {
                if !listed_in_order(previous, e) {
                    self.unordered = true;
                    newly_unordered = true;
                    break;
                }
                previous = e;
            }
        }
        if let Some(last) = &self.last {
            if !self.unordered && !listed_in_order(last, first) {
                return Err(Error::Listing(if self.last_is_start_after {
                    ListingError::BeforeStartAfter {
                        first: first.key.clone(),
                    }
                } else {
                    ListingError::WentBackwards {
                        page: self.pages,
                        previous: last.key.clone(),
                        first: first.key.clone(),
                    }
                }));
            }
        }
        if let Some(e) = page.contents.iter().rev().find(|e| usable(e)) {
            self.last = Some(ListEntry {
                key: e.key.clone(),
                reading: e.reading,
                other_reading: e.other_reading.clone(),
                ..Default::default()
            });
            self.last_is_start_after = false;
        }
        Ok(newly_unordered)
    }

    /// The token for the next page (`None`: the listing is complete). `sent` is the token this page
    /// was asked for with.
    pub(crate) fn next_token(
        &mut self,
        page: &ListPage,
        sent: Option<&str>,
    ) -> Result<Option<String>, Error> {
        if !page.is_truncated {
            return Ok(None);
        }
        let token = match &page.next_continuation_token {
            Some(t) if !t.is_empty() => t.clone(),
            _ => return Err(Error::Listing(ListingError::TruncatedWithoutToken)),
        };
        if Some(token.as_str()) == sent {
            return Err(Error::Listing(ListingError::RepeatedToken {
                len: token.len(),
            }));
        }
        let sent = sent.map(token_hash);
        if let Some(h) = sent {
            self.remember(h);
        }
        let h = token_hash(&token);
        let seen =
            self.recent_set.contains(&h) || self.keyless.contains(&h) || self.all.contains(&h);
        if seen {
            return Err(Error::Listing(ListingError::TokenSeenBefore {
                page: self.pages,
            }));
        }
        if self.keyless.len() > MAX_PAGES_WITHOUT_A_KEY {
            return Err(Error::Listing(ListingError::NoProgress {
                pages: self.keyless.len() as u64,
            }));
        }
        Ok(Some(token))
    }

    /// Remembers the token the page just checked was asked for with.
    fn remember(&mut self, h: u64) {
        if self.recent.len() == RECENT_TOKENS {
            if let Some(old) = self.recent.pop_front() {
                self.recent_set.remove(&old);
            }
        }
        if self.recent_set.insert(h) {
            self.recent.push_back(h);
        }
        if self.had_keys {
            self.keyless.clear();
        } else {
            self.keyless.insert(h);
        }
        if self.unordered {
            self.all.insert(h);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::list::EntryProblem;

    fn page(keys: &[&str], next: Option<&str>) -> ListPage {
        ListPage {
            contents: keys
                .iter()
                .map(|k| ListEntry {
                    key: k.as_bytes().to_vec(),
                    ..Default::default()
                })
                .collect(),
            is_truncated: next.is_some(),
            next_continuation_token: next.map(str::to_owned),
            ..Default::default()
        }
    }

    #[test]
    fn tokens_that_cycle_are_caught_by_the_key_order() {
        let mut c = PageChecker::new(None);
        let a = page(&["a", "b"], Some("B"));
        let b = page(&["c", "d"], Some("A"));
        assert!(!c.check_entries(&a).unwrap());
        assert_eq!(c.next_token(&a, None).unwrap().as_deref(), Some("B"));
        assert!(!c.check_entries(&b).unwrap());
        assert_eq!(c.next_token(&b, Some("B")).unwrap().as_deref(), Some("A"));
        let err = c.check_entries(&a).unwrap_err();
        assert!(
            matches!(
                &err,
                Error::Listing(ListingError::WentBackwards { page: 3, .. })
            ),
            "{err}"
        );
        assert!(err.to_string().contains("starts at \"a\""), "{err}");
    }

    #[test]
    fn an_unordered_store_is_said_once_and_loops_are_caught_by_tokens() {
        let mut c = PageChecker::new(None);
        let p1 = page(&["m", "b"], Some("T1"));
        assert!(
            c.check_entries(&p1).unwrap(),
            "out of order within the page"
        );
        assert_eq!(c.next_token(&p1, None).unwrap().as_deref(), Some("T1"));
        let p2 = page(&["a", "z"], Some("T2"));
        assert!(!c.check_entries(&p2).unwrap(), "said once");
        assert_eq!(
            c.next_token(&p2, Some("T1")).unwrap().as_deref(),
            Some("T2")
        );
        let p3 = page(&["c"], Some("T1"));
        assert!(!c.check_entries(&p3).unwrap());
        let err = c.next_token(&p3, Some("T2")).unwrap_err();
        assert!(matches!(
            err,
            Error::Listing(ListingError::TokenSeenBefore { page: 3 })
        ));
    }

    #[test]
    fn tokens_that_cycle_over_pages_without_keys_are_caught() {
        let mut c = PageChecker::new(None);
        let a = page(&[], Some("B"));
        let b = page(&[], Some("A"));
        c.check_entries(&a).unwrap();
        assert_eq!(c.next_token(&a, None).unwrap().as_deref(), Some("B"));
        c.check_entries(&b).unwrap();
        assert_eq!(c.next_token(&b, Some("B")).unwrap().as_deref(), Some("A"));
        c.check_entries(&a).unwrap();
        assert!(matches!(
            c.next_token(&a, Some("A")),
            Err(Error::Listing(ListingError::TokenSeenBefore { page: 3 }))
        ));
        // A page with keys ends the run; only the recent tokens stay remembered.
        let mut c = PageChecker::new(None);
        let mut token = None;
        for i in 0..(RECENT_TOKENS + 10) {
            let p = page(&[&format!("k{i:06}")], Some(&format!("T{i}")));
            c.check_entries(&p).unwrap();
            token = c.next_token(&p, token.as_deref()).unwrap();
        }
        assert!(c.recent.len() == RECENT_TOKENS && c.keyless.is_empty());
    }

    #[test]
    fn an_unordered_store_repeating_an_early_token_is_caught() {
        // Pages 1 and 2 in order, page 3 out of order, then page 2's token again.
        let mut c = PageChecker::new(None);
        let p1 = page(&["a"], Some("T2"));
        c.check_entries(&p1).unwrap();
        c.next_token(&p1, None).unwrap();
        let p2 = page(&["b"], Some("T3"));
        c.check_entries(&p2).unwrap();
        c.next_token(&p2, Some("T2")).unwrap();
        let p3 = page(&["z", "c"], Some("T2"));
        assert!(c.check_entries(&p3).unwrap());
        assert!(matches!(
            c.next_token(&p3, Some("T3")),
            Err(Error::Listing(ListingError::TokenSeenBefore { .. }))
        ));
    }

    #[test]
    fn tokens_and_start_after() {
        let mut c = PageChecker::new(None);
        let truncated = page(&["a"], None);
        let truncated = ListPage {
            is_truncated: true,
            ..truncated
        };
        assert!(matches!(
            c.next_token(&truncated, None),
            Err(Error::Listing(ListingError::TruncatedWithoutToken))
        ));
        let same = page(&["b"], Some("T"));
        assert!(matches!(
            c.next_token(&same, Some("T")),
            Err(Error::Listing(ListingError::RepeatedToken { len: 1 }))
        ));
        assert_eq!(c.next_token(&page(&["c"], None), Some("T")).unwrap(), None);

        let mut c = PageChecker::new(Some(b"k"));
        let ignored = page(&["a", "z"], None);
        assert!(matches!(
            c.check_entries(&ignored),
            Err(Error::Listing(ListingError::BeforeStartAfter { .. }))
        ));
        let mut c = PageChecker::new(Some(b"k"));
        assert!(c.check_entries(&page(&["l"], None)).is_ok());
        // Empty pages and entries without a key do not take part.
        let mut c = PageChecker::new(None);
        assert!(c.check_entries(&page(&[], Some("x"))).is_ok());
        let mut no_key = page(&["", "a"], None);
        no_key.contents[0].problem = Some(Box::new(EntryProblem::NoKey));
        assert!(c.check_entries(&no_key).is_ok());
    }
}
