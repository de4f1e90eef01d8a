//! Post-processors: what happens to an artifact after its build. One
//! module per type; [`run_chain`] runs one `post-processors` entry.

pub mod manifest;

use crate::plugin::bindings::types::Artifact;
use crate::template::render::{self, Scope};
use crate::template::{PostProcessorDef, Problem, Template};
use crate::ui::BuildUi;

/// What a post-processor needs to know about the build.
pub struct BuildInfo<'a> {
    /// The build's name.
    pub name: &'a str,
    /// Its builder type.
    pub builder_type: &'a str,
    /// This run's id (the manifest's `packer_run_uuid`).
    pub run_uuid: &'a str,
}

/// Checks every post-processor's configuration for a build.
pub fn check(template: &Template, build: &BuildInfo<'_>) -> Vec<Problem> {
    let mut problems = Vec::new();
    for pp in template.post_processors.iter().flatten().filter(|p| p.applies_to(build.name)) {
        if let Err(mut e) = configure(template, pp, build) {
            problems.append(&mut e);
        }
    }
    problems
}

fn configure(
    template: &Template,
    pp: &PostProcessorDef,
    build: &BuildInfo<'_>,
) -> Result<manifest::Manifest, Vec<Problem>> {
    let scope = Scope { template, build_name: build.name, build_type: build.builder_type, build_data: None };
    let rendered = render::render(&pp.config, &scope, &pp.at)?;
    manifest::Manifest::from_config(&rendered.map, &rendered.sensitive, &pp.at, &template.pwd)
}

/// Runs every chain of the template that applies to the build on
/// `artifact`. Returns the first failure.
pub fn run_all(template: &Template, build: &BuildInfo<'_>, artifact: &Artifact, ui: &BuildUi) -> Result<(), String> {
    for chain in &template.post_processors {
        for pp in chain.iter().filter(|p| p.applies_to(build.name)) {
            ui.say(&format!("Running post-processor: {}", pp.pp_type));
            let manifest = configure(template, pp, build)
                .map_err(|p| p.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))?;
            manifest.write(build, artifact).map_err(|e| format!("post-processor {} ({}): {e}", pp.pp_type, pp.at))?;
        }
    }
    Ok(())
}
