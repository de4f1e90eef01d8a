//! Typed access to a request's parameters, with the API's own errors for
//! missing and malformed values.

use super::error::ApiError;
use super::signature::Params;

/// The parameters of one request.
pub struct Args<'a>(pub &'a Params);

impl<'a> Args<'a> {
    /// A parameter, if present and not empty (the SDKs drop empty values;
    /// Packer's sends some as empty strings).
    pub fn opt(&self, name: &str) -> Option<&'a str> {
        self.0.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// A mandatory parameter.
    pub fn req(&self, name: &str) -> Result<&'a str, ApiError> {
        self.opt(name).ok_or_else(|| ApiError::missing(name))
    }

    /// A boolean (`true`/`false`), `default` when absent.
    pub fn flag(&self, name: &str, default: bool) -> Result<bool, ApiError> {
        match self.opt(name) {
            None => Ok(default),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(ApiError::invalid(name, &format!("{v:?} is not true or false"))),
        }
    }

    /// An integer, if present.
    pub fn int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        self.opt(name)
            .map(|v| v.parse().map_err(|_| ApiError::invalid(name, &format!("{v:?} is not a number"))))
            .transpose()
    }

    /// A list given as a JSON array string (`InstanceIds='["i-1"]'`).
    pub fn json_list(&self, name: &str) -> Result<Option<Vec<String>>, ApiError> {
        let Some(text) = self.opt(name) else { return Ok(None) };
        serde_json::from_str::<Vec<String>>(text)
            .map(Some)
            .map_err(|_| ApiError::invalid(name, "must be a JSON array of strings, e.g. [\"id\"]"))
    }

    /// A list given as a comma-separated string (`Status=Available,Creating`).
    pub fn comma_list(&self, name: &str) -> Option<Vec<&'a str>> {
        self.opt(name).map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty()).collect())
    }

    /// Repeated parameters `Prefix.1`, `Prefix.2`, … in order of N.
    pub fn repeated(&self, prefix: &str) -> Vec<&'a str> {
        self.indexed(prefix, "").into_iter().map(|(_, v)| v).collect()
    }

    /// `Prefix.N.Field` (or `Prefix.N` with an empty field) by N.
    pub fn indexed(&self, prefix: &str, field: &str) -> Vec<(u32, &'a str)> {
        let mut found: Vec<(u32, &str)> = self
            .0
            .iter()
            .filter_map(|(k, v)| {
                let rest = k.strip_prefix(prefix)?.strip_prefix('.')?;
                let (n, tail) = match rest.split_once('.') {
                    Some((n, tail)) => (n, tail),
                    None => (rest, ""),
                };
                (tail == field).then_some(())?;
                Some((n.parse().ok()?, v.as_str()))
            })
            .collect();
        found.sort_by_key(|(n, _)| *n);
        found
    }

    /// The largest N of `Prefix.N.*` present.
    pub fn max_index(&self, prefix: &str) -> u32 {
        self.0
            .keys()
            .filter_map(|k| k.strip_prefix(prefix)?.strip_prefix('.')?.split('.').next()?.parse().ok())
            .max()
            .unwrap_or(0)
    }
}
