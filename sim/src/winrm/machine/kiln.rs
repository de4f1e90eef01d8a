//! kiln's own scripts (docs/winrm-protocol.md, the contract): recognised by
//! their header, `# kiln:<op> 1` then `$<name> = '<value>'` lines up to an
//! empty one, and done as the page says; the body is not read.
//!
//! Where the page leaves a detail open, the machine does what kiln's scripts
//! (host/src/caps/comm/winrm/scripts.rs) do on Windows: `kind`, `list` and
//! `put` print lines with CRLF (`[Console]::Out.WriteLine`), `get` with `\n`
//! (its writer's `NewLine`), 48 KiB per `C` record; errors are one plain line
//! on stderr (`[Console]::Error.WriteLine`, not PowerShell error records),
//! worded as the scripts word them; an `F` before the last file's `E` drops
//! that file's temporary file and goes on.
//!
//! The provisioners' scripts: `remove` (parameter `path`) deletes a file,
//! `boot` prints the machine's last boot time as ticks, and `elevated` runs
//! a command as a scheduled task (`elevated`).

use std::collections::VecDeque;

use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::fs::{self, Fs, Kind};
use super::{Ctx, Ended, Job, Output, elevated, say};

/// Bytes of a file in one `C` record of `get` (64 KiB of base64).
const GET_CHUNK: usize = 48 * 1024;

/// The longest record line `put` holds while it waits for the line's end
/// (kiln's own are at most a few hundred KiB). A longer one fails as the
/// real script's `ReadLine` does when it cannot hold the line.
pub(crate) const MAX_RECORD_LINE: usize = 64 * 1024 * 1024;

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// `text` and `\n`, as `get`'s writer ends its lines.
fn line_lf(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(text.as_bytes());
    out.push(b'\n');
}

/// A script header: operation, version, parameters (names lower-cased).
type Header = (String, String, Vec<(String, String)>);

/// The operation and parameters of a kiln script's header, or `None` when
/// `script` does not start with one.
fn header(script: &str) -> Option<Header> {
    let mut lines = script.trim_start_matches('\u{feff}').lines();
    let first = lines.next()?.trim();
    let (op, version) = first.strip_prefix("# kiln:")?.split_once(' ')?;
    let mut params = Vec::new();
    for line in lines {
        let line = line.trim();
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.strip_prefix('$').and_then(|l| l.split_once('=')) else { continue };
        let value = value.trim();
        let Some(inner) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) else { continue };
        params.push((name.trim().to_ascii_lowercase(), unquote(inner)));
    }
    Some((op.to_string(), version.trim().to_string(), params))
}

/// The characters PowerShell takes as a single quote: `'` and U+2018..U+201B.
const SINGLE_QUOTES: [char; 5] = ['\'', '\u{2018}', '\u{2019}', '\u{201A}', '\u{201B}'];

/// The inside of a single-quoted PowerShell string: two quote characters
/// (of any of the five kinds) are one, the second kept, as its tokenizer does.
fn unquote(inner: &str) -> String {
    let mut out = String::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if SINGLE_QUOTES.contains(&c)
            && let Some(&next) = chars.peek()
            && SINGLE_QUOTES.contains(&next)
        {
            continue;
        }
        out.push(c);
    }
    out
}

/// Starts a kiln script, or `None` when `script` is not one.
pub(crate) fn start(ctx: &mut Ctx<'_>, script: &str) -> Option<Ended> {
    let (op, version, params) = header(script)?;
    let param = |name: &str| params.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    let fail = |ctx: &mut Ctx<'_>, msg: String| {
        say(&mut ctx.out.stderr, &msg);
        Some(Ended::Exit(1))
    };
    if version != "1" {
        return fail(ctx, format!("{op} script version {version} is not known here (this machine knows 1)"));
    }
    let (name, run): (&str, fn(&mut Ctx<'_>, &str) -> Ended) = match op.as_str() {
        "kind" => ("path", kind),
        "list" => ("path", list),
        "put" => ("dest", put),
        "get" => ("src", get),
        "remove" => ("path", remove),
        "boot" => return Some(boot(ctx)),
        "elevated" => return Some(elevated::kiln(ctx, &param)),
        _ => return fail(ctx, format!("unknown operation '{op}' (known: {KNOWN})")),
    };
    match param(name) {
        Some(value) => {
            let path = ctx.resolve(&value);
            Some(run(ctx, &path))
        }
        None => fail(ctx, format!("the {op} script has no ${name} parameter in its header")),
    }
}

