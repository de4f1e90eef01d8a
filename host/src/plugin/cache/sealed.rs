//! The format of one cached compiled component: a header that records the
//! cache key and a SHA-256 digest, then the bytes wasmtime compiled.
//!
//! ```text
//! magic   8 bytes   b"kilncw\0\x01" (format version 1)
//! key    32 bytes   SHA-256 of (component SHA-256, engine compatibility
//!                   hash, kiln version): what the bytes were compiled from
//! length  8 bytes   the compiled bytes' length, little-endian
//! digest 32 bytes   SHA-256 of magic, key, length and the compiled bytes
//! compiled bytes
//! ```
//!
//! A header inside the file rather than a digest in a sidecar file: one
//! atomic rename publishes the bytes and their digest together, so no
//! reader can ever see a new file beside an old digest (or the reverse),
//! and there is nothing to keep in step when a file is removed or copied.
//!
//! The digest finds corruption and mix-ups, not forgeries: whoever can
//! write the file can recompute it. Keeping others from writing it at all
//! is `trust.rs`'s job.

use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};

const MAGIC: &[u8; 8] = b"kilncw\0\x01";
const KEY_LEN: usize = 32;
const LENGTH_LEN: usize = 8;
const DIGEST_LEN: usize = 32;
/// Where the digest starts: everything before it is covered by it.
const DIGEST_AT: usize = MAGIC.len() + KEY_LEN + LENGTH_LEN;
/// The header's length; the compiled bytes start here.
pub const HEADER_LEN: usize = DIGEST_AT + DIGEST_LEN;

/// What a compiled component was compiled from and by: the component's
/// bytes, the engine's settings and kiln's version, as one SHA-256.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key([u8; KEY_LEN]);

impl Key {
    /// The key of `component` compiled by an engine whose
    /// `precompile_compatibility_hash` is `engine`, in kiln `version`.
    pub fn new(component: &[u8], engine: &impl Hash, version: &str) -> Key {
        let mut hasher = Sha256Hasher(Sha256::new());
        hasher.0.update(b"kiln compiled component key v1\0");
        hasher.0.update(Sha256::digest(component));
        // `Hash` feeds the engine's settings through `Hasher::write`, which
        // here goes into SHA-256 rather than a 64-bit `DefaultHasher`.
        engine.hash(&mut hasher);
        hasher.0.update(b"\0");
        hasher.0.update(version.as_bytes());
        Key(hasher.0.finalize().into())
    }

    /// The cache file's name: the key's first 160 bits in hex.
    pub fn file_name(&self) -> String {
        format!("{}.cwasm", hex::encode(&self.0[..20]))
    }
}

/// Why a file's bytes cannot be used as the compiled component of a key.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Unsealed {
    /// It does not start with kiln's header.
    #[error("it is not in this kiln's cache format (an older kiln's, or not kiln's): it lacks the header")]
    NotKiln,
    /// It is shorter than its header says.
    #[error("it is truncated ({actual} bytes, where kiln wrote {expected})")]
    Truncated {
        /// Its length.
        actual: usize,
        /// The length its header records, or the header's own length when
        /// even that is cut short.
        expected: usize,
    },
    /// Its bytes do not match the digest recorded with them.
    #[error("its contents do not match the SHA-256 digest kiln recorded when it wrote it")]
    Corrupt,
    /// An intact file, written for another key.
    #[error("it holds the compiled form of another component (or of another kiln or engine version)")]
    Foreign,
}

/// The header kiln writes before `compiled`, the compiled form of `key`.
pub fn header(key: &Key, compiled: &[u8]) -> [u8; HEADER_LEN] {
    let mut header = [0; HEADER_LEN];
    header[..MAGIC.len()].copy_from_slice(MAGIC);
    header[MAGIC.len()..MAGIC.len() + KEY_LEN].copy_from_slice(&key.0);
    header[MAGIC.len() + KEY_LEN..DIGEST_AT].copy_from_slice(&(compiled.len() as u64).to_le_bytes());
    let digest = digest(&header[..DIGEST_AT], compiled);
    header[DIGEST_AT..].copy_from_slice(&digest);
    header
}

