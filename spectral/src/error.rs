//! The one error type of the crate: bad options, lengths the memory budget
//! cannot split, scratch-file failures, and whatever the signal layer
//! reports (a failed read, an interrupt).
//!
//! Messages are lowercase, name the bad value and say what would work, so
//! the kernel can show them to a notebook user unchanged.

use std::path::PathBuf;

use signal::SignalError;

/// Why a transform or an estimate did not complete.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpectralError {
    /// Reading the signal failed, or the job was interrupted.
    #[error(transparent)]
    Signal(#[from] SignalError),

    /// An option has a value outside what the function accepts.
    #[error("{name} {value} is not valid; use {expected}")]
    InvalidOption {
        /// The option's name as the user spells it (`nperseg`, `window`).
        name: &'static str,
        /// The value given, as text.
        value: String,
        /// What would be accepted.
        expected: String,
    },

    /// A segment is longer than the whole signal.
    #[error("nperseg {nperseg} is longer than the signal ({len} samples); use nperseg <= {len}")]
    SegmentTooLong {
        /// The segment length asked for.
        nperseg: usize,
        /// The signal's length in samples.
        len: u64,
    },

    /// The overlap is not shorter than the segment.
    #[error("noverlap {noverlap} is not less than nperseg {nperseg}; use noverlap <= {}", nperseg - 1)]
    OverlapTooLong {
        /// The overlap asked for.
        noverlap: usize,
        /// The segment length.
        nperseg: usize,
    },

    /// The signal holds no sample (or fewer than a job needs).
    #[error("the signal is empty ({what}); give a signal with at least one sample")]
    EmptySignal {
        /// Which input was empty.
        what: &'static str,
    },

    /// A memory budget string could not be read.
    #[error("memory budget {text:?} is not understood; use a size such as 512MiB, 1GiB or 2G")]
    Budget {
        /// The text given.
        text: String,
    },

    /// The transform does not fit in memory and its length cannot be split
    /// into two factors that each fit the budget.
    #[error(
        "an fft of length {len} does not fit the memory budget of {} and cannot be split into \
         factors that fit; {suggestion}",
        crate::human_bytes(*budget)
    )]
    Unsplittable {
        /// The transform length.
        len: u64,
        /// The budget in bytes.
        budget: u64,
        /// What would work: a padded length, a larger budget.
        suggestion: String,
    },

    /// A scratch file could not be created, sized, mapped or written.
    #[error("scratch file in {dir}: {source}")]
    Scratch {
        /// The scratch directory.
        dir: PathBuf,
        /// The underlying failure.
        source: std::io::Error,
    },

    /// A result is too large to hand over as an in-memory list.
    #[error(
        "{what} has {len} values, more than the limit of {limit}; slice it or save it as a Data Array"
    )]
    TooLarge {
        /// What was asked for ("spectrum", "spectrogram").
        what: &'static str,
        /// Its number of values.
        len: u64,
        /// The limit.
        limit: u64,
    },
}

impl SpectralError {
    /// An [`SpectralError::InvalidOption`] from its three parts.
    pub fn invalid(name: &'static str, value: impl ToString, expected: impl ToString) -> Self {
        Self::InvalidOption {
            name,
            value: value.to_string(),
            expected: expected.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_too_long_says_what_would_work() {
        let error = SpectralError::SegmentTooLong {
            nperseg: 4096,
            len: 1000,
        };
        assert_eq!(
            error.to_string(),
            "nperseg 4096 is longer than the signal (1000 samples); use nperseg <= 1000"
        );
    }

    #[test]
    fn cancellation_reads_as_interrupted() {
        let error = SpectralError::from(SignalError::Cancelled);
        assert_eq!(error.to_string(), "interrupted");
    }
}
