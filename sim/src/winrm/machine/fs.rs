//! The machine's files: an in-memory NTFS look-alike on one drive, `C:`.
//!
//! Names are compared without case (as NTFS does by default) but kept as they
//! were first written; `/` and `\` are the same separator. Paths are held in
//! their normal form: `C:\` for the root, `C:\Windows\Temp` below it (no
//! trailing separator), which is what `files()` reports and what error
//! messages name, as Windows does.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

/// Why a file operation failed; each names the path as Windows would.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FsError {
    /// Nothing exists at the path.
    #[error("{0} does not exist")]
    NotFound(String),
    /// The directory that should contain the path does not exist.
    #[error("the directory of {0} does not exist")]
    ParentMissing(String),
    /// A file was expected but the path is a directory.
    #[error("{0} is a directory")]
    IsDir(String),
    /// A directory was expected but the path is a file.
    #[error("{0} is not a directory")]
    NotDir(String),
    /// The path exists already.
    #[error("{0} already exists")]
    Exists(String),
    /// Writing it would take the files past the drive's size ([`DISK_SIZE`]).
    #[error("There is not enough space on the disk.")]
    DiskFull(String),
}

/// How many bytes of files the drive holds. The files live in memory: a
/// full disk (Windows' own error) rather than an exhausted simulator, even
/// when commands copy files into one another faster than a client uploads.
pub const DISK_SIZE: u64 = 1024 * 1024 * 1024;

/// What a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Nothing.
    Missing,
    /// A regular file.
    File,
    /// A directory.
    Dir,
}

/// One file, as `WindowsMachine::files` reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileRecord {
    /// The normal path (`C:\Users\kiln\a.txt`), with the case it was created with.
    pub path: String,
    /// Its length in bytes.
    pub size: u64,
    /// SHA-256 of its bytes, lower-case hex.
    pub sha256: String,
}

struct Node {
    /// The normal path as first spelled.
    path: String,
    /// The bytes of a file; `None` for a directory.
    data: Option<Vec<u8>>,
    /// The SHA-256 of `data` (lower-case hex), made when `records` first asks
    /// and emptied by every change, so a listing hashes only what changed
    /// since the last one instead of every file every time.
    sha256: OnceLock<String>,
}

impl Node {
    fn dir(path: String) -> Node {
        Node { path, data: None, sha256: OnceLock::new() }
    }

    fn file(path: String, bytes: Vec<u8>) -> Node {
        Node { path, data: Some(bytes), sha256: OnceLock::new() }
    }
}

/// The whole file system.
pub(crate) struct Fs {
    /// Keyed by the lower-cased normal path, so that lookups ignore case and a
    /// directory's entries are one contiguous range.
    nodes: BTreeMap<String, Node>,
    /// The bytes of all files together, held to `disk`.
    used: u64,
    /// The drive's size: [`DISK_SIZE`] (tests make it smaller).
    pub(crate) disk: u64,
}

fn key(path: &str) -> String {
    path.to_lowercase()
}

/// `path` made absolute against `cwd` (itself normal) and normalised:
/// quotes around it dropped, `/` as `\`, `.` and `..` resolved (never above
/// the root), repeated and trailing separators dropped. `\x` is `x` at the
/// root of the drive; `C:x` is taken as relative to `cwd`, as on the one drive
/// this machine has.
pub(crate) fn resolve(cwd: &str, path: &str) -> String {
    let path = path.trim();
    let path = path.strip_prefix('"').and_then(|p| p.strip_suffix('"')).unwrap_or(path);
    let path = path.replace('/', "\\");
    let bytes = path.as_bytes();
    let (drive, rest, absolute) = if bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic() {
        let drive = path[..1].to_ascii_uppercase();
        let rest = &path[2..];
        (drive, rest.to_string(), rest.starts_with('\\'))
    } else {
        (cwd[..1].to_string(), path.clone(), path.starts_with('\\'))
    };
    let mut parts: Vec<&str> = Vec::new();
    if !absolute {
        parts.extend(cwd[2..].split('\\').filter(|p| !p.is_empty()));
    }
    for part in rest.split('\\') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("{drive}:\\{}", parts.join("\\"))
}

