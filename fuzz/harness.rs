//! The checks each fuzz target runs on one input, shared by the targets (`cargo fuzz run NAME`) and
//! by `tests/fuzz_corpora.rs`, which replays every committed corpus file through them in the normal
//! test run. Each check may only fail by panicking: on a panic in s3meta, or on a property broken.
#![allow(dead_code)]

use s3meta::core::aws_config::{parse_aws_ini, IniLine};
use s3meta::core::endpoint::{Addressing, BucketTarget, Endpoint};
use s3meta::core::escape::{split_unescaped, unescape_text};
use s3meta::core::list::{cannot_be_url_encoded, parse_list_page_at_most, read_key, KeyReading};
use s3meta::core::metadata::{decode_rfc2047, ObjectMetadata};
use s3meta::core::output::{encode, Format, Record};
use s3meta::core::s3error::parse_error;
use s3meta::core::sigv4::{canonical_query, canonical_uri, SigningSettings};
use s3meta::core::uri::{form_decode, percent_decode};
use s3meta::core::{base64, escape};

/// One input's checks.
pub type Check = fn(&[u8]);

/// The fuzz targets, by name: what `cargo fuzz run NAME` runs and the folders of `fuzz/corpus/`.
pub const TARGETS: &[(&str, Check)] = &[
    ("list_xml", list_xml),
    ("error_xml", error_xml),
    ("rfc2047", rfc2047),
    ("listed_key", listed_key),
    ("sigv4_canonical", sigv4_canonical),
    ("aws_config", aws_config),
    ("output_roundtrip", output_roundtrip),
];

/// A ListObjectsV2 page: parsed or refused, never more entries than allowed, and every key read as
/// the decoding rules say.
pub fn list_xml(data: &[u8]) {
    const MAX: usize = 50;
    if let Ok(page) = parse_list_page_at_most(data, MAX) {
        assert!(page.contents.len() <= MAX);
        for e in &page.contents {
            if e.problem.is_none() && e.reading == KeyReading::Decoded {
                assert_eq!(form_decode(e.as_sent()), e.key);
            }
        }
    }
}

/// An error body: parsed or refused, never a panic; and an `<Error>` built from the input (two texts,
/// XML-escaped) parses back to exactly those texts, in their fields.
pub fn error_xml(data: &[u8]) {
    let _ = parse_error(data);
    let text = String::from_utf8_lossy(data);
    let (code, message) = text.split_once('\0').unwrap_or((&text, ""));
    // XML 1.0 holds no other control character, and parsers normalise CR.
    let allowed = |s: &str| !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t');
    if !(allowed(code) && allowed(message)) {
        return;
    }
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message><Region>{}</Region></Error>",
        xml_escape(code),
        xml_escape(message),
        xml_escape(code)
    );
    let e = parse_error(xml.as_bytes()).expect("a well-formed <Error> parses");
    assert_eq!(e.code.as_deref(), Some(code));
    assert_eq!(e.message.as_deref(), Some(message));
    assert_eq!(e.other("Region"), Some(code));
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// RFC 2047: text without an encoded word is kept byte for byte, and what decoding makes is at most
/// 1.5 times what it read (the worst case: base64 of Latin-1, 4 characters for 3 bytes that become 6).
pub fn rfc2047(data: &[u8]) {
    let out = decode_rfc2047(data);
    if !data.windows(2).any(|w| w == b"=?") {
        assert_eq!(out, data);
    }
    assert!(
        out.len() * 2 <= data.len() * 3,
        "{} from {}",
        out.len(),
        data.len()
    );
}

/// A listed key's text, read per key: taken as sent only on evidence no encoder leaves, else
/// decoded, and the other reading, when kept, is the other one.
pub fn listed_key(data: &[u8]) {
    let (key, reading, other) = read_key(data.to_vec());
    let decoded = form_decode(data);
    if cannot_be_url_encoded(data) {
        assert_eq!(reading, KeyReading::AsSent);
        assert_eq!(key, data);
        assert_eq!(other.as_deref(), (decoded != data).then_some(&decoded[..]));
    } else {
        assert_eq!(reading, KeyReading::Decoded);
        assert_eq!(key, decoded);
        assert_eq!(other.as_deref(), (decoded != data).then_some(data));
    }
}

