//! One LIST page or one HEAD, signed, sent through the pools with timeouts and the retry loop, and read
//! into core types. Everything a server sends is bounded here: a page's body by what a page of the size
//! asked for can hold, its entries by `max-keys`, a HEAD's headers by the pool's header limit.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::HeaderMap;
use hyper::Response;
use time::OffsetDateTime;

use super::connect::Connector;
use super::error::{BadResponse, Error, Operation, TimeoutPhase};
use super::pacing::Pacing;
use super::park_delay::ParkDelay;
use super::pool::{ConnectionPool, Lease};
use super::retry::{with_retries, SmallRng};
use super::terminal::stderr_line;
use crate::core::endpoint::BucketTarget;
use crate::core::http_date::{parse_http_date, retry_after};
use crate::core::list::{parse_list_page_at_most, ListPage};
use crate::core::metadata::{self, ObjectMetadata};
use crate::core::request::{self, ListParams};
use crate::core::s3error::parse_error;
use crate::core::sigv4::Signer;

/// An error body larger than this is not read.
const MAX_ERROR_BODY: usize = 64 << 10;
/// What one entry of a page may take, at most: a 1,024-byte key escaped six times over (`&quot;`),
/// and its other fields.
const MAX_BYTES_PER_ENTRY: usize = 8 << 10;
/// What a page may take besides its entries.
const MAX_PAGE_OVERHEAD: usize = 64 << 10;

/// The largest body a ListObjectsV2 page of `max_keys` entries can honestly have.
pub(crate) fn max_list_body(max_keys: u32) -> usize {
    MAX_PAGE_OVERHEAD + max_keys as usize * MAX_BYTES_PER_ENTRY
}

/// A server's clock this far from ours, on a refused request, is taken for the reason it refused
/// (S3 allows 15 minutes).
const SKEW_EVIDENCE_SECS: i64 = 10 * 60;
/// A response body may take at most this many timeouts in all, however steadily it trickles.
const BODY_TIMEOUTS: u32 = 10;

/// How requests are sent.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientSettings {
    /// For each wait: the response head, and between two parts of a body (connects wait a third).
    pub timeout: Duration,
    /// HEADs in flight at most: the HEAD pool keeps as many connections.
    pub concurrency: usize,
    /// LISTs in flight at most: the LIST pool keeps one connection more.
    pub listers: usize,
    /// The largest response head accepted.
    pub max_header_bytes: usize,
}

/// The requests of one scan: one bucket, one signer, the pools they go through.
pub(crate) struct S3Client {
    /// The keep-alive pool the HEADs share.
    heads: ConnectionPool,
    /// A pool of its own for LIST: a 1000-key page grows a connection's read buffer to hundreds of KB,
    /// and in the shared pool every connection would end up carrying one. Here one or two carry them all.
    lists: ConnectionPool,
    target: BucketTarget,
    signer: Option<Signer>,
    settings: ClientSettings,
    /// Told the round trip of every HEAD; the runtime's park hook reads it.
    park_delay: Arc<ParkDelay>,
    /// Limits, budget and retry policy.
    pacing: Arc<Pacing>,
    /// What to add to the local clock to get the server's, in seconds (learnt from a refusal).
    clock_offset: AtomicI64,
    skew_said: AtomicBool,
}

/// What a HEAD found.
#[derive(Debug)]
pub(crate) enum HeadAnswer {
    /// The metadata; the ETag and size the HEAD returned, when asked for.
    Found {
        metadata: ObjectMetadata,
        etag: Option<String>,
        size: Option<u64>,
    },
    /// 404: no such key (any more).
    NotFound,
}

impl S3Client {
    pub(crate) fn new(
        target: BucketTarget,
        signer: Option<Signer>,
        settings: ClientSettings,
        park_delay: Arc<ParkDelay>,
        // Opens the connections of both pools.
        connector: Arc<Connector>,
        pacing: Arc<Pacing>,
    ) -> S3Client {
        let pool = |max_idle| {
            ConnectionPool::new(
                target.host(),
                connector.clone(),
                max_idle,
                settings.max_header_bytes,
            )
        };
        S3Client {
            heads: pool(settings.concurrency),
            lists: pool(settings.listers + 1),
            target,
            signer,
            settings,
            park_delay,
            pacing,
            clock_offset: AtomicI64::new(0),
            skew_said: AtomicBool::new(false),
        }
    }

    /// The time to sign with: the local clock, corrected by what a server's refusal taught.
    fn now(&self) -> OffsetDateTime {
        let offset = self.clock_offset.load(Ordering::Relaxed);
        now() + time::Duration::seconds(offset)
    }

