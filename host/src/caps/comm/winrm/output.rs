//! A command's output as lines: stdout and stderr arrive in pieces over
//! Receives, each is split into lines on its own (CRLF or LF; a partial
//! last line handed over at the end), and stderr that is a PowerShell
//! CLIXML stream (`#< CLIXML` then XML) is kept whole and made readable
//! before its lines go, since its XML means nothing line by line.

use super::protocol::readable_stderr;
use super::records::Lines;

/// How a CLIXML stream on stderr starts.
const CLIXML: &[u8] = b"#< CLIXML";

/// The lines of one command's stdout and stderr.
#[derive(Default)]
pub struct Output {
    stdout: Lines,
    stderr: Stderr,
}

/// What stderr turned out to be, once its first bytes came.
enum Stderr {
    /// Fewer bytes than `#< CLIXML` so far, all of them a prefix of it.
    Undecided(Vec<u8>),
    /// Plain text, split as it comes.
    Plain(Lines),
    /// CLIXML (from the start or from a line on), kept until the end, at
    /// most [`MAX_CLIXML`] bytes; `true` once some was cut.
    Clixml(Vec<u8>, bool),
}

/// The most CLIXML stderr kept for the end: a runaway stream must not
/// fill memory.
const MAX_CLIXML: usize = 1 << 20;

/// `piece` added to a CLIXML buffer, up to [`MAX_CLIXML`].
fn keep(all: &mut Vec<u8>, cut: &mut bool, piece: &[u8]) {
    let room = MAX_CLIXML.saturating_sub(all.len());
    if piece.len() > room {
        *cut = true;
    }
    all.extend_from_slice(&piece[..piece.len().min(room)]);
}

impl Default for Stderr {
    fn default() -> Self {
        Stderr::Undecided(Vec::new())
    }
}

impl Output {
    /// Hands each line that `piece` of stdout completes to `on_line`.
    pub fn stdout(&mut self, piece: &[u8], on_line: &dyn Fn(&str)) {
        emit(&mut self.stdout, piece, on_line);
    }

    /// Hands each line that `piece` of stderr completes to `on_line`
    /// (none while it is CLIXML: those come at [`Output::finish`]).
    pub fn stderr(&mut self, piece: &[u8], on_line: &dyn Fn(&str)) {
        match &mut self.stderr {
            Stderr::Clixml(all, cut) => keep(all, cut, piece),
            Stderr::Plain(lines) => {
                // A PowerShell run by the command may start a CLIXML
                // stream after plain lines: keep it from its marker on.
                let mut complete = lines.push(piece).into_iter();
                while let Some(line) = complete.next() {
                    if line.starts_with(CLIXML) {
                        let mut all = Vec::new();
                        for line in std::iter::once(line).chain(complete) {
                            all.extend_from_slice(&line);
                            all.push(b'\n');
                        }
                        if let Some(rest) = lines.rest() {
                            all.extend_from_slice(&rest);
                        }
                        let mut cut = false;
                        let mut kept = Vec::new();
                        keep(&mut kept, &mut cut, &all);
                        self.stderr = Stderr::Clixml(kept, cut);
                        return;
                    }
                    on_line(&String::from_utf8_lossy(&line));
                }
                if lines.too_long() {
                    flush(lines, on_line);
                }
            }
            Stderr::Undecided(start) => {
                start.extend_from_slice(piece);
                let start = std::mem::take(start);
                let n = start.len().min(CLIXML.len());
                if start[..n] != CLIXML[..n] {
                    self.stderr = Stderr::Plain(Lines::default());
                    self.stderr(&start, on_line);
                } else if n == CLIXML.len() {
                    let (mut all, mut cut) = (Vec::new(), false);
                    keep(&mut all, &mut cut, &start);
                    self.stderr = Stderr::Clixml(all, cut);
                } else {
                    self.stderr = Stderr::Undecided(start);
                }
            }
        }
    }

