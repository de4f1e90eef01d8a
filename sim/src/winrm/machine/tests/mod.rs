//! The machine as a WinRM shell drives it: start, stdin, take_output.

use super::*;

fn machine() -> Arc<WindowsMachine> {
    WindowsMachine::new("win-sim", "kiln")
}

/// Runs `line` to its end with no stdin: (stdout, stderr, exit code).
fn run(m: &Arc<WindowsMachine>, line: &str) -> (String, String, i32) {
    let mut p = m.start(line, &[], None);
    p.stdin(b"", true);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    loop {
        let c = p.take_output(usize::MAX);
        out.extend(c.stdout);
        err.extend(c.stderr);
        if let Some(code) = c.exit {
            return (String::from_utf8(out).unwrap(), String::from_utf8(err).unwrap(), code);
        }
    }
}

#[test]
fn echo_prints_with_crlf_and_expands_variables() {
    let m = machine();
    assert_eq!(run(&m, "echo hello %USERNAME%"), ("hello kiln\r\n".into(), String::new(), 0));
    assert_eq!(run(&m, "echo.").0, "\r\n");
}

#[test]
fn process_is_send() {
    fn send<T: Send>() {}
    send::<Process>();
    send::<Arc<WindowsMachine>>();
}

/// A line as masterzen/winrm's `Powershell()` makes it (each byte of the
/// script one UTF-16 code unit), which Packer and winrmcp send.
fn powershell_line(script: &str) -> String {
    use base64::Engine as _;
    let wide: Vec<u8> = script.bytes().flat_map(|b| [b, 0]).collect();
    format!("powershell.exe -EncodedCommand {}", base64::engine::general_purpose::STANDARD.encode(wide))
}

/// Writes a file straight into the machine's file system (its directory
/// must exist).
fn write(m: &Arc<WindowsMachine>, path: &str, bytes: &[u8]) {
    let path = fs::resolve("C:\\Users\\kiln", path);
    m.lock().write(&path, bytes.to_vec()).unwrap();
}

mod cmd;
mod kiln;
mod limits;
mod packer;
mod power;
mod provision;
mod ps;
