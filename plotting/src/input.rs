//! What a plot is made of: the input types the kernel builds from its
//! values (signals, spectra, PSDs, spectrograms, x/y pairs, several series)
//! and the table that turns them, with an optional `kind` override, into
//! the traces a chart draws. Inputs are read through `signal`'s source
//! traits; nothing here reads a sample.

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use signal::{Complex64, ComplexSource, SignalError, Source, SourceInfo};

use crate::PlotError;

/// A uniform axis: the value at index `i` is `start + i as f64 * step`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UniformAxis {
    /// Value at index 0.
    pub start: f64,
    /// Distance between consecutive indices; positive.
    pub step: f64,
}

impl UniformAxis {
    /// An axis starting at `start` with spacing `step`.
    pub fn new(start: f64, step: f64) -> Self {
        Self { start, step }
    }

    /// The value at index `i`.
    pub fn at(&self, index: u64) -> f64 {
        self.start + index as f64 * self.step
    }
}

/// A time-by-frequency grid of power values (for example a PSD per frame,
/// as `spectral`'s spectrogram returns it), drawn in dB.
#[derive(Clone)]
pub struct SpectrogramData {
    /// `frames × bins` values, frame after frame: value `(f, b)` is sample
    /// `f * bins + b`. Values are powers (drawn as 10·log10).
    pub grid: Arc<dyn Source>,
    /// Number of frames (columns of the picture).
    pub frames: usize,
    /// Number of frequency bins per frame (rows of the picture).
    pub bins: usize,
    /// Time of each frame's centre, in seconds.
    pub times: UniformAxis,
    /// Frequency of each bin, in Hz.
    pub frequencies: UniformAxis,
}

/// One thing to draw.
#[derive(Clone)]
#[non_exhaustive]
pub enum Series {
    /// Real samples against time in seconds when the source knows its
    /// sample rate, else against the sample index.
    Signal(Arc<dyn Source>),
    /// Complex bins, drawn as magnitude against frequency (Hz).
    Spectrum {
        /// The bins.
        bins: Arc<dyn ComplexSource>,
        /// Frequency of each bin, in Hz.
        frequencies: UniformAxis,
    },
    /// Real power spectral density against frequency (Hz).
    Psd {
        /// The PSD values (power per Hz).
        values: Arc<dyn Source>,
        /// Frequency of each value, in Hz.
        frequencies: UniformAxis,
    },
    /// Pairs `(x[i], y[i])`, joined in order.
    Xy {
        /// The x values.
        x: Arc<dyn Source>,
        /// The y values; as many as x.
        y: Arc<dyn Source>,
    },
    /// A spectrogram heatmap.
    Spectrogram(SpectrogramData),
}

impl Series {
    /// The kind this series draws as when no `kind` option overrides it.
    pub fn natural_kind(&self) -> PlotKind {
        match self {
            Self::Signal(_) => PlotKind::Line,
            Self::Spectrum { .. } => PlotKind::Spectrum,
            Self::Psd { .. } => PlotKind::Psd,
            Self::Xy { .. } => PlotKind::Xy,
            Self::Spectrogram(_) => PlotKind::Spectrogram,
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Signal(source) => format!("a real signal of {} samples", source.len()),
            Self::Spectrum { bins, .. } => format!("a spectrum of {} bins", bins.len()),
            Self::Psd { values, .. } => format!("a psd of {} bins", values.len()),
            Self::Xy { x, .. } => format!("{} x/y pairs", x.len()),
            Self::Spectrogram(data) => {
                format!(
                    "a spectrogram of {} frames × {} bins",
                    data.frames, data.bins
                )
            }
        }
    }
}

/// A series with its legend label.
#[derive(Clone)]
pub struct Layer {
    /// What to draw.
    pub series: Series,
    /// The legend entry; none for an unlabelled series.
    pub label: Option<String>,
}

/// The value handed to [`crate::plot`]: one series, or several sharing
/// axes with a legend.
#[derive(Clone)]
pub struct PlotInput {
    /// The series, drawn in order; the first is on the bottom.
    pub layers: Vec<Layer>,
}

impl PlotInput {
    /// One unlabelled series.
    pub fn new(series: Series) -> Self {
        Self {
            layers: vec![Layer {
                series,
                label: None,
            }],
        }
    }

    /// Several series; labels go into the legend.
    pub fn several(layers: impl IntoIterator<Item = (Series, Option<String>)>) -> Self {
        let layers = layers
            .into_iter()
            .map(|(series, label)| Layer { series, label })
            .collect();
        Self { layers }
    }
}

impl From<Series> for PlotInput {
    fn from(series: Series) -> Self {
        Self::new(series)
    }
}

/// The kinds of plot, as the `kind` option names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlotKind {
    /// Values against time or sample index.
    Line,
    /// Magnitude against frequency.
    Spectrum,
    /// Power spectral density against frequency.
    Psd,
    /// Time-by-frequency heatmap in dB.
    Spectrogram,
    /// y against x.
    Xy,
}

