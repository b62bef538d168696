//! Data Arrays: `module.create(#{reference, title}, signal_or_numbers)`
//! streams samples into a new `<f8` Data Array in chunks with progress (a
//! signal larger than memory is never held whole); `dtype`, `shape`,
//! bounded `read(a, b)` and the lazy `signal()` at the stored sample rate.
//! Also the other `module.create` overloads: a blob becomes a Data Stream
//! or an Image, by module.

use std::sync::Arc;

use bigfile_reader::{DataArray, Document, HttpObject, Properties};
use rhai::{Array, Blob, Dynamic, EvalAltResult, FuncRegistration, Map};
use signal::{RealVector, Source};

use super::navigation::{
    DocumentHandle, HasProperties, ModuleHandle, properties_bundle, register_properties,
};
use super::reader_error;
use super::streams::{DataStreamHandle, throughput};
use crate::context::CellContext;
use crate::display::{Displayable, MimeBundle};
use crate::toolkit::signals::Signal;
use crate::toolkit::{Registrar, to_rhai_array};

/// Bytes per appending PUT when a blob becomes a Data Stream.
const APPEND_CHUNK: usize = 8 << 20;

/// A Data Array.
#[derive(Clone)]
pub struct DataArrayHandle {
    /// The bigfile-reader array.
    pub array: DataArray,
    /// The same document, for its raw bytes.
    pub document: Document,
}

impl DataArrayHandle {
    /// The array's bytes as a byte range.
    pub fn object(&self) -> Arc<HttpObject> {
        self.document.bytes()
    }

    /// The array as the shared `Signal` (its first column).
    ///
    /// # Errors
    /// The failure to open it.
    pub fn to_signal(&self) -> Result<Signal, Box<EvalAltResult>> {
        let source = self.array.signal().map_err(reader_error)?;
        Ok(Signal::new(Arc::new(source), self.label()))
    }

    fn label(&self) -> String {
        let properties = self.array.properties();
        if properties.reference.is_empty() {
            format!("data array {}", properties.id)
        } else {
            properties.reference.clone()
        }
    }
}

impl HasProperties for DataArrayHandle {
    fn properties(&self) -> &Properties {
        self.array.properties()
    }
}

impl Displayable for DataArrayHandle {
    fn mime_bundle(&self) -> MimeBundle {
        let mut bundle = properties_bundle(self.array.properties());
        let extra = format!(
            ", dtype {}, shape {:?}{}",
            self.array.dtype(),
            self.array.shape(),
            self.array
                .sample_rate()
                .map(|rate| format!(", {rate} Hz"))
                .unwrap_or_default()
        );
        let text = format!("{}{extra}", bundle.plain());
        bundle
            .data
            .insert("text/plain".into(), serde_json::Value::String(text));
        bundle
    }
}

/// Registers Data Arrays and the `module.create` overloads.
pub fn register(registrar: &mut Registrar<'_>) {
    registrar.register_type::<DataArrayHandle>("DataArray");
    register_properties::<DataArrayHandle>(registrar);
    register_array_calls(registrar);
    register_create(registrar);
    register_create_from_bytes(registrar);
}