/// The operations this machine knows, for the message about another.
const KNOWN: &str = "kind, list, put, get, remove, boot, elevated";

/// `remove`: deletes the file if it is there (a directory or nothing
/// there: nothing to do); prints nothing, exit 0.
fn remove(ctx: &mut Ctx<'_>, path: &str) -> Ended {
    if ctx.fs.kind(path) == Kind::File
        && let Err(e) = ctx.fs.remove_file(path)
    {
        say(&mut ctx.out.stderr, &format!("cannot remove {path}: {e}"));
        return Ended::Exit(1);
    }
    Ended::Exit(0)
}

/// `boot`: the last boot time as .NET UTC ticks, one line, exit 0.
fn boot(ctx: &mut Ctx<'_>) -> Ended {
    let ticks = ctx.machine.boot_time_ticks();
    say(&mut ctx.out.stdout, &ticks.to_string());
    Ended::Exit(0)
}

fn kind(ctx: &mut Ctx<'_>, path: &str) -> Ended {
    let word = match ctx.fs.kind(path) {
        Kind::Missing => "missing",
        Kind::File => "file",
        Kind::Dir => "dir",
    };
    say(&mut ctx.out.stdout, word);
    Ended::Exit(0)
}

fn list(ctx: &mut Ctx<'_>, path: &str) -> Ended {
    match ctx.fs.children(path) {
        Ok(entries) => {
            for (name, dir) in entries {
                let line = format!("{} {}", if dir { 'd' } else { 'f' }, b64().encode(name.as_bytes()));
                say(&mut ctx.out.stdout, &line);
            }
            Ended::Exit(0)
        }
        Err(_) => {
            say(&mut ctx.out.stderr, &format!("{path} is not a directory"));
            Ended::Exit(1)
        }
    }
}

fn put(_ctx: &mut Ctx<'_>, dest: &str) -> Ended {
    Ended::Job(Job::Put(Box::new(Put { dest: dest.to_string(), line: Vec::new(), current: None, files: 0, bytes: 0 })))
}

/// A file being written by `put`.
struct Upload {
    target: String,
    temp: String,
    hasher: Sha256,
    size: u64,
}

/// kiln's `put`: runs as its stdin records arrive.
pub(crate) struct Put {
    dest: String,
    /// The start of a record whose line end has not come yet.
    line: Vec<u8>,
    current: Option<Upload>,
    files: u64,
    bytes: u64,
}

/// `dest/<path>` for a record's base64 path (empty: `dest` itself).
fn record_path(dest: &str, b64_path: &str) -> Result<String, String> {
    let bytes = b64().decode(b64_path).map_err(|e| format!("bad base64 path '{b64_path}': {e}"))?;
    let rel = String::from_utf8(bytes).map_err(|_| format!("path '{b64_path}' is not UTF-8"))?;
    Ok(if rel.is_empty() { dest.to_string() } else { fs::resolve(dest, &rel.replace('/', "\\")) })
}

