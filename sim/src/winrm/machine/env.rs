//! Environment variables: names without case, as Windows has them.

/// One process's environment, in the order the variables were first set.
#[derive(Debug, Clone, Default)]
pub(crate) struct Env {
    vars: Vec<(String, String)>,
}

impl Env {
    /// The machine's own variables for `hostname` and `username`, then the
    /// shell's `extra` (which win over them).
    pub(crate) fn for_machine(hostname: &str, username: &str, extra: &[(String, String)]) -> Env {
        let profile = format!("C:\\Users\\{username}");
        let temp = format!("{profile}\\AppData\\Local\\Temp");
        let mut env = Env::default();
        for (k, v) in [
            ("ALLUSERSPROFILE", "C:\\ProgramData".to_string()),
            ("APPDATA", format!("{profile}\\AppData\\Roaming")),
            ("COMPUTERNAME", hostname.to_uppercase()),
            ("ComSpec", "C:\\Windows\\system32\\cmd.exe".into()),
            ("HOMEDRIVE", "C:".into()),
            ("HOMEPATH", format!("\\Users\\{username}")),
            ("LOCALAPPDATA", format!("{profile}\\AppData\\Local")),
            ("NUMBER_OF_PROCESSORS", "2".into()),
            ("OS", "Windows_NT".into()),
            (
                "PATH",
                "C:\\Windows\\system32;C:\\Windows;C:\\Windows\\System32\\Wbem;\
                 C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\"
                    .into(),
            ),
            ("PATHEXT", ".COM;.EXE;.BAT;.CMD;.VBS;.VBE;.JS;.JSE;.WSF;.WSH;.MSC".into()),
            ("PROCESSOR_ARCHITECTURE", "AMD64".into()),
            ("ProgramData", "C:\\ProgramData".into()),
            ("ProgramFiles", "C:\\Program Files".into()),
            ("PROMPT", "$P$G".into()),
            ("PUBLIC", "C:\\Users\\Public".into()),
            ("SystemDrive", "C:".into()),
            ("SystemRoot", "C:\\Windows".into()),
            ("TEMP", temp.clone()),
            ("TMP", temp),
            ("USERDOMAIN", hostname.to_uppercase()),
            ("USERNAME", username.to_string()),
            ("USERPROFILE", profile),
            ("windir", "C:\\Windows".into()),
        ] {
            env.set(k, &v);
        }
        for (k, v) in extra {
            env.set(k, v);
        }
        env
    }

    /// The value of `name`, whatever its case.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.vars.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Sets `name` (keeping the spelling it already has); an empty value
    /// removes it, as `set X=` does.
    pub(crate) fn set(&mut self, name: &str, value: &str) {
        let at = self.vars.iter().position(|(k, _)| k.eq_ignore_ascii_case(name));
        match (at, value.is_empty()) {
            (Some(i), true) => {
                self.vars.remove(i);
            }
            (Some(i), false) => self.vars[i].1 = value.to_string(),
            (None, true) => {}
            (None, false) => self.vars.push((name.to_string(), value.to_string())),
        }
    }

    /// Every variable sorted by name without case, as `set` lists them.
    pub(crate) fn sorted(&self) -> Vec<(String, String)> {
        let mut vars = self.vars.clone();
        vars.sort_by_key(|(k, _)| k.to_uppercase());
        vars
    }

    /// `text` with each `%NAME%` of a defined variable replaced, as cmd does
    /// on a command line; an undefined one stays as written.
    pub(crate) fn expand_percent(&self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find('%') {
            out.push_str(&rest[..start]);
            let after = &rest[start + 1..];
            match after.find('%') {
                Some(end) if self.get(&after[..end]).is_some() && end > 0 => {
                    out.push_str(self.get(&after[..end]).unwrap_or_default());
                    rest = &after[end + 1..];
                }
                Some(end) => {
                    // Not a variable: keep the first `%` and look again from
                    // the second, which may open a real one.
                    out.push('%');
                    out.push_str(&after[..end]);
                    rest = &after[end..];
                }
                None => {
                    out.push('%');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// `text` as cmd expands a batch file's line: `%%` is `%`, `%NAME%`
    /// the variable's value or nothing when it is undefined, `%0`..`%9` and
    /// `%*` (the batch file's arguments: none are passed) nothing, and a
    /// lone `%` is dropped.
    pub(crate) fn expand_batch(&self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find('%') {
            out.push_str(&rest[..start]);
            let after = &rest[start + 1..];
            if let Some(r) = after.strip_prefix('%') {
                out.push('%');
                rest = r;
            } else if after.starts_with(|c: char| c.is_ascii_digit() || c == '*') {
                rest = &after[1..];
            } else if let Some(end) = after.find('%') {
                out.push_str(self.get(&after[..end]).unwrap_or_default());
                rest = &after[end + 1..];
            } else {
                rest = after;
            }
        }
        out.push_str(rest);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_variables_and_expansion() {
        let env = Env::for_machine("win-1", "kiln", &[("FOO".into(), "bar".into())]);
        assert_eq!(env.get("temp"), Some("C:\\Users\\kiln\\AppData\\Local\\Temp"));
        assert_eq!(env.get("COMPUTERNAME"), Some("WIN-1"));
        assert_eq!(env.expand_percent("%foo%-%NOPE%-%os%%"), "bar-%NOPE%-Windows_NT%");
        assert_eq!(env.expand_percent("50% of %FOO%"), "50% of bar");
        assert_eq!(env.expand_batch("50%% of %FOO% %NOPE%%1.%"), "50% of bar .");
    }
}
