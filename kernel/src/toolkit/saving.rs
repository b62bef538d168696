//! Saving analysis results to the server: `module.create(#{reference},
//! value)` overloads for a spectrum (a `<c16` Data Array), a PSD and a
//! spectrogram (`<f8` Data Arrays, the spectrogram `[frames, bins]`) and a
//! figure (an Image holding the PNG the notebook showed), and the `Image`
//! value, which shows inline from the bytes the server holds.
//!
//! Values are written with `spectral`'s `DataArrayExport`: raw
//! little-endian bytes in bounded chunks, each one appending PUT through
//! `bigfile-reader`, so a spectrum larger than memory is never held whole.
//! The axis steps become properties (`frequency_step` in Hz,
//! `time_step` in s, `axes`). Navigation and the other `create` overloads
//! are the Wendelin binding's (`wendelin/`).

use bigfile_reader::{ByteRange, Document, Properties, read_exact_at};
use rhai::{Dynamic, EvalAltResult, FuncRegistration, Map};
use serde_json::{Value, json};
use signal::SignalError;
use spectral::{DataArrayExport, SpectralError, human_bytes};

use super::analysis::{JobProgress, PsdValue, SpectrogramValue, SpectrumValue, spectral_error};
use super::plots::FigureValue;
use super::wendelin::arrays::{DataArrayHandle, expect_module};
use super::wendelin::navigation::{
    DocumentHandle, HasProperties, ModuleHandle, properties_bundle, register_properties,
};
use super::wendelin::reader_error;
use super::{Registrar, Toolkit};
use crate::context::CellContext;
use crate::display::{Displayable, MimeBundle};

/// Bytes per appending PUT (rounded down to whole rows).
const WRITE_CHUNK_BYTES: u64 = 8 << 20;

/// The largest Image shown inline; larger ones show their properties.
pub const MAX_INLINE_IMAGE_BYTES: u64 = 32 << 20;

/// Properties the kernel sets on the arrays it writes; a user map may not
/// give them.
const RESERVED: &[&str] = &[
    "portal_type",
    "dtype",
    "shape",
    "axes",
    "frequency_step",
    "time_step",
];

/// Registers the `create` overloads for results and the `Image` type.
#[derive(Debug, Clone, Copy)]
pub struct Saving;

impl Toolkit for Saving {
    fn name(&self) -> &'static str {
        "saving"
    }

    fn register(&self, registrar: &mut Registrar<'_>) {
        registrar.register_type::<ImageHandle>("Image");
        register_properties::<ImageHandle>(registrar);
        register_array_creation(registrar);
        register_image_creation(registrar);
    }
}

// ---------------------------------------------------------------------
// images

/// An Image document, shown inline from the bytes the server holds; what
/// `module["1"]` gives for an Image and what saving a figure returns.
#[derive(Clone)]
pub struct ImageHandle {
    /// The bigfile-reader document.
    pub document: Document,
}

impl HasProperties for ImageHandle {
    fn properties(&self) -> &Properties {
        self.document.properties()
    }
}

impl Displayable for ImageHandle {
    fn mime_bundle(&self) -> MimeBundle {
        let bundle = properties_bundle(self.document.properties());
        match self.png() {
            Ok(Some((png, width, height))) => bundle.with_png(&png, width, height),
            Ok(None) => bundle,
            Err(message) => {
                let text = format!("{} (not shown: {message})", bundle.plain());
                MimeBundle {
                    data: serde_json::Map::from_iter([("text/plain".into(), Value::String(text))]),
                    ..bundle
                }
            }
        }
    }
}

impl ImageHandle {
    /// The server's bytes with their pixel size, when they are a PNG of
    /// at most [`MAX_INLINE_IMAGE_BYTES`].
    fn png(&self) -> Result<Option<(Vec<u8>, u32, u32)>, String> {
        let size = self.document.properties().size;
        if size > MAX_INLINE_IMAGE_BYTES {
            return Ok(None);
        }
        let mut bytes = vec![0; size as usize];
        read_exact_at(self.document.bytes().as_ref(), 0, &mut bytes).map_err(|e| e.to_string())?;
        Ok(png_size(&bytes).map(|(width, height)| (bytes, width, height)))
    }
}

