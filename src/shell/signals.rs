//! Ctrl-C and SIGTERM: the first stops the scan in order (no new request, the ones out finish within
//! a bounded time, the output is flushed and the checkpoint written); a second exits at once (the
//! checkpoint on disk is always a whole one).

use tokio::signal::unix::{signal, SignalKind};

use super::terminal::stderr_line;

/// A signal that stops a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Interrupt,
    Terminate,
}

impl Signal {
    pub fn number(self) -> i32 {
        match self {
            Signal::Interrupt => 2,
            Signal::Terminate => 15,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }
}

/// Resolves at the first SIGINT or SIGTERM, and from then on exits the process at the next one (with
/// 128 + its number, as a shell reports a process killed by it). Never resolves if the handlers
/// cannot be installed.
pub(crate) async fn first_signal() -> Signal {
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return std::future::pending().await;
    };
    let first = tokio::select! {
        _ = int.recv() => Signal::Interrupt,
        _ = term.recv() => Signal::Terminate,
    };
    tokio::spawn(async move {
        let second = tokio::select! {
            _ = int.recv() => Signal::Interrupt,
            _ = term.recv() => Signal::Terminate,
        };
        stderr_line(&format!(
            "s3meta: {} again: exiting at once (the checkpoint, if any, stands)",
            second.name()
        ));
        std::process::exit(128 + second.number());
    });
    first
}
