//! How long the simulated clouds take to move resources between states:
//! one table of transition kinds, which each cloud maps its resources to.

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
