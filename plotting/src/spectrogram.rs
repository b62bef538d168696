//! Spectrogram heatmaps: a frames × bins grid of powers drawn as a
//! time-by-frequency picture in dB (viridis) with a colour bar. The grid is
//! read frame by frame in bounded chunks and reduced to one value per
//! pixel, the maximum of every cell that covers it, so a short event never
//! disappears when frames or bins outnumber pixels.

use std::ops::Range;

use plotters::prelude::*;
use plotters::style::colors::colormaps::ViridisRGB;
use signal::{Progress, Slice, for_each_chunk};

use crate::figure::{Figure, encode_png, hertz, thousands, trim};
use crate::input::{SpectrogramData, UniformAxis};
use crate::layout::{Layout, clear_outside};
use crate::line::Axes;
use crate::m4::CHUNK_LEN;
use crate::options::PlotOptions;
use crate::text::{self, Across, Align, Canvas};
use crate::{PlotError, decorate, ticks};

/// Widest colour range shown: this many dB below the loudest pixel.
const DYNAMIC_RANGE_DB: f64 = 80.0;

/// The pixels `first ..= last` covered by cell `index` of `cells` spread
/// over `pixels`: cell k starts at pixel ⌊pixels·k / cells⌋ and covers up
/// to the next cell's start, at least one pixel.
pub(crate) fn cell_span(index: usize, cells: usize, pixels: usize) -> (usize, usize) {
    let start = (pixels as u64 * index as u64 / cells as u64) as usize;
    let next = (pixels as u64 * (index as u64 + 1) / cells as u64) as usize;
    (start, next.saturating_sub(1).max(start))
}

/// The largest power landing on each pixel, `columns × rows`, row 0 at the
/// bottom, column-major (`grid[column * rows + row]`); NaN where nothing
/// landed. Reads frames `frames` and uses bins `bins` of each.
///
/// # Errors
/// A read error of the grid source, or cancellation.
pub(crate) fn reduce_grid(
    data: &SpectrogramData,
    frames: Range<usize>,
    bins: Range<usize>,
    columns: usize,
    rows: usize,
    progress: &dyn Progress,
) -> Result<Vec<f64>, PlotError> {
    let mut grid = vec![f64::NAN; columns * rows];
    let mut frame_rows = vec![f64::NAN; rows];
    let row_spans: Vec<(usize, usize)> = (0..bins.len())
        .map(|j| cell_span(j, bins.len(), rows))
        .collect();
    let frames_per_chunk = (CHUNK_LEN / data.bins.max(1)).max(1);
    let begin = (frames.start * data.bins) as u64;
    let window = Slice::new(data.grid.clone(), begin, (frames.end * data.bins) as u64)?;

    for_each_chunk(
        &window,
        frames_per_chunk * data.bins,
        progress,
        |offset, values| {
            let first_frame = (offset / data.bins as u64) as usize;
            for (i, frame) in values.chunks_exact(data.bins).enumerate() {
                frame_rows.fill(f64::NAN);
                for (j, &power) in frame[bins.clone()].iter().enumerate() {
                    let (low, high) = row_spans[j];
                    for row in &mut frame_rows[low..=high] {
                        *row = row.max(power);
                    }
                }
                let (low, high) = cell_span(first_frame + i, frames.len(), columns);
                for column in low..=high {
                    let pixels = &mut grid[column * rows..(column + 1) * rows];
                    for (pixel, &value) in pixels.iter_mut().zip(&frame_rows) {
                        *pixel = pixel.max(value);
                    }
                }
            }
            Ok(())
        },
    )?;
    Ok(grid)
}

/// The cells of `axis` (`count` of them) whose centre lies in `limits`.
fn cells_within(axis: UniformAxis, count: usize, limits: Option<(f64, f64)>) -> Range<usize> {
    let Some((low, high)) = limits else {
        return 0..count;
    };
    let first = (0..count)
        .find(|&i| axis.at(i as u64) >= low)
        .unwrap_or(count);
    let end = (first..count)
        .find(|&i| axis.at(i as u64) > high)
        .unwrap_or(count);
    first..end
}

/// The drawn range of cells `cells`: from the first cell's lower edge to
/// the last one's upper edge.
fn edges(axis: UniformAxis, cells: &Range<usize>, scale: f64) -> Range<f64> {
    let low = axis.at(cells.start as u64) - axis.step / 2.0;
    let high = axis.at(cells.end as u64 - 1) + axis.step / 2.0;
    low * scale..high * scale
}

