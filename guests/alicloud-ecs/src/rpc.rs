//! The Alibaba Cloud RPC client: endpoints, signed calls, and Alibaba's
//! retryable codes for the SDK's retry policy ([`kiln_guest::retry`]:
//! throttling, 5xx, lost connections and eventual consistency are retried
//! with backoff until a deadline; everything else fails at once with the
//! action, code, message and request id).
//!
//! The client holds handles, never values: the access key id, the signing
//! key (`secret_key + "&"`) and the STS token are host secrets, written
//! into the signature and the body by the host.

use crate::sign::{self, Params};
use kiln_guest::clock::{Clock, HostClock};
use kiln_guest::http::{self, Fault, Request, snippet};
use kiln_guest::pieces::Value as Param;
use kiln_guest::retry::{Classifier, Failure, Policy, RetryError, Retrying, code_in};
use kiln_guest::secrets::{self, Secret};
use kiln_guest::steps::StepError;
use kiln_guest::ui;
use kiln_guest::{json, random, time};
use serde_json::Value;
use std::fmt;
use std::time::{Duration, SystemTime};

/// Timeout of one HTTP exchange unless `TLSHandshakeTimeout` asks for more.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one call keeps retrying transient failures.
pub const DEFAULT_CALL_DEADLINE: Duration = Duration::from_secs(300);
/// How long a delete keeps retrying while dependents are going away.
pub const DEPENDENCY_DEADLINE: Duration = Duration::from_secs(300);

/// Alibaba Cloud's retryable codes. Throttling, and the codes that mean
/// "an earlier request (or the same one, by ClientToken) is still being
/// processed", say the call had no effect: every call retries them. The
/// prefixes say "try again later" but, like a 5xx, may come after the
/// effect: only calls that can be replayed safely retry them.
const RETRYABLE: Classifier = Classifier {
    no_effect: &[
        "Throttling",
        "IdempotentProcessing",
        "TOKEN_PROCESSING",
        "LastTokenProcessing",
        "TaskConflict",
        "IncorrectInstanceStatus.Initializing",
        "OperationConflict",
    ],
    transient_prefixes: &["Throttling", "ServiceUnavailable", "InternalError", "UnknownError"],
};

/// `Invalid*.NotFound` codes that are not about a resource.
const NOT_RESOURCES: &[&str] = &["InvalidRegionId.", "InvalidAction.", "InvalidAccessKeyId.", "InvalidApi."];

/// Codes (or their `.` variants) that say the credentials may not do
/// this: a RAM policy without the action (`Forbidden.RAM`, what the
/// simulator's `denied` fault answers), a key that is unknown, disabled or
/// wrongly signed, an expired STS token. Every `Forbidden*` code counts,
/// except those in [`NOT_DENIALS`].
const DENIALS: &[&str] =
    &["NoPermission", "InvalidAccessKeyId", "InvalidAccessKeySecret", "SignatureDoesNotMatch", "InvalidSecurityToken"];

/// `Forbidden*` codes that are about a resource's state, not the key's
/// permissions (a VPC delete retries them while dependents go away).
const NOT_DENIALS: &[&str] = &["Forbidden.VpcNotReady"];

/// How one call retries: Alibaba's [`RETRYABLE`] codes plus `also`, the
/// codes that may follow the effect only when `replayable`, with
/// [`Policy::default`]'s backoff for at most `deadline`.
#[derive(Clone, Copy, Debug)]
struct Retries {
    deadline: Duration,
    replayable: bool,
    also: &'static [&'static str],
}

/// Runs `attempt` on `clock` under `retries`, showing each retried failure
/// to `on_retry` with where the call stands. Fails with the first failure that is not retried, with
/// [`RpcError::GaveUp`] (the last failure) once the deadline has passed,
/// and with [`RpcError::Cancelled`] when the build is cancelled during a
/// backoff.
fn with_retries<T>(
    clock: &dyn Clock,
    retries: Retries,
    attempt: impl FnMut() -> Result<T, RpcError>,
    on_retry: impl FnMut(&RpcError, Retrying),
) -> Result<T, RpcError> {
    let policy = Policy { deadline: retries.deadline, ..Policy::default() };
    let outcome =
        policy.run_on(clock, attempt, |e| RETRYABLE.retries(e.failure(), retries.replayable, retries.also), on_retry);
    match outcome {
        Ok(value) => Ok(value),
        Err(RetryError::Failed(e)) => Err(e),
        Err(RetryError::Cancelled) => Err(RpcError::Cancelled),
        Err(RetryError::GaveUp { after, last }) => Err(RpcError::GaveUp { after, last: Box::new(last) }),
    }
}

