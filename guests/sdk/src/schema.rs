//! Declaring a builder's fields for `describe`: a table of
//! [`field`]`(name, kind, doc)` lines with what the host must know about
//! each (required, secret, environment fallbacks). The host checks and
//! resolves them before `prepare` runs, and `kiln plugins inspect` shows
//! the docs.

use crate::types::{Field, FieldKind};

/// A field being declared; see [`field`].
///
/// ```rust
/// use kiln_guest::schema::{field, FieldSpec};
/// use kiln_guest::types::FieldKind;
///
/// let spec: FieldSpec = field("region", FieldKind::String, "The region to build in.");
/// ```
#[derive(Clone, Debug)]
pub struct FieldSpec(Field);

/// Declares the field `name` of `kind`, documented by `doc` (a sentence or
/// two: what it is, its default, its limits), optional, plain, with no
/// environment fallback until said otherwise.
///
/// ```rust
/// use kiln_guest::schema::field;
/// use kiln_guest::types::{Field, FieldKind};
///
/// let fields: Vec<Field> = [
///     field("access_key", FieldKind::String, "The access key id; ACCESS_KEY when unset.")
///         .required()
///         .secret()
///         .env(&["ACCESS_KEY"]),
///     field("zone_id", FieldKind::String, "The zone to build in; the first that fits by default."),
/// ]
/// .into_iter()
/// .map(Field::from)
/// .collect();
/// assert!(fields[0].required && fields[0].secret);
/// assert_eq!(fields[0].env, ["ACCESS_KEY"]);
/// assert!(!fields[1].required);
/// ```
pub fn field(name: &str, kind: FieldKind, doc: &str) -> FieldSpec {
    FieldSpec(Field {
        name: name.into(),
        kind,
        required: false,
        secret: false,
        doc: doc.into(),
        env: Vec::new(),
        max_length: None,
    })
}

impl FieldSpec {
    /// The host reports the field missing before `prepare` runs.
    ///
    /// ```rust
    /// use kiln_guest::types::{Field, FieldKind};
    ///
    /// let f = Field::from(kiln_guest::schema::field("region", FieldKind::String, "The region.").required());
    /// assert!(f.required);
    /// ```
    pub fn required(mut self) -> Self {
        self.0.required = true;
        self
    }

    /// The value reaches the builder only as a secret handle, and is
    /// redacted from every output.
    ///
    /// ```rust
    /// use kiln_guest::types::{Field, FieldKind};
    ///
    /// let f = Field::from(kiln_guest::schema::field("secret_key", FieldKind::String, "The key.").secret());
    /// assert!(f.secret);
    /// ```
    pub fn secret(mut self) -> Self {
        self.0.secret = true;
        self
    }

    /// Environment variables the host reads, in order, when the template
    /// leaves the field unset or empty.
    ///
    /// ```rust
    /// use kiln_guest::types::{Field, FieldKind};
    ///
    /// let f = Field::from(kiln_guest::schema::field("region", FieldKind::String, "The region.").env(&["REGION"]));
    /// assert_eq!(f.env, ["REGION"]);
    /// ```
    pub fn env(mut self, names: &[&str]) -> Self {
        self.0.env = names.iter().map(|n| n.to_string()).collect();
        self
    }
}

impl FieldSpec {
    /// The host refuses a string value longer than `bytes` before
    /// `prepare` runs (a secret field's length included, which the builder
    /// cannot read), naming the field and the limit.
    ///
    /// ```rust
    /// use kiln_guest::types::{Field, FieldKind};
    ///
    /// let f = Field::from(kiln_guest::schema::field("user_data", FieldKind::String, "Data.").max_length(16384));
    /// assert_eq!(f.max_length, Some(16384));
    /// ```
    pub fn max_length(mut self, bytes: u32) -> Self {
        self.0.max_length = Some(bytes);
        self
    }
}

impl From<FieldSpec> for Field {
    fn from(spec: FieldSpec) -> Field {
        spec.0
    }
}
