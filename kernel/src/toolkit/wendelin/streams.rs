//! Data Streams and `BigFileReader`: `size`, `read(start, end)`,
//! `iterate(chunk_size)`, `data()` (bounded), `append(blob)`, and the
//! seekable cached reader (`read(n)`, `seek(pos)`, `position`, `size`)
//! whose long reads show a progress display that ends in a one-line
//! summary, and stop at once on an interrupt.

use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use bigfile_reader::{
    BigFileReader, ByteRange, CacheOptions, DataStream, Format, Properties, ReaderError,
    ReaderOptions, StreamBytes,
};
use rhai::{Blob, Dynamic, EvalAltResult, FuncRegistration, Map};
use signal::{Progress, SignalError};

use super::arrays::DataArrayHandle;
use super::navigation::{DocumentHandle, HasProperties, properties_bundle, register_properties};
use super::{cancellable, reader_error};
use crate::context::{CellContext, interrupted_error};
use crate::display::{Displayable, MimeBundle};
use crate::toolkit::Registrar;
use crate::toolkit::saving::ImageHandle;
use crate::toolkit::signals::group_digits;

/// Reads of at least this many bytes show a progress display.
const PROGRESS_FROM: usize = 4 << 20;

/// Most bytes one `read(n)` or `read(start, end)` returns as a blob: the
/// engine's own limit on blobs.
const BLOB_LIMIT: u64 = crate::engine::MAX_ARRAY_SIZE as u64;

/// A Data Stream.
#[derive(Clone)]
pub struct DataStreamHandle {
    /// The bigfile-reader stream.
    pub stream: DataStream,
}

/// A `BigFileReader`; clones share the reader and its position.
#[derive(Clone)]
pub struct ReaderHandle {
    /// The bigfile-reader reader.
    pub reader: Arc<Mutex<BigFileReader>>,
    /// Where its progress goes (switched per long read).
    pub progress: Arc<SwitchProgress>,
    /// What it reads, for summaries ("data stream 1").
    pub label: String,
}

/// A [`Progress`] whose target is switched: the cell's cancellation flag
/// between reads, a progress display during a long one.
pub struct SwitchProgress {
    current: RwLock<Arc<dyn Progress>>,
    idle: Arc<dyn Progress>,
}

impl SwitchProgress {
    /// A switch that reports to the cell's cancellation flag.
    pub fn new(context: &CellContext) -> Self {
        let idle: Arc<dyn Progress> = Arc::new(context.cancel_flag());
        Self {
            current: RwLock::new(idle.clone()),
            idle,
        }
    }

    fn target(&self) -> Arc<dyn Progress> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Reports to `target` until [`SwitchProgress::reset`].
    pub fn set(&self, target: Arc<dyn Progress>) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = target;
    }

    /// Reports to the cancellation flag only.
    pub fn reset(&self) {
        self.set(self.idle.clone());
    }
}

impl Progress for SwitchProgress {
    fn advance(&self, done: u64, total: u64) {
        self.target().advance(done, total);
    }

    fn phase(&self, name: &str) {
        self.target().phase(name);
    }

    fn is_cancelled(&self) -> bool {
        self.target().is_cancelled()
    }

    fn check(&self) -> Result<(), SignalError> {
        self.target().check()
    }
}

impl HasProperties for DataStreamHandle {
    fn properties(&self) -> &Properties {
        self.stream.properties()
    }
}

impl Displayable for DataStreamHandle {
    fn mime_bundle(&self) -> MimeBundle {
        properties_bundle(self.stream.properties())
    }
}

impl Displayable for ReaderHandle {
    fn mime_bundle(&self) -> MimeBundle {
        let reader = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        MimeBundle::text(format!(
            "BigFileReader over {}: position {} of {} bytes",
            self.label,
            group_digits(reader.position()),
            group_digits(reader.size())
        ))
    }
}

/// The chunks of `stream.iterate(n)`, for `for chunk in ...`.
#[derive(Clone)]
pub struct ChunkIteration {
    bytes: StreamBytes,
    chunk_size: usize,
    context: CellContext,
}

impl IntoIterator for ChunkIteration {
    type Item = Result<Blob, Box<EvalAltResult>>;
    type IntoIter = Box<dyn Iterator<Item = Self::Item> + Send + Sync>;

    fn into_iter(self) -> Self::IntoIter {
        let context = self.context.clone();
        match self.bytes.iterate(self.chunk_size) {
            Ok(chunks) => Box::new(chunks.map(move |chunk| {
                context.check()?;
                chunk.map_err(reader_error)
            })),
            Err(error) => Box::new(std::iter::once(Err(reader_error(error)))),
        }
    }
}

