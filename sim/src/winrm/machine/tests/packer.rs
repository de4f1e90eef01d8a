//! What Packer 1.6.6 and winrmcp send, as they send it.

use base64::Engine as _;

use super::*;

/// Packer 1.6.6's connection check (step_connect_winrm.go).
const CONNECT_CHECK: &str = r#"if (Test-Path variable:global:ProgressPreference){$ProgressPreference='SilentlyContinue'}; echo "WinRM connected.""#;

/// winrmcp's restore script (cp.go), with its `%s`s filled in.
fn restore_script(from: &str, to: &str) -> String {
    format!(
        r#"
		$tmp_file_path = [System.IO.Path]::GetFullPath("{from}")
		$dest_file_path = [System.IO.Path]::GetFullPath("{to}".Trim("'"))
		if (Test-Path $dest_file_path) {{
			if (Test-Path -Path $dest_file_path -PathType container) {{
				Exit 1
			}} else {{
				rm $dest_file_path
			}}
		}}
		else {{
			$dest_dir = ([System.IO.Path]::GetDirectoryName($dest_file_path))
			New-Item -ItemType directory -Force -ErrorAction SilentlyContinue -Path $dest_dir | Out-Null
		}}

		if (Test-Path $tmp_file_path) {{
			$reader = [System.IO.File]::OpenText($tmp_file_path)
			$writer = [System.IO.File]::OpenWrite($dest_file_path)
			try {{
				for(;;) {{
					$base64_line = $reader.ReadLine()
					if ($base64_line -eq $null) {{ break }}
					$bytes = [System.Convert]::FromBase64String($base64_line)
					$writer.write($bytes, 0, $bytes.Length)
				}}
			}}
			finally {{
				$reader.Close()
				$writer.Close()
			}}
		}} else {{
			echo $null > $dest_file_path
		}}
	"#
    )
}

/// winrmcp's cleanup script (cp.go).
fn cleanup_script(path: &str) -> String {
    format!(
        r#"
		$tmp_file_path = [System.IO.Path]::GetFullPath("{path}")
		if (Test-Path $tmp_file_path) {{
			Remove-Item $tmp_file_path -ErrorAction SilentlyContinue
		}}
	"#
    )
}

/// winrmcp's path quoting (path.go `winPath`).
fn win_path(path: &str) -> String {
    let p = if path.contains(' ') { format!("'{}'", path.trim_matches(['\'', '"'])) } else { path.to_string() };
    p.replace('/', "\\")
}

/// The whole of winrmcp's `doCopy` of `data` to `to`.
fn winrmcp_copy(m: &Arc<WindowsMachine>, data: &[u8], to: &str) -> i32 {
    let temp = "winrmcp-6ba7b810-9dad-11d1-80b4-00c04fd430c8.tmp";
    let file_path = format!("%TEMP%\\{temp}");
    let chunk = ((8000 - file_path.len()) / 4) * 3;
    for piece in data.chunks(chunk) {
        let b64 = base64::engine::general_purpose::STANDARD.encode(piece);
        let (out, err, code) = run(m, &format!("echo {b64} >> \"{file_path}\""));
        assert_eq!((out.as_str(), err.as_str(), code), ("", "", 0));
    }
    let tmp = format!("$env:TEMP\\{temp}");
    let (_, err, code) = run(m, &powershell_line(&restore_script(&tmp, &win_path(to))));
    if code != 0 {
        return code;
    }
    assert_eq!(err, "");
    assert_eq!(run(m, &powershell_line(&cleanup_script(&tmp))).2, 0);
    assert!(m.file(&format!("C:\\Users\\kiln\\AppData\\Local\\Temp\\{temp}")).is_none());
    0
}

#[test]
fn the_connect_check_succeeds() {
    let m = machine();
    let (out, err, code) = run(&m, &powershell_line(CONNECT_CHECK));
    assert!(out.contains("WinRM connected."));
    assert_eq!((out.as_str(), err.as_str(), code), ("WinRM connected.\r\n", "", 0));
}

#[test]
fn winrmcp_uploads_are_byte_exact() {
    let m = machine();
    let data: Vec<u8> = (0..50_000u32).map(|i| (i * 31 % 251) as u8).collect();
    assert_eq!(winrmcp_copy(&m, &data, "C:/Windows/Temp/script.ps1"), 0);
    assert_eq!(m.file("C:\\Windows\\Temp\\script.ps1").unwrap(), data);
    // Again over it, to a path with a space and a directory that is missing.
    assert_eq!(winrmcp_copy(&m, b"second", "C:/Windows/Temp/script.ps1"), 0);
    assert_eq!(m.file("C:\\Windows\\Temp\\script.ps1").unwrap(), b"second");
    assert_eq!(winrmcp_copy(&m, b"x", "C:/Program Files/My App/conf.txt"), 0);
    assert_eq!(m.file("C:\\Program Files\\My App\\conf.txt").unwrap(), b"x");
    // An empty file sends no chunk: the restore makes an empty destination.
    assert_eq!(winrmcp_copy(&m, b"", "C:\\empty.txt"), 0);
    assert_eq!(m.file("C:\\empty.txt").unwrap(), b"");
    // A directory there: exit 1.
    assert_eq!(winrmcp_copy(&m, b"x", "C:\\Windows"), 1);
}

