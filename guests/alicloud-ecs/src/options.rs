//! The builder's configuration: the fields it declares ([`fields`]), and
//! their parsing into a typed [`Options`] with every rule of the user
//! documentation checked at once (one error per problem, pointing at the
//! field and saying the rule).

mod checks;
mod disks;
pub mod fields;
mod rules;

pub use disks::{DEFAULT_DISK_CATEGORY, DataDisk, SystemDisk};
pub use rules::free_slash24;

use crate::rpc::{self, Api, Endpoints};
use kiln_guest::Config;
use kiln_guest::config::field_error;
use kiln_guest::types::{CommunicatorKind, FieldError};
use std::collections::BTreeMap;
use std::time::Duration;

/// Default `vpc_cidr_block`.
pub const DEFAULT_VPC_CIDR: &str = "172.16.0.0/16";
/// The VPC blocks the API accepts for a new VPC.
const VPC_CIDRS: &[&str] = &["172.16.0.0/16", "192.168.0.0/16", "10.0.0.0/8"];
/// Default `temporary_security_group_source_cidrs` (as Packer: anywhere).
pub const DEFAULT_SOURCE_CIDR: &str = "0.0.0.0/0";
/// Default `wait_snapshot_ready_timeout`, seconds.
pub const DEFAULT_IMAGE_TIMEOUT_SECS: i64 = 3600;
/// EIP bandwidth when `internet_max_bandwidth_out` is unset, Mbit/s.
pub const DEFAULT_EIP_BANDWIDTH: i64 = 5;
/// Raw user data limit, bytes.
const USER_DATA_LIMIT: usize = 16 * 1024;
/// Accounts per `ModifyImageSharePermission`.
const MAX_SHARE_ACCOUNTS: usize = 10;
/// Tags per ECS resource.
const MAX_TAGS: usize = 20;

/// How public bandwidth is billed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChargeType {
    /// By fixed bandwidth.
    PayByBandwidth,
    /// By traffic.
    PayByTraffic,
}

impl ChargeType {
    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ChargeType::PayByBandwidth => "PayByBandwidth",
            ChargeType::PayByTraffic => "PayByTraffic",
        }
    }
}

/// A region to copy the image to, with the copy's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyTarget {
    /// Destination region.
    pub region: String,
    /// Name of the copy.
    pub name: String,
}

