//! The keep-alive HTTP/1.1 connection pool every request goes through: hyper connections
//! (`hyper::client::conn::http1`) kept in a plain list, one request at a time on each, over streams
//! the [`Connector`] opens.
//!
//! Why not hyper-util's pool: a scan sends every request to one host, so the general pool's per-request
//! work (a hash map keyed by scheme and host, a checkout racing a connect, a task spawned per response to
//! hand the connection back) was a large share of the client's CPU per HEAD (docs/BENCHMARKS.md). Here a
//! request takes the most recently used idle connection, or opens one, and gives it back when its
//! response is read.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::Empty;
use hyper::body::{Bytes, Incoming};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, HOST};
use hyper::http::uri::PathAndQuery;
use hyper::{Method, Response, Uri};
use hyper_util::rt::TokioIo;
use tokio::sync::oneshot;

use super::connect::Connector;
use super::error::{BadResponse, Error, Operation};
use super::lock;
use crate::core::request::HttpRequest;

/// How many response headers are accepted: one per this many bytes of the header limit (256 for the
/// default 32 KiB), at least hyper's default of 100. Objects may carry 100+ metadata entries (RGW allows
/// it; an SDK with hyper's default fails on them), but each parsed header costs about 100 bytes beside
/// its text, so a limit in bytes alone would let tiny headers cost four times as much.
const HEADER_BYTES_PER_HEADER: usize = 128;

/// The most response headers accepted with a header limit of `max_header_bytes`.
pub(crate) fn max_response_headers(max_header_bytes: usize) -> usize {
    (max_header_bytes / HEADER_BYTES_PER_HEADER).clamp(100, 8192)
}
/// The smallest header limit hyper takes.
pub(crate) const MIN_HEADER_BYTES: usize = 8192;
/// Below the idle timeouts of S3 servers (AWS closes idle connections after about 20 s, some stores
/// sooner), so that we rarely send on a connection the server is closing.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(4);
/// How many times a request that no connection took (each closed before it could be written) goes
/// again on another before it is an error.
const MAX_UNSENT_RETRIES: usize = 3;
type Handover = oneshot::Sender<Result<Sender, Error>>;

/// hyper parses a response's headers into an array on the stack when it keeps its default limit
/// (100), and into two vectors allocated for each response with any other. So connections start
/// narrow, and the first response a narrow connection refuses as too large (hyper says so for more
/// headers as for more bytes) is sent again on a wide connection, the kind every connection opened
/// after it is.
const NARROW_MAX_HEADERS: usize = 100;

/// An open connection, and whether it takes more headers than [`NARROW_MAX_HEADERS`].
#[derive(Debug)]
struct Sender {
    hyper: SendRequest<Empty<Bytes>>,
    wide: bool,
}

impl Sender {
    fn is_closed(&self) -> bool {
        self.hyper.is_closed()
    }

    async fn ready(&mut self) -> Result<(), hyper::Error> {
        self.hyper.ready().await
    }
}

struct IdleConnection {
    sender: Sender,
    since: Instant,
}

/// Cloning is a reference count: the clones share the connections.
#[derive(Clone)]
pub(crate) struct ConnectionPool {
    inner: Arc<PoolInner>,
}

struct PoolInner {
    state: Mutex<PoolState>,
    max_idle: usize,
    /// The largest response head (status line and headers) accepted.
    max_header_bytes: usize,
    builder: http1::Builder,
    /// The builder of wide connections, if the header limit takes more than the narrow ones do.
    wide_builder: Option<http1::Builder>,
    /// Set by the first response too large for a narrow connection: connections opened since are wide.
    wide: AtomicBool,
    connector: Arc<Connector>,
    /// The `Host` every request of a scan carries, parsed once (cloning it is a reference count).
    host_value: Option<HeaderValue>,
}

#[derive(Default)]
struct PoolState {
    idle: Vec<IdleConnection>,
    /// Requests waiting for a connection: each started one, and takes whichever is ready first, its
    /// own or one given back. A server whose accept queue is full drops the SYN, and the kernel
    /// tries again only a second later: no request should wait for that while others are free.
    waiting: VecDeque<Handover>,
    /// Connections being opened. A request that has to wait opens one only when there are fewer of
    /// these than requests waiting: when a server drops SYNs (a full accept queue), every request
    /// opening its own would only make the storm worse.
    connecting: usize,
}

/// The connection a response came on. Give it back with [`Lease::finish`] once the body is read;
/// dropping the lease instead closes the connection (a half-read body cannot be reused).
pub(crate) struct Lease<'a> {
    pool: &'a ConnectionPool,
    sender: Sender,
}

