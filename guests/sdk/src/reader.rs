//! Reading a builder's fields in `prepare` so that the user sees every
//! problem at once: [`Reader`] goes on after a bad field, collecting one
//! [`FieldError`] per problem (pointing at the field and saying the rule)
//! and the warnings, and [`ObjectReader`] does the same for the keys of an
//! object-valued field, with Packer's weak typing (`"40"` is a number,
//! `"true"` a boolean).

use crate::Config;
use crate::config::field_error;
use crate::types::FieldError;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Reads the fields of one configuration, collecting errors and warnings.
///
/// ```rust
/// use kiln_guest::reader::Reader;
/// # use kiln_guest::Config;
/// # fn check(config: &Config) -> Result<(String, Vec<String>), Vec<kiln_guest::types::FieldError>> {
/// let mut r = Reader::new(config);
/// let image = r.required("image_name", |v| if v.len() < 2 { Err("is too short".into()) } else { Ok(()) });
/// let zone = r.id("zone_id");
/// if zone.is_some() && r.flag("pick_zone") {
///     r.warn("pick_zone is not used: zone_id names the zone");
/// }
/// r.finish(image)
/// # }
/// ```
pub struct Reader<'c> {
    config: &'c Config,
    errors: Vec<FieldError>,
    warnings: Vec<String>,
}

impl<'c> Reader<'c> {
    /// A reader of `config` with no problem found yet.
    ///
    /// ```rust
    /// # let config = kiln_guest::Config::from_fields(serde_json::json!({})).unwrap();
    /// let r = kiln_guest::reader::Reader::new(&config);
    /// assert!(r.finish(()).is_ok());
    /// ```
    pub fn new(config: &'c Config) -> Self {
        Reader { config, errors: Vec::new(), warnings: Vec::new() }
    }

