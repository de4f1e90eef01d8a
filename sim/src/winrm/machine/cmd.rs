//! The `cmd.exe` subset a WinRM `cmd` shell runs every command line through.
//!
//! Understood: `%VAR%` expansion over the whole line (first, as cmd does),
//! `&`, `&&`, `||`, `^` escapes, `"` quoting, redirections `>`, `>>`, `1>`,
//! `2>`, `2>&1`, `>nul`; built-ins `echo` (`echo.`), `exit [/b] [N]`, `set`,
//! `type`, `del`/`erase`, `mkdir`/`md`, `cd`/`chdir`, `hostname`, `whoami`,
//! `ver`, `cmd /c`; and `powershell[.exe]`. Anything else is cmd's "not
//! recognized" message on stderr and exit 1 (a real cmd sets 9009 as the
//! errorlevel; the brief of this simulator asks for 1, and no client we serve
//! reads the number). `|` pipes and `( )` groups are not understood.

use super::fs::{self, FsError, Kind};
use super::{Ctx, Ended, powershell};

/// How a command of a chain ended.
enum Flow {
    /// Go on with the chain; this is the errorlevel.
    Next(i32),
    /// `exit`: the whole line ends with this code.
    Exit(i32),
    /// A process that goes on after `start` (kiln's put/get): the rest of the
    /// line is not run.
    Job(super::Job),
}

/// Runs a whole command line; the exit code is the last command's errorlevel.
pub(crate) fn run_line(ctx: &mut Ctx<'_>, line: &str) -> Ended {
    let line = ctx.env.expand_percent(line);
    let mut code = 0;
    for (op, segment) in split_chain(&line) {
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
            Flow::Exit(c) => return Ended::Exit(c),
            Flow::Job(job) => return Ended::Job(job),
        }
    }
    Ended::Exit(code)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Always,
    And,
    Or,
}

/// The commands of a line with the operator before each, `^` escapes
/// resolved outside quotes (inside them `^` and `&` are plain text).
fn split_chain(line: &str) -> Vec<(Op, String)> {
    let mut parts = Vec::new();
    let mut op = Op::Always;
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            '^' if !quoted => cur.extend(chars.next()),
            '&' if !quoted => {
                let next = if chars.peek() == Some(&'&') {
                    chars.next();
                    Op::And
                } else {
                    Op::Always
                };
                parts.push((op, std::mem::take(&mut cur)));
                op = next;
            }
            '|' if !quoted && chars.peek() == Some(&'|') => {
                chars.next();
                parts.push((op, std::mem::take(&mut cur)));
                op = Op::Or;
            }
            c => cur.push(c),
        }
    }
    parts.push((op, cur));
    parts
}

/// Where a redirected handle goes.
#[derive(Debug, Clone, PartialEq)]
enum Target {
    File { path: String, append: bool },
    Nul,
    Handle(u8),
}

/// `text` without its redirections, and the redirections of handles 1 and 2.
/// The text around a redirection is kept as it is, spaces included: that is
/// why `echo abc >> f` writes `abc \r\n` (winrmcp's chunk lines end so).
fn take_redirections(text: &str) -> (String, Vec<(u8, Target)>) {
    let bytes = text.as_bytes();
    let mut kept = String::new();
    let mut redirs = Vec::new();
    let mut quoted = false;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'"' {
            quoted = !quoted;
        }
        let handle_digit = !quoted
            && (c == b'1' || c == b'2')
            && bytes.get(i + 1) == Some(&b'>')
            && (i == 0 || bytes[i - 1].is_ascii_whitespace());
        if quoted || !(c == b'>' || handle_digit) {
            let ch = text[i..].chars().next().unwrap_or(' ');
            kept.push(ch);
            i += ch.len_utf8();
            continue;
        }
        let handle = if handle_digit {
            i += 1;
            c - b'0'
        } else {
            1
        };
        i += 1; // the first '>'
        let append = bytes.get(i) == Some(&b'>');
        if append {
            i += 1;
        }
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let target = if bytes.get(i) == Some(&b'&') && matches!(bytes.get(i + 1), Some(b'1' | b'2')) {
            i += 2;
            Target::Handle(bytes[i - 1] - b'0')
        } else {
            let start = i;
            let mut q = false;
            while i < bytes.len() && (q || !(bytes[i].is_ascii_whitespace() || bytes[i] == b'>' || bytes[i] == b'<')) {
                if bytes[i] == b'"' {
                    q = !q;
                }
                i += 1;
            }
            let name = text[start..i].trim_matches('"');
            if name.eq_ignore_ascii_case("nul") { Target::Nul } else { Target::File { path: name.to_string(), append } }
        };
        redirs.push((handle, target));
    }
    (kept, redirs)
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
    let flow = builtin(ctx, &text);
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
    for (handle, bytes) in [(1u8, made.stdout), (2u8, made.stderr)] {
        match route(handle) {
            Target::Nul => {}
            Target::Handle(1) => ctx.out.stdout.extend(bytes),
            Target::Handle(_) => ctx.out.stderr.extend(bytes),
            Target::File { path, .. } => {
                let path = ctx.resolve(&path);
                // Opened above, so this cannot fail.
                let _ = ctx.fs.append(&path, &bytes);
            }
        }
    }
    flow
}

