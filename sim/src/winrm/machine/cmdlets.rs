//! The cmdlets of the PowerShell subset: `Write-Output` (`echo`, `write`),
//! `Write-Host`, `Write-Error`, `Test-Path`, `Get-Content` (`gc`, `cat`,
//! `type`), `Remove-Item` (`rm`, `del`, `ri`, `rmdir`, `rd`, `erase`),
//! `New-Item` (`ni`, `mkdir`, `md`), `Set-Content` (`sc`), `Add-Content`
//! (`ac`), `Set-Location` (`cd`, `sl`), `Restart-Computer`,
//! `Stop-Computer`, `hostname`; the machine's programs (`cmd`, `shutdown`,
//! `sysprep`, ...; see `Ctx::run_program`), which set `$LASTEXITCODE`; a
//! value alone (`'text'`, `$env:X`) is written out.
//! `-ErrorAction SilentlyContinue` (`-ea 0`, `Ignore`) hides a cmdlet's error.

use std::collections::HashMap;

use super::clixml::error_record;
use super::fs::{self, Kind};
use super::power::{self, PowerRequest};
use super::pslang::{Interp, Stmt, Tok};
use super::{Ctx, Ended, say};

/// Parameters that take a value; every other `-Name` is a switch.
const VALUED: &[&str] = &[
    "path",
    "literalpath",
    "pathtype",
    "itemtype",
    "type",
    "name",
    "value",
    "erroraction",
    "ea",
    "message",
    "category",
    "foregroundcolor",
    "backgroundcolor",
    "encoding",
    "inputobject",
    "filter",
    "separator",
];

/// A cmdlet's arguments: positional ones and `-Name [value]` ones.
struct Args {
    positional: Vec<String>,
    named: HashMap<String, Option<String>>,
    /// The values would not fit the output bound: the rest were not copied.
    cut: bool,
}

impl Args {
    fn parse(interp: &Interp, ctx: &Ctx<'_>, toks: &[Tok]) -> Args {
        let mut args = Args { positional: Vec::new(), named: HashMap::new(), cut: false };
        let mut held = ctx.held + ctx.out.stdout.len();
        let mut i = 0;
        while i < toks.len() {
            let param = match &toks[i] {
                Tok::Word(w)
                    if w.len() > 1 && w.starts_with('-') && w[1..].starts_with(|c: char| c.is_alphabetic()) =>
                {
                    Some(w[1..].to_ascii_lowercase())
                }
                _ => None,
            };
            match param {
                Some(p) => {
                    if let Some((name, value)) = p.split_once(':') {
                        args.named.insert(name.to_string(), Some(value.to_string()));
                    } else if VALUED.contains(&p.as_str()) {
                        i += 1;
                        let value = toks.get(i).and_then(|t| interp.value(ctx, t));
                        args.named.insert(p, value);
                    } else {
                        args.named.insert(p, None);
                    }
                }
                None => {
                    // Arguments are copies of values: a bound on their sum
                    // like the one on output, or `echo $a $a $a ...` would
                    // copy a long value once per argument.
                    held += toks[i..=i].iter().filter_map(|t| interp.value(ctx, t)).map(|v| v.len()).sum::<usize>();
                    if held > ctx.max_output {
                        args.cut = true;
                        break;
                    }
                    args.positional.extend(interp.value(ctx, &toks[i]));
                }
            }
            i += 1;
        }
        args
    }

    fn get(&self, names: &[&str]) -> Option<&str> {
        names.iter().find_map(|n| self.named.get(*n).and_then(|v| v.as_deref()))
    }

    fn has(&self, name: &str) -> bool {
        self.named.contains_key(name)
    }

    /// `-Path`/`-LiteralPath` or the first positional argument.
    fn path(&self) -> Option<String> {
        self.get(&["path", "literalpath"]).map(str::to_string).or_else(|| self.positional.first().cloned())
    }

    fn silent(&self) -> bool {
        let ea = self.get(&["erroraction", "ea"]).unwrap_or("").to_ascii_lowercase();
        ["silentlycontinue", "ignore", "0"].contains(&ea.as_str())
    }
}

/// Writes `text` and CRLF to stdout, unless the output bound is reached (the
/// script then stops at its next statement).
fn line(ctx: &mut Ctx<'_>, text: &str) {
    if ctx.output_full() {
        return;
    }
    ctx.out.stdout.extend_from_slice(text.as_bytes());
    ctx.out.stdout.extend_from_slice(b"\r\n");
}

