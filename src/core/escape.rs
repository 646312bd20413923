//! Escaping of untrusted text (keys, metadata, anything a server sends) for the places it is printed:
//! JSON strings, the backslash escapes of the `text` format, and one-line messages on a terminal.
//!
//! Three kinds of characters never pass through raw, whatever the place:
//! - C0 controls, DEL and C1 controls (a terminal acts on them);
//! - U+2028 and U+2029 (line breaks to some JSON readers);
//! - bidi and invisible format characters ([`is_invisible_format`]): they reorder or hide what a reader
//!   sees ("Trojan Source"), so a key that shows as `report.csv` could be something else.

use std::io::Write as _;

/// Bidi controls and invisible format characters: U+061C, U+200B–U+200F, U+202A–U+202E,
/// U+2060–U+2064, U+2066–U+2069, U+FEFF. Escaped everywhere, like C1 controls.
pub fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{061C}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}'
        | '\u{FEFF}')
}

/// Characters no encoder writes raw: controls (C0, DEL, C1), U+2028/2029 and the invisible format
/// characters.
pub fn is_never_raw(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}' || is_invisible_format(c)
}

/// Walks `bytes` as runs of plain ASCII (`is_plain`), then single characters, then invalid UTF-8
/// sequences, so that the common case, a plain ASCII key, is copied in one go. Linear: each character
/// is decoded from at most four bytes, never by validating the rest of the input.
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
        if rest.is_empty() {
            break;
        }
        // A character is at most four bytes; the window also gives the invalid prefix the way the
        // whole input would (at most three bytes).
        let window = &rest[..rest.len().min(4)];
        let Some(chunk) = window.utf8_chunks().next() else {
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

/// Appends a JSON string literal. Control characters (C0, DEL, C1), U+2028/2029 and the invisible
/// format characters are `\u` escaped; bytes that are not UTF-8 become U+FFFD (callers add the
/// `_base64` twin that keeps them exactly).
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
            c if is_never_raw(c) => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => push_char(out, c),
        },
        |out, _| out.extend_from_slice("\u{FFFD}".as_bytes()),
    );
    out.push(b'"');
}

/// Appends `bytes` with backslash escapes: `\\`, `\t`, `\r`, `\n`, `\xHH` for other C0 controls, DEL and
/// bytes that are not UTF-8, `\u{HHHH}` for C1 controls, U+2028/2029 and invisible format characters, and `\;`/`\=`
/// when `separators` is set. [`unescape_text`] gives the exact bytes back.
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
                let _ = write!(out, "\\x{:02X}", c as u32);
            }
            c if is_never_raw(c) => {
                let _ = write!(out, "\\u{{{:04X}}}", c as u32);
            }
            c => push_char(out, c),
        },
        |out, invalid| {
            for b in invalid {
                let _ = write!(out, "\\x{b:02X}");
            }
        },
    );
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
                if s.get(i + 2) != Some(&b'{') {
                    return None;
                }
                let close = s[i..].iter().position(|&b| b == b'}')?;
                let hex = std::str::from_utf8(s.get(i + 3..i + close)?).ok()?;
                let c = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
                push_char(&mut out, c);
                i += close - 1;
            }
            _ => return None,
        }
        i += 2;
    }
    Some(out)
}

/// Splits a line of the `text` format (or one of its fields) at every `sep` that is not escaped: the
/// key from the metadata at `\t`, the entries at `;`, a name from its value at `=`. Each part is still
/// escaped ([`unescape_text`] gives its bytes).
pub fn split_unescaped(s: &[u8], sep: u8) -> Vec<&[u8]> {
    let (mut parts, mut start, mut i) = (Vec::new(), 0, 0);
    while i < s.len() {
        if s[i] == b'\\' {
            i += 2;
            continue;
        }
        if s[i] == sep {
            parts.push(&s[start..i]);
            start = i + 1;
        }
        i += 1;
    }
    parts.push(&s[start..]);
    parts
}