/// Draws a spectrogram.
///
/// # Errors
/// An empty grid, a grid source of the wrong length, limits that leave no
/// cell, a read error, or cancellation.
pub(crate) fn figure(
    data: &SpectrogramData,
    options: &PlotOptions,
    progress: &dyn Progress,
) -> Result<Figure, PlotError> {
    check_shape(data)?;
    if options.log_x || options.log_y {
        // TODO: a log frequency axis needs rows mapped through log10;
        // add it when a notebook asks for one.
        return Err(PlotError::InvalidOption(
            "log_x and log_y are not available for spectrograms; plot a psd for a log axis"
                .to_string(),
        ));
    }
    let frames = cells_within(data.times, data.frames, options.xlim);
    let bins = cells_within(data.frequencies, data.bins, options.ylim);
    if frames.is_empty() || bins.is_empty() {
        return Err(PlotError::Unplottable(format!(
            "xlim/ylim leave no cell of the {} × {} spectrogram; widen them",
            data.frames, data.bins
        )));
    }
    let layout = Layout::new(options, true);
    let area = layout.plot_area();
    let (columns, rows) = (area.width as usize, area.height as usize);

    progress.phase("reading");
    let grid = reduce_grid(data, frames.clone(), bins.clone(), columns, rows, progress)?;
    let levels: Vec<f64> = grid.iter().map(|p| 10.0 * p.log10()).collect();
    let (low, high) = level_range(&levels)?;

    let top_frequency = data.frequencies.at(bins.end as u64 - 1);
    let scale = if top_frequency >= 10_000.0 { 1e-3 } else { 1.0 };
    let axes = spectrogram_axes(&layout, options, data, &frames, &bins, scale);
    let rgb = render(
        &layout,
        options.title.as_deref(),
        &axes,
        &levels,
        (low, high),
    )?;

    let summary = summary(data, &layout);
    let png = encode_png(&rgb, layout.width, layout.height)?;
    Ok(Figure {
        png,
        width: layout.width,
        height: layout.height,
        plot_area: area,
        summary,
    })
}

/// "spectrogram of 600 frames × 257 bins (13.92 s, 0 Hz–22.05 kHz),
/// 1000×400 px".
fn summary(data: &SpectrogramData, layout: &Layout) -> String {
    let duration = data.times.step * data.frames as f64;
    format!(
        "spectrogram of {} frames × {} bins ({} s, {}–{}), {}×{} px",
        thousands(data.frames as u64),
        thousands(data.bins as u64),
        trim(duration, 2),
        hertz(data.frequencies.at(0)),
        hertz(data.frequencies.at(data.bins as u64 - 1)),
        layout.width,
        layout.height
    )
}

fn check_shape(data: &SpectrogramData) -> Result<(), PlotError> {
    if data.frames == 0 || data.bins == 0 {
        return Err(PlotError::Unplottable(format!(
            "the spectrogram is empty ({} frames × {} bins)",
            data.frames, data.bins
        )));
    }
    let expected = data.frames as u64 * data.bins as u64;
    if data.grid.len() != expected {
        return Err(PlotError::Unplottable(format!(
            "the spectrogram grid holds {} values, but {} frames × {} bins need {expected}",
            data.grid.len(),
            data.frames,
            data.bins
        )));
    }
    if !(data.times.step > 0.0 && data.frequencies.step > 0.0) {
        return Err(PlotError::Unplottable(format!(
            "spectrogram axes need positive steps, got {} s and {} Hz",
            data.times.step, data.frequencies.step
        )));
    }
    Ok(())
}

/// The colour range: the loudest level down to 80 dB below it, or to the
/// quietest finite level when that is higher.
fn level_range(levels: &[f64]) -> Result<(f64, f64), PlotError> {
    let finite = levels.iter().copied().filter(|v| v.is_finite());
    let (low, high) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
        (l.min(v), h.max(v))
    });
    if !high.is_finite() {
        return Err(PlotError::Unplottable(
            "the spectrogram has no positive finite power to draw in dB".to_string(),
        ));
    }
    let low = low.max(high - DYNAMIC_RANGE_DB);
    Ok(if low < high {
        (low, high)
    } else {
        (high - 1.0, high)
    })
}

fn spectrogram_axes(
    layout: &Layout,
    options: &PlotOptions,
    data: &SpectrogramData,
    frames: &Range<usize>,
    bins: &Range<usize>,
    scale: f64,
) -> Axes {
    let x = edges(data.times, frames, 1.0);
    let y = edges(data.frequencies, bins, scale);
    let area = layout.plot_area();
    let x_target = (f64::from(area.width) / (layout.font * 7.0)).clamp(2.0, 12.0) as usize;
    let y_target = (f64::from(area.height) / (layout.font * 3.2)).clamp(2.0, 10.0) as usize;
    let frequency = if scale == 1.0 {
        "frequency (Hz)"
    } else {
        "frequency (kHz)"
    };
    Axes {
        x_ticks: ticks::linear(x.start, x.end, x_target),
        y_ticks: ticks::linear(y.start, y.end, y_target),
        x,
        y,
        x_label: options
            .xlabel
            .clone()
            .unwrap_or_else(|| "time (s)".to_string()),
        y_label: options
            .ylabel
            .clone()
            .unwrap_or_else(|| frequency.to_string()),
    }
}

