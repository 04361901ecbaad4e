//! State an adapter shares between the engine's worker threads.

use std::sync::{Mutex, MutexGuard};

/// A value behind a mutex that a panic in one worker never poisons for the others: what
/// adapters keep across calls, such as ids looked up by name or detected platform
/// behaviour. Hold the guard for a lookup or an update, never across a request.
#[derive(Debug, Default)]
pub struct Shared<T>(Mutex<T>);

impl<T> Shared<T> {
    /// Shares `value`.
    pub fn new(value: T) -> Self {
        Shared(Mutex::new(value))
    }

    /// The value, locked; a lock poisoned by a panicking thread is taken over, since each
    /// update an adapter makes leaves the value whole.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_while_holding_the_lock_leaves_the_value_usable() {
        let shared = std::sync::Arc::new(Shared::new(vec![1]));
        let other = shared.clone();
        let _ = std::thread::spawn(move || {
            let mut guard = other.lock();
            guard.push(2);
            panic!("worker failed");
        })
        .join();
        assert_eq!(*shared.lock(), vec![1, 2]);
    }
}
