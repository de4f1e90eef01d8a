//! `application/x-www-form-urlencoded` text (query strings and form
//! bodies), as every simulated cloud reads its parameters.

use std::collections::BTreeMap;

/// Parameters from a query string or form body, decoding `+` as a space
/// (Go's `url.Values.Encode`, which the Go SDKs send). A name given twice
/// keeps its last value; malformed percent-escapes are kept as written
/// (never an error, as the clouds' gateways read them).
pub fn parse(query: &str) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}
