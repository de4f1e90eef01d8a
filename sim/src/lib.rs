//! `kiln-sim`: local emulators of the clouds kiln builds on, faithful
//! enough that official SDKs and Packer complete their flows against them.
//!
//! - [`alicloud`]: Alibaba Cloud's RPC APIs (ECS 2014-05-26, VPC
//!   2016-04-28).
//!
//! Built so far: the request signature (version 1.0, HMAC-SHA1), verified
//! exactly as the cloud does. The HTTP server, resources and faults follow.

pub mod alicloud;
