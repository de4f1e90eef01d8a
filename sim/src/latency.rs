//! How long the simulated cloud takes to move resources between states.

use std::time::Duration;

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
    /// CreateInstance until Stopped.
    pub instance_create: Duration,
    /// StartInstance until Running.
    pub instance_start: Duration,
    /// StopInstance until Stopped.
    pub instance_stop: Duration,
    /// DeleteInstance until gone (dependents stay blocked meanwhile).
    pub instance_delete: Duration,
    /// CreateImage until Available.
    pub image_create: Duration,
    /// CopyImage until the copy is Available.
    pub image_copy: Duration,
    /// CreateSnapshot until accomplished.
    pub snapshot: Duration,
    /// CreateVpc until Available.
    pub vpc: Duration,
    /// CreateVSwitch until Available.
    pub vswitch: Duration,
    /// Associating/Unassociating an EIP.
    pub eip: Duration,
}

impl Latencies {
    /// The latencies of `profile`, each multiplied by `scale`.
    pub fn of(profile: Profile, scale: f64) -> Self {
        let ms = |n: u64| Duration::from_millis(n).mul_f64(scale.max(0.0));
        match profile {
            Profile::Instant => Latencies {
                instance_create: Duration::ZERO,
                instance_start: Duration::ZERO,
                instance_stop: Duration::ZERO,
                instance_delete: Duration::ZERO,
                image_create: Duration::ZERO,
                image_copy: Duration::ZERO,
                snapshot: Duration::ZERO,
                vpc: Duration::ZERO,
                vswitch: Duration::ZERO,
                eip: Duration::ZERO,
            },
            Profile::Fast => Latencies {
                instance_create: ms(300),
                instance_start: ms(500),
                instance_stop: ms(300),
                instance_delete: ms(300),
                image_create: ms(1000),
                image_copy: ms(1000),
                snapshot: ms(500),
                vpc: ms(200),
                vswitch: ms(200),
                eip: ms(200),
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
                vpc: ms(4_300),
                vswitch: ms(3_800),
                eip: ms(2_700),
            },
        }
    }
}
