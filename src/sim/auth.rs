//! SigV4 verification on the simulator's side, built from the same pure core the client signs with.
//! Recomputes the signature over what actually arrived (path as received, query re-canonicalized,
//! the headers the client says it signed) — so a client bug shows up as `SignatureDoesNotMatch`.

use std::sync::Mutex;

use crate::core::sigv4::{
    canonical_query, canonical_request, credential_scope, signature, signing_key, string_to_sign,
};
use crate::core::uri::query_pairs;

/// Why a request was refused: an S3 error code, and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthError {
    pub code: &'static str,
    pub message: String,
}

fn refuse(code: &'static str, message: impl Into<String>) -> AuthError {
    AuthError {
        code,
        message: message.into(),
    }
}

/// The one access key the simulator accepts.
pub struct Verifier {
    access_key_id: String,
    secret_access_key: String,
    key_cache: Mutex<Option<(String, String, [u8; 32])>>,
}

/// What the verifier needs of a request.
pub struct IncomingRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    /// All values of a header (lower-case name), in order.
    pub header: &'a dyn Fn(&str) -> Vec<&'a str>,
}

impl Verifier {
    pub fn new(access_key_id: &str, secret_access_key: &str) -> Verifier {
        Verifier {
            access_key_id: access_key_id.to_owned(),
            secret_access_key: secret_access_key.to_owned(),
            key_cache: Mutex::new(None),
        }
    }

    fn key(&self, date: &str, region: &str) -> [u8; 32] {
        let mut cache = self.key_cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((d, r, k)) = cache.as_ref() {
            if d == date && r == region {
                return *k;
            }
        }
        let k = signing_key(&self.secret_access_key, date, region, "s3");
        *cache = Some((date.to_owned(), region.to_owned(), k));
        k
    }

    pub fn verify(&self, req: &IncomingRequest<'_>) -> Result<(), AuthError> {
        let auth = (req.header)("authorization");
        let auth = *auth
            .first()
            .ok_or_else(|| refuse("AccessDenied", "anonymous requests are not allowed here"))?;
        let rest = auth.strip_prefix("AWS4-HMAC-SHA256 ").ok_or_else(|| {
            refuse(
                "AuthorizationHeaderMalformed",
                "only AWS4-HMAC-SHA256 is supported",
            )
        })?;
        let (mut credential, mut signed, mut sig) = (None, None, None);
        for part in rest.split(',') {
            let part = part.trim();
            if let Some(v) = part.strip_prefix("Credential=") {
                credential = Some(v);
            } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
                signed = Some(v);
            } else if let Some(v) = part.strip_prefix("Signature=") {
                sig = Some(v);
            }
        }
        let malformed = || {
            refuse(
                "AuthorizationHeaderMalformed",
                "Credential, SignedHeaders and Signature are all required",
            )
        };
        let (credential, signed, sig) = (
            credential.ok_or_else(malformed)?,
            signed.ok_or_else(malformed)?,
            sig.ok_or_else(malformed)?,
        );
        let mut scope_parts = credential.splitn(5, '/');
        let (key_id, date, region, service, terminal) = (
            scope_parts.next().unwrap_or(""),
            scope_parts.next().unwrap_or(""),
            scope_parts.next().unwrap_or(""),
            scope_parts.next().unwrap_or(""),
            scope_parts.next().unwrap_or(""),
        );
        if key_id != self.access_key_id {
            return Err(refuse(
                "InvalidAccessKeyId",
                "The AWS Access Key Id you provided does not exist in our records.",
            ));
        }
        if service != "s3" || terminal != "aws4_request" || date.len() != 8 {
            return Err(refuse(
                "AuthorizationHeaderMalformed",
                format!("bad credential scope {credential:?}"),
            ));
        }
        let amz_date = *(req.header)("x-amz-date")
            .first()
            .ok_or_else(|| refuse("AccessDenied", "x-amz-date is missing"))?;
        if !amz_date.starts_with(date) {
            return Err(refuse(
                "SignatureDoesNotMatch",
                "x-amz-date is not on the credential's date",
            ));
        }
        let payload = *(req.header)("x-amz-content-sha256")
            .first()
            .ok_or_else(|| refuse("InvalidRequest", "x-amz-content-sha256 is missing"))?;

        let pairs: Vec<(Vec<u8>, Vec<u8>)> = query_pairs(req.query).collect();
        let refs: Vec<(&[u8], &[u8])> = pairs
            .iter()
            .map(|(n, v)| (n.as_slice(), v.as_slice()))
            .collect();
        let query = canonical_query(&refs);

        let mut headers: Vec<(&str, &str)> = Vec::new();
        for name in signed.split(';') {
            let values = (req.header)(name);
            if values.is_empty() {
                return Err(refuse(
                    "SignatureDoesNotMatch",
                    format!("signed header {name:?} is missing"),
                ));
            }
            for v in values {
                headers.push((name, v));
            }
        }
        let creq = canonical_request(req.method, req.path, &query, &headers, payload);
        let sts = string_to_sign(amz_date, &credential_scope(date, region, "s3"), &creq.text);
        let expected = signature(&self.key(date, region), &sts);
        if !constant_time_eq(expected.as_bytes(), sig.as_bytes()) {
            return Err(refuse(
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
            ));
        }
        Ok(())
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::endpoint::{Addressing, BucketTarget, Endpoint};
    use crate::core::request::{list_objects_v2, ListParams};
    use crate::core::sigv4::{Credentials, Signer, SigningSettings};

    fn check(signer_secret: &str, tamper: bool) -> Result<(), AuthError> {
        let target = BucketTarget::new(
            Endpoint::parse("http://127.0.0.1:9000").unwrap(),
            "sim",
            Addressing::Path,
        )
        .unwrap();
        let signer = Signer::new(
            Credentials::new("AK", signer_secret, None),
            "us-east-1",
            "s3",
            SigningSettings::S3,
        );
        let params = ListParams {
            prefix: b"a b+c",
            continuation_token: Some("x/y="),
            start_after: None,
            max_keys: 10,
        };
        let req = list_objects_v2(
            &target,
            &params,
            Some(&signer),
            time::OffsetDateTime::now_utc(),
        );
        let (path, query) = req.path_and_query.split_once('?').unwrap();
        let path = if tamper { "/sim/other" } else { path };
        let headers = req.headers.clone();
        let host = req.host.clone();
        let lookup = move |name: &str| -> Vec<&str> {
            if name == "host" {
                return vec![Box::leak(host.clone().into_boxed_str())];
            }
            headers
                .iter()
                .filter(|(n, _)| *n == name)
                .map(|(_, v)| &*Box::leak(v.to_string().into_boxed_str()))
                .collect()
        };
        let v = Verifier::new("AK", "SECRET");
        v.verify(&IncomingRequest {
            method: "GET",
            path,
            query,
            header: &lookup,
        })
    }

    #[test]
    fn accepts_what_our_signer_signs_and_nothing_else() {
        assert_eq!(check("SECRET", false), Ok(()));
        assert_eq!(
            check("WRONG", false).unwrap_err().code,
            "SignatureDoesNotMatch"
        );
        assert_eq!(
            check("SECRET", true).unwrap_err().code,
            "SignatureDoesNotMatch"
        );
    }
}
