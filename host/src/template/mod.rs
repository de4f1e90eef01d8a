//! Packer-style JSON templates.
//!
//! - `load.rs`: the file into a [`Template`]: structure, unknown keys,
//!   variables (defaults, `-var`, `-var-file`, required, sensitive).
//! - `interpolate.rs`: the `{{ ... }}` engine and its functions.
//! - `gotime.rs`: Go time layouts for `isotime`.
//! - `render.rs`: interpolating a JSON value for one build.
//! - `decode.rs`: weak typing of a builder section against the builder's
//!   declared fields.
//! - `field.rs`: the builder fields a section is decoded against.
//! - `communicator.rs`: the communicator settings, which the host owns,
//!   read once into a typed `caps::comm::Config`.
//! - `error.rs`: problems, with their JSON path.
//! - `by_build.rs`: which provisioners run for which build.

mod by_build;
pub mod communicator;
pub mod decode;
mod error;
mod field;
pub mod gotime;
pub mod interpolate;
mod load;
pub mod render;

pub use by_build::ByBuild;
pub use error::{Problem, TemplateError, did_you_mean, suggest};
pub use field::{Field, FieldKind};
pub use load::{Overrides, from_text, load};

use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

/// A template, checked for structure, with its variables resolved.
#[derive(Clone, Debug)]
pub struct Template {
    /// The file it was read from.
    pub path: PathBuf,
    /// Its directory (`template_dir`).
    pub dir: PathBuf,
    /// The working directory (`pwd`).
    pub pwd: PathBuf,
    /// When the run started (`timestamp`, `isotime`).
    pub started: chrono::DateTime<chrono::Utc>,
    /// `description`.
    pub description: Option<String>,
    /// Every variable's final value.
    pub variables: BTreeMap<String, String>,
    /// Names in `sensitive-variables`, and variables made from them.
    pub sensitive: BTreeSet<String>,
    /// Required variables left unset (only when loaded with
    /// `allow_unset`).
    pub unset: Vec<String>,
    /// `builders`, in order.
    pub builders: Vec<BuilderDef>,
    /// `provisioners`, in order.
    pub provisioners: Vec<ProvisionerDef>,
    /// Which of `provisioners` run for which build (see
    /// [`Template::provisioners_for`]).
    pub provisioners_by_build: ByBuild,
    /// `error-cleanup-provisioner`: run when a provisioner fails.
    pub error_cleanup: Option<ProvisionerDef>,
    /// `post-processors`: each inner list is a sequence run on one
    /// artifact.
    pub post_processors: Vec<Vec<PostProcessorDef>>,
    /// Where every rendering of this template that reads a sensitive
    /// variable registers its output (`upper`, `replace`, a short secret
    /// glued to other text), in every section.
    pub redactor: crate::caps::secrets::Redactor,
}

/// One entry of `builders`.
#[derive(Clone, Debug)]
pub struct BuilderDef {
    /// Position in `builders`.
    pub index: usize,
    /// `name`, or the type.
    pub name: String,
    /// `type`.
    pub builder_type: String,
    /// Every other key, not yet interpolated.
    pub config: Map<String, Value>,
}

impl BuilderDef {
    /// The JSON path of this builder, for messages.
    pub fn at(&self) -> String {
        format!("builders[{}]", self.index)
    }
}

/// One entry of `provisioners` (or the `error-cleanup-provisioner`).
#[derive(Clone, Debug)]
pub struct ProvisionerDef {
    /// Its JSON path, e.g. `provisioners[2]`.
    pub path: String,
    /// `type`.
    pub provisioner_type: String,
    /// `only`: build names it runs for (all when empty).
    pub only: Vec<String>,
    /// `except`: build names it skips.
    pub except: Vec<String>,
    /// `override`: per build name, keys replacing the config's.
    pub overrides: BTreeMap<String, Map<String, Value>>,
    /// `pause_before`.
    pub pause_before: Option<Duration>,
    /// `max_retries`.
    pub max_retries: u32,
    /// `timeout`.
    pub timeout: Option<Duration>,
    /// The provisioner's own keys, not yet interpolated.
    pub config: Map<String, Value>,
}

impl ProvisionerDef {
    /// The JSON path of this provisioner, for messages.
    pub fn at(&self) -> String {
        self.path.clone()
    }

    /// Its config for build `name`, overrides applied.
    pub fn config_for(&self, name: &str) -> Map<String, Value> {
        let mut config = self.config.clone();
        if let Some(over) = self.overrides.get(name) {
            for (k, v) in over {
                config.insert(k.clone(), v.clone());
            }
        }
        config
    }
}

/// One post-processor.
#[derive(Clone, Debug)]
pub struct PostProcessorDef {
    /// JSON path, for messages.
    pub at: String,
    /// `type`.
    pub pp_type: String,
    /// `only`.
    pub only: Vec<String>,
    /// `except`.
    pub except: Vec<String>,
    /// `keep_input_artifact`.
    pub keep_input_artifact: Option<bool>,
    /// The post-processor's own keys, not yet interpolated.
    pub config: Map<String, Value>,
}

impl PostProcessorDef {
    /// Whether it runs for build `name`.
    pub fn applies_to(&self, name: &str) -> bool {
        selects(&self.only, &self.except, name)
    }
}

impl Template {
    /// The provisioners that run for build `name`, in order (Packer's
    /// `only`/`except`), found in time linear in their number.
    pub fn provisioners_for(&self, name: &str) -> impl Iterator<Item = &ProvisionerDef> {
        self.provisioners_by_build.positions(name).into_iter().map(|i| &self.provisioners[i])
    }

    /// The builders selected by `-only` / `-except`: build names or glob
    /// patterns (`*`, `?`), as in Packer. A name or pattern that matches no
    /// build is an error, naming the builds there are.
    pub fn select_builders(&self, only: &[String], except: &[String]) -> Result<Vec<&BuilderDef>, Problem> {
        let names: Vec<&str> = self.builders.iter().map(|b| b.name.as_str()).collect();
        for pattern in only.iter().chain(except) {
            if !names.iter().any(|n| glob_matches(pattern, n)) {
                return Err(Problem::new(
                    "",
                    format!(
                        "no build named {pattern:?} (builds: {}){}",
                        names.join(", "),
                        did_you_mean(pattern, names.iter().copied())
                    ),
                ));
            }
        }
        Ok(self
            .builders
            .iter()
            .filter(|b| only.is_empty() || only.iter().any(|p| glob_matches(p, &b.name)))
            .filter(|b| !except.iter().any(|p| glob_matches(p, &b.name)))
            .collect())
    }
}

/// Packer's `only`/`except`: `name` is selected when `only` is empty or
/// names it, and `except` does not.
fn selects(only: &[String], except: &[String], name: &str) -> bool {
    (only.is_empty() || only.iter().any(|n| n == name)) && !except.iter().any(|n| n == name)
}

/// Whether `name` matches `pattern`, where `*` is any run of characters and
/// `?` any one character.
fn glob_matches(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    // Classic two-pointer match with backtracking to the last `*`.
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < n.len() {
        if i < p.len() && (p[i] == '?' || p[i] == n[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::glob_matches;

    #[test]
    fn globs_match_like_packer_only() {
        assert!(glob_matches("web-*", "web-east"));
        assert!(glob_matches("*", "anything"));
        assert!(glob_matches("a?c", "abc"));
        assert!(!glob_matches("web-*", "db-east"));
        assert!(glob_matches("exact", "exact"));
        assert!(!glob_matches("exact", "exactly"));
    }
}
