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
    let Some((cloud, call)) = shared.clouds.recognise(request) else {
        return Answer::Reply(unrecognised(request));
    };
    let mut inner = shared.lock();
    let fault = inner.faults.check(&call.action);
    let mut entry = LoggedRequest {
        seq: 0,
        at_ms: shared.elapsed_ms(now),
        method: request.method.clone(),
        host: request.host.clone(),
        action: call.action.clone(),
        version: call.version.clone(),
        status: 0,
        code: String::new(),
        params: call.params.clone(),
        injected: fault.is_some(),
    };
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
    shared.sync_machines();
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
