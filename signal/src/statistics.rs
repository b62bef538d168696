//! Streaming summary statistics of a real source (min, max, mean, rms) in
//! one pass and one chunk of memory.
//!
//! Sums are compensated (Neumaier), so the mean of a long recording agrees
//! with numpy's pairwise sum to well under 1e-12 relative.

use crate::{DEFAULT_CHUNK_LEN, Progress, SignalError, Source, for_each_chunk};

/// Summary of a real signal. For an empty signal `min` and `max` are NaN and
/// `mean` and `rms` are NaN, as numpy answers for an empty array.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Statistics {
    /// Number of samples.
    pub count: u64,
    /// Smallest sample.
    pub min: f64,
    /// Largest sample.
    pub max: f64,
    /// Arithmetic mean.
    pub mean: f64,
    /// Root of the mean of squares.
    pub rms: f64,
}

/// A Neumaier-compensated running sum.
#[derive(Default)]
struct CompensatedSum {
    sum: f64,
    compensation: f64,
}

impl CompensatedSum {
    fn add(&mut self, value: f64) {
        let total = self.sum + value;
        if self.sum.abs() >= value.abs() {
            self.compensation += (self.sum - total) + value;
        } else {
            self.compensation += (value - total) + self.sum;
        }
        self.sum = total;
    }

    fn value(&self) -> f64 {
        self.sum + self.compensation
    }
}

/// Computes [`Statistics`] in one streaming pass.
///
/// # Errors
/// A read error of the source, or [`SignalError::Cancelled`].
pub fn statistics(source: &dyn Source, progress: &dyn Progress) -> Result<Statistics, SignalError> {
    let mut min = f64::INFINITY;
    let mut max = f64::NEG_INFINITY;
    let mut sum = CompensatedSum::default();
    let mut sum_of_squares = CompensatedSum::default();

    for_each_chunk(source, DEFAULT_CHUNK_LEN, progress, |_, samples| {
        for &sample in samples {
            min = min.min(sample);
            max = max.max(sample);
            sum.add(sample);
            sum_of_squares.add(sample * sample);
        }
        Ok(())
    })?;

    let count = source.len();
    if count == 0 {
        return Ok(Statistics {
            count,
            min: f64::NAN,
            max: f64::NAN,
            mean: f64::NAN,
            rms: f64::NAN,
        });
    }
    let mean = sum.value() / count as f64;
    let rms = (sum_of_squares.value() / count as f64).sqrt();
    Ok(Statistics {
        count,
        min,
        max,
        mean,
        rms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{RealVector, Silent};

    #[test]
    fn statistics_match_a_direct_computation() {
        let values: Vec<f64> = (0..1000)
            .map(|i| ((i * 7919) % 1013) as f64 - 500.0)
            .collect();
        let expected_mean = values.iter().sum::<f64>() / 1000.0;
        let expected_rms = (values.iter().map(|v| v * v).sum::<f64>() / 1000.0).sqrt();

        let summary = statistics(&RealVector::new(values.clone()), &Silent).unwrap();

        assert_eq!(summary.count, 1000);
        assert_eq!(
            summary.min,
            values.iter().cloned().fold(f64::INFINITY, f64::min)
        );
        assert_eq!(
            summary.max,
            values.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
        );
        assert!((summary.mean - expected_mean).abs() < 1e-12);
        assert!((summary.rms - expected_rms).abs() < 1e-9);
    }

    #[test]
    fn compensated_mean_survives_cancellation_prone_input() {
        let values = vec![1e16, 1.0, -1e16, 1.0];
        let summary = statistics(&RealVector::new(values), &Silent).unwrap();
        assert_eq!(summary.mean, 0.5);
    }

    #[test]
    fn empty_signal_gives_nan_like_numpy() {
        let summary = statistics(&RealVector::new(Vec::new()), &Silent).unwrap();
        assert!(summary.mean.is_nan() && summary.min.is_nan());
    }
}
