//! Weak typing of a builder section against the fields the builder
//! declares, as Packer's mapstructure decoding does: `"true"` is a
//! boolean, `"42"` an integer, `"5m"` a duration. Unknown keys are
//! errors; secret values are taken out of the JSON and handed over apart.

use super::error::{Problem, did_you_mean};
use super::field::{Field, FieldKind};
use crate::duration;
use serde_json::{Map, Number, Value};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

/// A decoded section.
#[derive(Debug, Default)]
pub struct Decoded {
    /// The section in canonical types, without secret values.
    pub json: Map<String, Value>,
    /// (JSON pointer, value) of each secret.
    pub secrets: Vec<(String, String)>,
}

/// Converts `value` to the canonical JSON of `kind`.
pub fn coerce(value: &Value, kind: FieldKind) -> Result<Value, String> {
    let text = match value {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    match kind {
        FieldKind::Any => Ok(value.clone()),
        FieldKind::FileText => {
            let path = match value {
                Value::String(s) if !s.trim().is_empty() => s.trim(),
                _ => return Err("must be the path of a local file".to_string()),
            };
            std::fs::read_to_string(path).map(Value::String).map_err(|e| {
                format!("cannot read the file {path:?}: {e} (a relative path starts from the working directory)")
            })
        }
        FieldKind::String => match value {
            Value::String(_) => Ok(value.clone()),
            _ => text.map(Value::String).ok_or_else(|| "must be a string".to_string()),
        },
        FieldKind::Boolean => match text.as_deref() {
            Some("true" | "1" | "True" | "TRUE") => Ok(Value::Bool(true)),
            Some("false" | "0" | "False" | "FALSE") => Ok(Value::Bool(false)),
            _ => Err(format!("must be true or false, not {value}")),
        },
        FieldKind::Integer => text
            .and_then(|t| t.parse::<i64>().ok())
            .map(|n| Value::Number(n.into()))
            .ok_or_else(|| format!("must be a whole number, not {value}")),
        FieldKind::Number => text
            .and_then(|t| t.parse::<f64>().ok())
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("must be a number, not {value}")),
        FieldKind::Duration => {
            let text = text.ok_or_else(|| "must be a duration such as \"5m\"".to_string())?;
            let d = duration::parse(&text)?;
            Ok(Value::Number((d.as_millis() as u64).into()))
        }
        FieldKind::StringList => match value {
            Value::Array(items) => items
                .iter()
                .map(|v| coerce(v, FieldKind::String))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array)
                .map_err(|_| "must be a list of strings".to_string()),
            Value::String(s) => Ok(Value::Array(vec![Value::String(s.clone())])),
            _ => Err("must be a list of strings".to_string()),
        },
        FieldKind::StringMap => match value {
            Value::Object(m) => m
                .iter()
                .map(|(k, v)| coerce(v, FieldKind::String).map(|v| (k.clone(), v)))
                .collect::<Result<Map<_, _>, _>>()
                .map(Value::Object)
                .map_err(|_| "must be an object whose values are strings".to_string()),
            _ => Err("must be an object whose values are strings".to_string()),
        },
    }
}

/// Where fields' environment fallbacks and the variables' `{{env}}` are
/// read: the process environment, under an overlay whose values win, an
/// empty one hiding the process variable. Under `--simulate` the overlay
/// holds each simulated cloud's default credentials: it applies unless the
/// user set every one of that cloud's key variables (for Alibaba Cloud,
/// `ALICLOUD_ACCESS_KEY` and `ALICLOUD_SECRET_KEY`), and then it overrides
/// the ones they did set (and empties the cloud's security token
/// variables, so that a token of theirs does not go with the default key).
/// Outside `--simulate` the overlay is empty.
#[derive(Clone, Debug, Default)]
pub struct Environment {
    overlay: BTreeMap<String, String>,
}

impl Environment {
    /// The process environment under `overlay`.
    pub fn with_overlay(overlay: impl IntoIterator<Item = (String, String)>) -> Self {
        Environment { overlay: overlay.into_iter().collect() }
    }

    /// The value of `name`, if set and not empty: the overlay's when it has
    /// `name` (an empty overlay value answers `None`, whatever the process
    /// environment holds), else the process environment's.
    pub fn get(&self, name: &str) -> Option<String> {
        match self.overlay.get(name) {
            Some(value) => Some(value.clone()),
            None => std::env::var(name).ok(),
        }
        .filter(|v| !v.is_empty())
    }
}

