//! What is wrong with a template, with where: the file, then file:line:col
//! for JSON syntax or a JSON path (`builders[0].region`) for everything
//! else. Problems are collected, not stopped at, so a user fixes them all
//! in one round.

use std::fmt;
use std::path::PathBuf;

/// One problem at one place.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    /// JSON path, e.g. `builders[0].region`; empty for the whole template.
    pub at: String,
    /// What is wrong and what to do, as a sentence.
    pub message: String,
}

impl Problem {
    /// A sensitive value where it cannot go: at `at`, which used the
    /// sensitive variables `names` (none known: "a sensitive variable"),
    /// `why_not` saying why this place cannot take one; the message says
    /// both ways out.
    pub fn sensitive_refused(at: impl Into<String>, names: &[String], why_not: &str) -> Self {
        let quoted = names.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", ");
        let (variables, listed) = match names {
            [] => ("a sensitive variable".to_string(), "it".to_string()),
            [_] => (format!("the sensitive variable {quoted}"), quoted),
            _ => (format!("the sensitive variables {quoted}"), quoted),
        };
        Problem::new(
            at,
            format!(
                "uses {variables}, but {why_not}; set it from a variable that is not in sensitive-variables, \
                 or take {listed} out of sensitive-variables"
            ),
        )
    }

    /// A problem at `at`.
    pub fn new(at: impl Into<String>, message: impl Into<String>) -> Self {
        Problem { at: at.into(), message: message.into() }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.at.is_empty() { write!(f, "{}", self.message) } else { write!(f, "{}: {}", self.at, self.message) }
    }
}

/// Why a template cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The file cannot be read.
    #[error("cannot read template {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not JSON.
    #[error("{}:{line}:{column}: invalid JSON: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// serde_json's reason.
        message: String,
    },
    /// JSON, but not a valid template.
    #[error("{}", render(path, problems))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Every problem found.
        problems: Vec<Problem>,
    },
}

fn render(path: &std::path::Path, problems: &[Problem]) -> String {
    match problems {
        [one] => format!("{}: {one}", path.display()),
        many => {
            let mut out = format!("{} has {} problems:", path.display(), many.len());
            for p in many {
                out.push_str(&format!("\n  * {p}"));
            }
            out
        }
    }
}

/// The known name closest to `name`, if close enough to be a typo.
pub fn suggest<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    known
        .into_iter()
        .map(|k| (strsim::levenshtein(name, k), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// " Did you mean "x"?" or nothing.
pub fn did_you_mean<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    suggest(name, known).map(|s| format!("; did you mean {s:?}?")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_names_are_suggested() {
        assert_eq!(suggest("regoin", ["region", "zone"]), Some("region"));
        assert_eq!(suggest("totally_else", ["region", "zone"]), None);
    }

    #[test]
    fn many_problems_are_listed() {
        let e = TemplateError::Invalid {
            path: "t.json".into(),
            problems: vec![Problem::new("builders[0].x", "bad"), Problem::new("", "worse")],
        };
        assert_eq!(e.to_string(), "t.json has 2 problems:\n  * builders[0].x: bad\n  * worse");
    }
}
