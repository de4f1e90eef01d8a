//! A client and a server in one process: the login, and sealed envelopes
//! both ways.

use super::*;

fn account() -> Account {
    Account { user: "Administrator".into(), password: "kiln-Sim-1".into(), hostname: "KILN-SIM-WIN".into() }
}

/// Logs `user` in with `password`: the client's session, or the server's
/// refusal.
fn login(user: &str, password: &str) -> Result<(Session, Session), Error> {
    let mut server = Server::new(account());
    let mut client = Client::new(user, password)?;
    let negotiate = client.negotiate()?;
    let Accepted::Challenge(challenge) = server.accept(&negotiate)? else { panic!("no challenge") };
    let (authenticate, client_session) = client.authenticate(&challenge)?;
    match server.accept(&authenticate)? {
        Accepted::Authenticated(server_session) => Ok((client_session, *server_session)),
        Accepted::Challenge(_) => panic!("a second challenge"),
    }
}

#[test]
fn envelopes_sealed_by_either_end_open_at_the_other_in_order() {
    let (mut client, mut server) = login("Administrator", "kiln-Sim-1").unwrap();
    for i in 0..3 {
        let request = format!("<s:Envelope>request {i}</s:Envelope>");
        let body = client.seal(request.as_bytes());
        assert!(!body.windows(7).any(|w| w == b"request"), "the envelope is sealed, not in the clear");
        assert_eq!(server.unseal(&body).unwrap(), request.as_bytes());
        let reply = format!("<s:Envelope>reply {i}</s:Envelope>").repeat(100);
        assert_eq!(client.unseal(&server.seal(reply.as_bytes())).unwrap(), reply.as_bytes());
    }
}

#[test]
fn the_local_forms_of_the_user_name_log_in() {
    for user in ["administrator", ".\\Administrator", "KILN-SIM-WIN\\Administrator", "kiln-sim-win\\ADMINISTRATOR"] {
        assert!(login(user, "kiln-Sim-1").is_ok(), "{user}");
    }
}

#[test]
fn a_wrong_password_user_or_domain_is_refused() {
    for (user, password) in
        [("Administrator", "kiln-sim-1"), ("Guest", "kiln-Sim-1"), ("OTHER\\Administrator", "kiln-Sim-1")]
    {
        assert!(matches!(login(user, password), Err(Error::LogonDenied)), "{user} / {password}");
    }
}

#[test]
fn an_altered_or_replayed_envelope_does_not_open() {
    let (mut client, mut server) = login("Administrator", "kiln-Sim-1").unwrap();
    let mut body = client.seal(b"<s:Envelope/>");
    let last = body.len() - 30;
    body[last] ^= 1;
    assert!(matches!(server.unseal(&body), Err(Error::Unseal(_))));
    let (mut client, mut server) = login("Administrator", "kiln-Sim-1").unwrap();
    let body = client.seal(b"<s:Envelope/>");
    server.unseal(&body).unwrap();
    assert!(matches!(server.unseal(&body), Err(Error::Unseal(_))), "a replay has an old sequence number");
}

#[test]
fn a_negotiate_starts_over_and_an_early_authenticate_is_refused() {
    let mut server = Server::new(account());
    let mut first = Client::new("Administrator", "kiln-Sim-1").unwrap();
    let _ = server.accept(&first.negotiate().unwrap()).unwrap();
    let mut second = Client::new("Administrator", "kiln-Sim-1").unwrap();
    let Accepted::Challenge(challenge) = server.accept(&second.negotiate().unwrap()).unwrap() else { panic!() };
    let (authenticate, _) = second.authenticate(&challenge).unwrap();
    assert!(matches!(server.accept(&authenticate).unwrap(), Accepted::Authenticated(_)));
    assert!(matches!(server.accept(&authenticate), Err(Error::BadToken(_))));
    assert!(matches!(server.accept(b"\x60\x28\x06\x06"), Err(Error::BadToken(_))));
}
