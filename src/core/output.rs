//! The output encoders: one record (one object) → one line, appended to a buffer so that lines are
//! written whole. Every encoder escapes what it prints (keys, metadata, ETags and times all come from
//! the server) and parses back to the exact bytes (see [`super::escape`] for the escapes).
//!
//! - `jsonl`: `{"key":…,"size":…,"last_modified":…,"etag":…,"metadata":{…}}`. Bytes that are not UTF-8
//!   appear as U+FFFD in `key`/`metadata` and exactly, base64-encoded, in `key_base64`/`metadata_base64`.
//! - `text`: `KEY<TAB>name=value;name=value`, with `\\`, tab, CR, LF, `;`, `=` and every control or
//!   invisible character escaped (`\\`, `\t`, `\r`, `\n`, `\;`, `\=`, `\xHH`, `\u{HHHH}`).
//! - `csv`: RFC 4180, `key,size,last_modified,etag,metadata`, CRLF line ends. Key, time and ETag are
//!   escaped like the text format (minus `;`/`=`), so no control character reaches a terminal, and a
//!   field that would start with `=`, `+`, `-` or `@` (a spreadsheet formula) starts with that
//!   character's `\xHH` escape instead; metadata is the JSON object of the `jsonl` format.

use super::base64;
use super::escape::{push_escaped_text, push_json_string};
use super::metadata::ObjectMetadata;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jsonl,
    Text,
    Csv,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "jsonl" | "json" => Some(Format::Jsonl),
            "text" | "tsv" => Some(Format::Text),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }

    /// Its name, as `--format` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Text => "text",
            Format::Csv => "csv",
        }
    }

    /// The line that starts the output, if the format has one.
    pub fn header(self) -> Option<&'static str> {
        match self {
            Format::Csv => Some("key,size,last_modified,etag,metadata\r\n"),
            _ => None,
        }
    }
}

/// One object as printed: listing fields plus the metadata from its HEAD.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    pub key: &'a [u8],
    pub size: Option<u64>,
    pub last_modified: Option<&'a str>,
    pub etag: Option<&'a str>,
    pub metadata: &'a ObjectMetadata,
}

/// An ETag without the quotes S3 wraps it in.
fn bare_etag(etag: &str) -> &str {
    etag.strip_prefix('"')
        .and_then(|e| e.strip_suffix('"'))
        .unwrap_or(etag)
}

/// Appends one record, newline included.
pub fn encode(format: Format, record: &Record<'_>, out: &mut Vec<u8>) {
    match format {
        Format::Jsonl => encode_jsonl(record, out),
        Format::Text => encode_text(record, out),
        Format::Csv => encode_csv(record, out),
    }
}

fn push_u64(out: &mut Vec<u8>, n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

fn push_json_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => push_json_string(out, s.as_bytes()),
        None => out.extend_from_slice(b"null"),
    }
}

/// The metadata as a JSON object `{"name":"value",…}`.
fn push_json_metadata(out: &mut Vec<u8>, meta: &ObjectMetadata) {
    out.push(b'{');
    for (i, (name, value)) in meta.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_json_string(out, name.as_bytes());
        out.push(b':');
        push_json_string(out, value);
    }
    out.push(b'}');
}

fn encode_jsonl(r: &Record<'_>, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"key\":");
    push_json_string(out, r.key);
    if std::str::from_utf8(r.key).is_err() {
        out.extend_from_slice(b",\"key_base64\":\"");
        out.extend_from_slice(base64::encode(r.key).as_bytes());
        out.push(b'"');
    }
    out.extend_from_slice(b",\"size\":");
    match r.size {
        Some(n) => push_u64(out, n),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"last_modified\":");
    push_json_opt_str(out, r.last_modified);
    out.extend_from_slice(b",\"etag\":");
    push_json_opt_str(out, r.etag.map(bare_etag));
    out.extend_from_slice(b",\"metadata\":");
    push_json_metadata(out, r.metadata);
    let mut binary = r
        .metadata
        .iter()
        .filter(|(_, v)| std::str::from_utf8(v).is_err())
        .peekable();
    if binary.peek().is_some() {
        out.extend_from_slice(b",\"metadata_base64\":{");
        for (i, (name, value)) in binary.enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_json_string(out, name.as_bytes());
            out.extend_from_slice(b":\"");
            out.extend_from_slice(base64::encode(value).as_bytes());
            out.push(b'"');
        }
        out.push(b'}');
    }
    if let Some(n) = r.metadata.missing {
        out.extend_from_slice(b",\"missing_meta\":");
        push_u64(out, n);
    }
    out.extend_from_slice(b"}\n");
}