    /// The output ended: hands over the partial last lines and a CLIXML
    /// stream's readable text.
    pub fn finish(&mut self, on_line: &dyn Fn(&str)) {
        flush(&mut self.stdout, on_line);
        match std::mem::take(&mut self.stderr) {
            Stderr::Plain(mut lines) => flush(&mut lines, on_line),
            Stderr::Undecided(start) => {
                let mut lines = Lines::default();
                emit(&mut lines, &start, on_line);
                flush(&mut lines, on_line);
            }
            Stderr::Clixml(all, cut) => {
                let text = readable_stderr(&String::from_utf8_lossy(&all));
                let mut lines = Lines::default();
                emit(&mut lines, text.as_bytes(), on_line);
                flush(&mut lines, on_line);
                if cut {
                    on_line(&format!("(stderr was cut: only its first {} MiB were kept)", MAX_CLIXML >> 20));
                }
            }
        }
    }
}

/// Splits `piece` into `lines`' complete lines for `on_line`; a line that
/// never ends is handed over once it is too long to hold.
fn emit(lines: &mut Lines, piece: &[u8], on_line: &dyn Fn(&str)) {
    for line in lines.push(piece) {
        on_line(&String::from_utf8_lossy(&line));
    }
    if lines.too_long() {
        flush(lines, on_line);
    }
}

fn flush(lines: &mut Lines, on_line: &dyn Fn(&str)) {
    if let Some(line) = lines.rest() {
        on_line(&String::from_utf8_lossy(&line));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Feeds `(stream, piece)` pairs (`true`: stderr) and answers the lines.
    fn run(pieces: &[(bool, &[u8])]) -> Vec<String> {
        let got = Mutex::new(Vec::new());
        let on_line = |line: &str| got.lock().unwrap().push(line.to_string());
        let mut output = Output::default();
        for (stderr, piece) in pieces {
            if *stderr {
                output.stderr(piece, &on_line);
            } else {
                output.stdout(piece, &on_line);
            }
        }
        output.finish(&on_line);
        got.into_inner().unwrap()
    }

    #[test]
    fn lines_split_on_crlf_and_lf_across_pieces() {
        let lines = run(&[(false, b"one\r\ntw"), (false, b"o\nthr"), (false, b"ee")]);
        assert_eq!(lines, ["one", "two", "three"]);
    }

    #[test]
    fn stdout_and_stderr_keep_their_own_partial_lines() {
        let lines = run(&[(false, b"out "), (true, b"err\r\n"), (false, b"line\r\n"), (true, b"last")]);
        assert_eq!(lines, ["err", "out line", "last"]);
    }

    #[test]
    fn plain_stderr_that_starts_like_clixml_still_streams() {
        let lines = run(&[(true, b"#<"), (true, b" not xml\n")]);
        assert_eq!(lines, ["#< not xml"]);
        assert_eq!(run(&[(true, b"#")]), ["#"]);
    }

    #[test]
    fn plain_lines_then_clixml_then_plain_text_is_all_readable() {
        let xml = br#"<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"><S S="Error">boom_x000D__x000A_</S></Objs>"#;
        let lines = run(&[(true, b"plain first\r\n#< CLIXML\r\n"), (true, xml), (true, b"own text\r\n")]);
        assert_eq!(lines, ["plain first", "boom", "own text"]);
    }

    #[test]
    fn progress_then_console_error_text_is_the_text() {
        let stderr = concat!(
            "#< CLIXML\r\n",
            r#"<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">"#,
            r#"<Obj S="progress" RefId="0"><MS><PR N="Record"><AV>Preparing modules for first use.</AV></PR></MS></Obj></Objs>"#,
            "C:\\x does not exist\r\n",
        );
        assert_eq!(run(&[(true, stderr.as_bytes())]), ["C:\\x does not exist"]);
    }

    #[test]
    fn a_huge_clixml_stream_is_cut_and_says_so() {
        let mut big = b"#< CLIXML\n<Objs>".to_vec();
        big.extend(std::iter::repeat_n(b'x', MAX_CLIXML + 10));
        let lines = run(&[(true, &big)]);
        assert!(lines.last().unwrap().contains("stderr was cut"), "{:?}", lines.last());
    }

    #[test]
    fn clixml_stderr_comes_readable_at_the_end() {
        let xml = br#"#< CLIXML
<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"><S S="Error">boom_x000D__x000A_</S><S S="Error">second line_x000D__x000A_</S></Objs>"#;
        let (first, rest) = xml.split_at(5);
        let lines = run(&[(true, first), (false, b"before\n"), (true, rest)]);
        assert_eq!(lines[0], "before");
        assert!(lines.iter().any(|l| l.contains("boom")), "{lines:?}");
        assert!(lines.iter().all(|l| !l.contains("<S ")), "{lines:?}");
    }
}
