//! The egress allow-list: parsed once per build from the builder's
//! `prepare` answer (and the user's `--allow-host`), checked for every
//! request, denying by default and failing closed.

use std::fmt;
use url::Url;

/// The hosts one build may reach.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    build: String,
    allowed: Vec<Entry>,
    patterns: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
struct Entry {
    host: String,
    /// `None`: the scheme's default port only.
    port: Option<u16>,
}

impl Entry {
    fn parse(text: &str) -> Option<Entry> {
        let text = text.trim().to_ascii_lowercase();
        // A URL's other parts would parse (`host?x` as a query) and be
        // dropped: the entry would allow a host other than the one written.
        if text.is_empty() || text.contains(['/', '@', '?', '#']) {
            return None;
        }
        let url = Url::parse(&format!("http://{text}/")).ok()?;
        let host = url.host_str()?.to_string();
        // No request goes to port 0.
        if url.port() == Some(0) {
            return None;
        }
        Some(Entry { host, port: url.port() })
    }

    fn allows(&self, host: &str, port: u16, default_port: u16) -> bool {
        self.host == host && self.port.unwrap_or(default_port) == port
    }
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(p) => write!(f, "{}:{p}", self.host),
            None => write!(f, "{}", self.host),
        }
    }
}

/// A request that the policy refused, with what the user can do about it.
#[derive(Clone, Debug, PartialEq)]
pub struct Denial {
    /// The build.
    pub build: String,
    /// `host` or `host:port` as requested.
    pub target: String,
    /// What the build may reach.
    pub allowed: Vec<String>,
    /// The builder's declared patterns.
    pub patterns: Vec<String>,
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "kiln denied a request to {}: build '{}' may only reach ", self.target, self.build)?;
        if self.allowed.is_empty() {
            write!(f, "no host")?;
        } else {
            write!(f, "{}", self.allowed.join(", "))?;
        }
        write!(f, ". The builder derives its hosts from its configuration")?;
        if !self.patterns.is_empty() {
            write!(f, " (patterns: {})", self.patterns.join(", "))?;
        }
        write!(f, "; to allow this host for this run anyway, pass --allow-host {}", self.target)
    }
}

/// Why a builder's egress answer was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PolicyError {
    /// Not a host or host:port.
    #[error("egress entry {0:?} is not a host name or host:port")]
    Malformed(String),
    /// Outside every declared pattern.
    #[error(
        "egress entry {host:?} matches none of the builder's declared patterns ({patterns}); the builder is broken or malicious"
    )]
    Undeclared {
        /// The entry.
        host: String,
        /// The patterns, joined.
        patterns: String,
    },
}

/// Checks one host the user allows on the command line (`--allow-host`):
/// a host name or address, with an optional port.
///
/// Fails with [`PolicyError::Malformed`] naming the entry when it is
/// empty, has port 0, or has a path, a user, a query, a fragment or
/// anything else a host has not.
pub fn check_extra(host: &str) -> Result<(), PolicyError> {
    Entry::parse(host).map(drop).ok_or_else(|| PolicyError::Malformed(host.to_string()))
}

impl Policy {
    /// The policy for `build`: `prepared` (which must match the builder's
    /// `patterns`) plus `extra` hosts the user allowed on the command line.
    pub fn new(build: &str, prepared: &[String], patterns: &[String], extra: &[String]) -> Result<Self, PolicyError> {
        let mut allowed = Vec::new();
        for host in prepared {
            if !patterns.iter().any(|p| pattern_matches(p, &host.to_ascii_lowercase())) {
                return Err(PolicyError::Undeclared { host: host.clone(), patterns: patterns.join(", ") });
            }
            allowed.push(Entry::parse(host).ok_or_else(|| PolicyError::Malformed(host.clone()))?);
        }
        for host in extra {
            allowed.push(Entry::parse(host).ok_or_else(|| PolicyError::Malformed(host.clone()))?);
        }
        Ok(Policy { build: build.to_string(), allowed, patterns: patterns.to_vec() })
    }

    /// Allows `url` or says why not. Only `http` and `https` URLs with a
    /// host can be allowed.
    pub fn check(&self, url: &Url) -> Result<(), Denial> {
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let default_port = match url.scheme() {
            "https" => 443,
            _ => 80,
        };
        let port = url.port().unwrap_or(default_port);
        let scheme_ok = matches!(url.scheme(), "http" | "https");
        if scheme_ok && !host.is_empty() && self.allowed.iter().any(|e| e.allows(&host, port, default_port)) {
            return Ok(());
        }
        let target = if url.port().is_some() { format!("{host}:{port}") } else { host };
        Err(Denial {
            build: self.build.clone(),
            target,
            allowed: self.allowed.iter().map(Entry::to_string).collect(),
            patterns: self.patterns.clone(),
        })
    }
}

