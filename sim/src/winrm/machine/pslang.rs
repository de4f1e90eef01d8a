//! The language of the PowerShell subset: statements and where they start,
//! tokens, and the interpreter's state with the expansions cmdlets use.
//! What a statement does is `pscript`'s (which dispatches to `cmdlets`);
//! this module names neither, so the cmdlets can use it without a cycle.

use std::collections::HashMap;

use super::Ctx;
use super::clixml::{Position, error_record};

/// How deep blocks may nest (script blocks, script files, `if` bodies and
/// conditions): PowerShell's own call-depth limit is about 100. Deeper is
/// PowerShell's call-depth error, which ends the whole script; without the
/// limit a script that runs itself would overflow the machine's stack.
pub(crate) const MAX_DEPTH: usize = 100;

/// The longest string an expansion makes, in bytes. Without it
/// `$a = "$a$a"` doubles per statement and a short script asks for
/// exabytes; what passes the cap is cut off (kiln's and Packer's scripts
/// never come near it).
pub(crate) const MAX_STRING: usize = 1024 * 1024;

/// Whether `c` ends or opens a single-quoted string: `'` and the
/// typographic quotes U+2018 to U+201B, which PowerShell takes as `'`.
pub(crate) fn is_single_quote(c: char) -> bool {
    matches!(c, '\'' | '\u{2018}'..='\u{201B}')
}

/// One statement with where it starts, for error positions.
#[derive(Debug, Clone)]
pub(crate) struct Stmt {
    /// Its text, comments dropped, trimmed; several lines for a block.
    pub text: String,
    /// Where its first character is in the script.
    pub at: Position,
}

/// Why a script stopped before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Halt {
    /// `exit N`: ends the process (or, in a script file, that file).
    Exit(i32),
    /// Blocks nested deeper than [`MAX_DEPTH`]: the error is recorded where
    /// it happened and the whole script ends with exit code 1.
    CallDepthOverflow,
    /// The output passed the machine's bound (`Ctx::output_full`): the
    /// error is recorded and the whole script ends with exit code 1.
    OutputFull,
}

/// The script's statements (split at `;` and line ends outside quotes,
/// parentheses and braces), comments dropped.
pub(crate) fn statements(script: &str) -> Vec<Stmt> {
    let lines: Vec<&str> = script.split('\n').map(|l| l.trim_end_matches('\r')).collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut start: Option<(usize, usize)> = None;
    let (mut quote, mut depth, mut block_comment) = (None::<char>, 0i32, false);
    for (ln, line) in lines.iter().enumerate() {
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if block_comment {
                if c == '#' && chars.get(i + 1) == Some(&'>') {
                    block_comment = false;
                    i += 1;
                }
                i += 1;
                continue;
            }
            match quote {
                Some(q) => {
                    if c == '`' && q == '"' {
                        cur.push(c);
                        i += 1;
                        if let Some(&n) = chars.get(i) {
                            cur.push(n);
                        }
                        i += 1;
                        continue;
                    }
                    if c == q || (q == '\'' && is_single_quote(c)) {
                        quote = None;
                    }
                    cur.push(c);
                }
                None => match c {
                    '<' if chars.get(i + 1) == Some(&'#') => {
                        block_comment = true;
                        i += 1;
                    }
                    '#' if cur.is_empty() || cur.ends_with(char::is_whitespace) => break,
                    ';' if depth == 0 => flush(&mut out, &mut cur, &mut start, &lines),
                    c => {
                        match c {
                            '"' => quote = Some(c),
                            c if is_single_quote(c) => quote = Some('\''),
                            '(' | '{' => depth += 1,
                            // An unbalanced closer must not stop `;` from
                            // splitting what follows.
                            ')' | '}' => depth = (depth - 1).max(0),
                            _ => {}
                        }
                        if start.is_none() && !c.is_whitespace() {
                            start = Some((ln, i));
                        }
                        cur.push(c);
                    }
                },
            }
            i += 1;
        }
        if quote.is_some() || depth > 0 {
            cur.push('\n');
        } else {
            flush(&mut out, &mut cur, &mut start, &lines);
        }
    }
    flush(&mut out, &mut cur, &mut start, &lines);
    out
}