fn colour(level: f64, (low, high): (f64, f64)) -> RGBColor {
    let clamped = if level.is_finite() {
        level.clamp(low, high)
    } else {
        low
    };
    ViridisRGB.get_color_normalized(clamped, low, high)
}

fn render(
    layout: &Layout,
    title: Option<&str>,
    axes: &Axes,
    levels: &[f64],
    range: (f64, f64),
) -> Result<Vec<u8>, PlotError> {
    crate::font::ensure_registered()?;
    let (width, height) = (layout.width, layout.height);
    let mut rgb = vec![255u8; width as usize * height as usize * 3];
    paint_heatmap(&mut rgb, layout, levels, range);
    paint_colour_bar(&mut rgb, layout, range);
    clear_outside_but_bar(&mut rgb, layout);

    let mut canvas = Canvas {
        rgb: &mut rgb,
        width,
        height,
    };
    decorate::draw_frame(&mut canvas, layout, axes);
    draw_colour_bar_scale(&mut canvas, layout, range);
    decorate::draw_title(&mut canvas, layout, title);
    Ok(rgb)
}

fn set_pixel(rgb: &mut [u8], width: u32, (x, y): (u32, u32), colour: RGBColor) {
    let at = (y as usize * width as usize + x as usize) * 3;
    rgb[at..at + 3].copy_from_slice(&[colour.0, colour.1, colour.2]);
}

fn paint_heatmap(rgb: &mut [u8], layout: &Layout, levels: &[f64], range: (f64, f64)) {
    let area = layout.plot_area();
    let rows = area.height as usize;
    for (index, &level) in levels.iter().enumerate() {
        let (column, row) = ((index / rows) as u32, (index % rows) as u32);
        let pixel = (area.x + column, area.y + area.height - 1 - row);
        set_pixel(rgb, layout.width, pixel, colour(level, range));
    }
}

/// The bar's rectangle: right of the plot, as tall as it.
fn colour_bar_area(layout: &Layout) -> (u32, u32, u32, u32) {
    let area = layout.plot_area();
    let x = area.x + area.width + (layout.font * 1.2) as u32;
    let bar_width = (layout.font * 1.2) as u32;
    (x, area.y, bar_width, area.height)
}

fn paint_colour_bar(rgb: &mut [u8], layout: &Layout, range: (f64, f64)) {
    let (x, y, bar_width, bar_height) = colour_bar_area(layout);
    if x + bar_width >= layout.width {
        return;
    }
    for row in 0..bar_height {
        let fraction = (bar_height - 1 - row) as f64 / (bar_height - 1).max(1) as f64;
        let level = range.0 + fraction * (range.1 - range.0);
        for column in 0..bar_width {
            set_pixel(
                rgb,
                layout.width,
                (x + column, y + row),
                colour(level, range),
            );
        }
    }
}

/// Clears outside the plot area, then puts the colour bar back.
fn clear_outside_but_bar(rgb: &mut [u8], layout: &Layout) {
    let (x, y, bar_width, bar_height) = colour_bar_area(layout);
    let saved: Vec<Vec<u8>> = (y..y + bar_height)
        .map(|row| {
            let start = (row as usize * layout.width as usize + x as usize) * 3;
            let end = (start + bar_width as usize * 3)
                .min((row as usize + 1) * layout.width as usize * 3);
            rgb[start..end].to_vec()
        })
        .collect();
    clear_outside(rgb, layout.width, layout.height, layout.plot_area());
    for (i, line) in saved.iter().enumerate() {
        let start = ((y as usize + i) * layout.width as usize + x as usize) * 3;
        rgb[start..start + line.len()].copy_from_slice(line);
    }
}

