//! Weak typing of a builder section against the fields the builder
//! declares, as Packer's mapstructure decoding does: `"true"` is a
//! boolean, `"42"` an integer, `"5m"` a duration. Unknown keys are
//! errors; secret values are taken out of the JSON and handed over apart.
//!
//! A value that used a sensitive variable can only go to a field the
//! builder declares secret, which carries it as a secret handle end to
//! end. Anywhere else it is refused, naming the field and the variable: a
//! plain field would hand the builder the value in the clear, and a
//! builder that reads it as text would find it missing and silently use
//! a default.

use super::error::{Problem, did_you_mean};
use super::field::{Field, FieldKind};
use crate::duration;
use serde_json::{Map, Number, Value};
use std::collections::BTreeMap;

/// A decoded section.
#[derive(Default)]
pub struct Decoded {
    /// The section in canonical types, without secret values.
    pub json: Map<String, Value>,
    /// (JSON pointer, value) of each secret field that is set.
    pub secrets: Vec<(String, String)>,
}

// By hand: the derived form would print the secret values.
impl std::fmt::Debug for Decoded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pointers: Vec<&str> = self.secrets.iter().map(|(pointer, _)| pointer.as_str()).collect();
        f.debug_struct("Decoded").field("json", &self.json).field("secrets", &pointers).finish()
    }
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
#[derive(Clone, Default)]
pub struct Environment {
    overlay: BTreeMap<String, String>,
}

