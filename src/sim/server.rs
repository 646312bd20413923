//! The simulator's HTTP side: a hyper HTTP/1.1 server on a single-threaded runtime, answering
//! ListObjectsV2 and HeadObject for the virtual bucket, with SigV4 checks, latency and faults.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use hyper::header::{HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::auth::{IncomingRequest, Verifier};
use super::bucket::{BucketSpec, Listing, VirtualBucket};
use super::faults::{Fault, FaultPlan, Latency};
use super::tls::{Acceptor, SimTls};
use crate::core::base64;
use crate::core::sigv4::Credentials;
use crate::core::uri::{encode_path_into, percent_decode, query_pairs};

/// Everything the simulator is told.
#[derive(Debug, Clone)]
pub struct SimOptions {
    pub bucket_name: String,
    pub bucket: BucketSpec,
    pub head_latency: Latency,
    pub list_latency: Latency,
    pub faults: FaultPlan,
    pub seed: u64,
    /// The one key to verify SigV4 with; `None` accepts anonymous requests.
    pub credentials: Option<Credentials>,
    /// Serve HTTPS with this certificate.
    pub tls: Option<SimTls>,
    /// Above this many requests per second, answer `503 SlowDown`, as a store under load does.
    pub throttle: Option<Throttle>,
    /// A window in which every request is answered `503 SlowDown`.
    pub outage: Option<Outage>,
}

/// A store's request rate: above it, requests are answered `503 SlowDown`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throttle {
    pub rps: f64,
    /// Sent with every throttled answer (`Retry-After`, whole seconds).
    pub retry_after: Option<u64>,
}

/// An outage: from `after` past the first request, for `lasting`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outage {
    pub after: Duration,
    pub lasting: Duration,
}

/// A throttled store's bucket holds this much of a second's requests: a short burst passes.
const THROTTLE_BURST_SECONDS: f64 = 0.05;

/// Request counts, readable while the simulator runs.
#[derive(Debug, Default)]
pub struct SimStats {
    pub requests: AtomicU64,
    pub lists: AtomicU64,
    pub heads: AtomicU64,
    pub not_found: AtomicU64,
    pub refused: AtomicU64,
    pub injected_status: AtomicU64,
    pub injected_reset: AtomicU64,
    pub injected_stall: AtomicU64,
    pub injected_truncate: AtomicU64,
    /// Answered `503 SlowDown` for the rate, or for an outage.
    pub throttled: AtomicU64,
    pub outage: AtomicU64,
}

impl SimStats {
    pub fn summary(&self) -> String {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        format!(
            "requests={} lists={} heads={} not_found={} refused={} injected_status={} injected_reset={} injected_stall={} injected_truncate={} throttled={} outage={}",
            g(&self.requests),
            g(&self.lists),
            g(&self.heads),
            g(&self.not_found),
            g(&self.refused),
            g(&self.injected_status),
            g(&self.injected_reset),
            g(&self.injected_stall),
            g(&self.injected_truncate),
            g(&self.throttled),
            g(&self.outage)
        )
    }
}

struct State {
    opts: SimOptions,
    bucket: VirtualBucket,
    verifier: Option<Verifier>,
    stats: Arc<SimStats>,
    arrivals: AtomicU64,
    meta_names: Vec<HeaderName>,
    bucket_path: String,
    /// The throttle's bucket: tokens, and when it was last filled.
    tokens: std::sync::Mutex<(f64, std::time::Instant)>,
    first_request: std::sync::OnceLock<std::time::Instant>,
}

impl State {
    /// Whether request number `n` is over the store's rate (takes its token if not).
    fn over_rate(&self, throttle: &Throttle) -> bool {
        let now = std::time::Instant::now();
        let burst = (throttle.rps * THROTTLE_BURST_SECONDS).max(1.0);
        let mut guard = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        let (tokens, last) = &mut *guard;
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * throttle.rps).min(burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            false
        } else {
            true
        }
    }

    fn in_outage(&self, outage: &Outage) -> bool {
        let first = *self.first_request.get_or_init(std::time::Instant::now);
        let since = first.elapsed();
        since >= outage.after && since < outage.after + outage.lasting
    }
}

/// A response body: whole, or cut short by a `truncate` fault.
pub enum SimBody {
    Full(Option<Bytes>),
    Truncated(Option<Bytes>),
}

