//! The local side of a transfer, shared by the single-file path, SCP and
//! SFTP: filling a buffer from a file and giving a written file its mode.

use std::io::Read;
use std::path::Path;

/// Reads into `buffer` until it is full or `from` ends, retrying an
/// interrupted read: a short read would make a short (slow) write, or a
/// short SFTP WRITE. Answers how many bytes came. Fails with the read's
/// error.
pub fn fill(from: &mut dyn Read, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match from.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Gives the local `path` the permission bits of `mode` (file type bits
/// dropped). Fails with the chmod's error.
pub fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o7777))
}
