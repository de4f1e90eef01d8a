//! Replies as Windows writes them (shapes from MS-WSMV and pywinrm's test
//! fixtures), and faults.

use super::*;

const ENVELOPE_OPEN: &str = r#"<?xml version="1.0" ?>
<s:Envelope xml:lang="en-US" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell" xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer">
  <s:Header>
    <a:Action>ACTION</a:Action>
    <a:MessageID>uuid:11111111-1111-1111-1111-111111111112</a:MessageID>
    <a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>
    <a:RelatesTo>uuid:11111111-1111-1111-1111-111111111111</a:RelatesTo>
  </s:Header>
  <s:Body>"#;

fn reply(action: &str, body: &str) -> String {
    format!("{}{body}</s:Body></s:Envelope>", ENVELOPE_OPEN.replace("ACTION", action))
}

fn fault(subcode: &str, reason: &str, detail: &str) -> String {
    reply(
        "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault",
        &format!(
            r#"<s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>{subcode}</s:Value></s:Subcode></s:Code>
            <s:Reason><s:Text xml:lang="en-US">{reason}</s:Text></s:Reason><s:Detail>{detail}</s:Detail></s:Fault>"#
        ),
    )
}

#[test]
fn a_create_reply_names_the_shell_by_selector() {
    let body = reply(
        "http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse",
        r#"<x:ResourceCreated><a:Address>http://windows-host:5985/wsman</a:Address><a:ReferenceParameters>
        <w:ResourceURI>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd</w:ResourceURI>
        <w:SelectorSet><w:Selector Name="ShellId">11111111-1111-1111-1111-111111111113</w:Selector></w:SelectorSet>
        </a:ReferenceParameters></x:ResourceCreated>"#,
    );
    let parsed = parse_reply(body.as_bytes()).unwrap();
    assert_eq!(parsed.shell_id.as_deref(), Some("11111111-1111-1111-1111-111111111113"));
    assert_eq!(parsed.action.as_deref(), Some("http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse"));
}

#[test]
fn a_create_reply_names_the_shell_in_its_shell_element() {
    let body = reply(
        "http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse",
        r#"<rsp:Shell><rsp:ShellId>ABC-1</rsp:ShellId><rsp:ResourceUri>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd</rsp:ResourceUri></rsp:Shell>"#,
    );
    assert_eq!(parse_reply(body.as_bytes()).unwrap().shell_id.as_deref(), Some("ABC-1"));
}

#[test]
fn a_command_reply_names_the_command() {
    let body = reply(
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandResponse",
        "<rsp:CommandResponse><rsp:CommandId>11111111-1111-1111-1111-111111111114</rsp:CommandId></rsp:CommandResponse>",
    );
    assert_eq!(
        parse_reply(body.as_bytes()).unwrap().command_id.as_deref(),
        Some("11111111-1111-1111-1111-111111111114")
    );
}

#[test]
fn a_receive_reply_carries_streams_in_order_and_the_exit_code() {
    let body = reply(
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/ReceiveResponse",
        r#"<rsp:ReceiveResponse>
        <rsp:Stream Name="stdout" CommandId="C">aGVs
        bG8=</rsp:Stream>
        <rsp:Stream Name="stderr" CommandId="C">b29wcw==</rsp:Stream>
        <rsp:Stream Name="stdout" CommandId="C">IHdvcmxk</rsp:Stream>
        <rsp:Stream Name="stdout" CommandId="C" End="true"></rsp:Stream>
        <rsp:Stream Name="stderr" CommandId="C" End="true"/>
        <rsp:CommandState CommandId="C" State="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done">
          <rsp:ExitCode>3</rsp:ExitCode></rsp:CommandState></rsp:ReceiveResponse>"#,
    );
    let parsed = parse_reply(body.as_bytes()).unwrap();
    let texts: Vec<_> = parsed
        .streams
        .iter()
        .map(|s| (s.name.as_str(), String::from_utf8_lossy(&s.data).into_owned(), s.end))
        .collect();
    assert_eq!(
        texts,
        [
            ("stdout", "hello".to_string(), false),
            ("stderr", "oops".into(), false),
            ("stdout", " world".into(), false),
            ("stdout", "".into(), true),
            ("stderr", "".into(), true),
        ]
    );
    assert!(parsed.done);
    assert_eq!(parsed.exit_code, Some(3));
}

