//! Packer's string interpolation: the subset of Go `text/template` that JSON templates use, plus
//! Packer 1.6's function library (`user`, `env`, `isotime`, `build`, ...).
//!
//! Like Go, a whole string is parsed before any action runs, so a syntax error anywhere is reported
//! in preference to a runtime error in an earlier action. Control structures (`if`, `range`, ...)
//! are rejected: Packer templates never need them and silently mis-rendering them would be worse
//! than an error.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{DateTime, Utc};

use super::decode::Environment;
use super::gotime;
use crate::caps::secrets::{REDACTED, Redactor};

/// Everything an interpolation can read; borrowed so one template can be rendered in many contexts
/// cheaply.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// User variables, already resolved, read by `user`.
    pub variables: &'a BTreeMap<String, String>,
    /// Names of user variables whose values must not leak into logs.
    pub sensitive: &'a BTreeSet<String>,
    /// Where `env` reads, set only while rendering the `variables` section (the only place
    /// Packer lets `env` run); `None` elsewhere, where `env` is an error.
    pub environment: Option<&'a Environment>,
    /// Name of the build being configured, for `build_name`.
    pub build_name: Option<&'a str>,
    /// Builder type of the build being configured, for `build_type`.
    pub build_type: Option<&'a str>,
    /// Directory holding the template file, for `template_dir`.
    pub template_dir: &'a Path,
    /// Working directory of the run, for `pwd`.
    pub pwd: &'a Path,
    /// Start of the run; `timestamp` and `isotime` use it so every call in a run agrees.
    pub started: DateTime<Utc>,
    /// Values for `{{ .Field }}` operands (e.g. `.Vars`, `.Path` in provisioner settings).
    pub fields: &'a BTreeMap<String, String>,
    /// Data the builder produced at run time, for `build`; `None` where it cannot exist yet.
    pub build_data: Option<&'a BTreeMap<String, String>>,
    /// The text rendered is itself a secret (a sensitive variable's default): its output is
    /// sensitive, and so is every value it reads (an `env` credential), even where no sensitive
    /// variable is read.
    pub secret: bool,
    /// Where the output of a rendering that read a sensitive variable is registered, so that a
    /// value derived from a secret (`upper`, `replace`, glued to other text) is redacted too
    /// wherever it is printed later; `None` registers nothing.
    pub redactor: Option<&'a Redactor>,
}

/// The result of rendering one string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The interpolated text.
    pub text: String,
    /// True when a sensitive user variable contributed, so the whole text must be treated as a
    /// secret.
    pub sensitive: bool,
}

/// A parse or evaluation failure, located at the action that caused it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{message} (in {snippet:?} at byte {offset})")]
pub struct Error {
    /// What went wrong.
    pub message: String,
    /// The text of the offending action, delimiters included.
    pub snippet: String,
    /// Byte offset of the action's `{{` in the input.
    pub offset: usize,
}

/// Interpolates every action in `input`.
pub fn render(input: &str, ctx: &Context<'_>) -> Result<Rendered, Error> {
    let pieces = scan(input).into_iter().collect::<Result<Vec<_>, _>>()?;
    let mut text = String::with_capacity(input.len());
    // Where in `text` each action that read a sensitive value wrote.
    let mut secret_spans = Vec::new();
    for piece in &pieces {
        match piece {
            Piece::Text(t) => text.push_str(t),
            Piece::Action { pipeline, span } => {
                let mut eval = Eval { ctx, sensitive: ctx.secret };
                let value = eval.pipeline(pipeline).map_err(|message| error_at(input, span.clone(), message))?;
                let start = text.len();
                value.write_to(&mut text);
                if eval.sensitive {
                    secret_spans.push(start..text.len());
                }
            }
        }
    }
    let sensitive = ctx.secret || !secret_spans.is_empty();
    if sensitive && let Some(redactor) = ctx.redactor {
        register_derived(redactor, &text, &secret_spans);
    }
    Ok(Rendered { text, sensitive })
}

/// Registers what a rendering made from sensitive values: the whole `text`, each action's output
/// (`upper`, `replace` of a secret), and each output with the letters, digits and `_` glued to it
/// on either side, which is what a short secret written against other text (`{{user `pw`}}2026`)
/// shows as in a command's output, where the redactor would not take it for a token of its own.
/// `spans` are byte ranges of `text`, on character boundaries.
fn register_derived(redactor: &Redactor, text: &str, spans: &[std::ops::Range<usize>]) {
    let glued = |c: char| c.is_alphanumeric() || c == '_';
    redactor.add(text);
    for span in spans {
        redactor.add(&text[span.clone()]);
        let start = text[..span.start]
            .rfind(|c| !glued(c))
            .map_or(0, |i| i + text[i..].chars().next().map_or(1, char::len_utf8));
        let end = text[span.end..].find(|c| !glued(c)).map_or(text.len(), |i| span.end + i);
        redactor.add(&text[start..end]);
    }
}

/// Fast path: false when the string contains no "{{", so callers can skip rendering it.
pub fn is_template(input: &str) -> bool {
    input.contains("{{")
}

/// Names of the user variables a string references via `user` (for dependency ordering of
/// variables); best-effort, ignores parse errors.
///
/// Only constant names count (`user "x"`, `"x" | user`); a name computed at render time cannot be
/// known here.
pub fn referenced_variables(input: &str) -> Vec<String> {
    let mut names = Vec::new();
    for piece in scan(input).into_iter().flatten() {
        if let Piece::Action { pipeline, .. } = piece {
            collect_user_names(&pipeline, &mut names);
        }
    }
    // Each name once, first mention first (a set: a default may name
    // thousands of variables).
    let mut seen = std::collections::HashSet::new();
    names.retain(|name| seen.insert(name.clone()));
    names
}

