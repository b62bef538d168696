//! Line charts: signals against time, spectra and PSDs against frequency,
//! x/y pairs, several series with a legend. Each trace is decimated with
//! M4 while it is read (one pass, memory of the plot's width), the axes
//! are fitted to what was kept, and plotters draws the kept points as one
//! polyline per trace. Peaks are marked on request.

use std::ops::Range;
use std::sync::Arc;

use plotters::coord::Shift;
use plotters::prelude::*;
use signal::{Progress, Source, for_each_chunk};

use crate::figure::{PixelRect, encode_png};
use crate::input::{PlotKind, Trace, UniformAxis, XQuantity, XValues};
use crate::layout::{GRID, Layout, PAPER, clear_outside};
use crate::m4::{Bucket, CHUNK_LEN, ColumnMap, Envelope, Point, PointReducer, Transform, XMap};
use crate::options::{PALETTE, PlotOptions, Rgb};
use crate::text::Canvas;
use crate::ticks::{self, TickedAxis, Ticks};
use crate::{PlotError, decorate, peaks};

/// Fitted axes: ranges in drawing space (log10 for a log axis), ticks and
/// labels.
#[derive(Debug, Clone)]
pub(crate) struct Axes {
    pub x: Range<f64>,
    pub y: Range<f64>,
    pub x_ticks: Ticks,
    pub y_ticks: Ticks,
    pub x_label: String,
    pub y_label: String,
}

/// One polyline to draw, with its colour and legend entry.
#[derive(Debug, Clone)]
pub(crate) struct DrawnTrace {
    pub points: Vec<(f64, f64)>,
    /// Pairs drawn by streaming them from their sources instead of
    /// `points` (x/y pairs not ordered in x).
    pub stream: Option<PairStream>,
    pub color: Rgb,
    pub label: Option<String>,
}

/// x/y sources read again at drawing time, with how to map their values.
#[derive(Clone)]
pub(crate) struct PairStream {
    x: Arc<dyn Source>,
    y: Arc<dyn Source>,
    display: XDisplay,
    transform: Transform,
}

impl std::fmt::Debug for PairStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PairStream")
            .field("len", &self.y.len())
            .finish()
    }
}

/// A marked peak: where to draw it and what to write beside it.
#[derive(Debug, Clone)]
pub(crate) struct Marker {
    pub x: f64,
    pub y: f64,
    pub text: String,
}

/// The decimated traces of a chart before drawing, with what the summary
/// needs.
pub(crate) struct Reduced {
    pub axes: Axes,
    pub traces: Vec<DrawnTrace>,
    pub markers: Vec<Marker>,
    pub samples: u64,
}

/// How the x values of a chart are shown: unit scale and log.
#[derive(Debug, Clone, Copy)]
struct XDisplay {
    /// Multiplies input x (1e-3 for kHz).
    scale: f64,
    log: bool,
}

impl XDisplay {
    fn map(&self, axis: UniformAxis) -> XMap {
        let scaled = UniformAxis::new(axis.start * self.scale, axis.step * self.scale);
        XMap {
            axis: scaled,
            log: self.log,
        }
    }

    fn value(&self, x: f64) -> f64 {
        let scaled = x * self.scale;
        if self.log { scaled.log10() } else { scaled }
    }
}

/// Decimates and fits every trace, reading each source once (twice for
/// x/y pairs: extent, then points).
pub(crate) fn reduce(
    kind: PlotKind,
    x_quantity: XQuantity,
    traces: &[Trace],
    options: &PlotOptions,
    plot_width: u32,
    progress: &dyn Progress,
) -> Result<Reduced, PlotError> {
    check_log_and_db(options)?;
    let extents = x_extents(traces, options, progress)?;
    let display = x_display(x_quantity, &extents, options);
    let x_range = x_range(&extents, display, options, x_quantity == XQuantity::Free)?;
    let columns = ColumnMap::new(x_range.clone(), plot_width);

    let mut envelopes = Vec::with_capacity(traces.len());
    for trace in traces {
        progress.phase("reading");
        envelopes.push(reduce_trace(trace, display, &columns, options, progress)?);
    }
    let y_range = y_range(&envelopes, traces, columns.last(), options)?;
    let samples = envelopes.iter().map(|e| e.samples_read).sum();
    let markers = peaks::find(
        &envelopes[0],
        &columns,
        options.peaks,
        display.scale,
        x_quantity,
        display.log,
    );

    let axes = fit_axes(
        kind,
        x_quantity,
        traces,
        display,
        x_range.clone(),
        y_range,
        options,
        plot_width,
    );
    let mut drawn = drawn_traces(&envelopes, traces, display, options);
    for trace in &mut drawn {
        clip_edges(&mut trace.points, &x_range);
    }
    Ok(Reduced {
        axes,
        traces: drawn,
        markers,
        samples,
    })
}