/// Which of Alibaba Cloud's APIs an action belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    /// ECS, version 2014-05-26: instances, images, key pairs, security groups.
    Ecs,
    /// VPC, version 2016-04-28: VPCs, VSwitches, EIPs.
    Vpc,
}

impl Api {
    fn version(self) -> &'static str {
        match self {
            Api::Ecs => "2014-05-26",
            Api::Vpc => "2016-04-28",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Api::Ecs => "ecs",
            Api::Vpc => "vpc",
        }
    }
}

/// Where each API is reached: the regional public endpoints, or the
/// user's `custom_endpoint_ecs` / `custom_endpoint_vpc` for every region.
#[derive(Clone, Debug, Default)]
pub struct Endpoints {
    /// Base URL replacing `https://ecs.{region}.aliyuncs.com`.
    pub ecs: Option<String>,
    /// Base URL replacing `https://vpc.{region}.aliyuncs.com`.
    pub vpc: Option<String>,
}

impl Endpoints {
    /// The base URL (no trailing `/`) of `api` in `region`.
    pub fn url(&self, api: Api, region: &str) -> String {
        let custom = match api {
            Api::Ecs => &self.ecs,
            Api::Vpc => &self.vpc,
        };
        match custom {
            Some(url) => url.clone(),
            None => format!("https://{}.{region}.aliyuncs.com", api.name()),
        }
    }
}

/// A signed-call client for one build.
pub struct Client {
    access_key: Secret,
    signing_key: Secret,
    token: Option<Secret>,
    region: String,
    endpoints: Endpoints,
    request_timeout: Duration,
}

impl Client {
    /// A client for `region`. The secrets are copied into handles the
    /// client owns (the host copies values; the guest never sees them), and
    /// the signing key `secret_key + "&"` is made once.
    pub fn new(
        access_key: &Secret,
        secret_key: &Secret,
        token: Option<&Secret>,
        region: &str,
        endpoints: Endpoints,
        request_timeout: Duration,
    ) -> Self {
        Client {
            access_key: secrets::with_affix(access_key, "", ""),
            signing_key: secrets::with_affix(secret_key, "", "&"),
            token: token.map(|t| secrets::with_affix(t, "", "")),
            region: region.to_string(),
            endpoints,
            request_timeout,
        }
    }

    /// The build's (source) region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// An ECS call in the build's region.
    pub fn ecs(&self, action: &'static str) -> Call<'_> {
        Call::new(self, Api::Ecs, action)
    }

    /// A VPC API call in the build's region.
    pub fn vpc(&self, action: &'static str) -> Call<'_> {
        Call::new(self, Api::Vpc, action)
    }
}

/// One API call being built; [`Call::send`] signs and sends it, retrying
/// per the policy above.
pub struct Call<'c> {
    client: &'c Client,
    api: Api,
    action: &'static str,
    region: String,
    params: Vec<(String, Param<'c>)>,
    retries: Retries,
}

impl<'c> Call<'c> {
    fn new(client: &'c Client, api: Api, action: &'static str) -> Self {
        Call {
            client,
            api,
            action,
            region: client.region.clone(),
            params: Vec::new(),
            retries: Retries { deadline: DEFAULT_CALL_DEADLINE, replayable: true, also: &[] },
        }
    }

    /// Sends the call to `region`'s endpoint with `RegionId=region`
    /// (default: the build's region).
    pub fn region(mut self, region: &str) -> Self {
        self.region = region.to_string();
        self
    }

    /// Adds a parameter.
    pub fn param(mut self, name: &str, value: impl Into<String>) -> Self {
        self.params.push((name.to_string(), Param::Text(value.into())));
        self
    }

    /// Adds a parameter when it has a non-empty value (the API reads an
    /// empty value as a value, not as "unset").
    pub fn opt(self, name: &str, value: Option<&str>) -> Self {
        match value {
            Some(v) if !v.is_empty() => self.param(name, v),
            _ => self,
        }
    }

    /// Adds a parameter whose value is a secret (the host writes it).
    pub fn secret(mut self, name: &str, value: &'c Secret) -> Self {
        self.params.push((name.to_string(), Param::Secret(value)));
        self
    }

    /// Adds a parameter whose value is a secret the host writes in base64
    /// (`UserData`).
    pub fn base64_secret(mut self, name: &str, value: &'c Secret) -> Self {
        self.params.push((name.to_string(), Param::Base64Secret(value)));
        self
    }

    /// Adds a fresh `ClientToken`: every retry of this call then carries the
    /// same token, so the cloud creates the resource at most once.
    pub fn client_token(self) -> Self {
        self.param("ClientToken", random::uuid())
    }

    /// Also retries these codes (or their `.`-suffixed variants): a
    /// delete's dependency codes, say.
    pub fn retry_on(mut self, codes: &'static [&'static str]) -> Self {
        self.retries.also = codes;
        self
    }

    /// Keeps retrying for `deadline` instead of the default.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.retries.deadline = deadline;
        self
    }

