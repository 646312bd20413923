//! The keep-alive HTTP/1.1 connection pool every request goes through: hyper connections
//! (`hyper::client::conn::http1`) kept in a plain list, one request at a time on each.
//!
//! Why not hyper-util's pool: a scan sends every request to one host, so the general pool's per-request
//! work (a hash map keyed by scheme and host, a checkout racing a connect, a task spawned per response to
//! hand the connection back) was a quarter of the client's CPU per HEAD. Here a request takes the most
//! recently used idle connection, or opens one, and gives it back when its response is read.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::Empty;
use hyper::body::{Bytes, Incoming};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, HOST};
use hyper::http::uri::PathAndQuery;
use hyper::{Method, Response, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::oneshot;

use super::lock;
use crate::core::request::HttpRequest;

/// How many response headers we accept: objects may carry 100+ metadata entries (RGW allows it; an SDK
/// with hyper's default limit of 100 fails on them).
const MAX_RESPONSE_HEADERS: usize = 4096;
/// Room for those headers: 100 entries of 2 KB each and then some.
const MAX_HEADER_BYTES: usize = 1 << 20;
/// Below the idle timeouts of S3 servers (AWS closes idle connections after about 20 s, some stores
/// sooner), so that we rarely send on a connection the server is closing.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(4);
/// How many times a request that no connection took (each closed before it could be written) goes
/// again on another before it is an error.
const MAX_UNSENT_RETRIES: usize = 3;
/// How long the addresses a host name resolved to are reused before asking the resolver again.
const DNS_TTL: Duration = Duration::from_secs(30);

type Sender = SendRequest<Empty<Bytes>>;
type Handover = oneshot::Sender<Result<Sender, TransportError>>;

struct IdleConnection {
    sender: Sender,
    since: Instant,
}

/// Cloning is a reference count: the clones share the connections.
#[derive(Clone)]
pub struct HttpClient {
    shared: Arc<Shared>,
}

struct Shared {
    pool: Mutex<Pool>,
    max_idle: usize,
    connect_timeout: Duration,
    builder: http1::Builder,
    /// `host:port` to connect to.
    connect_to: String,
    /// The `Host` every request of a scan carries, parsed once (cloning it is a reference count).
    host_value: Option<HeaderValue>,
    resolved: Mutex<Option<Resolved>>,
}

#[derive(Default)]
struct Pool {
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

struct Resolved {
    addrs: Vec<SocketAddr>,
    at: Instant,
    /// Where the next connection starts in `addrs`, so connections spread over every address.
    next: usize,
}

/// A request that got no HTTP response: connection refused or reset, a protocol error, …
#[derive(Debug)]
pub struct TransportError(pub String);

/// The connection a response came on. Give it back with [`Lease::finish`] once the body is read;
/// dropping the lease instead closes the connection (a half-read body cannot be reused).
pub struct Lease<'a> {
    client: &'a HttpClient,
    sender: Sender,
}

impl Lease<'_> {
    /// The response is read: the connection can carry the next request.
    pub fn finish(self) {
        self.client.shared.give_back(Ok(self.sender));
    }
}

impl HttpClient {
    /// A pool keeping up to `max_idle` connections open (at least the number of requests in flight).
    /// `host` is the `Host` of the requests to come; connections go to `connect_to` (`host:port`).
    /// A connection attempt that takes longer than `connect_timeout` (a dropped SYN is retried by the
    /// kernel for two minutes) fails, and the next address is tried.
    pub fn new(
        host: &str,
        connect_to: String,
        max_idle: usize,
        connect_timeout: Duration,
    ) -> HttpClient {
        let mut builder = http1::Builder::new();
        builder
            .max_headers(MAX_RESPONSE_HEADERS)
            .max_buf_size(MAX_HEADER_BYTES);
        let shared = Shared {
            pool: Mutex::new(Pool::default()),
            max_idle,
            connect_timeout,
            builder,
            connect_to,
            host_value: HeaderValue::try_from(host).ok(),
            resolved: Mutex::new(None),
        };
        HttpClient {
            shared: Arc::new(shared),
        }
    }

