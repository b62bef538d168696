//! The lazy sample source traits, real and complex, and the [`Slice`] view.
//!
//! A source knows its length and axis but holds no samples: a consumer
//! asks for a range and passes the buffer to fill. Sources are shared
//! (`Arc<dyn Source>`) between the notebook and the jobs that read them, so
//! reads take `&self`; a source with internal state (a cache, a connection)
//! guards it itself.

use std::sync::Arc;

use crate::{Complex64, SignalError};

/// What a consumer needs to label an axis: the length in samples, the
/// sample rate in Hz when known, and the unit of the values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceInfo {
    /// Number of samples.
    pub len: u64,
    /// Samples per second, when the signal is a time series with a known
    /// rate.
    pub sample_rate: Option<f64>,
    /// Unit of the sample values ("V", "Pa", "full scale"), when known.
    pub units: Option<String>,
}

impl SourceInfo {
    /// The duration in seconds, when the sample rate is known.
    pub fn duration(&self) -> Option<f64> {
        self.sample_rate.map(|rate| self.len as f64 / rate)
    }
}

/// A lazy sequence of real samples.
pub trait Source: Send + Sync {
    /// Length, sample rate and units.
    fn info(&self) -> SourceInfo;

    /// Fills `buffer` with samples `start .. start + buffer.len()`.
    ///
    /// # Errors
    /// [`SignalError::OutOfRange`] when the range passes the end, and
    /// [`SignalError::Read`] when the layer underneath fails.
    fn read_into(&self, start: u64, buffer: &mut [f64]) -> Result<(), SignalError>;

    /// Number of samples.
    fn len(&self) -> u64 {
        self.info().len
    }

    /// True when the source holds no sample.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A lazy sequence of complex samples.
pub trait ComplexSource: Send + Sync {
    /// Length, sample rate and units.
    fn info(&self) -> SourceInfo;

    /// Fills `buffer` with samples `start .. start + buffer.len()`.
    ///
    /// # Errors
    /// As [`Source::read_into`].
    fn read_into(&self, start: u64, buffer: &mut [Complex64]) -> Result<(), SignalError>;

    /// Number of samples.
    fn len(&self) -> u64 {
        self.info().len
    }

    /// True when the source holds no sample.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Checks that `start .. start + count` lies inside a signal of `len`
/// samples.
///
/// # Errors
/// [`SignalError::OutOfRange`] naming the range and the length.
pub fn check_range(start: u64, count: usize, len: u64) -> Result<(), SignalError> {
    let end = start.saturating_add(count as u64);
    if end > len {
        return Err(SignalError::OutOfRange { start, end, len });
    }
    Ok(())
}

/// Samples `start .. end` of another source, read lazily through it.
#[derive(Clone)]
pub struct Slice {
    inner: Arc<dyn Source>,
    start: u64,
    end: u64,
}

impl Slice {
    /// A view of samples `start .. end` of `inner`.
    ///
    /// # Errors
    /// [`SignalError::OutOfRange`] when the range is reversed or passes the
    /// end of `inner`.
    pub fn new(inner: Arc<dyn Source>, start: u64, end: u64) -> Result<Self, SignalError> {
        let len = inner.len();
        if start > end || end > len {
            return Err(SignalError::OutOfRange { start, end, len });
        }
        Ok(Self { inner, start, end })
    }
}

impl Source for Slice {
    fn info(&self) -> SourceInfo {
        SourceInfo {
            len: self.end - self.start,
            ..self.inner.info()
        }
    }

    fn read_into(&self, start: u64, buffer: &mut [f64]) -> Result<(), SignalError> {
        check_range(start, buffer.len(), self.end - self.start)?;
        self.inner.read_into(self.start + start, buffer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RealVector;

    #[test]
    fn slice_reads_through_to_its_window() {
        let whole: Arc<dyn Source> = Arc::new(RealVector::new((0..10).map(f64::from).collect()));
        let slice = Slice::new(whole, 3, 7).unwrap();

        let mut buffer = [0.0; 2];
        slice.read_into(1, &mut buffer).unwrap();

        assert_eq!(slice.len(), 4);
        assert_eq!(buffer, [4.0, 5.0]);
    }

    #[test]
    fn slice_past_the_end_is_refused() {
        let whole: Arc<dyn Source> = Arc::new(RealVector::new(vec![0.0; 4]));
        let error = Slice::new(whole.clone(), 2, 5).err().unwrap();
        assert_eq!(
            error.to_string(),
            "samples 2..5 are outside the signal (length 4)"
        );

        let slice = Slice::new(whole, 1, 3).unwrap();
        assert!(slice.read_into(1, &mut [0.0; 2]).is_err());
    }
}