// By hand: the overlay holds credentials (the simulated clouds' keys).
impl std::fmt::Debug for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Environment").field("overlay", &self.overlay.keys().collect::<Vec<_>>()).finish()
    }
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
/// sensitive variable, with the variables' names; `at` is the section's
/// JSON path for errors.
///
/// Fails with every problem found: an unknown key, a value of the wrong
/// kind, a required field not set, a secret field that is not a string,
/// a sensitive value in a field that is not secret.
pub fn decode(
    section: &Map<String, Value>,
    sensitive: &BTreeMap<String, Vec<String>>,
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
        let pointer = format!("/{}", escape(key));
        if !field.secret {
            let refused = refuse_sensitive(&pointer, sensitive, fields, builder_type, at);
            if !refused.is_empty() {
                problems.extend(refused);
                continue;
            }
        }
        let value = match coerce(value, field.kind) {
            Ok(v) => v,
            Err(e) => {
                problems.push(Problem::new(format!("{at}.{key}"), e));
                continue;
            }
        };
        if let (Some(limit), Value::String(s)) = (field.max_length, &value)
            && s.len() > limit as usize
        {
            // The length, never the value: it may be a secret.
            problems.push(Problem::new(
                format!("{at}.{key}"),
                format!(
                    "is {} bytes; builder type {builder_type:?} takes at most {limit} bytes here; shorten it",
                    s.len()
                ),
            ));
            continue;
        }
        if field.secret {
            match value {
                // Empty is unset, as for a plain field: no handle at all,
                // rather than one the builder cannot tell is empty.
                Value::String(s) if s.is_empty() => {}
                Value::String(s) => decoded.secrets.push((pointer, s)),
                _ => problems.push(Problem::new(format!("{at}.{key}"), "a secret field must be a string")),
            }
            continue;
        }
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

/// A problem for each string at or under `pointer` (a plain field) that
/// used a sensitive variable.
fn refuse_sensitive(
    pointer: &str,
    sensitive: &BTreeMap<String, Vec<String>>,
    fields: &[Field],
    builder_type: &str,
    at: &str,
) -> Vec<Problem> {
    // The field's own string, then those inside it: every pointer under
    // `/tag` starts with `/tag/`, but siblings such as `/tag-x` sort
    // between them, so the range stops at the first that does not.
    let inside = format!("{pointer}/");
    let marked = sensitive
        .get_key_value(pointer)
        .into_iter()
        .chain(sensitive.range(inside.clone()..).take_while(|(p, _)| p.starts_with(&inside)));
    let mut can = None;
    marked
        .map(|(p, names)| {
            let can = can.get_or_insert_with(|| {
                let secret_fields: Vec<&str> = fields.iter().filter(|f| f.secret).map(|f| f.name.as_str()).collect();
                if secret_fields.is_empty() {
                    "none of its fields can".to_string()
                } else {
                    format!("only its secret fields can: {}", secret_fields.join(", "))
                }
            });
            Problem::sensitive_refused(
                format!("{at}{}", pointer_path(p)),
                names,
                &format!("this field of builder type {builder_type:?} cannot take a sensitive value ({can})"),
            )
        })
        .collect()
}

/// `key` as one token of a JSON pointer (RFC 6901: `~` is `~0`, `/` is
/// `~1`), as the pointers of `render::Rendered::sensitive` spell it.
pub fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// A JSON pointer (`/tags/team`, `/disks/0`) as the JSON path it is
/// under a section (`.tags.team`, `.disks[0]`).
pub fn pointer_path(pointer: &str) -> String {
    pointer
        .split('/')
        .skip(1)
        .map(|token| token.replace("~1", "/").replace("~0", "~"))
        .map(|token| if token.parse::<usize>().is_ok() { format!("[{token}]") } else { format!(".{token}") })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(name: &str, kind: FieldKind, required: bool, secret: bool) -> Field {
        Field { name: name.into(), kind, required, secret, doc: "doc".into(), env: Vec::new(), max_length: None }
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
            decode(&section, &BTreeMap::new(), &[field("region", FieldKind::String, false, false)], "t", "builders[0]")
                .unwrap_err();
        assert_eq!(problems[0].at, "builders[0].regoin");
        assert!(problems[0].message.contains("did you mean \"region\""), "{}", problems[0].message);
    }

    fn sensitive(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<String>> {
        pairs.iter().map(|(p, name)| (p.to_string(), vec![name.to_string()])).collect()
    }

    #[test]
    fn secret_fields_leave_the_json() {
        let section = json!({"key": "k", "region": "r"}).as_object().unwrap().clone();
        let fields = [field("key", FieldKind::String, true, true), field("region", FieldKind::String, false, false)];
        let d = decode(&section, &sensitive(&[("/key", "pw")]), &fields, "t", "b").unwrap();
        assert_eq!(d.secrets, vec![("/key".to_string(), "k".to_string())]);
        assert_eq!(Value::Object(d.json), json!({"region": "r"}));
    }

    #[test]
    fn sensitive_value_in_a_plain_field_of_any_kind_is_refused_naming_field_and_variable() {
        let section = json!({"tags": {"a": "s3"}, "names": ["x", "s3"], "count": "5", "region": "r"});
        let fields = [
            field("key", FieldKind::String, false, true),
            field("tags", FieldKind::StringMap, false, false),
            field("names", FieldKind::StringList, false, false),
            field("count", FieldKind::Integer, false, false),
            field("region", FieldKind::String, false, false),
        ];
        let marked = sensitive(&[("/tags/a", "pw"), ("/names/1", "pw"), ("/count", "n")]);
        let problems = decode(section.as_object().unwrap(), &marked, &fields, "t", "builders[0]").unwrap_err();
        let at: Vec<&str> = problems.iter().map(|p| p.at.as_str()).collect();
        assert_eq!(at, ["builders[0].tags.a", "builders[0].names[1]", "builders[0].count"]);
        let message = &problems[2].message;
        assert!(message.starts_with("uses the sensitive variable \"n\", but this field"), "{message}");
        assert!(message.contains("cannot take a sensitive value (only its secret fields can: key)"), "{message}");
        assert!(message.contains("take \"n\" out of sensitive-variables"), "{message}");
    }

    #[test]
    fn a_sibling_field_whose_name_extends_a_plain_one_is_not_blamed() {
        let section = json!({"tag": "t", "tags": "s"}).as_object().unwrap().clone();
        let fields = [field("tag", FieldKind::String, false, false), field("tags", FieldKind::String, false, true)];
        let d = decode(&section, &sensitive(&[("/tags", "pw")]), &fields, "t", "b").unwrap();
        assert_eq!(d.secrets, vec![("/tags".to_string(), "s".to_string())]);
    }

    #[test]
    fn a_sensitive_value_inside_a_plain_field_is_refused_past_a_sibling_that_sorts_between() {
        // "/tag-x" sorts after "/tag" and before "/tag/a" ('-' < '/').
        let section = json!({"tag": {"a": "s3"}, "tag-x": "plain"}).as_object().unwrap().clone();
        let fields =
            [field("tag", FieldKind::StringMap, false, false), field("tag-x", FieldKind::String, false, false)];
        let marked = sensitive(&[("/tag-x", "other"), ("/tag/a", "pw")]);
        let problems = decode(&section, &marked, &fields, "t", "b").unwrap_err();
        let at: Vec<&str> = problems.iter().map(|p| p.at.as_str()).collect();
        assert_eq!(at, ["b.tag.a", "b.tag-x"]);
        assert!(problems[0].message.contains("(none of its fields can)"), "{}", problems[0].message);
        let marked = sensitive(&[("/tag-x", "other")]);
        let problems = decode(&section, &marked, &fields, "t", "b").unwrap_err();
        assert_eq!(problems.iter().map(|p| p.at.as_str()).collect::<Vec<_>>(), ["b.tag-x"]);
    }

    #[test]
    fn missing_required_field_is_named() {
        let problems =
            decode(&Map::new(), &BTreeMap::new(), &[field("region", FieldKind::String, true, false)], "t", "b")
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
