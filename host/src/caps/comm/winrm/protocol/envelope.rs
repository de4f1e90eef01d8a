//! The SOAP 1.2 requests kiln sends, written as Windows' own client (winrs)
//! writes them: the WS-Addressing and WS-Management headers every request
//! carries, then one body per operation. Everything put in is escaped.

use super::OPERATION_TIMEOUT;
use super::xml::escape;

pub(crate) const NS_SOAP: &str = "http://www.w3.org/2003/05/soap-envelope";
pub(crate) const NS_ADDRESSING: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
pub(crate) const NS_WSMAN: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd";
pub(crate) const NS_MS_WSMAN: &str = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd";
pub(crate) const NS_SHELL: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell";
const ANONYMOUS: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous";

/// The resource of a cmd shell.
pub(crate) const RESOURCE_CMD: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd";
/// The resource of the WinRM service's configuration.
pub(crate) const RESOURCE_CONFIG: &str = "http://schemas.microsoft.com/wbem/wsman/1/config";

pub(crate) const ACTION_GET: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get";
pub(crate) const ACTION_CREATE: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create";
pub(crate) const ACTION_DELETE: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete";
pub(crate) const ACTION_COMMAND: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command";
pub(crate) const ACTION_SEND: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Send";
pub(crate) const ACTION_RECEIVE: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive";
pub(crate) const ACTION_SIGNAL: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Signal";
const SIGNAL_TERMINATE: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/terminate";

/// What every request's header says besides its action.
pub(crate) struct Header<'a> {
    /// The endpoint's URL (`a:To`).
    pub to: &'a str,
    /// The largest reply kiln accepts (`w:MaxEnvelopeSize`).
    pub max_envelope: usize,
    /// The `a:MessageID` (`uuid:…`).
    pub message_id: &'a str,
}

/// One request: its action (for messages) and its text.
pub(crate) struct Request {
    /// The `a:Action` URI.
    pub action: &'static str,
    /// The whole envelope.
    pub text: String,
}

impl Request {
    /// The operation's short name (`Receive`, `Create`), for messages.
    pub fn operation(&self) -> &'static str {
        operation(self.action)
    }
}

/// `…/windows/shell/Receive` → `Receive`.
pub(crate) fn operation(action: &'static str) -> &'static str {
    action.rsplit('/').next().unwrap_or(action)
}

/// A fresh `uuid:…` message id.
pub(crate) fn message_id() -> String {
    format!("uuid:{}", uuid::Uuid::new_v4().to_string().to_uppercase())
}

/// Server-made ids (shell, command) are escaped like everything else; an id
/// XML cannot carry at all becomes empty, which the server then refuses.
fn id(text: &str) -> String {
    escape(text).unwrap_or_default()
}

fn envelope(
    header: &Header<'_>,
    action: &'static str,
    resource: &str,
    shell: Option<&str>,
    options: &[(&str, &str)],
    body: &str,
) -> Request {
    let selectors = shell
        .map(|s| format!("<w:SelectorSet><w:Selector Name=\"ShellId\">{}</w:Selector></w:SelectorSet>", id(s)))
        .unwrap_or_default();
    let options = if options.is_empty() {
        String::new()
    } else {
        let list: String =
            options.iter().map(|(name, value)| format!("<w:Option Name=\"{name}\">{value}</w:Option>")).collect();
        format!("<w:OptionSet>{list}</w:OptionSet>")
    };
    let text = format!(
        concat!(
            "<s:Envelope xmlns:s=\"{soap}\" xmlns:a=\"{addressing}\" xmlns:w=\"{wsman}\" xmlns:p=\"{ms}\" xmlns:rsp=\"{shell_ns}\">",
            "<s:Header>",
            "<a:To>{to}</a:To>",
            "<a:ReplyTo><a:Address s:mustUnderstand=\"true\">{anonymous}</a:Address></a:ReplyTo>",
            "<a:Action s:mustUnderstand=\"true\">{action}</a:Action>",
            "<a:MessageID>{message_id}</a:MessageID>",
            "<w:Locale xml:lang=\"en-US\" s:mustUnderstand=\"false\"/>",
            "<p:DataLocale xml:lang=\"en-US\" s:mustUnderstand=\"false\"/>",
            "<w:OperationTimeout>PT{timeout}.000S</w:OperationTimeout>",
            "<w:MaxEnvelopeSize s:mustUnderstand=\"true\">{max}</w:MaxEnvelopeSize>",
            "<w:ResourceURI s:mustUnderstand=\"true\">{resource}</w:ResourceURI>",
            "{selectors}{options}",
            "</s:Header>",
            "<s:Body>{body}</s:Body>",
            "</s:Envelope>"
        ),
        soap = NS_SOAP,
        addressing = NS_ADDRESSING,
        wsman = NS_WSMAN,
        ms = NS_MS_WSMAN,
        shell_ns = NS_SHELL,
        to = id(header.to),
        anonymous = ANONYMOUS,
        action = action,
        message_id = id(header.message_id),
        timeout = OPERATION_TIMEOUT.as_secs(),
        max = header.max_envelope,
        resource = resource,
        selectors = selectors,
        options = options,
        body = body,
    );
    Request { action, text }
}

/// WS-Transfer Get of the service configuration (for `MaxEnvelopeSizekb`).
pub(crate) fn get_config(header: &Header<'_>) -> Request {
    envelope(header, ACTION_GET, RESOURCE_CONFIG, None, &[], "")
}

/// Create a cmd shell: no profile, UTF-8 code page, stdin in, stdout and
/// stderr out.
pub(crate) fn create_shell(header: &Header<'_>) -> Request {
    envelope(
        header,
        ACTION_CREATE,
        RESOURCE_CMD,
        None,
        &[("WINRS_NOPROFILE", "TRUE"), ("WINRS_CODEPAGE", "65001")],
        "<rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>",
    )
}

/// How a command's stdin reaches it (`WINRS_CONSOLEMODE_STDIN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stdin {
    /// Through a console (`TRUE`, winrs' default): fine for a command whose
    /// stdin is closed at once (exec, `kind`, `list`, `get`).
    Console,
    /// As a pipe (`FALSE`): for a command that reads a byte stream (`put`);
    /// a console would line-edit it (Ansible's WinRM client knows this too).
    Stream,
}

