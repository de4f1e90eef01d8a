//! A local HTTP server that answers the `test-scenarios` guest's requests
//! and records each one, in order.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Longest `/slow` holds its answer when the test does not end first: a
/// bound, so a client that never gives up cannot keep the thread forever.
const SLOW_HOLD_LIMIT: Duration = Duration::from_secs(60);

/// One request the server received.
#[derive(Clone, Debug)]
pub struct Seen {
    /// `GET`, `POST`...
    pub method: String,
    /// The path.
    pub path: String,
    /// Headers, names lower-case.
    pub headers: Vec<(String, String)>,
}

/// A local HTTP server that answers the scenarios' requests and reports
/// each one, in order, on a channel. `GET /slow` answers only once the
/// server is dropped (the test is over), so any client timeout fires first;
/// so does every `DELETE` of a server [started holding
/// deletes](Server::holding_deletes): a cloud whose delete never answers.
pub struct Server {
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// Every request so far.
    pub seen: Arc<Mutex<Vec<Seen>>>,
    events: mpsc::Receiver<Seen>,
    /// Dropped with the server, which releases a held `/slow` answer.
    _test_running: mpsc::Sender<()>,
}

impl Server {
    /// Starts the server on a free loopback port.
    ///
    /// Panics when no loopback port can be bound.
    pub fn start() -> Self {
        Self::start_with(false)
    }

    /// Starts a server like [`Server::start`]'s, except that no `DELETE` is
    /// answered while the test runs: an undo that hangs.
    ///
    /// Panics when no loopback port can be bound.
    pub fn holding_deletes() -> Self {
        Self::start_with(true)
    }

    fn start_with(hold_deletes: bool) -> Self {
        let server = tiny_http::Server::http("127.0.0.1:0").expect("bind");
        let addr = server.server_addr().to_ip().unwrap().to_string();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (tx, events) = mpsc::channel();
        let (test_running, test_over) = mpsc::channel::<()>();
        let log = seen.clone();
        let mut ready_polls = 0;
        std::thread::spawn(move || {
            for request in server.incoming_requests() {
                let entry = Seen {
                    method: request.method().to_string(),
                    path: request.url().to_string(),
                    headers: request
                        .headers()
                        .iter()
                        .map(|h| (h.field.as_str().as_str().to_ascii_lowercase(), h.value.as_str().to_string()))
                        .collect(),
                };
                log.lock().unwrap().push(entry.clone());
                let _ = tx.send(entry.clone());
                let token =
                    entry.headers.iter().find(|(k, _)| k == "x-token").map(|(_, v)| v.clone()).unwrap_or_default();
                let body = match (entry.method.as_str(), entry.path.as_str()) {
                    ("GET", "/hello") => {
                        serde_json::json!({"echo": token, "password": "generated-pw-8731"}).to_string()
                    }
                    // Ready on the third look, like a cloud resource.
                    ("GET", "/ready") => {
                        ready_polls += 1;
                        serde_json::json!({"ready": ready_polls >= 3}).to_string()
                    }
                    ("GET", "/never") => serde_json::json!({"ready": false}).to_string(),
                    // Nothing is ever sent on the channel: these return
                    // when the test drops the server (or at the bound).
                    ("GET", "/slow") => {
                        let _ = test_over.recv_timeout(SLOW_HOLD_LIMIT);
                        "{}".to_string()
                    }
                    ("DELETE", _) if hold_deletes => {
                        let _ = test_over.recv_timeout(SLOW_HOLD_LIMIT);
                        "{}".to_string()
                    }
                    // One byte over the host's 32 MiB cap.
                    ("GET", "/big") => "x".repeat((32 << 20) + 1),
                    _ => "{}".to_string(),
                };
                let _ = request.respond(tiny_http::Response::from_string(body));
            }
        });
        Server { addr, seen, events, _test_running: test_running }
    }

    /// Waits for the next request (at most `limit`).
    ///
    /// Panics when none comes in time.
    pub fn next(&self, limit: Duration) -> Seen {
        self.events.recv_timeout(limit).expect("the server got no request in time")
    }

    /// Method and path of every request so far.
    pub fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap().iter().map(|s| format!("{} {}", s.method, s.path)).collect()
    }
}
