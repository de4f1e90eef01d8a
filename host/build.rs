//! Builds the guest components (`guests/`) for `wasm32-wasip2` with a nested
//! cargo, so that `cargo build` and `cargo test` need no manual step.
//!
//! The nested cargo gets its own target directory (sharing the outer one
//! deadlocks on cargo's lock) and none of the outer build's RUSTFLAGS (they
//! are meant for the host, e.g. coverage instrumentation). It writes
//! `guests.rs` into OUT_DIR: one path constant per component, which the host
//! embeds (`null`) or the tests load from disk (the `testing` guests).
//! `KILN_PREBUILT_GUESTS=DIR` skips the nested build and takes the
//! components from DIR (used by `fuzz/`, which runs none of them).

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The components, by package name, and the constant that names each.
const GUESTS: &[(&str, &str)] = &[
    ("kiln-builder-null", "NULL_BUILDER"),
    ("kiln-builder-alicloud-ecs", "ALICLOUD_ECS_BUILDER"),
    ("kiln-builder-scenarios", "TEST_SCENARIOS"),
    ("kiln-builder-future-contract", "TEST_FUTURE_CONTRACT"),
];

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap().to_path_buf();
    let guests = root.join("guests");
    for watched in [
        "guests/Cargo.toml",
        "guests/Cargo.lock",
        "guests/sdk",
        "guests/null",
        "guests/alicloud-ecs",
        "guests/testing",
        "wit",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    // KILN_PREBUILT_GUESTS=DIR: take the components from DIR (a
    // `wasm32-wasip2/release` directory of an earlier build) instead of
    // building them. For builds that never run a guest, such as `fuzz/`,
    // whose nightly toolchain and flags would otherwise rebuild them all.
    println!("cargo:rerun-if-env-changed=KILN_PREBUILT_GUESTS");
    let prebuilt = env::var_os("KILN_PREBUILT_GUESTS").map(PathBuf::from);
    let release_dir = match &prebuilt {
        Some(dir) => {
            println!("cargo:warning=using prebuilt guests from {} (KILN_PREBUILT_GUESTS)", dir.display());
            dir.clone()
        }
        None => build_guests(&root, &guests),
    };
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let mut generated = String::new();
    for (package, constant) in GUESTS {
        let file = release_dir.join(format!("{}.wasm", package.replace('-', "_")));
        assert!(file.exists(), "guest {package}: {} is missing (KILN_PREBUILT_GUESTS unset or wrong?)", file.display());
        if prebuilt.is_some() {
            // Not built here, so cargo learns of a newer build only this way.
            println!("cargo:rerun-if-changed={}", file.display());
        }
        generated.push_str(&format!(
            "/// Path of the `{package}` component.\npub const {constant}: &str = {:?};\n",
            file.display().to_string()
        ));
    }
    std::fs::write(out.join("guests.rs"), generated).unwrap();
    // include_bytes! needs a path known when the host compiles.
    for (component, file) in [("kiln_builder_null", "null.wasm"), ("kiln_builder_alicloud_ecs", "alicloud-ecs.wasm")] {
        std::fs::copy(release_dir.join(format!("{component}.wasm")), out.join(file)).unwrap();
    }
}

/// Builds the guests with a nested cargo; returns the directory of the
/// components.
fn build_guests(root: &Path, guests: &Path) -> PathBuf {
    let target_dir = wasm_target_dir(root);
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(&cargo);
    command
        .current_dir(guests)
        .args(["build", "--release", "--target", "wasm32-wasip2", "--workspace", "--exclude", "kiln-guest"])
        .env("CARGO_TARGET_DIR", &target_dir)
        .stdout(Stdio::from(std::io::stderr()));
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_BUILD_TARGET",
        "CARGO_MAKEFLAGS",
        "CARGO_PROFILE_RELEASE_DEBUG",
        // The toolchain the outer build was run with (`cargo +nightly`,
        // fuzz/'s toolchain file) need not have wasm32-wasip2: a tool the
        // nested cargo reaches through rustup's proxies takes the one the
        // workspace's rust-toolchain.toml pins instead.
        "RUSTUP_TOOLCHAIN",
    ] {
        command.env_remove(var);
    }
    let status = command.status().unwrap_or_else(|e| panic!("could not run {cargo}: {e}"));
    if !status.success() {
        panic!(
            "building the guest components failed (see the output above).\n\
             If the message says the target wasm32-wasip2 is not installed, run:\n    \
             rustup target add wasm32-wasip2"
        );
    }
    target_dir.join("wasm32-wasip2/release")
}

/// `<target>/wasm-guests`, next to the host's own profiles, so that dev,
/// release and check builds of the host share one guest build.
fn wasm_target_dir(root: &Path) -> PathBuf {
    let target = env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    let target = if target.is_absolute() { target } else { root.join(target) };
    target.join("wasm-guests")
}
