//! AWS Signature Version 4, as S3 wants it — pure functions of their inputs, time passed in.
//!
//! The steps are separate so that each can be checked against AWS's published examples:
//! [`canonical_request`] → [`string_to_sign`] → [`signature`] (with a [`signing_key`] derived once a day).
//! [`Signer`] strings them together for the requests this tool sends.

use std::fmt;
use std::sync::{Arc, Mutex};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::uri;

type HmacSha256 = Hmac<Sha256>;

/// SHA-256 of the empty payload: the `x-amz-content-sha256` of every HEAD and GET we send.
pub const EMPTY_PAYLOAD_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// An access key, its secret and an optional session token. `Debug` never shows the secret or the token.
#[derive(Clone)]
pub struct Credentials {
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
}

impl Credentials {
    pub fn new(
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
        session_token: Option<String>,
    ) -> Self {
        Credentials {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token: session_token.filter(|t| !t.is_empty()),
        }
    }

    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// For the simulator's verifier, and for keeping it out of messages; the signer reads the field
    /// itself.
    pub(crate) fn secret_access_key(&self) -> &str {
        &self.secret_access_key
    }

    /// For keeping it out of messages.
    pub(crate) fn session_token(&self) -> Option<&str> {
        self.session_token.as_deref()
    }
}

/// The access key id only: a message may name which key was used, never its secret or token.
impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "access key {}", self.access_key_id)?;
        if self.session_token.is_some() {
            f.write_str(" with a session token")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "** redacted **"),
            )
            .finish()
    }
}

/// Where a service departs from generic SigV4. [`SigningSettings::S3`] names S3's rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigningSettings {
    /// Generic SigV4 percent-encodes the (already encoded) request path a second time; S3 does not:
    /// its canonical URI is the wire path, encoded once.
    pub double_uri_encode: bool,
    /// Generic SigV4 removes `.`/`..` segments and collapses `//`; S3 must not: they are part of the key.
    pub normalize_uri_path: bool,
    /// S3 requires a signed `x-amz-content-sha256` header on every header-signed request.
    pub content_sha256_header: bool,
}

impl SigningSettings {
    pub const S3: SigningSettings = SigningSettings {
        double_uri_encode: false,
        normalize_uri_path: false,
        content_sha256_header: true,
    };
    /// Generic SigV4 (what AWS's own test suite exercises).
    pub const GENERIC: SigningSettings = SigningSettings {
        double_uri_encode: true,
        normalize_uri_path: true,
        content_sha256_header: false,
    };
}

/// `YYYYMMDDTHHMMSSZ`, the form of `x-amz-date`.
pub fn format_amz_date(t: OffsetDateTime) -> String {
    amz_date_bytes(t).iter().map(|&b| char::from(b)).collect()
}

/// The canonical URI for a path as sent on the wire (already percent-encoded once).
pub fn canonical_uri(wire_path: &str, settings: SigningSettings) -> String {
    let path = if settings.normalize_uri_path {
        normalize_path(wire_path)
    } else {
        wire_path.to_owned()
    };
    if settings.double_uri_encode {
        let mut out = String::with_capacity(path.len() + 8);
        uri::encode_path_into(&mut out, path.as_bytes());
        out
    } else {
        path
    }
}

/// RFC 3986 dot-segment removal plus collapsing of empty segments (generic SigV4 only; never for S3).
fn normalize_path(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let trailing_slash =
        path.len() > 1 && (path.ends_with('/') || path.ends_with("/.") || path.ends_with("/.."));
    let mut out = String::from("/");
    out.push_str(&segments.join("/"));
    if trailing_slash && !segments.is_empty() {
        out.push('/');
    }
    out
}

/// The canonical query string: names and values encoded strictly, sorted by name then value.
pub fn canonical_query(params: &[(&[u8], &[u8])]) -> String {
    let mut encoded: Vec<(String, String)> = params
        .iter()
        .map(|(n, v)| (uri::encode_query(n), uri::encode_query(v)))
        .collect();
    encoded.sort();
    let mut out = String::new();
    for (i, (n, v)) in encoded.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(n);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// A canonical request and the `SignedHeaders` list that goes with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalRequest {
    pub text: String,
    pub signed_headers: String,
}

