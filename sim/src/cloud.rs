//! The seam between the simulator's core and each simulated cloud.
//!
//! The core (HTTP server, fault rules, request log, admin API, machine
//! endpoints) knows no cloud. A cloud recognises its own API requests and
//! answers them in its own words (signature, error format, credentials),
//! owns its world, shows its resources to the admin API, and lists its
//! machines as neutral [`Machine`] views that the machine endpoints
//! (`endpoint.rs`) serve. `clouds.rs` registers the clouds.

use crate::faults::FaultKind;
use crate::latency::Latencies;
use bytes::Bytes;
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

/// An HTTP request as the server hands it to the clouds.
#[derive(Clone, Debug)]
pub struct HttpRequest {
    /// `GET`, `POST`…
    pub method: String,
    /// The Host the client addressed (or the proxy-form URL's host),
    /// without port.
    pub host: String,
    /// The path, `/` for RPC-style APIs.
    pub path: String,
    /// The query string, without `?` (empty when there is none).
    pub query: String,
    /// Every header, in arrival order, names lower-cased (a cloud that
    /// signs in headers, as NAVER Cloud does, reads them here). A header
    /// whose value is not visible ASCII is left out.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Bytes,
}

impl HttpRequest {
    /// The first value of header `name` (any case), if the request has it.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The Content-Type header, if any.
    pub fn content_type(&self) -> Option<&str> {
        self.header("content-type")
    }
}

/// One API call as a cloud names it: what the request log shows and what
/// fault rules match.
#[derive(Clone, Debug, Default)]
pub struct Call {
    /// The operation (`CreateInstance`; a path's last segment for a REST
    /// API). Fault rules match on it.
    pub action: String,
    /// The API version, where the cloud has one.
    pub version: String,
    /// The parameters, safe to show: no signature, credentials as `***`.
    pub params: BTreeMap<String, String>,
}

/// An answer with a body.
#[derive(Clone, Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// The error code the cloud answered with (empty on success), for the
    /// request log.
    pub code: String,
    /// Content-Type.
    pub content_type: &'static str,
    /// Body.
    pub body: Vec<u8>,
}

/// What to do with the connection.
#[derive(Debug)]
pub enum Answer {
    /// Send this response.
    Reply(Reply),
    /// Close the connection without an answer.
    Reset,
    /// Say nothing for this long, then close.
    Hang(Duration),
    /// Wait this long, then send the answer.
    Delay(Duration, Box<Answer>),
}

/// How the core asks a cloud to serve a call that no fault rule refused.
#[derive(Clone, Copy, Debug)]
pub struct CallContext {
    /// The request's time; every transition due by then has happened.
    pub now: Instant,
    /// A fault rule asked that an image the call creates fail to build.
    pub fail_images: bool,
}

/// A value of a cloud's own settings that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingError {
    /// Its path in the cloud's settings, e.g. `credentials[0].access_key_id`.
    pub field: String,
    /// What is wrong with it and what to write.
    pub message: String,
}

/// What every cloud takes from the simulator's configuration, besides its
/// own settings.
#[derive(Clone, Copy, Debug)]
pub struct Common {
    /// Refuse requests whose timestamp is too far off, and replayed nonces.
    pub check_replay: bool,
    /// Transition latencies.
    pub latencies: Latencies,
}

/// The operating system family of a machine: which remote endpoint a
/// client expects (SSH for Linux, WinRM for Windows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OsFamily {
    /// Linux (and other Unix): SSH.
    Linux,
    /// Windows: WinRM.
    Windows,
}

/// The loopback block a cloud gives its machines' addresses: 127.N.0.0/16
/// for a second octet N of its own (`clouds.rs` hands them out), so
/// that no address is claimed by machines of two clouds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddressBlock {
    second_octet: u8,
}

impl AddressBlock {
    /// The block 127.`second_octet`.0.0/16.
    pub const fn new(second_octet: u8) -> Self {
        AddressBlock { second_octet }
    }

    /// The `n`th address of the block (0 is 127.N.0.0).
    pub fn nth(self, n: u16) -> Ipv4Addr {
        let [high, low] = n.to_be_bytes();
        Ipv4Addr::new(127, self.second_octet, high, low)
    }

