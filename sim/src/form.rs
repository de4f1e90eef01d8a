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

/// A request's parameters by name.
pub type Params = BTreeMap<String, String>;

/// The errors a cloud answers for a parameter that is missing or
/// malformed, in its own words.
pub trait ParamError {
    /// `name` is required and was not given (or given empty).
    fn missing(name: &str) -> Self;
    /// `name`'s value cannot be used; `why` says what is wrong with it.
    fn invalid(name: &str, why: &str) -> Self;
}

/// Typed access to a request's parameters, failing with the cloud's own
/// errors `E`. Each cloud adds the forms only its API has.
pub struct Args<'a, E> {
    params: &'a Params,
    error: std::marker::PhantomData<fn() -> E>,
}

// By hand: derived ones would require `E: Clone`.
impl<E> Clone for Args<'_, E> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<E> Copy for Args<'_, E> {}

impl<'a, E: ParamError> Args<'a, E> {
    /// Access to `params`.
    pub fn new(params: &'a Params) -> Self {
        Args { params, error: std::marker::PhantomData }
    }

    /// Every parameter.
    pub fn params(&self) -> &'a Params {
        self.params
    }

    /// A parameter, if present and not empty (the SDKs drop empty values;
    /// Packer 1.6.6 sends some unset ones as `name=`).
    pub fn opt(&self, name: &str) -> Option<&'a str> {
        self.params.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// A mandatory parameter. Fails with the missing-parameter error.
    pub fn req(&self, name: &str) -> Result<&'a str, E> {
        self.opt(name).ok_or_else(|| E::missing(name))
    }

    /// An integer, if present. Fails with the invalid-parameter error when
    /// it is not one.
    pub fn int(&self, name: &str) -> Result<Option<i64>, E> {
        self.opt(name).map(|v| v.parse().map_err(|_| E::invalid(name, &format!("{v:?} is not a number")))).transpose()
    }

    /// `Prefix.N.Field` (or `Prefix.N` with an empty field) by N, in
    /// order of N.
    pub fn indexed(&self, prefix: &str, field: &str) -> Vec<(u32, &'a str)> {
        let mut found: Vec<(u32, &str)> = self
            .params
            .iter()
            .filter_map(|(k, v)| {
                let rest = k.strip_prefix(prefix)?.strip_prefix('.')?;
                let (n, tail) = rest.split_once('.').unwrap_or((rest, ""));
                (tail == field).then_some(())?;
                Some((n.parse().ok()?, v.as_str()))
            })
            .collect();
        found.sort_by_key(|(n, _)| *n);
        found
    }

    /// Repeated parameters `Prefix.1`, `Prefix.2`, … in order of N.
    pub fn repeated(&self, prefix: &str) -> Vec<&'a str> {
        self.indexed(prefix, "").into_iter().map(|(_, v)| v).collect()
    }

    /// Every N of `Prefix.N.…` (or `Prefix.N`) present, in order, once each.
    pub fn indices(&self, prefix: &str) -> Vec<u32> {
        let mut found: Vec<u32> = self
            .params
            .keys()
            .filter_map(|k| k.strip_prefix(prefix)?.strip_prefix('.')?.split('.').next()?.parse().ok())
            .collect();
        found.sort_unstable();
        found.dedup();
        found
    }
}
