//! The set of secret values this process has seen, and their removal from
//! text. A value is also matched in the forms it commonly takes on its way
//! into a message: JSON-escaped, percent-encoded, base64.

use super::needles::Needles;
use base64::Engine;
use std::sync::{Arc, RwLock};

/// What a secret becomes in output (Packer's word for it).
pub const REDACTED: &str = "<sensitive>";

/// Shared, append-only list of secret values. Cloning shares the list.
#[derive(Clone, Default)]
pub struct Redactor {
    /// Indexed, so that neither adding a value nor redacting a text tries
    /// every value (that was quadratic in the builds of a run).
    needles: Arc<RwLock<Needles>>,
}

impl Redactor {
    /// Registers `value` (and its usual encodings). Empty values are
    /// ignored: they would match everywhere.
    pub fn add(&self, value: &str) {
        if value.is_empty() {
            return;
        }
        let mut forms = vec![value.to_string()];
        let json = serde_json::to_string(value).unwrap_or_default();
        forms.push(json[1..json.len() - 1].to_string());
        forms.push(url::form_urlencoded::byte_serialize(value.as_bytes()).collect());
        forms.push(base64::engine::general_purpose::STANDARD.encode(value));
        // As a shell single-quoted word writes it ('"'"' for a quote). This
        // must follow `Session::quote` and `{{.Vars}}`, hence the shared
        // function.
        forms.push(crate::shell_quote::escape_single_quoted(value));
        let mut needles = self.needles.write().unwrap_or_else(|e| e.into_inner());
        for form in forms {
            needles.insert(form);
        }
    }

    /// `text` with every registered value replaced by [`REDACTED`].
    pub fn redact(&self, text: &str) -> String {
        if self.needles.read().is_ok_and(|n| n.has_waiting()) {
            self.needles.write().unwrap_or_else(|e| e.into_inner()).index();
        }
        let needles = self.needles.read().unwrap_or_else(|e| e.into_inner());
        let mut out = text.to_string();
        // Longest first, so a secret that contains another is removed whole.
        for needle in needles.found_in(text) {
            if out.contains(needle) {
                out = out.replace(needle, REDACTED);
            }
        }
        out
    }

    /// Whether any secret is registered.
    pub fn is_empty(&self) -> bool {
        self.needles.read().map(|n| n.is_empty()).unwrap_or(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_value_is_replaced_everywhere() {
        let r = Redactor::default();
        r.add("s3cr3t");
        assert_eq!(r.redact("a s3cr3t b s3cr3t"), "a <sensitive> b <sensitive>");
    }

    #[test]
    fn escaped_and_encoded_forms_are_replaced() {
        let r = Redactor::default();
        r.add("p\"a ss,w&rd");
        assert_eq!(r.redact(r#"{"pw":"p\"a ss,w&rd"}"#), r#"{"pw":"<sensitive>"}"#);
        assert_eq!(r.redact("pw=p%22a+ss%2Cw%26rd"), "pw=<sensitive>");
        assert_eq!(r.redact("cCJhIHNzLHcmcmQ="), "<sensitive>");
    }

    #[test]
    fn shell_quoted_form_is_replaced() {
        let r = Redactor::default();
        r.add("it's");
        assert_eq!(r.redact("X='it'\"'\"'s'"), "X='<sensitive>'");
    }

    #[test]
    fn longer_secret_containing_shorter_is_removed_whole() {
        let r = Redactor::default();
        r.add("abc");
        r.add("xxabcxx");
        assert_eq!(r.redact("xxabcxx"), "<sensitive>");
    }

    #[test]
    fn empty_value_is_ignored() {
        let r = Redactor::default();
        r.add("");
        assert!(r.is_empty());
        assert_eq!(r.redact("text"), "text");
    }
}
