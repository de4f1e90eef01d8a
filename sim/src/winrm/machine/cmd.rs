//! The `cmd.exe` subset a WinRM `cmd` shell runs every command line through.
//!
//! Understood: `%VAR%` expansion over the whole line (first, as cmd does),
//! `&`, `&&`, `||`, `^` escapes, `"` quoting, redirections `>`, `>>`, `1>`,
//! `2>`, `2>&1`, `>nul`; built-ins `echo` (`echo.`), `exit [/b] [N]`, `set`,
//! `type`, `del`/`erase`, `mkdir`/`md`, `cd`/`chdir`, `hostname`, `whoami`,
//! `ver`, `cmd /c`; the programs `shutdown` and `sysprep` (`power`);
//! `.bat`/`.cmd` files; and `powershell[.exe]`. Anything else is cmd's "not
//! recognized" message on stderr and errorlevel 9009, as a real cmd sets it.
//! `|` pipes and `( )` groups are not understood. A line longer than 8191
//! characters, before or after `%VAR%` expansion (batch lines too), is
//! refused as cmd refuses it. `cmd /c` and batch files nest at most
//! [`MAX_NESTING`] deep.

use super::cmdline::{Op, Target, args, split_chain, split_word, take_redirections};
use super::fs::{self, FsError, Kind};
use super::{Ctx, Ended, MAX_NESTING, output_full_message, power, powershell, say};

/// The longest command line cmd.exe takes, in characters.
pub const MAX_LINE: usize = 8191;

/// The errorlevel cmd sets for a command it cannot find.
pub const NOT_RECOGNIZED: i32 = 9009;

/// What cmd prints when batch files nest too deep.
const TOO_DEEP: &str = "******  B A T C H   R E C U R S I O N  exceeds STACK limits ******\r\n\
                        Recursion Count=64, Stack Usage=90 percent\r\n\
                        ******       B A T C H   PROCESSING IS   A B O R T E D      ******";

/// How a command of a chain ended.
enum Flow {
    /// Go on with the chain; this is the errorlevel.
    Next(i32),
    /// `exit`: the whole line ends with this code.
    Exit(i32),
    /// `exit /b`: a batch file ends with this code (on a command line, the
    /// line does).
    ExitBatch(i32),
    /// A process that goes on after `start` (kiln's put/get): the rest of the
    /// line is not run.
    Job(super::Job),
}

/// Runs a whole command line; the exit code is the last command's errorlevel.
pub(crate) fn run_line(ctx: &mut Ctx<'_>, line: &str) -> Ended {
    // cmd's limit: what makes winrmcp cut its uploads into ~8000-character
    // chunks, and what a long `-EncodedCommand` script runs into.
    if too_long(ctx, line) {
        return Ended::Exit(1);
    }
    match chain(ctx, line, false) {
        Flow::Next(code) | Flow::Exit(code) | Flow::ExitBatch(code) => Ended::Exit(code),
        Flow::Job(job) => Ended::Job(job),
    }
}

/// Says cmd's error when `line` is longer than [`MAX_LINE`].
fn too_long(ctx: &mut Ctx<'_>, line: &str) -> bool {
    let long = line.chars().count() > MAX_LINE;
    if long {
        say(&mut ctx.out.stderr, "The command line is too long.");
    }
    long
}

/// Runs one line of commands (`%VAR%` expanded first, as a batch file's
/// lines are when `in_batch`); how it ended.
fn chain(ctx: &mut Ctx<'_>, line: &str, in_batch: bool) -> Flow {
    if too_long(ctx, line) {
        return Flow::Next(1);
    }
    let line = if in_batch { ctx.env.expand_batch(line) } else { ctx.env.expand_percent(line) };
    if too_long(ctx, &line) {
        return Flow::Next(1);
    }
    let mut code = 0;
    for (op, segment) in split_chain(&line) {
        if ctx.output_full() {
            let msg = output_full_message(ctx.max_output);
            say(&mut ctx.out.stderr, &msg);
            return Flow::Exit(1);
        }
        let run = match op {
            Op::Always => true,
            Op::And => code == 0,
            Op::Or => code != 0,
        };
        if !run {
            continue;
        }
        match simple(ctx, &segment) {
            Flow::Next(c) => code = c,
            other => return other,
        }
    }
    Flow::Next(code)
}

