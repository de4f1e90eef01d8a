//! Login keys: createLoginKey hands out a new RSA private key (PEM), the
//! only copy; getRootPassword checks it against the server's key.

use super::context::{Ctx, list};
use crate::keys;
use crate::ncloud::error::ApiError;
use crate::ncloud::world::{LoginKey, now_text};
use serde_json::{Value, json};

/// createLoginKey(keyName) → privateKey. Fails for a missing, malformed
/// (3-30 letters, digits, `-`, `_`) or taken name.
pub fn create_login_key(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let name = ctx.args.req("keyName")?.to_string();
    let valid =
        (3..=30).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        return Err(ApiError::invalid("keyName", "must be 3 to 30 letters, digits, - or _"));
    }
    if ctx.world.login_keys.contains_key(&name) {
        return Err(ApiError::duplicate(format!("The login key name {name} is already in use.")));
    }
    let generated = keys::generate_rsa().map_err(|_| ApiError::retry_later(500))?;
    let key = LoginKey {
        name: name.clone(),
        fingerprint: generated.fingerprint,
        private_pem: generated.private_pem.clone(),
        created: now_text(),
    };
    ctx.world.login_keys.insert(name, key);
    Ok(json!({"privateKey": generated.private_pem}))
}

/// getLoginKeyList(keyName?): the keys.
pub fn get_login_key_list(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let wanted = ctx.args.opt("keyName");
    let items = ctx
        .world
        .login_keys
        .values()
        .filter(|k| wanted.is_none_or(|w| w == k.name))
        .map(|k| json!({"keyName": k.name, "fingerprint": k.fingerprint, "createDate": k.created}))
        .collect();
    Ok(list("loginKeyList", items))
}

/// deleteLoginKey(keyName). Fails for an unknown key.
pub fn delete_login_key(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let name = ctx.args.req("keyName")?.to_string();
    delete(ctx, &[name])
}

/// deleteLoginKeys(keyNameList.N). Fails, deleting none, when one is
/// unknown or the list is empty.
pub fn delete_login_keys(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let names = ctx.args.list("keyNameList");
    if names.is_empty() {
        return Err(ApiError::missing("keyNameList.1"));
    }
    delete(ctx, &names)
}

fn delete(ctx: &mut Ctx, names: &[String]) -> Result<Value, ApiError> {
    if let Some(unknown) = names.iter().find(|n| !ctx.world.login_keys.contains_key(*n)) {
        return Err(ApiError::no_such("login key", unknown));
    }
    for name in names {
        ctx.world.login_keys.remove(name);
    }
    Ok(json!({}))
}

/// Whether `given` is the PEM `expected`, whatever its line endings and
/// surrounding whitespace (a form may carry CRLF or a trailing newline).
pub fn same_pem(given: &str, expected: &str) -> bool {
    let norm = |s: &str| s.split_whitespace().collect::<String>();
    norm(given) == norm(expected)
}
