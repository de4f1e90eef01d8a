//! Every field the builder accepts, with its kind and its documentation:
//! a table, read by `describe` (and so by `kiln plugins inspect`).

use kiln_guest::schema::field;
use kiln_guest::types::{Field, FieldKind};

/// The fields, in the documentation's order: access, image, run.
pub fn all() -> Vec<Field> {
    use FieldKind::{Any, Boolean, FileText, Integer, StringList, StringMap};
    let text = FieldKind::String;
    let fields = [
        // Access.
        field("access_key", text, "The Alibaba Cloud access key id; ALICLOUD_ACCESS_KEY when unset. Held by kiln as a secret.")
            .required()
            .secret()
            .env(&["ALICLOUD_ACCESS_KEY"]),
        field("secret_key", text, "The Alibaba Cloud access key secret; ALICLOUD_SECRET_KEY when unset. Only kiln signs with it; the builder never sees it.")
            .required()
            .secret()
            .env(&["ALICLOUD_SECRET_KEY"]),
        field("region", text, "The region to build in, such as cn-beijing; ALICLOUD_REGION when unset.")
            .required()
            .env(&["ALICLOUD_REGION"]),
        field("security_token", text, "An STS security token, sent with every request; SecurityToken or SECURITY_TOKEN when unset.")
            .secret()
            .env(&["SecurityToken", "SECURITY_TOKEN"]),
        field("skip_region_validation", Boolean, "Do not check with DescribeRegions that the region and the copy regions exist. Default false."),
        field("skip_image_validation", Boolean, "Also look among expired images for source_image, and accept a deprecated one. Default false."),
        field("TLSHandshakeTimeout", Integer, "Seconds each API request may take at least (TLS handshake included); the default is 30. TLSHandshakeTimeout when unset.")
            .env(&["TLSHandshakeTimeout"]),
        field("custom_endpoint_ecs", text, "Send every ECS request to this URL (http://host:port, or a host name for https) instead of ecs.<region>.aliyuncs.com."),
        field("custom_endpoint_vpc", text, "Send every VPC, VSwitch and EIP request to this URL instead of vpc.<region>.aliyuncs.com."),
        field("profile", text, "Packer's credentials profile. Not supported by kiln yet: set access_key and secret_key."),
        field("shared_credentials_file", text, "Packer's credentials file. Not supported by kiln yet: set access_key and secret_key."),
        // Image.
        field("image_name", text, "The name of the new image: 2 to 128 characters, beginning with a letter or a Chinese character; letters, digits, '.', '_' and '-'.")
            .required(),
        field("image_version", text, "The image's version: 1 to 40 characters."),
        field("image_description", text, "The image's description: up to 256 characters, not beginning with http:// or https://."),
        field("image_share_account", StringList, "Alibaba Cloud account ids to share the image (and its copies) with; at most 10."),
        field("image_unshare_account", StringList, "Alibaba Cloud account ids to remove from the image's sharing; at most 10."),
        field("image_copy_regions", StringList, "Regions to copy the image to. kiln waits for every copy, and the artifact lists them all."),
        field("image_copy_names", StringList, "The names of the copies, by position in image_copy_regions; image_name where missing. Same rules as image_name."),
        field("image_encrypted", Boolean, "Encrypt the image. Not supported by kiln yet when true."),
        field("image_force_delete", Boolean, "Delete existing images with the same name (in every target region) just before the new image is made, instead of failing. Default false; -force implies it."),
        field("image_force_delete_snapshots", Boolean, "With image_force_delete, also delete the snapshots of the images deleted. Default false; -force implies it."),
        field("image_force_delete_instances", Boolean, "With image_force_delete, delete an image even if instances still use it (DeleteImage Force). Default false."),
        field("image_ignore_data_disks", Boolean, "Make the image from a snapshot of the system disk only, leaving the data disks out. Default false."),
        field("tags", StringMap, "Tags set on the image, its snapshots, and every copy and its snapshots; at most 20."),
        field("system_disk_mapping", Any, "The instance's system disk: an object with disk_category, disk_size (GiB, 20 to 2048), disk_name and disk_description."),
        field("image_disk_mappings", Any, "Data disks to attach to the instance (and so to include in the image): a list of objects with disk_category, disk_size, disk_name, disk_description, disk_snapshot_id, disk_device, disk_delete_with_instance (default true) and disk_encrypted."),
        field("wait_snapshot_ready_timeout", Integer, "Seconds to wait for the image, each copy and the snapshot to be ready. Default 3600."),
        // Run.
        field("instance_type", text, "The ECS instance type to build on, such as ecs.n1.tiny.").required(),
        field("source_image", text, "The id of the image to start from.").required(),
        field("zone_id", text, "The zone to build in; by default the first zone offering instance_type (the VSwitch's zone with vswitch_id)."),
        field("io_optimized", Boolean, "Create an I/O optimized instance (true) or not (false); unset leaves the API's default."),
        field("force_stop_instance", Boolean, "Stop the instance forcibly (like pulling the plug) before making the image. Default false."),
        field("disable_stop_instance", Boolean, "Do not stop the instance: the provisioners do (sysprep, say) and kiln waits for it to be Stopped. Default false."),
        field("security_group_id", text, "Use this existing security group instead of creating a temporary one."),
        field("security_group_name", text, "The name of the temporary security group: 2 to 128 characters, beginning with a letter or a Chinese character."),
        field("temporary_security_group_source_cidrs", StringList, "The CIDR blocks the temporary security group admits on the communicator port. Default [\"0.0.0.0/0\"]; with ssh_private_ip, the VPC's block."),
        field("user_data", text, "User data for the instance, as plain text (kiln encodes it in base64); at most 16 KiB. Held as a secret: it may read a sensitive variable, and it is never printed.").secret().max_length(super::USER_DATA_LIMIT as u32),
        field("user_data_file", FileText, "A local file whose content is the instance's user data; kiln reads it. Not with user_data."),
        field("vpc_id", text, "Use this existing VPC instead of creating a temporary one."),
        field("vpc_name", text, "The name of the temporary VPC: 2 to 128 characters, beginning with a letter or a Chinese character."),
        field("vpc_cidr_block", text, "The temporary VPC's block: 172.16.0.0/16 (default), 192.168.0.0/16 or 10.0.0.0/8."),
        field("vswitch_id", text, "Use this existing VSwitch (and its VPC and zone) instead of creating temporary ones."),
        field("vswitch_name", text, "The name of the temporary VSwitch: 2 to 128 characters, beginning with a letter or a Chinese character."),
        field("instance_name", text, "The instance's display name: 2 to 128 characters, beginning with a letter or a Chinese character."),
        field("description", text, "The instance's description: 2 to 256 characters, not beginning with http:// or https://."),
        field("internet_charge_type", text, "PayByTraffic or PayByBandwidth: how the public bandwidth (the EIP kiln connects through) is billed. Default PayByTraffic for the EIP."),
        field("internet_max_bandwidth_out", Integer, "Public bandwidth in Mbit/s: 1 to 100 with PayByTraffic, 0 to 100 with PayByBandwidth. The EIP gets 5 when unset."),
        field("ssh_private_ip", Boolean, "Connect to the instance's private IP (kiln must run inside the VPC); no EIP is allocated. Default false."),
        field("associate_public_ip_address", Boolean, "Accepted for Packer templates: kiln always connects through an EIP unless ssh_private_ip, so true may not be combined with ssh_private_ip."),
        field("temporary_key_pair_name", text, "The name of the temporary key pair kiln creates when the SSH communicator has no password or key; kiln_<uuid> by default."),
        field("ssh_keypair_name", text, "An existing key pair to install on the instance; needs ssh_private_key_file or ssh_agent_auth with its private key."),
    ];
    fields.into_iter().map(Field::from).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_unique_and_documented() {
        let fields = super::all();
        let mut names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
        names.sort_unstable();
        let count = names.len();
        names.dedup();
        assert_eq!(names.len(), count);
        assert!(fields.iter().all(|f| !f.doc.is_empty()));
    }
}
