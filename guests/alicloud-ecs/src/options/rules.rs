//! The value rules of Alibaba Cloud's API, as the user documentation
//! states them. Each check returns the rule, worded for a message that
//! starts with the field's name.

/// Whether `c` is a Chinese character (CJK unified ideographs and their
/// extensions and compatibility block).
fn is_chinese(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}' | '\u{20000}'..='\u{2A6DF}')
}

/// A display name (image, instance, VPC, VSwitch, security group, disk):
/// 2 to 128 characters, beginning with a letter or a Chinese character,
/// then letters, digits, Chinese characters, `.`, `_` or `-`; never
/// `http://` or `https://` at the start. The API also takes `.` in image
/// and VPC names, so it is accepted everywhere.
pub fn name(value: &str) -> Result<(), String> {
    let count = value.chars().count();
    if value.chars().any(char::is_whitespace) {
        return Err("must not contain spaces".to_string());
    }
    if starts_with_http(value) {
        return Err("must not begin with http:// or https://".to_string());
    }
    if !(2..=128).contains(&count) {
        return Err(format!("must be 2 to 128 characters long, not {count}"));
    }
    let first = value.chars().next().unwrap_or(' ');
    if !(first.is_ascii_alphabetic() || is_chinese(first)) {
        return Err(format!("must begin with a letter or a Chinese character, not {first:?}"));
    }
    if let Some(bad) =
        value.chars().find(|&c| !(c.is_ascii_alphanumeric() || is_chinese(c) || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!("may only contain letters, digits, Chinese characters, '.', '_' and '-' (found {bad:?})"));
    }
    Ok(())
}

/// A description of `min` to `max` characters that does not begin with
/// `http://` or `https://`.
pub fn description(value: &str, min: usize, max: usize) -> Result<(), String> {
    let count = value.chars().count();
    if !(min..=max).contains(&count) {
        return Err(format!("must be {min} to {max} characters long, not {count}"));
    }
    if starts_with_http(value) {
        return Err("must not begin with http:// or https://".to_string());
    }
    Ok(())
}

fn starts_with_http(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// A region id such as `cn-beijing`: lower-case letters, digits and dashes,
/// beginning with a letter.
pub fn region(value: &str) -> Result<(), String> {
    let ok = value.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && value.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!("{value:?} is not a region id such as cn-beijing (lower-case letters, digits and dashes)"))
    }
}

/// A key pair name: 2 to 128 characters, beginning with a letter, then
/// letters, digits, `.`, `:`, `_` or `-`.
pub fn key_pair_name(value: &str) -> Result<(), String> {
    let count = value.chars().count();
    if !(2..=128).contains(&count) {
        return Err(format!("must be 2 to 128 characters long, not {count}"));
    }
    if !value.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err("must begin with a letter".to_string());
    }
    if let Some(bad) = value.chars().find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '_' | '-'))) {
        return Err(format!("may only contain letters, digits, '.', ':', '_' and '-' (found {bad:?})"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_documented_rule() {
        assert!(name("packer_test2").is_ok());
        assert!(name("镜像-1.0").is_ok());
        assert!(name("a").is_err());
        assert!(name("1abc").is_err());
        assert!(name("has space").is_err());
        assert!(name("http://x").is_err());
        assert!(name("a/b").is_err());
        assert!(name(&"a".repeat(129)).is_err());
    }

    #[test]
    fn regions_are_lower_case_ids() {
        assert!(region("cn-beijing").is_ok());
        assert!(region("CN-Beijing").is_err());
        assert!(region("").is_err());
    }
}
