//! The Wendelin toolkit: the notebook vocabulary of ARCHITECTURE.md ("The
//! notebook language") bound to `bigfile-reader`. `context` is the portal;
//! modules, documents, Data Streams, Data Arrays and Data Notebooks are
//! Rhai values that display as tables; `BigFileReader` streams bytes with a
//! progress display; WAV files and raw samples give the shared `Signal`.
//!
//! Rhai types (each holds its `bigfile-reader` handle in a pub field, for
//! the analysis bindings that add overloads such as
//! `module.create(props, figure)` or `plot(data_array)`):
//!
//! | Rhai name       | Rust type                          | pub field  |
//! |-----------------|------------------------------------|------------|
//! | `Portal`        | [`navigation::PortalHandle`]       | `portal`   |
//! | `Module`        | [`navigation::ModuleHandle`]       | `module`   |
//! | `Document`      | [`navigation::DocumentHandle`]     | `document` |
//! | `DataStream`    | [`streams::DataStreamHandle`]      | `stream`   |
//! | `BigFileReader` | [`streams::ReaderHandle`]          | `reader`   |
//! | `Wav`           | [`samples::WavHandle`]             | `wav`      |
//! | `RawSamples`    | [`samples::SamplesHandle`]         | `samples`  |
//! | `DataArray`     | [`arrays::DataArrayHandle`]        | `array`    |
//! | `DataNotebook`  | [`notebooks::DataNotebookHandle`]  | `notebook` |
//!
//! `module["1"]` gives the typed value for the document's portal type
//! (`DataStream`, `DataArray`, `DataNotebook`), a `Document` otherwise;
//! `stream.iterate(n)` gives `Chunks`, iterable with `for`.
//! Errors: [`reader_error`] turns a `bigfile_reader::ReaderError` into the
//! cell's error (an interrupt stays an interrupt); [`cancellable`] runs a
//! blocking server call so that an interrupt ends the wait at once.
//!
//! Configuration: the magics `%erp5_url`, `%erp5_user`, `%erp5_password`
//! (seeded from `WENDELIN_URL`, `WENDELIN_USER`, `WENDELIN_PASSWORD`), and
//! `WENDELIN_CA_BUNDLE`, `WENDELIN_INSECURE`, `WENDELIN_TIMEOUT`
//! ([`connection`]). Recording: `%notebook_set_reference`,
//! `%notebook_set_title`, `%my_notebooks` ([`notebooks`], through the
//! toolkit's `after_cell` hook). This file does not talk HTTP itself.

pub mod arrays;
pub mod connection;
pub mod navigation;
pub mod notebooks;
pub mod samples;
pub mod streams;

use std::sync::{Arc, mpsc};
use std::time::Duration;

use bigfile_reader::ReaderError;
use rhai::EvalAltResult;

use super::{Registrar, Toolkit};
use crate::context::{CellContext, interrupted_error};

/// The Wendelin toolkit.
#[derive(Debug, Default)]
pub struct Wendelin {
    connections: Arc<connection::Connections>,
    recorder: notebooks::SharedRecorder,
}

impl Toolkit for Wendelin {
    fn name(&self) -> &'static str {
        "wendelin"
    }

    fn register(&self, registrar: &mut Registrar<'_>) {
        navigation::register(registrar, &self.connections);
        streams::register(registrar);
        samples::register(registrar);
        arrays::register(registrar);
        notebooks::register(registrar);
    }

    fn magic(
        &self,
        name: &str,
        argument: &str,
        context: &CellContext,
    ) -> Option<Result<String, String>> {
        connection::magic(&self.connections, name, argument, context).or_else(|| {
            notebooks::magic(&self.connections, &self.recorder, name, argument, context)
        })
    }

    fn after_cell(&self, code: &str, result: Result<&str, &str>, context: &CellContext) {
        self.recorder
            .record(&self.connections, code, result, context);
    }
}

/// How often a cell waiting on the server looks at the interrupt flag.
const CANCEL_POLL: Duration = Duration::from_millis(20);

/// Runs one blocking server call on its own thread and waits for it, so
/// that an interrupt ends the cell at once even while the server is slow
/// to answer; the abandoned call ends on its own (at the timeout at the
/// latest) and its result is dropped.
///
/// # Errors
/// The interruption, or the call's failure as [`reader_error`] makes it.
pub fn cancellable<T: Send + 'static>(
    context: &CellContext,
    work: impl FnOnce() -> Result<T, ReaderError> + Send + 'static,
) -> Result<T, Box<EvalAltResult>> {
    let (sender, receiver) = mpsc::channel();
    std::thread::Builder::new()
        .name("wendelin-call".into())
        .spawn(move || {
            let _ = sender.send(work());
        })
        .map_err(|e| format!("cannot start a thread for the server call: {e}"))?;

    loop {
        match receiver.recv_timeout(CANCEL_POLL) {
            Ok(result) => return result.map_err(reader_error),
            Err(mpsc::RecvTimeoutError::Timeout) => context.check()?,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err("the server call stopped without an answer".into());
            }
        }
    }
}

/// The cell's error for a `bigfile-reader` failure: an interrupt reads as
/// one, anything else keeps its message (which names the URL or value).
pub fn reader_error(error: ReaderError) -> Box<EvalAltResult> {
    match error {
        ReaderError::Cancelled => interrupted_error(),
        other => other.to_string().into(),
    }
}
