//! Helpers shared by the integration tests: running the real binary, finding the real servers that
//! tests/run.sh started, and a scripted HTTP server for the faults real servers will not produce.
#![allow(dead_code)]

pub mod sim;
pub mod test_ca;
pub mod throttle_proxy;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

/// What one run of the binary did.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// All that a child printed on its stderr (piped), to its end.
pub fn stderr_of(child: &mut Child) -> String {
    let mut err = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        pipe.read_to_string(&mut err).unwrap();
    }
    err
}

fn finish(out: Output) -> Run {
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The binary under test: `S3META_BINARY` if set (tests/run.sh sets the release build, so that the
/// scans of hundreds of thousands of objects take seconds, not minutes), else the one cargo built.
pub fn binary() -> String {
    std::env::var("S3META_BINARY").unwrap_or_else(|_| env!("CARGO_BIN_EXE_s3meta").to_owned())
}

/// The `s3meta` binary with `args` and exactly the environment given (nothing inherited but PATH).
pub fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(binary());
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", "/nonexistent");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Runs `s3meta` with `args` and exactly the environment given (nothing inherited but PATH).
pub fn s3meta(args: &[&str], env: &[(&str, &str)]) -> Run {
    s3meta_within(args, env, 120)
}

/// Runs `s3meta`, and fails the test if it has not ended after `secs` seconds (a hang, or work that
/// grows faster than its input, is a failure, not a slow test).
pub fn s3meta_within(args: &[&str], env: &[(&str, &str)], secs: u64) -> Run {
    let mut child = command(args, env)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run s3meta");
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let out_reader = thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out.read_to_end(&mut b);
        b
    });
    let err_reader = thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err.read_to_end(&mut b);
        b
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for s3meta") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("s3meta {args:?} did not end within {secs} s");
        }
        thread::sleep(std::time::Duration::from_millis(10));
    };
    finish(Output {
        status,
        stdout: out_reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
    })
}

/// A real S3 server started by tests/run.sh.
#[derive(Clone, Debug)]
pub struct Server {
    pub name: String,
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: String,
    /// What tests/servers/seed_hard.py recorded the server holds.
    pub manifest: std::path::PathBuf,
}

impl Server {
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", self.access_key.clone()),
            ("AWS_SECRET_ACCESS_KEY", self.secret_key.clone()),
        ]
    }

    /// Runs a scan against this server with its credentials.
    pub fn scan(&self, args: &[&str]) -> Run {
        let mut all = vec!["scan"];
        all.extend_from_slice(args);
        all.push("--endpoint-url");
        all.push(&self.endpoint);
        let env = self.env();
        let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        s3meta(&all, &env_refs)
    }
}

fn parse_env_file(path: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The servers tests/run.sh started: `S3META_TEST_SERVERS` is `name=DIR;…`, each DIR holding the
/// server's `credentials.env` and the seed's `manifest.json`; `S3META_REQUIRE_SERVERS` (`rgw,s3sfs,…`)
/// names the ones that must be there. The tests that call this are `#[ignore]`d, so that a plain
/// `cargo test` shows them as ignored; run with `--include-ignored` and no servers, they fail.
pub fn servers() -> Vec<Server> {
    let spec = std::env::var("S3META_TEST_SERVERS").unwrap_or_default();
    let found: Vec<Server> = spec
        .split(';')
        .filter(|s| !s.is_empty())
        .map(|item| {
            let (name, dir) = item.split_once('=').expect("name=DIR");
            let dir = Path::new(dir);
            let vars = parse_env_file(&dir.join("credentials.env"));
            let get = |k: &str| {
                vars.iter()
                    .find(|(n, _)| n == k)
                    .map(|(_, v)| v.clone())
                    .expect(k)
            };
            Server {
                name: name.to_string(),
                endpoint: get("S3_ENDPOINT"),
                access_key: get("AWS_ACCESS_KEY_ID"),
                secret_key: get("AWS_SECRET_ACCESS_KEY"),
                manifest: dir.join("manifest.json"),
            }
        })
        .collect();
    let required =
        std::env::var("S3META_REQUIRE_SERVERS").unwrap_or_else(|_| "rgw,s3sfs,garage".into());
    for name in required.split(',').filter(|n| !n.is_empty()) {
        assert!(
            found.iter().any(|s| s.name == name),
            "the {name} server is required but not in S3META_TEST_SERVERS={spec:?}: run tests/run.sh"
        );
    }
    assert!(!found.is_empty(), "no real S3 servers: run tests/run.sh");
    found
}

/// A request as the scripted server saw it.
#[derive(Debug, Clone)]
pub struct SeenRequest {
    pub method: String,
    pub target: String,
    /// Header names lower-cased, values as sent.
    pub headers: Vec<(String, String)>,
}

impl SeenRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the scripted server does with one request.
pub enum Reply {
    /// Status, extra headers (values as bytes: servers may send any), body.
    Http(u16, Vec<(String, Vec<u8>)>, Vec<u8>),
    /// Close the connection without answering.
    Close,
}

/// A scripted HTTP/1.1 server on 127.0.0.1 (a port below 32768), one thread per connection, keep-alive.
pub struct ScriptedServer {
    pub endpoint: String,
    pub requests: Arc<AtomicUsize>,
}

fn bind_low_port() -> TcpListener {
    let start = 20000 + (std::process::id() as u16 % 5000) + (rand_offset() % 5000);
    for port in (start..32000).chain(20000..start) {
        if let Ok(l) = TcpListener::bind(("127.0.0.1", port)) {
            return l;
        }
    }
    panic!("no free port below 32000");
}

fn rand_offset() -> u16 {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    (NEXT.fetch_add(97, Ordering::Relaxed) as u16).wrapping_add(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_micros() as u16)
            .unwrap_or(0),
    )
}

