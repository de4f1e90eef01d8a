//! The seam between the simulator's core and the machines' remote
//! endpoints: SSH for Linux machines today, WinRM for Windows ones next.
//! An endpoint binds each address of the machines of its OS family and
//! serves a connection while its machine runs; [`crate::endpoints`]
//! registers them.

use crate::cloud::{Machine, OsFamily};
use serde_json::Value;
use std::net::{Ipv4Addr, SocketAddr};

/// One kind of machine endpoint (SSH, WinRM), serving every machine of
/// one OS family.
pub trait MachineEndpoint: Send + Sync {
    /// Its name: its admin route (`/__kiln/{name}`) and its key in the
    /// simulator's report (`ssh`).
    fn name(&self) -> &'static str;

    /// The OS family of the machines it serves.
    fn family(&self) -> OsFamily;

    /// Brings it in line with `machines`, every machine of its family but
    /// those being deleted (the core passes only those): each address gets
    /// a listener. Called after each API call, under the core's lock.
    fn sync(&self, machines: &[Machine]);

    /// Where a client should connect to reach port `port` of machine
    /// address `ip`, if this endpoint serves that address on that port.
    fn endpoint(&self, ip: Ipv4Addr, port: u16) -> Option<SocketAddr>;

    /// What it recorded of the sessions, for `GET /__kiln/{name}`.
    fn records(&self) -> Value;

    /// Forgets what it recorded (`POST /__kiln/reset`).
    fn reset(&self);

    /// Stops accepting connections on every address (the simulator is
    /// going away); sessions under way finish on their own.
    fn stop(&self);
}
