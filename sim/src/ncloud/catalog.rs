//! What the simulated account can choose from: classic regions and
//! zones, server image products and server products (WIRE.md's catalog),
//! and the account's pre-seeded resources' numbers.

use serde_json::{Value, json};

/// A classic region: (regionNo, regionCode, regionName).
pub const REGIONS: &[(&str, &str, &str)] = &[
    ("1", "KR", "Korea"),
    ("2", "USWN", "US-West"),
    ("3", "HK", "HongKong"),
    ("5", "SGN", "Singapore"),
    ("7", "JPN", "Japan"),
    ("8", "DEN", "Germany"),
];

/// The region a request names by `regionNo` (Korea when none).
pub fn region(region_no: Option<&str>) -> Option<&'static (&'static str, &'static str, &'static str)> {
    let no = region_no.unwrap_or("1");
    REGIONS.iter().find(|(n, _, _)| *n == no)
}

/// The zones of a region: (zoneNo, zoneCode, zoneName). Korea has two,
/// the others one each; zone numbers are unique across regions.
pub fn zones(region_no: &str) -> Vec<(String, String, String)> {
    let (_, code, _) = region(Some(region_no)).expect("a catalog region");
    let n: u32 = region_no.parse().expect("numeric");
    // Korea's zones are the real 2 (KR-1) and 3 (KR-2).
    let first = if *code == "KR" { 2 } else { n * 100 + 2 };
    let mut zones = vec![(first.to_string(), format!("{code}-1"), format!("{code}-1"))];
    if *code == "KR" {
        zones.push(("3".into(), "KR-2".into(), "KR-2".into()));
    }
    zones
}

/// The region of zone `zone_no`, if it is a catalog zone.
pub fn zone_region(zone_no: &str) -> Option<&'static str> {
    REGIONS.iter().map(|(n, _, _)| *n).find(|n| zones(n).iter().any(|(z, _, _)| z == zone_no))
}

/// A zone as the API lists it.
pub fn zone_value(region_no: &str, zone: &(String, String, String)) -> Value {
    json!({"zoneNo": zone.0, "zoneName": zone.2, "zoneCode": zone.1, "zoneDescription": format!("{} zone", zone.2), "regionNo": region_no})
}

/// A region as the API lists it.
pub fn region_value(region: &(&str, &str, &str)) -> Value {
    json!({"regionNo": region.0, "regionCode": region.1, "regionName": region.2})
}

/// A server image product.
pub struct ImageProduct {
    /// `productCode`.
    pub code: &'static str,
    /// `productName`.
    pub name: &'static str,
    /// `platformType.code`: `LNX64` or `WND64`.
    pub platform: &'static str,
    /// The server products it runs on.
    pub server_products: &'static [&'static str],
}

/// The image products.
pub const IMAGE_PRODUCTS: &[ImageProduct] = &[
    ImageProduct {
        code: "SPSW0WINNT000016",
        name: "Windows Server 2012 R2",
        platform: "WND64",
        server_products: &["SPSVRSSD00000011"],
    },
    ImageProduct {
        code: "SPSW0LINUX000046",
        name: "centos-7.3-64",
        platform: "LNX64",
        server_products: &["SPSVRSTAND000004", "SPSVRSSD00000003"],
    },
    ImageProduct {
        code: "SPSW0LINUX000139",
        name: "ubuntu-18.04",
        platform: "LNX64",
        server_products: &["SPSVRSTAND000004", "SPSVRSSD00000003"],
    },
];

/// The image product with `code`.
pub fn image_product(code: &str) -> Option<&'static ImageProduct> {
    IMAGE_PRODUCTS.iter().find(|p| p.code == code)
}

/// `productType` of a platform: `WINNT` for Windows, else `LINUX`.
pub fn os_product_type(platform: &str) -> &'static str {
    if platform.starts_with("WND") { "WINNT" } else { "LINUX" }
}

/// A status object `{"code", "codeName"}`.
pub fn code(code: &str, name: &str) -> Value {
    json!({"code": code, "codeName": name})
}

/// An image product as getServerImageProductList lists it.
pub fn image_product_value(p: &ImageProduct) -> Value {
    let os = os_product_type(p.platform);
    json!({
        "productCode": p.code, "productName": p.name,
        "productType": code(os, os), "productDescription": p.name,
        "infraResourceType": code("SW", "Software"), "cpuCount": 0, "memorySize": 0,
        "baseBlockStorageSize": if os == "WINNT" { 107374182400i64 } else { 53687091200i64 },
        "platformType": code(p.platform, p.platform), "osInformation": p.name,
        "addBlockStorageSize": 0,
    })
}

/// A server product: (code, name, cpus, memory bytes, disk bytes).
pub const SERVER_PRODUCTS: &[(&str, &str, i64, i64, i64)] = &[
    ("SPSVRSSD00000011", "vCPU 2EA, Memory 4GB, [SSD]Disk 50GB", 2, 4 << 30, 50 << 30),
    ("SPSVRSTAND000004", "vCPU 2EA, Memory 4GB, Disk 50GB", 2, 4 << 30, 50 << 30),
    ("SPSVRSSD00000003", "vCPU 2EA, Memory 4GB, [SSD]Disk 50GB", 2, 4 << 30, 50 << 30),
];

/// The server product with `code`.
pub fn server_product(code_: &str) -> Option<&'static (&'static str, &'static str, i64, i64, i64)> {
    SERVER_PRODUCTS.iter().find(|p| p.0 == code_)
}

/// A server product as getServerProductList lists it.
pub fn server_product_value(p: &(&str, &str, i64, i64, i64)) -> Value {
    json!({
        "productCode": p.0, "productName": p.1, "productType": code("STAND", "Standard"),
        "productDescription": p.1, "infraResourceType": code("SVR", "Server"),
        "cpuCount": p.2, "memorySize": p.3, "baseBlockStorageSize": p.4,
        "diskType": code(if p.0.contains("SSD") { "SSD" } else { "HDD" }, "disk"),
        "addBlockStorageSize": 0,
    })
}

/// The member image every account holds (Windows), in every classic region.
pub const SEEDED_IMAGE_NO: &str = "4223";
/// Its image product.
pub const SEEDED_IMAGE_PRODUCT: &str = "SPSW0WINNT000016";
/// Its server product.
pub const SEEDED_IMAGE_SERVER_PRODUCT: &str = "SPSVRSSD00000011";
/// The account's default classic access control group.
pub const DEFAULT_ACG_NO: &str = "1";
/// Its name.
pub const DEFAULT_ACG_NAME: &str = "ncloud-default-acg";
/// Its inbound rules: (protocol, ip block, port).
pub const DEFAULT_ACG_RULES: &[(&str, &str, &str)] =
    &[("TCP", "0.0.0.0/0", "22"), ("TCP", "0.0.0.0/0", "3389"), ("TCP", "0.0.0.0/0", "5985")];
