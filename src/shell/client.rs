//! The one shared HTTP/1.1 keep-alive connection pool every request goes through.

use std::time::Duration;

use std::borrow::Cow;

use http_body_util::Empty;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderMap, HeaderName, HeaderValue, HOST};
use hyper::http::uri::{Authority, PathAndQuery};
use hyper::{Method, Response, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::core::endpoint::Scheme;
use crate::core::request::HttpRequest;

/// How many response headers we accept: objects may carry 100+ metadata entries (RGW allows it; an SDK
/// with hyper's default limit of 100 fails on them).
const MAX_RESPONSE_HEADERS: usize = 4096;
/// Room for those headers: 100 entries of 2 KB each and then some.
const MAX_HEADER_BYTES: usize = 1 << 20;
/// Below the idle timeouts of S3 servers (AWS closes idle connections after about 20 s, some stores
/// sooner), so that we rarely send on a connection the server is closing.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(4);

#[derive(Clone)]
pub struct HttpClient {
    inner: Client<HttpConnector, Empty<Bytes>>,
    scheme: Scheme,
    /// The host every request of a scan goes to, parsed once (cloning these is a reference count).
    host: String,
    host_authority: Option<Authority>,
    host_value: Option<HeaderValue>,
}

/// A request that got no HTTP response: connection refused or reset, a protocol error, …
#[derive(Debug)]
pub struct TransportError(pub String);

impl HttpClient {
    /// A pool keeping up to `max_idle` connections open (at least the number of requests in flight).
    /// `host` is the `Host` of the requests to come (others work too, a little slower).
    pub fn new(
        scheme: Scheme,
        host: &str,
        max_idle: usize,
        connect_timeout: Duration,
    ) -> HttpClient {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(connect_timeout));
        connector.set_keepalive(Some(Duration::from_secs(30)));
        let inner = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .pool_max_idle_per_host(max_idle)
            .http1_max_headers(MAX_RESPONSE_HEADERS)
            .http1_max_buf_size(MAX_HEADER_BYTES)
            .retry_canceled_requests(true)
            .set_host(false)
            .build(connector);
        HttpClient {
            inner,
            scheme,
            host: host.to_owned(),
            host_authority: Authority::try_from(host).ok(),
            host_value: HeaderValue::try_from(host).ok(),
        }
    }

    /// Sends a request built by the core, byte for byte (taken by value: its strings move into hyper).
    pub async fn send(&self, req: HttpRequest) -> Result<Response<Incoming>, TransportError> {
        let request = self
            .to_hyper(req)
            .map_err(|e| TransportError(format!("cannot build the request: {e}")))?;
        self.inner
            .request(request)
            .await
            .map_err(|e| TransportError(error_chain(&e)))
    }

    fn to_hyper(
        &self,
        req: HttpRequest,
    ) -> Result<hyper::Request<Empty<Bytes>>, hyper::http::Error> {
        let mut uri = hyper::http::uri::Parts::default();
        uri.scheme = Some(match self.scheme {
            Scheme::Http => hyper::http::uri::Scheme::HTTP,
            Scheme::Https => hyper::http::uri::Scheme::HTTPS,
        });
        let (authority, host) = match (&self.host_authority, &self.host_value) {
            (Some(a), Some(h)) if req.host == self.host => (a.clone(), h.clone()),
            _ => (
                Authority::try_from(req.host.as_str())?,
                HeaderValue::try_from(req.host)?,
            ),
        };
        uri.authority = Some(authority);
        uri.path_and_query = Some(PathAndQuery::try_from(req.path_and_query)?);
        let mut request = hyper::Request::new(Empty::new());
        *request.method_mut() = Method::from_bytes(req.method.as_bytes())?;
        *request.uri_mut() = Uri::from_parts(uri)?;
        // Room for Host and the four signing headers up front: one allocation instead of several.
        *request.headers_mut() = HeaderMap::with_capacity(8);
        let headers = request.headers_mut();
        headers.insert(HOST, host);
        for (name, value) in req.headers {
            let value = match value {
                Cow::Borrowed(s) => HeaderValue::from_static(s),
                Cow::Owned(s) => HeaderValue::try_from(s)?,
            };
            headers.insert(HeaderName::from_static(name), value);
        }
        Ok(request)
    }
}

/// An error and its causes on one line: hyper-util's own message ("client error (Connect)") says little.
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
