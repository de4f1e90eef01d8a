//! WS-Management messages: a request read from its SOAP envelope, and the
//! replies and SOAP faults a Windows machine answers, in the shapes that
//! pywinrm, masterzen/winrm (Packer, winrmcp) and kiln read.
//!
//! Elements are matched by local name, whatever prefix a client binds to
//! the namespaces: every client we know of uses the standard namespaces,
//! and a prefix-blind reader cannot be tripped by an unusual binding.

use base64::Engine;
use quick_xml::events::{BytesStart, Event};
use std::time::Duration;

/// The shell namespace, prefix of the shell actions and of their replies.
pub const SHELL_NS: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell";
const TRANSFER: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer";
/// The `cmd` shell's resource URI.
pub const CMD_RESOURCE: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd";
/// The WinRM configuration's resource URI (read with Get).
pub const CONFIG_RESOURCE: &str = "http://schemas.microsoft.com/wbem/wsman/1/config";

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

/// Escapes text for an element or an attribute value.
pub fn escape(text: &str) -> String {
    quick_xml::escape::escape(text).into_owned()
}

/// An uppercase UUID, as Windows names shells and commands.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string().to_uppercase()
}

const NAMESPACES: &str = concat!(
    r#"xmlns:s="http://www.w3.org/2003/05/soap-envelope" "#,
    r#"xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" "#,
    r#"xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer" "#,
    r#"xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" "#,
    r#"xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell" "#,
    r#"xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd""#,
);

/// A whole reply envelope: `action`, related to request `relates_to`,
/// with `body` (already XML) as its body.
pub fn envelope(action: &str, relates_to: &str, body: &str) -> String {
    format!(
        concat!(
            r#"<s:Envelope xml:lang="en-US" {ns}><s:Header><a:Action>{action}</a:Action>"#,
            "<a:MessageID>uuid:{id}</a:MessageID>",
            "<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>",
            "<a:RelatesTo>{relates}</a:RelatesTo></s:Header><s:Body>{body}</s:Body></s:Envelope>"
        ),
        ns = NAMESPACES,
        action = escape(action),
        id = new_id(),
        relates = escape(relates_to),
        body = body,
    )
}

/// The reply to Create: the new shell as `x:ResourceCreated` (with the
/// `ShellId` selector that pywinrm and masterzen/winrm read) and as
/// `rsp:Shell` (with `rsp:ShellId`, that older clients read).
/// `idle` is the shell's idle timeout, as `IdleTimeOut` says it.
pub fn create_reply(
    relates_to: &str,
    address: &str,
    shell_id: &str,
    owner: &str,
    input: &str,
    output: &str,
    idle: Duration,
) -> String {
    let id = escape(shell_id);
    let body = format!(
        concat!(
            "<x:ResourceCreated><a:Address>{address}</a:Address><a:ReferenceParameters>",
            "<w:ResourceURI>{CMD_RESOURCE}</w:ResourceURI><w:SelectorSet>",
            r#"<w:Selector Name="ShellId">{id}</w:Selector></w:SelectorSet></a:ReferenceParameters></x:ResourceCreated>"#,
            "<rsp:Shell><rsp:ShellId>{id}</rsp:ShellId><rsp:ResourceUri>{CMD_RESOURCE}</rsp:ResourceUri>",
            "<rsp:Owner>{owner}</rsp:Owner><rsp:ClientIP>127.0.0.1</rsp:ClientIP>",
            "<rsp:IdleTimeOut>PT{idle}.000S</rsp:IdleTimeOut><rsp:InputStreams>{input}</rsp:InputStreams>",
            "<rsp:OutputStreams>{output}</rsp:OutputStreams><rsp:ShellRunTime>P0DT0H0M0S</rsp:ShellRunTime>",
            "<rsp:ShellInactivity>P0DT0H0M0S</rsp:ShellInactivity></rsp:Shell>"
        ),
        address = escape(address),
        CMD_RESOURCE = CMD_RESOURCE,
        id = id,
        owner = escape(owner),
        input = escape(input),
        output = escape(output),
        idle = idle.as_secs(),
    );
    envelope(&format!("{TRANSFER}/CreateResponse"), relates_to, &body)
}

