//! Opening a connection: resolve the host (answers reused for a while, connections spread over every
//! address), then TCP with a timeout, falling through to the next address. The pool asks this for a
//! stream and speaks HTTP over it; a TLS layer will sit here, between the socket and the pool.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use super::error::Error;
use super::lock;

/// How long the addresses a host name resolved to are reused before asking the resolver again.
const DNS_TTL: Duration = Duration::from_secs(30);

/// What the pool speaks HTTP over.
pub(crate) type Stream = TcpStream;

/// Opens connections to one `host:port`.
pub(crate) struct Connector {
    /// `host:port` to connect to.
    address: String,
    timeout: Duration,
    resolved: Mutex<Option<Resolved>>,
}

struct Resolved {
    addrs: Vec<SocketAddr>,
    at: Instant,
    /// Where the next connection starts in `addrs`, so connections spread over every address.
    next: usize,
}

impl Connector {
    /// Connections to `address` (`host:port`); an attempt that takes longer than `timeout` (a dropped
    /// SYN is retried by the kernel for two minutes) fails, and the next address is tried.
    pub(crate) fn new(address: String, timeout: Duration) -> Connector {
        Connector {
            address,
            timeout,
            resolved: Mutex::new(None),
        }
    }

    pub(crate) async fn connect(&self) -> Result<Stream, Error> {
        let addrs = self.addresses().await?;
        let mut last_error = None;
        for addr in &addrs {
            match tokio::time::timeout(self.timeout, TcpStream::connect(addr)).await {
                Err(_) => {
                    last_error = Some(Error::Connect {
                        addr: addr.to_string(),
                        source: std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            format!("no answer within {} s", self.timeout.as_secs_f64()),
                        ),
                    })
                }
                Ok(Err(source)) => {
                    last_error = Some(Error::Connect {
                        addr: addr.to_string(),
                        source,
                    })
                }
                Ok(Ok(stream)) => {
                    // Requests are small and each waits for its answer: send them at once.
                    let _ = stream.set_nodelay(true);
                    return Ok(stream);
                }
            }
        }
        *lock(&self.resolved) = None; // resolve again next time: the addresses may have moved
        Err(last_error.unwrap_or_else(|| Error::NoAddress {
            host: self.address.clone(),
        }))
    }

    /// The addresses to try, starting with a different one each time.
    async fn addresses(&self) -> Result<Vec<SocketAddr>, Error> {
        if let Ok(addr) = self.address.parse::<SocketAddr>() {
            return Ok(vec![addr]);
        }
        {
            let mut cached = lock(&self.resolved);
            if let Some(r) = cached.as_mut().filter(|r| r.at.elapsed() < DNS_TTL) {
                r.next = r.next.wrapping_add(1);
                return Ok(rotated(&r.addrs, r.next));
            }
        }
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host(&self.address)
            .await
            .map_err(|source| Error::Resolve {
                host: self.address.clone(),
                source,
            })?
            .collect();
        if addrs.is_empty() {
            return Err(Error::NoAddress {
                host: self.address.clone(),
            });
        }
        *lock(&self.resolved) = Some(Resolved {
            addrs: addrs.clone(),
            at: Instant::now(),
            next: 0,
        });
        Ok(addrs)
    }
}

/// `addrs` starting at `start` (modulo its length), wrapping around.
fn rotated(addrs: &[SocketAddr], start: usize) -> Vec<SocketAddr> {
    let start = start % addrs.len();
    addrs[start..]
        .iter()
        .chain(&addrs[..start])
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_address_gets_its_turn_first() {
        let addrs: Vec<SocketAddr> = ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        let firsts: Vec<SocketAddr> = (0..3).map(|i| rotated(&addrs, i)[0]).collect();
        assert_eq!(firsts, addrs);
        assert_eq!(rotated(&addrs, 4).len(), 3);
    }

    #[test]
    fn a_refused_connection_names_the_address() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let c = Connector::new("127.0.0.1:1".into(), Duration::from_secs(5));
        let err = rt.block_on(c.connect()).unwrap_err();
        assert!(matches!(err, Error::Connect { .. }) && err.is_retryable());
        assert!(err.to_string().contains("127.0.0.1:1"), "{err}");
    }
}
