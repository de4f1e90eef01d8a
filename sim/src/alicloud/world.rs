//! The simulated cloud's resources and their state machines.
//!
//! A resource in transition records when the transition ends; every request
//! first calls [`World::advance`], which applies the transitions that are
//! due. Nothing runs in the background, so the state only depends on the
//! requests and the clock.

use crate::cloud::{AddressBlock, AddressPool};
pub use crate::timed::Timed;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

/// A VM.
#[derive(Clone, Debug)]
pub struct Instance {
    pub id: String,
    pub region: String,
    pub zone: String,
    pub name: String,
    pub instance_type: String,
    pub image_id: String,
    pub security_groups: Vec<String>,
    pub vpc_id: String,
    pub vswitch_id: String,
    pub key_pair: Option<String>,
    pub password: Option<String>,
    pub user_data: Option<String>,
    pub private_ip: Ipv4Addr,
    pub public_ip: Option<Ipv4Addr>,
    pub eip: Option<String>,
    pub io_optimized: bool,
    pub internet_charge_type: String,
    pub internet_max_bandwidth_out: i64,
    pub state: Timed,
    pub created: String,
    /// `linux` or `windows`: its image's (Windows instances are reached
    /// over WinRM).
    pub os_type: &'static str,
}

impl Instance {
    /// DeleteInstance was called: the instance goes when its transition
    /// ends (and blocks its dependents until then).
    pub fn deleting(&self) -> bool {
        self.state.pending.as_ref().is_some_and(|(_, _, next)| next.is_empty())
    }
}

/// A disk attached to an instance.
#[derive(Clone, Debug)]
pub struct Disk {
    pub id: String,
    pub region: String,
    pub zone: String,
    pub instance_id: Option<String>,
    pub system: bool,
    pub category: String,
    pub size: i64,
    pub name: String,
    pub device: String,
    pub delete_with_instance: bool,
    pub snapshot_id: Option<String>,
    /// The system of the instance it was made with (`windows`, `linux`),
    /// kept with the disk so that a snapshot of it, and an image of that
    /// snapshot, hold the same system once the instance is gone.
    pub os_type: &'static str,
}

/// An image (public ones live in the catalog).
#[derive(Clone, Debug)]
pub struct Image {
    pub id: String,
    pub region: String,
    pub name: String,
    pub description: String,
    pub version: String,
    pub state: Timed,
    /// Fails instead of becoming Available (a fault rule asked for it).
    pub fail: bool,
    pub is_copied: bool,
    pub source: String,
    /// (snapshot id, device, size) per disk.
    pub disks: Vec<(String, String, i64)>,
    pub shared_with: BTreeSet<String>,
    pub tags: BTreeMap<String, String>,
    pub size: i64,
    pub created: String,
    /// `linux` or `windows`: its source's.
    pub os_type: &'static str,
}

/// A snapshot.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub id: String,
    pub region: String,
    pub disk_id: String,
    pub size: i64,
    pub state: Timed,
    pub tags: BTreeMap<String, String>,
    /// The image this snapshot belongs to, if it was made for one.
    pub image_id: Option<String>,
    /// The system its disk held (`windows`, `linux`): an image made from
    /// it holds that one.
    pub os_type: &'static str,
}

/// A VPC.
#[derive(Clone, Debug)]
pub struct Vpc {
    pub id: String,
    pub region: String,
    pub name: String,
    pub cidr: String,
    pub vrouter: String,
    pub route_table: String,
    pub state: Timed,
}

/// A VSwitch.
#[derive(Clone, Debug)]
pub struct VSwitch {
    pub id: String,
    pub region: String,
    pub vpc_id: String,
    pub zone: String,
    pub cidr: String,
    pub name: String,
    pub state: Timed,
}

/// A security group rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub direction: &'static str,
    pub protocol: String,
    pub ports: String,
    pub cidr: String,
    pub nic_type: String,
    pub policy: String,
}

/// A security group.
#[derive(Clone, Debug)]
pub struct SecurityGroup {
    pub id: String,
    pub region: String,
    pub vpc_id: String,
    pub name: String,
    pub description: String,
    pub rules: Vec<Rule>,
}

/// A key pair.
#[derive(Clone, Debug)]
pub struct KeyPair {
    pub name: String,
    pub region: String,
    pub fingerprint: String,
    /// OpenSSH form, `ssh-rsa AAAA…`.
    pub public_key: String,
}

/// An elastic IP.
#[derive(Clone, Debug)]
pub struct Eip {
    pub id: String,
    pub region: String,
    pub ip: Ipv4Addr,
    pub bandwidth: i64,
    pub charge_type: String,
    pub instance_id: Option<String>,
    pub state: Timed,
}

