//! The one error type of the I/O shell. It keeps what happened (an S3 code with its HTTP status, a
//! timeout and in which phase, a connection error with its source, an XML error, an output error), so
//! that retries, throttling and exit codes are decided from data; `Display` gives the one-line message.
//! Everything of the server's origin in a message is escaped and bounded when it is shown.

use std::fmt;
use std::io;
use std::time::Duration;

use crate::core::escape::terminal_text;
use crate::core::list::EntryProblem;
use crate::core::metadata::BadMissingMeta;
use crate::core::s3error::{self, Hint, S3Error};
use crate::core::xml_text::XmlError;

/// The request an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    List,
    Head,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::List => "ListObjectsV2",
            Operation::Head => "HEAD",
        })
    }
}

/// Which wait ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutPhase {
    /// Opening a TCP connection.
    Connect,
    /// From sending a request to the response's status line and headers.
    ResponseHead,
    /// Reading a response body.
    Body,
}

/// A response that S3 would not send.
#[derive(Debug)]
#[non_exhaustive]
pub enum BadResponse {
    /// A 200 whose body is neither a listing nor an S3 error.
    NotAListing(XmlError),
    /// A body larger than a page of the size asked for can be.
    BodyTooLarge { limit: usize },
    /// Status line and headers larger than allowed, or more headers (`--max-header-bytes`).
    HeadTooLarge { limit: usize, max_headers: usize },
    /// An `x-amz-missing-meta` that is not a number.
    Metadata(BadMissingMeta),
}

/// Why a listing cannot go on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListingError {
    /// `IsTruncated` is true, but there is no `NextContinuationToken`.
    TruncatedWithoutToken,
    /// The next token is the one just sent (its length; tokens are opaque and may be secret-ish).
    RepeatedToken { len: usize },
    /// A continuation token seen before: the listing would loop.
    TokenSeenBefore { page: u64 },
    /// Page after page without a single key, each with a new token.
    NoProgress { pages: u64 },
    /// The first page starts at or before the `--start-after` key: the server ignored it.
    BeforeStartAfter { first: Vec<u8> },
    /// A listing split into ranges met a page out of order, or a key before its `start-after`: its
    /// ranges do not hold what their keys say.
    UnorderedInRange,
    /// A probe of `s3meta plan` met a page out of order, or a key before its `start-after`.
    UnorderedForPlan,
    /// A page whose keys do not come after the previous page's last key.
    WentBackwards {
        page: u64,
        previous: Vec<u8>,
        first: Vec<u8>,
    },
}

/// A TLS handshake that was refused: where, for which name, whom we trusted, and rustls's reason.
#[cfg(feature = "tls")]
#[derive(Debug)]
pub struct TlsRefused {
    pub addr: String,
    pub host: String,
    pub roots: String,
    pub source: rustls::Error,
}

/// Everything that can go wrong in talking to S3 and writing the records.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an error status (or an `<Error>` inside a 200). HEAD answers carry no
    /// body, so `s3` is `None` for them.
    Status {
        op: Operation,
        status: u16,
        s3: Option<Box<S3Error>>,
    },
    /// A wait ran out.
    Timeout {
        op: Operation,
        phase: TimeoutPhase,
        after: Duration,
    },
    /// The host name did not resolve.
    Resolve { host: String, source: io::Error },
    /// No connection could be opened (`addr`: the last address tried).
    Connect { addr: String, source: io::Error },
    /// The server resolved to no address at all.
    NoAddress { host: String },
    /// The TLS handshake was refused, by us (a certificate not trusted, or for another name) or by the
    /// server (nothing in common): another attempt would meet the same. `roots` says whom we trusted.
    #[cfg(feature = "tls")]
    Tls(Box<TlsRefused>),
    /// The connection failed under the request: reset, closed before the answer, a protocol error.
    Connection { op: Operation, source: hyper::Error },
    /// The server closed every connection it accepted before the request could be sent.
    ClosedBeforeUse { tries: usize, source: hyper::Error },
    /// The server refused a request for our clock (its `Date` is this far ahead of ours); the
    /// next attempt is signed with its time.
    ClockSkewed { op: Operation, offset_secs: i64 },
    /// A response S3 would not send.
    BadResponse { op: Operation, problem: BadResponse },
    /// The listing cannot go on.
    Listing(ListingError),
    /// One entry of a listing cannot be looked up.
    BadEntry(EntryProblem),
    /// Both readings of a listed key name an object, and nothing tells which one was listed.
    AmbiguousKey { other: Vec<u8> },
    /// The request could not be built (for example a key too long for a URI).
    Request {
        op: Operation,
        source: hyper::http::Error,
    },
    /// Writing the records failed.
    Output(io::Error),
    /// Something the run needs could not be set up (the runtime, a listener, the output file).
    Setup { what: String, source: io::Error },
    /// A CA bundle that was named cannot be used (missing, unreadable, too large, no certificate):
    /// the configuration's fault, found before any request.
    CaBundle { what: String, source: io::Error },
    /// A checkpoint, or the output it goes with, cannot be used to resume (named as `what`, with
    /// the problem in words): the user's to decide, found before any request.
    Checkpoint { what: String, problem: String },
    /// Retries used up: how many attempts were made, and what the last one met.
    GaveUp { attempts: u32, last: Box<Error> },
}