/// Records a cmdlet's error (unless `-ErrorAction` hides it) and fails.
fn fail(interp: &mut Interp, args: &Args, stmt: &Stmt, msg: &str, cat: &str, fqid: &str) -> bool {
    if !args.silent() {
        interp.errors.push(error_record(msg, Some(&stmt.at), cat, fqid));
    }
    false
}

fn not_found(interp: &mut Interp, args: &Args, stmt: &Stmt, path: &str, cmdlet: &str, class: &str) -> bool {
    let msg = format!("Cannot find path '{path}' because it does not exist.");
    let cat = format!("ObjectNotFound: ({path}:String) [{cmdlet}], ItemNotFoundException");
    let fqid = format!("PathNotFound,Microsoft.PowerShell.Commands.{class}");
    fail(interp, args, stmt, &msg, &cat, &fqid)
}

/// Runs one command (the first stage of a pipeline); whether it succeeded.
pub(crate) fn call(interp: &mut Interp, ctx: &mut Ctx<'_>, stmt: &Stmt, toks: &[Tok]) -> bool {
    let name = match toks.first() {
        None => return true,
        Some(Tok::Word(w)) => w.to_ascii_lowercase(),
        Some(_) => {
            for tok in toks {
                if let Some(v) = interp.value(ctx, tok) {
                    line(ctx, &v);
                }
            }
            return true;
        }
    };
    let args = Args::parse(interp, ctx, &toks[1..]);
    if args.cut {
        ctx.out_of_room = true;
        return false;
    }
    match name.as_str() {
        "write-output" | "echo" | "write" => {
            for v in args.positional.iter().chain(args.get(&["inputobject"]).map(str::to_string).as_ref()) {
                line(ctx, v);
            }
            true
        }
        "write-host" => {
            let sep = args.get(&["separator"]).unwrap_or(" ").to_string();
            let text = args.positional.join(&sep);
            ctx.out.stdout.extend_from_slice(text.as_bytes());
            if !args.has("nonewline") {
                ctx.out.stdout.extend_from_slice(b"\r\n");
            }
            true
        }
        "write-error" => {
            let msg = args.get(&["message"]).map(str::to_string).unwrap_or_else(|| args.positional.join(" "));
            if !args.silent() {
                let first = format!("{} : {msg}", stmt.text.lines().next().unwrap_or(""));
                let cat = "NotSpecified: (:) [Write-Error], WriteErrorException";
                interp.errors.push(error_record(
                    &first,
                    None,
                    cat,
                    "Microsoft.PowerShell.Commands.WriteErrorException",
                ));
            }
            false
        }
        "test-path" => {
            let found = args.path().is_some_and(|p| test_path(interp, ctx, &p, args.get(&["pathtype"])));
            line(ctx, if found { "True" } else { "False" });
            true
        }
        "get-content" | "gc" | "cat" | "type" => {
            let Some(path) = args.path().map(|p| ctx.resolve(&p)) else { return true };
            let Some(bytes) = ctx.fs.read(&path) else {
                return not_found(interp, &args, stmt, &path, "Get-Content", "GetContentCommand");
            };
            let text = decode_text(bytes);
            if args.has("raw") {
                line(ctx, &text);
            } else {
                for l in text.lines() {
                    line(ctx, l);
                }
            }
            true
        }
        "remove-item" | "rm" | "del" | "ri" | "rmdir" | "rd" | "erase" => {
            let Some(path) = args.path().map(|p| ctx.resolve(&p)) else { return true };
            // A directory goes with everything below it: non-interactive,
            // PowerShell would fail instead of asking without -Recurse.
            match ctx.fs.remove_all(&path) {
                Ok(()) => true,
                Err(_) => not_found(interp, &args, stmt, &path, "Remove-Item", "RemoveItemCommand"),
            }
        }
        "new-item" | "ni" | "mkdir" | "md" => new_item(interp, ctx, stmt, &args, &name),
        "set-location" | "cd" | "sl" | "chdir" => {
            let Some(path) = args.path().map(|p| ctx.resolve(&p)) else { return true };
            if ctx.fs.kind(&path) == Kind::Dir {
                ctx.cwd = path;
                true
            } else {
                not_found(interp, &args, stmt, &path, "Set-Location", "SetLocationCommand")
            }
        }
        // Assignments of preference variables: remembered like `$x = v`.
        "set-variable" | "sv" => {
            if let (Some(name), value) = (args.get(&["name"]), args.get(&["value"])) {
                let name = name.trim_start_matches("variable:").trim_start_matches("global:").to_ascii_lowercase();
                interp.vars.insert(name, value.unwrap_or_default().to_string());
            }
            true
        }
        "set-content" | "sc" | "add-content" | "ac" => {
            let append = name.starts_with('a');
            set_content(interp, ctx, stmt, &args, append)
        }
        "restart-computer" | "stop-computer" => {
            let request = if name.starts_with('r') { PowerRequest::Restart } else { PowerRequest::Shutdown };
            match power::computer_cmdlet(ctx, request) {
                Ok(()) => true,
                Err(msg) => {
                    let cmdlet = if name.starts_with('r') { "Restart-Computer" } else { "Stop-Computer" };
                    let cat = format!(
                        "OperationStopped: ({}:String) [{cmdlet}], InvalidOperationException",
                        ctx.machine.hostname
                    );
                    let fqid =
                        format!("{cmdlet}Exception,Microsoft.PowerShell.Commands.{}Command", cmdlet.replace('-', ""));
                    fail(interp, &args, stmt, &msg, &cat, &fqid)
                }
            }
        }
        _ => native(interp, ctx, &name, &toks[1..]).unwrap_or_else(|| interp.not_found(ctx, stmt, toks)),
    }
}

