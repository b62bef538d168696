//! The result of `rfft` and `fft`: a [`Spectrum`], held in memory or in a
//! scratch file, readable as a `ComplexSource` whose sample axis is
//! frequency, with magnitude, power and phase as real sources, peaks, a
//! summary line and a Data Array export (`<c16`).
//!
//! A spectrum is cheap to clone (its bins are shared); its scratch file,
//! if any, is removed when the last clone is dropped.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use num_complex::Complex64;
use signal::{
    ComplexSource, DEFAULT_CHUNK_LEN, Progress, SignalError, Silent, Source, SourceInfo,
    check_range, for_each_complex_chunk,
};

use crate::SpectralError;
use crate::export::{DataArrayExport, Dtype, ExportValues, format_number};
use crate::scratch::ScratchFile;

/// Which bins a spectrum holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpectrumKind {
    /// `n / 2 + 1` bins from 0 to Nyquist, from a real signal (`rfft`).
    OneSided,
    /// `n` bins in numpy's order: 0, positive, then negative frequencies
    /// (`fft`).
    TwoSided,
}

/// Where the bins are.
pub(crate) enum Storage {
    Memory(Vec<Complex64>),
    Scratch(ScratchFile),
}

/// A spectral peak: a bin, its frequency and its magnitude.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Peak {
    /// Index of the bin.
    pub bin: u64,
    /// Its frequency (Hz, or cycles per sample without a sample rate).
    pub frequency: f64,
    /// |X| at the bin.
    pub magnitude: f64,
}

struct SpectrumData {
    kind: SpectrumKind,
    transform_len: u64,
    sample_rate: Option<f64>,
    units: Option<String>,
    storage: Storage,
    peak: OnceLock<Option<Peak>>,
}

/// The spectrum of a whole signal; see the module documentation.
#[derive(Clone)]
pub struct Spectrum {
    data: Arc<SpectrumData>,
}

impl std::fmt::Debug for Spectrum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spectrum")
            .field("kind", &self.data.kind)
            .field("transform_len", &self.data.transform_len)
            .field("sample_rate", &self.data.sample_rate)
            .field("out_of_core", &self.is_out_of_core())
            .finish()
    }
}

impl Spectrum {
    pub(crate) fn new(
        kind: SpectrumKind,
        transform_len: u64,
        sample_rate: Option<f64>,
        units: Option<String>,
        storage: Storage,
    ) -> Self {
        let data = SpectrumData {
            kind,
            transform_len,
            sample_rate,
            units,
            storage,
            peak: OnceLock::new(),
        };
        Self {
            data: Arc::new(data),
        }
    }

    /// The same spectrum with its peak, (bin, magnitude), already known.
    pub(crate) fn with_known_peak(self, peak: Option<(u64, f64)>) -> Self {
        if let Some((bin, magnitude)) = peak {
            let peak = Peak {
                bin,
                frequency: self.frequency(bin),
                magnitude,
            };
            let _ = self.data.peak.set(Some(peak));
        }
        self
    }

    /// One-sided (`rfft`) or two-sided (`fft`).
    pub fn kind(&self) -> SpectrumKind {
        self.data.kind
    }

    /// Number of bins.
    pub fn len(&self) -> u64 {
        match self.data.kind {
            SpectrumKind::OneSided => self.data.transform_len / 2 + 1,
            SpectrumKind::TwoSided => self.data.transform_len,
        }
    }

    /// True when there is no bin (never, for a computed spectrum).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The transform length n (after padding or truncation).
    pub fn transform_len(&self) -> u64 {
        self.data.transform_len
    }

    /// The signal's sample rate in Hz, when known.
    pub fn sample_rate(&self) -> Option<f64> {
        self.data.sample_rate
    }

    /// True when the bins live in a scratch file.
    pub fn is_out_of_core(&self) -> bool {
        matches!(self.data.storage, Storage::Scratch(_))
    }

    /// The scratch file holding the bins, while it exists.
    pub fn scratch_path(&self) -> Option<&Path> {
        match &self.data.storage {
            Storage::Scratch(file) => Some(file.path()),
            Storage::Memory(_) => None,
        }
    }

    /// Hz between bins: sample rate / n, as numpy's `1 / (n·d)`.
    pub fn frequency_step(&self) -> f64 {
        let spacing = 1.0 / self.data.sample_rate.unwrap_or(1.0);
        1.0 / (self.data.transform_len as f64 * spacing)
    }

    /// The frequency of bin `bin`, as numpy's `rfftfreq` / `fftfreq`.
    pub fn frequency(&self, bin: u64) -> f64 {
        let n = self.data.transform_len;
        let signed = match self.data.kind {
            SpectrumKind::TwoSided if bin >= n.div_ceil(2) => bin as f64 - n as f64,
            _ => bin as f64,
        };
        signed * self.frequency_step()
    }