/// Fills each field the template left unset or empty from the first of
/// its declared environment variables that is set and not empty in `env`,
/// as Packer's builders fall back to a region or key variable.
pub fn apply_env_fallbacks(section: &mut Map<String, Value>, fields: &[Field], env: &Environment) {
    for field in fields.iter().filter(|f| !f.env.is_empty()) {
        let unset = match section.get(&field.name) {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.is_empty(),
            Some(_) => false,
        };
        if !unset {
            continue;
        }
        if let Some(value) = field.env.iter().find_map(|name| env.get(name)) {
            section.insert(field.name.clone(), Value::String(value));
        }
    }
}

/// Whether `name` looks like it holds a credential, so that only a secret
/// field may fall back to it (a builder must not read a key through a
/// plain field).
pub fn is_credential_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    ["KEY", "SECRET", "TOKEN", "PASSWORD", "CREDENTIAL"].iter().any(|word| upper.contains(word))
}

/// Decodes `section` (rendered, communicator keys already taken out)
/// against `fields`. `sensitive` holds the pointers of strings that used a
/// sensitive variable; `at` is the section's JSON path for errors.
pub fn decode(
    section: &Map<String, Value>,
    sensitive: &BTreeSet<String>,
    fields: &[Field],
    builder_type: &str,
    at: &str,
) -> Result<Decoded, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut decoded = Decoded::default();
    let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    for (key, value) in section {
        let Some(field) = fields.iter().find(|f| &f.name == key) else {
            problems.push(Problem::new(
                format!("{at}.{key}"),
                format!("unknown field for builder type {builder_type:?}{}", did_you_mean(key, names.iter().copied())),
            ));
            continue;
        };
        if value.is_null() {
            continue;
        }
        let pointer = format!("/{}", key.replace('~', "~0").replace('/', "~1"));
        // Copied only when a pointer must be added: a copy per key was
        // quadratic in the size of the section.
        let mut sensitive = Cow::Borrowed(sensitive);
        if sensitive.contains(&pointer) {
            match field.kind {
                FieldKind::String | FieldKind::Any | FieldKind::StringMap => {}
                // One string becomes a one-element list: the secret moves.
                FieldKind::StringList => {
                    sensitive.to_mut().insert(format!("{pointer}/0"));
                }
                kind => {
                    problems.push(Problem::new(
                        format!("{at}.{key}"),
                        format!(
                            "uses a sensitive variable, but a field of kind {} cannot hold a secret; only text fields can",
                            kind.name()
                        ),
                    ));
                    continue;
                }
            }
        }
        let mut value = match coerce(value, field.kind) {
            Ok(v) => v,
            Err(e) => {
                problems.push(Problem::new(format!("{at}.{key}"), e));
                continue;
            }
        };
        if field.secret {
            match value {
                Value::String(s) => decoded.secrets.push((pointer, s)),
                _ => problems.push(Problem::new(format!("{at}.{key}"), "a secret field must be a string")),
            }
            continue;
        }
        extract(&mut value, &pointer, &sensitive, &mut decoded.secrets);
        decoded.json.insert(key.clone(), value);
    }
    for field in fields.iter().filter(|f| f.required) {
        // `{{env `X`}}` of an unset variable renders "", which is no value.
        if section.get(&field.name).is_none_or(|v| v.is_null() || v.as_str() == Some("")) {
            problems.push(Problem::new(
                at,
                format!("required field {:?} is not set ({})", field.name, field.doc.trim_end_matches('.')),
            ));
        }
    }
    if problems.is_empty() { Ok(decoded) } else { Err(problems) }
}

