//! Signals to a running `kiln`, as a user's Ctrl-C or a supervisor's stop.

/// Sends `signal` (`libc::SIGINT`, `libc::SIGTERM`...) to process `pid`.
pub fn send(pid: u32, signal: i32) {
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe { libc::kill(pid as i32, signal) };
}
