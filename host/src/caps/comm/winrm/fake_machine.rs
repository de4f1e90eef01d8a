//! A pretend Windows machine for the session's tests: a loopback HTTP
//! server speaking just enough WS-Management for H1's client, which runs
//! kiln's scripts by what their headers say (the spec's semantics written
//! again in Rust over a local directory) and a few canned `cmd` commands.
//! It records every stdin payload, so tests can check how Sends were packed.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SHELL_NS: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell";
const POWERSHELL: &str = "powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand ";
/// Most stdout bytes one Receive carries: output comes over several.
const RECEIVE_CHUNK: usize = 1000;

/// The machine's state.
#[derive(Default)]
pub struct Machine {
    /// The live shell's id (a new one per Create).
    shell: Option<String>,
    shells_created: usize,
    commands: HashMap<String, Command>,
    next: usize,
    /// Raw stdin bytes of every Send, in order.
    pub sends: Vec<usize>,
    /// Each script's operation, as its header named it.
    pub scripts: Vec<String>,
    /// The next Command fails as if the shell were gone (a reboot).
    pub lose_shell_at_next_command: bool,
    /// After this many more Sends with data, the shell is gone.
    pub lose_shell_after_sends: Option<usize>,
    /// How many Signals (terminate) came.
    pub signals: usize,
    /// The next Command is taken (it runs) but its connection drops before
    /// the reply, as when the network fails mid-request.
    pub drop_reply_to_next_command: bool,
    /// Every command line that started, in order.
    pub started: Vec<String>,
    /// Sends to a command that has exited fail (else they are taken and
    /// dropped: which one Windows does is not known here).
    pub refuse_sends_after_exit: bool,
}

struct Command {
    script: Option<(String, HashMap<String, String>)>,
    text: String,
    stdin: Vec<u8>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    exit: Option<i32>,
}

/// A running machine.
pub struct Fake {
    /// Where it listens (the session's dial address).
    pub address: SocketAddr,
    /// Its state, for tests to inject faults and look at what came.
    pub machine: Arc<Mutex<Machine>>,
}

impl Fake {
    /// Serves on a free loopback port.
    pub async fn start() -> Fake {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let machine = Arc::new(Mutex::new(Machine::default()));
        let shared = machine.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serve(socket, shared.clone()));
            }
        });
        Fake { address, machine }
    }

    /// How many shells were created (logins).
    pub fn shells_created(&self) -> usize {
        self.machine.lock().unwrap().shells_created
    }
}

async fn serve(mut socket: tokio::net::TcpStream, machine: Arc<Mutex<Machine>>) {
    let mut buffer = Vec::new();
    loop {
        let head_end = loop {
            if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            let mut chunk = [0u8; 65536];
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).to_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
            .unwrap_or(0);
        while buffer.len() < head_end + length {
            let mut chunk = [0u8; 65536];
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        }
        let body = String::from_utf8_lossy(&buffer[head_end..head_end + length]).into_owned();
        buffer.drain(..head_end + length);
        let (status, reply) = answer(&mut machine.lock().unwrap(), &body);
        if status == 0 {
            // The connection drops without a reply.
            return;
        }
        if reply.contains("w:TimedOut") {
            // Windows holds such a Receive for the operation timeout.
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let response = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/soap+xml;charset=UTF-8\r\nContent-Length: {}\r\n\r\n{reply}",
            reply.len()
        );
        if socket.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// The text between `start` and the next `end` in `body`.
fn between<'a>(body: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = body.find(start)? + start.len();
    let to = body[from..].find(end)? + from;
    Some(&body[from..to])
}

fn attribute<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    between(body, &format!("{name}=\""), "\"")
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&")
}

fn envelope(action: &str, body: &str) -> String {
    format!(
        concat!(
            r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" "#,
            r#"xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell" "#,
            r#"xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer"><s:Header><a:Action>{}</a:Action></s:Header><s:Body>{}</s:Body></s:Envelope>"#
        ),
        action, body
    )
}

fn fault(subcode: &str, code: u64, message: &str) -> (u16, String) {
    let body = format!(
        r#"<s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>{subcode}</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">{message}</s:Text></s:Reason><s:Detail><f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="{code}" Machine="win"><f:Message>{message}</f:Message></f:WSManFault></s:Detail></s:Fault>"#
    );
    (500, envelope("http://schemas.dmtf.org/wbem/wsman/1/wsman/fault", &body))
}