    /// The call creates something and takes no `ClientToken`: a request
    /// whose answer was lost may have worked, so it is not sent again
    /// (only explicit "not done, try later" answers are retried).
    pub fn not_idempotent(mut self) -> Self {
        self.retries.replayable = false;
        self
    }

    /// Signs and sends the call, retrying per the policy, and returns the
    /// JSON of the successful answer.
    pub fn send(self) -> Result<Value, RpcError> {
        with_retries(
            &HostClock,
            self.retries,
            || self.attempt(),
            |e, retrying| {
                ui::debug(format!("{e}; retrying"));
                // A call that keeps failing says so, now and then: minutes
                // of silent retries look like a hang.
                if retrying.worth_telling() {
                    ui::message(retrying.notice(self.action, &e.why_retried()));
                }
            },
        )
    }

    /// One signed exchange: fresh nonce and timestamp, same parameters.
    fn attempt(&self) -> Result<Value, RpcError> {
        let client = self.client;
        let mut params: Params<'c> = Params::new();
        for (name, value) in &self.params {
            params.insert(name.clone(), value.clone());
        }
        let text = |s: &str| Param::Text(s.to_string());
        params.insert("Format".into(), text("JSON"));
        params.insert("Version".into(), text(self.api.version()));
        params.insert("Action".into(), text(self.action));
        params.insert("AccessKeyId".into(), Param::Secret(&client.access_key));
        params.insert("SignatureMethod".into(), text("HMAC-SHA1"));
        params.insert("SignatureVersion".into(), text("1.0"));
        params.insert("SignatureNonce".into(), Param::Text(random::hex32()));
        params.insert("Timestamp".into(), Param::Text(time::utc_timestamp(SystemTime::now())));
        params.entry("RegionId".into()).or_insert_with(|| Param::Text(self.region.clone()));
        if let Some(token) = &client.token {
            params.insert("SecurityToken".into(), Param::Secret(token));
        }
        let signature = sign::signature(&client.signing_key, "POST", &params);
        let body = sign::form_body(&params, &signature);
        let url = format!("{}/", client.endpoints.url(self.api, &self.region));
        ui::debug(format!("{} {} in {}", self.api.name(), self.action, self.region));
        let response = Request::post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body_pieces(body)
            .timeout_ms(client.request_timeout.as_millis() as u64)
            .send();
        match response {
            Ok(response) => self.decode(response.status, &response.body),
            Err(e) => Err(self.host_error(e)),
        }
    }

    /// The answer as JSON, or the cloud's error.
    fn decode(&self, status: u16, body: &[u8]) -> Result<Value, RpcError> {
        let parsed: Option<Value> = serde_json::from_slice(body).ok();
        if (200..300).contains(&status) {
            return parsed.ok_or_else(|| RpcError::Decode {
                action: self.action,
                region: self.region.clone(),
                message: snippet(body),
            });
        }
        let reply = parsed.unwrap_or(Value::Null);
        Err(RpcError::Api(ApiError {
            action: self.action,
            region: self.region.clone(),
            status,
            code: json::text(&reply, &["Code"]).unwrap_or_else(|| format!("HTTP{status}")),
            message: json::text(&reply, &["Message"]).unwrap_or_else(|| snippet(body)),
            request_id: json::text(&reply, &["RequestId"]),
        }))
    }

