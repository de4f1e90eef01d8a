//! What the simulator saw: a `kiln build --simulate --sim-report` run and
//! the report it writes (requests, resources, SSH sessions), read back.

use super::project::{Project, Run};
use serde_json::Value;

/// Where [`simulate`] has the report written, in the project.
const REPORT: &str = "report.json";

/// `kiln build --simulate --sim-report report.json EXTRA... template.json`.
pub fn simulate(p: &Project, extra: &[&str]) -> Run {
    let mut args = vec!["build", "--simulate", "--sim-report", REPORT];
    args.extend_from_slice(extra);
    args.push("template.json");
    p.run(&args)
}

/// What the simulator saw, from `--sim-report`.
pub struct Report(pub Value);

impl Report {
    /// Reads `report.json` in the project.
    ///
    /// Panics when it is missing or not JSON.
    pub fn read(p: &Project) -> Report {
        let text = std::fs::read_to_string(p.root().join(REPORT)).expect("simulator report written");
        Report(serde_json::from_str(&text).unwrap())
    }

    /// The requests for `action`.
    pub fn calls(&self, action: &str) -> Vec<&Value> {
        self.0["requests"].as_array().unwrap().iter().filter(|r| r["action"] == action).collect()
    }

    /// The parameters of the only successful call of `action`.
    ///
    /// Panics unless exactly one call of `action` succeeded.
    pub fn params(&self, action: &str) -> &Value {
        let ok: Vec<_> = self.calls(action).into_iter().filter(|r| r["status"] == 200).collect();
        assert_eq!(ok.len(), 1, "expected one successful {action}, saw {ok:?}");
        &ok[0]["params"]
    }

    /// Temporary resources still alive.
    pub fn leftovers(&self) -> Vec<String> {
        kiln_sim::admin::leftovers(&self.0["resources"])
    }

    /// The images that exist at the end.
    pub fn images(&self) -> &Vec<Value> {
        self.0["resources"]["images"].as_array().unwrap()
    }

    /// The first machine that was logged into.
    ///
    /// Panics when none was.
    pub fn machine(&self) -> &Value {
        first_machine(&self.0["ssh"])
    }
}

/// The first machine of an SSH record (`--sim-report`'s `ssh`, or the admin
/// API's `/__kiln/ssh`: machine id → logins, files, commands).
///
/// Panics when no machine was logged into.
pub fn first_machine(ssh: &Value) -> &Value {
    ssh.as_object().unwrap().values().next().expect("a machine was logged into")
}

/// The content of the first file uploaded to `machine`.
///
/// Panics when none was.
pub fn first_file(machine: &Value) -> &str {
    machine["files"].as_object().unwrap().values().next().unwrap().as_str().unwrap()
}
