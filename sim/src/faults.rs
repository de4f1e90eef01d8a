//! Fault injection: rules that make chosen calls fail the way a real
//! cloud sometimes does (5xx, throttling, a reset connection, a hang, a
//! slow answer, an image that fails to build). The core applies them; a
//! refusal is worded by the call's cloud, in its own error format.
//!
//! Only calls a simulated cloud recognises reach the rules: a request no
//! cloud recognises (a wrong host or path) is answered 404 at once and
//! logged under its path, and is neither matched nor counted, so it cannot
//! shift a rule's `nth` (not even a `*` rule's).

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Longest `delay_ms` a rule may ask for: a day, far past any client's
/// patience, and far from overflowing a clock.
pub const MAX_DELAY_MS: u64 = 24 * 3600 * 1000;

/// What goes wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// HTTP 500, the cloud's internal error (Alibaba: `InternalError`).
    ServerError,
    /// HTTP 503, service unavailable (Alibaba: `ServiceUnavailable`).
    Unavailable,
    /// The cloud's flow control (Alibaba: HTTP 400 `Throttling.User`).
    Throttling,
    /// The connection is closed without an answer.
    Reset,
    /// No answer for `delay_ms` (default 120 s), then a reset.
    Timeout,
    /// The answer comes after `delay_ms`.
    Slow,
    /// The call succeeds, but the image it creates fails to build
    /// (Alibaba: ends `CreateFailed`, for CreateImage and CopyImage).
    ImageFails,
    /// HTTP 403, the key may not do this (Alibaba: `Forbidden.RAM`). Not
    /// worth a retry, so a client must fail and clean up.
    Denied,
    /// The call takes effect, then the connection drops before the answer:
    /// the client must find out what it created (ClientToken, or a lookup).
    Lost,
}

impl std::str::FromStr for FaultKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        serde_json::from_value(serde_json::Value::String(s.to_string())).map_err(|_| {
            format!("unknown fault kind {s:?}; use server-error, unavailable, throttling, reset, timeout, slow, image-fails, denied or lost")
        })
    }
}

/// One rule. A call (one a cloud recognises: see the module's doc) matches
/// when its action matches; then `nth` (only the nth matching call, 1-based) or `probability` (each call with this
/// chance, from the seeded generator) decide, and `times` caps how often
/// the rule fires in all.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    /// An action name, or `*` for every action.
    pub action: String,
    /// What goes wrong.
    pub kind: FaultKind,
    /// Fire on the nth matching call only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nth: Option<u64>,
    /// Fire with this probability (0 to 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Fire at most this many times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
    /// The delay of `slow` and `timeout`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// Calls that matched the action so far.
    #[serde(default)]
    pub seen: u64,
    /// Times the rule fired so far.
    #[serde(default)]
    pub fired: u64,
}

impl std::str::FromStr for FaultRule {
    type Err = String;
    /// `ACTION:KIND[:nth=N][:p=P][:times=N][:delay=MS]`, e.g.
    /// `CreateVpc:server-error:nth=1` or `*:throttling:p=0.3`, its values
    /// checked ([`FaultRule::check`]); whether a cloud answers ACTION is
    /// [`FaultRule::check_action`]'s to say.
    ///
    /// Fails on a missing action or kind, an unknown kind or option, an
    /// option given twice, or a value out of range.
    fn from_str(text: &str) -> Result<Self, String> {
        let mut parts = text.split(':');
        let action = parts.next().filter(|a| !a.is_empty()).ok_or("a fault rule starts with an action or *")?;
        let kind: FaultKind = parts.next().ok_or("a fault rule needs a kind after the action")?.parse()?;
        let mut rule = FaultRule {
            action: action.into(),
            kind,
            nth: None,
            probability: None,
            times: None,
            delay_ms: None,
            seen: 0,
            fired: 0,
        };
        let mut given: Vec<(&str, &str)> = Vec::new();
        for part in parts {
            let (k, v) = part.split_once('=').ok_or_else(|| format!("{part:?} is not key=value"))?;
            let bad = |_: std::num::ParseIntError| format!("{k}={v}: not a whole number");
            let option = match k {
                "nth" => {
                    rule.nth = Some(v.parse().map_err(bad)?);
                    "nth"
                }
                "p" | "probability" => {
                    let p = v.parse().map_err(|_| format!("{k}={v}: not a number between 0 and 1"))?;
                    rule.probability = Some(p);
                    "p"
                }
                "times" => {
                    rule.times = Some(v.parse().map_err(bad)?);
                    "times"
                }
                "delay" | "delay_ms" => {
                    rule.delay_ms = Some(v.parse().map_err(bad)?);
                    "delay"
                }
                other => return Err(format!("unknown fault option {other:?}; use nth, p, times or delay")),
            };
            // The last would win silently: the rule would not be the one
            // written.
            if let Some((_, first)) = given.iter().find(|(o, _)| *o == option) {
                return Err(format!("{option} is given twice ({first} and {part}); keep one"));
            }
            given.push((option, part));
        }
        rule.check()?;
        Ok(rule)
    }
}

