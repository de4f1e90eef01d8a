//! The control statements of the PowerShell subset: `if (...) {...}` with
//! `elseif`/`else`, `& { ... }` (a script block: `exit` in it ends the
//! process), `& 'file.ps1'` and `. file.ps1` (a script file: its `exit N`
//! ends it alone and sets `$LASTEXITCODE`). That is what Packer 1.6.6's
//! powershell provisioner runs:
//! `powershell -executionpolicy bypass "& { if (Test-Path variable:global:ProgressPreference){set-variable ...};. <env vars file>; &'<script>'; exit $LastExitCode }"`,
//! and its cleanup script's `if (Test-Path X) {Remove-Item X}` lines.

use super::clixml::error_record;
use super::cmdlets::{self, decode_text};
use super::pslang::{Halt, Interp, MAX_DEPTH, Stmt, Tok, is_single_quote, statements};
use super::{Ctx, output_full_message};

/// `text` starting with `open`: what is inside up to the matching `close`
/// (quotes respected) and what follows it.
fn balanced(text: &str, open: char, close: char) -> Option<(&str, &str)> {
    let text = text.trim_start();
    if !text.starts_with(open) {
        return None;
    }
    let (mut depth, mut quote) = (0, None::<char>);
    for (i, c) in text.char_indices() {
        match quote {
            Some(q) if c == q || (q == '\'' && is_single_quote(c)) => quote = None,
            Some(_) => {}
            None if c == '"' => quote = Some(c),
            None if is_single_quote(c) => quote = Some('\''),
            None if c == open => depth += 1,
            None if c == close => {
                depth -= 1;
                if depth == 0 {
                    return Some((&text[1..i], &text[i + 1..]));
                }
            }
            None => {}
        }
    }
    None
}

/// Whether `text` starts with the keyword `word` (any case) as a whole word.
fn keyword<'a>(text: &'a str, word: &str) -> Option<&'a str> {
    let head = text.get(..word.len())?;
    let rest = &text[word.len()..];
    (head.eq_ignore_ascii_case(word) && !rest.starts_with(|c: char| c.is_alphanumeric() || c == '-')).then_some(rest)
}

impl Interp {
    /// Runs the statements of `text`: whether the last succeeded, or why the
    /// script stops. Fails with [`Halt::CallDepthOverflow`] (recording
    /// PowerShell's error) when blocks already nest [`MAX_DEPTH`] deep.
    pub fn block(&mut self, ctx: &mut Ctx<'_>, text: &str) -> Result<bool, Halt> {
        if self.depth >= MAX_DEPTH {
            self.errors.push(error_record(
                "The script failed due to call depth overflow.",
                None,
                "InvalidOperation: (0:Int32) [], ParentContainsErrorRecordException",
                "CallDepthOverflow",
            ));
            return Err(Halt::CallDepthOverflow);
        }
        self.depth += 1;
        let mut ran = Ok(true);
        for stmt in statements(text) {
            if ctx.output_full() {
                let msg = output_full_message(ctx.max_output);
                self.errors.push(error_record(&msg, None, "LimitsExceeded: (:) [], OutputFull", "OutputFull"));
                ran = Err(Halt::OutputFull);
                break;
            }
            ran = self.statement(ctx, &stmt);
            if ran.is_err() {
                break;
            }
        }
        self.depth -= 1;
        ran
    }

    /// Runs `stmt` if it is a control statement; `None` when it is not.
    pub fn control(&mut self, ctx: &mut Ctx<'_>, stmt: &Stmt) -> Option<Result<bool, Halt>> {
        let text = stmt.text.trim();
        if let Some(rest) = keyword(text, "if") {
            return Some(self.if_chain(ctx, rest));
        }
        if let Some(rest) = text.strip_prefix('&') {
            if let Some((inner, _)) = balanced(rest, '{', '}') {
                return Some(self.block(ctx, inner));
            }
            return Some(self.file(ctx, stmt, rest));
        }
        if let Some(rest) = text.strip_prefix('.')
            && rest.starts_with([' ', '\'', '"', '\t'])
        {
            return Some(self.file(ctx, stmt, rest));
        }
        None
    }

    /// `(cond) {body}` then any `elseif (cond) {body}` and `else {body}`.
    fn if_chain(&mut self, ctx: &mut Ctx<'_>, mut rest: &str) -> Result<bool, Halt> {
        let mut chosen = None;
        while let Some((cond, after)) = balanced(rest, '(', ')') {
            let Some((body, after)) = balanced(after, '{', '}') else { break };
            if chosen.is_none() && self.condition(ctx, cond)? {
                chosen = Some(body);
            }
            let after = after.trim_start();
            if let Some(r) = keyword(after, "elseif") {
                rest = r;
                continue;
            }
            if let Some((body, _)) = keyword(after, "else").and_then(|r| balanced(r, '{', '}')) {
                chosen = chosen.or(Some(body));
            }
            break;
        }
        match chosen {
            Some(body) => self.block(ctx, body),
            None => Ok(true),
        }
    }

    /// A condition's truth: what it writes out, as PowerShell converts it.
    fn condition(&mut self, ctx: &mut Ctx<'_>, cond: &str) -> Result<bool, Halt> {
        let saved = std::mem::take(&mut ctx.out.stdout);
        ctx.held += saved.len();
        let ran = self.block(ctx, cond);
        ctx.held -= saved.len();
        let made = std::mem::replace(&mut ctx.out.stdout, saved);
        ran?;
        let text = String::from_utf8_lossy(&made);
        let value = text.trim();
        Ok(!(value.is_empty() || value.eq_ignore_ascii_case("false") || value == "0"))
    }

    /// Runs the script file named first in `rest` (its `exit N` sets
    /// `$LASTEXITCODE` and ends it alone; a call-depth overflow ends all),
    /// or the machine's program named so (`& $env:SystemRoot\System32\Sysprep\Sysprep.exe /oobe`).
    fn file(&mut self, ctx: &mut Ctx<'_>, stmt: &Stmt, rest: &str) -> Result<bool, Halt> {
        let toks = self.tokens(ctx, rest);
        let Some(name) = toks.first().and_then(|t| self.value(ctx, t)) else { return Ok(true) };
        if !name.to_ascii_lowercase().ends_with(".ps1")
            && let Some(ok) = cmdlets::native(self, ctx, &name, &toks[1..])
        {
            return Ok(ok);
        }
        let path = ctx.resolve(&name);
        let Some(text) = ctx.fs.read(&path).map(decode_text) else {
            return Ok(self.not_found(ctx, stmt, &[Tok::Word(name)]));
        };
        match self.block(ctx, &text) {
            Err(Halt::Exit(code)) => {
                self.vars.insert("lastexitcode".into(), code.to_string());
                Ok(code == 0)
            }
            other => other,
        }
    }
}