/// Text of untrusted origin made safe for a one-line message: escaped as in the `text` format (no raw
/// control, bidi or invisible character; bytes that are not UTF-8 as `\xHH`), at most `max` bytes of
/// it, cut between two characters or escapes, with `…` where it was cut. Only the first `max` bytes of
/// the input are looked at.
pub fn terminal_text(bytes: &[u8], max: usize) -> String {
    let mut out = Vec::with_capacity(bytes.len().min(max) + 4);
    let mut piece = Vec::with_capacity(16);
    // Appends one character's (or byte's) escape if it fits.
    let mut fits = |out: &mut Vec<u8>, raw: &[u8]| {
        piece.clear();
        push_escaped_text(&mut piece, raw, false);
        let ok = out.len() + piece.len() <= max;
        if ok {
            out.extend_from_slice(&piece);
        }
        ok
    };
    let mut cut = bytes.len() > max;
    'chunks: for chunk in bytes[..bytes.len().min(max)].utf8_chunks() {
        for c in chunk.valid().chars() {
            if !fits(&mut out, c.encode_utf8(&mut [0; 4]).as_bytes()) {
                cut = true;
                break 'chunks;
            }
        }
        for &b in chunk.invalid() {
            if !fits(&mut out, &[b]) {
                cut = true;
                break 'chunks;
            }
        }
    }
    let mut text = String::from_utf8(out).unwrap_or_default();
    if cut {
        text.push('…');
    }
    text
}

/// Whether `s` can be written to a terminal as it is: no control, bidi or invisible character.
pub fn is_terminal_safe(s: &str) -> bool {
    !s.chars().any(is_never_raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(bytes: &[u8]) -> String {
        let mut out = Vec::new();
        push_escaped_text(&mut out, bytes, true);
        String::from_utf8(out).unwrap()
    }

    fn json(bytes: &[u8]) -> String {
        let mut out = Vec::new();
        push_json_string(&mut out, bytes);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn bidi_and_invisible_characters_are_escaped_everywhere() {
        let trojan = "a\u{202E}fdp.exe\u{200B}\u{2066}\u{FEFF}\u{061C}".as_bytes();
        assert_eq!(
            text(trojan),
            "a\\u{202E}fdp.exe\\u{200B}\\u{2066}\\u{FEFF}\\u{061C}"
        );
        assert_eq!(
            json(trojan),
            "\"a\\u202efdp.exe\\u200b\\u2066\\ufeff\\u061c\""
        );
        assert_eq!(unescape_text(text(trojan).as_bytes()).unwrap(), trojan);
        assert!(!is_terminal_safe("x\u{202A}"));
        assert!(is_terminal_safe("plain, ünïcode 日本"));
        // Neighbours of the escaped ranges pass through.
        assert_eq!(
            text("\u{200A}\u{2065}\u{2070}".as_bytes()),
            "\u{200A}\u{2065}\u{2070}"
        );
    }

    #[test]
    fn terminal_text_escapes_and_bounds() {
        assert_eq!(terminal_text(b"Slow\x1b[2JDown", 64), "Slow\\x1B[2JDown");
        assert_eq!(terminal_text(b"line\nbreak\xff", 64), "line\\nbreak\\xFF");
        let long = vec![b'a'; 10_000];
        let t = terminal_text(&long, 100);
        assert_eq!(t.len(), 100 + '…'.len_utf8());
        assert!(t.ends_with('…'));
        // An escape that would cross the bound is cut, never a raw control character.
        let t = terminal_text(&[0x1b; 100], 10);
        assert!(is_terminal_safe(&t), "{t}");
        // Cut between characters or escapes, never inside one.
        assert_eq!(terminal_text("ééééé".as_bytes(), 5), "éé…");
        assert_eq!(terminal_text(b"ab\x1bcd", 5), "ab…");
    }

    #[test]
    fn escaping_is_linear_in_the_input() {
        // Each of these made the encoders validate the rest of the input at every escaped character.
        for unit in ["=?a?b?x", "é", "\u{202E}", "\\"] {
            let big: Vec<u8> = unit.bytes().cycle().take(1 << 20).collect();
            let mut out = Vec::new();
            push_escaped_text(&mut out, &big, true);
            push_json_string(&mut out, &big);
            assert!(out.len() >= 2 * big.len());
        }
        // Invalid sequences come out as the whole input would give them.
        assert_eq!(
            text(b"a\xe2\x82A\xf0\x9f\x90"),
            "a\\xE2\\x82A\\xF0\\x9F\\x90"
        );
    }

    #[test]
    fn unescape_rejects_malformed_escapes() {
        for bad in [
            &b"\\"[..],
            b"\\q",
            b"\\x4",
            b"\\xZZ",
            b"\\u{110000}",
            b"\\u{41",
            b"\\u41",
        ] {
            assert_eq!(
                unescape_text(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
