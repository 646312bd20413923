//! Key-space arithmetic for listing one bucket in parallel: ranges of keys in S3's order, and a key
//! between two others to split a range at.
//!
//! S3 lists keys in the order of their UTF-8 bytes, which is the order of their code points, so the
//! arithmetic here is on code points: every key it makes is valid UTF-8 (a `start-after` a server
//! takes) and sorts where the bytes say.

use super::list::ListEntry;

/// The keys after `start_after` (none: from the first) up to and including `last` (none: to the end
/// of the bucket), as a LIST started with `start-after` returns them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRange {
    pub start_after: Option<Vec<u8>>,
    pub last: Option<Vec<u8>>,
}

/// The longest key S3 allows, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;

impl KeyRange {
    /// The whole bucket.
    pub fn all() -> KeyRange {
        KeyRange {
            start_after: None,
            last: None,
        }
    }

    pub fn contains(&self, key: &[u8]) -> bool {
        self.start_after.as_deref().is_none_or(|s| key > s)
            && self.last.as_deref().is_none_or(|l| key <= l)
    }

    /// The range in two at `at` (which it must contain, and not as its last key): up to and including
    /// `at`, and after it.
    pub fn split_at(&self, at: &[u8]) -> Option<(KeyRange, KeyRange)> {
        if !self.contains(at) || self.last.as_deref() == Some(at) {
            return None;
        }
        let left = KeyRange {
            start_after: self.start_after.clone(),
            last: Some(at.to_vec()),
        };
        let right = KeyRange {
            start_after: Some(at.to_vec()),
            last: self.last.clone(),
        };
        Some((left, right))
    }
}

/// Where one range of a listing ends and the next begins: the key the next range was started after,
/// and the text of the first entry a LIST started there returned (as the server sent it).
///
/// An entry of the range before belongs to it while it comes before that first entry: the server
/// put every key up to `key` before it, whatever the entry's readings say (a key with `%` or `+` in
/// a page that says `EncodingType=url` has two, see [`crate::core::list`]). Without the first entry
/// (the range was found empty after `key`), or should it vanish, the readings decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Boundary {
    pub key: Vec<u8>,
    pub first_after: Option<Vec<u8>>,
}

impl Boundary {
    /// Whether a listed entry belongs before the boundary (at most `key`).
    pub fn admits(&self, entry: &ListEntry) -> bool {
        if self.first_after.as_deref() == Some(entry.as_sent()) {
            return false;
        }
        // Any reading at most `key` may be the one the server sorted by.
        entry.key <= self.key
            || entry
                .other_reading
                .as_deref()
                .is_some_and(|other| other <= self.key.as_slice())
    }
}

/// The code point after the last one of each UTF-8 length (1 to 4 bytes).
const LENGTH_CLASS_ENDS: [u32; 4] = [0x80, 0x800, 0x1_0000, 0x11_0000];
const SURROGATES: std::ops::RangeInclusive<u32> = 0xD800..=0xDFFF;

/// A key strictly between `after` (empty: before every key) and `before` (none: the end of the key
/// space), near the middle of what lies between them, valid UTF-8 and at most [`MAX_KEY_BYTES`]
/// long. `None` when there is no such key (the two are adjacent, or out of order) or either is not
/// UTF-8. Towards an open end, the middle is that of the rest of the length class the key is in (the
/// rest of ASCII after an ASCII character): keys are mostly short characters, and a probe finds what
/// lies beyond.
pub fn key_between(after: &[u8], before: Option<&[u8]>) -> Option<Vec<u8>> {
    key_between_within(after, before, &Alphabet::default())
}

/// The code points keys have been seen to hold at each position (the first [`ALPHABET_PLACES`]):
/// the lowest and the highest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Alphabet {
    places: Vec<(u32, u32)>,
}

/// Classes of characters a position that holds one of them is taken to hold all of: digits,
/// capitals, small letters.
pub(crate) const CLASSES: [(u32, u32); 3] = [
    ('0' as u32, '9' as u32),
    ('A' as u32, 'Z' as u32),
    ('a' as u32, 'z' as u32),
];

/// Positions an [`Alphabet`] keeps.
pub const ALPHABET_PLACES: usize = 64;