/// Width and height from a PNG's IHDR chunk, `None` for other bytes.
pub fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if bytes.len() < 24 || !bytes.starts_with(SIGNATURE) || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let number =
        |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    Some((number(16), number(20)))
}

fn register_image_creation(registrar: &mut Registrar<'_>) {
    FuncRegistration::new("create")
        .with_params_info([
            "module: &mut Module",
            "properties: Map",
            "figure: Figure",
            "Image",
        ])
        .with_comments([
            "/// A new Image in `context.image_module` holding the figure's PNG, byte",
            "/// for byte as the notebook showed it: `create(#{reference: \"spectrum\"}, fig)`.",
        ])
        .register_into_engine(
            registrar.engine(),
            |module: &mut ModuleHandle,
             properties: Map,
             figure: FigureValue|
             -> Result<ImageHandle, Box<EvalAltResult>> {
                expect_module(module, "image_module", "figures are saved as Images")?;
                let fields = fields(&properties, &["portal_type"])?;
                let document = module
                    .module
                    .create_image(fields, &figure.figure.png)
                    .map_err(reader_error)?;
                Ok(ImageHandle { document })
            },
        );
}

// ---------------------------------------------------------------------
// arrays

fn register_array_creation(registrar: &mut Registrar<'_>) {
    let doc_spectrum = [
        "/// A new `<c16` Data Array in `context.data_array_module` holding the",
        "/// spectrum's bins (complex128, numpy's order), with `frequency_step` (Hz)",
        "/// `transform_len` and `signal_sample_rate` as properties, written in chunks with progress.",
    ];
    let context = registrar.context();
    FuncRegistration::new("create")
        .with_params_info([
            "module: &mut Module",
            "properties: Map",
            "spectrum: Spectrum",
            "Document",
        ])
        .with_comments(doc_spectrum)
        .register_into_engine(
            registrar.engine(),
            move |module: &mut ModuleHandle, properties: Map, value: SpectrumValue| {
                let mut extra = vec![("transform_len", json!(value.spectrum.transform_len()))];
                if let Some(rate) = value.spectrum.sample_rate() {
                    extra.push(("signal_sample_rate", json!(rate)));
                }
                let export = value.spectrum.to_data_array();
                write_array(&context, module, &properties, &export, &value.label, &extra)
            },
        );

    let context = registrar.context();
    FuncRegistration::new("create")
        .with_params_info([
            "module: &mut Module",
            "properties: Map",
            "psd: Psd",
            "DataArray",
        ])
        .with_comments([
            "/// A new `<f8` Data Array holding the PSD's values, with `frequency_step`",
            "/// (Hz) as a property.",
        ])
        .register_into_engine(
            registrar.engine(),
            move |module: &mut ModuleHandle, properties: Map, value: PsdValue| {
                let export = value.psd.to_data_array();
                write_array(&context, module, &properties, &export, &value.label, &[])
            },
        );

    let context = registrar.context();
    FuncRegistration::new("create")
        .with_params_info([
            "module: &mut Module",
            "properties: Map",
            "spectrogram: Spectrogram",
            "DataArray",
        ])
        .with_comments([
            "/// A new `<f8` Data Array of shape [frames, bins] (frame after frame, the",
            "/// transpose of scipy's layout), with `frequency_step` and `time_step`.",
        ])
        .register_into_engine(
            registrar.engine(),
            move |module: &mut ModuleHandle, properties: Map, value: SpectrogramValue| {
                let export = value.spectrogram.to_data_array();
                write_array(&context, module, &properties, &export, &value.label, &[])
            },
        );
}

