//! Text drawn straight into the RGB buffer with `ab_glyph` and the
//! embedded DejaVu Sans. plotters' own `ab_glyph` path places each glyph
//! at a truncated pen position without its side bearing, so letters drift
//! ("Recor ding"); here glyphs are positioned at their exact pen position
//! with kerning, rasterised with coverage, and blended over the canvas.
//! Horizontal and rotated (reading bottom to top) text, with anchors.

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};

use crate::font::{BOLD, REGULAR};
use crate::options::Rgb;

static FONTS: OnceLock<Option<(FontRef<'static>, FontRef<'static>)>> = OnceLock::new();

/// An RGB buffer, rows top to bottom, 3 bytes per pixel.
pub(crate) struct Canvas<'a> {
    pub rgb: &'a mut [u8],
    pub width: u32,
    pub height: u32,
}

impl Canvas<'_> {
    /// Mixes `colour` into pixel `(x, y)` with weight `alpha` (0..=1);
    /// pixels outside the canvas are ignored.
    pub(crate) fn blend(&mut self, x: i32, y: i32, colour: Rgb, alpha: f32) {
        if x < 0 || y < 0 || x >= self.width as i32 || y >= self.height as i32 || alpha <= 0.0 {
            return;
        }
        let at = (y as usize * self.width as usize + x as usize) * 3;
        let alpha = alpha.min(1.0);
        for (channel, target) in [colour.0, colour.1, colour.2].into_iter().enumerate() {
            let old = f32::from(self.rgb[at + channel]);
            let mixed = old + (f32::from(target) - old) * alpha;
            self.rgb[at + channel] = mixed.round() as u8;
        }
    }

    /// Paints pixel `(x, y)` opaque.
    pub(crate) fn set(&mut self, x: i32, y: i32, colour: Rgb) {
        self.blend(x, y, colour, 1.0);
    }
}

/// Weight of the face.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Weight {
    Regular,
    Bold,
}

/// Where the anchor point lies on the text's box, along its reading
/// direction (`Start`, `Middle`, `End`) and across it (`Top`, `Centre`,
/// `Bottom`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    Start,
    Middle,
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Across {
    Top,
    Centre,
    Bottom,
}

/// Size in pixels, weight and colour of a piece of text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Style {
    pub size: f32,
    pub weight: Weight,
    pub colour: Rgb,
}

fn face(weight: Weight) -> Option<&'static FontRef<'static>> {
    let fonts = FONTS.get_or_init(|| {
        let regular = FontRef::try_from_slice(REGULAR).ok()?;
        let bold = FontRef::try_from_slice(BOLD).ok()?;
        Some((regular, bold))
    });
    fonts.as_ref().map(|(regular, bold)| {
        if weight == Weight::Bold {
            bold
        } else {
            regular
        }
    })
}

/// Width of `text` in pixels.
pub(crate) fn width(text: &str, style: Style) -> f32 {
    let Some(font) = face(style.weight) else {
        return 0.0;
    };
    let font = font.as_scaled(PxScale::from(style.size));
    let mut pen = 0.0;
    let mut previous = None;
    for c in text.chars() {
        let id = font.glyph_id(c);
        if let Some(before) = previous {
            pen += font.kern(before, id);
        }
        pen += font.h_advance(id);
        previous = Some(id);
    }
    pen
}

/// Coverage of `text` laid out on one line: `(columns, rows, values)`,
/// baseline at the font's ascent.
fn rasterise(text: &str, style: Style) -> (usize, usize, Vec<f32>) {
    let Some(font) = face(style.weight) else {
        return (0, 0, Vec::new());
    };
    let scaled = font.as_scaled(PxScale::from(style.size));
    let columns = width(text, style).ceil() as usize + 2;
    let rows = (scaled.ascent() - scaled.descent()).ceil() as usize + 1;
    let mut coverage = vec![0.0f32; columns * rows];

    let mut pen = 0.0;
    let mut previous = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(before) = previous {
            pen += scaled.kern(before, id);
        }
        let glyph = id.with_scale_and_position(style.size, point(pen, scaled.ascent()));
        if let Some(outline) = font.outline_glyph(glyph) {
            let bounds = outline.px_bounds();
            outline.draw(|x, y, value| {
                let column = bounds.min.x as i64 + i64::from(x);
                let row = bounds.min.y as i64 + i64::from(y);
                if (0..columns as i64).contains(&column) && (0..rows as i64).contains(&row) {
                    let cell = &mut coverage[row as usize * columns + column as usize];
                    *cell = (*cell + value).min(1.0);
                }
            });
        }
        pen += scaled.h_advance(id);
        previous = Some(id);
    }
    (columns, rows, coverage)
}

