//! A test-only builder whose `scenario` field picks one behaviour: a
//! sandbox escape attempt, an HTTP call, a runaway loop, a panic... Each is a
//! test case in `tests/all/`; none is a real builder.

use kiln_guest::Guest;
use kiln_guest::config::field_error;
use kiln_guest::http::Request;
use kiln_guest::poll::{self, Backoff, PollError};
use kiln_guest::secrets::{self, HashAlgorithm};
use kiln_guest::steps::{self, Outcome, Step, StepError};
use kiln_guest::types::{
    Artifact, BuildError, CloudResource, Config as HostConfig, Description, DestroyError, Field, FieldError, FieldKind,
    Prepared,
};
use kiln_guest::{Config, communicator, ledger, timer, ui};

struct Scenarios;

fn field(name: &str, kind: FieldKind, required: bool, secret: bool, doc: &str) -> Field {
    Field { name: name.into(), kind, required, secret, doc: doc.into(), env: Vec::new(), max_length: None }
}

impl Guest for Scenarios {
    fn describe() -> Description {
        Description {
            builder_types: vec!["test-scenarios".into()],
            version: env!("CARGO_PKG_VERSION").into(),
            fields: vec![
                field("scenario", FieldKind::String, true, false, "Which behaviour to exhibit."),
                field("endpoint", FieldKind::String, false, false, "host:port of the test HTTP server."),
                field("url", FieldKind::String, false, false, "A URL to request in the http-denied scenario."),
                field("token", FieldKind::String, false, true, "A secret sent as a header and used to sign."),
                field("wait", FieldKind::Duration, false, false, "How long the steps scenario waits."),
                field("count", FieldKind::Integer, false, false, "A number, to test weak typing."),
                field("enabled", FieldKind::Boolean, false, false, "A boolean, to test weak typing."),
            ],
            egress: vec!["{endpoint}".into()],
            uses_communicator: false,
        }
    }

    fn prepare(config: HostConfig) -> Result<Prepared, Vec<FieldError>> {
        let config = Config::from_host(config).map_err(|e| vec![e])?;
        let scenario = config.string("scenario").unwrap_or_default();
        if !SCENARIOS.contains(&scenario) {
            return Err(vec![field_error(
                "/scenario",
                &format!("unknown scenario {scenario:?}; expected one of {}", SCENARIOS.join(", ")),
            )]);
        }
        let egress = config.string("endpoint").map(|e| vec![e.to_string()]).unwrap_or_default();
        let warnings = match config.integer("count") {
            Some(n) => vec![format!("count is {n}, enabled is {}", config.boolean("enabled", false))],
            None => Vec::new(),
        };
        Ok(Prepared { egress, warnings, generated_data: Vec::new() })
    }

    fn run(config: HostConfig) -> Result<Artifact, BuildError> {
        let config = Config::from_host(config).map_err(|e| BuildError::Failed(e.message))?;
        let scenario = config.string("scenario").unwrap_or_default().to_string();
        match scenario.as_str() {
            "sandbox" => sandbox()?,
            "http-get" => http_get(&config)?,
            "http-denied" => http_denied(&config)?,
            "http-fetch" => http_fetch(&config)?,
            "sign" => sign(&config),
            "unsupported" => unsupported()?,
            "steps" => resource_steps(&config)?,
            "poll" => poll_ready(&config)?,
            "calls" => host_calls(&config),
            "panic" => panic!("scenario panic: the builder hit a bug"),
            "loop" => spin_forever(),
            "oom" => exhaust_memory(),
            _ => unreachable!("prepare accepted only known scenarios"),
        }
        Ok(Artifact {
            builder_id: "kiln.test-scenarios".into(),
            id: scenario.clone(),
            description: format!("scenario {scenario} completed"),
            files: Vec::new(),
        })
    }

    fn destroy(_config: HostConfig, entry: CloudResource) -> Result<(), DestroyError> {
        Err(DestroyError::Unsupported(format!(
            "the test scenarios create nothing, so there is nothing to destroy for {}",
            entry.id
        )))
    }
}

const SCENARIOS: &[&str] = &[
    "sandbox",
    "http-get",
    "http-fetch",
    "http-denied",
    "sign",
    "unsupported",
    "steps",
    "poll",
    "calls",
    "panic",
    "loop",
    "oom",
];

