//! Writing to stderr and stdout without panicking, and keys shown in messages.
//!
//! Every message line goes through [`stderr_line`], which escapes any control, bidi or invisible
//! character that is still in it: text of the server's origin is escaped where it is put into a
//! message, and this is the net under that, so no such character ever reaches the terminal. It also
//! takes out the secrets registered with [`never_show`] (a server may echo the session token).

use std::io::Write;
use std::sync::Mutex;

use crate::core::escape::{is_never_raw, is_terminal_safe, push_json_string};
use crate::core::redact::Redactor;

/// The secrets of this process's scans. Process-wide: stderr is.
static SECRETS: Mutex<Option<Redactor>> = Mutex::new(None);

/// Never write `secret`, or a long piece of it, to stderr.
pub(crate) fn never_show(secret: &str) {
    super::lock(&SECRETS)
        .get_or_insert_with(Redactor::default)
        .add(secret);
}

/// A key for a message: a JSON string, quoted and escaped. Keys longer than this are cut (S3 keys are
/// at most 1,024 bytes; a server may send more).
const MAX_KEY_SHOWN: usize = 4096;

/// Writes one line to stderr. A closed or broken stderr is ignored, never a panic (`eprintln!` panics).
pub fn stderr_line(line: &str) {
    let secrets = super::lock(&SECRETS);
    write_line(line, secrets.as_ref());
}

/// [`stderr_line`] for the panic hook, which must not wait for the secrets' lock (a panic while it is
/// held would wait forever): when it is taken, the panic's own text is not shown.
pub(crate) fn panic_line(line: &str) {
    match SECRETS.try_lock() {
        Ok(secrets) => write_line(line, secrets.as_ref()),
        Err(std::sync::TryLockError::Poisoned(p)) => write_line(line, p.into_inner().as_ref()),
        Err(std::sync::TryLockError::WouldBlock) => write_line(
            "s3meta: internal error, please report it (its message is withheld)",
            None,
        ),
    }
}

fn write_line(line: &str, secrets: Option<&Redactor>) {
    let redacted = match secrets {
        Some(r) => r.redact(line),
        None => std::borrow::Cow::Borrowed(line),
    };
    let line = redacted.as_ref();
    let escaped;
    let line = if is_terminal_safe(line) {
        line
    } else {
        escaped = escape_remaining(line);
        &escaped
    };
    let mut err = std::io::stderr().lock();
    let _ = err
        .write_all(line.as_bytes())
        .and_then(|_| err.write_all(b"\n"));
}

fn escape_remaining(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 16);
    for c in line.chars() {
        if is_never_raw(c) {
            out.push_str(&format!("\\u{{{:04X}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Writes text to stdout, ignoring a closed pipe (`s3meta --help | head -1`).
pub fn stdout_text(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
}

/// An object key for a message: a JSON string, quoted and escaped, cut after [`MAX_KEY_SHOWN`] bytes.
pub fn quote_key(key: &[u8]) -> String {
    let shown = &key[..key.len().min(MAX_KEY_SHOWN)];
    let mut out = Vec::with_capacity(shown.len() + 2);
    push_json_string(&mut out, shown);
    let mut text = String::from_utf8_lossy(&out).into_owned();
    if shown.len() < key.len() {
        text.push_str(&format!("…({} bytes)", key.len()));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_left_unescaped_is_escaped_at_the_end() {
        assert_eq!(
            escape_remaining("a\x1b[2Jb\u{202E}c"),
            "a\\u{001B}[2Jb\\u{202E}c"
        );
    }

    #[test]
    fn long_keys_are_cut_in_messages() {
        let key = vec![b'k'; 10_000];
        let shown = quote_key(&key);
        assert!(
            shown.len() < 4200 && shown.ends_with("…(10000 bytes)"),
            "{}",
            shown.len()
        );
        assert_eq!(quote_key(b"a\x1b"), "\"a\\u001b\"");
    }
}
