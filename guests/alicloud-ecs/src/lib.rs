//! Packer's `alicloud-ecs` builder as a kiln component: it builds an ECS
//! image from a source image in a temporary VPC, and asks the host for every
//! effect (signed HTTP, SSH/WinRM, provisioners, the ledger, sleeping).
//!
//! - [`options`]: the fields, parsed and checked into `Options`.
//! - [`sign`] and [`rpc`]: Alibaba's RPC signature (through the host's
//!   HMAC, the secrets never enter the guest) and the client with
//!   Alibaba's retryable codes.
//! - [`steps`]: the build, one step per resource, each with its undo;
//!   [`describe`], [`waits`] and [`cleanup`] are what the steps share.
//! - [`record`]: the ledger kinds; [`destroy`]: deleting what a crash left.
//! - [`artifact`]: the images made, as Packer reports them.
//!
//! What any builder needs (JSON accessors, random ids, signature pieces,
//! the retry policy, waits, ledger records, the field reader, provisioning,
//! CIDR blocks and endpoints, timestamps) is the SDK's, `kiln_guest`.

mod artifact;
mod cleanup;
mod describe;
mod destroy;
mod options;
mod record;
mod rpc;
mod sign;
mod state;
mod steps;
mod waits;

use kiln_guest::reader::joined;
use kiln_guest::types::{
    Artifact, BuildError, CloudResource, Config as HostConfig, Description, DestroyError, FieldError, Prepared,
};
use kiln_guest::{Config, Guest};
use options::Options;
use rpc::Client;
use state::{Comm, State};

/// The builder type this component provides.
const BUILDER_TYPE: &str = "alicloud-ecs";

/// The hosts the builder may contact, as patterns over its configuration.
/// `{region}` stands for any region, so one pattern covers the copy regions.
const EGRESS: &[&str] =
    &["ecs.{region}.aliyuncs.com", "vpc.{region}.aliyuncs.com", "{custom_endpoint_ecs}", "{custom_endpoint_vpc}"];

struct AlicloudEcs;

impl Guest for AlicloudEcs {
    fn describe() -> Description {
        Description {
            builder_types: vec![BUILDER_TYPE.to_string()],
            version: env!("CARGO_PKG_VERSION").to_string(),
            fields: options::fields::all(),
            egress: EGRESS.iter().map(|p| p.to_string()).collect(),
            uses_communicator: true,
        }
    }

    fn prepare(config: HostConfig) -> Result<Prepared, Vec<FieldError>> {
        let config = Config::from_host(config).map_err(|e| vec![e])?;
        let (options, warnings) = Options::parse(&config)?;
        Ok(Prepared { egress: options.egress(), warnings, generated_data: Vec::new() })
    }

    fn run(config: HostConfig) -> Result<Artifact, BuildError> {
        let config = Config::from_host(config).map_err(|e| BuildError::Failed(e.message))?;
        let (options, _) = Options::parse(&config).map_err(|errors| BuildError::Failed(joined(&errors)))?;
        let client = client(&config, &options, &options.region).map_err(BuildError::Failed)?;
        let mut state = State::new(options, client, Comm::from_config(&config), config.build_name.clone());
        let mut steps = steps::plan(&state.opts);
        kiln_guest::steps::run(&mut steps, &mut state, config.keep_on_error)?;
        artifact::from_images(&state.images)
            .ok_or_else(|| BuildError::Failed("the build finished without making an image".to_string()))
    }

    fn destroy(config: HostConfig, entry: CloudResource) -> Result<(), DestroyError> {
        let config = Config::from_host(config).map_err(|e| DestroyError::Other(e.message))?;
        destroy::destroy(&config, &entry)
    }
}

/// A client for `region` with the build's credentials (handles only).
fn client(config: &Config, options: &Options, region: &str) -> Result<Client, String> {
    let access_key = config.secret("/access_key").ok_or("access_key is not set")?;
    let secret_key = config.secret("/secret_key").ok_or("secret_key is not set")?;
    let token = config.secret("/security_token");
    Ok(Client::new(access_key, secret_key, token, region, options.endpoints.clone(), options.request_timeout))
}

kiln_guest::export_builder!(AlicloudEcs);
