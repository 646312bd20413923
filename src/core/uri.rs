//! Percent-encoding as S3 and SigV4 want it, and the form-decoding of keys in `encoding-type=url` listings.
//!
//! - A path is encoded **once**, `/` kept (S3 never double-encodes, unlike other AWS services).
//! - A query name or value is encoded strictly: everything but RFC 3986 unreserved characters.
//! - Hex digits are upper case, as the canonical request requires.

const UPPER_HEX: &[u8; 16] = b"0123456789ABCDEF";

/// RFC 3986 unreserved characters: the only bytes SigV4 leaves unencoded.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn push_escaped(out: &mut String, b: u8) {
    out.push('%');
    out.push(UPPER_HEX[(b >> 4) as usize] as char);
    out.push(UPPER_HEX[(b & 15) as usize] as char);
}

/// Appends `bytes` encoded for a URI path: unreserved characters and `/` as they are, the rest `%XX`.
pub fn encode_path_into(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        if is_unreserved(b) || b == b'/' {
            out.push(b as char);
        } else {
            push_escaped(out, b);
        }
    }
}

/// Appends `bytes` encoded for a query name or value: unreserved characters as they are, the rest `%XX`.
pub fn encode_query_into(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        if is_unreserved(b) {
            out.push(b as char);
        } else {
            push_escaped(out, b);
        }
    }
}

/// `bytes` encoded for a query name or value.
pub fn encode_query(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3 / 2);
    encode_query_into(&mut out, bytes);
    out
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn decode(input: &[u8], plus_is_space: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if b == b'%' && i + 2 < input.len() {
            if let (Some(h), Some(l)) = (hex_value(input[i + 1]), hex_value(input[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(if plus_is_space && b == b'+' { b' ' } else { b });
        i += 1;
    }
    out
}

/// Decodes `%XX` escapes; a `%` not followed by two hex digits stays as it is.
pub fn percent_decode(input: &[u8]) -> Vec<u8> {
    decode(input, false)
}

/// Decodes as an HTML form does (`+` is a space, `%XX` a byte), the way S3's `encoding-type=url` must be read:
/// AWS and MinIO send a space as `+` and a plus as `%2B`; Ceph sends a space as `%20`. Both decode correctly.
pub fn form_decode(input: &[u8]) -> Vec<u8> {
    decode(input, true)
}

/// The `name=value` pairs of a query string, each side percent-decoded (`+` stays a plus, as SigV4 reads it).
pub fn query_pairs(query: &str) -> impl Iterator<Item = (Vec<u8>, Vec<u8>)> + '_ {
    query.split('&').filter(|p| !p.is_empty()).map(|p| {
        let (n, v) = p.split_once('=').unwrap_or((p, ""));
        (percent_decode(n.as_bytes()), percent_decode(v.as_bytes()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(s: &str) -> String {
        let mut out = String::new();
        encode_path_into(&mut out, s.as_bytes());
        out
    }

    #[test]
    fn path_keeps_slashes_and_unreserved_and_never_normalizes() {
        assert_eq!(path("/a b/c+d/-._~"), "/a%20b/c%2Bd/-._~");
        assert_eq!(path("//x/./../y/"), "//x/./../y/");
        assert_eq!(path("/test$file.text"), "/test%24file.text");
        assert_eq!(path("/<> `?🐱"), "/%3C%3E%20%60%3F%F0%9F%90%B1");
        assert_eq!(path("/100%"), "/100%25");
    }

    #[test]
    fn query_is_strict() {
        assert_eq!(encode_query(b"a/b c+d=e&f"), "a%2Fb%20c%2Bd%3De%26f");
        assert_eq!(encode_query("ሴ".as_bytes()), "%E1%88%B4");
    }

    #[test]
    fn query_pairs_decode_both_sides() {
        let pairs: Vec<_> = query_pairs("a%20b=c%2Fd&&flag&e=").collect();
        assert_eq!(
            pairs,
            vec![
                (b"a b".to_vec(), b"c/d".to_vec()),
                (b"flag".to_vec(), vec![]),
                (b"e".to_vec(), vec![])
            ]
        );
    }

    #[test]
    fn form_decoding_handles_both_space_styles() {
        assert_eq!(form_decode(b"a+b%20c%2Bd"), b"a b c+d");
        assert_eq!(percent_decode(b"a+b%2B"), b"a+b+");
        // A stray or truncated escape is kept as it is.
        assert_eq!(form_decode(b"100%"), b"100%");
        assert_eq!(form_decode(b"%4"), b"%4");
        assert_eq!(form_decode(b"%zz%41"), b"%zzA");
    }
}
