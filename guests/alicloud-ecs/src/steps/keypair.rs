//! The key pair the instance boots with. It is passed to `CreateInstance`
//! (`KeyPairName`), so it takes effect at first boot: no AttachKeyPair
//! before start and no DetachKeyPair afterwards, whose failure used to fail
//! a good Packer build.

use crate::cleanup;
use crate::record::{self, kind};
use crate::state::State;
use kiln_guest::random;
use kiln_guest::secrets;
use kiln_guest::steps::{Outcome, Step, StepError};
use kiln_guest::ui;

/// Creates a temporary key pair when SSH has neither a password nor a
/// private key, or uses the user's `ssh_keypair_name`.
#[derive(Default)]
pub struct CreateKeyPair {
    /// The temporary key pair's name, once created.
    created: Option<String>,
    entry: Option<u64>,
}

impl Step<State> for CreateKeyPair {
    fn name(&self) -> &'static str {
        "create key pair"
    }

    fn run(&mut self, state: &mut State) -> Result<(), StepError> {
        if !state.opts.temporary_key_pair {
            if let Some(name) = &state.opts.ssh_keypair_name {
                ui::say(format!("Using key pair {name}"));
                state.key_pair_name = Some(name.clone());
            }
            return Ok(());
        }
        let name = state.opts.temporary_key_pair_name.clone().unwrap_or_else(|| format!("kiln_{}", random::uuid()));
        ui::say(format!("Creating temporary key pair {name}..."));
        // A lost answer cannot be replayed: a second CreateKeyPair with the
        // name fails, and the private key is only ever in the first answer.
        // Remembered before sending: if the answer is lost the key pair may
        // exist anyway, and deleting an unknown name is harmless.
        self.created = Some(name.clone());
        let reply = state.client.ecs("CreateKeyPair").param("KeyPairName", name.as_str()).not_idempotent().send()?;
        // Adopt the key before anything else can print the answer.
        let private_key =
            kiln_guest::json::text(&reply, &["PrivateKeyBody"]).map(|body| secrets::adopt("temporary key pair", &body));
        state.key_pair_name = Some(name.clone());
        self.entry = record::created(kind::KEY_PAIR, &name, state.client.region())?;
        let private_key = private_key
            .ok_or_else(|| StepError::failed(format!("CreateKeyPair gave no PrivateKeyBody for key pair {name}")))?;
        state.private_key = Some(private_key);
        Ok(())
    }

    fn undo(&mut self, state: &mut State, _outcome: Outcome) -> Result<(), String> {
        // Temporary: deleted whatever the outcome.
        let Some(name) = self.created.take() else { return Ok(()) };
        cleanup::key_pair(&state.client, &name).map_err(kiln_guest::steps::undo_error)?;
        record::closed(self.entry.take());
        Ok(())
    }
}
