//! The one error type of the kernel crate: what can go wrong reading a
//! connection file, framing or verifying a message, binding a socket or
//! installing the kernelspec.
//!
//! Errors raised by cell code are not here: they are Rhai errors, turned into
//! `error` messages by `engine.rs`.

use std::path::PathBuf;

/// Why a kernel operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KernelError {
    /// The connection file could not be read.
    #[error("cannot read connection file {path}: {source}")]
    ConnectionFileRead {
        /// The file named on the command line.
        path: PathBuf,
        /// What the filesystem said.
        source: std::io::Error,
    },

    /// The connection file is not the JSON Jupyter writes.
    #[error("connection file {path} is not valid: {source}")]
    ConnectionFileFormat {
        /// The file named on the command line.
        path: PathBuf,
        /// What the JSON parser said.
        source: serde_json::Error,
    },

    /// The connection file asks for something this kernel cannot do.
    #[error("unsupported connection setting: {0}")]
    Unsupported(String),

    /// A multipart message has no `<IDS|MSG>` delimiter.
    #[error("message of {frames} frames has no <IDS|MSG> delimiter")]
    NoDelimiter {
        /// How many frames arrived.
        frames: usize,
    },

    /// A multipart message stops before its four JSON frames.
    #[error("message is truncated: {after_delimiter} frames after the delimiter, 5 needed")]
    Truncated {
        /// Frames found after the delimiter.
        after_delimiter: usize,
    },

    /// A message arrived without a signature while a key is set.
    #[error("message is unsigned")]
    Unsigned,

    /// The signature is not the HMAC of the message under our key.
    #[error("message signature {signature:?} does not match")]
    BadSignature {
        /// The signature as received (hex, possibly malformed).
        signature: String,
    },

    /// The signature was seen before: the message is a replay.
    #[error("message signature {signature} was already used (replay)")]
    Replayed {
        /// The repeated signature.
        signature: String,
    },

    /// One of the four JSON frames does not parse.
    #[error("message frame {frame} is not valid JSON: {source}")]
    MalformedJson {
        /// Which frame: header, parent_header, metadata or content.
        frame: &'static str,
        /// What the JSON parser said.
        source: serde_json::Error,
    },

    /// A socket could not be bound.
    #[error("cannot bind {endpoint}: {reason}")]
    Bind {
        /// The endpoint, e.g. `tcp://127.0.0.1:5555`.
        endpoint: String,
        /// What the transport said.
        reason: String,
    },

    /// Writing the kernelspec failed.
    #[error("cannot install the kernelspec into {path}: {source}")]
    Install {
        /// The directory being written.
        path: PathBuf,
        /// What the filesystem said.
        source: std::io::Error,
    },

    /// No installation directory could be determined.
    #[error("no kernelspec directory: {0}")]
    NoInstallDir(String),
}

/// Results of this crate.
pub type Result<T, E = KernelError> = std::result::Result<T, E>;
