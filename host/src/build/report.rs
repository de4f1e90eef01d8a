//! The end of a run, as Packer words it: each build's finish line, the
//! errors, the artifacts; and the same in `-machine-readable` records.

use crate::duration::human;
use crate::plugin::bindings::types::Artifact;
use crate::ui::Ui;
use std::time::Duration;

/// How one build ended.
#[derive(Debug)]
pub enum Status {
    /// It produced an artifact.
    Succeeded(Artifact),
    /// It failed; the message says why.
    Failed(String),
    /// It was cancelled.
    Cancelled,
}

/// One build's end.
#[derive(Debug)]
pub struct Outcome {
    /// The build's name.
    pub name: String,
    /// Its builder type.
    pub builder_type: String,
    /// How it ended.
    pub status: Status,
    /// How long it took.
    pub elapsed: Duration,
}

impl Outcome {
    /// A build that could not even be followed (a host bug).
    pub fn internal(message: String) -> Self {
        Outcome { name: "?".into(), builder_type: "?".into(), status: Status::Failed(message), elapsed: Duration::ZERO }
    }
}

/// Prints each build's end and the summary.
pub fn report(ui: &Ui, outcomes: &[Outcome], elapsed: Duration) {
    for o in outcomes {
        match &o.status {
            Status::Succeeded(_) => ui.say(&format!("Build '{}' finished after {}.", o.name, human(o.elapsed))),
            Status::Failed(e) => ui.error(&format!("Build '{}' errored after {}: {e}", o.name, human(o.elapsed))),
            Status::Cancelled => ui.error(&format!("Build '{}' was cancelled after {}.", o.name, human(o.elapsed))),
        }
    }
    ui.say(&format!("\n==> Wait completed after {}", human(elapsed)));
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| !matches!(o.status, Status::Succeeded(_))).collect();
    if !failed.is_empty() {
        ui.error("\n==> Some builds didn't complete successfully and had errors:");
        for o in &failed {
            let text = match &o.status {
                Status::Failed(e) => e.clone(),
                _ => "Build was cancelled.".to_string(),
            };
            ui.error(&format!("--> {}: {text}", o.name));
            ui.machine(&o.name, "error", &[&text]);
        }
        ui.machine("", "error-count", &[&failed.len().to_string()]);
    }
    let artifacts: Vec<(&Outcome, &Artifact)> = outcomes
        .iter()
        .filter_map(|o| if let Status::Succeeded(a) = &o.status { Some((o, a)) } else { None })
        .collect();
    if artifacts.is_empty() {
        ui.say("\n==> Builds finished but no artifacts were created.");
        return;
    }
    ui.say("\n==> Builds finished. The artifacts of successful builds are:");
    for (o, a) in artifacts {
        ui.say(&format!("--> {}: {}", o.name, a.description));
        ui.machine(&o.name, "artifact-count", &["1"]);
        ui.machine(&o.name, "artifact", &["0", "builder-id", &a.builder_id]);
        ui.machine(&o.name, "artifact", &["0", "id", &a.id]);
        ui.machine(&o.name, "artifact", &["0", "string", &a.description]);
        ui.machine(&o.name, "artifact", &["0", "files-count", &a.files.len().to_string()]);
        for (i, f) in a.files.iter().enumerate() {
            ui.machine(&o.name, "artifact", &["0", "file", &i.to_string(), f]);
        }
        ui.machine(&o.name, "artifact", &["0", "end"]);
    }
}
