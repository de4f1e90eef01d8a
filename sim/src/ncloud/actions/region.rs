//! The catalog actions: regions, zones, image and server products.

use super::context::{Ctx, list};
use crate::ncloud::catalog;
use crate::ncloud::error::ApiError;
use serde_json::Value;

/// getRegionList: every classic region.
pub fn get_region_list(_: &mut Ctx) -> Result<Value, ApiError> {
    Ok(list("regionList", catalog::REGIONS.iter().map(catalog::region_value).collect()))
}

/// getZoneList(regionNo): the region's zones. Fails for an unknown region.
pub fn get_zone_list(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let region = ctx.region_no()?;
    Ok(list("zoneList", catalog::zones(region).iter().map(|z| catalog::zone_value(region, z)).collect()))
}

/// getServerImageProductList(productCode?): the image products.
pub fn get_server_image_product_list(ctx: &mut Ctx) -> Result<Value, ApiError> {
    ctx.region_no()?;
    let wanted = ctx.args.opt("productCode");
    let items = catalog::IMAGE_PRODUCTS
        .iter()
        .filter(|p| wanted.is_none_or(|w| w == p.code))
        .map(catalog::image_product_value)
        .collect();
    Ok(list("productList", items))
}

/// getServerProductList(serverImageProductCode, productCode?): the server
/// products that image runs on. Fails without the image product, or for
/// an unknown one.
pub fn get_server_product_list(ctx: &mut Ctx) -> Result<Value, ApiError> {
    ctx.region_no()?;
    let code = ctx.args.req("serverImageProductCode")?;
    let image = catalog::image_product(code).ok_or_else(|| ApiError::no_such("server image product", code))?;
    let wanted = ctx.args.opt("productCode");
    let items = image
        .server_products
        .iter()
        .filter(|p| wanted.is_none_or(|w| w == **p))
        .filter_map(|p| catalog::server_product(p))
        .map(catalog::server_product_value)
        .collect();
    Ok(list("productList", items))
}
