//! What the built-in SSH server saw, by machine: logins, commands and
//! uploaded files, for the admin API (`/__kiln/ssh`) and for the server's
//! own answers (`scp -f`, `test -d`).

use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

/// What the built-in server saw on one machine.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SshRecord {
    /// `user (method)` of each successful login.
    pub logins: Vec<String>,
    /// Every command executed, in order.
    pub commands: Vec<String>,
    /// Files uploaded, by path (lossy UTF-8 for the admin view).
    #[serde(serialize_with = "as_text")]
    pub files: BTreeMap<String, Vec<u8>>,
}

fn as_text<S: serde::Serializer>(files: &BTreeMap<String, Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    let text: BTreeMap<&String, String> =
        files.iter().map(|(k, v)| (k, String::from_utf8_lossy(v).into_owned())).collect();
    text.serialize(s)
}

/// Every machine's record, by machine id.
#[derive(Debug, Default)]
pub struct Records(Mutex<BTreeMap<String, SshRecord>>);

impl Records {
    /// The records, locked. A panic while holding the lock (a bug) must
    /// not take the whole simulator down with poisoning.
    pub fn lock(&self) -> MutexGuard<'_, BTreeMap<String, SshRecord>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records something seen on machine `id`.
    pub fn record(&self, id: &str, change: impl FnOnce(&mut SshRecord)) {
        change(self.lock().entry(id.to_string()).or_default());
    }

    /// A file uploaded to machine `id` at `path`, for `scp -f`.
    pub fn file(&self, id: &str, path: &str) -> Option<Vec<u8>> {
        self.lock().get(id)?.files.get(path).cloned()
    }

    /// Whether `dir` holds an uploaded file on machine `id`.
    pub fn has_files_under(&self, id: &str, dir: &str) -> bool {
        let prefix = format!("{}/", dir.trim_end_matches('/'));
        self.lock().get(id).is_some_and(|r| r.files.keys().any(|f| f.starts_with(&prefix)))
    }
}