    /// Reads what an answer says about time: a pause it asks for, and, on a refusal (`skewed`: the
    /// server named the clock as the reason), whether our clock is off. Returns the error to retry
    /// with when the clock was corrected.
    fn read_time_hints(
        &self,
        op: Operation,
        headers: &HeaderMap,
        status: u16,
        skewed: bool,
    ) -> Option<Error> {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        if let Some(wait) = retry_after(text("x-amz-retry-after"), text("retry-after"), now()) {
            self.pacing.limit(op).pause(wait);
        }
        if status != 403 {
            return None;
        }
        let server = text("date").and_then(parse_http_date)?;
        let offset = server - now().unix_timestamp();
        let known = self.clock_offset.load(Ordering::Relaxed);
        let off_by = (offset - known).abs();
        if !(skewed || off_by > SKEW_EVIDENCE_SECS) || off_by < 2 {
            return None;
        }
        self.clock_offset.store(offset, Ordering::Relaxed);
        if !self.skew_said.swap(true, Ordering::Relaxed) {
            stderr_line(&format!(
                "s3meta: warning: the local clock is {} s {} the server's (its Date header): requests are now signed with the server's time; fix the clock",
                offset.abs(),
                if offset > 0 { "behind" } else { "ahead of" }
            ));
        }
        Some(Error::ClockSkewed {
            op,
            offset_secs: offset,
        })
    }

    async fn send<'a>(
        &self,
        op: Operation,
        pool: &'a ConnectionPool,
        make: &(dyn Fn() -> request::HttpRequest + Sync),
    ) -> Result<(Response<Incoming>, Lease<'a>), Error> {
        match tokio::time::timeout(self.settings.timeout, pool.send(op, make)).await {
            Err(_) => Err(Error::Timeout {
                op,
                phase: TimeoutPhase::ResponseHead,
                after: self.settings.timeout,
            }),
            Ok(sent) => sent,
        }
    }

    /// Fetches and parses one ListObjectsV2 page, retrying what can be retried. A page with more
    /// entries than `params.max_keys` is refused.
    pub(crate) async fn list_page(
        &self,
        params: &ListParams<'_>,
        rng: &mut SmallRng,
    ) -> Result<ListPage, Error> {
        with_retries(self.pacing.retrying(Operation::List), rng, || {
            self.list_page_once(params)
        })
        .await
    }

    async fn list_page_once(&self, params: &ListParams<'_>) -> Result<ListPage, Error> {
        let op = Operation::List;
        let make =
            || request::list_objects_v2(&self.target, params, self.signer.as_ref(), self.now());
        let (resp, lease) = self.send(op, &self.lists, &make).await?;
        let status = resp.status().as_u16();
        let headers = (status != 200).then(|| resp.headers().clone());
        let limit = if status == 200 {
            max_list_body(params.max_keys)
        } else {
            MAX_ERROR_BODY
        };
        let body = match read_body(op, resp, lease, limit, self.settings.timeout).await {
            // An error page larger than any S3 error (a proxy's HTML): the status says what it is.
            Err(Error::BadResponse {
                problem: BadResponse::BodyTooLarge { .. },
                ..
            }) if status != 200 => return Err(status_error(op, status, b"")),
            other => other?,
        };
        if status != 200 {
            let e = status_error(op, status, &body);
            let skewed = matches!(&e, Error::Status { s3: Some(s3), .. } if s3.code.as_deref() == Some("RequestTimeTooSkewed"));
            if let Some(retry) = headers
                .as_ref()
                .and_then(|h| self.read_time_hints(op, h, status, skewed))
            {
                return Err(retry);
            }
            return Err(e);
        }
        parse_list_page_at_most(&body, params.max_keys as usize).map_err(|xml| {
            // An <Error> inside a 200 (SlowDown, InternalError) is an error, not a listing.
            match parse_error(&body) {
                Ok(s3) => Error::Status {
                    op,
                    status,
                    s3: Some(Box::new(s3)),
                },
                Err(_) => Error::BadResponse {
                    op,
                    problem: BadResponse::NotAListing(xml),
                },
            }
        })
    }

    /// HEADs one object, retrying connection errors, timeouts, 5xx and throttling. A 404 is an answer,
    /// not an error. `want_details`: also return the HEAD's ETag and size.
    pub(crate) async fn head(
        &self,
        key: &[u8],
        want_details: bool,
        rng: &mut SmallRng,
    ) -> Result<HeadAnswer, Error> {
        with_retries(self.pacing.retrying(Operation::Head), rng, || {
            self.head_once(key, want_details)
        })
        .await
    }

    async fn head_once(&self, key: &[u8], want_details: bool) -> Result<HeadAnswer, Error> {
        let op = Operation::Head;
        let make = || request::head_object(&self.target, key, self.signer.as_ref(), self.now());
        let sent_at = Instant::now();
        let (resp, lease) = self.send(op, &self.heads, &make).await?;
        self.park_delay.record_round_trip(sent_at.elapsed());
        // A HEAD answer has no body: the connection is free as soon as the head is read.
        lease.finish();
        match resp.status().as_u16() {
            200 => {
                let headers = resp.headers();
                let metadata =
                    metadata::from_headers(headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes())))
                        .map_err(|e| Error::BadResponse {
                            op,
                            problem: BadResponse::Metadata(e),
                        })?;
                let (etag, size) = if want_details {
                    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
                    (
                        text("etag").map(str::to_owned),
                        text("content-length").and_then(|v| v.trim().parse().ok()),
                    )
                } else {
                    (None, None)
                };
                Ok(HeadAnswer::Found {
                    metadata,
                    etag,
                    size,
                })
            }
            404 => Ok(HeadAnswer::NotFound),
            status => {
                if let Some(retry) = self.read_time_hints(op, resp.headers(), status, false) {
                    return Err(retry);
                }
                Err(Error::Status {
                    op,
                    status,
                    s3: None,
                })
            }
        }
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// The error an answer with status `status` and body `body` means.
fn status_error(op: Operation, status: u16, body: &[u8]) -> Error {
    Error::Status {
        op,
        status,
        s3: parse_error(body).ok().map(Box::new),
    }
}

