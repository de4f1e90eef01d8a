//! The set of secret values this process has seen, and their removal from
//! text. A value is also matched in the forms it commonly takes on its way
//! into a message: JSON-escaped, percent-encoded, base64, shell-quoted.
//!
//! # Where a value is matched
//!
//! A form of at least [`MIN_ANYWHERE`] characters is replaced wherever it
//! occurs, inside words, URLs and base64 included. A shorter form is
//! replaced only where it stands as a token of its own: where it does not
//! continue a run of letters, digits or `_` on either side (a form that
//! begins or ends with a punctuation character is free on that side). So
//! with the secret `sec`, `key=sec&x`, `user:sec@host` and `'sec'` lose it,
//! and `Creating security group` keeps its words.
//!
//! Why: Packer's `LogSecretFilter` replaces every occurrence of any length
//! and mangles ordinary words ("Creating <sensitive>urity group"), which
//! also tells a reader the secret. A form of eight characters or more is
//! not an ordinary word fragment (and eight is the shortest password NIST
//! SP 800-63B accepts), so it costs nothing to replace it everywhere, and
//! that is the safe choice: it cannot leak glued to other text. A short
//! form is replaced only as a token, which still covers the places a
//! value goes on its own: a parameter, a URL's user info, a quoted or
//! JSON string, a line of output, `NAME=value`. What this lets through is
//! a short secret written against other letters or digits (a template's
//! `{{user `pw`}}2026`); the host narrows that by also registering each
//! whole rendered string that used a sensitive variable where a builder
//! field receives it.

use super::needles::Needles;
use base64::Engine;
use std::sync::{Arc, RwLock};

/// What a secret becomes in output (Packer's word for it).
pub const REDACTED: &str = "<sensitive>";

/// Forms at least this many characters long are replaced wherever they
/// occur; shorter ones only as tokens of their own (see the module doc).
pub const MIN_ANYWHERE: usize = 8;

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

    /// `text` with every registered value replaced by [`REDACTED`]: long
    /// forms wherever they occur, short ones where they stand as tokens.
    pub fn redact(&self, text: &str) -> String {
        if self.needles.read().is_ok_and(|n| n.has_waiting()) {
            self.needles.write().unwrap_or_else(|e| e.into_inner()).index();
        }
        let needles = self.needles.read().unwrap_or_else(|e| e.into_inner());
        let mut out = text.to_string();
        // Longest first, so a secret that contains another is removed whole.
        for needle in needles.found_in(text) {
            if out.contains(needle) {
                out = replace(&out, needle);
            }
        }
        out
    }

    /// Whether any secret is registered.
    pub fn is_empty(&self) -> bool {
        self.needles.read().map(|n| n.is_empty()).unwrap_or(true)
    }
}

/// `text` with `needle` replaced: everywhere when it is long, else only
/// where it is a token of its own.
fn replace(text: &str, needle: &str) -> String {
    if needle.chars().count() >= MIN_ANYWHERE {
        return text.replace(needle, REDACTED);
    }
    let starts_word = needle.chars().next().is_some_and(is_word);
    let ends_word = needle.chars().next_back().is_some_and(is_word);
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (at, _) in text.match_indices(needle) {
        if at < copied {
            continue; // overlaps the previous replacement
        }
        let end = at + needle.len();
        let free_before = !starts_word || ends_token(&text[..at]);
        let free_after = !ends_word || !text[end..].chars().next().is_some_and(is_word);
        if free_before && free_after {
            out.push_str(&text[copied..at]);
            out.push_str(REDACTED);
            copied = end;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// Whether `before` ends where a token may start: not on a word
/// character, or on an escape that stands for one (`\n` in JSON or a
/// quoted string, `%0A` in a URL), so a value on the next escaped line is
/// still its own token.
fn ends_token(before: &str) -> bool {
    let bytes = before.as_bytes();
    match bytes {
        [] => true,
        [.., b'\\', c] if c.is_ascii_alphabetic() => true,
        [.., b'%', a, b] if a.is_ascii_hexdigit() && b.is_ascii_hexdigit() => true,
        _ => !before.chars().next_back().is_some_and(is_word),
    }
}

/// A character that continues a word: a short secret next to one is part
/// of a longer token, not the secret.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
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

    #[test]
    fn a_short_secret_inside_a_word_is_left_alone() {
        let r = Redactor::default();
        r.add("sec");
        assert_eq!(r.redact("Creating security group"), "Creating security group");
        assert_eq!(r.redact("insecure sec_group mysec"), "insecure sec_group mysec");
        assert_eq!(r.redact("the key is sec."), "the key is <sensitive>.");
    }

    #[test]
    fn a_short_secret_standing_alone_is_replaced_in_urls_quotes_and_assignments() {
        let r = Redactor::default();
        r.add("sec");
        assert_eq!(r.redact("https://u:sec@host/?k=sec&x=1"), "https://u:<sensitive>@host/?k=<sensitive>&x=1");
        assert_eq!(r.redact(r#"{"pw":"sec"} PW=sec 'sec'"#), r#"{"pw":"<sensitive>"} PW=<sensitive> '<sensitive>'"#);
        assert_eq!(r.redact("sec\\nsec-sec"), "<sensitive>\\n<sensitive>-<sensitive>");
        assert_eq!(r.redact("a%0Asec%20b"), "a%0A<sensitive>%20b");
    }

    #[test]
    fn a_short_secret_with_punctuation_edges_is_free_on_those_sides() {
        let r = Redactor::default();
        r.add("#1!");
        assert_eq!(r.redact("pass#1!word"), "pass<sensitive>word");
        r.add("ab$");
        assert_eq!(r.redact("xab$y"), "xab$y", "its word side is glued to x");
        assert_eq!(r.redact("-ab$y"), "-<sensitive>y");
    }

    #[test]
    fn a_long_secret_is_replaced_even_inside_words_and_base64() {
        let r = Redactor::default();
        r.add("Hunter2Hunter2");
        assert_eq!(r.redact("xHunter2Hunter2y"), "x<sensitive>y");
        r.add("8charsXY");
        assert_eq!(r.redact("aaa8charsXYbbb"), "aaa<sensitive>bbb");
        // The base64 form of a secret is at least four characters: a short
        // one is replaced when it stands alone, as a whole encoded value.
        let short = Redactor::default();
        short.add("pw");
        assert_eq!(short.redact("UserData=cHc= and xcHc=y"), "UserData=<sensitive> and xcHc=y");
    }

    #[test]
    fn non_ascii_neighbours_count_as_word_characters() {
        let r = Redactor::default();
        r.add("sé");
        assert_eq!(r.redact("sécurité: sé"), "sécurité: <sensitive>");
    }

    #[test]
    fn registering_many_secrets_keeps_the_longest_first_and_each_once() {
        let r = Redactor::default();
        for i in 0..2000 {
            r.add(&format!("secret-number-{i}"));
            r.add(&format!("secret-number-{i}"));
        }
        r.add("secret-number-1x");
        assert_eq!(r.redact("secret-number-1x secret-number-1999"), "<sensitive> <sensitive>");
        assert_eq!(r.redact("secret-number-19999"), "<sensitive>9");
    }
}
