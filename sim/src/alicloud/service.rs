//! One RPC request, from its parameters to its answer: credentials,
//! signature, replay checks, dispatch, rendering, and the answer to a call
//! a fault rule refuses.

use super::actions::{self, Ctx, Product};
use super::credentials::Credential;
use super::error::ApiError;
use super::params::Args;
use super::render::{self, Format};
use super::signature::{self, Params, SignatureError};
use super::world::World;
use crate::cloud::AddressBlock;
use crate::cloud::{Call, CallContext, HttpRequest, Reply};
use crate::faults::FaultKind;
use crate::latency::Latencies;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How far a request's Timestamp may be from the simulator's clock, and how
/// long a nonce is remembered: the real API's 15 minutes.
pub const REPLAY_WINDOW: Duration = Duration::from_secs(15 * 60);

/// How the simulated cloud was set up.
pub struct Setup {
    /// The access keys in force.
    pub credentials: Vec<Credential>,
    /// Whether timestamps and nonces are checked.
    pub check_replay: bool,
    /// Transition latencies.
    pub latencies: Latencies,
}

/// What the simulated cloud remembers between requests.
pub struct State {
    /// The resources.
    pub world: World,
    /// Nonces seen, with when.
    pub nonces: HashMap<String, Instant>,
}

impl State {
    /// Nothing yet: an empty world whose addresses come from `block`.
    pub fn new(block: AddressBlock) -> Self {
        State { world: World::new(block), nonces: HashMap::new() }
    }
}

/// A request as the RPC APIs read it.
pub struct ApiRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// The Host the client addressed, without port.
    pub host: String,
    /// Query and form parameters together.
    pub params: Params,
}

impl ApiRequest {
    /// The RPC reading of `request`: its query parameters, and its form
    /// ones when the body is a form.
    pub fn of(request: &HttpRequest) -> Self {
        let mut params = signature::parse_query(&request.query);
        let form = request.content_type().is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if form {
            params.extend(signature::parse_query(&String::from_utf8_lossy(&request.body)));
        }
        ApiRequest { method: request.method.clone(), host: request.host.clone(), params }
    }

    /// Whether this is an RPC request of Alibaba Cloud: addressed to one of
    /// its endpoints, to the root path every RPC API lives at, or carrying
    /// an `Action` or `Version`.
    pub fn is_rpc(&self, path: &str) -> bool {
        self.host.ends_with(".aliyuncs.com")
            || path.is_empty()
            || path == "/"
            || self.params.contains_key("Action")
            || self.params.contains_key("Version")
    }

    /// The call, as the request log shows it and fault rules match it.
    pub fn call(&self) -> Call {
        let args = Args::new(&self.params);
        Call {
            action: args.opt("Action").unwrap_or("").to_string(),
            version: args.opt("Version").unwrap_or("").to_string(),
            params: logged_params(&self.params),
        }
    }

    fn format(&self) -> Format {
        Format::from_param(Args::new(&self.params).opt("Format"))
    }
}

/// Serves one RPC call.
pub fn serve(setup: &Setup, state: &mut State, request: &ApiRequest, context: CallContext) -> Reply {
    let now = context.now;
    let request_id = new_request_id();
    let args = Args::new(&request.params);
    let action = args.opt("Action").unwrap_or("");
    let format = request.format();
    let result = authenticate(setup, state, request, now).and_then(|()| {
        let product = match args.opt("Version") {
            None => return Err(ApiError::missing("Version")),
            Some(v) => Product::from_version(v).ok_or_else(|| {
                ApiError::bad("InvalidVersion", format!("Specified parameter Version \"{v}\" is not valid."))
            })?,
        };
        if action.is_empty() {
            return Err(ApiError::missing("Action"));
        }
        state.world.advance(now);
        let mut ctx = Ctx {
            world: &mut state.world,
            args: Args::new(&request.params),
            host_region: host_region(&request.host),
            now,
            latencies: setup.latencies,
            fail_images: context.fail_images,
        };
        actions::dispatch(product, action, &mut ctx)
    });
    match result {
        Ok(body) => {
            let mut object = Map::new();
            object.insert("RequestId".into(), json!(request_id));
            if let Value::Object(rest) = body {
                object.extend(rest);
            }
            Reply {
                status: 200,
                code: String::new(),
                content_type: format.content_type(),
                body: render::render(format, &format!("{action}Response"), &Value::Object(object)),
            }
        }
        Err(error) => error_reply(error, &request_id, &request.host, format),
    }
}

/// The answer to a call that fault rule `kind` refuses, as the API words
/// each of these failures.
pub fn refusal(request: &ApiRequest, kind: FaultKind) -> Reply {
    let error = match kind {
        FaultKind::Unavailable => ApiError::unavailable(),
        FaultKind::Throttling => ApiError::throttling(),
        FaultKind::Denied => ApiError::forbidden(
            "Forbidden.RAM",
            "User not authorized to operate on the specified resource, or this API doesn't support RAM.",
        ),
        _ => ApiError::internal(),
    };
    error_reply(error, &new_request_id(), &request.host, request.format())
}

fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string().to_uppercase()
}