/// Start `command` (the whole command line, no arguments) in `shell`, its
/// stdin as `stdin` says. Fails with the code of a character XML cannot
/// carry.
pub(crate) fn command(header: &Header<'_>, shell: &str, command: &str, stdin: Stdin) -> Result<Request, u32> {
    let body = format!("<rsp:CommandLine><rsp:Command>{}</rsp:Command></rsp:CommandLine>", escape(command)?);
    let console = if stdin == Stdin::Console { "TRUE" } else { "FALSE" };
    Ok(envelope(
        header,
        ACTION_COMMAND,
        RESOURCE_CMD,
        Some(shell),
        &[("WINRS_CONSOLEMODE_STDIN", console), ("WINRS_SKIP_CMD_SHELL", "FALSE")],
        &body,
    ))
}

/// One piece of stdin, already base64; `end` closes stdin.
pub(crate) fn send(header: &Header<'_>, shell: &str, command: &str, base64: &str, end: bool) -> Request {
    let end = if end { " End=\"true\"" } else { "" };
    let body = format!(
        "<rsp:Send><rsp:Stream Name=\"stdin\" CommandId=\"{}\"{end}>{base64}</rsp:Stream></rsp:Send>",
        id(command)
    );
    envelope(header, ACTION_SEND, RESOURCE_CMD, Some(shell), &[], &body)
}

/// Ask for the output of `command` so far (or its end). The keep-alive
/// option is winrs' own: it keeps the shell from idling out between
/// Receives.
pub(crate) fn receive(header: &Header<'_>, shell: &str, command: &str) -> Request {
    let body = format!(
        "<rsp:Receive><rsp:DesiredStream CommandId=\"{}\">stdout stderr</rsp:DesiredStream></rsp:Receive>",
        id(command)
    );
    envelope(header, ACTION_RECEIVE, RESOURCE_CMD, Some(shell), &[("WSMAN_CMDSHELL_OPTION_KEEPALIVE", "TRUE")], &body)
}

/// Terminate `command` (after its end, or to abandon it).
pub(crate) fn terminate(header: &Header<'_>, shell: &str, command: &str) -> Request {
    let body =
        format!("<rsp:Signal CommandId=\"{}\"><rsp:Code>{SIGNAL_TERMINATE}</rsp:Code></rsp:Signal>", id(command));
    envelope(header, ACTION_SIGNAL, RESOURCE_CMD, Some(shell), &[], &body)
}

/// Delete `shell`.
pub(crate) fn delete_shell(header: &Header<'_>, shell: &str) -> Request {
    envelope(header, ACTION_DELETE, RESOURCE_CMD, Some(shell), &[], "")
}

#[cfg(test)]
mod tests {
    use super::super::xml::{Element, parse};
    use super::*;