fn check_log_and_db(options: &PlotOptions) -> Result<(), PlotError> {
    if options.db && options.log_y {
        return Err(PlotError::InvalidOption(
            "db and log_y together: decibels are already logarithmic; set only one".to_string(),
        ));
    }
    Ok(())
}

/// The x extent of each trace in input units, only of x values a log axis
/// can show.
fn x_extents(
    traces: &[Trace],
    options: &PlotOptions,
    progress: &dyn Progress,
) -> Result<Vec<(f64, f64)>, PlotError> {
    let mut extents = Vec::new();
    for trace in traces {
        let len = trace.y.len();
        let extent = match &trace.x {
            XValues::Uniform(axis) if len > 0 => uniform_extent(axis, len, options.log_x),
            XValues::Uniform(_) => None,
            XValues::Explicit(x) => explicit_extent(x, options.log_x, progress)?,
        };
        extents.extend(extent);
    }
    if extents.is_empty() {
        return Err(no_x(traces, options.log_x));
    }
    Ok(extents)
}

fn no_x(traces: &[Trace], log: bool) -> PlotError {
    let total: u64 = traces.iter().map(|t| t.y.len()).sum();
    if log && total > 0 {
        return PlotError::Unplottable(format!(
            "log_x needs positive x values; none of the {total} points has one"
        ));
    }
    PlotError::Unplottable("nothing to plot: the input has no samples".to_string())
}

fn uniform_extent(axis: &UniformAxis, len: u64, log: bool) -> Option<(f64, f64)> {
    let last = axis.at(len - 1);
    if !log {
        return Some((axis.at(0), last));
    }
    if last <= 0.0 {
        return None;
    }
    let first_positive = (0..len).find(|&i| axis.at(i) > 0.0).unwrap_or(len - 1);
    Some((axis.at(first_positive), last))
}

fn explicit_extent(
    x: &Arc<dyn Source>,
    log: bool,
    progress: &dyn Progress,
) -> Result<Option<(f64, f64)>, PlotError> {
    let mut extent: Option<(f64, f64)> = None;
    for_each_chunk(x.as_ref(), CHUNK_LEN, progress, |_, values| {
        for &v in values
            .iter()
            .filter(|v| v.is_finite() && (!log || **v > 0.0))
        {
            let (low, high) = extent.unwrap_or((v, v));
            extent = Some((low.min(v), high.max(v)));
        }
        Ok(())
    })?;
    Ok(extent)
}

fn x_display(quantity: XQuantity, extents: &[(f64, f64)], options: &PlotOptions) -> XDisplay {
    let high = match options.xlim {
        Some((low, high)) => low.abs().max(high.abs()),
        None => extents
            .iter()
            .fold(0.0f64, |acc, e| acc.max(e.0.abs()).max(e.1.abs())),
    };
    let kilo = quantity == XQuantity::Frequency && high >= 10_000.0;
    XDisplay {
        scale: if kilo { 1e-3 } else { 1.0 },
        log: options.log_x,
    }
}

/// The drawn x range: `xlim`, else the data's extent, tight for series
/// along time or frequency and with 5% margins for x/y pairs.
fn x_range(
    extents: &[(f64, f64)],
    display: XDisplay,
    options: &PlotOptions,
    margins: bool,
) -> Result<Range<f64>, PlotError> {
    let (low, high) = options.xlim.unwrap_or_else(|| {
        extents
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |acc, e| {
                (acc.0.min(e.0), acc.1.max(e.1))
            })
    });
    let (low, high) = (display.value(low), display.value(high));
    if !low.is_finite() || !high.is_finite() {
        return Err(PlotError::Unplottable(format!(
            "the x range {low}..{high} cannot be drawn"
        )));
    }
    let pad = if margins && options.xlim.is_none() {
        (high - low) * 0.05
    } else {
        0.0
    };
    Ok(widen(low - pad, high + pad, display.log))
}

