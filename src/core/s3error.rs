//! S3 error bodies (`<Error><Code>…</Code>…</Error>`, never wrapped in `<ErrorResponse>`), and what an
//! error means for the scan: retry it, or stop and tell the user what to check.

use super::xml_text::{walk, Step, XmlError};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct S3Error {
    pub code: Option<String>,
    pub message: Option<String>,
    pub request_id: Option<String>,
    pub host_id: Option<String>,
    /// Every other child of `<Error>` (Region, Endpoint, BucketName, StringToSign, …), in document order.
    pub other: Vec<(String, String)>,
}

/// Parses an `<Error>` body.
pub fn parse_error(xml: &[u8]) -> Result<S3Error, XmlError> {
    let mut err = S3Error::default();
    let mut root_checked = false;
    walk(xml, |step| {
        match step {
            Step::Open { path } if !root_checked => {
                root_checked = true;
                if path.get(0) != "Error" {
                    return Err(XmlError(format!("expected <Error>, got <{}>", path.get(0))));
                }
            }
            Step::Close { path, text } if path.len() == 2 => {
                // Server text, kept as sent (lossily as UTF-8); it is escaped where it is shown.
                let text = String::from_utf8_lossy(text).into_owned();
                match path.get(1) {
                    "Code" => err.code = Some(text),
                    "Message" => err.message = Some(text),
                    "RequestId" => err.request_id = Some(text),
                    "HostId" => err.host_id = Some(text),
                    other => err.other.push((other.to_owned(), text)),
                }
            }
            _ => {}
        }
        Ok(())
    })?;
    Ok(err)
}

impl S3Error {
    pub fn other(&self, name: &str) -> Option<&str> {
        self.other
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Error codes that mean "too many requests": slow down, then try again.
const THROTTLING_CODES: &[&str] = &[
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "TooManyRequests",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "ProvisionedThroughputExceededException",
];

/// Error codes of a passing fault on the server's side.
const TRANSIENT_CODES: &[&str] = &[
    "InternalError",
    "ServiceUnavailable",
    "RequestTimeout",
    "RequestTimeoutException",
    "PriorRequestNotComplete",
];

/// Whether an answer says the server is throttling: 429, or a throttling code (a `503 SlowDown`; a HEAD
/// has no body, so its 503 counts as one too).
pub fn is_throttling(status: u16, code: Option<&str>) -> bool {
    status == 429
        || code.is_some_and(|c| THROTTLING_CODES.contains(&c))
        || (status == 503 && code.is_none())
}

/// Whether a failed request is worth another try (botocore's transient and throttling sets, and 429).
pub fn is_retryable(status: u16, code: Option<&str>) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
        || code.is_some_and(|c| THROTTLING_CODES.contains(&c) || TRANSIENT_CODES.contains(&c))
}

/// What the user should check when an error stops the scan or fails an object. Data, not wording: the
/// shell says it in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint {
    BucketName,
    Permissions,
    AccessKeyId,
    SecretKey,
    Clock,
    Region,
    Redirect,
    ExpiredToken,
    RegionAndAddressing,
    Credentials,
    BucketAndEndpoint,
    ServerHealth,
}

/// The hint for an error: by its code first, else by its status. Some servers (Garage) answer a wrong
/// secret with `AccessDenied` and a message about the signature: that message points at the secret.
pub fn hint(status: u16, code: Option<&str>, message: Option<&str>) -> Hint {
    let about_signature = message.is_some_and(|m| m.to_ascii_lowercase().contains("signature"));
    match code {
        Some("AccessDenied") if about_signature => Hint::SecretKey,
        Some("NoSuchBucket") => Hint::BucketAndEndpoint,
        Some("AccessDenied") | Some("AllAccessDisabled") => Hint::Permissions,
        Some("InvalidAccessKeyId") => Hint::AccessKeyId,
        Some("SignatureDoesNotMatch") => Hint::SecretKey,
        Some("RequestTimeTooSkewed") => Hint::Clock,
        Some("AuthorizationHeaderMalformed") => Hint::Region,
        Some("PermanentRedirect") | Some("TemporaryRedirect") => Hint::Redirect,
        Some("ExpiredToken") | Some("TokenRefreshRequired") => Hint::ExpiredToken,
        Some("InvalidBucketName") => Hint::BucketName,
        _ => match status {
            301 | 307 => Hint::Redirect,
            400 => Hint::RegionAndAddressing,
            401 | 403 => Hint::Credentials,
            404 => Hint::BucketAndEndpoint,
            _ => Hint::ServerHealth,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_and_throttling_sets() {
        assert!(is_retryable(503, Some("SlowDown")));
        assert!(is_retryable(200, Some("SlowDown")));
        assert!(is_retryable(500, None));
        assert!(is_retryable(429, None));
        assert!(is_retryable(400, Some("RequestTimeout")));
        assert!(!is_retryable(403, Some("AccessDenied")));
        assert!(!is_retryable(404, None));
        assert!(!is_retryable(414, None));
        assert!(is_throttling(503, Some("SlowDown")));
        assert!(is_throttling(503, None), "a HEAD 503 has no body");
        assert!(is_throttling(429, None));
        assert!(is_throttling(200, Some("SlowDown")));
        assert!(!is_throttling(503, Some("ServiceUnavailable")));
        assert!(!is_throttling(500, None));
    }

    #[test]
    fn hints() {
        assert_eq!(
            hint(403, Some("AccessDenied"), Some("Access Denied")),
            Hint::Permissions
        );
        assert_eq!(
            hint(
                403,
                Some("AccessDenied"),
                Some("Forbidden: Invalid signature")
            ),
            Hint::SecretKey
        );
        assert_eq!(hint(403, None, None), Hint::Credentials);
        assert_eq!(
            hint(404, Some("NoSuchBucket"), None),
            Hint::BucketAndEndpoint
        );
    }

    #[test]
    fn non_error_root_is_rejected() {
        assert!(parse_error(b"<ListBucketResult/>").is_err());
    }
}