/// Everything the simulated cloud holds.
pub struct World {
    pub instances: BTreeMap<String, Instance>,
    pub disks: BTreeMap<String, Disk>,
    pub images: BTreeMap<String, Image>,
    pub snapshots: BTreeMap<String, Snapshot>,
    pub vpcs: BTreeMap<String, Vpc>,
    pub vswitches: BTreeMap<String, VSwitch>,
    pub security_groups: BTreeMap<String, SecurityGroup>,
    /// By (region, name).
    pub key_pairs: BTreeMap<(String, String), KeyPair>,
    pub eips: BTreeMap<String, Eip>,
    /// Answers already given to a create with a ClientToken, by
    /// (action, token): the same token gets the same answer.
    pub client_tokens: HashMap<(String, String), serde_json::Value>,
    next_id: u64,
    /// Where its machines' and EIPs' addresses come from.
    pub addresses: AddressPool,
}

impl World {
    /// An empty world whose addresses come from `block`.
    pub fn new(block: AddressBlock) -> Self {
        World {
            instances: Default::default(),
            disks: Default::default(),
            images: Default::default(),
            snapshots: Default::default(),
            vpcs: Default::default(),
            vswitches: Default::default(),
            security_groups: Default::default(),
            key_pairs: Default::default(),
            eips: Default::default(),
            client_tokens: Default::default(),
            next_id: 0,
            addresses: AddressPool::new(block),
        }
    }

    /// A fresh id with the API's prefix (`i-`, `vpc-`…). Ids look like the
    /// real ones: a prefix and 20 lowercase alphanumerics.
    pub fn new_id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        let mut n = self.next_id.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ self.next_id;
        let alphabet = b"0123456789abcdefghijklmnopqrstuvwxyz";
        let mut tail = String::new();
        for _ in 0..12 {
            tail.push(alphabet[(n % 36) as usize] as char);
            n /= 36;
        }
        format!("{prefix}{tail}{:08}", self.next_id)
    }

    /// Applies every transition that is due at `now`.
    pub fn advance(&mut self, now: Instant) {
        let gone: Vec<String> =
            self.instances.iter_mut().filter_map(|(id, i)| i.state.advance(now).then(|| id.clone())).collect();
        for id in gone {
            self.remove_instance(&id);
        }
        let gone: Vec<String> =
            self.images.iter_mut().filter_map(|(id, i)| i.state.advance(now).then(|| id.clone())).collect();
        for id in gone {
            self.images.remove(&id);
        }
        for image in self.images.values_mut() {
            if image.fail && image.state.status == "Available" {
                image.state.status = "CreateFailed".into();
            }
        }
        for s in self.snapshots.values_mut() {
            s.state.advance(now);
        }
        for v in self.vpcs.values_mut() {
            v.state.advance(now);
        }
        for v in self.vswitches.values_mut() {
            v.state.advance(now);
        }
        for e in self.eips.values_mut() {
            e.state.advance(now);
        }
    }

    fn remove_instance(&mut self, id: &str) {
        let Some(instance) = self.instances.remove(id) else { return };
        self.addresses.give_back(instance.private_ip);
        if let Some(ip) = instance.public_ip {
            self.addresses.give_back(ip);
        }
        for eip in self.eips.values_mut() {
            if eip.instance_id.as_deref() == Some(id) {
                eip.instance_id = None;
                eip.state = Timed::new("Available");
            }
        }
        let disks: Vec<String> =
            self.disks.values().filter(|d| d.instance_id.as_deref() == Some(id)).map(|d| d.id.clone()).collect();
        for disk in disks {
            let d = self.disks.get_mut(&disk).expect("listed above");
            if d.delete_with_instance || d.system {
                self.disks.remove(&disk);
            } else {
                d.instance_id = None;
            }
        }
    }

    /// A new snapshot of `size` GiB in `region` holding system `os_type`,
    /// `progressing` until `after` has passed; `disk_id` is empty for a
    /// copy's snapshot.
    #[allow(clippy::too_many_arguments)]
    pub fn new_snapshot(
        &mut self,
        region: &str,
        disk_id: &str,
        size: i64,
        os_type: &'static str,
        image_id: Option<&str>,
        after: Duration,
        now: Instant,
    ) -> String {
        let id = self.new_id("s-");
        let snapshot = Snapshot {
            id: id.clone(),
            region: region.to_string(),
            disk_id: disk_id.to_string(),
            size,
            state: Timed::moving("progressing", "accomplished", after, now),
            tags: BTreeMap::new(),
            image_id: image_id.map(str::to_string),
            os_type,
        };
        self.snapshots.insert(id.clone(), snapshot);
        id
    }

    /// The system of instance `id` powered it off (sysprep `/shutdown`):
    /// a `Running` instance is `Stopped` at once, as ECS shows an instance
    /// whose guest shut down (no `Stopping` in between: nothing was asked
    /// of the API). Whether it was running.
    pub fn guest_shut_down(&mut self, id: &str) -> bool {
        match self.instances.get_mut(id) {
            Some(i) if i.state.status == "Running" && !i.state.busy() => {
                i.state = Timed::new("Stopped");
                true
            }
            _ => false,
        }
    }
}