impl FaultRule {
    /// Checks the rule's values, however it was written (flag, config
    /// file, admin API).
    ///
    /// Fails, naming the option, on an empty action, `nth` or `times` of
    /// 0, a probability that is not a number from 0 to 1, or a delay
    /// longer than [`MAX_DELAY_MS`].
    pub fn check(&self) -> Result<(), String> {
        if self.action.is_empty() {
            return Err("a fault rule needs an action name, or * for every action".into());
        }
        if self.nth == Some(0) {
            return Err("nth=0: calls are counted from 1; use nth=1 for the first matching call".into());
        }
        if let Some(p) = self.probability
            && !(0.0..=1.0).contains(&p)
        {
            let p = crate::numbers::readable(p);
            return Err(format!("p={p}: a probability is a number from 0 to 1 (0.3 fires on about 30% of calls)"));
        }
        if self.times == Some(0) {
            return Err("times=0: the rule would never fire; leave times out for no limit".into());
        }
        if let Some(ms) = self.delay_ms
            && ms > MAX_DELAY_MS
        {
            return Err(format!("delay={ms}: at most {MAX_DELAY_MS} ms (a day)"));
        }
        Ok(())
    }
}

impl FaultRule {
    /// Checks that the rule's action is `*` or one of `known` (the actions
    /// the simulated clouds answer): a rule for any other name would never
    /// fire.
    ///
    /// Fails naming the action and the closest known one, or listing them
    /// all when none is close.
    pub fn check_action(&self, known: &[&str]) -> Result<(), String> {
        if self.action == "*" || known.contains(&self.action.as_str()) {
            return Ok(());
        }
        let unknown = format!("no simulated cloud answers the action {:?}, so the rule would never fire", self.action);
        match closest(&self.action, known) {
            Some(name) => Err(format!("{unknown}; did you mean {name:?}?")),
            None => {
                let mut names = known.to_vec();
                names.sort_unstable();
                Err(format!("{unknown}; use * or one of: {}", names.join(", ")))
            }
        }
    }
}

/// The name of `known` closest to `name`, if close enough to be a typo
/// (a few edits, more for a long name; case ignored).
fn closest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    let lower = name.to_ascii_lowercase();
    known
        .iter()
        .map(|k| (strsim::levenshtein(&lower, &k.to_ascii_lowercase()), *k))
        .filter(|(distance, k)| *distance <= 2.max(k.len() / 4))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, k)| k)
}

/// The rules in force, with the seeded generator behind `probability`.
#[derive(Debug)]
pub struct Faults {
    /// The rules.
    pub rules: Vec<FaultRule>,
    rng: u64,
}

impl Faults {
    /// `rules`, with the generator seeded by `seed`.
    pub fn new(rules: Vec<FaultRule>, seed: u64) -> Self {
        Faults { rules, rng: seed ^ 0x5DEE_CE66_D1CE_4E5B }
    }

    /// The fault to apply to a call of `action`, if any. Every rule that
    /// matches the action counts the call.
    pub fn check(&mut self, action: &str) -> Option<(FaultKind, Duration)> {
        let mut chosen = None;
        for i in 0..self.rules.len() {
            let rule = &self.rules[i];
            if rule.action != "*" && rule.action != action {
                continue;
            }
            let roll = self.next_f64();
            let rule = &mut self.rules[i];
            // Saturating: the counters may come from a file or the admin
            // API, at any value.
            rule.seen = rule.seen.saturating_add(1);
            if rule.times.is_some_and(|t| rule.fired >= t) {
                continue;
            }
            let fires = match (rule.nth, rule.probability) {
                (Some(n), _) => rule.seen == n,
                (None, Some(p)) => roll < p,
                (None, None) => true,
            };
            if fires && chosen.is_none() {
                rule.fired = rule.fired.saturating_add(1);
                let delay = Duration::from_millis(rule.delay_ms.unwrap_or(match rule.kind {
                    FaultKind::Timeout => 120_000,
                    _ => 2_000,
                }));
                chosen = Some((rule.kind, delay));
            }
        }
        chosen
    }

