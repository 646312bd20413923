//! Opening a connection: the addresses of the host (from `--resolve`, or the resolver's answers reused
//! for a while), TCP with a timeout, falling through to the next address, then TLS for `https://`. The
//! pool asks this for a [`Stream`] and speaks HTTP over it.
//!
//! Connections are spread over every address: each new one goes to the address with the fewest open
//! or opening, the one least recently tried among equals. A FlashBlade serves one bucket on several data VIPs, and AWS answers a
//! name with several addresses; one address alone would cap a scan at what one front end can do.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::error::Error;
use super::lock;
#[cfg(feature = "tls")]
use super::tls::TlsClient;
use crate::core::endpoint::bare_host;

/// How long the addresses a host name resolved to are reused before asking the resolver again.
const DNS_TTL: Duration = Duration::from_secs(30);
/// How long an address that failed to connect is tried only after the others: a data VIP that is down
/// (or drops SYNs until the timeout) must not hold up every new connection.
const FAILED_ADDRESS_LAST: Duration = Duration::from_secs(10);

/// Opens the connections of a scan to one host.
pub(crate) struct Connector {
    /// The host name or IP address, without brackets: resolved, and checked against certificates.
    host: String,
    port: u16,
    /// Addresses that are not looked up: an IP endpoint, or a `--resolve` rule.
    fixed: Option<Vec<SocketAddr>>,
    timeout: Duration,
    #[cfg(feature = "tls")]
    tls: Option<TlsClient>,
    book: Mutex<AddressBook>,
    /// Held while the name is being resolved: the connections opened at the start of a scan (or once
    /// the answers are stale) wait for one lookup instead of each making its own.
    resolving: tokio::sync::Mutex<()>,
}

/// The addresses in use, and every address connected to so far (for the summary).
#[derive(Default)]
struct AddressBook {
    current: Vec<Arc<Peer>>,
    resolved_at: Option<Instant>,
    everyone: Vec<Arc<Peer>>,
    /// Counts the picks of a first address, to tell which was picked least recently.
    picks: u64,
    /// When the book was made: failures are kept as milliseconds since.
    epoch: Option<Instant>,
}

/// One address and its connections.
struct Peer {
    addr: SocketAddr,
    /// Connections open, or being opened, to it.
    open: AtomicUsize,
    opened: AtomicU64,
    /// When it was last picked first, in [`AddressBook::picks`].
    last_picked: AtomicU64,
    /// When a connection to it last failed, in milliseconds since the book's epoch, plus one (0: never).
    failed_at: AtomicU64,
}

/// Connections opened to one address during a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressConnections {
    pub addr: SocketAddr,
    pub opened: u64,
}

impl Connector {
    /// Connections to `host:port`, to `fixed` addresses if given, else to what `host` resolves to. An
    /// attempt that takes longer than `timeout` (a dropped SYN is retried by the kernel for two
    /// minutes) fails, and the next address is tried.
    pub(crate) fn new(
        host: &str,
        port: u16,
        fixed: Option<Vec<SocketAddr>>,
        timeout: Duration,
    ) -> Connector {
        let host = bare_host(host).to_owned();
        let fixed = fixed.or_else(|| {
            host.parse::<std::net::IpAddr>()
                .ok()
                .map(|ip| vec![SocketAddr::new(ip, port)])
        });
        Connector {
            host,
            port,
            fixed,
            timeout,
            #[cfg(feature = "tls")]
            tls: None,
            book: Mutex::new(AddressBook::default()),
            resolving: tokio::sync::Mutex::new(()),
        }
    }

    /// Runs TLS over every connection.
    #[cfg(feature = "tls")]
    pub(crate) fn with_tls(mut self, tls: TlsClient) -> Connector {
        self.tls = Some(tls);
        self
    }

