//! Listening on one machine address, as every machine endpoint does (SSH
//! and WinRM): binding it or saying why not, and an accept loop that a
//! failed accept does not end. What a connection is then served with is
//! the endpoint's own.

use crate::cloud::Machine;
use crate::warnings::Warnings;
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

/// How long a listener waits after a failed accept (out of file
/// descriptors, a connection reset before it was taken) before it tries
/// again, so that a lasting failure does not spin.
pub(crate) const ACCEPT_PAUSE: Duration = Duration::from_millis(50);

/// Binds `ip:port` (0: a free port) for `what` ("SSH", "WinRM", ...) of
/// machine `machine`, non-blocking so that tokio can take it: the listener
/// and the address it got. Binding synchronously means a client told of
/// the machine by the API's answer finds it listening.
///
/// Fails (None) when the address cannot be bound (taken, not local): then
/// it says so to `warnings` with the address and the machine, since the
/// client will only see its connections refused.
pub(crate) fn bind(
    ip: Ipv4Addr,
    port: u16,
    what: &str,
    machine: &str,
    warnings: &Warnings,
) -> Option<(std::net::TcpListener, SocketAddr)> {
    match try_bind(ip, port) {
        Ok(bound) => Some(bound),
        Err(e) => {
            warnings.warn(&cannot_listen(what, ip, port, machine, &e));
            None
        }
    }
}

/// What [`bind`] says when `ip:port` cannot be bound for `what` of
/// `machine`.
pub(crate) fn cannot_listen(what: &str, ip: Ipv4Addr, port: u16, machine: &str, e: &std::io::Error) -> String {
    format!(
        "the simulator cannot listen for {what} on {ip}:{port} (machine {machine}): {e}; {what} to that address will fail"
    )
}

/// [`bind`] without a word: the listener and its address, or why not.
pub(crate) fn try_bind(ip: Ipv4Addr, port: u16) -> std::io::Result<(std::net::TcpListener, SocketAddr)> {
    let listener = std::net::TcpListener::bind((ip, port))?;
    let address = listener.local_addr()?;
    listener.set_nonblocking(true)?;
    Ok((listener, address))
}

/// Hands each connection `listener` accepts to `each`, until the task is
/// dropped. A failed accept does not end it: the first one is said through
/// `warn` (naming the `what` listener and its address), and each is
/// followed by [`ACCEPT_PAUSE`].
pub(crate) async fn accept_each(
    listener: &TcpListener,
    what: &str,
    warn: impl Fn(&str),
    mut each: impl FnMut(TcpStream),
) {
    let mut warned = false;
    loop {
        match listener.accept().await {
            Ok((stream, _)) => each(stream),
            Err(e) => {
                if !warned {
                    let at = listener.local_addr().map(|a| a.to_string()).unwrap_or_else(|_| "?".into());
                    warn(&format!(
                        "the {what} listener on {at} could not accept a connection: {e}; it keeps trying every {} ms",
                        ACCEPT_PAUSE.as_millis()
                    ));
                    warned = true;
                }
                tokio::time::sleep(ACCEPT_PAUSE).await;
            }
        }
    }
}

/// Brings `bound` (what an endpoint keeps per machine address) up to
/// `machines`: an address already bound goes to the machine that holds it
/// now (`owner` gives where an entry names its machine), as an elastic
/// address moves; one not bound yet gets what `bind` makes, or stays
/// unbound when `bind` gives None (it has said why). Addresses are never
/// unbound here: a listener outlives the machine that had it.
pub(crate) fn bind_addresses<B>(
    bound: &mut HashMap<Ipv4Addr, B>,
    machines: &[Machine],
    owner: impl Fn(&mut B) -> &mut String,
    mut bind: impl FnMut(Ipv4Addr, &Machine) -> Option<B>,
) {
    for machine in machines {
        for ip in &machine.addresses {
            if let Some(entry) = bound.get_mut(ip) {
                *owner(entry) = machine.id.clone();
                continue;
            }
            if let Some(entry) = bind(*ip, machine) {
                bound.insert(*ip, entry);
            }
        }
    }
}