impl Alphabet {
    /// Takes in the characters of `key` (nothing if it is not UTF-8).
    pub fn learn(&mut self, key: &[u8]) {
        let Ok(key) = std::str::from_utf8(key) else {
            return;
        };
        for (i, c) in key.chars().take(ALPHABET_PLACES).enumerate() {
            let c = u32::from(c);
            match self.places.get_mut(i) {
                Some((lo, hi)) => {
                    *lo = (*lo).min(c);
                    *hi = (*hi).max(c);
                }
                None => self.places.push((c, c)),
            }
        }
    }

    /// The alphabet with each position's range widened to whole classes of characters: a position
    /// seen to hold `0` and `3` may hold any digit (a key not listed yet), `c` any lower-case letter.
    pub fn widened(&self) -> Alphabet {
        let class = |c: u32| {
            CLASSES
                .into_iter()
                .find(|&(lo, hi)| (lo..=hi).contains(&c))
                .unwrap_or((c, c))
        };
        Alphabet {
            places: self
                .places
                .iter()
                .map(|&(lo, hi)| (class(lo).0, class(hi).1))
                .collect(),
        }
    }

    fn at(&self, i: usize) -> Option<(u32, u32)> {
        self.places.get(i).copied()
    }
}

/// [`key_between`], but where nothing bounds the key at a position, the middle is taken within the
/// characters `alphabet` saw there (a bucket of `obj0042`-like keys is split between digits, not in
/// the empty space past `9`), and a position where `after` is already at the top is stepped past.
pub fn key_between_within(
    after: &[u8],
    before: Option<&[u8]>,
    alphabet: &Alphabet,
) -> Option<Vec<u8>> {
    let a: Vec<u32> = std::str::from_utf8(after)
        .ok()?
        .chars()
        .map(u32::from)
        .collect();
    let b: Option<Vec<u32>> = match before {
        Some(b) => Some(
            std::str::from_utf8(b)
                .ok()?
                .chars()
                .map(u32::from)
                .collect(),
        ),
        None => None,
    };
    if b.as_deref().is_some_and(|b| b <= a.as_slice()) {
        return None;
    }
    let mut out = String::new();
    // While `out` is what `before` starts with, `before` bounds the key; past that, nothing does.
    let mut bounded = b.is_some();
    for i in 0.. {
        let ca = a.get(i).copied();
        let cb = match (&b, bounded) {
            // `out` is all of `before`: nothing from here sorts below it.
            (Some(b), true) => Some(*b.get(i)?),
            _ => None,
        };
        let mut low = ca.map_or(-1, i64::from);
        let high = match (cb, alphabet.at(i)) {
            (Some(cb), _) => i64::from(cb),
            (None, Some((lo, hi))) => {
                low = low.max(i64::from(lo) - 1);
                i64::from(hi) + 1
            }
            (None, None) => open_end(ca.unwrap_or(0)),
        };
        if let Some(m) = code_point_between(low, high) {
            out.push(m);
            break;
        }
        match ca {
            // `after` ended, and `before` goes on with a NUL (nothing else leaves no room): `out` and
            // a NUL sort after `after`, and before `before` if it has more.
            None => {
                out.push('\0');
                let longer = b.as_ref().is_some_and(|b| b.len() > i + 1);
                if !longer {
                    return None;
                }
                break;
            }
            // No room at this position: `after`'s character, and one further.
            Some(c) => {
                out.push(char::from_u32(c)?);
                if cb != Some(c) {
                    bounded = false;
                }
            }
        }
        if out.len() > MAX_KEY_BYTES {
            return None;
        }
    }
    let key = out.into_bytes();
    (key.len() <= MAX_KEY_BYTES).then_some(key)
}

