//! ListObjectsV2 (and v1) response bodies, parsed into plain structs.
//!
//! Elements are matched by local name and in any order; text is kept as is (keys may be all spaces).
//!
//! **Reading keys of a page that says `EncodingType=url`.** Servers differ: AWS, MinIO and Garage encode
//! every character that needs it; Ceph RGW leaves some printable ASCII (`|`, `!`, `*`…) as it is; s3s-fs
//! echoes the parameter and encodes nothing. So each key is read on its own evidence ([`read_key`]): it
//! is read as sent only when its text holds something no URL encoder writes (a space or control byte, a
//! byte outside ASCII, a `%` not followed by two hex digits); otherwise it is form-decoded (`+` is a
//! space). When the two readings differ, the other one is kept ([`ListEntry::other_reading`]) so that a
//! HEAD that finds nothing can try it. Nothing learned from one key is applied to another.
//! Continuation tokens are never decoded.
//!
//! Two listed entries are two keys, and keys are listed in order: when a reading of one entry is
//! another entry's name, [`resolve_linked_readings`] uses that order to rule a reading out, and marks
//! the entries it cannot settle [`ListEntry::linked`], so that both readings are looked up. It needs
//! the page before as well, so the lister calls it on each page; the parser reads each key alone.
//!
//! **One bad entry is one failed object.** A `<Contents>` whose `<Size>` is not a whole number, or whose
//! text fields are not UTF-8, is kept with an [`EntryProblem`]; only a page that cannot be read (bad XML,
//! a bad `IsTruncated`, more entries than allowed) is an error.

use std::collections::HashMap;
use std::fmt;

use super::escape::terminal_text;
use super::uri::form_decode;
use super::xml_text::{walk, Step, XmlError};

/// How the key of a [`ListEntry`] was read from the page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum KeyReading {
    /// The page did not say `EncodingType=url`: the text is the key.
    #[default]
    Plain,
    /// Form-decoded: the page said `EncodingType=url` and the text could be an encoder's output.
    Decoded,
    /// Taken as sent although the page said `EncodingType=url`: the text holds what no encoder writes.
    AsSent,
}

/// One object of a listing. `key` is bytes: a decoded key is not guaranteed to be UTF-8.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListEntry {
    /// The key, as read first (see [`KeyReading`]).
    pub key: Vec<u8>,
    pub reading: KeyReading,
    /// The other reading of the key's text, when the page said `EncodingType=url` and the two differ:
    /// the text as sent if `key` was decoded, the decoded text if `key` was taken as sent.
    pub other_reading: Option<Vec<u8>>,
    /// Each reading is the name of another listed entry, and the order of the listing does not say
    /// which one is this entry's: both must be looked up.
    pub linked: bool,
    pub last_modified: Option<String>,
    pub etag: Option<String>,
    pub size: Option<u64>,
    pub storage_class: Option<String>,
    pub owner_id: Option<String>,
    pub owner_display_name: Option<String>,
    /// Why this entry cannot be used as it is; it is then reported as failed, not looked up.
    pub problem: Option<Box<EntryProblem>>,
}

impl ListEntry {
    /// The key's text as the server sent it (after XML unescaping).
    pub fn as_sent(&self) -> &[u8] {
        match (self.reading, &self.other_reading) {
            (KeyReading::Decoded, Some(sent)) => sent,
            _ => &self.key,
        }
    }

    /// The bytes it holds on the heap (its problem, rare and small, aside).
    pub fn heap_bytes(&self) -> usize {
        let text = |s: &Option<String>| s.as_ref().map_or(0, String::capacity);
        self.key.capacity()
            + self.other_reading.as_ref().map_or(0, Vec::capacity)
            + text(&self.last_modified)
            + text(&self.etag)
            + text(&self.storage_class)
            + text(&self.owner_id)
            + text(&self.owner_display_name)
    }

    /// Makes the other reading the one to use (it was found where the first was not).
    pub fn switch_reading(&mut self) {
        if let Some(other) = self.other_reading.take() {
            self.other_reading = Some(std::mem::replace(&mut self.key, other));
            self.reading = match self.reading {
                KeyReading::Decoded => KeyReading::AsSent,
                KeyReading::AsSent => KeyReading::Decoded,
                KeyReading::Plain => KeyReading::Plain,
            };
        }
    }
}