    /// Sends a request built by the core, byte for byte (taken by value: its strings move into hyper).
    /// A request that a reused connection could not take (the server closed it meanwhile) goes again on
    /// another; one that was sent and failed is the caller's to retry.
    pub async fn send(
        &self,
        req: HttpRequest,
    ) -> Result<(Response<Incoming>, Lease<'_>), TransportError> {
        let mut request = self
            .shared
            .to_hyper(req)
            .map_err(|e| TransportError(format!("cannot build the request: {e}")))?;
        let mut unsent_retries = 0;
        loop {
            let mut sender = self.checkout().await?;
            match sender.try_send_request(request).await {
                Ok(response) => {
                    let lease = Lease {
                        client: self,
                        sender,
                    };
                    return Ok((response, lease));
                }
                Err(mut e) => match e.take_message() {
                    Some(unsent) if unsent_retries < MAX_UNSENT_RETRIES => {
                        unsent_retries += 1;
                        request = unsent;
                    }
                    _ => return Err(TransportError(error_chain(e.error()))),
                },
            }
        }
    }

    /// An open connection ready for a request: an idle one, else the first of a new one and one given
    /// back.
    async fn checkout(&self) -> Result<Sender, TransportError> {
        let mut closed_before_use = 0;
        loop {
            // An idle connection, or a place in the queue: under one lock, so none is given back between.
            let (idle_or_queued, open_one) = {
                let mut pool = lock(&self.shared.pool);
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
                        let shared = self.shared.clone();
                        tokio::spawn(async move {
                            let made = shared.connect().await;
                            lock(&shared.pool).connecting -= 1;
                            shared.give_back(made);
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
                    Err(e) if closed_before_use >= MAX_UNSENT_RETRIES => {
                        return Err(TransportError(format!(
                            "the server closed {} connections before they took a request: {}",
                            closed_before_use + 1,
                            error_chain(&e)
                        )))
                    }
                    Err(_) => closed_before_use += 1,
                }
            }
        }
    }
}

impl Pool {
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

impl Shared {
    /// A connection goes to the first request still waiting, else into the idle list; a failed attempt
    /// to open one goes to the first request still waiting that nothing else will serve.
    fn give_back(&self, mut item: Result<Sender, TransportError>) {
        if matches!(&item, Ok(sender) if sender.is_closed()) {
            return;
        }
        let mut pool = lock(&self.pool);
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

    async fn connect(&self) -> Result<Sender, TransportError> {
        let addrs = self.addresses().await?;
        let mut last_error = None;
        for addr in &addrs {
            match tokio::time::timeout(self.connect_timeout, TcpStream::connect(addr)).await {
                Err(_) => {
                    last_error = Some(format!(
                        "connecting to {addr}: no answer within {} s",
                        self.connect_timeout.as_secs_f64()
                    ))
                }
                Ok(Err(e)) => last_error = Some(format!("connecting to {addr}: {e}")),
                Ok(Ok(stream)) => {
                    // Requests are small and each waits for its answer: send them at once.
                    let _ = stream.set_nodelay(true);
                    let (sender, connection) = self
                        .builder
                        .handshake(TokioIo::new(stream))
                        .await
                        .map_err(|e| TransportError(error_chain(&e)))?;
                    tokio::spawn(async move {
                        // Its errors reach the request that was on it; nothing more to report.
                        let _ = connection.await;
                    });
                    if sender.is_closed() {
                        return Err(TransportError(format!(
                            "connecting to {addr}: the server closed the connection at once"
                        )));
                    }
                    return Ok(sender);
                }
            }
        }
        *lock(&self.resolved) = None; // resolve again next time: the addresses may have moved
        Err(TransportError(last_error.unwrap_or_else(|| {
            format!("{} resolved to no address", self.connect_to)
        })))
    }

    /// The addresses to try, starting with a different one each time.
    async fn addresses(&self) -> Result<Vec<SocketAddr>, TransportError> {
        if let Ok(addr) = self.connect_to.parse::<SocketAddr>() {
            return Ok(vec![addr]);
        }
        {
            let mut cached = lock(&self.resolved);
            if let Some(r) = cached.as_mut().filter(|r| r.at.elapsed() < DNS_TTL) {
                r.next = r.next.wrapping_add(1);
                let start = r.next % r.addrs.len();
                return Ok(r.addrs[start..]
                    .iter()
                    .chain(&r.addrs[..start])
                    .copied()
                    .collect());
            }
        }
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host(&self.connect_to)
            .await
            .map_err(|e| TransportError(format!("resolving {}: {e}", self.connect_to)))?
            .collect();
        if addrs.is_empty() {
            return Err(TransportError(format!(
                "{} resolved to no address",
                self.connect_to
            )));
        }
        *lock(&self.resolved) = Some(Resolved {
            addrs: addrs.clone(),
            at: Instant::now(),
            next: 0,
        });
        Ok(addrs)
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

/// An error and its causes on one line: hyper's own message ("connection closed before message
/// completed") says little without them.
pub fn error_chain(e: &dyn std::error::Error) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    /// A hyper connection over an in-memory pipe (nobody answers on the other end).
    async fn connection() -> (Sender, tokio::io::DuplexStream) {
        let (ours, theirs) = tokio::io::duplex(1024);
        let (sender, conn) = http1::handshake(TokioIo::new(ours)).await.unwrap();
        tokio::spawn(conn);
        (sender, theirs)
    }

    #[test]
    fn a_connection_given_back_goes_to_the_first_request_still_waiting() {
        runtime().block_on(async {
            let client = HttpClient::new(
                "127.0.0.1:1",
                "127.0.0.1:1".into(),
                4,
                Duration::from_secs(5),
            );
            let shared = &client.shared;
            let (gone_tx, gone_rx) = oneshot::channel();
            let (waiting_tx, waiting_rx) = oneshot::channel();
            drop(gone_rx); // that request timed out
            lock(&shared.pool).waiting.extend([gone_tx, waiting_tx]);
            let (sender, _pipe) = connection().await;
            shared.give_back(Ok(sender));
            assert!(matches!(waiting_rx.await, Ok(Ok(_))));
            assert!(lock(&shared.pool).idle.is_empty());
            // Nobody waiting: it goes idle, up to the limit.
            for _ in 0..5 {
                let (sender, _pipe) = connection().await;
                shared.give_back(Ok(sender));
            }
            assert_eq!(lock(&shared.pool).idle.len(), 4);
        });
    }

    #[test]
    fn a_waiting_request_opens_no_connection_while_enough_are_being_opened() {
        runtime().block_on(async {
            let client = HttpClient::new(
                "127.0.0.1:1",
                "127.0.0.1:1".into(),
                4,
                Duration::from_secs(5),
            );
            lock(&client.shared.pool).connecting = 1; // as if one were on its way
            let waiting = tokio::spawn({
                let client = client.clone();
                async move { client.checkout().await.map(|_| ()) }
            });
            tokio::task::yield_now().await;
            {
                let pool = lock(&client.shared.pool);
                assert_eq!((pool.waiting.len(), pool.connecting), (1, 1));
            }
            // Another request's failed connect is not its failure while one is still on its way …
            client
                .shared
                .give_back(Err(TransportError("connecting: refused".into())));
            tokio::task::yield_now().await;
            assert!(!waiting.is_finished());
            // … and port 1 would refuse a connection it opened; it gets the one given back instead.
            let (sender, _pipe) = connection().await;
            client.shared.give_back(Ok(sender));
            assert!(waiting.await.unwrap().is_ok());
        });
    }

    #[test]
    fn a_failed_connect_reaches_the_request_that_waits() {
        runtime().block_on(async {
            // Port 1 on loopback: refused at once.
            let client = HttpClient::new(
                "127.0.0.1:1",
                "127.0.0.1:1".into(),
                4,
                Duration::from_secs(5),
            );
            let err = client.checkout().await.expect_err("nothing listens there");
            assert!(err.0.contains("127.0.0.1:1"), "{}", err.0);
            let pool = lock(&client.shared.pool);
            assert!(pool.waiting.is_empty());
            assert_eq!(pool.connecting, 0);
        });
    }
}
