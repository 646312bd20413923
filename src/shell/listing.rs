//! The listing of one scan: its key range in segments listed at once, their pages sent on in key
//! order, so the scheduler sees one listing, as a single LIST stream would give it.
//!
//! ```text
//! listers (≤ M) ──pages──► segments, in key order ──front segment's pages──► scheduler
//! ```
//! A lister lists one page at a time of the earliest segment that has room, and when none has, it
//! splits one: it asks for the page after a key inside it, past the last key listed
//! ([`Segment::split_key`]). If that page has a key of the segment, a new segment starts there with
//! it as its first page; if not, nothing lies between, and the segment ends at that key. The
//! earliest segment that can be split is split first, so the front of the listing is listed by many
//! while the scheduler reads it, and what the segments further on may hold is bounded in pages and
//! bytes, given in key order, so memory depends on M, never on the bucket.
//!
//! Splitting starts only after a first page has shown the store lists in order, and the first split
//! shows whether it takes `start-after`; a store that does not gets one stream, with a warning.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, Notify};
use tokio::task::JoinSet;

use super::error::{Error, ListingError};
use super::lister::{ListRequest, ListerMessage, PageChecker, PageSource};
use super::lock;
use super::retry::SmallRng;
use crate::core::list::{resolve_linked_readings, usable, ListEntry, ListPage, PageNames};
use crate::core::ranges::{key_between_within, keys_past_prefixes, pages_to, Alphabet, Boundary};
use crate::core::request::ListParams;

/// Pages the front segment holds before its lister waits for the scheduler to take them (as one
/// stream's lister holds the page it cannot send yet).
const FRONT_PAGES: usize = 1;
/// Pages the segments after the front may hold in all, per lister.
const AHEAD_PAGES_PER_LISTER: usize = 4;
/// A segment is split only while more than this many pages seem to lie before its end.
const SPLIT_PAGES: f64 = 3.0;
/// Split probes that may fail (after their retries) before the listing stops splitting.
const PROBE_FAILURES: u32 = 8;
/// How often an automatic listing may double its listers while the scheduler waits for pages.
const GROW_EVERY: Duration = Duration::from_millis(200);

/// How the listing may go.
#[derive(Clone)]
pub(crate) struct ListingSettings {
    /// Listers at most (1: one stream, no splits).
    pub listers: usize,
    /// Start with one lister and double them while the scheduler waits for pages.
    pub automatic: bool,
    /// LISTs allowed in flight now (the adaptive limit); listers above it wait.
    pub limit: Arc<dyn Fn() -> usize + Send + Sync>,
    /// What the pages of the segments after the first may weigh in all.
    pub ahead_bytes: usize,
}

impl ListingSettings {
    /// One stream, as a plain paginator lists.
    #[cfg(test)]
    pub(crate) fn one_stream() -> ListingSettings {
        ListingSettings::fixed(1)
    }

    /// Exactly `listers` listers.
    #[cfg(test)]
    pub(crate) fn fixed(listers: usize) -> ListingSettings {
        ListingSettings {
            listers,
            automatic: false,
            limit: Arc::new(|| usize::MAX),
            ahead_bytes: 32 << 20,
        }
    }
}

/// What to list, and how.
pub(crate) struct Listing {
    pub request: ListRequest,
    pub settings: ListingSettings,
}

/// One segment of the key range: listed from `after` until `end`.
struct Segment {
    id: u64,
    /// The key its first page was asked for after.
    after: Option<Vec<u8>>,
    /// Where it ends; `None`: at the end of the listing.
    end: Option<Boundary>,
    checker: PageChecker,
    /// The token for its next page.
    token: Option<String>,
    /// The names of its page before, for [`resolve_linked_readings`].
    names: PageNames,
    /// The first key of the last page listed (the checker has its last).
    page_first: Option<Vec<u8>>,
    /// Listed, not yet sent on, each with what its entries weigh.
    pages: VecDeque<(Vec<ListEntry>, usize)>,
    /// Listed to its end (or failed).
    done: bool,
    /// Why its listing cannot go on: sent after its pages.
    failed: Option<Error>,
    /// A page of it is being fetched.
    listing: bool,
}