fn collect_user_names(pipeline: &Pipeline, names: &mut Vec<String>) {
    for (i, command) in pipeline.commands.iter().enumerate() {
        let (func, args): (Option<Func>, &[Operand]) = match command {
            Command::Call { func, args } => (Some(*func), args),
            Command::Value(op) => (None, std::slice::from_ref(op)),
        };
        for op in args {
            if let Operand::Pipeline(inner) = op {
                collect_user_names(inner, names);
            }
        }
        if func != Some(Func::User) {
            continue;
        }
        let name = match (args, i.checked_sub(1).map(|p| &pipeline.commands[p])) {
            ([Operand::Str(name)], _) => name,
            ([], Some(Command::Value(Operand::Str(name)))) => name,
            _ => continue,
        };
        names.push(name.clone());
    }
}

fn error_at(input: &str, span: std::ops::Range<usize>, message: impl Into<String>) -> Error {
    Error { message: message.into(), snippet: input[span.clone()].to_owned(), offset: span.start }
}

// -------------------------------------------------------------------------------------------------
// Scanning: splitting text from actions, trim markers and comments.

#[derive(Debug)]
enum Piece {
    Text(String),
    Action { pipeline: Pipeline, span: std::ops::Range<usize> },
}

/// Go's `isSpace`, which is what trim markers trim; deliberately narrower than Unicode whitespace.
fn is_go_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// `}}` or ` -}}` at `pos`: returns the end of the delimiter and whether it trims the following
/// text.
fn right_delim_at(input: &str, pos: usize) -> Option<(usize, bool)> {
    let rest = &input[pos..];
    if rest.starts_with("}}") {
        return Some((pos + 2, false));
    }
    let first = rest.chars().next()?;
    (is_go_space(first) && rest[1..].starts_with("-}}")).then_some((pos + 4, true))
}

/// Splits `input` into text and parsed actions. A parse error in one action does not stop the scan
/// (so `referenced_variables` can still see the others), but a lexical error does, because the end
/// of that action, and so the start of the next text, is unknown.
fn scan(input: &str) -> Vec<Result<Piece, Error>> {
    let mut pieces = Vec::new();
    let mut pos = 0;
    let mut trim_next_text = false;
    loop {
        let open = input[pos..].find("{{").map(|i| pos + i);
        let mut text = &input[pos..open.unwrap_or(input.len())];
        if trim_next_text {
            text = text.trim_start_matches(is_go_space);
        }
        let Some(start) = open else {
            if !text.is_empty() {
                pieces.push(Ok(Piece::Text(text.to_owned())));
            }
            return pieces;
        };
        let mut body = start + 2;
        // Go's left trim marker is "-" followed by one space character; "{{-3}}" is the number -3.
        let after = &input[body..];
        if after.starts_with('-') && after[1..].starts_with(is_go_space) {
            text = text.trim_end_matches(is_go_space);
            body += 2;
        }
        if !text.is_empty() {
            pieces.push(Ok(Piece::Text(text.to_owned())));
        }

        let lexed = if input[body..].starts_with("/*") { comment(input, body) } else { lex_action(input, body) };
        match lexed {
            Ok(Lexed::Comment { end, trim }) => {
                pos = end;
                trim_next_text = trim;
            }
            Ok(Lexed::Action { tokens, end, trim }) => {
                let span = start..end;
                let parsed = Parser { tokens, next: 0 }.action();
                pieces.push(
                    parsed
                        .map(|pipeline| Piece::Action { pipeline, span: span.clone() })
                        .map_err(|message| error_at(input, span, message)),
                );
                pos = end;
                trim_next_text = trim;
            }
            Err(message) => {
                // The action's end is unknown; the nearest "}}" is the most useful guess for the
                // snippet.
                let end = input[body..].find("}}").map_or(input.len(), |i| body + i + 2);
                pieces.push(Err(error_at(input, start..end, message)));
                return pieces;
            }
        }
    }
}

enum Lexed {
    Comment { end: usize, trim: bool },
    Action { tokens: Vec<Token>, end: usize, trim: bool },
}