/// The compiled bytes inside `file`, once its digest and its key are
/// checked against `key`.
///
/// Fails with [`Unsealed`] when `file` lacks the header, is shorter than
/// it says, does not match its digest, or was written for another key.
pub fn open<'a>(key: &Key, file: &'a [u8]) -> Result<&'a [u8], Unsealed> {
    if !file.starts_with(MAGIC) {
        return Err(if MAGIC.starts_with(file) {
            Unsealed::Truncated { actual: file.len(), expected: HEADER_LEN }
        } else {
            Unsealed::NotKiln
        });
    }
    if file.len() < HEADER_LEN {
        return Err(Unsealed::Truncated { actual: file.len(), expected: HEADER_LEN });
    }
    let (header, compiled) = file.split_at(HEADER_LEN);
    if digest(&header[..DIGEST_AT], compiled)[..] != header[DIGEST_AT..] {
        let recorded = u64::from_le_bytes(header[MAGIC.len() + KEY_LEN..DIGEST_AT].try_into().expect("8 bytes"));
        return Err(match usize::try_from(recorded) {
            Ok(length) if length > compiled.len() => {
                Unsealed::Truncated { actual: file.len(), expected: HEADER_LEN.saturating_add(length) }
            }
            _ => Unsealed::Corrupt,
        });
    }
    if header[MAGIC.len()..MAGIC.len() + KEY_LEN] != key.0 {
        return Err(Unsealed::Foreign);
    }
    Ok(compiled)
}

fn digest(covered_header: &[u8], compiled: &[u8]) -> [u8; DIGEST_LEN] {
    Sha256::new().chain_update(covered_header).chain_update(compiled).finalize().into()
}

/// A `Hasher` that feeds SHA-256, to turn an `impl Hash` into 256 stable
/// bits (for one build of kiln on one machine, which is all a cache needs).
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealed(key: &Key, compiled: &[u8]) -> Vec<u8> {
        [&header(key, compiled)[..], compiled].concat()
    }

    fn key(component: &[u8]) -> Key {
        Key::new(component, &42u64, "1.0.0")
    }

    #[test]
    fn a_sealed_file_opens_to_its_compiled_bytes() {
        let file = sealed(&key(b"a"), b"compiled a");
        assert_eq!(open(&key(b"a"), &file), Ok(&b"compiled a"[..]));
        assert_eq!(open(&key(b"a"), &sealed(&key(b"a"), b"")), Ok(&b""[..]));
    }

    #[test]
    fn a_flipped_bit_anywhere_but_the_magic_is_corruption() {
        let file = sealed(&key(b"a"), b"compiled a");
        for at in MAGIC.len()..file.len() {
            let mut bad = file.clone();
            bad[at] ^= 0x01;
            let error = open(&key(b"a"), &bad).unwrap_err();
            // A flip in the length field can make the file look short.
            assert!(matches!(error, Unsealed::Corrupt | Unsealed::Truncated { .. }), "byte {at}: {error:?}");
        }
        let mut bad = file.clone();
        bad[0] ^= 0x01;
        assert_eq!(open(&key(b"a"), &bad), Err(Unsealed::NotKiln));
    }

    #[test]
    fn a_cut_file_is_truncated_at_every_length() {
        let file = sealed(&key(b"a"), b"compiled a");
        for length in 0..file.len() {
            let error = open(&key(b"a"), &file[..length]).unwrap_err();
            let expected = if length < HEADER_LEN { HEADER_LEN } else { file.len() };
            assert_eq!(error, Unsealed::Truncated { actual: length, expected }, "cut at {length}");
        }
    }

    #[test]
    fn bytes_appended_after_the_compiled_ones_are_corruption() {
        let mut file = sealed(&key(b"a"), b"compiled a");
        file.push(0);
        assert_eq!(open(&key(b"a"), &file), Err(Unsealed::Corrupt));
    }

    #[test]
    fn another_components_intact_file_is_foreign() {
        let file = sealed(&key(b"b"), b"compiled b");
        assert_eq!(open(&key(b"a"), &file), Err(Unsealed::Foreign));
    }

    #[test]
    fn a_raw_wasmtime_file_is_not_kilns() {
        assert_eq!(open(&key(b"a"), b"\x7fELF\x02\x01\x01\0 compiled by wasmtime"), Err(Unsealed::NotKiln));
    }

    #[test]
    fn the_key_changes_with_the_component_the_engine_and_the_version() {
        let base = Key::new(b"a", &42u64, "1.0.0");
        assert_eq!(base, Key::new(b"a", &42u64, "1.0.0"));
        assert_ne!(base, Key::new(b"b", &42u64, "1.0.0"));
        assert_ne!(base, Key::new(b"a", &43u64, "1.0.0"));
        assert_ne!(base, Key::new(b"a", &42u64, "1.0.1"));
        assert_ne!(base.file_name(), Key::new(b"b", &42u64, "1.0.0").file_name());
        assert!(base.file_name().ends_with(".cwasm"));
    }
}
