//! Progress and cancellation of a running job, shared between the caller
//! and the tier running it: plain atomics, no callbacks, so the library never
//! prints or waits on its caller.
//!
//! A caller that wants either passes a [`Control`] to [`crate::price_with`]
//! or [`crate::var_with`] and reads [`Control::progress`] or calls
//! [`Control::cancel`] from another thread (a Ctrl-C handler, a progress bar,
//! a Python `KeyboardInterrupt`). The CPU tiers check it before every chunk
//! of samples, the GPU tier between submissions (each a fraction of a second
//! of device time), so a cancelled run ends within a fraction of a second
//! with [`crate::Error::Cancelled`] and no result. Cancelling never changes
//! the figures of a run that completes.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::error::Error;

/// A job's progress counters and cancellation flag.
#[derive(Debug, Default)]
pub struct Control {
    cancelled: AtomicBool,
    done: AtomicU64,
    total: AtomicU64,
}

/// How far a job has gone, in samples (paths or scenarios, counting each
/// pass over them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    /// Samples finished.
    pub done: u64,
    /// Samples the job is known to need so far (a run to a target grows it
    /// round by round).
    pub total: u64,
}

impl Control {
    /// A fresh control: not cancelled, nothing done.
    pub const fn new() -> Self {
        Self {
            cancelled: AtomicBool::new(false),
            done: AtomicU64::new(0),
            total: AtomicU64::new(0),
        }
    }

    /// Asks the job to stop; it ends with [`Error::Cancelled`] at its next
    /// check.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// Whether [`Control::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// The job's progress so far.
    pub fn progress(&self) -> Progress {
        Progress {
            done: self.done.load(Ordering::Relaxed),
            total: self.total.load(Ordering::Relaxed),
        }
    }

    /// Adds `samples` to the work the job needs.
    pub(crate) fn expect(&self, samples: u64) {
        self.total.fetch_add(samples, Ordering::Relaxed);
    }

    /// Counts `samples` as done.
    pub(crate) fn advance(&self, samples: u64) {
        self.done.fetch_add(samples, Ordering::Relaxed);
    }

    /// `Err(Cancelled)` once the job was cancelled.
    pub(crate) fn check(&self) -> Result<(), Error> {
        if self.is_cancelled() {
            Err(Error::Cancelled)
        } else {
            Ok(())
        }
    }
}

/// The control of jobs run without one: never cancelled, its counters
/// unread.
pub(crate) static UNWATCHED: Control = Control::new();
