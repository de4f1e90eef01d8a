//! Finding secrets in bytes, plain and in the forms a program may have
//! put them in on the way out: base64 (either alphabet, at any of the
//! three offsets a value can take inside a longer blob), percent- and
//! form-encoded (the value or its base64), JSON-escaped (once or twice),
//! shell-quoted (and that JSON-escaped), and the first word of a value
//! with spaces (what word splitting leaves). Pure logic: bytes in,
//! findings out.

use aho_corasick::AhoCorasick;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use std::ops::Range;

/// A secret to look for, and what it is (for the report).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Secret {
    /// What the secret is: `ALICLOUD_SECRET_KEY (canary)`, `sensitive variable "pw"`.
    pub what: String,
    /// Its value.
    pub value: String,
}

/// One place a secret was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// [`Secret::what`] of the secret found.
    pub what: String,
    /// The form it was in: `plain`, `base64 (offset 1)`, `percent-encoded`...
    pub form: String,
    /// Where in the bytes searched (in the decoded view for the
    /// percent- and form-encoded forms).
    pub offset: usize,
    /// Some bytes either side, printable.
    pub context: String,
    /// How many times it occurs in this form.
    pub count: usize,
}

/// Bytes of context either side of a finding.
const CONTEXT: usize = 40;

/// The secrets' needles, one automaton for all of them.
pub struct Matcher {
    secrets: Vec<Secret>,
    /// (index into `secrets`, form) of each needle, in the automaton's order.
    needles: Vec<(usize, String)>,
    all_forms: Option<AhoCorasick>,
    /// (index into `secrets`, form) of the needles looked for in the
    /// percent- and form-decoded views ([`survives_url_decoding`]).
    decodable_needles: Vec<(usize, String)>,
    decodable: Option<AhoCorasick>,
}

impl Matcher {
    /// A matcher for `secrets`, each in all its forms. Secrets with equal
    /// values are looked for once, under the first one's name.
    pub fn new(secrets: Vec<Secret>) -> Matcher {
        let mut unique: Vec<Secret> = Vec::new();
        for secret in secrets {
            if !secret.value.is_empty() && !unique.iter().any(|s| s.value == secret.value) {
                unique.push(secret);
            }
        }
        let mut needles = Vec::new();
        let mut patterns: Vec<Vec<u8>> = Vec::new();
        for (index, secret) in unique.iter().enumerate() {
            for (form, bytes) in forms(&secret.value) {
                // A form that changes nothing is the plain needle again.
                if !patterns.iter().zip(&needles).any(|(p, (i, _))| *i == index && *p == bytes) {
                    patterns.push(bytes);
                    needles.push((index, form));
                }
            }
        }
        let automaton = |patterns: &[Vec<u8>]| {
            (!patterns.is_empty()).then(|| AhoCorasick::new(patterns).expect("needles build an automaton"))
        };
        let (decodable, decodable_needles): (Vec<Vec<u8>>, Vec<(usize, String)>) = patterns
            .iter()
            .zip(&needles)
            .filter(|(_, (_, form))| survives_url_decoding(form))
            .map(|(pattern, needle)| (pattern.clone(), needle.clone()))
            .unzip();
        Matcher {
            all_forms: automaton(&patterns),
            decodable: automaton(&decodable),
            decodable_needles,
            secrets: unique,
            needles,
        }
    }

