//! Plots to PNG for the Wendelin kernel: signals against time, spectra and
//! PSDs against frequency, spectrogram heatmaps, x/y pairs and several
//! series with a legend, all through one call, [`plot`].
//!
//! Inputs are read through the `signal` crate's source traits, in bounded
//! chunks, with progress reported and cancellation checked between chunks.
//! Long series are decimated with M4 as they are read, in one pass and in
//! memory proportional to the plot's width, and the picture is pixel for
//! pixel the one every sample would draw. Text is rasterised with
//! `ab_glyph` from an embedded DejaVu Sans, so no system font library is
//! linked and the same input gives the same PNG bytes on every machine.
//!
//! The crate knows nothing of HTTP, Jupyter or FFTs: the kernel turns its
//! values into a [`PlotInput`] and a script's option map into
//! [`PlotOptions`], and shows the [`Figure`] it gets back. Which input
//! draws which plot is the table in this crate's README.

mod decorate;
mod error;
mod figure;
mod font;
mod input;
mod layout;
mod line;
mod m4;
mod options;
mod peaks;
mod spectrogram;
mod text;
mod ticks;

pub use error::PlotError;
pub use figure::{Figure, PixelRect};
pub use input::{Layer, PlotInput, PlotKind, Series, SpectrogramData, UniformAxis};
pub use options::{MAX_PEAKS, OPTION_NAMES, OptionValue, PALETTE, PlotOptions, Rgb, SIZE_RANGE};

use signal::Progress;

use crate::figure::{hertz, thousands, trim};
use crate::input::{Plan, Trace, XQuantity, XValues};
use crate::layout::Layout;

/// Draws `input` as `options` ask, reading sources in bounded chunks and
/// reporting to `progress`.
///
/// # Errors
/// [`PlotError::InvalidOption`] for a bad option, [`PlotError::Unplottable`]
/// for an input that cannot be drawn as asked (empty, wrong kind, nothing
/// positive on a log axis), [`PlotError::Signal`] for a failed read or a
/// cancellation.
pub fn plot(
    input: &PlotInput,
    options: &PlotOptions,
    progress: &dyn Progress,
) -> Result<Figure, PlotError> {
    options.validate()?;
    let plan = input::resolve(input, options.kind)?;
    let figure = match plan {
        Plan::Spectrogram(data) => spectrogram::figure(&data, options, progress)?,
        Plan::Lines {
            kind,
            x_quantity,
            traces,
            sample_rate,
        } => line_figure(kind, x_quantity, &traces, sample_rate, options, progress)?,
    };
    tracing::debug!(summary = %figure.summary, bytes = figure.png.len(), "plot rendered");
    Ok(figure)
}

fn line_figure(
    kind: PlotKind,
    x_quantity: XQuantity,
    traces: &[Trace],
    sample_rate: Option<f64>,
    options: &PlotOptions,
    progress: &dyn Progress,
) -> Result<Figure, PlotError> {
    let layout = Layout::new(options, false);
    let area = layout.plot_area();
    let reduced = line::reduce(kind, x_quantity, traces, options, area.width, progress)?;
    progress.phase("drawing");
    let png = line::to_png(&layout, options.title.as_deref(), &reduced, progress)?;
    let summary = line_summary(kind, x_quantity, traces, sample_rate, &layout);
    tracing::trace!(samples_read = reduced.samples, "line chart reduced");
    Ok(Figure {
        png,
        width: layout.width,
        height: layout.height,
        plot_area: area,
        summary,
    })
}

fn line_summary(
    kind: PlotKind,
    x_quantity: XQuantity,
    traces: &[Trace],
    sample_rate: Option<f64>,
    layout: &Layout,
) -> String {
    let total: u64 = traces.iter().map(|trace| trace.y.len()).sum();
    let size = format!("{}×{} px", layout.width, layout.height);
    let noun = match kind {
        PlotKind::Line => "line plot",
        PlotKind::Spectrum => "spectrum plot",
        PlotKind::Psd => "psd plot",
        PlotKind::Xy | PlotKind::Spectrogram => "x/y plot",
    };
    if traces.len() > 1 {
        return format!(
            "{noun} of {} series ({} points), {size}",
            traces.len(),
            thousands(total)
        );
    }
    let detail = match (x_quantity, &traces[0].x) {
        (XQuantity::Time, _) => sample_rate.map(|rate| {
            format!(
                " ({} s at {} Hz)",
                trim(total as f64 / rate, 2),
                trim(rate, 3)
            )
        }),
        (XQuantity::Frequency, XValues::Uniform(axis)) if total > 0 => Some(format!(
            " ({}–{})",
            hertz(axis.at(0)),
            hertz(axis.at(total - 1))
        )),
        _ => None,
    };
    let unit = match x_quantity {
        XQuantity::Frequency | XQuantity::Bin => "bins",
        XQuantity::Free => "points",
        XQuantity::Time | XQuantity::Sample => "samples",
    };
    format!(
        "{noun} of {} {unit}{}, {size}",
        thousands(total),
        detail.unwrap_or_default()
    )
}