/// A non-empty range around a single value.
fn widen(low: f64, high: f64, log: bool) -> Range<f64> {
    if low < high {
        return low..high;
    }
    let pad = if log || low == 0.0 {
        0.5
    } else {
        low.abs() * 0.1
    };
    low - pad..high + pad
}

fn value_transform(trace: &Trace, options: &PlotOptions) -> Transform {
    if options.db {
        Transform::Decibel(if trace.power { 10.0 } else { 20.0 })
    } else if options.log_y {
        Transform::Log10
    } else {
        Transform::Identity
    }
}

fn reduce_trace(
    trace: &Trace,
    display: XDisplay,
    columns: &ColumnMap,
    options: &PlotOptions,
    progress: &dyn Progress,
) -> Result<Envelope, PlotError> {
    let transform = value_transform(trace, options);
    match &trace.x {
        XValues::Uniform(axis) => {
            crate::m4::reduce_uniform(&trace.y, &display.map(*axis), columns, transform, progress)
        }
        XValues::Explicit(x) => reduce_pairs(x, &trace.y, display, columns, transform, progress),
    }
}

/// Decimates x/y pairs whose x never decreases. Pairs that go back in x
/// cannot be decimated: they get a per-column summary (for the y range and
/// peaks) and are drawn by a second streaming pass ([`draw_pairs`]).
fn reduce_pairs(
    x: &Arc<dyn Source>,
    y: &Arc<dyn Source>,
    display: XDisplay,
    columns: &ColumnMap,
    transform: Transform,
    progress: &dyn Progress,
) -> Result<Envelope, PlotError> {
    let mut reducer = Some(PointReducer::default());
    let mut summary: Vec<Bucket> = (0..=columns.last()).map(Bucket::empty).collect();
    let mut scratch = vec![0.0; CHUNK_LEN.min(x.len() as usize)];
    let mut previous_x = f64::NEG_INFINITY;

    for_each_chunk(y.as_ref(), CHUNK_LEN, progress, |offset, ys| {
        let xs = &mut scratch[..ys.len()];
        x.read_into(offset, xs)?;
        for (i, (&raw_x, &raw_y)) in xs.iter().zip(ys).enumerate() {
            let index = offset + i as u64;
            let point = Point {
                index,
                x: display.value(raw_x),
                y: transform.apply(raw_y),
            };
            if !(point.x.is_finite() && point.y.is_finite()) {
                continue;
            }
            if point.x < previous_x {
                reducer = None;
            }
            previous_x = point.x;
            if let Some(reducer) = reducer.as_mut() {
                reducer.push(columns, point);
            }
            let column = columns.column(point.x);
            if let Some(bucket) = usize::try_from(column)
                .ok()
                .and_then(|c| summary.get_mut(c))
            {
                bucket.push(point);
            }
        }
        Ok(())
    })?;

    if let Some(reducer) = reducer {
        return Ok(reducer.finish(y.len()));
    }
    summary.retain(|bucket| bucket.count > 0);
    Ok(Envelope {
        buckets: summary,
        samples_read: y.len(),
        summary_only: true,
    })
}

fn y_range(
    envelopes: &[Envelope],
    traces: &[Trace],
    last_column: i32,
    options: &PlotOptions,
) -> Result<Range<f64>, PlotError> {
    if let Some((low, high)) = options.ylim {
        let (low, high) = if options.log_y {
            (low.log10(), high.log10())
        } else {
            (low, high)
        };
        return Ok(low..high);
    }
    let range = envelopes
        .iter()
        .filter_map(|e| e.value_range(last_column))
        .fold(None, |acc, (l, h)| {
            let (low, high): (f64, f64) = acc.unwrap_or((l, h));
            Some((low.min(l), high.max(h)))
        });
    let Some((low, high)) = range else {
        return Err(no_values(traces, options));
    };
    let pad = (high - low) * 0.05;
    Ok(widen(low - pad, high + pad, options.log_y))
}

fn no_values(traces: &[Trace], options: &PlotOptions) -> PlotError {
    let total: u64 = traces.iter().map(|t| t.y.len()).sum();
    let what = if options.log_y {
        "log_y needs positive values; none of them is > 0 and finite"
    } else if options.db {
        "no value has a finite level in dB (all are 0, NaN or infinite)"
    } else {
        "no value is finite (all are NaN or infinite)"
    };
    let window = if options.xlim.is_some() {
        " inside xlim"
    } else {
        ""
    };
    PlotError::Unplottable(format!(
        "nothing to draw among {total} values{window}: {what}"
    ))
}