/// SigV4 for S3: the canonical URI of any key is the request's path itself (encoded once, never
/// normalised: `..` stays), and percent-decodes to the key; the canonical query is sorted, ASCII,
/// and the same whatever order the parameters come in.
pub fn sigv4_canonical(data: &[u8]) {
    let (key, query) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let target =
        BucketTarget::new(Endpoint::aws("us-east-1"), "bucket", Addressing::Virtual).unwrap();
    let path = target.object_path(key);
    let uri = canonical_uri(&path, SigningSettings::S3);
    assert_eq!(uri, path);
    assert!(uri.is_ascii() && uri.starts_with('/'));
    assert_eq!(percent_decode(&uri.as_bytes()[1..]), key);

    let mut params: Vec<(&[u8], &[u8])> = query
        .split(|&b| b == b'&')
        .map(|p| match p.iter().position(|&b| b == b'=') {
            Some(i) => (&p[..i], &p[i + 1..]),
            None => (p, &[][..]),
        })
        .collect();
    let q = canonical_query(&params);
    assert!(q.is_ascii());
    assert!(!q.bytes().any(|b| b == b' ' || b == b'+'));
    params.reverse();
    assert_eq!(canonical_query(&params), q);
}

/// The `~/.aws` INI parser: parsed or refused by line, keys lower-cased and trimmed.
pub fn aws_config(data: &[u8]) {
    for is_config in [false, true] {
        let _ = parse_aws_ini(data, is_config, |line| {
            if let IniLine::Entry { key, value, .. } = line {
                assert_eq!(key, key.trim());
                assert_eq!(key, key.to_ascii_lowercase());
                assert_eq!(value, value.trim());
            }
        });
    }
}

/// A record made of the input: the key up to the first NUL, then NUL-separated name and value pairs.
fn record_parts(data: &[u8]) -> (Vec<u8>, Vec<(String, Vec<u8>)>) {
    let mut parts = data.split(|&b| b == 0);
    let key = parts.next().unwrap_or_default().to_vec();
    let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
    while let (Some(name), Some(value)) = (parts.next(), parts.next()) {
        let name = String::from_utf8_lossy(name).into_owned();
        if !entries.iter().any(|(n, _)| *n == name) {
            entries.push((name, value.to_vec()));
        }
    }
    entries.sort();
    (key, entries)
}

/// Every encoder prints one line that parses back to the key and the metadata: exactly in `text` and
/// `jsonl` (base64 beside what is not UTF-8), UTF-8-lossy metadata in `csv`; and no line holds a raw
/// control, line break or bidi character for a terminal to act on.
pub fn output_roundtrip(data: &[u8]) {
    let (key, entries) = record_parts(data);
    let meta = ObjectMetadata::from_entries(entries.iter().map(|(n, v)| (n.as_str(), &v[..])));
    let etag = String::from_utf8_lossy(data.get(..8).unwrap_or(data)).into_owned();
    let record = Record {
        key: &key,
        size: Some(data.len() as u64),
        last_modified: Some("2026-12-01T00:00:00.000Z"),
        etag: Some(&etag),
        metadata: &meta,
    };
    for format in [Format::Text, Format::Jsonl, Format::Csv] {
        let mut line = Vec::new();
        encode(format, &record, &mut line);
        let (k, m) = match format {
            Format::Text => parse_text(&line),
            Format::Jsonl => parse_jsonl(&line),
            Format::Csv => parse_csv(&line),
        };
        assert_eq!(k, key, "{format:?} key");
        let want: Vec<(String, Vec<u8>)> = match format {
            Format::Csv => entries
                .iter()
                .map(|(n, v)| {
                    (
                        n.clone(),
                        String::from_utf8_lossy(v).into_owned().into_bytes(),
                    )
                })
                .collect(),
            _ => entries.clone(),
        };
        assert_eq!(m, want, "{format:?} metadata");
        let shown = std::str::from_utf8(&line).expect("every format prints UTF-8");
        let body = shown.trim_end_matches(['\r', '\n']);
        assert!(
            !body.contains(['\r', '\n']),
            "{format:?}: a line break inside a record"
        );
        // The text format's one raw control is the tab between the key and the metadata.
        assert!(
            body.split('\t').all(escape::is_terminal_safe),
            "{format:?}: {body:?}"
        );
        if format != Format::Text {
            assert!(!body.contains('\t'), "{format:?}: a raw tab");
        }
    }
}

