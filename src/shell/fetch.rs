//! One LIST page or one HEAD, sent through the pool with timeouts and retries, and read into core types.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::Response;
use time::OffsetDateTime;

use super::batching::WakeBatching;
use super::client::{HttpClient, Lease, TransportError};
use super::retry::{Jitter, RetryPolicy};
use crate::core::endpoint::BucketTarget;
use crate::core::list::{parse_list_page_with, KeyEncoding, ListPage};
use crate::core::metadata::{self, ObjectMetadata};
use crate::core::request::{self, HttpRequest, ListParams};
use crate::core::s3error::{self, parse_error};
use crate::core::sigv4::Signer;
use crate::error::Error;

/// A LIST page larger than this is refused rather than buffered (1,000 keys of 1 KiB are ~1.5 MB).
const MAX_LIST_BODY: usize = 64 << 20;
/// An error body larger than this is not read.
const MAX_ERROR_BODY: usize = 64 << 10;

/// Everything a request needs, shared by every task of a scan.
pub struct Context {
    /// The keep-alive pool the HEADs share.
    pub heads: HttpClient,
    /// A pool of its own for LIST: a 1000-key page grows a connection's read buffer to hundreds of KB,
    /// and in the shared pool every connection would end up carrying one (measured: +5 MB of RSS over
    /// the first seconds at -j 256, +25 MB at -j 1024). Here one or two connections carry them all.
    pub lists: HttpClient,
    pub target: BucketTarget,
    pub signer: Option<Signer>,
    pub retry: RetryPolicy,
    pub timeout: Duration,
    /// Told the round trip of every HEAD; the runtime's park hook reads it.
    pub batching: Arc<WakeBatching>,
}

impl Context {
    /// The pools for `concurrency` HEADs in flight against `target`.
    pub fn new(
        target: BucketTarget,
        signer: Option<Signer>,
        retry: RetryPolicy,
        timeout: Duration,
        concurrency: usize,
        batching: Arc<WakeBatching>,
    ) -> Context {
        let connect_to = target.connect_address();
        Context {
            heads: HttpClient::new(target.host(), connect_to.clone(), concurrency, timeout),
            lists: HttpClient::new(target.host(), connect_to, 2, timeout),
            target,
            signer,
            retry,
            timeout,
            batching,
        }
    }
}

/// What one HEAD found.
#[derive(Debug)]
pub enum HeadOutcome {
    /// The metadata, and the ETag the HEAD returned (used when the listing had none).
    Found(ObjectMetadata, Option<String>),
    /// 404: deleted since it was listed.
    Vanished,
    /// Gave up; the cause, for the user.
    Failed(String),
}

enum Attempt<T> {
    Done(T),
    Retry(String),
}

async fn send<'a>(
    ctx: &Context,
    client: &'a HttpClient,
    req: HttpRequest,
) -> Result<(Response<Incoming>, Lease<'a>), String> {
    match tokio::time::timeout(ctx.timeout, client.send(req)).await {
        Err(_) => Err(format!(
            "no response within {} s",
            ctx.timeout.as_secs_f64()
        )),
        Ok(Err(TransportError(e))) => Err(e),
        Ok(Ok(sent)) => Ok(sent),
    }
}

