//! What every action works with: the request's [`Ctx`] (world, parameters,
//! region, clock), and the API's shared conventions (paging, tags, names,
//! timestamps, unknown actions).

use crate::alicloud::catalog;
use crate::alicloud::error::ApiError;
use crate::alicloud::params::Args;
use crate::alicloud::world::World;
use crate::latency::Latencies;
use serde_json::{Value, json};
use std::time::Instant;

/// Which API a request is for, from its `Version`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Product {
    /// ECS `2014-05-26` (which also answers the VPC, VSwitch and EIP
    /// actions, as old clients such as Packer 1.6.6 send them there).
    Ecs,
    /// VPC `2016-04-28`.
    Vpc,
}

impl Product {
    /// From the `Version` parameter.
    pub fn from_version(version: &str) -> Option<Self> {
        match version {
            "2014-05-26" => Some(Product::Ecs),
            "2016-04-28" => Some(Product::Vpc),
            _ => None,
        }
    }
}

/// What an action works with.
pub struct Ctx<'a> {
    /// The resources.
    pub world: &'a mut World,
    /// The request's parameters.
    pub args: Args<'a>,
    /// The region the endpoint implies (`ecs.cn-beijing.aliyuncs.com`),
    /// used when `RegionId` is absent.
    pub host_region: Option<String>,
    /// The request's time.
    pub now: Instant,
    /// Transition latencies.
    pub latencies: Latencies,
    /// A fault rule asked that a created image fail.
    pub fail_images: bool,
}

impl Ctx<'_> {
    /// The request's region: `RegionId`, else the endpoint's. Must exist.
    pub fn region(&self) -> Result<String, ApiError> {
        let region = match self.args.opt("RegionId") {
            Some(r) => r.to_string(),
            None => self.host_region.clone().ok_or_else(|| ApiError::missing("RegionId"))?,
        };
        check_region(&region)?;
        Ok(region)
    }

    /// Runs `create` once per `ClientToken`: a retried create with the same
    /// token gets the first answer and creates nothing new.
    pub fn idempotent(
        &mut self,
        action: &str,
        create: impl FnOnce(&mut Self) -> Result<Value, ApiError>,
    ) -> Result<Value, ApiError> {
        let token = self.args.opt("ClientToken").map(str::to_string);
        if let Some(token) = &token
            && let Some(answer) = self.world.client_tokens.get(&(action.to_string(), token.clone()))
        {
            return Ok(answer.clone());
        }
        let answer = create(self)?;
        if let Some(token) = token {
            self.world.client_tokens.insert((action.to_string(), token), answer.clone());
        }
        Ok(answer)
    }
}

/// The console's rule for names of images and key pairs: 2-128
/// characters, starting with a letter, made of letters, digits, `.`, `_`,
/// `-` and `:`, not starting with `http://` or `https://`.
pub fn is_console_name(name: &str) -> bool {
    (2..=128).contains(&name.chars().count())
        && name.chars().next().is_some_and(char::is_alphabetic)
        && !name.starts_with("http://")
        && !name.starts_with("https://")
        && name.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | ':'))
}

/// Fails with `InvalidRegionId.NotFound` for a region the cloud lacks.
pub fn check_region(region: &str) -> Result<(), ApiError> {
    match catalog::region(region) {
        Some(_) => Ok(()),
        None => Err(ApiError::not_found(
            "InvalidRegionId.NotFound",
            format!("The specified RegionId \"{region}\" does not exist."),
        )),
    }
}

/// The answer to an action this API does not have.
pub fn unknown_action(action: &str) -> ApiError {
    ApiError::not_found(
        "InvalidAction.NotFound",
        format!("Specified api \"{action}\" is not found, please check your url and method."),
    )
}

/// One page of `items` as `{TotalCount, PageNumber, PageSize, <outer>: {<inner>: [...]}}`.
pub fn page(ctx: &Ctx, outer: &str, inner: &str, items: Vec<Value>) -> Result<Value, ApiError> {
    let size = ctx.args.int("PageSize")?.unwrap_or(10).clamp(1, 100) as usize;
    let number = ctx.args.int("PageNumber")?.unwrap_or(1).max(1) as usize;
    let total = items.len();
    let items: Vec<Value> = items.into_iter().skip((number - 1).saturating_mul(size)).take(size).collect();
    Ok(json!({"TotalCount": total, "PageNumber": number, "PageSize": size, outer: {inner: items}}))
}

/// Tags as the API lists them.
pub fn tags_value(tags: &std::collections::BTreeMap<String, String>) -> Value {
    let tags: Vec<Value> = tags.iter().map(|(k, v)| json!({"TagKey": k, "TagValue": v})).collect();
    json!({"Tag": tags})
}

/// An RFC 3339 UTC timestamp of the wall clock, as the API prints
/// creation times.
pub fn now_text() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%MZ").to_string()
}
