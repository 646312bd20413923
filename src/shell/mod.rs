//! The I/O shell around the pure core: connection pool, the LIST → HEAD pipeline, retries, progress.
pub mod batching;
pub mod client;
pub mod cputime;
pub mod fetch;
pub mod progress;
pub mod retry;
pub mod scan;
