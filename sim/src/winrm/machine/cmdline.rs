//! How cmd.exe cuts a command line: into commands at `&`, `&&` and `||`,
//! each into its redirections, its command word and its arguments.

/// The operator before a command of a chain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Op {
    /// `&` (or the first command).
    Always,
    /// `&&`.
    And,
    /// `||`.
    Or,
}

/// The commands of a line with the operator before each, `^` escapes
/// resolved outside quotes (inside them `^` and `&` are plain text; so is
/// the `&` of a redirection, `2>&1`).
pub(crate) fn split_chain(line: &str) -> Vec<(Op, String)> {
    let mut parts = Vec::new();
    let mut op = Op::Always;
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            '^' if !quoted => cur.extend(chars.next()),
            // `2>&1`: a redirection to a handle, not a new command.
            '&' if !quoted && cur.ends_with(['>', '<']) => cur.push(c),
            '&' if !quoted => {
                let next = if chars.peek() == Some(&'&') {
                    chars.next();
                    Op::And
                } else {
                    Op::Always
                };
                parts.push((op, std::mem::take(&mut cur)));
                op = next;
            }
            '|' if !quoted && chars.peek() == Some(&'|') => {
                chars.next();
                parts.push((op, std::mem::take(&mut cur)));
                op = Op::Or;
            }
            c => cur.push(c),
        }
    }
    parts.push((op, cur));
    parts
}

/// Where a redirected handle goes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Target {
    /// A file, appended to (`>>`) or made anew (`>`).
    File { path: String, append: bool },
    /// `nul`: nowhere.
    Nul,
    /// `&1` or `&2`: where that handle goes.
    Handle(u8),
}

/// `text` without its redirections, and the redirections of handles 1 and 2.
/// The text around a redirection is kept as it is, spaces included: that is
/// why `echo abc >> f` writes `abc \r\n` (winrmcp's chunk lines end so).
pub(crate) fn take_redirections(text: &str) -> (String, Vec<(u8, Target)>) {
    let bytes = text.as_bytes();
    let mut kept = String::new();
    let mut redirs = Vec::new();
    let mut quoted = false;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'"' {
            quoted = !quoted;
        }
        let handle_digit = !quoted
            && (c == b'1' || c == b'2')
            && bytes.get(i + 1) == Some(&b'>')
            && (i == 0 || bytes[i - 1].is_ascii_whitespace());
        if quoted || !(c == b'>' || handle_digit) {
            let ch = text[i..].chars().next().unwrap_or(' ');
            kept.push(ch);
            i += ch.len_utf8();
            continue;
        }
        let handle = if handle_digit {
            i += 1;
            c - b'0'
        } else {
            1
        };
        i += 1; // the first '>'
        let append = bytes.get(i) == Some(&b'>');
        if append {
            i += 1;
        }
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let target = if bytes.get(i) == Some(&b'&') && matches!(bytes.get(i + 1), Some(b'1' | b'2')) {
            i += 2;
            Target::Handle(bytes[i - 1] - b'0')
        } else {
            let start = i;
            let mut q = false;
            while i < bytes.len() && (q || !(bytes[i].is_ascii_whitespace() || bytes[i] == b'>' || bytes[i] == b'<')) {
                if bytes[i] == b'"' {
                    q = !q;
                }
                i += 1;
            }
            let name = text[start..i].trim_matches('"');
            if name.eq_ignore_ascii_case("nul") { Target::Nul } else { Target::File { path: name.to_string(), append } }
        };
        redirs.push((handle, target));
    }
    (kept, redirs)
}

/// The command word (lower-cased) and the text after it, as cmd splits them:
/// `echo.` and `echo(` are `echo` too.
pub(crate) fn split_word(text: &str) -> (String, &str) {
    let text = text.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '@');
    if let Some(inner) = text.strip_prefix('"') {
        let close = inner.find('"').unwrap_or(inner.len());
        let after = (close + 1).min(inner.len());
        return (inner[..close].to_lowercase(), &inner[after..]);
    }
    let end = text.find(|c: char| c.is_ascii_whitespace() || c == '.' || c == '(' || c == ',' || c == ';');
    let end = match end {
        // `powershell.exe` and `C:\...\x.exe` are words, `echo.` is echo.
        Some(e) if text[e..].starts_with('.') && !text[..e].eq_ignore_ascii_case("echo") => {
            text.find(|c: char| c.is_ascii_whitespace()).unwrap_or(text.len())
        }
        Some(e) => e,
        None => text.len(),
    };
    (text[..end].to_lowercase(), &text[end..])
}

/// Whitespace-separated arguments, `"` grouping (and dropped).
pub(crate) fn args(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_ascii_whitespace() && !quoted => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            c => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirections_keep_the_spaces_around_them() {
        let (kept, r) = take_redirections("echo abc >> \"C:\\a b\\f.tmp\"");
        assert_eq!(kept, "echo abc ");
        assert_eq!(r, vec![(1, Target::File { path: "C:\\a b\\f.tmp".into(), append: true })]);
        let (kept, r) = take_redirections("echo x>f 2>&1 2>nul");
        assert_eq!(kept, "echo x  ");
        assert_eq!(r.len(), 3);
        assert_eq!(take_redirections("echo \"a > b\"").1, vec![]);
    }

    #[test]
    fn chains_split_outside_quotes() {
        assert_eq!(split_chain("a > f 2>&1 & b").len(), 2);
        let parts = split_chain("a & b && \"c & d\" || e ^& f");
        let ops: Vec<Op> = parts.iter().map(|p| p.0).collect();
        assert_eq!(ops, vec![Op::Always, Op::Always, Op::And, Op::Or]);
        assert_eq!(parts[2].1, " \"c & d\" ");
        assert_eq!(parts[3].1, " e & f");
        assert_eq!(split_word("echo.hi").0, "echo");
        assert_eq!(split_word("powershell.exe -c x").0, "powershell.exe");
    }
}