impl Body for SimBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        Poll::Ready(match self.get_mut() {
            SimBody::Full(b) => b.take().map(|b| Ok(Frame::data(b))),
            SimBody::Truncated(b) => match b.take() {
                Some(b) => Some(Ok(Frame::data(b))),
                None => Some(Err(io::Error::other("body cut short by fault injection"))),
            },
        })
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, SimBody::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            SimBody::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            SimBody::Full(None) => SizeHint::with_exact(0),
            SimBody::Truncated(_) => SizeHint::default(),
        }
    }
}

type Reply = Result<Response<SimBody>, io::Error>;

fn xml_escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
}

fn error_reply(status: u16, code: &str, message: &str, head: bool, n: u64) -> Reply {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = if head {
        None
    } else {
        let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>");
        xml_escape_into(&mut xml, code);
        xml.push_str("</Code><Message>");
        xml_escape_into(&mut xml, message);
        xml.push_str(&format!(
            "</Message><RequestId>{n:016X}</RequestId></Error>"
        ));
        Some(Bytes::from(xml))
    };
    let mut resp = Response::new(SimBody::Full(body));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/xml"));
    Ok(resp)
}

fn status_fault_code(status: u16) -> (&'static str, &'static str) {
    match status {
        503 => ("SlowDown", "Please reduce your request rate."),
        500 => (
            "InternalError",
            "We encountered an internal error. Please try again.",
        ),
        _ => ("InjectedFault", "This error was injected by the simulator."),
    }
}

/// The continuation token for resuming at index `i`: opaque to the client, with `+`, `/` or `=` in it
/// often enough to catch a client that does not encode it.
fn token_for(i: u64) -> String {
    base64::encode(format!("sim1:{i}:{:x}", super::bucket::mix(i)).as_bytes())
}

fn index_from_token(t: &[u8]) -> Option<u64> {
    let raw = base64::decode(t)?;
    let text = std::str::from_utf8(&raw).ok()?;
    let mut parts = text.split(':');
    (parts.next()? == "sim1").then_some(())?;
    let i: u64 = parts.next()?.parse().ok()?;
    (token_for(i).as_bytes() == t).then_some(i)
}

impl State {
    fn list(&self, query: &str, n: u64, fault: Option<Fault>) -> Reply {
        let (mut prefix, mut delimiter, mut start_after, mut token, mut max_keys, mut url) =
            (Vec::new(), Vec::new(), Vec::new(), None, 1000usize, false);
        for (name, value) in query_pairs(query) {
            match name.as_slice() {
                b"prefix" => prefix = value,
                b"delimiter" => delimiter = value,
                b"start-after" => start_after = value,
                b"continuation-token" => token = Some(value),
                b"encoding-type" => url = value == b"url",
                b"max-keys" => match std::str::from_utf8(&value)
                    .ok()
                    .and_then(|v| v.parse::<usize>().ok())
                {
                    Some(m) => max_keys = m.min(1000),
                    None => {
                        return error_reply(
                            400,
                            "InvalidArgument",
                            "max-keys is not a number",
                            false,
                            n,
                        )
                    }
                },
                _ => {}
            }
        }
        let resume = match &token {
            None => None,
            Some(t) => match index_from_token(t) {
                Some(i) => Some(i),
                None => {
                    return error_reply(
                        400,
                        "InvalidArgument",
                        "The continuation token provided is incorrect",
                        false,
                        n,
                    )
                }
            },
        };
        let page = self
            .bucket
            .list(&prefix, &delimiter, &start_after, resume, max_keys);
        let xml = self.render_list(
            &page,
            &prefix,
            &delimiter,
            &start_after,
            token.as_deref(),
            max_keys,
            url,
        );
        let bytes = Bytes::from(xml);
        let body = if fault == Some(Fault::Truncate) {
            self.stats.injected_truncate.fetch_add(1, Ordering::Relaxed);
            SimBody::Truncated(Some(bytes.slice(..bytes.len() / 2)))
        } else {
            SimBody::Full(Some(bytes.clone()))
        };
        let mut resp = Response::new(body);
        resp.headers_mut()
            .insert("content-type", HeaderValue::from_static("application/xml"));
        resp.headers_mut()
            .insert("content-length", HeaderValue::from(bytes.len()));
        Ok(resp)
    }

