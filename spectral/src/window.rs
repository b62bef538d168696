//! The tapering windows of the segment estimators, periodic (DFT-even) as
//! `scipy.signal.get_window` makes them for spectral analysis: a window of
//! length n is the symmetric window of length n + 1 without its last point.
//!
//! The formulas follow scipy's own arithmetic (a cosine sum over
//! `linspace(-π, π, n + 1)`), so the values agree to the last bit or two.

use std::f64::consts::PI;
use std::fmt;
use std::str::FromStr;

use crate::SpectralError;

/// A window function by name, with its parameter where it has one.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Window {
    /// Hann (raised cosine), welch's default.
    Hann,
    /// Hamming (0.54 − 0.46·cos).
    Hamming,
    /// Blackman (0.42, 0.5, 0.08).
    Blackman,
    /// Tukey (tapered cosine) with the tapered fraction `alpha` in [0, 1];
    /// spectrogram's default is 0.25.
    Tukey(f64),
    /// Rectangular: all ones.
    Boxcar,
}

/// What the window option accepts, for error messages.
const WINDOW_NAMES: &str = "one of hann, hamming, blackman, tukey, tukey:<alpha>, boxcar";

impl Window {
    /// The `len` periodic window values.
    pub fn values(self, len: usize) -> Vec<f64> {
        if len <= 1 {
            return vec![1.0; len];
        }
        match self {
            Self::Hann => cosine_sum(len, &[0.5, 0.5]),
            Self::Hamming => cosine_sum(len, &[0.54, 1.0 - 0.54]),
            Self::Blackman => cosine_sum(len, &[0.42, 0.50, 0.08]),
            Self::Tukey(alpha) => tukey(len, alpha),
            Self::Boxcar => vec![1.0; len],
        }
    }

    /// Reads "hann", "hamming", "blackman", "tukey" (alpha 0.5, scipy's
    /// default), "tukey:0.25", "boxcar"; also scipy's `_periodic` spellings.
    ///
    /// # Errors
    /// [`SpectralError::InvalidOption`] naming the text and the choices.
    pub fn parse(text: &str) -> Result<Self, SpectralError> {
        let lower = text.trim().to_ascii_lowercase();
        let (name, parameter) = match lower.split_once(':') {
            Some((name, parameter)) => (name.trim(), Some(parameter.trim())),
            None => (lower.as_str(), None),
        };
        let name = name.strip_suffix("_periodic").unwrap_or(name);
        let refuse = || SpectralError::invalid("window", format!("{text:?}"), WINDOW_NAMES);

        let window = match (name, parameter) {
            ("hann" | "hanning", None) => Self::Hann,
            ("hamming", None) => Self::Hamming,
            ("blackman", None) => Self::Blackman,
            ("boxcar" | "rectangular" | "ones", None) => Self::Boxcar,
            ("tukey", None) => Self::Tukey(0.5),
            ("tukey", Some(alpha)) => Self::Tukey(alpha.parse().map_err(|_| refuse())?),
            _ => return Err(refuse()),
        };
        window.validated()
    }

    /// The window itself, once its parameter is checked.
    ///
    /// # Errors
    /// [`SpectralError::InvalidOption`] for a Tukey alpha outside [0, 1].
    pub fn validated(self) -> Result<Self, SpectralError> {
        if let Self::Tukey(alpha) = self
            && !(0.0..=1.0).contains(&alpha)
        {
            return Err(SpectralError::invalid(
                "tukey alpha",
                alpha,
                "a value from 0 to 1",
            ));
        }
        Ok(self)
    }
}

impl FromStr for Window {
    type Err = SpectralError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Hann => write!(f, "hann"),
            Self::Hamming => write!(f, "hamming"),
            Self::Blackman => write!(f, "blackman"),
            Self::Tukey(alpha) => write!(f, "tukey:{alpha}"),
            Self::Boxcar => write!(f, "boxcar"),
        }
    }
}

/// Σ a_k·cos(k·x) over x = linspace(-π, π, len + 1), last point dropped.
fn cosine_sum(len: usize, coefficients: &[f64]) -> Vec<f64> {
    let extended = len + 1;
    let step = (2.0 * PI) / (extended - 1) as f64;
    (0..len)
        .map(|i| {
            let x = i as f64 * step - PI;
            coefficients
                .iter()
                .enumerate()
                .fold(0.0, |sum, (k, a)| sum + a * (k as f64 * x).cos())
        })
        .collect()
}

/// scipy's `tukey(len + 1, alpha)[:-1]`.
fn tukey(len: usize, alpha: f64) -> Vec<f64> {
    if alpha <= 0.0 {
        return vec![1.0; len];
    }
    if alpha >= 1.0 {
        return cosine_sum(len, &[0.5, 0.5]);
    }
    let m = len + 1;
    let last = (m - 1) as f64;
    let width = (alpha * last / 2.0).floor() as usize;

    (0..len)
        .map(|i| {
            let n = i as f64;
            if i <= width {
                0.5 * (1.0 + (PI * (-1.0 + 2.0 * n / alpha / last)).cos())
            } else if i < m - width - 1 {
                1.0
            } else {
                0.5 * (1.0 + (PI * (-2.0 / alpha + 1.0 + 2.0 * n / alpha / last)).cos())
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periodic_hann_is_the_raised_cosine() {
        let window = Window::Hann.values(8);
        for (k, value) in window.iter().enumerate() {
            let expected = 0.5 - 0.5 * (2.0 * PI * k as f64 / 8.0).cos();
            assert!(
                (value - expected).abs() < 1e-15,
                "{k}: {value} vs {expected}"
            );
        }
    }

    #[test]
    fn tukey_is_flat_in_the_middle_and_zero_at_the_start() {
        let window = Window::Tukey(0.25).values(64);
        assert_eq!(window[0], 0.0);
        assert_eq!(window[32], 1.0);
        assert!(window[1] > 0.0 && window[1] < 1.0);
    }

    #[test]
    fn names_and_parameters_are_parsed() {
        assert_eq!(Window::parse("Hann").unwrap(), Window::Hann);
        assert_eq!(Window::parse("hann_periodic").unwrap(), Window::Hann);
        assert_eq!(Window::parse("tukey:0.25").unwrap(), Window::Tukey(0.25));
        let error = Window::parse("kaiser").unwrap_err().to_string();
        assert!(
            error.contains("\"kaiser\"") && error.contains("hann"),
            "{error}"
        );
        assert!(Window::parse("tukey:2").is_err());
    }

    #[test]
    fn short_windows_are_ones() {
        assert_eq!(Window::Hann.values(1), vec![1.0]);
        assert!(Window::Hann.values(0).is_empty());
    }
}