fn flush(out: &mut Vec<Stmt>, cur: &mut String, start: &mut Option<(usize, usize)>, lines: &[&str]) {
    let text = std::mem::take(cur).trim().to_string();
    if let Some((ln, col)) = start.take()
        && !text.is_empty()
    {
        let lower = text.to_ascii_lowercase();
        if (lower.starts_with("else") || lower.starts_with("elseif"))
            && let Some(last) = out.last_mut()
        {
            last.text = format!("{}\n{text}", last.text);
            return;
        }
        {
            let len = text.lines().next().unwrap_or("").chars().count();
            let at = Position { line: ln + 1, column: col + 1, source: lines[ln].to_string(), len };
            out.push(Stmt { text, at });
        }
    }
}

/// One token of a statement.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// A quoted string, already expanded.
    Str(String),
    /// `$name` (`env:X` included), without the `$`.
    Var(String),
    /// A bare word: a command name, a parameter (`-Path`), an argument.
    Word(String),
    Pipe,
    Assign,
    /// `>`/`>>` (1) or `2>` (2) with its target token.
    Redirect(u8),
}

/// The interpreter's state across statements.
pub(crate) struct Interp {
    /// Variables set by assignments and `Set-Variable`, names lower-cased.
    pub vars: HashMap<String, String>,
    /// The error records made so far, in order, for stderr.
    pub errors: Vec<Vec<String>>,
    /// How many blocks are running inside one another now.
    pub depth: usize,
}

impl Interp {
    /// A fresh interpreter: no variables, no errors.
    pub fn new() -> Interp {
        Interp { vars: HashMap::new(), errors: Vec::new(), depth: 0 }
    }

    /// A variable's value: `env:X` from the environment, `$null` none.
    pub fn var(&self, ctx: &Ctx<'_>, name: &str) -> Option<String> {
        let lower = name.to_ascii_lowercase();
        if let Some(env) = lower.strip_prefix("env:") {
            return ctx.env.get(env).map(str::to_string);
        }
        match lower.as_str() {
            "null" => None,
            "true" => Some("True".into()),
            "false" => Some("False".into()),
            "pwd" => Some(ctx.cwd.clone()),
            "home" => ctx.env.get("USERPROFILE").map(str::to_string),
            _ => self.vars.get(&lower).cloned(),
        }
    }

    /// The value a token stands for as an argument.
    pub fn value(&self, ctx: &Ctx<'_>, tok: &Tok) -> Option<String> {
        match tok {
            Tok::Str(s) | Tok::Word(s) => Some(s.clone()),
            Tok::Var(v) => self.var(ctx, v),
            _ => None,
        }
    }

