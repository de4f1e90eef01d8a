//! A guest's stdout and stderr: each line goes to the debug log,
//! attributed to the plugin and build, and the end of stderr is kept so
//! that a panic message can be shown when the guest traps.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// How much of stderr is kept for error messages.
const TAIL_BYTES: usize = 8 << 10;

/// One of a guest's output streams.
#[derive(Clone)]
pub struct GuestOutput {
    inner: Arc<Mutex<Lines>>,
}

struct Lines {
    source: String,
    stream: &'static str,
    partial: Vec<u8>,
    tail: Vec<u8>,
}

impl GuestOutput {
    /// A stream named `stream` (`stdout`, `stderr`) of `source`.
    pub fn new(source: &str, stream: &'static str) -> Self {
        GuestOutput {
            inner: Arc::new(Mutex::new(Lines {
                source: source.to_string(),
                stream,
                partial: Vec::new(),
                tail: Vec::new(),
            })),
        }
    }

    /// The last few KiB written, as text.
    pub fn tail(&self) -> String {
        let lines = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut all = lines.tail.clone();
        all.extend_from_slice(&lines.partial);
        String::from_utf8_lossy(&all).trim().to_string()
    }

    fn write(&self, bytes: &[u8]) {
        let mut lines = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        lines.partial.extend_from_slice(bytes);
        while let Some(end) = lines.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = lines.partial.drain(..=end).collect();
            let text = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
            tracing::info!(plugin = %lines.source, stream = lines.stream, "{text}");
            lines.tail.extend_from_slice(&line);
            let excess = lines.tail.len().saturating_sub(TAIL_BYTES);
            lines.tail.drain(..excess);
        }
    }
}

impl AsyncWrite for GuestOutput {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.write(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }

    // Written synchronously (no background task), so a panic message is
    // complete by the time the trap reaches the host.
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for GuestOutput {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        GuestOutput::write(self, &bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 << 10)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for GuestOutput {
    async fn ready(&mut self) {}
}
