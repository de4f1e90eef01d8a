//! kiln's PowerShell scripts (`docs/winrm-protocol.md`, "kiln's scripts"):
//! one per file operation, each a header naming the operation and its
//! parameters, then a body written for Windows PowerShell 5.1, sent as
//! `powershell.exe … -EncodedCommand <base64 of UTF-16LE>`.
//!
//! The whole command goes through `cmd.exe`, whose command line holds at
//! most 8191 characters, and the encoding makes it 8/3 times the script's
//! length: so the bodies are terse, with no comments (they are here
//! instead), and [`command`] refuses a script that would not fit.

use base64::Engine;

/// The program line every script runs under (the spec's, exactly).
const POWERSHELL: &str = "powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand ";

/// The first line of every script body (the provisioners' scripts start
/// with it too).
pub const PROGRESS: &str = "$ProgressPreference = 'SilentlyContinue'\n";

/// The longest command line `cmd.exe` runs.
pub const MAX_COMMAND: usize = 8191;

/// `kind`: prints `missing`, `file` or `dir` for `$path`, exit 0.
/// .NET's `Exists` follow symbolic links and take `/` or `\`.
const KIND: &str = r#"$ErrorActionPreference = 'Stop'
if ([IO.Directory]::Exists($path)) { $k = 'dir' } elseif ([IO.File]::Exists($path)) { $k = 'file' } else { $k = 'missing' }
[Console]::Out.WriteLine($k)
exit 0
"#;

/// `list`: `d <base64 name>` or `f <base64 name>` per entry of `$path`
/// (a link to a directory is a `DirectoryInfo`: followed), exit 0; not a
/// directory: said on stderr, exit 1.
const LIST: &str = r#"$ErrorActionPreference = 'Stop'
if (-not [IO.Directory]::Exists($path)) { [Console]::Error.WriteLine("$path is not a directory"); exit 1 }
try {
foreach ($e in ([IO.DirectoryInfo]::new($path)).GetFileSystemInfos()) {
if ($e -is [IO.DirectoryInfo]) { $k = 'd' } else { $k = 'f' }
[Console]::Out.WriteLine($k + ' ' + [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($e.Name)))
}
} catch { [Console]::Error.WriteLine("cannot list ${path}: " + $_.Exception.Message); exit 1 }
exit 0
"#;

