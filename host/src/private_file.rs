//! Files kiln writes that may hold what a user would not share (the
//! simulator's report, the debug log): created readable and writable by
//! the user alone (mode 0600) from the first byte, never made private
//! after the fact.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

/// Replaces `path` with `bytes` in a new file of mode 0600: written
/// beside it under a temporary name, then renamed over it, so a file that
/// was there (whatever its mode) is never rewritten in place and no
/// reader sees it half written. Fails when the directory cannot take a
/// new file, or on a write error.
// Only the simulator's report is written whole today.
#[cfg_attr(not(feature = "simulator"), allow(dead_code))]
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    // `tempfile` creates its files with mode 0600.
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Opens `path` for appending, creating it with mode 0600 if it does not
/// exist (a file the user made keeps the mode they gave it). Fails as
/// `open` does.
pub fn append(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_written_file_is_private_even_over_a_public_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn an_appended_file_is_created_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kiln.log");
        append(&path).unwrap().write_all(b"a").unwrap();
        append(&path).unwrap().write_all(b"b").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "ab");
        assert_eq!(mode(&path), 0o600);
    }
}
