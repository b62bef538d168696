//! Plots in the notebook: `plot(value)` and `plot(value, #{options})` for
//! a `Signal`, a spectrum, a PSD, a spectrogram, `#{x: …, y: …}` pairs, a
//! Data Array read back from the server, or an array of these (several
//! series with a legend), and the `Figure` value they return, which shows
//! inline as `image/png`.
//!
//! This file only turns notebook values into `plotting`'s inputs and a
//! script's option map into its `PlotOptions`; drawing, decimation and
//! option ranges are `plotting`'s. Saving a figure to the server is in
//! `saving.rs`.

use std::sync::Arc;

use plotting::{
    Figure, OptionValue, PlotError, PlotInput, PlotOptions, Series, SpectrogramData, UniformAxis,
};
use rhai::{Dynamic, EvalAltResult, FuncRegistration, Map, NativeCallContext};
use signal::{Complex64, ComplexSource, RealVector, SignalError, Source, SourceInfo};
use spectral::{Spectrum, SpectrumKind};

use super::analysis::{JobProgress, PsdValue, SpectrogramValue, SpectrumValue, describe};
use super::signals::{Signal, numbers};
use super::wendelin::arrays::DataArrayHandle;
use super::{Registrar, Toolkit};
use crate::context::{CellContext, interrupted_error};
use crate::display::{Displayable, MimeBundle};

/// What `plot` accepts, for error messages.
const PLOTTABLE: &str = "a Signal, a spectrum (rfft, fft), a PSD (welch), a spectrogram, \
     #{x: …, y: …}, a Data Array, or an array of these";

/// Keys of an `#{x, y}` map.
const XY_KEYS: &[&str] = &["x", "y", "label"];

/// Registers `plot` and the `Figure` type.
#[derive(Debug, Clone, Copy)]
pub struct Plots;

impl Toolkit for Plots {
    fn name(&self) -> &'static str {
        "plots"
    }

    fn register(&self, registrar: &mut Registrar<'_>) {
        registrar.register_type::<FigureValue>("Figure");
        register_figure(registrar);
        register_plot(registrar);
    }
}

/// A rendered plot in the notebook.
#[derive(Clone)]
pub struct FigureValue {
    /// The PNG, its size and its summary line.
    pub figure: Arc<Figure>,
}

impl Displayable for FigureValue {
    fn mime_bundle(&self) -> MimeBundle {
        let figure = &self.figure;
        MimeBundle::text(figure.summary.clone()).with_png(&figure.png, figure.width, figure.height)
    }
}

fn register_figure(registrar: &mut Registrar<'_>) {
    let engine = registrar.engine();
    engine.register_get("width", |f: &mut FigureValue| i64::from(f.figure.width));
    engine.register_get("height", |f: &mut FigureValue| i64::from(f.figure.height));
    engine.register_get("summary", |f: &mut FigureValue| f.figure.summary.clone());
    engine.register_get("png_size", |f: &mut FigureValue| f.figure.png.len() as i64);
}

fn register_plot(registrar: &mut Registrar<'_>) {
    let doc = "/// Draws a value as a PNG figure shown inline: a Signal against time, a\n\
         /// spectrum or PSD against frequency, a spectrogram as a heatmap in dB,\n\
         /// #{x: …, y: …, label: …} pairs, a Data Array (read in chunks from the\n\
         /// server), or an array of these as several series with a legend.\n\
         /// Options: title, xlabel, ylabel, width, height (pixels, 64..=8192),\n\
         /// log_x, log_y, xlim, ylim ([low, high], Hz on frequency axes), color,\n\
         /// db, kind (line, spectrum, psd, spectrogram, xy), peaks (mark n peaks).";
    let context = registrar.context();
    FuncRegistration::new("plot")
        .with_params_info(["value: Dynamic", "Figure"])
        .with_comments([doc])
        .register_into_engine(
            registrar.engine(),
            move |call: NativeCallContext, value: Dynamic| {
                run_plot(&call, &context, &value, &Map::new())
            },
        );
    let context = registrar.context();
    FuncRegistration::new("plot")
        .with_params_info(["value: Dynamic", "options: Map", "Figure"])
        .with_comments([doc])
        .register_into_engine(
            registrar.engine(),
            move |call: NativeCallContext, value: Dynamic, options: Map| {
                run_plot(&call, &context, &value, &options)
            },
        );
}

