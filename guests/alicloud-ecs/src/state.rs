//! The typed state one build's steps share (Packer's state bag, with a
//! field per thing instead of string keys).

use crate::options::Options;
use crate::rpc::Client;
use kiln_guest::Config;
use kiln_guest::secrets::{self, Secret};

/// The communicator, as the steps need it.
pub struct Comm {
    /// `ssh_host` / `winrm_host`: connect there instead of the instance's IP.
    pub host: Option<String>,
    /// The template's password (`ssh_password` / `winrm_password`), set as
    /// the instance's password at creation.
    pub password: Option<Secret>,
}

impl Comm {
    /// Takes what the steps need from the host's settings. The password
    /// handle is copied (by the host) so that the state owns it.
    pub fn from_config(config: &Config) -> Comm {
        let settings = &config.communicator;
        Comm {
            host: settings.host.clone().filter(|h| !h.is_empty()),
            password: settings.password.as_ref().map(|p| secrets::with_affix(p, "", "")),
        }
    }
}

/// An existing VSwitch the user named, as preflight found it.
#[derive(Clone, Debug)]
pub struct ExistingVSwitch {
    /// Its id.
    pub id: String,
    /// Its VPC.
    pub vpc_id: String,
    /// Its zone.
    pub zone_id: String,
}

/// An image of an old build that `image_force_delete` replaces.
#[derive(Clone, Debug)]
pub struct Duplicate {
    /// Region.
    pub region: String,
    /// Image id.
    pub id: String,
    /// Its snapshots.
    pub snapshots: Vec<String>,
}

/// An image this build made (the source-region image or a copy).
#[derive(Clone, Debug)]
pub struct Image {
    /// Region.
    pub region: String,
    /// Image id.
    pub id: String,
    /// Its snapshots, once known (after it is Available).
    pub snapshots: Vec<String>,
    /// Its ledger entry.
    pub entry: Option<u64>,
}

/// Everything the steps know about the build.
pub struct State {
    /// The checked configuration.
    pub opts: Options,
    /// The API client.
    pub client: Client,
    /// The communicator.
    pub comm: Comm,
    /// The build's name, for descriptions.
    pub build_name: String,
    /// Zone to create the VSwitch and instance in.
    pub zone_id: Option<String>,
    /// The VSwitch the user named, if any.
    pub existing_vswitch: Option<ExistingVSwitch>,
    /// Old images to delete just before the new one is made.
    pub duplicates: Vec<Duplicate>,
    /// Key pair passed to CreateInstance (temporary or the user's).
    pub key_pair_name: Option<String>,
    /// Private key of the temporary key pair.
    pub private_key: Option<Secret>,
    /// The VPC.
    pub vpc_id: Option<String>,
    /// The VPC's CIDR block.
    pub vpc_cidr: Option<String>,
    /// The VSwitch.
    pub vswitch_id: Option<String>,
    /// The security group.
    pub security_group_id: Option<String>,
    /// The instance.
    pub instance_id: Option<String>,
    /// The instance's private IP.
    pub private_ip: Option<String>,
    /// The address kiln connects to.
    pub ip: Option<String>,
    /// The system-disk snapshot (`image_ignore_data_disks`).
    pub snapshot_id: Option<String>,
    /// Images made: the source region's first, then the copies.
    pub images: Vec<Image>,
}

impl State {
    /// The state before any step ran.
    pub fn new(opts: Options, client: Client, comm: Comm, build_name: String) -> Self {
        State {
            opts,
            client,
            comm,
            build_name,
            zone_id: None,
            existing_vswitch: None,
            duplicates: Vec::new(),
            key_pair_name: None,
            private_key: None,
            vpc_id: None,
            vpc_cidr: None,
            vswitch_id: None,
            security_group_id: None,
            instance_id: None,
            private_ip: None,
            ip: None,
            snapshot_id: None,
            images: Vec::new(),
        }
    }

    /// The instance id, which every step after `create instance` has.
    pub fn instance(&self) -> Result<&str, kiln_guest::steps::StepError> {
        self.instance_id.as_deref().ok_or_else(|| kiln_guest::steps::StepError::failed("no instance was created"))
    }
}
