//! ListObjectsV2 (and v1) response bodies, parsed into plain structs.
//!
//! Elements are matched by local name and in any order; text is kept as is (keys may be all spaces).
//! When the response says `<EncodingType>url</EncodingType>`, keys, prefixes, delimiter, start-after and
//! markers are form-decoded (`+` is a space); continuation tokens never are.

use super::uri::form_decode;
use super::xml_text::{walk, Step, XmlError};

/// One object of a listing. `key` is bytes: a decoded key is not guaranteed to be UTF-8.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListEntry {
    pub key: Vec<u8>,
    /// The key's text as the server sent it, when form-decoding changed it. A server that claims
    /// `EncodingType=url` without encoding (s3s-fs does) is caught by a HEAD of this on a 404.
    pub key_as_sent: Option<Vec<u8>>,
    pub last_modified: Option<String>,
    pub etag: Option<String>,
    pub size: Option<u64>,
    pub storage_class: Option<String>,
    pub owner_id: Option<String>,
    pub owner_display_name: Option<String>,
}

/// One page of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListPage {
    pub name: Option<String>,
    pub encoding_type: Option<String>,
    pub prefix: Option<Vec<u8>>,
    pub delimiter: Option<Vec<u8>>,
    pub start_after: Option<Vec<u8>>,
    pub marker: Option<Vec<u8>>,
    pub next_marker: Option<Vec<u8>>,
    pub continuation_token: Option<String>,
    pub next_continuation_token: Option<String>,
    pub key_count: Option<u64>,
    pub max_keys: Option<u64>,
    pub is_truncated: bool,
    pub contents: Vec<ListEntry>,
    pub common_prefixes: Vec<Vec<u8>>,
    /// True when the page said `EncodingType=url` but its text cannot be URL-encoded (a raw space, `%zz`,
    /// a control character, non-ASCII…): the server echoed the parameter without encoding, so nothing
    /// on the page was decoded.
    pub encoding_ignored: bool,
}

/// How to read keys in a page that says `EncodingType=url`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyEncoding {
    /// Decode, unless the page's text proves it was not encoded.
    Auto,
    /// Never decode: an earlier page proved this server echoes `EncodingType=url` without encoding.
    Raw,
}

/// Whether `text` can be the output of a URL encoder: only characters encoders leave alone, and every
/// `%` followed by two hex digits. AWS, MinIO, Garage and RGW output always passes; raw keys often do not.
pub fn could_be_url_encoded(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                if i + 2 >= b.len()
                    || !b[i + 1].is_ascii_hexdigit()
                    || !b[i + 2].is_ascii_hexdigit()
                {
                    return false;
                }
                i += 3;
                continue;
            }
            c if c.is_ascii_alphanumeric() => {}
            b'-' | b'_' | b'.' | b'~' | b'/' | b'*' | b'+' | b'!' | b'\'' | b'(' | b')' | b','
            | b';' | b':' | b'@' | b'=' | b'&' | b'$' => {}
            _ => return false,
        }
        i += 1;
    }
    true
}

impl ListPage {
    /// v1 pagination: `NextMarker` if the server sent it, else the last key of the page.
    pub fn v1_next_marker(&self) -> Option<&[u8]> {
        self.next_marker
            .as_deref()
            .or_else(|| self.contents.last().map(|e| e.key.as_slice()))
    }
}

fn parse_u64(what: &str, text: &str) -> Result<u64, XmlError> {
    text.trim().parse().map_err(|_| {
        XmlError(format!(
            "<{what}> is not a whole number: {:?}",
            truncate(text)
        ))
    })
}

