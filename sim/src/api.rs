//! One API call through the core, whatever the cloud: the cloud that
//! recognises it, the fault rules, the request log, and the machines'
//! endpoints brought up to date after it.

use crate::cloud::{Answer, CallContext, HttpRequest, Reply};
use crate::faults::FaultKind;
use crate::state::{LoggedRequest, Shared};
use std::time::Instant;

/// Answers one API request (not an admin one).
pub fn handle(shared: &Shared, request: &HttpRequest) -> Answer {
    let now = Instant::now();
    let mut entry = LoggedRequest::new(shared.elapsed_ms(now), &request.method, &request.host);
    let Some((cloud, call)) = shared.clouds.recognise(request) else {
        // Logged under its path, so that a client's stray request shows;
        // fault rules never see it (see `faults`).
        let reply = unrecognised(request);
        shared.lock().record(LoggedRequest { action: request.path.clone(), status: reply.status, ..entry });
        return Answer::Reply(reply);
    };
    let mut inner = shared.lock();
    let fault = inner.faults.check(&call.action);
    entry.action = call.action.clone();
    entry.version = call.version.clone();
    entry.params = call.params.clone();
    entry.injected = fault.is_some();
    let mut context = CallContext { now, fail_images: false };
    let mut delay = None;
    let mut lose_answer = false;
    let injected = match fault {
        Some((FaultKind::Reset, _)) => Some(Answer::Reset),
        Some((FaultKind::Timeout, d)) => Some(Answer::Hang(d)),
        Some((
            kind @ (FaultKind::ServerError | FaultKind::Unavailable | FaultKind::Throttling | FaultKind::Denied),
            _,
        )) => Some(Answer::Reply(cloud.refuse(request, kind))),
        Some((FaultKind::Slow, d)) => {
            delay = Some(d);
            None
        }
        Some((FaultKind::ImageFails, _)) => {
            context.fail_images = true;
            None
        }
        Some((FaultKind::Lost, _)) => {
            lose_answer = true;
            None
        }
        None => None,
    };
    if let Some(answer) = injected {
        if let Answer::Reply(reply) = &answer {
            entry.status = reply.status;
            entry.code = "injected".into();
        }
        inner.record(entry);
        return answer;
    }
    let reply = cloud.serve(request, &call, context);
    entry.status = reply.status;
    entry.code = reply.code.clone();
    shared.sync_machines(context.now);
    if lose_answer {
        entry.status = 0;
        entry.code = "answer lost".into();
        inner.record(entry);
        return Answer::Reset;
    }
    inner.record(entry);
    match delay {
        Some(d) => Answer::Delay(d, Box::new(Answer::Reply(reply))),
        None => Answer::Reply(reply),
    }
}