/// The directory holding `path`, or `None` for the root.
pub(crate) fn parent(path: &str) -> Option<String> {
    let idx = path.rfind('\\')?;
    if idx + 1 == path.len() {
        return None; // the root, `C:\`
    }
    Some(if idx == 2 { path[..3].to_string() } else { path[..idx].to_string() })
}

/// The last component of a normal path (`""` for the root).
pub(crate) fn base_name(path: &str) -> &str {
    path.rsplit('\\').next().unwrap_or("")
}

/// `child` below the normal directory `dir`.
pub(crate) fn join(dir: &str, child: &str) -> String {
    if dir.ends_with('\\') { format!("{dir}{child}") } else { format!("{dir}\\{child}") }
}

impl Fs {
    /// A file system with only the root directory `C:\`.
    pub(crate) fn new() -> Fs {
        let mut nodes = BTreeMap::new();
        nodes.insert(key("C:\\"), Node::dir("C:\\".into()));
        Fs { nodes, used: 0, disk: DISK_SIZE }
    }

    /// What `path` (normal) names.
    pub(crate) fn kind(&self, path: &str) -> Kind {
        match self.nodes.get(&key(path)) {
            None => Kind::Missing,
            Some(Node { data: None, .. }) => Kind::Dir,
            Some(_) => Kind::File,
        }
    }

    /// The path as it was first spelled, if it exists.
    pub(crate) fn spelled(&self, path: &str) -> Option<&str> {
        self.nodes.get(&key(path)).map(|n| n.path.as_str())
    }

    /// A file's bytes; `None` when it is missing or a directory.
    pub(crate) fn read(&self, path: &str) -> Option<&[u8]> {
        self.nodes.get(&key(path)).and_then(|n| n.data.as_deref())
    }

    /// The spelling a new node at `path` gets: its directories as they are
    /// spelled already, its own name as given.
    fn spell_new(&self, path: &str) -> String {
        match parent(path) {
            Some(dir) => join(self.spelled(&dir).unwrap_or(&dir), base_name(path)),
            None => path.to_string(),
        }
    }

    /// Fails with `DiskFull` when `more` bytes (beyond `freed` given back)
    /// would not fit.
    fn check_space(&self, path: &str, more: usize, freed: usize) -> Result<(), FsError> {
        if self.used.saturating_sub(freed as u64).saturating_add(more as u64) > self.disk {
            return Err(FsError::DiskFull(path.into()));
        }
        Ok(())
    }

    fn check_parent(&self, path: &str) -> Result<(), FsError> {
        match parent(path) {
            Some(dir) if self.kind(&dir) != Kind::Dir => Err(FsError::ParentMissing(path.into())),
            _ => Ok(()),
        }
    }

    /// Creates or replaces the file `path` with `bytes`. Fails when its
    /// directory is missing, `path` is a directory, or the disk is full.
    pub(crate) fn write(&mut self, path: &str, bytes: Vec<u8>) -> Result<(), FsError> {
        self.check_parent(path)?;
        let old = self.read(path).map_or(0, <[u8]>::len);
        if self.kind(path) != Kind::Dir {
            self.check_space(path, bytes.len(), old)?;
        }
        match self.nodes.get_mut(&key(path)) {
            Some(Node { data: None, .. }) => Err(FsError::IsDir(path.into())),
            Some(node) => {
                self.used = self.used - old as u64 + bytes.len() as u64;
                node.data = Some(bytes);
                node.sha256 = OnceLock::new();
                Ok(())
            }
            None => {
                let spelled = self.spell_new(path);
                self.used += bytes.len() as u64;
                self.nodes.insert(key(path), Node::file(spelled, bytes));
                Ok(())
            }
        }
    }

    /// Appends `bytes` to the file `path`, creating it. Fails as `write`.
    pub(crate) fn append(&mut self, path: &str, bytes: &[u8]) -> Result<(), FsError> {
        if self.read(path).is_some() {
            self.check_space(path, bytes.len(), 0)?;
        }
        match self.nodes.get_mut(&key(path)) {
            Some(Node { data: Some(data), sha256, .. }) => {
                data.extend_from_slice(bytes);
                *sha256 = OnceLock::new();
                self.used += bytes.len() as u64;
                Ok(())
            }
            _ => self.write(path, bytes.to_vec()),
        }
    }

