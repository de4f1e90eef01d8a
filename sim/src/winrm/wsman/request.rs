//! A request read from its SOAP envelope.
//!
//! Elements are matched by local name, whatever prefix a client binds to
//! the namespaces: every client we know of uses the standard namespaces,
//! and a prefix-blind reader cannot be tripped by an unusual binding.

use super::{SHELL_NS, TRANSFER};
use base64::Engine;
use quick_xml::events::{BytesStart, Event};
use std::time::Duration;

/// What a request asks for, from its `wsa:Action` and its body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operation {
    /// `transfer/Get` (of the configuration, when the resource is
    /// [`CONFIG_RESOURCE`]).
    Get,
    /// `transfer/Create` of a shell.
    Create {
        /// `rsp:Environment/rsp:Variable`s, in order.
        env: Vec<(String, String)>,
        /// `rsp:WorkingDirectory`.
        working_directory: Option<String>,
        /// `rsp:InputStreams` (`stdin` when absent).
        input_streams: String,
        /// `rsp:OutputStreams` (`stdout stderr` when absent).
        output_streams: String,
    },
    /// `shell/Command`.
    Command {
        /// `rsp:Command`.
        command: String,
        /// Each `rsp:Arguments`.
        arguments: Vec<String>,
    },
    /// `shell/Send`: stdin.
    Send {
        /// The `CommandId` of its `rsp:Stream`.
        command_id: String,
        /// The decoded bytes.
        data: Vec<u8>,
        /// `End="true"`: the end of stdin.
        end: bool,
    },
    /// `shell/Receive`.
    Receive {
        /// The `CommandId` of its `rsp:DesiredStream`.
        command_id: String,
    },
    /// `shell/Signal`.
    Signal {
        /// Its `CommandId` attribute.
        command_id: String,
        /// Its `rsp:Code`.
        code: String,
    },
    /// `transfer/Delete` of a shell.
    Delete,
    /// An action the server does not answer.
    Other(String),
}

impl Operation {
    /// Its short name, for records: `Create`, `Receive`… (the action URI's
    /// last segment for an unknown one).
    pub fn name(&self) -> String {
        match self {
            Operation::Get => "Get".into(),
            Operation::Create { .. } => "Create".into(),
            Operation::Command { .. } => "Command".into(),
            Operation::Send { .. } => "Send".into(),
            Operation::Receive { .. } => "Receive".into(),
            Operation::Signal { .. } => "Signal".into(),
            Operation::Delete => "Delete".into(),
            Operation::Other(action) => action.rsplit('/').next().unwrap_or(action).to_string(),
        }
    }
}

/// One WS-Management request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// `wsa:MessageID`, that the reply's `wsa:RelatesTo` repeats.
    pub message_id: String,
    /// `wsman:ResourceURI`.
    pub resource_uri: String,
    /// The `ShellId` selector, if any.
    pub shell_id: Option<String>,
    /// `wsman:MaxEnvelopeSize`: the largest reply the client takes, bytes.
    pub max_envelope_size: Option<u64>,
    /// `wsman:OperationTimeout`.
    pub operation_timeout: Option<Duration>,
    /// What it asks.
    pub operation: Operation,
}

/// Why a request body is not a WS-Management request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not well-formed XML (or not UTF-8), at this byte offset.
    #[error("the request is not well-formed XML (at byte {at}): {why}")]
    Xml {
        /// Byte offset of the error.
        at: u64,
        /// What the reader said.
        why: String,
    },
    /// Well-formed, but no SOAP envelope with a `wsa:Action`.
    #[error("the request has no wsa:Action header")]
    NoAction,
    /// A `rsp:Stream` whose text is not base64.
    #[error("a rsp:Stream of the request is not base64: {0}")]
    Base64(String),
}

