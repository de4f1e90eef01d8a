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
//! and whose errors (a variable reused in `ssh_port`) come first; and the
//! provisioners' credentials ([`PROVISIONER_SECRET_KEYS`]: the
//! `powershell` provisioner's `elevated_password`), in each build that
//! runs them, their `override`s applied, the error-cleanup provisioner
//! included.

use crate::caps::secrets::Redactor;
use crate::plugin::{self, Registry};
use crate::template::decode::Environment;
use crate::template::interpolate;
use crate::template::render::{self, Scope};
use crate::template::{BuilderDef, Template, communicator};
use serde_json::{Map, Value};

/// The provisioner keys whose values are credentials.
pub const PROVISIONER_SECRET_KEYS: &[&str] = &["elevated_password"];

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
        for p in template.provisioners_for(&def.name).chain(&template.error_cleanup) {
            let config = p.config_for(&def.name);
            for key in PROVISIONER_SECRET_KEYS {
                if let Some(Value::String(text)) = config.get(*key) {
                    register_text(template, def, key, text, redactor);
                }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Overrides;

    #[test]
    fn elevated_passwords_are_secrets_literal_rendered_and_their_variables() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        let template = serde_json::json!({
            "variables": {"pw": "var-held-secret"},
            "builders": [{"type": "null", "name": "a"}],
            "provisioners": [
                {"type": "powershell", "inline": ["x"], "elevated_user": "u", "elevated_password": "literal-secret"},
                {"type": "powershell", "inline": ["x"], "elevated_user": "u", "elevated_password": "{{user `pw`}}-x",
                 "override": {"a": {"elevated_password": "override-secret"}}}
            ],
            "error-cleanup-provisioner":
                {"type": "powershell", "inline": ["x"], "elevated_user": "u", "elevated_password": "cleanup-secret"}
        });
        std::fs::write(&path, template.to_string()).unwrap();
        let template = crate::template::load(&path, &Overrides::default()).unwrap_or_else(|e| panic!("{e}"));
        let redactor = Redactor::default();
        let registry = Registry { plugins: Vec::new(), failures: Vec::new() };
        register(&template, &registry, &Environment::default(), &redactor);
        let text = "literal-secret override-secret cleanup-secret";
        assert_eq!(redactor.redact(text), "<sensitive> <sensitive> <sensitive>");

        // Without the override, the rendered value and its variable.
        let mut template = template;
        template.provisioners[1].overrides.clear();
        let redactor = Redactor::default();
        register(&template, &registry, &Environment::default(), &redactor);
        assert_eq!(redactor.redact("var-held-secret-x"), "<sensitive>");
        assert_eq!(redactor.redact("var-held-secret"), "<sensitive>");
    }
}
