//! `wendelin-server`: a Wendelin-compatible object server, the embedded
//! default of the Wendelin kernel (ARCHITECTURE.md, "The object server").
//!
//! It serves Data Streams, Data Arrays, Images, Data Notebooks and
//! ingestion under `/erp5`, with the HTTP surface of
//! `docs/http-contract.md`, from one data folder: a SQLite catalog and one
//! append-only blob file per document. The library holds everything; the
//! binary only parses arguments and calls [`server::run`]. Parsers of
//! untrusted input ([`range`], [`msgpack`], [`form`], [`search`]) are public
//! so they can be fuzzed from the integration tests.

pub mod app;
pub mod auth;
pub mod blobs;
pub mod catalog;
pub mod config;
pub mod content;
pub mod documents;
pub mod dtype;
pub mod error;
pub mod form;
pub mod image_type;
pub mod ingestion;
pub mod model;
pub mod msgpack;
pub mod notebook;
pub mod range;
pub mod routes;
pub mod search;
pub mod server;
pub mod slicing;
pub mod storage;

pub use error::ServerError;
