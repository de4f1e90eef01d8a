//! Reading the server's replies: what each operation answers (a shell id, a
//! command id, output streams and the command's state, the configuration)
//! and SOAP faults, made readable. Elements are matched by local name, as
//! pywinrm and masterzen/winrm do: prefixes are the server's choice.

use super::error::WsmanError;
use super::xml::{self, Element};
use base64::Engine as _;

/// One reply that is not a fault, with what kiln reads from it.
#[derive(Debug, Default, Clone)]
pub struct Reply {
    /// The reply's `a:Action`, if it has one.
    pub action: Option<String>,
    /// A Create's shell id: `rsp:ShellId`, else the `w:Selector` named `ShellId`.
    pub shell_id: Option<String>,
    /// A Command's `rsp:CommandId`.
    pub command_id: Option<String>,
    /// A Receive's `rsp:Stream`s, in order, decoded.
    pub streams: Vec<Stream>,
    /// Whether a Receive's `rsp:CommandState` says `…/CommandState/Done`.
    pub done: bool,
    /// The `rsp:ExitCode` of a command that is done (Windows writes large
    /// codes such as `0xC0000005` unsigned: they are read as `i32` bits).
    pub exit_code: Option<i32>,
    /// A config Get's `cfg:MaxEnvelopeSizekb`.
    pub max_envelope_kb: Option<u64>,
}

/// One piece of a command's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stream {
    /// `stdout` or `stderr` (as the server named it).
    pub name: String,
    /// The command it belongs to (its `CommandId` attribute), if named.
    pub command_id: Option<String>,
    /// The bytes (empty for an `End="true"` marker).
    pub data: Vec<u8>,
    /// Whether the stream ends here.
    pub end: bool,
}

/// Reads one reply body. A SOAP fault is `Err(WsmanError::Fault)` with its
/// WSManFault code, subcode and a readable message; a body that is not a
/// SOAP envelope (not XML, no `Envelope`/`Body`, a stream that is not
/// base64) is `Err(WsmanError::Broken)` saying why. Never panics, whatever
/// the input (a fuzz target holds it to that).
pub fn parse_reply(body: &[u8]) -> Result<Reply, WsmanError> {
    let broken = |why: String| WsmanError::Broken(format!("the reply is not a WS-Management envelope: {why}"));
    let root = xml::parse(body).map_err(broken)?;
    if root.name != "Envelope" {
        return Err(broken(format!("its root is <{}>", root.name)));
    }
    let body = root.child("Body").ok_or_else(|| broken("it has no Body".into()))?;
    if let Some(fault) = body.child("Fault") {
        return Err(read_fault(fault));
    }
    let action = root.path(&["Header", "Action"]).map(|a| a.text.trim().to_string());
    let shell_id = body.find("ShellId").map(|e| e.text.trim().to_string()).or_else(|| {
        let mut selectors = Vec::new();
        body.find_all("Selector", &mut selectors);
        selectors.into_iter().find(|s| s.attribute("Name") == Some("ShellId")).map(|s| s.text.trim().to_string())
    });
    let command_id = body.find("CommandId").map(|e| e.text.trim().to_string());
    let mut found = Vec::new();
    body.find_all("Stream", &mut found);
    let mut streams = Vec::with_capacity(found.len());
    for stream in found {
        let name = stream.attribute("Name").unwrap_or_default().to_string();
        let text: String = stream.text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let data = base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map_err(|e| broken(format!("its {name} stream is not base64 ({e})")))?;
        let command_id = stream.attribute("CommandId").map(str::to_string);
        let end = stream.attribute("End").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        streams.push(Stream { name, command_id, data, end });
    }
    let state = body.find("CommandState");
    let done = state.and_then(|s| s.attribute("State")).is_some_and(|s| s.ends_with("/Done"));
    let exit_code = state.and_then(|s| s.child("ExitCode")).and_then(|e| exit_code(e.text.trim()));
    let max_envelope_kb = body.find("MaxEnvelopeSizekb").and_then(|e| e.text.trim().parse().ok());
    Ok(Reply { action, shell_id, command_id, streams, done, exit_code, max_envelope_kb })
}

/// `0`, `-1`, or `3221225477` (an NTSTATUS written unsigned) as `i32` bits.
fn exit_code(text: &str) -> Option<i32> {
    let wide: i64 = text.parse().ok()?;
    i32::try_from(wide).ok().or_else(|| u32::try_from(wide).ok().map(|u| u as i32))
}

/// The code, subcode and a readable message of a `s:Fault`.
fn read_fault(fault: &Element) -> WsmanError {
    let value = |path: &[&str]| fault.path(path).map(|e| e.text.trim().to_string()).filter(|t| !t.is_empty());
    let subcode = value(&["Code", "Subcode", "Value"]).or_else(|| value(&["Code", "Value"])).unwrap_or_default();
    let reason = fault.path(&["Reason", "Text"]).map(all_text).unwrap_or_default();
    let detail = fault.child("Detail");
    let wsman = detail.and_then(|d| d.find("WSManFault"));
    let wmi = detail.and_then(|d| d.find("MSFT_WmiError"));
    let code = wsman
        .and_then(|w| w.attribute("Code"))
        .and_then(|c| c.trim().parse().ok())
        .or_else(|| wmi.and_then(|w| w.child("error_Code")).and_then(|c| c.text.trim().parse().ok()));
    let said = wsman
        .and_then(|w| w.child("Message"))
        .or_else(|| wmi.and_then(|w| w.child("Message")))
        .map(all_text)
        .unwrap_or_default();
    let message = match (reason.is_empty(), said.is_empty()) {
        (true, true) => "the server gave no message".to_string(),
        (false, true) => reason,
        (true, false) => said,
        // Windows usually repeats its reason as the detail's message; a
        // provider's own fault adds to it.
        (false, false) if said.contains(&reason) => said,
        (false, false) if reason.contains(&said) => reason,
        (false, false) if reason.ends_with(['.', '!', '?']) => format!("{reason} {said}"),
        (false, false) => format!("{reason}: {said}"),
    };
    // Windows refuses a user outside these groups with a bare "Access is
    // denied": say what fixes it.
    let message = if subcode.rsplit(':').next() == Some("AccessDenied") {
        format!("{message} (the user must be in Administrators or Remote Management Users on the machine)")
    } else {
        message
    };
    WsmanError::Fault { code, subcode, message }
}

/// All text in `element` and below (a `f:Message` may hold a
/// `f:ProviderFault` with its own text), whitespace collapsed.
fn all_text(element: &Element) -> String {
    fn gather(element: &Element, out: &mut String) {
        out.push(' ');
        out.push_str(&element.text);
        for child in &element.children {
            gather(child, out);
        }
    }
    let mut raw = String::new();
    gather(element, &mut raw);
    raw.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
#[path = "reply_tests.rs"]
mod tests;