    /// The configuration read, for what the helpers here do not cover.
    ///
    /// ```rust
    /// # let config = kiln_guest::Config::from_fields(serde_json::json!({})).unwrap();
    /// let r = kiln_guest::reader::Reader::new(&config);
    /// let force = r.config().force;
    /// ```
    pub fn config(&self) -> &'c Config {
        self.config
    }

    /// Records a problem with `field` (a top-level name, or a path such as
    /// `list/2`), pointing at `/field`.
    ///
    /// ```rust
    /// # let config = kiln_guest::Config::from_fields(serde_json::json!({})).unwrap();
    /// let mut r = kiln_guest::reader::Reader::new(&config);
    /// r.fail("tags", "tags has 21 entries; at most 20 are allowed");
    /// assert_eq!(r.finish(()).unwrap_err()[0].pointer, "/tags");
    /// ```
    pub fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(field_error(&format!("/{field}"), &message.into()));
    }

    /// Records a non-fatal remark.
    ///
    /// ```rust
    /// # let config = kiln_guest::Config::from_fields(serde_json::json!({})).unwrap();
    /// let mut r = kiln_guest::reader::Reader::new(&config);
    /// r.warn("vpc_name is not used: the build uses an existing VPC");
    /// assert_eq!(r.finish(()).unwrap().1.len(), 1);
    /// ```
    pub fn warn(&mut self, message: impl Into<String>) {
        self.warnings.push(message.into());
    }

    /// The errors found so far, to add errors made elsewhere (an
    /// [`ObjectReader`]).
    ///
    /// ```rust
    /// # let config = kiln_guest::Config::from_fields(serde_json::json!({})).unwrap();
    /// let mut r = kiln_guest::reader::Reader::new(&config);
    /// r.errors_mut().push(kiln_guest::config::field_error("/disks/0/size", "size must be a number"));
    /// assert!(r.finish(()).is_err());
    /// ```
    pub fn errors_mut(&mut self) -> &mut Vec<FieldError> {
        &mut self.errors
    }

    /// A text field; unset, null and blank are all "not set".
    ///
    /// ```rust
    /// # let config = kiln_guest::Config::from_fields(serde_json::json!({"name": "  ", "zone": "a"})).unwrap();
    /// let r = kiln_guest::reader::Reader::new(&config);
    /// assert_eq!(r.text("name"), None);
    /// assert_eq!(r.text("zone").as_deref(), Some("a"));
    /// ```
    pub fn text(&self, name: &str) -> Option<String> {
        self.config.string(name).filter(|s| !s.trim().is_empty()).map(str::to_string)
    }

    /// A text field that must not carry surrounding spaces (ids, names):
    /// the value trimmed, with an error when it had any.
    ///
    /// ```rust
    /// # let config = kiln_guest::Config::from_fields(serde_json::json!({"vpc_id": " vpc-1"})).unwrap();
    /// let mut r = kiln_guest::reader::Reader::new(&config);
    /// assert_eq!(r.id("vpc_id").as_deref(), Some("vpc-1"));
    /// assert_eq!(r.finish(()).unwrap_err()[0].message, "vpc_id must not begin or end with spaces");
    /// ```
    pub fn id(&mut self, name: &str) -> Option<String> {
        let value = self.text(name)?;
        if value.trim() != value {
            self.fail(name, format!("{name} must not begin or end with spaces"));
        }
        Some(value.trim().to_string())
    }

    /// A boolean field; false when unset.
    ///
    /// ```rust
    /// # let config = kiln_guest::Config::from_fields(serde_json::json!({"force_stop": true})).unwrap();
    /// let r = kiln_guest::reader::Reader::new(&config);
    /// assert!(r.flag("force_stop"));
    /// assert!(!r.flag("unset"));
    /// ```
    pub fn flag(&self, name: &str) -> bool {
        self.config.boolean(name, false)
    }

    /// Any field decoded into `T`; none when unset, and an error (naming
    /// the field) when it does not decode.
    ///
    /// ```rust
    /// # let config = kiln_guest::Config::from_fields(serde_json::json!({"tags": {"a": "b"}, "bad": 3})).unwrap();
    /// let mut r = kiln_guest::reader::Reader::new(&config);
    /// let tags: Option<std::collections::BTreeMap<String, String>> = r.decode("tags");
    /// assert_eq!(tags.unwrap()["a"], "b");
    /// assert_eq!(r.decode::<Vec<String>>("bad"), None);
    /// assert!(r.finish(()).is_err());
    /// ```
    pub fn decode<T: DeserializeOwned>(&mut self, name: &str) -> Option<T> {
        match self.config.decode::<T>(name) {
            Ok(value) => value,
            Err(e) => {
                self.errors.push(e);
                None
            }
        }
    }

    /// A list of strings, trimmed, empty entries dropped.
    ///
    /// ```rust
    /// # let config = kiln_guest::Config::from_fields(serde_json::json!({"accounts": [" 1 ", "", "2"]})).unwrap();
    /// let mut r = kiln_guest::reader::Reader::new(&config);
    /// assert_eq!(r.list("accounts"), ["1", "2"]);
    /// ```
    pub fn list(&mut self, name: &str) -> Vec<String> {
        let list: Vec<String> = self.decode(name).unwrap_or_default();
        list.into_iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
    }

    /// A list whose entries keep their positions (trimmed, empty ones kept).
    ///
    /// ```rust
    /// # let config = kiln_guest::Config::from_fields(serde_json::json!({"names": ["a", "", " c"]})).unwrap();
    /// let mut r = kiln_guest::reader::Reader::new(&config);
    /// assert_eq!(r.positional_list("names"), ["a", "", "c"]);
    /// ```
    pub fn positional_list(&mut self, name: &str) -> Vec<String> {
        let list: Vec<String> = self.decode(name).unwrap_or_default();
        list.into_iter().map(|s| s.trim().to_string()).collect()
    }

    /// A text field checked by `rule`, which words the problem to follow
    /// the field's name (`must be 2 to 128 characters long`). The value is
    /// returned even when it breaks the rule, so that later checks can use
    /// it.
    ///
    /// ```rust
    /// # let config = kiln_guest::Config::from_fields(serde_json::json!({"version": ""})).unwrap();
    /// let mut r = kiln_guest::reader::Reader::new(&config);
    /// let short = |v: &str| if v.len() <= 40 { Ok(()) } else { Err("must be at most 40 characters long".to_string()) };
    /// assert_eq!(r.checked("version", short), None);
    /// ```
    pub fn checked(&mut self, name: &str, rule: impl Fn(&str) -> Result<(), String>) -> Option<String> {
        let value = self.text(name)?;
        if let Err(problem) = rule(&value) {
            self.fail(name, format!("{name} {problem}"));
        }
        Some(value)
    }

    /// Like [`Reader::checked`], and the field must be set (empty text
    /// when it is not).
    ///
    /// ```rust
    /// # let config = kiln_guest::Config::from_fields(serde_json::json!({})).unwrap();
    /// let mut r = kiln_guest::reader::Reader::new(&config);
    /// assert_eq!(r.required("image_name", |_| Ok(())), "");
    /// assert_eq!(r.finish(()).unwrap_err()[0].message, "image_name must be set");
    /// ```
    pub fn required(&mut self, name: &str, rule: impl Fn(&str) -> Result<(), String>) -> String {
        self.checked(name, rule).unwrap_or_else(|| {
            self.fail(name, format!("{name} must be set"));
            String::new()
        })
    }

    /// Like [`Reader::id`], and the field must be set (empty text when it
    /// is not).
    ///
    /// ```rust
    /// # let config = kiln_guest::Config::from_fields(serde_json::json!({"source_image": "m-1"})).unwrap();
    /// let mut r = kiln_guest::reader::Reader::new(&config);
    /// assert_eq!(r.required_id("source_image"), "m-1");
    /// ```
    pub fn required_id(&mut self, name: &str) -> String {
        self.id(name).unwrap_or_else(|| {
            self.fail(name, format!("{name} must be set"));
            String::new()
        })
    }

    /// `value` and the warnings when no error was found, else every error.
    ///
    /// ```rust
    /// # let config = kiln_guest::Config::from_fields(serde_json::json!({})).unwrap();
    /// let r = kiln_guest::reader::Reader::new(&config);
    /// let (value, warnings) = r.finish(42).unwrap();
    /// assert_eq!((value, warnings.len()), (42, 0));
    /// ```
    pub fn finish<T>(self, value: T) -> Result<(T, Vec<String>), Vec<FieldError>> {
        if self.errors.is_empty() { Ok((value, self.warnings)) } else { Err(self.errors) }
    }
}