fn shell_gone() -> (u16, String) {
    fault(
        "w:InvalidSelectors",
        2150858843,
        "The request for the Windows Remote Shell with ShellId S0 failed because the shell was not found",
    )
}

fn answer(m: &mut Machine, body: &str) -> (u16, String) {
    let action = between(body, "<a:Action s:mustUnderstand=\"true\">", "</a:Action>").unwrap_or_default();
    let operation = action.rsplit('/').next().unwrap_or_default();
    let shell = between(body, "<w:Selector Name=\"ShellId\">", "</w:Selector>").map(str::to_string);
    match operation {
        "Get" => (
            200,
            envelope(
                "http://schemas.xmlsoap.org/ws/2004/09/transfer/GetResponse",
                r#"<cfg:Config xmlns:cfg="http://schemas.microsoft.com/wbem/wsman/1/config"><cfg:MaxEnvelopeSizekb>150</cfg:MaxEnvelopeSizekb></cfg:Config>"#,
            ),
        ),
        "Create" => {
            m.shells_created += 1;
            let id = format!("S{}", m.shells_created);
            m.shell = Some(id.clone());
            let body = format!(
                r#"<x:ResourceCreated><a:ReferenceParameters><w:SelectorSet><w:Selector Name="ShellId">{id}</w:Selector></w:SelectorSet></a:ReferenceParameters></x:ResourceCreated>"#
            );
            (200, envelope("http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse", &body))
        }
        "Delete" => {
            // Windows deletes the shell the selector names, not the newest.
            if shell == m.shell {
                m.shell = None;
            }
            (200, envelope("http://schemas.xmlsoap.org/ws/2004/09/transfer/DeleteResponse", ""))
        }
        _ if shell != m.shell => shell_gone(),
        "Command" => {
            if std::mem::take(&mut m.lose_shell_at_next_command) {
                m.shell = None;
                return shell_gone();
            }
            let text = unescape(between(body, "<rsp:Command>", "</rsp:Command>").unwrap_or_default());
            m.next += 1;
            let id = format!("C{}", m.next);
            let mut command = start(&text);
            if let Some((op, _)) = &command.script {
                m.scripts.push(op.clone());
            }
            m.started.push(text.clone());
            match &command.script {
                None => run_cmd(&mut command),
                Some((op, _)) if op != "put" => run_script(&mut command),
                Some(_) => {}
            }
            m.commands.insert(id.clone(), command);
            if std::mem::take(&mut m.drop_reply_to_next_command) {
                return (0, String::new());
            }
            let body = format!("<rsp:CommandResponse><rsp:CommandId>{id}</rsp:CommandId></rsp:CommandResponse>");
            (200, envelope(&format!("{SHELL_NS}/CommandResponse"), &body))
        }
        "Send" => {
            let id = attribute(body, "CommandId").unwrap_or_default().to_string();
            let data = between(body, "<rsp:Stream", "</rsp:Stream>").unwrap_or_default();
            let (attributes, b64) = data.split_once('>').unwrap_or_default();
            let bytes = STANDARD.decode(b64).unwrap();
            if !bytes.is_empty()
                && let Some(left) = &mut m.lose_shell_after_sends
            {
                if *left == 0 {
                    m.shell = None;
                    return shell_gone();
                }
                *left -= 1;
            }
            m.sends.push(bytes.len());
            let Some(command) = m.commands.get_mut(&id) else { return fault("w:InvalidParameter", 1, "no command") };
            if command.exit.is_some() {
                if m.refuse_sends_after_exit {
                    return fault("w:InvalidParameter", 2150858790, "the process has exited");
                }
                // Input for a process that has exited goes nowhere.
                return (200, envelope(&format!("{SHELL_NS}/SendResponse"), "<rsp:SendResponse/>"));
            }
            command.stdin.extend_from_slice(&bytes);
            // A put script that cannot write its target stops at once, as
            // the real one does at the F record.
            if let Some(("put", params)) = command.script.as_ref().map(|(op, p)| (op.as_str(), p))
                && let Some(end) = command.stdin.iter().rposition(|&b| b == b'\n')
                && let Err((1, message)) = put(Path::new(&params["dest"]), &command.stdin[..=end])
            {
                command.stderr = format!("{message}\r\n").into_bytes();
                command.exit = Some(1);
            }
            if attributes.contains("End=\"true\"") && command.script.is_some() {
                run_script(command);
            }
            (200, envelope(&format!("{SHELL_NS}/SendResponse"), "<rsp:SendResponse/>"))
        }
        "Receive" => {
            let id = attribute(body, "CommandId").unwrap_or_default().to_string();
            let Some(command) = m.commands.get_mut(&id) else { return fault("w:InvalidParameter", 1, "no command") };
            if command.text == "kiln-drop" {
                m.shell = None;
                return shell_gone();
            }
            if command.exit.is_none() {
                return fault(
                    "w:TimedOut",
                    2150858793,
                    "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.",
                );
            }
            let out: Vec<u8> = command.stdout.drain(..command.stdout.len().min(RECEIVE_CHUNK)).collect();
            let err: Vec<u8> = std::mem::take(&mut command.stderr);
            let done = command.stdout.is_empty();
            let mut streams = String::new();
            for (name, bytes) in [("stdout", &out), ("stderr", &err)] {
                if !bytes.is_empty() {
                    streams.push_str(&format!(
                        r#"<rsp:Stream Name="{name}" CommandId="{id}">{}</rsp:Stream>"#,
                        STANDARD.encode(bytes)
                    ));
                }
            }
            if done {
                streams.push_str(&format!(
                    r#"<rsp:Stream Name="stdout" CommandId="{id}" End="true"/><rsp:CommandState CommandId="{id}" State="{SHELL_NS}/CommandState/Done"><rsp:ExitCode>{}</rsp:ExitCode></rsp:CommandState>"#,
                    command.exit.unwrap_or_default()
                ));
            }
            (
                200,
                envelope(
                    &format!("{SHELL_NS}/ReceiveResponse"),
                    &format!("<rsp:ReceiveResponse>{streams}</rsp:ReceiveResponse>"),
                ),
            )
        }
        "Signal" => {
            m.signals += 1;
            (200, envelope(&format!("{SHELL_NS}/SignalResponse"), "<rsp:SignalResponse/>"))
        }
        other => fault("w:ActionNotSupported", 2150858771, &format!("unknown action {other}")),
    }
}