/// Registers Data Streams and `BigFileReader`.
pub fn register(registrar: &mut Registrar<'_>) {
    registrar.register_type::<DataStreamHandle>("DataStream");
    registrar.register_type::<ReaderHandle>("BigFileReader");
    registrar
        .engine()
        .register_type_with_name::<ChunkIteration>("Chunks")
        .register_iterator_result::<ChunkIteration, Blob>();
    register_properties::<DataStreamHandle>(registrar);
    register_stream_calls(registrar);
    register_stream_writes(registrar);
    register_reader_constructors(registrar);
    register_array_readers(registrar);
    register_wrong_readers(registrar);
    register_reader_calls(registrar);
}

fn register_stream_calls(registrar: &mut Registrar<'_>) {
    let context = registrar.context();
    let reads = context.clone();
    let engine = registrar.engine();
    FuncRegistration::new("read")
        .with_params_info(["stream: &mut DataStream", "start: i64", "end: i64", "Blob"])
        .with_comments([
            "/// Bytes `start .. end` of the stream (end clamped to the size) as a blob.",
        ])
        .register_into_engine(
            engine,
            move |stream: &mut DataStreamHandle,
                  start: i64,
                  end: i64|
                  -> Result<Blob, Box<EvalAltResult>> {
                let (start, end) = byte_range(start, end)?;
                let stream = stream.stream.clone();
                cancellable(&reads, move || stream.read(start, end))
            },
        );
    FuncRegistration::new("iterate")
        .with_params_info(["stream: &mut DataStream", "chunk_size: i64", "Chunks"])
        .with_comments([
            "/// The stream's bytes in chunks of `chunk_size`, in order, read one at a time:",
            "/// `for chunk in s.iterate(1048576) { ... }`.",
        ])
        .register_into_engine(
            engine,
            move |stream: &mut DataStreamHandle,
                  chunk_size: i64|
                  -> Result<ChunkIteration, Box<EvalAltResult>> {
                if !(1..=BLOB_LIMIT as i64).contains(&chunk_size) {
                    return Err(format!(
                        "chunk size {chunk_size} is outside 1..={BLOB_LIMIT} bytes"
                    )
                    .into());
                }
                Ok(ChunkIteration {
                    bytes: stream.stream.bytes(),
                    chunk_size: chunk_size as usize,
                    context: context.clone(),
                })
            },
        );
}

fn register_stream_writes(registrar: &mut Registrar<'_>) {
    let context = registrar.context();
    let engine = registrar.engine();
    FuncRegistration::new("data")
        .with_params_info(["stream: &mut DataStream", "Blob"])
        .with_comments([
            "/// Every byte of the stream as a blob; refused above 64 MiB (use",
            "/// `BigFileReader(stream)` or `iterate` for larger streams).",
        ])
        .register_into_engine(
            engine,
            move |stream: &mut DataStreamHandle| -> Result<Blob, Box<EvalAltResult>> {
                let stream = stream.stream.clone();
                cancellable(&context, move || stream.data())
            },
        );
    FuncRegistration::new("append")
        .with_params_info(["stream: &mut DataStream", "bytes: Blob", "i64"])
        .with_comments(["/// Appends `bytes` to the stream; returns its new size."])
        .register_into_engine(
            engine,
            |stream: &mut DataStreamHandle, bytes: Blob| -> Result<i64, Box<EvalAltResult>> {
                let size = stream.stream.append(&bytes).map_err(reader_error)?;
                Ok(size as i64)
            },
        );
    engine.register_fn("append", |stream: &mut DataStreamHandle, text: &str| {
        stream
            .stream
            .append(text.as_bytes())
            .map(|size| size as i64)
            .map_err(reader_error)
    });
}

/// Checks `start .. end` for a byte read.
fn byte_range(start: i64, end: i64) -> Result<(u64, u64), Box<EvalAltResult>> {
    if start < 0 || end < start {
        return Err(
            format!("read({start}, {end}) is not a byte range; use 0 <= start <= end").into(),
        );
    }
    if (end - start) as u64 > BLOB_LIMIT {
        return Err(format!(
            "read({start}, {end}) asks for {} bytes, more than the blob limit of {BLOB_LIMIT}; \
             use BigFileReader or iterate(chunk_size)",
            end - start
        )
        .into());
    }
    Ok((start as u64, end as u64))
}

