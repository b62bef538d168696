//! `rfft` and `fft` of a whole signal, any length: in memory with the
//! cached rustfft / realfft plans when the transform fits the memory
//! budget, out of core through the four-step transform otherwise.
//!
//! Results are unnormalised like numpy's default (`norm="backward"`), and
//! `n` pads with zeros or truncates as numpy's `n` does. This module
//! decides where a transform runs; the algorithms live in `plan.rs` and
//! `four_step.rs`, the result type in `spectrum.rs`.

use std::path::PathBuf;

use num_complex::Complex64;
use signal::{ComplexSource, DEFAULT_CHUNK_LEN, Progress, SignalError, Source, SourceInfo};

use crate::four_step::{self, FourStepShape, Largest};
use crate::packed;
use crate::plan::{Direction, complex_plan, real_forward_plan, with_scratch};
use crate::spectrum::{Spectrum, SpectrumKind, Storage};
use crate::{MemoryBudget, SpectralError};

/// Bytes per sample an in-memory real transform holds: the input, the
/// output (half as many complex values) and realfft's scratch.
const REAL_BYTES_PER_SAMPLE: u64 = 24;

/// Bytes per sample an in-memory complex transform holds: the buffer and
/// rustfft's scratch.
const COMPLEX_BYTES_PER_SAMPLE: u64 = 32;

/// Options of [`rfft`] and [`fft`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FftOptions {
    /// Transform length: the signal is zero-padded or truncated to it, as
    /// numpy's `n`. Default: the signal's length.
    pub n: Option<u64>,
    /// Memory the transform may hold; beyond it, it runs out of core.
    /// Default: a quarter of the machine's memory.
    pub budget: MemoryBudget,
    /// Where scratch files go. Default: `std::env::temp_dir()`.
    pub scratch_dir: Option<PathBuf>,
    /// Samples per second, overriding the source's; frequencies are in
    /// cycles per sample when neither is known.
    pub sample_rate: Option<f64>,
}

impl FftOptions {
    /// The transform length for a signal of `source_len` samples.
    ///
    /// # Errors
    /// [`SpectralError::InvalidOption`] for `n` 0, and
    /// [`SpectralError::EmptySignal`] for an empty signal without `n`.
    pub fn transform_len(&self, source_len: u64) -> Result<u64, SpectralError> {
        match self.n {
            Some(0) => Err(SpectralError::invalid("n", 0, "n >= 1")),
            Some(n) => Ok(n),
            None if source_len == 0 => Err(SpectralError::EmptySignal { what: "fft input" }),
            None => Ok(source_len),
        }
    }

    /// The scratch directory to use.
    pub fn scratch_dir(&self) -> PathBuf {
        self.scratch_dir.clone().unwrap_or_else(std::env::temp_dir)
    }

    fn sample_rate_for(&self, info: &SourceInfo) -> Result<Option<f64>, SpectralError> {
        let rate = self.sample_rate.or(info.sample_rate);
        if let Some(rate) = rate
            && !(rate.is_finite() && rate > 0.0)
        {
            return Err(SpectralError::invalid(
                "sample rate",
                rate,
                "a positive number of hertz",
            ));
        }
        Ok(rate)
    }
}

/// The longest transform done in memory whatever the budget: 2^24
/// samples, a few hundred milliseconds. A single in-memory FFT cannot be
/// interrupted, and an interrupt must stop a job within 500 ms; longer
/// transforms run as a four-step, which checks between blocks.
pub const MAX_IN_MEMORY_LEN: u64 = 1 << 24;

/// True when a transform of `len` samples runs in memory under `options`:
/// it fits the budget and is at most [`MAX_IN_MEMORY_LEN`].
pub fn fits_in_memory(len: u64, real: bool, options: &FftOptions) -> bool {
    let per_sample = if real {
        REAL_BYTES_PER_SAMPLE
    } else {
        COMPLEX_BYTES_PER_SAMPLE
    };
    len <= MAX_IN_MEMORY_LEN && len.saturating_mul(per_sample) <= options.budget.bytes()
}

/// Makes (or finds in the cache) the plans an in-memory [`rfft`] of
/// `len` samples uses, so that a later call spends no time planning.
pub fn prepare_rfft(len: u64) {
    if len == 0 || len > MAX_IN_MEMORY_LEN {
        return;
    }
    if len.is_multiple_of(2) {
        complex_plan(len as usize / 2, Direction::Forward);
    } else {
        real_forward_plan(len as usize);
    }
}

