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
//! `{{user `pw`}}2026`); the interpolator narrows that by registering,
//! for every rendering that read a sensitive variable (in any section),
//! the whole string, each action's output, and that output with the
//! letters and digits glued to it (`ab12026`).

use super::needles::Needles;
use base64::Engine;
use std::sync::{Arc, RwLock};

/// What a secret becomes in output (Packer's word for it).
pub const REDACTED: &str = "<sensitive>";

/// Forms at least this many characters long are replaced wherever they
/// occur; shorter ones only as tokens of their own (see the module doc).
pub const MIN_ANYWHERE: usize = 8;

/// Lines of a multi-line secret shorter than this (trimmed) are not
/// registered on their own: such a line (`fi`, `}`, `done`, `EOF`) is
/// ordinary text, and replacing it in every output would mangle lines
/// without hiding anything of worth. It is the length from which a value
/// is replaced anywhere, so each registered line is too.
pub const MIN_LINE: usize = MIN_ANYWHERE;

/// Shared, append-only list of secret values. Cloning shares the list.
#[derive(Clone, Default)]
pub struct Redactor {
    /// Indexed, so that neither adding a value nor redacting a text tries
    /// every value (that was quadratic in the builds of a run).
    needles: Arc<RwLock<Needles>>,
}

impl Redactor {
    /// Registers `value` (and its usual encodings). Empty values are
    /// ignored: they would match everywhere. A value of several lines also
    /// registers each of its lines of at least [`MIN_LINE`] characters
    /// (trimmed), because output is redacted a line at a time (a
    /// provisioner's, a log's) and would show such a secret line by line.
    pub fn add(&self, value: &str) {
        if value.is_empty() {
            return;
        }
        let mut needles = self.needles.write().unwrap_or_else(|e| e.into_inner());
        insert_forms(&mut needles, value);
        if value.contains('\n') {
            for line in value.lines().map(str::trim).filter(|l| l.chars().count() >= MIN_LINE) {
                insert_forms(&mut needles, line);
            }
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

/// Registers `value` in the forms it takes on its way into a message:
/// as is, JSON-escaped, form- and percent-encoded, base64 (padded,
/// unpadded, and, for a long value, the characters it alone decides when
/// it sits inside a longer encoded text), shell-quoted; and each of these
/// JSON-escaped once and twice (a shell-quoted value in a JSON report, a
/// JSON body logged inside JSON).
fn insert_forms(needles: &mut Needles, value: &str) {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let mut forms = vec![
        value.to_string(),
        url::form_urlencoded::byte_serialize(value.as_bytes()).collect(),
        String::from_utf8_lossy(&super::percent::encode(value.as_bytes())).into_owned(),
        STANDARD.encode(value),
        STANDARD_NO_PAD.encode(value),
        // As a shell single-quoted word writes it ('"'"' for a quote). This
        // must follow `Session::quote` and `{{.Vars}}`, hence the shared
        // function.
        crate::shell_quote::escape_single_quoted(value),
    ];
    for offset in 0..3 {
        for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
            forms.extend(base64_core(value.as_bytes(), offset, engine));
        }
    }
    let escaped: Vec<String> = forms.iter().map(|f| json_escaped(f)).collect();
    let twice: Vec<String> = escaped.iter().map(|f| json_escaped(f)).collect();
    for form in forms.into_iter().chain(escaped).chain(twice) {
        needles.insert(form);
    }
}

/// `text` as it appears inside a JSON string.
fn json_escaped(text: &str) -> String {
    let json = serde_json::to_string(text).unwrap_or_default();
    json.get(1..json.len().saturating_sub(1)).unwrap_or_default().to_string()
}

/// The base64 characters that `value` alone decides when it starts
/// `offset` bytes (0, 1 or 2) into a 3-byte group of a longer encoded
/// text: the characters straddling its first and last byte depend on the
/// bytes around it and are left out. `None` when fewer than
/// [`MIN_ANYWHERE`] characters are decided: a shorter core would be
/// replaced only as a token, and inside base64 it never is one.
fn base64_core(value: &[u8], offset: usize, engine: &impl Engine) -> Option<String> {
    let mut shifted = vec![0u8; offset];
    shifted.extend_from_slice(value);
    let encoded = engine.encode(&shifted);
    // Character i holds bits [6i, 6i + 6); the value's are
    // [8 * offset, 8 * (offset + len)).
    let start = (8 * offset).div_ceil(6);
    let end = 8 * (offset + value.len()) / 6;
    (end >= start + MIN_ANYWHERE).then(|| encoded[start..end].to_string())
}

// By hand: a derived form would print every secret.
impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor").finish_non_exhaustive()
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
    let mut from = 0;
    // Searched by hand rather than with `match_indices`, which never tries
    // a candidate overlapping a rejected one (`a-a` inside `xa-a-a`).
    while let Some(found) = text[from..].find(needle) {
        let at = from + found;
        let end = at + needle.len();
        let free_before = !starts_word || ends_token(&text[..at]);
        let free_after = !ends_word || !text[end..].chars().next().is_some_and(is_word);
        if free_before && free_after {
            out.push_str(&text[copied..at]);
            out.push_str(REDACTED);
            copied = end;
            from = end;
        } else {
            from = at + text[at..].chars().next().map_or(1, char::len_utf8);
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

    #[test]
    fn a_shell_quoted_value_in_json_is_replaced() {
        let r = Redactor::default();
        r.add("Zq9 longsecret'XY");
        let quoted = format!("PW='{}'", crate::shell_quote::escape_single_quoted("Zq9 longsecret'XY"));
        let in_json = serde_json::to_string(&quoted).unwrap();
        assert_eq!(r.redact(&in_json), r#""PW='<sensitive>'""#);
        let twice = serde_json::to_string(&in_json).unwrap();
        assert!(!r.redact(&twice).contains("longsecret"), "{}", r.redact(&twice));
    }

    #[test]
    fn base64_inside_a_longer_encoded_text_is_replaced() {
        use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
        let secret = "Zq9-longsecret-XY";
        let r = Redactor::default();
        r.add(secret);
        assert_eq!(r.redact(&STANDARD_NO_PAD.encode(secret)), REDACTED);
        for prefix in ["", "a", "ab"] {
            let encoded = STANDARD.encode(format!("{prefix}{secret}-and more after it"));
            assert!(r.redact(&encoded).contains(REDACTED), "offset {}: {encoded}", prefix.len());
        }
        // A short secret has no core long enough to match inside base64.
        let short = Redactor::default();
        short.add("pw");
        let text = STANDARD.encode("xxpwxx in a longer text");
        assert_eq!(short.redact(&text), text);
    }

    #[test]
    fn percent_encoding_with_percent_20_is_replaced() {
        let r = Redactor::default();
        r.add("a b/c");
        assert_eq!(r.redact("k=a%20b%2Fc&x"), "k=<sensitive>&x");
    }

    #[test]
    fn each_long_line_of_a_multi_line_secret_is_replaced_on_its_own() {
        let r = Redactor::default();
        r.add("-----BEGIN KEY-----\n  MIIEowIBAAKCAQEA7\nfi\n\n");
        assert_eq!(r.redact("  MIIEowIBAAKCAQEA7"), "  <sensitive>");
        assert_eq!(r.redact("-----BEGIN KEY-----"), "<sensitive>");
        // Short lines are ordinary words, left alone.
        assert_eq!(r.redact("fi"), "fi");
        assert_eq!(r.redact("if x; then y; fi"), "if x; then y; fi");
    }

    #[test]
    fn a_short_secret_overlapping_a_rejected_match_is_found() {
        let r = Redactor::default();
        r.add("a-a");
        assert_eq!(r.redact("xa-a-a"), "xa-<sensitive>");
    }

    #[test]
    fn debug_shows_no_secret() {
        let r = Redactor::default();
        r.add("hunter2-long");
        assert!(!format!("{r:?}").contains("hunter2"));
    }
}
