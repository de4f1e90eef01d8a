//! Reading a template file: JSON syntax (with line and column), the
//! structure Packer accepts (unknown keys are errors; keys starting with
//! `_` are comments), and the variables.

use super::decode::Environment;
use super::error::{Problem, TemplateError, did_you_mean};
use super::interpolate::{self, Context};
use super::{BuilderDef, ByBuild, PostProcessorDef, ProvisionerDef, Template};
use crate::caps::secrets::Redactor;
use crate::duration;
use serde_json::{Map, Value};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};

/// Values given on the command line.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `-var name=value`, in order.
    pub vars: Vec<(String, String)>,
    /// `-var-file FILE`, in order; later files win.
    pub var_files: Vec<PathBuf>,
    /// Accept required variables left unset (for `inspect` and
    /// `validate -syntax-only`, which render nothing); they are listed in
    /// [`Template::unset`].
    pub allow_unset: bool,
    /// Where the variables' `{{env}}` reads (under `--simulate`, with the
    /// simulated clouds' default credentials over the process environment).
    pub environment: Environment,
    /// Learns each sensitive variable's value as soon as it is known, so
    /// that no error of the load (a default that reads it and fails)
    /// shows it; every later rendering of the template registers there
    /// too (kept in [`Template::redactor`]).
    pub redactor: Redactor,
}

/// The provisioner types this kiln runs.
pub const PROVISIONER_TYPES: &[&str] =
    &["shell-local", "shell", "file", "powershell", "windows-shell", "windows-restart"];
/// The post-processor types this kiln runs.
pub const POST_PROCESSOR_TYPES: &[&str] = &["manifest"];

const ROOT_KEYS: &[&str] = &[
    "description",
    "min_packer_version",
    "variables",
    "sensitive-variables",
    "builders",
    "provisioners",
    "error-cleanup-provisioner",
    "post-processors",
];
const PROVISIONER_COMMON: &[&str] = &["type", "only", "except", "override", "pause_before", "max_retries", "timeout"];
const POST_PROCESSOR_COMMON: &[&str] = &["type", "only", "except", "keep_input_artifact", "name"];

/// Reads the template at `path` and resolves its variables.
pub fn load(path: &Path, overrides: &Overrides) -> Result<Template, TemplateError> {
    let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Read { path: path.into(), source })?;
    from_text(path, &text, overrides)
}

/// The template `text`, as [`load`] reads it from a file at `path` (which
/// errors name and `template_dir` is taken from; it is not read). The
/// fuzz targets' way in.
///
/// Fails with [`TemplateError`] for bad JSON syntax, a bad structure, or
/// a variable that cannot be resolved (a `-var-file` that cannot be read,
/// among others).
pub fn from_text(path: &Path, text: &str, overrides: &Overrides) -> Result<Template, TemplateError> {
    let root: Value = parse_json(path, text)?;
    let mut problems = Vec::new();
    let Value::Object(root) = root else {
        return Err(invalid(path, vec![Problem::new("", "a template is a JSON object with a \"builders\" list")]));
    };
    for key in root.keys() {
        if !key.starts_with('_') && !ROOT_KEYS.contains(&key.as_str()) {
            problems.push(Problem::new(key, format!("unknown key{}", did_you_mean(key, ROOT_KEYS.iter().copied()))));
        }
    }
    let pwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let absolute = if path.is_absolute() { path.to_path_buf() } else { pwd.join(path) };
    let dir = absolute.parent().map(Path::to_path_buf).unwrap_or_else(|| pwd.clone());
    let started = chrono::Utc::now();
    let description = match root.get("description") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            problems.push(Problem::new("description", "must be a string"));
            None
        }
    };
    let mut sensitive = string_list(root.get("sensitive-variables"), "sensitive-variables", &mut problems)
        .into_iter()
        .collect::<BTreeSet<_>>();
    let mut unset = Vec::new();
    let variables = resolve_variables(&root, overrides, &mut sensitive, &mut unset, &dir, &pwd, started, &mut problems);
    let builders = builders(root.get("builders"), &mut problems);
    let names: Vec<&str> = builders.iter().map(|b| b.name.as_str()).collect();
    let provisioners = provisioners(root.get("provisioners"), &names, &mut problems);
    let error_cleanup = match root.get("error-cleanup-provisioner") {
        None => None,
        Some(v) => {
            let list = Value::Array(vec![v.clone()]);
            let mut found = provisioners_at(Some(&list), "error-cleanup-provisioner", &names, &mut problems);
            found.pop()
        }
    };
    let post_processors = post_processors(root.get("post-processors"), &mut problems);
    let provisioners_by_build = ByBuild::new(provisioners.iter().map(|p| (p.only.as_slice(), p.except.as_slice())));
    if !problems.is_empty() {
        return Err(invalid(path, problems));
    }
    Ok(Template {
        path: path.to_path_buf(),
        dir,
        pwd,
        started,
        description,
        variables,
        sensitive,
        unset,
        builders,
        provisioners,
        provisioners_by_build,
        error_cleanup,
        post_processors,
        redactor: overrides.redactor.clone(),
    })
}

