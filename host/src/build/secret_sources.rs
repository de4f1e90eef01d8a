//! Every value that will be a secret of some build, registered with the
//! redactor before anything of the run can print it: a validation error
//! about another field that reuses the same variable, `inspect`'s list of
//! variables, the debug log.
//!
//! What counts: for each builder section, each field its builder declares
//! secret — the value the template gives it (literal, rendered, and each
//! variable it reads) and the value of every environment variable the
//! field falls back to, whether or not the template set the field (the
//! variable holds a credential either way); and the communicator's
//! credentials (`ssh_password`, `ssh_bastion_password`, `winrm_password`),
//! which the host reads out of the section before the builder's fields
//! and whose errors (a variable reused in `ssh_port`) come first.

use crate::caps::secrets::Redactor;
use crate::plugin::{self, Registry};
use crate::template::decode::Environment;
use crate::template::interpolate;
use crate::template::render::{self, Scope};
use crate::template::{BuilderDef, Template, communicator};
use serde_json::{Map, Value};

/// Registers the communicator credentials of every builder section of
/// `template`, and the secret field values of those whose type
/// `registry` knows (an unknown type's fields are unknown: its section
/// fails before anything reads it). Never fails: a value that
/// does not render is registered as written, and rendering errors are
/// reported later by the build that owns them.
pub fn register(template: &Template, registry: &Registry, environment: &Environment, redactor: &Redactor) {
    for def in &template.builders {
        // Whatever the type: a section of an unknown type is not read,
        // but one the builder reads takes these out first.
        for key in communicator::SECRET_KEYS {
            if let Some(Value::String(text)) = def.config.get(*key) {
                register_text(template, def, key, text, redactor);
            }
        }
        let Some(plugin) = registry.find(&def.builder_type) else { continue };
        for field in plugin::fields(&plugin.description).iter().filter(|f| f.secret) {
            for name in &field.env {
                if let Some(value) = environment.get(name) {
                    redactor.add(&value);
                }
            }
            if let Some(Value::String(text)) = def.config.get(&field.name) {
                register_text(template, def, &field.name, text, redactor);
            }
        }
    }
}

/// Registers a secret field's template text: as written, as rendered for
/// its build, and the values of the variables it reads.
fn register_text(template: &Template, def: &BuilderDef, key: &str, text: &str, redactor: &Redactor) {
    if !interpolate::is_template(text) {
        redactor.add(text);
        return;
    }
    for name in interpolate::referenced_variables(text) {
        if let Some(value) = template.variables.get(&name) {
            redactor.add(value);
        }
    }
    let scope = Scope { template, build_name: &def.name, build_type: &def.builder_type, build_data: None };
    let one = Map::from_iter([(key.to_string(), Value::String(text.to_string()))]);
    if let Ok(rendered) = render::render(&one, &scope, &def.at())
        && let Some(Value::String(value)) = rendered.map.get(key)
    {
        redactor.add(value);
    }
}