/// The answer carrying an error, as the API sends it.
pub fn error_reply(error: ApiError, request_id: &str, host: &str, format: Format) -> Reply {
    let product = if host.starts_with("vpc") { "Vpc" } else { "Ecs" };
    let body = json!({
        "RequestId": request_id,
        "HostId": if host.is_empty() { "ecs.aliyuncs.com" } else { host },
        "Code": error.code,
        "Message": error.message,
        "Recommend": format!("https://api.aliyun.com/troubleshoot?q={}&product={product}", error.code),
    });
    Reply {
        status: error.status,
        code: error.code,
        content_type: format.content_type(),
        body: render::render(format, "Error", &body),
    }
}

fn authenticate(setup: &Setup, state: &mut State, request: &ApiRequest, now: Instant) -> Result<(), ApiError> {
    let args = Args::new(&request.params);
    let key_id = args.req("AccessKeyId")?;
    let credential = setup
        .credentials
        .iter()
        .find(|c| c.access_key_id == key_id)
        .ok_or_else(|| ApiError::not_found("InvalidAccessKeyId.NotFound", "Specified access key is not found."))?;
    match args.opt("SignatureMethod") {
        Some("HMAC-SHA1") => {}
        None => return Err(ApiError::missing("SignatureMethod")),
        Some(other) => {
            return Err(ApiError::bad(
                "InvalidSignatureMethod",
                format!("Specified signature method \"{other}\" is not supported; use HMAC-SHA1."),
            ));
        }
    }
    match args.opt("SignatureVersion") {
        Some("1.0") => {}
        None => return Err(ApiError::missing("SignatureVersion")),
        Some(other) => {
            return Err(ApiError::bad(
                "InvalidSignatureVersion",
                format!("Specified signature version \"{other}\" is not supported; use 1.0."),
            ));
        }
    }
    match signature::verify(&credential.access_key_secret, &request.method, &request.params) {
        Ok(()) => {}
        Err(SignatureError::Missing) => return Err(ApiError::missing("Signature")),
        Err(e @ SignatureError::Mismatch { .. }) => return Err(ApiError::bad("SignatureDoesNotMatch", e.to_string())),
    }
    match (&credential.security_token, args.opt("SecurityToken")) {
        (Some(expected), Some(given)) if expected == given => {}
        (Some(_), None) => {
            return Err(ApiError::forbidden(
                "InvalidSecurityToken.Missing",
                "This access key is temporary (STS); the request must carry its SecurityToken.",
            ));
        }
        (Some(_), Some(_)) => {
            return Err(ApiError::forbidden(
                "InvalidSecurityToken.MismatchWithAccessKey",
                "The SecurityToken does not belong to this access key.",
            ));
        }
        (None, Some(_)) => {
            return Err(ApiError::forbidden(
                "InvalidSecurityToken.Malformed",
                "This access key is not temporary, but the request carries a SecurityToken.",
            ));
        }
        (None, None) => {}
    }
    if setup.check_replay {
        let stamp = args.opt("Timestamp").ok_or_else(|| ApiError::missing("Timestamp"))?;
        let parsed = chrono::NaiveDateTime::parse_from_str(stamp, "%Y-%m-%dT%H:%M:%SZ").map_err(|_| {
            ApiError::bad("InvalidTimeStamp.Format", "Specified time stamp or date header is not valid.")
        })?;
        let skew = (chrono::Utc::now().naive_utc() - parsed).num_seconds().unsigned_abs();
        if skew > REPLAY_WINDOW.as_secs() {
            return Err(ApiError::bad("InvalidTimeStamp.Expired", "Specified time stamp or date header is expired."));
        }
        let nonce = args.req("SignatureNonce")?;
        state.nonces.retain(|_, seen| now.duration_since(*seen) < REPLAY_WINDOW);
        if state.nonces.insert(nonce.to_string(), now).is_some() {
            return Err(ApiError::bad("SignatureNonceUsed", "Specified signature nonce was used already."));
        }
    }
    Ok(())
}

/// The region a regional endpoint names: `ecs.cn-beijing.aliyuncs.com`,
/// `vpc.cn-beijing.aliyuncs.com`.
pub fn host_region(host: &str) -> Option<String> {
    let rest = host.strip_prefix("ecs.").or_else(|| host.strip_prefix("vpc."))?;
    let region = rest.strip_suffix(".aliyuncs.com")?;
    (!region.is_empty() && !region.contains('.')).then(|| region.to_string())
}

fn logged_params(params: &Params) -> std::collections::BTreeMap<String, String> {
    params
        .iter()
        .filter(|(k, _)| k.as_str() != "Signature")
        .map(|(k, v)| {
            let hidden = matches!(k.as_str(), "SecurityToken" | "Password") && !v.is_empty();
            (k.clone(), if hidden { "***".to_string() } else { v.clone() })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regional_endpoints_name_their_region() {
        assert_eq!(host_region("ecs.cn-beijing.aliyuncs.com").as_deref(), Some("cn-beijing"));
        assert_eq!(host_region("vpc.ap-south-1.aliyuncs.com").as_deref(), Some("ap-south-1"));
        assert_eq!(host_region("ecs-cn-hangzhou.aliyuncs.com"), None);
        assert_eq!(host_region("127.0.0.1"), None);
    }
}
