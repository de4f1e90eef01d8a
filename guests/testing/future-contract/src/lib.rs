//! A builder compiled against `kiln:plugin@9.0.0`. kiln 0.x must refuse to
//! load it, naming both versions, without ever calling into it.

wit_bindgen::generate!({ world: "builder", path: "wit" });

struct FutureBuilder;

impl Guest for FutureBuilder {
    fn describe() -> String {
        kiln::plugin::log::say("a host that loads me ignored my contract version");
        "future".to_string()
    }
}

export!(FutureBuilder);