/// Runs a `.bat`/`.cmd` file line by line, as if `@echo off` were its first
/// line (cmd would echo each command otherwise; Packer's windows-shell
/// scripts start with it as a rule). `rem` and `::` lines are skipped;
/// `%%` is `%`, an undefined `%VAR%` and `%1`-style arguments (none are
/// passed) are empty; labels are not understood.
fn batch(ctx: &mut Ctx<'_>, text: &str) -> Flow {
    let mut code = 0;
    for line in text.lines() {
        let line = line.trim().trim_start_matches('@');
        let lower = line.to_ascii_lowercase();
        if line.is_empty() || lower.starts_with("rem ") || lower == "rem" || line.starts_with("::") {
            continue;
        }
        if lower == "echo off" || lower == "echo on" {
            continue;
        }
        match chain(ctx, line, true) {
            Flow::Next(c) => code = c,
            Flow::ExitBatch(c) => return Flow::Next(c),
            other => return other,
        }
    }
    Flow::Next(code)
}

/// Runs one command with its redirections.
fn simple(ctx: &mut Ctx<'_>, text: &str) -> Flow {
    let (text, redirs) = take_redirections(text);
    // cmd opens (and so creates or truncates) redirection files before it
    // runs the command; a target it cannot open stops the command.
    for (_, target) in &redirs {
        if let Target::File { path, append } = target {
            let path = ctx.resolve(path);
            let opened = match (append, ctx.fs.kind(&path)) {
                (_, Kind::Dir) => Err(FsError::IsDir(path.clone())),
                (true, Kind::File) => Ok(()),
                _ => ctx.fs.write(&path, Vec::new()),
            };
            if let Err(e) = opened {
                let msg = match e {
                    FsError::IsDir(_) => "Access is denied.\r\n",
                    _ => "The system cannot find the path specified.\r\n",
                };
                ctx.out.stderr.extend_from_slice(msg.as_bytes());
                return Flow::Next(1);
            }
        }
    }
    if redirs.is_empty() {
        return builtin(ctx, &text);
    }
    let saved = std::mem::take(&mut ctx.out);
    let set_aside = saved.stdout.len() + saved.stderr.len();
    ctx.held += set_aside;
    let flow = builtin(ctx, &text);
    ctx.held -= set_aside;
    let made = std::mem::replace(&mut ctx.out, saved);
    let route = |handle: u8| {
        let mut target = Target::Handle(handle);
        for (h, t) in &redirs {
            if *h == handle {
                target = t.clone();
            }
        }
        target
    };
    let mut flow = flow;
    for (handle, bytes) in [(1u8, made.stdout), (2u8, made.stderr)] {
        match route(handle) {
            Target::Nul => {}
            Target::Handle(1) => ctx.out.stdout.extend(bytes),
            Target::Handle(_) => ctx.out.stderr.extend(bytes),
            Target::File { path, .. } => {
                let path = ctx.resolve(&path);
                // Opened above: only a full disk can refuse the bytes.
                if let Err(e) = ctx.fs.append(&path, &bytes) {
                    say(&mut ctx.out.stderr, &e.to_string());
                    if let Flow::Next(_) = flow {
                        flow = Flow::Next(1);
                    }
                }
            }
        }
    }
    flow
}