fn run_plot(
    call: &NativeCallContext,
    context: &CellContext,
    value: &Dynamic,
    map: &Map,
) -> Result<FigureValue, Box<EvalAltResult>> {
    let options = plot_options(map)?;
    let input = plot_input(call, value)?;

    let progress = JobProgress::new(context, "plot", true);
    let figure = plotting::plot(&input, &options, &progress).map_err(plot_error)?;
    progress.finish(&figure.summary);
    Ok(FigureValue {
        figure: Arc::new(figure),
    })
}

/// The cell's error for a failed plot: an interrupt reads as one.
fn plot_error(error: PlotError) -> Box<EvalAltResult> {
    if error.is_cancelled() {
        return interrupted_error();
    }
    format!("plot: {error}").into()
}

// ---------------------------------------------------------------------
// options

/// The [`PlotOptions`] of a script's option map.
///
/// # Errors
/// An unknown name, a value of the wrong type or out of range, naming
/// the option and the value.
pub fn plot_options(map: &Map) -> Result<PlotOptions, Box<EvalAltResult>> {
    let mut options = PlotOptions::default();
    for (name, value) in map {
        let value = option_value(name, value)?;
        options.set(name, value).map_err(plot_error)?;
    }
    options.validate().map_err(plot_error)?;
    Ok(options)
}

fn option_value(name: &str, value: &Dynamic) -> Result<OptionValue, Box<EvalAltResult>> {
    if value.is_unit() {
        return Ok(OptionValue::Unit);
    }
    if let Ok(flag) = value.as_bool() {
        return Ok(OptionValue::Bool(flag));
    }
    if let Ok(number) = value.as_int() {
        return Ok(OptionValue::Int(number));
    }
    if let Ok(number) = value.as_float() {
        return Ok(OptionValue::Float(number));
    }
    if let Ok(text) = value.clone().into_string() {
        return Ok(OptionValue::Text(text));
    }
    if let Some(array) = value.read_lock::<rhai::Array>()
        && let Ok(pair) = numbers(&array)
        && let [low, high] = pair.as_slice()
    {
        return Ok(OptionValue::Pair(*low, *high));
    }
    Err(format!(
        "plot: option {name} is {}; use a number, a string, true/false or a pair [low, high]",
        describe(value)
    )
    .into())
}

// ---------------------------------------------------------------------
// inputs

/// The plot input of a notebook value: one series, or several from an
/// array.
///
/// # Errors
/// A value that cannot be plotted, naming its type and what can.
pub fn plot_input(
    call: &NativeCallContext,
    value: &Dynamic,
) -> Result<PlotInput, Box<EvalAltResult>> {
    let Some(items) = value.read_lock::<rhai::Array>().map(|a| a.clone()) else {
        let (series, _) = layer(call, value)?;
        return Ok(PlotInput::new(series));
    };
    if items.is_empty() {
        return Err("plot: the array is empty; give at least one series".into());
    }
    let layers = items
        .iter()
        .map(|item| layer(call, item))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(PlotInput::several(layers))
}

