//! The provisioners the host runs for a build when its builder calls the
//! `hook`, with Packer's common options: `only`/`except` and `override`
//! (applied when the plan is made), `pause_before`, `max_retries`,
//! `timeout`. Each provisioner type is one module.

pub mod shell_local;

use crate::caps::cancel::BuildCancel;
use crate::plugin::bindings::hook::Error as HookError;
use crate::template::interpolate;
use crate::template::render::{self, Scope};
use crate::template::{Problem, ProvisionerDef, Template};
use crate::ui::BuildUi;
use std::collections::BTreeMap;
use std::time::Duration;

/// Keys the template engine must leave alone: they are templates of their
/// own, filled in when the provisioner runs (`{{.Vars}} {{.Script}}`).
const LATE_KEYS: &[&str] = &["execute_command"];

/// The provisioners of one build, in order, and how to run them.
pub struct Provisioning {
    template: Template,
    build_name: String,
    build_type: String,
    provisioners: Vec<ProvisionerDef>,
    ui: BuildUi,
}

impl Provisioning {
    /// The plan for build `build_name` of type `build_type`.
    pub fn new(template: &Template, build_name: &str, build_type: &str, ui: BuildUi) -> Self {
        Provisioning {
            template: template.clone(),
            build_name: build_name.into(),
            build_type: build_type.into(),
            provisioners: template.provisioners.iter().filter(|p| p.applies_to(build_name)).cloned().collect(),
            ui,
        }
    }

    /// Checks every provisioner's configuration for this build, without
    /// running anything (for `kiln validate` and before a build starts).
    pub fn check(&self) -> Vec<Problem> {
        let data = BTreeMap::new();
        let mut problems = Vec::new();
        for p in &self.provisioners {
            match self.configure(p, &data) {
                Ok(_) => {}
                Err(mut e) => problems.append(&mut e),
            }
        }
        problems
    }

    fn configure(
        &self,
        def: &ProvisionerDef,
        data: &BTreeMap<String, String>,
    ) -> Result<shell_local::ShellLocal, Vec<Problem>> {
        let mut config = def.config_for(&self.build_name);
        let late: Vec<(String, serde_json::Value)> =
            LATE_KEYS.iter().filter_map(|k| config.remove(*k).map(|v| (k.to_string(), v))).collect();
        let scope = Scope {
            template: &self.template,
            build_name: &self.build_name,
            build_type: &self.build_type,
            build_data: Some(data),
        };
        let mut rendered = render::render(&config, &scope, &def.at())?.map;
        rendered.extend(late);
        // Relative script paths are taken from the working directory, as
        // Packer does ({{template_dir}} is there for the other case).
        shell_local::ShellLocal::from_config(&rendered, &def.at(), &self.template.pwd)
    }

    /// Runs the provisioners in order. `has_session` says whether the
    /// builder gave a connection (shell-local needs none).
    pub async fn run(
        &self,
        _has_session: bool,
        data: BTreeMap<String, String>,
        cancel: &BuildCancel,
    ) -> Result<(), HookError> {
        for def in &self.provisioners {
            let provisioner = self.configure(def, &data).map_err(|problems| {
                HookError::Failed(problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))
            })?;
            if let Some(pause) = def.pause_before {
                self.ui.say(&format!("Pausing {} before the next provisioner...", human(pause)));
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = cancel.interrupted() => return Err(HookError::Cancelled),
                }
            }
            let render = |text: &str, fields: &BTreeMap<String, String>| self.render(text, fields, &data);
            let mut attempt = 0;
            loop {
                let env = shell_local::BuildEnv {
                    build_name: &self.build_name,
                    build_type: &self.build_type,
                    render: &render,
                };
                let run = provisioner.run(&self.ui, &env);
                let outcome = tokio::select! {
                    r = with_timeout(def.timeout, run) => r,
                    _ = cancel.interrupted() => return Err(HookError::Cancelled),
                };
                match outcome {
                    Ok(()) => break,
                    Err(message) if attempt < def.max_retries => {
                        attempt += 1;
                        self.ui
                            .error(&format!("Provisioner failed: {message}; retrying ({attempt}/{})", def.max_retries));
                    }
                    Err(message) => {
                        return Err(HookError::Failed(format!(
                            "{} ({}) failed: {message}",
                            def.provisioner_type,
                            def.at()
                        )));
                    }
                }
            }
        }
        Ok(())
    }
}

impl Provisioning {
    /// Renders a late template (`execute_command`) with the build's context.
    fn render(
        &self,
        text: &str,
        fields: &BTreeMap<String, String>,
        data: &BTreeMap<String, String>,
    ) -> Result<String, String> {
        let t = &self.template;
        let ctx = interpolate::Context {
            variables: &t.variables,
            sensitive: &t.sensitive,
            in_variables: false,
            build_name: Some(&self.build_name),
            build_type: Some(&self.build_type),
            template_dir: &t.dir,
            pwd: &t.pwd,
            started: t.started,
            fields,
            build_data: Some(data),
        };
        interpolate::render(text, &ctx).map(|r| r.text).map_err(|e| e.to_string())
    }
}

async fn with_timeout(timeout: Option<Duration>, run: impl Future<Output = Result<(), String>>) -> Result<(), String> {
    match timeout {
        None => run.await,
        Some(limit) => {
            tokio::time::timeout(limit, run).await.unwrap_or_else(|_| Err(format!("timed out after {}", human(limit))))
        }
    }
}

/// A duration as people write it: `1m30s`, `250ms`.
pub fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let s = d.as_secs();
    let (h, m, s) = (s / 3600, (s / 60) % 60, s % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}
