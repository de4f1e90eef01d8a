//! A loaded builder component: where it came from, what it says about
//! itself, and its pre-instantiated form. `registry.rs` makes these (and
//! instantiates one to ask it to `describe` itself); `instance.rs`
//! instantiates them and never names the registry.

use super::HostState;
use super::bindings::BuilderPre;
use super::bindings::types::Description;
use std::fmt;
use std::path::PathBuf;

/// Where a component came from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// Compiled into kiln.
    Builtin(&'static str),
    /// A file in a plugin directory, or given on the command line.
    File(PathBuf),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Builtin(name) => write!(f, "built-in:{name}"),
            Source::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// A loaded, checked, pre-instantiated builder component.
pub struct Plugin {
    /// Where it came from.
    pub source: Source,
    /// What it says about itself.
    pub description: Description,
    /// The contract version it was built for.
    pub contract: String,
    /// Ready to instantiate, once per build.
    pub pre: BuilderPre<HostState>,
}