/// Whether `host` matches `pattern`, where each `{name}` stands for a
/// non-empty run of host characters (letters, digits, `.`, `-`, `:`, `[`, `]`).
pub fn pattern_matches(pattern: &str, host: &str) -> bool {
    fn host_char(c: char) -> bool {
        c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']')
    }
    fn go(pattern: &str, host: &str) -> bool {
        match pattern.find('{') {
            None => pattern.eq_ignore_ascii_case(host),
            Some(start) => {
                let (literal, rest) = pattern.split_at(start);
                // `get` rather than slicing: a host from a guest may cut a
                // multi-byte character, which must deny, not panic.
                match host.get(..literal.len()) {
                    Some(head) if head.eq_ignore_ascii_case(literal) => {}
                    _ => return false,
                }
                let host = &host[literal.len()..];
                let Some(end) = rest.find('}') else { return false };
                let after = &rest[end + 1..];
                let run = host.chars().take_while(|&c| host_char(c)).count();
                (1..=run).any(|n| go(after, &host[n..]))
            }
        }
    }
    go(pattern, host)
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_entry_is_a_host_and_a_port_only() {
        for bad in ["[::1]:0", "example.com:0", "example.com?x", "example.com#top", "a.test?", ""] {
            assert!(super::check_extra(bad).is_err(), "{bad:?} was accepted");
        }
        for good in ["example.com", "[::1]:8080", "127.0.0.1:1", "example.com:65535"] {
            assert_eq!(super::check_extra(good), Ok(()), "{good:?}");
        }
    }

    use super::*;

    fn policy(prepared: &[&str]) -> Policy {
        let prepared: Vec<String> = prepared.iter().map(|s| s.to_string()).collect();
        Policy::new("b", &prepared, &["{endpoint}".into(), "ecs.{region}.aliyuncs.com".into()], &[]).unwrap()
    }

    #[test]
    fn default_policy_denies_everything() {
        let url = Url::parse("https://example.com/").unwrap();
        assert!(Policy::default().check(&url).is_err());
    }

    #[test]
    fn allowed_host_passes_on_default_port_only() {
        let p = policy(&["ecs.cn-hangzhou.aliyuncs.com"]);
        assert!(p.check(&Url::parse("https://ecs.cn-hangzhou.aliyuncs.com/?A=1").unwrap()).is_ok());
        assert!(p.check(&Url::parse("https://ECS.cn-hangzhou.aliyuncs.com/").unwrap()).is_ok());
        assert!(p.check(&Url::parse("https://ecs.cn-hangzhou.aliyuncs.com:8443/").unwrap()).is_err());
    }

    #[test]
    fn host_with_port_allows_that_port() {
        let p = policy(&["127.0.0.1:8080"]);
        assert!(p.check(&Url::parse("http://127.0.0.1:8080/x").unwrap()).is_ok());
        assert!(p.check(&Url::parse("http://127.0.0.1:8081/x").unwrap()).is_err());
        assert!(p.check(&Url::parse("http://127.0.0.1/x").unwrap()).is_err());
    }

    #[test]
    fn denial_names_host_and_fix() {
        let p = policy(&["127.0.0.1:8080"]);
        let denial = p.check(&Url::parse("http://evil.example:9/").unwrap()).unwrap_err();
        let text = denial.to_string();
        assert!(text.contains("evil.example:9"), "{text}");
        assert!(text.contains("127.0.0.1:8080"), "{text}");
        assert!(text.contains("--allow-host evil.example:9"), "{text}");
    }

    #[test]
    fn non_http_schemes_are_denied() {
        let p = policy(&["127.0.0.1:8080"]);
        assert!(p.check(&Url::parse("file:///etc/passwd").unwrap()).is_err());
        assert!(p.check(&Url::parse("ftp://127.0.0.1:8080/").unwrap()).is_err());
    }

    #[test]
    fn prepared_host_outside_patterns_is_refused() {
        let err = Policy::new("b", &["evil.com".into()], &["ecs.{region}.aliyuncs.com".into()], &[]).unwrap_err();
        assert!(matches!(err, PolicyError::Undeclared { .. }));
    }

    #[test]
    fn patterns_match_placeholders() {
        assert!(pattern_matches("ecs.{region}.aliyuncs.com", "ecs.cn-beijing.aliyuncs.com"));
        assert!(!pattern_matches("ecs.{region}.aliyuncs.com", "ecs..aliyuncs.com"));
        assert!(!pattern_matches("ecs.{region}.aliyuncs.com", "ecs.x.aliyuncs.com.evil.net"));
        assert!(pattern_matches("{endpoint}", "127.0.0.1:4000"));
        assert!(!pattern_matches("{endpoint}", "a/b"));
    }

    #[test]
    fn non_ascii_hosts_are_denied_without_panicking() {
        assert!(!pattern_matches("ab{x}", "aé"));
        assert!(!pattern_matches("é{x}", "ab"));
    }

    #[test]
    fn extra_hosts_are_allowed() {
        let p = Policy::new("b", &[], &[], &["api.example.com".into()]).unwrap();
        assert!(p.check(&Url::parse("https://api.example.com/").unwrap()).is_ok());
    }
}