/// One series and its legend label.
fn layer(
    call: &NativeCallContext,
    value: &Dynamic,
) -> Result<(Series, Option<String>), Box<EvalAltResult>> {
    if let Some(signal) = value.read_lock::<Signal>() {
        return Ok((
            Series::Signal(signal.source.clone()),
            Some(signal.label.clone()),
        ));
    }
    if let Some(spectrum) = value.read_lock::<SpectrumValue>() {
        return Ok((
            spectrum_series(&spectrum.spectrum),
            Some(spectrum.label.clone()),
        ));
    }
    if let Some(psd) = value.read_lock::<PsdValue>() {
        return Ok((psd_series(&psd), Some(psd.label.clone())));
    }
    if let Some(spectrogram) = value.read_lock::<SpectrogramValue>() {
        return Ok((
            spectrogram_series(&spectrogram),
            Some(spectrogram.label.clone()),
        ));
    }
    if let Some(map) = value.read_lock::<Map>() {
        return xy_series(call, &map);
    }
    if let Some(signal) = stored_signal(value)? {
        return Ok((Series::Signal(signal.source), Some(signal.label)));
    }
    Err(format!(
        "plot cannot draw {}; give {PLOTTABLE}",
        type_name(call, value)
    )
    .into())
}

/// A value's type as the notebook names it.
fn type_name(call: &NativeCallContext, value: &Dynamic) -> String {
    if value.is_unit() || value.is_int() || value.is_float() || value.is_string() {
        return describe(value);
    }
    format!("a {}", call.engine().map_type_name(value.type_name()))
}

/// The signal behind a stored value that has one (a Data Array read
/// from the server), `None` for other values.
fn stored_signal(value: &Dynamic) -> Result<Option<Signal>, Box<EvalAltResult>> {
    match value.read_lock::<DataArrayHandle>() {
        Some(array) => array.to_signal().map(Some),
        None => Ok(None),
    }
}

fn spectrum_series(spectrum: &Spectrum) -> Series {
    let step = spectrum.frequency_step();
    match spectrum.kind() {
        SpectrumKind::OneSided => Series::Spectrum {
            bins: Arc::new(spectrum.clone()),
            frequencies: UniformAxis::new(0.0, step),
        },
        SpectrumKind::TwoSided => {
            let n = spectrum.len();
            Series::Spectrum {
                bins: Arc::new(Centred {
                    spectrum: spectrum.clone(),
                }),
                frequencies: UniformAxis::new(-((n / 2) as f64) * step, step),
            }
        }
    }
}

fn psd_series(value: &PsdValue) -> Series {
    let psd = &value.psd;
    Series::Psd {
        values: Arc::new(RealVector::new(psd.values().to_vec())),
        frequencies: UniformAxis::new(0.0, psd.frequency_step()),
    }
}

fn spectrogram_series(value: &SpectrogramValue) -> Series {
    let spectrogram = &value.spectrogram;
    let first_time = spectrogram.times().first().copied().unwrap_or(0.0);
    Series::Spectrogram(SpectrogramData {
        grid: Arc::new(spectrogram.as_source()),
        frames: spectrogram.frames() as usize,
        bins: spectrogram.bins(),
        times: UniformAxis::new(first_time, spectrogram.time_step()),
        frequencies: UniformAxis::new(0.0, spectrogram.frequency_step()),
    })
}

/// `#{x: …, y: …, label: …}`: x and y each a Signal, a Data Array or an
/// array of numbers, as long as each other.
fn xy_series(
    call: &NativeCallContext,
    map: &Map,
) -> Result<(Series, Option<String>), Box<EvalAltResult>> {
    if let Some(key) = map.keys().find(|key| !XY_KEYS.contains(&key.as_str())) {
        return Err(format!(
            "plot: unknown key {:?} in an x/y map; use #{{x: …, y: …, label: \"…\"}}",
            key.as_str()
        )
        .into());
    }
    let axis = |key: &str| -> Result<Arc<dyn Source>, Box<EvalAltResult>> {
        let value = map.get(key).ok_or_else(|| -> Box<EvalAltResult> {
            format!("plot: an x/y map needs both x and y; {key} is missing").into()
        })?;
        xy_values(call, key, value)
    };
    let (x, y) = (axis("x")?, axis("y")?);
    if x.len() != y.len() {
        return Err(format!(
            "plot: x has {} values and y has {}; give as many of each",
            x.len(),
            y.len()
        )
        .into());
    }
    let label =
        match map.get("label") {
            Some(label) => Some(label.clone().into_string().map_err(
                |_| -> Box<EvalAltResult> {
                    format!("plot: label is {}; use a string", describe(label)).into()
                },
            )?),
            None => None,
        };
    Ok((Series::Xy { x, y }, label))
}

