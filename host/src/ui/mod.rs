//! Everything the user sees, in one place: Packer's human output
//! (`==> NAME: message`, a color per build on a terminal), its
//! `-machine-readable` lines, and kiln's own summary. Every text is redacted
//! here, on its way out, so no caller can leak a secret by forgetting to.

mod machine;
pub mod output;

use crate::caps::secrets::Redactor;
use output::Stream;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};

/// How output is shaped, chosen once from the command line.
#[derive(Clone, Debug, Default)]
pub struct UiOptions {
    /// Packer's `-machine-readable`: comma-separated lines, no colors.
    pub machine_readable: bool,
    /// `-color=false` turns colors off even on a terminal.
    pub no_color: bool,
    /// `-timestamp-ui`: prefix each human line with the time.
    pub timestamps: bool,
}

/// ANSI colors given to builds in order, as Packer does.
const BUILD_COLORS: &[&str] = &["32", "36", "35", "33", "34"];

/// The console. Cheap to clone; all clones write through one lock so lines
/// of parallel builds never interleave mid-line.
#[derive(Clone)]
pub struct Ui {
    inner: Arc<Inner>,
}

struct Inner {
    options: UiOptions,
    color: bool,
    redactor: Redactor,
    lock: Mutex<()>,
}

/// The kinds of line a build prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `==> name: text`
    Say,
    /// `    name: text`
    Message,
    /// `==> name: text` in red, on stderr.
    Error,
    /// `==> name: Warning: text` in yellow, on stderr.
    Warning,
}

/// The color of warnings on a terminal.
const WARNING_COLOR: &str = "33";

impl Ui {
    /// A console writing to stdout/stderr with `options`.
    pub fn new(options: UiOptions, redactor: Redactor) -> Self {
        let color = !options.no_color && !options.machine_readable && std::io::stdout().is_terminal();
        Ui { inner: Arc::new(Inner { options, color, redactor, lock: Mutex::new(()) }) }
    }

    /// The redactor this console applies.
    pub fn redactor(&self) -> &Redactor {
        &self.inner.redactor
    }

    /// Whether output is `-machine-readable`.
    pub fn machine_readable(&self) -> bool {
        self.inner.options.machine_readable
    }

    /// A handle that prints as build number `index` named `name`.
    pub fn for_build(&self, index: usize, name: &str) -> BuildUi {
        BuildUi { ui: self.clone(), name: name.to_string(), color: BUILD_COLORS[index % BUILD_COLORS.len()] }
    }

    /// A line of kiln's own (not a build's), e.g. `==> Builds finished.`
    pub fn say(&self, text: &str) {
        self.human(text, None, false);
        self.machine("", "ui", &["say", text]);
    }

    /// An error of kiln's own, on stderr.
    pub fn error(&self, text: &str) {
        self.human(text, Some("31"), true);
        self.machine("", "ui", &["error", text]);
    }

    /// A warning of kiln's own: `Warning: text` on stderr, so that a
    /// script reading stdout never takes it for output. In
    /// `-machine-readable` output it is the `ui,say` record Packer writes
    /// for a warning, on stdout with every other record, so that the
    /// stream stays one parseable sequence.
    pub fn warn(&self, text: &str) {
        let text = format!("Warning: {text}");
        self.human(&text, Some(WARNING_COLOR), true);
        self.machine("", "ui", &["say", &text]);
    }

    /// A raw machine-readable record (`target`, `type`, data...); nothing in
    /// human mode.
    pub fn machine(&self, target: &str, kind: &str, data: &[&str]) {
        if !self.inner.options.machine_readable {
            return;
        }
        let line = machine::line(target, kind, data, &self.inner.redactor);
        self.write(&line, false);
    }

    fn human(&self, text: &str, color: Option<&str>, stderr: bool) {
        if self.inner.options.machine_readable {
            return;
        }
        let text = self.inner.redactor.redact(text);
        let mut out = String::new();
        for line in text.split('\n') {
            if self.inner.options.timestamps {
                out.push_str(&chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ: ").to_string());
            }
            match color {
                Some(c) if self.inner.color => out.push_str(&format!("\x1b[1;{c}m{line}\x1b[0m\n")),
                _ => {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
        self.write(&out, stderr);
    }

    fn write(&self, text: &str, stderr: bool) {
        let _guard = self.inner.lock.lock().unwrap_or_else(|e| e.into_inner());
        // A closed stdout (`kiln build | head`) must not abort a build that
        // is creating cloud resources: `output` remembers the loss, or
        // stops the command, as the command chose.
        output::write(if stderr { Stream::Stderr } else { Stream::Stdout }, text);
    }

    /// An empty line on stdout, in human mode only (Packer's spacing).
    pub fn blank(&self) {
        if !self.inner.options.machine_readable {
            self.write("\n", false);
        }
    }
}

/// The console as seen by one build: every line carries its name and color.
#[derive(Clone)]
pub struct BuildUi {
    ui: Ui,
    name: String,
    color: &'static str,
}

impl BuildUi {
    /// Prints `text` as `kind`.
    pub fn line(&self, kind: Kind, text: &str) {
        let (prefix, color, stderr, mr) = match kind {
            Kind::Say => ("==> ", Some(self.color), false, "say"),
            Kind::Message => ("    ", None, false, "message"),
            Kind::Error => ("==> ", Some("31"), true, "error"),
            // Packer writes a build's warnings as `say` records.
            Kind::Warning => ("==> ", Some(WARNING_COLOR), true, "say"),
        };
        let text = match kind {
            Kind::Warning => format!("Warning: {text}"),
            _ => text.to_string(),
        };
        let human: String =
            text.split('\n').map(|l| format!("{prefix}{}: {l}", self.name)).collect::<Vec<_>>().join("\n");
        // Messages are plain in Packer but still take the build's color.
        self.ui.human(&human, color.or(Some(self.color)), stderr);
        self.ui.machine(&self.name, "ui", &[mr, &human]);
    }

    /// `==> name: text`
    pub fn say(&self, text: &str) {
        self.line(Kind::Say, text);
    }

    /// `    name: text`
    pub fn message(&self, text: &str) {
        self.line(Kind::Message, text);
    }

    /// `==> name: text` in red.
    pub fn error(&self, text: &str) {
        self.line(Kind::Error, text);
    }

    /// `==> name: Warning: text`, on stderr (see [`Ui::warn`]).
    pub fn warn(&self, text: &str) {
        self.line(Kind::Warning, text);
    }

    /// The first line Packer prints for a build.
    pub fn announce(&self) {
        self.ui.human(&format!("{}: output will be in this color.", self.name), Some(self.color), false);
    }

    /// A progress bar for a transfer of `total` bytes, on a terminal only:
    /// in CI logs and `-machine-readable` output a bar is noise.
    pub fn progress(&self, label: &str, total: u64) -> Option<indicatif::ProgressBar> {
        if !self.ui.inner.color || !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = indicatif::ProgressBar::new(total);
        let style = indicatif::ProgressStyle::with_template(&format!(
            "    {}: {{msg}} [{{bar:30}}] {{bytes}}/{{total_bytes}} {{bytes_per_sec}}",
            self.name
        ))
        .ok()?;
        bar.set_style(style.progress_chars("=> "));
        bar.set_message(label.to_string());
        Some(bar)
    }

    /// A plain line in the build's color (e.g. `Build 'x' finished`).
    pub fn plain(&self, text: &str) {
        self.ui.human(text, Some(self.color), false);
    }
}
