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
                let value = Some(text.to_owned());
                match path.get(1) {
                    "Code" => err.code = value,
                    "Message" => err.message = value,
                    "RequestId" => err.request_id = value,
                    "HostId" => err.host_id = value,
                    other => err.other.push((other.to_owned(), text.to_owned())),
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

/// Whether a failed request is worth another try (botocore's transient and throttling sets).
pub fn is_retryable(status: u16, code: Option<&str>) -> bool {
    matches!(status, 500 | 502 | 503 | 504)
        || matches!(
            code,
            Some(
                "SlowDown"
                    | "InternalError"
                    | "ServiceUnavailable"
                    | "RequestTimeout"
                    | "Throttling"
                    | "ThrottlingException"
            )
        )
}

/// What the user should check for an error code that stops the scan.
pub fn hint(status: u16, code: Option<&str>) -> &'static str {
    match code {
        Some("NoSuchBucket") => "check the bucket name and the endpoint",
        Some("AccessDenied") | Some("AllAccessDisabled") => {
            "check the credentials' permissions (s3:ListBucket, s3:GetObject)"
        }
        Some("InvalidAccessKeyId") => "check AWS_ACCESS_KEY_ID or the profile's aws_access_key_id",
        Some("SignatureDoesNotMatch") => "check the secret access key (and --region)",
        Some("RequestTimeTooSkewed") => "the local clock is off by more than 15 minutes: fix it",
        Some("AuthorizationHeaderMalformed") => "check --region",
        Some("PermanentRedirect") | Some("TemporaryRedirect") => {
            "the bucket lives elsewhere: check --region and --endpoint-url"
        }
        Some("ExpiredToken") | Some("TokenRefreshRequired") => {
            "the session token has expired: refresh the credentials"
        }
        Some("InvalidBucketName") => "check the bucket name",
        _ => match status {
            301 | 307 => "the bucket lives elsewhere: check --region and --endpoint-url",
            400 => "check --region and --addressing",
            401 | 403 => "check the credentials and their permissions",
            404 => "check the bucket name and the endpoint",
            _ => "check the endpoint and the server's health",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_set() {
        assert!(is_retryable(503, Some("SlowDown")));
        assert!(is_retryable(200, Some("SlowDown")));
        assert!(is_retryable(500, None));
        assert!(!is_retryable(403, Some("AccessDenied")));
        assert!(!is_retryable(404, None));
    }

    #[test]
    fn non_error_root_is_rejected() {
        assert!(parse_error(b"<ListBucketResult/>").is_err());
    }
}
