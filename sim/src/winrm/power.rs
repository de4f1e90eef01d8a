//! A simulated Windows machine's power: the restarts and shutdowns its
//! commands ask for (`shutdown /r`, `Restart-Computer`, sysprep
//! `/shutdown`), carried out once they are due, and what the records show
//! of them (docs/winrm-protocol.md, "What the simulated machine does").
//!
//! [`Power`] decides when the machine goes down and comes back; the
//! endpoint that serves the machine (the hub, a standalone machine) does
//! what that means for its listeners, connections and shells, behind
//! [`Switch`].

use super::machine::{PowerRequest, WindowsMachine};
use serde::Serialize;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::task::AbortHandle;

/// How often a machine with a power request that is not due yet (`shutdown
/// /r /t 60`) looks whether it is: the request is carried out at most this
/// late, and a machine waits on a timer rather than spinning.
pub const POWER_TICK: Duration = Duration::from_millis(250);
/// How long a machine stays up after answering the request that let it
/// carry out a due restart or shutdown: time for that reply to be written.
pub const REPLY_FLUSH: Duration = Duration::from_millis(20);

/// How many times a machine back from a restart tries to listen at a port
/// that is not free yet, [`crate::listen::ACCEPT_PAUSE`] apart.
const REBIND_TRIES: u32 = 20;

/// What an endpoint does when its machine's power changes. Called without
/// any lock of [`Power`] held.
pub trait Switch: Send + Sync + 'static {
    /// Machine `id` went down for `request`: its connections end (their
    /// clients see them closed), its shells are lost; on a restart it stops
    /// listening until [`Switch::listen`]; on a shutdown its cloud (if any)
    /// shows it stopped.
    fn down(&self, id: &str, request: PowerRequest);
    /// Whether machine `id` is still running as far as its cloud knows (a
    /// restart ends with the machine up only then; a standalone machine
    /// always is).
    fn running(&self, id: &str) -> bool;
    /// Machine `id`'s restart is over: it listens again (at the ports it
    /// had). Whether it does on every one; one that is not free yet is
    /// tried again, and only a `last_try` says that it failed.
    fn listen(&self, id: &str, last_try: bool) -> bool;
}

/// Where the machine is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Made, never started by its cloud yet: its first start is its first
    /// boot (the one the machine model was made with).
    NotStarted,
    /// Running: it serves its connections.
    Up,
    /// Restarting: down until its restart's time has passed.
    Restarting,
    /// Shut down by its own command, and not seen stopped by a cloud (a
    /// standalone machine stays so): down for good.
    ShutDown,
    /// Off: stopped by its cloud (after its own shutdown, or not); it boots
    /// when its cloud starts it again.
    Off,
}

/// One power event, for the records.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct PowerEvent {
    /// `restart_requested`, `shutdown_requested`, `down`, `up`.
    pub event: &'static str,
    /// Why it went down (`down` only): `restart`, `shutdown`, or `stopped`
    /// (its cloud stopped it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<&'static str>,
    /// When, UTC, RFC 3339 with milliseconds. A request's time is when the
    /// endpoint first saw it (the end of the request that ran the command).
    pub at: String,
}

fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// .NET ticks (100 ns since 0001-01-01 UTC) as RFC 3339 text; empty when
/// out of chrono's range.
fn ticks_text(ticks: i64) -> String {
    const UNIX_EPOCH_TICKS: i64 = 621_355_968_000_000_000;
    let since = ticks - UNIX_EPOCH_TICKS;
    let (secs, rest) = (since.div_euclid(10_000_000), since.rem_euclid(10_000_000));
    chrono::DateTime::from_timestamp(secs, (rest * 100) as u32)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

struct Inner {
    state: State,
    events: Vec<PowerEvent>,
    /// Every boot's time, .NET ticks, oldest first.
    boot_times: Vec<i64>,
    /// When a request not due yet was first seen.
    pending_since: Option<String>,
    /// The task waiting for a request to be due, or for a restart's end.
    timer: Option<AbortHandle>,
}

impl Inner {
    /// Forgets the timer if it is the task calling (another may have taken
    /// its place meanwhile: a request that made the machine go down).
    fn forget_timer(&mut self) {
        if self.timer.as_ref().map(AbortHandle::id) == tokio::task::try_id() {
            self.timer = None;
        }
    }
}

/// One machine's power: up, restarting or off, and its history.
pub struct Power {
    id: String,
    machine: Arc<WindowsMachine>,
    restart: Duration,
    inner: Mutex<Inner>,
}

impl Power {
    /// The power of `machine` (its id `id` in records), for a restart of
    /// `restart`: up (`up`: it has just booted), or not started yet (its
    /// cloud starts it: [`Power::running`]).
    pub fn new(id: &str, machine: Arc<WindowsMachine>, restart: Duration, up: bool) -> Arc<Power> {
        let boot = machine.boot_time_ticks();
        Arc::new(Power {
            id: id.to_string(),
            machine,
            restart,
            inner: Mutex::new(Inner {
                state: if up { State::Up } else { State::NotStarted },
                events: Vec::new(),
                boot_times: vec![boot],
                pending_since: None,
                timer: None,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        super::lock(&self.inner)
    }

    /// Whether the machine is up: a connection or request to it is served.
    pub fn is_up(&self) -> bool {
        self.lock().state == State::Up
    }

    /// Whether the machine is restarting (its listeners closed).
    pub fn is_restarting(&self) -> bool {
        self.lock().state == State::Restarting
    }

    /// Acts on what the machine's commands asked for, once a request to it
    /// (`action`, as the records name it) has been answered. A due restart
    /// or shutdown is carried out [`REPLY_FLUSH`] after the reply to a
    /// `Receive`, `Signal` or `Delete` (the exit code comes in a `Receive`;
    /// the `Command` and its stdin `Send` come before it), or at the next
    /// [`POWER_TICK`] if the client sends none, as Windows takes a moment
    /// to go down; one not due yet is waited for on a timer.
    pub fn answered(self: &Arc<Self>, action: &str, switch: &Arc<dyn Switch>) {
        if !self.is_up() || !self.machine.power_pending() {
            return;
        }
        // Not on the stdin end-of-file `Send` that follows a `Command`: the
        // exit code comes in the `Receive` after it.
        if matches!(action, "Receive" | "Signal" | "Delete")
            && let Some(request) = self.machine.take_power_request()
        {
            // This request's reply (often the exit code) is still on its
            // way out: going down now would abort the connection carrying
            // it, and the client would see its command lose the connection.
            let (power, switch) = (Arc::clone(self), Arc::clone(switch));
            tokio::spawn(async move {
                tokio::time::sleep(REPLY_FLUSH).await;
                power.go_down(request, &switch);
            });
            return;
        }
        let mut inner = self.lock();
        inner.pending_since.get_or_insert_with(now_text);
        // A restart's task that ended before its handle was kept leaves a
        // finished one behind.
        if inner.timer.as_ref().is_none_or(AbortHandle::is_finished) {
            let (power, switch) = (Arc::clone(self), Arc::clone(switch));
            inner.timer = Some(tokio::spawn(async move { power.wait_for_request(switch).await }).abort_handle());
        }
    }

    /// Looks every [`POWER_TICK`] whether the pending request is due, and
    /// carries it out; ends when it was, or was withdrawn.
    async fn wait_for_request(self: Arc<Self>, switch: Arc<dyn Switch>) {
        loop {
            tokio::time::sleep(POWER_TICK).await;
            if !self.is_up() {
                return;
            }
            if let Some(request) = self.machine.take_power_request() {
                // This task is the timer: it must not be aborted below.
                self.lock().forget_timer();
                self.go_down(request, &switch);
                return;
            }
            if !self.machine.power_pending() {
                let mut inner = self.lock();
                inner.pending_since = None;
                inner.forget_timer();
                return;
            }
        }
    }

    /// Takes the machine down for `request`; a restart brings it back after
    /// its time.
    fn go_down(self: &Arc<Self>, request: PowerRequest, switch: &Arc<dyn Switch>) {
        let (asked, cause) = match request {
            PowerRequest::Restart => ("restart_requested", "restart"),
            PowerRequest::Shutdown => ("shutdown_requested", "shutdown"),
        };
        {
            let mut inner = self.lock();
            // Down first: a request that finishes while the connections are
            // ended finds the machine gone and is not answered.
            inner.state = if cause == "restart" { State::Restarting } else { State::ShutDown };
            let at = inner.pending_since.take().unwrap_or_else(now_text);
            inner.events.push(PowerEvent { event: asked, cause: None, at });
            inner.events.push(PowerEvent { event: "down", cause: Some(cause), at: now_text() });
            if let Some(timer) = inner.timer.take() {
                timer.abort();
            }
        }
        let restart = matches!(request, PowerRequest::Restart);
        switch.down(&self.id, request);
        if !restart {
            // A cloud shows the machine stopped now, and starting it boots
            // it; without a cloud, nothing ever will.
            if !switch.running(&self.id) {
                let mut inner = self.lock();
                if inner.state == State::ShutDown {
                    inner.state = State::Off;
                }
            }
            return;
        }
        let (power, switch) = (Arc::clone(self), Arc::clone(switch));
        let back = tokio::spawn(async move {
            tokio::time::sleep(power.restart).await;
            power.restarted(&switch).await;
        });
        self.lock().timer = Some(back.abort_handle());
    }

    /// A restart's time is over: the machine boots (when its cloud still
    /// runs it) and listens again.
    async fn restarted(&self, switch: &Arc<dyn Switch>) {
        let running = switch.running(&self.id);
        {
            let mut inner = self.lock();
            if inner.state != State::Restarting {
                return;
            }
            if running {
                self.boot(&mut inner);
            } else {
                // Stopped by its cloud meanwhile: it boots when started.
                inner.state = State::Off;
            }
        }
        // The closed accept loops are dropped as the runtime cancels them:
        // with a short restart, a port may not be free at the first try.
        for attempt in 1..=REBIND_TRIES {
            if switch.listen(&self.id, attempt == REBIND_TRIES) {
                break;
            }
            tokio::time::sleep(crate::listen::ACCEPT_PAUSE).await;
        }
        self.lock().forget_timer();
    }

    fn boot(&self, inner: &mut Inner) {
        self.machine.booted();
        inner.state = State::Up;
        inner.boot_times.push(self.machine.boot_time_ticks());
        inner.events.push(PowerEvent { event: "up", cause: None, at: now_text() });
    }

    /// Its cloud runs the machine: one that was off boots (one never
    /// started is up in its first boot). Whether it is up now (a
    /// restarting one is not).
    pub fn running(&self) -> bool {
        let mut inner = self.lock();
        match inner.state {
            State::Off => self.boot(&mut inner),
            State::NotStarted => inner.state = State::Up,
            State::Up | State::Restarting | State::ShutDown => {}
        }
        inner.state == State::Up
    }

    /// Its cloud stopped the machine (or it stopped itself): one that was up
    /// is off from now on. Whether it was up (its endpoint then ends its
    /// connections and shells).
    pub fn stopped(&self) -> bool {
        let mut inner = self.lock();
        if inner.state == State::ShutDown {
            inner.state = State::Off;
        }
        if inner.state != State::Up {
            return false;
        }
        inner.state = State::Off;
        inner.pending_since = None;
        inner.events.push(PowerEvent { event: "down", cause: Some("stopped"), at: now_text() });
        if let Some(timer) = inner.timer.take() {
            timer.abort();
        }
        true
    }

    /// Ends its timers (the endpoint is going away).
    pub fn stop(&self) {
        if let Some(timer) = self.lock().timer.take() {
            timer.abort();
        }
    }

    /// What the records show: `boots` (`count`: how many times it booted,
    /// this simulator's first boot included; `times`: each boot's `ticks`,
    /// as `LastBootUpTime` gives them, and `at`, RFC 3339), `power` (its
    /// [`PowerEvent`]s, oldest first), and `tasks` (every scheduled task
    /// that ran: `name`, `user`, `exit_code`; never a password).
    pub fn report(&self) -> serde_json::Value {
        let (events, boot_times) = {
            let inner = self.lock();
            (inner.events.clone(), inner.boot_times.clone())
        };
        let times: Vec<serde_json::Value> =
            boot_times.iter().map(|&ticks| serde_json::json!({"ticks": ticks, "at": ticks_text(ticks)})).collect();
        let tasks: Vec<serde_json::Value> = self
            .machine
            .tasks()
            .into_iter()
            .map(|t| serde_json::json!({"name": t.name, "user": t.user, "exit_code": t.exit_code}))
            .collect();
        serde_json::json!({
            "boots": {"count": self.machine.boots(), "times": times},
            "power": events,
            "tasks": tasks,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[test]
    fn ticks_read_as_utc_times() {
        // 2020-01-01T00:00:00Z.
        assert_eq!(ticks_text(637_134_336_000_000_000), "2020-01-01T00:00:00.000Z");
    }

    /// An endpoint that notes what it was asked to do.
    #[derive(Default)]
    struct Noted {
        calls: Mutex<Vec<String>>,
        stopped_by_cloud: AtomicBool,
    }

    impl Switch for Noted {
        fn down(&self, _: &str, request: PowerRequest) {
            self.calls.lock().unwrap().push(format!("down {request:?}"));
            if matches!(request, PowerRequest::Shutdown) {
                self.stopped_by_cloud.store(true, Ordering::SeqCst);
            }
        }
        fn running(&self, _: &str) -> bool {
            !self.stopped_by_cloud.load(Ordering::SeqCst)
        }
        fn listen(&self, _: &str, _: bool) -> bool {
            self.calls.lock().unwrap().push("listen".into());
            true
        }
    }

    fn machine() -> (Arc<WindowsMachine>, Arc<Noted>, Arc<dyn Switch>) {
        let machine = WindowsMachine::new("WIN", "Administrator");
        let noted = Arc::new(Noted::default());
        let switch: Arc<dyn Switch> = noted.clone();
        (machine, noted, switch)
    }

    fn calls(noted: &Noted) -> Vec<String> {
        noted.calls.lock().unwrap().clone()
    }

    #[tokio::test(start_paused = true)]
    async fn a_restart_waits_for_the_exit_code_then_is_down_for_its_time() {
        let (machine, noted, switch) = machine();
        let power = Power::new("WIN", Arc::clone(&machine), Duration::from_secs(30), true);
        machine.start("shutdown /r /f /t 0", &[], None);
        power.answered("Command", &switch);
        assert!(power.is_up(), "down before the client could receive the exit code");
        power.answered("Receive", &switch);
        assert!(power.is_up(), "down before the Receive's reply was written");
        tokio::time::sleep(REPLY_FLUSH + Duration::from_millis(1)).await;
        assert!(power.is_restarting());
        assert_eq!(calls(&noted), ["down Restart"]);
        tokio::time::sleep(Duration::from_secs(29)).await;
        assert!(power.is_restarting(), "back before the restart's time");
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(power.is_up());
        assert_eq!(calls(&noted), ["down Restart", "listen"]);
        assert_eq!(machine.boots(), 2);
        let report = power.report();
        assert_eq!(report["boots"]["count"], 2, "{report}");
        assert_eq!(report["boots"]["times"].as_array().map(Vec::len), Some(2), "{report}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_restart_nobody_receives_happens_within_a_tick() {
        let (machine, noted, switch) = machine();
        let power = Power::new("WIN", Arc::clone(&machine), Duration::from_secs(30), true);
        machine.start("shutdown /r /t 0", &[], None);
        power.answered("Command", &switch);
        tokio::time::sleep(POWER_TICK + Duration::from_millis(1)).await;
        assert!(power.is_restarting());
        assert_eq!(calls(&noted), ["down Restart"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_delayed_restart_is_waited_for_on_a_timer() {
        use crate::winrm::machine::ManualClock;
        // The machine counts the delay on its clock, the timer on tokio's:
        // both move together.
        let clock = Arc::new(ManualClock::new(std::time::SystemTime::now()));
        let machine = WindowsMachine::with_clock("WIN", "Administrator", clock.clone());
        let noted = Arc::new(Noted::default());
        let switch: Arc<dyn Switch> = noted.clone();
        let power = Power::new("WIN", Arc::clone(&machine), Duration::from_secs(30), true);
        machine.start("shutdown /r /t 60", &[], None);
        power.answered("Command", &switch);
        power.answered("Receive", &switch);
        clock.advance(Duration::from_secs(59));
        tokio::time::sleep(Duration::from_secs(59)).await;
        assert!(power.is_up(), "restarted before its delay");
        clock.advance(Duration::from_secs(2));
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(!power.is_up(), "{:?}", calls(&noted));
        let report = power.report();
        let events: Vec<&str> =
            report["power"].as_array().unwrap().iter().filter_map(|e| e["event"].as_str()).collect();
        assert_eq!(events, ["restart_requested", "down"], "{report}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_delayed_restart_cancelled_within_its_delay_never_happens() {
        use crate::winrm::machine::ManualClock;
        let clock = Arc::new(ManualClock::new(std::time::SystemTime::now()));
        let machine = WindowsMachine::with_clock("WIN", "Administrator", clock.clone());
        let noted = Arc::new(Noted::default());
        let switch: Arc<dyn Switch> = noted.clone();
        let power = Power::new("WIN", Arc::clone(&machine), Duration::from_secs(1), true);
        // Packer's restart check: a delayed restart, then `shutdown /a`.
        machine.start(r#"shutdown /r /f /t 60 /c "packer restart test""#, &[], None);
        power.answered("Receive", &switch);
        clock.advance(Duration::from_secs(1));
        tokio::time::sleep(Duration::from_secs(1)).await;
        machine.start("shutdown /a", &[], None);
        power.answered("Receive", &switch);
        clock.advance(Duration::from_secs(120));
        tokio::time::sleep(Duration::from_secs(120)).await;
        assert!(power.is_up());
        assert!(calls(&noted).is_empty(), "{:?}", calls(&noted));
        assert_eq!(power.report()["power"], serde_json::json!([]));
    }

    #[tokio::test(start_paused = true)]
    async fn a_shutdown_is_off_until_its_cloud_runs_the_machine_again() {
        let (machine, noted, switch) = machine();
        let power = Power::new("WIN", Arc::clone(&machine), Duration::from_secs(1), true);
        machine.start("shutdown /s /t 0", &[], None);
        power.answered("Command", &switch);
        power.answered("Receive", &switch);
        tokio::time::sleep(REPLY_FLUSH + Duration::from_millis(1)).await;
        assert!(!power.is_up());
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(calls(&noted), ["down Shutdown"], "a shutdown never comes back by itself");
        assert!(!power.stopped(), "it was off already");
        assert!(power.running(), "its cloud started it: it boots");
        assert_eq!(machine.boots(), 2);
        let report = power.report();
        let events: Vec<&str> =
            report["power"].as_array().unwrap().iter().filter_map(|e| e["event"].as_str()).collect();
        assert_eq!(events, ["shutdown_requested", "down", "up"], "{report}");
    }

    #[test]
    fn a_machine_made_before_its_start_boots_once_when_started() {
        let machine = WindowsMachine::new("WIN", "Administrator");
        let power = Power::new("i-1", Arc::clone(&machine), Duration::from_secs(1), false);
        assert!(!power.is_up());
        assert!(!power.stopped(), "never up: nothing to stop");
        assert!(power.running());
        assert_eq!(machine.boots(), 1, "its first start is its first boot");
        assert!(power.stopped());
        assert!(power.running());
        assert_eq!(machine.boots(), 2);
        assert_eq!(power.report()["power"][0]["cause"], "stopped");
    }
}