#[test]
fn packer_downloads_read_the_file_as_base64() {
    let m = machine();
    run(&m, "echo data> C:\\Windows\\Temp\\out.txt");
    let script = r#"$file=[System.IO.File]::ReadAllBytes("C:\Windows\Temp\out.txt"); Write-Output $([System.Convert]::ToBase64String($file))"#;
    let (out, _, code) = run(&m, &powershell_line(script));
    assert_eq!((out.as_str(), code), ("ZGF0YQ0K\r\n", 0));
    let (_, err, code) = run(&m, &powershell_line(&script.replace("out.txt", "nope.txt")));
    assert_eq!(code, 1);
    assert!(err.starts_with("#< CLIXML\r\n") && err.contains("nope.txt"));
}

/// Packer 1.6.6's powershell provisioner's default execute_command.
fn provisioner_command(vars: &str, path: &str) -> String {
    format!(
        "powershell -executionpolicy bypass \"& {{ if (Test-Path variable:global:ProgressPreference)\
         {{set-variable -name variable:global:ProgressPreference -value 'SilentlyContinue'}};\
         . {vars}; &'{path}'; exit $LastExitCode }}\""
    )
}

#[test]
fn the_powershell_provisioner_runs_uploaded_scripts() {
    let m = machine();
    let vars = "c:/Windows/Temp/packer-ps-env-vars-1.ps1";
    let script = "c:/Windows/Temp/script-1.ps1";
    let env = "$env:PACKER_BUILDER_TYPE=\"null\"; $env:PACKER_BUILD_NAME=\"b`$x\"; ";
    assert_eq!(winrmcp_copy(&m, env.as_bytes(), vars), 0);
    let inline = "Write-Output \"build $env:PACKER_BUILD_NAME on $env:PACKER_BUILDER_TYPE\"\n\
                  if (Test-Path C:\\Windows) {\n  echo 'yes'\n}\nelse { echo 'no' }\nexit 7\n";
    assert_eq!(winrmcp_copy(&m, inline.as_bytes(), script), 0);
    let (out, err, code) = run(&m, &provisioner_command(vars, script));
    assert_eq!((out.as_str(), err.as_str(), code), ("build b$x on null\r\nyes\r\n", "", 7));
    // Its cleanup: a script of `if (Test-Path X) {Remove-Item X}` lines.
    let cleanup_path = "c:/Windows/Temp/packer-cleanup-1.ps1";
    let cleanup: String =
        [vars, script, cleanup_path].iter().map(|f| format!("if (Test-Path {f}) {{Remove-Item {f}}}\n")).collect();
    assert_eq!(winrmcp_copy(&m, cleanup.as_bytes(), cleanup_path), 0);
    assert_eq!(run(&m, &provisioner_command(vars, cleanup_path)).2, 0);
    assert!(m.files().is_empty(), "{:?}", m.files());
}

#[test]
fn long_command_lines_are_refused_as_cmd_refuses_them() {
    let m = machine();
    let line = format!("echo {}", "x".repeat(8191));
    assert_eq!(run(&m, &line), (String::new(), "The command line is too long.\r\n".into(), 1));
}

#[test]
fn the_windows_shell_provisioner_runs_batch_files() {
    let m = machine();
    let script = "c:/Windows/Temp/script-1.bat";
    assert_eq!(winrmcp_copy(&m, b"@echo off\r\nrem setup\r\necho %PACKER_BUILD_NAME% on %PACKER_BUILDER_TYPE%\r\nexit /b 3\r\necho never\r\n", script), 0);
    let line = format!("set \"PACKER_BUILDER_TYPE=null\" && set \"PACKER_BUILD_NAME=b\" && \"{script}\"");
    assert_eq!(run(&m, &line), ("b on null\r\n".into(), String::new(), 3));
}

#[test]
fn windows_restart_sees_the_machine_back_at_once() {
    let m = machine();
    assert_eq!(run(&m, "shutdown /r /f /t 0 /c \"packer restart\"").2, 0);
    let check = r#"echo ("{0} restarted." -f [System.Net.Dns]::GetHostName())"#;
    assert_eq!(run(&m, &powershell_line(check)).0, "win-sim restarted.\r\n");
    let key = r#"Test-Path "HKLM:SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending""#;
    assert_eq!(run(&m, &powershell_line(key)), ("False\r\n".into(), String::new(), 0));
    assert_eq!(run(&m, &powershell_line("Write-Output \"${env:COMPUTERNAME} up\"")).0, "WIN-SIM up\r\n");
}

#[test]
fn shapes_are_found_after_newer_masterzen_preamble() {
    // masterzen/winrm after 2020-09 puts this before every script.
    let pre = "$ProgressPreference = 'SilentlyContinue';";
    let m = machine();
    assert_eq!(run(&m, &powershell_line(&format!("{pre}{CONNECT_CHECK}"))).0, "WinRM connected.\r\n");
    let check = r#"echo ("{0} restarted." -f [System.Net.Dns]::GetHostName())"#;
    assert_eq!(run(&m, &powershell_line(&format!("{pre}{check}"))).0, "win-sim restarted.\r\n");
    run(&m, "echo QUJD >> \"%TEMP%\\winrmcp-2.tmp\"");
    let restore = format!("{pre}{}", restore_script("$env:TEMP\\winrmcp-2.tmp", "C:\\abc.txt"));
    assert_eq!(run(&m, &powershell_line(&restore)).2, 0);
    assert_eq!(m.file("C:\\abc.txt").unwrap(), b"ABC");
}