/// The command word (lower-cased) and the text after it, as cmd splits them:
/// `echo.` and `echo(` are `echo` too.
fn split_word(text: &str) -> (String, &str) {
    let text = text.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '@');
    if text.starts_with('"') {
        let end = text[1..].find('"').map(|e| e + 2).unwrap_or(text.len());
        return (text[1..end.saturating_sub(1).max(1)].to_lowercase(), &text[end..]);
    }
    let end = text.find(|c: char| c.is_ascii_whitespace() || c == '.' || c == '(' || c == ',' || c == ';');
    let end = match end {
        // `powershell.exe` and `C:\...\x.exe` are words, `echo.` is echo.
        Some(e) if text[e..].starts_with('.') && !text[..e].eq_ignore_ascii_case("echo") => {
            text.find(|c: char| c.is_ascii_whitespace()).unwrap_or(text.len())
        }
        Some(e) => e,
        None => text.len(),
    };
    (text[..end].to_lowercase(), &text[end..])
}

/// Whitespace-separated arguments, `"` grouping (and dropped).
pub(crate) fn args(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_ascii_whitespace() && !quoted => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            c => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn say(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(b"\r\n");
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
            Flow::Exit(code.unwrap_or(0))
        }
        "set" => set(ctx, rest.trim()),
        "type" => {
            let mut code = 0;
            for name in plain_args() {
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
        "hostname" => {
            say(&mut ctx.out.stdout, &ctx.machine.hostname.clone());
            Flow::Next(0)
        }
        "whoami" => {
            let who = format!("{}\\{}", ctx.machine.hostname, ctx.machine.username).to_lowercase();
            say(&mut ctx.out.stdout, &who);
            Flow::Next(0)
        }
        "ver" => {
            ctx.out.stdout.extend_from_slice(b"\r\nMicrosoft Windows [Version 10.0.17763.1935]\r\n");
            Flow::Next(0)
        }
        "cmd" | "cmd.exe" => {
            let rest = rest.trim_start();
            let lower = rest.to_ascii_lowercase();
            let inner =
                ["/c ", "/k ", "/s /c ", "/q /c "].iter().find_map(|p| lower.starts_with(p).then(|| &rest[p.len()..]));
            match inner.map(|i| i.trim().trim_matches('"').to_string()) {
                Some(inner) => match run_line(ctx, &inner) {
                    Ended::Exit(code) => Flow::Next(code),
                    Ended::Job(job) => Flow::Job(job),
                },
                None => Flow::Next(0),
            }
        }
        w if is_powershell(w) => match powershell::run(ctx, rest) {
            Ended::Exit(code) => Flow::Next(code),
            Ended::Job(job) => Flow::Job(job),
        },
        _ => {
            let shown = text.trim().split(|c: char| c.is_ascii_whitespace()).next().unwrap_or("").trim_matches('"');
            let msg = format!(
                "'{shown}' is not recognized as an internal or external command,\r\noperable program or batch file."
            );
            say(&mut ctx.out.stderr, &msg);
            Flow::Next(1)
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirections_keep_the_spaces_around_them() {
        let (kept, r) = take_redirections("echo abc >> \"C:\\a b\\f.tmp\"");
        assert_eq!(kept, "echo abc ");
        assert_eq!(r, vec![(1, Target::File { path: "C:\\a b\\f.tmp".into(), append: true })]);
        let (kept, r) = take_redirections("echo x>f 2>&1 2>nul");
        assert_eq!(kept, "echo x  ");
        assert_eq!(r.len(), 3);
        assert_eq!(take_redirections("echo \"a > b\"").1, vec![]);
    }

    #[test]
    fn chains_split_outside_quotes() {
        let parts = split_chain("a & b && \"c & d\" || e ^& f");
        let ops: Vec<Op> = parts.iter().map(|p| p.0).collect();
        assert_eq!(ops, vec![Op::Always, Op::Always, Op::And, Op::Or]);
        assert_eq!(parts[2].1, " \"c & d\" ");
        assert_eq!(parts[3].1, " e & f");
        assert_eq!(split_word("echo.hi").0, "echo");
        assert_eq!(split_word("powershell.exe -c x").0, "powershell.exe");
    }
}
