//! `powershell.exe` as a command line starts it, and the error stream it
//! writes when it is not interactive.
//!
//! Flags understood (any case, with the abbreviations powershell.exe takes):
//! `-NoProfile`, `-NonInteractive`, `-NoLogo`, `-NoExit`, `-Sta`, `-Mta`,
//! `-ExecutionPolicy X`, `-InputFormat X`, `-OutputFormat X`,
//! `-WindowStyle X`, `-Version X`, `-EncodedCommand <base64 of UTF-16LE>`
//! (`-enc`, `-e`, `-ec`), `-Command <text>` (`-c`: the rest of the line),
//! `-File <path>` (a script file on the machine), or the script as the rest
//! of the line. The script then goes to kiln's
//! scripts, to the Packer/winrmcp scripts, or to the PowerShell subset, in
//! that order.

use base64::Engine as _;

use super::cmdlets::decode_text;
use super::{Ctx, Ended, elevated, kiln, packer, pscript, say};

/// Flags without a value: full name and the shortest prefix accepted.
const SWITCHES: &[(&str, usize)] =
    &[("noprofile", 3), ("noninteractive", 4), ("nologo", 3), ("noexit", 3), ("sta", 3), ("mta", 3)];

/// Flags that take the next argument as their value.
const WITH_VALUE: &[(&str, usize)] = &[
    ("executionpolicy", 2),
    ("inputformat", 2),
    ("outputformat", 1),
    ("windowstyle", 1),
    ("version", 1),
    ("configurationname", 4),
];

fn is_flag(word: &str, table: &[(&str, usize)]) -> bool {
    table.iter().any(|(full, min)| word.len() >= *min && full.starts_with(word))
}

/// Splits off the first argument of `text` (quotes grouping): it and the rest.
fn next_arg(text: &str) -> Option<(String, &str)> {
    let text = text.trim_start();
    if text.is_empty() {
        return None;
    }
    let mut quoted = false;
    let end = text
        .char_indices()
        .find(|&(_, c)| {
            if c == '"' {
                quoted = !quoted;
            }
            c.is_ascii_whitespace() && !quoted
        })
        .map(|(i, _)| i)
        .unwrap_or(text.len());
    Some((text[..end].replace('"', ""), &text[end..]))
}

/// The script as `-Command` or the rest of the line gives it: the text with
/// one pair of quotes around the whole of it dropped, as cmd's argument
/// splitting and powershell.exe's joining of its arguments come to.
fn command_text(text: &str) -> String {
    let t = text.trim();
    match t.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) if !inner.contains('"') => inner.to_string(),
        _ => t.to_string(),
    }
}

/// Decodes an `-EncodedCommand` value: base64 of UTF-16LE text.
pub(crate) fn decode_encoded(value: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(value.trim()).ok()?;
    if bytes.len() % 2 != 0 {
        return None;
    }
    let units: Vec<u16> = bytes.chunks(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    Some(String::from_utf16_lossy(&units))
}

/// Runs `powershell.exe` with the arguments `rest`.
pub(crate) fn run(ctx: &mut Ctx<'_>, rest: &str) -> Ended {
    let mut rest = rest;
    let script = loop {
        let Some((arg, after)) = next_arg(rest) else {
            // No command at all: an interactive prompt over a pipe reads
            // stdin, which no client of ours sends; end as if it were empty.
            return Ended::Exit(0);
        };
        let flag = arg.strip_prefix('-').or_else(|| arg.strip_prefix('/')).map(str::to_ascii_lowercase);
        match flag {
            Some(f) if is_flag(&f, SWITCHES) => rest = after,
            Some(f) if is_flag(&f, WITH_VALUE) => rest = next_arg(after).map(|(_, r)| r).unwrap_or(""),
            Some(f) if ["e", "ec"].contains(&f.as_str()) || (f.len() >= 3 && "encodedcommand".starts_with(&f)) => {
                let value = next_arg(after).map(|(v, _)| v).unwrap_or_default();
                match decode_encoded(&value) {
                    Some(script) => break script,
                    None => {
                        ctx.out.stderr.extend_from_slice(
                            b"Cannot process the command because the value specified with -EncodedCommand is not \
                              properly encoded. The value must be Base64 encoded.\r\n",
                        );
                        return Ended::Exit(1);
                    }
                }
            }
            Some(f) if "command".starts_with(&f) => break command_text(after),
            Some(f) if "file".starts_with(&f) => {
                let file = next_arg(after).map(|(v, _)| v).unwrap_or_default();
                return Ended::Exit(run_file(ctx, &file));
            }
            _ => break command_text(rest),
        }
    };
    run_script(ctx, &script)
}

/// The exit code of `powershell -File` when the file does not exist
/// (0xFFFD0000, as PowerShell 5.1 ends then).
pub(crate) const NO_SUCH_FILE: i32 = -196_608;

/// `powershell -File <file>`: the script file run (Packer's elevated
/// wrapper recognised, see `elevated`); its exit code is its `exit N`, 1
/// if it stopped on an error the script cannot go on from, else 0 (a
/// failing last statement does not count, unlike `-Command`). A missing
/// file is PowerShell's message and [`NO_SUCH_FILE`]. Arguments after the
/// file are not passed on.
fn run_file(ctx: &mut Ctx<'_>, file: &str) -> i32 {
    let path = ctx.resolve(file);
    let Some(text) = ctx.fs.read(&path).map(decode_text) else {
        let msg = format!(
            "The argument '{file}' to the -File parameter does not exist. Provide the path to an existing '.ps1' \
             file as an argument to the -File parameter."
        );
        say(&mut ctx.out.stderr, &msg);
        return NO_SUCH_FILE;
    };
    if let Some(code) = elevated::packer(ctx, &text) {
        return code;
    }
    pscript::run_file(ctx, &text)
}

/// Runs a PowerShell script's text.
pub(crate) fn run_script(ctx: &mut Ctx<'_>, script: &str) -> Ended {
    if let Some(ended) = kiln::start(ctx, script) {
        return ended;
    }
    if let Some(code) = packer::run(ctx, script) {
        return Ended::Exit(code);
    }
    Ended::Exit(pscript::run(ctx, script))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_base64_of_utf16le() {
        assert_eq!(decode_encoded("aABpAA=="), Some("hi".into()));
    }
}