impl Lease<'_> {
    /// The response is read: the connection can carry the next request.
    pub(crate) fn finish(self) {
        self.pool.inner.give_back(Ok(self.sender));
    }
}

impl ConnectionPool {
    /// A pool keeping up to `max_idle` connections open (at least the number of requests in flight),
    /// opened by `connector`. `host` is the `Host` of the requests to come. A response whose status line
    /// and headers take more than `max_header_bytes` (at least [`MIN_HEADER_BYTES`]) is an error: every
    /// connection's read buffer may grow to that size.
    pub(crate) fn new(
        host: &str,
        connector: Arc<Connector>,
        max_idle: usize,
        max_header_bytes: usize,
    ) -> ConnectionPool {
        let max_header_bytes = max_header_bytes.max(MIN_HEADER_BYTES);
        let mut builder = http1::Builder::new();
        builder
            .max_header_size(max_header_bytes)
            .max_buf_size(max_header_bytes);
        let max_headers = max_response_headers(max_header_bytes);
        let wide_builder = (max_headers > NARROW_MAX_HEADERS).then(|| {
            let mut wide = builder.clone();
            wide.max_headers(max_headers);
            wide
        });
        let inner = PoolInner {
            state: Mutex::new(PoolState::default()),
            max_idle,
            max_header_bytes,
            builder,
            wide_builder,
            wide: AtomicBool::new(false),
            connector,
            host_value: HeaderValue::try_from(host).ok(),
        };
        ConnectionPool {
            inner: Arc::new(inner),
        }
    }

    /// Sends a request built by the core, byte for byte (`make` builds it; its strings move into
    /// hyper). A request that a reused connection could not take (the server closed it meanwhile) goes
    /// again on another, and one whose answer a narrow connection refused as too large goes again,
    /// built anew, on a wide one; one that was sent and failed otherwise is the caller's to retry.
    pub(crate) async fn send(
        &self,
        op: Operation,
        make: &(dyn Fn() -> HttpRequest + Sync),
    ) -> Result<(Response<Incoming>, Lease<'_>), Error> {
        let build = || {
            self.inner
                .to_hyper(make())
                .map_err(|source| Error::Request { op, source })
        };
        let mut request = build()?;
        let mut unsent_retries = 0;
        let mut needs_wide = false;
        loop {
            let mut sender = if needs_wide {
                self.inner.connect().await?
            } else {
                self.checkout().await?
            };
            match sender.hyper.try_send_request(request).await {
                Ok(response) => {
                    // hyper refuses a head larger than its buffer only when it arrives in parts;
                    // one that fits a single read passes, so the limits are checked here too (the
                    // connection is closed: the lease is not given back).
                    if self.inner.head_is_too_large(response.headers()) {
                        return Err(self.inner.head_too_large(op));
                    }
                    let lease = Lease { pool: self, sender };
                    return Ok((response, lease));
                }
                Err(mut e) => match e.take_message() {
                    Some(unsent) if unsent_retries < MAX_UNSENT_RETRIES => {
                        unsent_retries += 1;
                        request = unsent;
                    }
                    _ => {
                        let source = e.into_error();
                        if !is_head_too_large(&source) {
                            return Err(Error::Connection { op, source });
                        }
                        if sender.wide || needs_wide || self.inner.wide_builder.is_none() {
                            return Err(self.inner.head_too_large(op));
                        }
                        self.inner.wide.store(true, Ordering::Relaxed);
                        needs_wide = true;
                        request = build()?;
                    }
                },
            }
        }
    }

    /// An open connection ready for a request: an idle one, else the first of a new one and one given
    /// back.
    async fn checkout(&self) -> Result<Sender, Error> {
        let mut closed_before_use = 0;
        loop {
            // An idle connection, or a place in the queue: under one lock, so none is given back between.
            let (idle_or_queued, open_one) = {
                let mut pool = lock(&self.inner.state);
                match pool.take_idle() {
                    Some(sender) => (Ok(sender), false),
                    None => {
                        let (tx, rx) = oneshot::channel();
                        pool.waiting.push_back(tx);
                        let open_one = pool.connecting < pool.live_waiters();
                        if open_one {
                            pool.connecting += 1;
                        }
                        (Err(rx), open_one)
                    }
                }
            };
            let handed = match idle_or_queued {
                Ok(sender) => Some(sender),
                Err(rx) => {
                    if open_one {
                        let inner = self.inner.clone();
                        tokio::spawn(async move {
                            let made = inner.connect().await;
                            lock(&inner.state).connecting -= 1;
                            inner.give_back(made);
                        });
                    }
                    match rx.await {
                        Ok(Ok(sender)) => Some(sender),
                        Ok(Err(e)) => return Err(e),
                        Err(_) => None,
                    }
                }
            };
            if let Some(mut sender) = handed {
                // A connection just given back may still be finishing its last response.
                match sender.ready().await {
                    Ok(()) => return Ok(sender),
                    // A server that closes every connection before it takes a request: say so,
                    // rather than open connections until the request times out.
                    Err(source) if closed_before_use >= MAX_UNSENT_RETRIES => {
                        return Err(Error::ClosedBeforeUse {
                            tries: closed_before_use + 1,
                            source,
                        })
                    }
                    Err(_) => closed_before_use += 1,
                }
            }
        }
    }
}

