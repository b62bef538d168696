//! The embedded font registered with plotters. The crate draws its text
//! itself ([`crate::text`], same DejaVu Sans files, licence in
//! `assets/DejaVu-LICENSE.txt`); registering the faces with plotters'
//! `ab_glyph` backend as well means any text plotters lays out finds a
//! font instead of failing, and still without a system font library
//! (`spectral-and-plotting.md` §4, "Fonts, the CI trap").

use std::sync::OnceLock;

use plotters::style::{FontStyle, register_font};

use crate::PlotError;

/// The family name every text style of the crate uses.
pub(crate) const FAMILY: &str = "sans-serif";

/// DejaVu Sans, regular.
pub(crate) static REGULAR: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
/// DejaVu Sans, bold.
pub(crate) static BOLD: &[u8] = include_bytes!("../assets/DejaVuSans-Bold.ttf");
static REGISTERED: OnceLock<bool> = OnceLock::new();

/// Registers the embedded fonts with plotters, once per process.
///
/// # Errors
/// [`PlotError::Render`] when the embedded font files do not parse, which
/// would mean a damaged build.
pub(crate) fn ensure_registered() -> Result<(), PlotError> {
    let ok = *REGISTERED.get_or_init(|| {
        let regular = register_font(FAMILY, FontStyle::Normal, REGULAR).is_ok();
        let bold = register_font(FAMILY, FontStyle::Bold, BOLD).is_ok();
        regular && bold
    });
    if ok {
        Ok(())
    } else {
        Err(PlotError::Render(
            "the embedded font could not be loaded".to_string(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_fonts_register() {
        ensure_registered().unwrap();
        ensure_registered().unwrap();
    }
}
