//! The debug log: `KILN_LOG` is a tracing filter; `--log-file` sends the
//! log to a file (default filter `debug`) while the console stays clean;
//! without it, `KILN_LOG` logs to stderr. Every line is redacted. A
//! stderr that cannot be written is a lost stream like any other (see
//! [`crate::ui::output`]), never a panic.

use crate::caps::secrets::Redactor;
use crate::ui::output::{self, Stream};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Sets up the log.
pub fn init(file: Option<&Path>, redactor: Redactor) -> anyhow::Result<()> {
    let filter = std::env::var("KILN_LOG").ok();
    let sink: Box<dyn Write + Send> = match (file, &filter) {
        // The log is redacted, but still says more than the console:
        // created private to the user.
        (Some(path), _) => Box::new(
            crate::private_file::append(path)
                .map_err(|e| anyhow::anyhow!("cannot open the log file {}: {e}", path.display()))?,
        ),
        (None, Some(_)) => Box::new(Stderr),
        (None, None) => return Ok(()),
    };
    let filter = EnvFilter::try_new(filter.as_deref().unwrap_or("debug"))
        .map_err(|e| anyhow::anyhow!("KILN_LOG is not a valid filter: {e}"))?;
    let writer = RedactingWriter { sink: Arc::new(Mutex::new(sink)), redactor };
    // Internal errors are reported with `eprintln!`, which panics when
    // stderr is gone: a failed write is the writer's to handle.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .log_internal_errors(false)
        .init();
    Ok(())
}

/// Standard error through [`output`], so that losing it follows the
/// command's choice.
struct Stderr;

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match output::write(Stream::Stderr, &String::from_utf8_lossy(buf)) {
            true => Ok(buf.len()),
            false => Err(std::io::Error::other("standard error is lost")),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[derive(Clone)]
struct RedactingWriter {
    sink: Arc<Mutex<Box<dyn Write + Send>>>,
    redactor: Redactor,
}

impl Write for RedactingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = self.redactor.redact(&String::from_utf8_lossy(buf));
        let mut sink = self.sink.lock().unwrap_or_else(|e| e.into_inner());
        sink.write_all(text.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.sink.lock().unwrap_or_else(|e| e.into_inner()).flush()
    }
}

impl<'a> MakeWriter<'a> for RedactingWriter {
    type Writer = RedactingWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
