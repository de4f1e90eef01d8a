//! How long the simulated clouds take to move resources between states:
//! one table of transition kinds, which each cloud maps its resources to.

use std::time::Duration;

/// Largest latency scale: the realistic profile's slowest transition (an
/// image copy, ~5 min) then takes ~3.5 days, and no latency overflows.
pub const MAX_LATENCY_SCALE: f64 = 1000.0;

/// Checks a latency scale: a number from 0 to [`MAX_LATENCY_SCALE`].
///
/// Fails, saying the range, on a negative, non-finite or larger number.
pub fn check_scale(scale: f64) -> Result<f64, String> {
    match (0.0..=MAX_LATENCY_SCALE).contains(&scale) {
        true => Ok(scale),
        false => Err(out_of_range(&crate::numbers::readable(scale))),
    }
}

/// Why `shown`, a latency scale as the user wrote it, is refused.
fn out_of_range(shown: &str) -> String {
    format!(
        "{shown} is not a latency scale: use a number from 0 (no latency) to {MAX_LATENCY_SCALE} (1 is the profile as is)"
    )
}

/// Reads a latency scale as a flag gives it, then [`check_scale`]s it.
///
/// Fails on text that is not a number, or a number out of range.
pub fn parse_scale(text: &str) -> Result<f64, String> {
    let scale = text.trim().parse::<f64>().map_err(|_| format!("{text:?} is not a number; write it like 0.5 or 2"))?;
    // The error echoes the flag's text: the number it reads as may be 309
    // digits long.
    check_scale(scale).map_err(|_| out_of_range(text.trim()))
}

/// A named set of latencies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Every transition is immediate: the next Describe shows the final
    /// state. For tests of API shapes.
    Instant,
    /// A fraction of a second each (the default for `kiln build --simulate`):
    /// clients have to wait, but a whole build takes seconds.
    Fast,
    /// Close to the real cloud: an instance starts in ~27 s, an image takes
    /// ~3 min. Scaled by `--latency-scale`.
    Realistic,
}

impl std::str::FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "instant" => Ok(Profile::Instant),
            "fast" => Ok(Profile::Fast),
            "realistic" => Ok(Profile::Realistic),
            other => Err(format!("unknown latency profile {other:?}; use instant, fast or realistic")),
        }
    }
}

/// The latency of each kind of transition.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Latencies {
    /// A new machine until it can be started (Alibaba: Pending to Stopped).
    pub instance_create: Duration,
    /// Starting a machine until it runs.
    pub instance_start: Duration,
    /// Stopping a machine until it is stopped.
    pub instance_stop: Duration,
    /// Deleting a machine until it is gone (dependents stay blocked
    /// meanwhile).
    pub instance_delete: Duration,
    /// Creating an image until it is available.
    pub image_create: Duration,
    /// Copying an image to another region until the copy is available.
    pub image_copy: Duration,
    /// Taking a disk snapshot until it is complete.
    pub snapshot: Duration,
    /// Creating a private network (a VPC) until it is available.
    pub network: Duration,
    /// Creating a subnet (Alibaba: a VSwitch) until it is available.
    pub subnet: Duration,
    /// Attaching or detaching a public address (an EIP).
    pub address: Duration,
}

impl Latencies {
    /// The latencies of `profile`, each multiplied by `scale` (taken into
    /// 0 to [`MAX_LATENCY_SCALE`] if outside, NaN as 0: see [`check_scale`]
    /// for refusing such a scale with an error).
    pub fn of(profile: Profile, scale: f64) -> Self {
        let scale = if scale.is_nan() { 0.0 } else { scale.clamp(0.0, MAX_LATENCY_SCALE) };
        let ms = |n: u64| Duration::from_millis(n).mul_f64(scale);
        match profile {
            Profile::Instant => Latencies {
                instance_create: Duration::ZERO,
                instance_start: Duration::ZERO,
                instance_stop: Duration::ZERO,
                instance_delete: Duration::ZERO,
                image_create: Duration::ZERO,
                image_copy: Duration::ZERO,
                snapshot: Duration::ZERO,
                network: Duration::ZERO,
                subnet: Duration::ZERO,
                address: Duration::ZERO,
            },
            Profile::Fast => Latencies {
                instance_create: ms(300),
                instance_start: ms(500),
                instance_stop: ms(300),
                instance_delete: ms(300),
                image_create: ms(1000),
                image_copy: ms(1000),
                snapshot: ms(500),
                network: ms(200),
                subnet: ms(200),
                address: ms(200),
            },
            // Measured-looking, not round: a client polling every 5 s must
            // not line up with the cloud by accident (real latencies vary).
            Profile::Realistic => Latencies {
                instance_create: ms(13_600),
                instance_start: ms(27_400),
                instance_stop: ms(17_700),
                instance_delete: ms(22_900),
                image_create: ms(176_300),
                image_copy: ms(291_400),
                snapshot: ms(58_200),
                network: ms(4_300),
                subnet: ms(3_800),
                address: ms(2_700),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_outside_the_range_are_refused_with_it() {
        for text in ["inf", "-inf", "NaN", "-1", "1e400", "1000.5", "x"] {
            let error = parse_scale(text).unwrap_err();
            assert!(error.contains("number"), "{text}: {error}");
        }
        assert_eq!(parse_scale("0"), Ok(0.0));
        assert_eq!(parse_scale("1000"), Ok(1000.0));
    }

    #[test]
    fn a_huge_scale_is_echoed_as_written() {
        assert!(parse_scale("1e308").unwrap_err().starts_with("1e308 is not a latency scale"));
        assert!(check_scale(1e308).unwrap_err().starts_with("1e308 is not a latency scale"));
        assert!(check_scale(-2.0).unwrap_err().starts_with("-2 is not a latency scale"));
    }

    #[test]
    fn any_scale_gives_latencies_without_panicking() {
        for scale in [f64::INFINITY, f64::NEG_INFINITY, f64::NAN, 1e300, -1.0] {
            let _ = Latencies::of(Profile::Realistic, scale);
        }
        assert_eq!(Latencies::of(Profile::Fast, f64::NAN).instance_start, Duration::ZERO);
    }
}