/// The configuration of one build, checked.
#[derive(Clone, Debug)]
pub struct Options {
    // Access.
    /// The build's region.
    pub region: String,
    /// Skip the DescribeRegions check.
    pub skip_region_validation: bool,
    /// Look among expired images and accept a deprecated source image.
    pub skip_image_validation: bool,
    /// Timeout of each HTTP exchange.
    pub request_timeout: Duration,
    /// Custom endpoints.
    pub endpoints: Endpoints,
    // Image.
    /// The new image's name.
    pub image_name: String,
    /// `ImageVersion`.
    pub image_version: Option<String>,
    /// `Description` of the image and its copies.
    pub image_description: Option<String>,
    /// Accounts to share the images with.
    pub share_accounts: Vec<String>,
    /// Accounts to remove from the images' sharing.
    pub unshare_accounts: Vec<String>,
    /// Copies to make, source region excluded, without duplicates.
    pub copies: Vec<CopyTarget>,
    /// Replace images of the same name (also set by `-force`).
    pub force_delete: bool,
    /// Delete their snapshots too (also set by `-force`).
    pub force_delete_snapshots: bool,
    /// `DeleteImage Force=true` (even if instances use the image).
    pub force_delete_instances: bool,
    /// Image from a system-disk snapshot.
    pub ignore_data_disks: bool,
    /// Tags, sorted by key.
    pub tags: BTreeMap<String, String>,
    /// The system disk.
    pub system_disk: Option<SystemDisk>,
    /// Data disks.
    pub data_disks: Vec<DataDisk>,
    /// Deadline for the image, copies and snapshot.
    pub image_timeout: Duration,
    // Run.
    /// Instance type.
    pub instance_type: String,
    /// Source image id.
    pub source_image: String,
    /// Zone, if the user chose one.
    pub zone_id: Option<String>,
    /// `IoOptimized`, when set.
    pub io_optimized: Option<bool>,
    /// `ForceStop`.
    pub force_stop: bool,
    /// Let the provisioners stop the instance.
    pub disable_stop: bool,
    /// Existing security group.
    pub security_group_id: Option<String>,
    /// Temporary security group name.
    pub security_group_name: Option<String>,
    /// Blocks the temporary group admits.
    pub source_cidrs: Vec<String>,
    /// Raw user data (from `user_data` or `user_data_file`).
    pub user_data: Option<String>,
    /// Existing VPC.
    pub vpc_id: Option<String>,
    /// Temporary VPC name.
    pub vpc_name: Option<String>,
    /// Temporary VPC block.
    pub vpc_cidr: String,
    /// Existing VSwitch.
    pub vswitch_id: Option<String>,
    /// Temporary VSwitch name.
    pub vswitch_name: Option<String>,
    /// Instance display name.
    pub instance_name: Option<String>,
    /// Instance description.
    pub description: Option<String>,
    /// Charge type, if set.
    pub charge_type: Option<ChargeType>,
    /// Bandwidth, if set.
    pub bandwidth: Option<i64>,
    /// Connect through the private IP; no EIP.
    pub ssh_private_ip: bool,
    /// Name for the temporary key pair.
    pub temporary_key_pair_name: Option<String>,
    /// Existing key pair to install.
    pub ssh_keypair_name: Option<String>,
    // Communicator, as the host decided.
    /// The communicator kind.
    pub communicator: CommunicatorKind,
    /// The communicator port.
    pub port: u16,
    /// The instance needs a temporary key pair (SSH without password or key).
    pub temporary_key_pair: bool,
}

impl Options {
    /// Reads and checks `config`; the warnings are non-fatal remarks.
    pub fn parse(config: &Config) -> Result<(Options, Vec<String>), Vec<FieldError>> {
        let mut r = Reader { config, errors: Vec::new(), warnings: Vec::new() };
        let options = r.options();
        if r.errors.is_empty() { Ok((options, r.warnings)) } else { Err(r.errors) }
    }

    /// The hosts this build talks to: ECS and VPC in the build's region,
    /// ECS in each copy region (or the custom endpoints' hosts).
    pub fn egress(&self) -> Vec<String> {
        let mut hosts = vec![
            rpc::host_of(&self.endpoints.url(Api::Ecs, &self.region)),
            rpc::host_of(&self.endpoints.url(Api::Vpc, &self.region)),
        ];
        for copy in &self.copies {
            hosts.push(rpc::host_of(&self.endpoints.url(Api::Ecs, &copy.region)));
        }
        let mut seen = std::collections::BTreeSet::new();
        hosts.retain(|h| seen.insert(h.clone()));
        hosts
    }

    /// Whether kiln allocates an EIP to reach the instance.
    pub fn uses_eip(&self) -> bool {
        !self.ssh_private_ip && self.communicator != CommunicatorKind::None
    }

    /// The effective charge type: the user's, else PayByTraffic for an
    /// EIP and the API's PayByBandwidth for an instance's own bandwidth.
    pub fn effective_charge_type(&self) -> ChargeType {
        self.charge_type.unwrap_or(if self.uses_eip() { ChargeType::PayByTraffic } else { ChargeType::PayByBandwidth })
    }

    /// Every region the build makes an image in: the source, then copies.
    pub fn image_regions(&self) -> Vec<(String, String)> {
        let mut regions = vec![(self.region.clone(), self.image_name.clone())];
        regions.extend(self.copies.iter().map(|c| (c.region.clone(), c.name.clone())));
        regions
    }
}

/// Collects values, errors and warnings.
struct Reader<'c> {
    config: &'c Config,
    errors: Vec<FieldError>,
    warnings: Vec<String>,
}

