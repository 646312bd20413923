//! The command line. Every argument, environment variable and `~/.aws` file is read in the files beside
//! this one; [`main`] is the composition root: it runs the command and decides the exit code, the one
//! place that does.

#[cfg(feature = "sim")]
mod demo_args;
mod environment;
mod flags;
mod profile;
mod scan_args;
mod shard;
#[cfg(feature = "sim")]
mod sim_args;

use std::io::IsTerminal;

pub use environment::{Environment, ProcessEnvironment};
use scan_args::{
    parse_plan, parse_scan, Parsed, ParsedPlan, PlanCommand, ProgressMode, ScanCommand,
};

use crate::shell::checkpoint::{open_output, start_from, Start};
use crate::shell::error::Error;
use crate::shell::output::Output;
use crate::shell::scan::{run_scan, Ending, ScanReport};
use crate::shell::terminal::{panic_line, stderr_line, stdout_text};

/// Every listed object was reported (or the reader of the output went away).
pub const EXIT_OK: i32 = 0;
/// Some objects failed; each is named on stderr.
pub const EXIT_SOME_FAILED: i32 = 1;
/// A usage or configuration error.
pub const EXIT_USAGE: i32 = 2;
/// The scan could not finish: a fatal S3 error, a server that keeps failing, unwritable output.
pub const EXIT_FATAL: i32 = 3;
/// More listed objects were not found by their HEAD than a changing bucket explains.
pub const EXIT_TOO_MANY_VANISHED: i32 = 4;

/// Bad arguments or configuration: the message names what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the arguments ask for.
#[derive(Debug)]
enum Command {
    Scan(Box<ScanCommand>),
    Plan(Box<PlanCommand>),
    #[cfg(feature = "sim")]
    Sim(Box<crate::sim::SimConfig>),
    #[cfg(feature = "sim")]
    Demo(Box<crate::demo::DemoConfig>),
    /// Print this text (a usage text) and succeed.
    Text(&'static str),
    Version,
}

fn parse(args: &[String], env: &dyn Environment) -> Result<Command, UsageError> {
    let rest = args.get(1..).unwrap_or_default();
    match args.first().map(String::as_str) {
        None | Some("-h") | Some("--help") | Some("help") => Ok(Command::Text(scan_args::USAGE)),
        Some("-V") | Some("--version") => Ok(Command::Version),
        Some("scan") => Ok(match parse_scan(rest, env)? {
            Parsed::Scan(c) => Command::Scan(c),
            Parsed::Help => Command::Text(scan_args::USAGE),
        }),
        Some("plan") => Ok(match parse_plan(rest, env)? {
            ParsedPlan::Plan(c) => Command::Plan(c),
            ParsedPlan::Help => Command::Text(scan_args::PLAN_USAGE),
        }),
        #[cfg(feature = "sim")]
        Some("sim") => Ok(match sim_args::parse_sim_args(rest)? {
            Some(c) => Command::Sim(Box::new(c)),
            None => Command::Text(sim_args::SIM_USAGE),
        }),
        #[cfg(feature = "sim")]
        Some("demo") => Ok(match demo_args::parse_demo_args(rest)? {
            Some(c) => Command::Demo(Box::new(c)),
            None => Command::Text(demo_args::DEMO_USAGE),
        }),
        Some(other) => Err(UsageError(format!(
            "unknown command {other:?} (try `s3meta scan s3://BUCKET`)"
        ))),
    }
}

/// The exit code of a scan that ran.
fn exit_code(ending: Ending) -> i32 {
    match ending {
        Ending::Complete | Ending::OutputClosed => EXIT_OK,
        Ending::SomeFailed => EXIT_SOME_FAILED,
        Ending::Fatal => EXIT_FATAL,
        Ending::Misconfigured => EXIT_USAGE,
        Ending::TooManyVanished => EXIT_TOO_MANY_VANISHED,
        // As a shell reports a process a signal ended.
        Ending::Interrupted(signal) => 128 + signal.number(),
    }
}

/// A usage or configuration error found before the scan: its line, and exit 2.
fn misconfigured(e: &Error) -> i32 {
    stderr_line(&format!("s3meta: {e}"));
    EXIT_USAGE
}

fn fatal(e: &Error) -> i32 {
    stderr_line(&format!("s3meta: {e}"));
    EXIT_FATAL
}

/// Runs `s3meta` with the process's arguments and environment; the exit code.
pub fn main() -> i32 {
    // A panic is a bug; its message still goes through the one gate to stderr, which escapes what it
    // holds and takes secrets out.
    std::panic::set_hook(Box::new(|info| {
        panic_line(&format!("s3meta: internal error, please report it: {info}"))
    }));
    let args: Result<Vec<String>, _> = std::env::args_os()
        .skip(1)
        .map(|a| a.into_string())
        .collect();
    match args {
        Ok(args) => run(&args, &ProcessEnvironment),
        Err(bad) => {
            stderr_line(&format!(
                "s3meta: argument {:?} is not valid UTF-8",
                bad.to_string_lossy()
            ));
            EXIT_USAGE
        }
    }
}

/// Runs `s3meta` with `args` (after the program name) in `env`; the exit code.
pub fn run(args: &[String], env: &dyn Environment) -> i32 {
    let command = match parse(args, env) {
        Ok(c) => c,
        Err(e) => {
            stderr_line(&format!("s3meta: {e}"));
            return EXIT_USAGE;
        }
    };
    match command {
        Command::Text(text) => {
            stdout_text(text);
            EXIT_OK
        }
        Command::Version => {
            stdout_text(&format!("s3meta {}\n", env!("CARGO_PKG_VERSION")));
            EXIT_OK
        }
        Command::Scan(c) => scan(*c),
        Command::Plan(c) => plan(*c),
        #[cfg(feature = "sim")]
        Command::Sim(c) => match crate::sim::run_sim(*c) {
            Ok(()) => EXIT_OK,
            Err(e) => fatal(&e),
        },
        #[cfg(feature = "sim")]
        Command::Demo(c) => match crate::demo::run_demo(*c) {
            Ok(report) => exit_code(report.ending()),
            Err(e) => fatal(&e),
        },
    }
}

fn quote_path(path: &std::path::Path) -> String {
    crate::shell::terminal::quote_key(path.display().to_string().as_bytes())
}

fn plan(command: PlanCommand) -> i32 {
    for warning in &command.warnings {
        stderr_line(&format!("s3meta: {warning}"));
    }
    let plan = match crate::shell::plan::run_plan(&command.config, command.shards) {
        Ok(p) => p,
        Err(e) if e.is_configuration() => return misconfigured(&e),
        Err(e) => return fatal(&e),
    };
    let text = plan.render();
    let written = match &command.output {
        Some(path) => std::fs::write(path, &text).map_err(|source| Error::Setup {
            what: format!("cannot write {}", path.display()),
            source,
        }),
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .map_err(Error::Output)
        }
    };
    match written {
        Ok(()) => {}
        Err(e) if e.is_closed_output() => return EXIT_OK,
        Err(e) => return fatal(&e),
    }
    let to = command
        .output
        .as_deref()
        .map_or_else(|| "stdout".to_owned(), quote_path);
    stderr_line(&format!(
        "s3meta: a plan of {} shards, from {} LIST requests, written to {to}",
        plan.shards.len(),
        plan.probes
    ));
    EXIT_OK
}

