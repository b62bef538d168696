//! Owned typed vectors: samples held in memory, with the same axis
//! metadata as a lazy source, and usable wherever a source is expected.

use crate::source::check_range;
use crate::{Complex64, ComplexSource, SignalError, Source, SourceInfo};

/// Real samples in memory, with an optional sample rate and unit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RealVector {
    /// The samples.
    pub values: Vec<f64>,
    /// Samples per second, when known.
    pub sample_rate: Option<f64>,
    /// Unit of the values, when known.
    pub units: Option<String>,
}

impl RealVector {
    /// A vector without sample rate or unit.
    pub fn new(values: Vec<f64>) -> Self {
        Self {
            values,
            ..Self::default()
        }
    }

    /// The same vector with a sample rate in Hz.
    pub fn with_sample_rate(mut self, sample_rate: f64) -> Self {
        self.sample_rate = Some(sample_rate);
        self
    }
}

impl Source for RealVector {
    fn info(&self) -> SourceInfo {
        SourceInfo {
            len: self.values.len() as u64,
            sample_rate: self.sample_rate,
            units: self.units.clone(),
        }
    }

    fn read_into(&self, start: u64, buffer: &mut [f64]) -> Result<(), SignalError> {
        check_range(start, buffer.len(), self.values.len() as u64)?;
        let start = start as usize;
        buffer.copy_from_slice(&self.values[start..start + buffer.len()]);
        Ok(())
    }
}

/// Complex samples in memory, with an optional sample rate and unit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ComplexVector {
    /// The samples.
    pub values: Vec<Complex64>,
    /// Samples per second, when known.
    pub sample_rate: Option<f64>,
    /// Unit of the values, when known.
    pub units: Option<String>,
}

impl ComplexVector {
    /// A vector without sample rate or unit.
    pub fn new(values: Vec<Complex64>) -> Self {
        Self {
            values,
            ..Self::default()
        }
    }
}

impl ComplexSource for ComplexVector {
    fn info(&self) -> SourceInfo {
        SourceInfo {
            len: self.values.len() as u64,
            sample_rate: self.sample_rate,
            units: self.units.clone(),
        }
    }

    fn read_into(&self, start: u64, buffer: &mut [Complex64]) -> Result<(), SignalError> {
        check_range(start, buffer.len(), self.values.len() as u64)?;
        let start = start as usize;
        buffer.copy_from_slice(&self.values[start..start + buffer.len()]);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_vector_reads_a_range_and_refuses_past_the_end() {
        let vector = RealVector::new(vec![1.0, 2.0, 3.0]).with_sample_rate(8000.0);
        let mut buffer = [0.0; 2];

        vector.read_into(1, &mut buffer).unwrap();
        assert_eq!(buffer, [2.0, 3.0]);
        assert_eq!(vector.info().duration(), Some(3.0 / 8000.0));
        assert!(vector.read_into(2, &mut buffer).is_err());
    }

    #[test]
    fn complex_vector_reads_a_range() {
        let vector = ComplexVector::new(vec![Complex64::new(1.0, -1.0), Complex64::new(0.0, 2.0)]);
        let mut buffer = [Complex64::default(); 1];

        ComplexSource::read_into(&vector, 1, &mut buffer).unwrap();
        assert_eq!(buffer[0], Complex64::new(0.0, 2.0));
    }
}