/// Field errors as one message, `; `-separated, for `run` and `destroy`,
/// which read the fields again and can only fail with one sentence (the
/// host already showed the field errors at `prepare`).
///
/// ```rust
/// use kiln_guest::config::field_error;
///
/// let errors = [field_error("/region", "region must be set"), field_error("/image_name", "image_name must be set")];
/// assert_eq!(kiln_guest::reader::joined(&errors), "region must be set; image_name must be set");
/// ```
pub fn joined(errors: &[FieldError]) -> String {
    errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; ")
}

/// Reads the keys of an object-valued field (`{"disk_size": "40"}`) with
/// Packer's weak typing, adding one error per bad key at `pointer/key`.
///
/// ```rust
/// use kiln_guest::reader::ObjectReader;
/// use serde_json::json;
///
/// let value = json!({"disk_size": "40", "disk_encrypted": "maybe", "disk_sise": 1});
/// let mut errors = Vec::new();
/// let mut r = ObjectReader::new(value.as_object().unwrap(), "/system_disk_mapping", &mut errors);
/// assert_eq!(r.integer("disk_size", "a whole number of GiB"), Some(40));
/// assert_eq!(r.boolean("disk_encrypted"), None);
/// assert_eq!(r.unknown_keys(&["disk_size", "disk_encrypted"]), ["disk_sise"]);
/// assert_eq!(errors[0].pointer, "/system_disk_mapping/disk_encrypted");
/// ```
pub struct ObjectReader<'a> {
    object: &'a Map<String, Value>,
    pointer: String,
    errors: &'a mut Vec<FieldError>,
}