#[allow(clippy::too_many_arguments)]
fn fit_axes(
    kind: PlotKind,
    quantity: XQuantity,
    traces: &[Trace],
    display: XDisplay,
    x: Range<f64>,
    y: Range<f64>,
    options: &PlotOptions,
    plot_width: u32,
) -> Axes {
    let layout = Layout::new(options, false);
    let x_target = (f64::from(plot_width) / (layout.font * 7.0)).clamp(2.0, 12.0) as usize;
    let y_target =
        (f64::from(layout.plot_area().height) / (layout.font * 3.2)).clamp(2.0, 10.0) as usize;
    let x_ticks = if display.log {
        ticks::logarithmic(x.start, x.end, x_target)
    } else {
        ticks::linear(x.start, x.end, x_target)
    };
    let y_ticks = if options.log_y {
        ticks::logarithmic(y.start, y.end, y_target)
    } else {
        ticks::linear(y.start, y.end, y_target)
    };
    let x_label = options
        .xlabel
        .clone()
        .unwrap_or_else(|| x_name(quantity, display.scale));
    let y_label = options
        .ylabel
        .clone()
        .unwrap_or_else(|| y_name(kind, traces, options.db));
    Axes {
        x,
        y,
        x_ticks,
        y_ticks,
        x_label,
        y_label,
    }
}

fn x_name(quantity: XQuantity, scale: f64) -> String {
    match quantity {
        XQuantity::Time => "time (s)",
        XQuantity::Sample => "sample",
        XQuantity::Frequency if scale != 1.0 => "frequency (kHz)",
        XQuantity::Frequency => "frequency (Hz)",
        XQuantity::Bin => "bin",
        XQuantity::Free => "x",
    }
    .to_string()
}

fn y_name(kind: PlotKind, traces: &[Trace], db: bool) -> String {
    let units = traces[0].y.info().units;
    match (kind, db) {
        (PlotKind::Psd, true) => "PSD (dB)".to_string(),
        (PlotKind::Psd, false) => match units {
            Some(units) => format!("PSD ({units}²/Hz)"),
            None => "PSD (per Hz)".to_string(),
        },
        (PlotKind::Spectrum, true) => "magnitude (dB)".to_string(),
        (PlotKind::Spectrum, false) => "magnitude".to_string(),
        (_, true) => "level (dB)".to_string(),
        (PlotKind::Xy, false) => "y".to_string(),
        (_, false) => match units {
            Some(units) => format!("amplitude ({units})"),
            None => "amplitude".to_string(),
        },
    }
}

fn drawn_traces(
    envelopes: &[Envelope],
    traces: &[Trace],
    display: XDisplay,
    options: &PlotOptions,
) -> Vec<DrawnTrace> {
    let first_colour = options.color.unwrap_or(PALETTE[0]);
    let colour = |i: usize| {
        if i == 0 {
            first_colour
        } else {
            PALETTE[i % PALETTE.len()]
        }
    };
    let stream = |envelope: &Envelope, trace: &Trace| match (&trace.x, envelope.summary_only) {
        (XValues::Explicit(x), true) => Some(PairStream {
            x: x.clone(),
            y: trace.y.clone(),
            display,
            transform: value_transform(trace, options),
        }),
        _ => None,
    };
    envelopes
        .iter()
        .zip(traces)
        .enumerate()
        .map(|(i, (envelope, trace))| {
            let stream = stream(envelope, trace);
            let points = if stream.is_some() {
                Vec::new()
            } else {
                envelope.points().map(|p| (p.x, p.y)).collect()
            };
            DrawnTrace {
                points,
                stream,
                color: colour(i),
                label: trace.label.clone(),
            }
        })
        .collect()
}