    /// Whether `ip` is in the block.
    pub fn contains(self, ip: Ipv4Addr) -> bool {
        let [a, b, _, _] = ip.octets();
        a == 127 && b == self.second_octet
    }
}

/// The addresses a cloud hands out from its [`AddressBlock`] to its
/// machines and public IPs: each a loopback address of its own, from the
/// block's start upwards (127.N.0.1…), never .0 or .255.
#[derive(Clone, Debug)]
pub struct AddressPool {
    block: AddressBlock,
    next: u16,
    /// Addresses given back by deleted resources, reused first so that a
    /// long session does not walk through the block.
    free: Vec<Ipv4Addr>,
}

impl AddressPool {
    /// A pool with every address of `block` free.
    pub fn new(block: AddressBlock) -> Self {
        AddressPool { block, next: 0, free: Vec::new() }
    }

    /// An address no live resource holds.
    pub fn take(&mut self) -> Ipv4Addr {
        if let Some(ip) = self.free.pop() {
            return ip;
        }
        loop {
            // Freed addresses are reused first, so wrapping round the
            // block's 65 000 needs as many live machines and public IPs.
            self.next = self.next.wrapping_add(1);
            let ip = self.block.nth(self.next);
            if !matches!(ip.octets()[3], 0 | 255) {
                return ip;
            }
        }
    }

    /// Gives back the address of a deleted resource.
    pub fn give_back(&mut self, ip: Ipv4Addr) {
        self.free.push(ip);
    }
}

/// A simulated machine as its endpoints see it, whatever the cloud.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Machine {
    /// The cloud's id of the machine (`i-…`); unique across clouds.
    pub id: String,
    /// Every address it is reached at (private, public, elastic), each a
    /// loopback address of its own, taken from its cloud's
    /// [`AddressBlock`]: no two machines (of one cloud or of two) share
    /// one, and the core checks that in debug builds.
    pub addresses: Vec<Ipv4Addr>,
    /// The public key (`ssh-rsa AAAA…`) of its key pair, if it has one.
    pub public_key: Option<String>,
    /// Its login password, if it has one.
    pub password: Option<String>,
    /// Its operating system family.
    pub os: OsFamily,
    /// Whether it is running (a machine that is not refuses connections,
    /// as a booting one would).
    pub running: bool,
}

/// Where the simulator's machines can be looked up while a connection
/// arrives: the machine endpoints hold one (weakly: a dropped simulator's
/// machines answer no more) instead of a cloud's world.
pub trait MachineLookup: Send + Sync {
    /// The machine with this id as it is now (every transition due by
    /// `Instant::now()` has happened), if it still exists.
    fn machine(&self, id: &str) -> Option<Machine>;

    /// The system of machine `id` shut it down (sysprep `/shutdown`,
    /// `shutdown /s`): its cloud shows it stopped from now on, as a real
    /// cloud does once its guest powers off, and starting it again boots
    /// it. Nothing happens to a machine that does not exist or is not
    /// running.
    fn guest_shut_down(&self, id: &str);
}

/// A lookup that finds no machine: for tests of an endpoint that only
/// binds or lists, where no connection needs a machine behind it.
#[cfg(test)]
pub(crate) struct NoMachines;

#[cfg(test)]
impl MachineLookup for NoMachines {
    fn machine(&self, _: &str) -> Option<Machine> {
        None
    }
    fn guest_shut_down(&self, _: &str) {}
}

/// One simulated cloud, behind the seam the core talks to.
///
/// A cloud keeps its world behind a lock of its own. The core calls
/// [`Cloud::serve`] while holding its own lock (faults, request log), so a
/// cloud's lock is always taken second and calls apply in log order. The
/// admin API ([`Cloud::resources`], [`Cloud::reset`]) and the machine
/// endpoints' lookup ([`Cloud::machines`] when a client connects) take the
/// cloud's lock alone, without the core's: they never wait on an API call
/// other than the one the cloud is serving.
pub trait Cloud: Send + Sync {
    /// The call `request` makes if it is one of this cloud's API requests;
    /// `None` leaves it to another cloud.
    fn recognise(&self, request: &HttpRequest) -> Option<Call>;

