//! Alibaba Cloud's RPC APIs: ECS `2014-05-26` and VPC `2016-04-28`.
//!
//! - `seam.rs`: [`Alicloud`], the cloud behind the simulator's
//!   [`Cloud`](crate::cloud::Cloud) seam.
//! - `service.rs`: one request, from parameters to response: credentials,
//!   signature, replay checks, dispatch, rendering.
//! - `settings.rs`: its part of the simulator's configuration.
//! - `credentials.rs`: the access keys accepted, and their environment
//!   variables.
//! - `actions/`: the actions, one file per resource family.
//! - `world.rs`: the resources and their state machines.
//! - `view.rs`: what the core sees: resources, leftovers, machines.
//! - `catalog.rs`: regions, zones, instance types and public images.
//! - `signature.rs`: signature version 1.0 and its verification.
//! - `params.rs`, `error.rs`, `render.rs`: parameters, errors, formats.

pub mod actions;
pub mod catalog;
pub mod credentials;
pub mod error;
pub mod params;
pub mod render;
mod seam;
pub mod service;
pub mod settings;
pub mod signature;
pub mod view;
pub mod world;

pub use credentials::Credential;
pub use seam::Alicloud;
pub use settings::Settings;
