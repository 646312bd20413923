//! Where requests go: the endpoint URL, the bucket, and the addressing style (path or virtual-hosted).

use super::uri;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
    fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// A parsed endpoint URL such as `http://10.0.0.5` or `https://s3.eu-west-1.amazonaws.com`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub scheme: Scheme,
    /// The host as written (an IPv6 address keeps its brackets), lower-cased.
    pub host: String,
    /// The port, only when it is not the scheme's default (it then goes into `Host` as well).
    pub port: Option<u16>,
}

impl Endpoint {
    /// Parses `scheme://host[:port][/]`. A path, query, user info or unknown scheme is an error that names it.
    pub fn parse(url: &str) -> Result<Endpoint, String> {
        let (scheme, rest) = match url.split_once("://") {
            Some(("http", rest)) | Some(("HTTP", rest)) => (Scheme::Http, rest),
            Some(("https", rest)) | Some(("HTTPS", rest)) => (Scheme::Https, rest),
            Some((other, _)) => {
                return Err(format!(
                    "endpoint URL {url:?}: unknown scheme {other:?} (use http:// or https://)"
                ))
            }
            None => {
                return Err(format!(
                    "endpoint URL {url:?} has no scheme (write http://HOST[:PORT] or https://HOST)"
                ))
            }
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#']) {
            return Err(format!(
                "endpoint URL {url:?} must not have a path, query or fragment"
            ));
        }
        if authority.contains('@') {
            return Err(format!(
                "endpoint URL {url:?} must not hold user information"
            ));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (addr, after) = v6
                .split_once(']')
                .ok_or_else(|| format!("endpoint URL {url:?}: unclosed '[' in the host"))?;
            let port = match after {
                "" => None,
                p => Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| format!("endpoint URL {url:?}: junk after ']'"))?,
                ),
            };
            (format!("[{addr}]"), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), Some(p)),
                None => (authority.to_owned(), None),
            }
        };
        if host.is_empty() || host == "[]" {
            return Err(format!("endpoint URL {url:?} has no host"));
        }
        if !host.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'[' | b']' | b':')
        }) {
            return Err(format!(
                "endpoint URL {url:?}: the host holds characters a host name cannot"
            ));
        }
        let port = match port {
            None => None,
            Some(p) => {
                let n: u16 = p
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| format!("endpoint URL {url:?}: bad port {p:?}"))?;
                (n != scheme.default_port()).then_some(n)
            }
        };
        Ok(Endpoint {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    /// AWS's regional endpoint.
    pub fn aws(region: &str) -> Endpoint {
        Endpoint {
            scheme: Scheme::Https,
            host: format!("s3.{region}.amazonaws.com"),
            port: None,
        }
    }

    /// `host[:port]`.
    pub fn authority(&self) -> String {
        match self.port {
            Some(p) => format!("{}:{p}", self.host),
            None => self.host.clone(),
        }
    }

    /// True when the host is an IP address, which cannot carry a virtual-hosted bucket name.
    pub fn host_is_ip(&self) -> bool {
        self.host.starts_with('[') || self.host.parse::<std::net::Ipv4Addr>().is_ok()
    }
}

/// A host as names and addresses compare: without the brackets of an IPv6 address or a final `.`,
/// lower-cased, an IP address in its canonical form (`FD00:0::1` is `fd00::1`).
pub fn host_key(host: &str) -> String {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let bare = bare.strip_suffix('.').unwrap_or(bare);
    match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.to_string(),
        Err(_) => bare.to_ascii_lowercase(),
    }
}

