//! The simulated clouds: the one module that names each of them. A new
//! cloud is one more field of [`Settings`] and one more row of [`ROWS`].

use crate::alicloud::{self, Alicloud};
use crate::cloud::{AddressBlock, Call, Cloud, Common, HttpRequest, Machine, MachineLookup, SettingError};
use crate::ncloud::{self, Ncloud};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Instant;

/// Each cloud's own part of a simulator's configuration (`clouds` in a
/// `--config` file: `{"clouds": {"alicloud": {"credentials": [...]}}}`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Alibaba Cloud's.
    pub alicloud: alicloud::Settings,
    /// NAVER Cloud's.
    pub ncloud: ncloud::Settings,
}

impl Settings {
    /// Makes the simulator accept one more access key, given as `kiln sim
    /// serve`'s `--access-key`, `--secret-key` and `--security-token`
    /// flags: those name an Alibaba Cloud key (a cloud whose keys look
    /// otherwise gets flags of its own).
    pub fn accept_key(&mut self, id: &str, secret: &str, security_token: Option<&str>) {
        self.alicloud.accept_key(id, secret, security_token);
    }

    /// Makes the simulator accept one more NAVER Cloud access key (`kiln
    /// sim serve`'s NAVER Cloud key flags).
    pub fn accept_ncloud_key(&mut self, access_key: &str, secret_key: &str) {
        self.ncloud.accept_ncloud_key(access_key, secret_key);
    }
}

impl Settings {
    /// Checks each cloud's settings.
    ///
    /// Fails with the first bad value, its path from here
    /// (`alicloud.credentials[0].access_key_id`, `ncloud.root_password`).
    pub fn check(&self) -> Result<(), SettingError> {
        self.alicloud.check().map_err(|e| SettingError { field: format!("alicloud.{}", e.field), ..e })?;
        self.ncloud.check().map_err(|e| SettingError { field: format!("ncloud.{}", e.field), ..e })
    }
}

/// The user's environment as the clouds ask about it: set, non-empty
/// variables only.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// One simulated cloud, as the registry knows it.
struct Row {
    /// Starts the cloud its settings describe, empty, its machines'
    /// addresses in `block`.
    start: fn(&Settings, Common, AddressBlock) -> Box<dyn Cloud>,
    /// The name of every action it answers (its [`Cloud::actions`],
    /// known before it starts, for checking fault rules).
    actions: fn() -> Vec<&'static str>,
    /// Its temporary resources in a `resources` view, as `kind id`.
    leftovers: fn(&Value) -> Vec<String>,
    /// Makes its settings accept the key the user's environment holds.
    accept_environment: fn(&mut Settings, Env<'_>),
    /// Makes its settings accept the key a builder section of a type names.
    accept_section: fn(&mut Settings, &str, Env<'_>, Env<'_>),
    /// The variables a kiln run reads its credentials from, with the values
    /// that make it use the simulator's default key; nothing when the user
    /// set a key of their own.
    credentials_env: fn(Env<'_>) -> Vec<(&'static str, String)>,
}

/// Every cloud, in the order they are asked to recognise a request; a
/// cloud's machines take their addresses from the block 127.(index+1).0.0/16
/// (Alibaba Cloud keeps 127.1.0.0/16, where it always was; NAVER Cloud
/// has 127.2.0.0/16).
const ROWS: &[Row] = &[
    Row {
        start: |settings, common, block| Box::new(Alicloud::new(&settings.alicloud, common, block)),
        actions: alicloud::actions::names,
        leftovers: alicloud::view::leftovers,
        accept_environment: |settings, env| settings.alicloud.accept_environment(env),
        accept_section: |settings, builder_type, section, env| {
            settings.alicloud.accept_section(builder_type, section, env)
        },
        credentials_env: alicloud::credentials::default_environment,
    },
    Row {
        start: |settings, common, block| Box::new(Ncloud::new(&settings.ncloud, common, block)),
        actions: ncloud::actions::names,
        leftovers: ncloud::view::leftovers,
        accept_environment: |settings, env| settings.ncloud.accept_environment(env),
        accept_section: |settings, builder_type, section, env| {
            settings.ncloud.accept_section(builder_type, section, env)
        },
        credentials_env: ncloud::credentials::default_environment,
    },
];

/// The address block of the cloud in row `index`.
fn block(index: usize) -> AddressBlock {
    AddressBlock::new(u8::try_from(index + 1).expect("fewer than 255 clouds"))
}

/// Makes each cloud accept the credentials the user's environment holds
/// for it (`env` answers set, non-empty variables only), so that a run
/// with real-looking keys works against the simulator too.
pub fn accept_environment(settings: &mut Settings, env: Env<'_>) {
    for row in ROWS {
        (row.accept_environment)(settings, env);
    }
}

/// Makes each cloud accept the key a template's builder section of
/// `builder_type` names (`section` answers its fields' interpolated,
/// non-empty string values; `env` the user's environment, which the
/// builder falls back to for a field the section leaves out), so that a
/// template written for the real cloud runs unchanged against the
/// simulator. A section that names no key changes nothing.
pub fn accept_section(settings: &mut Settings, builder_type: &str, section: Env<'_>, env: Env<'_>) {
    for row in ROWS {
        (row.accept_section)(settings, builder_type, section, env);
    }
}

/// The environment a kiln run against the simulator reads its credentials
/// from, over the user's (`env` answers set, non-empty variables only):
/// for each cloud whose key the user did not set in full, its variables
/// with the simulator's default key, and its other credential variables
/// (a security token) empty, so that the run uses the default key alone.
/// A cloud whose key the user set in full adds nothing: the simulator
/// accepts theirs (see [`accept_environment`]). Needs no running
/// simulator, so that a template's `{{env}}` can read it before one starts.
pub fn credentials_env(env: Env<'_>) -> Vec<(String, String)> {
    ROWS.iter().flat_map(|row| (row.credentials_env)(env)).map(|(name, value)| (name.to_string(), value)).collect()
}

/// The name of every action a simulated cloud answers: what a fault rule
/// may name (besides `*`).
pub fn actions() -> Vec<&'static str> {
    ROWS.iter().flat_map(|row| (row.actions)()).collect()
}

