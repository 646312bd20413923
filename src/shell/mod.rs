//! The I/O shell around the pure core: connections, the LIST → HEAD pipeline, retries, output, progress.
//!
//! Bottom up: [`connect`] opens streams, [`pool`] keeps HTTP connections over them, [`s3_client`] sends
//! one LIST page or one HEAD through the [`retry`] loop; [`lister`], [`scheduler`], [`lookup`] and
//! [`emitter`] are the pipeline; [`scan`] puts one scan together and says how it ended.
pub mod checkpoint;
pub mod connect;
/// CPU time, for the simulator's and the demo's reports.
#[cfg(feature = "sim")]
pub(crate) mod cputime;
pub(crate) mod emitter;
pub mod error;
pub mod limit;
pub(crate) mod lister;
pub(crate) mod listing;
pub(crate) mod lookup;
pub mod output;
pub(crate) mod pacing;
pub(crate) mod park_delay;
pub mod plan;
pub(crate) mod pool;
pub mod progress;
pub(crate) mod rate_meter;
pub mod retry;
pub(crate) mod s3_client;
pub mod scan;
pub(crate) mod scheduler;
pub mod signals;
pub(crate) mod terminal;
pub(crate) mod throttle_window;
pub mod tls;

/// Locks a mutex of the shell. Nothing panics while holding one (pushes, pops, counters), so a
/// poisoned lock is still consistent and is taken as it is.
fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