fn invalid(path: &Path, problems: Vec<Problem>) -> TemplateError {
    TemplateError::Invalid { path: path.to_path_buf(), problems }
}

fn parse_json(path: &Path, text: &str) -> Result<Value, TemplateError> {
    serde_json::from_str(text).map_err(|e| TemplateError::Syntax {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: e.to_string().split(" at line ").next().unwrap_or_default().to_string(),
    })
}

/// A value given where a string is expected, weakly typed as Packer does.
fn weak_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn string_list(value: Option<&Value>, at: &str, problems: &mut Vec<Problem>) -> Vec<String> {
    list_of(value, at, "string", problems, |_, v| v.as_str().map(str::to_string))
}

/// The items of a JSON list that `item` accepts; a problem for each other
/// item, and for a value that is not a list. Absent or null is empty.
fn list_of<'a, T>(
    value: Option<&'a Value>,
    at: &str,
    what: &str,
    problems: &mut Vec<Problem>,
    item: impl Fn(usize, &'a Value) -> Option<T>,
) -> Vec<T> {
    match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .filter_map(|(i, v)| {
                let accepted = item(i, v);
                if accepted.is_none() {
                    problems.push(Problem::new(format!("{at}[{i}]"), format!("must be a {what}")));
                }
                accepted
            })
            .collect(),
        Some(_) => {
            problems.push(Problem::new(at, format!("must be a list of {what}s")));
            Vec::new()
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn resolve_variables(
    root: &Map<String, Value>,
    overrides: &Overrides,
    sensitive: &mut BTreeSet<String>,
    unset: &mut Vec<String>,
    dir: &Path,
    pwd: &Path,
    started: chrono::DateTime<chrono::Utc>,
    problems: &mut Vec<Problem>,
) -> BTreeMap<String, String> {
    let declared: Map<String, Value> = match root.get("variables") {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            problems.push(Problem::new("variables", "must be an object of name: default value"));
            Map::new()
        }
    };
    let mut given: BTreeMap<String, (String, String)> = BTreeMap::new();
    for file in &overrides.var_files {
        let origin = format!("-var-file {}", file.display());
        let values = match std::fs::read_to_string(file) {
            Err(e) => {
                problems.push(Problem::new("", format!("cannot read {origin}: {e}")));
                continue;
            }
            Ok(text) => match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(m)) => m,
                Ok(_) => {
                    problems.push(Problem::new("", format!("{origin}: must be a JSON object of name: value")));
                    continue;
                }
                Err(e) => {
                    problems.push(Problem::new("", format!("{origin}:{}:{}: invalid JSON: {e}", e.line(), e.column())));
                    continue;
                }
            },
        };
        for (name, value) in values {
            match weak_string(&value) {
                Some(v) => {
                    given.insert(name, (v, origin.clone()));
                }
                None => problems.push(Problem::new("", format!("{origin}: variable {name:?} must be a string"))),
            }
        }
    }
    for (name, value) in &overrides.vars {
        given.insert(name.clone(), (value.clone(), "-var".into()));
    }
    for (name, (_, origin)) in &given {
        if !declared.contains_key(name) {
            problems.push(Problem::new(
                "variables",
                format!(
                    "{origin} sets {name:?}, which the template does not declare{}",
                    did_you_mean(name, declared.keys().map(String::as_str))
                ),
            ));
        }
    }
    for name in sensitive.iter() {
        if !declared.contains_key(name) {
            problems.push(Problem::new("sensitive-variables", format!("{name:?} is not a declared variable")));
        }
    }
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    let mut pending: Vec<(String, String)> = Vec::new();
    for (name, default) in &declared {
        if let Some((value, _)) = given.get(name) {
            // Before any default that reads it can fail and quote it (the
            // defaults register themselves as they are rendered).
            if sensitive.contains(name) {
                overrides.redactor.add(value);
            }
            values.insert(name.clone(), value.clone());
            continue;
        }
        match default {
            Value::Null if overrides.allow_unset => unset.push(name.clone()),
            Value::Null => problems.push(Problem::new(
                format!("variables.{name}"),
                format!("required variable {name:?} is not set; pass -var '{name}=VALUE' or put it in a -var-file"),
            )),
            other => match weak_string(other) {
                Some(text) => pending.push((name.clone(), text)),
                None => problems.push(Problem::new(format!("variables.{name}"), "a default value must be a string")),
            },
        }
    }
    // Defaults may use `env` and other variables: each is rendered once
    // every declared variable it reads has its value (Kahn's order, the
    // first declared first among those ready, so that problems come in the
    // template's order). Linear in the variables and their references: a
    // scan of every pending default per resolved one was quadratic.
    let references: Vec<Vec<String>> =
        pending.iter().map(|(_, text)| interpolate::referenced_variables(text)).collect();
    let position: HashMap<&str, usize> = pending.iter().enumerate().map(|(i, (name, _))| (name.as_str(), i)).collect();
    // Per pending default: how many declared variables without a value it
    // still reads (one that never gets one, unset or with a bad default,
    // keeps it waiting: see below); and, per such variable, who reads it.
    let mut waiting_on = vec![0_usize; pending.len()];
    let mut readers: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, names) in references.iter().enumerate() {
        for name in names.iter().filter(|r| !values.contains_key(*r) && declared.contains_key(*r)) {
            waiting_on[i] += 1;
            readers.entry(name.as_str()).or_default().push(i);
        }
    }
    let mut ready: BinaryHeap<Reverse<usize>> =
        (0..pending.len()).filter(|&i| waiting_on[i] == 0).map(Reverse).collect();
    let mut done = vec![false; pending.len()];
    let fields = BTreeMap::new();
    while let Some(Reverse(i)) = ready.pop() {
        done[i] = true;
        let (name, text) = &pending[i];
        let ctx = Context {
            variables: &values,
            sensitive: &*sensitive,
            environment: Some(&overrides.environment),
            build_name: None,
            build_type: None,
            template_dir: dir,
            pwd,
            started,
            fields: &fields,
            build_data: None,
            secret: sensitive.contains(name),
            redactor: Some(&overrides.redactor),
        };
        match interpolate::render(text, &ctx) {
            Ok(rendered) => {
                // A value made from a sensitive one is sensitive too.
                if rendered.sensitive {
                    sensitive.insert(name.clone());
                }
                values.insert(name.clone(), rendered.text);
                for &reader in readers.get(name.as_str()).into_iter().flatten() {
                    waiting_on[reader] -= 1;
                    if waiting_on[reader] == 0 {
                        ready.push(Reverse(reader));
                    }
                }
            }
            Err(e) => problems.push(Problem::new(format!("variables.{name}"), e.to_string())),
        }
    }
    // A default still waiting reads, directly or through other defaults, a
    // variable that has no value (a required one left unset, or one whose
    // default failed), or is caught in a cycle. The first kind are found
    // from the variables without a value, along who reads them, each once.
    let stuck = |name: &str| position.get(name).is_some_and(|&i| !done[i]);
    let mut without_value: VecDeque<&str> =
        declared.keys().map(String::as_str).filter(|n| !values.contains_key(*n) && !stuck(n)).collect();
    let mut reads_no_value: Vec<Option<&str>> = vec![None; pending.len()];
    while let Some(name) = without_value.pop_front() {
        for &reader in readers.get(name).into_iter().flatten() {
            if !done[reader] && reads_no_value[reader].is_none() {
                reads_no_value[reader] = Some(name);
                without_value.push_back(&pending[reader].0);
            }
        }
    }
    let mut cycle = Vec::new();
    for (i, (name, _)) in pending.iter().enumerate().filter(|(i, _)| !done[*i]) {
        match reads_no_value[i] {
            // Under allow_unset a required variable may stay unset, and so
            // may whatever is made from it.
            Some(_) if overrides.allow_unset => unset.push(name.clone()),
            Some(missing) => problems.push(Problem::new(
                format!("variables.{name}"),
                format!("its default reads {missing:?}, which has no value (see the problem with {missing:?})"),
            )),
            None => cycle.push(name.as_str()),
        }
    }
    if !cycle.is_empty() {
        problems
            .push(Problem::new("variables", format!("variables refer to each other in a cycle: {}", cycle.join(", "))));
    }
    values
}

