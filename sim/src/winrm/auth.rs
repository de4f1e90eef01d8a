//! Who may send a request, as Windows' WinRM service decides it: Basic
//! authentication, NTLM in the `Negotiate` scheme (one login per
//! connection, then sealed bodies: `wsman-ntlm`), and its
//! `AllowUnencrypted` setting.

use super::service::Target;
use base64::Engine;
use wsman_ntlm::{Accepted, Account, Scheme, Server, Session};

/// The authentication schemes an endpoint takes (WinRM's `Auth\Basic`
/// and `Auth\Negotiate`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Auth {
    /// Basic only: the machine Packer's usual user-data script sets up.
    #[default]
    Basic,
    /// NTLM (the `Negotiate` scheme) only.
    Ntlm,
    /// Either, as Windows takes them once Basic is enabled.
    Both,
}

impl Auth {
    fn basic(self) -> bool {
        matches!(self, Auth::Basic | Auth::Both)
    }

    fn ntlm(self) -> bool {
        matches!(self, Auth::Ntlm | Auth::Both)
    }
}

/// What an endpoint lets in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// The schemes it takes.
    pub auth: Auth,
    /// WinRM's `AllowUnencrypted`: whether plain HTTP may carry Basic
    /// logins and bodies that are not sealed. When false (Windows'
    /// default), over HTTP only NTLM with MS-WSMV encryption gets in.
    pub allow_unencrypted: bool,
}

impl Default for Policy {
    /// Basic and NTLM, unencrypted bodies allowed: what the simulated
    /// cloud machines (set up by a user-data script) take.
    fn default() -> Self {
        Policy { auth: Auth::Both, allow_unencrypted: true }
    }
}

/// The NTLM state of one connection: a login under way, or the session
/// its requests are sealed with.
#[derive(Debug, Default)]
pub(super) struct Connection {
    pending: Option<Server>,
    session: Option<Session>,
}

impl Connection {
    /// The connection's NTLM session, once a login succeeded on it.
    pub(super) fn session(&mut self) -> Option<&mut Session> {
        self.session.as_mut()
    }

    /// Forgets the session (a sealed body that did not verify leaves the
    /// two ends out of step).
    pub(super) fn forget(&mut self) {
        self.session = None;
    }
}

/// How a request was let in, or why not.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Login {
    /// Basic, with the right user name and password.
    Basic,
    /// NTLM: by this request's AUTHENTICATE, or by an earlier one on the
    /// connection.
    Ntlm,
    /// A NEGOTIATE: answer HTTP 401 with this `WWW-Authenticate` value.
    Challenge(String),
    /// Refused (HTTP 401): no credentials, wrong ones, or a scheme this
    /// endpoint does not take here.
    Refused,
}

/// Decides on a request with `authorization` (its header, if any) over a
/// connection with state `connection`, TLS or not.
pub(super) fn login(
    policy: Policy,
    tls: bool,
    authorization: Option<&str>,
    connection: &mut Connection,
    target: &Target,
) -> Login {
    let Some(header) = authorization else {
        return if connection.session.is_some() { Login::Ntlm } else { Login::Refused };
    };
    if let Some((scheme, token)) = wsman_ntlm::parse_authorization(header) {
        if !policy.auth.ntlm() {
            return Login::Refused;
        }
        return ntlm(scheme, &token, connection, target);
    }
    // Windows refuses Basic over plain HTTP unless AllowUnencrypted.
    if policy.auth.basic() && (tls || policy.allow_unencrypted) && basic_login_ok(header, target) {
        Login::Basic
    } else {
        Login::Refused
    }
}

/// One NTLM token: a NEGOTIATE starts a login (a new one replaces the
/// connection's session), an AUTHENTICATE ends it.
fn ntlm(scheme: Scheme, token: &[u8], connection: &mut Connection, target: &Target) -> Login {
    let Some(password) = &target.password else { return Login::Refused };
    let account =
        Account { user: target.username.clone(), password: password.clone(), hostname: target.hostname.clone() };
    let mut server = match connection.pending.take() {
        Some(server) => server,
        None => Server::new(account),
    };
    connection.session = None;
    match server.accept(token) {
        Ok(Accepted::Challenge(challenge)) => {
            connection.pending = Some(server);
            Login::Challenge(wsman_ntlm::authorization(scheme, &challenge))
        }
        Ok(Accepted::Authenticated(session)) => {
            connection.session = Some(*session);
            Login::Ntlm
        }
        Err(_) => Login::Refused,
    }
}