impl ScriptedServer {
    pub fn start(
        handler: impl Fn(&SeenRequest) -> Reply + Send + Sync + 'static,
    ) -> ScriptedServer {
        let listener = bind_low_port();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let handler = Arc::new(handler);
        let requests = Arc::new(AtomicUsize::new(0));
        let count = requests.clone();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let handler = handler.clone();
                let count = count.clone();
                thread::spawn(move || serve(stream, &*handler, &count));
            }
        });
        ScriptedServer { endpoint, requests }
    }
}

fn serve(stream: TcpStream, handler: &dyn Fn(&SeenRequest) -> Reply, count: &AtomicUsize) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let target = parts.next().unwrap_or("").to_string();
        let mut content_length = 0usize;
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            if h == "\r\n" {
                break;
            }
            if let Some((n, v)) = h.split_once(':') {
                if n.eq_ignore_ascii_case("content-length") {
                    content_length = v.trim().parse().unwrap_or(0);
                }
                headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let mut body = vec![0; content_length];
        let _ = reader.read_exact(&mut body);
        count.fetch_add(1, Ordering::SeqCst);
        let req = SeenRequest {
            method: method.clone(),
            target,
            headers,
        };
        match handler(&req) {
            Reply::Close => return,
            Reply::Http(status, headers, body) => {
                let mut bytes =
                    format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\n", body.len())
                        .into_bytes();
                for (n, v) in headers {
                    bytes.extend_from_slice(n.as_bytes());
                    bytes.extend_from_slice(b": ");
                    bytes.extend_from_slice(&v);
                    bytes.extend_from_slice(b"\r\n");
                }
                bytes.extend_from_slice(b"\r\n");
                if method != "HEAD" {
                    bytes.extend_from_slice(&body);
                }
                if writer.write_all(&bytes).is_err() {
                    return;
                }
            }
        }
    }
}

/// Whether a request to the scripted server's bucket `bkt` is its listing.
pub fn is_list(target: &str) -> bool {
    target.starts_with("/bkt?")
}

/// An anonymous scan of the scripted server's bucket `bkt` with `--retries retries`, which must end
/// within a minute.
pub fn scan_scripted(server: &ScriptedServer, retries: u32, extra: &[&str]) -> Run {
    let retries = retries.to_string();
    let mut args = vec![
        "scan",
        "s3://bkt",
        "--endpoint-url",
        &server.endpoint,
        "--no-sign-request",
        "--retries",
        &retries,
    ];
    args.extend_from_slice(extra);
    s3meta_within(&args, &[], 60)
}

/// A ListObjectsV2 page with the given keys.
pub fn list_xml(keys: &[&str], next_token: Option<&str>, truncated: bool) -> Vec<u8> {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>bkt</Name>");
    xml.push_str(&format!("<IsTruncated>{truncated}</IsTruncated>"));
    if let Some(t) = next_token {
        xml.push_str(&format!(
            "<NextContinuationToken>{t}</NextContinuationToken>"
        ));
    }
    for k in keys {
        xml.push_str(&format!("<Contents><Key>{k}</Key><LastModified>2026-11-20T10:00:00.000Z</LastModified><ETag>&quot;e&quot;</ETag><Size>1</Size></Contents>"));
    }
    xml.push_str("</ListBucketResult>");
    xml.into_bytes()
}

/// 200 with user metadata `a: 1`.
pub fn head_ok() -> Reply {
    Reply::Http(
        200,
        vec![
            ("x-amz-meta-a".into(), b"1".to_vec()),
            ("etag".into(), b"\"e\"".to_vec()),
        ],
        Vec::new(),
    )
}