fn objects<'a>(
    value: Option<&'a Value>,
    at: &str,
    problems: &mut Vec<Problem>,
) -> Vec<(usize, &'a Map<String, Value>)> {
    list_of(value, at, "object", problems, |i, v| v.as_object().map(|m| (i, m)))
}

fn without_comments(map: &Map<String, Value>) -> Map<String, Value> {
    map.iter().filter(|(k, _)| !k.starts_with('_')).map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn required_type(map: &Map<String, Value>, at: &str, problems: &mut Vec<Problem>) -> Option<String> {
    match map.get("type") {
        Some(Value::String(t)) if !t.is_empty() => Some(t.clone()),
        Some(_) => {
            problems.push(Problem::new(format!("{at}.type"), "must be a non-empty string"));
            None
        }
        None => {
            problems.push(Problem::new(at, "\"type\" is required"));
            None
        }
    }
}

/// The `builders` list; a missing one is empty, and refused, like an empty
/// one, by `Run::plan` in the words `validate` and `build` share.
fn builders(value: Option<&Value>, problems: &mut Vec<Problem>) -> Vec<BuilderDef> {
    let mut builders: Vec<BuilderDef> = Vec::new();
    let mut names = HashSet::new();
    for (index, map) in objects(value, "builders", problems) {
        let at = format!("builders[{index}]");
        let Some(builder_type) = required_type(map, &at, problems) else { continue };
        let name = match map.get("name") {
            None => builder_type.clone(),
            Some(Value::String(n)) if !n.is_empty() => n.clone(),
            Some(_) => {
                problems.push(Problem::new(format!("{at}.name"), "must be a non-empty string"));
                continue;
            }
        };
        if !names.insert(name.clone()) {
            problems.push(Problem::new(
                &at,
                format!("another builder is already named {name:?}; give each builder a unique \"name\""),
            ));
        }
        let mut config = without_comments(map);
        config.remove("type");
        config.remove("name");
        builders.push(BuilderDef { index, name, builder_type, config });
    }
    builders
}

fn duration_field(
    map: &Map<String, Value>,
    key: &str,
    at: &str,
    problems: &mut Vec<Problem>,
) -> Option<std::time::Duration> {
    let value = map.get(key)?;
    match weak_string(value).map(|s| duration::parse(&s)) {
        Some(Ok(d)) => Some(d),
        Some(Err(e)) => {
            problems.push(Problem::new(format!("{at}.{key}"), e));
            None
        }
        None => {
            problems.push(Problem::new(format!("{at}.{key}"), "must be a duration such as \"30s\""));
            None
        }
    }
}

fn provisioners(value: Option<&Value>, builds: &[&str], problems: &mut Vec<Problem>) -> Vec<ProvisionerDef> {
    provisioners_at(value, "provisioners", builds, problems)
}

fn provisioners_at(
    value: Option<&Value>,
    key: &str,
    builds: &[&str],
    problems: &mut Vec<Problem>,
) -> Vec<ProvisionerDef> {
    let known: HashSet<&str> = builds.iter().copied().collect();
    let mut out = Vec::new();
    for (index, map) in objects(value, key, problems) {
        let at = if key == "provisioners" { format!("{key}[{index}]") } else { key.to_string() };
        let Some(provisioner_type) = required_type(map, &at, problems) else { continue };
        if !PROVISIONER_TYPES.contains(&provisioner_type.as_str()) {
            let hint = did_you_mean(&provisioner_type, PROVISIONER_TYPES.iter().copied());
            problems.push(Problem::new(
                format!("{at}.type"),
                format!(
                    "unknown provisioner type {provisioner_type:?} (available: {}){hint}",
                    PROVISIONER_TYPES.join(", ")
                ),
            ));
        }
        let only = string_list(map.get("only"), &format!("{at}.only"), problems);
        let except = string_list(map.get("except"), &format!("{at}.except"), problems);
        for name in only.iter().chain(&except) {
            if !known.contains(name.as_str()) {
                problems.push(Problem::new(
                    &at,
                    format!(
                        "only/except names {name:?}, which is no build{}",
                        did_you_mean(name, builds.iter().copied())
                    ),
                ));
            }
        }
        let mut overrides = BTreeMap::new();
        match map.get("override") {
            None => {}
            Some(Value::Object(o)) => {
                for (name, v) in o {
                    if !known.contains(name.as_str()) {
                        problems.push(Problem::new(format!("{at}.override.{name}"), "names no build"));
                    }
                    match v {
                        Value::Object(m) => {
                            overrides.insert(name.clone(), m.clone());
                        }
                        _ => problems.push(Problem::new(format!("{at}.override.{name}"), "must be an object")),
                    }
                }
            }
            Some(_) => problems.push(Problem::new(format!("{at}.override"), "must be an object keyed by build name")),
        }
        let max_retries = match map.get("max_retries").map(|v| weak_string(v).and_then(|s| s.parse::<u32>().ok())) {
            None => 0,
            Some(Some(n)) => n,
            Some(None) => {
                problems.push(Problem::new(format!("{at}.max_retries"), "must be a whole number"));
                0
            }
        };
        let pause_before = duration_field(map, "pause_before", &at, problems);
        let timeout = duration_field(map, "timeout", &at, problems);
        let config: Map<String, Value> =
            without_comments(map).into_iter().filter(|(k, _)| !PROVISIONER_COMMON.contains(&k.as_str())).collect();
        out.push(ProvisionerDef {
            path: at.clone(),
            provisioner_type,
            only,
            except,
            overrides,
            pause_before,
            max_retries,
            timeout,
            config,
        });
    }
    out
}

fn post_processors(value: Option<&Value>, problems: &mut Vec<Problem>) -> Vec<Vec<PostProcessorDef>> {
    let items = match value {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(items)) => items,
        Some(_) => {
            problems.push(Problem::new("post-processors", "must be a list"));
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("post-processors[{i}]");
        let sequence: Vec<(String, &Value)> = match item {
            Value::Array(seq) => seq.iter().enumerate().map(|(j, v)| (format!("{at}[{j}]"), v)).collect(),
            other => vec![(at.clone(), other)],
        };
        let mut chain = Vec::new();
        for (at, v) in sequence {
            let map = match v {
                Value::String(t) => {
                    let mut m = Map::new();
                    m.insert("type".into(), Value::String(t.clone()));
                    m
                }
                Value::Object(m) => m.clone(),
                _ => {
                    problems.push(Problem::new(&at, "must be a type name, an object, or a list of those"));
                    continue;
                }
            };
            let Some(pp_type) = required_type(&map, &at, problems) else { continue };
            if !POST_PROCESSOR_TYPES.contains(&pp_type.as_str()) {
                problems.push(Problem::new(
                    format!("{at}.type"),
                    format!(
                        "unknown post-processor type {pp_type:?} (available: {}){}",
                        POST_PROCESSOR_TYPES.join(", "),
                        did_you_mean(&pp_type, POST_PROCESSOR_TYPES.iter().copied())
                    ),
                ));
            }
            let only = string_list(map.get("only"), &format!("{at}.only"), problems);
            let except = string_list(map.get("except"), &format!("{at}.except"), problems);
            let keep_input_artifact = match map.get("keep_input_artifact") {
                None => None,
                Some(v) => match weak_string(v).as_deref() {
                    Some("true" | "1") => Some(true),
                    Some("false" | "0") => Some(false),
                    _ => {
                        problems.push(Problem::new(format!("{at}.keep_input_artifact"), "must be true or false"));
                        None
                    }
                },
            };
            let config = without_comments(&map)
                .into_iter()
                .filter(|(k, _)| !POST_PROCESSOR_COMMON.contains(&k.as_str()))
                .collect();
            chain.push(PostProcessorDef { at, pp_type, only, except, keep_input_artifact, config });
        }
        out.push(chain);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Loads `root` from a file of its own.
    fn load_json(root: Value) -> Result<Template, TemplateError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("template.json");
        std::fs::write(&path, root.to_string()).unwrap();
        load(&path, &Overrides::default())
    }

    fn problems(result: Result<Template, TemplateError>) -> Vec<String> {
        match result {
            Err(TemplateError::Invalid { problems, .. }) => problems.iter().map(ToString::to_string).collect(),
            other => panic!("expected an invalid template, got {other:?}"),
        }
    }

    #[test]
    fn defaults_resolve_whatever_order_they_are_declared_in() {
        let template = load_json(json!({
            "variables": {
                "a": "{{user `b`}}-a",
                "b": "{{user `c`}}-b",
                "c": "{{user `secret`}}",
                "secret": "s3",
                "plain": "p"
            },
            "sensitive-variables": ["secret"],
            "builders": [{"type": "null"}]
        }))
        .unwrap();
        assert_eq!(template.variables["a"], "s3-b-a");
        // Made from a sensitive value, all down the chain.
        assert_eq!(template.sensitive, ["a", "b", "c", "secret"].map(String::from).into());
    }

    #[test]
    fn a_cycle_names_only_the_variables_caught_in_it() {
        let found = problems(load_json(json!({
            "variables": {"a": "{{user `b`}}", "ok": "{{user `base`}}", "b": "{{user `a`}}", "base": "x"},
            "builders": [{"type": "null"}]
        })));
        assert_eq!(found, ["variables: variables refer to each other in a cycle: a, b"]);
    }

    #[test]
    fn a_default_reading_a_broken_one_is_reported_after_it() {
        let found = problems(load_json(json!({
            "variables": {"reader": "{{user `broken`}}", "broken": "{{nope}}"},
            "builders": [{"type": "null"}]
        })));
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].starts_with("variables.broken: "), "{found:?}");
        assert_eq!(
            found[1],
            "variables.reader: its default reads \"broken\", which has no value (see the problem with \"broken\")"
        );
    }

    /// Variables that read, directly or not, a required variable, and one
    /// cycle beside them.
    fn reading_a_required_variable() -> Value {
        json!({
            "variables": {
                "req": null,
                "d": "{{user `req`}}-x",
                "e": "{{user `d`}}-y",
                "a": "{{user `b`}}",
                "b": "{{user `a`}}",
                "ok": "fine"
            },
            "builders": [{"type": "null"}]
        })
    }

    #[test]
    fn a_default_reading_an_unset_variable_says_so_and_is_no_cycle() {
        let found = problems(load_json(reading_a_required_variable()));
        assert_eq!(
            found,
            [
                "variables.req: required variable \"req\" is not set; pass -var 'req=VALUE' or put it in a -var-file",
                "variables.d: its default reads \"req\", which has no value (see the problem with \"req\")",
                "variables.e: its default reads \"d\", which has no value (see the problem with \"d\")",
                "variables: variables refer to each other in a cycle: a, b",
            ]
        );
    }

    #[test]
    fn allow_unset_leaves_unset_what_reads_an_unset_variable() {
        let mut root = reading_a_required_variable();
        root["variables"].as_object_mut().unwrap().retain(|name, _| !["a", "b"].contains(&name.as_str()));
        let overrides = Overrides { allow_unset: true, ..Overrides::default() };
        let template = from_text(Path::new("t.json"), &root.to_string(), &overrides).unwrap();
        assert_eq!(template.unset, ["req", "d", "e"]);
        assert_eq!(template.variables.keys().collect::<Vec<_>>(), ["ok"]);
    }

    #[test]
    fn builder_names_must_be_unique() {
        let found = problems(load_json(json!({
            "builders": [{"type": "null"}, {"type": "null", "name": "other"}, {"type": "null"}]
        })));
        assert_eq!(
            found,
            ["builders[2]: another builder is already named \"null\"; give each builder a unique \"name\""]
        );
    }
}
