//! Key pairs: CreateKeyPair returns a new RSA private key, as the cloud
//! does; ImportKeyPair takes an OpenSSH public key.

use super::context::{self, Ctx};
use crate::alicloud::error::ApiError;
use crate::alicloud::world::KeyPair;
use crate::keys;
use serde_json::{Value, json};

fn check_name(name: &str) -> Result<(), ApiError> {
    if context::is_console_name(name) {
        Ok(())
    } else {
        Err(ApiError::bad("InvalidKeyPairName.Malformed", "The specified parameter KeyPairName is not valid."))
    }
}

pub fn create_key_pair(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let region = ctx.region()?;
    let name = ctx.args.req("KeyPairName")?.to_string();
    check_name(&name)?;
    if ctx.world.key_pairs.contains_key(&(region.clone(), name.clone())) {
        return Err(ApiError::bad("KeyPair.AlreadyExist", "The key pair already exists."));
    }
    let generated = keys::generate_rsa().map_err(|_| ApiError::internal())?;
    ctx.world.key_pairs.insert(
        (region.clone(), name.clone()),
        KeyPair {
            name: name.clone(),
            region,
            fingerprint: generated.fingerprint.clone(),
            public_key: generated.public_openssh.clone(),
        },
    );
    Ok(
        json!({"KeyPairName": name, "KeyPairFingerPrint": generated.fingerprint, "PrivateKeyBody": generated.private_pem, "KeyPairId": name}),
    )
}

pub fn import_key_pair(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let region = ctx.region()?;
    let name = ctx.args.req("KeyPairName")?.to_string();
    check_name(&name)?;
    let body = ctx.args.req("PublicKeyBody")?.trim().to_string();
    let fingerprint = keys::openssh_fingerprint(&body).ok_or_else(|| {
        ApiError::bad("InvalidPublicKeyBody.Malformed", "The specified public key body is not valid.")
    })?;
    if ctx.world.key_pairs.contains_key(&(region.clone(), name.clone())) {
        return Err(ApiError::bad("KeyPair.AlreadyExist", "The key pair already exists."));
    }
    ctx.world.key_pairs.insert(
        (region.clone(), name.clone()),
        KeyPair { name: name.clone(), region, fingerprint: fingerprint.clone(), public_key: body },
    );
    Ok(json!({"KeyPairName": name, "KeyPairFingerPrint": fingerprint}))
}

pub fn describe_key_pairs(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let region = ctx.region()?;
    let wanted = ctx.args.opt("KeyPairName");
    let items: Vec<Value> = ctx
        .world
        .key_pairs
        .values()
        .filter(|k| k.region == region && wanted.is_none_or(|w| w == k.name))
        .map(|k| json!({"KeyPairName": k.name, "KeyPairFingerPrint": k.fingerprint}))
        .collect();
    context::page(ctx, "KeyPairs", "KeyPair", items)
}

pub fn delete_key_pairs(ctx: &mut Ctx) -> Result<Value, ApiError> {
    let region = ctx.region()?;
    let names = ctx.args.json_list("KeyPairNames")?.ok_or_else(|| ApiError::missing("KeyPairNames"))?;
    for name in &names {
        // The real API ignores names it does not know.
        ctx.world.key_pairs.remove(&(region.clone(), name.clone()));
    }
    Ok(json!({}))
}
