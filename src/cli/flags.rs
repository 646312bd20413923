//! A small cursor over command-line arguments: `--flag value`, `--flag=value`, `-j N` and positionals.
//! Each subcommand matches the flag names itself; this only does the splitting, the same way for all.

use super::UsageError;

pub(crate) struct Flags<'a> {
    args: &'a [String],
    next: usize,
}

/// One argument: a flag (its `=value`, if any, split off) or a positional.
pub(crate) struct Flag {
    pub(crate) name: String,
    inline: Option<String>,
}

impl<'a> Flags<'a> {
    pub(crate) fn new(args: &'a [String]) -> Flags<'a> {
        Flags { args, next: 0 }
    }

    pub(crate) fn next_flag(&mut self) -> Option<Flag> {
        let arg = self.args.get(self.next)?;
        self.next += 1;
        Some(match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => Flag {
                name: name.to_owned(),
                inline: Some(value.to_owned()),
            },
            _ => Flag {
                name: arg.clone(),
                inline: None,
            },
        })
    }

    /// The flag's value: what followed `=`, else the next argument. `what` names it in the error.
    pub(crate) fn value(&mut self, flag: &Flag, what: &str) -> Result<String, UsageError> {
        if let Some(v) = &flag.inline {
            return Ok(v.clone());
        }
        let v = self
            .args
            .get(self.next)
            .ok_or_else(|| UsageError(format!("{} needs a value ({what})", flag.name)))?;
        self.next += 1;
        Ok(v.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_flags_values_and_positionals() {
        let args: Vec<String> = ["--a=1", "--b", "2", "-j", "3", "s3://x/k=v", "--c"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut f = Flags::new(&args);
        let a = f.next_flag().unwrap();
        assert_eq!(
            (a.name.as_str(), f.value(&a, "n").unwrap().as_str()),
            ("--a", "1")
        );
        let b = f.next_flag().unwrap();
        assert_eq!(f.value(&b, "n").unwrap(), "2");
        let j = f.next_flag().unwrap();
        assert_eq!(
            (j.name.as_str(), f.value(&j, "n").unwrap().as_str()),
            ("-j", "3")
        );
        assert_eq!(f.next_flag().unwrap().name, "s3://x/k=v");
        let c = f.next_flag().unwrap();
        assert!(f
            .value(&c, "a thing")
            .unwrap_err()
            .to_string()
            .contains("--c needs a value (a thing)"));
        assert!(f.next_flag().is_none());
    }
}
