//! s3meta: list the custom metadata (`x-amz-meta-*`) of every object in an S3 bucket, fast.
//!
//! The crate has three layers (see `README.md`, "How it works"):
//! - [`core`]: pure functions of their inputs — SigV4, percent-encoding, request building, the
//!   ListObjectsV2 and error XML parsers, metadata decoding, output encoders. No tokio, no sockets,
//!   time passed in.
//! - [`shell`]: the I/O around it — the shared hyper connection pool, the LIST → HEAD pipeline,
//!   retries, progress.
//! - [`cli`]: turning arguments, environment and `~/.aws` files into a [`cli::Command`].
#![forbid(unsafe_code)]

pub mod cli;
pub mod core;
pub mod error;
pub mod shell;
#[cfg(feature = "sim")]
pub mod sim;
