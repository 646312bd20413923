//! The virtual bucket: every object is a pure function of its index, so the simulator can pretend to hold
//! 10^10 objects with no per-object memory. Keys sort in index order, so a listing position is an index
//! and any key or prefix is found by binary search.

use std::fmt::Write as _;

/// How keys are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `obj0000000042`
    Flat,
    /// `d3/d7/obj0000000042`: `depth` levels of `fanout` directories, objects spread evenly over the leaves.
    Tree { fanout: u64, depth: u32 },
}

impl Layout {
    /// `flat` or `tree:FANOUT:DEPTH`.
    pub fn parse(s: &str) -> Result<Layout, String> {
        if s == "flat" {
            return Ok(Layout::Flat);
        }
        let bad = || format!("layout {s:?}: use flat or tree:FANOUT:DEPTH (e.g. tree:10:2)");
        let rest = s.strip_prefix("tree:").ok_or_else(bad)?;
        let (f, d) = rest.split_once(':').ok_or_else(bad)?;
        let fanout: u64 = f.parse().map_err(|_| bad())?;
        let depth: u32 = d.parse().map_err(|_| bad())?;
        if !(2..=1000).contains(&fanout)
            || !(1..=8).contains(&depth)
            || fanout.checked_pow(depth).is_none_or(|n| n > 1 << 40)
        {
            return Err(format!(
                "layout {s:?}: FANOUT must be 2..1000, DEPTH 1..8, FANOUT^DEPTH at most 2^40"
            ));
        }
        Ok(Layout::Tree { fanout, depth })
    }
}

/// As `--layout` takes it.
impl std::fmt::Display for Layout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Layout::Flat => f.write_str("flat"),
            Layout::Tree { fanout, depth } => write!(f, "tree:{fanout}:{depth}"),
        }
    }
}

/// What the objects carry.
#[derive(Debug, Clone)]
pub struct BucketSpec {
    pub objects: u64,
    pub layout: Layout,
    /// Metadata pairs on an object that has metadata.
    pub meta_pairs: u32,
    /// Length of each metadata value.
    pub meta_bytes: u32,
    /// Share of objects with metadata, 0.0 to 1.0.
    pub meta_fraction: f64,
    pub seed: u64,
}

/// SplitMix64: a good, cheap hash of an index.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn digits(mut n: u64) -> usize {
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d
}

/// A bucket of `spec.objects` objects, none of them stored.
#[derive(Debug, Clone)]
pub struct VirtualBucket {
    spec: BucketSpec,
    /// Width of the zero-padded object number.
    width: usize,
    /// Tree layout: objects per leaf directory and the width of a directory number.
    per_leaf: u64,
    dir_width: usize,
}

/// One page of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    pub keys: Vec<(u64, String)>,
    pub common_prefixes: Vec<String>,
    /// The index to resume at, when the listing is truncated.
    pub next: Option<u64>,
}

impl VirtualBucket {
    pub fn new(spec: BucketSpec) -> VirtualBucket {
        let width = digits(spec.objects.saturating_sub(1)).max(6);
        let (per_leaf, dir_width) = match spec.layout {
            Layout::Flat => (spec.objects.max(1), 0),
            Layout::Tree { fanout, depth } => {
                let leaves = fanout.pow(depth);
                (spec.objects.div_ceil(leaves).max(1), digits(fanout - 1))
            }
        };
        VirtualBucket {
            spec,
            width,
            per_leaf,
            dir_width,
        }
    }

    /// The key of object `i`.
    pub fn key(&self, i: u64) -> String {
        let mut k = String::with_capacity(self.width + 16);
        if let Layout::Tree { fanout, depth } = self.spec.layout {
            let leaf = i / self.per_leaf;
            for level in (0..depth).rev() {
                let d = (leaf / fanout.pow(level)) % fanout;
                let _ = write!(k, "d{d:0w$}/", w = self.dir_width);
            }
        }
        let _ = write!(k, "obj{i:0w$}", w = self.width);
        k
    }