    /// Bin `bin`.
    ///
    /// # Errors
    /// Out of range, or a scratch read failure.
    pub fn bin(&self, bin: u64) -> Result<Complex64, SpectralError> {
        let mut value = [Complex64::default()];
        self.read_bins(bin, &mut value)?;
        Ok(value[0])
    }

    /// Bins `start .. start + out.len()`.
    ///
    /// # Errors
    /// Out of range, or a scratch read failure.
    pub fn read_bins(&self, start: u64, out: &mut [Complex64]) -> Result<(), SpectralError> {
        check_range(start, out.len(), self.len())?;
        match &self.data.storage {
            Storage::Memory(values) => {
                out.copy_from_slice(&values[start as usize..start as usize + out.len()]);
                Ok(())
            }
            Storage::Scratch(file) => file.read_complex(start, out),
        }
    }

    /// The bins in a vector, refused past `limit` bins (for a notebook
    /// array).
    ///
    /// # Errors
    /// [`SpectralError::TooLarge`], or a read failure.
    pub fn to_vec(&self, limit: u64) -> Result<Vec<Complex64>, SpectralError> {
        if self.len() > limit {
            return Err(SpectralError::TooLarge {
                what: "spectrum",
                len: self.len(),
                limit,
            });
        }
        let mut values = vec![Complex64::default(); self.len() as usize];
        self.read_bins(0, &mut values)?;
        Ok(values)
    }

    /// The frequency axis as a lazy real source.
    pub fn frequencies(&self) -> FrequencyAxis {
        FrequencyAxis {
            spectrum: self.clone(),
        }
    }

    /// |X| per bin, as a lazy real source.
    pub fn magnitude(&self) -> SpectrumValues {
        SpectrumValues {
            spectrum: self.clone(),
            quantity: Quantity::Magnitude,
        }
    }

    /// |X|² per bin, as a lazy real source.
    pub fn power(&self) -> SpectrumValues {
        SpectrumValues {
            spectrum: self.clone(),
            quantity: Quantity::Power,
        }
    }

    /// arg X in radians (numpy's `angle`), as a lazy real source.
    pub fn phase(&self) -> SpectrumValues {
        SpectrumValues {
            spectrum: self.clone(),
            quantity: Quantity::Phase,
        }
    }

    /// The bin of largest magnitude, leaving out the DC bin (a signal's
    /// offset would otherwise hide its tones) unless it is the only one.
    /// Computed once, then cached.
    ///
    /// # Errors
    /// A scratch read failure.
    pub fn peak(&self) -> Result<Peak, SpectralError> {
        if let Some(Some(peak)) = self.data.peak.get() {
            return Ok(*peak);
        }
        let peak = self.largest_bin(&Silent)?;
        let _ = self.data.peak.set(Some(peak));
        Ok(peak)
    }

    /// The frequency of [`Spectrum::peak`].
    ///
    /// # Errors
    /// As [`Spectrum::peak`].
    pub fn peak_frequency(&self) -> Result<f64, SpectralError> {
        Ok(self.peak()?.frequency)
    }

    /// The `count` highest local maxima of the magnitude (bins higher than
    /// the left neighbour and at least the right one), highest first.
    ///
    /// # Errors
    /// A scratch read failure, or `Cancelled`.
    pub fn peaks(&self, count: usize, progress: &dyn Progress) -> Result<Vec<Peak>, SpectralError> {
        let mut best: Vec<Peak> = Vec::with_capacity(count + 1);
        let mut previous = [f64::NAN, f64::NAN];
        let mut offer = |peak: Peak| {
            let at = best.partition_point(|kept| kept.magnitude >= peak.magnitude);
            if at < count {
                best.insert(at, peak);
                best.truncate(count);
            }
        };

        for_each_complex_chunk(self, DEFAULT_CHUNK_LEN, progress, |offset, values| {
            for (i, value) in values.iter().enumerate() {
                let magnitude = value.norm();
                let [before, middle] = previous;
                if middle > before && middle >= magnitude {
                    let bin = offset + i as u64 - 1;
                    offer(Peak {
                        bin,
                        frequency: self.frequency(bin),
                        magnitude: middle,
                    });
                }
                previous = [middle, magnitude];
            }
            Ok(())
        })?;
        Ok(best)
    }

