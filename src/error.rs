//! The errors that end a run, each with its exit code. Objects that fail one by one are not errors of
//! this kind: they are counted and named, and the run ends with exit code 1.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Bad arguments or configuration (exit 2).
    Usage(String),
    /// The scan cannot go on: an S3 error such as bad credentials or no such bucket, a server that keeps
    /// failing, or output that cannot be written (exit 3).
    Fatal(String),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => 2,
            Error::Fatal(_) => 3,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) | Error::Fatal(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}