fn draw_colour_bar_scale(canvas: &mut Canvas<'_>, layout: &Layout, (low, high): (f64, f64)) {
    let (x, y, bar_width, bar_height) = colour_bar_area(layout);
    if x + bar_width >= layout.width {
        return;
    }
    let (left, top) = (x as i32 - 1, y as i32 - 1);
    let (right, bottom) = ((x + bar_width) as i32, (y + bar_height) as i32);
    decorate::draw_rectangle(canvas, (left, top), (right, bottom), decorate::INK);

    let target = (f64::from(bar_height) / (layout.font * 3.0)).clamp(2.0, 8.0) as usize;
    let scale = ticks::linear(low, high, target);
    let style = decorate::tick_style(layout);
    for (value, label) in scale.values.iter().zip(&scale.labels) {
        let fraction = (value - low) / (high - low);
        let row = bottom - 1 - (fraction * f64::from(bar_height - 1)).round() as i32;
        (right + 1..=right + 4).for_each(|column| canvas.set(column, row, decorate::INK));
        text::draw(
            canvas,
            label,
            (right + 7, row),
            style,
            Align::Start,
            Across::Centre,
        );
    }
    let label_x = right + 7 + decorate::widest(&scale.labels, style) + (layout.font * 0.9) as i32;
    let label_style = text::Style {
        size: (layout.font * 1.08) as f32,
        ..style
    };
    text::draw_upward(
        canvas,
        "power (dB)",
        (label_x, top + bar_height as i32 / 2),
        label_style,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cover_every_pixel_exactly_once_when_fewer_than_pixels() {
        let mut covered = vec![0; 100];
        for k in 0..7 {
            let (low, high) = cell_span(k, 7, 100);
            covered[low..=high].iter_mut().for_each(|c| *c += 1);
        }
        assert!(covered.iter().all(|&c| c == 1), "{covered:?}");
    }

    #[test]
    fn cells_land_on_one_pixel_each_when_more_than_pixels() {
        for k in 0..1000 {
            let (low, high) = cell_span(k, 1000, 37);
            assert_eq!(low, high);
            assert_eq!(low, k * 37 / 1000);
        }
    }

    fn grid_data(frames: usize, bins: usize, values: Vec<f64>) -> SpectrogramData {
        SpectrogramData {
            grid: std::sync::Arc::new(signal::RealVector::new(values)),
            frames,
            bins,
            times: UniformAxis::new(0.5, 1.0),
            frequencies: UniformAxis::new(0.0, 10.0),
        }
    }

    /// The reduction the slow way: for every pixel, every cell, whether
    /// the cell's pixel interval covers it.
    fn naive_grid(
        values: &[f64],
        frames: usize,
        bins: usize,
        columns: usize,
        rows: usize,
    ) -> Vec<f64> {
        let covers = |cell: usize, cells: usize, pixels: usize, pixel: usize| {
            let start = pixels * cell / cells;
            let next = pixels * (cell + 1) / cells;
            pixel == start || (start <= pixel && pixel < next)
        };
        let mut out = vec![f64::NAN; columns * rows];
        for column in 0..columns {
            for row in 0..rows {
                let mut best = f64::NAN;
                for frame in 0..frames {
                    for bin in 0..bins {
                        if covers(frame, frames, columns, column) && covers(bin, bins, rows, row) {
                            best = best.max(values[frame * bins + bin]);
                        }
                    }
                }
                out[column * rows + row] = best;
            }
        }
        out
    }

    #[test]
    fn max_per_pixel_matches_a_naive_computation() {
        let shapes = [
            (500, 129, 37, 23),
            (7, 5, 40, 30),
            (300, 3, 50, 40),
            (11, 700, 9, 60),
        ];
        for (frames, bins, columns, rows) in shapes {
            let values: Vec<f64> = (0..frames * bins)
                .map(|i| ((i * 7919 + 13) % 10_007) as f64)
                .collect();
            let data = grid_data(frames, bins, values.clone());
            let got =
                reduce_grid(&data, 0..frames, 0..bins, columns, rows, &signal::Silent).unwrap();
            let expected = naive_grid(&values, frames, bins, columns, rows);
            assert_eq!(
                got, expected,
                "{frames} frames × {bins} bins on {columns}×{rows} px"
            );
        }
    }

    #[test]
    fn a_single_loud_cell_survives_the_reduction() {
        let (frames, bins) = (10_000, 64);
        let mut values = vec![1e-6; frames * bins];
        values[6_789 * bins + 40] = 1.0;
        let data = grid_data(frames, bins, values);
        let grid = reduce_grid(&data, 0..frames, 0..bins, 100, 16, &signal::Silent).unwrap();
        let loud: Vec<usize> = (0..grid.len()).filter(|&i| grid[i] == 1.0).collect();
        assert_eq!(loud, vec![(6_789 * 100 / frames) * 16 + 40 * 16 / bins]);
    }

    #[test]
    fn log_axes_on_a_spectrogram_are_refused() {
        let data = grid_data(2, 2, vec![1.0; 4]);
        let options = PlotOptions {
            log_y: true,
            ..PlotOptions::default()
        };
        let error = figure(&data, &options, &signal::Silent).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("log_x and log_y are not available for spectrograms")
        );
    }

    #[test]
    fn limits_select_cells_by_centre() {
        let axis = UniformAxis::new(0.0, 0.5);
        assert_eq!(cells_within(axis, 10, Some((1.0, 2.0))), 2..5);
        assert_eq!(cells_within(axis, 10, None), 0..10);
    }
}