impl Put {
    /// Takes a chunk of stdin; `Some(exit code)` once the script has ended.
    pub(crate) fn feed(&mut self, fs: &mut Fs, data: &[u8], end: bool, out: &mut Output) -> Option<i32> {
        let mut rest = data;
        while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
            if let Err(code) = self.hold(fs, &rest[..nl], out) {
                return Some(code);
            }
            rest = &rest[nl + 1..];
            let line = std::mem::take(&mut self.line);
            if let Err(code) = self.record(fs, &line, out) {
                return Some(code);
            }
        }
        if let Err(code) = self.hold(fs, rest, out) {
            return Some(code);
        }
        if !end {
            return None;
        }
        let line = std::mem::take(&mut self.line);
        if let Err(code) = self.record(fs, &line, out) {
            return Some(code);
        }
        if let Some(up) = self.current.take() {
            let _ = fs.remove_file(&up.temp);
            let t = &up.target;
            say(&mut out.stderr, &format!("stdin ended inside {t}: the upload was interrupted, {t} was not changed"));
            return Some(3);
        }
        say(&mut out.stdout, &format!("done {} {}", self.files, self.bytes));
        Some(0)
    }

    /// Adds `part` to the line under way; fails (exit 1, naming `dest`, the
    /// temporary file of a file under way deleted) past [`MAX_RECORD_LINE`].
    fn hold(&mut self, fs: &mut Fs, part: &[u8], out: &mut Output) -> Result<(), i32> {
        if self.line.len() + part.len() > MAX_RECORD_LINE {
            self.line = Vec::new();
            let msg =
                format!("cannot write {}: Exception of type 'System.OutOfMemoryException' was thrown.", self.dest);
            return self.fail(fs, out, 1, &msg);
        }
        self.line.extend_from_slice(part);
        Ok(())
    }

    /// Ends the script with `code` and `msg` on stderr, deleting the
    /// temporary file of a file under way, as the script's cleanup does.
    fn fail(&mut self, fs: &mut Fs, out: &mut Output, code: i32, msg: &str) -> Result<(), i32> {
        if let Some(up) = self.current.take() {
            let _ = fs.remove_file(&up.temp);
        }
        say(&mut out.stderr, msg);
        Err(code)
    }

    /// Closes the file under way, deleting its temporary file (`Drop`).
    fn drop_current(&mut self, fs: &mut Fs) {
        if let Some(up) = self.current.take() {
            let _ = fs.remove_file(&up.temp);
        }
    }

    fn record(&mut self, fs: &mut Fs, line: &[u8], out: &mut Output) -> Result<(), i32> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(line).into_owned();
        let tag = text.chars().next().unwrap_or(' ');
        // As the script's `$l.Substring(2)`: the argument starts after the space.
        let arg = text.get(2..).unwrap_or("");
        match tag {
            'C' => {
                let Some(up) = self.current.as_mut() else { return self.fail(fs, out, 1, "C outside a file") };
                let Ok(bytes) = b64().decode(arg) else {
                    let msg = format!("cannot write {}: the input is not a valid Base-64 string", self.dest);
                    return self.fail(fs, out, 1, &msg);
                };
                up.hasher.update(&bytes);
                up.size += bytes.len() as u64;
                self.bytes += bytes.len() as u64;
                let temp = up.temp.clone();
                match fs.append(&temp, &bytes) {
                    Ok(()) => Ok(()),
                    Err(e) => self.fail(fs, out, 1, &format!("cannot write {temp}: {e}")),
                }
            }
            'F' => {
                // A new file before the last one's E: the last one is dropped.
                self.drop_current(fs);
                let target = match record_path(&self.dest, arg) {
                    Ok(p) => p,
                    Err(e) => return self.fail(fs, out, 1, &format!("cannot write {}: {e}", self.dest)),
                };
                let temp = format!("{target}.kiln-upload");
                let why = match (fs.kind(&target), fs::parent(&target)) {
                    (Kind::Dir, _) => Some("it is a directory".to_string()),
                    (_, Some(dir)) if fs.kind(&dir) != Kind::Dir => Some(format!("directory {dir} does not exist")),
                    _ => fs.write(&temp, Vec::new()).err().map(|e| e.to_string()),
                };
                if let Some(why) = why {
                    return self.fail(fs, out, 1, &format!("cannot write {target}: {why}"));
                }
                self.current = Some(Upload { target, temp, hasher: Sha256::new(), size: 0 });
                Ok(())
            }
            'E' => {
                let Some(up) = self.current.take() else { return self.fail(fs, out, 1, "E outside a file") };
                let got = fs::hex(&up.hasher.finalize());
                let t = &up.target;
                // PowerShell's `-ne` ignores case.
                if !got.eq_ignore_ascii_case(arg) {
                    let _ = fs.remove_file(&up.temp);
                    say(
                        &mut out.stderr,
                        &format!("{t}: the bytes written hash to {got}, not {arg}; {t} was not changed"),
                    );
                    return Err(2);
                }
                if let Err(e) = fs.rename_file(&up.temp, t) {
                    let _ = fs.remove_file(&up.temp);
                    say(&mut out.stderr, &format!("cannot write {t}: {e}"));
                    return Err(1);
                }
                self.files += 1;
                Ok(())
            }
            'D' => {
                let d = match record_path(&self.dest, arg) {
                    Ok(p) => p,
                    Err(e) => return self.fail(fs, out, 1, &format!("cannot write {}: {e}", self.dest)),
                };
                let parent = fs::parent(&d);
                match fs.kind(&d) {
                    Kind::Dir => Ok(()),
                    Kind::File => self.fail(fs, out, 1, &format!("cannot create directory {d}: a file is there")),
                    Kind::Missing => match parent {
                        Some(p) if fs.kind(&p) != Kind::Dir => self.fail(
                            fs,
                            out,
                            1,
                            &format!("cannot create directory {d}: its parent {p} does not exist"),
                        ),
                        _ => match fs.mkdir(&d) {
                            Ok(()) => Ok(()),
                            Err(e) => self.fail(fs, out, 1, &format!("cannot create directory {d}: {e}")),
                        },
                    },
                }
            }
            other => self.fail(fs, out, 1, &format!("unknown record {other}")),
        }
    }
}