    /// `text` of a `"` string with `$env:X`, `$x` and `` `n `` expanded.
    pub fn expand(&self, ctx: &Ctx<'_>, text: &str) -> String {
        let chars: Vec<char> = text.chars().collect();
        let mut out = String::new();
        let mut i = 0;
        let mut no_brace_from = usize::MAX;
        while i < chars.len() {
            match chars[i] {
                '`' if i + 1 < chars.len() => {
                    i += 1;
                    out.push(match chars[i] {
                        'n' => '\n',
                        'r' => '\r',
                        't' => '\t',
                        '0' => '\0',
                        c => c,
                    });
                }
                '"' if chars.get(i + 1) == Some(&'"') => {
                    out.push('"');
                    i += 1;
                }
                '$' if chars.get(i + 1) == Some(&'{') && i < no_brace_from => {
                    // `${env:X}`: the name is everything up to the brace. Once
                    // no brace follows, none follows any later `${` either: no
                    // search twice over the same text.
                    match chars[i..].iter().position(|&c| c == '}') {
                        Some(len) => {
                            let name: String = chars[i + 2..i + len].iter().collect();
                            out.push_str(&self.var(ctx, &name).unwrap_or_default());
                            i += len;
                        }
                        None => {
                            no_brace_from = i;
                            out.push('$');
                        }
                    }
                }
                '$' if chars.get(i + 1).is_some_and(|c| c.is_alphanumeric() || *c == '_') => {
                    let mut j = i + 1;
                    while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_' || chars[j] == ':') {
                        j += 1;
                    }
                    let name: String = chars[i + 1..j].iter().collect();
                    out.push_str(&self.var(ctx, &name).unwrap_or_default());
                    i = j - 1;
                }
                c => out.push(c),
            }
            if out.len() > MAX_STRING {
                let mut cut = MAX_STRING;
                while !out.is_char_boundary(cut) {
                    cut -= 1;
                }
                out.truncate(cut);
                break;
            }
            i += 1;
        }
        out
    }

    /// The tokens of a statement.
    pub fn tokens(&self, ctx: &Ctx<'_>, text: &str) -> Vec<Tok> {
        let chars: Vec<char> = text.chars().collect();
        let mut toks = Vec::new();
        let mut i = 0;
        let word_end = |c: char| c.is_whitespace() || "|;=>".contains(c);
        while i < chars.len() {
            let c = chars[i];
            let rest: String = chars[i..].iter().take(3).collect();
            if c.is_whitespace() {
                i += 1;
            } else if is_single_quote(c) {
                let mut s = String::new();
                i += 1;
                while i < chars.len() {
                    if is_single_quote(chars[i]) {
                        if let Some(&next) = chars.get(i + 1).filter(|n| is_single_quote(**n)) {
                            s.push(next);
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    s.push(chars[i]);
                    i += 1;
                }
                toks.push(Tok::Str(s));
                i += 1;
            } else if c == '"' {
                let mut j = i + 1;
                while j < chars.len() && !(chars[j] == '"' && chars.get(j + 1) != Some(&'"')) {
                    j += if chars[j] == '`' || chars[j] == '"' { 2 } else { 1 };
                }
                let raw: String = chars[i + 1..j.min(chars.len())].iter().collect();
                toks.push(Tok::Str(self.expand(ctx, &raw)));
                i = j + 1;
            } else if c == '|' {
                toks.push(Tok::Pipe);
                i += 1;
            } else if c == '=' {
                toks.push(Tok::Assign);
                i += 1;
            } else if rest.starts_with("2>") || c == '>' {
                toks.push(Tok::Redirect(if c == '2' { 2 } else { 1 }));
                let arrows = if rest.starts_with("2>>") || rest.starts_with(">>") { 2 } else { 1 };
                i += arrows + usize::from(c == '2');
            } else {
                let mut j = i;
                while j < chars.len() && !word_end(chars[j]) {
                    j += 1;
                }
                // A `;` left inside a statement (in parentheses or braces,
                // which the subset does not understand) is a word of its own:
                // every branch must consume at least one character.
                if j == i {
                    j = i + 1;
                }
                let word: String = chars[i..j].iter().collect();
                let name_char = |c: char| c.is_alphanumeric() || c == '_' || c == ':';
                toks.push(match word.strip_prefix('$') {
                    Some(v) if !v.is_empty() && v.chars().all(name_char) => Tok::Var(v.to_string()),
                    // `$env:SystemRoot\System32\x.exe`: a variable and
                    // text after it, one argument, expanded as in `"`.
                    Some(v) if v.starts_with(|c: char| c.is_alphanumeric() || c == '_') => {
                        Tok::Str(self.expand(ctx, &word))
                    }
                    _ => Tok::Word(word),
                });
                i = j;
            }
        }
        toks
    }

    /// Records PowerShell's error for a command it does not know.
    pub fn not_found(&mut self, ctx: &Ctx<'_>, stmt: &Stmt, toks: &[Tok]) -> bool {
        let name = toks.first().and_then(|t| self.value(ctx, t)).unwrap_or_default();
        let column = stmt.at.source.find(&name).map(|c| c + 1).unwrap_or(stmt.at.column);
        let at = Position { column, len: name.chars().count(), ..stmt.at.clone() };
        let msg = format!(
            "{name} : The term '{name}' is not recognized as the name of a cmdlet, function, script file, or operable \
             program. Check the spelling of the name, or if a path was included, verify that the path is correct and \
             try again."
        );
        let cat = format!("ObjectNotFound: ({name}:String) [], CommandNotFoundException");
        self.errors.push(error_record(&msg, Some(&at), &cat, "CommandNotFoundException"));
        false
    }
}
