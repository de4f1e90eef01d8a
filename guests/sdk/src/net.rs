//! IPv4 blocks and service endpoints as a template writes them: parsing
//! and checking a CIDR block, finding a free /24 for a subnet, and reading
//! a custom endpoint URL. Each check fails with a sentence that follows the
//! field's name in a message ("vpc_cidr_block: ... is not an IPv4 CIDR
//! block such as 192.168.0.0/16").

/// An IPv4 CIDR block `a.b.c.d/n`, as (network address, prefix length).
/// Fails when it is not `a.b.c.d/n` with octets up to 255 and `n` up to
/// 32, and when the address is not the network's first (host bits set).
///
/// ```rust
/// use kiln_guest::net::cidr;
///
/// assert_eq!(cidr("172.16.0.0/16"), Ok((0xAC10_0000, 16)));
/// assert_eq!(cidr("172.16.0.1/16"), Err(r#""172.16.0.1/16" has host bits set; the network is 172.16.0.0/16"#.into()));
/// ```
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

/// The netmask of a prefix length (0 to 32).
///
/// ```rust
/// assert_eq!(kiln_guest::net::mask(24), 0xFFFF_FF00);
/// assert_eq!(kiln_guest::net::mask(0), 0);
/// ```
pub fn mask(prefix: u32) -> u32 {
    if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) }
}

/// `a.b.c.d/n`.
///
/// ```rust
/// assert_eq!(kiln_guest::net::format_cidr(0x0A01_0000, 16), "10.1.0.0/16");
/// ```
pub fn format_cidr(address: u32, prefix: u32) -> String {
    let [a, b, c, d] = address.to_be_bytes();
    format!("{a}.{b}.{c}.{d}/{prefix}")
}

/// The first /24 inside `vpc` (a CIDR) that overlaps none of `used`; the
/// whole VPC block when it is smaller than a /24. None when all are taken
/// (or `vpc` is not a CIDR block); blocks in `used` that do not parse are
/// ignored.
///
/// ```rust
/// use kiln_guest::net::free_slash24;
///
/// assert_eq!(free_slash24("172.16.0.0/16", &["172.16.0.0/24".into()]), Some("172.16.1.0/24".into()));
/// assert_eq!(free_slash24("192.168.0.0/16", &["192.168.0.0/16".into()]), None);
/// ```
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
/// URL without a trailing `/`. Fails for another scheme, and for a URL
/// without a host or with a query, fragment or user.
///
/// ```rust
/// use kiln_guest::net::endpoint;
///
/// assert_eq!(endpoint("http://127.0.0.1:8080/"), Ok("http://127.0.0.1:8080".into()));
/// assert_eq!(endpoint("ecs.example.com"), Ok("https://ecs.example.com".into()));
/// assert!(endpoint("ftp://x").is_err());
/// ```
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
}
