//! One RPC request, from its parameters to its answer: fault rules,
//! credentials, signature, replay checks, dispatch, rendering, logging.

use super::actions::{self, Ctx, Product};
use super::error::ApiError;
use super::params::Args;
use super::render::{self, Format};
use super::signature::{self, Params, SignatureError};
use crate::faults::FaultKind;
use crate::state::{Inner, LoggedRequest, Shared};
use serde_json::{Map, Value, json};
use std::time::{Duration, Instant};

/// How far a request's Timestamp may be from the simulator's clock, and how
/// long a nonce is remembered: the real API's 15 minutes.
pub const REPLAY_WINDOW: Duration = Duration::from_secs(15 * 60);

/// A request as the HTTP layer hands it over.
pub struct ApiRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// The Host the client addressed, without port.
    pub host: String,
    /// Query and form parameters together.
    pub params: Params,
}

/// What to do with the connection.
pub enum Answer {
    /// Send this response.
    Reply {
        /// HTTP status.
        status: u16,
        /// Content-Type.
        content_type: &'static str,
        /// Body.
        body: Vec<u8>,
    },
    /// Close the connection without an answer.
    Reset,
    /// Say nothing for this long, then close.
    Hang(Duration),
    /// Wait this long, then send the answer.
    Delay(Duration, Box<Answer>),
}

/// Handles one RPC request.
pub fn handle(shared: &Shared, request: ApiRequest) -> Answer {
    let now = Instant::now();
    let request_id = uuid::Uuid::new_v4().to_string().to_uppercase();
    let args = Args(&request.params);
    let action = args.opt("Action").unwrap_or("").to_string();
    let version = args.opt("Version").unwrap_or("").to_string();
    let format = Format::from_param(args.opt("Format"));
    let mut inner = shared.lock();
    let fault = inner.faults.check(&action);
    let mut entry = LoggedRequest {
        seq: inner.log.len() as u64 + 1,
        at_ms: now.duration_since(shared.started).as_millis() as u64,
        method: request.method.clone(),
        host: request.host.clone(),
        action: action.clone(),
        version: version.clone(),
        status: 0,
        code: String::new(),
        params: logged_params(&request.params),
        injected: fault.is_some(),
    };
    let mut fail_images = false;
    let mut delay = None;
    let mut lose_answer = false;
    let injected_error = |error: ApiError| Some(error_answer(error, &request_id, &request.host, format));
    let injected = match fault {
        Some((FaultKind::Reset, _)) => Some(Answer::Reset),
        Some((FaultKind::Timeout, d)) => Some(Answer::Hang(d)),
        Some((FaultKind::ServerError, _)) => injected_error(ApiError::internal()),
        Some((FaultKind::Unavailable, _)) => injected_error(ApiError::unavailable()),
        Some((FaultKind::Throttling, _)) => injected_error(ApiError::throttling()),
        Some((FaultKind::Denied, _)) => injected_error(ApiError::forbidden(
            "Forbidden.RAM",
            "User not authorized to operate on the specified resource, or this API doesn't support RAM.",
        )),
        Some((FaultKind::Slow, d)) => {
            delay = Some(d);
            None
        }
        Some((FaultKind::ImageFails, _)) => {
            fail_images = true;
            None
        }
        Some((FaultKind::Lost, _)) => {
            lose_answer = true;
            None
        }
        None => None,
    };
    if let Some(answer) = injected {
        if let Answer::Reply { status, .. } = &answer {
            entry.status = *status;
            entry.code = "injected".into();
        }
        inner.log.push(entry);
        return answer;
    }
    let result = authenticate(shared, &mut inner, &request, now).and_then(|()| {
        let product = match version.as_str() {
            "" => return Err(ApiError::missing("Version")),
            v => Product::from_version(v).ok_or_else(|| {
                ApiError::bad("InvalidVersion", format!("Specified parameter Version \"{v}\" is not valid."))
            })?,
        };
        if action.is_empty() {
            return Err(ApiError::missing("Action"));
        }
        inner.world.advance(now);
        let mut ctx = Ctx {
            world: &mut inner.world,
            args: Args(&request.params),
            host_region: host_region(&request.host),
            now,
            latencies: shared.latencies,
            fail_images,
        };
        actions::dispatch(product, &action, &mut ctx)
    });
    let answer = match result {
        Ok(body) => {
            let mut object = Map::new();
            object.insert("RequestId".into(), json!(request_id));
            if let Value::Object(rest) = body {
                object.extend(rest);
            }
            entry.status = 200;
            Answer::Reply {
                status: 200,
                content_type: format.content_type(),
                body: render::render(format, &format!("{action}Response"), &Value::Object(object)),
            }
        }
        Err(error) => {
            entry.status = error.status;
            entry.code = error.code.clone();
            error_answer(error, &request_id, &request.host, format)
        }
    };
    shared.ssh.sync(&inner.world);
    if lose_answer {
        entry.status = 0;
        entry.code = "answer lost".into();
        inner.log.push(entry);
        return Answer::Reset;
    }
    inner.log.push(entry);
    match delay {
        Some(d) => Answer::Delay(d, Box::new(answer)),
        None => answer,
    }
}

/// The body of an error, as the API sends it.
pub fn error_answer(error: ApiError, request_id: &str, host: &str, format: Format) -> Answer {
    let product = if host.starts_with("vpc") { "Vpc" } else { "Ecs" };
    let body = json!({
        "RequestId": request_id,
        "HostId": if host.is_empty() { "ecs.aliyuncs.com" } else { host },
        "Code": error.code,
        "Message": error.message,
        "Recommend": format!("https://api.aliyun.com/troubleshoot?q={}&product={product}", error.code),
    });
    Answer::Reply {
        status: error.status,
        content_type: format.content_type(),
        body: render::render(format, "Error", &body),
    }
}

fn authenticate(shared: &Shared, inner: &mut Inner, request: &ApiRequest, now: Instant) -> Result<(), ApiError> {
    let args = Args(&request.params);
    let key_id = args.req("AccessKeyId")?;
    let credential = shared
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
    if shared.config.check_replay {
        let stamp = args.opt("Timestamp").ok_or_else(|| ApiError::missing("Timestamp"))?;
        let parsed = chrono::NaiveDateTime::parse_from_str(stamp, "%Y-%m-%dT%H:%M:%SZ").map_err(|_| {
            ApiError::bad("InvalidTimeStamp.Format", "Specified time stamp or date header is not valid.")
        })?;
        let skew = (chrono::Utc::now().naive_utc() - parsed).num_seconds().unsigned_abs();
        if skew > REPLAY_WINDOW.as_secs() {
            return Err(ApiError::bad("InvalidTimeStamp.Expired", "Specified time stamp or date header is expired."));
        }
        let nonce = args.req("SignatureNonce")?;
        inner.nonces.retain(|_, seen| now.duration_since(*seen) < REPLAY_WINDOW);
        if inner.nonces.insert(nonce.to_string(), now).is_some() {
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
