//! Restarts and shutdowns: what `shutdown.exe`, `sysprep.exe`,
//! `Restart-Computer` and `Stop-Computer` ask of the machine, and the
//! machine's boots.
//!
//! A command only *requests*: the request is pending until its delay
//! (`shutdown /t N`, counted from the command by the machine's
//! [`Clock`](super::clock::Clock)) has passed, and then it is due. The
//! endpoint that serves the machine takes a due request
//! ([`WindowsMachine::take_power_request`](super::WindowsMachine::take_power_request))
//! and makes it happen (its shells go, its ports refuse connections), then
//! tells the machine it came up again ([`Power::booted`]).
//!
//! `shutdown.exe` answers as Windows does: a second request while one is
//! pending is error 1190 (`ERROR_SHUTDOWN_IS_SCHEDULED`), or 1115
//! (`ERROR_SHUTDOWN_IN_PROGRESS`) once it is due; `shutdown /a` cancels a
//! pending request within its delay, and with nothing pending is error 1116
//! (`ERROR_NO_SHUTDOWN_IN_PROGRESS`). That is what Packer 1.6.6's
//! windows-restart relies on: it sends `shutdown /r /f /t 60 /c "packer restart test"`
//! and, when that succeeds (the machine is up again), cancels it with
//! `shutdown /a`.

use std::time::{Duration, SystemTime};

use super::cmdline::args;
use super::{Ctx, say};

/// What a command asked the machine to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum PowerRequest {
    /// Restart: the machine goes away and comes back with a new boot time.
    Restart,
    /// Shut down (`shutdown /s`, sysprep's `/shutdown`): it stays off.
    Shutdown,
}

/// A request not yet taken by the endpoint.
#[derive(Debug, Clone, Copy)]
struct Pending {
    request: PowerRequest,
    /// When its delay has passed.
    due: SystemTime,
}

/// Why a power command was refused: the Win32 error `shutdown.exe` ends with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// A request is pending and its delay has not passed (1190).
    Scheduled,
    /// A request is due: the shutdown is under way (1115).
    InProgress,
    /// `shutdown /a` with nothing pending (1116).
    NothingToAbort,
}

impl Refusal {
    /// The exit code: the Win32 error number.
    pub(crate) fn code(self) -> i32 {
        match self {
            Refusal::Scheduled => 1190,
            Refusal::InProgress => 1115,
            Refusal::NothingToAbort => 1116,
        }
    }

    /// The system's message for the error.
    pub(crate) fn message(self) -> &'static str {
        match self {
            Refusal::Scheduled => "A system shutdown has already been scheduled.",
            Refusal::InProgress => "A system shutdown is in progress.",
            Refusal::NothingToAbort => "Unable to abort the system shutdown because no shutdown was in progress.",
        }
    }
}

/// The machine's power state: its boots and the request pending.
#[derive(Debug)]
pub(crate) struct Power {
    pending: Option<Pending>,
    boots: u32,
    boot: SystemTime,
}

impl Power {
    /// A machine that booted (for the first time) at `now`.
    pub(crate) fn new(now: SystemTime) -> Power {
        Power { pending: None, boots: 1, boot: now }
    }

    /// Requests `request` after `delay`, unless one is pending already.
    pub(crate) fn request(&mut self, request: PowerRequest, now: SystemTime, delay: Duration) -> Result<(), Refusal> {
        if let Some(p) = self.pending {
            return Err(if now >= p.due { Refusal::InProgress } else { Refusal::Scheduled });
        }
        self.pending = Some(Pending { request, due: now + delay });
        Ok(())
    }

    /// Requests `request` now whatever is pending (sysprep does not ask
    /// the shutdown API whether one is scheduled: it replaces it).
    pub(crate) fn force(&mut self, request: PowerRequest, now: SystemTime) {
        self.pending = Some(Pending { request, due: now });
    }

    /// `shutdown /a`: cancels the pending request while its delay runs.
    pub(crate) fn abort(&mut self, now: SystemTime) -> Result<(), Refusal> {
        match self.pending {
            None => Err(Refusal::NothingToAbort),
            Some(p) if now >= p.due => Err(Refusal::InProgress),
            Some(_) => {
                self.pending = None;
                Ok(())
            }
        }
    }

