//! The one error type of sample sources: a range outside the signal, a
//! failed read underneath (HTTP, file, decoding), or a cancelled job.

/// Why a read from a source, or a job over one, did not complete.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignalError {
    /// The requested range does not lie inside the signal.
    #[error("samples {start}..{end} are outside the signal (length {len})")]
    OutOfRange {
        /// First sample asked for.
        start: u64,
        /// One past the last sample asked for.
        end: u64,
        /// The signal's length in samples.
        len: u64,
    },

    /// The layer underneath the source failed (a transfer, a file, a
    /// decoder); the message says what and where.
    #[error("{0}")]
    Read(String),

    /// The job was cancelled through its [`crate::Progress`] observer.
    #[error("interrupted")]
    Cancelled,
}

impl SignalError {
    /// Wraps any error of a lower layer as a [`SignalError::Read`].
    pub fn read(error: impl std::fmt::Display) -> Self {
        Self::Read(error.to_string())
    }
}
