//! The simulated account's resources and their state machines. A resource
//! in transition records when it ends; every request first calls
//! [`World::advance`], which applies what is due.

use super::catalog;
use crate::cloud::{AddressBlock, AddressPool};
use crate::latency::Latencies;
use crate::timed::Timed;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Instant;

/// A server instance. Its status is INIT → CREAT → RUN while it boots;
/// stop moves RUN → NSTOP, start NSTOP → RUN, terminate shows TERMT until
/// it is gone.
#[derive(Clone, Debug)]
pub struct Server {
    /// `serverInstanceNo`.
    pub no: String,
    /// `serverName`.
    pub name: String,
    /// `serverDescription`.
    pub description: String,
    /// The image product it runs (a member image's original one).
    pub image_product: String,
    /// The member image it was made from, if any.
    pub member_image: Option<String>,
    /// `serverProductCode`.
    pub server_product: String,
    /// `platformType.code` (`WND64`: a Windows machine).
    pub platform: String,
    /// `loginKeyName`.
    pub login_key: String,
    /// `regionNo`.
    pub region_no: String,
    /// `zoneNo`.
    pub zone_no: String,
    /// The access control groups' numbers.
    pub acgs: Vec<String>,
    /// `userData`, decoded.
    pub user_data: Option<String>,
    /// `feeSystemTypeCode`.
    pub fee_system: String,
    /// Its root (Administrator) password.
    pub root_password: String,
    /// `privateIp`, an address of the cloud's block.
    pub private_ip: Ipv4Addr,
    /// Status and pending change.
    pub state: Timed,
    /// `createDate`.
    pub created: String,
}

impl Server {
    /// terminateServerInstances was called: it goes when its change ends.
    pub fn terminating(&self) -> bool {
        self.state.status == "TERMT"
    }

    /// `serverInstanceOperation.code`: what the pending change is.
    pub fn operation(&self) -> &'static str {
        match (&self.state.pending, self.state.status.as_str()) {
            (None, _) => "NULL",
            (Some(_), "TERMT") => "TERMT",
            (Some((_, _, next)), _) if next == "NSTOP" => "SHTDN",
            (Some(_), "NSTOP") => "START",
            (Some(_), _) => "NULL",
        }
    }
}

/// A login key.
#[derive(Clone, Debug)]
pub struct LoginKey {
    /// `keyName`.
    pub name: String,
    /// `fingerprint`.
    pub fingerprint: String,
    /// The PEM private key handed out, to check getRootPassword's against.
    pub private_pem: String,
    /// `createDate`.
    pub created: String,
}

/// A public IP: CREAT while unassigned, USED while assigned.
#[derive(Clone, Debug)]
pub struct PublicIp {
    /// `publicIpInstanceNo`.
    pub no: String,
    /// `publicIp`, an address of the cloud's block.
    pub ip: Ipv4Addr,
    /// The server it is (being) assigned to.
    pub server: Option<String>,
    /// `regionNo`.
    pub region_no: String,
    /// `zoneNo`.
    pub zone_no: String,
    /// Status and pending change.
    pub state: Timed,
    /// The account held it from the start (not a leftover).
    pub preexisting: bool,
    /// `createDate`.
    pub created: String,
}

/// A block storage: a server's BASIC system disk, or an added SVRBS one.
#[derive(Clone, Debug)]
pub struct BlockStorage {
    /// `blockStorageInstanceNo`.
    pub no: String,
    /// `blockStorageName`.
    pub name: String,
    /// The server it is attached to.
    pub server: String,
    /// Size, GiB.
    pub size_gb: i64,
    /// Whether it is the system disk (`blockStorageType.code` `BASIC`).
    pub basic: bool,
    /// Status (INIT → ATTAC) and pending change (delete → gone).
    pub state: Timed,
    /// `createDate`.
    pub created: String,
}

/// A member server image: INIT → CREAT.
#[derive(Clone, Debug)]
pub struct MemberImage {
    /// `memberServerImageNo`.
    pub no: String,
    /// `memberServerImageName`.
    pub name: String,
    /// `memberServerImageDescription`.
    pub description: String,
    /// `originalServerInstanceNo`.
    pub server: String,
    /// `originalServerImageProductCode`.
    pub image_product: String,
    /// `originalServerProductCode`.
    pub server_product: String,
    /// `memberServerImagePlatformType.code`.
    pub platform: String,
    /// `regionNo`.
    pub region_no: String,
    /// Status and pending change.
    pub state: Timed,
    /// The account held it from the start.
    pub preexisting: bool,
    /// `createDate`.
    pub created: String,
}