    /// One line for the notebook: length, range, resolution, peak.
    pub fn summary(&self) -> String {
        let unit = if self.data.sample_rate.is_some() {
            "Hz"
        } else {
            "cycles/sample"
        };
        let (name, low, high) = match self.data.kind {
            SpectrumKind::OneSided => ("rfft", 0.0, self.frequency(self.len() - 1)),
            SpectrumKind::TwoSided => {
                let n = self.data.transform_len;
                (
                    "fft",
                    self.frequency(n.div_ceil(2).min(n - 1)),
                    self.frequency((n - 1) / 2),
                )
            }
        };
        let peak = match self.peak() {
            Ok(peak) => format!(
                "peak {} {unit} (|X| {})",
                format_number(peak.frequency),
                format_number(peak.magnitude)
            ),
            Err(error) => format!("peak unavailable: {error}"),
        };
        let place = if self.is_out_of_core() {
            ", out of core"
        } else {
            ""
        };
        format!(
            "{name} spectrum of {} samples: {} bins, {} to {} {unit}, resolution {} {unit}, {peak}{place}",
            self.data.transform_len,
            self.len(),
            format_number(low),
            format_number(high),
            format_number(self.frequency_step()),
        )
    }

    /// The bins as a Data Array: dtype `<c16`, shape `[bins]`, with the
    /// frequency step.
    pub fn to_data_array(&self) -> DataArrayExport {
        DataArrayExport {
            dtype: Dtype::Complex128,
            shape: vec![self.len()],
            axes: vec!["frequency"],
            frequency_step: Some(self.frequency_step()),
            time_step: None,
            values: ExportValues::Complex(Arc::new(self.clone())),
        }
    }

    fn largest_bin(&self, progress: &dyn Progress) -> Result<Peak, SpectralError> {
        let skip_dc = self.len() > 1;
        let mut best = Peak {
            bin: 0,
            frequency: 0.0,
            magnitude: f64::NEG_INFINITY,
        };
        for_each_complex_chunk(self, DEFAULT_CHUNK_LEN, progress, |offset, values| {
            for (i, value) in values.iter().enumerate() {
                let bin = offset + i as u64;
                let magnitude = value.norm();
                if (bin > 0 || !skip_dc) && magnitude > best.magnitude {
                    best = Peak {
                        bin,
                        frequency: self.frequency(bin),
                        magnitude,
                    };
                }
            }
            Ok(())
        })?;
        Ok(best)
    }

    fn axis_info(&self) -> SourceInfo {
        SourceInfo {
            len: self.len(),
            sample_rate: Some(1.0 / self.frequency_step()),
            units: self.data.units.clone(),
        }
    }
}

impl std::fmt::Display for Spectrum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.summary())
    }
}

/// The bins, with a sample axis of frequency: `info().sample_rate` is bins
/// per Hz (1 / frequency step).
impl ComplexSource for Spectrum {
    fn info(&self) -> SourceInfo {
        self.axis_info()
    }

    fn read_into(&self, start: u64, buffer: &mut [Complex64]) -> Result<(), SignalError> {
        self.read_bins(start, buffer).map_err(into_signal_error)
    }
}

fn into_signal_error(error: SpectralError) -> SignalError {
    match error {
        SpectralError::Signal(inner) => inner,
        other => SignalError::read(other),
    }
}

/// A real quantity derived bin by bin from a spectrum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quantity {
    Magnitude,
    Power,
    Phase,
}

/// Magnitude, power or phase of a [`Spectrum`], read lazily.
#[derive(Debug, Clone)]
pub struct SpectrumValues {
    spectrum: Spectrum,
    quantity: Quantity,
}

impl SpectrumValues {
    /// The values in a vector, refused past `limit`.
    ///
    /// # Errors
    /// [`SpectralError::TooLarge`], or a read failure.
    pub fn to_vec(&self, limit: u64) -> Result<Vec<f64>, SpectralError> {
        collect(self, "spectrum", limit)
    }
}

impl Source for SpectrumValues {
    fn info(&self) -> SourceInfo {
        self.spectrum.axis_info()
    }

    fn read_into(&self, start: u64, buffer: &mut [f64]) -> Result<(), SignalError> {
        let mut bins = vec![Complex64::default(); buffer.len()];
        ComplexSource::read_into(&self.spectrum, start, &mut bins)?;
        for (out, bin) in buffer.iter_mut().zip(bins) {
            *out = match self.quantity {
                Quantity::Magnitude => bin.norm(),
                Quantity::Power => bin.norm_sqr(),
                Quantity::Phase => bin.im.atan2(bin.re),
            };
        }
        Ok(())
    }
}

/// The frequency of each bin, computed on demand.
#[derive(Debug, Clone)]
pub struct FrequencyAxis {
    spectrum: Spectrum,
}

impl FrequencyAxis {
    /// The frequencies in a vector, refused past `limit`.
    ///
    /// # Errors
    /// [`SpectralError::TooLarge`].
    pub fn to_vec(&self, limit: u64) -> Result<Vec<f64>, SpectralError> {
        collect(self, "frequency axis", limit)
    }
}