/// The reply to Command: its `rsp:CommandId`.
pub fn command_reply(relates_to: &str, command_id: &str) -> String {
    let body =
        format!("<rsp:CommandResponse><rsp:CommandId>{}</rsp:CommandId></rsp:CommandResponse>", escape(command_id));
    envelope(&format!("{SHELL_NS}/CommandResponse"), relates_to, &body)
}

/// The reply to Send.
pub fn send_reply(relates_to: &str) -> String {
    envelope(&format!("{SHELL_NS}/SendResponse"), relates_to, "<rsp:SendResponse/>")
}

/// The reply to Signal.
pub fn signal_reply(relates_to: &str) -> String {
    envelope(&format!("{SHELL_NS}/SignalResponse"), relates_to, "<rsp:SignalResponse/>")
}

/// The reply to Delete.
pub fn delete_reply(relates_to: &str) -> String {
    envelope(&format!("{TRANSFER}/DeleteResponse"), relates_to, "")
}

/// The smallest `MaxEnvelopeSize` a server takes: DSP0226 6.2 (and
/// MS-WSMAN 3.1.4.1.9, which makes it a MUST for Windows) answers a
/// smaller one with the `w:EncodingLimit` fault.
pub const MIN_ENVELOPE_SIZE: u64 = 8192;

/// The bytes of a Receive reply to `relates_to` for `command_id` that are
/// not stream data: the envelope, the Done state with the longest exit
/// code, the two streams' markup, and base64's padding of each. What a
/// reply's budget for output leaves aside.
pub fn receive_overhead(relates_to: &str, command_id: &str) -> usize {
    let id = escape(command_id);
    let stream = r#"<rsp:Stream Name="stdout" CommandId="">"#.len() + id.len() + "</rsp:Stream>".len();
    // `stderr` is as long as `stdout`; each stream's base64 rounds up to
    // 4 bytes, which is at most 4 more than 4/3 of its data.
    receive_reply(relates_to, command_id, b"", b"", Some(i32::MIN)).len() + 2 * stream + 2 * 4
}