/// `put`: reads records from stdin into `$dest`. Each file is written to
/// `<target>.kiln-upload`, hashed as it is written, and replaces the
/// target only once its `E` hash matches ([IO.File]::Replace keeps an
/// existing target's ACL; Move when there is none; `[NullString]::Value`
/// because PowerShell would pass `$null` as an empty string, which `Replace`
/// refuses as a backup name). Exit 1: a target that
/// cannot be written (named on stderr); 2: a hash mismatch; 3: stdin ended
/// inside a file. In every failure the temporary file is deleted first.
const PUT: &str = r#"$ErrorActionPreference = 'Stop'
$o = $null; $t = $null; $h = $null; $files = 0; $bytes = [int64]0
function Drop { if ($script:o) { $script:o.Close(); $script:o = $null; [IO.File]::Delete($script:t + '.kiln-upload') } }
function Fail([int]$c, [string]$m) { Drop; [Console]::Error.WriteLine($m); exit $c }
function At([string]$a) { if ($a -eq '') { return $dest }; $dest.TrimEnd('\', '/') + '\' + [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($a)).Replace('/', '\') }
function Up([string]$p) { [IO.Path]::GetDirectoryName($p.TrimEnd('\', '/')) }
function Hex { ([BitConverter]::ToString($h.Hash) -replace '-', '').ToLowerInvariant() }
$in = [IO.StreamReader]::new([Console]::OpenStandardInput(), [Text.UTF8Encoding]::new($false))
try {
while ($null -ne ($l = $in.ReadLine())) {
$l = $l.TrimEnd("`r"); if ($l.Length -eq 0) { continue }
$k = $l[0]; $a = ''; if ($l.Length -gt 2) { $a = $l.Substring(2) }
if ($k -eq 'C') {
if (-not $o) { Fail 1 'C outside a file' }
$b = [Convert]::FromBase64String($a); $o.Write($b, 0, $b.Length); [void]$h.TransformBlock($b, 0, $b.Length, $null, 0); $bytes += $b.Length
} elseif ($k -eq 'F') {
Drop; $t = At $a; $p = Up $t
if ([IO.Directory]::Exists($t)) { Fail 1 "cannot write ${t}: it is a directory" }
if ($p -and -not [IO.Directory]::Exists($p)) { Fail 1 "cannot write ${t}: directory $p does not exist" }
try { $o = [IO.File]::Create($t + '.kiln-upload') } catch { Fail 1 "cannot write ${t}: $($_.Exception.Message)" }
$h = [Security.Cryptography.SHA256]::Create()
} elseif ($k -eq 'E') {
if (-not $o) { Fail 1 'E outside a file' }
[void]$h.TransformFinalBlock([byte[]]::new(0), 0, 0); $g = Hex
$o.Close(); $o = $null; $u = $t + '.kiln-upload'
if ($g -ne $a) { [IO.File]::Delete($u); Fail 2 "${t}: the bytes written hash to $g, not $a; $t was not changed" }
try { if ([IO.File]::Exists($t)) { [IO.File]::Replace($u, $t, [NullString]::Value) } else { [IO.File]::Move($u, $t) } } catch { [IO.File]::Delete($u); Fail 1 "cannot write ${t}: $($_.Exception.Message)" }
$files++
} elseif ($k -eq 'D') {
$d = At $a; $p = Up $d
if ([IO.File]::Exists($d)) { Fail 1 "cannot create directory ${d}: a file is there" }
if ($p -and -not [IO.Directory]::Exists($p)) { Fail 1 "cannot create directory ${d}: its parent $p does not exist" }
try { [void][IO.Directory]::CreateDirectory($d) } catch { Fail 1 "cannot create directory ${d}: $($_.Exception.Message)" }
} else { Fail 1 "unknown record $k" }
}
} catch { Fail 1 "cannot write ${dest}: $($_.Exception.Message)" }
if ($o) { Fail 3 "stdin ended inside ${t}: the upload was interrupted, $t was not changed" }
[Console]::Out.WriteLine("done $files $bytes")
exit 0
"#;

/// `get`: `$src` as records on stdout through one buffered writer
/// (`\n` line ends), 48 KiB of the file per `C` record, entries sorted by
/// name with each directory's `D` before its contents; then `done`. A
/// missing `src`: said on stderr, exit 1; an unreadable entry, exit 1 too,
/// named (`$at`). A reparse point that is a directory below `src` (a
/// junction, a directory symlink) is skipped and said on stderr: it may
/// loop, and Windows' legacy profile junctions deny listing.
const GET: &str = r#"$ErrorActionPreference = 'Stop'
$w = [IO.StreamWriter]::new([Console]::OpenStandardOutput(), [Text.UTF8Encoding]::new($false), 65536)
$w.NewLine = "`n"; $files = 0; $bytes = [int64]0; $buf = [byte[]]::new(49152)
function Name([string]$r) { return [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($r)) }
function Put-File([string]$p, [string]$r) {
$w.WriteLine('F ' + (Name $r))
$h = [Security.Cryptography.SHA256]::Create()
$i = [IO.FileStream]::new($p, [IO.FileMode]::Open, [IO.FileAccess]::Read, [IO.FileShare]::ReadWrite)
try {
while (($n = $i.Read($buf, 0, $buf.Length)) -gt 0) { $w.WriteLine('C ' + [Convert]::ToBase64String($buf, 0, $n)); [void]$h.TransformBlock($buf, 0, $n, $null, 0); $script:bytes += $n }
} finally { $i.Close() }
[void]$h.TransformFinalBlock($buf, 0, 0)
$w.WriteLine('E ' + ([BitConverter]::ToString($h.Hash) -replace '-', '').ToLowerInvariant())
$script:files++
}
function Put-Dir([string]$p, [string]$r) {
$script:at = $p
foreach ($e in (([IO.DirectoryInfo]::new($p)).GetFileSystemInfos() | Sort-Object Name)) {
if ($r -eq '') { $q = $e.Name } else { $q = $r + '/' + $e.Name }
$script:at = $e.FullName
if ($e -is [IO.DirectoryInfo]) {
if ($e.Attributes -band [IO.FileAttributes]::ReparsePoint) { [Console]::Error.WriteLine("skipped $($e.FullName): a link to a directory"); continue }
$w.WriteLine('D ' + (Name $q)); Put-Dir $e.FullName $q
} else { Put-File $e.FullName $q }
}
}
$at = $src
try {
if ([IO.Directory]::Exists($src)) { $w.WriteLine('D '); Put-Dir $src '' } elseif ([IO.File]::Exists($src)) { Put-File $src '' } else { [Console]::Error.WriteLine("$src does not exist"); exit 1 }
$w.WriteLine("done $files $bytes"); $w.Flush()
} catch { $w.Flush(); [Console]::Error.WriteLine("cannot read ${at}: " + $_.Exception.Message); exit 1 }
exit 0
"#;

/// The characters PowerShell takes as a single quote: `'` and the
/// typographic ones (U+2018 to U+201B). Inside a single-quoted string each
/// is escaped by doubling it, so a path holding `’` cannot end the string.
const SINGLE_QUOTES: [char; 5] = ['\'', '\u{2018}', '\u{2019}', '\u{201A}', '\u{201B}'];

/// The header of every script: `# kiln:<operation> 1`, one
/// `$<name> = '<value>'` line per parameter (each single quote doubled, as
/// PowerShell's single-quoted strings take it), then an empty line.
pub fn header(operation: &str, params: &[(&str, &str)]) -> String {
    let mut text = format!("# kiln:{operation} 1\n");
    for (name, value) in params {
        text.push_str(&format!("${name} = {}\n", single_quoted(value)));
    }
    text.push('\n');
    text
}

/// `value` as a PowerShell single-quoted string, quotes included: every
/// character PowerShell takes as a single quote is doubled, so nothing in
/// `value` can end the string, and nothing in it is expanded.
pub fn single_quoted(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('\'');
    for c in value.chars() {
        quoted.push(c);
        if SINGLE_QUOTES.contains(&c) {
            quoted.push(c);
        }
    }
    quoted.push('\'');
    quoted
}

/// The script `body` for `operation` with its one parameter. Fails when
/// `value` holds a line break (no Windows path does, and the header is one
/// line per parameter) or the command would be too long ([`command`]).
fn script(operation: &str, name: &str, value: &str, body: &str) -> Result<String, String> {
    if value.contains(['\n', '\r']) {
        return Err(format!("{value:?} holds a line break, which no Windows path can"));
    }
    // Progress records would come as CLIXML on stderr (a first use of a
    // module says "Preparing modules"): nobody reads them.
    command(&(header(operation, &[(name, value)]) + PROGRESS + body))
}

/// `script` as the whole `rsp:Command`: PowerShell with the script
/// base64-encoded as UTF-16LE, as `-EncodedCommand` takes it. Fails, saying
/// how long it is, when the command line would be longer than `cmd.exe`
/// runs (a path of thousands of characters).
pub fn command(script: &str) -> Result<String, String> {
    let utf16: Vec<u8> = script.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let line = format!("{POWERSHELL}{}", base64::engine::general_purpose::STANDARD.encode(utf16));
    if line.len() > MAX_COMMAND {
        return Err(format!(
            "the PowerShell command would be {} characters long, more than the {MAX_COMMAND} cmd.exe runs: \
             use a shorter path",
            line.len()
        ));
    }
    Ok(line)
}

/// The `kind` command for `path`.
pub fn kind(path: &str) -> Result<String, String> {
    script("kind", "path", path, KIND)
}

/// The `list` command for `path`.
pub fn list(path: &str) -> Result<String, String> {
    script("list", "path", path, LIST)
}

/// The `put` command writing into `dest`.
pub fn put(dest: &str) -> Result<String, String> {
    script("put", "dest", dest, PUT)
}

/// The `get` command reading `src`.
pub fn get(src: &str) -> Result<String, String> {
    script("get", "src", src, GET)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The script a command carries, decoded back.
    fn decoded(command: &str) -> String {
        let b64 = command.strip_prefix(POWERSHELL).expect("the spec's program line");
        let bytes = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
        let units: Vec<u16> = bytes.chunks(2).map(|p| u16::from_le_bytes([p[0], p[1]])).collect();
        String::from_utf16(&units).unwrap()
    }

    #[test]
    fn the_header_names_the_operation_and_doubles_quotes() {
        let text = header("put", &[("dest", r"C:\it's here")]);
        assert_eq!(text, "# kiln:put 1\n$dest = 'C:\\it''s here'\n\n");
    }

    #[test]
    fn typographic_quotes_are_doubled_too_and_line_breaks_refused() {
        assert_eq!(header("kind", &[("path", "a\u{2019}b")]), "# kiln:kind 1\n$path = 'a\u{2019}\u{2019}b'\n\n");
        assert!(kind("a\nRemove-Item C:\\").unwrap_err().contains("line break"));
    }

    #[test]
    fn the_command_decodes_back_to_header_and_body() {
        let script = decoded(&put(r"C:\Windows\Temp\ü x").unwrap());
        assert!(script.starts_with(
            "# kiln:put 1\n$dest = 'C:\\Windows\\Temp\\ü x'\n\n$ProgressPreference = 'SilentlyContinue'\n$ErrorActionPreference"
        ));
        assert!(script.ends_with(PUT));
        for (op, command) in [("kind", kind("p")), ("list", list("p")), ("get", get("p"))] {
            let script = decoded(&command.unwrap());
            assert!(script.starts_with(&format!("# kiln:{op} 1\n$")), "{script}");
            assert!(script.contains("\n\n$ProgressPreference = 'SilentlyContinue'\n"), "{script}");
        }
    }

    #[test]
    fn every_script_fits_cmd_exe_with_a_long_path() {
        let path = format!("C:\\{}", "d".repeat(256));
        for command in [kind(&path), list(&path), put(&path), get(&path)] {
            let command = command.unwrap();
            assert!(command.len() <= MAX_COMMAND, "{}", command.len());
        }
    }

    #[test]
    fn every_command_leaves_room_for_a_300_character_path() {
        // Each path character costs 8/3 characters once encoded; a path
        // of 300 (all of them a quote, doubled) must still fit.
        for path in ["x".repeat(300), "'".repeat(150)] {
            for (op, command) in
                [("kind", kind(&path)), ("list", list(&path)), ("put", put(&path)), ("get", get(&path))]
            {
                let command = command.unwrap_or_else(|e| panic!("{op}: {e}"));
                assert!(command.len() <= MAX_COMMAND, "{op}: {}", command.len());
            }
        }
    }

    #[test]
    fn a_path_too_long_for_cmd_exe_is_refused() {
        let error = put(&"x".repeat(4000)).unwrap_err();
        assert!(error.contains("cmd.exe"), "{error}");
    }

    #[test]
    fn bodies_exit_as_the_spec_says() {
        assert!(PUT.contains("Fail 2 ") && PUT.contains("Fail 3 ") && PUT.contains("done $files $bytes"));
        assert!(GET.contains("done $files $bytes") && GET.contains("exit 1"));
        assert!(GET.contains("ReparsePoint") && GET.contains("skipped") && GET.contains("cannot read ${at}"));
        assert!(!PUT.contains('\t') && !GET.contains('\t'));
    }
}