impl Source for FrequencyAxis {
    fn info(&self) -> SourceInfo {
        SourceInfo {
            units: Some("Hz".to_string()),
            ..self.spectrum.axis_info()
        }
    }

    fn read_into(&self, start: u64, buffer: &mut [f64]) -> Result<(), SignalError> {
        check_range(start, buffer.len(), self.spectrum.len())?;
        for (i, out) in buffer.iter_mut().enumerate() {
            *out = self.spectrum.frequency(start + i as u64);
        }
        Ok(())
    }
}

/// All of a real source in a vector, refused past `limit` values.
///
/// # Errors
/// [`SpectralError::TooLarge`], or a read failure.
pub fn collect(
    source: &dyn Source,
    what: &'static str,
    limit: u64,
) -> Result<Vec<f64>, SpectralError> {
    let len = source.len();
    if len > limit {
        return Err(SpectralError::TooLarge { what, len, limit });
    }
    let mut values = vec![0.0; len as usize];
    source.read_into(0, &mut values)?;
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spectrum(values: Vec<Complex64>, kind: SpectrumKind, n: u64, rate: Option<f64>) -> Spectrum {
        Spectrum::new(kind, n, rate, None, Storage::Memory(values))
    }

    #[test]
    fn frequencies_follow_numpy_rfftfreq_and_fftfreq() {
        let one_sided = spectrum(
            vec![Complex64::default(); 5],
            SpectrumKind::OneSided,
            8,
            Some(100.0),
        );
        let axis = one_sided.frequencies().to_vec(100).unwrap();
        assert_eq!(axis, vec![0.0, 12.5, 25.0, 37.5, 50.0]);

        let two_sided = spectrum(
            vec![Complex64::default(); 5],
            SpectrumKind::TwoSided,
            5,
            None,
        );
        let axis = two_sided.frequencies().to_vec(100).unwrap();
        assert_eq!(axis, vec![0.0, 0.2, 0.4, -0.4, -0.2]);
    }

    #[test]
    fn peak_skips_dc_and_peaks_are_local_maxima_highest_first() {
        let magnitudes = [100.0, 1.0, 5.0, 2.0, 7.0, 3.0, 4.0, 0.5];
        let bins = magnitudes
            .iter()
            .map(|&m| Complex64::new(0.0, -m))
            .collect();
        let spectrum = spectrum(bins, SpectrumKind::OneSided, 14, Some(14.0));

        assert_eq!(spectrum.peak().unwrap().bin, 4);
        assert_eq!(spectrum.peak_frequency().unwrap(), 4.0);
        let peaks = spectrum.peaks(2, &Silent).unwrap();
        assert_eq!(peaks.iter().map(|p| p.bin).collect::<Vec<_>>(), vec![4, 2]);
        assert_eq!(peaks[0].magnitude, 7.0);
    }

    #[test]
    fn derived_values_are_magnitude_power_and_phase() {
        let bins = vec![Complex64::new(3.0, 4.0), Complex64::new(0.0, -2.0)];
        let spectrum = spectrum(bins, SpectrumKind::OneSided, 2, None);
        assert_eq!(spectrum.magnitude().to_vec(10).unwrap(), vec![5.0, 2.0]);
        assert_eq!(spectrum.power().to_vec(10).unwrap(), vec![25.0, 4.0]);
        assert_eq!(
            spectrum.phase().to_vec(10).unwrap()[1],
            -std::f64::consts::FRAC_PI_2
        );
        assert!(spectrum.magnitude().to_vec(1).is_err());
    }

    #[test]
    fn summary_names_length_resolution_and_peak() {
        let bins = vec![
            Complex64::new(0.0, 0.0),
            Complex64::new(2.0, 0.0),
            Complex64::new(1.0, 0.0),
        ];
        let spectrum = spectrum(bins, SpectrumKind::OneSided, 4, Some(8000.0));
        assert_eq!(
            spectrum.summary(),
            "rfft spectrum of 4 samples: 3 bins, 0 to 4000 Hz, resolution 2000 Hz, peak 2000 Hz (|X| 2)"
        );
    }

    #[test]
    fn export_is_complex128_with_the_frequency_step() {
        let bins = vec![Complex64::new(1.0, -1.0), Complex64::new(0.5, 2.0)];
        let export = spectrum(bins, SpectrumKind::OneSided, 2, Some(10.0)).to_data_array();
        assert_eq!(export.dtype.as_str(), "<c16");
        assert_eq!(export.shape, vec![2]);
        assert_eq!(export.frequency_step, Some(5.0));
        let bytes = export.to_bytes(1 << 20, &Silent).unwrap();
        let expected: Vec<u8> = [1.0f64, -1.0, 0.5, 2.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(bytes, expected);
    }
}
