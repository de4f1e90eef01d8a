//! Scheduled tasks and the accounts they run as.
//!
//! Registering a task checks its user and password against the machine's
//! accounts, as the Task Scheduler does for logon type "password": the
//! machine's own user (the WinRM user, an administrator, as Administrator
//! is) with the machine's password, and the service accounts `SYSTEM`,
//! `NETWORK SERVICE` and `LOCAL SERVICE` (with or without `NT AUTHORITY\`),
//! which take no password. Running one runs its action (`cmd /c ...`) as
//! that user, with that user's own environment and no console: what it
//! prints goes nowhere unless its command line redirects it (both
//! elevated runners send it to a log file). Its result (`LastTaskResult`)
//! is the action's exit code. The machine keeps a [`TaskRecord`] of every
//! task that ran; the password is never kept.

use super::env::Env;
use super::{Ctx, Ended, Job, MAX_NESTING, Output, say};

/// One task that ran, as the machine's records show it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TaskRecord {
    /// The task's name (`kiln-elevated-<uuid>`, `packer-<uuid>`).
    pub name: String,
    /// The account it ran as, spelled as the machine knows it
    /// (`Administrator`, `SYSTEM`).
    pub user: String,
    /// Its result: the exit code of its action.
    pub exit_code: i32,
}

/// The service accounts, which log on without a password.
const SERVICE_ACCOUNTS: &[&str] = &["SYSTEM", "NETWORK SERVICE", "LOCAL SERVICE"];

/// Why a task could not be registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogonError {
    /// The account exists but the password is not its own (for a service
    /// account: any password at all).
    WrongPassword,
    /// No account of that name.
    UnknownUser,
}

impl LogonError {
    /// The scheduler's message, as `RegisterTaskDefinition`'s COM error
    /// carries it.
    pub(crate) fn message(self) -> &'static str {
        match self {
            LogonError::WrongPassword => "The user name or password is incorrect. (Exception from HRESULT: 0x8007052E)",
            LogonError::UnknownUser => {
                "No mapping between account names and security IDs was done. (Exception from HRESULT: 0x80070534)"
            }
        }
    }
}

/// An account a task runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Account {
    /// Its name as the machine spells it (`Administrator`, `SYSTEM`).
    pub name: String,
    /// Whether it is one of the service accounts.
    pub service: bool,
}

/// The account `user` names (`name`, `.\name`, `HOST\name`,
/// `NT AUTHORITY\name`, any case) if `password` is its password.
pub(crate) fn logon(ctx: &Ctx<'_>, user: &str, password: &str) -> Result<Account, LogonError> {
    let (domain, bare) = match user.split_once('\\') {
        Some((d, b)) => (Some(d), b),
        None => (None, user),
    };
    let machine = ctx.machine;
    let local = domain.is_none_or(|d| d == "." || d.eq_ignore_ascii_case(&machine.hostname));
    if let Some(service) = SERVICE_ACCOUNTS.iter().find(|a| a.eq_ignore_ascii_case(bare))
        && domain.is_none_or(|d| d.eq_ignore_ascii_case("NT AUTHORITY"))
    {
        return if password.is_empty() {
            Ok(Account { name: service.to_string(), service: true })
        } else {
            Err(LogonError::WrongPassword)
        };
    }
    if !(local && bare.eq_ignore_ascii_case(&machine.username)) {
        return Err(LogonError::UnknownUser);
    }
    if password != machine.password() {
        return Err(LogonError::WrongPassword);
    }
    Ok(Account { name: machine.username.clone(), service: false })
}

/// The environment a task of `account` starts with: its own profile's
/// (for a service account, the system's), not the WinRM shell's.
fn environment(ctx: &Ctx<'_>, account: &Account) -> Env {
    let host = &ctx.machine.hostname;
    if !account.service {
        return Env::for_machine(host, &account.name, &[]);
    }
    let profile = match account.name.as_str() {
        "SYSTEM" => "C:\\Windows\\system32\\config\\systemprofile".to_string(),
        other => format!("C:\\Windows\\ServiceProfiles\\{}", other.replace(' ', "")),
    };
    let user = if account.name == "SYSTEM" { format!("{}$", host.to_uppercase()) } else { account.name.clone() };
    let vars: Vec<(String, String)> = [
        ("USERNAME", user),
        ("USERDOMAIN", "NT AUTHORITY".to_string()),
        ("USERPROFILE", profile.clone()),
        ("HOMEPATH", profile[2..].to_string()),
        ("APPDATA", format!("{profile}\\AppData\\Roaming")),
        ("LOCALAPPDATA", format!("{profile}\\AppData\\Local")),
        ("TEMP", "C:\\Windows\\TEMP".to_string()),
        ("TMP", "C:\\Windows\\TEMP".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    Env::for_machine(host, &account.name, &vars)
}

/// Runs the task `name`'s action, `program arguments`, as `account`, in
/// `C:\Windows\system32` (a task's default working directory), and
/// records it; its result. Tasks that register tasks stop at `cmd`'s
/// nesting bound (exit 1, said on the caller's stderr).
pub(crate) fn run(ctx: &mut Ctx<'_>, name: &str, account: &Account, program: &str, arguments: &str) -> i32 {
    if ctx.nesting >= MAX_NESTING {
        say(&mut ctx.out.stderr, &format!("task {name} not run: tasks and shells nest too deep here"));
        return 1;
    }
    let env = environment(ctx, account);
    let mut task = Ctx {
        machine: ctx.machine,
        fs: &mut *ctx.fs,
        env,
        cwd: "C:\\Windows\\System32".to_string(),
        user: account.name.clone(),
        out: Output::default(),
        nesting: ctx.nesting + 1,
        held: 0,
        max_output: ctx.max_output,
        out_of_room: false,
    };
    let code = match task.run_line(&format!("{program} {arguments}")) {
        Ended::Exit(code) => code,
        // A task's stdin is empty: kiln's put ends at once, get runs through.
        Ended::Job(Job::Put(mut put)) => put.feed(task.fs, b"", true, &mut task.out).unwrap_or(1),
        Ended::Job(Job::Get(mut get)) => loop {
            task.out.stdout.clear();
            if let Some(code) = get.produce(&mut task.out.stdout, 1 << 20) {
                break code;
            }
        },
    };
    let record = TaskRecord { name: name.to_string(), user: account.name.clone(), exit_code: code };
    ctx.machine.record_task(record);
    code
}