/// The temporary resources in a `/__kiln/resources` view (as the admin API
/// answered it, perhaps read back from a report), as `kind id`: what a
/// build must not leave behind, every cloud's.
pub fn leftovers(resources: &Value) -> Vec<String> {
    ROWS.iter().flat_map(|row| (row.leftovers)(resources)).collect()
}

/// Every cloud of one simulator, in the order they are asked to
/// recognise a request.
pub struct Clouds(Vec<Box<dyn Cloud>>);

impl Clouds {
    /// Every cloud, empty, as `settings` and `common` describe them.
    ///
    /// # Panics
    ///
    /// When two clouds show a resource kind of the same name (a bug: see
    /// [`Cloud::resources`]).
    pub fn start(settings: &Settings, common: Common) -> Clouds {
        Clouds::of(ROWS.iter().enumerate().map(|(i, row)| (row.start)(settings, common, block(i))).collect())
    }

    /// The simulator of `clouds`, checked as [`Clouds::start`] checks.
    pub(crate) fn of(clouds: Vec<Box<dyn Cloud>>) -> Clouds {
        let mut kinds = BTreeSet::new();
        for cloud in &clouds {
            for kind in cloud.resources().as_object().into_iter().flat_map(|o| o.keys()) {
                assert!(
                    kinds.insert(kind.clone()),
                    "two simulated clouds show resources of kind {kind:?}: each cloud must name its kinds apart \
                     (prefix them with the cloud's name), or /__kiln/resources would hide one's under the other's"
                );
            }
        }
        Clouds(clouds)
    }

    /// The first cloud that recognises `request`, with the call it makes.
    pub fn recognise(&self, request: &HttpRequest) -> Option<(&dyn Cloud, Call)> {
        self.0.iter().find_map(|cloud| cloud.recognise(request).map(|call| (cloud.as_ref(), call)))
    }

    /// Every cloud's machines as of `now`. In debug builds, checks that no
    /// address is claimed by two of them.
    pub fn machines(&self, now: Instant) -> Vec<Machine> {
        let machines: Vec<Machine> = self.0.iter().flat_map(|cloud| cloud.machines(now)).collect();
        if cfg!(debug_assertions) {
            let mut seen = BTreeSet::new();
            for machine in &machines {
                for ip in &machine.addresses {
                    debug_assert!(seen.insert(*ip), "address {ip} is claimed by two machines (one is {})", machine.id);
                }
            }
        }
        machines
    }

    /// Every cloud's resources, merged into one object by kind (kinds are
    /// unique across clouds, [`Clouds::start`] checks it).
    pub fn resources(&self) -> Value {
        let mut all = serde_json::Map::new();
        for cloud in &self.0 {
            if let Value::Object(kinds) = cloud.resources() {
                all.extend(kinds);
            }
        }
        Value::Object(all)
    }

    /// The name of every action these clouds answer.
    pub fn actions(&self) -> Vec<&'static str> {
        self.0.iter().flat_map(|cloud| cloud.actions()).collect()
    }

    /// Makes every cloud forget its resources.
    pub fn reset(&self) {
        for cloud in &self.0 {
            cloud.reset();
        }
    }

    /// What each cloud says about itself in `kiln sim serve`'s banner, when
    /// the simulator listens on `address`.
    pub fn banner(&self, address: SocketAddr) -> Vec<String> {
        self.0.iter().flat_map(|cloud| cloud.banner(address)).collect()
    }
}

impl MachineLookup for Clouds {
    fn machine(&self, id: &str) -> Option<Machine> {
        self.machines(Instant::now()).into_iter().find(|m| m.id == id)
    }

    fn guest_shut_down(&self, id: &str) {
        let now = Instant::now();
        // Ids are unique across clouds: the first that has it is the one.
        let _ = self.0.iter().any(|cloud| cloud.guest_shut_down(id, now));
    }
}