/// Moves the neighbour points that join the line to the plot's left and
/// right edges onto those edges, interpolating along their segment.
/// plotters clamps points outside the plot area to its border, which would
/// bend these segments; with the neighbours on the edge they keep their
/// slope. Limits in y are left to plotters: values beyond them are drawn
/// on the top or bottom edge.
pub(crate) fn clip_edges(points: &mut Vec<(f64, f64)>, x: &Range<f64>) {
    if points.len() >= 2 && points[0].0 < x.start {
        let (outside, inside) = (points[0], points[1]);
        if inside.0 >= x.start {
            points[0] = (x.start, interpolate(outside, inside, x.start));
        } else {
            points.remove(0);
        }
    }
    let len = points.len();
    if len >= 2 && points[len - 1].0 > x.end {
        let (inside, outside) = (points[len - 2], points[len - 1]);
        if inside.0 <= x.end {
            points[len - 1] = (x.end, interpolate(inside, outside, x.end));
        } else {
            points.pop();
        }
    }
}

fn interpolate(a: (f64, f64), b: (f64, f64), x: f64) -> f64 {
    a.1 + (b.1 - a.1) * (x - a.0) / (b.0 - a.0)
}

pub(crate) type Chart<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<TickedAxis, TickedAxis>>;

pub(crate) fn build_chart<'a, 'b>(
    root: &'a DrawingArea<BitMapBackend<'b>, Shift>,
    layout: &Layout,
    axes: &Axes,
) -> Result<Chart<'a, 'b>, PlotError> {
    let x = TickedAxis::new(axes.x.clone(), &axes.x_ticks);
    let y = TickedAxis::new(axes.y.clone(), &axes.y_ticks);
    ChartBuilder::on(root)
        .margin_top(layout.top)
        .margin_right(layout.right)
        .x_label_area_size(layout.bottom)
        .y_label_area_size(layout.left)
        .build_cartesian_2d(x, y)
        .map_err(PlotError::render)
}

/// Draws a line chart into an RGB buffer: grid, traces, then (after
/// clipping to the plot area) axes, labels, legend, markers and title.
pub(crate) fn render(
    layout: &Layout,
    title: Option<&str>,
    axes: &Axes,
    traces: &[DrawnTrace],
    markers: &[Marker],
    progress: &dyn Progress,
) -> Result<Vec<u8>, PlotError> {
    crate::font::ensure_registered()?;
    let (width, height) = (layout.width, layout.height);
    let mut rgb = vec![255u8; width as usize * height as usize * 3];
    draw_data(&mut rgb, layout, axes, traces, progress)?;
    clear_outside(&mut rgb, width, height, layout.plot_area());
    draw_decorations(&mut rgb, layout, title, axes, traces, markers);
    Ok(rgb)
}

fn draw_data(
    rgb: &mut [u8],
    layout: &Layout,
    axes: &Axes,
    traces: &[DrawnTrace],
    progress: &dyn Progress,
) -> Result<(), PlotError> {
    let root = BitMapBackend::with_buffer(rgb, (layout.width, layout.height)).into_drawing_area();
    root.fill(&PAPER).map_err(PlotError::render)?;
    let mut chart = build_chart(&root, layout, axes)?;
    check_plot_area(&chart, layout)?;
    chart
        .configure_mesh()
        .disable_axes()
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .draw()
        .map_err(PlotError::render)?;
    for trace in traces {
        let colour = RGBColor(trace.color.0, trace.color.1, trace.color.2);
        if let Some(stream) = &trace.stream {
            draw_pairs(&mut chart, stream, colour, progress)?;
            continue;
        }
        let series = LineSeries::new(trace.points.iter().copied(), colour.stroke_width(1));
        chart.draw_series(series).map_err(PlotError::render)?;
    }
    root.present().map_err(PlotError::render)
}

/// Draws pairs chunk by chunk, each chunk's path starting at the previous
/// chunk's last point, so the line is the one a single path would draw.
fn draw_pairs(
    chart: &mut Chart<'_, '_>,
    stream: &PairStream,
    colour: RGBColor,
    progress: &dyn Progress,
) -> Result<(), PlotError> {
    let mut scratch = vec![0.0; CHUNK_LEN.min(stream.x.len() as usize)];
    let mut path: Vec<(f64, f64)> = Vec::with_capacity(scratch.len() + 1);
    progress.phase("drawing");
    for_each_chunk(stream.y.as_ref(), CHUNK_LEN, progress, |offset, ys| {
        let xs = &mut scratch[..ys.len()];
        stream.x.read_into(offset, xs)?;
        let carried = path.last().copied();
        path.clear();
        path.extend(carried);
        let points = xs
            .iter()
            .zip(ys)
            .map(|(&x, &y)| (stream.display.value(x), stream.transform.apply(y)));
        path.extend(points.filter(|(x, y)| x.is_finite() && y.is_finite()));
        let series = LineSeries::new(path.iter().copied(), colour.stroke_width(1));
        chart
            .draw_series(series)
            .map_err(|e| signal::SignalError::read(format!("drawing failed: {e}")))?;
        Ok(())
    })?;
    Ok(())
}

