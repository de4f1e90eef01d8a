//! Refusing a component built for another version of the contract, before
//! anything in it runs. The version is read from the names of the
//! `kiln:plugin/...@X.Y.Z` interfaces the component imports. The policy is
//! written down in `wit/VERSIONING.md`.

use wasmtime::Engine;
use wasmtime::component::Component;

/// A component this host will not load.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ContractError {
    /// Another major version (for 0.x, another minor).
    #[error(
        "it was built for the contract kiln:plugin@{guest}, but this kiln speaks kiln:plugin@{host}; \
         {}, so kiln refuses to run it. Rebuild the plugin with a kiln-guest SDK for kiln:plugin@{host}, \
         or use a kiln release that speaks kiln:plugin@{guest}",
        why_incompatible(.host)
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

/// `major.minor.patch` of a version; a part that is missing or not a
/// number counts as 0, and a pre-release or build suffix is ignored.
fn parse(version: &str) -> (u64, u64, u64) {
    let mut parts = version.split(['.', '-', '+']).map(|p| p.parse::<u64>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

/// Semver compatibility, 0.x counting the minor as the major.
fn compare(guest: &str, host: &str) -> Result<(), ContractError> {
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

/// Why two versions on different lines cannot talk, as the refusal says it.
fn why_incompatible(host: &str) -> &'static str {
    if parse(host).0 == 0 {
        "before 1.0 every minor version is a contract of its own"
    } else {
        "the major versions differ"
    }
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
        let text = compare("1.4.0", "2.0.0").unwrap_err().to_string();
        assert!(text.contains("the major versions differ"), "{text}");
    }

    #[test]
    fn zero_minor_counts_as_major() {
        assert!(matches!(compare("0.2.0", "0.1.0"), Err(ContractError::Incompatible { .. })));
        assert!(matches!(compare("0.2.0", "0.3.0"), Err(ContractError::Incompatible { .. })));
    }

    #[test]
    fn newer_minor_asks_for_upgrade() {
        assert!(matches!(compare("1.3.0", "1.2.0"), Err(ContractError::TooNew { .. })));
    }

    /// The smallest component that imports `name` (an instance of an
    /// empty instance type): `check` reads nothing but import names.
    fn component_importing(name: &str) -> Vec<u8> {
        assert!(name.len() < 0x70, "one-byte LEB128 lengths only");
        let mut import = vec![1, 0x00, name.len() as u8];
        import.extend_from_slice(name.as_bytes());
        import.extend_from_slice(&[0x05, 0]);
        let mut bytes = b"\0asm\x0d\x00\x01\x00".to_vec();
        // Type section: one instance type, with no declarations.
        bytes.extend_from_slice(&[7, 3, 1, 0x42, 0]);
        // Import section: `name`, an instance of type 0.
        bytes.extend_from_slice(&[10, import.len() as u8]);
        bytes.extend_from_slice(&import);
        bytes
    }

    fn check_import(name: &str) -> Result<String, ContractError> {
        let engine = Engine::default();
        let component = Component::new(&engine, component_importing(name)).expect("a valid component");
        check(&engine, &component, crate::CONTRACT_VERSION)
    }

    #[test]
    fn a_guest_of_this_version_is_accepted() {
        let name = format!("kiln:plugin/log@{}", crate::CONTRACT_VERSION);
        assert_eq!(check_import(&name), Ok(crate::CONTRACT_VERSION.to_string()));
    }

    #[test]
    fn a_guest_of_the_released_0_2_contract_is_refused_naming_both() {
        let err = check_import("kiln:plugin/log@0.2.0").unwrap_err();
        assert!(matches!(err, ContractError::Incompatible { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("kiln:plugin@0.2.0"), "{text}");
        assert!(text.contains(&format!("kiln:plugin@{}", crate::CONTRACT_VERSION)), "{text}");
        assert!(text.contains("before 1.0 every minor version is a contract of its own"), "{text}");
    }

    #[test]
    fn a_component_importing_no_contract_is_not_a_builder() {
        assert_eq!(check_import("wasi:cli/stdout@0.2.0"), Err(ContractError::NotABuilder));
    }
}

/// The frozen released contracts (`wit/released/`) and the current one
/// (`wit/`) agree with `wit/VERSIONING.md` and with [`crate::CONTRACT_VERSION`].
#[cfg(test)]
mod released {
    use super::parse;
    use sha2::{Digest, Sha256};
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    fn wit() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit")
    }

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
    }

    /// The version in the `package kiln:plugin@X.Y.Z;` line of `world.wit`
    /// in `dir`.
    fn package_version(dir: &Path) -> String {
        let world = read(&dir.join("world.wit"));
        let line = world.lines().find(|l| l.starts_with("package ")).expect("world.wit has a package line");
        line.trim_start_matches("package kiln:plugin@").trim_end_matches(';').trim().to_string()
    }

    /// The frozen versions, by folder name (`kiln-plugin@X.Y.Z`).
    fn frozen() -> BTreeMap<String, PathBuf> {
        let mut found = BTreeMap::new();
        for entry in std::fs::read_dir(wit().join("released")).expect("wit/released exists") {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if let Some(version) = name.strip_prefix("kiln-plugin@") {
                assert!(path.is_dir(), "{} is not a folder", path.display());
                found.insert(version.to_string(), path);
            }
        }
        found
    }

    /// `SHA256SUMS`: relative path → hex digest.
    fn recorded_digests() -> BTreeMap<String, String> {
        read(&wit().join("released/SHA256SUMS"))
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|line| {
                let (digest, file) =
                    line.split_once("  ").unwrap_or_else(|| panic!("malformed SHA256SUMS line {line:?}"));
                (file.to_string(), digest.to_string())
            })
            .collect()
    }

    #[test]
    fn frozen_contracts_match_their_recorded_digests() {
        let recorded = recorded_digests();
        let mut seen = Vec::new();
        for (version, dir) in frozen() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                let relative = format!("kiln-plugin@{version}/{}", path.file_name().unwrap().to_string_lossy());
                let digest = hex::encode(Sha256::digest(std::fs::read(&path).unwrap()));
                match recorded.get(&relative) {
                    Some(expected) => assert_eq!(
                        &digest, expected,
                        "wit/released/{relative} was edited: a released contract is frozen (wit/VERSIONING.md). \
                         Put the change in wit/ under a new version instead"
                    ),
                    None => panic!(
                        "wit/released/{relative} is not in wit/released/SHA256SUMS: record it when freezing a release"
                    ),
                }
                seen.push(relative);
            }
        }
        for file in recorded.keys() {
            assert!(seen.contains(file), "wit/released/SHA256SUMS lists {file}, which is missing");
        }
    }

    #[test]
    fn each_frozen_folder_holds_the_version_it_is_named_after() {
        for (version, dir) in frozen() {
            assert_eq!(package_version(&dir), version, "{}", dir.display());
        }
    }

    #[test]
    fn the_host_speaks_the_version_of_wit_world() {
        assert_eq!(crate::CONTRACT_VERSION, package_version(&wit()), "CONTRACT_VERSION and wit/world.wit disagree");
    }

    #[test]
    fn the_current_contract_is_newer_than_every_frozen_one() {
        let current = parse(crate::CONTRACT_VERSION);
        let frozen = frozen();
        assert!(!frozen.is_empty(), "no released contract is frozen in wit/released");
        for version in frozen.keys() {
            assert!(parse(version) < current, "kiln:plugin@{version} is frozen but CONTRACT_VERSION is not newer");
        }
        // Before 1.0 a bump means the previous minor was released: it must
        // be frozen before the WIT moves on.
        if current.0 == 0 && current.1 > 0 {
            let previous = (0, current.1 - 1);
            assert!(
                frozen.keys().map(|v| parse(v)).any(|v| (v.0, v.1) == previous),
                "kiln:plugin@0.{}.x, the release before {}, is not frozen in wit/released",
                previous.1,
                crate::CONTRACT_VERSION
            );
        }
    }
}
