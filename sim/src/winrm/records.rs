//! What the WinRM endpoints saw: every request, with what it asked and
//! how it was answered, and counts per action, for the admin API
//! (`/__kiln/winrm`) and for tests.

use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

/// The longest command line a record keeps, characters (its length is
/// kept whole).
pub const COMMAND_KEPT: usize = 200;

/// One request.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct RequestRecord {
    /// The machine it reached (its id; the standalone machine's host name).
    pub machine: String,
    /// `Create`, `Command`, `Send`, `Receive`…; `Unauthorized` for a
    /// request refused before it was read, `Invalid` for a body that is
    /// not a request, `TooLarge` for one over the envelope quota.
    pub action: String,
    /// The shell it named or made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shell: Option<String>,
    /// A Command's command line, cut to [`COMMAND_KEPT`] characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// The command line's whole length, characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_len: Option<usize>,
    /// A Send's stdin bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stdin_bytes: Option<usize>,
    /// The HTTP status answered (0: the connection was reset instead).
    pub status: u16,
    /// The WSManFault code of a fault answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<u32>,
}

impl RequestRecord {
    /// Sets the command line, cut to [`COMMAND_KEPT`] characters.
    pub fn set_command(&mut self, line: &str) {
        self.command_len = Some(line.chars().count());
        self.command = Some(line.chars().take(COMMAND_KEPT).collect());
    }
}

/// Every request seen, in order, and their count per action.
#[derive(Debug, Default)]
pub struct Records(Mutex<Inner>);

/// What [`Records`] holds.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Inner {
    /// Every request, in order.
    pub requests: Vec<RequestRecord>,
    /// How many requests of each action.
    pub counts: BTreeMap<String, u64>,
}

impl Records {
    /// The records, locked; a panic while holding the lock (a bug) does
    /// not poison them for the rest of the simulator.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds one request.
    pub fn add(&self, record: RequestRecord) {
        let mut inner = self.lock();
        *inner.counts.entry(record.action.clone()).or_default() += 1;
        inner.requests.push(record);
    }

    /// Forgets everything.
    pub fn clear(&self) {
        *self.lock() = Inner::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_command_is_cut_but_its_length_kept() {
        let mut record = RequestRecord::default();
        record.set_command(&"x".repeat(1000));
        assert_eq!(record.command.as_ref().map(String::len), Some(COMMAND_KEPT));
        assert_eq!(record.command_len, Some(1000));
        let records = Records::default();
        records.add(RequestRecord { action: "Send".into(), ..RequestRecord::default() });
        records.add(RequestRecord { action: "Send".into(), ..RequestRecord::default() });
        assert_eq!(records.lock().counts["Send"], 2);
        records.clear();
        assert!(records.lock().requests.is_empty());
    }
}
