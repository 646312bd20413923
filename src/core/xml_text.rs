//! A small walker over quick-xml events that S3's XML needs: elements matched by local name (namespace
//! prefixes ignored), text gathered as bytes from text, CDATA and entity or character references, and
//! nothing trimmed or normalized. Text is bytes: whether a field must be UTF-8 is for the caller to say,
//! per field, so that one bad field costs one entry, not the page.

use quick_xml::events::Event;
use quick_xml::Reader;

/// What went wrong reading an XML body, with the byte offset where it went wrong. The message may
/// quote the server's element or entity names: `Display` escapes it and bounds its length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlError(pub String);

/// How much of an XML error message is shown.
const MAX_MESSAGE: usize = 300;

impl std::fmt::Display for XmlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&super::escape::terminal_text(
            self.0.as_bytes(),
            MAX_MESSAGE,
        ))
    }
}

/// The local names from the root down to the current element, kept in one buffer (no allocation per
/// element: a LIST page has thousands).
#[derive(Debug, Default)]
pub struct Path {
    names: String,
    ends: Vec<usize>,
}

impl Path {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The name at depth `i` (0 is the root), or `""` past the end.
    pub fn get(&self, i: usize) -> &str {
        match self.ends.get(i) {
            Some(&end) => &self.names[if i == 0 { 0 } else { self.ends[i - 1] }..end],
            None => "",
        }
    }

    pub fn last(&self) -> Option<&str> {
        self.len().checked_sub(1).map(|i| self.get(i))
    }

    /// The names joined with `/` (for messages and tests).
    pub fn join(&self) -> String {
        (0..self.len())
            .map(|i| self.get(i))
            .collect::<Vec<_>>()
            .join("/")
    }

    fn push(&mut self, qname: &[u8], at: u64) -> Result<(), XmlError> {
        let name = std::str::from_utf8(local_name(qname))
            .map_err(|_| XmlError(format!("element name is not UTF-8 at byte {at}")))?;
        self.names.push_str(name);
        self.ends.push(self.names.len());
        Ok(())
    }

    fn pop(&mut self) {
        self.ends.pop();
        self.names.truncate(self.ends.last().copied().unwrap_or(0));
    }
}

/// One step of the walk.
pub enum Step<'a> {
    Open {
        path: &'a Path,
    },
    /// `text` is the text directly inside the element (empty for `<a/>` and `<a></a>`), as bytes.
    Close {
        path: &'a Path,
        text: &'a [u8],
    },
}

fn local_name(qname: &[u8]) -> &[u8] {
    match qname.iter().rposition(|&b| b == b':') {
        Some(i) => &qname[i + 1..],
        None => qname,
    }
}

/// Walks a whole document, calling `on_step` for every element opened and closed. Fails on malformed or
/// truncated input (an element left open at the end), and on a document with no root element.
pub fn walk(
    xml: &[u8],
    mut on_step: impl FnMut(Step<'_>) -> Result<(), XmlError>,
) -> Result<(), XmlError> {
    let mut reader = Reader::from_reader(xml);
    let mut path = Path::default();
    let mut text: Vec<u8> = Vec::new();
    let mut saw_root = false;
    loop {
        let at = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|e| XmlError(format!("malformed XML near byte {at}: {e}")))?;
        match event {
            Event::Start(start) => {
                if path.is_empty() && saw_root {
                    return Err(XmlError(format!("a second root element at byte {at}")));
                }
                saw_root = true;
                path.push(start.name().as_ref(), at)?;
                text.clear();
                on_step(Step::Open { path: &path })?;
            }
            Event::Empty(start) => {
                if path.is_empty() && saw_root {
                    return Err(XmlError(format!("a second root element at byte {at}")));
                }
                saw_root = true;
                path.push(start.name().as_ref(), at)?;
                on_step(Step::Open { path: &path })?;
                on_step(Step::Close {
                    path: &path,
                    text: b"",
                })?;
                path.pop();
                text.clear();
            }
            Event::End(end) => {
                let qname = end.name();
                let name = local_name(qname.as_ref());
                if path.last().map(str::as_bytes) != Some(name) {
                    let name = String::from_utf8_lossy(name);
                    return Err(XmlError(format!(
                        "mismatched closing tag </{name}> at byte {at}"
                    )));
                }
                on_step(Step::Close {
                    path: &path,
                    text: &text,
                })?;
                path.pop();
                text.clear();
            }
            Event::Text(t) => text.extend_from_slice(&t),
            Event::CData(t) => text.extend_from_slice(&t),
            Event::GeneralRef(r) => {
                let resolved = r.resolve_char_ref().map_err(|e| {
                    XmlError(format!("bad character reference near byte {at}: {e}"))
                })?;
                match resolved {
                    Some(c) => text.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
                    None => {
                        let name = String::from_utf8_lossy(&r);
                        match quick_xml::escape::resolve_predefined_entity(&name) {
                            Some(s) => text.extend_from_slice(s.as_bytes()),
                            None => {
                                return Err(XmlError(format!(
                                    "unknown entity &{name}; near byte {at}"
                                )))
                            }
                        }
                    }
                }
            }
            Event::Eof => {
                if let Some(open) = path.last() {
                    return Err(XmlError(format!(
                        "truncated XML: <{open}> is not closed at the end ({at} bytes)"
                    )));
                }
                if !saw_root {
                    return Err(XmlError("empty document: no root element".into()));
                }
                return Ok(());
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(xml: &str) -> Result<Vec<(String, String)>, XmlError> {
        let mut out = Vec::new();
        walk(xml.as_bytes(), |step| {
            if let Step::Close { path, text } = step {
                out.push((path.join(), String::from_utf8(text.to_vec()).unwrap()));
            }
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn text_entities_cdata_and_prefixes() {
        let got = collect("<?xml version='1.0'?><s3:A xmlns:s3='x'><s3:B> a&amp;b&#13;&#x41;<![CDATA[<c>]]></s3:B><C/></s3:A>").unwrap();
        assert_eq!(got[0], ("A/B".into(), " a&b\rA<c>".into()));
        assert_eq!(got[1], ("A/C".into(), "".into()));
    }

    #[test]
    fn truncated_and_malformed_are_errors() {
        assert!(collect("<A><B>x</B>").unwrap_err().0.contains("truncated"));
        assert!(collect("<A><B>x</C></A>").is_err());
        assert!(collect("").unwrap_err().0.contains("no root"));
        assert!(collect("<A>&bogus;</A>")
            .unwrap_err()
            .0
            .contains("unknown entity"));
        assert!(collect("<A/><B/>").is_err());
    }

    #[test]
    fn text_is_bytes_and_messages_are_escaped() {
        let mut texts = Vec::new();
        walk(b"<A><B>k\xff\x1b&#27;</B></A>", |step| {
            if let Step::Close { text, .. } = step {
                texts.push(text.to_vec());
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(texts[0], b"k\xff\x1b\x1b");
        let err = collect("<A>&evil\u{1b}[2J;</A>").unwrap_err();
        let shown = err.to_string();
        assert!(!shown.contains('\u{1b}'), "{shown}");
        let err = collect(&format!("<A>&{};</A>", "x".repeat(5000))).unwrap_err();
        assert!(err.to_string().len() < 400);
    }
}