fn register_array_calls(registrar: &mut Registrar<'_>) {
    let context = registrar.context();
    let engine = registrar.engine();
    engine.register_get("dtype", |array: &mut DataArrayHandle| array.array.dtype());
    engine.register_get("shape", |array: &mut DataArrayHandle| -> Array {
        array
            .array
            .shape()
            .into_iter()
            .map(|dim| Dynamic::from_int(dim as i64))
            .collect()
    });
    engine.register_get("sample_rate", |array: &mut DataArrayHandle| {
        array
            .array
            .sample_rate()
            .map_or(Dynamic::UNIT, Dynamic::from_float)
    });
    FuncRegistration::new("read")
        .with_params_info(["array: &mut DataArray", "start: i64", "end: i64", "Array"])
        .with_comments([
            "/// Rows `start .. end` as an array of floats (flattened), refused past the",
            "/// array limit; use `signal()` for long ranges.",
        ])
        .register_into_engine(
            engine,
            move |array: &mut DataArrayHandle,
                  start: i64,
                  end: i64|
                  -> Result<Array, Box<EvalAltResult>> {
                read_rows(&context, array, start, end)
            },
        );
    FuncRegistration::new("signal")
        .with_params_info(["array: &mut DataArray", "Signal"])
        .with_comments(["/// The array as a lazy signal at its stored sample rate."])
        .register_into_engine(engine, |array: &mut DataArrayHandle| array.to_signal());
    FuncRegistration::new("column")
        .with_params_info(["array: &mut DataArray", "index: i64", "Signal"])
        .with_comments(["/// Column `index` of a 2-D array as a lazy signal."])
        .register_into_engine(
            engine,
            |array: &mut DataArrayHandle, index: i64| -> Result<Signal, Box<EvalAltResult>> {
                let index = usize::try_from(index)
                    .map_err(|_| format!("column({index}) needs an index >= 0"))?;
                let source = array.array.column(index).map_err(reader_error)?;
                Ok(Signal::new(
                    Arc::new(source),
                    format!("column {index} of {}", array.label()),
                ))
            },
        );
}

fn read_rows(
    context: &CellContext,
    array: &DataArrayHandle,
    start: i64,
    end: i64,
) -> Result<Array, Box<EvalAltResult>> {
    if start < 0 || end < start {
        return Err(
            format!("read({start}, {end}) is not a row range; use 0 <= start <= end").into(),
        );
    }
    let values = (end - start) as usize * array.array.row_width();
    if values > context.array_limit() {
        return Err(format!(
            "read({start}, {end}) would make {values} values, more than the array limit of {}; \
             use array.signal() and its statistics, or read a shorter range",
            context.array_limit()
        )
        .into());
    }
    let values = array
        .array
        .read(start as u64, end as u64)
        .map_err(reader_error)?;
    to_rhai_array(&values, context.array_limit())
}

fn register_create(registrar: &mut Registrar<'_>) {
    let context = registrar.context();
    FuncRegistration::new("create")
        .with_params_info([
            "module: &mut Module",
            "properties: Map",
            "signal: Signal",
            "DataArray",
        ])
        .with_comments([
            "/// A new `<f8` Data Array holding the signal's samples (with its sample",
            "/// rate), streamed in chunks with progress: `create(#{reference: \"left\"}, left)`.",
        ])
        .register_into_engine(
            registrar.engine(),
            move |module: &mut ModuleHandle, properties: Map, signal: Signal| {
                create_array(
                    &context,
                    module,
                    &properties,
                    signal.source.as_ref(),
                    &signal.label,
                )
            },
        );
    let context = registrar.context();
    FuncRegistration::new("create")
        .with_params_info([
            "module: &mut Module",
            "properties: Map",
            "values: Array",
            "DataArray",
        ])
        .with_comments(["/// A new `<f8` Data Array holding an array of numbers."])
        .register_into_engine(
            registrar.engine(),
            move |module: &mut ModuleHandle, properties: Map, values: Array| {
                let vector = numbers(&values)?;
                let vector = match number(&properties, "sample_rate")? {
                    Some(rate) => vector.with_sample_rate(rate),
                    None => vector,
                };
                create_array(&context, module, &properties, &vector, "array")
            },
        );
}

fn register_create_from_bytes(registrar: &mut Registrar<'_>) {
    let context = registrar.context();
    FuncRegistration::new("create")
        .with_params_info([
            "module: &mut Module",
            "properties: Map",
            "bytes: Blob",
            "Document",
        ])
        .with_comments([
            "/// A new document holding `bytes`: a Data Stream in `data_stream_module`",
            "/// (appended in chunks), an Image (PNG bytes) in `image_module`.",
        ])
        .register_into_engine(
            registrar.engine(),
            move |module: &mut ModuleHandle, properties: Map, bytes: Blob| {
                create_from_bytes(&context, module, &properties, &bytes)
            },
        );
}