/// Runs `program` with the values of `toks` as its arguments if it is one
/// of the machine's programs, as PowerShell starts a native command: its
/// output straight to the process's streams, its exit code in
/// `$LASTEXITCODE`; whether it exited 0. `None` when it is not a program.
pub(crate) fn native(interp: &mut Interp, ctx: &mut Ctx<'_>, program: &str, toks: &[Tok]) -> Option<bool> {
    let mut line = if program.contains(' ') { format!("\"{program}\"") } else { program.to_string() };
    for tok in toks {
        // PowerShell quotes an argument with a space for the program's
        // command line, and passes the others as they are.
        if let Some(v) = interp.value(ctx, tok) {
            line.push(' ');
            if v.contains(' ') && !v.starts_with('"') { line.push_str(&format!("\"{v}\"")) } else { line.push_str(&v) }
        }
    }
    let code = match ctx.run_program(program, &line)? {
        Ended::Exit(code) => code,
        Ended::Job(_) => {
            let msg =
                format!("{program}: kiln's put and get run here only as a whole command line, not from PowerShell");
            say(&mut ctx.out.stderr, &msg);
            1
        }
    };
    interp.vars.insert("lastexitcode".into(), code.to_string());
    Some(code == 0)
}

/// `Set-Content` / `Add-Content`: the values (`-Value` or after the path),
/// one line each with CRLF (none after the last with `-NoNewline`), as
/// PowerShell 5.1 writes them: ANSI bytes by default, `-Encoding UTF8`
/// with a byte order mark, `Unicode` as UTF-16LE with one; appending never
/// writes a mark.
fn set_content(interp: &mut Interp, ctx: &mut Ctx<'_>, stmt: &Stmt, args: &Args, append: bool) -> bool {
    let Some(path) = args.path().map(|p| ctx.resolve(&p)) else { return true };
    let values: Vec<String> = match args.get(&["value"]) {
        Some(v) => vec![v.to_string()],
        None => {
            args.positional.iter().skip(usize::from(args.get(&["path", "literalpath"]).is_none())).cloned().collect()
        }
    };
    let sep = if args.has("nonewline") { "" } else { "\r\n" };
    let text: String = values.iter().map(|v| format!("{v}{sep}")).collect();
    let encoding = args.get(&["encoding"]).unwrap_or("default").to_ascii_lowercase();
    let exists = ctx.fs.kind(&path) == Kind::File;
    let mut bytes = Vec::new();
    match encoding.as_str() {
        "unicode" => {
            if !(append && exists) {
                bytes.extend([0xFF, 0xFE]);
            }
            bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        }
        other => {
            if other == "utf8" && !(append && exists) {
                bytes.extend([0xEF, 0xBB, 0xBF]);
            }
            bytes.extend(text.as_bytes());
        }
    }
    let cmdlet = if append { "Add-Content" } else { "Set-Content" };
    let written = match ctx.fs.kind(&path) {
        Kind::Dir => Err(fs::FsError::IsDir(path.clone())),
        _ if append => ctx.fs.append(&path, &bytes),
        _ => ctx.fs.write(&path, bytes),
    };
    let (msg, class) = match written {
        Ok(()) => return true,
        Err(fs::FsError::DiskFull(_)) => ("There is not enough space on the disk.".to_string(), "IOException"),
        Err(fs::FsError::IsDir(_)) => {
            (format!("Access to the path '{path}' is denied."), "UnauthorizedAccessException")
        }
        Err(_) => (format!("Could not find a part of the path '{path}'."), "DirectoryNotFoundException"),
    };
    let cat = format!("WriteError: ({path}:String) [{cmdlet}], {class}");
    let fqid = format!("GetContentWriterIOError,Microsoft.PowerShell.Commands.{}Command", cmdlet.replace('-', ""));
    fail(interp, args, stmt, &msg, &cat, &fqid)
}