fn builtin(ctx: &mut Ctx<'_>, text: &str) -> Flow {
    let (word, rest) = split_word(text);
    let plain_args = || args(rest).into_iter().filter(|a| !a.starts_with('/')).collect::<Vec<_>>();
    match word.as_str() {
        "" => Flow::Next(0),
        "echo" => {
            // The one character after `echo` (space, `.`, `(`) separates; the
            // rest is printed as it is, trailing spaces and quotes included.
            let shown = rest.get(1..).unwrap_or("");
            let t = shown.trim();
            if rest.starts_with(|c: char| c.is_ascii_whitespace()) && t.is_empty() || rest.is_empty() {
                say(&mut ctx.out.stdout, "ECHO is on.");
            } else if !(t.eq_ignore_ascii_case("on") || t.eq_ignore_ascii_case("off")) {
                say(&mut ctx.out.stdout, shown);
            }
            Flow::Next(0)
        }
        "exit" => {
            let code = args(rest).iter().find(|a| !a.eq_ignore_ascii_case("/b")).map(|a| a.parse().unwrap_or(0));
            let code = code.unwrap_or(0);
            if args(rest).iter().any(|a| a.eq_ignore_ascii_case("/b")) {
                Flow::ExitBatch(code)
            } else {
                Flow::Exit(code)
            }
        }
        "set" => set(ctx, rest.trim()),
        "type" => {
            let mut code = 0;
            for name in plain_args() {
                if ctx.output_full() {
                    break;
                }
                match ctx.fs.read(&ctx.resolve(&name)) {
                    Some(bytes) => ctx.out.stdout.extend_from_slice(bytes),
                    None => {
                        let msg = match ctx.fs.kind(&ctx.resolve(&name)) {
                            Kind::Dir => "Access is denied.",
                            _ => "The system cannot find the file specified.",
                        };
                        say(&mut ctx.out.stderr, msg);
                        code = 1;
                    }
                }
            }
            Flow::Next(code)
        }
        "del" | "erase" => {
            for name in plain_args() {
                let path = ctx.resolve(&name);
                if ctx.fs.remove_file(&path).is_err() {
                    // del reports but keeps errorlevel 0, as the real one does.
                    say(&mut ctx.out.stderr, &format!("Could Not Find {path}"));
                }
            }
            Flow::Next(0)
        }
        "mkdir" | "md" => {
            let mut code = 0;
            for name in plain_args() {
                let path = ctx.resolve(&name);
                let msg = match ctx.fs.kind(&path) {
                    Kind::Missing => {
                        ctx.fs.mkdir_all(&path).err().map(|_| "The system cannot find the path specified.".to_string())
                    }
                    _ => Some(format!("A subdirectory or file {name} already exists.")),
                };
                if let Some(msg) = msg {
                    say(&mut ctx.out.stderr, &msg);
                    code = 1;
                }
            }
            Flow::Next(code)
        }
        "cd" | "chdir" => {
            let target = rest.trim().trim_start_matches("/d").trim_start_matches("/D").trim();
            if target.is_empty() {
                say(&mut ctx.out.stdout, &ctx.cwd.clone());
                return Flow::Next(0);
            }
            let path = ctx.resolve(target);
            if ctx.fs.kind(&path) == Kind::Dir {
                ctx.cwd = ctx.fs.spelled(&path).unwrap_or(&path).to_string();
                Flow::Next(0)
            } else {
                say(&mut ctx.out.stderr, "The system cannot find the path specified.");
                Flow::Next(1)
            }
        }
        "hostname" | "hostname.exe" => {
            say(&mut ctx.out.stdout, &ctx.machine.hostname.clone());
            Flow::Next(0)
        }
        "whoami" | "whoami.exe" => {
            let who = match ctx.env.get("USERDOMAIN") {
                Some("NT AUTHORITY") => format!("nt authority\\{}", ctx.user),
                _ => format!("{}\\{}", ctx.machine.hostname, ctx.user),
            }
            .to_lowercase();
            say(&mut ctx.out.stdout, &who);
            Flow::Next(0)
        }
        "shutdown" | "shutdown.exe" => Flow::Next(power::shutdown_exe(ctx, rest)),
        w if power::is_sysprep(w) => Flow::Next(power::sysprep_exe(ctx, rest)),
        "ver" => {
            ctx.out.stdout.extend_from_slice(b"\r\nMicrosoft Windows [Version 10.0.17763.1935]\r\n");
            Flow::Next(0)
        }
        "cmd" | "cmd.exe" => {
            let rest = rest.trim_start();
            let lower = rest.to_ascii_lowercase();
            let inner =
                ["/c ", "/k ", "/s /c ", "/q /c "].iter().find_map(|p| lower.starts_with(p).then(|| &rest[p.len()..]));
            match inner.map(|i| strip_outer_quotes(ctx, i)) {
                Some(inner) => nested(ctx, |ctx| match run_line(ctx, &inner) {
                    Ended::Exit(code) => Flow::Next(code),
                    Ended::Job(job) => Flow::Job(job),
                }),
                None => Flow::Next(0),
            }
        }
        w if is_powershell(w) => match powershell::run(ctx, rest) {
            Ended::Exit(code) => Flow::Next(code),
            Ended::Job(job) => Flow::Job(job),
        },
        _ if is_batch(ctx, &word) => {
            let path = ctx.resolve(&word);
            let text = String::from_utf8_lossy(ctx.fs.read(&path).unwrap_or_default()).into_owned();
            nested(ctx, |ctx| batch(ctx, &text))
        }
        _ => {
            let shown = text.trim().split(|c: char| c.is_ascii_whitespace()).next().unwrap_or("").trim_matches('"');
            let msg = format!(
                "'{shown}' is not recognized as an internal or external command,\r\noperable program or batch file."
            );
            say(&mut ctx.out.stderr, &msg);
            Flow::Next(NOT_RECOGNIZED)
        }
    }
}

