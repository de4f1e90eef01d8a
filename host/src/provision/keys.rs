//! Reading a provisioner's keys: one helper per JSON shape, each reporting
//! a problem with the key's JSON path, and the unknown-key check.

use crate::template::{Problem, did_you_mean};
use serde_json::{Map, Value};

/// A provisioner's config with its JSON path, collecting problems.
pub struct Keys<'a> {
    /// The config.
    pub config: &'a Map<String, Value>,
    /// Its JSON path.
    pub at: &'a str,
    /// Problems found so far.
    pub problems: Vec<Problem>,
}

impl<'a> Keys<'a> {
    /// Starts reading `config` of provisioner type `kind`, which knows `known`.
    pub fn new(config: &'a Map<String, Value>, at: &'a str, kind: &str, known: &[&str]) -> Self {
        let mut problems = Vec::new();
        for key in config.keys() {
            if !known.contains(&key.as_str()) {
                problems.push(Problem::new(
                    format!("{at}.{key}"),
                    format!("unknown field for {kind}{}", did_you_mean(key, known.iter().copied())),
                ));
            }
        }
        Keys { config, at, problems }
    }

    fn problem(&mut self, key: &str, message: impl Into<String>) {
        self.problems.push(Problem::new(format!("{}.{key}", self.at), message));
    }

    /// A string, if set.
    pub fn text(&mut self, key: &str) -> Option<String> {
        match self.config.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => {
                self.problem(key, "must be a string");
                None
            }
        }
    }

    /// A list of strings (a single string is a list of one), if set.
    pub fn list(&mut self, key: &str) -> Option<Vec<String>> {
        match self.config.get(key)? {
            Value::String(s) => Some(vec![s.clone()]),
            Value::Array(items) => {
                let mut out = Vec::new();
                for (i, v) in items.iter().enumerate() {
                    match v {
                        Value::String(s) => out.push(s.clone()),
                        Value::Number(n) => out.push(n.to_string()),
                        _ => self.problems.push(Problem::new(format!("{}.{key}[{i}]", self.at), "must be a string")),
                    }
                }
                Some(out)
            }
            _ => {
                self.problem(key, "must be a list of strings");
                None
            }
        }
    }

    /// A boolean (weakly typed); `default` when unset.
    pub fn flag(&mut self, key: &str, default: bool) -> bool {
        match self.config.get(key) {
            None => default,
            Some(v) => match crate::template::decode::coerce(v, crate::template::FieldKind::Boolean) {
                Ok(Value::Bool(b)) => b,
                _ => {
                    self.problem(key, "must be true or false");
                    default
                }
            },
        }
    }

    /// A duration; `default` when unset.
    pub fn duration(&mut self, key: &str, default: std::time::Duration) -> std::time::Duration {
        match self.text(key) {
            None => default,
            Some(t) => crate::duration::parse(&t).unwrap_or_else(|e| {
                self.problem(key, e);
                default
            }),
        }
    }

    /// `valid_exit_codes`; `[0]` when unset.
    pub fn exit_codes(&mut self) -> Vec<i32> {
        match self.config.get("valid_exit_codes") {
            None => vec![0],
            Some(Value::Array(codes)) => {
                let parsed: Option<Vec<i32>> = codes
                    .iter()
                    .map(|c| c.as_i64().or_else(|| c.as_str().and_then(|s| s.parse().ok())).map(|n| n as i32))
                    .collect();
                parsed.unwrap_or_else(|| {
                    self.problem("valid_exit_codes", "must be a list of whole numbers");
                    vec![0]
                })
            }
            Some(_) => {
                self.problem("valid_exit_codes", "must be a list of whole numbers");
                vec![0]
            }
        }
    }

    /// `environment_vars` as (name, value) pairs.
    pub fn environment(&mut self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (i, pair) in self.list("environment_vars").unwrap_or_default().into_iter().enumerate() {
            match pair.split_once('=') {
                Some((k, v)) if !k.is_empty() => out.push((k.to_string(), v.to_string())),
                _ => self.problems.push(Problem::new(
                    format!("{}.environment_vars[{i}]", self.at),
                    format!("{pair:?} must look like NAME=value"),
                )),
            }
        }
        out
    }

    /// The local files of `script` and `scripts`, taken from `dir`; each
    /// must exist.
    pub fn script_files(
        &mut self,
        script: Option<String>,
        scripts: Option<Vec<String>>,
        dir: &std::path::Path,
    ) -> Vec<std::path::PathBuf> {
        let at = self.at;
        let mut named: Vec<(String, std::path::PathBuf)> =
            script.into_iter().map(|s| (format!("{at}.script"), dir.join(s))).collect();
        named.extend(
            scripts
                .unwrap_or_default()
                .into_iter()
                .enumerate()
                .map(|(i, s)| (format!("{at}.scripts[{i}]"), dir.join(s))),
        );
        for (place, path) in &named {
            if !path.is_file() {
                self.problems.push(Problem::new(place, format!("{} does not exist or is not a file", path.display())));
            }
        }
        named.into_iter().map(|(_, path)| path).collect()
    }

    /// Ends reading: the problems, if any.
    pub fn finish<T>(self, value: T) -> Result<T, Vec<Problem>> {
        if self.problems.is_empty() { Ok(value) } else { Err(self.problems) }
    }
}