/// Trims a header value and folds inner runs of whitespace (including obs-fold line breaks) to one space.
fn canonical_header_value(value: &str, out: &mut String) {
    let mut pending_space = false;
    for word in value.split([' ', '\t', '\n', '\r']) {
        if word.is_empty() {
            continue;
        }
        if pending_space {
            out.push(' ');
        }
        out.push_str(word);
        pending_space = true;
    }
}

/// Builds the canonical request. `headers` are the headers to sign, in the order they are sent; names are
/// lower-cased, values trimmed, and repeated names joined with `,` in order of appearance.
pub fn canonical_request(
    method: &str,
    canonical_uri: &str,
    canonical_query: &str,
    headers: &[(&str, &str)],
    payload_hash: &str,
) -> CanonicalRequest {
    let mut sorted: Vec<(String, &str)> = headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), *v))
        .collect();
    // A stable sort keeps repeated headers in the order they were given.
    sorted.sort_by(|a, b| a.0.cmp(&b.0));

    let mut text = String::with_capacity(256);
    text.push_str(method);
    text.push('\n');
    text.push_str(canonical_uri);
    text.push('\n');
    text.push_str(canonical_query);
    text.push('\n');
    let mut signed_headers = String::new();
    let mut i = 0;
    while i < sorted.len() {
        let name = &sorted[i].0;
        text.push_str(name);
        text.push(':');
        let mut first = true;
        while i < sorted.len() && &sorted[i].0 == name {
            if !first {
                text.push(',');
            }
            canonical_header_value(sorted[i].1, &mut text);
            first = false;
            i += 1;
        }
        text.push('\n');
        if !signed_headers.is_empty() {
            signed_headers.push(';');
        }
        signed_headers.push_str(name);
    }
    text.push('\n');
    text.push_str(&signed_headers);
    text.push('\n');
    text.push_str(payload_hash);
    CanonicalRequest {
        text,
        signed_headers,
    }
}

/// `date/region/service/aws4_request`.
pub fn credential_scope(date: &str, region: &str, service: &str) -> String {
    format!("{date}/{region}/{service}/aws4_request")
}

/// The string to sign: algorithm, time, scope and the hash of the canonical request.
pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    let hash = hex::encode(Sha256::digest(canonical_request.as_bytes()));
    format!("{ALGORITHM}\n{amz_date}\n{scope}\n{hash}")
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// The signing key for one day, region and service (valid for 7 days at AWS; we derive it once a day).
pub fn signing_key(secret_access_key: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let mut k_secret = Vec::with_capacity(4 + secret_access_key.len());
    k_secret.extend_from_slice(b"AWS4");
    k_secret.extend_from_slice(secret_access_key.as_bytes());
    let k_date = hmac(&k_secret, date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

/// The signature: HMAC of the string to sign under the signing key, in lower-case hex.
pub fn signature(signing_key: &[u8; 32], string_to_sign: &str) -> String {
    hex::encode(hmac(signing_key, string_to_sign.as_bytes()))
}

/// The `Authorization` header value.
pub fn authorization(
    access_key_id: &str,
    scope: &str,
    signed_headers: &str,
    signature: &str,
) -> String {
    // Sized up front: `format!` would grow the string a few times on every request.
    let parts = [
        ALGORITHM,
        " Credential=",
        access_key_id,
        "/",
        scope,
        ", SignedHeaders=",
        signed_headers,
        ", Signature=",
        signature,
    ];
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        out.push_str(part);
    }
    out
}

/// A request as the signer sees it: what goes on the wire, before signing.
#[derive(Debug, Clone, Copy)]
pub struct UnsignedRequest<'a> {
    pub method: &'a str,
    /// The path as sent, percent-encoded once.
    pub wire_path: &'a str,
    /// The query as sent; it must already be canonical (see [`canonical_query`]).
    pub canonical_query: &'a str,
    /// The `Host` header value as sent.
    pub host: &'a str,
}