    fn header() -> Header<'static> {
        Header { to: "http://win:5985/wsman", max_envelope: 512000, message_id: "uuid:1" }
    }

    fn tree(request: &Request) -> Element {
        parse(request.text.as_bytes()).unwrap_or_else(|e| panic!("{e}: {}", request.text))
    }

    #[test]
    fn every_request_carries_the_common_headers() {
        for request in [
            get_config(&header()),
            create_shell(&header()),
            command(&header(), "S", "dir", Stdin::Console).unwrap(),
            send(&header(), "S", "C", "", true),
            receive(&header(), "S", "C"),
            terminate(&header(), "S", "C"),
            delete_shell(&header(), "S"),
        ] {
            let root = tree(&request);
            let head = root.child("Header").unwrap();
            let text = |name: &str| head.child(name).map(|e| e.text.clone()).unwrap_or_default();
            assert_eq!(text("To"), "http://win:5985/wsman");
            assert_eq!(text("Action"), request.action);
            assert_eq!(head.child("Action").unwrap().attribute("mustUnderstand"), Some("true"));
            assert_eq!(text("MessageID"), "uuid:1");
            assert_eq!(text("OperationTimeout"), "PT60.000S");
            assert_eq!(text("MaxEnvelopeSize"), "512000");
            assert!(head.path(&["ReplyTo", "Address"]).unwrap().text.ends_with("/role/anonymous"));
            assert_eq!(head.child("Locale").unwrap().attribute("lang"), Some("en-US"));
            assert!(head.child("DataLocale").is_some());
            assert_eq!(head.child("ResourceURI").unwrap().attribute("mustUnderstand"), Some("true"));
            let selector = head.path(&["SelectorSet", "Selector"]);
            if request.action == ACTION_GET || request.action == ACTION_CREATE {
                assert!(selector.is_none());
            } else {
                assert_eq!(selector.unwrap().text, "S");
                assert_eq!(selector.unwrap().attribute("Name"), Some("ShellId"));
            }
        }
    }

    #[test]
    fn the_command_text_is_escaped() {
        let line = "echo \"a<b>&c\" 'd'\r\nx";
        let request = command(&header(), "S", line, Stdin::Console).unwrap();
        let root = tree(&request);
        assert_eq!(root.path(&["Body", "CommandLine", "Command"]).unwrap().text, line);
        assert!(root.path(&["Body", "CommandLine", "Arguments"]).is_none());
        assert_eq!(command(&header(), "S", "a\u{1b}b", Stdin::Console).err(), Some(0x1b));
    }

    #[test]
    fn only_a_streaming_command_turns_console_stdin_off() {
        for (stdin, console) in [(Stdin::Console, "TRUE"), (Stdin::Stream, "FALSE")] {
            let root = tree(&command(&header(), "S", "x", stdin).unwrap());
            let options = &root.path(&["Header", "OptionSet"]).unwrap().children;
            let option =
                |name: &str| options.iter().find(|o| o.attribute("Name") == Some(name)).map(|o| o.text.clone());
            assert_eq!(option("WINRS_CONSOLEMODE_STDIN").as_deref(), Some(console));
            assert_eq!(option("WINRS_SKIP_CMD_SHELL").as_deref(), Some("FALSE"));
        }
    }

    #[test]
    fn create_asks_for_a_utf8_shell_without_profile() {
        let root = tree(&create_shell(&header()));
        let options: Vec<_> = root
            .path(&["Header", "OptionSet"])
            .unwrap()
            .children
            .iter()
            .map(|o| (o.attribute("Name").unwrap().to_string(), o.text.clone()))
            .collect();
        assert_eq!(
            options,
            [("WINRS_NOPROFILE".to_string(), "TRUE".to_string()), ("WINRS_CODEPAGE".into(), "65001".into())]
        );
        let shell = root.path(&["Body", "Shell"]).unwrap();
        assert_eq!(shell.child("InputStreams").unwrap().text, "stdin");
        assert_eq!(shell.child("OutputStreams").unwrap().text, "stdout stderr");
    }

    #[test]
    fn send_receive_and_signal_name_the_command() {
        let root = tree(&send(&header(), "S", "C\"1", "aGk=", true));
        let stream = root.path(&["Body", "Send", "Stream"]).unwrap();
        assert_eq!(stream.attribute("Name"), Some("stdin"));
        assert_eq!(stream.attribute("CommandId"), Some("C\"1"));
        assert_eq!(stream.attribute("End"), Some("true"));
        assert_eq!(stream.text, "aGk=");
        let open = tree(&send(&header(), "S", "C", "aGk=", false));
        assert_eq!(open.path(&["Body", "Send", "Stream"]).unwrap().attribute("End"), None);
        let root = tree(&receive(&header(), "S", "C"));
        let desired = root.path(&["Body", "Receive", "DesiredStream"]).unwrap();
        assert_eq!((desired.attribute("CommandId"), desired.text.as_str()), (Some("C"), "stdout stderr"));
        let root = tree(&terminate(&header(), "S", "C"));
        let signal = root.path(&["Body", "Signal"]).unwrap();
        assert_eq!(signal.attribute("CommandId"), Some("C"));
        assert!(signal.child("Code").unwrap().text.ends_with("/signal/terminate"));
    }
}
