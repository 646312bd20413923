//! The `s3meta` binary: everything is in the library; [`s3meta::cli::main`] decides the exit code.
#![forbid(unsafe_code)]

fn main() {
    std::process::exit(s3meta::cli::main());
}