/// The reply to Receive: the output streams (base64), and the command's
/// state: Running, or Done with its exit code (and each stream's
/// `End="true"`, as Windows marks them).
pub fn receive_reply(relates_to: &str, command_id: &str, stdout: &[u8], stderr: &[u8], exit: Option<i32>) -> String {
    let id = escape(command_id);
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut body = String::from("<rsp:ReceiveResponse>");
    for (name, data) in [("stdout", stdout), ("stderr", stderr)] {
        if !data.is_empty() {
            body.push_str(&format!(r#"<rsp:Stream Name="{name}" CommandId="{id}">{}</rsp:Stream>"#, b64.encode(data)));
        }
    }
    match exit {
        Some(code) => {
            for name in ["stdout", "stderr"] {
                body.push_str(&format!(r#"<rsp:Stream Name="{name}" CommandId="{id}" End="true"></rsp:Stream>"#));
            }
            body.push_str(&format!(
                r#"<rsp:CommandState CommandId="{id}" State="{SHELL_NS}/CommandState/Done"><rsp:ExitCode>{code}</rsp:ExitCode></rsp:CommandState>"#
            ));
        }
        None => {
            body.push_str(&format!(r#"<rsp:CommandState CommandId="{id}" State="{SHELL_NS}/CommandState/Running"/>"#))
        }
    }
    body.push_str("</rsp:ReceiveResponse>");
    envelope(&format!("{SHELL_NS}/ReceiveResponse"), relates_to, &body)
}

/// The reply to Get of the configuration: `cfg:Config` with the fields
/// `winrm get winrm/config` shows, `MaxEnvelopeSizekb` among them.
pub fn config_reply(relates_to: &str, max_envelope_size_kb: u32, max_shells_per_user: u32, idle: Duration) -> String {
    let body = format!(
        concat!(
            r#"<cfg:Config xmlns:cfg="{CONFIG_RESOURCE}">"#,
            "<cfg:RootSDDL>O:NSG:BAD:P(A;;GA;;;BA)(A;;GR;;;IU)S:P(AU;FA;GA;;;WD)(AU;SA;GXGW;;;WD)</cfg:RootSDDL>",
            "<cfg:MaxEnvelopeSizekb>{kb}</cfg:MaxEnvelopeSizekb><cfg:MaxTimeoutms>60000</cfg:MaxTimeoutms>",
            "<cfg:MaxBatchItems>32000</cfg:MaxBatchItems><cfg:MaxProviderRequests>4294967295</cfg:MaxProviderRequests>",
            "<cfg:Client><cfg:NetworkDelayms>5000</cfg:NetworkDelayms><cfg:URLPrefix>wsman</cfg:URLPrefix>",
            "<cfg:AllowUnencrypted>false</cfg:AllowUnencrypted><cfg:Auth><cfg:Basic>true</cfg:Basic>",
            "<cfg:Digest>true</cfg:Digest><cfg:Kerberos>true</cfg:Kerberos><cfg:Negotiate>true</cfg:Negotiate>",
            "<cfg:Certificate>true</cfg:Certificate><cfg:CredSSP>false</cfg:CredSSP></cfg:Auth>",
            "<cfg:DefaultPorts><cfg:HTTP>5985</cfg:HTTP><cfg:HTTPS>5986</cfg:HTTPS></cfg:DefaultPorts>",
            "<cfg:TrustedHosts></cfg:TrustedHosts></cfg:Client>",
            "<cfg:Service><cfg:RootSDDL>O:NSG:BAD:P(A;;GA;;;BA)(A;;GR;;;IU)S:P(AU;FA;GA;;;WD)(AU;SA;GXGW;;;WD)</cfg:RootSDDL>",
            "<cfg:MaxConcurrentOperations>4294967295</cfg:MaxConcurrentOperations>",
            "<cfg:MaxConcurrentOperationsPerUser>1500</cfg:MaxConcurrentOperationsPerUser>",
            "<cfg:EnumerationTimeoutms>240000</cfg:EnumerationTimeoutms><cfg:MaxConnections>300</cfg:MaxConnections>",
            "<cfg:MaxPacketRetrievalTimeSeconds>120</cfg:MaxPacketRetrievalTimeSeconds>",
            "<cfg:AllowUnencrypted>true</cfg:AllowUnencrypted><cfg:Auth><cfg:Basic>true</cfg:Basic>",
            "<cfg:Kerberos>true</cfg:Kerberos><cfg:Negotiate>true</cfg:Negotiate><cfg:Certificate>false</cfg:Certificate>",
            "<cfg:CredSSP>false</cfg:CredSSP><cfg:CbtHardeningLevel>Relaxed</cfg:CbtHardeningLevel></cfg:Auth>",
            "<cfg:DefaultPorts><cfg:HTTP>5985</cfg:HTTP><cfg:HTTPS>5986</cfg:HTTPS></cfg:DefaultPorts>",
            "<cfg:IPv4Filter>*</cfg:IPv4Filter><cfg:IPv6Filter>*</cfg:IPv6Filter>",
            "<cfg:EnableCompatibilityHttpListener>false</cfg:EnableCompatibilityHttpListener>",
            "<cfg:EnableCompatibilityHttpsListener>false</cfg:EnableCompatibilityHttpsListener>",
            "<cfg:CertificateThumbprint></cfg:CertificateThumbprint>",
            "<cfg:AllowRemoteAccess>true</cfg:AllowRemoteAccess></cfg:Service>",
            "<cfg:Winrs><cfg:AllowRemoteShellAccess>true</cfg:AllowRemoteShellAccess>",
            "<cfg:IdleTimeout>{idle_ms}</cfg:IdleTimeout><cfg:MaxConcurrentUsers>2147483647</cfg:MaxConcurrentUsers>",
            "<cfg:MaxShellRunTime>2147483647</cfg:MaxShellRunTime><cfg:MaxProcessesPerShell>2147483647</cfg:MaxProcessesPerShell>",
            "<cfg:MaxMemoryPerShellMB>2147483647</cfg:MaxMemoryPerShellMB><cfg:MaxShellsPerUser>{shells}</cfg:MaxShellsPerUser>",
            "</cfg:Winrs></cfg:Config>"
        ),
        CONFIG_RESOURCE = CONFIG_RESOURCE,
        kb = max_envelope_size_kb,
        shells = max_shells_per_user,
        idle_ms = idle.as_millis(),
    );
    envelope(&format!("{TRANSFER}/GetResponse"), relates_to, &body)
}

/// A SOAP fault as Windows answers it (HTTP 500).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// `s:Sender` (the request is wrong) or `s:Receiver`.
    pub code: &'static str,
    /// The subcode, prefixed (`w:TimedOut`, `a:ActionNotSupported`).
    pub subcode: &'static str,
    /// The WSManFault `Code` attribute.
    pub wsman_code: u32,
    /// Reason text and WSManFault message.
    pub message: String,
}

impl Fault {
    /// A Receive that found no output within the operation timeout: the
    /// client sends the next Receive. The message names `OperationTimeout`
    /// as Windows' does (masterzen/winrm looks for that word).
    pub fn timed_out() -> Fault {
        Fault {
            code: "s:Receiver",
            subcode: "w:TimedOut",
            wsman_code: 2150858793,
            message:
                "The WS-Management service cannot complete the operation within the time specified in OperationTimeout."
                    .into(),
        }
    }

    /// No shell with this id (never made, deleted, or lost).
    pub fn shell_not_found(shell_id: &str) -> Fault {
        Fault {
            code: "s:Sender",
            subcode: "w:InvalidSelectors",
            wsman_code: 2150858843,
            message: format!(
                "The request for the Windows Remote Shell with ShellId {shell_id} failed because the shell was not found on the server. Possible causes are: the specified ShellId is incorrect or the shell no longer exists on the server. Provide the correct ShellId or create a new shell and retry the operation."
            ),
        }
    }

    /// A shell operation without the `ShellId` selector.
    pub fn no_shell_selector() -> Fault {
        Fault {
            code: "s:Sender",
            subcode: "w:InvalidSelectors",
            wsman_code: 2150858842,
            message: "The Windows Remote Shell cannot process the request because it requires the following selector: ShellId. Retry with the correct selector.".into(),
        }
    }

    /// No command with this id in the shell.
    pub fn command_not_found(command_id: &str) -> Fault {
        Fault {
            code: "s:Sender",
            subcode: "w:InvalidParameter",
            wsman_code: 87,
            message: format!("The parameter is incorrect. (no command {command_id} in this shell)"),
        }
    }

    /// An action the service does not answer.
    pub fn action_not_supported(action: &str) -> Fault {
        Fault {
            code: "s:Sender",
            subcode: "a:ActionNotSupported",
            wsman_code: 2150858771,
            message: format!(
                "The WS-Management service does not support the action specified in the request: {action}"
            ),
        }
    }

    /// A body that is not a WS-Management request.
    pub fn invalid_xml(why: &str) -> Fault {
        Fault {
            code: "s:Sender",
            subcode: "w:SchemaValidationError",
            wsman_code: 2150858819,
            message: format!("The WS-Management service cannot process the request because the XML is invalid. {why}"),
        }
    }

    /// A user has as many shells as it may.
    pub fn too_many_shells(max: u32) -> Fault {
        Fault {
            code: "s:Receiver",
            subcode: "w:QuotaLimit",
            wsman_code: 2150859173,
            message: format!(
                "The WS-Management service cannot process the request. This user is allowed a maximum number of {max} concurrent shells, which has been exceeded. Close existing shells or raise the quota for this user."
            ),
        }
    }

    /// A resource the service does not have (Get of something but the
    /// configuration, Create of another shell than `cmd`).
    pub fn unknown_resource(uri: &str) -> Fault {
        Fault {
            code: "s:Sender",
            subcode: "a:DestinationUnreachable",
            wsman_code: 2150858770,
            message: format!(
                "The WS-Management service cannot process the request because the resource URI {uri} is not served by this machine."
            ),
        }
    }

    /// A request whose `MaxEnvelopeSize` leaves no room for its reply
    /// (under [`MIN_ENVELOPE_SIZE`], as DSP0226 6.2 says). The subcode
    /// and the reason are DSP0226's; the WSManFault code is
    /// `ERROR_WSMAN_MAX_ENVELOPE_SIZE` as we believe Windows numbers it,
    /// unconfirmed against a real Windows (no client we know of reads it).
    pub fn encoding_limit(max_envelope_size: u64) -> Fault {
        Fault {
            code: "s:Sender",
            subcode: "w:EncodingLimit",
            wsman_code: 2150858817,
            message: format!(
                "The WS-Management service cannot process the request because the MaxEnvelopeSize of {max_envelope_size} bytes is too small for its reply: give at least {MIN_ENVELOPE_SIZE}."
            ),
        }
    }

    /// The service failed on its side (a bug in the simulator: a command
    /// that panicked): `ERROR_INTERNAL_ERROR` (1359), as WinRM reports an
    /// internal failure.
    pub fn internal(why: &str) -> Fault {
        Fault {
            code: "s:Receiver",
            subcode: "w:InternalError",
            wsman_code: 1359,
            message: format!("An internal error occurred. {why}"),
        }
    }

    /// The whole fault envelope, related to request `relates_to` (empty
    /// when the request had no readable MessageID), from `machine`.
    pub fn to_xml(&self, relates_to: &str, machine: &str) -> String {
        let message = escape(&self.message);
        let body = format!(
            concat!(
                "<s:Fault><s:Code><s:Value>{code}</s:Value><s:Subcode><s:Value>{subcode}</s:Value></s:Subcode></s:Code>",
                r#"<s:Reason><s:Text xml:lang="en-US">{message} </s:Text></s:Reason><s:Detail>"#,
                r#"<f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="{wsman}" Machine="{machine}">"#,
                "<f:Message>{message} </f:Message></f:WSManFault></s:Detail></s:Fault>"
            ),
            code = self.code,
            subcode = self.subcode,
            message = message,
            wsman = self.wsman_code,
            machine = escape(machine),
        );
        envelope("http://schemas.dmtf.org/wbem/wsman/1/wsman/fault", relates_to, &body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn replies_are_well_formed_and_relate_to_the_request() {
        for xml in [
            create_reply(
                "uuid:1",
                "http://h:5985/wsman",
                "S<1>",
                "Administrator",
                "stdin",
                "stdout stderr",
                Duration::from_secs(7200),
            ),
            command_reply("uuid:1", "C"),
            receive_reply("uuid:1", "C", b"out", b"err", Some(3)),
            receive_reply("uuid:1", "C", b"", b"", None),
            config_reply("uuid:1", 500, 30, Duration::from_secs(7200)),
            Fault::timed_out().to_xml("uuid:1", "host"),
            send_reply("uuid:1"),
            signal_reply("uuid:1"),
            delete_reply("uuid:1"),
        ] {
            let mut reader = quick_xml::Reader::from_str(&xml);
            loop {
                match reader.read_event() {
                    Ok(Event::Eof) => break,
                    Ok(_) => {}
                    Err(e) => panic!("{e}: {xml}"),
                }
            }
            assert!(xml.contains("<a:RelatesTo>uuid:1</a:RelatesTo>"), "{xml}");
        }
        let done = receive_reply("uuid:1", "C", b"out", b"", Some(3));
        assert!(done.contains(r#"<rsp:Stream Name="stdout" CommandId="C">b3V0</rsp:Stream>"#), "{done}");
        assert!(done.contains("CommandState/Done\"><rsp:ExitCode>3</rsp:ExitCode>"), "{done}");
        let fault = Fault::timed_out().to_xml("uuid:1", "host");
        assert!(fault.contains(r#"Code="2150858793""#) && fault.contains("OperationTimeout"), "{fault}");
        assert!(fault.contains("<s:Value>w:TimedOut</s:Value>"), "{fault}");
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
