//! Where configuration comes from besides the arguments: environment variables and files. A trait, so
//! that tests need no real environment.

use std::io::Read;
use std::path::Path;

/// The environment of a run.
pub trait Environment {
    /// A variable's value; `Ok(None)` when it is unset or empty, an error naming it when it is not
    /// UTF-8.
    fn var(&self, name: &str) -> Result<Option<String>, String>;
    /// A file's bytes, at most `limit + 1` of them (so that a caller can tell a larger file);
    /// `Ok(None)` when there is no such file.
    fn read_file(&self, path: &Path, limit: usize) -> std::io::Result<Option<Vec<u8>>>;
    /// Whether users other than the file's owner may read it (group or others), as ssh checks its keys.
    fn readable_by_others(&self, path: &Path) -> bool;
}

/// The process environment and file system.
pub struct ProcessEnvironment;

impl Environment for ProcessEnvironment {
    fn var(&self, name: &str) -> Result<Option<String>, String> {
        match std::env::var_os(name) {
            None => Ok(None),
            Some(v) if v.is_empty() => Ok(None),
            Some(v) => v
                .into_string()
                .map(Some)
                .map_err(|_| format!("the environment variable {name} is not valid UTF-8")),
        }
    }

    fn read_file(&self, path: &Path, limit: usize) -> std::io::Result<Option<Vec<u8>>> {
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut bytes = Vec::new();
        // `take`: a device such as /dev/zero never ends.
        file.take(limit as u64 + 1).read_to_end(&mut bytes)?;
        Ok(Some(bytes))
    }

    fn readable_by_others(&self, path: &Path) -> bool {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o044 != 0)
    }
}
