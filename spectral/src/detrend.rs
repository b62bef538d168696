//! Removing a trend from each segment before it is windowed, as
//! `scipy.signal.detrend` does: the mean (`constant`), the least-squares
//! line (`linear`), or nothing.

use std::fmt;
use std::str::FromStr;

use crate::SpectralError;

/// What to subtract from each segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Detrend {
    /// Leave the segment as it is (scipy's `detrend=False`).
    None,
    /// Subtract the segment's mean (scipy's default).
    #[default]
    Constant,
    /// Subtract the segment's least-squares straight line.
    Linear,
}

impl Detrend {
    /// Reads "constant", "linear", "none" (also "false", "c", "l").
    ///
    /// # Errors
    /// [`SpectralError::InvalidOption`] naming the text and the choices.
    pub fn parse(text: &str) -> Result<Self, SpectralError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "constant" | "c" => Ok(Self::Constant),
            "linear" | "l" => Ok(Self::Linear),
            "none" | "false" | "" => Ok(Self::None),
            _ => Err(SpectralError::invalid(
                "detrend",
                format!("{text:?}"),
                "one of constant, linear, none",
            )),
        }
    }

    /// Removes the trend from `segment` in place.
    pub fn apply(self, segment: &mut [f64]) {
        match self {
            Self::None => {}
            Self::Constant => subtract_mean(segment),
            Self::Linear => subtract_line(segment),
        }
    }
}

impl FromStr for Detrend {
    type Err = SpectralError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl fmt::Display for Detrend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::None => "none",
            Self::Constant => "constant",
            Self::Linear => "linear",
        })
    }
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

fn subtract_mean(segment: &mut [f64]) {
    if segment.is_empty() {
        return;
    }
    let mean = mean(segment);
    segment.iter_mut().for_each(|value| *value -= mean);
}

/// Least squares over centred abscissae, which keeps the fit well
/// conditioned for long segments.
fn subtract_line(segment: &mut [f64]) {
    let len = segment.len();
    if len < 2 {
        subtract_mean(segment);
        return;
    }
    let centre = (len - 1) as f64 / 2.0;
    let mean = mean(segment);

    let mut covariance = 0.0;
    let mut variance = 0.0;
    for (i, value) in segment.iter().enumerate() {
        let t = i as f64 - centre;
        covariance += t * (value - mean);
        variance += t * t;
    }
    let slope = covariance / variance;

    for (i, value) in segment.iter_mut().enumerate() {
        *value -= mean + slope * (i as f64 - centre);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_detrend_removes_a_line_exactly() {
        let mut segment: Vec<f64> = (0..11).map(|i| 3.0 - 0.5 * i as f64).collect();
        Detrend::Linear.apply(&mut segment);
        assert!(
            segment.iter().all(|value| value.abs() < 1e-14),
            "{segment:?}"
        );
    }

    #[test]
    fn constant_detrend_leaves_zero_mean() {
        let mut segment = vec![1.0, 2.0, 6.0];
        Detrend::Constant.apply(&mut segment);
        assert_eq!(segment, vec![-2.0, -1.0, 3.0]);
    }

    #[test]
    fn unknown_detrend_is_refused_with_the_choices() {
        let error = Detrend::parse("quadratic").unwrap_err().to_string();
        assert_eq!(
            error,
            "detrend \"quadratic\" is not valid; use one of constant, linear, none"
        );
    }
}
