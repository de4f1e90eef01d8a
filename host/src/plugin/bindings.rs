//! The host side of the `kiln:plugin` contract, generated from `wit/`.

wasmtime::component::bindgen!({
    world: "builder",
    path: "../wit",
    imports: { default: async | trappable },
    exports: { default: async },
    with: {
        "kiln:plugin/secrets.secret": crate::caps::secrets::HostSecret,
        "kiln:plugin/communicator.session": crate::caps::comm::HostSession,
    },
});

pub use kiln::plugin::{communicator, hook, http, ledger, log, secrets, timer, types};