impl PlotKind {
    /// The name the `kind` option uses.
    pub fn name(self) -> &'static str {
        match self {
            Self::Line => "line",
            Self::Spectrum => "spectrum",
            Self::Psd => "psd",
            Self::Spectrogram => "spectrogram",
            Self::Xy => "xy",
        }
    }
}

impl fmt::Display for PlotKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for PlotKind {
    type Err = PlotError;

    fn from_str(text: &str) -> Result<Self, PlotError> {
        let kinds = [
            Self::Line,
            Self::Spectrum,
            Self::Psd,
            Self::Spectrogram,
            Self::Xy,
        ];
        let lower = text.trim().to_ascii_lowercase();
        kinds
            .into_iter()
            .find(|kind| kind.name() == lower)
            .ok_or_else(|| {
                PlotError::InvalidOption(format!(
                    "kind \"{text}\" is not a plot kind; use line, spectrum, psd, spectrogram or xy"
                ))
            })
    }
}

/// What the x values of a trace mean, for the axis label and the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum XQuantity {
    /// Seconds.
    Time,
    /// Sample index.
    Sample,
    /// Hz.
    Frequency,
    /// Bin index of a spectrum without a frequency axis.
    Bin,
    /// The user's own x values.
    Free,
}

/// Where the x value of sample `i` comes from.
#[derive(Clone)]
pub(crate) enum XValues {
    /// `start + i * step`.
    Uniform(UniformAxis),
    /// Read from a source, as long as the values.
    Explicit(Arc<dyn Source>),
}

/// One line of a chart, resolved from a [`Layer`]: real y values, their x
/// values and how to turn them into decibels.
#[derive(Clone)]
pub(crate) struct Trace {
    pub y: Arc<dyn Source>,
    pub x: XValues,
    /// True for powers (10·log10 in dB), false for amplitudes (20·log10).
    pub power: bool,
    pub label: Option<String>,
}

/// A resolved input: line traces sharing axes, or one spectrogram.
pub(crate) enum Plan {
    Lines {
        kind: PlotKind,
        x_quantity: XQuantity,
        traces: Vec<Trace>,
        sample_rate: Option<f64>,
    },
    Spectrogram(SpectrogramData),
}

/// Applies the published table (README, "Which input draws which plot"):
/// the input's natural kind, or the override when it fits.
pub(crate) fn resolve(input: &PlotInput, kind: Option<PlotKind>) -> Result<Plan, PlotError> {
    let first = input.layers.first().ok_or_else(|| {
        PlotError::Unplottable("nothing to plot: the input has no series".to_string())
    })?;
    let kind = kind.unwrap_or_else(|| first.series.natural_kind());

    if kind == PlotKind::Spectrogram || matches!(first.series, Series::Spectrogram(_)) {
        return resolve_spectrogram(input, kind);
    }
    let mut traces = Vec::with_capacity(input.layers.len());
    let mut quantities = Vec::with_capacity(input.layers.len());
    for layer in &input.layers {
        let (trace, quantity) = resolve_layer(layer, kind)?;
        traces.push(trace);
        quantities.push(quantity);
    }
    let x_quantity = common_quantity(&quantities);
    let sample_rate = match &first.series {
        Series::Signal(source) => source.info().sample_rate,
        _ => None,
    };
    Ok(Plan::Lines {
        kind,
        x_quantity,
        traces,
        sample_rate,
    })
}

fn resolve_spectrogram(input: &PlotInput, kind: PlotKind) -> Result<Plan, PlotError> {
    let first = &input.layers[0].series;
    match (first, kind, input.layers.len()) {
        (Series::Spectrogram(data), PlotKind::Spectrogram, 1) => {
            Ok(Plan::Spectrogram(data.clone()))
        }
        (Series::Spectrogram(_), PlotKind::Spectrogram, count) => {
            Err(PlotError::Unplottable(format!(
                "a spectrogram plot draws one spectrogram, got {count} series; plot them one by one"
            )))
        }
        (series, PlotKind::Spectrogram, _) => Err(mismatch(kind, series)),
        (series, _, _) => Err(mismatch(kind, series)),
    }
}

fn mismatch(kind: PlotKind, series: &Series) -> PlotError {
    PlotError::Unplottable(format!(
        "kind \"{kind}\" cannot draw {}; leave kind out to use the default for this value",
        series.describe()
    ))
}