fn encode_text(r: &Record<'_>, out: &mut Vec<u8>) {
    push_escaped_text(out, r.key, true);
    out.push(b'\t');
    for (i, (name, value)) in r.metadata.iter().enumerate() {
        if i > 0 {
            out.push(b';');
        }
        push_escaped_text(out, name.as_bytes(), true);
        out.push(b'=');
        push_escaped_text(out, value, true);
    }
    out.push(b'\n');
}

/// Appends an RFC 4180 field, quoted (quotes doubled) when it holds a comma, quote, CR or LF.
fn push_csv_field(out: &mut Vec<u8>, field: &[u8]) {
    if field
        .iter()
        .any(|&b| matches!(b, b',' | b'"' | b'\r' | b'\n'))
    {
        out.push(b'"');
        for &b in field {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(field);
    }
}

/// Appends a text field of the CSV format: escaped like `text` (no `;`/`=` escapes), and never starting
/// with a character a spreadsheet reads as the start of a formula.
fn push_csv_text(out: &mut Vec<u8>, scratch: &mut Vec<u8>, text: &[u8]) {
    scratch.clear();
    push_escaped_text(scratch, text, false);
    if let Some(&first @ (b'=' | b'+' | b'-' | b'@')) = scratch.first() {
        let mut neutral = Vec::with_capacity(scratch.len() + 3);
        let _ = std::io::Write::write_fmt(&mut neutral, format_args!("\\x{first:02X}"));
        neutral.extend_from_slice(&scratch[1..]);
        *scratch = neutral;
    }
    push_csv_field(out, scratch);
}

fn encode_csv(r: &Record<'_>, out: &mut Vec<u8>) {
    let mut scratch = Vec::with_capacity(r.key.len() + 16);
    push_csv_text(out, &mut scratch, r.key);
    out.push(b',');
    if let Some(n) = r.size {
        push_u64(out, n);
    }
    out.push(b',');
    push_csv_text(out, &mut scratch, r.last_modified.unwrap_or("").as_bytes());
    out.push(b',');
    push_csv_text(
        out,
        &mut scratch,
        r.etag.map(bare_etag).unwrap_or("").as_bytes(),
    );
    out.push(b',');
    scratch.clear();
    push_json_metadata(&mut scratch, r.metadata);
    push_csv_field(out, &scratch);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::escape::{split_unescaped, unescape_text};

    fn meta(entries: &[(&str, &[u8])], missing: Option<u64>) -> ObjectMetadata {
        let mut m = ObjectMetadata::from_entries(entries.iter().copied());
        m.missing = missing;
        m
    }

    fn line(format: Format, key: &[u8], m: &ObjectMetadata) -> String {
        let mut out = Vec::new();
        let r = Record {
            key,
            size: Some(123),
            last_modified: Some("2026-11-20T10:00:00.000Z"),
            etag: Some("\"9b2c\""),
            metadata: m,
        };
        encode(format, &r, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn jsonl_matches_the_documented_shape() {
        let m = meta(&[("owner", b"ann"), ("team", b"x")], None);
        assert_eq!(
            line(Format::Jsonl, b"a/b.txt", &m),
            "{\"key\":\"a/b.txt\",\"size\":123,\"last_modified\":\"2026-11-20T10:00:00.000Z\",\"etag\":\"9b2c\",\"metadata\":{\"owner\":\"ann\",\"team\":\"x\"}}\n"
        );
    }

    #[test]
    fn jsonl_escapes_and_keeps_binary_losslessly() {
        let m = meta(&[("v", b"\xff\x1b\"")], Some(2));
        let s = line(Format::Jsonl, b"k\n\x1b\x7f\xc2\x85\xe2\x80\xa8\xfe", &m);
        assert_eq!(
            s,
            "{\"key\":\"k\\n\\u001b\\u007f\\u0085\\u2028\u{FFFD}\",\"key_base64\":\"awobf8KF4oCo/g==\",\"size\":123,\"last_modified\":\"2026-11-20T10:00:00.000Z\",\"etag\":\"9b2c\",\"metadata\":{\"v\":\"\u{FFFD}\\u001b\\\"\"},\"metadata_base64\":{\"v\":\"/xsi\"},\"missing_meta\":2}\n"
        );
    }

    #[test]
    fn text_escapes_round_trip() {
        let key: &[u8] = b"a\tb;c=d\\e\nf\x01\xc2\x85\xff";
        let m = meta(&[("n;=", b"v\t=;\\")], None);
        let s = line(Format::Text, key, &m);
        assert_eq!(
            s,
            "a\\tb\\;c\\=d\\\\e\\nf\\x01\\u{0085}\\xFF\tn\\;\\==v\\t\\=\\;\\\\\n"
        );
        let (k, rest) = s.trim_end_matches('\n').split_once('\t').unwrap();
        assert_eq!(unescape_text(k.as_bytes()).unwrap(), key);
        let (n, v) = rest
            .split_once("\\==")
            .map(|(n, v)| (format!("{n}\\="), v))
            .unwrap();
        assert_eq!(unescape_text(n.as_bytes()).unwrap(), b"n;=");
        assert_eq!(unescape_text(v.as_bytes()).unwrap(), b"v\t=;\\");
    }

    #[test]
    fn csv_quotes_per_rfc4180() {
        let m = meta(&[("a", b"x,\"y\"")], None);
        assert_eq!(
            line(Format::Csv, b"k,\"1\"\n", &m),
            "\"k,\"\"1\"\"\\n\",123,2026-11-20T10:00:00.000Z,9b2c,\"{\"\"a\"\":\"\"x,\\\"\"y\\\"\"\"\"}\"\r\n"
        );
        assert_eq!(
            line(Format::Csv, b"plain", &meta(&[], None)),
            "plain,123,2026-11-20T10:00:00.000Z,9b2c,{}\r\n"
        );
    }

    #[test]
    fn csv_neutralises_formulas_and_escapes_server_fields() {
        let m = meta(&[], None);
        let r = Record {
            key: b"=HYPERLINK(\"x\")",
            size: None,
            last_modified: Some("\x1b[2J\r\n2026"),
            etag: Some("@SUM(1+1)"),
            metadata: &m,
        };
        let mut out = Vec::new();
        encode(Format::Csv, &r, &mut out);
        let line = String::from_utf8(out).unwrap();
        assert_eq!(
            line,
            "\"\\x3DHYPERLINK(\"\"x\"\")\",,\\x1B[2J\\r\\n2026,\\x40SUM(1+1),{}\r\n"
        );
        for lead in [b'+', b'-'] {
            let key = [lead, b'1'];
            let r = Record { key: &key, ..r };
            let mut out = Vec::new();
            encode(Format::Csv, &r, &mut out);
            assert!(out.starts_with(format!("\\x{lead:02X}1,").as_bytes()));
        }
    }

    /// A small xorshift generator for the round-trip properties below.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        /// Bytes biased towards the ones that need escaping.
        fn bytes(&mut self, max: usize) -> Vec<u8> {
            const SPECIAL: &[u8] = b"\\\t\r\n;=,\"'@+-%&<>\x00\x1b\x7f";
            let n = (self.next() % (max as u64 + 1)) as usize;
            let mut out = Vec::with_capacity(n);
            while out.len() < n {
                match self.next() % 6 {
                    0 => out.push(SPECIAL[(self.next() % SPECIAL.len() as u64) as usize]),
                    1 => out.push((self.next() % 256) as u8),
                    2 => {
                        let c = [
                            '\u{85}', '\u{202E}', '\u{FEFF}', 'ö', '日', '🐱', '\u{2028}',
                        ][(self.next() % 7) as usize];
                        out.extend_from_slice(c.to_string().as_bytes());
                    }
                    _ => out.push(b'a' + (self.next() % 26) as u8),
                }
            }
            out
        }
    }

    /// RFC 4180 fields of one record (CRLF already removed).
    fn csv_fields(line: &[u8]) -> Vec<Vec<u8>> {
        let (mut fields, mut field, mut i, mut quoted) = (Vec::new(), Vec::new(), 0, false);
        while i < line.len() {
            let b = line[i];
            match (quoted, b) {
                (false, b'"') if field.is_empty() => quoted = true,
                (true, b'"') if line.get(i + 1) == Some(&b'"') => {
                    field.push(b'"');
                    i += 1;
                }
                (true, b'"') => quoted = false,
                (false, b',') => fields.push(std::mem::take(&mut field)),
                _ => field.push(b),
            }
            i += 1;
        }
        fields.push(field);
        fields
    }

    #[test]
    fn text_and_csv_parse_back_to_the_exact_bytes() {
        let mut rng = Rng(0x5eed_1234_abcd_0001);
        for _ in 0..3000 {
            let key = rng.bytes(40);
            let entries: Vec<(String, Vec<u8>)> = (0..rng.next() % 4)
                .map(|i| {
                    let name = format!("{}{i}", String::from_utf8_lossy(&rng.bytes(8)));
                    (name, rng.bytes(20))
                })
                .collect();
            let m = ObjectMetadata::from_entries(
                entries.iter().map(|(n, v)| (n.as_str(), v.as_slice())),
            );
            let time = String::from_utf8_lossy(&rng.bytes(12)).into_owned();
            let etag = String::from_utf8_lossy(&rng.bytes(12)).into_owned();
            let r = Record {
                key: &key,
                size: Some(rng.next()),
                last_modified: Some(&time),
                etag: Some(&etag),
                metadata: &m,
            };

            let mut out = Vec::new();
            encode(Format::Text, &r, &mut out);
            assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
            let shown = String::from_utf8(out.clone())
                .unwrap()
                .replace(['\t', '\n'], " ");
            let bad: Vec<char> = shown
                .chars()
                .filter(|&c| !crate::core::escape::is_terminal_safe(&c.to_string()))
                .collect();
            assert!(bad.is_empty(), "{shown}: {bad:?}");
            let line = &out[..out.len() - 1];
            let (k, pairs) = line.split_at(line.iter().position(|&b| b == b'\t').unwrap());
            assert_eq!(unescape_text(k).unwrap(), key);
            let pairs = &pairs[1..];
            let parsed: Vec<(Vec<u8>, Vec<u8>)> = if pairs.is_empty() {
                Vec::new()
            } else {
                split_unescaped(pairs, b';')
                    .into_iter()
                    .map(|p| {
                        let nv = split_unescaped(p, b'=');
                        assert_eq!(nv.len(), 2, "{}", String::from_utf8_lossy(p));
                        (unescape_text(nv[0]).unwrap(), unescape_text(nv[1]).unwrap())
                    })
                    .collect()
            };
            let expected: Vec<(Vec<u8>, Vec<u8>)> = m
                .iter()
                .map(|(n, v)| (n.as_bytes().to_vec(), v.to_vec()))
                .collect();
            assert_eq!(parsed, expected);

            let mut out = Vec::new();
            encode(Format::Csv, &r, &mut out);
            assert!(out.ends_with(b"\r\n"));
            let fields = csv_fields(&out[..out.len() - 2]);
            assert_eq!(fields.len(), 5, "{}", String::from_utf8_lossy(&out));
            for (field, original) in [
                (&fields[0], &key[..]),
                (&fields[2], time.as_bytes()),
                (&fields[3], bare_etag(&etag).as_bytes()),
            ] {
                assert!(!matches!(field.first(), Some(b'=' | b'+' | b'-' | b'@')));
                assert_eq!(unescape_text(field).unwrap(), original);
            }
            assert_eq!(fields[1], r.size.unwrap().to_string().as_bytes());
            let json: serde_json::Value = serde_json::from_slice(&fields[4]).unwrap();
            let obj = json.as_object().unwrap();
            assert_eq!(obj.len(), m.len());
            for (n, v) in m.iter() {
                assert_eq!(obj[n], String::from_utf8_lossy(v).as_ref());
            }
        }
    }
}