/// For each prefix of `key` (longest last): the key one code point past it at its last character,
/// which sorts after every key that starts with that prefix. A LIST after each, farthest first,
/// finds where a bucket's keys end in as many round trips as the key has characters, and they can
/// all go at once. Only the first [`ALPHABET_PLACES`] characters count (a server's 1,024-byte keys
/// would otherwise cost a megabyte per call). `None` for bytes that are not UTF-8.
pub fn keys_past_prefixes(key: &[u8]) -> Option<Vec<Vec<u8>>> {
    let key = std::str::from_utf8(key).ok()?;
    let mut out = Vec::new();
    for (i, c) in key.char_indices().take(ALPHABET_PLACES) {
        let next = (u32::from(c) + 1..=0x10_FFFF).find_map(char::from_u32);
        if let Some(next) = next {
            let mut k = key.as_bytes()[..i].to_vec();
            let mut buf = [0; 4];
            k.extend_from_slice(next.encode_utf8(&mut buf).as_bytes());
            out.push(k);
        }
    }
    Some(out)
}

/// How many times the stretch of key space from `first` to `last` (a page's first and last keys)
/// fits between `last` and `end`: about how many more such pages lie before `end`, if the keys go on
/// as densely. Infinite when the page spans nothing.
pub fn pages_to(first: &[u8], last: &[u8], end: &[u8], alphabet: &Alphabet) -> f64 {
    span_ratio((last, end), (first, last), alphabet)
}

/// How many times the stretch of key space `unit` fits into the stretch `span` (each a pair of keys,
/// lower first). Keys are read as fractions past what all four share, each position in the base of
/// the characters `alphabet` saw there (digits in base 10). Infinite when `unit` spans nothing.
pub fn span_ratio(span: (&[u8], &[u8]), unit: (&[u8], &[u8]), alphabet: &Alphabet) -> f64 {
    ratio_of(span, unit, |k, shared| {
        let (mut value, mut scale) = (0.0, 1.0);
        for (i, &c) in k.iter().enumerate().skip(shared).take(12) {
            let (lo, hi) = alphabet.at(i).unwrap_or((0, 0x10_FFFF));
            // One more place than the alphabet holds: past its top.
            let base = f64::from(hi.saturating_sub(lo)) + 2.0;
            let digit = f64::from(c.clamp(lo, hi + 1) - lo);
            scale /= base;
            value += digit * scale;
        }
        value
    })
}

/// The ratio of two stretches of key space, each key read as a number by `at` (its code points, and
/// how many of them all four keys share). Infinite when `unit` spans nothing.
pub(crate) fn ratio_of(
    span: (&[u8], &[u8]),
    unit: (&[u8], &[u8]),
    at: impl Fn(&[u32], usize) -> f64,
) -> f64 {
    let chars =
        |k: &[u8]| -> Vec<u32> { String::from_utf8_lossy(k).chars().map(u32::from).collect() };
    let keys = [chars(span.0), chars(span.1), chars(unit.0), chars(unit.1)];
    let shared = (0..)
        .take_while(|&i| {
            let c = keys[0].get(i);
            c.is_some() && keys[1..].iter().all(|k| k.get(i) == c)
        })
        .count();
    let unit = at(&keys[3], shared) - at(&keys[2], shared);
    if unit <= 0.0 {
        return f64::INFINITY;
    }
    ((at(&keys[1], shared) - at(&keys[0], shared)) / unit).max(0.0)
}

/// Where the middle is taken towards an open end, after the character `c`: the end of its length class.
fn open_end(c: u32) -> i64 {
    let end = LENGTH_CLASS_ENDS
        .into_iter()
        .find(|&end| c + 1 < end)
        .unwrap_or(0x11_0000);
    i64::from(end)
}

