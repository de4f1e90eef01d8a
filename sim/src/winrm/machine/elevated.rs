//! The two elevated runners, which run a command as a scheduled task of
//! another user and show what it printed through a log file:
//!
//! - kiln's `# kiln:elevated 1` (parameters `user`, `password`, `task`,
//!   `log`, `command`; docs/winrm-protocol.md): the task's action is
//!   `cmd /c <command> > <log> 2>&1`; the script prints the log's lines
//!   (CRLF each, `[Console]::Out.WriteLine`), deletes the task and the log
//!   and exits with the task's result. A task it cannot register: one line
//!   on stderr, `cannot register task <task> as <user>: <the exception's
//!   message>`, exit 1.
//! - Packer 1.6.6's wrapper (`packer-plugin-sdk/guestexec/elevated.go`),
//!   uploaded to `C:/Windows/Temp/packer-elevated-shell-<uuid>.ps1` and run
//!   with `powershell -executionpolicy bypass -file <it>`; recognised by its
//!   stable text, its values (`$name`, `$log`, `$password`, the user of
//!   `RegisterTaskDefinition`, the XML-escaped `<Arguments>`, `$script`)
//!   taken out of it. It prints the log's lines (`Write-Output "$_"`),
//!   removes the log and itself, and exits with the task's result. A task
//!   it cannot register: `RegisterTaskDefinition`'s error record on stderr
//!   and exit 1. (On Windows the wrapper goes on after that error and then
//!   polls `$t.state` of a task that does not exist for ever; the machine
//!   ends it instead, so that a wrong password fails a build rather than
//!   hanging it until Packer's timeout.)
//!
//! Everything runs at once: the task has ended when registering returns,
//! so "the lines as they come" are all the lines.

use super::clixml::{clixml, error_record};
use super::cmdlets::decode_text;
use super::pslang::Interp;
use super::tasks::{self, LogonError};
use super::{Ctx, Ended, say};

/// Registers the task `name` for `user` and runs `cmd <arguments>` as it:
/// its result, or why it could not be registered.
fn register_and_run(
    ctx: &mut Ctx<'_>,
    name: &str,
    user: &str,
    password: &str,
    arguments: &str,
) -> Result<i32, LogonError> {
    let account = tasks::logon(ctx, user, password)?;
    Ok(tasks::run(ctx, name, &account, "cmd", arguments))
}

/// The log's lines (as `Get-Content` splits them), each with CRLF on stdout.
fn show_log(ctx: &mut Ctx<'_>, log: &str) {
    let Some(text) = ctx.fs.read(log).map(decode_text) else { return };
    for line in text.lines() {
        say(&mut ctx.out.stdout, line);
    }
}

/// The message PowerShell gives a COM method's failure.
fn register_exception(why: LogonError) -> String {
    format!("Exception calling \"RegisterTaskDefinition\" with \"7\" argument(s): \"{}\"", why.message())
}

/// kiln's `elevated` script; `param` gives its header's values.
pub(crate) fn kiln(ctx: &mut Ctx<'_>, param: &dyn Fn(&str) -> Option<String>) -> Ended {
    const PARAMS: [&str; 5] = ["user", "password", "task", "log", "command"];
    if let Some(name) = PARAMS.into_iter().find(|name| param(name).is_none()) {
        say(&mut ctx.out.stderr, &format!("the elevated script has no ${name} parameter in its header"));
        return Ended::Exit(1);
    }
    let value = |name: &str| param(name).unwrap_or_default();
    let (user, password, task, log, command) =
        (value("user"), value("password"), value("task"), value("log"), value("command"));
    let log = ctx.resolve(&log);
    let arguments = format!("/c {command} > {log} 2>&1");
    match register_and_run(ctx, &task, &user, &password, &arguments) {
        Ok(code) => {
            show_log(ctx, &log);
            let _ = ctx.fs.remove_file(&log);
            Ended::Exit(code)
        }
        Err(why) => {
            let msg = format!("cannot register task {task} as {user}: {}", register_exception(why));
            say(&mut ctx.out.stderr, &msg);
            Ended::Exit(1)
        }
    }
}

