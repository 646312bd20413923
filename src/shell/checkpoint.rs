//! Checkpoints on disk: read at the start of a scan to decide where it resumes, written atomically
//! (a temporary file beside it, fsync, rename, fsync of the directory) while it runs, so that the file
//! is always either the old checkpoint or the new one, whenever the process dies.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::Error;
use crate::core::checkpoint::{Checkpoint, ScanIdentity, MAX_CHECKPOINT_BYTES};

/// How often a running scan writes its checkpoint by default.
pub const DEFAULT_CHECKPOINT_EVERY: Duration = Duration::from_secs(5);

/// Where a scan's checkpoint goes, and how often.
#[derive(Debug, Clone)]
pub struct CheckpointSettings {
    pub path: PathBuf,
    pub every: Duration,
}

/// Where a scan with a checkpoint starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// No checkpoint yet: from the beginning.
    Fresh,
    /// From where the checkpoint says.
    Resume(Checkpoint),
    /// The checkpoint says the scan ran to its end: nothing to do.
    Complete(Checkpoint),
}

fn problem(path: &Path, problem: String) -> Error {
    Error::Checkpoint {
        what: format!("checkpoint {}", path.display()),
        problem,
    }
}

/// Reads the checkpoint at `path` for the scan `identity`: a checkpoint of another scan, or one that
/// cannot be read, is an error (the user decides; nothing is overwritten).
pub fn start_from(path: &Path, identity: &ScanIdentity) -> Result<Start, Error> {
    let mut text = Vec::new();
    match File::open(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Start::Fresh),
        Err(e) => return Err(problem(path, format!("cannot be read: {e}"))),
        Ok(f) => {
            f.take(MAX_CHECKPOINT_BYTES as u64 + 1)
                .read_to_end(&mut text)
                .map_err(|e| problem(path, format!("cannot be read: {e}")))?;
        }
    }
    let checkpoint = Checkpoint::parse(&text).map_err(|why| {
        problem(
            path,
            format!("cannot be used: {why}; delete it to start over"),
        )
    })?;
    if let Some(diff) = checkpoint.identity.difference(identity) {
        return Err(problem(
            path,
            format!("is of another scan: {diff}; delete it (or give another --checkpoint) to start over"),
        ));
    }
    Ok(if checkpoint.complete {
        Start::Complete(checkpoint)
    } else {
        Start::Resume(checkpoint)
    })
}

/// Writes `checkpoint` to `path` atomically.
pub(crate) fn write_checkpoint(path: &Path, checkpoint: &Checkpoint) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp"));
    {
        let mut f = File::create(&tmp)?;
        f.write_all(checkpoint.render().as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    // The rename is durable once the directory is.
    File::open(&dir)?.sync_all()
}

/// Opens the output of a scan with a checkpoint: `path`, or the file stdout is (it must be a regular
/// file). Fresh: emptied. Resumed: cut back to the length the checkpoint records, ready to append.
pub fn open_output(path: Option<&Path>, start: &Start) -> Result<File, Error> {
    let (shown, open_path) = match path {
        Some(p) => (p.display().to_string(), p.to_owned()),
        None => ("stdout".to_owned(), PathBuf::from("/dev/stdout")),
    };
    let setup = |what: String, source: io::Error| Error::Setup { what, source };
    let refused = |problem: String| Error::Checkpoint {
        what: format!("the output {shown}"),
        problem,
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create(path.is_some())
        .truncate(false)
        .open(&open_path)
        .map_err(|e| setup(format!("cannot open {shown}"), e))?;
    let meta = file
        .metadata()
        .map_err(|e| setup(format!("cannot look at {shown}"), e))?;
    if !meta.is_file() {
        return Err(refused(if path.is_none() {
            "is not a regular file: with --checkpoint, give -o FILE or redirect stdout to a file (>>, so that a resumed run does not empty it)".into()
        } else {
            "is not a regular file: a checkpoint records a length to cut it back to".into()
        }));
    }
    let keep = match start {
        Start::Resume(c) => c.output_bytes,
        Start::Fresh | Start::Complete(_) => 0,
    };
    if matches!(start, Start::Resume(_)) && meta.len() < keep {
        return Err(refused(format!(
            "holds {} bytes, fewer than the {keep} the checkpoint records: it was emptied (`>` instead of `>>`?) or changed; delete the checkpoint to start over",
            meta.len()
        )));
    }
    if !matches!(start, Start::Complete(_)) {
        file.set_len(keep)
            .map_err(|e| setup(format!("cannot cut {shown} back to {keep} bytes"), e))?;
    }
    file.seek(SeekFrom::Start(keep))
        .map_err(|e| setup(format!("cannot seek in {shown}"), e))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::checkpoint::WrittenCounts;

    fn identity() -> ScanIdentity {
        ScanIdentity {
            endpoint: "http://127.0.0.1:1".into(),
            bucket: "b".into(),
            prefix: Vec::new(),
            start_after: None,
            end: None,
            format: "jsonl".into(),
            include_all: false,
        }
    }

    #[test]
    fn a_checkpoint_is_written_atomically_and_read_for_its_scan_only() {
        let dir = std::env::temp_dir().join(format!("s3meta-cp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("scan.checkpoint");
        let _ = std::fs::remove_file(&path);
        assert_eq!(start_from(&path, &identity()).unwrap(), Start::Fresh);
        let c = Checkpoint {
            identity: identity(),
            after: Some(b"k1".to_vec()),
            output_bytes: 3,
            counts: WrittenCounts::default(),
            complete: false,
        };
        write_checkpoint(&path, &c).unwrap();
        assert_eq!(
            start_from(&path, &identity()).unwrap(),
            Start::Resume(c.clone())
        );
        assert!(!dir.join(".scan.checkpoint.tmp").exists());
        let mut other = identity();
        other.bucket = "c".into();
        let err = start_from(&path, &other).unwrap_err().to_string();
        assert!(
            err.contains("is of another scan: its bucket is b, this scan's is c"),
            "{err}"
        );

        // The output is cut back to what the checkpoint records, and refused if it holds less.
        let out = dir.join("out");
        std::fs::write(&out, b"abcdef").unwrap();
        let mut f = open_output(Some(&out), &Start::Resume(c.clone())).unwrap();
        f.write_all(b"X").unwrap();
        drop(f);
        assert_eq!(std::fs::read(&out).unwrap(), b"abcX");
        std::fs::write(&out, b"a").unwrap();
        let err = open_output(Some(&out), &Start::Resume(c))
            .unwrap_err()
            .to_string();
        assert!(err.contains("holds 1 bytes, fewer than the 3"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
