//! One request, from its headers to its answer: the gateway's checks
//! (route, access key, timestamp, signature), dispatch, rendering; and
//! the answer to a call a fault rule refuses.

use super::actions::{self, Ctx};
use super::credentials::Credential;
use super::error::{ApiError, GatewayError};
use super::render;
use super::request::{ApiRequest, Args};
use super::signature;
use super::world::World;
use crate::cloud::{CallContext, HttpRequest, Reply};
use crate::faults::FaultKind;
use serde_json::{Map, Value, json};

/// How far a request's `x-ncp-apigw-timestamp` may be from the
/// simulator's clock, milliseconds: the gateway's 5 minutes.
pub const TIMESTAMP_WINDOW_MS: i64 = 5 * 60 * 1000;

/// How the simulated cloud was set up.
pub struct Setup {
    /// The access keys in force.
    pub credentials: Vec<Credential>,
    /// Whether timestamps are checked.
    pub check_replay: bool,
    /// The root password of new servers (else random).
    pub root_password: Option<String>,
}

/// Serves one call of `api` on `world`.
pub fn serve(setup: &Setup, world: &mut World, http: &HttpRequest, api: &ApiRequest, context: CallContext) -> Reply {
    let xml = api.wants_xml();
    let Some(handler) = actions::find(api.api, &api.action) else {
        let details = format!("No action {} in /{}; check the path.", api.action, api.api.version());
        return gateway_reply(&GatewayError::not_found(details), xml);
    };
    if let Err(error) = authenticate(setup, http) {
        return gateway_reply(&error, xml);
    }
    world.advance(context.now);
    let mut ctx =
        Ctx { world, args: Args::new(&api.params), now: context.now, root_password: setup.root_password.as_deref() };
    match handler(&mut ctx) {
        Ok(body) => {
            let mut object = Map::new();
            object.insert("requestId".into(), json!(uuid::Uuid::new_v4().to_string()));
            object.insert("returnCode".into(), json!("0"));
            object.insert("returnMessage".into(), json!("success"));
            if let Value::Object(rest) = body {
                object.extend(rest);
            }
            let root = format!("{}Response", api.action);
            let value = json!({ root.clone(): Value::Object(object) });
            body_reply(200, String::new(), &root, &value, xml)
        }
        Err(error) => api_error_reply(&error, xml),
    }
}

/// The answer to a call that fault rule `kind` refuses: HTTP 500 or 503
/// with returnCode `1000` (retry later), the gateway's 429 for
/// throttling, its 401 Permission Denied for a denial.
pub fn refusal(api: &ApiRequest, kind: FaultKind) -> Reply {
    let xml = api.wants_xml();
    match kind {
        FaultKind::Throttling => gateway_reply(&GatewayError::throttled(), xml),
        FaultKind::Denied => gateway_reply(&GatewayError::denied("This access key may not call this action."), xml),
        FaultKind::Unavailable => api_error_reply(&ApiError::retry_later(503), xml),
        _ => api_error_reply(&ApiError::retry_later(500), xml),
    }
}

fn body_reply(status: u16, code: String, root: &str, value: &Value, xml: bool) -> Reply {
    let (content_type, body) =
        if xml { (render::XML, render::xml(root, value)) } else { (render::JSON, render::json(value)) };
    Reply { status, code, content_type, body }
}

fn api_error_reply(error: &ApiError, xml: bool) -> Reply {
    body_reply(error.status, error.code.to_string(), "responseError", &error.body(), xml)
}

fn gateway_reply(error: &GatewayError, xml: bool) -> Reply {
    body_reply(error.status, format!("gateway-{}", error.code), "error", &error.body(), xml)
}

/// The gateway's checks. Fails with 400 `100` for a missing header or a
/// timestamp that is not a number, 401 `210` for an unknown access key,
/// 401 `200` for a timestamp out of the window (when checked) or a wrong
/// signature.
fn authenticate(setup: &Setup, http: &HttpRequest) -> Result<(), GatewayError> {
    let header = |name: &str| http.header(name).filter(|v| !v.is_empty());
    let timestamp = header("x-ncp-apigw-timestamp")
        .ok_or_else(|| GatewayError::bad_request("The x-ncp-apigw-timestamp header is missing."))?;
    let access = header("x-ncp-iam-access-key")
        .ok_or_else(|| GatewayError::bad_request("The x-ncp-iam-access-key header is missing."))?;
    let given = header("x-ncp-apigw-signature-v2")
        .or_else(|| header("x-ncp-apigw-signature-v1"))
        .ok_or_else(|| GatewayError::bad_request("The x-ncp-apigw-signature-v2 (or -v1) header is missing."))?;
    let millis: i64 = timestamp.trim().parse().map_err(|_| {
        GatewayError::bad_request(format!("x-ncp-apigw-timestamp {timestamp:?} is not epoch milliseconds."))
    })?;
    let credential = setup
        .credentials
        .iter()
        .find(|c| c.access_key == access)
        .ok_or_else(|| GatewayError::denied(format!("The access key {access} is not known.")))?;
    if setup.check_replay && (chrono::Utc::now().timestamp_millis() - millis).abs() > TIMESTAMP_WINDOW_MS {
        return Err(GatewayError::authentication("The timestamp is more than 5 minutes off the gateway's clock."));
    }
    let uri = if http.query.is_empty() { http.path.clone() } else { format!("{}?{}", http.path, http.query) };
    if !signature::verify(given, &credential.secret_key, &http.method, &uri, timestamp, access) {
        return Err(GatewayError::authentication(format!(
            "The signature does not match; the gateway signed {:?}.",
            signature::message(&http.method, &uri, timestamp, access)
        )));
    }
    Ok(())
}