    /// The pending request if it is due, taken (once).
    pub(crate) fn take(&mut self, now: SystemTime) -> Option<PowerRequest> {
        let p = self.pending.filter(|p| now >= p.due)?;
        self.pending = None;
        Some(p.request)
    }

    /// Whether a request is pending, due or not.
    pub(crate) fn pending(&self) -> bool {
        self.pending.is_some()
    }

    /// The machine came up again at `now`: a new boot, nothing pending.
    /// The boot time always moves forward (by at least one tick), so that
    /// a client comparing boot times sees every restart.
    pub(crate) fn booted(&mut self, now: SystemTime) {
        self.pending = None;
        self.boots += 1;
        self.boot = now.max(self.boot + Duration::from_nanos(100));
    }

    /// How many times the machine has booted (1 after it was made).
    pub(crate) fn boots(&self) -> u32 {
        self.boots
    }

    /// When it last booted.
    pub(crate) fn boot_time(&self) -> SystemTime {
        self.boot
    }
}

/// The start of `shutdown /?`, which `shutdown` with no action prints.
const USAGE: &str = "Usage: shutdown [/i | /l | /s | /sg | /r | /g | /a | /p | /h | /e | /o] [/hybrid] [/soft] [/fw] [/f]\r\n\
                     \x20   [/m \\\\computer][/t xxx][/d [p|u:]xx:yy [/c \"comment\"]]";

/// Says a refusal on stderr as `shutdown.exe` does and returns its code.
fn refused(ctx: &mut Ctx<'_>, why: Refusal) -> i32 {
    say(&mut ctx.out.stderr, &format!("{}({})", why.message(), why.code()));
    why.code()
}

/// `shutdown.exe` with the arguments `rest`: `/r` and `/g` restart, `/s`,
/// `/sg`, `/p` and `/h` shut down, `/a` aborts, `/l` (log off) ends
/// nothing here; `/t N` (default 30 s; `/p` none) delays the request;
/// `/f`, `/c`, `/d`, `/m`, `/hybrid` and `/soft` are taken and ignored.
/// A bad option or `/t` value is "The parameter is incorrect.(87)".
pub(crate) fn shutdown_exe(ctx: &mut Ctx<'_>, rest: &str) -> i32 {
    let words = args(rest);
    let mut action = None;
    let mut delay = None;
    let mut immediate = false;
    let mut it = words.iter();
    while let Some(word) = it.next() {
        let Some(opt) = word.strip_prefix(['/', '-']).map(str::to_ascii_lowercase) else {
            return refused_parameter(ctx);
        };
        match opt.as_str() {
            "r" | "g" => action = Some(Some(PowerRequest::Restart)),
            "s" | "sg" | "h" => action = Some(Some(PowerRequest::Shutdown)),
            "p" => {
                action = Some(Some(PowerRequest::Shutdown));
                immediate = true;
            }
            "a" => action = Some(None),
            "l" => return 0,
            "?" => {
                say(&mut ctx.out.stdout, USAGE);
                return 0;
            }
            "t" => match it.next().and_then(|n| n.parse::<u64>().ok()).filter(|n| *n <= 315_360_000) {
                Some(n) => delay = Some(n),
                None => return refused_parameter(ctx),
            },
            "c" | "d" | "m" => {
                it.next();
            }
            "f" | "hybrid" | "soft" | "fw" | "e" | "o" | "i" => {}
            _ => return refused_parameter(ctx),
        }
    }
    let now = ctx.machine.now();
    let delay = Duration::from_secs(if immediate { 0 } else { delay.unwrap_or(30) });
    let result = match action {
        None => {
            say(&mut ctx.out.stdout, USAGE);
            return 0;
        }
        Some(None) => ctx.machine.power().abort(now),
        Some(Some(request)) => ctx.machine.power().request(request, now, delay),
    };
    match result {
        Ok(()) => 0,
        Err(why) => refused(ctx, why),
    }
}

fn refused_parameter(ctx: &mut Ctx<'_>) -> i32 {
    say(&mut ctx.out.stderr, "The parameter is incorrect.(87)");
    87
}

/// Whether `word` (a command word, any path and case) names `sysprep.exe`.
pub(crate) fn is_sysprep(word: &str) -> bool {
    let base = word.rsplit(['\\', '/']).next().unwrap_or("").trim_matches('"').to_ascii_lowercase();
    base == "sysprep" || base == "sysprep.exe"
}

