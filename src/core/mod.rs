//! The pure core: every function here is a function of its inputs (time is passed in).
pub mod aws_config;
pub mod base64;
pub mod checkpoint;
pub mod endpoint;
pub mod escape;
pub mod http_date;
pub mod list;
pub mod metadata;
pub mod output;
pub mod ranges;
pub mod redact;
pub mod request;
pub mod resolve;
pub mod s3error;
pub mod sigv4;
pub mod uri;
pub mod xml_text;