impl Reader<'_> {
    fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(field_error(&format!("/{field}"), &message.into()));
    }

    /// A text field; unset, null and blank are all "not set".
    fn text(&self, name: &str) -> Option<String> {
        self.config.string(name).filter(|s| !s.trim().is_empty()).map(str::to_string)
    }

    /// A text field that must not carry surrounding spaces (ids, names).
    fn id(&mut self, name: &str) -> Option<String> {
        let value = self.text(name)?;
        if value.trim() != value {
            self.fail(name, format!("{name} must not begin or end with spaces"));
        }
        Some(value.trim().to_string())
    }

    fn flag(&self, name: &str) -> bool {
        self.config.boolean(name, false)
    }

    fn list(&mut self, name: &str) -> Vec<String> {
        match self.config.decode::<Vec<String>>(name) {
            Ok(list) => {
                list.unwrap_or_default().into_iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
            }
            Err(e) => {
                self.errors.push(e);
                Vec::new()
            }
        }
    }

    /// A list whose entries keep their positions (trimmed, empty ones kept).
    fn positional_list(&mut self, name: &str) -> Vec<String> {
        match self.config.decode::<Vec<String>>(name) {
            Ok(list) => list.unwrap_or_default().into_iter().map(|s| s.trim().to_string()).collect(),
            Err(e) => {
                self.errors.push(e);
                Vec::new()
            }
        }
    }

    /// A field checked by `rule`, which words the problem after the name.
    fn checked(&mut self, name: &str, rule: impl Fn(&str) -> Result<(), String>) -> Option<String> {
        let value = self.text(name)?;
        if let Err(problem) = rule(&value) {
            self.fail(name, format!("{name} {problem}"));
        }
        Some(value)
    }

    fn options(&mut self) -> Options {
        let force = self.config.force;
        self.refuse_unsupported();
        let region = self.required_region();
        let communicator = self.config.communicator.kind;
        let has_password = self.config.communicator.has_password;
        let has_private_key = self.config.communicator.has_private_key;
        let ssh_private_ip = self.flag("ssh_private_ip");
        let mut options = Options {
            skip_region_validation: self.flag("skip_region_validation"),
            skip_image_validation: self.flag("skip_image_validation"),
            request_timeout: self.request_timeout(),
            endpoints: Endpoints {
                ecs: self.endpoint("custom_endpoint_ecs"),
                vpc: self.endpoint("custom_endpoint_vpc"),
            },
            image_name: self.required_name("image_name"),
            image_version: self.checked("image_version", |v| rules::description(v, 1, 40)),
            image_description: self.checked("image_description", |v| rules::description(v, 0, 256)),
            share_accounts: self.accounts("image_share_account"),
            unshare_accounts: self.accounts("image_unshare_account"),
            copies: Vec::new(),
            force_delete: self.flag("image_force_delete") || force,
            force_delete_snapshots: self.flag("image_force_delete_snapshots") || force,
            force_delete_instances: self.flag("image_force_delete_instances"),
            ignore_data_disks: self.flag("image_ignore_data_disks"),
            tags: self.tags(),
            system_disk: disks::system_disk(self.config.value("system_disk_mapping"), &mut self.errors),
            data_disks: disks::data_disks(self.config.value("image_disk_mappings"), &mut self.errors),
            image_timeout: self.image_timeout(),
            instance_type: self.required_id("instance_type"),
            source_image: self.required_id("source_image"),
            zone_id: self.id("zone_id"),
            io_optimized: self.config.value("io_optimized").and_then(serde_json::Value::as_bool),
            force_stop: self.flag("force_stop_instance"),
            disable_stop: self.flag("disable_stop_instance"),
            security_group_id: self.id("security_group_id"),
            security_group_name: self.checked("security_group_name", rules::name),
            source_cidrs: Vec::new(),
            user_data: self.user_data(),
            vpc_id: self.id("vpc_id"),
            vpc_name: self.checked("vpc_name", rules::name),
            vpc_cidr: self.vpc_cidr(),
            vswitch_id: self.id("vswitch_id"),
            vswitch_name: self.checked("vswitch_name", rules::name),
            instance_name: self.checked("instance_name", rules::name),
            description: self.checked("description", |v| rules::description(v, 2, 256)),
            charge_type: self.charge_type(),
            bandwidth: self.config.integer("internet_max_bandwidth_out"),
            ssh_private_ip,
            temporary_key_pair_name: self.checked("temporary_key_pair_name", rules::key_pair_name),
            ssh_keypair_name: self.id("ssh_keypair_name"),
            communicator,
            port: self.config.communicator.port,
            temporary_key_pair: communicator == CommunicatorKind::Ssh && !has_password && !has_private_key,
            region,
        };
        options.copies = self.copies(&options.region);
        options.source_cidrs = self.source_cidrs(&options);
        self.credentials();
        self.communicator(&options, has_password, has_private_key);
        self.bandwidth(&options);
        self.coherence(&options);
        options
    }

    /// Packer options kiln cannot honour yet are refused by name rather
    /// than ignored.
    fn refuse_unsupported(&mut self) {
        if self.text("profile").is_some() {
            self.fail("profile", "profile is not supported by kiln yet: kiln reads no credential files; set access_key and secret_key (or ALICLOUD_ACCESS_KEY and ALICLOUD_SECRET_KEY)");
        }
        if self.text("shared_credentials_file").is_some() {
            self.fail("shared_credentials_file", "shared_credentials_file is not supported by kiln yet: kiln reads no credential files; set access_key and secret_key (or ALICLOUD_ACCESS_KEY and ALICLOUD_SECRET_KEY)");
        }
        if self.flag("image_encrypted") {
            self.fail("image_encrypted", "image_encrypted is not supported by kiln yet: the encrypted-copy flow is not implemented; remove it or set it to false");
        }
    }

    /// The credentials arrive as secrets (the host applied the environment
    /// fallbacks and reports missing required fields itself; this repeats
    /// the check for a host that did not).
    fn credentials(&mut self) {
        for (field, env) in [("access_key", "ALICLOUD_ACCESS_KEY"), ("secret_key", "ALICLOUD_SECRET_KEY")] {
            if self.config.secret(&format!("/{field}")).is_none() {
                self.fail(field, format!("{field} must be set in the template or through {env}"));
            }
        }
    }

    fn required_region(&mut self) -> String {
        match self.id("region") {
            Some(region) => {
                if let Err(problem) = rules::region(&region) {
                    self.fail("region", format!("region: {problem}"));
                }
                region
            }
            None => {
                self.fail("region", "region must be set in the template or through ALICLOUD_REGION");
                String::new()
            }
        }
    }

    fn required_id(&mut self, name: &str) -> String {
        self.id(name).unwrap_or_else(|| {
            self.fail(name, format!("{name} must be set"));
            String::new()
        })
    }

    fn required_name(&mut self, name: &str) -> String {
        self.checked(name, rules::name).unwrap_or_else(|| {
            self.fail(name, format!("{name} must be set"));
            String::new()
        })
    }

    fn request_timeout(&mut self) -> Duration {
        let floor = rpc::DEFAULT_REQUEST_TIMEOUT;
        match self.config.integer("TLSHandshakeTimeout") {
            None => floor,
            Some(seconds) if seconds >= 1 => floor.max(Duration::from_secs(seconds as u64)),
            Some(seconds) => {
                self.fail(
                    "TLSHandshakeTimeout",
                    format!("TLSHandshakeTimeout must be a number of seconds of 1 or more, not {seconds}"),
                );
                floor
            }
        }
    }

    fn endpoint(&mut self, name: &str) -> Option<String> {
        let value = self.text(name)?;
        match rules::endpoint(&value) {
            Ok(url) => Some(url),
            Err(problem) => {
                self.fail(name, format!("{name}: {problem}"));
                None
            }
        }
    }

    fn accounts(&mut self, name: &str) -> Vec<String> {
        let accounts = self.list(name);
        if accounts.len() > MAX_SHARE_ACCOUNTS {
            self.fail(
                name,
                format!("{name} lists {} accounts; at most {MAX_SHARE_ACCOUNTS} are allowed", accounts.len()),
            );
        }
        accounts
    }

    fn tags(&mut self) -> BTreeMap<String, String> {
        let tags = match self.config.decode::<BTreeMap<String, String>>("tags") {
            Ok(tags) => tags.unwrap_or_default(),
            Err(e) => {
                self.errors.push(e);
                return BTreeMap::new();
            }
        };
        if tags.len() > MAX_TAGS {
            self.fail("tags", format!("tags has {} entries; an image holds at most {MAX_TAGS}", tags.len()));
        }
        for (key, value) in &tags {
            let lower = key.to_ascii_lowercase();
            if key.is_empty() || key.chars().count() > 128 {
                self.fail("tags", format!("tag key {key:?} must be 1 to 128 characters long"));
            } else if lower.starts_with("aliyun")
                || lower.starts_with("acs:")
                || lower.starts_with("http://")
                || lower.starts_with("https://")
            {
                self.fail("tags", format!("tag key {key:?} must not begin with aliyun, acs:, http:// or https://"));
            }
            if value.chars().count() > 128 {
                self.fail("tags", format!("the value of tag {key:?} must be at most 128 characters long"));
            }
        }
        tags
    }

    fn image_timeout(&mut self) -> Duration {
        match self.config.integer("wait_snapshot_ready_timeout") {
            None | Some(0) => Duration::from_secs(DEFAULT_IMAGE_TIMEOUT_SECS as u64),
            Some(seconds) if seconds > 0 => Duration::from_secs(seconds as u64),
            Some(seconds) => {
                self.fail(
                    "wait_snapshot_ready_timeout",
                    format!("wait_snapshot_ready_timeout must be a positive number of seconds, not {seconds}"),
                );
                Duration::from_secs(DEFAULT_IMAGE_TIMEOUT_SECS as u64)
            }
        }
    }

    fn user_data(&mut self) -> Option<String> {
        // Not `text`: user data is kept byte for byte, surrounding spaces
        // included; only an empty value means unset.
        let inline = self.config.string("user_data").filter(|s| !s.is_empty()).map(str::to_string);
        let file = self.config.string("user_data_file").filter(|s| !s.is_empty()).map(str::to_string);
        if inline.is_some() && file.is_some() {
            self.fail("user_data_file", "only one of user_data or user_data_file can be set");
            return None;
        }
        let (field, data) = match (inline, file) {
            (Some(data), _) => ("user_data", data),
            (_, Some(data)) => ("user_data_file", data),
            _ => return None,
        };
        if data.len() > USER_DATA_LIMIT {
            self.fail(
                field,
                format!("{field} is {} bytes; the instance's user data is limited to 16 KiB before base64", data.len()),
            );
        }
        Some(data)
    }

    fn vpc_cidr(&mut self) -> String {
        match self.id("vpc_cidr_block") {
            None => DEFAULT_VPC_CIDR.to_string(),
            Some(cidr) if VPC_CIDRS.contains(&cidr.as_str()) => cidr,
            Some(cidr) => {
                self.fail(
                    "vpc_cidr_block",
                    format!("vpc_cidr_block must be one of {}, not {cidr:?}", VPC_CIDRS.join(", ")),
                );
                DEFAULT_VPC_CIDR.to_string()
            }
        }
    }

    fn charge_type(&mut self) -> Option<ChargeType> {
        match self.id("internet_charge_type")?.as_str() {
            "PayByBandwidth" => Some(ChargeType::PayByBandwidth),
            "PayByTraffic" => Some(ChargeType::PayByTraffic),
            other => {
                self.fail(
                    "internet_charge_type",
                    format!("internet_charge_type must be PayByBandwidth or PayByTraffic, not {other:?}"),
                );
                None
            }
        }
    }
}