impl Error {
    /// Whether another attempt of the same request may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Status { status, s3, .. } => {
                s3error::is_retryable(*status, s3.as_ref().and_then(|e| e.code.as_deref()))
            }
            Error::Timeout { .. }
            | Error::Resolve { .. }
            | Error::Connect { .. }
            | Error::NoAddress { .. }
            | Error::Connection { .. }
            | Error::ClosedBeforeUse { .. }
            | Error::ClockSkewed { .. } => true,
            #[cfg(feature = "tls")]
            Error::Tls(_) => false,
            Error::BadResponse { .. }
            | Error::Listing(_)
            | Error::BadEntry(_)
            | Error::AmbiguousKey { .. }
            | Error::Request { .. }
            | Error::Output(_)
            | Error::Setup { .. }
            | Error::CaBundle { .. }
            | Error::Checkpoint { .. }
            | Error::GaveUp { .. } => false,
        }
    }

    /// Whether the server said it is throttling (429, `SlowDown`, a HEAD's bare 503).
    pub fn is_throttling(&self) -> bool {
        match self {
            Error::Status { status, s3, .. } => {
                s3error::is_throttling(*status, s3.as_ref().and_then(|e| e.code.as_deref()))
            }
            Error::GaveUp { last, .. } => last.is_throttling(),
            _ => false,
        }
    }

    /// Whether the server answered (with a status), as opposed to a request that got no answer.
    pub fn is_answer(&self) -> bool {
        matches!(self.root(), Error::Status { .. })
    }

    /// Whether a wait ran out.
    pub fn is_timeout(&self) -> bool {
        matches!(self.root(), Error::Timeout { .. })
    }

    /// The error behind retries, if retries were used up.
    pub fn root(&self) -> &Error {
        match self {
            Error::GaveUp { last, .. } => last.root(),
            other => other,
        }
    }

    /// The configuration cannot be used: the user's to mend, not the server's.
    pub fn is_configuration(&self) -> bool {
        matches!(self, Error::CaBundle { .. } | Error::Checkpoint { .. })
    }

    /// Writing stopped because the reader went away (`| head`): not a failure.
    pub fn is_closed_output(&self) -> bool {
        matches!(self, Error::Output(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}

/// What to check, in words.
fn hint_text(hint: Hint) -> &'static str {
    match hint {
        Hint::BucketAndEndpoint => "check the bucket name and the endpoint",
        Hint::Permissions => "check the credentials' permissions (s3:ListBucket, s3:GetObject)",
        Hint::AccessKeyId => "check AWS_ACCESS_KEY_ID or the profile's aws_access_key_id",
        Hint::SecretKey => "check the secret access key (and --region)",
        Hint::Clock => "the local clock is off by more than 15 minutes: fix it",
        Hint::Region => "check --region",
        Hint::Redirect => "the bucket lives elsewhere: check --region and --endpoint-url",
        Hint::ExpiredToken => "the session token has expired: refresh the credentials",
        Hint::BucketName => "check the bucket name",
        Hint::RegionAndAddressing => "check --region and --addressing",
        Hint::Credentials => "check the credentials and their permissions",
        Hint::ServerHealth => "check the endpoint and the server's health",
    }
}

fn status_text(status: u16) -> String {
    match hyper::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
    {
        Some(reason) => format!("{status} {reason}"),
        None => status.to_string(),
    }
}

/// An error and its causes on one line: hyper's own message ("connection closed before message
/// completed") says little without them.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// What to do about a refused handshake, in words.
#[cfg(feature = "tls")]
fn tls_hint(e: &rustls::Error) -> Option<&'static str> {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(C::UnknownIssuer) => Some(
            "the certificate is not signed by a trusted CA: for a private CA, give --ca-bundle FILE (or AWS_CA_BUNDLE)",
        ),
        rustls::Error::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => {
            Some("the certificate is for another name: check the endpoint, --addressing and --resolve")
        }
        rustls::Error::InvalidCertificate(C::Expired | C::ExpiredContext { .. } | C::NotValidYet | C::NotValidYetContext { .. }) => {
            Some("the certificate is out of its validity period (or the local clock is wrong)")
        }
        _ => None,
    }
}