type Parsed = (Vec<u8>, Vec<(String, Vec<u8>)>);

fn parse_text(line: &[u8]) -> Parsed {
    let line = line.strip_suffix(b"\n").expect("a text line ends with LF");
    let fields = split_unescaped(line, b'\t');
    assert_eq!(fields.len(), 2, "text: KEY<TAB>METADATA");
    let key = unescape_text(fields[0]).expect("the key unescapes");
    let mut entries = Vec::new();
    if !fields[1].is_empty() {
        for pair in split_unescaped(fields[1], b';') {
            let nv = split_unescaped(pair, b'=');
            assert_eq!(nv.len(), 2, "text: name=value");
            let name = unescape_text(nv[0]).expect("a name unescapes");
            let value = unescape_text(nv[1]).expect("a value unescapes");
            entries.push((String::from_utf8(name).expect("names are UTF-8"), value));
        }
    }
    (key, entries)
}

fn json_str(v: &serde_json::Value) -> &str {
    v.as_str().expect("a JSON string")
}

fn parse_jsonl(line: &[u8]) -> Parsed {
    let line = line.strip_suffix(b"\n").expect("a jsonl line ends with LF");
    assert!(!line.contains(&b'\n'));
    let v: serde_json::Value = serde_json::from_slice(line).expect("a JSON object");
    let key = match v.get("key_base64") {
        Some(b) => base64::decode(json_str(b).as_bytes()).expect("base64"),
        None => json_str(&v["key"]).as_bytes().to_vec(),
    };
    let binary = v.get("metadata_base64");
    let mut entries: Vec<(String, Vec<u8>)> = v["metadata"]
        .as_object()
        .expect("metadata is an object")
        .iter()
        .map(|(n, value)| {
            let bytes = match binary.and_then(|b| b.get(n)) {
                Some(b) => base64::decode(json_str(b).as_bytes()).expect("base64"),
                None => json_str(value).as_bytes().to_vec(),
            };
            (n.clone(), bytes)
        })
        .collect();
    entries.sort();
    (key, entries)
}

/// One RFC 4180 record (CRLF-terminated) into its fields.
fn csv_fields(line: &[u8]) -> Vec<Vec<u8>> {
    let line = line
        .strip_suffix(b"\r\n")
        .expect("a csv record ends with CRLF");
    let (mut fields, mut field, mut i) = (Vec::new(), Vec::new(), 0);
    let mut quoted = false;
    while i < line.len() {
        let b = line[i];
        if quoted {
            if b == b'"' {
                if line.get(i + 1) == Some(&b'"') {
                    field.push(b'"');
                    i += 1;
                } else {
                    quoted = false;
                }
            } else {
                field.push(b);
            }
        } else if b == b'"' && field.is_empty() {
            quoted = true;
        } else if b == b',' {
            fields.push(std::mem::take(&mut field));
        } else {
            assert!(
                b != b'"' && b != b'\r' && b != b'\n',
                "csv: a bare quote or line break"
            );
            field.push(b);
        }
        i += 1;
    }
    assert!(!quoted, "csv: an unclosed quote");
    fields.push(field);
    fields
}

fn parse_csv(line: &[u8]) -> Parsed {
    let fields = csv_fields(line);
    assert_eq!(fields.len(), 5, "csv: key,size,last_modified,etag,metadata");
    assert!(
        !matches!(fields[0].first(), Some(b'=' | b'+' | b'-' | b'@')),
        "a formula"
    );
    let key = unescape_text(&fields[0]).expect("the key unescapes");
    let meta: serde_json::Value = serde_json::from_slice(&fields[4]).expect("metadata is JSON");
    let mut entries: Vec<(String, Vec<u8>)> = meta
        .as_object()
        .expect("metadata is an object")
        .iter()
        .map(|(n, v)| (n.clone(), json_str(v).as_bytes().to_vec()))
        .collect();
    entries.sort();
    (key, entries)
}