fn parse_bool(what: &str, text: &str) -> Result<bool, XmlError> {
    match text.trim() {
        "true" | "True" | "TRUE" => Ok(true),
        "false" | "False" | "FALSE" => Ok(false),
        other => Err(XmlError(format!(
            "<{what}> is not true or false: {:?}",
            truncate(other)
        ))),
    }
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(64) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Parses a `ListBucketResult` body. Any other root (for example an `<Error>` inside a 200) is an error.
pub fn parse_list_page(xml: &[u8]) -> Result<ListPage, XmlError> {
    parse_list_page_with(xml, KeyEncoding::Auto)
}

/// [`parse_list_page`], told how to treat `EncodingType=url`.
pub fn parse_list_page_with(xml: &[u8], encoding: KeyEncoding) -> Result<ListPage, XmlError> {
    let mut page = ListPage::default();
    // Raw text of the fields that may need decoding; decoded at the end, once EncodingType is known
    // (MinIO sends EncodingType last).
    let mut raw_keys: Vec<String> = Vec::new();
    let mut raw_prefixes: Vec<String> = Vec::new();
    let mut raw_top: [Option<String>; 5] = Default::default(); // prefix, delimiter, start-after, marker, next-marker
    let mut entry = ListEntry::default();
    let mut root_checked = false;
    walk(xml, |step| {
        match step {
            Step::Open { path } => {
                if !root_checked {
                    root_checked = true;
                    if path.get(0) != "ListBucketResult" {
                        return Err(XmlError(format!(
                            "expected <ListBucketResult>, got <{}>",
                            path.get(0)
                        )));
                    }
                }
                if path.len() == 2 && path.get(1) == "Contents" {
                    entry = ListEntry::default();
                    raw_keys.push(String::new());
                }
            }
            Step::Close { path, text } => match path.len() {
                2 => match path.get(1) {
                    "Contents" => page.contents.push(std::mem::take(&mut entry)),
                    "Name" => page.name = Some(text.to_owned()),
                    "EncodingType" => page.encoding_type = Some(text.to_owned()),
                    "Prefix" => raw_top[0] = Some(text.to_owned()),
                    "Delimiter" => raw_top[1] = Some(text.to_owned()),
                    "StartAfter" => raw_top[2] = Some(text.to_owned()),
                    "Marker" => raw_top[3] = Some(text.to_owned()),
                    "NextMarker" => raw_top[4] = Some(text.to_owned()),
                    "ContinuationToken" => page.continuation_token = Some(text.to_owned()),
                    "NextContinuationToken" => page.next_continuation_token = Some(text.to_owned()),
                    "KeyCount" => page.key_count = Some(parse_u64("KeyCount", text)?),
                    "MaxKeys" => page.max_keys = Some(parse_u64("MaxKeys", text)?),
                    "IsTruncated" => page.is_truncated = parse_bool("IsTruncated", text)?,
                    _ => {}
                },
                3 => match (path.get(1), path.get(2)) {
                    ("Contents", "Key") => {
                        if let Some(last) = raw_keys.last_mut() {
                            *last = text.to_owned();
                        }
                    }
                    ("Contents", "LastModified") => entry.last_modified = Some(text.to_owned()),
                    ("Contents", "ETag") => entry.etag = Some(text.to_owned()),
                    ("Contents", "Size") => entry.size = Some(parse_u64("Size", text)?),
                    ("Contents", "StorageClass") => entry.storage_class = Some(text.to_owned()),
                    ("CommonPrefixes", "Prefix") => raw_prefixes.push(text.to_owned()),
                    _ => {}
                },
                4 => match (path.get(1), path.get(2), path.get(3)) {
                    ("Contents", "Owner", "ID") => entry.owner_id = Some(text.to_owned()),
                    ("Contents", "Owner", "DisplayName") => {
                        entry.owner_display_name = Some(text.to_owned())
                    }
                    _ => {}
                },
                // The root, and anything deeper than S3 ever sends.
                _ => {}
            },
        }
        Ok(())
    })?;
    if raw_keys.len() != page.contents.len() {
        return Err(XmlError("a <Contents> element was not closed".into()));
    }
    let says_url = page
        .encoding_type
        .as_deref()
        .is_some_and(|e| e.eq_ignore_ascii_case("url"));
    let all_text_encodable = || {
        raw_keys
            .iter()
            .chain(&raw_prefixes)
            .chain(raw_top.iter().flatten())
            .all(|t| could_be_url_encoded(t))
    };
    let decode = says_url && encoding == KeyEncoding::Auto && all_text_encodable();
    page.encoding_ignored = says_url && !decode;
    let convert = |s: String| {
        if decode {
            form_decode(s.as_bytes())
        } else {
            s.into_bytes()
        }
    };
    for (entry, raw) in page.contents.iter_mut().zip(raw_keys) {
        // Most keys have nothing to decode: keep the text as it is, with no second copy.
        if decode && raw.bytes().any(|b| b == b'%' || b == b'+') {
            let key = form_decode(raw.as_bytes());
            if key != raw.as_bytes() {
                entry.key_as_sent = Some(raw.into_bytes());
            }
            entry.key = key;
        } else {
            entry.key = raw.into_bytes();
        }
    }
    page.common_prefixes = raw_prefixes.into_iter().map(convert).collect();
    let [prefix, delimiter, start_after, marker, next_marker] = raw_top;
    page.prefix = prefix.map(convert);
    page.delimiter = delimiter.map(convert);
    page.start_after = start_after.map(convert);
    page.marker = marker.map(convert);
    page.next_marker = next_marker.map(convert);
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodable_text() {
        for ok in [
            "photos/summer+2024/100%25.csv",
            "a%2Fb",
            "x*y~z",
            "test_file%283%29.png",
            "",
        ] {
            assert!(could_be_url_encoded(ok), "{ok}");
        }
        for raw in [
            "a b",
            "100%",
            "%zz",
            "%4",
            "k\u{1}",
            "\u{65e5}",
            "a<b",
            "q\"",
            "back\\slash",
        ] {
            assert!(!could_be_url_encoded(raw), "{raw}");
        }
    }

    #[test]
    fn a_server_that_echoes_encoding_type_without_encoding_is_read_raw() {
        let xml = b"<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>a+b</Key></Contents><Contents><Key>c d%zz</Key></Contents></ListBucketResult>";
        let page = parse_list_page(xml).unwrap();
        assert!(page.encoding_ignored);
        assert_eq!(page.contents[0].key, b"a+b");
        assert_eq!(page.contents[0].key_as_sent, None);
        // Alone, `a+b` is ambiguous: decoded, with the text as sent kept for a second look.
        let xml = b"<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>a+b</Key></Contents></ListBucketResult>";
        let page = parse_list_page(xml).unwrap();
        assert_eq!(page.contents[0].key, b"a b");
        assert_eq!(page.contents[0].key_as_sent.as_deref(), Some(&b"a+b"[..]));
        let page = parse_list_page_with(xml, KeyEncoding::Raw).unwrap();
        assert_eq!(page.contents[0].key, b"a+b");
    }

    #[test]
    fn error_root_is_rejected() {
        let err = parse_list_page(b"<Error><Code>SlowDown</Code></Error>").unwrap_err();
        assert!(err.0.contains("<Error>"), "{err}");
    }

    #[test]
    fn bad_numbers_are_named() {
        let err = parse_list_page(
            b"<ListBucketResult><Contents><Key>a</Key><Size>x</Size></Contents></ListBucketResult>",
        )
        .unwrap_err();
        assert!(err.0.contains("<Size>"), "{err}");
    }
}
