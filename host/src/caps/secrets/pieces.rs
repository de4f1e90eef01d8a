//! Texts the host assembles for a builder from plain pieces and secret
//! values (`secrets.piece`): a string to sign or a request body that must
//! contain a credential the builder may not read.

use super::{HostSecret, Redactor};
use crate::plugin::bindings::secrets::{Encoding, Piece};
use base64::Engine;
use wasmtime::component::ResourceTable;

/// The concatenation of `pieces`, each secret written with its encodings
/// applied in order. Each encoded form is registered with `redactor`: the
/// redactor knows a secret's usual forms, not every chain of encodings a
/// builder may ask for (base64 then percent for a form body). Fails (a
/// trap) on a handle that is not in `table`.
pub fn assemble(table: &ResourceTable, pieces: &[Piece], redactor: &Redactor) -> wasmtime::Result<Vec<u8>> {
    let mut out = Vec::new();
    for piece in pieces {
        match piece {
            Piece::Text(text) => out.extend_from_slice(text.as_bytes()),
            Piece::Secret(secret) => {
                let mut value = table.get::<HostSecret>(&secret.value)?.value.to_vec();
                for encoding in &secret.encodings {
                    value = encode(*encoding, &value);
                    if let Ok(text) = std::str::from_utf8(&value) {
                        redactor.add(text);
                    }
                }
                out.extend_from_slice(&value);
            }
        }
    }
    Ok(out)
}

/// `bytes` written in `encoding`.
pub fn encode(encoding: Encoding, bytes: &[u8]) -> Vec<u8> {
    match encoding {
        Encoding::Percent => super::percent::encode(bytes),
        Encoding::Base64 => base64::engine::general_purpose::STANDARD.encode(bytes).into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_keeps_only_unreserved_characters() {
        assert_eq!(encode(Encoding::Percent, "a b*~/+=é".as_bytes()), b"a%20b%2A~%2F%2B%3D%C3%A9");
        let twice = encode(Encoding::Percent, &encode(Encoding::Percent, b"12:46"));
        assert_eq!(twice, b"12%253A46");
    }

    #[test]
    fn base64_then_percent_gives_a_form_value() {
        assert_eq!(encode(Encoding::Base64, b"#!/bin/sh\necho hi\n"), b"IyEvYmluL3NoCmVjaG8gaGkK");
        let form = encode(Encoding::Percent, &encode(Encoding::Base64, b"\xfb\xff"));
        assert_eq!(form, b"%2B%2F8%3D", "+/8= with its reserved characters encoded");
    }
}