/// A command as the machine takes it: a kiln script (its header read) or
/// a `cmd` line.
fn start(text: &str) -> Command {
    let script = text.strip_prefix(POWERSHELL).map(|b64| {
        let bytes = STANDARD.decode(b64).unwrap();
        let units: Vec<u16> = bytes.chunks(2).map(|p| u16::from_le_bytes([p[0], p[1]])).collect();
        let script = String::from_utf16(&units).unwrap();
        let mut lines = script.lines();
        let op = lines.next().unwrap().strip_prefix("# kiln:").unwrap().strip_suffix(" 1").unwrap().to_string();
        let mut params = HashMap::new();
        for line in lines.take_while(|l| !l.is_empty()) {
            let (name, value) = line.strip_prefix('$').unwrap().split_once(" = ").unwrap();
            let value = value.strip_prefix('\'').unwrap().strip_suffix('\'').unwrap().replace("''", "'");
            params.insert(name.to_string(), value);
        }
        (op, params)
    });
    Command { script, text: text.to_string(), stdin: Vec::new(), stdout: Vec::new(), stderr: Vec::new(), exit: None }
}

/// The canned `cmd` commands.
fn run_cmd(c: &mut Command) {
    let (out, err, code): (String, String, i32) = match c.text.as_str() {
        t if t.starts_with("echo ") => (format!("{}\r\n", &t[5..]), String::new(), 0),
        // Never exits: every Receive times out.
        "kiln-hang" => return,
        "kiln-lines" => (
            "one\r\ntwo\r\nthree".into(),
            "#< CLIXML\r\n<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\"><S S=\"Error\">it broke_x000D__x000A_</S></Objs>".into(),
            7,
        ),
        _ => (String::new(), format!("'{}' is not recognized as a command\r\n", c.text), 9009),
    };
    c.stdout = out.into_bytes();
    c.stderr = err.into_bytes();
    c.exit = Some(code);
}

/// Runs a kiln script as the spec says, on local paths.
fn run_script(c: &mut Command) {
    let (op, params) = c.script.clone().unwrap();
    let path = |name: &str| PathBuf::from(&params[name]);
    let result = match op.as_str() {
        "kind" => {
            let p = path("path");
            let kind = if p.is_dir() {
                "dir"
            } else if p.exists() {
                "file"
            } else {
                "missing"
            };
            Ok(format!("{kind}\r\n").into_bytes())
        }
        "list" => list(&path("path")),
        "put" => put(&path("dest"), &c.stdin),
        "get" => get(&path("src")),
        other => Err((1, format!("unknown script {other}"))),
    };
    match result {
        Ok(out) => {
            c.stdout = out;
            c.exit = Some(0);
        }
        Err((code, message)) => {
            c.stderr = format!("{message}\r\n").into_bytes();
            c.exit = Some(code);
        }
    }
}

