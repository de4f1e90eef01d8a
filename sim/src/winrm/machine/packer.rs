//! What Packer 1.6.6 and winrmcp (the upload code Packer 1.6.6 vendors)
//! send, run for real. The scripts are recognised by their stable text and
//! their parameters taken out of it; everything else about them is what the
//! script would do on Windows.
//!
//! Shapes recognised (sources: packer-community/winrmcp `winrmcp/cp.go`;
//! hashicorp/packer v1.6.6 `packer-plugin-sdk/communicator/step_connect_winrm.go`
//! and `packer-plugin-sdk/sdk-internals/communicator/winrm/communicator.go`;
//! every one is sent as `powershell.exe -EncodedCommand <UTF-16LE base64>`,
//! masterzen/winrm's `Powershell()`):
//!
//! - The progress preamble Packer puts before its commands,
//!   `if (Test-Path variable:global:ProgressPreference){$ProgressPreference='SilentlyContinue'};`,
//!   is dropped and the rest runs as PowerShell: that is the connect check
//!   (`...; echo "WinRM connected."`), which must print `WinRM connected.`.
//! - winrmcp's upload chunks are cmd lines, `echo <base64> >> "%TEMP%\winrmcp-<uuid>.tmp"`,
//!   run by `cmd` (each line is `<base64> \r\n`: cmd keeps the space).
//! - winrmcp's restore script: `$tmp_file_path = [System.IO.Path]::GetFullPath("<tmp>")`,
//!   `$dest_file_path = [System.IO.Path]::GetFullPath("<dest>".Trim("'"))`, then
//!   it decodes the temporary file's lines into the destination (made anew;
//!   its directory made if missing; a directory there is exit 1; no
//!   temporary file, for an empty upload, is an empty destination).
//! - winrmcp's cleanup script: the `$tmp_file_path` line and
//!   `Remove-Item $tmp_file_path -ErrorAction SilentlyContinue`.
//! - windows-restart's restart check,
//!   `echo ("{0} restarted." -f [System.Net.Dns]::GetHostName())`: prints
//!   `<hostname> restarted.`; its registry checks are `Test-Path "HKLM:..."`,
//!   false here (nothing pending); its `shutdown` commands are `power`'s.
//! - The powershell provisioner's elevated wrapper, run with `-File`, is
//!   `elevated`'s.
//! - Packer's download: `$file=[System.IO.File]::ReadAllBytes("<src>"); Write-Output $([System.Convert]::ToBase64String($file))`.

use base64::Engine as _;

use super::Ctx;
use super::clixml::{clixml, error_record};
use super::fs::{self, Kind};
use super::pslang::Interp;

/// The preamble Packer 1.6.6 puts in front of the PowerShell it runs.
const PROGRESS_PREAMBLE: &str =
    "if (Test-Path variable:global:ProgressPreference){$ProgressPreference='SilentlyContinue'};";

const RESTART_CHECK: &str = r#"echo ("{0} restarted." -f [System.Net.Dns]::GetHostName())"#;
const TMP_OPEN: &str = "$tmp_file_path = [System.IO.Path]::GetFullPath(\"";
const DEST_OPEN: &str = "$dest_file_path = [System.IO.Path]::GetFullPath(\"";
const DEST_CLOSE: &str = "\".Trim(\"'\"))";
const RESTORE_MARK: &str = "[System.IO.File]::OpenText($tmp_file_path)";
const CLEANUP_MARK: &str = "Remove-Item $tmp_file_path -ErrorAction SilentlyContinue";
const DOWNLOAD_OPEN: &str = "$file=[System.IO.File]::ReadAllBytes(\"";
const DOWNLOAD_CLOSE: &str = "\"); Write-Output $([System.Convert]::ToBase64String($file))";

/// The text between `open` and the next `close` in `script`.
fn between<'a>(script: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = script.find(open)? + open.len();
    let len = script[start..].find(close)?;
    Some(&script[start..start + len])
}

