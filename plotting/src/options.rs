//! Plot options: the `PlotOptions` struct with its defaults, its validation
//! and a name/value setter the kernel feeds from a Rhai map, plus the colour
//! type and its parser. Nothing here draws.

use std::fmt;
use std::str::FromStr;

use crate::PlotError;
use crate::input::PlotKind;

/// Smallest and largest accepted width or height, in pixels.
pub const SIZE_RANGE: std::ops::RangeInclusive<u32> = 64..=8192;

/// Most peaks a plot marks.
pub const MAX_PEAKS: usize = 50;

/// The option names [`PlotOptions::set`] accepts, in the order the README
/// lists them.
pub const OPTION_NAMES: [&str; 13] = [
    "kind", "title", "xlabel", "ylabel", "width", "height", "log_x", "log_y", "xlim", "ylim",
    "color", "db", "peaks",
];

/// An opaque colour, 8 bits per channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

/// The line colours of successive series: the "tab10" qualitative palette
/// that matplotlib also uses by default.
pub const PALETTE: [Rgb; 10] = [
    Rgb(0x1f, 0x77, 0xb4),
    Rgb(0xff, 0x7f, 0x0e),
    Rgb(0x2c, 0xa0, 0x2c),
    Rgb(0xd6, 0x27, 0x28),
    Rgb(0x94, 0x67, 0xbd),
    Rgb(0x8c, 0x56, 0x4b),
    Rgb(0xe3, 0x77, 0xc2),
    Rgb(0x7f, 0x7f, 0x7f),
    Rgb(0xbc, 0xbd, 0x22),
    Rgb(0x17, 0xbe, 0xcf),
];

const NAMED_COLORS: [(&str, Rgb); 14] = [
    ("blue", PALETTE[0]),
    ("orange", PALETTE[1]),
    ("green", PALETTE[2]),
    ("red", PALETTE[3]),
    ("purple", PALETTE[4]),
    ("brown", PALETTE[5]),
    ("pink", PALETTE[6]),
    ("gray", PALETTE[7]),
    ("grey", PALETTE[7]),
    ("olive", PALETTE[8]),
    ("cyan", PALETTE[9]),
    ("black", Rgb(0, 0, 0)),
    ("white", Rgb(255, 255, 255)),
    ("navy", Rgb(0x00, 0x00, 0x80)),
];

impl FromStr for Rgb {
    type Err = PlotError;

    /// Parses `#rrggbb`, `#rgb`, a name (`blue`, `orange`, `green`, `red`,
    /// `purple`, `brown`, `pink`, `gray`, `olive`, `cyan`, `black`,
    /// `white`, `navy`) or a palette index `C0` to `C9`.
    fn from_str(text: &str) -> Result<Self, PlotError> {
        let lower = text.trim().to_ascii_lowercase();
        let parsed = match lower.strip_prefix('#') {
            Some(hex) => parse_hex(hex),
            None => parse_name(&lower),
        };
        parsed.ok_or_else(|| {
            PlotError::InvalidOption(format!(
                "color \"{text}\" is not a colour; use \"#rrggbb\", a name such as \"red\", or C0..C9"
            ))
        })
    }
}

fn parse_hex(hex: &str) -> Option<Rgb> {
    let digit = |i: usize, len: usize| u8::from_str_radix(hex.get(i..i + len)?, 16).ok();
    match hex.len() {
        6 => Some(Rgb(digit(0, 2)?, digit(2, 2)?, digit(4, 2)?)),
        3 => Some(Rgb(digit(0, 1)? * 17, digit(1, 1)? * 17, digit(2, 1)? * 17)),
        _ => None,
    }
}

fn parse_name(name: &str) -> Option<Rgb> {
    if let Some(index) = name.strip_prefix('c')
        && let Ok(index) = index.parse::<usize>()
    {
        return PALETTE.get(index).copied();
    }
    NAMED_COLORS
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(_, rgb)| *rgb)
}

impl fmt::Display for Rgb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

/// How a plot looks. Every field has a default ([`PlotOptions::default`]);
/// [`PlotOptions::validate`] checks a whole set before drawing.
#[derive(Debug, Clone, PartialEq)]
pub struct PlotOptions {
    /// Overrides the kind chosen from the input (see the README's table).
    pub kind: Option<PlotKind>,
    /// Title above the plot; none by default.
    pub title: Option<String>,
    /// X axis label; by default the input's axis ("time (s)", "frequency
    /// (Hz)", "sample").
    pub xlabel: Option<String>,
    /// Y axis label; by default the input's unit or quantity.
    pub ylabel: Option<String>,
    /// Image width in pixels, 64..=8192; default 1000.
    pub width: u32,
    /// Image height in pixels, 64..=8192; default 400.
    pub height: u32,
    /// Logarithmic x axis; points at x <= 0 are not drawn.
    pub log_x: bool,
    /// Logarithmic y axis; points at y <= 0 are not drawn.
    pub log_y: bool,
    /// Visible x range `(low, high)` in axis units (s, Hz or kHz as shown,
    /// samples); the whole input by default.
    pub xlim: Option<(f64, f64)>,
    /// Visible y range (for a spectrogram: the frequency range); the data's
    /// range with 5% margins by default.
    pub ylim: Option<(f64, f64)>,
    /// Colour of the first series; the palette's blue by default.
    pub color: Option<Rgb>,
    /// Values in decibels: 20·log10 of a magnitude, 10·log10 of a power.
    /// Spectrograms are always in dB.
    pub db: bool,
    /// Number of highest peaks to mark on a spectrum or PSD; 0 by default.
    pub peaks: usize,
}

