//! A shard plan: one listing cut into key ranges that separate scans (processes, machines, array
//! tasks) list on their own, and whose outputs, concatenated in shard order, are the bytes of one
//! scan. Written and read as JSON (the format is documented in README.md, "Shards").
//!
//! Shard `i` lists the keys after its `start_after` up to its end: the [`Boundary`] the next shard
//! starts after. Shard 0 starts where the planned scan does; the last shard runs to the end.

use super::escape::push_json_string;
use super::json::Json;
use super::ranges::{Boundary, MAX_KEY_BYTES};

/// What names the format in the file.
pub const PLAN_FORMAT: &str = "s3meta-plan-1";
/// The most shards a plan holds.
pub const MAX_SHARDS: usize = 10_000;
/// The largest plan file read.
pub const MAX_PLAN_BYTES: usize = 32 << 20;

/// One shard: the keys after `start_after` (none: from the first) up to `end` (none: to the last).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardRange {
    pub start_after: Option<Vec<u8>>,
    pub end: Option<Boundary>,
    /// About how many objects it holds, as the probes saw the bucket.
    pub objects_estimated: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub bucket: String,
    pub prefix: Vec<u8>,
    /// Where the planned scan starts (`--start-after`).
    pub start_after: Option<Vec<u8>>,
    /// LIST requests the plan was made from.
    pub probes: u64,
    pub shards: Vec<ShardRange>,
}

fn push_key(out: &mut Vec<u8>, key: Option<&[u8]>) {
    match key {
        Some(k) => push_json_string(out, k),
        None => out.extend_from_slice(b"null"),
    }
}

