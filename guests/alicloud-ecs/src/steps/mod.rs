//! The build as steps, run in order and undone in reverse by
//! `kiln_guest::steps::run`. Each step undoes only what it created; the
//! temporary resources go whatever the outcome, the images only when the
//! build failed or was cancelled.

pub mod address;
pub mod copy_share;
pub mod image;
pub mod instance;
pub mod keypair;
pub mod network;
pub mod preflight;
pub mod provision;
pub mod security_group;

use crate::options::Options;
use crate::state::State;
use kiln_guest::steps::Step;

/// The steps of a build with `opts`.
pub fn plan(opts: &Options) -> Vec<Box<dyn Step<State>>> {
    let mut steps: Vec<Box<dyn Step<State>>> = vec![
        Box::new(preflight::Preflight),
        Box::new(keypair::CreateKeyPair::default()),
        Box::new(network::CreateVpc::default()),
        Box::new(network::CreateVSwitch::default()),
        Box::new(security_group::CreateSecurityGroup::default()),
        Box::new(instance::CreateInstance::default()),
        Box::new(address::AllocateAddress::default()),
        Box::new(instance::StartInstance),
        Box::new(provision::Provision),
        Box::new(instance::StopInstance),
        Box::new(image::DeleteDuplicates),
    ];
    if opts.ignore_data_disks {
        steps.push(Box::new(image::SnapshotSystemDisk::default()));
    }
    steps.push(Box::new(image::CreateImage));
    if !opts.tags.is_empty() {
        steps.push(Box::new(image::TagImage));
    }
    if !opts.copies.is_empty() {
        steps.push(Box::new(copy_share::CopyImages));
    }
    // No call at all without accounts (Packer made an empty one).
    if !opts.share_accounts.is_empty() || !opts.unshare_accounts.is_empty() {
        steps.push(Box::new(copy_share::ShareImages::default()));
    }
    steps
}
