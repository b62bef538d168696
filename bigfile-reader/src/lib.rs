//! Everything between a remote object on a Wendelin server and a lazy
//! [`signal::Source`] of samples: the byte-range abstraction, WAV and raw
//! sample decoding, fluentd frame streams, the cached seekable
//! [`BigFileReader`], and the blocking HTTP client of the Wendelin object
//! server.
//!
//! Nothing here knows about Jupyter; the kernel binds these types to the
//! notebook language. Every decoder reads through [`ByteRange`], so it is
//! tested on memory and files the same way it runs over HTTP.
//!
//! The path of a notebook cell, over HTTP:
//!
//! ```no_run
//! # fn main() -> Result<(), bigfile_reader::ReaderError> {
//! use bigfile_reader::{ConnectOptions, Portal};
//! use signal::Source;
//!
//! let portal = Portal::connect(&ConnectOptions::from_env())?;
//! let stream = portal.module("data_stream_module").get("1")?.into_data_stream()?;
//! let reader = stream.reader(Default::default(), std::sync::Arc::new(signal::Silent))?;
//! let left = reader.wav()?.channel(0)?; // nothing read yet but the header
//! let mut first = vec![0.0; 1024];
//! left.read_into(0, &mut first)?;
//! # Ok(()) }
//! ```
//!
//! and the same decoders over bytes in memory:
//!
//! ```
//! use std::sync::Arc;
//! use bigfile_reader::{MemoryObject, WavFile};
//! use signal::Source;
//!
//! let mut bytes = b"RIFF\0\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0\x40\x1f\0\0\x80\x3e\0\0\x02\0\x10\0".to_vec();
//! bytes.extend_from_slice(b"data\x04\0\0\0\x00\x40\x00\xc0");
//! let wav = WavFile::open(Arc::new(MemoryObject::new(bytes))).unwrap();
//! let mut samples = [0.0; 2];
//! wav.channel(0).unwrap().read_into(0, &mut samples).unwrap();
//! assert_eq!((wav.sample_rate(), samples), (8000, [0.5, -0.5]));
//! ```

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