    #[allow(clippy::too_many_arguments)]
    fn render_list(
        &self,
        page: &Listing,
        prefix: &[u8],
        delimiter: &[u8],
        start_after: &[u8],
        token: Option<&[u8]>,
        max_keys: usize,
        url: bool,
    ) -> String {
        let mut xml = String::with_capacity(200 + page.keys.len() * 200);
        let text = |xml: &mut String, bytes: &[u8]| {
            if url {
                // Keys here are ASCII; encode as S3 does for encoding-type=url ('/' kept).
                encode_path_into(xml, bytes);
            } else {
                xml_escape_into(xml, &String::from_utf8_lossy(bytes));
            }
        };
        xml.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>");
        xml_escape_into(&mut xml, &self.opts.bucket_name);
        xml.push_str("</Name><Prefix>");
        text(&mut xml, prefix);
        xml.push_str("</Prefix>");
        if !delimiter.is_empty() {
            xml.push_str("<Delimiter>");
            text(&mut xml, delimiter);
            xml.push_str("</Delimiter>");
        }
        if !start_after.is_empty() {
            xml.push_str("<StartAfter>");
            text(&mut xml, start_after);
            xml.push_str("</StartAfter>");
        }
        if let Some(t) = token {
            xml.push_str("<ContinuationToken>");
            xml_escape_into(&mut xml, &String::from_utf8_lossy(t));
            xml.push_str("</ContinuationToken>");
        }
        xml.push_str(&format!(
            "<KeyCount>{}</KeyCount><MaxKeys>{max_keys}</MaxKeys>",
            page.keys.len() + page.common_prefixes.len()
        ));
        if url {
            xml.push_str("<EncodingType>url</EncodingType>");
        }
        xml.push_str(if page.next.is_some() {
            "<IsTruncated>true</IsTruncated>"
        } else {
            "<IsTruncated>false</IsTruncated>"
        });
        if let Some(next) = page.next {
            xml.push_str("<NextContinuationToken>");
            xml.push_str(&token_for(next));
            xml.push_str("</NextContinuationToken>");
        }
        for (i, key) in &page.keys {
            xml.push_str("<Contents><Key>");
            text(&mut xml, key.as_bytes());
            xml.push_str(&format!(
                "</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>&quot;{}&quot;</ETag><Size>{}</Size><StorageClass>STANDARD</StorageClass></Contents>",
                self.bucket.etag(*i),
                self.bucket.size(*i)
            ));
        }
        for cp in &page.common_prefixes {
            xml.push_str("<CommonPrefixes><Prefix>");
            text(&mut xml, cp.as_bytes());
            xml.push_str("</Prefix></CommonPrefixes>");
        }
        xml.push_str("</ListBucketResult>");
        xml
    }

