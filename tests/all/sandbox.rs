//! The sandbox holds: a builder gets no files, environment, sockets or
//! hosts it was not granted, and a builder that panics, loops or hoards
//! memory fails its own build with a readable message.

use crate::support::Project;
use crate::support::http::Server;
use serde_json::json;

crate::support::tests! {
    files_environment_sockets_and_lookups_are_denied,
    allowed_host_is_reached_with_secret_header_and_output_redacted,
    request_to_ungranted_host_is_denied_naming_host_and_fix,
    signing_uses_the_secret_without_revealing_it,
    communicator_and_ledger_answer_unsupported,
    panicking_builder_fails_its_build_with_the_panic_text,
    runaway_loop_is_stopped_by_the_cpu_limit,
    unbounded_allocation_is_stopped_by_the_memory_limit,
    builder_of_another_contract_major_is_refused_naming_both,
    polling_waits_with_backoff_until_ready,
    polling_gives_up_at_its_deadline,
    debug_log_goes_to_the_file_redacted_and_console_stays_clean,
    allow_host_opens_one_more_host_for_the_run,
    slow_response_hits_the_request_timeout,
    oversized_response_is_refused,
    host_call_deadline_caps_a_request_timeout,
}

fn scenario(p: &Project, scenario: &str, extra: serde_json::Value) {
    let mut builder = json!({"type": "test-scenarios", "scenario": scenario});
    builder.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    p.with_scenarios().template(json!({
        "variables": {"token": "tok-7f3a9"},
        "sensitive-variables": ["token"],
        "builders": [builder]
    }));
}

fn files_environment_sockets_and_lookups_are_denied() {
    let p = Project::new();
    scenario(&p, "sandbox", json!({}));
    p.run(&["build", "template.json"])
        .code(0)
        .contains("read /etc/passwd: blocked")
        .contains("connect 127.0.0.1:22: blocked")
        .contains("sandbox held");
}

fn allowed_host_is_reached_with_secret_header_and_output_redacted() {
    let server = Server::start();
    let p = Project::new();
    scenario(&p, "http-get", json!({"endpoint": server.addr, "token": "{{user `token`}}"}));
    p.run(&["build", "template.json"])
        .code(0)
        .contains("status 200")
        .contains("the generated password is <sensitive>")
        .lacks("tok-7f3a9")
        .lacks("generated-pw-8731");
    let seen = server.seen.lock().unwrap();
    assert!(seen[0].headers.iter().any(|(k, v)| k == "x-token" && v == "tok-7f3a9"), "{seen:?}");
}

fn request_to_ungranted_host_is_denied_naming_host_and_fix() {
    let server = Server::start();
    let p = Project::new();
    scenario(&p, "http-denied", json!({"endpoint": server.addr, "url": "http://127.0.0.1:9/steal"}));
    p.run(&["build", "template.json"])
        .code(1)
        .contains("kiln denied a request to 127.0.0.1:9")
        .contains(&format!("may only reach {}", server.addr))
        .contains("--allow-host 127.0.0.1:9");
    assert!(server.requests().is_empty());
}

fn signing_uses_the_secret_without_revealing_it() {
    let p = Project::new();
    scenario(&p, "sign", json!({"token": "Jefe"}));
    // What the guest printed must be the HMACs of the secret it never saw.
    use kiln::caps::secrets::hmac;
    use kiln::plugin::bindings::secrets::HashAlgorithm::{Sha1, Sha256};
    let derived = hmac(Sha256, b"Jefe", b"20261121");
    let run = p.run(&["build", "template.json"]);
    run.code(0)
        .contains(&format!("hmac-sha1 {}", hex::encode(hmac(Sha1, b"Jefe", b"data"))))
        .contains(&format!("hmac-sha1 with & {}", hex::encode(hmac(Sha1, b"Jefe&", b"data"))))
        .contains(&format!("derived hmac-sha256 {}", hex::encode(hmac(Sha256, &derived, b"data"))))
        .contains("labels token derived from token")
        .lacks("Jefe");
}

fn communicator_and_ledger_answer_unsupported() {
    let p = Project::new();
    scenario(&p, "unsupported", json!({}));
    p.run(&["build", "template.json"])
        .code(0)
        .contains("communicator unsupported: this builder declared that it connects to no machine")
        .contains("ledger unsupported: this kiln has no resource ledger yet");
}

