//! The builder fields a section is decoded against, as the template layer
//! sees them: what a builder declares in `describe`, converted from the
//! contract's types by `plugin/` so that templates never name the bindings.

/// The type a field's value is coerced to (the contract's `field-kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// A string; numbers and booleans become their text.
    String,
    /// `true`/`false`, also written as a string or `1`/`0`.
    Boolean,
    /// A whole number, also written as a string.
    Integer,
    /// A number, also written as a string.
    Number,
    /// A duration (`"5m"`), handed over as whole milliseconds.
    Duration,
    /// A list of strings; a single string is a list of one.
    StringList,
    /// An object whose values are strings.
    StringMap,
    /// Any JSON value, untouched.
    Any,
    /// The path of a local file, handed over as the file's text.
    FileText,
}

impl FieldKind {
    /// The kind's name in the contract (`integer`, `string-list`), for
    /// messages.
    pub fn name(self) -> &'static str {
        match self {
            FieldKind::String => "string",
            FieldKind::Boolean => "boolean",
            FieldKind::Integer => "integer",
            FieldKind::Number => "number",
            FieldKind::Duration => "duration",
            FieldKind::StringList => "string-list",
            FieldKind::StringMap => "string-map",
            FieldKind::Any => "any",
            FieldKind::FileText => "file-text",
        }
    }
}

/// One field a builder accepts (the contract's `field`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// The key in the builder section.
    pub name: String,
    /// How its value is coerced.
    pub kind: FieldKind,
    /// A missing value is a problem before `prepare`.
    pub required: bool,
    /// The value reaches the builder only as a secret handle.
    pub secret: bool,
    /// One or two sentences for `kiln plugins inspect`.
    pub doc: String,
    /// Environment variables read, in order, when the template leaves the
    /// field unset or empty.
    pub env: Vec<String>,
    /// The most bytes a string value may have, checked at decode.
    pub max_length: Option<u32>,
}
