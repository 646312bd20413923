//! Where a scan's records go.

use std::io::{self, Write};

/// Where records go: a writer that can make what it was given durable (a file); other writers have
/// nothing to do.
pub trait Output: Write {
    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Output for std::fs::File {
    fn sync(&mut self) -> io::Result<()> {
        self.sync_data()
    }
}

impl Output for Vec<u8> {}
impl Output for io::StdoutLock<'_> {}
impl Output for io::Sink {}
