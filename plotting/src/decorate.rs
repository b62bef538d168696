//! Everything drawn around and over the data once the plot area is
//! clipped: the axes box, ticks and their labels, axis labels, the title,
//! the legend and peak markers. Drawn straight into the RGB buffer with the
//! crate's own text rendering ([`crate::text`]); tick positions use
//! plotters' mapping, so ticks sit on the grid lines plotters drew.

use std::ops::Range;

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::Ranged;

use crate::layout::Layout;
use crate::line::{Axes, Marker};
use crate::options::Rgb;
use crate::text::{self, Across, Align, Canvas, Style, Weight};

/// Axis, tick and text colour.
pub(crate) const INK: Rgb = Rgb(0x26, 0x26, 0x26);
/// Legend border.
const FAINT: Rgb = Rgb(0xb0, 0xb0, 0xb0);
const PAPER: Rgb = Rgb(0xff, 0xff, 0xff);
const TICK: i32 = 4;

pub(crate) fn tick_style(layout: &Layout) -> Style {
    Style {
        size: layout.font as f32,
        weight: Weight::Regular,
        colour: INK,
    }
}

fn label_style(layout: &Layout) -> Style {
    Style {
        size: (layout.font * 1.08) as f32,
        weight: Weight::Regular,
        colour: INK,
    }
}

fn title_style(layout: &Layout) -> Style {
    Style {
        size: (layout.font * 1.3) as f32,
        weight: Weight::Bold,
        colour: INK,
    }
}

/// The column of x value `value`, as plotters maps it.
pub(crate) fn x_pixel(layout: &Layout, range: &Range<f64>, value: f64) -> i32 {
    let area = layout.plot_area();
    let coord: RangedCoordf64 = range.clone().into();
    coord.map(&value, (area.x as i32, (area.x + area.width) as i32 - 1))
}

/// The row of y value `value`, as plotters maps it (upwards).
pub(crate) fn y_pixel(layout: &Layout, range: &Range<f64>, value: f64) -> i32 {
    let area = layout.plot_area();
    let coord: RangedCoordf64 = range.clone().into();
    coord.map(&value, ((area.y + area.height) as i32 - 1, area.y as i32))
}

/// The box around the plot area, ticks, tick labels and axis labels.
pub(crate) fn draw_frame(canvas: &mut Canvas<'_>, layout: &Layout, axes: &Axes) {
    let area = layout.plot_area();
    let (left, top) = (area.x as i32 - 1, area.y as i32 - 1);
    let (right, bottom) = ((area.x + area.width) as i32, (area.y + area.height) as i32);
    draw_rectangle(canvas, (left, top), (right, bottom), INK);

    let ticks = tick_style(layout);
    for (value, label) in axes.x_ticks.values.iter().zip(&axes.x_ticks.labels) {
        let x = x_pixel(layout, &axes.x, *value);
        (bottom + 1..=bottom + TICK).for_each(|y| canvas.set(x, y, INK));
        text::draw(
            canvas,
            label,
            (x, bottom + TICK + 3),
            ticks,
            Align::Middle,
            Across::Top,
        );
    }
    for (value, label) in axes.y_ticks.values.iter().zip(&axes.y_ticks.labels) {
        let y = y_pixel(layout, &axes.y, *value);
        (left - TICK..left).for_each(|x| canvas.set(x, y, INK));
        text::draw(
            canvas,
            label,
            (left - TICK - 4, y),
            ticks,
            Align::End,
            Across::Centre,
        );
    }

    let label = label_style(layout);
    let below = bottom + TICK + 3 + (layout.font * 1.45) as i32;
    let centre_x = (area.x + area.width / 2) as i32;
    text::draw(
        canvas,
        &axes.x_label,
        (centre_x, below),
        label,
        Align::Middle,
        Across::Top,
    );
    let widest = widest(&axes.y_ticks.labels, ticks);
    let label_x =
        (left - TICK - 4 - widest - (layout.font * 0.9) as i32).max((layout.font * 0.7) as i32);
    text::draw_upward(
        canvas,
        &axes.y_label,
        (label_x, (area.y + area.height / 2) as i32),
        label,
    );
}