/// The creation fields of a property map (reference, title, extras).
fn fields(
    properties: &Map,
) -> Result<serde_json::Map<String, serde_json::Value>, Box<EvalAltResult>> {
    properties
        .iter()
        .map(|(key, value)| {
            let json = serde_json::to_value(value)
                .map_err(|e| format!("property {key} cannot be stored: {e}"))?;
            Ok((key.to_string(), json))
        })
        .collect()
}

fn number(properties: &Map, key: &str) -> Result<Option<f64>, Box<EvalAltResult>> {
    match properties.get(key) {
        None => Ok(None),
        Some(value) => value
            .as_float()
            .or_else(|_| value.as_int().map(|i| i as f64))
            .map(Some)
            .map_err(|_| format!("{key} must be a number, not {value}").into()),
    }
}

fn numbers(values: &Array) -> Result<RealVector, Box<EvalAltResult>> {
    crate::toolkit::signals::numbers(values).map(RealVector::new)
}

/// `Ok` when `module` is the module `expected`; else the error
/// "create: {what} in context.{expected}, not in {module}".
///
/// # Errors
/// The message above.
pub(crate) fn expect_module(
    module: &ModuleHandle,
    expected: &str,
    what: &str,
) -> Result<(), Box<EvalAltResult>> {
    if module.module.id() == expected {
        return Ok(());
    }
    Err(format!(
        "create: {what} in context.{expected}, not in {}",
        module.module.id()
    )
    .into())
}

fn create_array(
    context: &CellContext,
    module: &ModuleHandle,
    properties: &Map,
    source: &dyn Source,
    label: &str,
) -> Result<DataArrayHandle, Box<EvalAltResult>> {
    expect_module(module, "data_array_module", "Data Arrays are created")?;
    let fields = fields(properties)?;
    let progress = context.progress(&format!("writing {label} to a Data Array"));
    let started = std::time::Instant::now();
    let array = module
        .module
        .create_array(fields, source, &progress)
        .map_err(reader_error)?;
    progress.finish(&throughput(
        source.len() * 8,
        started.elapsed().as_secs_f64(),
    ));
    let document = module
        .module
        .get(&array.properties().id)
        .map_err(reader_error)?;
    Ok(DataArrayHandle { array, document })
}

fn create_from_bytes(
    context: &CellContext,
    module: &ModuleHandle,
    properties: &Map,
    bytes: &[u8],
) -> Result<Dynamic, Box<EvalAltResult>> {
    let fields = fields(properties)?;
    match module.module.id() {
        "image_module" => {
            let document = module
                .module
                .create_image(fields, bytes)
                .map_err(reader_error)?;
            Ok(Dynamic::from(DocumentHandle { document }))
        }
        "data_stream_module" => {
            let stream = module
                .module
                .create(fields)
                .and_then(|document| document.into_data_stream())
                .map_err(reader_error)?;
            for chunk in bytes.chunks(APPEND_CHUNK) {
                context.check()?;
                stream.append(chunk).map_err(reader_error)?;
            }
            let document = module
                .module
                .get(&stream.properties().id)
                .map_err(reader_error)?;
            let stream = document.into_data_stream().map_err(reader_error)?;
            Ok(Dynamic::from(DataStreamHandle { stream }))
        }
        other => Err(format!(
            "bytes become a Data Stream in context.data_stream_module or an Image in \
             context.image_module, not a document of {other}; use a signal for Data Arrays"
        )
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_accept_integers_and_floats() {
        let values: Array = vec![Dynamic::from_int(1), Dynamic::from_float(2.5)];
        assert_eq!(numbers(&values).unwrap().values, vec![1.0, 2.5]);
    }

    #[test]
    fn a_text_item_is_named_by_its_index() {
        let values: Array = vec![Dynamic::from_int(1), Dynamic::from("x")];
        let error = numbers(&values).unwrap_err().to_string();
        assert!(error.contains("item 1"), "{error}");
    }

    #[test]
    fn properties_become_json_fields() {
        let mut map = Map::new();
        map.insert("reference".into(), "left".into());
        map.insert("sample_rate".into(), Dynamic::from_int(48000));
        let fields = fields(&map).unwrap();
        assert_eq!(fields["reference"], serde_json::json!("left"));
        assert_eq!(fields["sample_rate"], serde_json::json!(48000));
    }
}
