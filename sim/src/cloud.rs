//! The seam between the simulator's core and each simulated cloud.
//!
//! The core (HTTP server, fault rules, request log, admin API, machine
//! endpoints) knows no cloud. A cloud recognises its own API requests and
//! answers them in its own words (signature, error format, credentials),
//! owns its world, shows its resources to the admin API, and lists its
//! machines as neutral [`Machine`] views that the SSH endpoint serves.

use crate::config::Config;
use crate::faults::FaultKind;
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
    /// The Content-Type header, if any.
    pub content_type: Option<String>,
    /// The body.
    pub body: Bytes,
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

/// The operating system family of a machine: which remote endpoint a
/// client expects (SSH for Linux, WinRM for Windows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OsFamily {
    /// Linux (and other Unix): SSH.
    Linux,
    /// Windows: WinRM.
    Windows,
}

/// A simulated machine as its endpoints see it, whatever the cloud.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Machine {
    /// The cloud's id of the machine (`i-…`); unique across clouds.
    pub id: String,
    /// Every address it is reached at (private, public, elastic), each a
    /// loopback address of its own.
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
/// arrives: the machine endpoints hold one instead of a cloud's world.
pub trait MachineLookup: Send + Sync {
    /// The machine with this id as it is now, if it still exists.
    fn machine(&self, id: &str) -> Option<Machine>;
}

/// One simulated cloud, behind the seam the core talks to.
///
/// A cloud keeps its world behind a lock of its own. The core calls
/// [`Cloud::serve`] while holding its own lock (faults, request log), so a
/// cloud's lock is always taken second and calls apply in log order.
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

    /// Its live resources by kind, for `/__kiln/resources` (a JSON object;
    /// the admin API merges every cloud's).
    fn resources(&self) -> Value;

    /// The temporary resources of this cloud in a `resources` view (as
    /// the admin API answered it, perhaps read back from a report), as
    /// `kind id`: what a build must not leave behind.
    fn leftovers(resources: &Value) -> Vec<String>
    where
        Self: Sized;

    /// Its machines as they are now, but those being deleted.
    fn machines(&self) -> Vec<Machine>;

    /// Forgets every resource (and whatever else it remembers of past
    /// requests).
    fn reset(&self);

    /// Makes the simulator accept the credentials for this cloud that the
    /// user's environment holds (looked up with `env`, which answers only
    /// set, non-empty variables), so that a run with real-looking keys
    /// works against the simulator too.
    fn accept_environment(config: &mut Config, env: &dyn Fn(&str) -> Option<String>)
    where
        Self: Sized;

    /// The environment variables a kiln run reads this cloud's credentials
    /// from, each with the value that makes it use the simulator's default
    /// key. They go together: a run gets them all unless the user set
    /// every one.
    fn credentials_env(&self) -> Vec<(&'static str, String)>;

    /// Lines for `kiln sim serve`'s banner: the keys it accepts and how to
    /// point a client at `address`.
    fn banner(&self, address: SocketAddr) -> Vec<String>;
}

/// Every cloud of one simulator, in the order they are asked to
/// recognise a request.
pub struct Clouds(pub Vec<Box<dyn Cloud>>);

impl Clouds {
    /// The first cloud that recognises `request`, with the call it makes.
    pub fn recognise(&self, request: &HttpRequest) -> Option<(&dyn Cloud, Call)> {
        self.0.iter().find_map(|cloud| cloud.recognise(request).map(|call| (cloud.as_ref(), call)))
    }

    /// Every cloud's machines.
    pub fn machines(&self) -> Vec<Machine> {
        self.0.iter().flat_map(|cloud| cloud.machines()).collect()
    }

    /// Every cloud's resources, merged into one object by kind.
    pub fn resources(&self) -> Value {
        let mut all = serde_json::Map::new();
        for cloud in &self.0 {
            if let Value::Object(kinds) = cloud.resources() {
                all.extend(kinds);
            }
        }
        Value::Object(all)
    }

    /// Makes every cloud forget its resources.
    pub fn reset(&self) {
        for cloud in &self.0 {
            cloud.reset();
        }
    }
}

impl MachineLookup for Clouds {
    fn machine(&self, id: &str) -> Option<Machine> {
        self.machines().into_iter().find(|m| m.id == id)
    }
}
