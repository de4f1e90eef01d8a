//! PowerShell's error stream made readable. A `powershell.exe` whose stderr
//! is not a console writes it as CLIXML (`#< CLIXML`, then `<Objs>` holding
//! `<S S="Error">` strings with `_xHHHH_` escapes); people want the text.

use super::xml::{self, Element};

const MARKER: &str = "#< CLIXML";
/// How a stream's one element ends.
const OBJS_END: &str = "</Objs>";

/// `text` made readable: each CLIXML stream in it (`#< CLIXML` then one
/// `<Objs>` element) becomes the text of its top-level strings
/// (`<S S="Error">`, warnings, verbose and the like; progress records are
/// dropped), `_xHHHH_` escapes decoded and `_x000D__x000A_` a line break.
/// Plain text around the streams (a script's own `[Console]::Error` lines
/// after PowerShell's progress stream, one stream per PowerShell process)
/// is kept as it is, in order. A stream that does not parse is kept as it
/// came; text without a stream is returned as is.
pub fn readable_stderr(text: &str) -> String {
    if !text.contains(MARKER) {
        return text.to_string();
    }
    let mut sections = text.split(MARKER);
    let before = sections.next().unwrap_or_default();
    let mut out = if before.trim().is_empty() { String::new() } else { before.to_string() };
    for section in sections {
        let body = section.trim_start();
        let Some(end) = body.find(OBJS_END).map(|at| at + OBJS_END.len()) else {
            out.push_str(MARKER);
            out.push_str(section);
            continue;
        };
        match xml::parse(&body.as_bytes()[..end]) {
            Ok(root) if root.name == "Objs" => strings(&root, &mut out),
            _ => {
                out.push_str(MARKER);
                out.push_str(&section[..section.len() - body.len() + end]);
            }
        }
        // What the process wrote to stderr itself, after PowerShell's block.
        out.push_str(body[end..].trim_start_matches(['\r', '\n']));
    }
    out
}

/// The decoded text of the `S` children of `objs`, in order.
fn strings(objs: &Element, out: &mut String) {
    for s in objs.children.iter().filter(|c| c.name == "S") {
        out.push_str(&decode(&s.text).replace("\r\n", "\n"));
    }
}

/// `_xHHHH_` escapes (UTF-16 code units, surrogate pairs included) decoded;
/// anything that only looks like one is kept.
fn decode(text: &str) -> String {
    let mut units: Vec<u16> = Vec::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut plain_start = 0;
    let mut out = String::with_capacity(text.len());
    let flush_units = |units: &mut Vec<u16>, out: &mut String| {
        out.extend(char::decode_utf16(units.drain(..)).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)));
    };
    while i < bytes.len() {
        if let Some(unit) = escape_at(bytes, i) {
            out.push_str(&text[plain_start..i]);
            units.push(unit);
            i += 7;
            plain_start = i;
            if escape_at(bytes, i).is_none() {
                flush_units(&mut units, &mut out);
            }
        } else {
            i += 1;
        }
    }
    flush_units(&mut units, &mut out);
    out.push_str(&text[plain_start..]);
    out
}

/// The code unit of an `_xHHHH_` escape starting at `at`.
fn escape_at(bytes: &[u8], at: usize) -> Option<u16> {
    let piece = bytes.get(at..at + 7)?;
    if piece[0] != b'_' || piece[1] != b'x' || piece[6] != b'_' {
        return None;
    }
    let hex = std::str::from_utf8(&piece[2..6]).ok()?;
    u16::from_str_radix(hex, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_error_stream_becomes_its_text() {
        // pywinrm's fixture for `Write-Error "Error"`.
        let clixml = concat!(
            "#< CLIXML\r\n",
            r#"<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">"#,
            r#"<S S="Error">Write-Error "Error" : Error_x000D__x000A_</S>"#,
            r#"<S S="Error">    + CategoryInfo          : NotSpecified: (:) [Write-Error], WriteErrorExcep _x000D__x000A_</S>"#,
            r#"<S S="Error">   tion_x000D__x000A_</S></Objs>"#,
        );
        assert_eq!(
            readable_stderr(clixml),
            "Write-Error \"Error\" : Error\n    + CategoryInfo          : NotSpecified: (:) [Write-Error], WriteErrorExcep \n   tion\n"
        );
    }

    #[test]
    fn progress_records_are_dropped_and_warnings_kept() {
        let clixml = concat!(
            "#< CLIXML\n",
            r#"<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">"#,
            r#"<Obj S="progress" RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject</T></TN>"#,
            r#"<MS><I64 N="SourceId">1</I64><PR N="Record"><AV>Preparing modules for first use.</AV></PR></MS></Obj>"#,
            r#"<S S="warning">careful &amp; slow_x000A_</S><S S="Error">no such file_x000D__x000A_</S></Objs>"#,
        );
        assert_eq!(readable_stderr(clixml), "careful & slow\nno such file\n");
    }

    #[test]
    fn escapes_decode_surrogates_and_leave_lookalikes() {
        assert_eq!(decode("a_xD83D__xDE00_b"), "a\u{1F600}b");
        assert_eq!(decode("_x005F_x0041_"), "_x0041_");
        assert_eq!(decode("_xZZZZ_ and _x41_"), "_xZZZZ_ and _x41_");
        assert_eq!(decode("é_x00E9_"), "éé");
    }

    #[test]
    fn anything_else_is_returned_as_is() {
        assert_eq!(
            readable_stderr("The system cannot find the path specified.\r\n"),
            "The system cannot find the path specified.\r\n"
        );
        assert_eq!(readable_stderr("#< CLIXML\n<Objs><S>unclosed"), "#< CLIXML\n<Objs><S>unclosed");
    }

    #[test]
    fn a_progress_block_then_plain_text_gives_the_plain_text() {
        let stderr = concat!(
            "#< CLIXML\r\n",
            r#"<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">"#,
            r#"<Obj S="progress" RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject</T></TN>"#,
            r#"<MS><I64 N="SourceId">1</I64><PR N="Record"><AV>Preparing modules for first use.</AV></PR></MS></Obj></Objs>"#,
            "C:\\x does not exist\r\n",
        );
        assert_eq!(readable_stderr(stderr), "C:\\x does not exist\r\n");
        let mixed = format!(
            "first\n#< CLIXML\n{}second\n",
            r#"<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"><S S="Error">boom_x000A_</S></Objs>"#
        );
        let text = readable_stderr(&mixed);
        assert_eq!(text, "first\nboom\nsecond\n");
        assert!(!text.contains('<'), "{text}");
    }

    #[test]
    fn two_streams_in_a_row_are_both_decoded() {
        let one = r#"<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"><S S="Error">one_x000D__x000A_</S></Objs>"#;
        let two = r#"<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"><S S="Error">two_x000D__x000A_</S></Objs>"#;
        assert_eq!(readable_stderr(&format!("#< CLIXML\r\n{one}#< CLIXML\r\n{two}")), "one\ntwo\n");
    }
}