/// What is wrong with one entry of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryProblem {
    /// The `<Contents>` has no `<Key>`.
    NoKey,
    /// A field that must be a whole number is not: the element's name and its text.
    NotANumber(&'static str, Vec<u8>),
    /// A field that must be text is not UTF-8: the element's name.
    NotUtf8(&'static str),
}

impl fmt::Display for EntryProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EntryProblem::NoKey => f.write_str("the listing entry has no <Key>"),
            EntryProblem::NotANumber(field, text) => write!(
                f,
                "the listing gave a <{field}> that is not a whole number: \"{}\"",
                terminal_text(text, 64)
            ),
            EntryProblem::NotUtf8(field) => {
                write!(f, "the listing gave a <{field}> that is not UTF-8 text")
            }
        }
    }
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
}

/// Whether `text` holds something no URL encoder writes: a space or control byte, a byte outside
/// ASCII, or a `%` not followed by two hex digits. Every encoder encodes those; which other printable
/// ASCII characters an encoder leaves alone differs from server to server, so they prove nothing.
pub fn cannot_be_url_encoded(text: &[u8]) -> bool {
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'%' => {
                let hex = |j: usize| text.get(j).is_some_and(u8::is_ascii_hexdigit);
                if !(hex(i + 1) && hex(i + 2)) {
                    return true;
                }
                i += 3;
                continue;
            }
            b if b <= b' ' || b >= 0x7f => return true,
            _ => {}
        }
        i += 1;
    }
    false
}

/// Reads one key's text from a page that says `EncodingType=url`: the key, how it was read, and the
/// other reading when it differs (see the module documentation).
pub fn read_key(text: Vec<u8>) -> (Vec<u8>, KeyReading, Option<Vec<u8>>) {
    // Most keys have nothing to decode: no second copy, no other reading.
    if !text.iter().any(|&b| b == b'%' || b == b'+') {
        let reading = if cannot_be_url_encoded(&text) {
            KeyReading::AsSent
        } else {
            KeyReading::Decoded
        };
        return (text, reading, None);
    }
    let decoded = form_decode(&text);
    let other = |a: &Vec<u8>, b: Vec<u8>| (a != &b).then_some(b);
    if cannot_be_url_encoded(&text) {
        let other = other(&text, decoded);
        (text, KeyReading::AsSent, other)
    } else {
        let other = other(&decoded, text);
        (decoded, KeyReading::Decoded, other)
    }
}

/// Whether an entry has a key to order, look up and cut a listing by.
pub fn usable(e: &ListEntry) -> bool {
    e.problem.as_deref() != Some(&EntryProblem::NoKey)
}

/// Whether `b` comes after `a` in a listing: S3 lists in UTF-8 byte order. Either reading of the keys
/// may be the one the server sorted by, so the order holds if it holds for one of them.
pub fn listed_in_order(a: &ListEntry, b: &ListEntry) -> bool {
    a.key < b.key || a.as_sent() < b.as_sent()
}

impl ListPage {
    /// v1 pagination: `NextMarker` if the server sent it, else the last key of the page.
    pub fn v1_next_marker(&self) -> Option<&[u8]> {
        self.next_marker
            .as_deref()
            .or_else(|| self.contents.last().map(|e| e.key.as_slice()))
    }
}

fn page_number(what: &str, text: &[u8]) -> Result<u64, XmlError> {
    number(text).ok_or_else(|| {
        XmlError(format!(
            "<{what}> is not a whole number: {:?}",
            String::from_utf8_lossy(&text[..text.len().min(64)])
        ))
    })
}

fn number(text: &[u8]) -> Option<u64> {
    std::str::from_utf8(text).ok()?.trim().parse().ok()
}

fn parse_bool(what: &str, text: &[u8]) -> Result<bool, XmlError> {
    match text.trim_ascii() {
        b"true" | b"True" | b"TRUE" => Ok(true),
        b"false" | b"False" | b"FALSE" => Ok(false),
        other => Err(XmlError(format!(
            "<{what}> is not true or false: {:?}",
            String::from_utf8_lossy(&other[..other.len().min(64)])
        ))),
    }
}

fn page_text(what: &str, text: &[u8]) -> Result<String, XmlError> {
    String::from_utf8(text.to_vec()).map_err(|_| XmlError(format!("<{what}> is not UTF-8 text")))
}

/// Parses a `ListBucketResult` body. Any other root (for example an `<Error>` inside a 200) is an error.
pub fn parse_list_page(xml: &[u8]) -> Result<ListPage, XmlError> {
    parse_list_page_at_most(xml, usize::MAX)
}