    /// The index of `key`, if it names an object of this bucket.
    pub fn index_of(&self, key: &[u8]) -> Option<u64> {
        let start = key.iter().rposition(|&b| b == b'/').map_or(0, |p| p + 1);
        let number = key[start..].strip_prefix(b"obj")?;
        if number.len() != self.width || !number.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let i: u64 = std::str::from_utf8(number).ok()?.parse().ok()?;
        (i < self.spec.objects && self.key(i).as_bytes() == key).then_some(i)
    }

    /// The first index whose key is `>= target` (`len()` if none).
    pub fn first_at_or_after(&self, target: &[u8]) -> u64 {
        let (mut lo, mut hi) = (0, self.spec.objects);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.key(mid).as_bytes() < target {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// One ListObjectsV2 page: from `resume` (a continuation index) or after `start_after`, keys under
    /// `prefix`, rolled up at `delimiter`, at most `max_keys` entries (keys and common prefixes).
    pub fn list(
        &self,
        prefix: &[u8],
        delimiter: &[u8],
        start_after: &[u8],
        resume: Option<u64>,
        max_keys: usize,
    ) -> Listing {
        let mut i = match resume {
            Some(i) => i,
            None => {
                let mut after = start_after.to_vec();
                after.push(0); // the smallest string greater than start_after
                self.first_at_or_after(prefix)
                    .max(if start_after.is_empty() {
                        0
                    } else {
                        self.first_at_or_after(&after)
                    })
            }
        };
        let mut out = Listing::default();
        let n = self.spec.objects;
        while i < n {
            let key = self.key(i);
            if !key.as_bytes().starts_with(prefix) {
                return out;
            }
            if out.keys.len() + out.common_prefixes.len() >= max_keys {
                out.next = Some(i);
                return out;
            }
            let rest = &key.as_bytes()[prefix.len()..];
            match find(rest, delimiter) {
                Some(pos) if !delimiter.is_empty() => {
                    let cp = key[..prefix.len() + pos + delimiter.len()].to_owned();
                    let mut past = cp.clone().into_bytes();
                    past.push(0xFF); // keys are ASCII: this is past every key under cp
                    i = self.first_at_or_after(&past);
                    out.common_prefixes.push(cp);
                }
                _ => {
                    out.keys.push((i, key));
                    i += 1;
                }
            }
        }
        out
    }

    pub fn has_metadata(&self, i: u64) -> bool {
        let r = (mix(i ^ self.spec.seed.rotate_left(17)) >> 11) as f64 / (1u64 << 53) as f64;
        r < self.spec.meta_fraction
    }

    /// Object `i`'s metadata pairs (names without `x-amz-meta-`), appended to `out` as `name`/`value`.
    pub fn for_each_metadata(&self, i: u64, mut f: impl FnMut(&str, &str)) {
        if !self.has_metadata(i) {
            return;
        }
        let mut name = String::with_capacity(8);
        let mut value = String::with_capacity(self.spec.meta_bytes as usize);
        for j in 0..self.spec.meta_pairs {
            name.clear();
            value.clear();
            let _ = write!(name, "m{j}");
            // "i-j-" then letters from a hash, to exactly meta_bytes (ASCII, header-safe).
            let _ = write!(value, "{i}-{j}-");
            let mut h = mix(i.wrapping_mul(31).wrapping_add(j as u64) ^ self.spec.seed);
            while value.len() < self.spec.meta_bytes as usize {
                value.push((b'a' + (h % 26) as u8) as char);
                h = h / 26 + 1;
                if h < 26 {
                    h = mix(h ^ value.len() as u64);
                }
            }
            value.truncate(self.spec.meta_bytes.max(1) as usize);
            f(&name, &value);
        }
    }

    pub fn size(&self, i: u64) -> u64 {
        mix(i ^ self.spec.seed) % (1 << 20)
    }

    /// A 32-hex-digit ETag (without quotes).
    pub fn etag(&self, i: u64) -> String {
        format!(
            "{:016x}{:016x}",
            mix(i ^ 0xE7A6),
            mix(i.wrapping_add(self.spec.seed))
        )
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > haystack.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(n: u64, layout: Layout) -> VirtualBucket {
        VirtualBucket::new(BucketSpec {
            objects: n,
            layout,
            meta_pairs: 3,
            meta_bytes: 12,
            meta_fraction: 0.33,
            seed: 7,
        })
    }

    #[test]
    fn keys_sort_in_index_order_and_parse_back() {
        for b in [
            bucket(12_345, Layout::Flat),
            bucket(
                12_345,
                Layout::Tree {
                    fanout: 7,
                    depth: 3,
                },
            ),
        ] {
            let mut prev = String::new();
            for i in (0..12_345).step_by(7) {
                let k = b.key(i);
                assert!(k > prev, "{k} after {prev}");
                assert_eq!(b.index_of(k.as_bytes()), Some(i));
                prev = k;
            }
            assert_eq!(b.index_of(b"nope"), None);
            assert_eq!(b.index_of(b.key(12_345).as_bytes()), None);
        }
        assert_eq!(
            bucket(
                100,
                Layout::Tree {
                    fanout: 10,
                    depth: 2
                }
            )
            .key(42),
            "d4/d2/obj000042"
        );
        assert_eq!(
            bucket(10_000_000_000, Layout::Flat).key(42),
            "obj0000000042"
        );
    }

    #[test]
    fn listing_pages_prefixes_and_delimiters() {
        let b = bucket(
            1000,
            Layout::Tree {
                fanout: 10,
                depth: 1,
            },
        );
        let page = b.list(b"", b"", b"", None, 300);
        assert_eq!(page.keys.len(), 300);
        assert_eq!(page.next, Some(300));
        let rest = b.list(b"", b"", b"", page.next, 1000);
        assert_eq!(rest.keys.len(), 700);
        assert_eq!(rest.next, None);
        let d3 = b.list(b"d3/", b"", b"", None, 1000);
        assert_eq!(d3.keys.first().unwrap().0, 300);
        assert_eq!(d3.keys.len(), 100);
        let roots = b.list(b"", b"/", b"", None, 1000);
        assert_eq!(
            roots.common_prefixes,
            (0..10).map(|d| format!("d{d}/")).collect::<Vec<_>>()
        );
        assert!(roots.keys.is_empty());
        let roots = b.list(b"", b"/", b"", None, 4);
        assert_eq!(roots.common_prefixes.len(), 4);
        assert_eq!(roots.next, Some(400));
        let after = b.list(b"", b"", b"d0/obj000049", None, 2);
        assert_eq!(after.keys.iter().map(|k| k.0).collect::<Vec<_>>(), [50, 51]);
        assert!(b.list(b"zzz", b"", b"", None, 10).keys.is_empty());
    }

    #[test]
    fn metadata_is_deterministic_and_sized() {
        let b = bucket(3000, Layout::Flat);
        let with: Vec<u64> = (0..3000).filter(|&i| b.has_metadata(i)).collect();
        assert!((900..1100).contains(&with.len()), "{}", with.len());
        let mut pairs = Vec::new();
        b.for_each_metadata(with[0], |n, v| pairs.push((n.to_string(), v.to_string())));
        assert_eq!(pairs.len(), 3);
        assert!(pairs
            .iter()
            .all(|(_, v)| v.len() == 12 && v.bytes().all(|c| c.is_ascii_graphic())));
        let mut again = Vec::new();
        b.for_each_metadata(with[0], |n, v| again.push((n.to_string(), v.to_string())));
        assert_eq!(pairs, again);
        assert!(
            Layout::parse("tree:10:2").is_ok()
                && Layout::parse("tree:1:2").is_err()
                && Layout::parse("x").is_err()
        );
    }
}
