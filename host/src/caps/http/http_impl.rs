//! `kiln:plugin/http` for a build's store: policy first, then secrets are
//! put in, then the transport sends, with a grace period on cancellation.

use super::transport::Outgoing;
use crate::caps::secrets::assemble;
use crate::plugin::HostState;
use crate::plugin::bindings::http::{Error, HeaderValue, Host, Request, Response};
use crate::plugin::bindings::secrets::Piece;
use url::Url;

/// Headers only the host may set.
const RESERVED_HEADERS: &[&str] = &["host", "content-length", "transfer-encoding", "connection"];

impl Host for HostState {
    async fn send(&mut self, request: Request) -> wasmtime::Result<Result<Response, Error>> {
        self.send_request(request).await
    }

    async fn send_assembled(
        &mut self,
        mut request: Request,
        body: Vec<Piece>,
    ) -> wasmtime::Result<Result<Response, Error>> {
        if !request.body.is_empty() {
            return Ok(Err(Error::InvalidRequest(
                "send-assembled takes its body from the pieces; request.body must be empty".into(),
            )));
        }
        // The egress list first, as the contract says: a denied request
        // must not have its secrets read.
        let url = match self.admit(&request.url) {
            Ok(url) => url,
            Err(e) => return Ok(Err(e)),
        };
        request.body = assemble(&self.table, &body, &self.caps.redactor)?;
        self.send_admitted(url, request).await
    }
}

impl HostState {
    /// `url` parsed and allowed by the build's egress list. Fails with
    /// `invalid-request` when it does not parse and `denied` when it is
    /// not allowed.
    fn admit(&self, url: &str) -> Result<Url, Error> {
        let url = Url::parse(url).map_err(|e| Error::InvalidRequest(format!("invalid URL {url:?}: {e}")))?;
        if let Err(denial) = self.caps.egress.check(&url) {
            tracing::warn!(build = %self.caps.build_name, host = %denial.target, "egress denied");
            return Err(Error::Denied(denial.to_string()));
        }
        Ok(url)
    }

    async fn send_request(&mut self, request: Request) -> wasmtime::Result<Result<Response, Error>> {
        match self.admit(&request.url) {
            Ok(url) => self.send_admitted(url, request).await,
            Err(e) => Ok(Err(e)),
        }
    }

    /// Sends `request` to `url`, which [`Self::admit`] allowed.
    async fn send_admitted(&mut self, url: Url, request: Request) -> wasmtime::Result<Result<Response, Error>> {
        let mut headers = Vec::with_capacity(request.headers.len());
        for header in request.headers {
            // The host derives these from the URL and body; a guest-chosen
            // Host could reach another virtual host behind an allowed address.
            if RESERVED_HEADERS.iter().any(|r| header.name.eq_ignore_ascii_case(r)) {
                return Ok(Err(Error::InvalidRequest(format!("the {} header is set by the host", header.name))));
            }
            let value = match header.value {
                HeaderValue::Text(text) => text.into_bytes(),
                HeaderValue::Secret(handle) => self.table.get(&handle)?.value.to_vec(),
            };
            headers.push((header.name, value));
        }
        let config = &self.caps.http;
        let timeout = request
            .timeout_ms
            .map(std::time::Duration::from_millis)
            .unwrap_or(config.default_timeout)
            .min(self.caps.limits.host_call_deadline);
        tracing::debug!(build = %self.caps.build_name, method = ?request.method, url = %self.caps.redactor.redact(url.as_str()), "http request");
        let outgoing = Outgoing {
            method: request.method,
            url,
            headers,
            body: request.body,
            timeout,
            max_body: config.max_response_bytes,
        };
        // A cancellation gives the request a grace period: its effect may
        // already have happened, and the builder needs the answer to undo it.
        let cancel = self.caps.cancel.clone();
        let transport = self.caps.transport.clone();
        let result = tokio::select! {
            result = transport.send(outgoing) => result,
            _ = async {
                cancel.run_cancelled().await;
                tokio::time::sleep(super::CANCEL_GRACE).await;
            } => Err(Error::Cancelled),
        };
        if let Ok(response) = &result {
            tracing::debug!(build = %self.caps.build_name, status = response.status, bytes = response.body.len(), "http response");
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::Caps;
    use crate::caps::cancel::RunCancel;
    use crate::caps::secrets::Redactor;
    use crate::plugin::bindings::http::Method;
    use crate::plugin::bindings::secrets::SecretPiece;
    use crate::plugin::output::GuestOutput;
    use crate::ui::{Ui, UiOptions};
    use wasmtime::component::Resource;

    /// A build's state whose egress list allows nothing.
    fn state() -> HostState {
        let ui = Ui::new(UiOptions::default(), Redactor::default());
        let caps =
            Caps::isolated("test", ui.for_build(0, "test"), ui.redactor().clone(), RunCancel::default().for_build());
        HostState::new(caps, GuestOutput::new("test", "stdout"), GuestOutput::new("test", "stderr"))
    }

    #[tokio::test]
    async fn send_assembled_checks_egress_before_reading_any_secret() {
        let mut state = state();
        let request = Request {
            method: Method::Post,
            url: "https://denied.example/".into(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout_ms: None,
        };
        // A handle the table does not hold: reading it would trap, so a
        // denial proves the secret was never looked at.
        let unread = SecretPiece { value: Resource::new_borrow(u32::MAX - 1), encodings: Vec::new() };
        let result = state.send_assembled(request, vec![Piece::Secret(unread)]).await.expect("no trap");
        assert!(matches!(result, Err(Error::Denied(_))), "{result:?}");
    }
}