/// The one-sided spectrum of a real signal, `len / 2 + 1` bins, as
/// `numpy.fft.rfft(x, n)`.
///
/// # Errors
/// Bad options, a read error, [`SpectralError::Unsplittable`] when the
/// transform fits neither memory nor a four-step split, a scratch-file
/// error, or `Cancelled` (scratch files are then removed).
pub fn rfft(
    source: &dyn Source,
    options: &FftOptions,
    progress: &dyn Progress,
) -> Result<Spectrum, SpectralError> {
    let info = source.info();
    let len = options.transform_len(info.len)?;
    let sample_rate = options.sample_rate_for(&info)?;
    let kind = SpectrumKind::OneSided;
    let mut peak = None;

    let storage = if fits_in_memory(len, true, options) && len.is_multiple_of(2) {
        Storage::Memory(packed::rfft_even(source, len as usize, progress)?)
    } else if fits_in_memory(len, true, options) {
        Storage::Memory(rfft_in_memory(source, len, progress)?)
    } else {
        let (file, largest) = rfft_out_of_core(source, len, options, progress)?;
        peak = largest.peak();
        Storage::Scratch(file)
    };
    Ok(Spectrum::new(kind, len, sample_rate, info.units, storage).with_known_peak(peak))
}

/// The two-sided spectrum of a complex signal, `len` bins in numpy's
/// order (0, positive, then negative frequencies), as
/// `numpy.fft.fft(x, n)`. For a real signal wrap it in [`AsComplex`].
///
/// # Errors
/// As [`rfft`].
pub fn fft(
    source: &dyn ComplexSource,
    options: &FftOptions,
    progress: &dyn Progress,
) -> Result<Spectrum, SpectralError> {
    let info = source.info();
    let len = options.transform_len(info.len)?;
    let sample_rate = options.sample_rate_for(&info)?;
    let mut peak = None;

    let storage = if fits_in_memory(len, false, options) {
        Storage::Memory(fft_in_memory(source, len, progress)?)
    } else {
        let shape = FourStepShape::plan(len, options.budget)?;
        let mut read = |start, out: &mut [Complex64]| read_padded_complex(source, start, out);
        let total = 2 * len;
        let dir = options.scratch_dir();
        let (file, largest) = four_step::transform(&shape, &mut read, len, &dir, progress, total)?;
        peak = largest.peak();
        Storage::Scratch(file)
    };
    let spectrum = Spectrum::new(
        SpectrumKind::TwoSided,
        len,
        sample_rate,
        info.units,
        storage,
    );
    Ok(spectrum.with_known_peak(peak))
}

fn rfft_in_memory(
    source: &dyn Source,
    len: u64,
    progress: &dyn Progress,
) -> Result<Vec<Complex64>, SpectralError> {
    let mut input = read_whole(len, progress, |start, out| {
        read_padded_real(source, start, out)
    })?;

    progress.phase("transform");
    let plan = real_forward_plan(len as usize);
    let mut output = plan.make_output_vec();
    with_scratch(plan.get_scratch_len(), |scratch| {
        plan.process_with_scratch(&mut input, &mut output, scratch)
    })
    .map_err(|error| SignalError::read(format!("realfft: {error}")))?;
    Ok(output)
}

fn fft_in_memory(
    source: &dyn ComplexSource,
    len: u64,
    progress: &dyn Progress,
) -> Result<Vec<Complex64>, SpectralError> {
    let mut buffer = read_whole(len, progress, |start, out| {
        read_padded_complex(source, start, out)
    })?;

    progress.phase("transform");
    let plan = complex_plan(len as usize, Direction::Forward);
    with_scratch(plan.get_inplace_scratch_len(), |scratch| {
        plan.process_with_scratch(&mut buffer, scratch);
    });
    Ok(buffer)
}

/// An even length packs sample pairs into a half-length complex transform
/// and unpacks; an odd one runs as a complex transform of real input.
fn rfft_out_of_core(
    source: &dyn Source,
    len: u64,
    options: &FftOptions,
    progress: &dyn Progress,
) -> Result<(crate::scratch::ScratchFile, Largest), SpectralError> {
    let dir = options.scratch_dir();
    let bins = len / 2 + 1;
    let shape = four_step::plan_real(len, options.budget)?;
    if len % 2 == 1 {
        let mut line = Vec::new();
        let mut read = |start: u64, out: &mut [Complex64]| {
            line.resize(out.len(), 0.0);
            read_padded_real(source, start, &mut line)?;
            out.iter_mut()
                .zip(&line)
                .for_each(|(z, x)| *z = Complex64::new(*x, 0.0));
            Ok(())
        };
        return four_step::transform(&shape, &mut read, bins, &dir, progress, 2 * len);
    }

    let half = len / 2;
    let mut pairs = Vec::new();
    let mut read = |start: u64, out: &mut [Complex64]| {
        pairs.resize(2 * out.len(), 0.0);
        read_padded_real(source, 2 * start, &mut pairs)?;
        for (z, pair) in out.iter_mut().zip(pairs.chunks_exact(2)) {
            *z = Complex64::new(pair[0], pair[1]);
        }
        Ok(())
    };
    let total = 2 * half;
    four_step::transform_packed_real(&shape, &mut read, &dir, progress, total)
}

