//! The machine endpoints: the one module that names each of them. A new
//! endpoint is one more line in [`start`]: SSH serves the Linux
//! machines, WinRM the Windows ones.

use crate::cloud::MachineLookup;
use crate::config::Config;
use crate::endpoint::MachineEndpoint;
use crate::ssh::SshHub;
use crate::warnings::Warnings;
use crate::winrm::WinrmHub;
use std::sync::{Arc, Weak};

/// Every endpoint `config` describes, each looking machines up in
/// `machines` (weakly: once the simulator is gone, its machines answer no
/// more), saying what goes wrong as they serve to `warnings`. Fails when
/// one cannot be set up (no SSH host key, or no WinRM TLS certificate,
/// can be made).
pub fn start(
    config: &Config,
    machines: Weak<dyn MachineLookup>,
    warnings: Warnings,
) -> std::io::Result<Vec<Arc<dyn MachineEndpoint>>> {
    let ssh: Arc<dyn MachineEndpoint> =
        SshHub::new(config.ssh.clone(), config.ssh_port, machines.clone(), warnings.clone())?;
    // A restart's length left out of the settings follows the profile.
    let winrm_settings = config.winrm.for_profile(config.profile, config.latency_scale);
    let winrm: Arc<dyn MachineEndpoint> = WinrmHub::new(winrm_settings, machines, warnings)?;
    Ok(vec![ssh, winrm])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::{NoMachines, OsFamily};

    #[tokio::test]
    async fn linux_machines_get_ssh_and_windows_ones_winrm() {
        let lookup: Arc<dyn MachineLookup> = Arc::new(NoMachines);
        let endpoints = start(&Config::default(), Arc::downgrade(&lookup), Warnings::to(|_| {})).unwrap();
        let named: Vec<(&str, OsFamily)> = endpoints.iter().map(|e| (e.name(), e.family())).collect();
        assert_eq!(named, [("ssh", OsFamily::Linux), ("winrm", OsFamily::Windows)]);
        for endpoint in &endpoints {
            endpoint.stop();
        }
    }
}