/// The answer to a request no simulated cloud recognises.
fn unrecognised(request: &HttpRequest) -> Reply {
    let text = format!(
        "kiln-sim: no simulated cloud serves {} {}{}; point the client at a cloud's API endpoint, or see {}",
        request.method,
        request.host,
        request.path,
        crate::admin::PREFIX,
    );
    Reply { status: 404, code: String::new(), content_type: "text/plain", body: (text + "\n").into_bytes() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::{Call, Cloud, Machine, MachineLookup, OneWindows, OsFamily};
    use crate::clouds::Clouds;
    use crate::config::Config;
    use crate::endpoint::MachineEndpoint;
    use crate::ssh::SshHub;
    use serde_json::{Value, json};
    use std::net::{Ipv4Addr, SocketAddr};
    use std::sync::Arc;

    /// A cloud of its own kind: REST-style, its action the path's last
    /// segment, one machine on 127.0.0.1.
    struct Widgets;

    impl Cloud for Widgets {
        fn recognise(&self, request: &HttpRequest) -> Option<Call> {
            (request.host == "widgets.test").then(|| Call {
                action: request.path.rsplit('/').next().unwrap_or("").to_string(),
                version: "v2".into(),
                params: Default::default(),
            })
        }
        fn refuse(&self, _: &HttpRequest, kind: FaultKind) -> Reply {
            Reply { status: 429, code: format!("{kind:?}"), content_type: "text/plain", body: b"slow down".to_vec() }
        }
        fn serve(&self, _: &HttpRequest, call: &Call, _: CallContext) -> Reply {
            Reply {
                status: 200,
                code: String::new(),
                content_type: "text/plain",
                body: call.action.clone().into_bytes(),
            }
        }
        fn resources(&self) -> Value {
            json!({"widgets": [{"id": "w-1"}]})
        }
        fn guest_shut_down(&self, _: &str, _: Instant) -> bool {
            // Its one machine is Linux: nothing here shuts it down.
            false
        }
        fn machines(&self, _: Instant) -> Vec<Machine> {
            vec![Machine {
                id: "w-1".into(),
                addresses: vec![Ipv4Addr::LOCALHOST],
                public_key: None,
                password: Some("pw".into()),
                os: OsFamily::Linux,
                running: true,
            }]
        }
        fn reset(&self) {}
        fn actions(&self) -> Vec<&'static str> {
            vec!["createWidget"]
        }
        fn banner(&self, _: SocketAddr) -> Vec<String> {
            Vec::new()
        }
    }

    fn request(host: &str, path: &str) -> HttpRequest {
        HttpRequest {
            method: "POST".into(),
            host: host.into(),
            path: path.into(),
            query: String::new(),
            headers: vec![("content-type".into(), "text/plain".into())],
            body: Default::default(),
        }
    }

    fn status(answer: Answer) -> u16 {
        match answer {
            Answer::Reply(reply) => reply.status,
            other => panic!("expected a reply, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn the_core_serves_any_cloud_behind_the_seam() {
        let config = Config { faults: vec!["createWidget:throttling:nth=2".parse().unwrap()], ..Config::default() };
        let clouds = Arc::new(Clouds::of(vec![Box::new(Widgets)]));
        let lookup: Arc<dyn MachineLookup> = clouds.clone();
        let hub = SshHub::new(config.ssh.clone(), 0, Arc::downgrade(&lookup), Default::default()).unwrap();
        let shared = Shared::new(config, clouds, vec![hub.clone()]);

        assert_eq!(status(handle(&shared, &request("widgets.test", "/v2/createWidget"))), 200);
        assert_eq!(status(handle(&shared, &request("widgets.test", "/v2/createWidget"))), 429);
        assert_eq!(status(handle(&shared, &request("elsewhere.test", "/"))), 404);

        let inner = shared.lock();
        let seen: Vec<_> = inner.log.iter().map(|e| (e.seq, e.action.as_str(), e.status, e.code.as_str())).collect();
        assert_eq!(seen, [(1, "createWidget", 200, ""), (2, "createWidget", 429, "injected"), (3, "/", 404, "")]);
        assert!(inner.log[1].injected);
        drop(inner);
        assert!(hub.endpoint(Ipv4Addr::LOCALHOST, 22).is_some(), "the machine's address has an SSH endpoint");
        assert_eq!(shared.clouds.resources(), json!({"widgets": [{"id": "w-1"}]}));
        assert_eq!(request("widgets.test", "/").header("Content-Type"), Some("text/plain"));
    }

    #[tokio::test]
    async fn the_ssh_hub_serves_linux_machines_only_and_not_after_the_clouds_are_gone() {
        let clouds = Arc::new(Clouds::of(vec![Box::new(Widgets), Box::new(windows())]));
        let lookup: Arc<dyn MachineLookup> = clouds.clone();
        let hub = SshHub::new(crate::SshMode::Builtin, 0, Arc::downgrade(&lookup), Default::default()).unwrap();
        let shared = Shared::new(Config::default(), clouds, vec![hub.clone()]);
        shared.sync_machines(Instant::now());
        assert!(hub.endpoint(Ipv4Addr::LOCALHOST, 22).is_some());
        assert!(hub.endpoint(Ipv4Addr::new(127, 2, 0, 1), 22).is_none(), "a Windows machine has no SSH endpoint");
        let at = hub.endpoint(Ipv4Addr::LOCALHOST, 22).unwrap();
        drop((shared, lookup));
        // The listener still accepts, but finds no machine: it closes.
        let mut stream = tokio::net::TcpStream::connect(at).await.unwrap();
        let mut buf = [0u8; 16];
        let read = tokio::io::AsyncReadExt::read(&mut stream, &mut buf).await;
        assert!(matches!(read, Ok(0) | Err(_)), "no SSH banner from a dropped simulator's machine: {read:?}");
        hub.stop();
        assert!(hub.endpoint(Ipv4Addr::LOCALHOST, 22).is_none(), "stopped endpoints listen no more");
    }

    /// A Windows cloud beside it, one machine whose address the SSH hub
    /// must leave to a WinRM endpoint.
    fn windows() -> OneWindows {
        OneWindows::new("win-1", Ipv4Addr::new(127, 2, 0, 1), json!({"windows_servers": []}))
    }

    #[test]
    #[should_panic(expected = "two simulated clouds show resources of kind \"widgets\"")]
    fn two_clouds_may_not_share_a_resource_kind() {
        Clouds::of(vec![Box::new(Widgets), Box::new(Widgets)]);
    }
}