/// Reads a request body. Never panics, whatever the bytes.
///
/// Fails when it is not well-formed XML, has no `wsa:Action`, or carries
/// stdin that is not base64. An action it does not know is not an error:
/// it is [`Operation::Other`].
pub fn parse_request(body: &[u8]) -> Result<Request, ParseError> {
    let mut reader = quick_xml::Reader::from_reader(body);
    reader.config_mut().check_end_names = true;
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut raw = Raw::default();
    // Attributes of the element being read, by element kind.
    let mut open_attrs: Vec<Vec<(String, String)>> = Vec::new();
    loop {
        let event =
            reader.read_event().map_err(|e| ParseError::Xml { at: reader.error_position(), why: e.to_string() })?;
        match event {
            Event::Start(start) => {
                path.push(local(&start));
                open_attrs.push(attributes(&start)?);
                text.clear();
            }
            Event::Empty(start) => {
                path.push(local(&start));
                let attrs = attributes(&start)?;
                raw.element(&path, &attrs, "");
                path.pop();
            }
            Event::Text(t) => {
                let piece =
                    t.unescape().map_err(|e| ParseError::Xml { at: reader.buffer_position(), why: e.to_string() })?;
                text.push_str(&piece);
            }
            Event::CData(c) => text.push_str(&String::from_utf8_lossy(&c)),
            Event::End(_) => {
                let attrs = open_attrs.pop().unwrap_or_default();
                raw.element(&path, &attrs, text.trim());
                text.clear();
                path.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !path.is_empty() {
        return Err(ParseError::Xml {
            at: reader.buffer_position(),
            why: "the document ends inside an element".into(),
        });
    }
    raw.into_request()
}

fn local(start: &BytesStart<'_>) -> String {
    String::from_utf8_lossy(start.local_name().as_ref()).into_owned()
}

fn attributes(start: &BytesStart<'_>) -> Result<Vec<(String, String)>, ParseError> {
    let mut out = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| ParseError::Xml { at: 0, why: e.to_string() })?;
        let key = String::from_utf8_lossy(attr.key.local_name().as_ref()).into_owned();
        let value = attr.unescape_value().map_err(|e| ParseError::Xml { at: 0, why: e.to_string() })?;
        out.push((key, value.into_owned()));
    }
    Ok(out)
}

fn attr<'a>(attrs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// What the reader gathered, before it is checked into a [`Request`].
#[derive(Default)]
struct Raw {
    action: Option<String>,
    message_id: String,
    resource_uri: String,
    shell_id: Option<String>,
    max_envelope_size: Option<u64>,
    operation_timeout: Option<Duration>,
    env: Vec<(String, String)>,
    working_directory: Option<String>,
    input_streams: Option<String>,
    output_streams: Option<String>,
    command: Option<String>,
    arguments: Vec<String>,
    stream_command: Option<String>,
    stream_data: String,
    stream_end: bool,
    desired_command: Option<String>,
    signal_command: Option<String>,
    signal_code: Option<String>,
}

impl Raw {
    /// One element ended: `path` (local names, the element last), its
    /// attributes and its trimmed text.
    fn element(&mut self, path: &[String], attrs: &[(String, String)], text: &str) {
        let name = path.last().map(String::as_str).unwrap_or("");
        let in_header = path.iter().any(|p| p == "Header");
        let in_body = path.iter().any(|p| p == "Body");
        if in_header {
            match name {
                "Action" => self.action = Some(text.to_string()),
                "MessageID" => self.message_id = text.to_string(),
                "ResourceURI" => self.resource_uri = text.to_string(),
                "Selector" if attr(attrs, "Name").is_some_and(|n| n.eq_ignore_ascii_case("ShellId")) => {
                    self.shell_id = Some(text.to_string())
                }
                "MaxEnvelopeSize" => self.max_envelope_size = text.parse().ok(),
                "OperationTimeout" => self.operation_timeout = parse_duration(text),
                _ => {}
            }
            return;
        }
        if !in_body {
            return;
        }
        match name {
            "Variable" => self.env.push((attr(attrs, "Name").unwrap_or("").to_string(), text.to_string())),
            "WorkingDirectory" => self.working_directory = Some(text.to_string()),
            "InputStreams" => self.input_streams = Some(text.to_string()),
            "OutputStreams" => self.output_streams = Some(text.to_string()),
            "Command" => self.command = Some(text.to_string()),
            "Arguments" => self.arguments.push(text.to_string()),
            "Stream" => {
                self.stream_command = attr(attrs, "CommandId").map(str::to_string);
                self.stream_data.push_str(text);
                self.stream_end |= attr(attrs, "End").is_some_and(|e| e == "true" || e == "1");
            }
            "DesiredStream" => self.desired_command = attr(attrs, "CommandId").map(str::to_string),
            "Signal" => self.signal_command = attr(attrs, "CommandId").map(str::to_string),
            "Code" => self.signal_code = Some(text.to_string()),
            _ => {}
        }
    }

    fn into_request(self) -> Result<Request, ParseError> {
        let action = self.action.ok_or(ParseError::NoAction)?;
        let shell = |name: &str| format!("{SHELL_NS}/{name}");
        let operation = if action == format!("{TRANSFER}/Get") {
            Operation::Get
        } else if action == format!("{TRANSFER}/Create") {
            Operation::Create {
                env: self.env,
                working_directory: self.working_directory.filter(|d| !d.is_empty()),
                input_streams: self.input_streams.unwrap_or_else(|| "stdin".into()),
                output_streams: self.output_streams.unwrap_or_else(|| "stdout stderr".into()),
            }
        } else if action == format!("{TRANSFER}/Delete") {
            Operation::Delete
        } else if action == shell("Command") {
            Operation::Command { command: self.command.unwrap_or_default(), arguments: self.arguments }
        } else if action == shell("Send") {
            let compact: String = self.stream_data.chars().filter(|c| !c.is_whitespace()).collect();
            let data = base64::engine::general_purpose::STANDARD
                .decode(compact.as_bytes())
                .map_err(|e| ParseError::Base64(e.to_string()))?;
            Operation::Send { command_id: self.stream_command.unwrap_or_default(), data, end: self.stream_end }
        } else if action == shell("Receive") {
            Operation::Receive { command_id: self.desired_command.unwrap_or_default() }
        } else if action == shell("Signal") {
            Operation::Signal {
                command_id: self.signal_command.unwrap_or_default(),
                code: self.signal_code.unwrap_or_default(),
            }
        } else {
            Operation::Other(action)
        };
        Ok(Request {
            message_id: self.message_id,
            resource_uri: self.resource_uri,
            shell_id: self.shell_id,
            max_envelope_size: self.max_envelope_size,
            operation_timeout: self.operation_timeout,
            operation,
        })
    }
}

/// An xs:duration as WS-Management sends timeouts (`PT60S`,
/// `PT60.000S`, `PT1M30S`), if it is one with no date part.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let rest = text.strip_prefix("PT")?;
    let mut seconds = 0f64;
    let mut number = String::new();
    for c in rest.chars() {
        match c {
            '0'..='9' | '.' => number.push(c),
            'H' | 'M' | 'S' => {
                let value: f64 = number.parse().ok()?;
                number.clear();
                seconds += value
                    * if c == 'H' {
                        3600.0
                    } else if c == 'M' {
                        60.0
                    } else {
                        1.0
                    };
            }
            _ => return None,
        }
    }
    (number.is_empty() && seconds.is_finite()).then(|| Duration::from_secs_f64(seconds.min(1e9)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::winrm::wsman::CMD_RESOURCE;

    fn request(action: &str, header: &str, body: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="utf-8"?>
<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell">
<env:Header><a:To>http://h:5985/wsman</a:To><a:Action mustUnderstand="true">{action}</a:Action>
<w:MaxEnvelopeSize mustUnderstand="true">153600</w:MaxEnvelopeSize><a:MessageID>uuid:1234</a:MessageID>
<w:OperationTimeout>PT20S</w:OperationTimeout><w:ResourceURI>{CMD_RESOURCE}</w:ResourceURI>{header}</env:Header>
<env:Body>{body}</env:Body></env:Envelope>"#
        )
    }

    const SELECTOR: &str = r#"<w:SelectorSet><w:Selector Name="ShellId">S-1</w:Selector></w:SelectorSet>"#;

    #[test]
    fn a_create_reads_its_environment_directory_and_streams() {
        let body = r#"<rsp:Shell><rsp:Environment><rsp:Variable Name="A">1 &amp; 2</rsp:Variable><rsp:Variable Name="B"></rsp:Variable></rsp:Environment><rsp:WorkingDirectory>C:\Temp</rsp:WorkingDirectory><rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>"#;
        let r = parse_request(request("http://schemas.xmlsoap.org/ws/2004/09/transfer/Create", "", body).as_bytes())
            .unwrap();
        assert_eq!(r.message_id, "uuid:1234");
        assert_eq!(r.max_envelope_size, Some(153600));
        assert_eq!(r.operation_timeout, Some(Duration::from_secs(20)));
        assert_eq!(
            r.operation,
            Operation::Create {
                env: vec![("A".into(), "1 & 2".into()), ("B".into(), String::new())],
                working_directory: Some("C:\\Temp".into()),
                input_streams: "stdin".into(),
                output_streams: "stdout stderr".into(),
            }
        );
    }

    #[test]
    fn command_send_receive_and_signal_read_their_parts() {
        let shell = |name: &str| format!("{SHELL_NS}/{name}");
        let r = parse_request(
            request(&shell("Command"), SELECTOR, "<rsp:CommandLine><rsp:Command>echo</rsp:Command><rsp:Arguments>hello</rsp:Arguments><rsp:Arguments>there</rsp:Arguments></rsp:CommandLine>").as_bytes(),
        )
        .unwrap();
        assert_eq!(r.shell_id.as_deref(), Some("S-1"));
        assert_eq!(
            r.operation,
            Operation::Command { command: "echo".into(), arguments: vec!["hello".into(), "there".into()] }
        );
        let r = parse_request(
            request(
                &shell("Send"),
                SELECTOR,
                r#"<rsp:Send><rsp:Stream Name="stdin" CommandId="C-1" End="true">aGk=</rsp:Stream></rsp:Send>"#,
            )
            .as_bytes(),
        )
        .unwrap();
        assert_eq!(r.operation, Operation::Send { command_id: "C-1".into(), data: b"hi".to_vec(), end: true });
        let r = parse_request(
            request(
                &shell("Receive"),
                SELECTOR,
                r#"<rsp:Receive><rsp:DesiredStream CommandId="C-1">stdout stderr</rsp:DesiredStream></rsp:Receive>"#,
            )
            .as_bytes(),
        )
        .unwrap();
        assert_eq!(r.operation, Operation::Receive { command_id: "C-1".into() });
        let r = parse_request(
            request(
                &shell("Signal"),
                SELECTOR,
                &format!(
                    r#"<rsp:Signal CommandId="C-1"><rsp:Code>{SHELL_NS}/signal/terminate</rsp:Code></rsp:Signal>"#
                ),
            )
            .as_bytes(),
        )
        .unwrap();
        assert_eq!(
            r.operation,
            Operation::Signal { command_id: "C-1".into(), code: format!("{SHELL_NS}/signal/terminate") }
        );
    }

    #[test]
    fn bad_bodies_are_errors_and_unknown_actions_are_other() {
        assert!(matches!(parse_request(b"<a><b></a>"), Err(ParseError::Xml { .. })));
        assert!(matches!(parse_request(b"<a>"), Err(ParseError::Xml { .. })));
        assert!(parse_request(b"\xff\xfe<").is_err());
        assert_eq!(parse_request(b"<Envelope/>"), Err(ParseError::NoAction));
        let r = parse_request(request("http://example.com/Frobnicate", "", "").as_bytes()).unwrap();
        assert_eq!(r.operation, Operation::Other("http://example.com/Frobnicate".into()));
        let send = request(
            &format!("{SHELL_NS}/Send"),
            SELECTOR,
            r#"<rsp:Send><rsp:Stream CommandId="C">!!</rsp:Stream></rsp:Send>"#,
        );
        assert!(matches!(parse_request(send.as_bytes()), Err(ParseError::Base64(_))));
    }

    #[test]
    fn no_bytes_make_the_reader_panic() {
        // Every cut and every one-byte change of a real request, and
        // pseudo-random bytes: each is a request or an error.
        let good = request(
            &format!("{SHELL_NS}/Send"),
            SELECTOR,
            r#"<rsp:Send><rsp:Stream Name="stdin" CommandId="C" End="true">aGk=</rsp:Stream></rsp:Send>"#,
        );
        let bytes = good.as_bytes();
        for cut in 0..bytes.len() {
            let _ = parse_request(&bytes[..cut]);
        }
        let mut state = 0x2545_f491_u32;
        for at in 0..bytes.len() {
            let mut changed = bytes.to_vec();
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            changed[at] = state as u8;
            let _ = parse_request(&changed);
        }
        let alphabet = b"<>/=\"' ab:&;#x\xff";
        for _ in 0..2000 {
            let noise: Vec<u8> = (0..64)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    alphabet[state as usize % alphabet.len()]
                })
                .collect();
            let _ = parse_request(&noise);
        }
    }

    #[test]
    fn durations_read_as_winrm_writes_them() {
        assert_eq!(parse_duration("PT60.000S"), Some(Duration::from_secs(60)));
        assert_eq!(parse_duration("PT1M30S"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("P1D"), None);
        assert_eq!(parse_duration("PT5"), None);
    }

    /// The fuzz target's seeds (`fuzz/corpus/winrm_request/`, what kiln,
    /// pywinrm and winrmcp sent) are requests this reader takes, so the
    /// fuzzer starts from deep inside it.
    #[test]
    fn every_fuzz_seed_is_a_request() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/winrm_request");
        let mut seeds = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let body = std::fs::read(&path).unwrap();
            if let Err(e) = parse_request(&body) {
                panic!("{}: {e}", path.display());
            }
            seeds += 1;
        }
        assert!(seeds >= 10, "only {seeds} seeds in {}", dir.display());
    }
}