/// Tries every way out of the sandbox; each must fail.
fn sandbox() -> Result<(), BuildError> {
    let mut escaped = Vec::new();
    let mut attempt = |what: &str, outcome: Result<String, String>| match outcome {
        Ok(detail) => escaped.push(format!("{what}: {detail}")),
        Err(e) => ui::message(format!("{what}: blocked ({e})")),
    };
    attempt(
        "read /etc/passwd",
        std::fs::read("/etc/passwd").map(|b| format!("{} bytes", b.len())).map_err(|e| e.to_string()),
    );
    attempt("list /", std::fs::read_dir("/").map(|d| format!("{} entries", d.count())).map_err(|e| e.to_string()));
    attempt(
        "write /tmp/kiln-escape",
        std::fs::write("/tmp/kiln-escape", b"x").map(|_| "written".into()).map_err(|e| e.to_string()),
    );
    attempt("read $HOME", std::env::var("HOME").map_err(|e| e.to_string()));
    let vars = std::env::vars().count();
    attempt("environment", if vars == 0 { Err("empty".into()) } else { Ok(format!("{vars} variables")) });
    attempt(
        "connect 127.0.0.1:22",
        std::net::TcpStream::connect("127.0.0.1:22").map(|_| "connected".into()).map_err(|e| e.to_string()),
    );
    attempt("bind udp", std::net::UdpSocket::bind("127.0.0.1:0").map(|_| "bound".into()).map_err(|e| e.to_string()));
    attempt("resolve localhost", {
        use std::net::ToSocketAddrs;
        "localhost:80".to_socket_addrs().map(|a| format!("{} addresses", a.count())).map_err(|e| e.to_string())
    });
    if escaped.is_empty() {
        ui::say("sandbox held: no file, environment, socket or name lookup reached");
        Ok(())
    } else {
        Err(BuildError::Failed(format!("sandbox escaped: {}", escaped.join("; "))))
    }
}

/// GETs `/hello` on the endpoint with the token as a header, prints the
/// reply, and adopts the `password` it returns as a secret before printing
/// it too: both must come out redacted.
fn http_get(config: &Config) -> Result<(), BuildError> {
    let endpoint = config.string("endpoint").ok_or_else(|| BuildError::Failed("endpoint must be set".into()))?;
    let mut request = Request::get(format!("http://{endpoint}/hello"));
    if let Some(token) = config.secret("/token") {
        request = request.secret_header("x-token", token);
    }
    let response = request.send().map_err(|e| BuildError::Failed(e.to_string()))?;
    let text = response.text();
    // Adopt first, as a builder should: from then on the value is redacted.
    let password = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("password").and_then(|p| p.as_str()).map(str::to_string));
    if let Some(password) = &password {
        let _adopted = secrets::adopt("generated password", password);
    }
    ui::say(format!("status {}: {text}", response.status));
    if let Some(password) = password {
        ui::say(format!("the generated password is {password}"));
    }
    Ok(())
}

/// GETs `{endpoint}/{url}`, with `wait` as the request's timeout when set,
/// and reports the size of the answer.
fn http_fetch(config: &Config) -> Result<(), BuildError> {
    let endpoint = config.string("endpoint").ok_or_else(|| BuildError::Failed("endpoint must be set".into()))?;
    let mut request = Request::get(format!("http://{endpoint}/{}", config.string("url").unwrap_or("")));
    if config.value("wait").is_some() {
        request = request.timeout_ms(config.duration_ms("wait", 0));
    }
    let response = request.send().map_err(|e| BuildError::Failed(e.to_string()))?;
    ui::say(format!("status {} with {} bytes", response.status, response.body.len()));
    Ok(())
}

/// Requests a URL `prepare` did not allow: the host must refuse.
fn http_denied(config: &Config) -> Result<(), BuildError> {
    let url = config.string("url").unwrap_or("https://example.invalid/");
    match Request::get(url).send() {
        Ok(r) => Err(BuildError::Failed(format!("the host let a request to {url} through (status {})", r.status))),
        Err(e) => Err(BuildError::Failed(e.to_string())),
    }
}

