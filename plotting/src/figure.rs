//! The finished picture: PNG bytes with their size, where the plot area
//! lies, and a one-line summary for `text/plain`. PNG encoding lives here
//! (the `png` crate, fixed settings, so the same pixels give the same
//! bytes), and so do the number formats the summaries share.

use crate::PlotError;

/// A rectangle of pixels: `x .. x + width`, `y .. y + height`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PixelRect {
    /// Left column.
    pub x: u32,
    /// Top row.
    pub y: u32,
    /// Columns.
    pub width: u32,
    /// Rows.
    pub height: u32,
}

/// A rendered plot.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// The PNG file, 8-bit RGB.
    pub png: Vec<u8>,
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
    /// The rectangle the data is drawn in (inside the axes).
    pub plot_area: PixelRect,
    /// One line for `text/plain`, e.g. "line plot of 1,234,567 samples
    /// (27.99 s at 44100 Hz), 1000×400 px".
    pub summary: String,
}

/// Encodes an RGB buffer (`width × height × 3` bytes, rows top to bottom).
///
/// # Errors
/// [`PlotError::Encode`] when the encoder fails.
pub(crate) fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, PlotError> {
    assert_eq!(
        rgb.len(),
        width as usize * height as usize * 3,
        "rgb buffer size"
    );
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Balanced);
    let mut writer = encoder
        .write_header()
        .map_err(|e| PlotError::Encode(e.to_string()))?;
    writer
        .write_image_data(rgb)
        .map_err(|e| PlotError::Encode(e.to_string()))?;
    writer
        .finish()
        .map_err(|e| PlotError::Encode(e.to_string()))?;
    Ok(bytes)
}

/// `1234567` as "1,234,567".
pub(crate) fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A frequency with its unit: "440 Hz", "22.05 kHz".
pub(crate) fn hertz(value: f64) -> String {
    if value.abs() >= 1000.0 {
        format!("{} kHz", trim(value / 1000.0, 2))
    } else {
        format!("{} Hz", trim(value, 2))
    }
}

/// `value` with at most `digits` decimals, trailing zeros dropped.
pub(crate) fn trim(value: f64, digits: usize) -> String {
    let text = format!("{value:.digits$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn frequencies_choose_their_unit() {
        assert_eq!(hertz(440.0), "440 Hz");
        assert_eq!(hertz(22050.0), "22.05 kHz");
    }

    #[test]
    fn encoded_png_decodes_to_the_same_pixels() {
        let rgb: Vec<u8> = (0..4 * 3 * 3).map(|i| (i * 7) as u8).collect();
        let bytes = encode_png(&rgb, 4, 3).unwrap();

        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .unwrap();
        let mut out = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut out).unwrap();
        assert_eq!((info.width, info.height), (4, 3));
        assert_eq!(&out[..info.buffer_size()], &rgb[..]);
    }
}
