//! A template file's text through kiln's loader: JSON syntax, structure,
//! variables (with their interpolation), and the errors' wording; then
//! each builder section as `validate` takes it: interpolated for its build
//! (`render`), its communicator keys taken out (`communicator::extract`)
//! and weakly typed (`decode`) against a fixed list of fields of every
//! kind but file text (which reads a file).

#![no_main]

use kiln::template::render::{self, Scope};
use kiln::template::{BuilderDef, Field, FieldKind, Overrides, Template, communicator, decode, from_text};
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use std::sync::LazyLock;

/// The fields every builder section is decoded against: one of each kind
/// (a secret, a required one, a map, a list, an integer, a duration...),
/// named as the fuzzer's seeds use them.
static FIELDS: LazyLock<Vec<Field>> = LazyLock::new(|| {
    let field = |name: &str, kind, required, secret| Field {
        name: name.into(),
        kind,
        required,
        secret,
        doc: "A field.".into(),
        env: Vec::new(),
    };
    vec![
        field("region", FieldKind::String, true, false),
        field("secret_key", FieldKind::String, false, true),
        field("password", FieldKind::String, false, true),
        field("tags", FieldKind::StringMap, false, false),
        field("names", FieldKind::StringList, false, false),
        field("count", FieldKind::Integer, false, false),
        field("ratio", FieldKind::Number, false, false),
        field("enabled", FieldKind::Boolean, false, false),
        field("timeout", FieldKind::Duration, false, false),
        field("extra", FieldKind::Any, false, false),
        field("ssh_keypair_name", FieldKind::String, false, false),
    ]
});

/// One builder section through render, communicator extraction and
/// decoding, with and without a communicator; errors rendered as a user
/// would read them.
fn prepare(template: &Template, builder: &BuilderDef) {
    let scope = Scope { template, build_name: &builder.name, build_type: &builder.builder_type, build_data: None };
    let at = builder.at();
    let rendered = match render::render(&builder.config, &scope, &at) {
        Ok(rendered) => rendered,
        Err(problems) => return drop(problems.iter().map(ToString::to_string).collect::<Vec<_>>()),
    };
    let names: Vec<&str> = FIELDS.iter().map(|f| f.name.as_str()).collect();
    for uses_communicator in [true, false] {
        let mut section = rendered.map.clone();
        if let Err(problems) =
            communicator::extract(&mut section, uses_communicator, &names, &builder.builder_type, &at)
        {
            drop(problems.iter().map(ToString::to_string).collect::<Vec<_>>());
            continue;
        }
        match decode::decode(&section, &rendered.sensitive, &FIELDS, &builder.builder_type, &at) {
            Ok(decoded) => drop(serde_json::Value::Object(decoded.json).to_string()),
            Err(problems) => drop(problems.iter().map(ToString::to_string).collect::<Vec<_>>()),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    // kiln reads templates with read_to_string: only UTF-8 gets further.
    let Ok(text) = std::str::from_utf8(data) else { return };
    for allow_unset in [false, true] {
        let overrides = Overrides { allow_unset, ..Overrides::default() };
        match from_text(Path::new("/fuzz/template.json"), text, &overrides) {
            Ok(template) => {
                let _ = template.select_builders(&[], &[]).map_err(|p| p.to_string());
                for builder in &template.builders {
                    let _ = template.select_builders(&[builder.name.clone()], &[]);
                    let _ = template.select_builders(&[], &[format!("{}*", builder.name)]);
                    if !allow_unset {
                        prepare(&template, builder);
                    }
                }
                for provisioner in &template.provisioners {
                    for builder in &template.builders {
                        let _ = provisioner.config_for(&builder.name);
                    }
                }
            }
            // What the user would read must render too.
            Err(error) => drop(error.to_string()),
        }
    }
});
