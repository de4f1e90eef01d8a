//! The rules that involve several fields (copies and their names, the
//! security group's sources, the communicator, bandwidth, contradictions),
//! checked once every field is read.

use super::{ChargeType, CopyTarget, DEFAULT_SOURCE_CIDR, Options, Parser, rules};
use kiln_guest::types::CommunicatorKind;

impl Parser<'_> {
    /// Copy regions paired with their names; duplicates and the source
    /// region are dropped with a warning (Packer drops them silently).
    pub(super) fn copies(&mut self, source: &str) -> Vec<CopyTarget> {
        // Positions matter: the nth name goes with the nth region, and an
        // empty name means "the image's own name".
        let regions = self.r.positional_list("image_copy_regions");
        let names = self.r.positional_list("image_copy_names");
        if names.len() > regions.len() {
            self.r.fail(
                "image_copy_names",
                format!(
                    "image_copy_names has {} names for {} image_copy_regions; give at most one name per region",
                    names.len(),
                    regions.len()
                ),
            );
        }
        for (i, name) in names.iter().enumerate().filter(|(_, n)| !n.is_empty()) {
            if let Err(problem) = rules::name(name) {
                self.r.fail(&format!("image_copy_names/{i}"), format!("image_copy_names[{i}] {problem}"));
            }
        }
        let image_name = self.r.text("image_name").unwrap_or_default();
        let mut copies: Vec<CopyTarget> = Vec::new();
        for (i, region) in regions.into_iter().enumerate() {
            if let Err(problem) = rules::region(&region) {
                self.r.fail(&format!("image_copy_regions/{i}"), format!("image_copy_regions[{i}]: {problem}"));
                continue;
            }
            if region == source {
                self.r.warn(format!("image_copy_regions lists the build's region {region}; the image is made there anyway, so no copy is made"));
                continue;
            }
            if copies.iter().any(|c| c.region == region) {
                self.r.warn(format!("image_copy_regions lists {region} more than once; one copy is made"));
                continue;
            }
            let name = names.get(i).filter(|n| !n.is_empty()).cloned().unwrap_or_else(|| image_name.clone());
            copies.push(CopyTarget { region, name });
        }
        copies
    }

    pub(super) fn source_cidrs(&mut self, options: &Options) -> Vec<String> {
        let given = self.r.config().value("temporary_security_group_source_cidrs").is_some();
        let cidrs = self.r.list("temporary_security_group_source_cidrs");
        for (i, cidr) in cidrs.iter().enumerate() {
            if let Err(problem) = kiln_guest::net::cidr(cidr) {
                self.r.fail(
                    &format!("temporary_security_group_source_cidrs/{i}"),
                    format!("temporary_security_group_source_cidrs[{i}]: {problem}"),
                );
            }
        }
        if given && options.security_group_id.is_some() {
            self.r.warn(
                "temporary_security_group_source_cidrs is not used: security_group_id names an existing group"
                    .to_string(),
            );
        }
        if given && options.ssh_private_ip {
            self.r.warn("temporary_security_group_source_cidrs is not used: with ssh_private_ip the group admits the VPC's block".to_string());
        }
        if !cidrs.is_empty() {
            return cidrs;
        }
        if options.uses_eip() && options.security_group_id.is_none() {
            self.r.warn(format!(
                "the temporary security group admits port {}/tcp from anywhere ({DEFAULT_SOURCE_CIDR}); \
                 set temporary_security_group_source_cidrs to the addresses kiln connects from to narrow it",
                options.port
            ));
        }
        vec![DEFAULT_SOURCE_CIDR.to_string()]
    }

    /// The host owns and checked the communicator settings; what the
    /// builder adds is who logs in and with what.
    pub(super) fn communicator(&mut self, options: &Options, has_password: bool, has_private_key: bool) {
        let settings = &self.r.config().communicator;
        let username_missing = settings.username.is_none();
        match options.communicator {
            CommunicatorKind::Ssh if username_missing => {
                self.r.fail("ssh_username", "ssh_username must be set: kiln logs in to the instance as that user")
            }
            CommunicatorKind::Winrm if username_missing => {
                self.r.fail("winrm_username", "winrm_username must be set: kiln logs in to the instance as that user")
            }
            _ => {}
        }
        if options.communicator == CommunicatorKind::Winrm && !has_password {
            self.r.fail(
                "winrm_password",
                "winrm_password must be set: kiln makes it the instance's password at creation and logs in with it",
            );
        }
        if options.ssh_keypair_name.is_some() {
            if options.communicator != CommunicatorKind::Ssh {
                self.r.fail("ssh_keypair_name", "ssh_keypair_name applies to the SSH communicator only");
            } else if !has_private_key {
                self.r.fail("ssh_keypair_name", "ssh_keypair_name needs ssh_private_key_file or ssh_agent_auth: the key pair only installs its public key, and kiln logs in with the matching private key");
            }
        }
        if options.temporary_key_pair_name.is_some() && !options.temporary_key_pair {
            self.r.warn("temporary_key_pair_name is not used: kiln creates a temporary key pair only for SSH without a password or private key".to_string());
        }
        if options.ssh_private_ip && options.communicator == CommunicatorKind::None {
            self.r.warn("ssh_private_ip is not used: the communicator is none".to_string());
        }
    }

    pub(super) fn bandwidth(&mut self, options: &Options) {
        let Some(bandwidth) = options.bandwidth else { return };
        let charge = options.effective_charge_type();
        let (min, max) = match charge {
            ChargeType::PayByBandwidth => (0, 100),
            ChargeType::PayByTraffic => (1, 100),
        };
        if !(min..=max).contains(&bandwidth) {
            self.r.fail(
                "internet_max_bandwidth_out",
                format!(
                    "internet_max_bandwidth_out must be {min} to {max} Mbit/s with {}, not {bandwidth}",
                    charge.as_str()
                ),
            );
        } else if bandwidth == 0 && options.uses_eip() {
            self.r.fail("internet_max_bandwidth_out", "internet_max_bandwidth_out 0 leaves the EIP kiln connects through without bandwidth; use 1 to 100 (or ssh_private_ip)");
        }
    }

    /// Combinations that contradict each other.
    pub(super) fn coherence(&mut self, options: &Options) {
        if self.r.flag("associate_public_ip_address") && options.ssh_private_ip {
            self.r.fail("associate_public_ip_address", "associate_public_ip_address and ssh_private_ip contradict each other: kiln reaches the instance through either an EIP or its private IP");
        }
        if options.vswitch_id.is_some() || options.vpc_id.is_some() {
            for unused in ["vpc_name", "vpc_cidr_block"] {
                if self.r.text(unused).is_some() {
                    self.r.warn(format!("{unused} is not used: the build uses an existing VPC"));
                }
            }
        }
        if options.vswitch_id.is_some() && self.r.text("vswitch_name").is_some() {
            self.r.warn("vswitch_name is not used: the build uses an existing VSwitch".to_string());
        }
        if options.security_group_id.is_some() && options.security_group_name.is_some() {
            self.r.warn("security_group_name is not used: the build uses an existing security group".to_string());
        }
        if options.force_delete_snapshots && !options.force_delete {
            self.r.warn("image_force_delete_snapshots has no effect without image_force_delete".to_string());
        }
        if options.disable_stop && options.force_stop {
            self.r.warn(
                "force_stop_instance is not used: disable_stop_instance leaves stopping to the provisioners"
                    .to_string(),
            );
        }
    }
}
