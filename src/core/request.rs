//! The requests this tool sends — ListObjectsV2 and HeadObject — as plain data, signed or anonymous.
//! The I/O shell turns an [`HttpRequest`] into a hyper request without changing a byte of it.

use std::borrow::Cow;

use time::OffsetDateTime;

use super::endpoint::BucketTarget;
use super::sigv4::{canonical_query, redacted_authorization, Signer, UnsignedRequest};

/// A request ready to send: method, path and query exactly as signed, and the headers to set. `Debug`
/// shows neither the session token nor the signature.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: &'static str,
    pub path_and_query: String,
    pub host: String,
    /// Header values: borrowed when constant (the empty-payload hash), owned otherwise.
    pub headers: Vec<(&'static str, Cow<'static, str>)>,
}

impl std::fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<(&str, Cow<'_, str>)> = self
            .headers
            .iter()
            .map(|(name, value)| {
                let shown = match *name {
                    "authorization" => Cow::Owned(redacted_authorization(value)),
                    "x-amz-security-token" => Cow::Borrowed("** redacted **"),
                    _ => Cow::Borrowed(value.as_ref()),
                };
                (*name, shown)
            })
            .collect();
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("path_and_query", &self.path_and_query)
            .field("host", &self.host)
            .field("headers", &headers)
            .finish()
    }
}

/// Parameters of one ListObjectsV2 page.
#[derive(Debug, Clone, Default)]
pub struct ListParams<'a> {
    pub prefix: &'a [u8],
    pub continuation_token: Option<&'a str>,
    pub start_after: Option<&'a [u8]>,
    pub max_keys: u32,
}

fn finish(
    method: &'static str,
    path: String,
    query: String,
    target: &BucketTarget,
    signer: Option<&Signer>,
    now: OffsetDateTime,
) -> HttpRequest {
    let mut headers = Vec::with_capacity(4);
    if let Some(signer) = signer {
        let signed = signer.sign(
            &UnsignedRequest {
                method,
                wire_path: &path,
                canonical_query: &query,
                host: target.host(),
            },
            now,
        );
        headers.push(("x-amz-date", Cow::Owned(signed.x_amz_date)));
        if let Some(sha) = signed.x_amz_content_sha256 {
            headers.push(("x-amz-content-sha256", Cow::Borrowed(sha)));
        }
        if let Some(token) = signed.x_amz_security_token {
            headers.push(("x-amz-security-token", Cow::Owned(token)));
        }
        headers.push(("authorization", Cow::Owned(signed.authorization)));
    }
    let path_and_query = if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    };
    HttpRequest {
        method,
        path_and_query,
        host: target.host().to_owned(),
        headers,
    }
}

/// `GET /BUCKET?list-type=2&encoding-type=url&…` — always `encoding-type=url`, so that keys holding
/// characters XML 1.0 cannot carry still round-trip.
pub fn list_objects_v2(
    target: &BucketTarget,
    params: &ListParams<'_>,
    signer: Option<&Signer>,
    now: OffsetDateTime,
) -> HttpRequest {
    let max_keys = params.max_keys.to_string();
    let mut query: Vec<(&[u8], &[u8])> = vec![
        (b"list-type", b"2"),
        (b"encoding-type", b"url"),
        (b"max-keys", max_keys.as_bytes()),
    ];
    if !params.prefix.is_empty() {
        query.push((b"prefix", params.prefix));
    }
    if let Some(token) = params.continuation_token {
        query.push((b"continuation-token", token.as_bytes()));
    }
    if let Some(start_after) = params.start_after {
        query.push((b"start-after", start_after));
    }
    finish(
        "GET",
        target.bucket_path(),
        canonical_query(&query),
        target,
        signer,
        now,
    )
}

/// `HEAD /BUCKET/KEY`.
pub fn head_object(
    target: &BucketTarget,
    key: &[u8],
    signer: Option<&Signer>,
    now: OffsetDateTime,
) -> HttpRequest {
    finish(
        "HEAD",
        target.object_path(key),
        String::new(),
        target,
        signer,
        now,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::endpoint::{Addressing, Endpoint};
    use crate::core::sigv4::{Credentials, SigningSettings};

    fn target() -> BucketTarget {
        BucketTarget::new(
            Endpoint::parse("http://127.0.0.1:9000").unwrap(),
            "bkt",
            Addressing::Path,
        )
        .unwrap()
    }

    #[test]
    fn list_query_is_sorted_and_strictly_encoded() {
        let p = ListParams {
            prefix: b"a b/",
            continuation_token: Some("1ue/+x="),
            start_after: None,
            max_keys: 1000,
        };
        let r = list_objects_v2(&target(), &p, None, OffsetDateTime::UNIX_EPOCH);
        assert_eq!(
            r.path_and_query,
            "/bkt?continuation-token=1ue%2F%2Bx%3D&encoding-type=url&list-type=2&max-keys=1000&prefix=a%20b%2F"
        );
        assert!(r.headers.is_empty());
    }

    /// A HEAD of `key` signed with the key `AK`, its secret and `token`, on 2026-11-26.
    fn head_signed_with_token(key: &[u8], token: &str) -> HttpRequest {
        let signer = Signer::new(
            Credentials::new("AK", "SK", Some(token.into())),
            "us-east-1",
            "s3",
            SigningSettings::S3,
        );
        head_object(
            &target(),
            key,
            Some(&signer),
            time::macros::datetime!(2026-11-26 00:00:00 UTC),
        )
    }

    #[test]
    fn head_is_signed_with_token() {
        let r = head_signed_with_token(b"x y", "TOK");
        assert_eq!(r.path_and_query, "/bkt/x%20y");
        let names: Vec<&str> = r.headers.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "x-amz-date",
                "x-amz-content-sha256",
                "x-amz-security-token",
                "authorization"
            ]
        );
        let auth = &r.headers[3].1;
        assert!(
            auth.contains(
                "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token"
            ),
            "{auth}"
        );
    }

    #[test]
    fn debug_shows_no_token_and_no_signature() {
        let token = "TOKEN-canary-0123456789abcdef";
        let r = head_signed_with_token(b"k", token);
        let signature = r.headers[3]
            .1
            .rsplit("Signature=")
            .next()
            .unwrap()
            .to_owned();
        assert_eq!(signature.len(), 64);
        let shown = format!("{r:?}");
        assert!(
            !shown.contains(token) && !shown.contains(&signature),
            "{shown}"
        );
        assert!(
            shown.contains("Credential=AK/20261126/us-east-1/s3/aws4_request"),
            "{shown}"
        );
    }
}
