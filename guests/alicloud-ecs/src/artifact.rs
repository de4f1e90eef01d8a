//! The artifact: every image made, one per region, as Packer's
//! `alibaba.alicloud` artifact prints them (so the manifest post-processor
//! records the same ids).

use crate::state::Image;
use kiln_guest::types::Artifact;

/// Packer's builder id for alicloud-ecs artifacts.
pub const BUILDER_ID: &str = "alibaba.alicloud";

/// The artifact of a build that made `images`; none when it made none.
/// The id is the sorted `region:image-id` list joined with `,`; the
/// description lists sorted `region: image-id` lines.
pub fn from_images(images: &[Image]) -> Option<Artifact> {
    if images.is_empty() {
        return None;
    }
    let mut ids: Vec<String> = images.iter().map(|i| format!("{}:{}", i.region, i.id)).collect();
    ids.sort();
    let mut lines: Vec<String> = images.iter().map(|i| format!("{}: {}", i.region, i.id)).collect();
    lines.sort();
    Some(Artifact {
        builder_id: BUILDER_ID.to_string(),
        id: ids.join(","),
        description: format!("Alicloud images were created:\n\n{}", lines.join("\n")),
        files: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(region: &str, id: &str) -> Image {
        Image { region: region.into(), id: id.into(), snapshots: Vec::new(), entry: None }
    }

    #[test]
    fn ids_are_sorted_region_colon_image() {
        let artifact = from_images(&[image("cn-hangzhou", "m-2"), image("cn-beijing", "m-1")]).unwrap();
        assert_eq!(artifact.id, "cn-beijing:m-1,cn-hangzhou:m-2");
        assert_eq!(artifact.description, "Alicloud images were created:\n\ncn-beijing: m-1\ncn-hangzhou: m-2");
        assert!(from_images(&[]).is_none());
    }
}