/// Reads the whole body; the connection then goes back to the pool.
async fn read_body(
    response: Response<Incoming>,
    lease: Lease<'_>,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, String> {
    let body = Limited::new(response.into_body(), limit);
    match tokio::time::timeout(timeout, body.collect()).await {
        Err(_) => Err(format!(
            "response body not received within {} s",
            timeout.as_secs_f64()
        )),
        Ok(Err(e)) => Err(format!("reading the response body: {e}")),
        Ok(Ok(collected)) => {
            lease.finish();
            Ok(collected.to_bytes())
        }
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// HEADs one object, retrying connection errors, timeouts and 5xx. 404 is `Vanished`, not a failure.
/// `want_etag`: keep the HEAD's ETag (when the listing had none).
pub async fn head(ctx: &Context, key: &[u8], want_etag: bool, jitter: &mut Jitter) -> HeadOutcome {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let req = request::head_object(&ctx.target, key, ctx.signer.as_ref(), now());
        let sent_at = Instant::now();
        let result = match send(ctx, &ctx.heads, req).await {
            Err(cause) => Attempt::Retry(cause),
            Ok((resp, lease)) => {
                ctx.batching.record_round_trip(sent_at.elapsed());
                // A HEAD answer has no body: the connection is free as soon as the head is read.
                lease.finish();
                let status = resp.status().as_u16();
                match status {
                    200 => {
                        let headers = resp
                            .headers()
                            .iter()
                            .map(|(n, v)| (n.as_str(), v.as_bytes()));
                        let etag = if want_etag {
                            resp.headers()
                                .get("etag")
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_owned)
                        } else {
                            None
                        };
                        match metadata::from_headers(headers) {
                            Ok(meta) => Attempt::Done(HeadOutcome::Found(meta, etag)),
                            Err(cause) => Attempt::Done(HeadOutcome::Failed(cause)),
                        }
                    }
                    404 => Attempt::Done(HeadOutcome::Vanished),
                    s if s3error::is_retryable(s, None) => {
                        Attempt::Retry(format!("HEAD answered {}", status_text(s)))
                    }
                    s => Attempt::Done(HeadOutcome::Failed(format!(
                        "HEAD answered {} ({})",
                        status_text(s),
                        s3error::hint(s, None)
                    ))),
                }
            }
        };
        match result {
            Attempt::Done(outcome) => return outcome,
            Attempt::Retry(cause) if attempt >= ctx.retry.max_attempts => {
                return HeadOutcome::Failed(format!("{cause} (gave up after {attempt} attempts)"))
            }
            Attempt::Retry(_) => tokio::time::sleep(ctx.retry.delay(attempt, jitter)).await,
        }
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

/// Describes an S3 error response in one line: code, status, message and what to check.
fn describe_error(op: &str, status: u16, body: &[u8]) -> (bool, String) {
    match parse_error(body) {
        Ok(err) => {
            let code = err.code.as_deref();
            let mut line = format!(
                "{op} failed: {} ({})",
                code.unwrap_or("no error code"),
                status_text(status)
            );
            if let Some(message) = err.message.as_deref().filter(|m| !m.is_empty()) {
                line.push_str(": ");
                line.push_str(&crate::shell::progress::escape_for_terminal(
                    message.as_bytes(),
                ));
            }
            if let Some(region) = err.other("Region") {
                line.push_str(&format!(" [server says region {:?}]", region));
            }
            line.push_str(" — ");
            line.push_str(s3error::hint(status, code));
            (s3error::is_retryable(status, code), line)
        }
        Err(_) => (
            s3error::is_retryable(status, None),
            format!(
                "{op} failed: {} with no S3 error body — {}",
                status_text(status),
                s3error::hint(status, None)
            ),
        ),
    }
}

/// Fetches and parses one ListObjectsV2 page. A non-retryable S3 error, or retries used up, is fatal.
pub async fn list_page(
    ctx: &Context,
    params: &ListParams<'_>,
    encoding: KeyEncoding,
    jitter: &mut Jitter,
) -> Result<ListPage, Error> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let req = request::list_objects_v2(&ctx.target, params, ctx.signer.as_ref(), now());
        let result: Attempt<Result<ListPage, Error>> = match send(ctx, &ctx.lists, req).await {
            Err(cause) => {
                Attempt::Retry(format!("ListObjectsV2 to {}: {cause}", ctx.target.host()))
            }
            Ok((resp, lease)) => {
                let status = resp.status().as_u16();
                let limit = if status == 200 {
                    MAX_LIST_BODY
                } else {
                    MAX_ERROR_BODY
                };
                match read_body(resp, lease, limit, ctx.timeout).await {
                    Err(cause) => Attempt::Retry(format!("ListObjectsV2: {cause}")),
                    Ok(body) if status == 200 => match parse_list_page_with(&body, encoding) {
                        Ok(page) => Attempt::Done(Ok(page)),
                        Err(xml_err) => {
                            // An <Error> inside a 200 (SlowDown, InternalError) is an error, not a listing.
                            match parse_error(&body) {
                                Ok(_) => {
                                    let (retryable, line) = describe_error("ListObjectsV2", status, &body);
                                    if retryable {
                                        Attempt::Retry(line)
                                    } else {
                                        Attempt::Done(Err(Error::Fatal(line)))
                                    }
                                }
                                Err(_) => Attempt::Done(Err(Error::Fatal(format!(
                                    "ListObjectsV2 answered 200 with a body that is not a listing: {xml_err}"
                                )))),
                            }
                        }
                    },
                    Ok(body) => {
                        let (retryable, line) = describe_error("ListObjectsV2", status, &body);
                        if retryable {
                            Attempt::Retry(line)
                        } else {
                            Attempt::Done(Err(Error::Fatal(line)))
                        }
                    }
                }
            }
        };
        match result {
            Attempt::Done(r) => return r,
            Attempt::Retry(cause) if attempt >= ctx.retry.max_attempts => {
                return Err(Error::Fatal(format!(
                    "{cause} (gave up after {attempt} attempts)"
                )))
            }
            Attempt::Retry(_) => tokio::time::sleep(ctx.retry.delay(attempt, jitter)).await,
        }
    }
}

/// The shared context, as tasks hold it.
pub type SharedContext = Arc<Context>;
