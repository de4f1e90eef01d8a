//! The simulated clouds: the one module that names each of them. A new
//! cloud is one more line in each function here.

use crate::alicloud::Alicloud;
use crate::cloud::{Cloud, Clouds};
use crate::config::Config;
use serde_json::Value;

/// Every cloud `config` describes, empty, in the order they are asked to
/// recognise a request.
pub fn start(config: &Config) -> Clouds {
    Clouds(vec![Box::new(Alicloud::new(config))])
}

/// Makes each cloud accept the credentials the user's environment holds
/// for it (`env` answers set, non-empty variables only).
pub fn accept_environment(config: &mut Config, env: &dyn Fn(&str) -> Option<String>) {
    Alicloud::accept_environment(config, env);
}

/// The temporary resources in a `/__kiln/resources` view (as the admin API
/// answered it, perhaps read back from a report), as `kind id`: what a
/// build must not leave behind, every cloud's.
pub fn leftovers(resources: &Value) -> Vec<String> {
    Alicloud::leftovers(resources)
}
