//! Whether kiln may load native code from a cache directory or file: only
//! when this user owns it and no one else can write it. A compiled
//! component is machine code that kiln maps and runs, so a file another
//! user could have written is as good as running their program.
//!
//! Files are opened without following symbolic links and judged by the
//! metadata of the descriptor that is then read, so the file checked is
//! the file read.

use std::fs::{File, Metadata};
use std::io::Read;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Why a directory or file is not trusted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Distrust {
    /// Another user owns it.
    #[error("it is owned by another user (uid {owner})")]
    NotOurs {
        /// The owner's uid.
        owner: u32,
    },
    /// Its group or everyone may write it.
    #[error("it is writable by its group or by others (mode {mode:04o})")]
    WritableByOthers {
        /// Its permission bits.
        mode: u32,
    },
    /// It is a symbolic link where kiln writes only plain files and
    /// directories.
    #[error("it is a symbolic link")]
    Symlink,
    /// It is neither what kiln writes there nor a symbolic link (a
    /// directory where a file belongs, a FIFO, ...).
    #[error("it is not a {expected}")]
    WrongKind {
        /// What belongs there: "directory" or "regular file".
        expected: &'static str,
    },
}

impl Distrust {
    /// What the user can do about a directory distrusted for this reason.
    pub fn advice(&self, dir: &Path) -> String {
        let other = "or set KILN_CACHE_DIR to a directory of your own";
        match self {
            Distrust::WritableByOthers { .. } => format!("run `chmod 700 {}`, {other}", dir.display()),
            Distrust::NotOurs { .. } => "set KILN_CACHE_DIR to a directory of your own (or `chown` it to you)".into(),
            Distrust::Symlink | Distrust::WrongKind { .. } => format!("remove {}, {other}", dir.display()),
        }
    }
}

/// Whether an entry owned by `owner` with permission bits `mode` may hold
/// code for the user `us`.
pub fn judge(owner: u32, mode: u32, us: u32) -> Result<(), Distrust> {
    if owner != us {
        Err(Distrust::NotOurs { owner })
    } else if mode & 0o022 != 0 {
        Err(Distrust::WritableByOthers { mode: mode & 0o7777 })
    } else {
        Ok(())
    }
}

fn judge_metadata(meta: &Metadata, expected: &'static str) -> Result<(), Distrust> {
    if meta.file_type().is_symlink() {
        return Err(Distrust::Symlink);
    }
    let right_kind = if expected == DIRECTORY { meta.is_dir() } else { meta.is_file() };
    if !right_kind {
        return Err(Distrust::WrongKind { expected });
    }
    judge(meta.uid(), meta.mode(), effective_uid())
}

const DIRECTORY: &str = "directory";
const REGULAR_FILE: &str = "regular file";

fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Why a cache directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DirProblem {
    /// Creating it failed.
    #[error("cannot create {path}: {source}")]
    Create {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Reading its metadata failed.
    #[error("cannot read the metadata of {path}: {source}")]
    Stat {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// It exists but is not trusted.
    #[error("{reason}")]
    Distrusted {
        /// The directory at fault (the cache or its `components`).
        path: PathBuf,
        /// Why.
        reason: Distrust,
    },
}

/// Creates `root` and `root/components` private to this user (0700,
/// parents included) if they are missing, and returns the components
/// directory once both are trusted.
///
/// `root` itself may be a symbolic link (a cache moved to another disk);
/// what it points to is judged. `components` is kiln's own and must be a
/// plain directory.
///
/// Fails with [`DirProblem`] when either cannot be created or read, or is
/// not trusted.
pub fn prepare_dir(root: &Path) -> Result<PathBuf, DirProblem> {
    let components = root.join("components");
    // The root first: nothing is created inside a directory not trusted.
    create_private(root, true)?;
    check_dir(root, std::fs::metadata(root))?;
    create_private(&components, false)?;
    check_dir(&components, std::fs::symlink_metadata(&components))?;
    Ok(components)
}

fn create_private(dir: &Path, parents: bool) -> Result<(), DirProblem> {
    match std::fs::DirBuilder::new().recursive(parents).mode(0o700).create(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
            Err(DirProblem::Create { path: dir.to_path_buf(), source: e })
        }
        _ => Ok(()),
    }
}

fn check_dir(dir: &Path, meta: std::io::Result<Metadata>) -> Result<(), DirProblem> {
    let meta = meta.map_err(|source| DirProblem::Stat { path: dir.to_path_buf(), source })?;
    judge_metadata(&meta, DIRECTORY).map_err(|reason| DirProblem::Distrusted { path: dir.to_path_buf(), reason })
}

/// What is at a cache file's path.
#[derive(Debug)]
pub enum Entry {
    /// Nothing.
    Absent,
    /// Something kiln must not load.
    Distrusted(Distrust),
    /// A trusted file's bytes.
    Bytes(Vec<u8>),
}

/// Reads the file at `path` if it is a trusted regular file; a symbolic
/// link is not followed.
///
/// Fails with the I/O error when the file exists but cannot be read.
pub fn read_private(path: &Path) -> std::io::Result<Entry> {
    // O_NONBLOCK: a FIFO put in the file's place must not hang kiln; it
    // is then refused by its metadata. It changes nothing for a regular file.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path);
    let mut file: File = match file {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Entry::Absent),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Ok(Entry::Distrusted(Distrust::Symlink)),
        Err(e) => return Err(e),
    };
    if let Err(reason) = judge_metadata(&file.metadata()?, REGULAR_FILE) {
        return Ok(Entry::Distrusted(reason));
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(Entry::Bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_own_entries_that_no_one_else_can_write_are_trusted() {
        assert_eq!(judge(1000, 0o40700, 1000), Ok(()));
        assert_eq!(judge(1000, 0o100644, 1000), Ok(()));
        assert_eq!(judge(1000, 0o40755, 1000), Ok(()));
        assert_eq!(judge(0, 0o40700, 1000), Err(Distrust::NotOurs { owner: 0 }));
        assert_eq!(judge(1000, 0o40770, 1000), Err(Distrust::WritableByOthers { mode: 0o770 }));
        assert_eq!(judge(1000, 0o100602, 1000), Err(Distrust::WritableByOthers { mode: 0o602 }));
        assert_eq!(judge(1000, 0o41777, 1000), Err(Distrust::WritableByOthers { mode: 0o1777 }));
    }

    #[test]
    fn prepare_dir_creates_the_cache_and_its_parents_private() {
        use std::os::unix::fs::PermissionsExt;
        let base = tempfile::tempdir().unwrap();
        let root = base.path().join("a/b/kiln");
        let components = prepare_dir(&root).unwrap();
        assert_eq!(components, root.join("components"));
        for dir in [base.path().join("a"), base.path().join("a/b"), root.clone(), components] {
            assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700, "{}", dir.display());
        }
    }

    #[test]
    fn prepare_dir_refuses_a_group_writable_cache_and_a_symlinked_components_dir() {
        use std::os::unix::fs::PermissionsExt;
        let base = tempfile::tempdir().unwrap();
        let root = base.path().join("shared");
        std::fs::create_dir(&root).unwrap();
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o770)).unwrap();
        let error = prepare_dir(&root).unwrap_err();
        assert!(
            matches!(&error, DirProblem::Distrusted { path, reason: Distrust::WritableByOthers { mode: 0o770 } } if *path == root),
            "{error:?}"
        );

        let root = base.path().join("linked");
        std::fs::create_dir(&root).unwrap();
        std::os::unix::fs::symlink(base.path(), root.join("components")).unwrap();
        let error = prepare_dir(&root).unwrap_err();
        assert!(matches!(&error, DirProblem::Distrusted { reason: Distrust::Symlink, .. }), "{error:?}");
    }

    #[test]
    fn read_private_refuses_links_others_writable_files_and_fifos() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, b"bytes").unwrap();
        assert!(matches!(read_private(&file).unwrap(), Entry::Bytes(b) if b == b"bytes"));
        assert!(matches!(read_private(&dir.path().join("missing")).unwrap(), Entry::Absent));

        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert!(matches!(read_private(&link).unwrap(), Entry::Distrusted(Distrust::Symlink)));

        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert!(matches!(read_private(&file).unwrap(), Entry::Distrusted(Distrust::WritableByOthers { mode: 0o666 })));

        let fifo = dir.path().join("fifo");
        let name = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: `name` is a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        assert!(matches!(
            read_private(&fifo).unwrap(),
            Entry::Distrusted(Distrust::WrongKind { expected: "regular file" })
        ));
    }
}
