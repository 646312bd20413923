//! A checkpoint's content: which scan it belongs to, the key up to which every object has been
//! written, and the output's length then. Plain text, one `name value` per line, bytes of the
//! bucket's in hex, so that a checkpoint is safe to `cat` and is read back exactly.

/// The largest checkpoint read: a 1,024-byte key in hex and a few lines beside it.
pub const MAX_CHECKPOINT_BYTES: usize = 64 << 10;
const MAGIC: &str = "s3meta checkpoint 1";

use super::ranges::Boundary;

/// What identifies a scan: everything that changes which records it writes, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanIdentity {
    /// `scheme://authority` of the endpoint.
    pub endpoint: String,
    pub bucket: String,
    pub prefix: Vec<u8>,
    pub start_after: Option<Vec<u8>>,
    /// Where the listing stops (a shard's end).
    pub end: Option<Boundary>,
    pub format: String,
    pub include_all: bool,
}

/// The counts of the objects written so far, carried over by a resumed scan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WrittenCounts {
    pub heads: u64,
    pub with_metadata: u64,
    pub printed: u64,
    pub vanished: u64,
    pub failed: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub identity: ScanIdentity,
    /// Every listed object up to this key (in listing order) is written; `None`: none yet.
    pub after: Option<Vec<u8>>,
    /// The output's length when they were.
    pub output_bytes: u64,
    pub counts: WrittenCounts,
    /// The scan ran to its end.
    pub complete: bool,
}

fn hex_or_dash(bytes: Option<&[u8]>) -> String {
    bytes.map_or_else(|| "-".to_owned(), hex::encode)
}

impl Checkpoint {
    pub fn render(&self) -> String {
        let id = &self.identity;
        let c = &self.counts;
        format!(
            "{MAGIC}\nendpoint {}\nbucket {}\nprefix {}\nstart_after {}\nend {}\nend_next {}\nformat {}\nall {}\nafter {}\noutput_bytes {}\nheads {}\nwith_metadata {}\nprinted {}\nvanished {}\nfailed {}\ncomplete {}\n",
            id.endpoint,
            id.bucket,
            hex::encode(&id.prefix),
            hex_or_dash(id.start_after.as_deref()),
            hex_or_dash(id.end.as_ref().map(|e| e.key.as_slice())),
            hex_or_dash(id.end.as_ref().and_then(|e| e.first_after.as_deref())),
            id.format,
            id.include_all,
            hex_or_dash(self.after.as_deref()),
            self.output_bytes,
            c.heads,
            c.with_metadata,
            c.printed,
            c.vanished,
            c.failed,
            self.complete
        )
    }

    /// Reads a checkpoint back; anything but what [`Checkpoint::render`] writes is an error, in words.
    pub fn parse(text: &[u8]) -> Result<Checkpoint, String> {
        if text.len() > MAX_CHECKPOINT_BYTES {
            return Err("it is larger than any checkpoint".into());
        }
        let text = std::str::from_utf8(text).map_err(|_| "it is not text".to_owned())?;
        let mut lines = text.lines();
        if lines.next() != Some(MAGIC) {
            return Err("it is not an s3meta checkpoint (or of another version)".into());
        }
        let mut fields = std::collections::HashMap::new();
        for line in lines {
            let (name, value) = line.split_once(' ').unwrap_or((line, ""));
            if fields.insert(name, value).is_some() {
                return Err(format!("it names {name:?} twice"));
            }
        }
        let get = |name: &str| {
            fields
                .get(name)
                .copied()
                .ok_or_else(|| format!("it has no {name:?}"))
        };
        let number = |name: &str| {
            get(name)?
                .parse::<u64>()
                .map_err(|_| format!("its {name:?} is not a number"))
        };
        let flag = |name: &str| match get(name)? {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(format!("its {name:?} is not true or false")),
        };
        let bytes =
            |name: &str| hex::decode(get(name)?).map_err(|_| format!("its {name:?} is not hex"));
        let optional = |name: &str| match get(name)? {
            "-" => Ok(None),
            _ => bytes(name).map(Some),
        };
        // Checkpoints written before shards have no end: the listing's end.
        let absent_is_none = |name: &str| match fields.get(name) {
            None => Ok(None),
            Some(_) => optional(name),
        };
        let end = absent_is_none("end")?.map(|key| Boundary {
            key,
            first_after: None,
        });
        let end = match (end, absent_is_none("end_next")?) {
            (Some(mut e), next) => {
                e.first_after = next;
                Some(e)
            }
            (None, None) => None,
            (None, Some(_)) => return Err("it has an \"end_next\" but no \"end\"".into()),
        };
        Ok(Checkpoint {
            identity: ScanIdentity {
                endpoint: get("endpoint")?.to_owned(),
                bucket: get("bucket")?.to_owned(),
                prefix: bytes("prefix")?,
                start_after: optional("start_after")?,
                end,
                format: get("format")?.to_owned(),
                include_all: flag("all")?,
            },
            after: optional("after")?,
            output_bytes: number("output_bytes")?,
            counts: WrittenCounts {
                heads: number("heads")?,
                with_metadata: number("with_metadata")?,
                printed: number("printed")?,
                vanished: number("vanished")?,
                failed: number("failed")?,
            },
            complete: flag("complete")?,
        })
    }
}

