//! IPv4 CIDR blocks, as VPCs, VSwitches and security group rules take
//! them: parsed, contained, overlapping.

use std::net::Ipv4Addr;

/// A parsed IPv4 CIDR block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    base: u32,
    len: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n` with host bits zero.
    pub fn parse(text: &str) -> Option<Cidr> {
        let (ip, len) = text.split_once('/')?;
        let ip: Ipv4Addr = ip.parse().ok()?;
        let len: u8 = len.parse().ok().filter(|l| *l <= 32)?;
        let base = u32::from(ip);
        let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
        (base & !mask == 0).then_some(Cidr { base, len })
    }

    /// The prefix length, the `n` of `/n`.
    pub fn prefix_len(self) -> u8 {
        self.len
    }

    fn mask(self) -> u32 {
        if self.len == 0 { 0 } else { u32::MAX << (32 - self.len) }
    }

    /// Whether `other` lies inside this block.
    pub fn contains(self, other: Cidr) -> bool {
        other.len >= self.len && other.base & self.mask() == self.base
    }

    /// Whether the two blocks share an address.
    pub fn overlaps(self, other: Cidr) -> bool {
        let mask = self.mask() & other.mask();
        self.base & mask == other.base & mask
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_containment_and_overlap() {
        let vpc = Cidr::parse("172.16.0.0/16").unwrap();
        assert!(vpc.contains(Cidr::parse("172.16.1.0/24").unwrap()));
        assert!(!vpc.contains(Cidr::parse("172.17.0.0/24").unwrap()));
        assert!(Cidr::parse("172.16.0.0/24").unwrap().overlaps(Cidr::parse("172.16.0.128/25").unwrap()));
        assert!(!Cidr::parse("172.16.0.0/24").unwrap().overlaps(Cidr::parse("172.16.1.0/24").unwrap()));
        assert_eq!(Cidr::parse("172.16.0.1/16"), None);
    }
}