/// Creates the Data Array and appends the export's bytes, whole rows per
/// PUT. Returns a `DataArray` when `bigfile-reader` reads the dtype back
/// (`<f8`), else the `Document` (`<c16`).
fn write_array(
    context: &CellContext,
    module: &ModuleHandle,
    properties: &Map,
    export: &DataArrayExport,
    label: &str,
    extra: &[(&str, Value)],
) -> Result<Dynamic, Box<EvalAltResult>> {
    expect_module(
        module,
        "data_array_module",
        "results are saved as Data Arrays",
    )?;
    let mut fields = fields(properties, RESERVED)?;
    fields.extend(array_fields(export));
    fields.extend(
        extra
            .iter()
            .map(|(key, value)| (key.to_string(), value.clone())),
    );
    let document = module.module.create(fields).map_err(reader_error)?;

    let progress = JobProgress::new(context, &format!("writing {label} to a Data Array"), true);
    append_export(&document, export, &progress)?;
    progress.finish(&format!("{} written", human_bytes(export.len_bytes())));

    let document = document.refreshed().map_err(reader_error)?;
    Ok(match document.clone().into_data_array() {
        Ok(array) => Dynamic::from(DataArrayHandle { array, document }),
        Err(_) => Dynamic::from(DocumentHandle { document }),
    })
}

/// The properties describing an export: dtype, shape with no rows yet,
/// axes and steps.
fn array_fields(export: &DataArrayExport) -> Vec<(String, Value)> {
    let mut shape = export.shape.clone();
    shape[0] = 0;
    let mut fields = vec![
        ("portal_type".to_string(), json!("Data Array")),
        ("dtype".to_string(), json!(export.dtype.as_str())),
        ("shape".to_string(), json!(shape)),
        ("axes".to_string(), json!(export.axes)),
    ];
    if let Some(step) = export.frequency_step {
        fields.push(("frequency_step".to_string(), json!(step)));
    }
    if let Some(step) = export.time_step {
        fields.push(("time_step".to_string(), json!(step)));
    }
    fields
}

fn append_export(
    document: &Document,
    export: &DataArrayExport,
    progress: &JobProgress,
) -> Result<(), Box<EvalAltResult>> {
    let object = document.bytes();
    let row_bytes = export.shape[1..].iter().product::<u64>() * export.dtype.item_size();
    let chunk = (WRITE_CHUNK_BYTES / row_bytes).max(1) * row_bytes;
    export
        .for_each_chunk(chunk as usize, progress, |bytes| {
            object
                .append(bytes)
                .map(drop)
                .map_err(|error| SpectralError::Signal(SignalError::read(error)))
        })
        .map_err(|error| spectral_error("create", error))
}

/// The creation fields of a user's property map, refusing `reserved`
/// keys.
fn fields(
    properties: &Map,
    reserved: &[&str],
) -> Result<serde_json::Map<String, Value>, Box<EvalAltResult>> {
    if let Some(key) = properties
        .keys()
        .find(|key| reserved.contains(&key.as_str()))
    {
        return Err(format!(
            "create: property {:?} is set by the kernel from the value saved; leave it out",
            key.as_str()
        )
        .into());
    }
    properties
        .iter()
        .map(|(key, value)| {
            let json = crate::display::to_json(value).ok_or_else(|| -> Box<EvalAltResult> {
                format!("create: property {key} is not plain data (a number, text, array or map)")
                    .into()
            })?;
            Ok((key.to_string(), json))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_size_reads_the_header_and_refuses_other_bytes() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend_from_slice(&640u32.to_be_bytes());
        png.extend_from_slice(&320u32.to_be_bytes());
        assert_eq!(png_size(&png), Some((640, 320)));
        assert_eq!(png_size(b"GIF89a................."), None);
    }

    #[test]
    fn reserved_properties_are_refused_by_name() {
        let mut map = Map::new();
        map.insert("dtype".into(), Dynamic::from("<f4"));
        let error = fields(&map, RESERVED).unwrap_err().to_string();
        assert!(
            error.contains("property \"dtype\" is set by the kernel"),
            "{error}"
        );

        let mut map = Map::new();
        map.insert("reference".into(), Dynamic::from("spectrum"));
        assert_eq!(
            fields(&map, RESERVED).unwrap()["reference"],
            json!("spectrum")
        );
    }
}
