//! Interpolating a JSON section for one build: every string goes through
//! the template engine with the build's name and type; strings that read a
//! sensitive variable are reported by JSON pointer, with the variables,
//! so that they reach the builder only as secrets or are refused.

use super::Template;
use super::decode::escape;
use super::error::Problem;
use super::interpolate::{self, Context};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// What a section is interpolated for.
pub struct Scope<'a> {
    /// The template (variables, paths, start time).
    pub template: &'a Template,
    /// The build's name.
    pub build_name: &'a str,
    /// The builder type.
    pub build_type: &'a str,
    /// Values the builder generated, for `{{ build `Name` }}`.
    pub build_data: Option<&'a BTreeMap<String, String>>,
}

/// A rendered section and the pointers of its sensitive strings.
pub struct Rendered {
    /// The section.
    pub map: Map<String, Value>,
    /// JSON pointers (`/ssh_password`) of strings that used a sensitive
    /// variable, each with the names of the sensitive variables it reads
    /// (empty when the name is computed at render time).
    pub sensitive: BTreeMap<String, Vec<String>>,
}

/// Interpolates every string of `map`; `at` is its JSON path for errors.
pub fn render(map: &Map<String, Value>, scope: &Scope<'_>, at: &str) -> Result<Rendered, Vec<Problem>> {
    let fields = BTreeMap::new();
    let ctx = Context {
        variables: &scope.template.variables,
        sensitive: &scope.template.sensitive,
        environment: None,
        build_name: Some(scope.build_name),
        build_type: Some(scope.build_type),
        template_dir: &scope.template.dir,
        pwd: &scope.template.pwd,
        started: scope.template.started,
        fields: &fields,
        build_data: scope.build_data,
        secret: false,
        redactor: Some(&scope.template.redactor),
    };
    let mut problems = Vec::new();
    let mut sensitive = BTreeMap::new();
    let mut out = Map::new();
    for (key, value) in map {
        let pointer = format!("/{}", escape(key));
        let path = format!("{at}.{key}");
        out.insert(key.clone(), walk(value, &ctx, &pointer, &path, &mut sensitive, &mut problems));
    }
    if problems.is_empty() { Ok(Rendered { map: out, sensitive }) } else { Err(problems) }
}

fn walk(
    value: &Value,
    ctx: &Context<'_>,
    pointer: &str,
    path: &str,
    sensitive: &mut BTreeMap<String, Vec<String>>,
    problems: &mut Vec<Problem>,
) -> Value {
    match value {
        Value::String(s) if interpolate::is_template(s) => match interpolate::render(s, ctx) {
            Ok(r) => {
                if r.sensitive {
                    let mut names = interpolate::referenced_variables(s);
                    names.retain(|name| ctx.sensitive.contains(name));
                    names.sort();
                    names.dedup();
                    sensitive.insert(pointer.to_string(), names);
                }
                Value::String(r.text)
            }
            Err(e) => {
                problems.push(Problem::new(path, e.to_string()));
                value.clone()
            }
        },
        Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| walk(v, ctx, &format!("{pointer}/{i}"), &format!("{path}[{i}]"), sensitive, problems))
                .collect(),
        ),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let inner =
                        walk(v, ctx, &format!("{pointer}/{}", escape(k)), &format!("{path}.{k}"), sensitive, problems);
                    (k.clone(), inner)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}
