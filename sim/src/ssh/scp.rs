//! The receiving side of the SCP protocol (`scp -t`), enough for clients
//! that upload files and directories (libssh2, OpenSSH's `scp -O`).

/// An `scp -t TARGET` session: bytes in, acknowledgements out, files
/// collected.
pub struct Sink {
    target: String,
    recursive: bool,
    dirs: Vec<String>,
    buffer: Vec<u8>,
    body: Option<(String, usize)>,
    /// Complete files, by path.
    pub files: Vec<(String, Vec<u8>)>,
}

/// The `scp` command line, parsed.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// `scp -t [-r] [-d] PATH`: receive into PATH.
    To { path: String, recursive: bool },
    /// `scp -f PATH`: send PATH.
    From { path: String },
}

/// Parses an `scp` command line, if it is one.
pub fn parse_command(line: &str) -> Option<Command> {
    let words = shell_words(line);
    if words.first().map(String::as_str) != Some("scp") {
        return None;
    }
    let (mut to, mut from, mut recursive, mut path) = (false, false, false, None);
    for word in &words[1..] {
        if let Some(flags) = word.strip_prefix('-') {
            to |= flags.contains('t');
            from |= flags.contains('f');
            recursive |= flags.contains('r');
        } else {
            path = Some(word.clone());
        }
    }
    let path = path?;
    match (to, from) {
        (true, false) => Some(Command::To { path, recursive }),
        (false, true) => Some(Command::From { path }),
        _ => None,
    }
}

/// Splits a command line as a POSIX shell would for plain words and
/// single or double quotes (enough for what SCP clients send).
pub fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut started = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                started = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    current.push(q);
                }
            }
            '"' => {
                started = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => current.extend(chars.next()),
                        q => current.push(q),
                    }
                }
            }
            '\\' => {
                started = true;
                current.extend(chars.next());
            }
            c if c.is_whitespace() => {
                if started {
                    words.push(std::mem::take(&mut current));
                    started = false;
                }
            }
            c => {
                started = true;
                current.push(c);
            }
        }
    }
    if started {
        words.push(current);
    }
    words
}

impl Sink {
    /// A sink writing to `target`.
    pub fn new(target: &str, recursive: bool) -> Self {
        Sink {
            target: target.to_string(),
            recursive,
            dirs: Vec::new(),
            buffer: Vec::new(),
            body: None,
            files: Vec::new(),
        }
    }

    /// The first acknowledgement, sent as soon as the command starts.
    pub const READY: &'static [u8] = &[0];

    /// Takes bytes from the client; returns what to answer.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<u8>, String> {
        self.buffer.extend_from_slice(bytes);
        let mut reply = Vec::new();
        loop {
            if let Some((path, size)) = self.body.clone() {
                // The file's bytes, then one zero byte.
                if self.buffer.len() < size + 1 {
                    return Ok(reply);
                }
                let data: Vec<u8> = self.buffer.drain(..size).collect();
                self.buffer.remove(0);
                self.files.push((path, data));
                self.body = None;
                reply.push(0);
                continue;
            }
            let Some(end) = self.buffer.iter().position(|b| *b == b'\n') else { return Ok(reply) };
            let line: Vec<u8> = self.buffer.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
            match line.chars().next() {
                Some('C') => {
                    let mut parts = line[1..].splitn(3, ' ');
                    let (_mode, size, name) = (parts.next(), parts.next(), parts.next());
                    let size: usize =
                        size.and_then(|s| s.parse().ok()).ok_or_else(|| format!("bad SCP header {line:?}"))?;
                    let name = name.ok_or_else(|| format!("bad SCP header {line:?}"))?;
                    self.body = Some((self.path_for(name), size));
                    reply.push(0);
                }
                Some('D') => {
                    let name = line.splitn(3, ' ').nth(2).ok_or_else(|| format!("bad SCP header {line:?}"))?;
                    self.dirs.push(name.to_string());
                    reply.push(0);
                }
                Some('E') => {
                    self.dirs.pop();
                    reply.push(0);
                }
                Some('T') => reply.push(0),
                _ => return Err(format!("unexpected SCP line {line:?}")),
            }
        }
    }

    fn path_for(&self, name: &str) -> String {
        let base = self.target.trim_end_matches('/');
        if self.recursive || !self.dirs.is_empty() || self.target.ends_with('/') {
            let mut path = base.to_string();
            for d in &self.dirs {
                path.push('/');
                path.push_str(d);
            }
            format!("{path}/{name}")
        } else {
            base.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_libssh2_and_openssh_send() {
        assert_eq!(parse_command("scp -t '/tmp/a b'"), Some(Command::To { path: "/tmp/a b".into(), recursive: false }));
        assert_eq!(parse_command("scp -r -d -t /tmp/d"), Some(Command::To { path: "/tmp/d".into(), recursive: true }));
        assert_eq!(parse_command("scp -f /etc/x"), Some(Command::From { path: "/etc/x".into() }));
        assert_eq!(parse_command("ls -t /tmp"), None);
    }

    #[test]
    fn receives_a_file_in_pieces() {
        let mut sink = Sink::new("/tmp/script.sh", false);
        assert_eq!(sink.feed(b"C0755 11 script.sh\nhello").unwrap(), vec![0]);
        assert_eq!(sink.feed(b" world").unwrap(), Vec::<u8>::new());
        assert_eq!(sink.feed(&[0]).unwrap(), vec![0]);
        assert_eq!(sink.files, vec![("/tmp/script.sh".to_string(), b"hello world".to_vec())]);
    }

    #[test]
    fn receives_a_directory() {
        let mut sink = Sink::new("/srv", true);
        let acks = sink.feed(b"D0755 0 app\nC0644 2 a\nhi\0E\n").unwrap();
        assert_eq!(acks, vec![0, 0, 0, 0]);
        assert_eq!(sink.files, vec![("/srv/app/a".to_string(), b"hi".to_vec())]);
    }
}
