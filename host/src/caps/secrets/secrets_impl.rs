//! `kiln:plugin/secrets` for a build's store.

use super::{DEFAULT_MAX_SECRETS, HostSecret, assemble, hmac};
use crate::plugin::HostState;
use crate::plugin::bindings::secrets::{HashAlgorithm, Host, HostSecret as HostSecretTrait, Piece};
use wasmtime::component::Resource;

impl HostState {
    fn secret(&self, handle: &Resource<HostSecret>) -> wasmtime::Result<HostSecret> {
        Ok(self.table.get(handle)?.clone())
    }

    /// Stores a new secret made by the guest, within the cap. Going over it
    /// is a broken or hostile builder: a trap, not an error value.
    fn keep(&mut self, secret: HostSecret) -> wasmtime::Result<Resource<HostSecret>> {
        self.secrets_made += 1;
        if self.secrets_made > DEFAULT_MAX_SECRETS {
            wasmtime::bail!("the builder made more than {DEFAULT_MAX_SECRETS} secrets");
        }
        Ok(self.table.push(secret)?)
    }
}

impl Host for HostState {
    async fn adopt(&mut self, label: String, value: String) -> wasmtime::Result<Resource<HostSecret>> {
        let secret = HostSecret::new(label, &value, &self.caps.redactor);
        self.keep(secret)
    }

    async fn with_affix(
        &mut self,
        base: Resource<HostSecret>,
        prefix: String,
        suffix: String,
    ) -> wasmtime::Result<Resource<HostSecret>> {
        let base = self.secret(&base)?;
        let mut value = prefix.into_bytes();
        value.extend_from_slice(&base.value);
        value.extend_from_slice(suffix.as_bytes());
        self.keep(HostSecret::from_bytes(base.label, value))
    }

    async fn hmac(
        &mut self,
        key: Resource<HostSecret>,
        algorithm: HashAlgorithm,
        data: Vec<u8>,
    ) -> wasmtime::Result<Vec<u8>> {
        let key = self.secret(&key)?;
        Ok(hmac(algorithm, &key.value, &data))
    }

    async fn derive_hmac(
        &mut self,
        key: Resource<HostSecret>,
        algorithm: HashAlgorithm,
        data: Vec<u8>,
    ) -> wasmtime::Result<Resource<HostSecret>> {
        let key = self.secret(&key)?;
        let derived = hmac(algorithm, &key.value, &data);
        self.keep(HostSecret::from_bytes(format!("derived from {}", key.label), derived))
    }

    async fn hmac_pieces(
        &mut self,
        key: Resource<HostSecret>,
        algorithm: HashAlgorithm,
        data: Vec<Piece>,
    ) -> wasmtime::Result<Vec<u8>> {
        let key = self.secret(&key)?;
        let data = assemble(&self.table, &data, &self.caps.redactor)?;
        Ok(hmac(algorithm, &key.value, &data))
    }
}

impl HostSecretTrait for HostState {
    async fn label(&mut self, handle: Resource<HostSecret>) -> wasmtime::Result<String> {
        Ok(self.table.get(&handle)?.label.clone())
    }

    async fn drop(&mut self, handle: Resource<HostSecret>) -> wasmtime::Result<()> {
        self.table.delete(handle)?;
        Ok(())
    }
}
