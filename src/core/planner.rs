//! Making a [`Plan`] from probes of the key space, without listing it all. The planner is sans-IO: it
//! says which LIST pages to fetch (each the page after a key), takes their pages in, and finally
//! cuts the listing into shards of about as many objects each.
//!
//! What it knows is a row of pages, in key order, with gaps between them. A gap's objects are
//! estimated from how densely the pages beside it hold keys ([`KeySpace::ratio`]), and where a gap
//! leaves the folder (`…/`) a page lies in, from how many folders it spans; the gap holding the
//! most is probed in its middle, until every gap holds little next to a shard or the probes are
//! spent. Where the listing ends is found first, by probing past each prefix of the last key seen
//! ([`keys_past_prefixes`]). Shards are cut at keys seen in pages, where the next entry is known, so
//! each cut is an exact [`Boundary`].

use std::collections::HashSet;

use super::key_space::KeySpace;
use super::list::{listed_in_order, usable, ListEntry, ListPage};
use super::plan::{Plan, ShardRange};
use super::ranges::{key_between, key_between_within, keys_past_prefixes, Alphabet, Boundary};

/// Probes sent at once.
pub const PROBES_AT_ONCE: usize = 16;
/// Cut points kept per page (it is the precision of a cut within a page).
const CUTS_PER_PAGE: usize = 32;
/// A gap is probed while it seems to hold more than a shard's share of this.
const GAP_SHARE: f64 = 1.0 / 32.0;
/// Estimates are kept below this, whatever a page's span says.
const MOST_OBJECTS: f64 = 1e13;

/// The store cannot be planned from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanError {
    /// A page lists keys out of order, or at or before the key it was asked to start after.
    Unordered,
}

/// A place a shard may end: after `key`, whose next entry was listed as `next_sent`.
#[derive(Debug, Clone)]
struct Cut {
    key: Vec<u8>,
    next_sent: Vec<u8>,
    /// Entries of its page up to and including `key`.
    rank: u64,
}

/// What lies between a page and the next (or the end of the listing).
struct Gap {
    /// About how many objects: the geometric mean of what the pages beside it read (key space past
    /// the last key of a group, `d1/d9/…` before `d2`, is mostly empty, and one of the two may see
    /// it as vast).
    objects: f64,
    /// The key it ends at (the next page's start, or the end).
    upper: Vec<u8>,
    /// A page beside it holds keys too dense to measure its extent by.
    dense: bool,
    /// It leaves the folder of a page beside it.
    structural: bool,
}

/// The folder a page's keys all lie in: the longest prefix of its first and last keys that ends in
/// `/`, if they share one.
fn folder<'k>(first: &[u8], last: &'k [u8]) -> Option<&'k [u8]> {
    let shared = first.iter().zip(last).take_while(|(a, b)| a == b).count();
    let end = last[..shared].iter().rposition(|&b| b == b'/')?;
    Some(&last[..=end])
}

/// The key past every key in `folder` (its `/` made a `0`, the next byte).
fn past_folder(folder: &[u8]) -> Vec<u8> {
    let mut past = folder.to_vec();
    if let Some(last) = past.last_mut() {
        *last += 1;
    }
    past
}

/// A probe's page, as far as the plan needs it.
#[derive(Debug, Clone)]
struct Known {
    /// The key the probe started after.
    after: Option<Vec<u8>>,
    /// Entries counted: those up to the next known page's start.
    count: u64,
    first: Vec<u8>,
    last: Vec<u8>,
    /// Nothing lies between its last entry and the next page (or the end of the listing).
    closed: bool,
    cuts: Vec<Cut>,
}

pub struct Planner {
    shards: usize,
    start: Option<Vec<u8>>,
    prefix: Vec<u8>,
    max_keys: u32,
    budget: u64,
    probes: u64,
    started: bool,
    /// In key order of `after` (none first).
    pages: Vec<Known>,
    /// The lowest key after which nothing is listed, once a probe found one.
    end: Option<Vec<u8>>,
    /// Past the last page, nothing more can be probed.
    tail_unknown: bool,
    alphabet: Alphabet,
    space: KeySpace,
    asked: HashSet<Vec<u8>>,
}

fn utf8(b: &[u8]) -> bool {
    std::str::from_utf8(b).is_ok()
}