#[test]
fn a_running_command_has_no_exit_code_yet() {
    let body = reply(
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/ReceiveResponse",
        r#"<rsp:ReceiveResponse><rsp:Stream Name="stdout" CommandId="C">eA==</rsp:Stream>
        <rsp:CommandState CommandId="C" State="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Running"/></rsp:ReceiveResponse>"#,
    );
    let parsed = parse_reply(body.as_bytes()).unwrap();
    assert!(!parsed.done);
    assert_eq!(parsed.exit_code, None);
}

#[test]
fn unsigned_exit_codes_keep_their_bits() {
    assert_eq!(exit_code("3221225477"), Some(0xC000_0005_u32 as i32));
    assert_eq!(exit_code("-1"), Some(-1));
    assert_eq!(exit_code("99999999999"), None);
    assert_eq!(exit_code("x"), None);
}

#[test]
fn the_config_reply_gives_the_envelope_size() {
    let body = reply(
        "http://schemas.xmlsoap.org/ws/2004/09/transfer/GetResponse",
        r#"<cfg:Config xmlns:cfg="http://schemas.microsoft.com/wbem/wsman/1/config"><cfg:MaxEnvelopeSizekb>500</cfg:MaxEnvelopeSizekb>
        <cfg:MaxTimeoutms>60000</cfg:MaxTimeoutms><cfg:MaxBatchItems>32000</cfg:MaxBatchItems></cfg:Config>"#,
    );
    assert_eq!(parse_reply(body.as_bytes()).unwrap().max_envelope_kb, Some(500));
}

#[test]
fn the_timed_out_fault_is_recognised() {
    let body = fault(
        "w:TimedOut",
        "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  ",
        r#"<f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="2150858793" Machine="server2022.domain.test">
        <f:Message>The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  </f:Message></f:WSManFault>"#,
    );
    let error = parse_reply(body.as_bytes()).unwrap_err();
    assert!(error.timed_out(), "{error:?}");
    assert!(!error.shell_lost());
    let WsmanError::Fault { code, subcode, message } = error else { panic!() };
    assert_eq!((code, subcode.as_str()), (Some(2150858793), "w:TimedOut"));
    assert_eq!(
        message,
        "The WS-Management service cannot complete the operation within the time specified in OperationTimeout."
    );
}

#[test]
fn an_unknown_shell_is_a_lost_shell() {
    let body = fault(
        "w:InvalidSelectors",
        "The WS-Management service cannot process the request because the request contained invalid selectors for the resource. ",
        r#"<f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="2150858843" Machine="win">
        <f:Message>The request for the Windows Remote Shell with ShellId 3BA3 failed because the shell was not found on the server. </f:Message></f:WSManFault>"#,
    );
    let error = parse_reply(body.as_bytes()).unwrap_err();
    assert!(error.shell_lost());
    assert!(error.to_string().contains("shell was not found"), "{error}");
    assert!(error.to_string().contains("invalid selectors"), "{error}");
    assert!(error.to_string().contains("code 2150858843"), "{error}");
}

#[test]
fn a_provider_fault_inside_the_message_is_read() {
    let body = fault(
        "w:InternalError",
        "",
        r#"<f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="2147943418" Machine="win">
        <f:Message><f:ProviderFault provider="Shell cmd plugin" path="%systemroot%\system32\winrscmd.dll">The user name or
        password is incorrect. </f:ProviderFault></f:Message></f:WSManFault>"#,
    );
    let WsmanError::Fault { code, message, .. } = parse_reply(body.as_bytes()).unwrap_err() else { panic!() };
    assert_eq!(code, Some(2147943418));
    assert_eq!(message, "The user name or password is incorrect.");
}