/// Whether `header` is Basic authentication of the target's user with
/// its password. The user may be written `user`, `.\user` or
/// `HOST\user`, in any case, as Windows takes local accounts.
pub(super) fn basic_login_ok(header: &str, target: &Target) -> bool {
    let Some(password) = &target.password else { return false };
    let Some((scheme, encoded)) = header.trim().split_once(' ') else { return false };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else { return false };
    let Ok(text) = String::from_utf8(decoded) else { return false };
    let Some((user, given)) = text.split_once(':') else { return false };
    let user = match user.split_once('\\') {
        Some((domain, name)) if domain == "." || domain.eq_ignore_ascii_case(&target.hostname) => name,
        Some(_) => return false,
        None => user,
    };
    user.eq_ignore_ascii_case(&target.username) && given == password
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::winrm::machine::WindowsMachine;
    use crate::winrm::shells::Shells;
    use std::sync::Arc;

    fn target() -> Target {
        Target {
            id: "i-1".into(),
            hostname: "WIN-1".into(),
            username: "Administrator".into(),
            password: Some("Pa:ss".into()),
            machine: WindowsMachine::new("WIN-1", "Administrator"),
            shells: Arc::new(Shells::default()),
        }
    }

    fn basic(text: &str) -> String {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(text))
    }

    #[test]
    fn logins_take_the_local_forms_of_the_user_name() {
        let t = target();
        for ok in ["Administrator:Pa:ss", "administrator:Pa:ss", ".\\Administrator:Pa:ss", "win-1\\Administrator:Pa:ss"]
        {
            assert!(basic_login_ok(&basic(ok), &t), "{ok}");
        }
        for bad in ["Administrator:pa:ss", "Admin:Pa:ss", "OTHER\\Administrator:Pa:ss", "Administrator"] {
            assert!(!basic_login_ok(&basic(bad), &t), "{bad}");
        }
        assert!(!basic_login_ok("Negotiate abc", &t));
        assert!(!basic_login_ok("Basic !!!", &t));
    }

    fn ntlm_login(policy: Policy, password: &str) -> (Login, Connection) {
        let t = target();
        let mut connection = Connection::default();
        let mut client = wsman_ntlm::Client::new("Administrator", password).unwrap();
        let negotiate = wsman_ntlm::authorization(Scheme::Negotiate, &client.negotiate().unwrap());
        let Login::Challenge(challenge) = login(policy, false, Some(&negotiate), &mut connection, &t) else {
            panic!("no challenge")
        };
        let (_, challenge) = wsman_ntlm::parse_authorization(&challenge).unwrap();
        let (authenticate, _) = client.authenticate(&challenge).unwrap();
        let authenticate = wsman_ntlm::authorization(Scheme::Negotiate, &authenticate);
        (login(policy, false, Some(&authenticate), &mut connection, &t), connection)
    }

    #[test]
    fn an_ntlm_login_holds_for_the_connection_and_a_wrong_password_is_refused() {
        let t = target();
        let (outcome, mut connection) = ntlm_login(Policy::default(), "Pa:ss");
        assert_eq!(outcome, Login::Ntlm);
        assert_eq!(login(Policy::default(), false, None, &mut connection, &t), Login::Ntlm);
        assert_eq!(login(Policy::default(), false, None, &mut Connection::default(), &t), Login::Refused);
        let (outcome, mut connection) = ntlm_login(Policy::default(), "pa:ss");
        assert_eq!(outcome, Login::Refused);
        assert_eq!(login(Policy::default(), false, None, &mut connection, &t), Login::Refused);
    }

    #[test]
    fn schemes_follow_the_policy_and_basic_needs_allow_unencrypted_over_http() {
        let t = target();
        let header = basic("Administrator:Pa:ss");
        let strict = Policy { auth: Auth::Both, allow_unencrypted: false };
        assert_eq!(login(strict, false, Some(&header), &mut Connection::default(), &t), Login::Refused);
        assert_eq!(login(strict, true, Some(&header), &mut Connection::default(), &t), Login::Basic);
        let ntlm_only = Policy { auth: Auth::Ntlm, allow_unencrypted: true };
        assert_eq!(login(ntlm_only, false, Some(&header), &mut Connection::default(), &t), Login::Refused);
        let basic_only = Policy { auth: Auth::Basic, allow_unencrypted: true };
        let mut client = wsman_ntlm::Client::new("Administrator", "Pa:ss").unwrap();
        let negotiate = wsman_ntlm::authorization(Scheme::Negotiate, &client.negotiate().unwrap());
        assert_eq!(login(basic_only, false, Some(&negotiate), &mut Connection::default(), &t), Login::Refused);
    }
}