    /// Creates the directory `path`; its parent must exist. Fails with
    /// `Exists` when anything is there already.
    pub(crate) fn mkdir(&mut self, path: &str) -> Result<(), FsError> {
        if self.kind(path) != Kind::Missing {
            return Err(FsError::Exists(path.into()));
        }
        self.check_parent(path)?;
        let spelled = self.spell_new(path);
        self.nodes.insert(key(path), Node::dir(spelled));
        Ok(())
    }

    /// Creates `path` and every missing directory above it. Fails with
    /// `NotDir` when one of them is a file; an existing directory is fine.
    pub(crate) fn mkdir_all(&mut self, path: &str) -> Result<(), FsError> {
        // Upwards to the first that exists, then down making each: a loop,
        // not recursion, since a path may have thousands of components.
        let mut missing = Vec::new();
        let mut at = Some(path.to_string());
        while let Some(dir) = at {
            match self.kind(&dir) {
                Kind::Dir => break,
                Kind::File => return Err(FsError::NotDir(dir)),
                Kind::Missing => {
                    at = parent(&dir);
                    missing.push(dir);
                }
            }
        }
        for dir in missing.iter().rev() {
            self.mkdir(dir)?;
        }
        Ok(())
    }

    /// Deletes the file `path`. Fails when it is missing or a directory.
    pub(crate) fn remove_file(&mut self, path: &str) -> Result<(), FsError> {
        match self.kind(path) {
            Kind::Missing => Err(FsError::NotFound(path.into())),
            Kind::Dir => Err(FsError::IsDir(path.into())),
            Kind::File => {
                self.take(path);
                Ok(())
            }
        }
    }

    /// Deletes `path`, a file or a directory with everything below it.
    /// Fails when it is missing; the root stays.
    pub(crate) fn remove_all(&mut self, path: &str) -> Result<(), FsError> {
        if self.kind(path) == Kind::Missing {
            return Err(FsError::NotFound(path.into()));
        }
        let below = format!("{}\\", key(path).trim_end_matches('\\'));
        let mut freed = 0;
        self.nodes.retain(|k, n| {
            let keep = k.len() == 3 || !k.starts_with(&below);
            if !keep {
                freed += n.data.as_ref().map_or(0, Vec::len) as u64;
            }
            keep
        });
        self.used -= freed;
        if parent(path).is_some() {
            self.take(path);
        }
        Ok(())
    }

    /// Removes the node at `path`, giving its bytes back to the disk.
    fn take(&mut self, path: &str) -> Option<Node> {
        let node = self.nodes.remove(&key(path))?;
        self.used -= node.data.as_ref().map_or(0, Vec::len) as u64;
        Some(node)
    }

    /// Moves the file `from` to `to`, replacing a file there. Fails when
    /// `from` is not a file or `to` cannot be written.
    pub(crate) fn rename_file(&mut self, from: &str, to: &str) -> Result<(), FsError> {
        if self.kind(from) != Kind::File {
            return Err(FsError::NotFound(from.into()));
        }
        self.check_parent(to)?;
        if self.kind(to) == Kind::Dir {
            return Err(FsError::IsDir(to.into()));
        }
        // Moved, not copied: a rename never needs room on the disk.
        let bytes = self.take(from).and_then(|n| n.data).unwrap_or_default();
        self.write(to, bytes)
    }