/// Everything the simulated account holds.
pub struct World {
    /// Servers by number.
    pub servers: BTreeMap<String, Server>,
    /// Login keys by name.
    pub login_keys: BTreeMap<String, LoginKey>,
    /// Public IPs by number.
    pub public_ips: BTreeMap<String, PublicIp>,
    /// Block storages by number.
    pub block_storages: BTreeMap<String, BlockStorage>,
    /// Member images by number.
    pub member_images: BTreeMap<String, MemberImage>,
    /// Transition latencies.
    pub latencies: Latencies,
    next_no: u64,
    /// Where its servers' and public IPs' addresses come from.
    pub addresses: AddressPool,
}

impl World {
    /// The account as it starts: the seeded Windows member image in every
    /// classic region, `public_ips` unassigned public IPs; addresses from
    /// `block`.
    pub fn new(block: AddressBlock, latencies: Latencies, public_ips: u32) -> Self {
        let mut world = World {
            servers: BTreeMap::new(),
            login_keys: BTreeMap::new(),
            public_ips: BTreeMap::new(),
            block_storages: BTreeMap::new(),
            member_images: BTreeMap::new(),
            latencies,
            next_no: 1_000_000,
            addresses: AddressPool::new(block),
        };
        world.member_images.insert(
            catalog::SEEDED_IMAGE_NO.into(),
            MemberImage {
                no: catalog::SEEDED_IMAGE_NO.into(),
                name: "kiln-seeded-windows".into(),
                description: "Windows Server 2012 R2 base image of the account".into(),
                server: "999".into(),
                image_product: catalog::SEEDED_IMAGE_PRODUCT.into(),
                server_product: catalog::SEEDED_IMAGE_SERVER_PRODUCT.into(),
                platform: "WND64".into(),
                region_no: "1".into(),
                state: Timed::new("CREAT"),
                preexisting: true,
                created: now_text(),
            },
        );
        for _ in 0..public_ips {
            let no = world.new_no();
            let ip = world.addresses.take();
            let public_ip = PublicIp {
                no: no.clone(),
                ip,
                server: None,
                region_no: "1".into(),
                zone_no: catalog::zones("1")[0].0.clone(),
                state: Timed::new("CREAT"),
                preexisting: true,
                created: now_text(),
            };
            world.public_ips.insert(no, public_ip);
        }
        world
    }

    /// A fresh resource number, a decimal string (`1000001`…), unique
    /// across kinds.
    pub fn new_no(&mut self) -> String {
        self.next_no += 1;
        self.next_no.to_string()
    }

    /// Applies every transition due at `now`: a server that reached
    /// CREAT goes on booting to RUN; a terminated one is gone with its
    /// disks; a deleted disk is gone.
    pub fn advance(&mut self, now: Instant) {
        for _ in 0..2 {
            let gone: Vec<String> =
                self.servers.iter_mut().filter_map(|(no, s)| s.state.advance(now).then(|| no.clone())).collect();
            for no in gone {
                self.remove_server(&no);
            }
            let boot = self.latencies.instance_start;
            for server in self.servers.values_mut() {
                if server.state.status == "CREAT" && !server.state.busy() {
                    // The boot started when creation ended, not now.
                    server.state.set("CREAT", "RUN", boot, now);
                }
            }
        }
        let gone: Vec<String> =
            self.block_storages.iter_mut().filter_map(|(no, b)| b.state.advance(now).then(|| no.clone())).collect();
        for no in gone {
            self.block_storages.remove(&no);
        }
        for ip in self.public_ips.values_mut() {
            ip.state.advance(now);
            if ip.state.status == "CREAT" && !ip.state.busy() {
                ip.server = None;
            }
        }
        for image in self.member_images.values_mut() {
            image.state.advance(now);
        }
    }

    fn remove_server(&mut self, no: &str) {
        let Some(server) = self.servers.remove(no) else { return };
        self.addresses.give_back(server.private_ip);
        self.block_storages.retain(|_, b| b.server != no);
    }

    /// The public IP assigned (or being assigned) to server `no`.
    pub fn public_ip_of(&self, no: &str) -> Option<&PublicIp> {
        self.public_ips.values().find(|p| p.server.as_deref() == Some(no))
    }

    /// The system of server `no` powered it off: a settled RUN server is
    /// NSTOP at once. Whether it was running.
    pub fn guest_shut_down(&mut self, no: &str) -> bool {
        match self.servers.get_mut(no) {
            Some(s) if s.state.status == "RUN" && !s.state.busy() => {
                s.state = Timed::new("NSTOP");
                true
            }
            _ => false,
        }
    }
}

/// The wall clock as the API prints creation dates
/// (`2020-12-09T08:00:00+0000`).
pub fn now_text() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S+0000").to_string()
}
