//! What every action works with: the request's [`Ctx`], and the API's
//! shared conventions (list answers, the region a request names).

use crate::ncloud::catalog;
use crate::ncloud::error::ApiError;
use crate::ncloud::request::Args;
use crate::ncloud::world::World;
use serde_json::{Value, json};
use std::time::Instant;

/// What an action works with.
pub struct Ctx<'a> {
    /// The resources.
    pub world: &'a mut World,
    /// The request's parameters.
    pub args: Args<'a>,
    /// The request's time.
    pub now: Instant,
    /// The root password new servers get (else a random one each).
    pub root_password: Option<&'a str>,
}

impl Ctx<'_> {
    /// The classic region the request names (`regionNo`, Korea when
    /// absent). Fails when it is not a catalog region.
    pub fn region_no(&self) -> Result<&'static str, ApiError> {
        let no = self.args.opt("regionNo");
        catalog::region(no).map(|r| r.0).ok_or_else(|| ApiError::no_such("region", no.unwrap_or("")))
    }
}

/// A list answer: `{"totalRows": N, "<list>": items}`.
pub fn list(name: &str, items: Vec<Value>) -> Value {
    json!({"totalRows": items.len(), name: items})
}

/// `items` whose key is in the `filter` list, or all when it is empty.
pub fn filtered<'a, T>(items: impl Iterator<Item = (&'a String, &'a T)>, filter: &[String]) -> Vec<&'a T>
where
    T: 'a,
{
    items.filter(|(k, _)| filter.is_empty() || filter.contains(k)).map(|(_, v)| v).collect()
}