impl Segment {
    fn new(id: u64, after: Option<Vec<u8>>, end: Option<Boundary>) -> Segment {
        Segment {
            id,
            checker: PageChecker::new(after.as_deref()),
            after,
            end,
            token: None,
            names: PageNames::default(),
            page_first: None,
            pages: VecDeque::new(),
            done: false,
            failed: None,
            listing: false,
        }
    }

    /// Its pages waiting to be sent on, and what they weigh.
    fn held(&self) -> (usize, usize) {
        (self.pages.len(), self.pages.iter().map(|(_, b)| b).sum())
    }

    fn fail(&mut self, e: Error) {
        self.failed = Some(e);
        self.done = true;
    }

    /// Takes in a page its checker has passed: cuts it at the segment's end, keeps what is left, and
    /// says whether the segment is done.
    fn take_page(&mut self, mut page: ListPage, next: Result<Option<String>, Error>) {
        if let Some(first) = page.contents.iter().find(|e| usable(e)) {
            self.page_first = Some(first.key.clone());
        }
        let reached_end = self
            .end
            .as_ref()
            .is_some_and(|end| cut_at(&mut page.contents, end));
        if !page.contents.is_empty() {
            let bytes = page.contents.iter().map(ListEntry::heap_bytes).sum();
            self.pages.push_back((page.contents, bytes));
        }
        if reached_end {
            self.done = true;
            self.token = None;
            return;
        }
        match next {
            Ok(Some(t)) => self.token = Some(t),
            Ok(None) => {
                self.done = true;
                self.token = None;
            }
            Err(e) => self.fail(e),
        }
    }

    /// The key a split probe should go after next, none of `in_flight`. The first choice is the
    /// nearest key past a prefix of the last key listed (where keys of that prefix end) with more
    /// than [`SPLIT_PAGES`] pages seemingly before it, brought nearer by halving while more than
    /// twice that lie between: the split leaves a short segment here, listed soon, and the rest.
    /// While that one is out, the keys past shorter prefixes, farther on, start other segments.
    /// `None` until a page was listed, or when nothing is worth a split.
    fn split_key(&self, in_flight: &[Vec<u8>], alphabet: &Alphabet) -> Option<Vec<u8>> {
        if self.done || self.token.is_none() || self.checker.pages() == 0 {
            return None;
        }
        let last = self.checker.last()?;
        let after = match &last.other_reading {
            Some(other) if other > &last.key => other,
            _ => &last.key,
        };
        let first = self.page_first.as_deref().unwrap_or(after);
        let pages = |k: &[u8]| pages_to(first, after, k, alphabet);
        let end = self.end.as_ref().map(|b| b.key.as_slice());
        // Nearest first.
        let mut past: Vec<Vec<u8>> = keys_past_prefixes(after)?
            .into_iter()
            .rev()
            .filter(|k| end.is_none_or(|e| k.as_slice() < e) && pages(k) >= SPLIT_PAGES)
            .collect();
        let mut near = past.first().cloned().or_else(|| {
            let end = end.filter(|e| pages(e) >= 2.0 * SPLIT_PAGES)?;
            key_between_within(after, Some(end), alphabet)
        })?;
        for _ in 0..16 {
            if pages(&near) <= 2.0 * SPLIT_PAGES {
                break;
            }
            match key_between_within(after, Some(&near), alphabet) {
                Some(m) if pages(&m) >= SPLIT_PAGES => near = m,
                _ => break,
            }
        }
        past.insert(0, near);
        past.into_iter().find(|k| !in_flight.contains(k))
    }

    /// Whether `key` lies inside the segment, past what it listed so far (a split there leaves that
    /// here).
    fn can_split_at(&self, key: &[u8]) -> bool {
        !self.done
            && self.after.as_deref().is_none_or(|a| a < key)
            && self.end.as_ref().is_none_or(|e| key < e.key.as_slice())
            && self.listed_before(key)
    }

    /// Whether everything listed so far comes before `key` (a split there leaves it all here).
    fn listed_before(&self, key: &[u8]) -> bool {
        self.checker.last().is_none_or(|last| {
            last.key.as_slice() < key
                && last
                    .other_reading
                    .as_deref()
                    .is_none_or(|other| other < key)
        })
    }
}

