//! The INI format of `~/.aws/credentials` and `~/.aws/config`: `[name]` sections in the first,
//! `[profile name]` (or `[default]`) in the second, `key = value` lines, `#` and `;` comments, a
//! UTF-8 byte-order mark accepted. Parsing only; which files are read, and what wins, is the CLI's.

/// Why a line cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IniProblem {
    NotUtf8,
    UnclosedSection,
    NotKeyValue,
}

impl IniProblem {
    pub fn describe(self) -> &'static str {
        match self {
            IniProblem::NotUtf8 => "is not UTF-8 text",
            IniProblem::UnclosedSection => "a section header needs its closing ']'",
            IniProblem::NotKeyValue => "expected [section] or key = value",
        }
    }
}

/// One line that matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IniLine<'a> {
    /// A profile's header.
    Profile(&'a str),
    /// `key = value` in a profile: the key lower-cased, both trimmed.
    Entry {
        profile: &'a str,
        key: &'a str,
        value: &'a str,
    },
}

/// Calls `on` for each profile header and each `key = value` of a profile, in file order. Sections
/// of the config file that are not profiles (`[sso-session x]`, `[services x]`) are skipped. The error
/// is the first bad line's number (from 1) and what is wrong with it.
pub fn parse_aws_ini(
    bytes: &[u8],
    is_config: bool,
    mut on: impl FnMut(IniLine<'_>),
) -> Result<(), (usize, IniProblem)> {
    let bytes = bytes.strip_prefix("\u{FEFF}".as_bytes()).unwrap_or(bytes);
    let mut current: Option<String> = None;
    for (n, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = std::str::from_utf8(line)
            .map_err(|_| (n + 1, IniProblem::NotUtf8))?
            .trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[') {
            let name = name
                .strip_suffix(']')
                .ok_or((n + 1, IniProblem::UnclosedSection))?
                .trim();
            current = if is_config {
                match name.strip_prefix("profile ") {
                    Some(p) => Some(p.trim().to_owned()),
                    None if name == "default" => Some(name.to_owned()),
                    None => None,
                }
            } else {
                Some(name.to_owned())
            };
            if let Some(p) = &current {
                on(IniLine::Profile(p));
            }
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .ok_or((n + 1, IniProblem::NotKeyValue))?;
        if let Some(p) = &current {
            on(IniLine::Entry {
                profile: p,
                key: &key.trim().to_ascii_lowercase(),
                value: value.trim(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(text: &str, is_config: bool) -> Result<Vec<String>, (usize, IniProblem)> {
        let mut out = Vec::new();
        parse_aws_ini(text.as_bytes(), is_config, |line| {
            if let IniLine::Entry {
                profile,
                key,
                value,
            } = line
            {
                out.push(format!("{profile}.{key}={value}"))
            }
        })?;
        Ok(out)
    }

    #[test]
    fn profiles_keys_and_comments() {
        let text = "\u{FEFF}# c\n[default]\nRegion = eu-west-1 \n; c\n[profile p]\nx=1=2\n[sso-session s]\ny=2\n";
        assert_eq!(
            entries(text, true).unwrap(),
            ["default.region=eu-west-1", "p.x=1=2"]
        );
        assert_eq!(entries("[p]\nk=v\n", false).unwrap(), ["p.k=v"]);
        assert_eq!(entries("k=v\n", false).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn a_bad_line_is_named_by_number() {
        assert_eq!(
            entries("[a\n", false),
            Err((1, IniProblem::UnclosedSection))
        );
        assert_eq!(
            entries("[a]\n\nnope\n", false),
            Err((3, IniProblem::NotKeyValue))
        );
        assert_eq!(
            parse_aws_ini(b"[a]\n\xff\n", false, |_| {}),
            Err((2, IniProblem::NotUtf8))
        );
    }
}