/// `Test-Path`: files and directories, `env:X` and `variable:[global:]X`.
fn test_path(interp: &Interp, ctx: &Ctx<'_>, path: &str, kind: Option<&str>) -> bool {
    let lower = path.to_ascii_lowercase();
    if let Some(name) = lower.strip_prefix("env:") {
        return ctx.env.get(name).is_some();
    }
    if let Some(name) = lower.strip_prefix("variable:") {
        let name = name.strip_prefix("global:").unwrap_or(name);
        // The preference variables exist in every session.
        return name.ends_with("preference") || interp.vars.contains_key(name);
    }
    !matches!(
        (ctx.fs.kind(&ctx.resolve(path)), kind.map(str::to_ascii_lowercase).as_deref()),
        (Kind::Missing, _) | (Kind::File, Some("container")) | (Kind::Dir, Some("leaf"))
    )
}

/// A text file's characters: UTF-16LE or UTF-8 with their marks, else UTF-8.
pub(crate) fn decode_text(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        let units: Vec<u16> = rest.chunks(2).map(|c| u16::from_le_bytes([c[0], *c.get(1).unwrap_or(&0)])).collect();
        return String::from_utf16_lossy(&units);
    }
    String::from_utf8_lossy(bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes)).into_owned()
}

fn new_item(interp: &mut Interp, ctx: &mut Ctx<'_>, stmt: &Stmt, args: &Args, alias: &str) -> bool {
    let Some(mut path) = args.path().map(|p| ctx.resolve(&p)) else { return true };
    if let Some(name) = args.get(&["name"]) {
        path = fs::join(&path, name);
    }
    let dir = alias == "mkdir"
        || alias == "md"
        || args.get(&["itemtype", "type"]).is_some_and(|t| t.eq_ignore_ascii_case("directory"));
    let exists = ctx.fs.kind(&path) != Kind::Missing;
    let made = if dir {
        if exists && !args.has("force") {
            let msg = format!("An item with the specified name {path} already exists.");
            let cat = format!("ResourceExists: ({path}:String) [New-Item], IOException");
            return fail(interp, args, stmt, &msg, &cat, "DirectoryExist,Microsoft.PowerShell.Commands.NewItemCommand");
        }
        ctx.fs.mkdir_all(&path).is_ok()
    } else {
        if exists && !args.has("force") {
            let msg = format!("The file '{path}' already exists.");
            let cat = format!("WriteError: ({path}:String) [New-Item], IOException");
            return fail(interp, args, stmt, &msg, &cat, "NewItemIOError,Microsoft.PowerShell.Commands.NewItemCommand");
        }
        let value = args.get(&["value"]).unwrap_or("").as_bytes().to_vec();
        ctx.fs.write(&path, value).is_ok()
    };
    if !made {
        let msg = format!("Could not find a part of the path '{path}'.");
        let cat = format!("WriteError: ({path}:String) [New-Item], DirectoryNotFoundException");
        return fail(interp, args, stmt, &msg, &cat, "NewItemIOError,Microsoft.PowerShell.Commands.NewItemCommand");
    }
    // The item is written out as the default table view formats it. The
    // machine has no clock: the time shown is a fixed one.
    let parent = fs::parent(&path).unwrap_or_default();
    let (mode, length) =
        if dir { ("d-----", String::new()) } else { ("-a----", ctx.fs.read(&path).map_or(0, <[u8]>::len).to_string()) };
    let name = fs::base_name(&path).to_string();
    let table = format!(
        "\r\n\r\n    Directory: {parent}\r\n\r\n\r\nMode                LastWriteTime         Length Name\r\n\
         ----                -------------         ------ ----\r\n\
         {mode}         1/1/2021  12:00 AM {length:>14} {name}\r\n\r\n\r\n"
    );
    ctx.out.stdout.extend_from_slice(table.as_bytes());
    true
}
