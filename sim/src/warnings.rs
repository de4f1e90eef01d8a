//! What the simulator has to tell its user while it runs, without
//! stopping: a machine's SSH port it cannot listen on, an authorized_keys
//! file it cannot update. The embedder (`kiln sim serve`, `kiln build
//! --simulate`) decides where the warnings go; each also goes to the debug
//! log.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// Where the simulator's warnings go. Cheap to clone; each distinct
/// warning is passed on once (an address that cannot be bound is retried
/// after every API call, and would say so every time).
#[derive(Clone)]
pub struct Warnings {
    sink: Arc<dyn Fn(&str) + Send + Sync>,
    said: Arc<Mutex<HashSet<String>>>,
}

impl Warnings {
    /// Warnings passed to `sink`, which must not block for long: it is
    /// called while the simulator serves an API call.
    pub fn to(sink: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Warnings { sink: Arc::new(sink), said: Arc::default() }
    }

    /// Says `text`, unless it was said before; logs it either way.
    pub fn warn(&self, text: &str) {
        tracing::warn!("{text}");
        let first = self.said.lock().unwrap_or_else(|e| e.into_inner()).insert(text.to_string());
        if first {
            (self.sink)(text);
        }
    }
}

impl Default for Warnings {
    /// Warnings that go to the debug log only.
    fn default() -> Self {
        Warnings::to(|_| {})
    }
}

impl std::fmt::Debug for Warnings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Warnings").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_warning_is_passed_on_once() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let warnings = Warnings::to({
            let seen = Arc::clone(&seen);
            move |text| seen.lock().unwrap().push(text.to_string())
        });
        warnings.warn("a");
        warnings.clone().warn("a");
        warnings.warn("b");
        assert_eq!(*seen.lock().unwrap(), ["a", "b"]);
    }
}