fn register_reader_constructors(registrar: &mut Registrar<'_>) {
    let context = registrar.context();
    let engine = registrar.engine();
    let ctx = context.clone();
    FuncRegistration::new("BigFileReader")
        .with_params_info(["stream: DataStream", "BigFileReader"])
        .with_comments([
            "/// A seekable, cached reader over a Data Stream (32 MiB cache):",
            "/// `read(n)`, `seek(pos)`, `position`, `size`, `wav()`, `samples(#{...})`.",
        ])
        .register_into_engine(
            engine,
            move |stream: DataStreamHandle| -> Result<ReaderHandle, Box<EvalAltResult>> {
                open_reader(
                    &ctx,
                    stream.stream.object(),
                    &stream_label(&stream),
                    &Map::new(),
                )
            },
        );
    let ctx = context.clone();
    FuncRegistration::new("BigFileReader")
        .with_params_info(["stream: DataStream", "options: Map", "BigFileReader"])
        .with_comments([
            "/// A reader with options: `format` (\"raw\" or \"fluentd\": read the payloads",
            "/// of fluentd msgpack frames) and `cache` (\"32MiB\", \"256KiB\" or bytes).",
        ])
        .register_into_engine(
            engine,
            move |stream: DataStreamHandle,
                  options: Map|
                  -> Result<ReaderHandle, Box<EvalAltResult>> {
                open_reader(
                    &ctx,
                    stream.stream.object(),
                    &stream_label(&stream),
                    &options,
                )
            },
        );
}

fn register_array_readers(registrar: &mut Registrar<'_>) {
    let context = registrar.context();
    let engine = registrar.engine();
    let ctx = context.clone();
    FuncRegistration::new("BigFileReader")
        .with_params_info(["array: DataArray", "BigFileReader"])
        .with_comments(["/// A seekable, cached reader over the bytes of a Data Array."])
        .register_into_engine(
            engine,
            move |array: DataArrayHandle| -> Result<ReaderHandle, Box<EvalAltResult>> {
                let label = format!("data array {}", array.array.properties().id);
                open_reader(&ctx, array.object(), &label, &Map::new())
            },
        );
    let ctx = context;
    FuncRegistration::new("BigFileReader")
        .with_params_info(["array: DataArray", "options: Map", "BigFileReader"])
        .with_comments(["/// A reader over a Data Array's bytes, with options (see above)."])
        .register_into_engine(
            engine,
            move |array: DataArrayHandle,
                  options: Map|
                  -> Result<ReaderHandle, Box<EvalAltResult>> {
                let label = format!("data array {}", array.array.properties().id);
                open_reader(&ctx, array.object(), &label, &options)
            },
        );
}

/// A reader over another document fails naming its type.
/// `BigFileReader` of a document that holds no stream of samples (an
/// Image, an Ingestion Policy) fails naming its type and what would work.
fn register_wrong_readers(registrar: &mut Registrar<'_>) {
    let engine = registrar.engine();
    engine.register_fn(
        "BigFileReader",
        |document: DocumentHandle| -> Result<ReaderHandle, Box<EvalAltResult>> {
            Err(wrong_type(document.document.properties()))
        },
    );
    engine.register_fn(
        "BigFileReader",
        |document: DocumentHandle, _: Map| -> Result<ReaderHandle, Box<EvalAltResult>> {
            Err(wrong_type(document.document.properties()))
        },
    );
    engine.register_fn(
        "BigFileReader",
        |image: ImageHandle| -> Result<ReaderHandle, Box<EvalAltResult>> {
            Err(wrong_type(image.document.properties()))
        },
    );
    engine.register_fn(
        "BigFileReader",
        |image: ImageHandle, _: Map| -> Result<ReaderHandle, Box<EvalAltResult>> {
            Err(wrong_type(image.document.properties()))
        },
    );
}

fn wrong_type(properties: &Properties) -> Box<EvalAltResult> {
    reader_error(ReaderError::WrongType {
        url: properties.url.clone(),
        expected: "Data Stream or Data Array".to_owned(),
        found: properties.portal_type.clone(),
    })
}

fn stream_label(stream: &DataStreamHandle) -> String {
    let properties = stream.stream.properties();
    if properties.reference.is_empty() {
        format!("data stream {}", properties.id)
    } else {
        format!("data stream {} ({})", properties.id, properties.reference)
    }
}