/// The headers signing adds to a request. `Debug` shows neither the session token nor the signature.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    pub x_amz_date: String,
    pub x_amz_content_sha256: Option<&'static str>,
    pub x_amz_security_token: Option<String>,
    pub authorization: String,
}

/// An `Authorization` value for messages: its credential scope and signed headers, not its signature.
pub fn redacted_authorization(value: &str) -> String {
    match value.find("Signature=") {
        Some(at) => format!("{}Signature=** redacted **", &value[..at]),
        None => "** redacted **".to_owned(),
    }
}

impl fmt::Debug for SignedHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedHeaders")
            .field("x_amz_date", &self.x_amz_date)
            .field("x_amz_content_sha256", &self.x_amz_content_sha256)
            .field(
                "x_amz_security_token",
                &self.x_amz_security_token.as_ref().map(|_| "** redacted **"),
            )
            .field(
                "authorization",
                &redacted_authorization(&self.authorization),
            )
            .finish()
    }
}

/// What a [`Signer`] keeps for one day: the credential scope and the HMAC keyed with that day's signing
/// key (cloning a keyed HMAC skips hashing the key pads again for every request).
#[derive(Clone)]
struct DayKey {
    date: [u8; 8],
    /// Shared, so that taking the day's key for a request copies no string.
    scope: Arc<str>,
    mac: HmacSha256,
}

