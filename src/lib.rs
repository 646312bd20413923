//! s3meta: list the custom metadata (`x-amz-meta-*`) of every object in an S3 bucket, fast.
//!
//! Layers, bottom up (docs/ARCHITECTURE.md); no module imports one above it:
//! - [`core`]: pure functions of their inputs: SigV4, percent-encoding, request building, the
//!   ListObjectsV2 and error XML parsers, metadata decoding, escaping and the output encoders. No
//!   tokio, no sockets, time passed in.
//! - [`shell`]: the I/O around it: connections, the LIST → HEAD pipeline, retries, output, progress.
//! - [`sim`] and [`demo`] (feature `sim`): the synthetic S3 endpoint, and the demo that scans one.
//! - [`cli`]: arguments, environment and `~/.aws` files; runs a command, decides the exit code.
#![forbid(unsafe_code)]
// Beyond clippy's default set: nothing a server or user sends may panic (no unwrap or panic outside
// tests; `expect` only on an invariant, which its message states), and every message goes through
// `shell::terminal` (escaping, secrets taken out).
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::panic,
        clippy::todo,
        clippy::unimplemented,
        clippy::print_stdout,
        clippy::print_stderr,
        clippy::dbg_macro
    )
)]

pub mod cli;
pub mod core;
#[cfg(feature = "sim")]
pub mod demo;
pub mod shell;
#[cfg(feature = "sim")]
pub mod sim;