/// Signs with the token through the host and prints the signatures.
fn sign(config: &Config) {
    let Some(token) = config.secret("/token") else {
        ui::say("no token");
        return;
    };
    let sha1 = secrets::hmac(token, HashAlgorithm::Sha1, b"data");
    let with_amp = secrets::with_affix(token, "", "&");
    let sha1_amp = secrets::hmac(&with_amp, HashAlgorithm::Sha1, b"data");
    let derived = secrets::derive_hmac(token, HashAlgorithm::Sha256, b"20261121");
    let sha256 = secrets::hmac(&derived, HashAlgorithm::Sha256, b"data");
    ui::say(format!("hmac-sha1 {}", hex(&sha1)));
    ui::say(format!("hmac-sha1 with & {}", hex(&sha1_amp)));
    ui::say(format!("derived hmac-sha256 {}", hex(&sha256)));
    ui::say(format!("labels {} {}", token.label(), derived.label()));
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// This builder declared no communicator, and the ledger is not in this
/// host yet: both must answer with their typed `unsupported` error.
fn unsupported() -> Result<(), BuildError> {
    let target = communicator::Target {
        host: "127.0.0.1".into(),
        port: None,
        username: None,
        password: None,
        private_key: None,
        kind: None,
    };
    match communicator::connect(&target) {
        Err(communicator::Error::Unsupported(m)) => ui::say(format!("communicator unsupported: {m}")),
        Err(e) => return Err(BuildError::Failed(format!("communicator: unexpected error {e:?}"))),
        Ok(_) => return Err(BuildError::Failed("communicator: connected to nowhere".into())),
    }
    let resource = CloudResource { kind: "instance".into(), id: "i-1".into(), region: None, details: Vec::new() };
    match ledger::created(&resource) {
        Err(ledger::Error::Unsupported(m)) => ui::say(format!("ledger unsupported: {m}")),
        other => return Err(BuildError::Failed(format!("ledger: unexpected answer {other:?}"))),
    }
    Ok(())
}

/// Creates two fake resources on the test server as steps, then waits;
/// cancelling during the wait must delete them in reverse order.
fn resource_steps(config: &Config) -> Result<(), BuildError> {
    let endpoint = config.string("endpoint").ok_or_else(|| BuildError::Failed("endpoint must be set".into()))?;
    let wait_ms = config.duration_ms("wait", 600_000);
    let mut steps: Vec<Box<dyn Step<()>>> = vec![
        Box::new(CreateResource { endpoint: endpoint.into(), name: "alpha", created: false }),
        Box::new(CreateResource { endpoint: endpoint.into(), name: "beta", created: false }),
        Box::new(Wait { ms: wait_ms, fail: config.boolean("enabled", false) }),
    ];
    steps::run(&mut steps, &mut (), config.keep_on_error)
}

struct CreateResource {
    endpoint: String,
    name: &'static str,
    created: bool,
}

impl Step<()> for CreateResource {
    fn name(&self) -> &'static str {
        "create resource"
    }

    fn run(&mut self, _: &mut ()) -> Result<(), StepError> {
        Request::post(format!("http://{}/resources/{}", self.endpoint, self.name)).send()?.success()?;
        self.created = true;
        ui::say(format!("created resource {}", self.name));
        Ok(())
    }

    fn undo(&mut self, _: &mut (), outcome: Outcome) -> Result<(), String> {
        if !self.created {
            return Ok(());
        }
        Request::delete(format!("http://{}/resources/{}", self.endpoint, self.name))
            .send()
            .and_then(|r| r.success())
            .map_err(|e| e.to_string())?;
        ui::say(format!("deleted resource {} ({outcome:?})", self.name));
        Ok(())
    }
}

struct Wait {
    ms: u64,
    /// Fail instead of waiting (to test `-on-error`).
    fail: bool,
}

impl Step<()> for Wait {
    fn name(&self) -> &'static str {
        "wait"
    }

    fn run(&mut self, _: &mut ()) -> Result<(), StepError> {
        if self.fail {
            return Err(StepError::failed("the wait step was told to fail"));
        }
        ui::say(format!("waiting {} ms", self.ms));
        timer::sleep(self.ms).map_err(|_| StepError::Cancelled)
    }
}

/// Polls `{endpoint}/{url}` until it answers `{"ready": true}`, within
/// `wait` (default 10 s).
fn poll_ready(config: &Config) -> Result<(), BuildError> {
    let endpoint = config.string("endpoint").ok_or_else(|| BuildError::Failed("endpoint must be set".into()))?;
    let path = config.string("url").unwrap_or("ready");
    let timeout = std::time::Duration::from_millis(config.duration_ms("wait", 10_000));
    let backoff =
        Backoff { initial: std::time::Duration::from_millis(5), max: std::time::Duration::from_millis(20), factor: 2 };
    let mut checks = 0;
    let result = poll::until(timeout, backoff, || {
        checks += 1;
        let reply: serde_json::Value = Request::get(format!("http://{endpoint}/{path}")).send()?.json()?;
        Ok::<_, kiln_guest::http::Error>(reply.get("ready").and_then(|r| r.as_bool()).filter(|r| *r))
    });
    match result {
        Ok(_) => {
            ui::say(format!("ready after {checks} checks"));
            Ok(())
        }
        Err(PollError::TimedOut(limit)) => Err(BuildError::Failed(format!(
            "{path} did not become ready within {} ms ({checks} checks)",
            limit.as_millis()
        ))),
        Err(PollError::Cancelled) => Err(BuildError::Cancelled),
        Err(PollError::Check(e)) => Err(BuildError::Failed(e.to_string())),
    }
}

/// Makes `count` trivial host calls: the round-trip benchmark.
fn host_calls(config: &Config) {
    let count = config.integer("count").unwrap_or(1);
    let mut cancelled = 0;
    for _ in 0..count {
        cancelled += u64::from(timer::cancelled());
    }
    std::hint::black_box(cancelled);
}

fn spin_forever() -> ! {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

fn exhaust_memory() -> ! {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        hoard.push(vec![1u8; 16 << 20]);
        std::hint::black_box(&hoard);
    }
}

kiln_guest::export_builder!(Scenarios);