impl Default for PlotOptions {
    fn default() -> Self {
        Self {
            kind: None,
            title: None,
            xlabel: None,
            ylabel: None,
            width: 1000,
            height: 400,
            log_x: false,
            log_y: false,
            xlim: None,
            ylim: None,
            color: None,
            db: false,
            peaks: 0,
        }
    }
}

/// A value handed to [`PlotOptions::set`], as the kernel gets it from a
/// script.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum OptionValue {
    /// `true` or `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Text(String),
    /// A two-element numeric array, for limits.
    Pair(f64, f64),
    /// An explicit "no value" (the script's `()`): resets to the default.
    Unit,
}

impl OptionValue {
    fn describe(&self) -> String {
        match self {
            Self::Bool(value) => format!("boolean {value}"),
            Self::Int(value) => format!("integer {value}"),
            Self::Float(value) => format!("number {value}"),
            Self::Text(value) => format!("string \"{value}\""),
            Self::Pair(low, high) => format!("pair [{low}, {high}]"),
            Self::Unit => "()".to_string(),
        }
    }
}

impl PlotOptions {
    /// Sets one option by name from a script value, checking its type; the
    /// range of the value is checked by [`PlotOptions::validate`].
    ///
    /// # Errors
    /// [`PlotError::UnknownOption`] for a name not in [`OPTION_NAMES`], and
    /// [`PlotError::InvalidOption`] for a value of the wrong type.
    pub fn set(&mut self, name: &str, value: OptionValue) -> Result<(), PlotError> {
        let defaults = Self::default();
        if value == OptionValue::Unit {
            return self.reset(name, defaults);
        }
        match name {
            "kind" => self.kind = Some(text(name, &value)?.parse()?),
            "title" => self.title = Some(text(name, &value)?),
            "xlabel" => self.xlabel = Some(text(name, &value)?),
            "ylabel" => self.ylabel = Some(text(name, &value)?),
            "width" => self.width = pixels(name, &value)?,
            "height" => self.height = pixels(name, &value)?,
            "log_x" => self.log_x = boolean(name, &value)?,
            "log_y" => self.log_y = boolean(name, &value)?,
            "xlim" => self.xlim = Some(pair(name, &value)?),
            "ylim" => self.ylim = Some(pair(name, &value)?),
            "color" | "colour" => self.color = Some(text(name, &value)?.parse()?),
            "db" => self.db = boolean(name, &value)?,
            "peaks" => self.peaks = count(name, &value)?,
            _ => return Err(unknown(name)),
        }
        Ok(())
    }

    fn reset(&mut self, name: &str, defaults: Self) -> Result<(), PlotError> {
        match name {
            "kind" => self.kind = defaults.kind,
            "title" => self.title = defaults.title,
            "xlabel" => self.xlabel = defaults.xlabel,
            "ylabel" => self.ylabel = defaults.ylabel,
            "width" => self.width = defaults.width,
            "height" => self.height = defaults.height,
            "log_x" => self.log_x = defaults.log_x,
            "log_y" => self.log_y = defaults.log_y,
            "xlim" => self.xlim = defaults.xlim,
            "ylim" => self.ylim = defaults.ylim,
            "color" | "colour" => self.color = defaults.color,
            "db" => self.db = defaults.db,
            "peaks" => self.peaks = defaults.peaks,
            _ => return Err(unknown(name)),
        }
        Ok(())
    }

    /// Checks every option's range.
    ///
    /// # Errors
    /// [`PlotError::InvalidOption`] naming the first bad option and value.
    pub fn validate(&self) -> Result<(), PlotError> {
        check_size("width", self.width)?;
        check_size("height", self.height)?;
        check_limits("xlim", self.xlim, self.log_x)?;
        check_limits("ylim", self.ylim, self.log_y)?;
        if self.peaks > MAX_PEAKS {
            return Err(PlotError::InvalidOption(format!(
                "peaks {} is too many to label; use 0..={MAX_PEAKS}",
                self.peaks
            )));
        }
        Ok(())
    }
}

fn unknown(name: &str) -> PlotError {
    PlotError::UnknownOption {
        name: name.to_string(),
        known: OPTION_NAMES.join(", "),
    }
}

fn wrong_type(name: &str, wanted: &str, value: &OptionValue) -> PlotError {
    PlotError::InvalidOption(format!(
        "option {name} wants {wanted}, got {}",
        value.describe()
    ))
}

fn text(name: &str, value: &OptionValue) -> Result<String, PlotError> {
    match value {
        OptionValue::Text(text) => Ok(text.clone()),
        other => Err(wrong_type(name, "a string", other)),
    }
}