fn comment(input: &str, body: usize) -> Result<Lexed, String> {
    let close = input[body + 2..].find("*/").ok_or("unclosed comment")?;
    let after = body + 2 + close + 2;
    // Go requires the delimiter right after "*/", so text between them is an error rather than
    // ignored.
    let (end, trim) = right_delim_at(input, after).ok_or("comment ends before closing delimiter")?;
    Ok(Lexed::Comment { end, trim })
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum TokenKind {
    Pipe,
    LeftParen,
    RightParen,
    Str(String),
    Int(i64),
    Ident(String),
    Field(String),
}

#[derive(Debug)]
struct Token {
    kind: TokenKind,
    /// Whether whitespace preceded the token; Go requires it between the operands of a command.
    spaced: bool,
}

fn lex_action(input: &str, body: usize) -> Result<Lexed, String> {
    let mut tokens = Vec::new();
    let mut pos = body;
    let mut spaced = false;
    loop {
        if let Some((end, trim)) = right_delim_at(input, pos) {
            return Ok(Lexed::Action { tokens, end, trim });
        }
        let rest = &input[pos..];
        let Some(c) = rest.chars().next() else {
            return Err("unclosed action: missing \"}}\"".to_owned());
        };
        let (kind, len) = match c {
            // Go 1.16+ accepts newlines inside actions; being lenient costs nothing.
            _ if is_go_space(c) => {
                spaced = true;
                pos += 1;
                continue;
            }
            '|' => (TokenKind::Pipe, 1),
            '(' => (TokenKind::LeftParen, 1),
            ')' => (TokenKind::RightParen, 1),
            '"' => lex_quoted(rest)?,
            '`' => {
                let close = rest[1..].find('`').ok_or("unterminated raw quoted string")?;
                // strconv.Unquote drops carriage returns from raw strings, so Windows line endings
                // vanish.
                let raw = rest[1..=close].replace('\r', "");
                (TokenKind::Str(raw), close + 2)
            }
            '.' => lex_field(rest)?,
            '+' | '-' | '0'..='9' => lex_number(rest)?,
            _ if c.is_alphabetic() || c == '_' => {
                let len = ident_len(rest);
                (TokenKind::Ident(rest[..len].to_owned()), len)
            }
            '$' => return Err("template variables ($name) are not supported".to_owned()),
            '\'' => {
                return Err("character literals are not supported; quote strings with \"...\" or `...`".to_owned());
            }
            _ => return Err(format!("unexpected {c:?} in action")),
        };
        tokens.push(Token { kind, spaced });
        spaced = false;
        pos += len;
    }
}

fn ident_len(s: &str) -> usize {
    s.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(s.len())
}

fn lex_field(rest: &str) -> Result<(TokenKind, usize), String> {
    let len = ident_len(&rest[1..]);
    if len == 0 {
        return Err("a bare \".\" is not supported; name a field such as .Vars".to_owned());
    }
    let name = &rest[1..=len];
    if rest[1 + len..].starts_with('.') {
        return Err(format!("nested field access after .{name} is not supported"));
    }
    Ok((TokenKind::Field(name.to_owned()), 1 + len))
}

fn lex_number(rest: &str) -> Result<(TokenKind, usize), String> {
    let sign = usize::from(rest.starts_with(['+', '-']));
    let len =
        sign + rest[sign..].find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.')).unwrap_or(rest.len() - sign);
    let text = &rest[..len];
    let value = text
        .parse::<i64>()
        .map_err(|_| format!("bad number syntax: {text:?} (only decimal integers are supported)"))?;
    Ok((TokenKind::Int(value), len))
}

/// Lexes a Go interpreted string literal at the start of `rest`, returning its value and length.
fn lex_quoted(rest: &str) -> Result<(TokenKind, usize), String> {
    let mut out = Vec::new();
    let mut chars = rest.char_indices().skip(1);
    let unterminated = || "unterminated quoted string".to_owned();
    let hex = |chars: &mut dyn Iterator<Item = (usize, char)>, n: usize| -> Result<u32, String> {
        let mut value = 0;
        for _ in 0..n {
            let (_, c) = chars.next().ok_or_else(unterminated)?;
            value = value * 16 + c.to_digit(16).ok_or_else(|| format!("invalid hex digit {c:?} in escape"))?;
        }
        Ok(value)
    };
    loop {
        let (i, c) = chars.next().ok_or_else(unterminated)?;
        match c {
            '"' => {
                let s = String::from_utf8(out).map_err(|_| "string literal is not valid UTF-8".to_owned())?;
                return Ok((TokenKind::Str(s), i + 1));
            }
            '\n' => return Err(unterminated()),
            '\\' => {
                let (_, e) = chars.next().ok_or_else(unterminated)?;
                let simple = match e {
                    'a' => Some(0x07),
                    'b' => Some(0x08),
                    'f' => Some(0x0c),
                    'n' => Some(b'\n'),
                    'r' => Some(b'\r'),
                    't' => Some(b'\t'),
                    'v' => Some(0x0b),
                    '\\' => Some(b'\\'),
                    '"' => Some(b'"'),
                    _ => None,
                };
                if let Some(byte) = simple {
                    out.push(byte);
                    continue;
                }
                match e {
                    // \x and octal escapes are raw bytes in Go, which is why `out` is bytes until
                    // the end.
                    'x' => out.push(u8::try_from(hex(&mut chars, 2)?).unwrap_or(u8::MAX)),
                    '0'..='7' => {
                        let mut value = e.to_digit(8).unwrap_or(0);
                        for _ in 0..2 {
                            let (_, c) = chars.next().ok_or_else(unterminated)?;
                            value = value * 8 + c.to_digit(8).ok_or_else(|| format!("invalid octal digit {c:?}"))?;
                        }
                        out.push(u8::try_from(value).map_err(|_| "octal escape value > 255".to_owned())?);
                    }
                    'u' | 'U' => {
                        let code = hex(&mut chars, if e == 'u' { 4 } else { 8 })?;
                        let ch = char::from_u32(code).ok_or_else(|| format!("invalid Unicode code point {code:#x}"))?;
                        out.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes());
                    }
                    _ => return Err(format!("unknown escape sequence \\{e}")),
                }
            }
            _ => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
}

// -------------------------------------------------------------------------------------------------
// Parsing.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Func {
    User,
    Env,
    Timestamp,
    Isotime,
    Uuid,
    BuildName,
    BuildType,
    Pwd,
    TemplateDir,
    Lower,
    Upper,
    Replace,
    ReplaceAll,
    Split,
    CleanResourceName,
    Build,
}

/// Name, function and parameter list as shown in arity and type errors.
const FUNCS: [(&str, Func, &str); 16] = [
    ("user", Func::User, "(name string)"),
    ("env", Func::Env, "(name string)"),
    ("timestamp", Func::Timestamp, "()"),
    ("isotime", Func::Isotime, "([format string])"),
    ("uuid", Func::Uuid, "()"),
    ("build_name", Func::BuildName, "()"),
    ("build_type", Func::BuildType, "()"),
    ("pwd", Func::Pwd, "()"),
    ("template_dir", Func::TemplateDir, "()"),
    ("lower", Func::Lower, "(s string)"),
    ("upper", Func::Upper, "(s string)"),
    ("replace", Func::Replace, "(old, new string, n int, s string)"),
    ("replace_all", Func::ReplaceAll, "(old, new, s string)"),
    ("split", Func::Split, "(s, sep string, n int)"),
    ("clean_resource_name", Func::CleanResourceName, "(s string)"),
    ("build", Func::Build, "(name string)"),
];

/// Packer 1.6 functions kiln deliberately lacks; naming them avoids a misleading "did you mean"
/// answer.
const UNSUPPORTED_FUNCS: [&str; 6] = ["packer_version", "consul_key", "vault", "aws_secretsmanager", "sed", "strftime"];

const KEYWORDS: [&str; 10] = ["if", "else", "end", "range", "with", "define", "template", "block", "break", "continue"];

impl Func {
    fn signature(self) -> String {
        let (name, _, params) = FUNCS.iter().find(|(_, f, _)| *f == self).copied().unwrap_or(("?", self, "()"));
        format!("{name} expects {params}")
    }
}

#[derive(Debug)]
struct Pipeline {
    commands: Vec<Command>,
}

#[derive(Debug)]
enum Command {
    Call {
        func: Func,
        args: Vec<Operand>,
    },
    /// A lone operand; the parser only allows it first in a pipeline, since it cannot take a piped
    /// argument.
    Value(Operand),
}

#[derive(Debug)]
enum Operand {
    Str(String),
    Int(i64),
    Bool(bool),
    Field(String),
    Pipeline(Pipeline),
}

impl Operand {
    fn describe(&self) -> String {
        match self {
            Operand::Str(s) => format!("{s:?}"),
            Operand::Int(n) => n.to_string(),
            Operand::Bool(b) => b.to_string(),
            Operand::Field(f) => format!(".{f}"),
            Operand::Pipeline(_) => "(...)".to_owned(),
        }
    }
}

/// An operand as written, before we know whether it heads a command (functions take arguments
/// there).
enum Word {
    Func(Func),
    Operand(Operand),
}

struct Parser {
    tokens: Vec<Token>,
    next: usize,
}

impl Parser {
    fn action(mut self) -> Result<Pipeline, String> {
        let pipeline = self.pipeline()?;
        match self.tokens.get(self.next) {
            None => Ok(pipeline),
            Some(_) => Err("unexpected \")\" in action".to_owned()),
        }
    }

    /// Stops before a `)` or at the end; the caller decides which is legal.
    fn pipeline(&mut self) -> Result<Pipeline, String> {
        let mut commands = Vec::new();
        loop {
            let command = self.command()?;
            if let (false, Command::Value(op)) = (commands.is_empty(), &command) {
                return Err(format!("can't give argument to non-function {}", op.describe()));
            }
            commands.push(command);
            match self.tokens.get(self.next).map(|t| &t.kind) {
                Some(TokenKind::Pipe) => self.next += 1,
                _ => return Ok(Pipeline { commands }),
            }
        }
    }

    fn command(&mut self) -> Result<Command, String> {
        let mut words = Vec::new();
        while let Some(token) = self.tokens.get(self.next) {
            if matches!(token.kind, TokenKind::Pipe | TokenKind::RightParen) {
                break;
            }
            if !words.is_empty() && !token.spaced {
                return Err(format!("missing space before {}", describe_token(&token.kind)));
            }
            words.push(self.word()?);
        }
        let mut words = words.into_iter();
        match words.next() {
            None => Err("missing value for command".to_owned()),
            Some(Word::Func(func)) => {
                // A function named as an argument is called with no arguments, as Go does.
                let args = words
                    .map(|w| match w {
                        Word::Func(f) => {
                            Operand::Pipeline(Pipeline { commands: vec![Command::Call { func: f, args: vec![] }] })
                        }
                        Word::Operand(op) => op,
                    })
                    .collect();
                Ok(Command::Call { func, args })
            }
            Some(Word::Operand(op)) => match words.next() {
                None => Ok(Command::Value(op)),
                Some(_) => Err(format!("can't give argument to non-function {}", op.describe())),
            },
        }
    }

    fn word(&mut self) -> Result<Word, String> {
        let token = &self.tokens[self.next];
        self.next += 1;
        let operand = match &token.kind {
            TokenKind::Str(s) => Operand::Str(s.clone()),
            TokenKind::Int(n) => Operand::Int(*n),
            TokenKind::Field(f) => Operand::Field(f.clone()),
            TokenKind::Ident(name) => return resolve_ident(name),
            TokenKind::LeftParen => {
                let inner = self.pipeline()?;
                match self.tokens.get(self.next).map(|t| &t.kind) {
                    Some(TokenKind::RightParen) => self.next += 1,
                    _ => return Err("unclosed left paren".to_owned()),
                }
                Operand::Pipeline(inner)
            }
            TokenKind::Pipe | TokenKind::RightParen => {
                unreachable!("command() stops before | and )")
            }
        };
        Ok(Word::Operand(operand))
    }
}

fn describe_token(kind: &TokenKind) -> String {
    match kind {
        TokenKind::Pipe => "|".to_owned(),
        TokenKind::LeftParen => "(".to_owned(),
        TokenKind::RightParen => ")".to_owned(),
        TokenKind::Str(s) => format!("{s:?}"),
        TokenKind::Int(n) => n.to_string(),
        TokenKind::Ident(name) => name.clone(),
        TokenKind::Field(f) => format!(".{f}"),
    }
}

fn resolve_ident(name: &str) -> Result<Word, String> {
    if let Some((_, func, _)) = FUNCS.iter().find(|(n, _, _)| *n == name) {
        return Ok(Word::Func(*func));
    }
    match name {
        "true" => return Ok(Word::Operand(Operand::Bool(true))),
        "false" => return Ok(Word::Operand(Operand::Bool(false))),
        "nil" => return Err("nil is not a command".to_owned()),
        _ => {}
    }
    if KEYWORDS.contains(&name) {
        return Err(format!("control structures are not supported in Packer templates: {{{{{name}}}}}"));
    }
    if UNSUPPORTED_FUNCS.contains(&name) {
        return Err(format!("function {name:?} is not supported by kiln"));
    }
    Err(format!(
        "function {name:?} is not defined{}",
        super::did_you_mean(name, FUNCS.iter().map(|(known, _, _)| *known))
    ))
}

// -------------------------------------------------------------------------------------------------
// Evaluation.

#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Str(String),
    Int(i64),
    Bool(bool),
}

