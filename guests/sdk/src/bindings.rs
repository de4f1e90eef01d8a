//! The `kiln:plugin` contract as Rust, generated from `wit/`.
//!
//! A builder crate implements [`Guest`] and calls
//! `kiln_guest::export_builder!(MyBuilder);`.

wit_bindgen::generate!({
    world: "builder",
    path: "../../wit",
    pub_export_macro: true,
    export_macro_name: "export_builder",
    default_bindings_module: "kiln_guest::bindings",
    generate_all,
});