/// Opens a reader with the options of the map.
fn open_reader(
    context: &CellContext,
    object: Arc<dyn ByteRange>,
    label: &str,
    options: &Map,
) -> Result<ReaderHandle, Box<EvalAltResult>> {
    let options = reader_options(options)?;
    let switch = Arc::new(SwitchProgress::new(context));
    let fluentd = options.format == Format::Fluentd;
    if fluentd {
        let display: Arc<crate::context::ProgressDisplay> =
            Arc::new(context.progress(&format!("indexing {label}")));
        switch.set(display.clone());
        let reader = BigFileReader::with_options(object, options, switch.clone());
        switch.reset();
        let reader = reader.map_err(reader_error)?;
        display.finish(&format!("{} payload bytes", group_digits(reader.size())));
        return Ok(handle(reader, switch, label));
    }
    let reader =
        BigFileReader::with_options(object, options, switch.clone()).map_err(reader_error)?;
    Ok(handle(reader, switch, label))
}

fn handle(reader: BigFileReader, progress: Arc<SwitchProgress>, label: &str) -> ReaderHandle {
    ReaderHandle {
        reader: Arc::new(Mutex::new(reader)),
        progress,
        label: label.to_owned(),
    }
}

/// Reader options from `#{format, cache}`.
fn reader_options(map: &Map) -> Result<ReaderOptions, Box<EvalAltResult>> {
    let mut options = ReaderOptions::default();
    for (key, value) in map {
        match key.as_str() {
            "format" => {
                options.format = value.to_string().parse().map_err(reader_error)?;
            }
            "cache" => {
                let capacity = parse_size(value)?;
                options.cache = CacheOptions {
                    capacity,
                    max_read_ahead: options.cache.max_read_ahead.min(capacity),
                    ..options.cache
                };
            }
            other => {
                return Err(format!(
                    "BigFileReader option {other:?} is not known; use format or cache"
                )
                .into());
            }
        }
    }
    Ok(options)
}

/// A byte count from `1048576`, `"32MiB"`, `"256 KiB"`, `"1GiB"`, `"64MB"`.
pub fn parse_size(value: &Dynamic) -> Result<usize, Box<EvalAltResult>> {
    if let Ok(bytes) = value.as_int() {
        return usize::try_from(bytes)
            .ok()
            .filter(|b| *b > 0)
            .ok_or_else(|| format!("size {bytes} is not a positive number of bytes").into());
    }
    let text = value.to_string();
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kib" | "k" => 1024.0,
        "kb" => 1e3,
        "mib" | "m" => 1024.0 * 1024.0,
        "mb" => 1e6,
        "gib" | "g" => 1024.0 * 1024.0 * 1024.0,
        "gb" => 1e9,
        _ => return Err(bad_size(&text)),
    };
    let number: f64 = number.parse().map_err(|_| bad_size(&text))?;
    let bytes = number * factor;
    if !(1.0..=(1u64 << 40) as f64).contains(&bytes) {
        return Err(bad_size(&text));
    }
    Ok(bytes as usize)
}

fn bad_size(text: &str) -> Box<EvalAltResult> {
    format!("size {text:?} is not understood; write bytes or e.g. \"32MiB\", \"512KiB\"").into()
}

fn register_reader_calls(registrar: &mut Registrar<'_>) {
    let context = registrar.context();
    let engine = registrar.engine();
    engine.register_get("size", |reader: &mut ReaderHandle| {
        reader.lock().size() as i64
    });
    engine.register_get("position", |reader: &mut ReaderHandle| {
        reader.lock().position() as i64
    });
    FuncRegistration::new("seek")
        .with_params_info(["reader: &mut BigFileReader", "position: i64", "i64"])
        .with_comments(["/// Moves the position to `position` (0 ..= size); returns it."])
        .register_into_engine(
            engine,
            |reader: &mut ReaderHandle, position: i64| -> Result<i64, Box<EvalAltResult>> {
                let position = u64::try_from(position)
                    .map_err(|_| format!("seek({position}) needs a position >= 0"))?;
                let moved = reader.lock().seek(position).map_err(reader_error)?;
                Ok(moved as i64)
            },
        );
    FuncRegistration::new("read")
        .with_params_info(["reader: &mut BigFileReader", "count: i64", "Blob"])
        .with_comments([
            "/// Reads up to `count` bytes from the position and moves it on; long reads",
            "/// show their progress and end with bytes, seconds and throughput.",
        ])
        .register_into_engine(
            engine,
            move |reader: &mut ReaderHandle, count: i64| -> Result<Blob, Box<EvalAltResult>> {
                let count = usize::try_from(count)
                    .ok()
                    .filter(|c| *c as u64 <= BLOB_LIMIT)
                    .ok_or_else(|| {
                        format!(
                            "read({count}) is outside 0..={BLOB_LIMIT} bytes; \
                             read in chunks, or use skip(n) to count without keeping them"
                        )
                    })?;
                read_with_progress(&context, reader, count, true).map(|(bytes, _)| bytes)
            },
        );
    let context = registrar.context();
    FuncRegistration::new("skip")
        .with_params_info(["reader: &mut BigFileReader", "count: i64", "i64"])
        .with_comments([
            "/// Reads `count` bytes (or to the end with -1) without keeping them, in",
            "/// chunks; returns how many were read. Shows progress like `read`.",
        ])
        .register_into_engine(
            registrar.engine(),
            move |reader: &mut ReaderHandle, count: i64| -> Result<i64, Box<EvalAltResult>> {
                let count = if count < 0 {
                    usize::MAX
                } else {
                    count as usize
                };
                read_with_progress(&context, reader, count, false).map(|(_, n)| n as i64)
            },
        );
}