/// Samples `start ..` of `source`, zeros past its end.
/// `len` values read chunk by chunk with `read(start, chunk)`, reporting
/// the "reading" phase and stopping when cancelled.
fn read_whole<T: Default + Clone>(
    len: u64,
    progress: &dyn Progress,
    mut read: impl FnMut(u64, &mut [T]) -> Result<(), SpectralError>,
) -> Result<Vec<T>, SpectralError> {
    let mut values = vec![T::default(); len as usize];
    progress.phase("reading");
    for start in (0..values.len()).step_by(DEFAULT_CHUNK_LEN) {
        progress.check()?;
        let end = (start + DEFAULT_CHUNK_LEN).min(values.len());
        read(start as u64, &mut values[start..end])?;
        progress.advance(end as u64, len);
    }
    Ok(values)
}

fn read_padded_real(source: &dyn Source, start: u64, out: &mut [f64]) -> Result<(), SpectralError> {
    let available = source.len().saturating_sub(start).min(out.len() as u64) as usize;
    if available > 0 {
        source.read_into(start, &mut out[..available])?;
    }
    out[available..].fill(0.0);
    Ok(())
}

/// As [`read_padded_real`], for complex sources.
fn read_padded_complex(
    source: &dyn ComplexSource,
    start: u64,
    out: &mut [Complex64],
) -> Result<(), SpectralError> {
    let available = source.len().saturating_sub(start).min(out.len() as u64) as usize;
    if available > 0 {
        source.read_into(start, &mut out[..available])?;
    }
    out[available..].fill(Complex64::default());
    Ok(())
}

/// A real source seen as complex with zero imaginary parts, for [`fft`]
/// of real data (numpy's `fft(x)` with a real `x`).
pub struct AsComplex<S>(pub S);

impl<S: Source> ComplexSource for AsComplex<S> {
    fn info(&self) -> SourceInfo {
        self.0.info()
    }

    fn read_into(&self, start: u64, buffer: &mut [Complex64]) -> Result<(), SignalError> {
        let mut real = vec![0.0; buffer.len()];
        self.0.read_into(start, &mut real)?;
        buffer
            .iter_mut()
            .zip(real)
            .for_each(|(z, x)| *z = Complex64::new(x, 0.0));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use signal::{RealVector, Silent};

    #[test]
    fn n_pads_with_zeros_and_truncates() {
        let source = RealVector::new(vec![1.0, 2.0, 3.0]);
        let padded = FftOptions {
            n: Some(5),
            ..FftOptions::default()
        };
        let spectrum = rfft(&source, &padded, &Silent).unwrap();
        assert_eq!(spectrum.len(), 3);
        assert_eq!(spectrum.bin(0).unwrap(), Complex64::new(6.0, 0.0));

        let truncated = FftOptions {
            n: Some(2),
            ..FftOptions::default()
        };
        let spectrum = rfft(&source, &truncated, &Silent).unwrap();
        assert_eq!(spectrum.bin(0).unwrap(), Complex64::new(3.0, 0.0));
        assert_eq!(spectrum.bin(1).unwrap(), Complex64::new(-1.0, 0.0));
    }

    #[test]
    fn an_empty_signal_or_zero_n_is_refused() {
        let empty = RealVector::new(Vec::new());
        let error = rfft(&empty, &FftOptions::default(), &Silent).unwrap_err();
        assert!(error.to_string().contains("the signal is empty"), "{error}");

        let zero = FftOptions {
            n: Some(0),
            ..FftOptions::default()
        };
        let error = rfft(&RealVector::new(vec![1.0]), &zero, &Silent).unwrap_err();
        assert_eq!(error.to_string(), "n 0 is not valid; use n >= 1");
    }

    #[test]
    fn a_negative_sample_rate_is_refused() {
        let options = FftOptions {
            sample_rate: Some(-1.0),
            ..FftOptions::default()
        };
        let error = rfft(&RealVector::new(vec![1.0; 4]), &options, &Silent).unwrap_err();
        assert!(
            error.to_string().starts_with("sample rate -1 is not valid"),
            "{error}"
        );
    }
}
