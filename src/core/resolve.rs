//! `--resolve HOST:PORT:ADDR[,ADDR…]`, curl's form: connect to these addresses instead of asking a
//! resolver, while the `Host`, the signature and the certificate check stay those of HOST. An ADDR may
//! carry a port of its own (`10.0.0.5:8443`, `[fd00::5]:8443`), which curl's form cannot.

use std::net::{IpAddr, SocketAddr};

use super::endpoint::{host_key, Addressing, BucketTarget};

/// One `--resolve` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveRule {
    /// As given, without brackets; compared by [`host_key`].
    pub host: String,
    pub port: u16,
    /// In the order given; connections are spread over all of them.
    pub addrs: Vec<SocketAddr>,
}

/// No more addresses than this in one rule: each is a line of the summary.
pub const MAX_ADDRS: usize = 256;

impl ResolveRule {
    pub fn parse(spec: &str) -> Result<ResolveRule, String> {
        let bad =
            |why: &str| format!("--resolve {spec:?}: {why} (the form is HOST:PORT:ADDR[,ADDR...])");
        let (host, rest) = match spec.strip_prefix('[') {
            Some(v6) => {
                let (host, rest) = v6.split_once(']').ok_or_else(|| bad("unclosed '['"))?;
                (host, rest.strip_prefix(':').ok_or_else(|| bad("no port"))?)
            }
            None => spec.split_once(':').ok_or_else(|| bad("no port"))?,
        };
        let (port, list) = rest.split_once(':').ok_or_else(|| bad("no address"))?;
        if host.is_empty()
            || !host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':'))
        {
            return Err(bad("the host is not a host name"));
        }
        let port = parse_port(port).ok_or_else(|| bad("bad port"))?;
        let mut addrs = Vec::new();
        for a in list.split(',') {
            let addr = parse_addr(a.trim(), port)
                .ok_or_else(|| bad(&format!("{:?} is not an IP address", a.trim())))?;
            if !addrs.contains(&addr) {
                addrs.push(addr);
            }
        }
        if addrs.len() > MAX_ADDRS {
            return Err(bad(&format!("more than {MAX_ADDRS} addresses")));
        }
        Ok(ResolveRule {
            host: host.to_owned(),
            port,
            addrs,
        })
    }

    /// The rule that the connections to `target` follow, if any: the CLI lets at most one apply.
    pub fn for_target<'a>(
        rules: &'a [ResolveRule],
        target: &BucketTarget,
    ) -> Option<&'a ResolveRule> {
        rules.iter().find(|r| r.applies_to_target(target))
    }

    /// Whether the connections to `target` go to this rule's addresses: the rule names the host
    /// connected to, or (virtual-hosted) the endpoint's host, which users think of first.
    pub fn applies_to_target(&self, target: &BucketTarget) -> bool {
        let port = target.connect_port();
        self.applies_to(&target.connect_host(), port)
            || (target.addressing == Addressing::Virtual
                && self.applies_to(&target.endpoint.host, port))
    }

    /// Whether connections to `host:port` go to this rule's addresses.
    pub fn applies_to(&self, host: &str, port: u16) -> bool {
        self.port == port && host_key(&self.host) == host_key(host)
    }
}

fn parse_port(s: &str) -> Option<u16> {
    s.parse().ok().filter(|&p| p > 0)
}

/// `1.2.3.4`, `::1`, `[::1]`, `1.2.3.4:8443` or `[::1]:8443`; without a port, `default_port`.
fn parse_addr(s: &str, default_port: u16) -> Option<SocketAddr> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(SocketAddr::new(ip, default_port));
    }
    if let Some(v6) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return v6
            .parse::<IpAddr>()
            .ok()
            .map(|ip| SocketAddr::new(ip, default_port));
    }
    s.parse::<SocketAddr>().ok().filter(|a| a.port() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::endpoint::Endpoint;

    fn addrs(rule: &ResolveRule) -> Vec<String> {
        rule.addrs.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn curls_form_and_our_ports() {
        let r = ResolveRule::parse("B.s3.us-east-1.amazonaws.com:443:10.0.0.1,10.0.0.2").unwrap();
        assert!(r.applies_to("b.s3.us-east-1.amazonaws.com.", 443));
        assert_eq!(r.port, 443);
        assert_eq!(addrs(&r), ["10.0.0.1:443", "10.0.0.2:443"]);
        assert!(r.applies_to("b.S3.us-east-1.amazonaws.com", 443));
        assert!(!r.applies_to("b.s3.us-east-1.amazonaws.com", 80));

        let r = ResolveRule::parse("fb.local:80:[fd00::1],fd00::2,127.0.0.1:20001,[::1]:20002")
            .unwrap();
        assert_eq!(
            addrs(&r),
            [
                "[fd00::1]:80",
                "[fd00::2]:80",
                "127.0.0.1:20001",
                "[::1]:20002"
            ]
        );
        // The same address twice is one address.
        let r = ResolveRule::parse("h:80:10.0.0.1,10.0.0.1").unwrap();
        assert_eq!(addrs(&r), ["10.0.0.1:80"]);
    }

    #[test]
    fn a_rule_for_the_endpoint_serves_its_virtual_hosts() {
        let t = BucketTarget::new(Endpoint::aws("eu-west-1"), "bkt", Addressing::Virtual).unwrap();
        for spec in [
            "bkt.s3.eu-west-1.amazonaws.com:443:10.0.0.1",
            "s3.eu-west-1.amazonaws.com:443:10.0.0.1",
        ] {
            assert!(
                ResolveRule::parse(spec).unwrap().applies_to_target(&t),
                "{spec}"
            );
        }
        let other = ResolveRule::parse("s3.eu-west-1.amazonaws.com:80:10.0.0.1").unwrap();
        assert!(!other.applies_to_target(&t));
        let e = Endpoint::parse("http://[fd00::1]:9000").unwrap();
        let t = BucketTarget::new(e, "bkt", Addressing::Path).unwrap();
        assert!(ResolveRule::parse("[fd00::1]:9000:10.0.0.1")
            .unwrap()
            .applies_to_target(&t));
    }

    #[test]
    fn what_is_not_an_address_is_refused_by_name() {
        for (spec, why) in [
            ("host", "no port"),
            ("host:443", "no address"),
            ("host:0:10.0.0.1", "bad port"),
            ("host:https:10.0.0.1", "bad port"),
            (
                "host:443:example.com",
                "\"example.com\" is not an IP address",
            ),
            ("host:443:10.0.0.1,", "\"\" is not an IP address"),
            ("host:443:10.0.0.1:0", "is not an IP address"),
            (":443:10.0.0.1", "not a host name"),
            ("ho st:443:10.0.0.1", "not a host name"),
        ] {
            let e = ResolveRule::parse(spec).unwrap_err();
            assert!(e.contains(why), "{spec}: {e}");
        }
        let many: Vec<String> = (0..=MAX_ADDRS)
            .map(|i| format!("10.0.{}.{}", i / 256, i % 256))
            .collect();
        assert!(ResolveRule::parse(&format!("h:80:{}", many.join(","))).is_err());
    }
}