/// Cuts `entries` before the first one past `end`; whether there was one.
fn cut_at(entries: &mut Vec<ListEntry>, end: &Boundary) -> bool {
    match entries.iter().position(|e| usable(e) && !end.admits(e)) {
        Some(i) => {
            entries.truncate(i);
            true
        }
        None => false,
    }
}

/// What a lister does next.
enum Job {
    /// Fetch the next page of a segment: its id, token and start-after.
    List(u64, Option<String>, Option<Vec<u8>>),
    /// Fetch the page after a key to split the segment it falls in.
    Probe(Vec<u8>),
    Wait,
    Exit,
}

/// What the listing sends the scheduler next.
enum Next {
    Send(ListerMessage),
    Wait,
    End,
}

/// The segments and what the listers know of the store.
struct Table {
    segments: VecDeque<Segment>,
    next_id: u64,
    /// No more splits: the store lists unordered or ignores `start-after`, or probes kept failing.
    single: bool,
    /// A split was made: the listing is no longer one stream.
    split: bool,
    unordered_to_say: bool,
    one_stream_to_say: bool,
    probe_failures: u32,
    /// The keys of the split probes out.
    probes: Vec<Vec<u8>>,
    /// The characters listed keys hold, for split keys among them.
    alphabet: Alphabet,
    /// Listers allowed now (an automatic listing grows it).
    allowed: usize,
    /// The listing is over (complete, or failed and said): listers exit.
    ended: bool,
    listers: usize,
    ahead_bytes: usize,
}

impl Table {
    fn ahead(&self) -> (usize, usize) {
        self.segments
            .iter()
            .skip(1)
            .map(Segment::held)
            .fold((0, 0), |(n, b), (sn, sb)| (n + sn, b + sb))
    }

    fn ahead_pages(&self) -> usize {
        AHEAD_PAGES_PER_LISTER * self.listers
    }

    fn job(&mut self, lister: usize, limit: usize) -> Job {
        if self.ended {
            return Job::Exit;
        }
        let running = self.allowed.min(limit.max(1));
        if lister >= running {
            return Job::Wait;
        }
        // What lies ahead is held in key order: a segment may list, or be split, while it and
        // those before it (the front aside) hold less than the bounds, so the nearest go first;
        // all of them together hold at most twice the bounds.
        let (cap_pages, cap_bytes) = (self.ahead_pages(), self.ahead_bytes);
        let (total_pages, total_bytes) = self.ahead();
        let full = total_pages >= 2 * cap_pages || total_bytes >= 2 * cap_bytes;
        let (mut pages, mut bytes) = (0, 0);
        let mut split = None;
        for (i, s) in self.segments.iter_mut().enumerate() {
            if i > 0 {
                let (n, b) = s.held();
                pages += n;
                bytes += b;
            }
            let near = !full && pages < cap_pages && bytes < cap_bytes;
            let room = if i == 0 {
                s.pages.len() < FRONT_PAGES
            } else {
                near
            };
            if !s.done && !s.listing && room {
                s.listing = true;
                let after = if s.token.is_none() {
                    s.after.clone()
                } else {
                    None
                };
                return Job::List(s.id, s.token.clone(), after);
            }
            // One lister allowed (an automatic listing not grown yet): one stream, no splits.
            if split.is_none() && !self.single && running > 1 && near {
                split = s.split_key(&self.probes, &self.alphabet);
            }
        }
        match split {
            Some(key) => {
                self.probes.push(key.clone());
                Job::Probe(key)
            }
            None => Job::Wait,
        }
    }

    fn learn(&mut self, result: &Result<ListPage, Error>) {
        if let Ok(page) = result {
            for e in page.contents.iter().filter(|e| usable(e)) {
                self.alphabet.learn(&e.key);
            }
        }
    }

    fn find(&mut self, id: u64) -> Option<&mut Segment> {
        self.segments.iter_mut().find(|s| s.id == id)
    }