/// Marks of Packer's wrapper: every one must be in the script.
const PACKER_MARKS: [&str; 3] = [
    "$s = New-Object -ComObject \"Schedule.Service\"",
    "$f.RegisterTaskDefinition($name, $t, 6, \"",
    "$t.Run($null) | Out-Null",
];

/// The text between `open` and the next `close` after it.
fn between<'a>(script: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = script.find(open)? + open.len();
    let len = script[start..].find(close)?;
    Some(&script[start..start + len])
}

/// The inside of the double-quoted PowerShell string that starts right
/// after `open` in `script`: up to the first `"` that no backtick escapes
/// (Packer escapes `$`, `"`, `` ` `` and `'` in the values it puts there).
fn quoted<'a>(script: &'a str, open: &str) -> Option<&'a str> {
    let start = script.find(open)? + open.len();
    let rest = &script[start..];
    let mut escaped = false;
    for (i, c) in rest.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '`' => escaped = true,
            '"' => return Some(&rest[..i]),
            _ => {}
        }
    }
    None
}

/// `text` with XML's character references resolved, as Go's
/// `xml.EscapeText` wrote them (`&amp;`, `&lt;`, `&gt;`, `&#34;`, `&#39;`,
/// `&#x9;`, ...). An unknown reference is kept as written.
fn xml_unescape(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let Some(end) = after.find(';').filter(|&e| e <= 8) else {
            out.push('&');
            rest = after;
            continue;
        };
        let name = &after[..end];
        let c = match name {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => match name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
                Some(hex) => u32::from_str_radix(hex, 16).ok().and_then(char::from_u32),
                None => name.strip_prefix('#').and_then(|d| d.parse().ok()).and_then(char::from_u32),
            },
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &after[end + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Runs `script` if it is Packer 1.6.6's elevated wrapper; its exit code,
/// or `None` when it is not.
pub(crate) fn packer(ctx: &mut Ctx<'_>, script: &str) -> Option<i32> {
    if !PACKER_MARKS.iter().all(|m| script.contains(m)) {
        return None;
    }
    let interp = Interp::new();
    let value = |ctx: &Ctx<'_>, open: &str| quoted(script, open).map(|v| interp.expand(ctx, v));
    let name = value(ctx, "$name = \"")?;
    let user = value(ctx, "$f.RegisterTaskDefinition($name, $t, 6, \"")?;
    let password = value(ctx, "$password = \"").unwrap_or_default();
    let log = between(script, "$log = [System.Environment]::ExpandEnvironmentVariables(\"", "\")")
        .map(|l| ctx.env.expand_percent(l))?;
    let log = ctx.resolve(&log);
    let wrapper = between(script, "$script = [System.Environment]::ExpandEnvironmentVariables(\"", "\")")
        .map(|s| ctx.env.expand_percent(s));
    let arguments = xml_unescape(between(script, "<Arguments>", "</Arguments>")?);
    match register_and_run(ctx, &name, &user, &password, &arguments) {
        Ok(code) => {
            show_log(ctx, &log);
            let _ = ctx.fs.remove_file(&log);
            if let Some(wrapper) = wrapper {
                let path = ctx.resolve(&wrapper);
                let _ = ctx.fs.remove_file(&path);
            }
            Some(code)
        }
        Err(why) => {
            let cat = "NotSpecified: (:) [], MethodInvocationException";
            let rec = error_record(&register_exception(why), None, cat, "ComMethodTargetInvocation");
            ctx.out.stderr.extend(clixml(&[rec]));
            Some(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_references_are_resolved_as_go_wrote_them() {
        assert_eq!(
            xml_unescape("a &gt; b 2&gt;&amp;1 &#34;q&#34; &#39;s&#39; &#x9;t &bogus; &"),
            "a > b 2>&1 \"q\" 's' \tt &bogus; &"
        );
    }
}
