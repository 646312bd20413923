//! A proxy in front of a real S3 server that throttles as a loaded store does: above `rps` requests
//! per second (a token bucket of 50 ms), it answers `503 SlowDown` itself; the rest go through, byte
//! for byte. HTTP/1.1 keep-alive, one upstream connection per client connection; requests without
//! bodies (GET, HEAD), responses with a Content-Length or chunked.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Instant;

pub struct ThrottleProxy {
    pub endpoint: String,
    pub passed: Arc<AtomicU64>,
    pub throttled: Arc<AtomicU64>,
}

struct Bucket {
    rps: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn take(&mut self) -> bool {
        let now = Instant::now();
        let burst = (self.rps * 0.05).max(1.0);
        self.tokens =
            (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rps).min(burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Listens on a free loopback port below the ephemeral range, forwarding to `upstream` (`host:port`).
pub fn start(upstream: &str, rps: f64) -> ThrottleProxy {
    let start = 20000 + (std::process::id() % 12000) as u16;
    let listener = (0..12000u16)
        .find_map(|i| TcpListener::bind(("127.0.0.1", 20000 + (start - 20000 + i) % 12000)).ok())
        .expect("a free port");
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let bucket = Arc::new(Mutex::new(Bucket {
        rps,
        tokens: 0.0,
        last: Instant::now(),
    }));
    let (passed, throttled) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let (p, t) = (passed.clone(), throttled.clone());
    let upstream = upstream.to_owned();
    thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let (bucket, upstream, p, t) = (bucket.clone(), upstream.clone(), p.clone(), t.clone());
            thread::spawn(move || {
                let _ = serve(client, &upstream, &bucket, &p, &t);
            });
        }
    });
    ThrottleProxy {
        endpoint,
        passed,
        throttled,
    }
}

/// Reads lines up to the blank one; `None` at a clean end of the stream.
fn read_head(r: &mut impl BufRead) -> std::io::Result<Option<Vec<u8>>> {
    let mut head = Vec::new();
    loop {
        let mut line = Vec::new();
        if r.read_until(b'\n', &mut line)? == 0 {
            return Ok(None);
        }
        head.extend_from_slice(&line);
        if line == b"\r\n" {
            return Ok(Some(head));
        }
    }
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn serve(
    client: TcpStream,
    upstream: &str,
    bucket: &Mutex<Bucket>,
    passed: &AtomicU64,
    throttled: &AtomicU64,
) -> std::io::Result<()> {
    let mut client_out = client.try_clone()?;
    let mut client_in = BufReader::new(client);
    let up = TcpStream::connect(upstream)?;
    let mut up_out = up.try_clone()?;
    let mut up_in = BufReader::new(up);
    while let Some(request) = read_head(&mut client_in)? {
        let is_head = request.starts_with(b"HEAD ");
        let go = bucket.lock().unwrap().take();
        if !go {
            throttled.fetch_add(1, Ordering::Relaxed);
            let body: &[u8] = if is_head {
                b""
            } else {
                b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
            };
            write!(
                client_out,
                "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\r\n",
                if is_head { 0 } else { body.len() }
            )?;
            client_out.write_all(body)?;
            continue;
        }
        passed.fetch_add(1, Ordering::Relaxed);
        up_out.write_all(&request)?;
        let Some(response) = read_head(&mut up_in)? else {
            return Ok(());
        };
        client_out.write_all(&response)?;
        let text = String::from_utf8_lossy(&response).into_owned();
        let status_no_body = text
            .split(' ')
            .nth(1)
            .is_some_and(|s| s == "204" || s == "304");
        if is_head || status_no_body {
            continue;
        }
        if header(&text, "transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
            loop {
                let mut size_line = Vec::new();
                up_in.read_until(b'\n', &mut size_line)?;
                client_out.write_all(&size_line)?;
                let size = usize::from_str_radix(
                    String::from_utf8_lossy(&size_line)
                        .trim()
                        .split(';')
                        .next()
                        .unwrap_or(""),
                    16,
                )
                .unwrap_or(0);
                if size == 0 {
                    // Trailers, up to the blank line.
                    let trailer = read_head(&mut up_in)?.unwrap_or_default();
                    client_out.write_all(&trailer)?;
                    break;
                }
                let mut chunk = vec![0; size + 2];
                up_in.read_exact(&mut chunk)?;
                client_out.write_all(&chunk)?;
            }
        } else if let Some(len) =
            header(&text, "content-length").and_then(|v| v.parse::<u64>().ok())
        {
            std::io::copy(&mut (&mut up_in).take(len), &mut client_out)?;
        } else {
            // Neither: the body ends with the connection.
            std::io::copy(&mut up_in, &mut client_out)?;
            return Ok(());
        }
    }
    Ok(())
}