fn boolean(name: &str, value: &OptionValue) -> Result<bool, PlotError> {
    match value {
        OptionValue::Bool(flag) => Ok(*flag),
        other => Err(wrong_type(name, "true or false", other)),
    }
}

fn pixels(name: &str, value: &OptionValue) -> Result<u32, PlotError> {
    match value {
        OptionValue::Int(n) => u32::try_from(*n).map_err(|_| {
            PlotError::InvalidOption(format!(
                "{name} {n} is not a valid plot {name}; use {}..={}",
                SIZE_RANGE.start(),
                SIZE_RANGE.end()
            ))
        }),
        OptionValue::Float(x) if x.fract() == 0.0 && *x >= 0.0 && *x <= f64::from(u32::MAX) => {
            Ok(*x as u32)
        }
        other => Err(wrong_type(name, "a whole number of pixels", other)),
    }
}

fn count(name: &str, value: &OptionValue) -> Result<usize, PlotError> {
    match value {
        OptionValue::Int(n) if *n >= 0 => Ok(*n as usize),
        other => Err(wrong_type(name, "a count (0 or more)", other)),
    }
}

fn pair(name: &str, value: &OptionValue) -> Result<(f64, f64), PlotError> {
    match value {
        OptionValue::Pair(low, high) => Ok((*low, *high)),
        other => Err(wrong_type(name, "a pair [low, high]", other)),
    }
}

fn check_size(name: &str, value: u32) -> Result<(), PlotError> {
    if SIZE_RANGE.contains(&value) {
        return Ok(());
    }
    Err(PlotError::InvalidOption(format!(
        "{name} {value} is not a valid plot {name}; use {}..={}",
        SIZE_RANGE.start(),
        SIZE_RANGE.end()
    )))
}

fn check_limits(name: &str, limits: Option<(f64, f64)>, log: bool) -> Result<(), PlotError> {
    let Some((low, high)) = limits else {
        return Ok(());
    };
    if !low.is_finite() || !high.is_finite() || low >= high {
        return Err(PlotError::InvalidOption(format!(
            "{name} [{low}, {high}] is not a range; give [low, high] with finite low < high"
        )));
    }
    if log && low <= 0.0 {
        return Err(PlotError::InvalidOption(format!(
            "{name} [{low}, {high}] starts at or below 0 on a log axis; give a positive low limit"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert!(PlotOptions::default().validate().is_ok());
    }

    #[test]
    fn zero_width_is_refused_with_the_value_and_range() {
        let options = PlotOptions {
            width: 0,
            ..PlotOptions::default()
        };
        let message = options.validate().unwrap_err().to_string();
        assert_eq!(message, "width 0 is not a valid plot width; use 64..=8192");
    }

    #[test]
    fn reversed_and_log_limits_are_refused() {
        let reversed = PlotOptions {
            xlim: Some((5.0, 1.0)),
            ..PlotOptions::default()
        };
        assert!(
            reversed
                .validate()
                .unwrap_err()
                .to_string()
                .contains("xlim [5, 1]")
        );

        let log = PlotOptions {
            log_y: true,
            ylim: Some((0.0, 1.0)),
            ..PlotOptions::default()
        };
        assert!(log.validate().unwrap_err().to_string().contains("log axis"));
    }

    #[test]
    fn colours_parse_from_hex_names_and_palette_indices() {
        assert_eq!("#ff8000".parse::<Rgb>().unwrap(), Rgb(255, 128, 0));
        assert_eq!("#f80".parse::<Rgb>().unwrap(), Rgb(255, 136, 0));
        assert_eq!("Red".parse::<Rgb>().unwrap(), PALETTE[3]);
        assert_eq!("C1".parse::<Rgb>().unwrap(), PALETTE[1]);

        let message = "blurple".parse::<Rgb>().unwrap_err().to_string();
        assert!(
            message.starts_with("color \"blurple\" is not a colour"),
            "{message}"
        );
    }

    #[test]
    fn set_checks_names_and_types() {
        let mut options = PlotOptions::default();
        options.set("width", OptionValue::Int(640)).unwrap();
        options.set("xlim", OptionValue::Pair(0.0, 2.0)).unwrap();
        options
            .set("kind", OptionValue::Text("psd".into()))
            .unwrap();
        assert_eq!((options.width, options.xlim), (640, Some((0.0, 2.0))));
        assert_eq!(options.kind, Some(PlotKind::Psd));

        let unknown = options
            .set("colr", OptionValue::Text("red".into()))
            .unwrap_err();
        assert!(
            unknown
                .to_string()
                .starts_with("unknown plot option \"colr\"")
        );

        let wrong = options.set("log_y", OptionValue::Int(1)).unwrap_err();
        assert_eq!(
            wrong.to_string(),
            "option log_y wants true or false, got integer 1"
        );

        options.set("width", OptionValue::Unit).unwrap();
        assert_eq!(options.width, 1000);
    }

    #[test]
    fn negative_width_is_refused_with_its_value() {
        let mut options = PlotOptions::default();
        let error = options.set("width", OptionValue::Int(-5)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "width -5 is not a valid plot width; use 64..=8192"
        );
    }
}
