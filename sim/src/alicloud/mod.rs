//! Alibaba Cloud's RPC APIs: ECS `2014-05-26` and VPC `2016-04-28`.
//!
//! - `signature.rs`: signature version 1.0 and its verification.
//! - `service.rs`: one request, from parameters to response: credentials,
//!   signature, replay checks, dispatch, rendering, logging.
//! - `actions/`: the actions, by resource family.
//! - `world.rs`: the resources and their state machines.
//! - `catalog.rs`: regions, zones, instance types and public images.
//! - `params.rs`, `error.rs`, `render.rs`: parameters, errors, formats.

pub mod actions;
pub mod catalog;
pub mod error;
pub mod params;
pub mod render;
pub mod service;
pub mod signature;
pub mod world;
