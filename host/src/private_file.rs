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
/// exist. A symbolic link is not followed (someone who can write the
/// directory could otherwise point the log at a file of their choosing).
/// A file that exists, is the user's own and can be read by group or
/// others (a log left by an older kiln, or made by `touch`) is made 0600
/// before anything is written to it: what kiln writes next is not for
/// them. A file owned by someone else keeps its mode (kiln cannot change
/// it). Fails as `open` does, and with a message naming the link when
/// `path` is a symbolic link.
pub fn append(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    let file = options.open(path).map_err(|e| {
        #[cfg(unix)]
        if e.raw_os_error() == Some(libc::ELOOP) {
            return io::Error::new(
                e.kind(),
                "it is a symbolic link, which kiln does not follow for a private file; give the path of the file itself",
            );
        }
        e
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let metadata = file.metadata()?;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let ours = metadata.uid() == unsafe { libc::geteuid() };
        if ours && metadata.mode() & 0o077 != 0 {
            // fchmod on the open file: no race with a rename of `path`.
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(file)
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

    #[test]
    fn an_existing_public_log_of_ours_is_made_private_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kiln.log");
        std::fs::write(&path, "old ").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        append(&path).unwrap().write_all(b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old new");
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn a_symbolic_link_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, "theirs").unwrap();
        let link = dir.path().join("kiln.log");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let error = append(&link).unwrap_err();
        assert!(error.to_string().contains("symbolic link"), "{error}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "theirs");
    }
}