    // splitmix64: deterministic for a seed, which is all a test needs.
    fn next_f64(&mut self) -> f64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nth_fires_once_on_that_call() {
        let mut f = Faults::new(vec!["CreateVpc:server-error:nth=2".parse().unwrap()], 1);
        assert_eq!(f.check("CreateVpc"), None);
        assert_eq!(f.check("DescribeVpcs"), None);
        assert_eq!(f.check("CreateVpc").map(|x| x.0), Some(FaultKind::ServerError));
        assert_eq!(f.check("CreateVpc"), None);
    }

    #[test]
    fn probability_is_seeded_and_times_caps() {
        let rule: FaultRule = "*:throttling:p=0.5:times=3".parse().unwrap();
        let run = |seed| {
            let mut f = Faults::new(vec![rule.clone()], seed);
            (0..50).map(|_| f.check("X").is_some()).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_eq!(run(7).iter().filter(|x| **x).count(), 3);
    }

    #[test]
    fn bad_rules_say_why() {
        assert!("CreateVpc:explode".parse::<FaultRule>().unwrap_err().contains("unknown fault kind"));
        assert!("CreateVpc:slow:x=1".parse::<FaultRule>().unwrap_err().contains("unknown fault option"));
    }

    #[test]
    fn an_option_given_twice_is_refused() {
        for (text, said) in [
            ("X:reset:nth=1:nth=2", "nth is given twice (nth=1 and nth=2)"),
            ("X:reset:p=0.5:probability=0.1", "p is given twice (p=0.5 and probability=0.1)"),
            ("X:slow:delay=1:delay_ms=1", "delay is given twice"),
            ("X:reset:times=1:times=1", "times is given twice"),
        ] {
            let error = text.parse::<FaultRule>().unwrap_err();
            assert!(error.contains(said), "{text}: {error}");
        }
    }

    #[test]
    fn an_action_no_cloud_answers_is_refused_with_the_closest() {
        let known = ["CreateVpc", "DeleteVpc", "DescribeVpcs"];
        let rule = |action: &str| FaultRule { action: action.into(), .."X:reset".parse::<FaultRule>().unwrap() };
        assert_eq!(rule("*").check_action(&known), Ok(()));
        assert_eq!(rule("DeleteVpc").check_action(&known), Ok(()));
        let error = rule("CreatVpc").check_action(&known).unwrap_err();
        assert!(error.contains("\"CreatVpc\"") && error.contains("did you mean \"CreateVpc\"?"), "{error}");
        assert!(rule("createvpc").check_action(&known).unwrap_err().contains("did you mean \"CreateVpc\"?"));
        let error = rule("NoSuchAction").check_action(&known).unwrap_err();
        assert!(error.contains("use * or one of: CreateVpc, DeleteVpc, DescribeVpcs"), "{error}");
    }

    #[test]
    fn huge_numbers_are_shown_short() {
        let error = "X:reset:p=1e308".parse::<FaultRule>().unwrap_err();
        assert!(error.contains("p=1e308"), "{error}");
    }

    #[test]
    fn counters_given_at_their_maximum_do_not_overflow() {
        let mut rule: FaultRule = "X:reset".parse().unwrap();
        (rule.seen, rule.fired) = (u64::MAX, u64::MAX);
        let mut f = Faults::new(vec![rule], 1);
        assert_eq!(f.check("X").map(|x| x.0), Some(FaultKind::Reset));
        assert_eq!((f.rules[0].seen, f.rules[0].fired), (u64::MAX, u64::MAX));
    }

    #[test]
    fn out_of_range_values_are_refused_naming_the_option() {
        for (text, option) in [
            ("X:reset:nth=0", "nth=0"),
            ("X:reset:times=0", "times=0"),
            ("X:reset:p=2", "p=2"),
            ("X:reset:p=-0.5", "p=-0.5"),
            ("X:reset:p=NaN", "p=NaN"),
            ("X:reset:p=inf", "p=inf"),
            ("X:slow:delay=18446744073709551615", "delay=18446744073709551615"),
        ] {
            let error = text.parse::<FaultRule>().unwrap_err();
            assert!(error.contains(option), "{text}: {error}");
        }
        assert!("X:reset:p=0:times=1:nth=1:delay=0".parse::<FaultRule>().is_ok());
        assert!("X:reset:p=1".parse::<FaultRule>().is_ok());
    }
}
