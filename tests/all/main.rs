//! End-to-end tests: each runs the real `kiln` binary on a template, like a
//! user would, with fixtures from `support`.

mod alicloud;
mod alicloud_packer;
mod alicloud_sdk;
mod bad_template;
mod cancel;
mod cli_build;
mod plugins;
mod sandbox;
mod ssh;
mod sshd;
mod support;