/// A host without the brackets of an IPv6 address: what a resolver, a socket address or a
/// certificate's name takes.
pub fn bare_host(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Addressing {
    /// `http://endpoint/BUCKET/KEY`: what custom endpoints (FlashBlade, MinIO, Ceph, Garage) expect.
    Path,
    /// `https://BUCKET.endpoint/KEY`: AWS's default.
    Virtual,
}

impl Addressing {
    pub fn parse(s: &str) -> Option<Addressing> {
        match s {
            "path" => Some(Addressing::Path),
            "virtual" => Some(Addressing::Virtual),
            _ => None,
        }
    }
}

/// Checks a bucket name. Virtual-hosted names must be DNS labels (3–63 of `a-z 0-9 . -`); path-style also
/// accepts the legacy upper-case and `_` names some stores still have.
pub fn validate_bucket(name: &str, addressing: Addressing) -> Result<(), String> {
    let bad = |why: &str| Err(format!("bucket name {name:?} is not valid: {why}"));
    let max = if addressing == Addressing::Virtual {
        63
    } else {
        255
    };
    if name.len() < 3 || name.len() > max {
        return bad(&format!("it must be 3 to {max} characters long"));
    }
    let legacy_ok = addressing == Addressing::Path;
    if !name.bytes().all(|b| {
        b.is_ascii_lowercase()
            || b.is_ascii_digit()
            || b == b'.'
            || b == b'-'
            || (legacy_ok && (b.is_ascii_uppercase() || b == b'_'))
    }) {
        return bad("use lower-case letters, digits, '.' and '-'");
    }
    let first = name.as_bytes()[0];
    let last = name.as_bytes()[name.len() - 1];
    if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
        return bad("it must start and end with a letter or digit");
    }
    if addressing == Addressing::Virtual && name.contains("..") {
        return bad("it must not contain '..'");
    }
    Ok(())
}

/// Splits `s3://BUCKET[/PREFIX]` into the bucket and the prefix (which may be empty and may hold anything).
pub fn parse_s3_url(url: &str) -> Result<(String, String), String> {
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| format!("{url:?} is not an s3://BUCKET[/PREFIX] URL"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(format!("{url:?} names no bucket"));
    }
    Ok((bucket.to_owned(), prefix.to_owned()))
}

/// A bucket at an endpoint, addressed one way: builds the `Host` header and request paths.
#[derive(Debug, Clone)]
pub struct BucketTarget {
    pub endpoint: Endpoint,
    pub bucket: String,
    pub addressing: Addressing,
    host: String,
}

impl BucketTarget {
    pub fn new(
        endpoint: Endpoint,
        bucket: &str,
        addressing: Addressing,
    ) -> Result<BucketTarget, String> {
        validate_bucket(bucket, addressing)?;
        if addressing == Addressing::Virtual && endpoint.host_is_ip() {
            return Err(format!(
                "virtual-hosted addressing needs a DNS name, but the endpoint {} is an IP address (use --addressing path)",
                endpoint.host
            ));
        }
        let host = match addressing {
            Addressing::Path => endpoint.authority(),
            Addressing::Virtual => format!("{bucket}.{}", endpoint.authority()),
        };
        Ok(BucketTarget {
            endpoint,
            bucket: bucket.to_owned(),
            addressing,
            host,
        })
    }

    /// The `Host` header (and URI authority) of every request.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The host connections go to (the `Host` without its port), and the name certificates are checked
    /// against. An IPv6 address keeps its brackets.
    pub fn connect_host(&self) -> String {
        match self.addressing {
            Addressing::Path => self.endpoint.host.clone(),
            Addressing::Virtual => format!("{}.{}", self.bucket, self.endpoint.host),
        }
    }

    /// The port connections go to: the endpoint's, or its scheme's default.
    pub fn connect_port(&self) -> u16 {
        self.endpoint
            .port
            .unwrap_or(self.endpoint.scheme.default_port())
    }

    /// `host:port` to open connections to: the `Host` with the port always written.
    pub fn connect_address(&self) -> String {
        format!("{}:{}", self.connect_host(), self.connect_port())
    }

    /// The path of the bucket itself (for LIST).
    pub fn bucket_path(&self) -> String {
        match self.addressing {
            Addressing::Path => format!("/{}", self.bucket),
            Addressing::Virtual => "/".to_owned(),
        }
    }

