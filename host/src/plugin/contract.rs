//! Refusing a component built for another major version of the contract,
//! before anything in it runs. The version is read from the names of the
//! `kiln:plugin/...@X.Y.Z` interfaces the component imports.

use wasmtime::Engine;
use wasmtime::component::Component;

/// A component this host will not load.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ContractError {
    /// Another major version (for 0.x, another minor).
    #[error(
        "it was built for the contract kiln:plugin@{guest}, but this kiln speaks kiln:plugin@{host}; \
         the major versions differ, so kiln refuses to run it. Rebuild the plugin against kiln:plugin@{host} \
         (kiln-guest {host}), or use a kiln release that speaks kiln:plugin@{guest}"
    )]
    Incompatible {
        /// The guest's version.
        guest: String,
        /// The host's version.
        host: String,
    },
    /// A newer minor of the same major.
    #[error("it was built for kiln:plugin@{guest}, newer than this kiln's kiln:plugin@{host}; upgrade kiln to use it")]
    TooNew {
        /// The guest's version.
        guest: String,
        /// The host's version.
        host: String,
    },
    /// Imports no part of the contract.
    #[error("it imports nothing from kiln:plugin, so it is not a kiln builder component")]
    NotABuilder,
}

/// Checks the contract version `component` was built for, and returns it.
pub fn check(engine: &Engine, component: &Component, host: &str) -> Result<String, ContractError> {
    let ty = component.component_type();
    let guest = ty
        .imports(engine)
        .filter_map(|(name, _)| name.strip_prefix("kiln:plugin/").map(str::to_string))
        .find_map(|rest| rest.split_once('@').map(|(_, v)| v.to_string()));
    match guest {
        Some(guest) => compare(&guest, host).map(|()| guest),
        None => Err(ContractError::NotABuilder),
    }
}

/// Semver compatibility, 0.x counting the minor as the major.
fn compare(guest: &str, host: &str) -> Result<(), ContractError> {
    let parse = |v: &str| -> (u64, u64, u64) {
        let mut parts = v.split(['.', '-', '+']).map(|p| p.parse::<u64>().unwrap_or(0));
        (parts.next().unwrap_or(0), parts.next().unwrap_or(0), parts.next().unwrap_or(0))
    };
    let (g, h) = (parse(guest), parse(host));
    let compatible_line = |v: (u64, u64, u64)| if v.0 == 0 { (0, v.1) } else { (v.0, 0) };
    if compatible_line(g) != compatible_line(h) {
        return Err(ContractError::Incompatible { guest: guest.into(), host: host.into() });
    }
    if g > h {
        return Err(ContractError::TooNew { guest: guest.into(), host: host.into() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_version_is_compatible() {
        assert_eq!(compare("0.1.0", "0.1.0"), Ok(()));
    }

    #[test]
    fn older_patch_or_minor_of_same_major_is_compatible() {
        assert_eq!(compare("1.0.0", "1.2.0"), Ok(()));
        assert_eq!(compare("0.1.0", "0.1.3"), Ok(()));
    }

    #[test]
    fn another_major_is_refused_naming_both() {
        let err = compare("9.0.0", "0.1.0").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("kiln:plugin@9.0.0") && text.contains("kiln:plugin@0.1.0"), "{text}");
    }

    #[test]
    fn zero_minor_counts_as_major() {
        assert!(matches!(compare("0.2.0", "0.1.0"), Err(ContractError::Incompatible { .. })));
    }

    #[test]
    fn newer_minor_asks_for_upgrade() {
        assert!(matches!(compare("1.3.0", "1.2.0"), Err(ContractError::TooNew { .. })));
    }
}
