//! `~/.aws/credentials` and `~/.aws/config` (parsed by [`crate::core::aws_config`]): read in one pass
//! into maps (a file may hold tens of thousands of sections), at most [`MAX_FILE_BYTES`] of it (a
//! credentials path may name a device), and anything unreadable named by file and line.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::environment::Environment;
use crate::core::aws_config::{parse_aws_ini, IniLine, IniProblem};

/// Larger than any real credentials or config file.
const MAX_FILE_BYTES: usize = 1 << 20;

/// The profiles of both files: `profiles[name][key] = (value, from the config file)`, the
/// credentials file first so it wins.
pub(crate) struct Profiles {
    pub credentials_path: PathBuf,
    pub config_path: PathBuf,
    profiles: HashMap<String, HashMap<String, (String, bool)>>,
}

fn home(env: &dyn Environment) -> Result<PathBuf, String> {
    Ok(env
        .var("HOME")?
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".")))
}

impl Profiles {
    pub(crate) fn load(env: &dyn Environment) -> Result<Profiles, String> {
        let credentials_path = match env.var("AWS_SHARED_CREDENTIALS_FILE")? {
            Some(p) => PathBuf::from(p),
            None => home(env)?.join(".aws").join("credentials"),
        };
        let config_path = match env.var("AWS_CONFIG_FILE")? {
            Some(p) => PathBuf::from(p),
            None => home(env)?.join(".aws").join("config"),
        };
        let mut p = Profiles {
            credentials_path,
            config_path,
            profiles: HashMap::new(),
        };
        for (path, is_config) in [
            (p.credentials_path.clone(), false),
            (p.config_path.clone(), true),
        ] {
            let bytes = env
                .read_file(&path, MAX_FILE_BYTES)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            if let Some(bytes) = bytes {
                if bytes.len() > MAX_FILE_BYTES {
                    return Err(format!(
                        "{} is larger than {} MiB: not a credentials or config file",
                        path.display(),
                        MAX_FILE_BYTES >> 20
                    ));
                }
                p.add(&path, &bytes, is_config)?;
            }
        }
        Ok(p)
    }

    fn add(&mut self, path: &Path, bytes: &[u8], is_config: bool) -> Result<(), String> {
        parse_aws_ini(bytes, is_config, |line| match line {
            IniLine::Profile(name) => {
                self.profiles.entry(name.to_owned()).or_default();
            }
            IniLine::Entry {
                profile,
                key,
                value,
            } => {
                // The credentials file is read first and wins; within a file, the first value does.
                self.profiles
                    .entry(profile.to_owned())
                    .or_default()
                    .entry(key.to_owned())
                    .or_insert_with(|| (value.to_owned(), is_config));
            }
        })
        .map_err(|(line, problem)| {
            let at = format!("{} line {line}", path.display());
            match problem {
                IniProblem::NotUtf8 => format!("{at} {}", problem.describe()),
                _ => format!("{at}: {}", problem.describe()),
            }
        })
    }

    pub(crate) fn exists(&self, name: &str) -> bool {
        self.profiles.contains_key(name)
    }

    pub(crate) fn get(&self, profile: &str, key: &str) -> Option<String> {
        self.profiles
            .get(profile)?
            .get(key)
            .filter(|(v, _)| !v.is_empty())
            .map(|(v, _)| v.clone())
    }

    /// The file a profile's value was read from.
    pub(crate) fn file_of(&self, profile: &str, key: &str) -> Option<&Path> {
        let (_, is_config) = self.profiles.get(profile)?.get(key)?;
        Some(if *is_config {
            &self.config_path
        } else {
            &self.credentials_path
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &[u8]) -> Result<Profiles, String> {
        let mut p = Profiles {
            credentials_path: "c".into(),
            config_path: "k".into(),
            profiles: HashMap::new(),
        };
        p.add(Path::new("/home/u/.aws/credentials"), text, false)?;
        Ok(p)
    }

    #[test]
    fn a_byte_order_mark_and_crlf_line_ends_are_fine() {
        let p = parse(b"\xef\xbb\xbf[default]\r\naws_access_key_id = K\r\n").unwrap();
        assert_eq!(p.get("default", "aws_access_key_id").as_deref(), Some("K"));
    }

    #[test]
    fn what_is_wrong_is_named_by_file_and_line() {
        let err = parse(b"[default]\nkey = v\nbad\xffbyte = x\n")
            .err()
            .unwrap();
        assert_eq!(err, "/home/u/.aws/credentials line 3 is not UTF-8 text");
        let err = parse(b"[default]\njust words\n").err().unwrap();
        assert!(
            err.contains("line 2: expected [section] or key = value"),
            "{err}"
        );
        let err = parse(b"[default\n").err().unwrap();
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn many_sections_are_read_in_one_pass() {
        let mut text = String::new();
        for i in 0..60_000 {
            text.push_str(&format!("[p{i}]\naws_access_key_id = K{i}\n"));
        }
        let p = parse(text.as_bytes()).unwrap();
        assert!(p.exists("p59999"));
        assert_eq!(
            p.get("p12345", "aws_access_key_id").as_deref(),
            Some("K12345")
        );
    }
}