impl PoolState {
    /// The most recently used idle connection that is still open.
    fn take_idle(&mut self) -> Option<Sender> {
        while let Some(IdleConnection { sender, since }) = self.idle.pop() {
            if !sender.is_closed() && since.elapsed() <= POOL_IDLE_TIMEOUT {
                return Some(sender);
            }
        }
        None
    }

    /// How many requests wait for a connection, once those that gave up (timed out) are dropped.
    fn live_waiters(&mut self) -> usize {
        self.waiting.retain(|waiter| !waiter.is_closed());
        self.waiting.len()
    }
}

impl PoolInner {
    /// Whether a response's headers pass the pool's limits: their bytes, and their number.
    fn head_is_too_large(&self, headers: &HeaderMap) -> bool {
        let bytes: usize = headers
            .iter()
            .map(|(n, v)| n.as_str().len() + v.len() + 4)
            .sum();
        bytes > self.max_header_bytes || headers.len() > max_response_headers(self.max_header_bytes)
    }

    fn head_too_large(&self, op: Operation) -> Error {
        Error::BadResponse {
            op,
            problem: BadResponse::HeadTooLarge {
                limit: self.max_header_bytes,
                max_headers: max_response_headers(self.max_header_bytes),
            },
        }
    }

    /// A connection goes to the first request still waiting, else into the idle list; a failed attempt
    /// to open one goes to the first request still waiting that nothing else will serve.
    fn give_back(&self, mut item: Result<Sender, Error>) {
        if matches!(&item, Ok(sender) if sender.is_closed()) {
            return;
        }
        let mut pool = lock(&self.state);
        if item.is_err() {
            // A failed connect fails a request only if the connections still being opened cannot
            // serve every request waiting; otherwise the one that comes next serves it.
            if pool.live_waiters() <= pool.connecting {
                return;
            }
        }
        while let Some(waiter) = pool.waiting.pop_front() {
            match waiter.send(item) {
                Ok(()) => return,
                Err(returned) => item = returned, // that request gave up (timed out)
            }
        }
        if let Ok(sender) = item {
            if pool.idle.len() < self.max_idle {
                pool.idle.push(IdleConnection {
                    sender,
                    since: Instant::now(),
                });
            }
        }
    }

    async fn connect(&self) -> Result<Sender, Error> {
        let stream = self.connector.connect().await?;
        let wide = self
            .wide_builder
            .as_ref()
            .filter(|_| self.wide.load(Ordering::Relaxed));
        let (sender, connection) = wide
            .unwrap_or(&self.builder)
            .handshake(TokioIo::new(stream))
            .await
            .map_err(|source| Error::ClosedBeforeUse { tries: 1, source })?;
        tokio::spawn(async move {
            // Its errors reach the request that was on it; nothing more to report.
            let _ = connection.await;
        });
        Ok(Sender {
            hyper: sender,
            wide: wide.is_some(),
        })
    }

    fn to_hyper(
        &self,
        req: HttpRequest,
    ) -> Result<hyper::Request<Empty<Bytes>>, hyper::http::Error> {
        let host = match &self.host_value {
            Some(h) if h.as_bytes() == req.host.as_bytes() => h.clone(),
            _ => HeaderValue::try_from(req.host)?,
        };
        let mut request = hyper::Request::new(Empty::new());
        *request.method_mut() = Method::from_bytes(req.method.as_bytes())?;
        // Origin form (`/bucket/key?query`): the connection already goes to the host.
        *request.uri_mut() = Uri::from(PathAndQuery::try_from(req.path_and_query)?);
        // Room for Host and the four signing headers up front: one allocation instead of several.
        *request.headers_mut() = HeaderMap::with_capacity(8);
        let headers = request.headers_mut();
        headers.insert(HOST, host);
        for (name, value) in req.headers {
            let value = match value {
                Cow::Borrowed(s) => HeaderValue::from_static(s),
                Cow::Owned(s) => HeaderValue::try_from(s)?,
            };
            headers.insert(header_name(name), value);
        }
        Ok(request)
    }
}

