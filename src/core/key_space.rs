//! Keys read as numbers, to compare stretches of the key space: each position a digit in the base of
//! the characters keys were seen to hold there, widened to whole classes (a position seen to hold `3`
//! and `7` holds any digit; one seen to hold digits and `/` holds the ten digits and `/`, not the
//! punctuation between them). The planner estimates how many keys lie in a gap with it.

use std::collections::BTreeSet;

use super::ranges::{ratio_of, CLASSES};

/// Positions read (the first of a key's characters past what the compared keys share).
const PLACES: usize = 12;
/// Positions learned.
const LEARNED: usize = 64;
/// Characters outside the classes kept per position; past this, the position holds every code point
/// between its lowest and highest.
const OTHERS: usize = 64;

#[derive(Debug, Clone, Default)]
struct Place {
    classes: [bool; 3],
    others: BTreeSet<u32>,
    lowest: u32,
    highest: u32,
    /// What [`Place::intervals`] gives, kept: keys are read far more often than a place changes.
    held: Vec<(u32, u32)>,
    /// How many code points `held` holds.
    size: u64,
}

impl Place {
    fn refresh(&mut self) {
        self.held = self.intervals();
        self.size = self
            .held
            .iter()
            .map(|(lo, hi)| u64::from(hi - lo) + 1)
            .sum();
    }

    /// The code points it holds, as sorted, disjoint intervals.
    fn intervals(&self) -> Vec<(u32, u32)> {
        if self.others.len() > OTHERS {
            return vec![(self.lowest, self.highest)];
        }
        let mut all: Vec<(u32, u32)> = CLASSES
            .iter()
            .zip(self.classes)
            .filter(|(_, seen)| *seen)
            .map(|(c, _)| *c)
            .chain(self.others.iter().map(|&c| (c, c)))
            .collect();
        all.sort_unstable();
        all
    }
}

/// What keys were seen to hold, position by position.
#[derive(Debug, Clone, Default)]
pub struct KeySpace {
    places: Vec<Place>,
}

impl KeySpace {
    /// Takes in the characters of `key` (nothing if it is not UTF-8).
    pub fn learn(&mut self, key: &[u8]) {
        let Ok(key) = std::str::from_utf8(key) else {
            return;
        };
        for (i, c) in key.chars().take(LEARNED).enumerate() {
            let c = u32::from(c);
            if self.places.len() <= i {
                self.places.push(Place {
                    lowest: c,
                    highest: c,
                    ..Place::default()
                });
            }
            let place = &mut self.places[i];
            let before = (
                place.lowest,
                place.highest,
                place.classes,
                place.others.len(),
            );
            place.lowest = place.lowest.min(c);
            place.highest = place.highest.max(c);
            match CLASSES.iter().position(|&(lo, hi)| (lo..=hi).contains(&c)) {
                Some(k) => place.classes[k] = true,
                None if place.others.len() <= OTHERS => {
                    place.others.insert(c);
                }
                None => {}
            }
            let after = (
                place.lowest,
                place.highest,
                place.classes,
                place.others.len(),
            );
            if before != after || place.held.is_empty() {
                place.refresh();
            }
        }
    }

    /// How many times the stretch `unit` fits into the stretch `span` (each a pair of keys, lower
    /// first), reading each key as a fraction past what all four share. Infinite when `unit` spans
    /// nothing at this precision.
    pub fn ratio(&self, span: (&[u8], &[u8]), unit: (&[u8], &[u8])) -> f64 {
        ratio_of(span, unit, |k, shared| {
            let (mut value, mut scale) = (0.0, 1.0);
            for (i, c) in k.iter().enumerate().skip(shared).take(PLACES) {
                const EVERY: (&[(u32, u32)], u64) = (&[(0, 0x10_FFFF)], 0x11_0000);
                let (intervals, size) = self
                    .places
                    .get(i)
                    .map_or(EVERY, |p| (p.held.as_slice(), p.size));
                // The rank of `c` among the characters the position holds; one past its top for a
                // character above them all.
                let mut rank = 0u64;
                for &(lo, hi) in intervals {
                    if *c < lo {
                        break;
                    }
                    rank += u64::from((*c).min(hi) - lo) + u64::from(*c > hi);
                }
                scale /= size as f64;
                value += rank as f64 * scale;
            }
            value
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_mixed_at_a_position_leave_out_what_lies_between_them() {
        let mut space = KeySpace::default();
        for k in ["a/0", "a/9", "b/0", "b/a"] {
            space.learn(k.as_bytes());
        }
        // Past `a/4`, the rest of the `a/` group: the digits 5 to 9, one and a half times the stretch
        // from `a/0` to `a/4` — then the letters after `/` (seen under `b/`), none of the
        // punctuation between `9` and `a`.
        let r = space.ratio((b"a/4", b"a/a"), (b"a/0", b"a/4"));
        assert!((1.49..1.51).contains(&r), "{r}");
        // Digits in base 10.
        let mut space = KeySpace::default();
        for k in ["obj00000", "obj00999", "obj05000"] {
            space.learn(k.as_bytes());
        }
        let r = space.ratio((b"obj00999", b"obj05"), (b"obj00000", b"obj00999"));
        assert!((3.9..4.1).contains(&r), "{r}");
        assert_eq!(space.ratio((b"a", b"b"), (b"x", b"x")), f64::INFINITY);
    }
}
