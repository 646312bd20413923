//! Keeping secrets out of messages. The secret key is never sent, but the session token is, and the
//! `Authorization` header carries a request's signature: a server may echo either in its error text,
//! and that text is shown. [`Redactor`] replaces, in a message line, any run of 16 or more characters
//! of a registered secret (a server's message may be cut, or start inside the token), and any
//! `Signature=` followed by 64 hex digits.

use std::borrow::Cow;
use std::collections::HashSet;

/// What replaces a secret.
pub const REDACTED: &str = "**redacted**";
/// A run this long of a secret's text is taken for the secret.
const WINDOW: usize = 16;
/// Shorter values are not secrets anyone issues (AWS secrets are 40 characters); redacting them
/// would blank out ordinary words.
const MIN_SECRET: usize = 8;

#[derive(Debug, Default)]
pub struct Redactor {
    /// Every WINDOW-byte piece of every long secret.
    windows: HashSet<[u8; WINDOW]>,
    /// Secrets shorter than a window, matched whole.
    short: Vec<String>,
}

impl Redactor {
    /// Never show `secret` (nor a long piece of it).
    pub fn add(&mut self, secret: &str) {
        let b = secret.as_bytes();
        if b.len() < MIN_SECRET {
            return;
        }
        if b.len() < WINDOW {
            if !self.short.iter().any(|s| s == secret) {
                self.short.push(secret.to_owned());
            }
            return;
        }
        for w in b.windows(WINDOW) {
            self.windows
                .insert(w.try_into().expect("a window is WINDOW bytes"));
        }
    }

    /// `line` with every secret, piece of one, and request signature replaced by [`REDACTED`].
    pub fn redact<'a>(&self, line: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(line);
        if !self.windows.is_empty() && line.len() >= WINDOW {
            out = Cow::Owned(self.redact_windows(&out));
        }
        for s in &self.short {
            if out.contains(s.as_str()) {
                out = Cow::Owned(out.replace(s.as_str(), REDACTED));
            }
        }
        if out.contains("Signature=") {
            out = Cow::Owned(redact_signatures(&out));
        }
        out
    }

    /// Replaces each maximal run whose every WINDOW-byte piece is a piece of a secret.
    fn redact_windows(&self, line: &str) -> String {
        let b = line.as_bytes();
        let hit = |i: usize| {
            b.get(i..i + WINDOW)
                .and_then(|w| <&[u8; WINDOW]>::try_from(w).ok())
                .is_some_and(|w| self.windows.contains(w))
        };
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            if hit(i) {
                let mut end = i + WINDOW;
                while end < b.len() && hit(end + 1 - WINDOW) {
                    end += 1;
                }
                out.extend_from_slice(REDACTED.as_bytes());
                i = end;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        // Secrets are sent in headers: ASCII. A run never splits a multi-byte character unless the
        // line holds a secret's bytes inside one, and then the lossy form is still safe to show.
        String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }
}

/// `Signature=` followed by 64 hex digits: a SigV4 signature (a request anyone could replay for
/// minutes), from an echoed `Authorization` header or a presigned URL.
fn redact_signatures(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find("Signature=") {
        let after = at + "Signature=".len();
        out.push_str(&rest[..after]);
        let hex = rest[after..]
            .bytes()
            .take_while(u8::is_ascii_hexdigit)
            .count();
        if hex >= 64 {
            out.push_str(REDACTED);
            rest = &rest[after + hex..];
        } else {
            rest = &rest[after..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "IQoJb3JpZ2luX2VjEXAMPLETOKENaaaabbbbccccddddeeeeffff0123456789";

    fn redactor() -> Redactor {
        let mut r = Redactor::default();
        r.add(TOKEN);
        r.add("shortsecret");
        r.add("tiny");
        r
    }

    #[test]
    fn a_secret_whole_cut_or_inside_a_message_is_not_shown() {
        let r = redactor();
        let echoed = format!("InvalidToken: the token {TOKEN} is bad");
        assert_eq!(
            r.redact(&echoed),
            "InvalidToken: the token **redacted** is bad"
        );
        // Cut at the end by the message limit, or starting inside the token.
        let cut = format!("x {}…", &TOKEN[..30]);
        assert_eq!(r.redact(&cut), "x **redacted**…");
        let inside = format!("x {} y", &TOKEN[7..40]);
        assert_eq!(r.redact(&inside), "x **redacted** y");
        assert_eq!(r.redact("key shortsecret here"), "key **redacted** here");
        // Fifteen characters of it are not taken for it; short values are not secrets.
        let short = format!("{} tiny", &TOKEN[..15]);
        assert_eq!(r.redact(&short), short);
        assert!(matches!(r.redact("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn request_signatures_are_not_shown() {
        let r = Redactor::default();
        let sig = "a".repeat(64);
        let line =
            format!("echo: Credential=AKID/x, SignedHeaders=host, Signature={sig}, Signature=12");
        assert_eq!(
            r.redact(&line),
            "echo: Credential=AKID/x, SignedHeaders=host, Signature=**redacted**, Signature=12"
        );
    }
}
