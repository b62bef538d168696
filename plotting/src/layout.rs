//! Where things go on the canvas: font sizes scaled to the image, the
//! margins and label areas around the plot rectangle, and the colours the
//! data layer shares. Fixed before any sample is read, since
//! the decimation needs the plot's width in pixels.

use plotters::style::RGBColor;

use crate::figure::PixelRect;
use crate::options::PlotOptions;

/// Grid line colour.
pub(crate) const GRID: RGBColor = RGBColor(0xe6, 0xe6, 0xe6);
/// Background.
pub(crate) const PAPER: RGBColor = RGBColor(0xff, 0xff, 0xff);

/// The canvas split into margins, label areas and the plot rectangle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Layout {
    pub width: u32,
    pub height: u32,
    /// Base font size in pixels: tick labels; the rest derive from it.
    pub font: f64,
    /// Rows above the plot (title, or a small margin).
    pub top: u32,
    /// Columns left of the plot (y tick labels and y label).
    pub left: u32,
    /// Rows below the plot (x tick labels and x label).
    pub bottom: u32,
    /// Columns right of the plot (a margin, or the colour bar).
    pub right: u32,
}

impl Layout {
    /// The layout for `options`; `colour_bar` reserves room on the right.
    pub(crate) fn new(options: &PlotOptions, colour_bar: bool) -> Self {
        let (width, height) = (options.width, options.height);
        let scale = (f64::from(width) / 900.0)
            .min(f64::from(height) / 360.0)
            .clamp(0.5, 2.0);
        let font = (13.0 * scale).round().max(9.0);
        let top = if options.title.is_some() {
            2.6 * font
        } else {
            1.0 * font
        };
        let right = if colour_bar { 7.5 * font } else { 2.0 * font };
        let (left, right) = fit(6.6 * font, right, width);
        let (top, bottom) = fit(top, 3.5 * font, height);
        Self {
            width,
            height,
            font,
            top,
            left,
            bottom,
            right,
        }
    }

    /// The plot rectangle.
    pub(crate) fn plot_area(&self) -> PixelRect {
        PixelRect {
            x: self.left,
            y: self.top,
            width: self.width.saturating_sub(self.left + self.right).max(2),
            height: self.height.saturating_sub(self.top + self.bottom).max(2),
        }
    }
}

/// Shrinks two margins together so that they take at most 60% of `size`:
/// on a tiny canvas the plot keeps some room and labels get cut instead.
fn fit(first: f64, second: f64, size: u32) -> (u32, u32) {
    let room = 0.6 * f64::from(size);
    let factor = (room / (first + second)).min(1.0);
    ((first * factor) as u32, (second * factor) as u32)
}

/// Paints everything outside `area` with the background: lines that leave
/// the plot rectangle (limits narrower than the data) are clipped this way
/// before the axes are drawn.
pub(crate) fn clear_outside(rgb: &mut [u8], width: u32, height: u32, area: PixelRect) {
    let (x0, x1) = (area.x as usize, (area.x + area.width) as usize);
    let (y0, y1) = (area.y as usize, (area.y + area.height) as usize);
    for row in 0..height as usize {
        let line = &mut rgb[row * width as usize * 3..(row + 1) * width as usize * 3];
        if row < y0 || row >= y1 {
            line.fill(255);
        } else {
            line[..x0 * 3].fill(255);
            line[x1.min(width as usize) * 3..].fill(255);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_layout_leaves_most_of_the_canvas_to_the_plot() {
        let layout = Layout::new(&PlotOptions::default(), false);
        let area = layout.plot_area();
        assert!(area.width > 800 && area.height > 300, "{area:?}");
        assert_eq!(area.x + area.width + layout.right, 1000);
    }

    #[test]
    fn the_smallest_canvas_still_has_a_plot_area() {
        let options = PlotOptions {
            width: 64,
            height: 64,
            ..PlotOptions::default()
        };
        let area = Layout::new(&options, true).plot_area();
        assert!(area.width >= 2 && area.height >= 2);
    }

    #[test]
    fn clearing_keeps_only_the_plot_area() {
        let mut rgb = vec![0u8; 4 * 3 * 3];
        clear_outside(
            &mut rgb,
            4,
            3,
            PixelRect {
                x: 1,
                y: 1,
                width: 2,
                height: 1,
            },
        );
        let dark: Vec<usize> = (0..12).filter(|p| rgb[p * 3] == 0).collect();
        assert_eq!(dark, vec![5, 6]);
    }
}