fn xy_values(
    call: &NativeCallContext,
    key: &str,
    value: &Dynamic,
) -> Result<Arc<dyn Source>, Box<EvalAltResult>> {
    if let Some(signal) = value.read_lock::<Signal>() {
        return Ok(signal.source.clone());
    }
    if let Some(array) = value.read_lock::<rhai::Array>() {
        let values = numbers(&array)
            .map_err(|error| -> Box<EvalAltResult> { format!("plot: {key}: {error}").into() })?;
        return Ok(Arc::new(RealVector::new(values)));
    }
    if let Some(signal) = stored_signal(value)? {
        return Ok(signal.source);
    }
    Err(format!(
        "plot: {key} is {}; use a Signal or an array of numbers",
        type_name(call, value)
    )
    .into())
}

/// A two-sided spectrum in increasing frequency (numpy's `fftshift`
/// order): sample `i` is bin `(i + n - n/2) mod n`.
struct Centred {
    spectrum: Spectrum,
}

impl ComplexSource for Centred {
    fn info(&self) -> SourceInfo {
        ComplexSource::info(&self.spectrum)
    }

    fn read_into(&self, start: u64, buffer: &mut [Complex64]) -> Result<(), SignalError> {
        let n = self.spectrum.len();
        signal::check_range(start, buffer.len(), n)?;
        let first = (start + n - n / 2) % n;
        let before_wrap = ((n - first) as usize).min(buffer.len());
        let (head, tail) = buffer.split_at_mut(before_wrap);
        ComplexSource::read_into(&self.spectrum, first, head)?;
        if !tail.is_empty() {
            ComplexSource::read_into(&self.spectrum, 0, tail)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centred_spectrum_reads_in_fftshift_order() {
        let source = RealVector::new(vec![1.0, 2.0, 0.0, -1.0, 0.5]);
        let spectrum = spectral::fft(
            &spectral::AsComplex(source),
            &spectral::FftOptions::default(),
            &signal::Silent,
        )
        .unwrap();
        let centred = Centred {
            spectrum: spectrum.clone(),
        };
        let mut shifted = vec![Complex64::default(); 5];
        centred.read_into(0, &mut shifted).unwrap();
        let order = [3, 4, 0, 1, 2];
        for (got, bin) in shifted.iter().zip(order) {
            assert_eq!(*got, spectrum.bin(bin).unwrap());
        }
        let mut tail = vec![Complex64::default(); 2];
        centred.read_into(1, &mut tail).unwrap();
        assert_eq!(tail, shifted[1..3]);
    }

    #[test]
    fn options_come_from_script_values() {
        let mut map = Map::new();
        map.insert("width".into(), Dynamic::from_int(320));
        map.insert(
            "xlim".into(),
            Dynamic::from_array(vec![Dynamic::from_int(0), Dynamic::from_float(2.5)]),
        );
        map.insert("log_y".into(), Dynamic::from_bool(true));
        let options = plot_options(&map).unwrap();
        assert_eq!(options.width, 320);
        assert_eq!(options.xlim, Some((0.0, 2.5)));
        assert!(options.log_y);
    }

    #[test]
    fn bad_options_name_the_option_and_value() {
        let mut map = Map::new();
        map.insert("width".into(), Dynamic::from_int(10));
        let error = plot_options(&map).unwrap_err().to_string();
        assert!(
            error.contains("width 10 is not a valid plot width"),
            "{error}"
        );

        let mut map = Map::new();
        map.insert(
            "xlim".into(),
            Dynamic::from_array(vec![Dynamic::from_int(0)]),
        );
        let error = plot_options(&map).unwrap_err().to_string();
        assert!(
            error.contains("option xlim is an array of 1 items"),
            "{error}"
        );
    }
}
