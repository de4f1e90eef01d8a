//! `kiln:plugin/communicator`. SSH and WinRM are not in this host yet:
//! `connect` answers `unsupported`, naming the template setting that
//! avoids the need. No session can exist, so the session methods are
//! unreachable through the contract.

use crate::plugin::HostState;
use crate::plugin::bindings::communicator::{Error, Host, HostSession as HostSessionTrait, Target};
use wasmtime::component::Resource;

/// The host side of a `session` handle.
#[derive(Debug)]
pub struct HostSession {
    _private: (),
}

/// What a builder is told when it asks for a connection.
fn unsupported(target: &Target) -> Error {
    Error::Unsupported(format!(
        "this kiln cannot connect to {} yet: the SSH and WinRM communicators are not built in. \
         Set \"communicator\": \"none\" and use shell-local provisioners for now",
        target.host
    ))
}

fn no_session() -> Error {
    Error::Other("no communicator session exists in this kiln".into())
}

impl Host for HostState {
    async fn connect(&mut self, target: Target) -> wasmtime::Result<Result<Resource<HostSession>, Error>> {
        Ok(Err(unsupported(&target)))
    }
}

impl HostSessionTrait for HostState {
    async fn exec(&mut self, _: Resource<HostSession>, _: String) -> wasmtime::Result<Result<i32, Error>> {
        Ok(Err(no_session()))
    }

    async fn upload(
        &mut self,
        _: Resource<HostSession>,
        _: String,
        _: Vec<u8>,
        _: u32,
    ) -> wasmtime::Result<Result<(), Error>> {
        Ok(Err(no_session()))
    }

    async fn download(&mut self, _: Resource<HostSession>, _: String) -> wasmtime::Result<Result<Vec<u8>, Error>> {
        Ok(Err(no_session()))
    }

    async fn drop(&mut self, session: Resource<HostSession>) -> wasmtime::Result<()> {
        self.table.delete(session)?;
        Ok(())
    }
}
