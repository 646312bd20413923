//! `~/.aws/credentials` and `~/.aws/config`: INI files with `[name]` sections in the first and
//! `[profile name]` (or `[default]`) in the second.

use std::path::PathBuf;

use super::Environment;

pub struct Profiles {
    pub credentials_path: PathBuf,
    pub config_path: PathBuf,
    /// (section, key, value), credentials file first so that it wins.
    entries: Vec<(String, String, String)>,
    sections: Vec<String>,
}

fn home(env: &dyn Environment) -> PathBuf {
    env.var("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

impl Profiles {
    pub fn load(env: &dyn Environment) -> Profiles {
        let credentials_path = env
            .var("AWS_SHARED_CREDENTIALS_FILE")
            .map(PathBuf::from)
            .unwrap_or_else(|| home(env).join(".aws").join("credentials"));
        let config_path = env
            .var("AWS_CONFIG_FILE")
            .map(PathBuf::from)
            .unwrap_or_else(|| home(env).join(".aws").join("config"));
        let mut p = Profiles {
            credentials_path,
            config_path,
            entries: Vec::new(),
            sections: Vec::new(),
        };
        if let Some(text) = env.read_file(&p.credentials_path) {
            p.add(&text, false);
        }
        if let Some(text) = env.read_file(&p.config_path) {
            p.add(&text, true);
        }
        p
    }

    fn add(&mut self, text: &str, is_config: bool) {
        let mut section: Option<String> = None;
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                let name = name.trim();
                let name = if is_config {
                    match name.strip_prefix("profile ") {
                        Some(n) => Some(n.trim().to_owned()),
                        None if name == "default" => Some(name.to_owned()),
                        None => None, // [sso-session x], [services x]: not profiles
                    }
                } else {
                    Some(name.to_owned())
                };
                if let Some(n) = &name {
                    if !self.sections.contains(n) {
                        self.sections.push(n.clone());
                    }
                }
                section = name;
                continue;
            }
            if let (Some(s), Some((k, v))) = (&section, line.split_once('=')) {
                self.entries.push((
                    s.clone(),
                    k.trim().to_ascii_lowercase(),
                    v.trim().to_owned(),
                ));
            }
        }
    }

    pub fn exists(&self, name: &str) -> bool {
        self.sections.iter().any(|s| s == name)
    }

    pub fn get(&self, profile: &str, key: &str) -> Option<String> {
        self.entries
            .iter()
            .find(|(s, k, v)| s == profile && k == key && !v.is_empty())
            .map(|(_, _, v)| v.clone())
    }
}
