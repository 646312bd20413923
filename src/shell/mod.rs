//! The I/O shell around the pure core: connection pool, the LIST → HEAD pipeline, retries, progress.
pub mod batching;
pub mod client;
pub mod cputime;
pub mod fetch;
pub mod progress;
pub mod retry;
pub mod scan;

/// Locks a mutex of the shell. Nothing panics while holding one (pushes, pops, counters), so a
/// poisoned lock is still consistent and is taken as it is.
fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
