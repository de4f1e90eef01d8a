//! The machine endpoints: the one module that names each of them. A new
//! endpoint (WinRM for Windows machines) is one more line in [`start`].

use crate::cloud::MachineLookup;
use crate::config::Config;
use crate::endpoint::MachineEndpoint;
use crate::ssh::SshHub;
use crate::warnings::Warnings;
use std::sync::{Arc, Weak};

/// Every endpoint `config` describes, each looking machines up in
/// `machines` (weakly: once the simulator is gone, its machines answer no
/// more), saying what goes wrong as they serve to `warnings`. Fails when
/// one cannot be set up (no SSH host key can be made).
pub fn start(
    config: &Config,
    machines: Weak<dyn MachineLookup>,
    warnings: Warnings,
) -> std::io::Result<Vec<Arc<dyn MachineEndpoint>>> {
    let ssh: Arc<dyn MachineEndpoint> = SshHub::new(config.ssh.clone(), config.ssh_port, machines, warnings)?;
    Ok(vec![ssh])
}