impl Value {
    fn write_to(&self, out: &mut String) {
        match self {
            Value::Str(s) => out.push_str(s),
            Value::Int(n) => out.push_str(&n.to_string()),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        }
    }

    /// The value as an error names it; with `sensitive` (the rendering has read a sensitive
    /// value, which this one may be or come from) only its kind.
    fn describe(&self, sensitive: bool) -> String {
        match self {
            Value::Str(_) if sensitive => format!("a sensitive string ({REDACTED})"),
            Value::Int(_) if sensitive => format!("a sensitive integer ({REDACTED})"),
            Value::Bool(_) if sensitive => format!("a sensitive boolean ({REDACTED})"),
            Value::Str(s) => format!("the string {s:?}"),
            Value::Int(n) => format!("the integer {n}"),
            Value::Bool(b) => format!("the boolean {b}"),
        }
    }
}

struct Eval<'c, 'a> {
    ctx: &'c Context<'a>,
    sensitive: bool,
}

/// A function's evaluated arguments, with checks that report the function's signature on misuse.
struct Args {
    func: Func,
    values: Vec<Value>,
    /// Whether a sensitive value was read so far: errors then do not quote the values.
    sensitive: bool,
}

impl Args {
    fn expect(&self, n: usize) -> Result<(), String> {
        if self.values.len() == n { Ok(()) } else { Err(self.arity_error()) }
    }

