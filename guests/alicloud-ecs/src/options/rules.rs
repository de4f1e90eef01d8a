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

/// An IPv4 CIDR block `a.b.c.d/n`, as (network address, prefix length).
/// The address must be the network's first (no host bits set).
pub fn cidr(value: &str) -> Result<(u32, u32), String> {
    let bad = || format!("{value:?} is not an IPv4 CIDR block such as 192.168.0.0/16");
    let (address, prefix) = value.split_once('/').ok_or_else(bad)?;
    let prefix: u32 = prefix.parse().map_err(|_| bad())?;
    if prefix > 32 {
        return Err(bad());
    }
    let octets: Vec<u32> =
        address.split('.').map(|o| o.parse::<u8>().map(u32::from)).collect::<Result<_, _>>().map_err(|_| bad())?;
    if octets.len() != 4 {
        return Err(bad());
    }
    let address = octets.iter().fold(0u32, |acc, o| (acc << 8) | o);
    if address & !mask(prefix) != 0 {
        let network = format_cidr(address & mask(prefix), prefix);
        return Err(format!("{value:?} has host bits set; the network is {network}"));
    }
    Ok((address, prefix))
}

/// The netmask of a prefix length.
pub fn mask(prefix: u32) -> u32 {
    if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) }
}

/// `a.b.c.d/n`.
pub fn format_cidr(address: u32, prefix: u32) -> String {
    let [a, b, c, d] = address.to_be_bytes();
    format!("{a}.{b}.{c}.{d}/{prefix}")
}

/// The first /24 inside `vpc` (a CIDR) that overlaps none of `used`; the
/// whole VPC block when it is smaller than a /24. None when all are taken.
pub fn free_slash24(vpc: &str, used: &[String]) -> Option<String> {
    let (base, prefix) = cidr(vpc).ok()?;
    let used: Vec<(u32, u32)> = used.iter().filter_map(|c| cidr(c).ok()).collect();
    let overlaps = |address: u32, prefix: u32| {
        used.iter().any(|&(other, other_prefix)| {
            let common = mask(prefix.min(other_prefix));
            address & common == other & common
        })
    };
    if prefix >= 24 {
        return if overlaps(base, prefix) { None } else { Some(format_cidr(base, prefix)) };
    }
    let count: u32 = 1 << (24 - prefix);
    (0..count).map(|i| base + (i << 8)).find(|&candidate| !overlaps(candidate, 24)).map(|c| format_cidr(c, 24))
}

/// A custom endpoint: `http://host[:port]`, `https://host[:port]` (a path
/// is kept), or a bare `host[:port]`, which means https. Returns the base
/// URL without a trailing `/`.
pub fn endpoint(value: &str) -> Result<String, String> {
    let value = value.trim();
    let url = if value.contains("://") { value.to_string() } else { format!("https://{value}") };
    let (scheme, rest) = url.split_once("://").unwrap_or(("", ""));
    if scheme != "http" && scheme != "https" {
        return Err(format!("{value:?} must be an http:// or https:// URL, or a host name"));
    }
    let rest = rest.trim_end_matches('/');
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_ok =
        !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if !host_ok || rest.contains(['?', '#', '@']) {
        return Err(format!("{value:?} must be a URL with a host and no query, such as http://127.0.0.1:8080"));
    }
    Ok(format!("{scheme}://{rest}"))
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
    fn cidrs_parse_and_free_blocks_skip_used_ones() {
        assert_eq!(cidr("172.16.0.0/16"), Ok((0xAC10_0000, 16)));
        assert!(cidr("172.16.0.1/16").is_err());
        assert!(cidr("300.0.0.0/8").is_err());
        assert_eq!(free_slash24("172.16.0.0/16", &[]), Some("172.16.0.0/24".into()));
        assert_eq!(
            free_slash24("172.16.0.0/16", &["172.16.0.0/24".into(), "172.16.1.0/25".into()]),
            Some("172.16.2.0/24".into())
        );
        assert_eq!(free_slash24("10.0.0.0/8", &["10.0.0.0/16".into()]), Some("10.1.0.0/24".into()));
        assert_eq!(free_slash24("192.168.0.0/16", &["192.168.0.0/16".into()]), None);
    }

    #[test]
    fn endpoints_accept_urls_and_bare_hosts() {
        assert_eq!(endpoint("http://127.0.0.1:8080/"), Ok("http://127.0.0.1:8080".into()));
        assert_eq!(endpoint("ecs.example.com"), Ok("https://ecs.example.com".into()));
        assert!(endpoint("ftp://x").is_err());
        assert!(endpoint("http://").is_err());
    }

    #[test]
    fn regions_are_lower_case_ids() {
        assert!(region("cn-beijing").is_ok());
        assert!(region("CN-Beijing").is_err());
        assert!(region("").is_err());
    }
}
