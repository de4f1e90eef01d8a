//! The replies a Windows machine answers to each operation.

use super::{CMD_RESOURCE, CONFIG_RESOURCE, SHELL_NS, TRANSFER, escape, new_id};
use base64::Engine;
use std::time::Duration;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::winrm::wsman::Fault;
    use quick_xml::events::Event;

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
}