impl<'a> ObjectReader<'a> {
    /// A reader of `object`, found at `pointer` (`/field` or `/field/2`),
    /// adding its errors to `errors`.
    ///
    /// ```rust
    /// use kiln_guest::reader::ObjectReader;
    ///
    /// let value = serde_json::json!({"size": 40});
    /// let mut errors = Vec::new();
    /// let r = ObjectReader::new(value.as_object().unwrap(), "/disk", &mut errors);
    /// ```
    pub fn new(object: &'a Map<String, Value>, pointer: impl Into<String>, errors: &'a mut Vec<FieldError>) -> Self {
        ObjectReader { object, pointer: pointer.into(), errors }
    }

    /// Records a problem with `key`.
    ///
    /// ```rust
    /// # let value = serde_json::json!({"size": 1});
    /// # let mut errors = Vec::new();
    /// let mut r = kiln_guest::reader::ObjectReader::new(value.as_object().unwrap(), "/disks/0", &mut errors);
    /// r.fail("size", "size must be 20 to 2048 GiB, not 1".into());
    /// assert_eq!(errors[0].pointer, "/disks/0/size");
    /// ```
    pub fn fail(&mut self, key: &str, message: String) {
        self.errors.push(field_error(&format!("{}/{key}", self.pointer), &message));
    }