type Outcome = Result<Vec<u8>, (i32, String)>;

fn list(dir: &Path) -> Outcome {
    let entries = std::fs::read_dir(dir).map_err(|_| (1, format!("{} is not a directory", dir.display())))?;
    let mut out = String::new();
    for entry in entries {
        let entry = entry.unwrap();
        let kind = if entry.path().is_dir() { 'd' } else { 'f' };
        out.push_str(&format!("{kind} {}\r\n", STANDARD.encode(entry.file_name().to_string_lossy().as_bytes())));
    }
    Ok(out.into_bytes())
}

fn put(dest: &Path, stdin: &[u8]) -> Outcome {
    let at = |a: &str| {
        if a.is_empty() {
            dest.to_path_buf()
        } else {
            dest.join(String::from_utf8(STANDARD.decode(a).unwrap()).unwrap())
        }
    };
    let mut current: Option<(PathBuf, Vec<u8>)> = None;
    let (mut files, mut bytes) = (0, 0);
    for line in String::from_utf8_lossy(stdin).split('\n').map(|l| l.trim_end_matches('\r')).filter(|l| !l.is_empty()) {
        let (k, a) = (&line[..1], line.get(2..).unwrap_or(""));
        match k {
            "D" => {
                let d = at(a);
                if !d.parent().is_none_or(Path::is_dir) {
                    return Err((1, format!("cannot create directory {}: its parent does not exist", d.display())));
                }
                std::fs::create_dir_all(&d).map_err(|e| (1, e.to_string()))?;
            }
            "F" => {
                let t = at(a);
                if !t.parent().is_none_or(Path::is_dir) {
                    return Err((1, format!("cannot write {}: directory does not exist", t.display())));
                }
                current = Some((t, Vec::new()));
            }
            "C" => current.as_mut().unwrap().1.extend(STANDARD.decode(a).unwrap()),
            "E" => {
                let (t, data) = current.take().unwrap();
                let got = hex::encode(Sha256::digest(&data));
                if got != a {
                    return Err((2, format!("{}: the bytes written hash to {got}, not {a}", t.display())));
                }
                bytes += data.len();
                files += 1;
                std::fs::write(&t, data).unwrap();
            }
            other => return Err((1, format!("unknown record {other}"))),
        }
    }
    if let Some((t, _)) = current {
        return Err((3, format!("stdin ended inside {}", t.display())));
    }
    Ok(format!("done {files} {bytes}\r\n").into_bytes())
}

fn get(src: &Path) -> Outcome {
    let mut out = Vec::new();
    let (mut files, mut bytes) = (0, 0);
    fn file(out: &mut Vec<u8>, path: &Path, rel: &str, files: &mut usize, bytes: &mut usize) {
        let data = std::fs::read(path).unwrap();
        out.extend(format!("F {}\n", STANDARD.encode(rel)).into_bytes());
        for chunk in data.chunks(700) {
            out.extend(format!("C {}\n", STANDARD.encode(chunk)).into_bytes());
        }
        out.extend(format!("E {}\n", hex::encode(Sha256::digest(&data))).into_bytes());
        *files += 1;
        *bytes += data.len();
    }
    fn dir(out: &mut Vec<u8>, path: &Path, rel: &str, files: &mut usize, bytes: &mut usize) {
        let mut entries: Vec<_> = std::fs::read_dir(path).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for entry in entries {
            let name = entry.file_name().unwrap().to_string_lossy().into_owned();
            let below = if rel.is_empty() { name } else { format!("{rel}/{name}") };
            if entry.is_dir() {
                out.extend(format!("D {}\n", STANDARD.encode(&below)).into_bytes());
                dir(out, &entry, &below, files, bytes);
            } else {
                file(out, &entry, &below, files, bytes);
            }
        }
    }
    if src.is_dir() {
        out.extend(b"D \n");
        dir(&mut out, src, "", &mut files, &mut bytes);
    } else if src.exists() {
        file(&mut out, src, "", &mut files, &mut bytes);
    } else {
        return Err((1, format!("{} does not exist", src.display())));
    }
    out.extend(format!("done {files} {bytes}\n").into_bytes());
    Ok(out)
}
