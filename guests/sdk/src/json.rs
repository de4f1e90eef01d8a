//! Reading a cloud's JSON loosely, as the clouds' own SDKs do: a string
//! may arrive as a number, a number as a string, a boolean as `"true"`;
//! lists come wrapped (`Images.Image[]`) and a missing or `null` list is
//! empty. Nothing here panics on what the cloud sends.

use serde_json::Value;

/// The value at `path` (object keys), if every step exists and is not null.
///
/// ```rust
/// use kiln_guest::json;
/// use serde_json::json;
///
/// let reply = json!({"Instance": {"Id": "i-1", "Zone": null}});
/// assert_eq!(json::at(&reply, &["Instance", "Id"]), Some(&json!("i-1")));
/// assert_eq!(json::at(&reply, &["Instance", "Zone"]), None);
/// ```
pub fn at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut current = value;
    for key in path {
        current = current.get(key)?;
    }
    if current.is_null() { None } else { Some(current) }
}

/// The text at `path`: a string, or a number or boolean written as text.
/// Empty strings count as absent.
///
/// ```rust
/// use kiln_guest::json;
/// use serde_json::json;
///
/// let reply = json!({"Size": 40, "Name": "", "Id": "i-1"});
/// assert_eq!(json::text(&reply, &["Size"]).as_deref(), Some("40"));
/// assert_eq!(json::text(&reply, &["Name"]), None);
/// assert_eq!(json::text(&reply, &["Id"]).as_deref(), Some("i-1"));
/// ```
pub fn text(value: &Value, path: &[&str]) -> Option<String> {
    let text = match at(value, path)? {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    if text.is_empty() { None } else { Some(text) }
}

/// The boolean at `path`: `true`, `"true"` (any case), `"1"` or a non-zero
/// number; `false`, `"false"`, `"0"` or zero.
///
/// ```rust
/// use kiln_guest::json;
/// use serde_json::json;
///
/// let reply = json!({"IsCopied": "True", "Encrypted": 0, "Odd": "maybe"});
/// assert_eq!(json::flag(&reply, &["IsCopied"]), Some(true));
/// assert_eq!(json::flag(&reply, &["Encrypted"]), Some(false));
/// assert_eq!(json::flag(&reply, &["Odd"]), None);
/// ```
pub fn flag(value: &Value, path: &[&str]) -> Option<bool> {
    match at(value, path)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        },
        Value::Number(n) => n.as_f64().map(|f| f != 0.0),
        _ => None,
    }
}

/// The items of the list at `path` (`["Images", "Image"]`). A single
/// object where a list was expected counts as a list of one.
///
/// ```rust
/// use kiln_guest::json;
/// use serde_json::json;
///
/// let reply = json!({"Images": {"Image": {"ImageId": "m-1"}}});
/// assert_eq!(json::list(&reply, &["Images", "Image"]).len(), 1);
/// assert!(json::list(&reply, &["Snapshots", "Snapshot"]).is_empty());
/// ```
pub fn list<'a>(value: &'a Value, path: &[&str]) -> Vec<&'a Value> {
    match at(value, path) {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(item @ Value::Object(_)) => vec![item],
        _ => Vec::new(),
    }
}

/// The texts of the list at `path`, skipping what is not text (numbers
/// are written as text). A single scalar counts as a list of one.
///
/// ```rust
/// use kiln_guest::json;
/// use serde_json::json;
///
/// let reply = json!({"Zones": {"Zone": ["a", "", 3, null]}});
/// assert_eq!(json::texts(&reply, &["Zones", "Zone"]), ["a", "3"]);
/// ```
pub fn texts(value: &Value, path: &[&str]) -> Vec<String> {
    list_or_scalars(value, path)
        .into_iter()
        .filter_map(|item| match item {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .collect()
}

/// Like [`list`], but keeps scalar items too.
fn list_or_scalars<'a>(value: &'a Value, path: &[&str]) -> Vec<&'a Value> {
    match at(value, path) {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(other) => vec![other],
        None => Vec::new(),
    }
}

/// Whether the value at `path` is present at all (even an empty list):
/// tells "the cloud says none" from "the cloud did not say".
///
/// ```rust
/// use kiln_guest::json;
/// use serde_json::json;
///
/// let reply = json!({"Zones": {"Zone": []}});
/// assert!(json::has(&reply, &["Zones", "Zone"]));
/// assert!(!json::has(&reply, &["Regions"]));
/// ```
pub fn has(value: &Value, path: &[&str]) -> bool {
    at(value, path).is_some()
}

/// A JSON array of strings as text, as APIs that take plural ids in one
/// parameter want it: `["i-1"]`.
///
/// ```rust
/// assert_eq!(kiln_guest::json::array_param(&["i-1", "i-2"]), r#"["i-1","i-2"]"#);
/// ```
pub fn array_param(items: &[&str]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fuzzy_reads_accept_loose_types() {
        let v = json!({"A": {"B": 5}, "C": "true", "D": "", "E": null, "F": [{"x": 1}], "G": {"x": 2}});
        assert_eq!(text(&v, &["A", "B"]), Some("5".into()));
        assert_eq!(flag(&v, &["C"]), Some(true));
        assert_eq!(text(&v, &["D"]), None);
        assert_eq!(text(&v, &["E"]), None);
        assert_eq!(list(&v, &["F"]).len(), 1);
        assert_eq!(list(&v, &["G"]).len(), 1);
        assert!(list(&v, &["H", "I"]).is_empty());
        assert_eq!(array_param(&["i-1"]), r#"["i-1"]"#);
    }

    #[test]
    fn texts_take_scalars_and_skip_the_rest() {
        let v = json!({"L": ["a", 1, "", true, {"x": 1}], "S": "one", "N": null});
        assert_eq!(texts(&v, &["L"]), ["a", "1"]);
        assert_eq!(texts(&v, &["S"]), ["one"]);
        assert!(texts(&v, &["N"]).is_empty());
    }

    #[test]
    fn flags_read_text_numbers_and_booleans() {
        let v = json!({"a": true, "b": "FALSE", "c": "1", "d": 2.5, "e": 0, "f": "yes", "g": [true]});
        assert_eq!(flag(&v, &["a"]), Some(true));
        assert_eq!(flag(&v, &["b"]), Some(false));
        assert_eq!(flag(&v, &["c"]), Some(true));
        assert_eq!(flag(&v, &["d"]), Some(true));
        assert_eq!(flag(&v, &["e"]), Some(false));
        assert_eq!(flag(&v, &["f"]), None);
        assert_eq!(flag(&v, &["g"]), None);
    }

    #[test]
    fn presence_tells_empty_from_missing() {
        let v = json!({"L": [], "N": null, "O": {"P": 1}});
        assert!(has(&v, &["L"]));
        assert!(!has(&v, &["N"]));
        assert!(has(&v, &["O", "P"]));
        assert!(!has(&v, &["O", "Q"]));
        assert_eq!(at(&v, &["O", "P", "deeper"]), None);
    }
}
