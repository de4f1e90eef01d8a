//! From a builder section to an instance ready to `run`: interpolate the
//! section for this build, take the communicator settings out, decode the
//! rest against the builder's fields, turn secrets into handles, call
//! `prepare`, and set the egress policy from its answer.

use super::{OnError, Run};
use crate::caps::Caps;
use crate::caps::http::{self, Policy};
use crate::plugin::instance::GuestConfig;
use crate::plugin::{self, Instance};
use crate::postprocess::{self, BuildInfo};
use crate::provision::Provisioning;
use crate::template::render::{self, Scope};
use crate::template::{BuilderDef, Problem, communicator, decode, did_you_mean};
use std::sync::Arc;
use tracing::Instrument;

/// A build ready to run.
pub struct Prepared {
    /// The instance, its egress policy set.
    pub instance: Instance,
    /// The configuration to `run` with.
    pub config: GuestConfig,
    /// The builder's warnings.
    pub warnings: Vec<String>,
}

/// Prepares build `def` (number `index` in this run). With `for_run`, the
/// build's provisioners are attached to its hook.
pub async fn prepare(run: &Run, def: &BuilderDef, index: usize, for_run: bool) -> Result<Prepared, Vec<Problem>> {
    let span = tracing::info_span!("prepare", build = %def.name, builder = %def.builder_type);
    prepare_in_span(run, def, index, for_run).instrument(span).await
}

async fn prepare_in_span(run: &Run, def: &BuilderDef, index: usize, for_run: bool) -> Result<Prepared, Vec<Problem>> {
    let at = def.at();
    let Some(plugin) = run.registry.find(&def.builder_type) else {
        let known = run.registry.builder_types();
        let mut message = format!(
            "unknown builder type {:?} (available: {}){}",
            def.builder_type,
            known.join(", "),
            did_you_mean(&def.builder_type, known.iter().map(String::as_str))
        );
        if !run.registry.failures.is_empty() {
            message.push_str("; a plugin file failed to load, see the warning above");
        }
        return Err(vec![Problem::new(format!("{at}.type"), message)]);
    };
    let description = &plugin.description;
    let scope =
        Scope { template: &run.template, build_name: &def.name, build_type: &def.builder_type, build_data: None };
    let rendered = render::render(&def.config, &scope, &at)?;
    let mut section = rendered.map;
    let field_names: Vec<&str> = description.fields.iter().map(|f| f.name.as_str()).collect();
    let refused = communicator::refuse_sensitive(&rendered.sensitive, &field_names, &at);
    let comm = communicator::extract(&mut section, description.uses_communicator, &field_names, &def.builder_type, &at)
        .map_err(|mut problems| {
            problems.splice(0..0, refused.iter().cloned());
            problems
        })?;
    if !refused.is_empty() {
        return Err(refused);
    }
    let fields = plugin::fields(description);
    decode::apply_env_fallbacks(&mut section, &fields, &run.options.environment);
    let redactor = run.ui.redactor();
    for value in &comm.credentials {
        redactor.add(value);
    }
    // Before decoding: a problem in another field may quote a secret
    // field's value (a variable reused in a boolean, say).
    for field in fields.iter().filter(|f| f.secret) {
        if let Some(serde_json::Value::String(value)) = section.get(&field.name) {
            redactor.add(value);
        }
    }
    let decoded = decode::decode(&section, &rendered.sensitive, &fields, &def.builder_type, &at)?;
    for (_, value) in &decoded.secrets {
        redactor.add(value);
    }
    let ui = run.ui.for_build(index, &def.name);
    let provisioning = Provisioning::new(&run.template, &def.name, &def.builder_type, ui.clone());
    let mut problems = provisioning.check(description.uses_communicator.then_some(&comm.config));
    let info = BuildInfo { name: &def.name, builder_type: &def.builder_type, run_uuid: &run.run_uuid };
    problems.extend(postprocess::check(&run.template, &info));
    let config = GuestConfig {
        builder_type: def.builder_type.clone(),
        build_name: def.name.clone(),
        json: serde_json::Value::Object(decoded.json).to_string(),
        secrets: decoded.secrets,
        communicator: comm.config.clone(),
        communicator_chosen: comm.winrm_fallback.is_none(),
        keep_on_error: run.options.on_error == OnError::Abort,
        force: run.options.force,
    };
    let caps = Caps {
        build_name: def.name.clone(),
        ui,
        redactor: redactor.clone(),
        cancel: run.cancel.for_build(),
        egress: Policy::default(),
        http: http::Config::default(),
        transport: run.transport.clone(),
        limits: run.options.limits.clone(),
        provisioning: for_run.then(|| Arc::new(provisioning)),
        // A builder that declared no communicator gets none to connect with.
        communicator: description.uses_communicator.then_some(comm.config),
        winrm_fallback: comm.winrm_fallback.filter(|_| description.uses_communicator),
        redirect: run.redirect.clone(),
    };
    let mut instance = Instance::new(&plugin, caps).await.map_err(|e| vec![Problem::new(&at, e.to_string())])?;
    let prepared = match instance.prepare(&config).await {
        Err(failure) => return Err(vec![Problem::new(&at, failure.to_string())]),
        Ok(Err(field_errors)) => {
            problems.extend(field_errors.into_iter().map(|e| {
                let path = e.pointer.trim_start_matches('/').replace('/', ".");
                let place = if path.is_empty() { at.clone() } else { format!("{at}.{path}") };
                Problem::new(place, e.message)
            }));
            return Err(problems);
        }
        Ok(Ok(prepared)) => prepared,
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    let policy = Policy::new(&def.name, &prepared.egress, &description.egress, &run.options.allow_hosts)
        .map_err(|e| vec![Problem::new(&at, format!("builder {}: {e}", plugin.source))])?;
    instance.caps().egress = policy;
    Ok(Prepared { instance, config, warnings: prepared.warnings })
}