    /// The entries of the directory `path`: (name, is a directory), sorted by
    /// name without case as `dir` and `Get-ChildItem` list them.
    pub(crate) fn children(&self, path: &str) -> Result<Vec<(String, bool)>, FsError> {
        match self.kind(path) {
            Kind::Missing => return Err(FsError::NotFound(path.into())),
            Kind::File => return Err(FsError::NotDir(path.into())),
            Kind::Dir => {}
        }
        let prefix = format!("{}\\", key(path).trim_end_matches('\\'));
        // Each entry's own subtree is one contiguous range of keys: jump over
        // it rather than walk it, or a deep tree costs its size per listing.
        let mut out = Vec::new();
        let mut from = prefix.clone();
        while let Some((k, n)) = self.nodes.range(from.clone()..).next() {
            let Some(rel) = k.strip_prefix(&prefix) else { break };
            match rel.find('\\') {
                None => {
                    out.push((base_name(&n.path).to_string(), n.data.is_none()));
                    from = format!("{k}\0");
                }
                Some(i) => from = format!("{prefix}{}\\{}", &rel[..i], char::MAX),
            }
        }
        Ok(out)
    }

    /// Every file, sorted by path without case.
    pub(crate) fn records(&self) -> Vec<FileRecord> {
        self.nodes
            .values()
            .filter_map(|n| {
                let data = n.data.as_ref()?;
                let sha256 = n.sha256.get_or_init(|| hex(&Sha256::digest(data))).clone();
                Some(FileRecord { path: n.path.clone(), size: data.len() as u64, sha256 })
            })
            .collect()
    }
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_relative_absolute_and_dots() {
        let cwd = "C:\\Users\\kiln";
        assert_eq!(resolve(cwd, "a/b.txt"), "C:\\Users\\kiln\\a\\b.txt");
        assert_eq!(resolve(cwd, "c:/windows/temp/"), "C:\\windows\\temp");
        assert_eq!(resolve(cwd, "\\x"), "C:\\x");
        assert_eq!(resolve(cwd, "..\\..\\..\\y"), "C:\\y");
        assert_eq!(resolve(cwd, "\"C:\\Program Files\\.\\z\""), "C:\\Program Files\\z");
        assert_eq!(resolve(cwd, "C:\\"), "C:\\");
        assert_eq!(parent("C:\\a"), Some("C:\\".into()));
        assert_eq!(parent("C:\\a\\b"), Some("C:\\a".into()));
        assert_eq!(parent("C:\\"), None);
    }

    #[test]
    fn records_hash_each_change() {
        let mut fs = Fs::new();
        fs.write("C:\\a", b"one".to_vec()).unwrap();
        let sha = |fs: &Fs| fs.records()[0].sha256.clone();
        assert_eq!(sha(&fs), hex(&Sha256::digest(b"one")));
        assert_eq!(sha(&fs), hex(&Sha256::digest(b"one")), "the cached hash");
        fs.append("C:\\a", b"two").unwrap();
        assert_eq!(sha(&fs), hex(&Sha256::digest(b"onetwo")));
        fs.write("C:\\a", b"three".to_vec()).unwrap();
        assert_eq!(sha(&fs), hex(&Sha256::digest(b"three")));
        fs.rename_file("C:\\a", "C:\\b").unwrap();
        assert_eq!(fs.records()[0].path, "C:\\b");
        assert_eq!(sha(&fs), hex(&Sha256::digest(b"three")));
    }

    #[test]
    fn names_ignore_case_but_keep_their_spelling() {
        let mut fs = Fs::new();
        fs.mkdir_all("C:\\Temp\\Sub").unwrap();
        fs.write("C:\\temp\\sub\\A.txt", b"x".to_vec()).unwrap();
        assert_eq!(fs.read("C:\\TEMP\\SUB\\a.TXT"), Some(&b"x"[..]));
        assert_eq!(fs.records()[0].path, "C:\\Temp\\Sub\\A.txt");
        assert_eq!(fs.children("c:\\temp").unwrap(), vec![("Sub".to_string(), true)]);
        assert_eq!(fs.write("C:\\nope\\f", vec![]), Err(FsError::ParentMissing("C:\\nope\\f".into())));
        assert_eq!(fs.write("C:\\Temp", vec![]), Err(FsError::IsDir("C:\\Temp".into())));
        fs.remove_all("C:\\Temp").unwrap();
        assert_eq!(fs.kind("C:\\Temp\\Sub\\A.txt"), Kind::Missing);
        assert_eq!(fs.kind("C:\\"), Kind::Dir);
    }
}
