//! Packer's spellings: Go's flag package takes `-name` and `-name=value`
//! for long options. They are rewritten to `--name` before clap parses.

/// Long options that Packer users type with one dash.
const PACKER_FLAGS: &[&str] = &[
    "var",
    "var-file",
    "only",
    "except",
    "force",
    "on-error",
    "parallel-builds",
    "machine-readable",
    "color",
    "timestamp-ui",
    "debug",
    "syntax-only",
];

/// Rewrites `-var` to `--var` (and `-only=x` to `--only=x`) for Packer's
/// flags; everything else, and everything after `--`, is left alone.
pub fn normalize_packer_flags(args: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = false;
    for arg in args {
        if rest || arg == "--" {
            rest = true;
            out.push(arg);
            continue;
        }
        let name = arg.strip_prefix('-').filter(|a| !a.starts_with('-')).map(|a| a.split('=').next().unwrap_or(a));
        match name {
            Some(name) if PACKER_FLAGS.contains(&name) => out.push(format!("-{arg}")),
            _ => out.push(arg),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(args: &[&str]) -> Vec<String> {
        normalize_packer_flags(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn single_dash_packer_flags_become_long() {
        assert_eq!(
            n(&["build", "-var", "a=b", "-only=x", "-color=false"]),
            ["build", "--var", "a=b", "--only=x", "--color=false"]
        );
    }

    #[test]
    fn other_arguments_are_untouched() {
        assert_eq!(
            n(&["build", "-h", "--var", "x", "t.json", "--", "-var"]),
            ["build", "-h", "--var", "x", "t.json", "--", "-var"]
        );
    }
}
