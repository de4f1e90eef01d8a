//! The actions, one module per resource family. Each reads its parameters
//! through [`Ctx`], changes the world and returns the response's fields
//! (without `requestId`, `returnCode`, `returnMessage`, which the service
//! adds).

mod acg;
mod block_storage;
mod context;
mod image;
mod login_key;
mod public_ip;
mod region;
mod server;

pub use context::Ctx;

use crate::ncloud::error::ApiError;
use crate::ncloud::request::Api;
use serde_json::Value;

/// An action's implementation.
type Handler = fn(&mut Ctx) -> Result<Value, ApiError>;

/// The classic `/server/v2` actions.
const SERVER: &[(&str, Handler)] = &[
    ("getRegionList", region::get_region_list),
    ("getZoneList", region::get_zone_list),
    ("getServerImageProductList", region::get_server_image_product_list),
    ("getServerProductList", region::get_server_product_list),
    ("getMemberServerImageList", image::get_member_server_image_list),
    ("createMemberServerImage", image::create_member_server_image),
    ("deleteMemberServerImages", image::delete_member_server_images),
    ("createLoginKey", login_key::create_login_key),
    ("getLoginKeyList", login_key::get_login_key_list),
    ("deleteLoginKey", login_key::delete_login_key),
    ("deleteLoginKeys", login_key::delete_login_keys),
    ("createServerInstances", server::create_server_instances),
    ("getServerInstanceList", server::get_server_instance_list),
    ("stopServerInstances", server::stop_server_instances),
    ("startServerInstances", server::start_server_instances),
    ("terminateServerInstances", server::terminate_server_instances),
    ("getRootPassword", server::get_root_password),
    ("createPublicIpInstance", public_ip::create_public_ip_instance),
    ("getPublicIpInstanceList", public_ip::get_public_ip_instance_list),
    ("associatePublicIpWithServerInstance", public_ip::associate_public_ip),
    ("disassociatePublicIpFromServerInstance", public_ip::disassociate_public_ip),
    ("deletePublicIpInstances", public_ip::delete_public_ip_instances),
    ("createBlockStorageInstance", block_storage::create_block_storage_instance),
    ("getBlockStorageInstanceList", block_storage::get_block_storage_instance_list),
    ("deleteBlockStorageInstances", block_storage::delete_block_storage_instances),
    ("getAccessControlGroupList", acg::get_access_control_group_list),
    ("getAccessControlRuleList", acg::get_access_control_rule_list),
];

/// The actions of `api` (the VPC APIs answer none yet).
fn table(api: Api) -> &'static [(&'static str, Handler)] {
    match api {
        Api::Server => SERVER,
        Api::Vserver | Api::Vpc => &[],
    }
}

/// Every action the simulated cloud answers (fault rules name them).
pub fn names() -> Vec<&'static str> {
    SERVER.iter().map(|(name, _)| *name).collect()
}

/// The handler of `action` in `api`, if the API has it.
pub fn find(api: Api, action: &str) -> Option<Handler> {
    table(api).iter().find(|(name, _)| *name == action).map(|(_, h)| *h)
}
