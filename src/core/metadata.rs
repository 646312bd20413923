//! User metadata from HEAD response headers: `x-amz-meta-*` read as bytes (never `to_str()`), RFC 2047
//! encoded words decoded, `x-amz-missing-meta` kept.

use super::base64;

pub const META_PREFIX: &str = "x-amz-meta-";
pub const MISSING_META: &str = "x-amz-missing-meta";

/// An object's user metadata: names lower-cased without `x-amz-meta-`, sorted; values decoded to bytes
/// (UTF-8 in practice, but a server can send anything, and nothing is dropped).
///
/// Kept in three buffers (names back to back, values back to back, where each ends) rather than a
/// string per name and a vector per value: a server may send hundreds of tiny entries, and each would
/// cost two allocations and their overhead, many times the bytes themselves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectMetadata {
    names: String,
    values: Vec<u8>,
    /// Where each entry's name ends in `names` and its value in `values`.
    ends: Vec<(u32, u32)>,
    /// `x-amz-missing-meta`: how many entries the server could not send as headers.
    pub missing: Option<u64>,
}

impl ObjectMetadata {
    /// Metadata with these entries, in the order given (the caller sorts them).
    pub fn from_entries<'a>(entries: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Self {
        let mut m = ObjectMetadata::default();
        for (name, value) in entries {
            m.names.push_str(name);
            m.values.extend_from_slice(value);
            m.end_entry();
        }
        m
    }

    fn end_entry(&mut self) {
        // A HEAD's headers are bounded far below 4 GiB.
        self.ends
            .push((self.names.len() as u32, self.values.len() as u32));
    }

    /// No entries, and no `x-amz-missing-meta`.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty() && self.missing.is_none()
    }

    /// How many entries.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// The entries, as (name, value), sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        let mut start = (0, 0);
        self.ends.iter().map(move |&(n, v)| {
            let (n, v) = (n as usize, v as usize);
            let entry = (&self.names[start.0..n], &self.values[start.1..v]);
            start = (n, v);
            entry
        })
    }

    /// The value of one entry.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// The bytes it holds on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.names.capacity() + self.values.capacity() + self.ends.capacity() * 8
    }
}

/// An `x-amz-missing-meta` header that is not a whole number (its raw value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadMissingMeta(pub Vec<u8>);

impl std::fmt::Display for BadMissingMeta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{MISSING_META} is not a whole number: \"{}\"",
            super::escape::terminal_text(&self.0, 64)
        )
    }
}

/// Collects metadata from response headers given as (lower-case name, raw value). A name sent twice is
/// combined into one comma-separated value, as S3 itself does. Linear in the headers (after a sort):
/// a server may send hundreds.
pub fn from_headers<'a>(
    headers: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> Result<ObjectMetadata, BadMissingMeta> {
    let mut meta = ObjectMetadata::default();
    let mut found: Vec<(&str, &[u8])> = Vec::new();
    for (name, value) in headers {
        if let Some(short) = name.strip_prefix(META_PREFIX) {
            found.push((short, value));
        } else if name == MISSING_META {
            let text = std::str::from_utf8(value).unwrap_or("").trim();
            let n = text.parse().map_err(|_| BadMissingMeta(value.to_vec()))?;
            meta.missing = Some(n);
        }
    }
    if found.is_empty() {
        return Ok(meta);
    }
    // Stable: values of a repeated name stay in the order they came. Names compare lower-cased.
    fn lower(s: &str) -> impl Iterator<Item = u8> + '_ {
        s.bytes().map(|b| b.to_ascii_lowercase())
    }
    found.sort_by(|a, b| lower(a.0).cmp(lower(b.0)));
    meta.names.reserve(found.iter().map(|(n, _)| n.len()).sum());
    meta.values
        .reserve(found.iter().map(|(_, v)| v.len() + 1).sum());
    let mut previous: Option<&str> = None;
    for (name, value) in found {
        let repeated = previous.is_some_and(|p| p.eq_ignore_ascii_case(name));
        if repeated {
            meta.ends.pop();
            meta.values.push(b',');
        } else {
            meta.names
                .extend(name.chars().map(|c| c.to_ascii_lowercase()));
        }
        decode_rfc2047_into(value, &mut meta.values);
        meta.end_entry();
        previous = Some(name);
    }
    Ok(meta)
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Decodes every RFC 2047 encoded word (`=?charset?B|Q?text?=`) in a header value. Text outside encoded
/// words is kept byte for byte; whitespace between two adjacent encoded words is dropped (RFC 2047 §6.2).
/// A word that is malformed or in a charset we cannot convert is kept as it is. Linear time in the
/// length of the value, and no limit on a word's length (RFC 2047's 75 is not what every server keeps to).
pub fn decode_rfc2047(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    decode_rfc2047_into(raw, &mut out);
    out
}

