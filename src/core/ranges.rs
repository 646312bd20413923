//! Key-space arithmetic for listing one bucket in parallel: ranges of keys in S3's order, and a key
//! between two others to split a range at.
//!
//! S3 lists keys in the order of their UTF-8 bytes, which is the order of their code points, so the
//! arithmetic here is on code points: every key it makes is valid UTF-8 (a `start-after` a server
//! takes) and sorts where the bytes say.

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
        let low = ca.map_or(-1, i64::from);
        let high = cb.map_or_else(|| open_end(ca.unwrap_or(0)), i64::from);
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
}
