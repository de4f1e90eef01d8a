//! POSIX single-quote escaping, written once: the SSH communicator quotes
//! remote words with it (`Session::quote`), the shell provisioners escape
//! `{{.Vars}}` values with it as Packer does, and the redactor matches a
//! secret in the form it takes there. They must agree, so they share this.

/// `text` escaped for the inside of a single-quoted POSIX word: each `'`
/// becomes `'"'"'` (close the quotes, a double-quoted quote, reopen).
pub(crate) fn escape_single_quoted(text: &str) -> String {
    text.replace('\'', "'\"'\"'")
}

/// `text` as one single-quoted POSIX shell word, so that a path with spaces
/// or quotes stays one argument.
pub(crate) fn single_quoted(text: &str) -> String {
    format!("'{}'", escape_single_quoted(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_keeps_one_word() {
        assert_eq!(single_quoted("a b"), "'a b'");
        assert_eq!(single_quoted("it's"), "'it'\"'\"'s'");
        assert_eq!(escape_single_quoted("it's"), "it'\"'\"'s");
    }

    #[test]
    fn a_shell_reads_the_word_back_unchanged() {
        let text = "it's a \"test\" $HOME `x` \\ end";
        let out = std::process::Command::new("sh").arg("-c").arg(format!("printf %s {}", single_quoted(text))).output();
        assert_eq!(String::from_utf8(out.unwrap().stdout).unwrap(), text);
    }
}
