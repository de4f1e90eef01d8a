//! The builder's configuration: the fields it declares ([`fields`]), and
//! their parsing into a typed [`Options`] with every rule of the user
//! documentation checked at once (one error per problem, pointing at the
//! field and saying the rule).

mod checks;
mod disks;
pub mod fields;
mod rules;

pub use disks::{DEFAULT_DISK_CATEGORY, DataDisk, SystemDisk};

use crate::rpc::{self, Api, Endpoints};
use kiln_guest::reader::Reader;
use kiln_guest::secrets::{self, Secret};
use kiln_guest::types::{CommunicatorKind, FieldError};
use kiln_guest::{Config, http};
use std::collections::BTreeMap;
use std::rc::Rc;
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

/// The instance's user data, before its base64 encoding.
#[derive(Clone, Debug)]
pub enum UserData {
    /// The text of `user_data_file`, which the host read.
    File(String),
    /// `user_data`, a secret field: it may read a sensitive variable, so
    /// the host writes it (base64-encoded) into the request and the
    /// builder never sees it.
    Secret(Rc<Secret>),
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
    /// The instance's user data, if any.
    pub user_data: Option<UserData>,
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
        let mut parser = Parser { r: Reader::new(config) };
        let options = parser.options();
        parser.r.finish(options)
    }

    /// The hosts this build talks to: ECS and VPC in the build's region,
    /// ECS in each copy region (or the custom endpoints' hosts).
    pub fn egress(&self) -> Vec<String> {
        let mut hosts = vec![
            http::host_of(&self.endpoints.url(Api::Ecs, &self.region)),
            http::host_of(&self.endpoints.url(Api::Vpc, &self.region)),
        ];
        for copy in &self.copies {
            hosts.push(http::host_of(&self.endpoints.url(Api::Ecs, &copy.region)));
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

/// Reads the fields into [`Options`]: the SDK's reader, which collects
/// every problem, plus Alibaba Cloud's rules.
struct Parser<'c> {
    r: Reader<'c>,
}

impl Parser<'_> {
    fn options(&mut self) -> Options {
        let force = self.r.config().force;
        self.refuse_unsupported();
        let region = self.required_region();
        let communicator = self.r.config().communicator.kind;
        let has_password = self.r.config().communicator.has_password;
        let has_private_key = self.r.config().communicator.has_private_key;
        let ssh_private_ip = self.r.flag("ssh_private_ip");
        let mut options = Options {
            skip_region_validation: self.r.flag("skip_region_validation"),
            skip_image_validation: self.r.flag("skip_image_validation"),
            request_timeout: self.request_timeout(),
            endpoints: Endpoints {
                ecs: self.endpoint("custom_endpoint_ecs"),
                vpc: self.endpoint("custom_endpoint_vpc"),
            },
            image_name: self.r.required("image_name", rules::name),
            image_version: self.r.checked("image_version", |v| rules::description(v, 1, 40)),
            image_description: self.r.checked("image_description", |v| rules::description(v, 0, 256)),
            share_accounts: self.accounts("image_share_account"),
            unshare_accounts: self.accounts("image_unshare_account"),
            copies: Vec::new(),
            force_delete: self.r.flag("image_force_delete") || force,
            force_delete_snapshots: self.r.flag("image_force_delete_snapshots") || force,
            force_delete_instances: self.r.flag("image_force_delete_instances"),
            ignore_data_disks: self.r.flag("image_ignore_data_disks"),
            tags: self.tags(),
            system_disk: disks::system_disk(self.r.config().value("system_disk_mapping"), self.r.errors_mut()),
            data_disks: disks::data_disks(self.r.config().value("image_disk_mappings"), self.r.errors_mut()),
            image_timeout: self.image_timeout(),
            instance_type: self.r.required_id("instance_type"),
            source_image: self.r.required_id("source_image"),
            zone_id: self.r.id("zone_id"),
            io_optimized: self.r.config().value("io_optimized").and_then(serde_json::Value::as_bool),
            force_stop: self.r.flag("force_stop_instance"),
            disable_stop: self.r.flag("disable_stop_instance"),
            security_group_id: self.r.id("security_group_id"),
            security_group_name: self.r.checked("security_group_name", rules::name),
            source_cidrs: Vec::new(),
            user_data: self.user_data(),
            vpc_id: self.r.id("vpc_id"),
            vpc_name: self.r.checked("vpc_name", rules::name),
            vpc_cidr: self.vpc_cidr(),
            vswitch_id: self.r.id("vswitch_id"),
            vswitch_name: self.r.checked("vswitch_name", rules::name),
            instance_name: self.r.checked("instance_name", rules::name),
            description: self.r.checked("description", |v| rules::description(v, 2, 256)),
            charge_type: self.charge_type(),
            bandwidth: self.r.config().integer("internet_max_bandwidth_out"),
            ssh_private_ip,
            temporary_key_pair_name: self.r.checked("temporary_key_pair_name", rules::key_pair_name),
            ssh_keypair_name: self.r.id("ssh_keypair_name"),
            communicator,
            port: self.r.config().communicator.port,
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
        if self.r.text("profile").is_some() {
            self.r.fail("profile", "profile is not supported by kiln yet: kiln reads no credential files; set access_key and secret_key (or ALICLOUD_ACCESS_KEY and ALICLOUD_SECRET_KEY)");
        }
        if self.r.text("shared_credentials_file").is_some() {
            self.r.fail("shared_credentials_file", "shared_credentials_file is not supported by kiln yet: kiln reads no credential files; set access_key and secret_key (or ALICLOUD_ACCESS_KEY and ALICLOUD_SECRET_KEY)");
        }
        if self.r.flag("image_encrypted") {
            self.r.fail("image_encrypted", "image_encrypted is not supported by kiln yet: the encrypted-copy flow is not implemented; remove it or set it to false");
        }
    }

    /// The credentials arrive as secrets (the host applied the environment
    /// fallbacks and reports missing required fields itself; this repeats
    /// the check for a host that did not).
    fn credentials(&mut self) {
        for (field, env) in [("access_key", "ALICLOUD_ACCESS_KEY"), ("secret_key", "ALICLOUD_SECRET_KEY")] {
            if self.r.config().secret(&format!("/{field}")).is_none() {
                self.r.fail(field, format!("{field} must be set in the template or through {env}"));
            }
        }
    }

    fn required_region(&mut self) -> String {
        match self.r.id("region") {
            Some(region) => {
                if let Err(problem) = rules::region(&region) {
                    self.r.fail("region", format!("region: {problem}"));
                }
                region
            }
            None => {
                self.r.fail("region", "region must be set in the template or through ALICLOUD_REGION");
                String::new()
            }
        }
    }

    fn request_timeout(&mut self) -> Duration {
        let floor = rpc::DEFAULT_REQUEST_TIMEOUT;
        match self.r.config().integer("TLSHandshakeTimeout") {
            None => floor,
            Some(seconds) if seconds >= 1 => floor.max(Duration::from_secs(seconds as u64)),
            Some(seconds) => {
                self.r.fail(
                    "TLSHandshakeTimeout",
                    format!("TLSHandshakeTimeout must be a number of seconds of 1 or more, not {seconds}"),
                );
                floor
            }
        }
    }

    fn endpoint(&mut self, name: &str) -> Option<String> {
        let value = self.r.text(name)?;
        match kiln_guest::net::endpoint(&value) {
            Ok(url) => Some(url),
            Err(problem) => {
                self.r.fail(name, format!("{name}: {problem}"));
                None
            }
        }
    }

    fn accounts(&mut self, name: &str) -> Vec<String> {
        let accounts = self.r.list(name);
        if accounts.len() > MAX_SHARE_ACCOUNTS {
            self.r.fail(
                name,
                format!("{name} lists {} accounts; at most {MAX_SHARE_ACCOUNTS} are allowed", accounts.len()),
            );
        }
        accounts
    }

    fn tags(&mut self) -> BTreeMap<String, String> {
        let tags: BTreeMap<String, String> = self.r.decode("tags").unwrap_or_default();
        if tags.len() > MAX_TAGS {
            self.r.fail("tags", format!("tags has {} entries; an image holds at most {MAX_TAGS}", tags.len()));
        }
        for (key, value) in &tags {
            let lower = key.to_ascii_lowercase();
            if key.is_empty() || key.chars().count() > 128 {
                self.r.fail("tags", format!("tag key {key:?} must be 1 to 128 characters long"));
            } else if lower.starts_with("aliyun")
                || lower.starts_with("acs:")
                || lower.starts_with("http://")
                || lower.starts_with("https://")
            {
                self.r.fail("tags", format!("tag key {key:?} must not begin with aliyun, acs:, http:// or https://"));
            }
            if value.chars().count() > 128 {
                self.r.fail("tags", format!("the value of tag {key:?} must be at most 128 characters long"));
            }
        }
        tags
    }

    fn image_timeout(&mut self) -> Duration {
        match self.r.config().integer("wait_snapshot_ready_timeout") {
            None | Some(0) => Duration::from_secs(DEFAULT_IMAGE_TIMEOUT_SECS as u64),
            Some(seconds) if seconds > 0 => Duration::from_secs(seconds as u64),
            Some(seconds) => {
                self.r.fail(
                    "wait_snapshot_ready_timeout",
                    format!("wait_snapshot_ready_timeout must be a positive number of seconds, not {seconds}"),
                );
                Duration::from_secs(DEFAULT_IMAGE_TIMEOUT_SECS as u64)
            }
        }
    }

    fn user_data(&mut self) -> Option<UserData> {
        // Not `text`: user data is kept byte for byte, surrounding spaces
        // included; only an empty value means unset (the host gives no
        // secret for an empty `user_data`).
        let inline = self.r.config().secret("/user_data");
        let file = self.r.config().string("user_data_file").filter(|s| !s.is_empty()).map(str::to_string);
        if inline.is_some() && file.is_some() {
            self.r.fail("user_data_file", "only one of user_data or user_data_file can be set");
            return None;
        }
        if let Some(secret) = inline {
            // Its length is the host's to check (the field's max-length,
            // at decode): the API refuses more than 16 KiB
            // (InvalidUserData.SizeExceeded).
            return Some(UserData::Secret(Rc::new(secrets::with_affix(secret, "", ""))));
        }
        let data = file?;
        if data.len() > USER_DATA_LIMIT {
            self.r.fail(
                "user_data_file",
                format!(
                    "user_data_file is {} bytes; the instance's user data is limited to 16 KiB before base64",
                    data.len()
                ),
            );
        }
        Some(UserData::File(data))
    }

    fn vpc_cidr(&mut self) -> String {
        match self.r.id("vpc_cidr_block") {
            None => DEFAULT_VPC_CIDR.to_string(),
            Some(cidr) if VPC_CIDRS.contains(&cidr.as_str()) => cidr,
            Some(cidr) => {
                self.r.fail(
                    "vpc_cidr_block",
                    format!("vpc_cidr_block must be one of {}, not {cidr:?}", VPC_CIDRS.join(", ")),
                );
                DEFAULT_VPC_CIDR.to_string()
            }
        }
    }

    fn charge_type(&mut self) -> Option<ChargeType> {
        match self.r.id("internet_charge_type")?.as_str() {
            "PayByBandwidth" => Some(ChargeType::PayByBandwidth),
            "PayByTraffic" => Some(ChargeType::PayByTraffic),
            other => {
                self.r.fail(
                    "internet_charge_type",
                    format!("internet_charge_type must be PayByBandwidth or PayByTraffic, not {other:?}"),
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A configuration with `fields` and an SSH communicator with a
    /// password; no secrets (natively there is no host to hold them).
    fn config(fields: serde_json::Value) -> Config {
        let mut config = Config::from_fields(fields).unwrap();
        config.communicator.kind = CommunicatorKind::Ssh;
        config.communicator.port = 22;
        config.communicator.username = Some("root".into());
        config.communicator.has_password = true;
        config
    }

    fn pointers(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.pointer.as_str()).collect()
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let errors = Options::parse(&config(json!({
            "region": "CN-Beijing",
            "image_name": "1bad",
            "instance_type": "ecs.n1.tiny",
            "vpc_cidr_block": "10.1.0.0/16",
            "internet_charge_type": "Free",
            "tags": {"aliyun:x": "y"},
            "image_copy_regions": ["cn-hangzhou", "Bad"],
        })))
        .unwrap_err();
        let pointers = pointers(&errors);
        for expected in [
            "/region",
            "/image_name",
            "/source_image",
            "/vpc_cidr_block",
            "/internet_charge_type",
            "/tags",
            "/image_copy_regions/1",
            "/access_key",
            "/secret_key",
        ] {
            assert!(pointers.contains(&expected), "{expected} missing from {pointers:?}");
        }
        let source = errors.iter().find(|e| e.pointer == "/source_image").unwrap();
        assert_eq!(source.message, "source_image must be set");
    }

    #[test]
    fn a_good_configuration_misses_only_the_credentials_the_host_holds() {
        let mut fields = json!({
            "region": "cn-beijing",
            "image_name": "packer_test",
            "instance_type": "ecs.n1.tiny",
            "source_image": "ubuntu_18",
            "image_copy_regions": ["cn-beijing", "cn-hangzhou", "cn-hangzhou"],
        });
        // Natively there is no host to hold the credentials' secrets.
        let errors = Options::parse(&config(fields.clone())).unwrap_err();
        assert_eq!(pointers(&errors), ["/access_key", "/secret_key"]);
        fields["image_copy_names"] = json!(["", "1bad"]);
        let errors = Options::parse(&config(fields)).unwrap_err();
        assert_eq!(pointers(&errors), ["/image_copy_names/1", "/access_key", "/secret_key"]);
    }
}