    /// A page of segment `id` came back (or its listing failed).
    fn listed(&mut self, id: u64, result: Result<ListPage, Error>) {
        self.learn(&result);
        let split = self.split;
        let Some(s) = self.find(id) else {
            return;
        };
        s.listing = false;
        let mut page = match result {
            Ok(page) => page,
            Err(e) => return s.fail(e),
        };
        resolve_linked_readings(&mut page.contents, &s.names, s.checker.last());
        s.names = PageNames::of(&page.contents);
        let newly_unordered = match s.checker.check_entries(&page) {
            Ok(u) => u,
            Err(e) => return s.fail(e),
        };
        if newly_unordered && (split || s.end.is_some()) {
            // Ranges of an unordered listing do not hold what their keys say.
            return s.fail(Error::Listing(ListingError::UnorderedInRange));
        }
        let next = s.checker.next_token(&page, s.token.as_deref());
        s.take_page(page, next);
        if newly_unordered {
            self.single = true;
            self.unordered_to_say = true;
        }
    }

    /// The page after `key`, asked for to split the segment it falls in, came back.
    fn probed(&mut self, key: Vec<u8>, result: Result<ListPage, Error>) {
        self.learn(&result);
        self.probes.retain(|k| k != &key);
        let mut page = match result {
            Ok(page) => page,
            Err(_) => {
                self.probe_failures += 1;
                self.single |= self.probe_failures >= PROBE_FAILURES;
                return;
            }
        };
        let mut checker = PageChecker::new(Some(&key));
        resolve_linked_readings(&mut page.contents, &PageNames::default(), checker.last());
        let in_order = match checker.check_entries(&page) {
            Ok(newly_unordered) => !newly_unordered,
            Err(_) => false,
        };
        if !in_order {
            // The store put a key at or before `key` after it, or listed out of order: one stream.
            if self.split {
                if let Some(s) = self.segments.iter_mut().find(|s| !s.done) {
                    s.fail(Error::Listing(ListingError::UnorderedInRange));
                }
                return;
            }
            self.single = true;
            self.one_stream_to_say = true;
            return;
        }
        let next_id = self.next_id;
        let Some((i, s)) = self
            .segments
            .iter_mut()
            .enumerate()
            .find(|(_, s)| s.can_split_at(&key))
        else {
            return; // listed past meanwhile, or a gap known to be empty
        };
        let next = checker.next_token(&page, None);
        let reached_end = s
            .end
            .as_ref()
            .is_some_and(|b| cut_at(&mut page.contents, b));
        let Some(first) = page.contents.iter().find(|e| usable(e)) else {
            // Nothing after `key` within the segment: it ends there.
            let first_after = s.end.take().and_then(|b| b.first_after);
            s.end = Some(Boundary { key, first_after });
            return;
        };
        let first = first.as_sent().to_vec();
        let mut new = Segment::new(next_id, Some(key.clone()), s.end.take());
        new.checker = checker;
        new.names = PageNames::of(&page.contents);
        new.take_page(page, if reached_end { Ok(None) } else { next });
        s.end = Some(Boundary {
            key,
            first_after: Some(first),
        });
        self.segments.insert(i + 1, new);
        self.next_id += 1;
        self.split = true;
    }

    /// What to send the scheduler next.
    fn next(&mut self) -> Next {
        if std::mem::take(&mut self.unordered_to_say) {
            return Next::Send(ListerMessage::Unordered);
        }
        if std::mem::take(&mut self.one_stream_to_say) {
            return Next::Send(ListerMessage::OneStream);
        }
        loop {
            if self.ended {
                return Next::End;
            }
            let Some(front) = self.segments.front_mut() else {
                self.ended = true;
                return Next::End;
            };
            if let Some((page, _)) = front.pages.pop_front() {
                return Next::Send(ListerMessage::Page(page));
            }
            if !front.done {
                return Next::Wait;
            }
            if let Some(e) = front.failed.take() {
                self.ended = true;
                return Next::Send(ListerMessage::Fatal(e));
            }
            self.segments.pop_front();
            if !self.segments.is_empty() {
                return Next::Send(ListerMessage::NextRange);
            }
        }
    }
}

/// What the listing task and its listers share.
struct Shared {
    table: Mutex<Table>,
    /// Woken when a lister may have something to do.
    changed: Notify,
    /// Woken when the listing may have something to send.
    ready: Notify,
}

impl Shared {
    fn wake(&self) {
        self.changed.notify_waiters();
        self.ready.notify_one();
    }
}

