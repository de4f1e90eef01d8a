//! Test attributes this binary would drop without a word. Under
//! `harness = false` rustc compiles no `#[test]` function (nor
//! `#[tokio::test]`, `#[test_case]`, `#[rstest]`, which expand to one), so
//! such a test would pass by never running. The harness refuses to run
//! while a test source has one.
//!
//! A line scanner with just enough of Rust's lexer to not be fooled: it
//! skips comments, string and character literals (raw ones included), so a
//! test about this scanner may hold such lines in a raw string.

use std::path::{Path, PathBuf};

/// Why the sources could not be checked, or where they hold attributes
/// the harness would drop.
#[derive(Debug)]
pub enum Error {
    /// The source tree the binary was built from is gone (the binary was
    /// moved or the tree deleted): nothing can be checked.
    NoSources(PathBuf),
    /// A source file or directory could not be read.
    Unreadable(PathBuf, std::io::Error),
    /// Test attributes, as `file:line`.
    Found(Vec<String>),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::NoSources(root) => write!(
                f,
                "error: cannot check the tests' sources for #[test] attributes, which this binary \
                 (harness = false) would silently not run: {} is gone (was the binary moved from the tree it \
                 was built from?). Run it through `cargo test --test all` in the source tree, or set {}=1 to \
                 run without the check",
                root.display(),
                SKIP_CHECK
            ),
            Error::Unreadable(path, e) => {
                write!(f, "error: cannot read {} to check it for #[test]: {e}", path.display())
            }
            Error::Found(places) => write!(
                f,
                "error: test attributes do nothing in this test binary (harness = false), so these tests would \
                 never run:\n{}\nregister each function in its module's `crate::support::tests!` list instead",
                places.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n")
            ),
        }
    }
}

/// Set to `1` to run without checking the sources: for a binary moved
/// away from them, whose sources were checked where it was built.
pub const SKIP_CHECK: &str = "KILN_TEST_SKIP_SOURCE_CHECK";

/// Checks every `.rs` file under `root`, recursively.
///
/// Fails when `root` is gone, a file cannot be read, or a file holds a
/// test attribute (then naming each `file:line`, relative to `root`).
pub fn check(root: &Path) -> Result<(), Error> {
    if !root.is_dir() {
        return Err(Error::NoSources(root.to_path_buf()));
    }
    let mut found = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| Error::Unreadable(dir.clone(), e))?;
        for entry in entries {
            let path = entry.map_err(|e| Error::Unreadable(dir.clone(), e))?.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).map_err(|e| Error::Unreadable(path.clone(), e))?;
                let shown = path.strip_prefix(root).unwrap_or(&path).display().to_string();
                found.extend(test_attribute_lines(&text).into_iter().map(|line| format!("{shown}:{line}")));
            }
        }
    }
    found.sort();
    if found.is_empty() { Ok(()) } else { Err(Error::Found(found)) }
}

/// The 1-based numbers of the lines of `source` that start, outside any
/// comment or literal, with a test attribute: `#[test]`, `#[tokio::test]`
/// (any path ending in `test`), `#[test_case(..)]`, `#[rstest]`, or a
/// `#[cfg_attr(.., test)]` applying one.
pub fn test_attribute_lines(source: &str) -> Vec<usize> {
    let code = code_only(source);
    code.lines()
        .enumerate()
        .filter(|(_, line)| is_test_attribute(line.trim_start()))
        .map(|(index, _)| index + 1)
        .collect()
}

/// Whether `line` opens with a test attribute.
fn is_test_attribute(line: &str) -> bool {
    let Some(inner) = line.strip_prefix("#[").or_else(|| line.strip_prefix("#![")) else {
        return false;
    };
    let (path, rest) = split_path(inner.trim_start());
    if path == "cfg_attr" {
        // `cfg_attr(condition, attr, attr..)`: any attribute after the
        // condition counts.
        let Some(args) = rest.trim_start().strip_prefix('(') else { return false };
        return top_level_items(args).skip(1).any(|attr| is_test_path(&split_path(attr.trim()).0));
    }
    is_test_path(&path)
}

/// A path such as `tokio::test` that names a test attribute.
fn is_test_path(path: &str) -> bool {
    let last = path.rsplit("::").next().unwrap_or("");
    matches!(last, "test" | "test_case" | "rstest")
}

/// Splits a leading path (`a::b::c`, spaces around `::` allowed) off `text`.
fn split_path(text: &str) -> (String, &str) {
    let mut path = String::new();
    let mut rest = text;
    loop {
        let word_end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
        if word_end == 0 {
            return (path, rest);
        }
        path.push_str(&rest[..word_end]);
        let after = rest[word_end..].trim_start();
        match after.strip_prefix("::") {
            Some(next) => {
                path.push_str("::");
                rest = next.trim_start();
            }
            None => return (path, &rest[word_end..]),
        }
    }
}

/// The comma-separated items of `text` up to its closing `)`, at the top
/// level of brackets.
fn top_level_items(text: &str) -> impl Iterator<Item = &str> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' if depth == 0 => {
                items.push(&text[start..i]);
                return items.into_iter();
            }
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&text[start..]);
    items.into_iter()
}

/// `source` with every comment and literal blanked out to spaces, line
/// breaks kept, so line numbers stay and nothing inside them looks like
/// code.
fn code_only(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let blank = |out: &mut String, c: char| out.push(if c == '\n' { '\n' } else { ' ' });
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let prev_is_word = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                blank(&mut out, chars[i]);
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
            }
        } else if let Some(hashes) = raw_string_start(&chars, i, prev_is_word) {
            // r"..", r#".."#, br"..", cr".."; no escapes inside.
            let open = chars[i..].iter().position(|&c| c == '"').unwrap() + 1;
            for &c in &chars[i..i + open] {
                blank(&mut out, c);
            }
            i += open;
            while i < chars.len() {
                if chars[i] == '"' && chars[i + 1..].iter().take(hashes).filter(|&&c| c == '#').count() == hashes {
                    for _ in 0..=hashes {
                        out.push(' ');
                    }
                    i += 1 + hashes;
                    break;
                }
                blank(&mut out, chars[i]);
                i += 1;
            }
        } else if c == '"' {
            blank(&mut out, c);
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
                if i < chars.len() {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
            }
            if i < chars.len() {
                out.push(' ');
                i += 1;
            }
        } else if c == '\'' && (next == Some('\\') || chars.get(i + 2) == Some(&'\'')) {
            // A character literal ('"', '\''); a lifetime ('a) has no
            // closing quote two characters on and stays code.
            let close = if next == Some('\\') {
                chars[i + 3..].iter().position(|&c| c == '\'').map_or(chars.len(), |p| i + 3 + p)
            } else {
                i + 2
            };
            for &c in &chars[i..=close.min(chars.len() - 1)] {
                blank(&mut out, c);
            }
            i = close + 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// When a raw string literal starts at `i` (`r`, `br` or `cr`, then
/// `#`s, then `"`), how many `#`s close it.
fn raw_string_start(chars: &[char], i: usize, prev_is_word: bool) -> Option<usize> {
    if prev_is_word {
        return None;
    }
    let mut j = i;
    if matches!(chars.get(j), Some('b' | 'c')) {
        j += 1;
    }
    if chars.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    let hashes = chars[j..].iter().take_while(|&&c| c == '#').count();
    (chars.get(j + hashes) == Some(&'"')).then_some(hashes)
}
