//! A request as the NAVER Cloud gateway reads it: which API (`/server/v2`,
//! `/vserver/v2`, `/vpc/v2`) and action its path names, and its
//! parameters from the query string and the form body together (a form
//! value wins over a query one of the same name).

use super::error::ApiError;
use crate::cloud::{Call, HttpRequest};
use crate::form::{self, ParamError};

/// Parameters by name.
pub use crate::form::Params;

/// The API a path is under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    /// `/server/v2`: the classic Server API.
    Server,
    /// `/vserver/v2`: the VPC Server API.
    Vserver,
    /// `/vpc/v2`: the VPC API.
    Vpc,
}

impl Api {
    /// The version as the request log shows it (`server/v2`).
    pub fn version(self) -> &'static str {
        match self {
            Api::Server => "server/v2",
            Api::Vserver => "vserver/v2",
            Api::Vpc => "vpc/v2",
        }
    }
}

/// Parameters whose values the request log hides.
const SECRET_PARAMS: &[&str] = &["privateKey", "rootPassword", "loginKeyPassword"];

/// One NAVER Cloud request.
#[derive(Clone, Debug)]
pub struct ApiRequest {
    /// The API its path is under.
    pub api: Api,
    /// The action, the path's segment after the API (`getRegionList`).
    pub action: String,
    /// Query and form parameters together.
    pub params: Params,
}

impl ApiRequest {
    /// The NAVER Cloud reading of `request`, if its path is under one of
    /// the three APIs (whatever its Host: a proxied request names the
    /// gateway, one to `NCLOUD_API_GW` the simulator). `None` leaves it to
    /// another cloud.
    pub fn of(request: &HttpRequest) -> Option<Self> {
        let (api, action) = [("/server/v2/", Api::Server), ("/vserver/v2/", Api::Vserver), ("/vpc/v2/", Api::Vpc)]
            .iter()
            .find_map(|(prefix, api)| Some((*api, request.path.strip_prefix(prefix)?)))?;
        let mut params = crate::form::parse(&request.query);
        let form = request.content_type().is_none_or(|v| v.starts_with("application/x-www-form-urlencoded"));
        if form && !request.body.is_empty() {
            params.extend(crate::form::parse(&String::from_utf8_lossy(&request.body)));
        }
        Some(ApiRequest { api, action: action.trim_end_matches('/').to_string(), params })
    }

    /// The call, as the request log shows it and fault rules match it.
    pub fn call(&self) -> Call {
        let params = self
            .params
            .iter()
            .map(|(k, v)| {
                let hidden = SECRET_PARAMS.contains(&k.as_str()) && !v.is_empty();
                (k.clone(), if hidden { "***".to_string() } else { v.clone() })
            })
            .collect();
        Call { action: self.action.clone(), version: self.api.version().into(), params }
    }

    /// Whether the answer should be XML (`responseFormatType=xml`).
    pub fn wants_xml(&self) -> bool {
        self.params.get("responseFormatType").is_some_and(|v| v.eq_ignore_ascii_case("xml"))
    }
}

/// Typed access to a request's parameters, with the API's errors for
/// missing and malformed values: the shared [`form::Args`], and the list
/// form NAVER Cloud's SDKs send.
pub type Args<'a> = form::Args<'a, ApiError>;

impl ParamError for ApiError {
    fn missing(name: &str) -> Self {
        ApiError::missing(name)
    }
    fn invalid(name: &str, why: &str) -> Self {
        ApiError::invalid(name, why)
    }
}

impl Args<'_> {
    /// The list `name.1`, `name.2`, … in order of N (empty values left
    /// out). A value written as a Python list literal (`['3001', '3002']`,
    /// as ncloud-vserver 1.0.1 sends nested lists) counts as its items.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.repeated(name).into_iter().flat_map(literal_items).collect()
    }
}

/// The items of one list value: a Python list literal's strings
/// (`['a', 'b']`, `[]`), else the value itself; empty items left out.
pub fn literal_items(value: &str) -> Vec<String> {
    let trimmed = value.trim();
    let inner = trimmed.strip_prefix('[').and_then(|v| v.strip_suffix(']'));
    match inner {
        Some(inner) => inner
            .split(',')
            .map(|item| item.trim().trim_matches(|c| c == '\'' || c == '"').trim().to_string())
            .filter(|item| !item.is_empty())
            .collect(),
        None if trimmed.is_empty() => Vec::new(),
        None => vec![value.to_string()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(path: &str, query: &str, body: &str) -> HttpRequest {
        HttpRequest {
            method: "POST".into(),
            host: "ncloud.apigw.ntruss.com".into(),
            path: path.into(),
            query: query.into(),
            headers: vec![("content-type".into(), "application/x-www-form-urlencoded".into())],
            body: body.to_string().into_bytes().into(),
        }
    }

    #[test]
    fn the_path_names_api_and_action_and_both_halves_give_parameters() {
        let r = ApiRequest::of(&request("/server/v2/getRegionList", "a=1&b=2", "responseFormatType=json&b=3")).unwrap();
        assert_eq!((r.api, r.action.as_str()), (Api::Server, "getRegionList"));
        assert_eq!(r.params.get("a").map(String::as_str), Some("1"));
        assert_eq!(r.params.get("b").map(String::as_str), Some("3"), "the form wins");
        assert_eq!(ApiRequest::of(&request("/vserver/v2/getZoneList", "", "")).unwrap().api, Api::Vserver);
        assert_eq!(ApiRequest::of(&request("/vpc/v2/getVpcList", "", "")).unwrap().call().version, "vpc/v2");
        assert!(ApiRequest::of(&request("/", "Action=DescribeRegions", "")).is_none());
        let hidden = ApiRequest::of(&request("/server/v2/getRootPassword", "", "privateKey=-----BEGIN")).unwrap();
        assert_eq!(hidden.call().params["privateKey"], "***");
    }

    #[test]
    fn lists_nested_lists_literals_and_empty_values() {
        let params = crate::form::parse(
            "serverInstanceNoList.2=b&serverInstanceNoList.1=a&serverInstanceNoList.10=c&memberServerImageNo=&zoneNo=\
             &networkInterfaceList.1.networkInterfaceOrder=0\
             &networkInterfaceList.1.accessControlGroupNoList.1=3001\
             &networkInterfaceList.2.accessControlGroupNoList=%5B%273001%27%2C+%273002%27%5D",
        );
        let args = Args::new(&params);
        assert_eq!(args.list("serverInstanceNoList"), ["a", "b", "c"]);
        assert_eq!(args.opt("memberServerImageNo"), None, "an empty value is unset");
        assert_eq!(args.opt("zoneNo"), None);
        assert!(args.req("zoneNo").is_err());
        assert_eq!(args.indices("networkInterfaceList"), [1, 2]);
        assert_eq!(args.list("networkInterfaceList.1.accessControlGroupNoList"), ["3001"]);
        let literal = params.get("networkInterfaceList.2.accessControlGroupNoList").unwrap();
        assert_eq!(literal_items(literal), ["3001", "3002"]);
        assert!(literal_items("[]").is_empty());
        assert_eq!(Args::new(&crate::form::parse("n=x")).int("n").unwrap_err().status, 400);
    }
}