    /// The path of one object, the key percent-encoded once with `/` kept; nothing is normalized.
    pub fn object_path(&self, key: &[u8]) -> String {
        let mut path = String::with_capacity(self.bucket.len() + key.len() * 3 / 2 + 2);
        if self.addressing == Addressing::Path {
            path.push('/');
            path.push_str(&self.bucket);
        }
        path.push('/');
        uri::encode_path_into(&mut path, key);
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let e = Endpoint::parse("http://10.0.0.5").unwrap();
        assert_eq!(
            (e.scheme, e.host.as_str(), e.port),
            (Scheme::Http, "10.0.0.5", None)
        );
        assert!(e.host_is_ip());
        let e = Endpoint::parse("http://127.0.0.1:9000/").unwrap();
        assert_eq!(e.authority(), "127.0.0.1:9000");
        let e = Endpoint::parse("https://S3.example.com:443").unwrap();
        assert_eq!(e.authority(), "s3.example.com");
        assert_eq!(
            Endpoint::parse("http://[::1]:9000").unwrap().authority(),
            "[::1]:9000"
        );
        for bad in [
            "ftp://x",
            "x:9000",
            "http://",
            "http://h:0",
            "http://h:99999",
            "http://h/path",
            "http://u@h",
            "http://h h",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
        assert!(Endpoint::parse("ftp://x")
            .unwrap_err()
            .contains("unknown scheme"));
    }

    #[test]
    fn buckets() {
        assert!(validate_bucket("my-bucket.1", Addressing::Virtual).is_ok());
        assert!(validate_bucket("Legacy_Bucket", Addressing::Path).is_ok());
        assert!(validate_bucket("Legacy_Bucket", Addressing::Virtual).is_err());
        for bad in ["ab", "-abc", "abc-", "a b c", "a/b", "ab\u{e9}c"] {
            assert!(validate_bucket(bad, Addressing::Path).is_err(), "{bad}");
        }
        assert_eq!(
            parse_s3_url("s3://b/p/q").unwrap(),
            ("b".into(), "p/q".into())
        );
        assert_eq!(parse_s3_url("s3://b").unwrap(), ("b".into(), "".into()));
        assert!(parse_s3_url("b/p").is_err());
        assert!(parse_s3_url("s3:///p").is_err());
    }

    #[test]
    fn paths_and_hosts() {
        let e = Endpoint::parse("http://127.0.0.1:9000").unwrap();
        let t = BucketTarget::new(e.clone(), "bkt", Addressing::Path).unwrap();
        assert_eq!(t.host(), "127.0.0.1:9000");
        assert_eq!(t.connect_address(), "127.0.0.1:9000");
        assert_eq!(t.bucket_path(), "/bkt");
        assert_eq!(t.object_path(b"a b//../c"), "/bkt/a%20b//../c");
        assert!(BucketTarget::new(e, "bkt", Addressing::Virtual).is_err());
        let t = BucketTarget::new(Endpoint::aws("eu-west-1"), "bkt", Addressing::Virtual).unwrap();
        assert_eq!(t.host(), "bkt.s3.eu-west-1.amazonaws.com");
        assert_eq!(t.connect_address(), "bkt.s3.eu-west-1.amazonaws.com:443");
        assert_eq!(t.object_path(b"/k"), "//k");
    }

    #[test]
    fn the_connect_address_always_has_a_port() {
        for (url, address) in [
            ("http://10.0.0.5", "10.0.0.5:80"),
            ("http://10.0.0.5:9000", "10.0.0.5:9000"),
            ("https://s3.example.com", "s3.example.com:443"),
            ("http://[::1]", "[::1]:80"),
            ("http://[::1]:9000", "[::1]:9000"),
        ] {
            let t =
                BucketTarget::new(Endpoint::parse(url).unwrap(), "bkt", Addressing::Path).unwrap();
            assert_eq!(t.connect_address(), address, "{url}");
        }
    }
}