/// [`decode_rfc2047`], appending to `out`.
pub fn decode_rfc2047_into(raw: &[u8], out: &mut Vec<u8>) {
    if !raw.windows(2).any(|w| w == b"=?") {
        out.extend_from_slice(raw);
        return;
    }
    let mut i = 0;
    let mut after_word = false;
    let mut pending_space: &[u8] = &[];
    while i < raw.len() {
        if raw[i..].starts_with(b"=?") {
            if let Some((decoded, len)) = decode_word(&raw[i..]) {
                if !after_word {
                    out.extend_from_slice(pending_space);
                }
                pending_space = &[];
                out.extend_from_slice(&decoded);
                i += len;
                after_word = true;
                continue;
            }
        }
        if is_space(raw[i]) {
            let start = i;
            while i < raw.len() && is_space(raw[i]) {
                i += 1;
            }
            if after_word {
                pending_space = &raw[start..i];
            } else {
                out.extend_from_slice(&raw[start..i]);
            }
            continue;
        }
        out.extend_from_slice(pending_space);
        pending_space = &[];
        after_word = false;
        out.push(raw[i]);
        i += 1;
    }
    out.extend_from_slice(pending_space);
}

/// Decodes one encoded word at the start of `s`; returns the bytes (as UTF-8) and the length consumed.
fn decode_word(s: &[u8]) -> Option<(Vec<u8>, usize)> {
    let body = &s[2..];
    let q1 = body.iter().position(|&b| b == b'?')?;
    let charset = &body[..q1];
    let rest = &body[q1 + 1..];
    if rest.len() < 2 || rest[1] != b'?' {
        return None;
    }
    let encoding = rest[0].to_ascii_uppercase();
    let text_start = &rest[2..];
    // Encoded text never holds a `?` (RFC 2047 §5), so the word ends at the first one. Looking no
    // further keeps decoding linear: a scan from one `=?` stops before the next word could start.
    let end = text_start.iter().position(|&b| b == b'?')?;
    if text_start.get(end + 1) != Some(&b'=') {
        return None;
    }
    let text = &text_start[..end];
    if charset.is_empty()
        || charset
            .iter()
            .chain(text)
            .any(|&b| is_space(b) || !b.is_ascii_graphic())
    {
        return None;
    }
    let bytes = match encoding {
        b'B' => base64::decode(text)?,
        b'Q' => decode_q(text)?,
        _ => return None,
    };
    // RFC 2231 allows `charset*language`.
    let charset = charset
        .split(|&b| b == b'*')
        .next()
        .unwrap_or(charset)
        .to_ascii_lowercase();
    let utf8 = match charset.as_slice() {
        b"utf-8" | b"utf8" | b"us-ascii" | b"ascii" => bytes,
        b"iso-8859-1" | b"latin1" | b"iso8859-1" | b"latin-1" => bytes
            .iter()
            .map(|&b| b as char)
            .collect::<String>()
            .into_bytes(),
        _ => return None,
    };
    Some((utf8, 2 + q1 + 1 + 2 + end + 2))
}

