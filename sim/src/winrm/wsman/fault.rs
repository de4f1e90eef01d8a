//! The SOAP faults a Windows machine answers (HTTP 500).

use super::{MIN_ENVELOPE_SIZE, envelope, escape};

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
