//! How long work talks to whoever started it: fractions done, and the
//! cancellation flag an interrupt sets.
//!
//! The kernel implements [`Progress`] with a display that updates in place;
//! tests and batch code use [`Silent`] or a bare [`CancelFlag`]. Rate
//! limiting belongs to the implementation, so workers may report often.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::SignalError;

/// An observer of a long job. Workers call [`Progress::advance`] between
/// blocks and stop with [`SignalError::Cancelled`] once
/// [`Progress::is_cancelled`] answers true.
pub trait Progress: Send + Sync {
    /// `done` units of `total` are finished; the unit (samples, bytes,
    /// passes) is the worker's, only the ratio matters.
    fn advance(&self, done: u64, total: u64) {
        let _ = (done, total);
    }

    /// Names the current phase of a multi-pass job ("reading", "columns").
    fn phase(&self, name: &str) {
        let _ = name;
    }

    /// True once the job should stop.
    fn is_cancelled(&self) -> bool {
        false
    }

    /// `Err(Cancelled)` once the job should stop, for use with `?`.
    ///
    /// # Errors
    /// [`SignalError::Cancelled`] when [`Progress::is_cancelled`] is true.
    fn check(&self) -> Result<(), SignalError> {
        if self.is_cancelled() {
            Err(SignalError::Cancelled)
        } else {
            Ok(())
        }
    }
}

/// Reports nowhere and never cancels.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Progress for Silent {}

/// A shared flag: clone it, hand one side to the worker, set it from the
/// other.
#[derive(Debug, Default, Clone)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    /// A flag that is not set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks every holder's job to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Clears the flag before the next job.
    pub fn reset(&self) {
        self.0.store(false, Ordering::SeqCst);
    }

    /// True once [`CancelFlag::cancel`] was called and not reset since.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

impl Progress for CancelFlag {
    fn is_cancelled(&self) -> bool {
        self.is_set()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancel_flag_is_seen_by_every_clone() {
        let flag = CancelFlag::new();
        let worker_side = flag.clone();
        assert!(worker_side.check().is_ok());

        flag.cancel();
        assert!(matches!(worker_side.check(), Err(SignalError::Cancelled)));

        flag.reset();
        assert!(!worker_side.is_cancelled());
    }
}