/// A code point strictly between `low` (-1: none) and `high`, near their middle, not a surrogate.
fn code_point_between(low: i64, high: i64) -> Option<char> {
    if high - low < 2 {
        return None;
    }
    let mid = (low + high) / 2;
    let mid = if SURROGATES.contains(&(mid as u32)) {
        if i64::from(*SURROGATES.end()) + 1 < high {
            i64::from(*SURROGATES.end()) + 1
        } else if i64::from(*SURROGATES.start()) - 1 > low {
            i64::from(*SURROGATES.start()) - 1
        } else {
            return None;
        }
    } else {
        mid
    };
    char::from_u32(mid as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn between(a: &str, b: Option<&str>) -> Option<String> {
        key_between(a.as_bytes(), b.map(str::as_bytes)).map(|k| String::from_utf8(k).unwrap())
    }

    #[test]
    fn the_middle_of_two_keys_by_their_first_difference() {
        assert_eq!(between("a", Some("c")).as_deref(), Some("b"));
        assert_eq!(between("obj0", Some("obj8")).as_deref(), Some("obj4"));
        // Adjacent characters: one further, after `after`'s own.
        assert_eq!(between("a", Some("b")).as_deref(), Some("a?"));
        assert_eq!(between("az", Some("b")).as_deref(), Some("a}"));
    }

    #[test]
    fn towards_an_open_end_the_rest_of_the_length_class_is_halved() {
        assert_eq!(between("", None).as_deref(), Some("?"));
        assert_eq!(between("obj5", None).as_deref(), Some("w"));
        assert_eq!(between("\u{7f}", None).as_deref(), Some("\u{43f}"));
        assert_eq!(between("é", None).as_deref(), Some("\u{474}"));
    }

    #[test]
    fn no_key_between_adjacent_or_misordered_keys_or_bytes_that_are_not_utf8() {
        assert_eq!(between("a", Some("a")), None);
        assert_eq!(between("b", Some("a")), None);
        assert_eq!(between("a", Some("a\0")), None);
        assert_eq!(between("a", Some("a\0\0")).as_deref(), Some("a\0"));
        assert_eq!(between("", Some("\0")), None);
        assert_eq!(key_between(b"\xff", None), None);
        assert_eq!(key_between(b"a", Some(b"\xc3")), None);
    }

    #[test]
    fn surrogates_are_stepped_over() {
        let k = between("\u{d000}", Some("\u{e800}")).unwrap();
        let c = k.chars().next().unwrap() as u32;
        assert!(!SURROGATES.contains(&c), "{c:x}");
        assert_eq!(
            between("\u{d7ff}", Some("\u{e000}")).as_deref(),
            Some("\u{d7ff}?")
        );
    }

    #[test]
    fn any_two_keys_get_one_strictly_between_them_in_byte_order() {
        // Keys from a small alphabet with neighbours, multi-byte characters and NUL.
        let alphabet = [
            '\0',
            'a',
            'b',
            'z',
            '\u{7f}',
            '\u{80}',
            'é',
            '\u{d7ff}',
            '\u{e000}',
            '\u{10ffff}',
        ];
        let mut x: u64 = 7;
        let mut next = move |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        };
        for _ in 0..20_000 {
            let mut key = || -> String {
                (0..next(5))
                    .map(|_| alphabet[next(alphabet.len())])
                    .collect()
            };
            let (mut a, mut b) = (key(), key());
            if a > b {
                std::mem::swap(&mut a, &mut b);
            }
            let open = next(4) == 0;
            let b = (!open).then_some(b);
            match key_between(a.as_bytes(), b.as_deref().map(str::as_bytes)) {
                Some(m) => {
                    assert!(std::str::from_utf8(&m).is_ok());
                    assert!(m.as_slice() > a.as_bytes(), "{a:?} {b:?} {m:?}");
                    if let Some(b) = &b {
                        assert!(m.as_slice() < b.as_bytes(), "{a:?} {b:?} {m:?}");
                    }
                }
                None => {
                    // Only where nothing fits: equal keys, or `b` is `a` and a NUL.
                    let b = b.expect("an open end always has room");
                    assert!(b == a || b == format!("{a}\0"), "{a:?} {b:?}");
                }
            }
        }
    }

    #[test]
    fn a_long_key_that_leaves_no_room_within_the_limit_gets_none() {
        let a = "a".repeat(MAX_KEY_BYTES);
        let b = format!("{a}\0\0");
        // Between them lies only `a` + NUL (+ more NULs), all longer than the limit allows.
        assert_eq!(between(&a, Some(&b)), None);
        let m = between(&a[..10], Some(&a[..11])).unwrap();
        assert_eq!(m, format!("{}0", &a[..10]));
    }

    #[test]
    fn a_range_splits_at_a_key_it_contains() {
        let r = KeyRange {
            start_after: Some(b"b".to_vec()),
            last: Some(b"m".to_vec()),
        };
        assert!(r.contains(b"c") && r.contains(b"m") && !r.contains(b"b") && !r.contains(b"n"));
        let (left, right) = r.split_at(b"g").unwrap();
        assert_eq!(left.last.as_deref(), Some(&b"g"[..]));
        assert_eq!(right.start_after.as_deref(), Some(&b"g"[..]));
        assert!(left.contains(b"g") && !right.contains(b"g") && right.contains(b"h"));
        assert_eq!(r.split_at(b"m"), None);
        assert_eq!(r.split_at(b"a"), None);
        assert!(KeyRange::all().contains(b""));
    }

    fn entry(key: &str, other: Option<&str>, reading: crate::core::list::KeyReading) -> ListEntry {
        ListEntry {
            key: key.as_bytes().to_vec(),
            other_reading: other.map(|o| o.as_bytes().to_vec()),
            reading,
            ..Default::default()
        }
    }

    #[test]
    fn a_boundary_admits_what_comes_before_the_first_entry_after_it() {
        use crate::core::list::KeyReading::{AsSent, Decoded, Plain};
        let open = Boundary {
            key: b"m".to_vec(),
            first_after: None,
        };
        assert!(open.admits(&entry("l", None, Plain)) && open.admits(&entry("m", None, Plain)));
        assert!(!open.admits(&entry("m0", None, Plain)));
        // Readings on both sides of the key: either may be the key.
        assert!(open.admits(&entry("n", Some("l"), AsSent)));
        // The first entry listed after the key is not admitted, whatever its readings.
        let known = Boundary {
            key: b"a+b".to_vec(),
            first_after: Some(b"a%2Bc".to_vec()),
        };
        assert!(!known.admits(&entry("a+c", Some("a%2Bc"), Decoded)));
        assert!(known.admits(&entry("a b", Some("a+b"), Decoded)));
    }

    #[test]
    fn keys_past_each_prefix_of_a_key_sort_after_everything_under_it() {
        let past = keys_past_prefixes("ob\u{d7ff}9".as_bytes()).unwrap();
        let past: Vec<String> = past
            .into_iter()
            .map(|k| String::from_utf8(k).unwrap())
            .collect();
        assert_eq!(past, ["p", "oc", "ob\u{e000}", "ob\u{d7ff}:"]);
        assert_eq!(
            keys_past_prefixes("\u{10ffff}a".as_bytes()).unwrap(),
            [b"\xf4\x8f\xbf\xbfb".to_vec()]
        );
        assert_eq!(keys_past_prefixes(b"\xff"), None);
        let long = keys_past_prefixes("é".repeat(512).as_bytes()).unwrap();
        assert_eq!(long.len(), ALPHABET_PLACES);
        assert!(long.iter().all(|k| k.len() <= 2 * ALPHABET_PLACES));
    }

    #[test]
    fn pages_to_an_end_are_counted_in_key_space() {
        let mut digits = Alphabet::default();
        digits.learn(b"obj00000000");
        digits.learn(b"obj99999999");
        let n = pages_to(b"obj00000000", b"obj00000999", b"obj00010000", &digits);
        assert!((8.0..12.0).contains(&n), "{n}");
        let none = Alphabet::default();
        assert!(pages_to(b"a", b"a", b"b", &none).is_infinite());
        assert!(pages_to(b"k1", b"k2", b"k2\0", &none) < 0.01);
    }

    #[test]
    fn the_middle_is_taken_within_the_characters_keys_have() {
        let mut digits = Alphabet::default();
        digits.learn(b"obj00000000");
        digits.learn(b"obj19999999");
        let within = |a: &str, b: Option<&str>| {
            key_between_within(a.as_bytes(), b.map(str::as_bytes), &digits)
                .map(|k| String::from_utf8(k).unwrap())
        };
        assert_eq!(
            within("obj00001499", Some("obj00002")).as_deref(),
            Some("obj000017")
        );
        assert_eq!(within("obj0", None).as_deref(), Some("obj1"));
        let m = within("obj00001999", Some("obj00002")).unwrap();
        assert!(m.as_str() > "obj00001999" && m.as_str() < "obj00002", "{m}");
        // Where the alphabet leaves no room, the key still lies strictly between.
        let m = within("obj99999999", None).unwrap();
        assert!(m.as_str() > "obj99999999", "{m}");
    }
}