    fn head(&self, key: &[u8], n: u64) -> Reply {
        let Some(i) = self.bucket.index_of(key) else {
            self.stats.not_found.fetch_add(1, Ordering::Relaxed);
            return error_reply(404, "NoSuchKey", "", true, n);
        };
        let mut resp = Response::new(SimBody::Full(None));
        let h = resp.headers_mut();
        h.insert("content-length", HeaderValue::from(self.bucket.size(i)));
        h.insert(
            "last-modified",
            HeaderValue::from_static("Thu, 01 Jan 2026 00:00:00 GMT"),
        );
        if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", self.bucket.etag(i))) {
            h.insert("etag", v);
        }
        let mut j = 0;
        self.bucket.for_each_metadata(i, |_, value| {
            if let (Some(name), Ok(v)) = (self.meta_names.get(j), HeaderValue::from_str(value)) {
                h.insert(name.clone(), v);
            }
            j += 1;
        });
        Ok(resp)
    }

    async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Reply {
        let n = self.arrivals.fetch_add(1, Ordering::Relaxed);
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        let is_head = req.method() == Method::HEAD;
        let path = req.uri().path();
        let query = req.uri().query().unwrap_or("");

        if let Some(verifier) = &self.verifier {
            let headers = req.headers();
            let lookup = |name: &str| -> Vec<&str> {
                headers
                    .get_all(name)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .collect()
            };
            let incoming = IncomingRequest {
                method: req.method().as_str(),
                path,
                query,
                header: &lookup,
            };
            if let Err(e) = verifier.verify(&incoming) {
                self.stats.refused.fetch_add(1, Ordering::Relaxed);
                let status =
                    if e.code == "AuthorizationHeaderMalformed" || e.code == "InvalidRequest" {
                        400
                    } else {
                        403
                    };
                return error_reply(status, e.code, &e.message, is_head, n);
            }
        }

        // Virtual-hosted in AWS's form (`BUCKET.s3.REGION.amazonaws.com`, `BUCKET.s3-…`): the path is
        // the key. Any other host is path-style, `/BUCKET/KEY`, even one that starts with the bucket's
        // name (`http://data.local` serving the bucket `data`).
        let bucket = &self.bucket_path[1..];
        let virtual_hosted = req
            .headers()
            .get(hyper::header::HOST)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix(bucket))
            .is_some_and(|rest| rest.starts_with(".s3.") || rest.starts_with(".s3-"));
        let rest = if virtual_hosted {
            Some(path)
        } else {
            path.strip_prefix(self.bucket_path.as_str())
        };
        let (is_list, key) = match rest {
            Some("") | Some("/") => (true, None),
            Some(r) if r.starts_with('/') => (false, Some(percent_decode(&r.as_bytes()[1..]))),
            _ => {
                return error_reply(
                    404,
                    "NoSuchBucket",
                    "The specified bucket does not exist",
                    is_head,
                    n,
                )
            }
        };
        let supported = if is_list {
            req.method() == Method::GET && query.contains("list-type=2")
        } else {
            is_head
        };
        if !supported {
            return error_reply(
                501,
                "NotImplemented",
                "The simulator answers ListObjectsV2 and HeadObject only",
                is_head,
                n,
            );
        }

        if self.opts.outage.as_ref().is_some_and(|o| self.in_outage(o)) {
            self.stats.outage.fetch_add(1, Ordering::Relaxed);
            let (code, message) = status_fault_code(503);
            return error_reply(503, code, message, is_head, n);
        }
        if let Some(throttle) = &self.opts.throttle {
            if self.over_rate(throttle) {
                self.stats.throttled.fetch_add(1, Ordering::Relaxed);
                let (code, message) = status_fault_code(503);
                let mut reply = error_reply(503, code, message, is_head, n);
                if let (Some(secs), Ok(resp)) = (throttle.retry_after, reply.as_mut()) {
                    resp.headers_mut()
                        .insert("retry-after", HeaderValue::from(secs));
                }
                return reply;
            }
        }
        let fault = self.opts.faults.decide(n);
        match fault {
            Some(Fault::Status(status)) => {
                self.stats.injected_status.fetch_add(1, Ordering::Relaxed);
                let (code, message) = status_fault_code(status);
                return error_reply(status, code, message, is_head, n);
            }
            Some(Fault::Reset) => {
                self.stats.injected_reset.fetch_add(1, Ordering::Relaxed);
                return Err(io::Error::other("connection reset by fault injection"));
            }
            Some(Fault::Truncate) if !is_list => {
                self.stats.injected_truncate.fetch_add(1, Ordering::Relaxed);
                return Err(io::Error::other("response cut short by fault injection"));
            }
            Some(Fault::Stall) => {
                self.stats.injected_stall.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return Err(io::Error::other("stalled"));
            }
            _ => {}
        }
        let latency = if is_list {
            self.opts.list_latency
        } else {
            self.opts.head_latency
        };
        let delay = latency.for_request(n, self.opts.seed);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        match key {
            None => {
                self.stats.lists.fetch_add(1, Ordering::Relaxed);
                self.list(query, n, fault)
            }
            Some(key) => {
                self.stats.heads.fetch_add(1, Ordering::Relaxed);
                self.head(&key, n)
            }
        }
    }
}

/// Serves until `shutdown` resolves, over TLS if given an acceptor. Each connection is a task;
/// keep-alive; `TCP_NODELAY`.
pub async fn serve(
    listener: TcpListener,
    opts: SimOptions,
    stats: Arc<SimStats>,
    tls: Option<Acceptor>,
    shutdown: impl Future<Output = ()>,
) {
    let meta_names = (0..opts.bucket.meta_pairs)
        .filter_map(|j| HeaderName::from_bytes(format!("x-amz-meta-m{j}").as_bytes()).ok())
        .collect();
    let state = Arc::new(State {
        bucket: VirtualBucket::new(opts.bucket.clone()),
        verifier: opts
            .credentials
            .as_ref()
            .map(|c| Verifier::new(c.access_key_id(), c.secret_access_key())),
        bucket_path: format!("/{}", opts.bucket_name),
        opts,
        stats,
        arrivals: AtomicU64::new(0),
        meta_names,
        tokens: std::sync::Mutex::new((0.0, std::time::Instant::now())),
        first_request: std::sync::OnceLock::new(),
    });
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = &mut shutdown => return,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of file descriptors or similar: back off instead of spinning.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => serve_connection(stream, state).await,
                #[cfg(feature = "tls")]
                Some(acceptor) => {
                    // A client that refuses our certificate ends here; nothing to report.
                    if let Ok(stream) = acceptor.accept(stream).await {
                        serve_connection(stream, state).await
                    }
                }
                #[cfg(not(feature = "tls"))]
                Some(never) => match never {},
            }
        });
    }
}

async fn serve_connection<I>(io: I, state: Arc<State>)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| state.clone().handle(req));
    let _ = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(io), service)
        .await;
}
