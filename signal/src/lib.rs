//! The shared vocabulary of the toolkit: lazy, chunked sample sources and
//! owned typed vectors.
//!
//! `bigfile-reader` produces sources (a WAV channel read over HTTP, a Data
//! Array), `spectral` and `plotting` consume them, and none of the three
//! depends on another: they meet here. A source is lazy: nothing is read
//! until a consumer asks for a range, and consumers ask in bounded chunks,
//! so memory stays flat whatever the length.
//!
//! Long work reports to a [`Progress`] observer, which also carries the
//! cancellation flag that an interrupt sets. This crate knows nothing of
//! HTTP, Jupyter or FFTs.

mod chunks;
mod error;
mod progress;
mod source;
mod statistics;
mod vector;

pub use chunks::{DEFAULT_CHUNK_LEN, for_each_chunk, for_each_complex_chunk};
pub use error::SignalError;
pub use num_complex::Complex64;
pub use progress::{CancelFlag, Progress, Silent};
pub use source::{ComplexSource, Slice, Source, SourceInfo, check_range};
pub use statistics::{Statistics, statistics};
pub use vector::{ComplexVector, RealVector};
