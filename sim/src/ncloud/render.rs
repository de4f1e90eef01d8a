//! Response bodies as the NAVER Cloud APIs send them: JSON pretty-printed
//! (so that there is whitespace before the inner `{`, which Packer 1.6.6's
//! SDK needs) without a trailing newline (which it refuses), or XML for
//! `responseFormatType=xml` with the action's response as root element
//! and each list item as an element named after the list's item
//! (`serverInstanceList` holds `<serverInstance>`s).

use serde_json::Value;

/// The Content-Type of a JSON body.
pub const JSON: &str = "application/json;charset=UTF-8";
/// The Content-Type of an XML body.
pub const XML: &str = "application/xml;charset=UTF-8";

/// `value` as pretty JSON, no trailing newline.
pub fn json(value: &Value) -> Vec<u8> {
    serde_json::to_vec_pretty(value).expect("a Value always encodes")
}

/// `value`, an object with one key (`{"getRegionListResponse": {...}}` or
/// `{"responseError": {...}}`), as XML: its inner object under the root
/// element `root`.
pub fn xml(root: &str, value: &Value) -> Vec<u8> {
    let inner = value.as_object().and_then(|o| o.values().next()).unwrap_or(value);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    element(&mut out, root, inner);
    out.into_bytes()
}

fn element(out: &mut String, name: &str, value: &Value) {
    match value {
        Value::Array(items) => {
            out.push_str(&format!("<{name}>"));
            let item = name.strip_suffix("List").unwrap_or(name);
            for v in items {
                element(out, item, v);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::Object(map) => {
            out.push_str(&format!("<{name}>"));
            for (k, v) in map {
                element(out, k, v);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::Null => out.push_str(&format!("<{name}/>")),
        Value::String(s) => out.push_str(&format!("<{name}>{}</{name}>", quick_xml::escape::escape(s))),
        other => out.push_str(&format!("<{name}>{other}</{name}>")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pretty_without_a_trailing_newline() {
        let body = json(&json!({"getRegionListResponse": {"totalRows": 1, "regionList": [{"regionNo": "1"}]}}));
        let text = String::from_utf8(body).unwrap();
        assert!(text.starts_with("{\n  \"getRegionListResponse\": {"), "{text}");
        assert!(text.ends_with('}') && !text.ends_with("\n}\n"), "{text:?}");
        // Packer 1.6.6's SDK: the body from the first `{` (minus one byte)
        // up to its last byte but one must be JSON.
        let i = text[1..].find('{').unwrap();
        let inner: Value = serde_json::from_str(&text[i..text.len() - 1]).unwrap();
        assert_eq!(inner["regionList"][0]["regionNo"], "1");
        assert_eq!(inner["totalRows"], 1);
    }

    #[test]
    fn xml_names_list_items_after_their_list() {
        let value = json!({"getZoneListResponse": {"totalRows": 1, "zoneList": [{"zoneNo": "2"}]}});
        let text = String::from_utf8(xml("getZoneListResponse", &value)).unwrap();
        assert!(text.ends_with("<getZoneListResponse><totalRows>1</totalRows><zoneList><zone><zoneNo>2</zoneNo></zone></zoneList></getZoneListResponse>"), "{text}");
    }
}
