//! PowerShell's error records as its error view shows them, and the CLIXML
//! error stream a non-interactive powershell.exe writes them in.
//!
//! A leaf: everything that runs PowerShell (`pscript`, `cmdlets`, `packer`,
//! `psflow`) makes its errors here, so none of them depends on another just
//! to report a failure.

/// The width PowerShell's host wraps error lines at when its output is not a
/// console (what WinRM gives it).
const WRAP: usize = 120;

/// `line` cut into pieces of at most `WRAP` characters at spaces, each space
/// kept at the end of its piece, as PowerShell's error view wraps.
fn wrap(line: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut cur = String::new();
    for word in line.split_inclusive(' ') {
        if !cur.is_empty() && cur.chars().count() + word.trim_end().chars().count() > WRAP {
            pieces.push(std::mem::take(&mut cur));
        }
        cur.push_str(word);
    }
    pieces.push(cur);
    pieces
}

/// Where in the script an error happened, for its `At line:` lines.
#[derive(Debug, Clone)]
pub(crate) struct Position {
    /// 1-based line of the script.
    pub line: usize,
    /// 1-based column where the failing part starts.
    pub column: usize,
    /// The text of that line.
    pub source: String,
    /// How many characters to underline.
    pub len: usize,
}

/// One error record as the error view shows it, line by line.
pub(crate) fn error_record(message: &str, at: Option<&Position>, category: &str, fqid: &str) -> Vec<String> {
    let mut lines = wrap(message);
    if let Some(at) = at {
        lines.push(format!("At line:{} char:{}", at.line, at.column));
        lines.push(format!("+ {}", at.source));
        lines.push(format!("+ {}{}", " ".repeat(at.column - 1), "~".repeat(at.len.max(1))));
    }
    lines.push(format!("    + CategoryInfo          : {category}"));
    lines.push(format!("    + FullyQualifiedErrorId : {fqid}"));
    lines.push(" ".to_string());
    lines
}

fn xml_escape(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c if (c as u32) < 0x20 => out.push_str(&format!("_x{:04X}_", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// The error stream of a non-interactive powershell.exe (stderr is a pipe):
/// `#< CLIXML`, then one `<Objs>` holding an `<S S="Error">` per line of
/// each record, each line ending in an escaped CRLF. pywinrm's
/// `_clean_error_msg` reads exactly this: it takes the `S` nodes and turns
/// `_x000D__x000A_` into a newline. Empty when there are no records.
pub(crate) fn clixml(records: &[Vec<String>]) -> Vec<u8> {
    if records.is_empty() {
        return Vec::new();
    }
    let mut out = String::from(
        "#< CLIXML\r\n<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\">",
    );
    for line in records.iter().flatten() {
        out.push_str("<S S=\"Error\">");
        out.push_str(&xml_escape(line));
        out.push_str("_x000D__x000A_</S>");
    }
    out.push_str("</Objs>");
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_spaces_keeping_them() {
        let msg = "foo : The term 'foo' is not recognized as the name of a cmdlet, function, script file, or operable \
                   program. Check the spelling of the name, or if a path was included, verify that the path is \
                   correct and try again.";
        let lines = wrap(msg);
        assert!(lines.iter().all(|l| l.chars().count() <= WRAP + 1), "{lines:?}");
        assert_eq!(lines.concat(), msg);
        assert!(lines[0].ends_with(' '));
    }

    #[test]
    fn clixml_has_one_s_node_per_line() {
        let rec =
            error_record("Write-Error 'a<b' : a<b", None, "NotSpecified: (:) [Write-Error], WriteErrorException", "X");
        let xml = String::from_utf8(clixml(&[rec])).unwrap();
        assert!(xml.starts_with("#< CLIXML\r\n<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\"><S S=\"Error\">Write-Error 'a&lt;b' : a&lt;b_x000D__x000A_</S>"));
        assert!(xml.ends_with("<S S=\"Error\"> _x000D__x000A_</S></Objs>"));
    }
}