    pub(crate) async fn connect(&self) -> Result<Stream, Error> {
        let (order, first) = self.peers().await?;
        let mut reservation = Some(first);
        // A refusal (a bad certificate) is what is said only when every address refused: one VIP
        // with a bad certificate must not end a scan the others can serve.
        let mut last_error = None;
        #[cfg_attr(not(feature = "tls"), allow(unused_mut))] // only TLS refuses
        let mut last_refusal = None;
        for peer in &order {
            let reserved = reservation
                .take()
                .unwrap_or_else(|| OpenConnection::reserve(peer));
            match self.connect_to(peer, reserved).await {
                Ok(stream) => {
                    peer.failed_at.store(0, Ordering::Relaxed);
                    return Ok(stream);
                }
                Err(e) => {
                    let now = lock(&self.book).clock();
                    peer.failed_at.store(now + 1, Ordering::Relaxed);
                    match e {
                        #[cfg(feature = "tls")]
                        Error::Tls(_) => last_refusal = Some(e),
                        _ => last_error = Some(e),
                    }
                }
            }
        }
        lock(&self.book).resolved_at = None; // resolve again next time: the addresses may have moved
        Err(last_error
            .or(last_refusal)
            .unwrap_or_else(|| Error::NoAddress {
                host: self.host.clone(),
            }))
    }

    /// How long one address may take to connect (and to finish the TLS handshake): a third of the
    /// request's timeout, 1 to 10 s, so that a request can still fall through to another address.
    fn connect_timeout(&self) -> Duration {
        (self.timeout / 3).clamp(Duration::from_secs(1), Duration::from_secs(10))
    }

    async fn connect_to(
        &self,
        peer: &Arc<Peer>,
        reserved: OpenConnection,
    ) -> Result<Stream, Error> {
        let addr = peer.addr;
        let within = self.connect_timeout();
        let tcp = match tokio::time::timeout(within, TcpStream::connect(addr)).await {
            Err(_) => {
                return Err(Error::Connect {
                    addr: addr.to_string(),
                    source: io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("no answer within {} s", within.as_secs_f64()),
                    ),
                })
            }
            Ok(Err(source)) => {
                return Err(Error::Connect {
                    addr: addr.to_string(),
                    source,
                })
            }
            Ok(Ok(tcp)) => tcp,
        };
        // Requests are small and each waits for its answer: send them at once.
        let _ = tcp.set_nodelay(true);
        let io = self.secure(tcp, addr).await?;
        peer.opened.fetch_add(1, Ordering::Relaxed);
        Ok(Stream {
            io,
            _open: reserved,
        })
    }

    /// The TLS handshake over a new TCP stream, if this is `https://`.
    #[cfg(feature = "tls")]
    async fn secure(&self, tcp: TcpStream, addr: SocketAddr) -> Result<Io, Error> {
        let Some(tls) = &self.tls else {
            return Ok(Io::Plain(tcp));
        };
        let within = self.connect_timeout();
        match tokio::time::timeout(within, tls.handshake(tcp, addr)).await {
            Err(_) => Err(Error::Connect {
                addr: addr.to_string(),
                source: io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no TLS handshake within {} s", within.as_secs_f64()),
                ),
            }),
            Ok(tls) => Ok(Io::Tls(Box::new(tls?))),
        }
    }

    #[cfg(not(feature = "tls"))]
    async fn secure(&self, tcp: TcpStream, _addr: SocketAddr) -> Result<Io, Error> {
        Ok(Io::Plain(tcp))
    }

    /// The addresses to try, in order, and the first one's connection counted as being opened.
    async fn peers(&self) -> Result<(Vec<Arc<Peer>>, OpenConnection), Error> {
        // A turn among the addresses known, if they are still good to use.
        let turn_if_fresh = || {
            let mut book = lock(&self.book);
            let fresh = !book.current.is_empty()
                && (self.fixed.is_some()
                    || book.resolved_at.is_some_and(|t| t.elapsed() < DNS_TTL));
            if fresh {
                book.in_turn()
            } else {
                None
            }
        };
        if let Some(turn) = turn_if_fresh() {
            return Ok(turn);
        }
        let _one_lookup = self.resolving.lock().await;
        if let Some(turn) = turn_if_fresh() {
            return Ok(turn); // resolved by another connection meanwhile
        }
        let addrs = match &self.fixed {
            Some(addrs) => addrs.clone(),
            None => self.resolve().await?,
        };
        let mut book = lock(&self.book);
        book.set_current(&addrs);
        book.in_turn().ok_or_else(|| Error::NoAddress {
            host: self.host.clone(),
        })
    }

    async fn resolve(&self) -> Result<Vec<SocketAddr>, Error> {
        let within = self.connect_timeout();
        let lookup = tokio::net::lookup_host((self.host.as_str(), self.port));
        let resolved = tokio::time::timeout(within, lookup)
            .await
            .unwrap_or_else(|_| {
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no answer within {} s", within.as_secs_f64()),
                ))
            });
        let addrs: Vec<SocketAddr> = resolved
            .map_err(|source| Error::Resolve {
                host: self.host.clone(),
                source,
            })?
            .collect();
        if addrs.is_empty() {
            return Err(Error::NoAddress {
                host: self.host.clone(),
            });
        }
        Ok(addrs)
    }

    /// Every address connected to, with how many connections each got, in the order first used.
    pub(crate) fn connections(&self) -> Vec<AddressConnections> {
        lock(&self.book)
            .everyone
            .iter()
            .map(|p| AddressConnections {
                addr: p.addr,
                opened: p.opened.load(Ordering::Relaxed),
            })
            .filter(|c| c.opened > 0)
            .collect()
    }
}

