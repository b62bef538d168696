//! Everything between a remote object on a Wendelin server and a lazy
//! [`signal::Source`] of samples: the byte-range abstraction, WAV and raw
//! sample decoding, fluentd frame streams, the cached seekable
//! [`BigFileReader`], and the blocking HTTP client of the Wendelin object
//! server.
//!
//! Nothing here knows about Jupyter; the kernel binds these types to the
//! notebook language. Every decoder reads through [`ByteRange`], so it is
//! tested on memory and files the same way it runs over HTTP.

mod cache;
mod channel;
mod client;
mod encoding;
mod error;
mod fluentd;
mod http;
mod range;
mod reader;
mod samples;
mod wav;

pub use cache::{CacheOptions, CacheStatistics, CachedRange};
pub use channel::{ChannelSource, FrameLayout, PIECE_BYTES};
pub use client::{
    DataArray, DataNotebook, DataStream, Document, MODULES, Module, ModuleSummary, Portal,
    Properties,
};
pub use encoding::{SampleEncoding, SampleKind, a_law_to_linear, mu_law_to_linear};
pub use error::ReaderError;
pub use fluentd::FluentdStream;
pub use http::{ConnectOptions, HttpObject, HttpSession, normalise_base_url};
pub use range::{ByteRange, FileObject, MemoryObject, read_exact_at};
pub use reader::{
    BigFileReader, DEFAULT_DATA_LIMIT, Format, ReaderOptions, StreamBytes, StreamChunks,
};
pub use samples::RawSamples;
pub use wav::{Container, HEADER_WINDOW, WavFile, WavFormat};