fn scan(command: ScanCommand) -> i32 {
    for warning in &command.warnings {
        stderr_line(&format!("s3meta: {warning}"));
    }
    let mut config = command.config;
    config.progress = match command.progress {
        ProgressMode::Never => false,
        ProgressMode::Always => true,
        ProgressMode::Auto => std::io::stderr().is_terminal(),
    };
    config.handle_signals = true;
    let mut out: Box<dyn Output> = match &config.checkpoint {
        Some(settings) => {
            let start = match start_from(&settings.path, &config.identity()) {
                Ok(start) => start,
                Err(e) => return misconfigured(&e),
            };
            match &start {
                Start::Complete(done) => {
                    stderr_line(&format!(
                        "s3meta: the scan recorded in the checkpoint {} is complete ({} objects): nothing to do; delete it to scan again",
                        quote_path(&settings.path),
                        done.counts.heads
                    ));
                    return exit_code(ScanReport::of_checkpoint(done).ending());
                }
                Start::Resume(from) => {
                    stderr_line(&format!(
                        "s3meta: resuming from the checkpoint {}: {} objects written, listing on after {}",
                        quote_path(&settings.path),
                        from.counts.heads,
                        from.after.as_deref().map_or_else(|| "the start".to_owned(), crate::shell::terminal::quote_key)
                    ));
                    config.resume = Some(from.clone());
                }
                Start::Fresh => {}
            }
            match open_output(command.output.as_deref(), &start) {
                Ok(f) => Box::new(f),
                Err(e) if e.is_configuration() => return misconfigured(&e),
                Err(e) => return fatal(&e),
            }
        }
        None => match &command.output {
            Some(path) => match std::fs::File::create(path) {
                Ok(f) => Box::new(f),
                Err(source) => {
                    return fatal(&Error::Setup {
                        what: format!("cannot create {}", path.display()),
                        source,
                    })
                }
            },
            None => Box::new(std::io::stdout().lock()),
        },
    };
    let report = run_scan(&config, &mut *out);
    drop(out);
    report.write_ending();
    exit_code(report.ending())
}

#[cfg(test)]
mod tests;