impl Planner {
    /// A plan of `shards` shards for the listing of `prefix` after `start`, with pages of `max_keys`.
    pub fn new(shards: usize, prefix: Vec<u8>, start: Option<Vec<u8>>, max_keys: u32) -> Planner {
        let shards = shards.max(1);
        Planner {
            shards,
            start,
            prefix,
            max_keys: max_keys.max(1),
            budget: (32 * shards as u64).clamp(512, 8192),
            probes: 0,
            started: false,
            pages: Vec::new(),
            end: None,
            tail_unknown: false,
            alphabet: Alphabet::default(),
            space: KeySpace::default(),
            asked: HashSet::new(),
        }
    }

    /// The keys to fetch the page after next (none: from the start), at most [`PROBES_AT_ONCE`];
    /// empty when the plan is ready. Each is to be answered with [`Planner::learn`].
    pub fn next_probes(&mut self) -> Vec<Option<Vec<u8>>> {
        if !self.started {
            self.started = true;
            return vec![self.start.clone()];
        }
        if self.shards == 1 {
            // One shard is the whole listing: the first page showed the store lists.
            return Vec::new();
        }
        let room = (self.budget.saturating_sub(self.probes) as usize).min(PROBES_AT_ONCE);
        let mut out: Vec<Vec<u8>> = Vec::new();
        if let Some(last) = self.pages.last().filter(|p| !p.closed) {
            if self.end.is_none() && !self.tail_unknown {
                // Where does the listing end? Past each prefix of the last key, farthest first.
                let candidates: Vec<Vec<u8>> = keys_past_prefixes(&last.last)
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|k| k.starts_with(&self.prefix) && !self.asked.contains(k))
                    .take(room)
                    .collect();
                if candidates.is_empty() {
                    self.tail_unknown = true;
                }
                out.extend(candidates);
            }
        }
        let all: Vec<Option<Gap>> = (0..self.pages.len()).map(|i| self.gap(i)).collect();
        let listed: u64 = self.pages.iter().map(|p| p.count).sum();
        let total = listed as f64 + all.iter().flatten().map(|g| g.objects).sum::<f64>();
        let worth = (total / self.shards as f64 * GAP_SHARE).max(1.0);
        let mut gaps: Vec<(f64, Vec<Vec<u8>>)> = Vec::new();
        for (i, gap) in all.into_iter().enumerate() {
            let Some(gap) = gap else { continue };
            if gap.objects < worth {
                continue;
            }
            let low = &self.pages[i].last;
            let fresh = |k: &Vec<u8>| !self.asked.contains(k) && !out.contains(k);
            let keys: Vec<Vec<u8>> = if gap.dense {
                // Keys too dense to measure beside a gap: where the keys under each prefix of the
                // last one end tells how far they go, at every level at once.
                keys_past_prefixes(low)
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|k| k.as_slice() < gap.upper.as_slice() && fresh(k))
                    .take(8)
                    .collect()
            } else {
                // A gap of less than a page is listed from its start, one that leaves a folder and
                // seems to hold little is probed where the folder ends, and a larger one is split in
                // the middle.
                let page = f64::from(self.max_keys);
                let key = if gap.structural && gap.objects <= 2.0 * page {
                    keys_past_prefixes(low)
                        .unwrap_or_default()
                        .into_iter()
                        .rfind(|k| k.as_slice() < gap.upper.as_slice() && fresh(k))
                        .or_else(|| Some(low.clone()))
                } else if gap.objects <= page / 2.0 {
                    Some(low.clone())
                } else {
                    key_between_within(low, Some(&gap.upper), &self.alphabet.widened())
                        .or_else(|| key_between(low, Some(&gap.upper)))
                        .or_else(|| Some(low.clone()))
                };
                key.filter(fresh).into_iter().collect()
            };
            if !keys.is_empty() {
                gaps.push((gap.objects, keys));
            }
        }
        gaps.sort_by(|a, b| b.0.total_cmp(&a.0));
        for (_, keys) in gaps {
            for key in keys {
                if out.len() < room && !out.contains(&key) {
                    out.push(key);
                }
            }
        }
        out.truncate(room);
        for k in &out {
            self.asked.insert(k.clone());
        }
        out.into_iter().map(Some).collect()
    }

    /// Takes in the page listed after `after`.
    pub fn learn(&mut self, after: Option<Vec<u8>>, page: ListPage) -> Result<(), PlanError> {
        self.probes += 1;
        let mut entries = page.contents;
        let first_key = entries.iter().find(|e| usable(e));
        if let (Some(a), Some(e)) = (&after, first_key) {
            let past = |k: &[u8]| k > a.as_slice();
            if !past(&e.key) && !e.other_reading.as_deref().is_some_and(past) {
                return Err(PlanError::Unordered);
            }
        }
        let ordered = entries
            .iter()
            .filter(|e| usable(e))
            .collect::<Vec<_>>()
            .windows(2)
            .all(|w| listed_in_order(w[0], w[1]));
        if !ordered {
            return Err(PlanError::Unordered);
        }
        for e in entries.iter().filter(|e| usable(e)) {
            self.alphabet.learn(&e.key);
            self.space.learn(&e.key);
        }
        let at = self.pages.partition_point(|p| p.after < after);
        if self.pages.get(at).is_some_and(|p| p.after == after) {
            return Ok(());
        }
        let after_key = after.clone().unwrap_or_default();
        if let Some(before) = at.checked_sub(1).map(|i| &mut self.pages[i]) {
            if before.last > after_key {
                // Inside what a page already holds: nothing new.
                return Ok(());
            }
            if before.last == after_key {
                before.closed = true;
            }
        }
        let mut closed = !page.is_truncated;
        if let Some(next) = self.pages.get(at).and_then(|p| p.after.clone()) {
            if let Some(i) = entries
                .iter()
                .position(|e| usable(e) && e.key.as_slice() > next.as_slice())
            {
                entries.truncate(i);
                closed = true;
            }
            if !entries.iter().any(usable) {
                // Nothing between `after` and the next page.
                self.pages.insert(
                    at,
                    Known {
                        after,
                        count: entries.len() as u64,
                        first: after_key,
                        last: next,
                        closed: true,
                        cuts: Vec::new(),
                    },
                );
                return Ok(());
            }
        }
        let keys: Vec<&ListEntry> = entries.iter().filter(|e| usable(e)).collect();
        let (Some(first), Some(last)) = (keys.first(), keys.last()) else {
            if !page.is_truncated {
                // Nothing is listed after `after`.
                if self.end.as_ref().is_none_or(|e| after_key < *e) {
                    self.end = Some(after_key);
                }
            }
            return Ok(());
        };
        if !page.is_truncated && self.end.as_ref().is_none_or(|e| last.key < *e) {
            self.end = Some(last.key.clone());
        }
        let mut cuts = Vec::new();
        if let Some(a) = after.as_ref().filter(|a| Some(*a) != self.start.as_ref()) {
            if utf8(a) && utf8(first.as_sent()) {
                cuts.push(Cut {
                    key: a.clone(),
                    next_sent: first.as_sent().to_vec(),
                    rank: 0,
                });
            }
        }
        let stride = (entries.len() / CUTS_PER_PAGE).max(1);
        for j in (stride - 1..entries.len().saturating_sub(1)).step_by(stride) {
            let (e, n) = (&entries[j], &entries[j + 1]);
            if usable(e)
                && usable(n)
                && e.other_reading.is_none()
                && utf8(&e.key)
                && utf8(n.as_sent())
            {
                cuts.push(Cut {
                    key: e.key.clone(),
                    next_sent: n.as_sent().to_vec(),
                    rank: j as u64 + 1,
                });
            }
        }
        let known = Known {
            after,
            count: entries.len() as u64,
            first: first.key.clone(),
            last: last.key.clone(),
            closed,
            cuts,
        };
        self.pages.insert(at, known);
        Ok(())
    }

    /// The gap after page `i`, if there is one and its end is known.
    fn gap(&self, i: usize) -> Option<Gap> {
        let page = &self.pages[i];
        if page.closed {
            return None;
        }
        let next = self.pages.get(i + 1);
        let upper = match next {
            Some(n) => n.after.clone()?,
            None => self.end.clone()?,
        };
        if upper <= page.last {
            return Some(Gap {
                objects: 0.0,
                upper,
                dense: false,
                structural: false,
            });
        }
        let mut estimates = Vec::new();
        let count = page.count as f64;
        let mut structural = false;
        if page.count >= 2 {
            match folder(&page.first, &page.last).filter(|f| !upper.starts_with(f)) {
                // The gap leaves the folder the page lies in: what the page's density says of the
                // key space past it would count every name the folder could hold (`obj013999` to
                // `obj999999` in a folder numbered from `obj013000`). The rest of the folder is
                // taken to hold at most another page unless it was seen to go on, and each folder
                // between as many as this page.
                Some(f) => {
                    structural = true;
                    let past = past_folder(f);
                    let rest = self
                        .space
                        .ratio((&page.last, &past), (&page.first, &page.last))
                        * count;
                    // A folder seen to go on past a page (the page before lies in it too) may hold
                    // as many more as its names say; one not seen so is taken to end soon.
                    let goes_on = i > 0
                        && self.pages[i - 1].count > 0
                        && self.pages[i - 1].first.starts_with(f);
                    let rest = if goes_on { rest } else { rest.min(count) };
                    let between = self.space.ratio((&past, &upper), (f, &past));
                    estimates.push(rest + between * count);
                }
                None => {
                    let r = self
                        .space
                        .ratio((&page.last, &upper), (&page.first, &page.last));
                    estimates.push(r * count);
                }
            }
        }
        if let Some(n) = next.filter(|n| n.count >= 2) {
            let count = n.count as f64;
            match folder(&n.first, &n.last).filter(|f| !page.last.starts_with(f)) {
                // The same from the folder the next page lies in, backwards.
                Some(f) => {
                    structural = true;
                    let start = self.space.ratio((f, &n.first), (&n.first, &n.last));
                    let between = self.space.ratio((&page.last, f), (f, &past_folder(f)));
                    estimates.push((start * count).min(count) + between * count);
                }
                None => {
                    let r = self
                        .space
                        .ratio((&page.last, &n.first), (&n.first, &n.last));
                    estimates.push(r * count);
                }
            }
        }
        // A page whose keys span nothing at this precision is dense beyond telling: the gap beside it
        // is probed for its structure, and that reading is left out of the estimate.
        let dense = estimates.iter().any(|e| !e.is_finite());
        let finite: Vec<f64> = estimates
            .iter()
            .copied()
            .filter(|e| e.is_finite())
            .collect();
        let objects = if finite.is_empty() {
            f64::from(self.max_keys)
        } else {
            let n = finite.len() as f64;
            (finite
                .iter()
                .map(|e| (e.clamp(0.0, MOST_OBJECTS) + 1.0).ln())
                .sum::<f64>()
                / n)
                .exp()
                - 1.0
        };
        Some(Gap {
            objects,
            upper,
            dense,
            structural,
        })
    }

    /// The plan: shards of about as many objects each, cut at the places seen nearest to each share.
    /// With fewer places than shards, the last shards are empty.
    pub fn plan(&self, bucket: &str) -> Plan {
        // Every place a shard may end, with about how many objects lie before it.
        let mut places: Vec<(f64, &Cut)> = Vec::new();
        let mut before = 0.0;
        for (i, page) in self.pages.iter().enumerate() {
            for cut in &page.cuts {
                places.push((before + cut.rank as f64, cut));
            }
            before += page.count as f64;
            if let Some(gap) = self.gap(i) {
                before += gap.objects;
            }
        }
        let total = before;
        let mut ends: Vec<(Boundary, f64)> = Vec::new();
        let mut from = 0;
        for j in 1..self.shards {
            let target = total * j as f64 / self.shards as f64;
            let best = (from..places.len()).min_by(|&a, &b| {
                (places[a].0 - target)
                    .abs()
                    .total_cmp(&(places[b].0 - target).abs())
            });
            let end = match best {
                Some(b) => {
                    from = b + 1;
                    let cut = places[b].1;
                    (
                        Boundary {
                            key: cut.key.clone(),
                            first_after: Some(cut.next_sent.clone()),
                        },
                        places[b].0,
                    )
                }
                // No place left: an empty shard where the one before ends.
                None => ends.last().cloned().unwrap_or_else(|| {
                    (
                        Boundary {
                            key: self.start.clone().unwrap_or_default(),
                            first_after: None,
                        },
                        0.0,
                    )
                }),
            };
            ends.push(end);
        }
        let mut shards = Vec::with_capacity(self.shards);
        let mut start_after = self.start.clone();
        let mut at = 0.0;
        for i in 0..self.shards {
            let (end, upto) = match ends.get(i) {
                Some((b, upto)) => (Some(b.clone()), *upto),
                None => (None, total),
            };
            shards.push(ShardRange {
                start_after: start_after.clone(),
                end: end.clone(),
                objects_estimated: (upto - at).max(0.0).round() as u64,
            });
            at = upto.max(at);
            start_after = end.map(|e| e.key);
        }
        Plan {
            bucket: bucket.to_owned(),
            prefix: self.prefix.clone(),
            start_after: self.start.clone(),
            probes: self.probes,
            shards,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::list::KeyReading;

    /// A sorted bucket that answers probes as a LIST with start-after would.
    struct Bucket {
        keys: Vec<Vec<u8>>,
        max_keys: usize,
    }

    impl Bucket {
        fn page(&self, after: Option<&[u8]>) -> ListPage {
            let from = after.map_or(0, |a| self.keys.partition_point(|k| k.as_slice() <= a));
            let to = (from + self.max_keys).min(self.keys.len());
            ListPage {
                contents: self.keys[from..to]
                    .iter()
                    .map(|k| ListEntry {
                        key: k.clone(),
                        reading: KeyReading::Plain,
                        ..Default::default()
                    })
                    .collect(),
                is_truncated: to < self.keys.len(),
                ..Default::default()
            }
        }

        /// How many keys each shard of `plan` holds, checking they are every key once.
        fn counts(&self, plan: &Plan) -> Vec<usize> {
            let mut counts = Vec::new();
            let mut seen = 0;
            for s in &plan.shards {
                let from = s
                    .start_after
                    .as_deref()
                    .map_or(0, |a| self.keys.partition_point(|k| k.as_slice() <= a));
                let to = s.end.as_ref().map_or(self.keys.len(), |e| {
                    self.keys
                        .partition_point(|k| k.as_slice() <= e.key.as_slice())
                });
                assert_eq!(from, seen, "shards must follow one another");
                if let Some(e) = &s.end {
                    // The next entry recorded is the one listed after the end.
                    if let Some(n) = &e.first_after {
                        assert_eq!(Some(n), self.keys.get(to));
                    }
                }
                counts.push(to.max(from) - from);
                seen = to.max(from);
            }
            assert_eq!(seen, self.keys.len());
            counts
        }
    }

    fn plan_of(bucket: &Bucket, shards: usize) -> Plan {
        let mut p = Planner::new(shards, Vec::new(), None, bucket.max_keys as u32);
        loop {
            let probes = p.next_probes();
            if probes.is_empty() {
                break;
            }
            for probe in probes {
                let page = bucket.page(probe.as_deref());
                p.learn(probe, page).unwrap();
            }
        }
        p.plan("b")
    }

    fn balanced(counts: &[usize], slack: f64) {
        let total: usize = counts.iter().sum();
        let share = total as f64 / counts.len() as f64;
        for &c in counts {
            assert!(
                (c as f64 - share).abs() <= share * slack,
                "{counts:?} (share {share})"
            );
        }
    }

    #[test]
    fn a_flat_bucket_is_cut_into_even_shards_from_probes() {
        let keys = (0..200_000)
            .map(|i| format!("obj{i:08}").into_bytes())
            .collect();
        let bucket = Bucket {
            keys,
            max_keys: 1000,
        };
        let plan = plan_of(&bucket, 4);
        let counts = bucket.counts(&plan);
        balanced(&counts, 0.15);
        assert!(plan.probes <= 256, "{}", plan.probes);
        let estimated: u64 = plan.shards.iter().map(|s| s.objects_estimated).sum();
        assert!((150_000..=250_000).contains(&estimated), "{estimated}");
    }

    #[test]
    fn a_skewed_tree_is_cut_where_its_keys_are() {
        // 90% of the keys under one prefix, the rest spread over many.
        let mut keys: Vec<Vec<u8>> = (0..90_000)
            .map(|i| format!("logs/2026/{i:07}").into_bytes())
            .collect();
        keys.extend(
            (0..10_000).map(|i| format!("{}/{i:05}", (b'a' + (i % 26) as u8) as char).into_bytes()),
        );
        keys.sort();
        let bucket = Bucket {
            keys,
            max_keys: 1000,
        };
        let plan = plan_of(&bucket, 8);
        balanced(&bucket.counts(&plan), 0.35);
    }

    #[test]
    fn folders_numbered_across_one_another_are_cut_by_folder() {
        // As s3meta sim's tree layout: 1,000 objects a folder, numbered through the whole bucket, so
        // no folder's names say where it ends.
        let mut keys: Vec<Vec<u8>> = (0..200_000u64)
            .map(|i| format!("d{}/d{}/obj{i:06}", i / 20_000, (i / 1000) % 20).into_bytes())
            .collect();
        keys.sort();
        let bucket = Bucket {
            keys,
            max_keys: 1000,
        };
        balanced(&bucket.counts(&plan_of(&bucket, 4)), 0.35);
    }

    #[test]
    fn small_and_empty_buckets_still_get_every_shard() {
        let keys = (0..100).map(|i| format!("k{i:03}").into_bytes()).collect();
        let bucket = Bucket {
            keys,
            max_keys: 1000,
        };
        let plan = plan_of(&bucket, 4);
        assert_eq!(plan.probes, 1);
        balanced(&bucket.counts(&plan), 0.35);
        // More shards than places to cut: the last ones are empty, and all is still covered once.
        let plan = plan_of(&bucket, 64);
        assert_eq!(plan.shards.len(), 64);
        assert_eq!(bucket.counts(&plan).iter().sum::<usize>(), 100);
        let empty = Bucket {
            keys: Vec::new(),
            max_keys: 1000,
        };
        let plan = plan_of(&empty, 3);
        assert_eq!(empty.counts(&plan), [0, 0, 0]);
        // A plan reads back as it was made.
        assert_eq!(Plan::parse(plan.render().as_bytes()).unwrap(), plan);
    }

    /// The balance of plans of larger buckets, printed (docs/BENCHMARKS.md, "Shard plans"):
    /// `PLAN_STATS=1 cargo test --release --lib balance_figures -- --nocapture`.
    #[test]
    fn balance_figures() {
        if std::env::var("PLAN_STATS").is_err() {
            return;
        }
        let flat: Vec<Vec<u8>> = (0..1_000_000)
            .map(|i| format!("obj{i:08}").into_bytes())
            .collect();
        let mut tree: Vec<Vec<u8>> = (0..1_000_000u64)
            .map(|i| {
                format!("{}/{}/{}/f{:06x}", i % 10, (i / 10) % 7, (i * 7919) % 13, i).into_bytes()
            })
            .collect();
        tree.sort();
        let mut skew: Vec<Vec<u8>> = (0..900_000)
            .map(|i| format!("logs/2026/{i:07}").into_bytes())
            .collect();
        skew.extend(
            (0..100_000)
                .map(|i| format!("{}/{i:05}", (b'a' + (i % 26) as u8) as char).into_bytes()),
        );
        skew.sort();
        let sim: Vec<Vec<u8>> = (0..1_000_000u64)
            .map(|i| {
                format!(
                    "d{}/d{}/d{}/obj{i:06}",
                    i / 100_000,
                    (i / 10_000) % 10,
                    (i / 1000) % 10
                )
                .into_bytes()
            })
            .collect();
        for (name, keys) in [
            ("flat", flat),
            ("tree", tree),
            ("skew", skew),
            ("sim-tree", sim),
        ] {
            let bucket = Bucket {
                keys,
                max_keys: 1000,
            };
            for n in [2, 4, 16, 64] {
                let plan = plan_of(&bucket, n);
                let c = bucket.counts(&plan);
                let share = bucket.keys.len() as f64 / n as f64;
                let worst = c
                    .iter()
                    .map(|&x| (x as f64 / share - 1.0).abs())
                    .fold(0.0, f64::max);
                let est: u64 = plan.shards.iter().map(|s| s.objects_estimated).sum();
                eprintln!(
                    "{name} n={n}: probes {} largest shard off its share by {:.0}% estimated objects {est}",
                    plan.probes,
                    worst * 100.0
                );
            }
        }
    }

    #[test]
    fn a_store_that_lists_out_of_order_cannot_be_planned() {
        let mut p = Planner::new(2, Vec::new(), None, 1000);
        let probe = p.next_probes().remove(0);
        let entry = |k: &str| ListEntry {
            key: k.as_bytes().to_vec(),
            ..Default::default()
        };
        let page = ListPage {
            contents: vec![entry("b"), entry("a")],
            is_truncated: true,
            ..Default::default()
        };
        assert_eq!(p.learn(probe, page), Err(PlanError::Unordered));
        let mut p = Planner::new(2, Vec::new(), Some(b"m".to_vec()), 1000);
        let probe = p.next_probes().remove(0);
        let page = ListPage {
            contents: vec![entry("a")],
            ..Default::default()
        };
        assert_eq!(p.learn(probe, page), Err(PlanError::Unordered));
    }
}