/// The M4 columns assume the plot area of [`Layout`]; plotters must agree.
fn check_plot_area(chart: &Chart<'_, '_>, layout: &Layout) -> Result<(), PlotError> {
    let (xs, ys) = chart.plotting_area().get_pixel_range();
    let area = layout.plot_area();
    let got = PixelRect {
        x: xs.start as u32,
        y: ys.start as u32,
        width: (xs.end - xs.start) as u32,
        height: (ys.end - ys.start) as u32,
    };
    if got != area {
        return Err(PlotError::Render(format!(
            "plot area {got:?} differs from the layout's {area:?}"
        )));
    }
    Ok(())
}

fn draw_decorations(
    rgb: &mut [u8],
    layout: &Layout,
    title: Option<&str>,
    axes: &Axes,
    traces: &[DrawnTrace],
    markers: &[Marker],
) {
    let mut canvas = Canvas {
        rgb,
        width: layout.width,
        height: layout.height,
    };
    decorate::draw_frame(&mut canvas, layout, axes);
    decorate::draw_markers(&mut canvas, layout, axes, markers);
    if traces.iter().any(|trace| trace.label.is_some()) {
        let entries: Vec<(Rgb, String)> = traces
            .iter()
            .map(|t| (t.color, t.label.clone().unwrap_or_default()))
            .collect();
        decorate::draw_legend(&mut canvas, layout, &entries);
    }
    decorate::draw_title(&mut canvas, layout, title);
}