impl ScanIdentity {
    /// How `other` (the scan being started) differs from the scan this identity is of, in words:
    /// the first difference, or `None` if they are the same scan.
    pub fn difference(&self, other: &ScanIdentity) -> Option<String> {
        let bytes = |b: &[u8]| format!("{:?}", String::from_utf8_lossy(b));
        let opt = |b: &Option<Vec<u8>>| b.as_deref().map_or_else(|| "none".to_owned(), bytes);
        let end = |e: &Option<Boundary>| match e {
            None => "none".to_owned(),
            Some(e) => format!(
                "{} (next {})",
                bytes(&e.key),
                e.first_after
                    .as_deref()
                    .map_or_else(|| "none".to_owned(), bytes)
            ),
        };
        let pairs = [
            ("endpoint", self.endpoint.clone(), other.endpoint.clone()),
            ("bucket", self.bucket.clone(), other.bucket.clone()),
            ("prefix", bytes(&self.prefix), bytes(&other.prefix)),
            (
                "--start-after",
                opt(&self.start_after),
                opt(&other.start_after),
            ),
            ("end (its shard's)", end(&self.end), end(&other.end)),
            ("--format", self.format.clone(), other.format.clone()),
            (
                "--all",
                self.include_all.to_string(),
                other.include_all.to_string(),
            ),
        ];
        pairs
            .into_iter()
            .find(|(_, a, b)| a != b)
            .map(|(what, theirs, ours)| format!("its {what} is {theirs}, this scan's is {ours}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkpoint() -> Checkpoint {
        Checkpoint {
            identity: ScanIdentity {
                endpoint: "http://127.0.0.1:9000".into(),
                bucket: "b".into(),
                prefix: b"p/\n".to_vec(),
                start_after: None,
                end: Some(Boundary {
                    key: b"p/m".to_vec(),
                    first_after: Some(b"p/m0".to_vec()),
                }),
                format: "csv".into(),
                include_all: true,
            },
            after: Some(vec![0xff, b'\n', b' ', 0]),
            output_bytes: 12345,
            counts: WrittenCounts {
                heads: 10,
                with_metadata: 9,
                printed: 8,
                vanished: 1,
                failed: 0,
            },
            complete: false,
        }
    }

    #[test]
    fn a_checkpoint_reads_back_exactly() {
        let c = checkpoint();
        let text = c.render();
        assert!(text.is_ascii(), "{text}");
        assert_eq!(Checkpoint::parse(text.as_bytes()).unwrap(), c);
        let mut done = c.clone();
        done.after = None;
        done.complete = true;
        assert_eq!(Checkpoint::parse(done.render().as_bytes()).unwrap(), done);
    }

    #[test]
    fn anything_else_is_refused_in_words() {
        let text = checkpoint().render();
        for (bad, why) in [
            ("", "not an s3meta checkpoint"),
            (
                &text.replace("output_bytes 12345", "output_bytes -1"),
                "\"output_bytes\" is not a number",
            ),
            (&text.replace("complete false\n", ""), "no \"complete\""),
            (
                &text.replace("after ff0a2000", "after zz"),
                "\"after\" is not hex",
            ),
            (&format!("{text}bucket c\n"), "\"bucket\" twice"),
        ] {
            let err = Checkpoint::parse(bad.as_bytes()).unwrap_err();
            assert!(err.contains(why), "{err}");
        }
        assert!(Checkpoint::parse(&vec![b'x'; MAX_CHECKPOINT_BYTES + 1]).is_err());
        // One written before shards (no end) is of a scan to the listing's end.
        let mut old = checkpoint();
        old.identity.end = None;
        let text = old.render().replace("end -\nend_next -\n", "");
        assert_eq!(Checkpoint::parse(text.as_bytes()).unwrap(), old);
    }

    #[test]
    fn another_scan_is_named_by_its_first_difference() {
        let a = checkpoint().identity;
        assert_eq!(a.difference(&a.clone()), None);
        let mut b = a.clone();
        b.format = "jsonl".into();
        assert_eq!(
            a.difference(&b).unwrap(),
            "its --format is csv, this scan's is jsonl"
        );
        let mut c = a.clone();
        c.end = None;
        assert_eq!(
            a.difference(&c).unwrap(),
            "its end (its shard's) is \"p/m\" (next \"p/m0\"), this scan's is none"
        );
        b.prefix = b"q/".to_vec();
        assert!(a
            .difference(&b)
            .unwrap()
            .starts_with("its prefix is \"p/\\n\""));
    }
}