    fn str(&self, i: usize) -> Result<&str, String> {
        match &self.values[i] {
            Value::Str(s) => Ok(s),
            other => Err(format!(
                "{}; argument {} is {}, not a string",
                self.func.signature(),
                i + 1,
                other.describe(self.sensitive)
            )),
        }
    }

    /// Numeric strings count too, because the number usually arrives through `user` as a string.
    fn int(&self, i: usize) -> Result<i64, String> {
        match &self.values[i] {
            Value::Int(n) => Ok(*n),
            other => {
                let parsed = match other {
                    Value::Str(s) => s.parse().ok(),
                    _ => None,
                };
                parsed.ok_or_else(|| {
                    format!(
                        "{}; argument {} is {}, not an integer",
                        self.func.signature(),
                        i + 1,
                        other.describe(self.sensitive)
                    )
                })
            }
        }
    }

    fn arity_error(&self) -> String {
        format!("{}; got {} argument(s)", self.func.signature(), self.values.len())
    }
}

impl Eval<'_, '_> {
    fn pipeline(&mut self, pipeline: &Pipeline) -> Result<Value, String> {
        let mut piped: Option<Value> = None;
        for command in &pipeline.commands {
            let value = match command {
                Command::Value(op) => self.operand(op)?,
                Command::Call { func, args } => {
                    let mut values = args.iter().map(|a| self.operand(a)).collect::<Result<Vec<_>, _>>()?;
                    values.extend(piped.take());
                    self.call(Args { func: *func, values, sensitive: self.sensitive })?
                }
            };
            piped = Some(value);
        }
        piped.ok_or_else(|| "missing value for command".to_owned())
    }

    fn operand(&mut self, op: &Operand) -> Result<Value, String> {
        match op {
            Operand::Str(s) => Ok(Value::Str(s.clone())),
            Operand::Int(n) => Ok(Value::Int(*n)),
            Operand::Bool(b) => Ok(Value::Bool(*b)),
            Operand::Field(name) => match self.ctx.fields.get(name) {
                Some(v) => Ok(Value::Str(v.clone())),
                None => Err(format!("can't evaluate field {name}{}", known_list(self.ctx.fields.keys(), "fields"))),
            },
            Operand::Pipeline(p) => self.pipeline(p),
        }
    }

    fn call(&mut self, args: Args) -> Result<Value, String> {
        let ctx = self.ctx;
        let text = match args.func {
            Func::User => {
                args.expect(1)?;
                let name = args.str(0)?;
                let value = ctx.variables.get(name).ok_or_else(|| {
                    // A name computed from a sensitive value may be that value.
                    let shown = if self.sensitive { REDACTED } else { name };
                    format!("unknown variable {shown}{}", known_list(ctx.variables.keys(), "variables"))
                })?;
                self.sensitive |= ctx.sensitive.contains(name);
                value.clone()
            }
            Func::Env => {
                args.expect(1)?;
                let name = args.str(0)?;
                let Some(environment) = ctx.environment else {
                    return Err("env can only be used in the default value of a variable (in \"variables\")".to_owned());
                };
                environment.get(name).unwrap_or_default()
            }
            Func::Timestamp => {
                args.expect(0)?;
                ctx.started.timestamp().to_string()
            }
            Func::Isotime => match args.values.len() {
                0 => gotime::format(ctx.started, gotime::RFC3339),
                1 => gotime::format(ctx.started, args.str(0)?),
                _ => return Err(args.arity_error()),
            },
            Func::Uuid => {
                args.expect(0)?;
                uuid::Uuid::new_v4().to_string()
            }
            Func::BuildName | Func::BuildType => {
                args.expect(0)?;
                let (name, value) = match args.func {
                    Func::BuildName => ("build_name", ctx.build_name),
                    _ => ("build_type", ctx.build_type),
                };
                value
                    .ok_or_else(|| format!("{name} is only available inside a builder, provisioner or post-processor"))?
                    .to_owned()
            }
            Func::Pwd => {
                args.expect(0)?;
                ctx.pwd.to_string_lossy().into_owned()
            }
            Func::TemplateDir => {
                args.expect(0)?;
                ctx.template_dir.to_string_lossy().into_owned()
            }
            Func::Lower => {
                args.expect(1)?;
                args.str(0)?.to_lowercase()
            }
            Func::Upper => {
                args.expect(1)?;
                args.str(0)?.to_uppercase()
            }
            Func::Replace => {
                args.expect(4)?;
                let (old, new, n, s) = (args.str(0)?, args.str(1)?, args.int(2)?, args.str(3)?);
                // Go's strings.Replace: n < 0 means all, n == 0 means none.
                match usize::try_from(n) {
                    Ok(n) => s.replacen(old, new, n),
                    Err(_) => s.replace(old, new),
                }
            }
            Func::ReplaceAll => {
                args.expect(3)?;
                args.str(2)?.replace(args.str(0)?, args.str(1)?)
            }
            Func::Split => {
                args.expect(3)?;
                let (s, sep, n) = (args.str(0)?, args.str(1)?, args.int(2)?);
                let parts = go_split(s, sep);
                let part = usize::try_from(n).ok().and_then(|i| parts.get(i));
                part.map(|p| (*p).to_owned()).ok_or_else(|| {
                    format!(
                        "the substring {n} was unavailable using the separator value, {sep:?}, only {} values were found",
                        parts.len()
                    )
                })?
            }
            Func::CleanResourceName => {
                args.expect(1)?;
                let lower = args.str(0)?.to_lowercase();
                lower
                    .chars()
                    .map(|c| if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' { c } else { '-' })
                    .collect()
            }
            Func::Build => {
                args.expect(1)?;
                let name = args.str(0)?;
                let data = ctx.build_data.ok_or("build can only be used in provisioners")?;
                data.get(name)
                    .ok_or_else(|| {
                        format!("build variable {name:?} does not exist{}", known_list(data.keys(), "keys"))
                    })?
                    .clone()
            }
        };
        Ok(Value::Str(text))
    }
}

/// Go's strings.Split: an empty separator splits into characters (and yields nothing for ""),
/// unlike Rust's `split("")`, which adds empty strings at both ends.
fn go_split<'s>(s: &'s str, sep: &str) -> Vec<&'s str> {
    if sep.is_empty() {
        s.char_indices().map(|(i, c)| &s[i..i + c.len_utf8()]).collect()
    } else {
        s.split(sep).collect()
    }
}

