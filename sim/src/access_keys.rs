//! The access keys a simulated cloud accepts, kept the same way by every
//! cloud: by id, the key given last for an id replacing the earlier one.

/// A key a cloud accepts; requests name it by its id alone.
pub trait AccessKey: Clone {
    /// The id requests carry (`AccessKeyId`, `x-ncp-iam-access-key`).
    fn id(&self) -> &str;
}

/// Accepts `key`, replacing the key with its id if there is one: a request
/// names its key by id alone, and authentication checks the signature (and
/// token) against the one key of that id, so a second entry with another
/// secret would never be reached. The key given last is the one the client
/// signs with (the template's over the environment's, a flag over the
/// configuration file's).
pub fn accept<K: AccessKey>(keys: &mut Vec<K>, key: K) {
    match keys.iter_mut().find(|known| known.id() == key.id()) {
        Some(known) => *known = key,
        None => keys.push(key),
    }
}

/// Accepts the key a builder section names, keeping the cloud's keys in
/// force (`in_force` of the configured ones: its default key when none is
/// configured) accepted too: the run's other builds may still use them.
pub fn accept_beside_those_in_force<K: AccessKey>(keys: &mut Vec<K>, key: K, in_force: fn(&[K]) -> Vec<K>) {
    if keys.is_empty() {
        *keys = in_force(&[]);
    }
    accept(keys, key);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq)]
    struct Key(&'static str, &'static str);

    impl AccessKey for Key {
        fn id(&self) -> &str {
            self.0
        }
    }

    #[test]
    fn the_key_given_last_for_an_id_wins_and_the_default_stays() {
        let mut keys = Vec::new();
        let defaults =
            |configured: &[Key]| if configured.is_empty() { vec![Key("default", "d")] } else { configured.to_vec() };
        accept_beside_those_in_force(&mut keys, Key("a", "1"), defaults);
        accept(&mut keys, Key("a", "2"));
        assert_eq!(keys, [Key("default", "d"), Key("a", "2")]);
    }
}