    /// Every secret found in `haystack`, one finding per secret and form
    /// (the first occurrence, with a count). A match inside a longer match
    /// of the same secret (its first word inside the whole value) is not
    /// counted again.
    pub fn find(&self, haystack: &[u8]) -> Vec<Finding> {
        let Some(all_forms) = &self.all_forms else { return Vec::new() };
        let mut spans: Vec<(usize, Range<usize>, usize)> = all_forms
            .find_overlapping_iter(haystack)
            .map(|m| (m.pattern().as_usize(), m.range(), self.needles[m.pattern().as_usize()].0))
            .collect();
        let covered = |(needle, range, secret): &(usize, Range<usize>, usize),
                       spans: &[(usize, Range<usize>, usize)]| {
            spans.iter().any(|(other, r, s)| {
                s == secret && other != needle && r.start <= range.start && range.end <= r.end && r.len() > range.len()
            })
        };
        let kept: Vec<_> = spans.iter().filter(|span| !covered(span, &spans)).cloned().collect();
        spans = kept;
        let mut findings: Vec<Finding> = Vec::new();
        for (needle, range, secret) in spans {
            let form = &self.needles[needle].1;
            self.note(&mut findings, secret, form, haystack, range);
        }
        findings.extend(self.find_decoded(haystack));
        findings
    }

    /// Adds an occurrence of `secret` in `form` at `range` of `haystack`.
    fn note(&self, findings: &mut Vec<Finding>, secret: usize, form: &str, haystack: &[u8], range: Range<usize>) {
        let what = &self.secrets[secret].what;
        match findings.iter_mut().find(|f| f.what == *what && f.form == form) {
            Some(found) => found.count += 1,
            None => findings.push(Finding {
                what: what.clone(),
                form: form.to_string(),
                offset: range.start,
                context: context(haystack, range),
                count: 1,
            }),
        }
    }

    /// Secrets that occur more often in `haystack` percent-decoded than as
    /// it is, or more often form-decoded than either: an encoder wrote them
    /// (whichever characters it chose to escape, in either case of hex).
    /// Plain and in base64 (whose `+`, `/` and `=` a URL escapes): the
    /// forms that survive decoding whole.
    fn find_decoded(&self, haystack: &[u8]) -> Vec<Finding> {
        let Some(decodable) = &self.decodable else { return Vec::new() };
        let percent = Decoding::Percent.decode(haystack);
        let form = Decoding::Form.decode(haystack);
        let occurrences = |bytes: &[u8], needle: usize| {
            decodable
                .find_overlapping_iter(bytes)
                .filter(|m| m.pattern().as_usize() == needle)
                .map(|m| m.range())
                .collect::<Vec<_>>()
        };
        let mut findings = Vec::new();
        for (needle, (secret, encoding)) in self.decodable_needles.iter().enumerate() {
            let mut seen = occurrences(haystack, needle).len();
            for (decoding, decoded) in [(Decoding::Percent, &percent), (Decoding::Form, &form)] {
                let Some(decoded) = decoded else { continue };
                let found = occurrences(decoded, needle);
                if found.len() > seen {
                    let form = match encoding.as_str() {
                        "plain" => decoding.form().to_string(),
                        encoding => format!("{encoding}, then {}", decoding.form()),
                    };
                    self.note(&mut findings, *secret, &form, decoded, found[0].clone());
                    findings.last_mut().unwrap().count = found.len() - seen;
                    seen = found.len();
                }
            }
        }
        findings
    }
}

/// Whether text in `form` comes out of percent- or form-decoding whole, so
/// it is looked for in the decoded views: the plain value, and base64 (its
/// alphabet is what a URL escapes, but nothing it needs removed).
fn survives_url_decoding(form: &str) -> bool {
    form == "plain" || form.starts_with("base64")
}

/// The two ways URLs and forms encode text.
#[derive(Clone, Copy)]
enum Decoding {
    /// `%XX` escapes, a space as `%20`.
    Percent,
    /// `application/x-www-form-urlencoded`: `%XX`, and `+` for a space.
    Form,
}

impl Decoding {
    fn form(self) -> &'static str {
        match self {
            Decoding::Percent => "percent-encoded",
            Decoding::Form => "form-encoded (+ for space)",
        }
    }

    /// `haystack` decoded; `None` when decoding would change nothing.
    fn decode(self, haystack: &[u8]) -> Option<Vec<u8>> {
        let escapes = haystack.contains(&b'%');
        match self {
            Decoding::Percent if escapes => Some(percent_encoding::percent_decode(haystack).collect()),
            Decoding::Form if escapes || haystack.contains(&b'+') => {
                let spaced: Vec<u8> = haystack.iter().map(|&b| if b == b'+' { b' ' } else { b }).collect();
                Some(percent_encoding::percent_decode(&spaced).collect())
            }
            _ => None,
        }
    }
}

