//! `system_disk_mapping` and `image_disk_mappings`: objects the host hands
//! over untouched (`any`), checked here key by key with Packer's weak
//! typing (`"40"` is a size, `"true"` a boolean).

use super::rules;
use kiln_guest::config::field_error;
use kiln_guest::reader::ObjectReader;
use kiln_guest::types::FieldError;
use serde_json::Value;

/// The instance's system disk.
#[derive(Clone, Debug, Default)]
pub struct SystemDisk {
    /// `SystemDisk.Category`.
    pub category: Option<String>,
    /// `SystemDisk.Size`, GiB.
    pub size: Option<i64>,
    /// `SystemDisk.DiskName`.
    pub name: Option<String>,
    /// `SystemDisk.Description`.
    pub description: Option<String>,
}

/// One data disk of the instance.
#[derive(Clone, Debug)]
pub struct DataDisk {
    /// `DataDisk.N.Category`.
    pub category: Option<String>,
    /// `DataDisk.N.Size`, GiB.
    pub size: Option<i64>,
    /// `DataDisk.N.DiskName`.
    pub name: Option<String>,
    /// `DataDisk.N.Description`.
    pub description: Option<String>,
    /// `DataDisk.N.SnapshotId`.
    pub snapshot_id: Option<String>,
    /// `DataDisk.N.Device`.
    pub device: Option<String>,
    /// `DataDisk.N.DeleteWithInstance`: true unless the user says otherwise
    /// (Packer's false leaves the disks behind after the build).
    pub delete_with_instance: bool,
    /// `DataDisk.N.Encrypted`, when set.
    pub encrypted: Option<bool>,
}

const CATEGORIES: &[&str] = &["cloud", "cloud_efficiency", "cloud_ssd", "cloud_essd"];

/// A data disk's category when `disk_category` is unset: `cloud`, as the
/// documentation says. kiln always sends it, so the size is checked
/// against the category the disk really gets.
pub const DEFAULT_DISK_CATEGORY: &str = "cloud";
const DATA_KEYS: &[&str] = &[
    "disk_category",
    "disk_size",
    "disk_name",
    "disk_description",
    "disk_snapshot_id",
    "disk_device",
    "disk_delete_with_instance",
    "disk_encrypted",
];
const SYSTEM_KEYS: &[&str] = &["disk_category", "disk_size", "disk_name", "disk_description"];

/// How a disk size must be written, for the reader's error.
const SIZE: &str = "a whole number of GiB";

/// Unknown keys are errors: a typo must not silently drop a setting. A
/// data disk's key on the system disk says where it belongs.
fn refuse_unknown_keys(r: &mut ObjectReader<'_>, known: &[&str], what: &str) {
    for key in r.unknown_keys(known) {
        let message = if DATA_KEYS.contains(&key.as_str()) {
            format!("{key} applies to data disks (image_disk_mappings), not to {what}")
        } else {
            format!("{key} is not a key of {what}; known keys: {}", known.join(", "))
        };
        r.fail(&key, message);
    }
}

fn category(r: &mut ObjectReader<'_>) -> Option<String> {
    let category = r.text("disk_category")?;
    if !CATEGORIES.contains(&category.as_str()) {
        r.fail("disk_category", format!("disk_category must be one of {}, not {category:?}", CATEGORIES.join(", ")));
    }
    Some(category)
}

fn name_and_description(r: &mut ObjectReader<'_>) -> (Option<String>, Option<String>) {
    let name = r.text("disk_name");
    if let Some(Err(rule)) = name.as_deref().map(rules::name) {
        r.fail("disk_name", format!("disk_name {rule}"));
    }
    let description = r.text("disk_description");
    if let Some(Err(rule)) = description.as_deref().map(|d| rules::description(d, 2, 256)) {
        r.fail("disk_description", format!("disk_description {rule}"));
    }
    (name, description)
}

/// The size range of a data disk of `category`, in GiB.
fn data_size_range(category: &str) -> (i64, i64) {
    match category {
        "cloud" => (5, 2000),
        "cloud_essd" => (20, 32768),
        _ => (20, 2048),
    }
}