/// A text field of an entry: UTF-8, or the entry's problem.
fn entry_text(entry: &mut ListEntry, field: &'static str, text: &[u8]) -> Option<String> {
    match String::from_utf8(text.to_vec()) {
        Ok(s) => Some(s),
        Err(_) => {
            entry
                .problem
                .get_or_insert(Box::new(EntryProblem::NotUtf8(field)));
            None
        }
    }
}

/// [`parse_list_page`], refusing a page with more than `max_entries` entries (`Contents` and
/// `CommonPrefixes` together, as `MaxKeys` counts them) as soon as it sees one too many.
pub fn parse_list_page_at_most(xml: &[u8], max_entries: usize) -> Result<ListPage, XmlError> {
    let mut page = ListPage::default();
    // Entries are built in place; a key holds its text as sent until EncodingType is known (MinIO
    // sends it last), and is read then.
    page.contents.reserve(max_entries.min(1000));
    let mut raw_prefixes: Vec<Vec<u8>> = Vec::new();
    let mut raw_top: [Option<Vec<u8>>; 5] = Default::default(); // prefix, delimiter, start-after, marker, next-marker
    let mut in_contents = false;
    let mut saw_key = false;
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
                if path.len() == 2 && matches!(path.get(1), "Contents" | "CommonPrefixes") {
                    if page.contents.len() + raw_prefixes.len() >= max_entries {
                        return Err(XmlError(format!(
                            "the page holds more than the {max_entries} entries asked for"
                        )));
                    }
                    if path.get(1) == "Contents" {
                        page.contents.push(ListEntry::default());
                        (in_contents, saw_key) = (true, false);
                    }
                }
            }
            Step::Close { path, text } => match path.len() {
                2 => match path.get(1) {
                    "Contents" => {
                        if let (false, Some(entry)) = (saw_key, page.contents.last_mut()) {
                            entry.problem = Some(Box::new(EntryProblem::NoKey));
                        }
                        in_contents = false;
                    }
                    "Name" => page.name = Some(page_text("Name", text)?),
                    "EncodingType" => page.encoding_type = Some(page_text("EncodingType", text)?),
                    "Prefix" => raw_top[0] = Some(text.to_vec()),
                    "Delimiter" => raw_top[1] = Some(text.to_vec()),
                    "StartAfter" => raw_top[2] = Some(text.to_vec()),
                    "Marker" => raw_top[3] = Some(text.to_vec()),
                    "NextMarker" => raw_top[4] = Some(text.to_vec()),
                    "ContinuationToken" => {
                        page.continuation_token = Some(page_text("ContinuationToken", text)?)
                    }
                    "NextContinuationToken" => {
                        page.next_continuation_token =
                            Some(page_text("NextContinuationToken", text)?)
                    }
                    "KeyCount" => page.key_count = Some(page_number("KeyCount", text)?),
                    "MaxKeys" => page.max_keys = Some(page_number("MaxKeys", text)?),
                    "IsTruncated" => page.is_truncated = parse_bool("IsTruncated", text)?,
                    _ => {}
                },
                3 if path.get(1) == "CommonPrefixes" && path.get(2) == "Prefix" => {
                    raw_prefixes.push(text.to_vec());
                }
                3 if in_contents => {
                    let Some(entry) = page.contents.last_mut() else {
                        return Ok(());
                    };
                    match path.get(2) {
                        "Key" => {
                            entry.key = text.to_vec();
                            saw_key = true;
                        }
                        "LastModified" => {
                            entry.last_modified = entry_text(entry, "LastModified", text)
                        }
                        "ETag" => entry.etag = entry_text(entry, "ETag", text),
                        "Size" => match number(text) {
                            Some(n) => entry.size = Some(n),
                            None => {
                                entry
                                    .problem
                                    .get_or_insert(Box::new(EntryProblem::NotANumber(
                                        "Size",
                                        text[..text.len().min(64)].to_vec(),
                                    )));
                            }
                        },
                        "StorageClass" => {
                            entry.storage_class = entry_text(entry, "StorageClass", text)
                        }
                        _ => {}
                    }
                }
                4 if in_contents && path.get(2) == "Owner" => {
                    let Some(entry) = page.contents.last_mut() else {
                        return Ok(());
                    };
                    match path.get(3) {
                        "ID" => entry.owner_id = entry_text(entry, "Owner/ID", text),
                        "DisplayName" => {
                            entry.owner_display_name = entry_text(entry, "Owner/DisplayName", text)
                        }
                        _ => {}
                    }
                }
                // The root, and anything deeper than S3 ever sends.
                _ => {}
            },
        }
        Ok(())
    })?;
    let says_url = page
        .encoding_type
        .as_deref()
        .is_some_and(|e| e.eq_ignore_ascii_case("url"));
    let read_other = |text: Vec<u8>| {
        if says_url && !cannot_be_url_encoded(&text) {
            form_decode(&text)
        } else {
            text
        }
    };
    if says_url {
        for entry in page.contents.iter_mut() {
            if entry.problem.as_deref() != Some(&EntryProblem::NoKey) {
                let text = std::mem::take(&mut entry.key);
                (entry.key, entry.reading, entry.other_reading) = read_key(text);
            }
        }
    }
    page.common_prefixes = raw_prefixes.into_iter().map(read_other).collect();
    let [prefix, delimiter, start_after, marker, next_marker] = raw_top;
    page.prefix = prefix.map(read_other);
    page.delimiter = delimiter.map(read_other);
    page.start_after = start_after.map(read_other);
    page.marker = marker.map(read_other);
    page.next_marker = next_marker.map(read_other);
    Ok(page)
}