/// Whether hyper refused a response because its head is larger than the buffer allows. (hyper names
/// this case only with its `server` feature; the message is the same either way.)
fn is_head_too_large(e: &hyper::Error) -> bool {
    e.is_parse() && e.to_string().contains("too large")
}

/// The name of a header the core sets. `HeaderName::from_static` parses its argument on every call; the
/// names of every request are known ones.
fn header_name(name: &'static str) -> HeaderName {
    const X_AMZ_DATE: HeaderName = HeaderName::from_static("x-amz-date");
    const X_AMZ_CONTENT_SHA256: HeaderName = HeaderName::from_static("x-amz-content-sha256");
    match name {
        "authorization" => AUTHORIZATION,
        "x-amz-date" => X_AMZ_DATE,
        "x-amz-content-sha256" => X_AMZ_CONTENT_SHA256,
        other => HeaderName::from_static(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    /// A pool whose connections go to port 1 on loopback, where nothing listens: refused at once.
    fn pool_to_port_1() -> ConnectionPool {
        let connector = Connector::new("127.0.0.1", 1, None, Duration::from_secs(5));
        ConnectionPool::new("127.0.0.1:1", Arc::new(connector), 4, MIN_HEADER_BYTES)
    }

    /// A hyper connection over an in-memory pipe (nobody answers on the other end).
    async fn connection() -> (Sender, tokio::io::DuplexStream) {
        let (ours, theirs) = tokio::io::duplex(1024);
        let (sender, conn) = http1::handshake(TokioIo::new(ours)).await.unwrap();
        tokio::spawn(conn);
        let sender = Sender {
            hyper: sender,
            wide: false,
        };
        (sender, theirs)
    }

    #[test]
    fn a_connection_given_back_goes_to_the_first_request_still_waiting() {
        runtime().block_on(async {
            let client = pool_to_port_1();
            let shared = &client.inner;
            let (gone_tx, gone_rx) = oneshot::channel();
            let (waiting_tx, waiting_rx) = oneshot::channel();
            drop(gone_rx); // that request timed out
            lock(&shared.state).waiting.extend([gone_tx, waiting_tx]);
            let (sender, _pipe) = connection().await;
            shared.give_back(Ok(sender));
            assert!(matches!(waiting_rx.await, Ok(Ok(_))));
            assert!(lock(&shared.state).idle.is_empty());
            // Nobody waiting: it goes idle, up to the limit.
            for _ in 0..5 {
                let (sender, _pipe) = connection().await;
                shared.give_back(Ok(sender));
            }
            assert_eq!(lock(&shared.state).idle.len(), 4);
        });
    }

    #[test]
    fn a_waiting_request_opens_no_connection_while_enough_are_being_opened() {
        runtime().block_on(async {
            let client = pool_to_port_1();
            lock(&client.inner.state).connecting = 1; // as if one were on its way
            let waiting = tokio::spawn({
                let client = client.clone();
                async move { client.checkout().await.map(|_| ()) }
            });
            tokio::task::yield_now().await;
            {
                let pool = lock(&client.inner.state);
                assert_eq!((pool.waiting.len(), pool.connecting), (1, 1));
            }
            // Another request's failed connect is not its failure while one is still on its way …
            client.inner.give_back(Err(Error::NoAddress {
                host: "refused".into(),
            }));
            tokio::task::yield_now().await;
            assert!(!waiting.is_finished());
            // … and port 1 would refuse a connection it opened; it gets the one given back instead.
            let (sender, _pipe) = connection().await;
            client.inner.give_back(Ok(sender));
            assert!(waiting.await.unwrap().is_ok());
        });
    }

    #[test]
    fn a_failed_connect_reaches_the_request_that_waits() {
        runtime().block_on(async {
            // Port 1 on loopback: refused at once.
            let client = pool_to_port_1();
            let err = client.checkout().await.expect_err("nothing listens there");
            assert!(err.to_string().contains("127.0.0.1:1"), "{err}");
            let pool = lock(&client.inner.state);
            assert!(pool.waiting.is_empty());
            assert_eq!(pool.connecting, 0);
        });
    }
}