    /// The answer, in this cloud's error format, to a call that fault rule
    /// `kind` refuses (`ServerError`, `Unavailable`, `Throttling`,
    /// `Denied`).
    fn refuse(&self, request: &HttpRequest, kind: FaultKind) -> Reply;

    /// Serves a recognised call: authentication, the effect on the world,
    /// the answer (an API error is a [`Reply`] too).
    fn serve(&self, request: &HttpRequest, call: &Call, context: CallContext) -> Reply;

    /// Its live resources by kind, for `/__kiln/resources`: a JSON object
    /// with one key per kind, every kind present (an empty list when there
    /// is none). The admin API merges every cloud's into one object, so a
    /// kind's name must be unique across clouds: a second cloud names its
    /// own kinds (`ncloud_vpcs`, not `vpcs`), and registering two clouds
    /// that share one panics (`Clouds::start`).
    fn resources(&self) -> Value;

    /// Its machines as of `now` (every transition due by then has
    /// happened), but those being deleted.
    fn machines(&self, now: Instant) -> Vec<Machine>;

    /// The system of its machine `id` shut it down at `now` (see
    /// [`MachineLookup::guest_shut_down`]): the machine is stopped from
    /// now on. Whether `id` is one of its running machines (false leaves
    /// it to another cloud).
    fn guest_shut_down(&self, id: &str, now: Instant) -> bool;

    /// Forgets every resource (and whatever else it remembers of past
    /// requests).
    fn reset(&self);

    /// The name of every action it answers, as [`Call::action`] names
    /// them: what fault rules may name (a rule for another name would never
    /// fire, so it is refused).
    fn actions(&self) -> Vec<&'static str>;

    /// Lines for `kiln sim serve`'s banner: the keys it accepts and how to
    /// point a client at `address`.
    fn banner(&self, address: SocketAddr) -> Vec<String>;
}

/// A cloud that recognises no request and shows one running Windows
/// machine, with the password `pw`, until it is reset: for tests of what
/// the core and the endpoints do with the machines of a cloud.
#[cfg(test)]
pub(crate) struct OneWindows {
    /// What `resources` shows (a kind of its own, beside the other test
    /// clouds).
    resources: Value,
    /// The machine; `None` once the cloud was reset.
    machine: std::sync::Mutex<Option<Machine>>,
}

#[cfg(test)]
impl OneWindows {
    /// The cloud of machine `id` at `ip`, showing `resources`.
    pub(crate) fn new(id: &str, ip: Ipv4Addr, resources: Value) -> OneWindows {
        let machine = Machine {
            id: id.into(),
            addresses: vec![ip],
            public_key: None,
            password: Some("pw".into()),
            os: OsFamily::Windows,
            running: true,
        };
        OneWindows { resources, machine: std::sync::Mutex::new(Some(machine)) }
    }
}

#[cfg(test)]
impl Cloud for OneWindows {
    fn recognise(&self, _: &HttpRequest) -> Option<Call> {
        None
    }
    fn refuse(&self, _: &HttpRequest, _: FaultKind) -> Reply {
        unreachable!("recognises nothing")
    }
    fn serve(&self, _: &HttpRequest, _: &Call, _: CallContext) -> Reply {
        unreachable!("recognises nothing")
    }
    fn resources(&self) -> Value {
        self.resources.clone()
    }
    fn machines(&self, _: Instant) -> Vec<Machine> {
        self.machine.lock().unwrap().iter().cloned().collect()
    }
    fn guest_shut_down(&self, id: &str, _: Instant) -> bool {
        let mut machine = self.machine.lock().unwrap();
        let Some(m) = machine.as_mut().filter(|m| m.id == id && m.running) else { return false };
        m.running = false;
        true
    }
    fn reset(&self) {
        *self.machine.lock().unwrap() = None;
    }
    fn actions(&self) -> Vec<&'static str> {
        Vec::new()
    }
    fn banner(&self, _: SocketAddr) -> Vec<String> {
        Vec::new()
    }
}
