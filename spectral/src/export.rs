//! What the kernel hands to a Data Array writer: a dtype, a shape, the
//! axis steps (frequency, time), and the values as raw little-endian
//! bytes in bounded chunks, read lazily from memory or scratch files.
//!
//! The writer itself (HTTP, appending PUTs) is not here: this crate knows
//! nothing of the server.

use std::sync::Arc;

use signal::{ComplexSource, Progress, Source, for_each_chunk, for_each_complex_chunk};

use crate::SpectralError;

/// The numpy dtype of exported values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Dtype {
    /// `<c16`: complex128, little-endian (re, im).
    Complex128,
    /// `<f8`: float64, little-endian.
    Float64,
}

impl Dtype {
    /// The numpy dtype string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Complex128 => "<c16",
            Self::Float64 => "<f8",
        }
    }

    /// Bytes per value.
    pub fn item_size(self) -> u64 {
        match self {
            Self::Complex128 => 16,
            Self::Float64 => 8,
        }
    }
}

/// Where the exported values come from.
#[derive(Clone)]
pub(crate) enum ExportValues {
    Complex(Arc<dyn ComplexSource>),
    Real(Arc<dyn Source>),
}

/// A result ready to be written as a Data Array.
#[derive(Clone)]
pub struct DataArrayExport {
    /// The values' dtype.
    pub dtype: Dtype,
    /// The array's shape, C order.
    pub shape: Vec<u64>,
    /// Names of the axes, in shape order ("frequency", "time").
    pub axes: Vec<&'static str>,
    /// Hz between consecutive frequency bins, when the array has a
    /// frequency axis (cycles per sample when the rate is unknown).
    pub frequency_step: Option<f64>,
    /// Seconds between consecutive frames, when the array has a time axis.
    pub time_step: Option<f64>,
    pub(crate) values: ExportValues,
}

impl std::fmt::Debug for DataArrayExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataArrayExport")
            .field("dtype", &self.dtype.as_str())
            .field("shape", &self.shape)
            .field("axes", &self.axes)
            .field("frequency_step", &self.frequency_step)
            .field("time_step", &self.time_step)
            .finish()
    }
}

impl DataArrayExport {
    /// Number of values.
    pub fn len(&self) -> u64 {
        self.shape.iter().product()
    }

    /// True when the array holds no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Size of the raw bytes.
    pub fn len_bytes(&self) -> u64 {
        self.len() * self.dtype.item_size()
    }

    /// Calls `visit` with consecutive chunks of the raw bytes, each at
    /// most `max_bytes` long (at least one value), in order.
    ///
    /// # Errors
    /// A read error, an error of `visit`, or `Cancelled`.
    pub fn for_each_chunk(
        &self,
        max_bytes: usize,
        progress: &dyn Progress,
        mut visit: impl FnMut(&[u8]) -> Result<(), SpectralError>,
    ) -> Result<(), SpectralError> {
        let per_chunk = (max_bytes as u64 / self.dtype.item_size()).max(1) as usize;
        let mut bytes = Vec::with_capacity(per_chunk * self.dtype.item_size() as usize);
        let mut failure = None;

        let mut emit = |bytes: &[u8]| match visit(bytes) {
            Ok(()) => Ok(()),
            Err(error) => {
                failure = Some(error);
                Err(signal::SignalError::Cancelled)
            }
        };
        let walked = match &self.values {
            ExportValues::Complex(source) => {
                for_each_complex_chunk(source.as_ref(), per_chunk, progress, |_, values| {
                    bytes.clear();
                    for value in values {
                        bytes.extend_from_slice(&value.re.to_le_bytes());
                        bytes.extend_from_slice(&value.im.to_le_bytes());
                    }
                    emit(&bytes)
                })
            }
            ExportValues::Real(source) => {
                for_each_chunk(source.as_ref(), per_chunk, progress, |_, values| {
                    bytes.clear();
                    values
                        .iter()
                        .for_each(|value| bytes.extend_from_slice(&value.to_le_bytes()));
                    emit(&bytes)
                })
            }
        };
        match (failure, walked) {
            (Some(error), _) => Err(error),
            (None, result) => Ok(result?),
        }
    }

    /// All the raw bytes at once, for results known to be small.
    ///
    /// # Errors
    /// [`SpectralError::TooLarge`] past `limit` bytes, or a read error.
    pub fn to_bytes(&self, limit: u64, progress: &dyn Progress) -> Result<Vec<u8>, SpectralError> {
        if self.len_bytes() > limit {
            return Err(SpectralError::TooLarge {
                what: "data array",
                len: self.len_bytes(),
                limit,
            });
        }
        let mut all = Vec::with_capacity(self.len_bytes() as usize);
        self.for_each_chunk(1 << 20, progress, |chunk| {
            all.extend_from_slice(chunk);
            Ok(())
        })?;
        Ok(all)
    }
}

/// A number for a summary line: up to six significant digits, no
/// trailing zeros.
pub(crate) fn format_number(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return format!("{value}");
    }
    let magnitude = value.abs().log10().floor() as i32;
    if !(-4..9).contains(&magnitude) {
        return format!("{value:.5e}");
    }
    let decimals = (5 - magnitude).max(0) as usize;
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use signal::{RealVector, Silent};

    #[test]
    fn chunks_concatenate_to_the_little_endian_values() {
        let values = vec![1.5, -2.0, 3.25, 1e300, 0.0];
        let export = DataArrayExport {
            dtype: Dtype::Float64,
            shape: vec![5],
            axes: vec!["frequency"],
            frequency_step: Some(0.5),
            time_step: None,
            values: ExportValues::Real(Arc::new(RealVector::new(values.clone()))),
        };
        let mut chunks = Vec::new();
        export
            .for_each_chunk(16, &Silent, |chunk| {
                chunks.push(chunk.to_vec());
                Ok(())
            })
            .unwrap();

        assert_eq!(chunks.len(), 3);
        let expected: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(chunks.concat(), expected);
        assert_eq!(export.to_bytes(1000, &Silent).unwrap(), expected);
        assert!(export.to_bytes(8, &Silent).is_err());
    }

    #[test]
    fn numbers_read_well_in_summaries() {
        assert_eq!(format_number(440.0), "440");
        assert_eq!(format_number(0.04410000001), "0.0441");
        assert_eq!(format_number(22050.0), "22050");
        assert_eq!(format_number(1.5e-9), "1.50000e-9");
    }
}
