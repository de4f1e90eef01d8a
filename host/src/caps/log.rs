//! `kiln:plugin/log`: a builder's diagnostics into tracing, its messages
//! onto the console. Both are redacted.

use crate::plugin::HostState;
use crate::plugin::bindings::log::{Host, Level};

impl Host for HostState {
    async fn event(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        let message = self.caps.redactor.redact(&message);
        let build = self.caps.build_name.as_str();
        match level {
            Level::Trace => tracing::trace!(build, "{message}"),
            Level::Debug => tracing::debug!(build, "{message}"),
            Level::Info => tracing::info!(build, "{message}"),
            Level::Warn => tracing::warn!(build, "{message}"),
            Level::Error => tracing::error!(build, "{message}"),
        }
        Ok(())
    }

    async fn say(&mut self, message: String) -> wasmtime::Result<()> {
        self.caps.ui.say(&message);
        Ok(())
    }

    async fn message(&mut self, message: String) -> wasmtime::Result<()> {
        self.caps.ui.message(&message);
        Ok(())
    }

    async fn error(&mut self, message: String) -> wasmtime::Result<()> {
        self.caps.ui.error(&message);
        Ok(())
    }
}