async fn lister<S: PageSource>(
    source: Arc<S>,
    shared: Arc<Shared>,
    request: Arc<ListRequest>,
    index: usize,
    limit: Arc<dyn Fn() -> usize + Send + Sync>,
    mut rng: SmallRng,
) {
    loop {
        let changed = shared.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        let job = lock(&shared.table).job(index, limit());
        match job {
            Job::Exit => return,
            Job::Wait => changed.await,
            Job::List(id, token, after) => {
                let params = ListParams {
                    prefix: &request.prefix,
                    continuation_token: token.as_deref(),
                    // Never together with a continuation token: the token already knows where it is.
                    start_after: after.as_deref(),
                    max_keys: request.max_keys,
                };
                let page = source.fetch_page(&params, &mut rng).await;
                lock(&shared.table).listed(id, page);
                shared.wake();
            }
            Job::Probe(key) => {
                let params = ListParams {
                    prefix: &request.prefix,
                    continuation_token: None,
                    start_after: Some(&key),
                    max_keys: request.max_keys,
                };
                let page = source.fetch_page(&params, &mut rng).await;
                lock(&shared.table).probed(key, page);
                shared.wake();
            }
        }
    }
}

/// Lists everything `request` asks for into `tx`, in key order, with up to `settings.listers`
/// listers, until the listing ends, fails, or the receiver is gone.
pub(crate) async fn run_listing<S: PageSource>(
    source: Arc<S>,
    listing: Listing,
    tx: mpsc::Sender<ListerMessage>,
) {
    let Listing { request, settings } = listing;
    let listers = settings.listers.max(1);
    let first = Segment::new(0, request.start_after.clone(), request.end.clone());
    let shared = Arc::new(Shared {
        table: Mutex::new(Table {
            segments: VecDeque::from([first]),
            next_id: 1,
            single: listers == 1,
            split: false,
            unordered_to_say: false,
            one_stream_to_say: false,
            probe_failures: 0,
            probes: Vec::new(),
            alphabet: Alphabet::default(),
            allowed: if settings.automatic { 1 } else { listers },
            ended: false,
            listers,
            ahead_bytes: settings.ahead_bytes,
        }),
        changed: Notify::new(),
        ready: Notify::new(),
    });
    let request = Arc::new(request);
    let seed = SmallRng::from_clock().next_u64();
    // Dropped with this future (the scheduler aborts it): the listers go with it.
    let mut tasks = JoinSet::new();
    for i in 0..listers {
        let rng = SmallRng::nth(seed, i as u64 + 1);
        tasks.spawn(lister(
            source.clone(),
            shared.clone(),
            request.clone(),
            i,
            settings.limit.clone(),
            rng,
        ));
    }
    let mut grown = tokio::time::Instant::now();
    loop {
        let ready = shared.ready.notified();
        tokio::pin!(ready);
        ready.as_mut().enable();
        let next = lock(&shared.table).next();
        match next {
            Next::Send(message) => {
                // The scheduler took every page before this one: it waits for keys.
                let starved = tx.capacity() == tx.max_capacity();
                if settings.automatic && starved && grown.elapsed() >= GROW_EVERY {
                    let mut table = lock(&shared.table);
                    if table.allowed < listers {
                        table.allowed = (table.allowed * 2).min(listers);
                        grown = tokio::time::Instant::now();
                    }
                }
                if tx.send(message).await.is_err() {
                    break; // the scheduler stopped
                }
                shared.wake(); // the front segment has room again
            }
            Next::End => break,
            Next::Wait => ready.await,
        }
    }
    lock(&shared.table).ended = true;
    shared.wake();
    tasks.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A sorted bucket of `keys`, listed as S3 does (start-after, tokens that are an index), each
    /// page after `latency`; counts the LISTs in flight and the most there were.
    struct Bucket {
        keys: Vec<String>,
        latency: Duration,
        in_flight: AtomicUsize,
        most_in_flight: AtomicUsize,
        requests: AtomicUsize,
    }

    impl Bucket {
        fn new(mut keys: Vec<String>) -> Bucket {
            keys.sort();
            keys.dedup();
            Bucket {
                keys,
                latency: Duration::from_millis(100),
                in_flight: AtomicUsize::new(0),
                most_in_flight: AtomicUsize::new(0),
                requests: AtomicUsize::new(0),
            }
        }
    }

    impl PageSource for Bucket {
        async fn fetch_page(
            &self,
            params: &ListParams<'_>,
            _: &mut SmallRng,
        ) -> Result<ListPage, Error> {
            self.requests.fetch_add(1, Ordering::SeqCst);
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.most_in_flight.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(self.latency).await;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            let start = match (params.continuation_token, params.start_after) {
                (Some(t), _) => t.parse().unwrap(),
                (None, Some(after)) => self.keys.partition_point(|k| k.as_bytes() <= after),
                (None, None) => 0,
            };
            let end = (start + params.max_keys as usize).min(self.keys.len());
            Ok(ListPage {
                contents: self.keys[start..end]
                    .iter()
                    .map(|k| ListEntry {
                        key: k.as_bytes().to_vec(),
                        ..Default::default()
                    })
                    .collect(),
                is_truncated: end < self.keys.len(),
                next_continuation_token: (end < self.keys.len()).then(|| end.to_string()),
                ..Default::default()
            })
        }
    }

    /// Lists `bucket` with `settings`; the keys in the order they came, and the messages besides.
    fn list(
        bucket: Arc<Bucket>,
        settings: ListingSettings,
        max_keys: u32,
    ) -> (Vec<String>, Vec<String>) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        rt.block_on(async {
            let (tx, mut rx) = mpsc::channel(2);
            let request = ListRequest {
                prefix: Vec::new(),
                start_after: None,
                end: None,
                max_keys,
            };
            tokio::spawn(run_listing(bucket, Listing { request, settings }, tx));
            let (mut keys, mut said) = (Vec::new(), Vec::new());
            while let Some(m) = rx.recv().await {
                match m {
                    ListerMessage::Page(p) => {
                        keys.extend(p.into_iter().map(|e| String::from_utf8(e.key).unwrap()))
                    }
                    ListerMessage::NextRange => {}
                    other => said.push(format!("{other:?}")),
                }
            }
            (keys, said)
        })
    }

    fn flat(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("obj{i:08}")).collect()
    }

    #[test]
    fn every_key_comes_once_in_order_whatever_the_listers() {
        let skewed: Vec<String> = (0..9000)
            .map(|i| format!("hot/{i:05}"))
            .chain((0..1000).map(|i| format!("{}/{i}", (b'a' + (i % 26) as u8) as char)))
            .collect();
        let hard: Vec<String> = [
            "",
            "\0",
            " ",
            "a",
            "a b",
            "a+b",
            "a%2Bb",
            "é",
            "\u{7f}",
            "\u{80}",
            "\u{ffff}",
            "\u{10ffff}",
            "z\u{10ffff}\u{10ffff}",
        ]
        .iter()
        .map(|k| k.to_string())
        .chain((0..300).map(|i| format!("k{}", char::from_u32(0x100 + i * 97).unwrap())))
        .collect();
        for keys in [flat(20_000), skewed, hard] {
            let bucket = Arc::new(Bucket::new(keys));
            for listers in [1, 4, 16] {
                let (got, said) = list(bucket.clone(), ListingSettings::fixed(listers), 100);
                assert_eq!(got, bucket.keys, "{listers} listers");
                assert!(said.is_empty(), "{said:?}");
            }
        }
    }

    #[test]
    fn listers_list_at_once_and_what_waits_ahead_is_bounded() {
        let bucket = Arc::new(Bucket::new(flat(50_000)));
        let (got, _) = list(bucket.clone(), ListingSettings::fixed(16), 100);
        assert_eq!(got.len(), 50_000);
        let most = bucket.most_in_flight.load(Ordering::SeqCst);
        assert!(most > 8, "at most {most} LISTs at once");
        let one = Arc::new(Bucket::new(flat(50_000)));
        list(one.clone(), ListingSettings::one_stream(), 100);
        assert_eq!(one.most_in_flight.load(Ordering::SeqCst), 1);
        assert_eq!(one.requests.load(Ordering::SeqCst), 500);
        // Splits cost probes; most of them are pages that are used.
        let requests = bucket.requests.load(Ordering::SeqCst);
        assert!(requests < 500 * 13 / 10, "{requests} requests");
    }
}