    /// A text key (a number counts, as its text); unset, null and blank
    /// are "not set", anything else is an error.
    ///
    /// ```rust
    /// # let value = serde_json::json!({"name": 5, "bad": [1]});
    /// # let mut errors = Vec::new();
    /// let mut r = kiln_guest::reader::ObjectReader::new(value.as_object().unwrap(), "/disk", &mut errors);
    /// assert_eq!(r.text("name").as_deref(), Some("5"));
    /// assert_eq!(r.text("bad"), None);
    /// assert_eq!(errors.len(), 1);
    /// ```
    pub fn text(&mut self, key: &str) -> Option<String> {
        match self.object.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(other) => {
                self.fail(key, format!("{key} must be a string, not {other}"));
                None
            }
        }
    }

    /// A whole-number key (a number, or a string holding one); `expected`
    /// words it for the error: "{key} must be {expected}, not ...".
    ///
    /// ```rust
    /// # let value = serde_json::json!({"size": " 40 "});
    /// # let mut errors = Vec::new();
    /// let mut r = kiln_guest::reader::ObjectReader::new(value.as_object().unwrap(), "/disk", &mut errors);
    /// assert_eq!(r.integer("size", "a whole number of GiB"), Some(40));
    /// ```
    pub fn integer(&mut self, key: &str, expected: &str) -> Option<i64> {
        let value = self.object.get(key)?;
        let parsed = match value {
            Value::Null => return None,
            Value::Number(n) => n.as_i64(),
            Value::String(s) if s.trim().is_empty() => return None,
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        if parsed.is_none() {
            self.fail(key, format!("{key} must be {expected}, not {value}"));
        }
        parsed
    }

    /// A boolean key: `true`/`false`, or the strings `true`, `1`, `True`,
    /// `TRUE` (and their false forms).
    ///
    /// ```rust
    /// # let value = serde_json::json!({"encrypted": "TRUE"});
    /// # let mut errors = Vec::new();
    /// let mut r = kiln_guest::reader::ObjectReader::new(value.as_object().unwrap(), "/disk", &mut errors);
    /// assert_eq!(r.boolean("encrypted"), Some(true));
    /// ```
    pub fn boolean(&mut self, key: &str) -> Option<bool> {
        let value = self.object.get(key)?;
        let parsed = match value {
            Value::Null => return None,
            Value::Bool(b) => Some(*b),
            Value::String(s) => match s.trim() {
                "true" | "1" | "True" | "TRUE" => Some(true),
                "false" | "0" | "False" | "FALSE" => Some(false),
                _ => None,
            },
            _ => None,
        };
        if parsed.is_none() {
            self.fail(key, format!("{key} must be true or false, not {value}"));
        }
        parsed
    }

    /// The keys of the object that are not `known`, in the object's order,
    /// for the caller to word an error each: a typo must not silently drop
    /// a setting.
    ///
    /// ```rust
    /// # let value = serde_json::json!({"size": 40, "sise": 4});
    /// # let mut errors = Vec::new();
    /// let r = kiln_guest::reader::ObjectReader::new(value.as_object().unwrap(), "/disk", &mut errors);
    /// assert_eq!(r.unknown_keys(&["size"]), ["sise"]);
    /// ```
    pub fn unknown_keys(&self, known: &[&str]) -> Vec<String> {
        self.object.keys().filter(|k| !known.contains(&k.as_str())).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(fields: serde_json::Value) -> Config {
        Config::from_fields(fields).unwrap()
    }

    fn rule(value: &str) -> Result<(), String> {
        if value.len() >= 2 { Ok(()) } else { Err("must be 2 characters or more".into()) }
    }

    #[test]
    fn every_bad_field_gives_its_own_error() {
        let config = config(json!({
            "name": "x",
            "id": " i-1 ",
            "list": "not a list",
            "blank": "  ",
            "ok": "fine",
        }));
        let mut r = Reader::new(&config);
        assert_eq!(r.checked("name", rule).as_deref(), Some("x"));
        assert_eq!(r.id("id").as_deref(), Some("i-1"));
        assert!(r.list("list").is_empty());
        assert_eq!(r.required("blank", rule), "");
        assert_eq!(r.required_id("missing"), "");
        assert_eq!(r.required("ok", rule), "fine");
        r.warn("a remark");
        let errors = r.finish(()).unwrap_err();
        let pointers: Vec<&str> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(pointers, ["/name", "/id", "/list", "/blank", "/missing"]);
        assert_eq!(errors[0].message, "name must be 2 characters or more");
        assert_eq!(errors[1].message, "id must not begin or end with spaces");
        assert_eq!(errors[3].message, "blank must be set");
    }

    #[test]
    fn a_clean_read_gives_the_value_and_the_warnings() {
        let config = config(json!({"flag": true, "list": [" a ", "", "b"], "positions": ["a", "", " c"]}));
        let mut r = Reader::new(&config);
        assert!(r.flag("flag"));
        assert!(!r.flag("unset"));
        assert_eq!(r.list("list"), ["a", "b"]);
        assert_eq!(r.positional_list("positions"), ["a", "", "c"]);
        assert_eq!(r.decode::<u32>("unset"), None);
        r.warn("w");
        assert_eq!(r.finish(1).unwrap(), (1, vec!["w".to_string()]));
    }

    #[test]
    fn object_keys_are_read_weakly_and_each_bad_one_is_reported() {
        let value = json!({"t": 5, "s": [1], "i": " 12 ", "j": "x", "b": "FALSE", "c": 3, "blank": " "});
        let mut errors = Vec::new();
        let mut r = ObjectReader::new(value.as_object().unwrap(), "/m/0", &mut errors);
        assert_eq!(r.text("t").as_deref(), Some("5"));
        assert_eq!(r.text("s"), None);
        assert_eq!(r.text("blank"), None);
        assert_eq!(r.integer("i", "a number"), Some(12));
        assert_eq!(r.integer("j", "a number"), None);
        assert_eq!(r.integer("blank", "a number"), None);
        assert_eq!(r.boolean("b"), Some(false));
        assert_eq!(r.boolean("c"), None);
        assert_eq!(r.boolean("absent"), None);
        assert_eq!(r.unknown_keys(&["t", "s", "i", "j", "b", "c"]), ["blank"]);
        let pointers: Vec<&str> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(pointers, ["/m/0/s", "/m/0/j", "/m/0/c"]);
        assert_eq!(errors[1].message, "j must be a number, not \"x\"");
    }
}