/// Lists the valid names when there are few enough to read; a long list would bury the actual
/// error.
fn known_list<'k>(names: impl ExactSizeIterator<Item = &'k String>, what: &str) -> String {
    match names.len() {
        0 => format!(" (no {what} are defined)"),
        1..=10 => format!(" (known {what}: {})", names.map(String::as_str).collect::<Vec<_>>().join(", ")),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::path::PathBuf;

    struct Fixture {
        variables: BTreeMap<String, String>,
        sensitive: BTreeSet<String>,
        fields: BTreeMap<String, String>,
        build_data: Option<BTreeMap<String, String>>,
        template_dir: PathBuf,
        pwd: PathBuf,
        environment: Option<Environment>,
        build_name: Option<&'static str>,
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    impl Fixture {
        fn new() -> Self {
            Fixture {
                variables: map(&[("name", "Web"), ("password", "hunter2"), ("count", "2"), ("csv", "a,b,c")]),
                sensitive: ["password".to_owned()].into(),
                fields: map(&[("Path", "/tmp/script.sh"), ("Vars", "A=1 B=2")]),
                build_data: None,
                template_dir: PathBuf::from("/src/templates"),
                pwd: PathBuf::from("/home/me"),
                environment: None,
                build_name: None,
            }
        }

        fn ctx(&self) -> Context<'_> {
            Context {
                variables: &self.variables,
                sensitive: &self.sensitive,
                environment: self.environment.as_ref(),
                build_name: self.build_name,
                build_type: None,
                template_dir: &self.template_dir,
                pwd: &self.pwd,
                started: Utc.with_ymd_and_hms(2017, 10, 18, 2, 6, 30).unwrap(),
                fields: &self.fields,
                build_data: self.build_data.as_ref(),
                secret: false,
                redactor: None,
            }
        }

        fn render(&self, input: &str) -> Result<String, Error> {
            render(input, &self.ctx()).map(|r| r.text)
        }

        fn ok(&self, input: &str) -> String {
            self.render(input).unwrap_or_else(|e| panic!("{input:?} failed: {e}"))
        }

        fn err(&self, input: &str) -> String {
            match self.render(input) {
                Ok(text) => panic!("{input:?} rendered {text:?}, expected an error"),
                Err(e) => e.message,
            }
        }
    }

    fn ok(input: &str) -> String {
        Fixture::new().ok(input)
    }

    fn err(input: &str) -> String {
        Fixture::new().err(input)
    }

    #[test]
    fn plain_text_and_lone_closing_braces_are_literal() {
        assert_eq!(ok("no actions }} here"), "no actions }} here");
        assert!(!is_template("a } { }} b"));
        assert!(is_template("a {{ b"));
    }

    #[test]
    fn user_returns_variable_value() {
        assert_eq!(ok("web-{{user `name`}}-{{ user \"count\" }}"), "web-Web-2");
    }

    #[test]
    fn unknown_user_variable_lists_known_ones() {
        assert_eq!(err("{{user `nmae`}}"), "unknown variable nmae (known variables: count, csv, name, password)");
    }

    #[test]
    fn sensitive_user_variable_marks_result() {
        let f = Fixture::new();
        let plain = render("{{user `name`}}", &f.ctx()).unwrap();
        let secret = render("x{{ user `password` | upper }}", &f.ctx()).unwrap();
        assert_eq!(plain, Rendered { text: "Web".to_owned(), sensitive: false });
        assert_eq!(secret, Rendered { text: "xHUNTER2".to_owned(), sensitive: true });
    }

    #[test]
    fn an_error_about_a_sensitive_value_does_not_quote_it() {
        let message = err("{{ replace `a` `b` (user `password`) `c` }}");
        assert_eq!(
            message,
            "replace expects (old, new string, n int, s string); argument 3 is a sensitive string (<sensitive>), not an integer"
        );
        assert_eq!(
            err("{{ user (user `password`) }}"),
            "unknown variable <sensitive> (known variables: count, csv, name, password)"
        );
        assert!(err("{{ replace `a` `b` (user `name`) `c` }}").contains("the string \"Web\""));
    }

    #[test]
    fn a_secret_text_hides_what_it_reads_and_is_sensitive() {
        let mut f = Fixture::new();
        f.environment = Some(Environment::with_overlay([("PW".to_string(), "from-the-env".to_string())]));
        let ctx = Context { secret: true, ..f.ctx() };
        let e = render("{{ replace `a` `b` (env `PW`) `c` }}", &ctx).unwrap_err();
        assert!(!e.message.contains("from-the-env"), "{}", e.message);
        assert!(render("{{ env `PW` }}", &ctx).unwrap().sensitive);
    }

    #[test]
    fn a_rendering_that_read_a_secret_registers_what_it_made() {
        let f = Fixture::new();
        let redactor = Redactor::default();
        let ctx = Context { redactor: Some(&redactor), ..f.ctx() };
        render("echo {{ user `password` | upper }} {{user `password`}}2026 {{user `name`}}", &ctx).unwrap();
        assert_eq!(redactor.redact("HUNTER2"), "<sensitive>");
        assert_eq!(redactor.redact("hunter22026"), "<sensitive>");
        assert_eq!(redactor.redact("Web"), "Web");
        render("{{user `name`}} only", &ctx).unwrap();
        assert_eq!(redactor.redact("Web only"), "Web only", "nothing sensitive was read");
    }

    #[test]
    fn pipe_passes_result_as_last_argument() {
        assert_eq!(ok("{{ user `csv` | replace `,` `;` 1 }}"), "a;b,c");
        assert_eq!(ok("{{ `A-B` | lower | upper | lower }}"), "a-b");
    }

    #[test]
    fn parenthesised_pipeline_is_an_argument() {
        assert_eq!(ok("{{ split (user `csv` | upper) `,` 1 }}"), "B");
    }

    #[test]
    fn function_named_as_argument_is_called() {
        assert_eq!(ok("{{ clean_resource_name isotime }}"), "2017-10-18t02-06-30z");
    }

    #[test]
    fn trim_markers_remove_adjacent_whitespace() {
        assert_eq!(ok("a \n\t{{- `b` -}} \n c"), "abc");
        assert_eq!(ok("a {{- `b` }} c"), "ab c");
    }

    #[test]
    fn minus_without_space_is_a_negative_number_not_a_trim() {
        assert_eq!(ok("a {{-3}} b"), "a -3 b");
    }

    #[test]
    fn comments_produce_nothing_and_can_trim() {
        assert_eq!(ok("a{{/* hidden }} */}}b"), "ab");
        assert_eq!(ok("a  {{- /* c */ -}}  b"), "ab");
    }

    #[test]
    fn comment_must_end_at_the_delimiter() {
        assert_eq!(err("{{/* c */ x }}"), "comment ends before closing delimiter");
        assert_eq!(err("{{/* c }}"), "unclosed comment");
    }

    #[test]
    fn string_literals_use_go_escapes() {
        assert_eq!(ok(r#"{{ "a\tb\n\"q\"\\\u00e9\x41\101" }}"#), "a\tb\n\"q\"\\éAA");
        assert_eq!(err(r#"{{ "\q" }}"#), "unknown escape sequence \\q");
    }

    #[test]
    fn raw_strings_keep_backslashes_and_closing_braces() {
        assert_eq!(ok(r"{{ `C:\dir }}\n` }}"), r"C:\dir }}\n");
    }

    #[test]
    fn field_reads_context_value() {
        assert_eq!(ok("{{.Vars}} {{ .Path }}"), "A=1 B=2 /tmp/script.sh");
        assert_eq!(err("{{ .Nope }}"), "can't evaluate field Nope (known fields: Path, Vars)");
    }

    #[test]
    fn env_outside_variables_is_an_error() {
        assert_eq!(
            err("{{ env `HOME` }}"),
            "env can only be used in the default value of a variable (in \"variables\")"
        );
    }

    #[test]
    fn env_in_variables_reads_environment_or_empty() {
        let mut f = Fixture::new();
        f.environment = Some(Environment::default());
        let path = std::env::var("PATH").unwrap_or_default();
        assert_eq!(f.ok("{{ env `PATH` }}"), path);
        assert_eq!(f.ok("[{{ env `KILN_INTERPOLATE_SURELY_UNSET_VARIABLE` }}]"), "[]");
    }

    #[test]
    fn env_reads_the_overlay_first_and_an_empty_value_hides_the_process_one() {
        let mut f = Fixture::new();
        f.environment = Some(Environment::with_overlay([
            ("KILN_INTERPOLATE_OVERLAID".to_owned(), "from the overlay".to_owned()),
            ("PATH".to_owned(), String::new()),
        ]));
        assert_eq!(f.ok("{{ env `KILN_INTERPOLATE_OVERLAID` }}"), "from the overlay");
        assert_eq!(f.ok("[{{ env `PATH` }}]"), "[]");
    }

    #[test]
    fn timestamp_is_run_start_in_unix_seconds() {
        assert_eq!(ok("{{timestamp}}"), "1508292390");
    }

    #[test]
    fn isotime_defaults_to_rfc3339_and_accepts_go_layout() {
        assert_eq!(ok("{{isotime}}"), "2017-10-18T02:06:30Z");
        assert_eq!(ok("{{isotime `20060102-1504`}}"), "20171018-0206");
        assert_eq!(err("{{isotime `a` `b`}}"), "isotime expects ([format string]); got 2 argument(s)");
    }

    #[test]
    fn uuid_is_fresh_v4_on_every_call() {
        let text = ok("{{uuid}} {{uuid}}");
        let (a, b) = text.split_once(' ').unwrap();
        assert_ne!(a, b);
        assert_eq!(uuid::Uuid::parse_str(a).unwrap().get_version_num(), 4);
    }

    #[test]
    fn build_name_outside_a_build_is_an_error() {
        assert_eq!(
            err("{{build_name}}"),
            "build_name is only available inside a builder, provisioner or post-processor"
        );
        let mut f = Fixture::new();
        f.build_name = Some("amazon-ebs");
        assert_eq!(f.ok("{{ build_name }}"), "amazon-ebs");
    }

    #[test]
    fn build_type_outside_a_build_is_an_error() {
        assert_eq!(
            err("{{build_type}}"),
            "build_type is only available inside a builder, provisioner or post-processor"
        );
    }

    #[test]
    fn pwd_and_template_dir_come_from_context() {
        assert_eq!(ok("{{pwd}}|{{template_dir}}"), "/home/me|/src/templates");
    }

    #[test]
    fn lower_and_upper_change_case() {
        assert_eq!(ok("{{ lower `AbC` }}{{ upper `dÉf` }}"), "abcDÉF");
    }

    #[test]
    fn replace_limits_count_and_negative_means_all() {
        assert_eq!(ok("{{ replace `a` `x` 2 `aaaa` }}"), "xxaa");
        assert_eq!(ok("{{ replace `a` `x` -1 `aaaa` }}"), "xxxx");
        assert_eq!(ok("{{ replace `a` `x` (user `count`) `aaaa` }}"), "xxaa");
    }

    #[test]
    fn replace_with_wrong_types_names_its_signature() {
        assert_eq!(
            err("{{ replace `a` `x` `many` `aaaa` }}"),
            "replace expects (old, new string, n int, s string); argument 3 is the string \"many\", not an integer"
        );
        assert_eq!(
            err("{{ replace `a` `x` }}"),
            "replace expects (old, new string, n int, s string); got 2 argument(s)"
        );
        assert_eq!(err("{{ lower 3 }}"), "lower expects (s string); argument 1 is the integer 3, not a string");
    }

    #[test]
    fn replace_all_replaces_every_occurrence() {
        assert_eq!(ok("{{ replace_all `-` `_` `a-b-c` }}"), "a_b_c");
    }

    #[test]
    fn split_picks_zero_based_element() {
        assert_eq!(ok("{{ split `a,b,c` `,` 2 }}"), "c");
        assert_eq!(ok("{{ split `héllo` `` 1 }}"), "é");
    }

    #[test]
    fn split_out_of_range_is_an_error() {
        assert_eq!(
            err("{{ split `a,b` `,` 2 }}"),
            "the substring 2 was unavailable using the separator value, \",\", only 2 values were found"
        );
    }

    #[test]
    fn clean_resource_name_lowercases_and_dashes_invalid_chars() {
        assert_eq!(ok("{{ clean_resource_name `2017-10-18T02:06:30Z` }}"), "2017-10-18t02-06-30z");
        assert_eq!(ok("{{ `My_Image ü.1` | clean_resource_name }}"), "my-image---1");
    }

    #[test]
    fn build_reads_build_data_and_requires_it() {
        assert_eq!(err("{{ build `ID` }}"), "build can only be used in provisioners");
        let mut f = Fixture::new();
        f.build_data = Some(map(&[("ID", "ami-123"), ("Host", "10.0.0.1")]));
        assert_eq!(f.ok("{{ build `ID` }}"), "ami-123");
        assert_eq!(f.err("{{ build `Port` }}"), "build variable \"Port\" does not exist (known keys: Host, ID)");
    }

    #[test]
    fn unknown_function_suggests_close_name() {
        let e = Fixture::new().render("x {{ usr `x` }} y").unwrap_err();
        assert_eq!(
            e,
            Error {
                message: "function \"usr\" is not defined; did you mean \"user\"?".to_owned(),
                snippet: "{{ usr `x` }}".to_owned(),
                offset: 2
            }
        );
        assert_eq!(err("{{ frobnicate }}"), "function \"frobnicate\" is not defined");
    }

    #[test]
    fn packer_functions_kiln_lacks_are_named_as_unsupported() {
        assert_eq!(err("{{ vault `p` `k` }}"), "function \"vault\" is not supported by kiln");
    }

    #[test]
    fn unclosed_action_is_an_error_with_rest_as_snippet() {
        let e = Fixture::new().render("ab{{ user `x` ").unwrap_err();
        assert_eq!(e.message, "unclosed action: missing \"}}\"");
        assert_eq!((e.snippet.as_str(), e.offset), ("{{ user `x` ", 2));
    }

    #[test]
    fn control_structures_are_rejected() {
        assert_eq!(err("{{ if true }}x{{ end }}"), "control structures are not supported in Packer templates: {{if}}");
    }

    #[test]
    fn syntax_errors_are_reported() {
        assert_eq!(err("{{ }}"), "missing value for command");
        assert_eq!(err("{{ `a` `b` }}"), "can't give argument to non-function \"a\"");
        assert_eq!(err("{{ `a` | `b` }}"), "can't give argument to non-function \"b\"");
        assert_eq!(err("{{ (lower `a` }}"), "unclosed left paren");
        assert_eq!(err("{{ lower `a`) }}"), "unexpected \")\" in action");
        assert_eq!(err("{{ lower(`a`) }}"), "missing space before (");
        assert_eq!(err("{{ \"abc }}"), "unterminated quoted string");
        assert_eq!(err("{{ 1.5 }}"), "bad number syntax: \"1.5\" (only decimal integers are supported)");
    }

    #[test]
    fn parse_errors_win_over_earlier_runtime_errors() {
        assert_eq!(err("{{ user `missing` }} {{ nope }}"), "function \"nope\" is not defined");
    }

    #[test]
    fn error_display_includes_snippet_and_offset() {
        let e = Fixture::new().render("ab {{ env `X` }}").unwrap_err();
        assert_eq!(
            e.to_string(),
            "env can only be used in the default value of a variable (in \"variables\") (in \"{{ env `X` }}\" at byte 3)"
        );
    }

    #[test]
    fn referenced_variables_finds_constant_user_names_best_effort() {
        let input = "{{ user `a` }} {{ split (user \"b\") `,` 0 }} {{ `c` | user }} {{ nope `z` }} {{ user `a` }} {{ user (env `D`) }}";
        assert_eq!(referenced_variables(input), ["a", "b", "c"]);
        assert_eq!(referenced_variables("{{ user `x` }} {{ user `y` "), ["x"]);
    }
}