/// Moves strings at sensitive pointers out of `value`, leaving null.
fn extract(value: &mut Value, pointer: &str, sensitive: &BTreeSet<String>, secrets: &mut Vec<(String, String)>) {
    if sensitive.contains(pointer)
        && let Value::String(s) = value
    {
        secrets.push((pointer.to_string(), std::mem::take(s)));
        *value = Value::Null;
        return;
    }
    match value {
        Value::Array(items) => {
            for (i, v) in items.iter_mut().enumerate() {
                extract(v, &format!("{pointer}/{i}"), sensitive, secrets);
            }
        }
        Value::Object(m) => {
            for (k, v) in m.iter_mut() {
                extract(v, &format!("{pointer}/{}", k.replace('~', "~0").replace('/', "~1")), sensitive, secrets);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(name: &str, kind: FieldKind, required: bool, secret: bool) -> Field {
        Field { name: name.into(), kind, required, secret, doc: "doc".into(), env: Vec::new() }
    }

    #[test]
    fn strings_are_weakly_typed() {
        assert_eq!(coerce(&json!("true"), FieldKind::Boolean), Ok(json!(true)));
        assert_eq!(coerce(&json!("42"), FieldKind::Integer), Ok(json!(42)));
        assert_eq!(coerce(&json!(42), FieldKind::String), Ok(json!("42")));
        assert_eq!(coerce(&json!("5m"), FieldKind::Duration), Ok(json!(300000)));
        assert_eq!(coerce(&json!("a"), FieldKind::StringList), Ok(json!(["a"])));
        assert!(coerce(&json!("yes please"), FieldKind::Boolean).is_err());
    }

    #[test]
    fn unknown_field_is_an_error_with_suggestion() {
        let section = json!({"regoin": "x"}).as_object().unwrap().clone();
        let problems =
            decode(&section, &BTreeSet::new(), &[field("region", FieldKind::String, false, false)], "t", "builders[0]")
                .unwrap_err();
        assert_eq!(problems[0].at, "builders[0].regoin");
        assert!(problems[0].message.contains("did you mean \"region\""), "{}", problems[0].message);
    }

    #[test]
    fn secret_fields_and_sensitive_strings_leave_the_json() {
        let section = json!({"key": "k", "tags": {"a": "s3"}}).as_object().unwrap().clone();
        let sensitive: BTreeSet<String> = ["/tags/a".to_string()].into();
        let fields = [field("key", FieldKind::String, true, true), field("tags", FieldKind::StringMap, false, false)];
        let d = decode(&section, &sensitive, &fields, "t", "b").unwrap();
        assert_eq!(d.secrets, vec![("/key".to_string(), "k".to_string()), ("/tags/a".to_string(), "s3".to_string())]);
        assert_eq!(Value::Object(d.json), json!({"tags": {"a": null}}));
    }

    #[test]
    fn sensitive_string_in_a_list_field_stays_secret() {
        let section = json!({"names": "s3"}).as_object().unwrap().clone();
        let sensitive: BTreeSet<String> = ["/names".to_string()].into();
        let d = decode(&section, &sensitive, &[field("names", FieldKind::StringList, false, false)], "t", "b").unwrap();
        assert_eq!(d.secrets, vec![("/names/0".to_string(), "s3".to_string())]);
        assert_eq!(Value::Object(d.json), json!({"names": [null]}));
    }

    #[test]
    fn sensitive_value_in_a_number_field_is_refused() {
        let section = json!({"count": "5"}).as_object().unwrap().clone();
        let sensitive: BTreeSet<String> = ["/count".to_string()].into();
        let problems =
            decode(&section, &sensitive, &[field("count", FieldKind::Integer, false, false)], "t", "b").unwrap_err();
        assert!(problems[0].message.contains("cannot hold a secret"), "{}", problems[0].message);
    }

    #[test]
    fn missing_required_field_is_named() {
        let problems =
            decode(&Map::new(), &BTreeSet::new(), &[field("region", FieldKind::String, true, false)], "t", "b")
                .unwrap_err();
        assert!(problems[0].message.contains("\"region\""));
    }

    #[test]
    fn env_fallbacks_read_the_overlay_before_the_process() {
        let mut key = field("key", FieldKind::String, false, true);
        key.env = vec!["KILN_TEST_UNSET_FALLBACK".into(), "PATH".into()];
        let mut region = field("region", FieldKind::String, false, false);
        region.env = vec!["KILN_TEST_UNSET_FALLBACK".into()];
        let fields = [key, region];
        let mut section = json!({"key": ""}).as_object().unwrap().clone();
        apply_env_fallbacks(&mut section, &fields, &Environment::default());
        assert_eq!(section["key"], json!(std::env::var("PATH").unwrap()));
        assert!(!section.contains_key("region"));
        let overlay = Environment::with_overlay([("PATH".to_string(), "from the overlay".to_string())]);
        let mut section = Map::new();
        apply_env_fallbacks(&mut section, &fields, &overlay);
        assert_eq!(section["key"], json!("from the overlay"));
        assert!(!section.contains_key("region"));
    }
}
