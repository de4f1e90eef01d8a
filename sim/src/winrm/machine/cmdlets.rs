//! The cmdlets of the PowerShell subset: `Write-Output` (`echo`, `write`),
//! `Write-Host`, `Write-Error`, `Test-Path`, `Get-Content` (`gc`, `cat`,
//! `type`), `Remove-Item` (`rm`, `del`, `ri`, `rmdir`, `rd`, `erase`),
//! `New-Item` (`ni`, `mkdir`, `md`), `Set-Location` (`cd`, `sl`),
//! `hostname`; a value alone (`'text'`, `$env:X`) is written out.
//! `-ErrorAction SilentlyContinue` (`-ea 0`, `Ignore`) hides a cmdlet's error.

use std::collections::HashMap;

use super::Ctx;
use super::clixml::error_record;
use super::fs::{self, Kind};
use super::pslang::{Interp, Stmt, Tok};

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
        "hostname" | "hostname.exe" => {
            let host = ctx.machine.hostname.clone();
            line(ctx, &host);
            true
        }
        _ => interp.not_found(ctx, stmt, toks),
    }
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
