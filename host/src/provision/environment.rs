//! The environment a shell script sees, as Packer builds it: one map of
//! `PACKER_BUILD_NAME`, `PACKER_BUILDER_TYPE` and the user's variables (a
//! later duplicate wins), flattened sorted by name into `{{.Vars}}` (or
//! the `use_env_var_file` file) with each value's `'` escaped for the
//! shell.

use std::collections::BTreeMap;

/// A script's environment, sorted by name as Packer flattens it.
pub type Environment = BTreeMap<String, String>;

/// The build's own variables, then `user` in order: a name given twice
/// keeps its last value (Packer's map).
pub fn build(build_name: &str, build_type: &str, user: &[(String, String)]) -> Environment {
    let mut env = Environment::new();
    env.insert("PACKER_BUILD_NAME".into(), build_name.into());
    env.insert("PACKER_BUILDER_TYPE".into(), build_type.into());
    env.extend(user.iter().cloned());
    env
}

/// `env` in `format` (Go's `%s` twice: the name, then the value), one
/// entry after another sorted by name, each value's single quotes escaped
/// as `'"'"'` so that `'%s'` stays one shell word. Nothing is trimmed:
/// Packer hands the text over as it is.
pub fn flatten(format: &str, env: &Environment) -> String {
    flatten_with(format, env, crate::shell_quote::escape_single_quoted)
}

/// `env` in `format` as [`flatten`] writes it, each value passed through
/// `escape` (the remote shell's own escaping; `cmd.exe` has none that
/// works inside `set "NAME=value"`, so the Windows provisioners check
/// values instead).
pub fn flatten_with(format: &str, env: &Environment, escape: impl Fn(&str) -> String) -> String {
    env.iter().map(|(name, value)| format.replacen("%s", name, 1).replacen("%s", &escape(value), 1)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn vars_are_sorted_by_name_with_packers_own_among_them() {
        let env = build("web", "null", &pairs(&[("ZED", "z"), ("ALPHA", "a"), ("QUX", "q")]));
        assert_eq!(
            flatten("%s='%s' ", &env),
            "ALPHA='a' PACKER_BUILDER_TYPE='null' PACKER_BUILD_NAME='web' QUX='q' ZED='z' "
        );
    }

    #[test]
    fn a_later_duplicate_wins_even_over_packers_own() {
        let env = build("web", "null", &pairs(&[("A", "first"), ("PACKER_BUILD_NAME", "mine"), ("A", "second")]));
        assert_eq!(flatten("%s=%s;", &env), "A=second;PACKER_BUILDER_TYPE=null;PACKER_BUILD_NAME=mine;");
    }

    #[test]
    fn single_quotes_are_escaped_and_a_shell_reads_the_values_back() {
        let value = "it's a \"test\" with  spaces $HOME `x`";
        let env = build("b", "t", &pairs(&[("QUOTED", value)]));
        let vars = flatten("export %s='%s'\n", &env);
        assert!(vars.contains("QUOTED='it'\"'\"'s a"), "{vars}");
        let script = format!("{vars}printf %s \"$QUOTED\"");
        let out = std::process::Command::new("sh").arg("-c").arg(script).output().unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), value);
    }

    #[test]
    fn an_empty_value_stays() {
        let env = build("b", "t", &pairs(&[("EMPTY", "")]));
        assert!(flatten("%s='%s' ", &env).starts_with("EMPTY='' "));
    }
}
