//! TEMPORARY shim of the machine helper's power API (fix-machine), so that
//! fix-power compiles before that branch lands. Dropped at merge.
#![allow(dead_code)]

use super::WindowsMachine;
use std::collections::HashMap;
use std::sync::Mutex;

/// A power request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PowerRequest {
    /// Restart.
    Restart,
    /// Shutdown.
    Shutdown,
}

/// A task that ran.
#[derive(Clone, Debug)]
pub struct TaskRecord {
    /// Name.
    pub name: String,
    /// User.
    pub user: String,
    /// Exit code.
    pub exit_code: i32,
}

#[derive(Default)]
struct Shim {
    boots: u32,
    boot: i64,
    request: Option<PowerRequest>,
}

static SHIM: Mutex<Option<HashMap<usize, Shim>>> = Mutex::new(None);

fn with<T>(m: &WindowsMachine, f: impl FnOnce(&mut Shim) -> T) -> T {
    let mut all = SHIM.lock().unwrap();
    let shim = all.get_or_insert_with(HashMap::new).entry(m as *const _ as usize).or_insert_with(|| Shim {
        boots: 1,
        boot: 637_134_336_000_000_000,
        request: None,
    });
    f(shim)
}

impl WindowsMachine {
    /// Shim.
    pub fn take_power_request(&self) -> Option<PowerRequest> {
        with(self, |s| s.request.take())
    }
    /// Shim.
    pub fn power_pending(&self) -> bool {
        with(self, |s| s.request.is_some())
    }
    /// Shim.
    pub fn booted(&self) {
        with(self, |s| {
            s.boots += 1;
            s.boot += 10_000_000;
        })
    }
    /// Shim.
    pub fn boots(&self) -> u32 {
        with(self, |s| s.boots)
    }
    /// Shim.
    pub fn boot_time_ticks(&self) -> i64 {
        with(self, |s| s.boot)
    }
    /// Shim.
    pub fn tasks(&self) -> Vec<TaskRecord> {
        Vec::new()
    }
    /// Shim.
    pub fn set_password(&self, _: &str) {}
    /// Shim: what a command would do.
    pub fn shim_request(&self, request: PowerRequest) {
        with(self, |s| s.request = Some(request))
    }
}

/// Shim.
pub trait Clock: Send + Sync {
    /// Shim.
    fn now(&self) -> std::time::SystemTime;
}

/// Shim.
pub struct ManualClock(Mutex<std::time::SystemTime>);

impl ManualClock {
    /// Shim.
    pub fn new(start: std::time::SystemTime) -> ManualClock {
        ManualClock(Mutex::new(start))
    }
    /// Shim.
    pub fn advance(&self, by: std::time::Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> std::time::SystemTime {
        *self.0.lock().unwrap()
    }
}

impl WindowsMachine {
    /// Shim.
    pub fn with_clock(hostname: &str, username: &str, _: std::sync::Arc<dyn Clock>) -> std::sync::Arc<WindowsMachine> {
        WindowsMachine::new(hostname, username)
    }
}