fn panicking_builder_fails_its_build_with_the_panic_text() {
    let p = Project::new();
    p.with_scenarios().template(json!({
        "builders": [
            {"type": "test-scenarios", "name": "crashy", "scenario": "panic"},
            {"type": "null", "name": "steady", "communicator": "none"}
        ]
    }));
    p.run(&["build", "template.json"])
        .code(1)
        .contains("the builder panicked: panicked at")
        .contains("scenario panic: the builder hit a bug")
        .contains("Build 'steady' finished");
}

fn runaway_loop_is_stopped_by_the_cpu_limit() {
    let p = Project::new();
    scenario(&p, "loop", json!({}));
    p.run(&["build", "--guest-cpu-limit", "300ms", "template.json"])
        .code(1)
        .contains("used more than its CPU limit of 300ms")
        .contains("--guest-cpu-limit");
}

fn unbounded_allocation_is_stopped_by_the_memory_limit() {
    let p = Project::new();
    scenario(&p, "oom", json!({}));
    p.run(&["build", "--guest-memory-limit", "64", "template.json"])
        .code(1)
        .contains("ran out of memory")
        .contains("limit of 64 MiB");
}

fn builder_of_another_contract_major_is_refused_naming_both() {
    let p = Project::new();
    p.with_plugin(kiln::guests::TEST_FUTURE_CONTRACT, "future.wasm");
    p.template(json!({"builders": [{"type": "null", "communicator": "none"}]}));
    // A warning, as in every command: the other types are still listed.
    p.run(&["plugins", "list"])
        .code(0)
        .contains(&format!(
            "Warning: plugin {} not loaded: it was built for the contract kiln:plugin@9.0.0, but this kiln speaks \
             kiln:plugin@{}",
            p.root().join("plugins/future.wasm").display(),
            kiln::CONTRACT_VERSION
        ))
        .lacks("a host that loads me");
    let file = p.root().join("plugins/future.wasm");
    p.run(&["plugins", "inspect", &file.display().to_string()]).code(2).contains("kiln:plugin@9.0.0");
}

fn polling_waits_with_backoff_until_ready() {
    let server = Server::start();
    let p = Project::new();
    scenario(&p, "poll", json!({"endpoint": server.addr}));
    p.run(&["build", "template.json"]).code(0).contains("ready after 3 checks");
}

fn polling_gives_up_at_its_deadline() {
    let server = Server::start();
    let p = Project::new();
    scenario(&p, "poll", json!({"endpoint": server.addr, "url": "never", "wait": "200ms"}));
    p.run(&["build", "template.json"]).code(1).contains("never did not become ready within 200 ms");
}

fn debug_log_goes_to_the_file_redacted_and_console_stays_clean() {
    let server = Server::start();
    let p = Project::new();
    scenario(&p, "http-get", json!({"endpoint": server.addr, "token": "{{user `token`}}"}));
    let run = p.run(&["build", "--log-file", "kiln.log", "template.json"]);
    run.code(0).lacks("http request");
    let log = std::fs::read_to_string(p.root().join("kiln.log")).unwrap();
    assert!(log.contains("http request"), "{log}");
    assert!(log.contains("build{name=test-scenarios builder=test-scenarios}"), "{log}");
    assert!(!log.contains("tok-7f3a9") && !log.contains("generated-pw-8731"), "{log}");
}

fn allow_host_opens_one_more_host_for_the_run() {
    let granted = Server::start();
    let extra = Server::start();
    let p = Project::new();
    let url = format!("http://{}/extra", extra.addr);
    scenario(&p, "http-denied", json!({"endpoint": granted.addr, "url": url}));
    p.run(&["build", "--allow-host", &extra.addr, "template.json"]).code(1).contains("the host let a request to");
    assert_eq!(extra.requests(), ["GET /extra"]);
}

fn slow_response_hits_the_request_timeout() {
    let server = Server::start();
    let p = Project::new();
    scenario(&p, "http-fetch", json!({"endpoint": server.addr, "url": "slow", "wait": "200ms"}));
    p.run(&["build", "template.json"]).code(1).contains("no response within 200 ms");
}

fn oversized_response_is_refused() {
    let server = Server::start();
    let p = Project::new();
    scenario(&p, "http-fetch", json!({"endpoint": server.addr, "url": "big"}));
    p.run(&["build", "template.json"]).code(1).contains("response larger than 33554432 bytes");
}

fn host_call_deadline_caps_a_request_timeout() {
    let server = Server::start();
    let p = Project::new();
    scenario(&p, "http-fetch", json!({"endpoint": server.addr, "url": "slow", "wait": "10m"}));
    p.run(&["build", "--host-call-timeout", "300ms", "template.json"]).code(1).contains("no response within 300 ms");
}