/// Each form a value is looked for in, with its bytes: the value itself,
/// its escapes, its base64 at three offsets in both alphabets, and its
/// first word. (Percent- and form-encoding are found by decoding the
/// haystack instead: encoders differ in what they escape.)
pub fn forms(value: &str) -> Vec<(String, Vec<u8>)> {
    let json = |text: &str| {
        let quoted = serde_json::to_string(text).unwrap();
        quoted[1..quoted.len() - 1].to_string()
    };
    let mut forms = vec![
        ("plain".to_string(), value.as_bytes().to_vec()),
        ("JSON-escaped".to_string(), json(value).into_bytes()),
        ("JSON-escaped, `/` as `\\/`".to_string(), json(value).replace('/', "\\/").into_bytes()),
        ("JSON-escaped twice".to_string(), json(&json(value)).into_bytes()),
        ("shell single-quoted".to_string(), value.replace('\'', r"'\''").into_bytes()),
        ("shell single-quoted (`'\"'\"'`)".to_string(), value.replace('\'', r#"'"'"'"#).into_bytes()),
        ("shell double-quoted".to_string(), shell_double_quoted(value).into_bytes()),
        // A shell command recorded in JSON (a report, a log line).
        ("shell single-quoted, then JSON-escaped".to_string(), json(&value.replace('\'', r"'\''")).into_bytes()),
        (
            "shell single-quoted (`'\"'\"'`), then JSON-escaped".to_string(),
            json(&value.replace('\'', r#"'"'"'"#)).into_bytes(),
        ),
        ("shell double-quoted, then JSON-escaped".to_string(), json(&shell_double_quoted(value)).into_bytes()),
    ];
    for offset in 0..3 {
        for (alphabet, engine) in [("base64", &STANDARD_NO_PAD), ("base64url", &URL_SAFE_NO_PAD)] {
            if let Some(core) = base64_core(value.as_bytes(), offset, engine) {
                forms.push((format!("{alphabet} (offset {offset})"), core));
            }
        }
    }
    if let Some((first, _)) = value.split_once(char::is_whitespace)
        && first.len() >= MIN_FRAGMENT
    {
        forms.push(("first word (word-split)".to_string(), first.as_bytes().to_vec()));
    }
    forms
}

/// A first word shorter than this would match ordinary text.
const MIN_FRAGMENT: usize = 12;

/// `value` escaped for the inside of a shell's double quotes.
fn shell_double_quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | '"' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The base64 characters that `value` alone decides when it starts
/// `offset` bytes (0, 1 or 2) into a 3-byte group of a longer text: the
/// characters straddling its first and last byte depend on the text around
/// it and are dropped. `None` for a value too short to decide any.
pub fn base64_core(value: &[u8], offset: usize, engine: &impl Engine) -> Option<Vec<u8>> {
    let mut shifted = vec![0u8; offset];
    shifted.extend_from_slice(value);
    let encoded = engine.encode(&shifted).into_bytes();
    // Character i holds bits [6i, 6i + 6); the value's bits are
    // [8 * offset, 8 * (offset + len)).
    let start = (8 * offset).div_ceil(6);
    let end = 8 * (offset + value.len()) / 6;
    (end > start + 4).then(|| encoded[start..end].to_vec())
}

/// `haystack[range]` with some bytes either side, as printable text.
fn context(haystack: &[u8], range: Range<usize>) -> String {
    let from = range.start.saturating_sub(CONTEXT);
    let to = (range.end + CONTEXT).min(haystack.len());
    format!("{:?}", String::from_utf8_lossy(&haystack[from..to]))
}
