//! Response bodies in the two formats the RPC APIs speak: JSON (the
//! default) and XML (`Format=XML`), where a list becomes its element
//! repeated: `{"Regions":{"Region":[a,b]}}` is
//! `<Regions><Region>a</Region><Region>b</Region></Regions>`.

use serde_json::Value;

/// The response format a request asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `Format=JSON` or absent.
    Json,
    /// `Format=XML`.
    Xml,
}

impl Format {
    /// From the `Format` parameter; anything but XML is JSON, as the API does.
    pub fn from_param(value: Option<&str>) -> Self {
        match value {
            Some(v) if v.eq_ignore_ascii_case("xml") => Format::Xml,
            _ => Format::Json,
        }
    }

    /// The Content-Type of a body in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json;charset=utf-8",
            Format::Xml => "text/xml;charset=utf-8",
        }
    }
}

/// `body` in `format`; `root` names the XML document element
/// (`DescribeRegionsResponse`, or `Error`).
pub fn render(format: Format, root: &str, body: &Value) -> Vec<u8> {
    match format {
        Format::Json => serde_json::to_vec(body).expect("a Value always encodes"),
        Format::Xml => {
            let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
            element(&mut out, root, body);
            out.into_bytes()
        }
    }
}

fn element(out: &mut String, name: &str, value: &Value) {
    match value {
        Value::Array(items) => {
            for item in items {
                element(out, name, item);
            }
        }
        Value::Object(map) => {
            out.push_str(&format!("<{name}>"));
            for (k, v) in map {
                element(out, k, v);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::Null => out.push_str(&format!("<{name}/>")),
        Value::String(s) => out.push_str(&format!("<{name}>{}</{name}>", escape(s))),
        other => out.push_str(&format!("<{name}>{other}</{name}>")),
    }
}

fn escape(text: &str) -> String {
    quick_xml::escape::escape(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_become_repeated_elements() {
        let body = json!({"RequestId": "r", "Regions": {"Region": [{"RegionId": "a"}, {"RegionId": "b&c"}]}});
        let xml = String::from_utf8(render(Format::Xml, "DescribeRegionsResponse", &body)).unwrap();
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><DescribeRegionsResponse><RequestId>r</RequestId>\
             <Regions><Region><RegionId>a</RegionId></Region><Region><RegionId>b&amp;c</RegionId></Region>\
             </Regions></DescribeRegionsResponse>"
        );
    }
}