#[test]
fn a_wmi_error_gives_its_code_and_a_fault_without_detail_its_reason() {
    let body = fault(
        "w:InternalError",
        "Reason text. ",
        r#"<p:MSFT_WmiError xmlns:p="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/MSFT_WmiError">
        <p:Message>WMI Message. </p:Message><p:error_Code>2150859174</p:error_Code></p:MSFT_WmiError>"#,
    );
    let WsmanError::Fault { code, message, .. } = parse_reply(body.as_bytes()).unwrap_err() else { panic!() };
    assert_eq!((code, message.as_str()), (Some(2150859174), "Reason text. WMI Message."));
    let bare = reply(
        "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault",
        "<s:Fault><s:Code><s:Value>s:Sender</s:Value></s:Code></s:Fault>",
    );
    let WsmanError::Fault { code, subcode, message } = parse_reply(bare.as_bytes()).unwrap_err() else { panic!() };
    assert_eq!((code, subcode.as_str(), message.as_str()), (None, "s:Sender", "the server gave no message"));
}

#[test]
fn garbage_and_other_documents_are_broken_replies() {
    for body in ["", "<html><body>502 Bad Gateway</body></html>", "<s:Envelope xmlns:s='x'/>", "\u{0}\u{1}<<<"] {
        let error = parse_reply(body.as_bytes()).unwrap_err();
        assert!(matches!(error, WsmanError::Broken(_)), "{body:?}: {error:?}");
    }
    let bad_stream =
        reply("r", r#"<rsp:ReceiveResponse><rsp:Stream Name="stdout">!!notbase64</rsp:Stream></rsp:ReceiveResponse>"#);
    let error = parse_reply(bad_stream.as_bytes()).unwrap_err();
    assert!(error.to_string().contains("stdout stream is not base64"), "{error}");
}

#[test]
fn no_prefix_or_corruption_of_a_reply_panics() {
    let samples = [
        reply(
            "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/ReceiveResponse",
            r#"<rsp:ReceiveResponse><rsp:Stream Name="stdout" CommandId="C">aGVsbG8=</rsp:Stream><rsp:Stream Name="stderr" CommandId="C" End="true"/>
            <rsp:CommandState CommandId="C" State="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"><rsp:ExitCode>3</rsp:ExitCode></rsp:CommandState></rsp:ReceiveResponse>"#,
        ),
        fault(
            "w:TimedOut",
            "r &amp; s",
            r#"<f:WSManFault xmlns:f="u" Code="2150858793"><f:Message><f:ProviderFault>x</f:ProviderFault></f:Message></f:WSManFault>"#,
        ),
    ];
    let mut seed = 0x2545_F491_u32;
    for sample in &samples {
        let bytes = sample.as_bytes();
        for cut in 0..bytes.len() {
            let _ = parse_reply(&bytes[..cut]);
            let mut flipped = bytes.to_vec();
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            flipped[cut] = (seed & 0xff) as u8;
            let _ = parse_reply(&flipped);
            let _ = super::super::readable_stderr(&String::from_utf8_lossy(&flipped));
        }
    }
}

/// The fuzz target's seeds (`fuzz/corpus/wsman_reply/`, replies the
/// simulated machine sent kiln, pywinrm and winrmcp, and a TimedOut fault)
/// are replies this parser reads, so the fuzzer starts from deep inside it.
#[test]
fn every_fuzz_seed_is_a_reply_or_a_fault() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/wsman_reply");
    let mut seeds = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let body = std::fs::read(&path).unwrap();
        match parse_reply(&body) {
            Ok(_) | Err(WsmanError::Fault { .. }) => seeds += 1,
            Err(e) => panic!("{}: {e}", path.display()),
        }
    }
    assert!(seeds >= 10, "only {seeds} seeds in {}", dir.display());
}