/// The names of one page's entries (each key, and its other reading), kept to compare the next page
/// with: in one buffer, searched only when the next page has keys with two readings.
#[derive(Debug, Clone, Default)]
pub struct PageNames {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl PageNames {
    pub fn of(entries: &[ListEntry]) -> PageNames {
        let mut names = PageNames::default();
        for e in entries {
            for name in names_of(e) {
                names.bytes.extend_from_slice(name);
                names.ends.push(names.bytes.len());
            }
        }
        names
    }

    pub fn contains(&self, name: &[u8]) -> bool {
        let mut start = 0;
        self.ends.iter().any(|&end| {
            let hit = &self.bytes[start..end] == name;
            start = end;
            hit
        })
    }
}

/// The names an entry may have: its key, and its other reading.
fn names_of(e: &ListEntry) -> impl Iterator<Item = &[u8]> {
    std::iter::once(e.key.as_slice()).chain(e.other_reading.as_deref())
}

/// Settles the readings of keys that meet another entry's names (in this page, or among `previous`,
/// the names of the page before, whose last entry is `previous_last`).
///
/// A reading that is another entry's name may be right (S3 lists `a b` as `a+b` and `a+b` as
/// `a%2Bb`) or wrong (s3s-fs lists `a%2Bb` and `a+b` as they are): the texts alone cannot tell. The
/// order can: keys are listed in order, so a reading that does not come after some reading of the
/// entry before, or before some reading of the entry after, is not this entry's. An entry left with
/// one possible reading takes it (the other is kept for a 404); one left with two is marked
/// [`ListEntry::linked`]. Entries whose readings meet no other name are left as they are.
pub fn resolve_linked_readings(
    entries: &mut [ListEntry],
    previous: &PageNames,
    previous_last: Option<&ListEntry>,
) {
    if !entries.iter().any(|e| e.other_reading.is_some()) {
        return;
    }
    let mut count: HashMap<Vec<u8>, usize> = HashMap::new();
    for e in entries.iter() {
        for name in names_of(e) {
            *count.entry(name.to_vec()).or_default() += 1;
        }
    }
    let meets_another = |e: &ListEntry| {
        names_of(e).any(|n| count.get(n).is_some_and(|&c| c > 1) || previous.contains(n))
    };
    let linked: Vec<usize> = (0..entries.len())
        .filter(|&i| entries[i].other_reading.is_some() && meets_another(&entries[i]))
        .collect();
    for i in linked {
        let before = if i == 0 {
            previous_last
        } else {
            entries.get(i - 1)
        };
        let after = entries.get(i + 1);
        let possible = |r: &[u8]| {
            before.is_none_or(|b| names_of(b).any(|n| n < r))
                && after.is_none_or(|a| names_of(a).any(|n| n > r))
        };
        let e = &entries[i];
        let first = possible(&e.key);
        let other = e.other_reading.as_deref().is_some_and(possible);
        let e = &mut entries[i];
        match (first, other) {
            (false, true) => e.switch_reading(),
            (true, false) => {}
            _ => e.linked = true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page as the lister hands it on: parsed, and its linked readings settled (no page before).
    fn linked_page(xml: &str) -> ListPage {
        let mut page = parse_list_page(xml.as_bytes()).unwrap();
        resolve_linked_readings(&mut page.contents, &PageNames::default(), None);
        page
    }

    fn keys_of(xml: &str) -> Vec<(String, KeyReading, Option<String>)> {
        linked_page(xml)
            .contents
            .into_iter()
            .map(|e| {
                (
                    String::from_utf8(e.key).unwrap(),
                    e.reading,
                    e.other_reading.map(|o| String::from_utf8(o).unwrap()),
                )
            })
            .collect()
    }

    fn url_page(keys: &[&str]) -> String {
        let mut xml = String::from("<ListBucketResult><EncodingType>url</EncodingType>");
        for k in keys {
            xml.push_str(&format!("<Contents><Key>{k}</Key></Contents>"));
        }
        xml + "</ListBucketResult>"
    }

    #[test]
    fn evidence_that_no_encoder_wrote_the_text() {
        for encodable in [
            "photos/summer+2024/100%25.csv",
            "a%2Fb",
            "x*y~z",
            "test_file%283%29.png",
            "",
            // What RGW leaves unencoded: not evidence of anything.
            "pipe|key!$'()*",
            "a<b\"q\\{}^`",
        ] {
            assert!(!cannot_be_url_encoded(encodable.as_bytes()), "{encodable}");
        }
        for raw in [
            "a b",
            "100%",
            "%zz",
            "%4",
            "k\u{1}",
            "\u{65e5}",
            "tab\t",
            "del\u{7f}",
        ] {
            assert!(cannot_be_url_encoded(raw.as_bytes()), "{raw}");
        }
    }

    #[test]
    fn each_key_is_read_on_its_own_evidence() {
        // The RGW case: a `|` on the page says nothing about the other keys.
        let got = keys_of(&url_page(&["uni%2F%C3%BCni", "a|b", "c+d"]));
        assert_eq!(
            got,
            vec![
                (
                    "uni/üni".into(),
                    KeyReading::Decoded,
                    Some("uni%2F%C3%BCni".into())
                ),
                ("a|b".into(), KeyReading::Decoded, None),
                ("c d".into(), KeyReading::Decoded, Some("c+d".into())),
            ]
        );
        // The s3s-fs case: a raw space proves that key raw, and only that key.
        let got = keys_of(&url_page(&["a b+c", "d+e", "100%", "f%41"]));
        assert_eq!(
            got,
            vec![
                ("a b+c".into(), KeyReading::AsSent, Some("a b c".into())),
                ("d e".into(), KeyReading::Decoded, Some("d+e".into())),
                ("100%".into(), KeyReading::AsSent, None),
                ("fA".into(), KeyReading::Decoded, Some("f%41".into())),
            ]
        );
        // Without EncodingType=url nothing is decoded.
        let got =
            keys_of("<ListBucketResult><Contents><Key>a+b%41</Key></Contents></ListBucketResult>");
        assert_eq!(got, vec![("a+b%41".into(), KeyReading::Plain, None)]);
    }

    #[test]
    fn a_reading_that_is_another_entrys_name_is_settled_by_the_order() {
        // s3s-fs lists `a b` and `a+b` raw; decoding the second would list `a b` twice.
        let got = keys_of(&url_page(&["a b", "a+b"]));
        assert_eq!(
            got,
            vec![
                ("a b".into(), KeyReading::AsSent, None),
                ("a+b".into(), KeyReading::AsSent, Some("a b".into())),
            ]
        );
        // S3 lists the keys `a b` and `a+b` as `a+b` and `a%2Bb`; s3s-fs lists the keys `a%2Bb` and
        // `a+b` as they are, in the other order. The same two texts, and only the order tells.
        let aws = keys_of(&url_page(&["a+b", "a%2Bb"]));
        assert_eq!((aws[0].0.as_str(), aws[1].0.as_str()), ("a b", "a+b"));
        let raw = keys_of(&url_page(&["a%2Bb", "a+b"]));
        assert_eq!((raw[0].0.as_str(), raw[0].1), ("a%2Bb", KeyReading::AsSent));
        assert_eq!((raw[1].0.as_str(), raw[1].1), ("a+b", KeyReading::AsSent));
    }

    #[test]
    fn what_the_order_cannot_settle_is_linked_and_the_previous_page_counts() {
        // On S3, `a+b` (the key `a b`) is settled by the order; `a%2Bb` could be `a+b` or `a%2Bb`
        // (both come after `a b`): it is looked up both ways.
        let page = linked_page(&url_page(&["a+b", "a%2Bb"]));
        assert!(!page.contents[0].linked);
        assert!(page.contents[1].linked);
        // A name of the page before counts too.
        let before = parse_list_page(url_page(&["a b"]).as_bytes()).unwrap();
        let mut next = parse_list_page(url_page(&["a+b"]).as_bytes()).unwrap();
        assert_eq!(next.contents[0].key, b"a b", "alone, it decodes");
        resolve_linked_readings(
            &mut next.contents,
            &PageNames::of(&before.contents),
            before.contents.last(),
        );
        assert_eq!(
            next.contents[0].key, b"a+b",
            "after `a b`, it cannot be `a b`"
        );
        // Plain pages are left alone.
        let mut plain = parse_list_page(url_page(&["x", "y"]).as_bytes())
            .unwrap()
            .contents;
        resolve_linked_readings(&mut plain, &PageNames::of(&before.contents), None);
        assert!(plain.iter().all(|e| !e.linked && e.other_reading.is_none()));
    }

    #[test]
    fn switching_and_the_text_as_sent() {
        let page = parse_list_page(url_page(&["c+d"]).as_bytes()).unwrap();
        let mut e = page.contents[0].clone();
        assert_eq!(e.as_sent(), b"c+d");
        e.switch_reading();
        assert_eq!(
            (e.key.as_slice(), e.reading),
            (&b"c+d"[..], KeyReading::AsSent)
        );
        assert_eq!(e.as_sent(), b"c+d");
        assert_eq!(e.other_reading.as_deref(), Some(&b"c d"[..]));
    }

    #[test]
    fn order_holds_under_either_reading() {
        let page = parse_list_page(url_page(&["a+b", "a%21", "b"]).as_bytes()).unwrap();
        let [x, y, z] = &page.contents[..] else {
            panic!()
        };
        // Decoded: "a b" < "a!"; as sent: "a+b" > "a%21". One reading in order is enough.
        assert!(listed_in_order(x, y));
        assert!(listed_in_order(y, z) && listed_in_order(x, z));
        // Backwards under both readings, and the same key twice, are never in order.
        assert!(!listed_in_order(z, x));
        assert!(!listed_in_order(z, z));
    }

    #[test]
    fn a_bad_entry_is_kept_with_its_problem() {
        let xml = b"<ListBucketResult><Contents><Key>a</Key><Size>-1</Size></Contents><Contents><Key>b</Key><ETag>\xff</ETag><Size>2</Size></Contents><Contents><Size>3</Size></Contents><Contents><Key>c</Key></Contents></ListBucketResult>";
        let page = parse_list_page(xml).unwrap();
        let problems: Vec<_> = page
            .contents
            .iter()
            .map(|e| e.problem.as_deref().cloned())
            .collect();
        assert_eq!(
            problems,
            vec![
                Some(EntryProblem::NotANumber("Size", b"-1".to_vec())),
                Some(EntryProblem::NotUtf8("ETag")),
                Some(EntryProblem::NoKey),
                None
            ]
        );
        assert_eq!(page.contents[1].size, Some(2));
        assert!(problems[0].as_ref().unwrap().to_string().contains("\"-1\""));
    }

    #[test]
    fn a_page_with_more_entries_than_asked_for_is_refused_early() {
        let xml = format!(
            "<ListBucketResult>{}</ListBucketResult>",
            "<Contents/>".repeat(3)
        );
        assert!(parse_list_page_at_most(xml.as_bytes(), 3).is_ok());
        let err = parse_list_page_at_most(xml.as_bytes(), 2).unwrap_err();
        assert!(err.0.contains("more than the 2 entries"), "{err}");
        let mixed = "<ListBucketResult><Contents/><CommonPrefixes><Prefix>p/</Prefix></CommonPrefixes></ListBucketResult>";
        assert!(parse_list_page_at_most(mixed.as_bytes(), 1).is_err());
    }

    #[test]
    fn error_root_is_rejected() {
        let err = parse_list_page(b"<Error><Code>SlowDown</Code></Error>").unwrap_err();
        assert!(err.0.contains("<Error>"), "{err}");
    }

    #[test]
    fn bad_page_fields_are_named() {
        let err = parse_list_page(
            b"<ListBucketResult><IsTruncated>maybe</IsTruncated></ListBucketResult>",
        )
        .unwrap_err();
        assert!(err.0.contains("<IsTruncated>"), "{err}");
        let err = parse_list_page(b"<ListBucketResult><KeyCount>x</KeyCount></ListBucketResult>")
            .unwrap_err();
        assert!(err.0.contains("<KeyCount>"), "{err}");
    }
}