/// Signs requests with one set of credentials for one region and service; caches the signing key per day.
///
/// The hot path streams the canonical request into SHA-256 and the string to sign into the HMAC without
/// building either as a string; it is checked against the step-by-step functions above in the tests.
pub struct Signer {
    credentials: Credentials,
    region: String,
    service: String,
    settings: SigningSettings,
    /// `host;x-amz-content-sha256;x-amz-date[;x-amz-security-token]`, fixed for the signer's life.
    signed_headers: String,
    day: Mutex<Option<DayKey>>,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("credentials", &self.credentials)
            .field("region", &self.region)
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

/// `x-amz-date` as bytes, without allocating (years before 0 are written as 0000).
fn amz_date_bytes(t: OffsetDateTime) -> [u8; 16] {
    let t = t.to_offset(time::UtcOffset::UTC);
    let mut out = *b"00000000T000000Z";
    let mut put = |at: usize, width: usize, mut v: u32| {
        for i in (0..width).rev() {
            out[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, t.year().clamp(0, 9999) as u32);
    put(4, 2, u8::from(t.month()) as u32);
    put(6, 2, t.day() as u32);
    put(9, 2, t.hour() as u32);
    put(11, 2, t.minute() as u32);
    put(13, 2, t.second() as u32);
    out
}

fn has_space(s: &str) -> bool {
    s.bytes()
        .any(|b| b == b' ' || b == b'\t' || b == b'\r' || b == b'\n')
}

impl Signer {
    pub fn new(
        credentials: Credentials,
        region: &str,
        service: &str,
        settings: SigningSettings,
    ) -> Self {
        let mut signed_headers = String::from("host");
        if settings.content_sha256_header {
            signed_headers.push_str(";x-amz-content-sha256");
        }
        signed_headers.push_str(";x-amz-date");
        if credentials.session_token.is_some() {
            signed_headers.push_str(";x-amz-security-token");
        }
        Signer {
            credentials,
            region: region.to_owned(),
            service: service.to_owned(),
            settings,
            signed_headers,
            day: Mutex::new(None),
        }
    }

    fn day_key(&self, date: &[u8; 8]) -> DayKey {
        let mut cache = self
            .day
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(day) = cache.as_ref() {
            if &day.date == date {
                return day.clone();
            }
        }
        let date_str = std::str::from_utf8(date).unwrap_or("00000000");
        let key = signing_key(
            &self.credentials.secret_access_key,
            date_str,
            &self.region,
            &self.service,
        );
        let day = DayKey {
            date: *date,
            scope: credential_scope(date_str, &self.region, &self.service).into(),
            mac: HmacSha256::new_from_slice(&key).expect("HMAC takes any key length"),
        };
        *cache = Some(day.clone());
        day
    }

    /// Signs a request with an empty payload at time `now`.
    pub fn sign(&self, request: &UnsignedRequest<'_>, now: OffsetDateTime) -> SignedHeaders {
        let token = self.credentials.session_token.as_deref();
        let streamable = self.settings == SigningSettings::S3
            && !has_space(request.host)
            && token.is_none_or(|t| !has_space(t));
        if !streamable {
            return self.sign_step_by_step(request, now);
        }
        let date = amz_date_bytes(now);
        let day = self.day_key(date[..8].try_into().expect("8 bytes"));

        // The canonical request, hashed as it is written (same bytes as `canonical_request` would give).
        let mut h = Sha256::new();
        for part in [
            request.method.as_bytes(),
            b"\n",
            request.wire_path.as_bytes(),
            b"\n",
            request.canonical_query.as_bytes(),
        ] {
            h.update(part);
        }
        h.update(b"\nhost:");
        h.update(request.host.as_bytes());
        h.update(b"\nx-amz-content-sha256:");
        h.update(EMPTY_PAYLOAD_SHA256.as_bytes());
        h.update(b"\nx-amz-date:");
        h.update(date);
        if let Some(token) = token {
            h.update(b"\nx-amz-security-token:");
            h.update(token.as_bytes());
        }
        h.update(b"\n\n");
        h.update(self.signed_headers.as_bytes());
        h.update(b"\n");
        h.update(EMPTY_PAYLOAD_SHA256.as_bytes());
        let mut creq_hex = [0u8; 64];
        hex::encode_to_slice(h.finalize(), &mut creq_hex).expect("64 bytes");

        // The string to sign, fed straight into the day's HMAC.
        let mut mac = day.mac;
        for part in [
            ALGORITHM.as_bytes(),
            b"\n",
            &date,
            b"\n",
            day.scope.as_bytes(),
            b"\n",
            &creq_hex,
        ] {
            mac.update(part);
        }
        let mut sig = [0u8; 64];
        hex::encode_to_slice(mac.finalize().into_bytes(), &mut sig).expect("64 bytes");
        let sig = std::str::from_utf8(&sig).expect("hex is ASCII");
        let x_amz_date = std::str::from_utf8(&date).expect("ASCII").to_owned();
        SignedHeaders {
            authorization: authorization(
                &self.credentials.access_key_id,
                &day.scope,
                &self.signed_headers,
                sig,
            ),
            x_amz_content_sha256: Some(EMPTY_PAYLOAD_SHA256),
            x_amz_security_token: token.map(str::to_owned),
            x_amz_date,
        }
    }

    /// The same signature through the separate steps: any settings, any header values.
    fn sign_step_by_step(
        &self,
        request: &UnsignedRequest<'_>,
        now: OffsetDateTime,
    ) -> SignedHeaders {
        let amz_date = format_amz_date(now);
        let date = &amz_date[..8];
        let token = self.credentials.session_token.as_deref();
        let mut headers: Vec<(&str, &str)> = Vec::with_capacity(4);
        headers.push(("host", request.host));
        headers.push(("x-amz-date", &amz_date));
        if self.settings.content_sha256_header {
            headers.push(("x-amz-content-sha256", EMPTY_PAYLOAD_SHA256));
        }
        if let Some(token) = token {
            headers.push(("x-amz-security-token", token));
        }
        let uri = canonical_uri(request.wire_path, self.settings);
        let creq = canonical_request(
            request.method,
            &uri,
            request.canonical_query,
            &headers,
            EMPTY_PAYLOAD_SHA256,
        );
        let scope = credential_scope(date, &self.region, &self.service);
        let sts = string_to_sign(&amz_date, &scope, &creq.text);
        let key = signing_key(
            &self.credentials.secret_access_key,
            date,
            &self.region,
            &self.service,
        );
        let sig = signature(&key, &sts);
        SignedHeaders {
            authorization: authorization(
                &self.credentials.access_key_id,
                &scope,
                &creq.signed_headers,
                &sig,
            ),
            x_amz_content_sha256: self
                .settings
                .content_sha256_header
                .then_some(EMPTY_PAYLOAD_SHA256),
            x_amz_security_token: token.map(str::to_owned),
            x_amz_date: amz_date,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_secrets() {
        let c = Credentials::new("AKID", "SECRETSECRET", Some("TOKENTOKEN".into()));
        let s = format!("{c:?}");
        assert!(s.contains("AKID"));
        assert!(!s.contains("SECRETSECRET"));
        assert!(!s.contains("TOKENTOKEN"));
        let signer = Signer::new(c, "us-east-1", "s3", SigningSettings::S3);
        let s = format!("{signer:?}");
        assert!(!s.contains("SECRETSECRET") && !s.contains("TOKENTOKEN"));
    }

    #[test]
    fn amz_date_format() {
        let t = time::macros::datetime!(2015-08-30 12:36:00 UTC);
        assert_eq!(format_amz_date(t), "20150830T123600Z");
    }

    #[test]
    fn s3_canonical_uri_is_the_wire_path() {
        assert_eq!(
            canonical_uri("/a//b/./../c%2B", SigningSettings::S3),
            "/a//b/./../c%2B"
        );
        assert_eq!(
            canonical_uri("/a//b/./../c%2B", SigningSettings::GENERIC),
            "/a/c%252B"
        );
        assert_eq!(
            canonical_uri("//example//", SigningSettings::GENERIC),
            "/example/"
        );
        assert_eq!(canonical_uri("/example/..", SigningSettings::GENERIC), "/");
    }

    #[test]
    fn signing_key_matches_the_s3_docs() {
        let key = signing_key(
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "20130524",
            "us-east-1",
            "s3",
        );
        assert_eq!(
            hex::encode(key),
            "dbb893acc010964918f1fd433add87c70e8b0db6be30c1fbeafefa5ec6ba8378"
        );
    }

    #[test]
    fn streamed_signing_equals_the_step_by_step_signing() {
        let dates = [
            time::macros::datetime!(2026-11-26 05:06:07 UTC),
            time::macros::datetime!(2026-11-27 23:59:59 UTC),
            time::macros::datetime!(1999-01-02 03:04:05 UTC),
        ];
        for token in [
            None,
            Some("FwoGZXIvYXdzEJr//////////wEaDK+token=".to_string()),
        ] {
            let signer = Signer::new(
                Credentials::new("AKID", "SECRET/+key", token),
                "eu-west-3",
                "s3",
                SigningSettings::S3,
            );
            for (path, query) in [
                ("/", ""),
                ("/bkt/a%20b//..%2B", ""),
                (
                    "/bkt",
                    "encoding-type=url&list-type=2&max-keys=1000&prefix=a%2Fb",
                ),
            ] {
                for method in ["GET", "HEAD"] {
                    for now in dates {
                        let req = UnsignedRequest {
                            method,
                            wire_path: path,
                            canonical_query: query,
                            host: "127.0.0.1:9000",
                        };
                        assert_eq!(
                            signer.sign(&req, now),
                            signer.sign_step_by_step(&req, now),
                            "{method} {path}?{query} {now}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn signer_reproduces_the_s3_list_objects_example() {
        // S3 API reference, "GET Bucket (List Objects)": max-keys=2&prefix=J.
        let signer = Signer::new(
            Credentials::new(
                "AKIAIOSFODNN7EXAMPLE",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                None,
            ),
            "us-east-1",
            "s3",
            SigningSettings::S3,
        );
        let q = canonical_query(&[(b"prefix", b"J"), (b"max-keys", b"2")]);
        let req = UnsignedRequest {
            method: "GET",
            wire_path: "/",
            canonical_query: &q,
            host: "examplebucket.s3.amazonaws.com",
        };
        let signed = signer.sign(&req, time::macros::datetime!(2013-05-24 00:00:00 UTC));
        assert!(signed.authorization.ends_with(
            "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"
        ));
        assert_eq!(signed.x_amz_date, "20130524T000000Z");
        // Same day again: the cached key gives the same answer.
        assert_eq!(
            signer.sign(&req, time::macros::datetime!(2013-05-24 00:00:00 UTC)),
            signed
        );
    }
}
