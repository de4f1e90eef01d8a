//! Reading Alibaba Cloud's JSON loosely, as its own SDKs do: a string may
//! arrive as a number, a number as a string, a boolean as `"true"`; lists
//! come wrapped (`Images.Image[]`) and a missing or `null` list is empty.
//! Nothing here panics on what the cloud sends.

use serde_json::Value;

/// The value at `path` (object keys), if every step exists and is not null.
pub fn at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut current = value;
    for key in path {
        current = current.get(key)?;
    }
    if current.is_null() { None } else { Some(current) }
}

/// The text at `path`: a string, or a number or boolean written as text.
/// Empty strings count as absent.
pub fn text(value: &Value, path: &[&str]) -> Option<String> {
    let text = match at(value, path)? {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    if text.is_empty() { None } else { Some(text) }
}

/// The boolean at `path`: `true`, `"true"` or a non-zero number.
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
pub fn list<'a>(value: &'a Value, path: &[&str]) -> Vec<&'a Value> {
    match at(value, path) {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(item @ Value::Object(_)) => vec![item],
        _ => Vec::new(),
    }
}

/// The texts of the list at `path`, skipping what is not text.
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

/// Whether the list at `path` is present at all (even empty): tells "the
/// cloud says none" from "the cloud did not say".
pub fn has(value: &Value, path: &[&str]) -> bool {
    at(value, path).is_some()
}

/// A JSON array of strings as text, as Describe* calls take plural ids:
/// `["i-1"]`.
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
}
