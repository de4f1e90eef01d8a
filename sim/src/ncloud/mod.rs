//! NAVER Cloud's APIs behind its API Gateway: the classic Server API
//! (`/server/v2/<action>`); the VPC APIs' paths (`/vserver/v2`,
//! `/vpc/v2`) are recognised, but answer no action yet (404 `300`).
//!
//! - `seam.rs`: [`Ncloud`], the cloud behind the [`Cloud`](crate::cloud::Cloud) seam.
//! - `request.rs`: API, action and parameters of a request (lists
//!   `name.N`, Python list literals); `service.rs`: the gateway's checks,
//!   dispatch, rendering; `signature.rs`: the gateway's HMAC-SHA256.
//! - `settings.rs`, `credentials.rs`: its configuration and keys.
//! - `actions/`: the actions, one file per resource family; `world.rs`:
//!   the resources and their state machines; `catalog.rs`: regions,
//!   zones, products, the account's seeded resources; `view.rs`: what the
//!   core sees.
//! - `error.rs`, `render.rs`: errors and body formats.
//!
//! Errors. The gateway answers `{"error": {"errorCode", "message",
//! "details"}}`:
//! - 400 `100` Bad Request Exception: a missing `x-ncp-apigw-timestamp`,
//!   `x-ncp-iam-access-key` or `x-ncp-apigw-signature-v2`/`-v1` header,
//!   or a timestamp that is not epoch milliseconds;
//! - 401 `200` Authentication Failed: a wrong signature, or (when replay
//!   checks are on) a timestamp more than 5 minutes off;
//! - 401 `210` Permission Denied: an unknown access key (and the
//!   `denied` fault);
//! - 404 `300` Not Found Exception: an action the API does not have;
//! - 429 `410` Throttle Limited: the `throttling` fault.
//!
//! The APIs answer `{"responseError": {"returnCode", "returnMessage"}}`:
//! 500/503 `1000` "Please try your call again later" (the `server-error`
//! and `unavailable` faults: retry); 400 `10001` a missing parameter,
//! `10002` an invalid value, `10003` an unknown resource, `10004` a state
//! that does not allow the action, `10005` a name taken, `10006` a quota
//! used up (public IPs: no more than servers), `10007` a private key that
//! is not the server's login key.
//!
//! Success is `{"<action>Response": {"requestId", "returnCode": "0",
//! "returnMessage": "success", ...}}`, pretty-printed, no trailing
//! newline, ids as strings (see `render.rs`).

pub mod actions;
pub mod catalog;
pub mod credentials;
pub mod error;
pub mod render;
pub mod request;
mod seam;
pub mod service;
pub mod settings;
pub mod signature;
pub mod view;
pub mod world;

pub use credentials::Credential;
pub use seam::Ncloud;
pub use settings::Settings;

#[cfg(test)]
mod tests;