fn decode_q(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'_' => out.push(b' '),
            b'=' => {
                let hex = text.get(i + 1..i + 3)?;
                let s = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(s, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> String {
        String::from_utf8(decode_rfc2047(s.as_bytes())).unwrap()
    }

    #[test]
    fn worked_examples_from_the_notes() {
        assert_eq!(d("=?UTF-8?B?5pel5pys6Kqe?="), "日本語");
        assert_eq!(d("=?UTF-8?Q?Mini=C3=B6?="), "Miniö");
        assert_eq!(d("=?UTF-8?b?TWluacO2?="), "Miniö");
        assert_eq!(d("=?utf-8?q?a_b?="), "a b");
        assert_eq!(d("plain value"), "plain value");
        assert_eq!(d("=?ISO-8859-1?Q?caf=E9?="), "café");
    }

    #[test]
    fn adjacent_words_join_and_other_text_stays() {
        assert_eq!(
            d("=?UTF-8?B?5pel?= =?UTF-8?B?5pys?=\t=?UTF-8?B?6Kqe?="),
            "日本語"
        );
        assert_eq!(d("a =?UTF-8?Q?b?= c"), "a b c");
        assert_eq!(d("=?UTF-8?Q?x?= y"), "x y");
    }

    #[test]
    fn malformed_words_are_kept_literally() {
        for s in [
            "=?UTF-8?B?***?=",
            "=?UTF-8?X?abc?=",
            "=?UTF-8?Q?abc",
            "=?",
            "=?UTF-8?Q?a=4?=",
            "=?koi8-r?B?abcd?=",
        ] {
            assert_eq!(d(s), s);
        }
    }

    #[test]
    fn invalid_utf8_survives_as_bytes() {
        assert_eq!(decode_rfc2047(b"=?UTF-8?B?/w==?="), vec![0xff]);
        assert_eq!(decode_rfc2047(b"raw\xff"), b"raw\xff".to_vec());
    }

    #[test]
    fn headers_are_collected_sorted_and_combined() {
        let h: Vec<(&str, &[u8])> = vec![
            ("content-type", b"x"),
            ("x-amz-meta-b", b"2"),
            ("x-amz-meta-a", b"=?UTF-8?B?w7Y=?="),
            ("x-amz-meta-b", b"3"),
            ("x-amz-missing-meta", b"2"),
        ];
        let m = from_headers(h).unwrap();
        let entries: Vec<(&str, &[u8])> = m.iter().collect();
        assert_eq!(entries, vec![("a", "ö".as_bytes()), ("b", &b"2,3"[..])]);
        assert_eq!(m.get("b"), Some(&b"2,3"[..]));
        assert_eq!(m.missing, Some(2));
        // Names sent with capitals are the same names.
        let m = from_headers([("x-amz-meta-Case", &b"1"[..]), ("x-amz-meta-case", b"2")]).unwrap();
        assert_eq!(m.iter().collect::<Vec<_>>(), vec![("case", &b"1,2"[..])]);
        assert!(from_headers([("x-amz-missing-meta", &b"x\x1b"[..])])
            .unwrap_err()
            .to_string()
            .contains("x-amz-missing-meta is not a whole number: \"x\\x1B\""));
    }

    #[test]
    fn hostile_values_decode_in_linear_time() {
        // Each of these made the old decoder scan to the end of the value from every `=?`.
        for unit in [&b"=?a?b?x"[..], b"=?UTF-8?Q?", b"=?=?", b"=?UTF-8?B?QUJD"] {
            let value: Vec<u8> = unit.iter().copied().cycle().take(1 << 20).collect();
            // 1 MiB: quadratic work here takes minutes, linear work milliseconds.
            assert_eq!(decode_rfc2047(&value).len(), value.len());
        }
        // Words that close right after one that does not still decode.
        assert_eq!(d("=?a?b?x =?UTF-8?Q?ok?="), "=?a?b?x ok");
    }

    #[test]
    fn thousands_of_headers_are_combined_in_order() {
        let values: Vec<String> = (0..5000).map(|i| i.to_string()).collect();
        let h: Vec<(&str, &[u8])> = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                (
                    if i % 2 == 0 {
                        "x-amz-meta-a"
                    } else {
                        "x-amz-meta-b"
                    },
                    v.as_bytes(),
                )
            })
            .collect();
        let m = from_headers(h).unwrap();
        assert_eq!(m.len(), 2);
        assert!(m.get("a").unwrap().starts_with(b"0,2,4,"));
        assert!(m.get("b").unwrap().starts_with(b"1,3,5,"));
    }
}