/// Server text in a message: escaped, and no longer than this.
const MAX_SERVER_TEXT: usize = 200;

fn server_text(s: &str) -> String {
    terminal_text(s.as_bytes(), MAX_SERVER_TEXT)
}

fn quoted_key(key: &[u8]) -> String {
    super::terminal::quote_key(key)
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Status { op, status, s3: None } => {
                let verb = if *op == Operation::Head { "answered" } else { "failed with" };
                write!(
                    f,
                    "{op} {verb} {} ({})",
                    status_text(*status),
                    hint_text(s3error::hint(*status, None, None))
                )
            }
            Error::Status { op, status, s3: Some(err) } => {
                let code = err.code.as_deref();
                write!(
                    f,
                    "{op} failed: {} ({})",
                    code.map(server_text).unwrap_or_else(|| "no error code".into()),
                    status_text(*status)
                )?;
                if let Some(message) = err.message.as_deref().filter(|m| !m.is_empty()) {
                    write!(f, ": {}", server_text(message))?;
                }
                if let Some(region) = err.other("Region") {
                    write!(f, " [server says region \"{}\"]", server_text(region))?;
                }
                write!(
                    f,
                    " — {}",
                    hint_text(s3error::hint(*status, code, err.message.as_deref()))
                )
            }
            Error::Timeout { op, phase, after } => {
                let secs = after.as_secs_f64();
                match phase {
                    TimeoutPhase::Connect => write!(f, "{op}: no connection within {secs} s"),
                    TimeoutPhase::ResponseHead => write!(f, "{op}: no response within {secs} s"),
                    TimeoutPhase::Body => {
                        write!(f, "{op}: response body not received within {secs} s")
                    }
                }
            }
            Error::Resolve { host, source } => write!(f, "resolving {host}: {source}"),
            Error::Connect { addr, source } => write!(f, "connecting to {addr}: {source}"),
            Error::NoAddress { host } => write!(f, "{host} resolved to no address"),
            #[cfg(feature = "tls")]
            Error::Tls(refused) => {
                let TlsRefused {
                    addr,
                    host,
                    roots,
                    source,
                } = refused.as_ref();
                // rustls names what the certificate holds (its names): the server's text.
                write!(
                    f,
                    "TLS with {host} at {addr} refused: {} (trusting {roots})",
                    terminal_text(source.to_string().as_bytes(), MAX_SERVER_TEXT * 2)
                )?;
                match tls_hint(source) {
                    Some(hint) => write!(f, " — {hint}"),
                    None => Ok(()),
                }
            }
            Error::Connection { op, source } => write!(f, "{op}: {}", error_chain(source)),
            Error::ClockSkewed { op, offset_secs } => write!(
                f,
                "{op} refused: the local clock is {} s off the server's ({})",
                offset_secs.abs(),
                hint_text(Hint::Clock)
            ),
            Error::ClosedBeforeUse { tries, source } => write!(
                f,
                "the server closed {tries} connections before they took a request: {}",
                error_chain(source)
            ),
            Error::BadResponse { op, problem } => match problem {
                BadResponse::NotAListing(e) => {
                    write!(f, "{op} answered 200 with a body that is not a listing: {e}")
                }
                BadResponse::BodyTooLarge { limit } => write!(
                    f,
                    "{op} answered with a body larger than {limit} bytes, more than any page of the size asked for"
                ),
                BadResponse::HeadTooLarge { limit, max_headers } => write!(
                    f,
                    "{op} answered with headers larger than {limit} bytes or more than {max_headers} of them (see --max-header-bytes)"
                ),
                BadResponse::Metadata(e) => write!(f, "{op}: {e}"),
            },
            Error::Listing(l) => match l {
                ListingError::TruncatedWithoutToken => f.write_str(
                    "ListObjectsV2 said the listing is truncated but sent no NextContinuationToken: the server is not S3-compatible here",
                ),
                ListingError::RepeatedToken { len } => write!(
                    f,
                    "ListObjectsV2 returned the continuation token it was sent ({len} chars) again: the listing would loop"
                ),
                ListingError::TokenSeenBefore { page } => write!(
                    f,
                    "ListObjectsV2 page {page} returned a continuation token seen before: the listing would loop"
                ),
                ListingError::NoProgress { pages } => write!(
                    f,
                    "ListObjectsV2 returned {pages} pages in a row without a key: the listing is not getting anywhere"
                ),
                ListingError::BeforeStartAfter { first } => write!(
                    f,
                    "ListObjectsV2 answered from {}, which is not after --start-after: the server ignored start-after",
                    quoted_key(first)
                ),
                ListingError::UnorderedInRange => f.write_str(
                    "ListObjectsV2 listed out of order, or before the start-after key, in a listing split into key ranges: the ranges cannot be trusted (run with --list-concurrency 1)",
                ),
                ListingError::UnorderedForPlan => f.write_str(
                    "ListObjectsV2 listed out of order, or before the start-after key: a store that does not list in key order cannot be cut into shards (scan it in one process)",
                ),
                ListingError::WentBackwards { page, previous, first } => write!(
                    f,
                    "ListObjectsV2 page {page} starts at {}, which does not come after the previous page's last key {}: the server repeats pages (a continuation-token loop) or lists out of order",
                    quoted_key(first),
                    quoted_key(previous)
                ),
            },
            Error::BadEntry(problem) => write!(f, "{problem}"),
            Error::AmbiguousKey { other } => write!(
                f,
                "the listing's text for this key also reads as {}, and both names are objects: the server's encoding of this key cannot be told",
                quoted_key(other)
            ),
            Error::Request { op, source } => write!(f, "cannot build the {op} request: {source}"),
            Error::Output(e) => write!(f, "cannot write the output: {e}"),
            Error::Setup { what, source } | Error::CaBundle { what, source } => {
                write!(f, "{what}: {source}")
            }
            Error::Checkpoint { what, problem } => write!(
                f,
                "{} {problem}",
                terminal_text(what.as_bytes(), MAX_SERVER_TEXT)
            ),
            Error::GaveUp { attempts, last } => {
                write!(f, "{last} (gave up after {attempts} attempts)")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Resolve { source, .. }
            | Error::Connect { source, .. }
            | Error::Setup { source, .. }
            | Error::CaBundle { source, .. }
            | Error::Output(source) => Some(source),
            Error::Connection { source, .. } | Error::ClosedBeforeUse { source, .. } => {
                Some(source)
            }
            Error::Request { source, .. } => Some(source),
            #[cfg(feature = "tls")]
            Error::Tls(refused) => Some(&refused.source),
            Error::GaveUp { last, .. } => Some(last.as_ref()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(op: Operation, status: u16, code: Option<&str>) -> Error {
        Error::Status {
            op,
            status,
            s3: code.map(|c| {
                Box::new(S3Error {
                    code: Some(c.into()),
                    ..Default::default()
                })
            }),
        }
    }

    #[test]
    fn retryability_and_throttling_are_properties_of_the_error() {
        assert!(status(Operation::Head, 503, None).is_throttling());
        assert!(status(Operation::List, 503, Some("SlowDown")).is_retryable());
        assert!(status(Operation::List, 429, None).is_retryable());
        assert!(!status(Operation::Head, 403, None).is_retryable());
        assert!(!status(Operation::Head, 414, None).is_retryable());
        let gave_up = Error::GaveUp {
            attempts: 3,
            last: Box::new(status(Operation::Head, 503, None)),
        };
        assert!(!gave_up.is_retryable() && gave_up.is_throttling());
        assert!(matches!(gave_up.root(), Error::Status { status: 503, .. }));
        let timeout = Error::Timeout {
            op: Operation::Head,
            phase: TimeoutPhase::ResponseHead,
            after: Duration::from_secs(2),
        };
        assert!(timeout.is_retryable() && !timeout.is_throttling());
        assert!(!Error::Listing(ListingError::TruncatedWithoutToken).is_retryable());
        assert!(Error::Output(io::Error::from(io::ErrorKind::BrokenPipe)).is_closed_output());
    }

    #[test]
    fn server_text_in_messages_is_escaped_and_bounded() {
        let e = Error::Status {
            op: Operation::List,
            status: 403,
            s3: Some(Box::new(S3Error {
                code: Some("Access\x1b[2JDenied".into()),
                message: Some(format!("line\nbreak\u{202E}{}", "x".repeat(5000))),
                other: vec![("Region".into(), "eu\rwest".into())],
                ..Default::default()
            })),
        };
        let shown = e.to_string();
        assert!(crate::core::escape::is_terminal_safe(&shown), "{shown}");
        assert!(shown.contains("Access\\x1B[2JDenied") && shown.contains("eu\\rwest"));
        assert!(shown.len() < 700, "{}", shown.len());
        assert!(
            shown.ends_with("— check the credentials and their permissions"),
            "{shown}"
        );
    }
}