/// `sysprep.exe` with the arguments `rest`: `/shutdown` shuts the machine
/// down and `/reboot` restarts it, at once (generalising is not modelled:
/// the files stay as they are); `/quit`, or no action, requests nothing.
/// Exit 0.
pub(crate) fn sysprep_exe(ctx: &mut Ctx<'_>, rest: &str) -> i32 {
    let words: Vec<String> = args(rest).iter().map(|w| w.to_ascii_lowercase()).collect();
    let request = if words.iter().any(|w| w == "/shutdown") {
        Some(PowerRequest::Shutdown)
    } else if words.iter().any(|w| w == "/reboot") {
        Some(PowerRequest::Restart)
    } else {
        None
    };
    if let Some(request) = request {
        let now = ctx.machine.now();
        ctx.machine.power().force(request, now);
    }
    0
}

/// `Restart-Computer` / `Stop-Computer`: requests `request` at once;
/// the message of the cmdlet's error when one is pending already.
pub(crate) fn computer_cmdlet(ctx: &mut Ctx<'_>, request: PowerRequest) -> Result<(), String> {
    let now = ctx.machine.now();
    let result = ctx.machine.power().request(request, now, Duration::ZERO);
    result.map_err(|why| {
        let verb = if request == PowerRequest::Restart { "restart" } else { "stop" };
        format!(
            "Failed to {verb} the computer {} with the following error message: {}",
            ctx.machine.hostname,
            why.message()
        )
    })
}

/// The value of a boot-time expression, as PowerShell would print it:
/// `(Get-CimInstance Win32_OperatingSystem).LastBootUpTime` (also
/// `gcim`, `-ClassName`) is a `DateTime` (its long form), with
/// `.ToUniversalTime()` the same (the machine's zone is UTC), with `.Ticks`
/// its .NET ticks; `(Get-WmiObject Win32_OperatingSystem).LastBootUpTime`
/// (`gwmi`) is WMI's `yyyyMMddHHmmss.ffffff+000` text. `None` for any other
/// text.
pub(crate) fn boot_time_value(ctx: &Ctx<'_>, text: &str) -> Option<String> {
    let plain: String = text.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_lowercase();
    let (cim, rest) = [
        ("(get-ciminstancewin32_operatingsystem)", true),
        ("(get-ciminstance-classnamewin32_operatingsystem)", true),
        ("(gcimwin32_operatingsystem)", true),
        ("(get-wmiobjectwin32_operatingsystem)", false),
        ("(get-wmiobject-classwin32_operatingsystem)", false),
        ("(gwmiwin32_operatingsystem)", false),
    ]
    .iter()
    .find_map(|(open, cim)| plain.strip_prefix(open).map(|rest| (*cim, rest)))?;
    let boot = ctx.machine.boot_time();
    let rest = rest.strip_prefix(".lastbootuptime")?;
    if !cim {
        return rest.is_empty().then(|| {
            let at: chrono::DateTime<chrono::Utc> = boot.into();
            at.format("%Y%m%d%H%M%S.%6f+000").to_string()
        });
    }
    let rest = rest.strip_prefix(".touniversaltime()").unwrap_or(rest);
    match rest {
        "" => Some(super::clock::long_date_time(boot)),
        ".ticks" => Some(super::clock::ticks(boot).to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_wait_for_their_delay_and_abort_within_it() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut p = Power::new(t0);
        assert_eq!(p.abort(t0), Err(Refusal::NothingToAbort));
        p.request(PowerRequest::Restart, t0, Duration::from_secs(60)).unwrap();
        assert_eq!(p.request(PowerRequest::Restart, t0, Duration::ZERO), Err(Refusal::Scheduled));
        assert_eq!(p.take(t0 + Duration::from_secs(59)), None);
        assert!(p.pending());
        p.abort(t0 + Duration::from_secs(59)).unwrap();
        assert!(!p.pending());
        p.request(PowerRequest::Shutdown, t0, Duration::from_secs(5)).unwrap();
        let later = t0 + Duration::from_secs(5);
        assert_eq!(p.abort(later), Err(Refusal::InProgress));
        assert_eq!(p.take(later), Some(PowerRequest::Shutdown));
        assert_eq!(p.take(later), None);
        // A boot at the same instant still moves the boot time on.
        p.booted(t0);
        assert_eq!((p.boots(), p.boot_time()), (2, t0 + Duration::from_nanos(100)));
    }
}