/// What `cmd /c` runs of the text after `/c`, by cmd's rule: a line that
/// starts with `"` loses that quote and the last `"` on it, unless it holds
/// exactly two quotes around the path of an existing file with a space in
/// it and none of `&<>()@^|` (a quoted program path, kept as it is).
fn strip_outer_quotes(ctx: &Ctx<'_>, text: &str) -> String {
    let text = text.trim();
    let Some(after) = text.strip_prefix('"') else { return text.to_string() };
    let quotes = text.matches('"').count();
    let inside = after.split('"').next().unwrap_or("");
    if quotes == 2
        && inside.contains(' ')
        && !inside.contains(['&', '<', '>', '(', ')', '@', '^', '|'])
        && ctx.fs.kind(&ctx.resolve(inside)) == Kind::File
    {
        return text.to_string();
    }
    match after.rfind('"') {
        Some(last) => format!("{}{}", &after[..last], &after[last + 1..]),
        None => after.to_string(),
    }
}

/// Runs one program as PowerShell starts a native command: `line` is the
/// program and its arguments, run by cmd's built-ins (no `%VAR%` expansion,
/// no `&` chains: PowerShell hands the arguments over as they are). `None`
/// when `word` is not a program this machine has (`cmd`, `shutdown`,
/// `sysprep`, `whoami`, `hostname`, `powershell`, a `.bat`/`.cmd` file).
pub(crate) fn run_program(ctx: &mut Ctx<'_>, word: &str, line: &str) -> Option<Ended> {
    let w = word.to_ascii_lowercase();
    let known = ["cmd", "cmd.exe", "shutdown", "shutdown.exe", "whoami", "whoami.exe", "hostname", "hostname.exe"];
    if !(known.contains(&w.as_str()) || power::is_sysprep(&w) || is_powershell(&w) || is_batch(ctx, &w)) {
        return None;
    }
    Some(match builtin(ctx, line) {
        Flow::Next(code) | Flow::Exit(code) | Flow::ExitBatch(code) => Ended::Exit(code),
        Flow::Job(job) => Ended::Job(job),
    })
}

/// Runs `run` one level deeper, or refuses it (the batch-recursion message,
/// exit 1) at [`MAX_NESTING`]: the whole line stops, as cmd aborts.
fn nested(ctx: &mut Ctx<'_>, run: impl FnOnce(&mut Ctx<'_>) -> Flow) -> Flow {
    if ctx.nesting >= MAX_NESTING {
        say(&mut ctx.out.stderr, TOO_DEEP);
        return Flow::Exit(1);
    }
    ctx.nesting += 1;
    let flow = run(ctx);
    ctx.nesting -= 1;
    flow
}

/// Whether `word` names an existing `.bat` or `.cmd` file.
fn is_batch(ctx: &Ctx<'_>, word: &str) -> bool {
    (word.ends_with(".bat") || word.ends_with(".cmd")) && ctx.fs.kind(&ctx.resolve(word)) == Kind::File
}

/// `powershell`, `powershell.exe`, in any case, bare or with its full path.
fn is_powershell(word: &str) -> bool {
    let base = fs::base_name(&word.replace('/', "\\")).to_string();
    base == "powershell" || base == "powershell.exe"
}

fn set(ctx: &mut Ctx<'_>, rest: &str) -> Flow {
    let rest = rest.strip_prefix('"').and_then(|r| r.strip_suffix('"')).unwrap_or(rest);
    if let Some((name, value)) = rest.split_once('=') {
        ctx.env.set(name, value);
        return Flow::Next(0);
    }
    let mut any = false;
    for (k, v) in ctx.env.sorted() {
        if k.to_uppercase().starts_with(&rest.to_uppercase()) {
            say(&mut ctx.out.stdout, &format!("{k}={v}"));
            any = true;
        }
    }
    if any {
        Flow::Next(0)
    } else {
        say(&mut ctx.out.stderr, &format!("Environment variable {rest} not defined"));
        Flow::Next(1)
    }
}
