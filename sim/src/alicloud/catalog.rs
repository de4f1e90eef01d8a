//! What the simulated cloud offers before anyone creates anything:
//! regions, their zones and instance types, and public images.

/// A region and what it offers.
pub struct RegionInfo {
    /// `cn-beijing`.
    pub id: &'static str,
    /// The English name the API returns.
    pub name: &'static str,
    /// Zone suffixes (`a`, `b`…) with the instance types each offers.
    pub zones: &'static [(&'static str, &'static [&'static str])],
}

const COMMON: &[&str] = &[
    "ecs.n1.tiny",
    "ecs.n1.small",
    "ecs.n1.medium",
    "ecs.t5-lc1m1.small",
    "ecs.t5-lc1m2.small",
    "ecs.g6.large",
    "ecs.c6.large",
    "ecs.s6-c1m1.small",
];
// A zone that lacks the older families, so that automatic zone choice is
// exercised: it must not pick a zone without the requested type.
const NEWER: &[&str] = &["ecs.g6.large", "ecs.c6.large", "ecs.s6-c1m1.small", "ecs.t5-lc1m1.small"];

/// Every region of the simulated cloud.
pub const REGIONS: &[RegionInfo] = &[
    RegionInfo { id: "cn-beijing", name: "China (Beijing)", zones: &[("a", NEWER), ("c", COMMON), ("g", COMMON)] },
    RegionInfo { id: "cn-hangzhou", name: "China (Hangzhou)", zones: &[("b", COMMON), ("h", NEWER), ("i", COMMON)] },
    RegionInfo { id: "cn-shanghai", name: "China (Shanghai)", zones: &[("b", COMMON), ("e", COMMON)] },
    RegionInfo { id: "cn-shenzhen", name: "China (Shenzhen)", zones: &[("a", COMMON), ("d", NEWER)] },
    RegionInfo { id: "cn-qingdao", name: "China (Qingdao)", zones: &[("b", COMMON), ("c", COMMON)] },
    RegionInfo { id: "cn-zhangjiakou", name: "China (Zhangjiakou)", zones: &[("a", COMMON), ("b", COMMON)] },
    RegionInfo { id: "cn-huhehaote", name: "China (Hohhot)", zones: &[("a", COMMON)] },
    RegionInfo { id: "cn-chengdu", name: "China (Chengdu)", zones: &[("a", COMMON), ("b", NEWER)] },
    RegionInfo { id: "cn-hongkong", name: "China (Hong Kong)", zones: &[("b", COMMON), ("c", COMMON)] },
    RegionInfo { id: "ap-southeast-1", name: "Singapore", zones: &[("a", COMMON), ("b", COMMON)] },
    RegionInfo { id: "ap-southeast-2", name: "Australia (Sydney)", zones: &[("a", COMMON)] },
    RegionInfo { id: "ap-southeast-5", name: "Indonesia (Jakarta)", zones: &[("a", COMMON)] },
    RegionInfo { id: "ap-northeast-1", name: "Japan (Tokyo)", zones: &[("a", COMMON), ("b", NEWER)] },
    RegionInfo { id: "ap-south-1", name: "India (Mumbai)", zones: &[("a", COMMON)] },
    RegionInfo { id: "us-west-1", name: "US (Silicon Valley)", zones: &[("a", COMMON), ("b", COMMON)] },
    RegionInfo { id: "us-east-1", name: "US (Virginia)", zones: &[("a", COMMON), ("b", COMMON)] },
    RegionInfo { id: "eu-central-1", name: "Germany (Frankfurt)", zones: &[("a", COMMON), ("b", COMMON)] },
    RegionInfo { id: "eu-west-1", name: "UK (London)", zones: &[("a", COMMON)] },
    RegionInfo { id: "me-east-1", name: "UAE (Dubai)", zones: &[("a", COMMON)] },
];

/// A public image every region has.
pub struct PublicImage {
    /// Its id (system images have readable ids).
    pub id: &'static str,
    /// `system` or `marketplace`.
    pub owner: &'static str,
    /// `Available` or `Deprecated`.
    pub status: &'static str,
    /// `CentOS`, `Ubuntu`… (`OSName`).
    pub os: &'static str,
    /// `linux` or `windows` (`OSType`): which remote endpoint its
    /// instances have (SSH or WinRM).
    pub os_type: &'static str,
    /// `CentOS`, `Ubuntu`, `Windows Server 2019`… (`Platform`).
    pub platform: &'static str,
    /// Size of its system disk, GiB.
    pub size: u32,
}

/// The public images.
pub const IMAGES: &[PublicImage] = &[
    PublicImage {
        id: "centos_7_04_64_20G_alibase_201701015.vhd",
        owner: "system",
        status: "Available",
        os: "CentOS",
        os_type: "linux",
        platform: "CentOS",
        size: 20,
    },
    PublicImage {
        id: "centos_7_9_x64_20G_alibase_20220727.vhd",
        owner: "system",
        status: "Available",
        os: "CentOS",
        os_type: "linux",
        platform: "CentOS",
        size: 20,
    },
    PublicImage {
        id: "ubuntu_20_04_x64_20G_alibase_20210420.vhd",
        owner: "system",
        status: "Available",
        os: "Ubuntu",
        os_type: "linux",
        platform: "Ubuntu",
        size: 20,
    },
    PublicImage {
        id: "ubuntu_22_04_x64_20G_alibase_20230208.vhd",
        owner: "system",
        status: "Available",
        os: "Ubuntu",
        os_type: "linux",
        platform: "Ubuntu",
        size: 20,
    },
    PublicImage {
        id: "centos_6_08_64_20G_alibase_20170101.vhd",
        owner: "system",
        status: "Deprecated",
        os: "CentOS",
        os_type: "linux",
        platform: "CentOS",
        size: 20,
    },
    PublicImage {
        id: "win2019_1809_x64_dtc_en-us_40G_alibase_20201120.vhd",
        owner: "system",
        status: "Available",
        os: "Windows Server  2019 Data Center Edition 64bit English Edition",
        os_type: "windows",
        platform: "Windows Server 2019",
        size: 40,
    },
    PublicImage {
        id: "m-marketplace-lamp-centos7",
        owner: "marketplace",
        status: "Available",
        os: "CentOS",
        os_type: "linux",
        platform: "CentOS",
        size: 40,
    },
];

/// The region with this id.
pub fn region(id: &str) -> Option<&'static RegionInfo> {
    REGIONS.iter().find(|r| r.id == id)
}

/// The public image with this id.
pub fn public_image(id: &str) -> Option<&'static PublicImage> {
    IMAGES.iter().find(|i| i.id == id)
}
