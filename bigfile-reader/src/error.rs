//! The one error type of the crate. Every variant carries the value or the
//! address that failed, so a notebook user reads what went wrong and where;
//! the HTTP variants also say what to check. Conversion to
//! [`signal::SignalError`] keeps cancellation distinct from failures.

use signal::SignalError;

/// Why reading, decoding or talking to the object server failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReaderError {
    /// A byte range asked for lies outside the object.
    #[error("bytes {start}..{end} are past the end of {object} (size {size})")]
    OutOfRange {
        /// The object read.
        object: String,
        /// First byte asked for.
        start: u64,
        /// One past the last byte asked for.
        end: u64,
        /// The object's size in bytes.
        size: u64,
    },

    /// The object ended before a structure that it announces.
    #[error("{object} ends at byte {size}, inside the {what} that starts at byte {offset}")]
    UnexpectedEnd {
        /// The object read.
        object: String,
        /// What was being read ("RIFF header", "fmt chunk").
        what: String,
        /// Where that structure starts.
        offset: u64,
        /// The object's size in bytes.
        size: u64,
    },

    /// The bytes are not a WAV file at all.
    #[error("not a WAV file: {0}")]
    NotWav(String),

    /// A WAV header that contradicts itself or the file.
    #[error("invalid WAV header: {0}")]
    InvalidWav(String),

    /// A well-formed WAV file whose encoding this reader does not decode.
    #[error("unsupported WAV encoding: {0}")]
    UnsupportedWav(String),

    /// A channel index past the last channel.
    #[error(
        "channel {index} does not exist: the signal has {channels} channel(s), numbered from 0"
    )]
    NoSuchChannel {
        /// The index asked for.
        index: usize,
        /// How many channels there are.
        channels: usize,
    },

    /// A sample type that is not understood.
    #[error("invalid dtype {dtype:?}: {reason}")]
    InvalidDtype {
        /// The dtype as given.
        dtype: String,
        /// What is wrong with it.
        reason: String,
    },

    /// An argument outside what the call accepts.
    #[error("invalid {name} {value}: {reason}")]
    InvalidArgument {
        /// The argument's name.
        name: &'static str,
        /// Its value, as given.
        value: String,
        /// What is accepted instead.
        reason: String,
    },

    /// A fluentd frame that is not `[time, record]` with a usable payload.
    #[error("invalid fluentd frame at byte {offset}: {reason}")]
    FluentdFrame {
        /// Offset of the frame in the stream.
        offset: u64,
        /// What is wrong with it.
        reason: String,
    },

    /// A local file could not be read.
    #[error("reading {object} failed: {source}")]
    Io {
        /// The file.
        object: String,
        /// The operating system's error.
        source: std::io::Error,
    },

    /// `data()` asked for more bytes than the in-memory limit.
    #[error(
        "{object} holds {size} bytes, above the limit of {limit} bytes for data(); \
         read it in chunks with BigFileReader (or iterate), or raise the limit"
    )]
    TooLarge {
        /// The object.
        object: String,
        /// Its size in bytes.
        size: u64,
        /// The limit in force.
        limit: u64,
    },

    /// The server could not be reached at all.
    #[error(
        "cannot reach the server at {url}: {reason}; check the URL and that the server is running"
    )]
    Unreachable {
        /// The URL asked.
        url: String,
        /// The transport's explanation.
        reason: String,
    },

    /// The server refused the credentials (HTTP 401).
    #[error(
        "the server at {url} refused the credentials of user {user:?} (HTTP 401); check the user name and password"
    )]
    Unauthorized {
        /// The URL asked.
        url: String,
        /// The user name sent, empty when none.
        user: String,
    },

    /// The document or call does not exist (HTTP 404).
    #[error("{url} was not found (HTTP 404); check the module and the id or reference")]
    NotFound {
        /// The URL asked.
        url: String,
    },

    /// The server did not answer in time.
    #[error(
        "the server at {url} did not answer within {seconds} s; check that it is not overloaded, or raise the timeout"
    )]
    Timeout {
        /// The URL asked.
        url: String,
        /// The timeout in force.
        seconds: f64,
    },

    /// The connection broke during a transfer, or the server failed (5xx).
    #[error("transfer from {url} failed: {reason}")]
    Transient {
        /// The URL asked.
        url: String,
        /// What broke.
        reason: String,
    },

    /// Any other HTTP status the call does not expect.
    #[error("{url} answered HTTP {status}: {detail}")]
    Status {
        /// The URL asked.
        url: String,
        /// The status code.
        status: u16,
        /// The start of the body or the explanation header.
        detail: String,
    },

    /// A document of another portal type than the call needs.
    #[error("{url} is a {found}, not a {expected}")]
    WrongType {
        /// The document's URL.
        url: String,
        /// The portal type the call needs.
        expected: String,
        /// The portal type it has.
        found: String,
    },

    /// The server lacks one of wendelin-server's additions (a real
    /// Wendelin answering 404 or 405 to it).
    #[error(
        "this server does not offer {call} (an addition of wendelin-server); reading works, \
         but {call} needs wendelin-server ({url} answered HTTP {status})"
    )]
    MissingAddition {
        /// What the call does ("document creation").
        call: String,
        /// The URL asked.
        url: String,
        /// The status answered.
        status: u16,
    },

    /// An answer that does not follow the protocol (bad JSON, no
    /// Content-Range, a short body).
    #[error("unexpected answer from {url}: {reason}")]
    Protocol {
        /// The URL asked.
        url: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A transient failure that persisted through every retry.
    #[error("{last} (gave up after {attempts} attempts)")]
    RetriesExhausted {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: Box<ReaderError>,
    },

    /// A sample source failed while it was read (while writing a Data
    /// Array from it, for instance).
    #[error("reading the signal failed: {0}")]
    Source(SignalError),

    /// The job was cancelled through its progress observer.
    #[error("interrupted")]
    Cancelled,
}

impl ReaderError {
    /// True for failures worth retrying: a broken connection, a 5xx
    /// answer, a timeout.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient { .. } | Self::Timeout { .. })
    }
}

impl From<ReaderError> for SignalError {
    fn from(error: ReaderError) -> Self {
        match error {
            ReaderError::Cancelled => SignalError::Cancelled,
            other => SignalError::read(other),
        }
    }
}

impl From<SignalError> for ReaderError {
    fn from(error: SignalError) -> Self {
        match error {
            SignalError::Cancelled => ReaderError::Cancelled,
            other => ReaderError::Source(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancellation_stays_cancellation_in_signal_terms() {
        let error: SignalError = ReaderError::Cancelled.into();
        assert!(matches!(error, SignalError::Cancelled));
    }

    #[test]
    fn messages_name_the_bad_value() {
        let error = ReaderError::NoSuchChannel {
            index: 3,
            channels: 2,
        };
        assert_eq!(
            error.to_string(),
            "channel 3 does not exist: the signal has 2 channel(s), numbered from 0"
        );
    }
}
