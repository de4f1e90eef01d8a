//! The PowerShell subset the machine runs: statements on lines or `;`,
//! strings in `'` (`''` for a quote) or `"` (with `$env:X` and `$x`
//! expansion, `` ` `` escapes), `$env:X = 'v'`, other assignments
//! (`$ProgressPreference = ...`: remembered, otherwise ignored), `exit [N]`,
//! `# comments`, `| Out-Null`, `> $null`, `2> $null`, the cmdlets of
//! `cmdlets`, `if` and script blocks (`psflow`), and the boot time
//! (`(Get-CimInstance Win32_OperatingSystem).LastBootUpTime`, see `power`).
//! A command it does not know is PowerShell's "not recognized" error.
//! Loops and .NET calls are not understood.
//!
//! The exit code without `exit` is PowerShell's for `-Command`: 1 when the
//! last statement failed, else 0.

use super::clixml::{clixml, error_record};
use super::pslang::{Halt, Interp, Stmt, Tok};
use super::{Ctx, cmdlets, power};

impl Interp {
    /// Runs one statement: whether it succeeded, or why the script stops.
    pub fn statement(&mut self, ctx: &mut Ctx<'_>, stmt: &Stmt) -> Result<bool, Halt> {
        if let Some(done) = self.control(ctx, stmt) {
            return done;
        }
        if let Some(value) = power::boot_time_value(ctx, &stmt.text) {
            ctx.out.stdout.extend_from_slice(format!("{value}\r\n").as_bytes());
            return Ok(true);
        }
        if let Some((name, rhs)) = assignment(&stmt.text)
            && let Some(value) = power::boot_time_value(ctx, rhs)
        {
            self.vars.insert(name.to_ascii_lowercase(), value);
            return Ok(true);
        }
        let mut toks = self.tokens(ctx, &stmt.text);
        if let Some(Tok::Word(w)) = toks.first()
            && w.eq_ignore_ascii_case("exit")
        {
            let code = toks.get(1).and_then(|t| self.value(ctx, t)).and_then(|v| v.parse().ok());
            return Err(Halt::Exit(code.unwrap_or(0)));
        }
        if let [Tok::Var(name), Tok::Assign, rest @ ..] = toks.as_slice() {
            let value = rest.first().and_then(|t| self.value(ctx, t)).unwrap_or_default();
            match name.to_ascii_lowercase().strip_prefix("env:") {
                Some(env) => ctx.env.set(env, &value),
                None => {
                    self.vars.insert(name.to_ascii_lowercase(), value);
                }
            }
            return Ok(true);
        }
        // Redirections of the whole statement: `> $null`, `2>$null`, `> file`.
        let (mut discard_out, mut discard_err, mut out_file) = (false, false, None);
        while let Some(pos) = toks.iter().position(|t| matches!(t, Tok::Redirect(_))) {
            let handle = if let Tok::Redirect(h) = toks[pos] { h } else { 1 };
            let target = toks.get(pos + 1).cloned();
            toks.drain(pos..(pos + 2).min(toks.len()));
            match (handle, target) {
                (2, _) => discard_err = true,
                (_, Some(Tok::Var(v))) if v.eq_ignore_ascii_case("null") => discard_out = true,
                (_, Some(t)) => out_file = self.value(ctx, &t),
                _ => {}
            }
        }
        let mut stages: Vec<Vec<Tok>> = toks.split(|t| *t == Tok::Pipe).map(<[Tok]>::to_vec).collect();
        for later in stages.drain(1..) {
            match later.first() {
                Some(Tok::Word(w)) if w.eq_ignore_ascii_case("out-null") => discard_out = true,
                Some(Tok::Word(w))
                    if ["out-string", "out-default", "out-host"].contains(&w.to_ascii_lowercase().as_str()) => {}
                _ => return Ok(self.not_found(ctx, stmt, &later)),
            }
        }
        let saved = std::mem::take(&mut ctx.out.stdout);
        let errors_before = self.errors.len();
        ctx.held += saved.len();
        let ok = cmdlets::call(self, ctx, stmt, &stages[0]);
        ctx.held -= saved.len();
        let made = std::mem::replace(&mut ctx.out.stdout, saved);
        if discard_err {
            self.errors.truncate(errors_before);
        }
        if let Some(file) = out_file {
            // `>` is Out-File: UTF-16LE with a byte order mark in 5.1.
            let mut bytes = vec![0xFF, 0xFE];
            for unit in String::from_utf8_lossy(&made).encode_utf16() {
                bytes.extend(unit.to_le_bytes());
            }
            let path = ctx.resolve(&file);
            if ctx.fs.write(&path, bytes).is_err() {
                let msg = format!("Could not find a part of the path '{path}'.");
                let cat = "OpenError: (:) [Out-File], DirectoryNotFoundException";
                self.errors.push(error_record(
                    &msg,
                    Some(&stmt.at),
                    cat,
                    "FileOpenFailure,Microsoft.PowerShell.Commands.OutFileCommand",
                ));
                return Ok(false);
            }
        } else if !discard_out {
            ctx.out.stdout.extend(made);
        }
        Ok(ok)
    }
}

/// `$name = rhs`: the name and the right-hand side.
fn assignment(text: &str) -> Option<(&str, &str)> {
    let (name, rhs) = text.strip_prefix('$')?.split_once('=')?;
    let name = name.trim();
    (!name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_')).then(|| (name, rhs.trim()))
}

/// Runs a script file of the subset as `powershell -File` does: exit code
/// its `exit N`, 1 if it stopped on an error, else 0 (whatever its last
/// statement did); its error records go to stderr as CLIXML.
pub(crate) fn run_file(ctx: &mut Ctx<'_>, script: &str) -> i32 {
    let mut interp = Interp::new();
    let code = match interp.block(ctx, script) {
        Ok(_) => 0,
        Err(Halt::Exit(exit)) => exit,
        Err(Halt::CallDepthOverflow | Halt::OutputFull) => 1,
    };
    ctx.out.stderr.extend(clixml(&interp.errors));
    code
}

/// Runs a script of the subset; its error records go to stderr as CLIXML.
pub(crate) fn run(ctx: &mut Ctx<'_>, script: &str) -> i32 {
    let mut interp = Interp::new();
    let code = match interp.block(ctx, script) {
        Ok(ok) => i32::from(!ok),
        Err(Halt::Exit(exit)) => exit,
        Err(Halt::CallDepthOverflow | Halt::OutputFull) => 1,
    };
    ctx.out.stderr.extend(clixml(&interp.errors));
    code
}