fn offset(length: usize, align: Align) -> i32 {
    match align {
        Align::Start => 0,
        Align::Middle => length as i32 / 2,
        Align::End => length as i32,
    }
}

fn offset_across(thickness: usize, across: Across) -> i32 {
    match across {
        Across::Top => 0,
        Across::Centre => thickness as i32 / 2,
        Across::Bottom => thickness as i32,
    }
}

/// Draws `text` horizontally with its anchor at `(x, y)`.
pub(crate) fn draw(
    canvas: &mut Canvas<'_>,
    text: &str,
    (x, y): (i32, i32),
    style: Style,
    align: Align,
    across: Across,
) {
    let (columns, rows, coverage) = rasterise(text, style);
    let left = x - offset(columns, align);
    let top = y - offset_across(rows, across);
    for row in 0..rows {
        for column in 0..columns {
            let value = coverage[row * columns + column];
            canvas.blend(left + column as i32, top + row as i32, style.colour, value);
        }
    }
}

/// Draws `text` rotated a quarter turn counter-clockwise (reading bottom
/// to top), centred on `(x, y)`.
pub(crate) fn draw_upward(canvas: &mut Canvas<'_>, text: &str, (x, y): (i32, i32), style: Style) {
    let (columns, rows, coverage) = rasterise(text, style);
    let left = x - rows as i32 / 2;
    let bottom = y + columns as i32 / 2;
    for row in 0..rows {
        for column in 0..columns {
            let value = coverage[row * columns + column];
            canvas.blend(
                left + row as i32,
                bottom - column as i32,
                style.colour,
                value,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INK: Rgb = Rgb(0, 0, 0);

    fn style() -> Style {
        Style {
            size: 20.0,
            weight: Weight::Regular,
            colour: INK,
        }
    }

    fn inked_columns(rgb: &[u8], width: usize, height: usize) -> Vec<usize> {
        (0..width)
            .filter(|&x| (0..height).any(|y| rgb[(y * width + x) * 3] < 128))
            .collect()
    }

    #[test]
    fn wider_text_measures_wider() {
        assert!(width("WWWW", style()) > width("iiii", style()));
        assert_eq!(width("", style()), 0.0);
    }

    #[test]
    fn text_is_drawn_within_its_measured_box() {
        let (w, h) = (200usize, 40usize);
        let mut rgb = vec![255u8; w * h * 3];
        let mut canvas = Canvas {
            rgb: &mut rgb,
            width: w as u32,
            height: h as u32,
        };
        draw(
            &mut canvas,
            "Recording",
            (100, 20),
            style(),
            Align::Middle,
            Across::Centre,
        );

        let inked = inked_columns(&rgb, w, h);
        let measured = width("Recording", style());
        let span = (inked[inked.len() - 1] - inked[0]) as f32;
        // the ink is the advance width less the outer side bearings
        assert!(
            span <= measured + 1.0 && span >= measured - 8.0,
            "ink spans {span} px, measured {measured}"
        );
        assert!(((inked[0] + inked[inked.len() - 1]) as f32 / 2.0 - 100.0).abs() < 3.0);
    }

    #[test]
    fn upward_text_is_taller_than_wide() {
        let (w, h) = (60usize, 200usize);
        let mut rgb = vec![255u8; w * h * 3];
        let mut canvas = Canvas {
            rgb: &mut rgb,
            width: w as u32,
            height: h as u32,
        };
        draw_upward(&mut canvas, "frequency", (30, 100), style());

        let inked = inked_columns(&rgb, w, h);
        let rows: Vec<usize> = (0..h)
            .filter(|&y| (0..w).any(|x| rgb[(y * w + x) * 3] < 128))
            .collect();
        assert!(
            rows.len() > 3 * inked.len(),
            "{} rows, {} columns",
            rows.len(),
            inked.len()
        );
    }
}