/// Renders a reduced chart to a figure's PNG bytes.
pub(crate) fn to_png(
    layout: &Layout,
    title: Option<&str>,
    reduced: &Reduced,
    progress: &dyn Progress,
) -> Result<Vec<u8>, PlotError> {
    let rgb = render(
        layout,
        title,
        &reduced.axes,
        &reduced.traces,
        &reduced.markers,
        progress,
    )?;
    encode_png(&rgb, layout.width, layout.height)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{Plan, PlotInput, Series, resolve};
    use signal::{RealVector, Silent};

    /// A seeded uniform generator in [-1, 1) (xorshift64*).
    struct Noise(u64);

    impl Noise {
        fn next(&mut self) -> f64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            let bits = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11;
            bits as f64 / (1u64 << 52) as f64 - 1.0
        }
    }

    fn decode(png_bytes: &[u8]) -> (u32, u32, Vec<u8>) {
        let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut pixels).unwrap();
        pixels.truncate(info.buffer_size());
        (info.width, info.height, pixels)
    }

    /// Renders `values` once through M4 and once with every sample in a
    /// plain `LineSeries` on the same axes; returns the differing pixels
    /// and the number of points M4 kept.
    fn m4_against_every_point(
        values: Vec<f64>,
        rate: Option<f64>,
        options: &PlotOptions,
    ) -> (usize, usize) {
        let mut vector = RealVector::new(values.clone());
        vector.sample_rate = rate;
        let input = PlotInput::new(Series::Signal(Arc::new(vector)));
        let Plan::Lines {
            kind,
            x_quantity,
            traces,
            ..
        } = resolve(&input, None).unwrap()
        else {
            panic!("expected a line plan");
        };
        let layout = Layout::new(options, false);
        let reduced = reduce(
            kind,
            x_quantity,
            &traces,
            options,
            layout.plot_area().width,
            &Silent,
        )
        .unwrap();
        let kept = reduced.traces[0].points.len();
        let decimated =
            render(&layout, None, &reduced.axes, &reduced.traces, &[], &Silent).unwrap();

        let axis = UniformAxis::new(0.0, rate.map_or(1.0, |r| 1.0 / r));
        let every: Vec<(f64, f64)> = values
            .iter()
            .enumerate()
            .map(|(i, v)| (axis.at(i as u64), *v))
            .collect();
        let full_trace = DrawnTrace {
            points: every,
            stream: None,
            color: reduced.traces[0].color,
            label: None,
        };
        let full = render(&layout, None, &reduced.axes, &[full_trace], &[], &Silent).unwrap();

        let (w, h) = (layout.width, layout.height);
        let (_, _, decimated) = decode(&encode_png(&decimated, w, h).unwrap());
        let (_, _, full) = decode(&encode_png(&full, w, h).unwrap());
        let differing: Vec<usize> = (0..decimated.len() / 3)
            .filter(|p| decimated[p * 3..p * 3 + 3] != full[p * 3..p * 3 + 3])
            .collect();
        if let Ok(path) = std::env::var("PLOTTING_DEBUG_DIFF") {
            let shown: Vec<(usize, usize)> = differing
                .iter()
                .take(40)
                .map(|p| (p % w as usize, p / w as usize))
                .collect();
            eprintln!("differing at {shown:?}, plot area {:?}", layout.plot_area());
            std::fs::write(
                format!("{path}-m4.png"),
                encode_png(&decimated, w, h).unwrap(),
            )
            .unwrap();
            std::fs::write(format!("{path}-full.png"), encode_png(&full, w, h).unwrap()).unwrap();
        }
        (differing.len(), kept)
    }

    const MILLION: usize = 1_000_000;

    #[test]
    fn m4_draws_noise_pixel_identical_to_every_point() {
        let mut noise = Noise(42);
        let values = (0..MILLION).map(|_| noise.next()).collect();
        let (differing, kept) =
            m4_against_every_point(values, Some(44_100.0), &PlotOptions::default());
        assert_eq!(differing, 0);
        assert!(kept <= 4 * 1000, "kept {kept} points");
    }

    #[test]
    fn m4_draws_a_sine_pixel_identical_to_every_point() {
        let values = (0..MILLION)
            .map(|i| (i as f64 * 2e-4).sin() * 3.0)
            .collect();
        assert_eq!(
            m4_against_every_point(values, None, &PlotOptions::default()).0,
            0
        );
    }

    #[test]
    fn m4_draws_steps_pixel_identical_to_every_point() {
        let values = (0..MILLION).map(|i| ((i / 37_123) % 5) as f64).collect();
        assert_eq!(
            m4_against_every_point(values, Some(1000.0), &PlotOptions::default()).0,
            0
        );
    }

    #[test]
    fn m4_draws_spikes_pixel_identical_to_every_point() {
        let values = (0..MILLION)
            .map(|i| {
                if i % 99_991 == 0 {
                    50.0
                } else if i % 7_919 == 0 {
                    -20.0
                } else {
                    0.0
                }
            })
            .collect();
        assert_eq!(
            m4_against_every_point(values, Some(8000.0), &PlotOptions::default()).0,
            0
        );
    }

    #[test]
    fn m4_draws_a_constant_pixel_identical_to_every_point() {
        let values = vec![2.5; MILLION];
        assert_eq!(
            m4_against_every_point(values, None, &PlotOptions::default()).0,
            0
        );
    }

    #[test]
    fn m4_draws_series_shorter_than_the_width_pixel_identical() {
        for len in [2, 3, 17, 500, 999] {
            let mut noise = Noise(len as u64);
            let values = (0..len).map(|_| noise.next()).collect();
            let (differing, kept) = m4_against_every_point(values, None, &PlotOptions::default());
            assert_eq!((differing, kept), (0, len), "length {len}");
        }
    }

    #[test]
    fn m4_stays_pixel_identical_when_ylim_cuts_the_data() {
        let mut noise = Noise(9);
        let values = (0..MILLION)
            .map(|i| (i as f64 * 1e-5).sin() + 0.2 * noise.next())
            .collect();
        let options = PlotOptions {
            ylim: Some((-0.5, 0.7)),
            width: 640,
            height: 300,
            ..PlotOptions::default()
        };
        assert_eq!(
            m4_against_every_point(values, Some(100_000.0), &options).0,
            0
        );
    }

    #[test]
    fn m4_with_xlim_matches_every_point_of_the_window() {
        let mut noise = Noise(5);
        let values: Vec<f64> = (0..MILLION)
            .map(|i| (i as f64 * 1e-5).sin() + 0.2 * noise.next())
            .collect();
        let options = PlotOptions {
            xlim: Some((1.5, 4.0)),
            ..PlotOptions::default()
        };
        let source: Arc<dyn Source> =
            Arc::new(RealVector::new(values.clone()).with_sample_rate(100_000.0));
        let Plan::Lines {
            kind,
            x_quantity,
            traces,
            ..
        } = resolve(&PlotInput::new(Series::Signal(source)), None).unwrap()
        else {
            panic!("expected a line plan");
        };
        let layout = Layout::new(&options, false);
        let width = layout.plot_area().width;
        let reduced = reduce(kind, x_quantity, &traces, &options, width, &Silent).unwrap();
        let decimated =
            render(&layout, None, &reduced.axes, &reduced.traces, &[], &Silent).unwrap();

        // every sample whose column is visible, one neighbour each side
        let columns = ColumnMap::new(reduced.axes.x.clone(), width);
        let x_of = |i: usize| UniformAxis::new(0.0, 1e-5).at(i as u64);
        let visible: Vec<usize> = (0..values.len())
            .filter(|&i| (0..=columns.last()).contains(&columns.column(x_of(i))))
            .collect();
        let (first, last) = (visible[0] - 1, visible[visible.len() - 1] + 1);
        let mut every: Vec<(f64, f64)> = (first..=last).map(|i| (x_of(i), values[i])).collect();
        clip_edges(&mut every, &reduced.axes.x);
        let full_trace = DrawnTrace {
            points: every,
            stream: None,
            color: reduced.traces[0].color,
            label: None,
        };
        let full = render(&layout, None, &reduced.axes, &[full_trace], &[], &Silent).unwrap();

        let differing = decimated
            .chunks(3)
            .zip(full.chunks(3))
            .filter(|(a, b)| a != b)
            .count();
        assert_eq!(differing, 0);
    }

    #[test]
    fn unordered_pairs_stream_in_chunks_like_one_path() {
        let len = 600_000;
        let turn = |i: usize| i as f64 * 1e-4;
        let x: Vec<f64> = (0..len).map(|i| turn(i).cos() * (1.0 + turn(i))).collect();
        let y: Vec<f64> = (0..len).map(|i| turn(i).sin() * (1.0 + turn(i))).collect();
        let series = Series::Xy {
            x: Arc::new(RealVector::new(x.clone())),
            y: Arc::new(RealVector::new(y.clone())),
        };
        let Plan::Lines {
            kind,
            x_quantity,
            traces,
            ..
        } = resolve(&PlotInput::new(series), None).unwrap()
        else {
            panic!("expected a line plan");
        };
        let options = PlotOptions::default();
        let layout = Layout::new(&options, false);
        let reduced = reduce(
            kind,
            x_quantity,
            &traces,
            &options,
            layout.plot_area().width,
            &Silent,
        )
        .unwrap();
        assert!(reduced.traces[0].stream.is_some() && reduced.traces[0].points.is_empty());
        let streamed = render(&layout, None, &reduced.axes, &reduced.traces, &[], &Silent).unwrap();

        let every: Vec<(f64, f64)> = x.into_iter().zip(y).collect();
        let whole = DrawnTrace {
            points: every,
            stream: None,
            color: reduced.traces[0].color,
            label: None,
        };
        let full = render(&layout, None, &reduced.axes, &[whole], &[], &Silent).unwrap();
        let differing = streamed
            .chunks(3)
            .zip(full.chunks(3))
            .filter(|(a, b)| a != b)
            .count();
        assert_eq!(differing, 0);
    }

    #[test]
    fn edge_neighbours_move_onto_the_edges() {
        let mut points = vec![(-1.0, 0.0), (1.0, 2.0), (2.0, 2.0), (4.0, 0.0)];
        clip_edges(&mut points, &(0.0..3.0));
        assert_eq!(points, vec![(0.0, 1.0), (1.0, 2.0), (2.0, 2.0), (3.0, 1.0)]);
    }

    #[test]
    fn the_layout_plot_area_is_the_one_plotters_builds() {
        for (width, height) in [(1000, 400), (64, 64), (333, 777), (4000, 1500)] {
            let options = PlotOptions {
                width,
                height,
                title: Some("t".into()),
                ..PlotOptions::default()
            };
            let layout = Layout::new(&options, false);
            let axes = Axes {
                x: 0.0..1.0,
                y: 0.0..1.0,
                x_ticks: ticks::linear(0.0, 1.0, 4),
                y_ticks: ticks::linear(0.0, 1.0, 4),
                x_label: "x".into(),
                y_label: "y".into(),
            };
            assert!(
                render(&layout, Some("t"), &axes, &[], &[], &Silent).is_ok(),
                "{width}×{height}"
            );
        }
    }
}