/// One record source of `get`.
enum Item {
    Dir(String),
    File { rel: String, data: Vec<u8>, sent: Option<usize> },
}

/// kiln's `get`: its records are made as they are taken. The files are the
/// ones there when it started.
pub(crate) struct Get {
    items: VecDeque<Item>,
    files: u64,
    bytes: u64,
}

fn rel_b64(rel: &str) -> String {
    b64().encode(rel.as_bytes())
}

fn get(ctx: &mut Ctx<'_>, src: &str) -> Ended {
    let mut items = VecDeque::new();
    match ctx.fs.kind(src) {
        Kind::Missing => {
            say(&mut ctx.out.stderr, &format!("{src} does not exist"));
            return Ended::Exit(1);
        }
        Kind::File => {
            let data = ctx.fs.read(src).unwrap_or_default().to_vec();
            items.push_back(Item::File { rel: String::new(), data, sent: None });
        }
        Kind::Dir => {
            items.push_back(Item::Dir(String::new()));
            walk(ctx.fs, src, "", &mut items);
        }
    }
    Ended::Job(Job::Get(Box::new(Get { items, files: 0, bytes: 0 })))
}

/// Directories before their contents, entries by name. A stack of entries
/// still to visit rather than recursion: `put`'s `D` records can make
/// directories nested deeper than any thread's stack would take.
fn walk(fs: &Fs, dir: &str, rel: &str, items: &mut VecDeque<Item>) {
    let entries = |dir: &str, rel: &str| {
        let mut found: Vec<(String, String, bool)> = fs
            .children(dir)
            .unwrap_or_default()
            .into_iter()
            .map(|(name, is_dir)| {
                let sub = if rel.is_empty() { name.clone() } else { format!("{rel}/{name}") };
                (fs::join(dir, &name), sub, is_dir)
            })
            .collect();
        found.reverse();
        found
    };
    let mut todo = entries(dir, rel);
    while let Some((path, rel, is_dir)) = todo.pop() {
        if is_dir {
            items.push_back(Item::Dir(rel.clone()));
            todo.extend(entries(&path, &rel));
        } else {
            let data = fs.read(&path).unwrap_or_default().to_vec();
            items.push_back(Item::File { rel, data, sent: None });
        }
    }
}

impl Get {
    /// Adds records to `out` until it holds `want` bytes or all are made;
    /// `Some(0)` once the last (`done`) was made.
    pub(crate) fn produce(&mut self, out: &mut Vec<u8>, want: usize) -> Option<i32> {
        while out.len() < want.max(1) {
            let Some(item) = self.items.front_mut() else {
                line_lf(out, &format!("done {} {}", self.files, self.bytes));
                return Some(0);
            };
            match item {
                Item::Dir(rel) => {
                    line_lf(out, &format!("D {}", rel_b64(rel)));
                    self.items.pop_front();
                }
                Item::File { rel, data, sent } => match *sent {
                    None => {
                        line_lf(out, &format!("F {}", rel_b64(rel)));
                        *sent = Some(0);
                    }
                    Some(done) if done < data.len() => {
                        let end = (done + GET_CHUNK).min(data.len());
                        line_lf(out, &format!("C {}", b64().encode(&data[done..end])));
                        *sent = Some(end);
                    }
                    Some(_) => {
                        line_lf(out, &format!("E {}", fs::hex(&Sha256::digest(&data[..]))));
                        self.files += 1;
                        self.bytes += data.len() as u64;
                        self.items.pop_front();
                    }
                },
            }
        }
        None
    }
}