/// Parses `system_disk_mapping`.
pub fn system_disk(value: Option<&Value>, errors: &mut Vec<FieldError>) -> Option<SystemDisk> {
    let value = value?;
    let Value::Object(object) = value else {
        errors.push(field_error(
            "/system_disk_mapping",
            "system_disk_mapping must be an object with disk_category, disk_size, disk_name and disk_description",
        ));
        return None;
    };
    let mut r = ObjectReader::new(object, "/system_disk_mapping", errors);
    refuse_unknown_keys(&mut r, SYSTEM_KEYS, "system_disk_mapping");
    let category = category(&mut r);
    let size = r.integer("disk_size", SIZE);
    if let Some(size) = size
        && !(20..=2048).contains(&size)
    {
        r.fail("disk_size", format!("disk_size of the system disk must be 20 to 2048 GiB, not {size}"));
    }
    let (name, description) = name_and_description(&mut r);
    Some(SystemDisk { category, size, name, description })
}

/// Parses `image_disk_mappings`.
pub fn data_disks(value: Option<&Value>, errors: &mut Vec<FieldError>) -> Vec<DataDisk> {
    let Some(value) = value else { return Vec::new() };
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) => vec![value],
        _ => {
            errors.push(field_error("/image_disk_mappings", "image_disk_mappings must be a list of objects"));
            return Vec::new();
        }
    };
    if items.len() > 16 {
        errors.push(field_error(
            "/image_disk_mappings",
            &format!("image_disk_mappings lists {} disks; an instance takes at most 16 data disks", items.len()),
        ));
    }
    let mut disks = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let pointer = format!("/image_disk_mappings/{i}");
        let Value::Object(object) = item else {
            errors.push(field_error(&pointer, &format!("image_disk_mappings[{i}] must be an object")));
            continue;
        };
        let mut r = ObjectReader::new(object, pointer, &mut *errors);
        refuse_unknown_keys(&mut r, DATA_KEYS, "image_disk_mappings");
        let category = category(&mut r);
        let size = r.integer("disk_size", SIZE);
        let snapshot_id = r.text("disk_snapshot_id");
        let effective = category.as_deref().unwrap_or(DEFAULT_DISK_CATEGORY);
        let (min, max) = data_size_range(effective);
        match size {
            Some(size) if !(min..=max).contains(&size) => {
                r.fail("disk_size", format!("disk_size of a {effective} disk must be {min} to {max} GiB, not {size}"))
            }
            None if snapshot_id.is_none() => r.fail(
                "disk_size",
                format!("disk_size must be set ({min} to {max} GiB for {effective}) unless disk_snapshot_id is"),
            ),
            _ => {}
        }
        let (name, description) = name_and_description(&mut r);
        let device = r.text("disk_device");
        let delete_with_instance = r.boolean("disk_delete_with_instance").unwrap_or(true);
        let encrypted = r.boolean("disk_encrypted");
        disks.push(DataDisk {
            category,
            size,
            name,
            description,
            snapshot_id,
            device,
            delete_with_instance,
            encrypted,
        });
    }
    disks
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn data_disks_check_size_per_category_and_default_to_deletion() {
        let mut errors = Vec::new();
        let value = json!([
            {"disk_category": "cloud", "disk_size": "40"},
            {"disk_category": "cloud_ssd", "disk_size": 10},
            {"disk_snapshot_id": "s-1", "disk_delete_with_instance": "false"},
            {"disk_size": 30, "disk_sise": 1}
        ]);
        let disks = data_disks(Some(&value), &mut errors);
        assert_eq!(disks.len(), 4);
        assert!(disks[0].delete_with_instance);
        assert_eq!(disks[0].size, Some(40));
        assert!(!disks[2].delete_with_instance);
        let pointers: Vec<&str> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(pointers, ["/image_disk_mappings/1/disk_size", "/image_disk_mappings/3/disk_sise"]);
    }

    #[test]
    fn system_disk_refuses_data_disk_keys() {
        let mut errors = Vec::new();
        let value = json!({"disk_category": "cloud_efficiency", "disk_size": 40, "disk_snapshot_id": "s-1"});
        let disk = system_disk(Some(&value), &mut errors).unwrap();
        assert_eq!(disk.size, Some(40));
        assert_eq!(errors.len(), 1);
        assert!(errors[0].message.contains("applies to data disks"));
    }
}