impl AddressBook {
    /// Uses `addrs` from now on, keeping the counts of addresses seen before.
    fn set_current(&mut self, addrs: &[SocketAddr]) {
        let mut current = Vec::with_capacity(addrs.len());
        for &addr in addrs {
            let peer = match self.everyone.iter().find(|p| p.addr == addr) {
                Some(p) => p.clone(),
                None => {
                    let p = Arc::new(Peer {
                        addr,
                        open: AtomicUsize::new(0),
                        opened: AtomicU64::new(0),
                        last_picked: AtomicU64::new(0),
                        failed_at: AtomicU64::new(0),
                    });
                    self.everyone.push(p.clone());
                    p
                }
            };
            if !current.iter().any(|p: &Arc<Peer>| p.addr == addr) {
                current.push(peer);
            }
        }
        self.current = current;
        self.resolved_at = Some(Instant::now());
    }

    /// Milliseconds since the book's epoch.
    fn clock(&mut self) -> u64 {
        self.epoch
            .get_or_insert_with(Instant::now)
            .elapsed()
            .as_millis() as u64
    }

    /// The current addresses: those that failed in the last [`FAILED_ADDRESS_LAST`] after the others,
    /// then fewest open connections first, then the least recently picked; and the first one's
    /// connection counted as being opened, under the same lock, so that connections opened at once
    /// spread. `None` when there is no address.
    fn in_turn(&mut self) -> Option<(Vec<Arc<Peer>>, OpenConnection)> {
        let now = self.clock();
        let window = FAILED_ADDRESS_LAST.as_millis() as u64;
        let mut order = self.current.clone();
        order.sort_by_key(|p| {
            let failed = p.failed_at.load(Ordering::Relaxed);
            (
                failed != 0 && now < failed - 1 + window,
                p.open.load(Ordering::Relaxed),
                p.last_picked.load(Ordering::Relaxed),
            )
        });
        let first = order.first()?;
        self.picks += 1;
        first.last_picked.store(self.picks, Ordering::Relaxed);
        let reserved = OpenConnection::reserve(first);
        Some((order, reserved))
    }
}

#[cfg(feature = "tls")]
type TlsStream = tokio_rustls::client::TlsStream<TcpStream>;

enum Io {
    Plain(TcpStream),
    #[cfg(feature = "tls")]
    Tls(Box<TlsStream>),
}

/// What the pool speaks HTTP over: TCP, or TLS over TCP. Counts as open to its address until dropped.
pub(crate) struct Stream {
    io: Io,
    _open: OpenConnection,
}

/// One connection open, or being opened, to an address: counted while it lives.
struct OpenConnection(Arc<Peer>);