    /// A request that got no answer, sorted by the SDK ([`http::Fault`]):
    /// lost connections and timeouts may be retried, a denial or a bad
    /// request may not.
    fn host_error(&self, error: http::Error) -> RpcError {
        match error.fault() {
            Fault::Cancelled => RpcError::Cancelled,
            fault => RpcError::Transport {
                action: self.action,
                region: self.region.clone(),
                message: error.to_string(),
                fault,
            },
        }
    }
}

/// An error answer from the cloud.
#[derive(Debug)]
pub struct ApiError {
    /// The action called.
    pub action: &'static str,
    /// The region called.
    pub region: String,
    /// HTTP status.
    pub status: u16,
    /// The cloud's error code (`HTTP<status>` when the body had none).
    pub code: String,
    /// The cloud's message.
    pub message: String,
    /// The request id, for Alibaba Cloud's support.
    pub request_id: Option<String>,
}

/// Why a call failed.
#[derive(Debug)]
pub enum RpcError {
    /// The cloud said no.
    Api(ApiError),
    /// No answer came (connection, timeout, egress denied).
    Transport {
        /// The action called.
        action: &'static str,
        /// The region called.
        region: String,
        /// The host's explanation.
        message: String,
        /// What the failure says about another attempt, and whether the
        /// host refused the request.
        fault: Fault,
    },
    /// A success answer that is not JSON.
    Decode {
        /// The action called.
        action: &'static str,
        /// The region called.
        region: String,
        /// The start of the body.
        message: String,
    },
    /// Retryable failures went on past the call's deadline.
    GaveUp {
        /// How long the call was retried.
        after: Duration,
        /// The last failure.
        last: Box<RpcError>,
    },
    /// The build was cancelled.
    Cancelled,
}

impl RpcError {
    /// The cloud's error code, if the cloud answered.
    pub fn code(&self) -> Option<&str> {
        match self {
            RpcError::Api(e) => Some(e.code.as_str()),
            RpcError::GaveUp { last, .. } => last.code(),
            _ => None,
        }
    }

    /// Whether the code says the resource does not exist
    /// (`InvalidInstanceId.NotFound`...): a delete of something already
    /// gone succeeded. A wrong region, action or access key is not that.
    pub fn is_not_found(&self) -> bool {
        self.code().is_some_and(|c| {
            c.starts_with("Invalid") && c.ends_with(".NotFound") && !NOT_RESOURCES.iter().any(|p| c.starts_with(p))
        })
    }

    /// Whether the code is `code` or one of its `.` variants.
    pub fn has_code(&self, code: &str) -> bool {
        self.code().is_some_and(|c| code_in(c, &[code]))
    }

    /// What the failure says about another attempt: a lost connection or
    /// a timeout may have reached the cloud; a denial, a bad request or a
    /// cancellation will not get better.
    fn failure(&self) -> Failure<'_> {
        match self {
            RpcError::Api(e) => Failure::Answer { code: &e.code, status: e.status },
            RpcError::Transport { fault: Fault::Lost, .. } => Failure::Lost,
            _ => Failure::Final,
        }
    }

    /// What a retried failure was, in a few words: `server error 503
    /// (ServiceUnavailable)`, `throttled (Throttling.User)`, `no answer
    /// (...)`.
    fn why_retried(&self) -> String {
        match self {
            RpcError::Api(e) if e.status >= 500 => format!("server error {} ({})", e.status, e.code),
            RpcError::Api(e) if e.code.starts_with("Throttling") => format!("throttled ({})", e.code),
            RpcError::Api(e) => format!("{} (HTTP {})", e.code, e.status),
            RpcError::Transport { message, .. } => format!("no answer ({message})"),
            other => other.to_string(),
        }
    }

    /// Whether the credentials may not do this: the host refused the
    /// request (egress), or the cloud answered with a permission code
    /// ([`DENIALS`], `Forbidden*`). A failure retried until the deadline
    /// is not a denial: denials are never retried.
    pub fn is_denied(&self) -> bool {
        match self {
            RpcError::Transport { fault: Fault::Denied, .. } => true,
            RpcError::Api(e) => {
                (e.code.starts_with("Forbidden") || code_in(&e.code, DENIALS)) && !code_in(&e.code, NOT_DENIALS)
            }
            _ => false,
        }
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RpcError::Api(e) => {
                write!(f, "{} in {} failed: {}: {}", e.action, e.region, e.code, e.message)?;
                match &e.request_id {
                    Some(id) => write!(f, " (RequestId {id}, HTTP {})", e.status),
                    None => write!(f, " (HTTP {})", e.status),
                }
            }
            RpcError::Transport { action, region, message, .. } => write!(f, "{action} in {region} failed: {message}"),
            RpcError::Decode { action, region, message } => {
                write!(f, "{action} in {region} answered with something that is not JSON: {message}")
            }
            RpcError::GaveUp { after, last } => {
                write!(f, "{last} (still failing after {} s of retries)", after.as_secs())
            }
            RpcError::Cancelled => write!(f, "the build was cancelled"),
        }
    }
}