fn resolve_layer(layer: &Layer, kind: PlotKind) -> Result<(Trace, XQuantity), PlotError> {
    let label = layer.label.clone();
    let frequency_kind = matches!(kind, PlotKind::Spectrum | PlotKind::Psd);
    let (y, x, power, quantity) = match &layer.series {
        Series::Signal(source) if frequency_kind => {
            let power = kind == PlotKind::Psd;
            (
                source.clone(),
                XValues::Uniform(UniformAxis::new(0.0, 1.0)),
                power,
                XQuantity::Bin,
            )
        }
        Series::Signal(source) => {
            let (axis, quantity) = time_axis(&source.info());
            (source.clone(), XValues::Uniform(axis), false, quantity)
        }
        Series::Spectrum { bins, frequencies } => {
            let magnitude: Arc<dyn Source> = Arc::new(Magnitude::new(bins.clone()));
            (
                magnitude,
                XValues::Uniform(*frequencies),
                false,
                XQuantity::Frequency,
            )
        }
        Series::Psd {
            values,
            frequencies,
        } => (
            values.clone(),
            XValues::Uniform(*frequencies),
            true,
            XQuantity::Frequency,
        ),
        Series::Xy { x, y } => {
            check_pair_lengths(x.len(), y.len())?;
            (
                y.clone(),
                XValues::Explicit(x.clone()),
                false,
                XQuantity::Free,
            )
        }
        Series::Spectrogram(_) => return Err(mismatch(kind, &layer.series)),
    };
    Ok((Trace { y, x, power, label }, quantity))
}

fn time_axis(info: &SourceInfo) -> (UniformAxis, XQuantity) {
    match info.sample_rate {
        Some(rate) if rate > 0.0 && rate.is_finite() => {
            (UniformAxis::new(0.0, 1.0 / rate), XQuantity::Time)
        }
        _ => (UniformAxis::new(0.0, 1.0), XQuantity::Sample),
    }
}

fn check_pair_lengths(x: u64, y: u64) -> Result<(), PlotError> {
    if x == y {
        return Ok(());
    }
    Err(PlotError::Unplottable(format!(
        "x has {x} values but y has {y}; give x and y the same length"
    )))
}

fn common_quantity(quantities: &[XQuantity]) -> XQuantity {
    let first = quantities[0];
    if quantities.iter().all(|quantity| *quantity == first) {
        first
    } else {
        XQuantity::Free
    }
}

/// The magnitudes of a complex source, read lazily through a scratch
/// buffer.
pub(crate) struct Magnitude {
    inner: Arc<dyn ComplexSource>,
    scratch: Mutex<Vec<Complex64>>,
}

impl Magnitude {
    pub(crate) fn new(inner: Arc<dyn ComplexSource>) -> Self {
        Self {
            inner,
            scratch: Mutex::new(Vec::new()),
        }
    }
}

impl Source for Magnitude {
    fn info(&self) -> SourceInfo {
        self.inner.info()
    }

    fn read_into(&self, start: u64, buffer: &mut [f64]) -> Result<(), SignalError> {
        let mut scratch = self
            .scratch
            .lock()
            .map_err(|_| SignalError::read("poisoned scratch"))?;
        scratch.resize(buffer.len(), Complex64::default());
        self.inner.read_into(start, &mut scratch)?;
        for (out, bin) in buffer.iter_mut().zip(scratch.iter()) {
            *out = bin.norm();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use signal::{ComplexVector, RealVector};

    fn signal(len: usize) -> Series {
        Series::Signal(Arc::new(
            RealVector::new(vec![0.0; len]).with_sample_rate(100.0),
        ))
    }

    #[test]
    fn a_signal_with_a_rate_draws_against_seconds() {
        let Plan::Lines {
            kind,
            x_quantity,
            traces,
            ..
        } = resolve(&signal(10).into(), None).unwrap()
        else {
            panic!("expected lines");
        };
        assert_eq!((kind, x_quantity), (PlotKind::Line, XQuantity::Time));
        let XValues::Uniform(axis) = traces[0].x else {
            panic!("expected a uniform axis")
        };
        assert_eq!(axis.at(50), 0.5);
    }

    #[test]
    fn a_spectrogram_kind_on_a_signal_is_refused_by_name() {
        let error = resolve(&signal(10).into(), Some(PlotKind::Spectrogram))
            .err()
            .unwrap();
        assert_eq!(
            error.to_string(),
            "kind \"spectrogram\" cannot draw a real signal of 10 samples; leave kind out to use the default for this value"
        );
    }

    #[test]
    fn mismatched_xy_lengths_are_refused() {
        let x: Arc<dyn Source> = Arc::new(RealVector::new(vec![0.0; 3]));
        let y: Arc<dyn Source> = Arc::new(RealVector::new(vec![0.0; 4]));
        let error = resolve(&Series::Xy { x, y }.into(), None).err().unwrap();
        assert!(error.to_string().starts_with("x has 3 values but y has 4"));
    }

    #[test]
    fn magnitude_reads_the_norm_of_each_bin() {
        let bins = ComplexVector::new(vec![Complex64::new(3.0, 4.0), Complex64::new(0.0, -2.0)]);
        let magnitude = Magnitude::new(Arc::new(bins));
        let mut out = [0.0; 2];
        magnitude.read_into(0, &mut out).unwrap();
        assert_eq!(out, [5.0, 2.0]);
    }

    #[test]
    fn kind_names_parse_and_unknown_ones_are_refused() {
        assert_eq!("Spectrum".parse::<PlotKind>().unwrap(), PlotKind::Spectrum);
        assert!(
            "bars"
                .parse::<PlotKind>()
                .unwrap_err()
                .to_string()
                .contains("\"bars\"")
        );
    }
}