impl ReaderHandle {
    /// The reader, locked.
    pub fn lock(&self) -> std::sync::MutexGuard<'_, BigFileReader> {
        self.reader.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Reads `count` bytes (kept or not), showing progress for long reads.
fn read_with_progress(
    context: &CellContext,
    handle: &ReaderHandle,
    count: usize,
    keep: bool,
) -> Result<(Blob, u64), Box<EvalAltResult>> {
    let mut reader = handle.lock();
    let wanted = count.min(reader.size().saturating_sub(reader.position()) as usize);
    let display = (wanted >= PROGRESS_FROM)
        .then(|| Arc::new(context.progress(&format!("reading {}", handle.label))));
    if let Some(display) = &display {
        handle.progress.set(display.clone());
        reader.cache().set_progress(display.clone());
    }
    let started = Instant::now();
    let result = read_chunks(&mut reader, wanted, keep);
    handle.progress.reset();
    reader.cache().set_progress(handle.progress.clone());
    let (bytes, total) = result.map_err(|error| match error {
        ReaderError::Cancelled => interrupted_error(),
        other => reader_error(other),
    })?;
    if let Some(display) = display {
        display.finish(&throughput(total, started.elapsed().as_secs_f64()));
    }
    Ok((bytes, total))
}

fn read_chunks(
    reader: &mut BigFileReader,
    wanted: usize,
    keep: bool,
) -> Result<(Blob, u64), ReaderError> {
    if keep {
        let bytes = reader.read(wanted)?;
        let total = bytes.len() as u64;
        return Ok((bytes, total));
    }
    let mut buffer = vec![0u8; wanted.min(8 << 20)];
    let mut total = 0_u64;
    while (total as usize) < wanted {
        let take = buffer.len().min(wanted - total as usize);
        let count = reader.read_into(&mut buffer[..take])?;
        if count == 0 {
            break;
        }
        total += count as u64;
    }
    Ok((Blob::new(), total))
}

/// "1,048,576 bytes, 512.0 MB/s"; the display adds the seconds.
pub fn throughput(bytes: u64, seconds: f64) -> String {
    let rate = if seconds > 0.0 {
        bytes as f64 / seconds / 1e6
    } else {
        f64::INFINITY
    };
    format!("{} bytes, {rate:.1} MB/s", group_digits(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_and_decimal_units() {
        assert_eq!(parse_size(&Dynamic::from("32MiB")).unwrap(), 32 << 20);
        assert_eq!(parse_size(&Dynamic::from("256 KiB")).unwrap(), 256 << 10);
        assert_eq!(parse_size(&Dynamic::from("2MB")).unwrap(), 2_000_000);
        assert_eq!(parse_size(&Dynamic::from(4096_i64)).unwrap(), 4096);
    }

    #[test]
    fn unknown_size_unit_is_refused_with_the_text() {
        let error = parse_size(&Dynamic::from("3 parsecs"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("3 parsecs"), "{error}");
    }

    #[test]
    fn unknown_reader_option_is_named() {
        let mut map = Map::new();
        map.insert("colour".into(), "red".into());
        let error = reader_options(&map).err().unwrap().to_string();
        assert!(error.contains("colour"), "{error}");
    }

    #[test]
    fn backwards_byte_range_is_refused() {
        assert!(byte_range(10, 5).is_err());
        assert_eq!(byte_range(5, 10).unwrap(), (5, 10));
    }
}