/// Reads the whole body, at most `limit` bytes of it, waiting at most `timeout` for each part (and
/// [`BODY_TIMEOUTS`] of them in all); the connection then goes back to the pool.
async fn read_body(
    op: Operation,
    response: Response<Incoming>,
    lease: Lease<'_>,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, Error> {
    let mut body = Limited::new(response.into_body(), limit);
    let mut data: Vec<u8> = Vec::new();
    let deadline = tokio::time::Instant::now() + timeout * BODY_TIMEOUTS;
    loop {
        let wait = timeout.min(deadline.saturating_duration_since(tokio::time::Instant::now()));
        let frame = match tokio::time::timeout(wait, body.frame()).await {
            Err(_) => {
                return Err(Error::Timeout {
                    op,
                    phase: TimeoutPhase::Body,
                    after: wait,
                })
            }
            Ok(None) => break,
            Ok(Some(frame)) => frame,
        };
        match frame {
            Ok(frame) => {
                if let Ok(chunk) = frame.into_data() {
                    if data.is_empty() && chunk.len() >= limit / 2 {
                        data.reserve_exact(chunk.len());
                    }
                    data.extend_from_slice(&chunk);
                }
            }
            Err(e) => {
                return Err(if e.is::<LengthLimitError>() {
                    Error::BadResponse {
                        op,
                        problem: BadResponse::BodyTooLarge { limit },
                    }
                } else {
                    match e.downcast::<hyper::Error>() {
                        Ok(source) => Error::Connection {
                            op,
                            source: *source,
                        },
                        Err(other) => Error::Setup {
                            what: format!("{op}: reading the response body"),
                            source: std::io::Error::other(other.to_string()),
                        },
                    }
                })
            }
        }
    }
    lease.finish();
    Ok(Bytes::from(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_page_of_the_longest_keys_fits_the_body_limit() {
        // 1,000 entries of a 1,024-byte key, every byte written as `&quot;`, and the usual fields.
        let entry = format!(
            "<Contents><Key>{}</Key><LastModified>2026-11-20T10:00:00.000Z</LastModified><ETag>&quot;{}-10000&quot;</ETag><Size>18446744073709551615</Size><Owner><ID>{}</ID><DisplayName>{}</DisplayName></Owner><StorageClass>INTELLIGENT_TIERING</StorageClass><ChecksumAlgorithm>CRC64NVME</ChecksumAlgorithm><ChecksumType>FULL_OBJECT</ChecksumType></Contents>",
            "&quot;".repeat(1024),
            "0".repeat(32),
            "f".repeat(64),
            "d".repeat(64)
        );
        assert!(1000 * entry.len() + 1024 < max_list_body(1000));
        // And the limit scales with the page asked for.
        assert!(max_list_body(10) < 200 << 10);
    }
}
