//! A simulated Windows machine on loopback, from `kiln-sim`, for the WinRM
//! tests: the machine that a `null` builder with `"communicator": "winrm"`,
//! pywinrm, winrmcp and Packer all talk to. It runs in the test's process
//! (on a runtime of its own), so a test can read the bytes that arrived.

use kiln_sim::winrm::{Standalone, StandaloneConfig};
use serde_json::{Value, json};

/// The user every simulated machine of the suite accepts.
pub const USER: &str = "Administrator";

/// Its password: quotes, a backslash, XML's and URL's special characters,
/// so that nothing that escapes it on the way goes unnoticed, and a
/// canary prefix, so that the sweep finds it wherever kiln prints it.
pub const PASSWORD: &str = "KILNCANARY-wp-5e2a \"q\\b\" 'o' <&> /+=:@";

/// An `alicloud-ecs` builder of a Windows Server 2019 image named
/// `image_name` from the simulator's public image, over WinRM as
/// Administrator with `password` (the instance's, given at creation); the
/// credentials come from the template's `access_key` and `secret_key`
/// variables.
pub fn alicloud_builder(image_name: &str, password: &str) -> Value {
    json!({
        "type": "alicloud-ecs", "access_key": "{{user `access_key`}}", "secret_key": "{{user `secret_key`}}",
        "region": "cn-beijing", "image_name": image_name,
        "source_image": "win2019_1809_x64_dtc_en-us_40G_alibase_20201120.vhd",
        "instance_type": "ecs.n1.tiny", "io_optimized": "true",
        "communicator": "winrm", "winrm_username": USER, "winrm_password": password,
    })
}

/// A running simulated Windows machine.
pub struct Windows {
    sim: Standalone,
    /// The port its WinRM listener is on (127.0.0.1).
    pub port: u16,
    /// Whether it speaks HTTPS (with a self-signed certificate).
    pub https: bool,
    // Last: dropped after the machine, whose tasks run on it.
    _runtime: tokio::runtime::Runtime,
}

impl Windows {
    /// A machine speaking plain HTTP with the suite's user and password
    /// and Windows' default envelope size (500 KB).
    pub fn start() -> Windows {
        Windows::start_with(|_| {})
    }

    /// The same over HTTPS.
    pub fn start_https() -> Windows {
        Windows::start_with(|c| c.https = true)
    }

    /// A machine set up as [`Windows::start`], then changed by `change`.
    pub fn start_with(change: impl FnOnce(&mut StandaloneConfig)) -> Windows {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("a runtime");
        let mut config = StandaloneConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            https: false,
            username: USER.into(),
            password: PASSWORD.into(),
            max_envelope_size_kb: 500,
            drop_after_stdin_bytes: None,
            ..StandaloneConfig::default()
        };
        change(&mut config);
        let https = config.https;
        let sim = runtime.block_on(async { Standalone::start(config).await }).expect("the simulated machine starts");
        let port = sim.address().port();
        Windows { sim, port, https, _runtime: runtime }
    }

    /// The bytes of the machine's file `path`, if it has one.
    pub fn file(&self, path: &str) -> Option<Vec<u8>> {
        self.sim.machine().file(path)
    }

    /// Every path of the machine's files.
    pub fn paths(&self) -> Vec<String> {
        self.sim.machine().files().into_iter().map(|f| f.path).collect()
    }

    /// What it recorded: every request, counts per action, files.
    pub fn records(&self) -> Value {
        self.sim.records()
    }

    /// How many requests of `action` (`Send`, `Receive`, `Command`…) it
    /// answered.
    pub fn count(&self, action: &str) -> u64 {
        self.records()["counts"][action].as_u64().unwrap_or(0)
    }

    /// How many stdin bytes its commands were sent, in all.
    pub fn stdin_bytes(&self) -> u64 {
        let records = self.records();
        let requests = records["requests"].as_array().cloned().unwrap_or_default();
        requests.iter().filter_map(|r| r["stdin_bytes"].as_u64()).sum()
    }

    /// A `null` builder that logs in to this machine over WinRM, with
    /// `extra` settings merged in.
    pub fn null_builder(&self, extra: Value) -> Value {
        let mut builder = json!({
            "type": "null",
            "communicator": "winrm",
            "winrm_host": "127.0.0.1",
            "winrm_port": self.port,
            "winrm_username": USER,
            "winrm_password": PASSWORD,
            "winrm_timeout": "30s",
        });
        if self.https {
            builder["winrm_use_ssl"] = json!(true);
            builder["winrm_insecure"] = json!(true);
        }
        for (k, v) in extra.as_object().expect("extra settings are an object") {
            builder[k] = v.clone();
        }
        builder
    }
}

impl Drop for Windows {
    fn drop(&mut self) {
        self.sim.stop();
    }
}
