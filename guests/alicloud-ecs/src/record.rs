//! The build's entries in the host's ledger ([`kiln_guest::record`]): the
//! kinds `destroy` reads back, and every resource recorded with its region
//! (each Alibaba Cloud resource lives in one).

use kiln_guest::steps::StepError;

pub use kiln_guest::record::closed;

/// Ledger kinds, as `destroy` reads them back.
pub mod kind {
    /// An ECS instance.
    pub const INSTANCE: &str = "instance";
    /// A custom image (source-region image or a copy).
    pub const IMAGE: &str = "image";
    /// A snapshot (the system-disk snapshot of `image_ignore_data_disks`).
    pub const SNAPSHOT: &str = "snapshot";
    /// A key pair; its id is its name.
    pub const KEY_PAIR: &str = "keypair";
    /// A VPC.
    pub const VPC: &str = "vpc";
    /// A VSwitch.
    pub const VSWITCH: &str = "vswitch";
    /// A security group.
    pub const SECURITY_GROUP: &str = "security-group";
    /// An EIP; its id is the allocation id.
    pub const EIP: &str = "eip";
}

/// Records `kind` `id` in `region`; see [`kiln_guest::record::created`].
pub fn created(kind: &str, id: &str, region: &str) -> Result<Option<u64>, StepError> {
    kiln_guest::record::created(kind, id, Some(region))
}
