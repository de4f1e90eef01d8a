//! Member server images: made from a stopped server (INIT → CREAT).

use super::context::{Ctx, filtered, list};
use crate::ncloud::catalog::{self, code};
use crate::ncloud::error::ApiError;
use crate::ncloud::world::{MemberImage, now_text};
use crate::timed::Timed;
use serde_json::{Value, json};

fn image_value(i: &MemberImage) -> Value {
    let region = catalog::region(Some(&i.region_no)).expect("a catalog region");
    json!({
        "memberServerImageNo": i.no, "memberServerImageName": i.name,
        "memberServerImageDescription": i.description,
        "originalServerInstanceNo": i.server, "originalServerProductCode": i.server_product,
        "originalServerName": "", "originalBaseBlockStorageDiskType": code("NET", "Network storage"),
        "originalServerImageProductCode": i.image_product, "originalOsInformation": "",
        "originalServerImageName": catalog::image_product(&i.image_product).map(|p| p.name).unwrap_or(""),
        "memberServerImageStatusName": if i.state.status == "CREAT" { "created" } else { "init" },
        "memberServerImageStatus": code(&i.state.status, &i.state.status),
        "memberServerImageOperation": code(if i.state.busy() { "CREAT" } else { "NULL" }, "op"),
        "memberServerImagePlatformType": code(&i.platform, &i.platform),
        "createDate": i.created, "region": catalog::region_value(region),
        "memberServerImageBlockStorageTotalRows": 1, "memberServerImageBlockStorageTotalSize": 53687091200i64,
    })
}

/// getMemberServerImageList(memberServerImageNoList.N?, regionNo?): the
/// account's images (the seeded one shows in every classic region).
pub fn get_member_server_image_list(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let wanted = ctx.args.list("memberServerImageNoList");
    let region = ctx.args.opt("regionNo");
    let items = filtered(ctx.world.member_images.iter(), &wanted)
        .into_iter()
        .filter(|i| i.preexisting || region.is_none_or(|r| r == i.region_no))
        .map(image_value)
        .collect();
    Ok(list("memberServerImageList", items))
}

/// createMemberServerImage(serverInstanceNo, memberServerImageName?,
/// memberServerImageDescription?). Fails for an unknown server, one that
/// is not settled NSTOP, or a name taken.
pub fn create_member_server_image(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let server_no = ctx.args.req("serverInstanceNo")?;
    let server = ctx.world.servers.get(server_no).ok_or_else(|| ApiError::no_such("server instance", server_no))?;
    if server.state.status != "NSTOP" || server.state.busy() {
        return Err(ApiError::state(format!(
            "Cannot make an image of the server instance {server_no}: its status is {}; stop it first (NSTOP).",
            server.state.status
        )));
    }
    let server = server.clone();
    let no = ctx.world.new_no();
    let name = ctx.args.opt("memberServerImageName").map(str::to_string).unwrap_or_else(|| format!("img{no}"));
    if ctx.world.member_images.values().any(|i| i.name == name) {
        return Err(ApiError::duplicate(format!("The member server image name {name} is already in use.")));
    }
    let image = MemberImage {
        no: no.clone(),
        name,
        description: ctx.args.opt("memberServerImageDescription").unwrap_or("").to_string(),
        server: server.no.clone(),
        image_product: server.image_product.clone(),
        server_product: server.server_product.clone(),
        platform: server.platform.clone(),
        region_no: server.region_no.clone(),
        state: Timed::moving("INIT", "CREAT", ctx.world.latencies.image_create, ctx.now),
        preexisting: false,
        created: now_text(),
    };
    let value = image_value(&image);
    ctx.world.member_images.insert(no, image);
    Ok(list("memberServerImageList", vec![value]))
}

/// deleteMemberServerImages(memberServerImageNoList.N). Fails, deleting
/// none, for an unknown one or one still being made.
pub fn delete_member_server_images(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let nos = ctx.args.list("memberServerImageNoList");
    if nos.is_empty() {
        return Err(ApiError::missing("memberServerImageNoList.1"));
    }
    for no in &nos {
        let image = ctx.world.member_images.get(no).ok_or_else(|| ApiError::no_such("member server image", no))?;
        if image.state.busy() {
            return Err(ApiError::state(format!("The member server image {no} is still being created.")));
        }
    }
    let items = nos.iter().map(|n| image_value(&ctx.world.member_images[n])).collect();
    for no in &nos {
        ctx.world.member_images.remove(no);
    }
    Ok(list("memberServerImageList", items))
}