/// Runs `script` if it is one of the shapes above; its exit code, or `None`
/// when it is not.
pub(crate) fn run(ctx: &mut Ctx<'_>, script: &str) -> Option<i32> {
    let trimmed = script.trim_start();
    if let Some(rest) = trimmed.strip_prefix(PROGRESS_PREAMBLE) {
        return Some(super::pscript::run(ctx, rest));
    }
    // Newer masterzen/winrm puts `$ProgressPreference = 'SilentlyContinue';`
    // before every script: the shapes are found anywhere in the text.
    if trimmed.trim_end().ends_with(RESTART_CHECK) {
        let line = format!("{} restarted.\r\n", ctx.machine.hostname);
        ctx.out.stdout.extend_from_slice(line.as_bytes());
        return Some(0);
    }
    let interp = Interp::new();
    if let Some(src) = between(script, DOWNLOAD_OPEN, DOWNLOAD_CLOSE) {
        let path = ctx.resolve(&interp.expand(ctx, src));
        return Some(download(ctx, &path));
    }
    let tmp = between(script, TMP_OPEN, "\")")?;
    let tmp = ctx.resolve(&interp.expand(ctx, tmp));
    if script.contains(RESTORE_MARK) {
        let dest = between(script, DEST_OPEN, DEST_CLOSE)?;
        let dest = interp.expand(ctx, dest);
        let dest = ctx.resolve(dest.trim_matches('\''));
        return Some(restore(ctx, &tmp, &dest));
    }
    if script.contains(CLEANUP_MARK) {
        let _ = ctx.fs.remove_file(&tmp);
        return Some(0);
    }
    None
}

fn download(ctx: &mut Ctx<'_>, path: &str) -> i32 {
    match ctx.fs.read(path) {
        Some(bytes) => {
            let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
            ctx.out.stdout.extend_from_slice(b64.as_bytes());
            ctx.out.stdout.extend_from_slice(b"\r\n");
            0
        }
        None => {
            let msg =
                format!("Exception calling \"ReadAllBytes\" with \"1\" argument(s): \"Could not find file '{path}'.\"");
            let rec =
                error_record(&msg, None, "NotSpecified: (:) [], MethodInvocationException", "FileNotFoundException");
            ctx.out.stderr.extend(clixml(&[rec]));
            1
        }
    }
}

/// winrmcp's restore: the temporary file's base64 lines into `dest`.
fn restore(ctx: &mut Ctx<'_>, tmp: &str, dest: &str) -> i32 {
    match ctx.fs.kind(dest) {
        Kind::Dir => return 1,
        Kind::File => {
            let _ = ctx.fs.remove_file(dest);
        }
        Kind::Missing => {
            // New-Item -Force -ErrorAction SilentlyContinue: a failure is silent.
            if let Some(dir) = fs::parent(dest) {
                let _ = ctx.fs.mkdir_all(&dir);
            }
        }
    }
    let Some(text) = ctx.fs.read(tmp).map(|b| String::from_utf8_lossy(b).into_owned()) else {
        // `echo $null > $dest_file_path`: an empty file.
        return write_or_error(ctx, dest, Vec::new());
    };
    let mut bytes = Vec::new();
    // StreamReader.ReadLine ends a line at \r\n, \n or \r;
    // Convert.FromBase64String skips white space (winrmcp's lines end in a
    // space before the CRLF).
    for line in text.split(['\r', '\n']).filter(|l| !l.is_empty()) {
        let clean: String = line.chars().filter(|c| !c.is_whitespace()).collect();
        match base64::engine::general_purpose::STANDARD.decode(clean) {
            Ok(chunk) => bytes.extend(chunk),
            Err(_) => {
                // What was decoded so far is in the destination already.
                let _ = ctx.fs.write(dest, bytes);
                let msg = "Exception calling \"FromBase64String\" with \"1\" argument(s): \"The input is not a valid \
                           Base-64 string as it contains a non-base 64 character, more than two padding characters, \
                           or an illegal character among the padding characters. \"";
                let rec = error_record(msg, None, "NotSpecified: (:) [], MethodInvocationException", "FormatException");
                ctx.out.stderr.extend(clixml(&[rec]));
                return 1;
            }
        }
    }
    write_or_error(ctx, dest, bytes)
}

fn write_or_error(ctx: &mut Ctx<'_>, dest: &str, bytes: Vec<u8>) -> i32 {
    match ctx.fs.write(dest, bytes) {
        Ok(()) => 0,
        Err(_) => {
            let msg = format!(
                "Exception calling \"OpenWrite\" with \"1\" argument(s): \"Could not find a part of the path '{dest}'.\""
            );
            let rec = error_record(
                &msg,
                None,
                "NotSpecified: (:) [], MethodInvocationException",
                "DirectoryNotFoundException",
            );
            ctx.out.stderr.extend(clixml(&[rec]));
            1
        }
    }
}
