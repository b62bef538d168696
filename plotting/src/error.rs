//! The one error type of the crate: a bad option, an input that cannot be
//! drawn as asked, a failed read of a source, or a failure of the renderer
//! or the PNG encoder. Messages are lowercase, name the bad value and, where
//! there is one, say what to do instead.

use signal::SignalError;

/// Why a plot could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlotError {
    /// An option has a value outside its domain; the message names the
    /// option, the value and the accepted range.
    #[error("{0}")]
    InvalidOption(String),

    /// An option name the crate does not know.
    #[error("unknown plot option \"{name}\"; known options: {known}")]
    UnknownOption {
        /// The name given.
        name: String,
        /// The accepted names, comma-separated.
        known: String,
    },

    /// The input cannot be drawn as asked (an empty signal, a kind that
    /// does not fit the value, only non-positive values on a log axis).
    #[error("{0}")]
    Unplottable(String),

    /// Reading a source failed or the job was cancelled.
    #[error(transparent)]
    Signal(#[from] SignalError),

    /// The renderer failed; this is a bug or a resource problem, not bad
    /// input.
    #[error("drawing failed: {0}")]
    Render(String),

    /// Encoding the PNG failed.
    #[error("png encoding failed: {0}")]
    Encode(String),
}

impl PlotError {
    /// Wraps a renderer error.
    pub(crate) fn render(error: impl std::fmt::Display) -> Self {
        Self::Render(error.to_string())
    }

    /// True when the job stopped because it was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, Self::Signal(SignalError::Cancelled))
    }
}
