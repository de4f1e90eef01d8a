//! What the WinRM endpoints saw: the newest requests, with what they asked and
//! how it was answered, and counts per action, for the admin API
//! (`/__kiln/winrm`) and for tests.

use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
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

/// How many requests [`Records`] keeps: the newest; older ones are
/// dropped (and counted) so that a long-lived simulator does not grow
/// without bound. Counts per action stay exact.
pub const REQUESTS_KEPT: usize = 10_000;

/// The newest requests seen, in order, and their count per action.
#[derive(Debug, Default)]
pub struct Records(Mutex<Inner>);

#[derive(Debug, Default)]
struct Inner {
    requests: VecDeque<RequestRecord>,
    counts: BTreeMap<String, u64>,
    dropped: u64,
}

impl Records {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        super::lock(&self.0)
    }

    /// Adds one request, dropping the oldest one kept when
    /// [`REQUESTS_KEPT`] are.
    pub fn add(&self, record: RequestRecord) {
        let mut inner = self.lock();
        *inner.counts.entry(record.action.clone()).or_default() += 1;
        if inner.requests.len() >= REQUESTS_KEPT {
            inner.requests.pop_front();
            inner.dropped += 1;
        }
        inner.requests.push_back(record);
    }

    /// What the admin API shows (`GET /__kiln/winrm`, the hub's and a
    /// standalone machine's alike): the requests kept (`requests`, oldest
    /// first), every request's count per action (`counts`), how many
    /// requests were dropped from `requests` (`dropped`), `files` (each
    /// machine's files, by machine) and `machines` (each machine's boots,
    /// power events and scheduled tasks, by machine).
    pub fn report(&self, files: serde_json::Value, machines: serde_json::Value) -> serde_json::Value {
        let inner = self.lock();
        serde_json::json!({
            "requests": inner.requests,
            "counts": inner.counts,
            "dropped": inner.dropped,
            "files": files,
            "machines": machines,
        })
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
        assert_eq!(records.report(serde_json::json!({}), serde_json::json!({}))["counts"]["Send"], 2);
        records.clear();
        assert_eq!(records.report(serde_json::json!({}), serde_json::json!({}))["requests"], serde_json::json!([]));
    }

    #[test]
    fn only_the_newest_requests_are_kept_but_every_one_is_counted() {
        let records = Records::default();
        for i in 0..REQUESTS_KEPT + 5 {
            records.add(RequestRecord {
                action: "Receive".into(),
                shell: Some(i.to_string()),
                ..RequestRecord::default()
            });
        }
        let report = records.report(serde_json::json!({}), serde_json::json!({}));
        assert_eq!(report["counts"]["Receive"], (REQUESTS_KEPT + 5) as u64);
        assert_eq!(report["dropped"], 5);
        assert_eq!(report["requests"].as_array().unwrap().len(), REQUESTS_KEPT);
        assert_eq!(report["requests"][0]["shell"], "5", "the oldest go first");
    }
}