impl Plan {
    /// The plan as JSON, one shard per line. Every key in a plan is UTF-8 (the planner makes it so),
    /// so the text reads back to the same bytes.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        out.extend_from_slice(
            format!("{{\"format\": \"{PLAN_FORMAT}\",\n \"bucket\": ").as_bytes(),
        );
        push_json_string(&mut out, self.bucket.as_bytes());
        out.extend_from_slice(b",\n \"prefix\": ");
        push_json_string(&mut out, &self.prefix);
        out.extend_from_slice(b",\n \"start_after\": ");
        push_key(&mut out, self.start_after.as_deref());
        let total: u64 = self.shards.iter().map(|s| s.objects_estimated).sum();
        out.extend_from_slice(
            format!(
                ",\n \"shard_count\": {},\n \"objects_estimated\": {total},\n \"probes\": {},\n \"shards\": [",
                self.shards.len(),
                self.probes
            )
            .as_bytes(),
        );
        for (i, s) in self.shards.iter().enumerate() {
            out.extend_from_slice(if i == 0 { b"\n  " } else { b",\n  " });
            out.extend_from_slice(format!("{{\"shard\": {i}, \"start_after\": ").as_bytes());
            push_key(&mut out, s.start_after.as_deref());
            out.extend_from_slice(b", \"end\": ");
            push_key(&mut out, s.end.as_ref().map(|e| e.key.as_slice()));
            out.extend_from_slice(b", \"end_next\": ");
            push_key(
                &mut out,
                s.end.as_ref().and_then(|e| e.first_after.as_deref()),
            );
            out.extend_from_slice(
                format!(", \"objects_estimated\": {}}}", s.objects_estimated).as_bytes(),
            );
        }
        out.extend_from_slice(b"\n ]}\n");
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Reads a plan back and checks that its shards cover its listing once, in order; anything else
    /// is an error in words.
    pub fn parse(text: &[u8]) -> Result<Plan, String> {
        if text.len() > MAX_PLAN_BYTES {
            return Err(format!("it is larger than {MAX_PLAN_BYTES} bytes"));
        }
        let doc = Json::parse(text)?;
        let field = |name: &str| doc.get(name).ok_or_else(|| format!("it has no {name:?}"));
        if field("format")?.as_str() != Some(PLAN_FORMAT) {
            return Err(format!(
                "it is not an s3meta plan (its \"format\" is not {PLAN_FORMAT:?})"
            ));
        }
        let text_of = |v: &Json, what: &str| {
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("its {what} is not a string"))
        };
        let key_of = |v: &Json, what: &str| -> Result<Option<Vec<u8>>, String> {
            match v {
                Json::Null => Ok(None),
                Json::String(s) if s.len() <= MAX_KEY_BYTES => Ok(Some(s.as_bytes().to_vec())),
                Json::String(_) => Err(format!("its {what} is longer than any key")),
                _ => Err(format!("its {what} is not a string or null")),
            }
        };
        let Some(Json::Array(items)) = doc.get("shards") else {
            return Err("it has no \"shards\" list".into());
        };
        if items.is_empty() || items.len() > MAX_SHARDS {
            return Err(format!("it has {} shards (1 to {MAX_SHARDS})", items.len()));
        }
        let mut plan = Plan {
            bucket: text_of(field("bucket")?, "\"bucket\"")?,
            prefix: text_of(field("prefix")?, "\"prefix\"")?.into_bytes(),
            start_after: key_of(field("start_after")?, "\"start_after\"")?,
            probes: doc.get("probes").and_then(Json::as_u64).unwrap_or(0),
            shards: Vec::with_capacity(items.len()),
        };
        let mut before = plan.start_after.clone();
        for (i, item) in items.iter().enumerate() {
            let what = |name: &str| format!("shard {i}'s {name:?}");
            let get = |name: &str| {
                item.get(name)
                    .ok_or_else(|| format!("shard {i} has no {name:?}"))
            };
            if get("shard")?.as_u64() != Some(i as u64) {
                return Err(format!("the shard at place {i} is not numbered {i}"));
            }
            let start_after = key_of(get("start_after")?, &what("start_after"))?;
            if start_after != before {
                return Err(format!(
                    "shard {i} does not start where the shard before it ends"
                ));
            }
            let end = key_of(get("end")?, &what("end"))?;
            // The text the server sent, which an `EncodingType=url` listing sends encoded (up to
            // three bytes a byte), and which is matched, not ordered.
            let end_next = match item.get("end_next") {
                None | Some(Json::Null) => None,
                Some(Json::String(s)) if s.len() <= 3 * MAX_KEY_BYTES => {
                    Some(s.as_bytes().to_vec())
                }
                Some(_) => return Err(format!("{} is not a listed key's text", what("end_next"))),
            };
            let last = i + 1 == items.len();
            let end = match (end, last) {
                (None, true) => None,
                (Some(_), true) => {
                    return Err("the last shard has an end: it must run to the end".into())
                }
                (None, false) => {
                    return Err(format!(
                        "shard {i} has no end (only the last runs to the end)"
                    ))
                }
                (Some(key), false) => {
                    if start_after.as_deref().is_some_and(|s| key.as_slice() < s) {
                        return Err(format!("shard {i} ends before it starts"));
                    }
                    Some(Boundary {
                        key,
                        first_after: end_next,
                    })
                }
            };
            before = end.as_ref().map(|e| e.key.clone());
            plan.shards.push(ShardRange {
                start_after,
                end,
                objects_estimated: item
                    .get("objects_estimated")
                    .and_then(Json::as_u64)
                    .unwrap_or(0),
            });
        }
        Ok(plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boundary(key: &str, next: Option<&str>) -> Option<Boundary> {
        Some(Boundary {
            key: key.as_bytes().to_vec(),
            first_after: next.map(|n| n.as_bytes().to_vec()),
        })
    }

    fn plan() -> Plan {
        let k = |s: &str| Some(s.as_bytes().to_vec());
        Plan {
            bucket: "b".into(),
            prefix: "p/\u{1}é".as_bytes().to_vec(),
            start_after: None,
            probes: 7,
            shards: vec![
                ShardRange {
                    start_after: None,
                    end: boundary("p/a\"\\\n", Some("p/a+b")),
                    objects_estimated: 10,
                },
                ShardRange {
                    start_after: k("p/a\"\\\n"),
                    // As sent in an `EncodingType=url` page: it may read as sorting before the end.
                    end: boundary("p/m\u{10ffff}", Some("p/m%2Bx")),
                    objects_estimated: 11,
                },
                ShardRange {
                    start_after: k("p/m\u{10ffff}"),
                    end: None,
                    objects_estimated: 12,
                },
            ],
        }
    }

    #[test]
    fn a_plan_reads_back_exactly() {
        let p = plan();
        let text = p.render();
        assert!(text.contains("\"objects_estimated\": 33"), "{text}");
        assert_eq!(Plan::parse(text.as_bytes()).unwrap(), p);
    }

    #[test]
    fn a_plan_whose_shards_do_not_cover_the_listing_once_is_refused() {
        let text = plan().render();
        for (bad, why) in [
            (text.replace(PLAN_FORMAT, "other"), "not an s3meta plan"),
            (
                text.replace("\"shard\": 1", "\"shard\": 2"),
                "not numbered 1",
            ),
            (
                text.replacen(
                    "\"start_after\": \"p/m\u{10ffff}\"",
                    "\"start_after\": \"p/n\"",
                    1,
                ),
                "does not start where",
            ),
            (
                text.replace("\"end\": null", "\"end\": \"p/z\""),
                "the last shard has an end",
            ),
            (
                text.replace("\"end_next\": \"p/a+b\"", "\"end_next\": 7"),
                "not a listed key's text",
            ),
            (
                text.replace("\"bucket\": \"b\"", "\"bucket\": 1"),
                "\"bucket\" is not a string",
            ),
            (
                "{\"format\": \"s3meta-plan-1\", \"shards\": []}".into(),
                "has 0 shards",
            ),
        ] {
            let err = Plan::parse(bad.as_bytes()).unwrap_err();
            assert!(err.contains(why), "{err}");
        }
        assert!(Plan::parse(&vec![b' '; MAX_PLAN_BYTES + 1]).is_err());
    }
}