impl From<RpcError> for StepError {
    fn from(e: RpcError) -> Self {
        match e {
            RpcError::Cancelled => StepError::Cancelled,
            other => StepError::Failed(other.to_string()),
        }
    }
}

/// A delete's result, where "it does not exist" counts as done.
pub fn gone(result: Result<Value, RpcError>) -> Result<(), RpcError> {
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api_error(code: &str, status: u16) -> RpcError {
        RpcError::Api(ApiError {
            action: "CreateInstance",
            region: "cn-beijing".into(),
            status,
            code: code.into(),
            message: String::new(),
            request_id: None,
        })
    }

    #[test]
    fn a_retried_failure_is_told_in_a_few_words() {
        assert_eq!(api_error("ServiceUnavailable", 503).why_retried(), "server error 503 (ServiceUnavailable)");
        assert_eq!(api_error("Throttling.User", 400).why_retried(), "throttled (Throttling.User)");
        assert_eq!(api_error("TaskConflict", 409).why_retried(), "TaskConflict (HTTP 409)");
    }

    fn transport(retryable: bool) -> RpcError {
        let fault = if retryable { Fault::Lost } else { Fault::Final };
        RpcError::Transport { action: "CreateInstance", region: "cn-beijing".into(), message: String::new(), fault }
    }

    fn retried(error: &RpcError, idempotent: bool) -> bool {
        RETRYABLE.retries(error.failure(), idempotent, &[])
    }

    #[test]
    fn throttling_and_still_processing_are_retried_by_every_call() {
        for code in ["Throttling", "Throttling.User", "IdempotentProcessing", "TaskConflict", "OperationConflict"] {
            assert!(retried(&api_error(code, 400), false), "{code}");
        }
    }

    #[test]
    fn server_errors_and_lost_answers_are_retried_only_by_replayable_calls() {
        for error in [
            api_error("InternalError", 500),
            api_error("ServiceUnavailable", 503),
            api_error("HTTP502", 502),
            transport(true),
        ] {
            assert!(retried(&error, true), "{error}");
            assert!(!retried(&error, false), "{error}");
        }
        for error in [api_error("InvalidParameter", 400), transport(false), RpcError::Cancelled] {
            assert!(!retried(&error, true), "{error}");
        }
    }

    #[test]
    fn only_resource_not_found_codes_mean_gone() {
        let error = |code: &str| {
            RpcError::Api(ApiError {
                action: "DeleteVpc",
                region: "cn-beijing".into(),
                status: 404,
                code: code.into(),
                message: String::new(),
                request_id: None,
            })
        };
        assert!(error("InvalidVpcId.NotFound").is_not_found());
        assert!(!error("InvalidRegionId.NotFound").is_not_found());
        assert!(!error("InvalidAction.NotFound").is_not_found());
        assert!(!error("InvalidAccessKeyId.NotFound").is_not_found());
        assert!(error("DependencyViolation.Instance").has_code("DependencyViolation"));
    }

    #[test]
    fn endpoints_default_per_region_or_custom_for_all() {
        let e = Endpoints::default();
        assert_eq!(e.url(Api::Ecs, "cn-beijing"), "https://ecs.cn-beijing.aliyuncs.com");
        assert_eq!(e.url(Api::Vpc, "cn-beijing"), "https://vpc.cn-beijing.aliyuncs.com");
        let e = Endpoints { ecs: Some("http://127.0.0.1:8080".into()), vpc: None };
        assert_eq!(e.url(Api::Ecs, "us-west-1"), "http://127.0.0.1:8080");
    }

    use kiln_guest::clock::FakeClock;

    const CALL: Retries = Retries { deadline: DEFAULT_CALL_DEADLINE, replayable: true, also: &[] };

    /// Runs a call whose attempts answer `errors` in turn, then succeed;
    /// returns the outcome, the sleeps and the failures shown as retried.
    fn run(retries: Retries, clock: &FakeClock, errors: Vec<RpcError>) -> (Result<u32, RpcError>, Vec<String>) {
        let mut errors = errors.into_iter();
        let mut attempts = 0;
        let mut shown = Vec::new();
        let got = with_retries(
            clock,
            retries,
            || {
                attempts += 1;
                errors.next().map_or(Ok(attempts), Err)
            },
            |e, _| shown.push(e.code().unwrap_or("transport").to_string()),
        );
        (got, shown)
    }

    #[test]
    fn a_call_backs_off_on_throttling_until_it_succeeds() {
        let clock = FakeClock::new();
        let (got, shown) = run(CALL, &clock, vec![api_error("Throttling.User", 400), api_error("Throttling", 400)]);
        assert_eq!(got.ok(), Some(3));
        assert_eq!(shown, ["Throttling.User", "Throttling"]);
        assert_eq!(clock.sleeps(), [1, 2].map(Duration::from_secs));
    }

    #[test]
    fn a_non_replayable_call_fails_at_once_on_what_may_follow_the_effect() {
        let once = Retries { replayable: false, ..CALL };
        for error in [api_error("InternalError", 500), transport(true)] {
            let clock = FakeClock::new();
            let (got, shown) = run(once, &clock, vec![error]);
            assert!(got.is_err());
            assert!(shown.is_empty());
            assert!(clock.sleeps().is_empty());
        }
        let clock = FakeClock::new();
        let (got, _) = run(once, &clock, vec![api_error("TaskConflict", 409)]);
        assert_eq!(got.ok(), Some(2), "a no-effect code is retried by every call");
        let clock = FakeClock::new();
        let (got, _) = run(CALL, &clock, vec![api_error("InternalError", 500), transport(true)]);
        assert_eq!(got.ok(), Some(3), "a replayable call retries both");
    }

    #[test]
    fn a_call_retries_its_own_codes_and_gives_up_at_its_deadline() {
        let delete = Retries { deadline: Duration::from_secs(5), also: &["DependencyViolation"], ..CALL };
        let clock = FakeClock::new();
        let dependents = (0..10).map(|_| api_error("DependencyViolation.Instance", 400)).collect();
        let (got, _) = run(delete, &clock, dependents);
        let Err(RpcError::GaveUp { after, last }) = got else { panic!("the call did not give up") };
        assert_eq!(after, Duration::from_secs(5));
        assert_eq!(last.code(), Some("DependencyViolation.Instance"));
        assert_eq!(clock.sleeps(), [1, 2, 2].map(Duration::from_secs));
        let clock = FakeClock::new();
        let (got, _) = run(CALL, &clock, vec![api_error("DependencyViolation.Instance", 400)]);
        assert!(matches!(got, Err(RpcError::Api(_))), "not retried without the call's codes");
    }

    #[test]
    fn a_cancelled_backoff_ends_the_call_as_cancelled() {
        let clock = FakeClock::new().cancel_at_sleep(1);
        let (got, _) = run(CALL, &clock, vec![api_error("Throttling", 400)]);
        assert!(matches!(got, Err(RpcError::Cancelled)));
    }

    #[test]
    fn permission_codes_and_host_refusals_are_denials() {
        for code in [
            "Forbidden.RAM",
            "Forbidden",
            "Forbidden.NoPermission",
            "NoPermission",
            "InvalidAccessKeyId.NotFound",
            "InvalidAccessKeyId.Inactive",
            "SignatureDoesNotMatch",
            "InvalidSecurityToken.Expired",
        ] {
            assert!(api_error(code, 403).is_denied(), "{code}");
        }
        for code in ["Forbidden.VpcNotReady", "IncorrectInstanceStatus", "InvalidVpcId.NotFound", "NoPermissions"] {
            assert!(!api_error(code, 403).is_denied(), "{code}");
        }
        let refused = RpcError::Transport {
            action: "DeleteVpc",
            region: "cn-beijing".into(),
            message: "egress denied".into(),
            fault: Fault::Denied,
        };
        assert!(refused.is_denied());
        assert!(!transport(false).is_denied());
        let gave_up = RpcError::GaveUp { after: Duration::from_secs(1), last: Box::new(api_error("Throttling", 400)) };
        assert!(!gave_up.is_denied());
    }
}
