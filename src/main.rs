//! The `s3meta` binary: parse, run, map the outcome to an exit code. The work is in the library.
#![forbid(unsafe_code)]

use std::io::{IsTerminal, Write};
use std::sync::Arc;

use s3meta::cli::{self, Command, ProcessEnvironment, ProgressMode, ScanConfig};
use s3meta::core::sigv4::{Signer, SigningSettings};
use s3meta::error::Error;
use s3meta::shell::batching::WakeBatching;
use s3meta::shell::fetch::Context;
use s3meta::shell::progress::{stderr_line, stdout_text};
use s3meta::shell::scan::{scan, ScanOptions};

fn main() {
    let args: Vec<String> = match std::env::args_os()
        .skip(1)
        .map(|a| a.into_string())
        .collect()
    {
        Ok(args) => args,
        Err(bad) => fail(&Error::Usage(format!(
            "argument {bad:?} is not valid UTF-8"
        ))),
    };
    let command = match cli::parse(&args, &ProcessEnvironment) {
        Ok(c) => c,
        Err(e) => fail(&e),
    };
    match command {
        Command::Help => stdout_text(cli::USAGE),
        Command::Usage(text) => stdout_text(text),
        #[cfg(feature = "sim")]
        Command::Sim(args) => {
            if let Err(e) = s3meta::sim::run_sim(*args) {
                fail(&e);
            }
        }
        #[cfg(feature = "sim")]
        Command::Demo(args) => match s3meta::sim::demo::run_demo(*args) {
            Ok(code) => std::process::exit(code),
            Err(e) => fail(&e),
        },
        Command::Version => stdout_text(&format!("s3meta {}\n", env!("CARGO_PKG_VERSION"))),
        Command::Scan(config) => std::process::exit(run_scan(*config)),
    }
}

fn fail(e: &Error) -> ! {
    stderr_line(&format!("s3meta: {e}"));
    std::process::exit(e.exit_code());
}

fn run_scan(config: ScanConfig) -> i32 {
    let mut out: Box<dyn Write> = match &config.output {
        Some(path) => match std::fs::File::create(path) {
            Ok(f) => Box::new(f),
            Err(e) => fail(&Error::Usage(format!(
                "cannot create {}: {e}",
                path.display()
            ))),
        },
        None => Box::new(std::io::stdout().lock()),
    };
    let progress = match config.progress {
        ProgressMode::Never => false,
        ProgressMode::Always => true,
        ProgressMode::Auto => std::io::stderr().is_terminal(),
    };
    let batching = WakeBatching::new();
    let runtime = match batching.runtime() {
        Ok(rt) => rt,
        Err(e) => fail(&Error::Fatal(format!("cannot start the runtime: {e}"))),
    };
    let signer = config
        .credentials
        .clone()
        .map(|c| Signer::new(c, &config.region, "s3", SigningSettings::S3));
    let opts = ScanOptions {
        prefix: config.prefix.clone().into_bytes(),
        start_after: config.start_after.clone().map(String::into_bytes),
        max_keys: config.max_keys,
        concurrency: config.concurrency,
        include_all: config.include_all,
        format: config.format,
        progress,
    };
    let report = runtime.block_on(async {
        let ctx = Arc::new(Context::new(
            config.target.clone(),
            signer,
            config.retry,
            config.timeout,
            config.concurrency,
            batching,
        ));
        scan(ctx, opts, &mut *out).await
    });
    drop(out);
    report.report_to_stderr();
    report.exit_code()
}