/// Width in pixels of the widest of `labels`.
pub(crate) fn widest(labels: &[String], style: Style) -> i32 {
    labels
        .iter()
        .map(|label| text::width(label, style).ceil() as i32)
        .max()
        .unwrap_or(0)
}

/// A one-pixel outline from `(left, top)` to `(right, bottom)` inclusive.
pub(crate) fn draw_rectangle(
    canvas: &mut Canvas<'_>,
    (left, top): (i32, i32),
    (right, bottom): (i32, i32),
    colour: Rgb,
) {
    for x in left..=right {
        canvas.set(x, top, colour);
        canvas.set(x, bottom, colour);
    }
    for y in top..=bottom {
        canvas.set(left, y, colour);
        canvas.set(right, y, colour);
    }
}

/// The title, bold, centred over the plot area.
pub(crate) fn draw_title(canvas: &mut Canvas<'_>, layout: &Layout, title: Option<&str>) {
    let Some(title) = title else { return };
    let area = layout.plot_area();
    let centre = ((area.x + area.width / 2) as i32, (layout.top / 2) as i32);
    text::draw(
        canvas,
        title,
        centre,
        title_style(layout),
        Align::Middle,
        Across::Centre,
    );
}

/// A legend box in the upper right corner of the plot area: a line of
/// each colour and its label.
pub(crate) fn draw_legend(canvas: &mut Canvas<'_>, layout: &Layout, entries: &[(Rgb, String)]) {
    if entries.is_empty() {
        return;
    }
    let area = layout.plot_area();
    let style = tick_style(layout);
    let font = layout.font as i32;
    let (swatch, gap, padding, line) = (font * 3 / 2, font / 2, font / 2 + 2, font * 3 / 2);
    let labels: Vec<String> = entries.iter().map(|(_, label)| label.clone()).collect();
    let box_width = padding * 2 + swatch + gap + widest(&labels, style);
    let box_height = padding * 2 + line * entries.len() as i32 - (line - font);
    let right = (area.x + area.width) as i32 - font / 2 - 2;
    let (left, top) = (right - box_width, area.y as i32 + font / 2 + 2);

    for y in top..=top + box_height {
        for x in left..=right {
            canvas.blend(x, y, PAPER, 0.9);
        }
    }
    draw_rectangle(canvas, (left, top), (right, top + box_height), FAINT);
    for (i, (colour, label)) in entries.iter().enumerate() {
        let centre_y = top + padding + font / 2 + i as i32 * line;
        for x in left + padding..left + padding + swatch {
            canvas.set(x, centre_y, *colour);
            canvas.set(x, centre_y + 1, *colour);
        }
        let at = (left + padding + swatch + gap, centre_y);
        text::draw(canvas, label, at, style, Align::Start, Across::Centre);
    }
}

/// A small downward triangle above each marked peak and its label beside
/// it, kept inside the plot area.
pub(crate) fn draw_markers(
    canvas: &mut Canvas<'_>,
    layout: &Layout,
    axes: &Axes,
    markers: &[Marker],
) {
    let area = layout.plot_area();
    let style = tick_style(layout);
    let size = (layout.font * 0.4).round() as i32;
    for marker in markers {
        let x = x_pixel(layout, &axes.x, marker.x);
        let tip = y_pixel(layout, &axes.y, marker.y) - 3;
        for row in 0..=size {
            let half = size - row;
            (x - half..=x + half).for_each(|column| canvas.set(column, tip - row, INK));
        }
        let text_width = text::width(&marker.text, style).ceil() as i32;
        let text_x = (x + size + 3).min((area.x + area.width) as i32 - text_width - 4);
        let text_y = (tip - size).max(area.y as i32 + layout.font as i32 + 2);
        text::draw(
            canvas,
            &marker.text,
            (text_x, text_y),
            style,
            Align::Start,
            Across::Bottom,
        );
    }
}