impl OpenConnection {
    fn reserve(peer: &Arc<Peer>) -> OpenConnection {
        peer.open.fetch_add(1, Ordering::Relaxed);
        OpenConnection(peer.clone())
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(feature = "tls")]
            Io::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(feature = "tls")]
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            #[cfg(feature = "tls")]
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.io {
            Io::Plain(s) => s.is_write_vectored(),
            #[cfg(feature = "tls")]
            Io::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_flush(cx),
            #[cfg(feature = "tls")]
            Io::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Plain(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(feature = "tls")]
            Io::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The order of the next pick, its reservation given back at once.
    fn peers(book: &mut AddressBook) -> Vec<String> {
        let (order, _reserved) = book.in_turn().unwrap();
        order.iter().map(|p| p.addr.to_string()).collect()
    }

    #[test]
    fn each_connection_goes_where_fewest_are_open() {
        let addrs: Vec<SocketAddr> = ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        let mut book = AddressBook::default();
        book.set_current(&addrs);
        // With none open, the addresses take turns being first.
        let firsts: Vec<String> = (0..4).map(|_| peers(&mut book)[0].clone()).collect();
        assert_eq!(
            firsts,
            ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80", "10.0.0.1:80"]
        );
        // One open on .1 (a LIST, say): .2 and .3 take turns.
        book.current[0].open.store(1, Ordering::Relaxed);
        let firsts: Vec<String> = (0..4).map(|_| peers(&mut book)[0].clone()).collect();
        assert_eq!(
            firsts,
            ["10.0.0.2:80", "10.0.0.3:80", "10.0.0.2:80", "10.0.0.3:80"]
        );
        // Two open on .2 and one on .3: .1 is first whoever's turn it is, then .3.
        book.current[0].open.store(0, Ordering::Relaxed);
        book.current[1].open.store(2, Ordering::Relaxed);
        book.current[2].open.store(1, Ordering::Relaxed);
        for _ in 0..3 {
            assert_eq!(
                peers(&mut book),
                ["10.0.0.1:80", "10.0.0.3:80", "10.0.0.2:80"]
            );
        }
        // An address that just failed goes last, however few connections it has.
        book.current[0].failed_at.store(1, Ordering::Relaxed);
        assert_eq!(
            peers(&mut book),
            ["10.0.0.3:80", "10.0.0.2:80", "10.0.0.1:80"]
        );
        book.current[0].failed_at.store(0, Ordering::Relaxed);
        // A new answer keeps the counts of the addresses it shares with the old one.
        book.current[0].opened.store(7, Ordering::Relaxed);
        book.set_current(&addrs[..1]);
        assert_eq!(book.current[0].opened.load(Ordering::Relaxed), 7);
        assert_eq!(book.everyone.len(), 3);
    }

    #[test]
    fn a_refused_connection_names_the_address() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let c = Connector::new("127.0.0.1", 1, None, Duration::from_secs(5));
        let err = rt.block_on(c.connect()).err().unwrap();
        assert!(matches!(err, Error::Connect { .. }) && err.is_retryable());
        assert!(err.to_string().contains("127.0.0.1:1"), "{err}");
        assert!(c.connections().is_empty());
    }

    #[test]
    fn connections_spread_over_every_address_given() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let a = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let b = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addrs = vec![a.local_addr().unwrap(), b.local_addr().unwrap()];
            let c = Connector::new(
                "vips.example",
                80,
                Some(addrs.clone()),
                Duration::from_secs(5),
            );
            let mut open = Vec::new();
            for _ in 0..6 {
                open.push(c.connect().await.ok().unwrap());
            }
            let counts: Vec<(SocketAddr, u64)> =
                c.connections().iter().map(|x| (x.addr, x.opened)).collect();
            assert_eq!(counts.len(), 2, "{counts:?}");
            assert!(counts.iter().all(|&(_, n)| n == 3), "{counts:?}");
            // Closing .a's connections sends the next ones there.
            open.retain(|s| s._open.0.addr != addrs[0]);
            c.connect().await.ok().unwrap();
            let total: u64 = c.connections().iter().map(|x| x.opened).sum();
            assert_eq!(total, 7);
            assert_eq!(
                c.connections()
                    .iter()
                    .find(|x| x.addr == addrs[0])
                    .unwrap()
                    .opened,
                4
            );
        });
    }
}
