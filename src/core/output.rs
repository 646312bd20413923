//! The output encoders: one record (one object) → one line, appended to a buffer so that lines are
//! written whole. Every encoder escapes what it prints (keys and metadata are untrusted) and parses back.
//!
//! - `jsonl`: `{"key":…,"size":…,"last_modified":…,"etag":…,"metadata":{…}}`. Bytes that are not UTF-8
//!   appear as U+FFFD in `key`/`metadata` and exactly, base64-encoded, in `key_base64`/`metadata_base64`.
//! - `text`: `KEY<TAB>name=value;name=value`, with `\\`, tab, CR, LF, `;`, `=` and every control
//!   character escaped (`\\`, `\t`, `\r`, `\n`, `\;`, `\=`, `\xHH` for a byte, `\u{HHHH}` for a C1 control).
//! - `csv`: RFC 4180, `key,size,last_modified,etag,metadata`, CRLF line ends; the key is escaped like the
//!   text format (minus `;`/`=`) so that no control character reaches a terminal; metadata is a JSON object.

use super::base64;
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

/// Walks `bytes` as runs of plain ASCII (`is_plain`), then single characters, then invalid UTF-8
/// sequences, so that the common case — a plain ASCII key — is copied in one go.
fn walk_text(
    bytes: &[u8],
    is_plain: impl Fn(u8) -> bool,
    out: &mut Vec<u8>,
    mut on_char: impl FnMut(&mut Vec<u8>, char),
    mut on_invalid: impl FnMut(&mut Vec<u8>, &[u8]),
) {
    let mut rest = bytes;
    while !rest.is_empty() {
        let plain = rest
            .iter()
            .position(|&b| !is_plain(b))
            .unwrap_or(rest.len());
        out.extend_from_slice(&rest[..plain]);
        rest = &rest[plain..];
        let Some(chunk) = rest.utf8_chunks().next() else {
            break;
        };
        match chunk.valid().chars().next() {
            Some(c) => {
                on_char(out, c);
                rest = &rest[c.len_utf8()..];
            }
            None => {
                on_invalid(out, chunk.invalid());
                rest = &rest[chunk.invalid().len()..];
            }
        }
    }
}

fn push_char(out: &mut Vec<u8>, c: char) {
    let mut buf = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

/// Appends a JSON string literal. Control characters (C0, DEL, C1) and U+2028/2029 are `\u` escaped;
/// bytes that are not UTF-8 become U+FFFD (callers add the `_base64` twin).
pub fn push_json_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    walk_text(
        bytes,
        |b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\',
        out,
        |out, c| match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = std::io::Write::write_fmt(out, format_args!("\\u{:04x}", c as u32));
            }
            c => push_char(out, c),
        },
        |out, _| out.extend_from_slice("\u{FFFD}".as_bytes()),
    );
    out.push(b'"');
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
    for (i, (name, value)) in meta.entries.iter().enumerate() {
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
        .entries
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

/// Appends `bytes` with backslash escapes: `\\`, `\t`, `\r`, `\n`, `\xHH` for other C0 controls, DEL and
/// bytes that are not UTF-8, `\u{HHHH}` for C1 controls, and `\;`/`\=` when `separators` is set.
pub fn push_escaped_text(out: &mut Vec<u8>, bytes: &[u8], separators: bool) {
    walk_text(
        bytes,
        |b| (0x20..0x7f).contains(&b) && b != b'\\' && !(separators && (b == b';' || b == b'=')),
        out,
        |out, c| match c {
            '\\' => out.extend_from_slice(b"\\\\"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            ';' | '=' => {
                out.push(b'\\');
                out.push(c as u8);
            }
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = std::io::Write::write_fmt(out, format_args!("\\x{:02X}", c as u32));
            }
            c if c.is_control() => {
                let _ = std::io::Write::write_fmt(out, format_args!("\\u{{{:04X}}}", c as u32));
            }
            c => push_char(out, c),
        },
        |out, invalid| {
            for b in invalid {
                let _ = std::io::Write::write_fmt(out, format_args!("\\x{b:02X}"));
            }
        },
    );
}

fn encode_text(r: &Record<'_>, out: &mut Vec<u8>) {
    push_escaped_text(out, r.key, true);
    out.push(b'\t');
    for (i, (name, value)) in r.metadata.entries.iter().enumerate() {
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

fn encode_csv(r: &Record<'_>, out: &mut Vec<u8>) {
    let mut scratch = Vec::with_capacity(r.key.len() + 16);
    push_escaped_text(&mut scratch, r.key, false);
    push_csv_field(out, &scratch);
    out.push(b',');
    if let Some(n) = r.size {
        push_u64(out, n);
    }
    out.push(b',');
    push_csv_field(out, r.last_modified.unwrap_or("").as_bytes());
    out.push(b',');
    push_csv_field(out, r.etag.map(bare_etag).unwrap_or("").as_bytes());
    out.push(b',');
    scratch.clear();
    push_json_metadata(&mut scratch, r.metadata);
    push_csv_field(out, &scratch);
    out.extend_from_slice(b"\r\n");
}

/// Reverses [`push_escaped_text`]: the exact bytes back, or `None` for a malformed escape.
pub fn unescape_text(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] != b'\\' {
            out.push(s[i]);
            i += 1;
            continue;
        }
        match *s.get(i + 1)? {
            b'\\' => out.push(b'\\'),
            b't' => out.push(b'\t'),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b';' => out.push(b';'),
            b'=' => out.push(b'='),
            b'x' => {
                let hex = std::str::from_utf8(s.get(i + 2..i + 4)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b'u' => {
                let close = s[i..].iter().position(|&b| b == b'}')?;
                let hex = std::str::from_utf8(s.get(i + 3..i + close)?).ok()?;
                let c = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                i += close - 1;
            }
            _ => return None,
        }
        i += 2;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(entries: &[(&str, &[u8])], missing: Option<u64>) -> ObjectMetadata {
        ObjectMetadata {
            entries: entries
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_vec()))
                .collect(),
            missing,
        }
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
}
