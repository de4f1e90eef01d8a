//! Packer's `-machine-readable` format: `timestamp,target,type,data...`,
//! one record a line, commas in data written as `%!(PACKER_COMMA)` and
//! newlines as `\n`.

use crate::caps::secrets::Redactor;

/// Escapes one data field.
pub fn escape(field: &str) -> String {
    field.replace(',', "%!(PACKER_COMMA)").replace('\r', "\\r").replace('\n', "\\n")
}

/// One record, newline-terminated and redacted.
pub fn line(target: &str, kind: &str, data: &[&str], redactor: &Redactor) -> String {
    let mut out = format!("{},{},{}", chrono::Utc::now().timestamp(), escape(target), escape(kind));
    for field in data {
        out.push(',');
        out.push_str(&escape(&redactor.redact(field)));
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commas_and_newlines_are_escaped() {
        assert_eq!(escape("a,b\nc"), "a%!(PACKER_COMMA)b\\nc");
    }

    #[test]
    fn records_are_redacted() {
        let r = Redactor::default();
        r.add("hunter2");
        let l = line("null", "ui", &["say", "pw hunter2"], &r);
        assert!(l.ends_with(",null,ui,say,pw <sensitive>\n"), "{l}");
    }
}
