//! Typed access to a request's parameters, with the API's own errors for
//! missing and malformed values: the shared [`form::Args`] and the forms
//! only Alibaba Cloud's RPC APIs have.

use super::error::ApiError;
use crate::form::{self, ParamError};

/// The parameters of one request.
pub type Args<'a> = form::Args<'a, ApiError>;

impl ParamError for ApiError {
    fn missing(name: &str) -> Self {
        ApiError::missing(name)
    }
    fn invalid(name: &str, why: &str) -> Self {
        ApiError::invalid(name, why)
    }
}

impl<'a> Args<'a> {
    /// A boolean (`true`/`false`), `default` when absent.
    pub fn flag(&self, name: &str, default: bool) -> Result<bool, ApiError> {
        match self.opt(name) {
            None => Ok(default),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(ApiError::invalid(name, &format!("{v:?} is not true or false"))),
        }
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

    /// The largest N of `Prefix.N.*` present (0 when none is).
    pub fn max_index(&self, prefix: &str) -> u32 {
        self.indices(prefix).last().copied().unwrap_or(0)
    }
}
