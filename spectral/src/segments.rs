//! The streaming core shared by Welch and the spectrogram: cut a source
//! into overlapping segments, detrend, window and transform each, and hand
//! its periodogram |X|² (unscaled) to the caller, in segment order.
//!
//! Samples arrive in read chunks of any size; a carried tail keeps the
//! overlap, so each segment is computed from the same samples in the same
//! way whatever the chunk size, and results are bit-identical. Memory is
//! one chunk, one segment and one transform, whatever the signal's length.

use num_complex::Complex64;
use signal::{ComplexSource, Progress, Source};

use crate::plan::{Direction, complex_plan, real_forward_plan};
use crate::{Detrend, SpectralError, Window};

/// Samples transformed between two cancellation checks inside one read
/// chunk (at least one segment).
const SAMPLES_PER_CHECK: u64 = 1 << 18;

/// How a signal is cut and tapered, resolved against its length.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SegmentPlan {
    pub nperseg: usize,
    pub noverlap: usize,
    pub nfft: usize,
    pub window: Vec<f64>,
    pub detrend: Detrend,
    /// Number of full segments: (len − noverlap) / hop, as scipy.
    pub count: u64,
}

/// The segment options as the user gave them.
pub(crate) struct SegmentRequest {
    pub nperseg: Option<usize>,
    pub noverlap: Option<usize>,
    pub nfft: Option<usize>,
    pub window: Window,
    pub detrend: Detrend,
    /// The overlap when none is given, from nperseg.
    pub default_overlap: fn(usize) -> usize,
}

/// The longest segment (and zero-padded transform) of an estimate: 2^24
/// samples, the longest in-memory transform.
pub const MAX_SEGMENT_LEN: usize = 1 << 24;

/// scipy's default segment length.
pub const DEFAULT_NPERSEG: usize = 256;

impl SegmentPlan {
    /// Resolves `request` for a signal of `len` samples: nperseg defaults
    /// to 256, or the whole signal when shorter (as scipy does, with a
    /// warning in the log); an explicit nperseg longer than the signal is
    /// refused.
    ///
    /// # Errors
    /// [`SpectralError`] naming the bad value and what would work.
    pub fn resolve(request: &SegmentRequest, len: u64) -> Result<Self, SpectralError> {
        if len == 0 {
            return Err(SpectralError::EmptySignal {
                what: "segment estimate input",
            });
        }
        let nperseg = resolve_nperseg(request.nperseg, len)?;
        let noverlap = request
            .noverlap
            .unwrap_or((request.default_overlap)(nperseg));
        if noverlap >= nperseg {
            return Err(SpectralError::OverlapTooLong { noverlap, nperseg });
        }
        let nfft = request.nfft.unwrap_or(nperseg);
        if nfft > MAX_SEGMENT_LEN {
            let expected =
                format!("nfft <= {MAX_SEGMENT_LEN}, or rfft for one transform of the whole signal");
            return Err(SpectralError::invalid("nfft", nfft, expected));
        }
        if nfft < nperseg {
            return Err(SpectralError::invalid(
                "nfft",
                nfft,
                format!("nfft >= nperseg ({nperseg})"),
            ));
        }
        let hop = (nperseg - noverlap) as u64;
        Ok(Self {
            nperseg,
            noverlap,
            nfft,
            window: request.window.validated()?.values(nperseg),
            detrend: request.detrend,
            count: (len - noverlap as u64) / hop,
        })
    }

    /// Samples between the starts of two segments.
    pub fn hop(&self) -> usize {
        self.nperseg - self.noverlap
    }

    /// One-sided bins per periodogram.
    pub fn bins(&self) -> usize {
        self.nfft / 2 + 1
    }

    /// Σw² (density scaling) and (Σw)² (spectrum scaling).
    pub fn window_sums(&self) -> (f64, f64) {
        let squares = self.window.iter().map(|w| w * w).sum();
        let sum: f64 = self.window.iter().sum();
        (squares, sum * sum)
    }

    /// True for the bins a one-sided estimate doubles: all but DC and,
    /// for even nfft, Nyquist.
    pub fn doubled(&self, bin: usize) -> bool {
        bin > 0 && (self.nfft % 2 == 1 || bin < self.nfft / 2)
    }
}

fn resolve_nperseg(requested: Option<usize>, len: u64) -> Result<usize, SpectralError> {
    match requested {
        Some(0) => Err(SpectralError::invalid("nperseg", 0, "nperseg >= 1")),
        Some(nperseg) if nperseg as u64 > len => {
            Err(SpectralError::SegmentTooLong { nperseg, len })
        }
        Some(nperseg) if nperseg > MAX_SEGMENT_LEN => Err(SpectralError::invalid(
            "nperseg",
            nperseg,
            format!("nperseg <= {MAX_SEGMENT_LEN}, or rfft for one transform of the whole signal"),
        )),
        Some(nperseg) => Ok(nperseg),
        None if (DEFAULT_NPERSEG as u64) > len => {
            tracing::warn!(
                len,
                "signal shorter than 256 samples; nperseg is its length"
            );
            Ok(len as usize)
        }
        None => Ok(DEFAULT_NPERSEG),
    }
}

/// Calls `visit(index, power)` for each segment in order, with
/// `power[k] = |X_k|²` of the detrended, windowed, zero-padded segment.
///
/// # Errors
/// A read error, an error of `visit`, or `Cancelled`.
///
/// # Panics
/// When `chunk_len` is 0.
pub(crate) fn for_each_periodogram(
    source: &dyn Source,
    plan: &SegmentPlan,
    chunk_len: usize,
    progress: &dyn Progress,
    mut visit: impl FnMut(u64, &[f64]) -> Result<(), SpectralError>,
) -> Result<(), SpectralError> {
    let mut transform = Periodogram::new(plan);
    let read = |start, out: &mut [f64]| source.read_into(start, out);
    for_each_segment(
        source.len(),
        read,
        plan,
        chunk_len,
        progress,
        |index, segment| visit(index, transform.compute(segment)),
    )
}

/// As [`for_each_periodogram`], for complex samples: the periodogram has
/// `nfft` bins in numpy's two-sided order.
///
/// # Errors
/// As [`for_each_periodogram`].
///
/// # Panics
/// When `chunk_len` is 0.
pub(crate) fn for_each_complex_periodogram(
    source: &dyn ComplexSource,
    plan: &SegmentPlan,
    chunk_len: usize,
    progress: &dyn Progress,
    mut visit: impl FnMut(u64, &[f64]) -> Result<(), SpectralError>,
) -> Result<(), SpectralError> {
    let mut transform = ComplexPeriodogram::new(plan);
    let read = |start, out: &mut [Complex64]| source.read_into(start, out);
    for_each_segment(
        source.len(),
        read,
        plan,
        chunk_len,
        progress,
        |index, segment| visit(index, transform.compute(segment)),
    )
}

/// Reads `len` samples in chunks and calls `visit(index, segment)` for
/// each full segment, in order, carrying the overlap between chunks.
fn for_each_segment<T: Copy + Default>(
    len: u64,
    mut read: impl FnMut(u64, &mut [T]) -> Result<(), signal::SignalError>,
    plan: &SegmentPlan,
    chunk_len: usize,
    progress: &dyn Progress,
    mut visit: impl FnMut(u64, &[T]) -> Result<(), SpectralError>,
) -> Result<(), SpectralError> {
    assert!(chunk_len > 0, "chunk length must be positive, got 0");
    let mut chunk = vec![T::default(); chunk_len.min(len as usize)];
    let mut pending: Vec<T> = Vec::with_capacity(chunk.len() + plan.nperseg);
    let (mut pending_start, mut next_start, mut index) = (0u64, 0u64, 0u64);
    let mut offset = 0;
    let segments_per_check = (SAMPLES_PER_CHECK / plan.nfft as u64).max(1);

    while offset < len {
        progress.check()?;
        let count = chunk.len().min((len - offset) as usize);
        read(offset, &mut chunk[..count])?;
        pending.extend_from_slice(&chunk[..count]);
        offset += count as u64;

        // every segment that now lies wholly inside `pending`
        while next_start + plan.nperseg as u64 <= pending_start + pending.len() as u64 {
            let local = (next_start - pending_start) as usize;
            visit(index, &pending[local..local + plan.nperseg])?;
            index += 1;
            next_start += plan.hop() as u64;
            if index % segments_per_check == 0 {
                progress.check()?;
            }
        }

        // drop what no later segment needs
        let consumed = ((next_start - pending_start) as usize).min(pending.len());
        pending.drain(..consumed);
        pending_start += consumed as u64;
        progress.advance(offset, len);
    }
    Ok(())
}

/// The transform of one segment, with its buffers.
struct Periodogram<'a> {
    plan: &'a SegmentPlan,
    fft: std::sync::Arc<dyn realfft::RealToComplex<f64>>,
    input: Vec<f64>,
    output: Vec<Complex64>,
    scratch: Vec<Complex64>,
    power: Vec<f64>,
}

impl<'a> Periodogram<'a> {
    fn new(plan: &'a SegmentPlan) -> Self {
        let fft = real_forward_plan(plan.nfft);
        Self {
            input: vec![0.0; plan.nfft],
            output: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            power: vec![0.0; plan.bins()],
            fft,
            plan,
        }
    }

    fn compute(&mut self, segment: &[f64]) -> &[f64] {
        let nperseg = self.plan.nperseg;
        let input = &mut self.input;
        let window = &self.plan.window;

        // detrend and taper in one pass where the trend is a constant;
        // the operations, and so the bits, are those of the two steps
        let offset = match self.plan.detrend {
            Detrend::None => Some(0.0),
            Detrend::Constant => Some(segment.iter().sum::<f64>() / nperseg as f64),
            Detrend::Linear => None,
        };
        match offset {
            Some(offset) => {
                let targets = input[..nperseg].iter_mut().zip(segment).zip(window);
                targets.for_each(|((x, s), w)| *x = (s - offset) * w);
            }
            None => {
                input[..nperseg].copy_from_slice(segment);
                self.plan.detrend.apply(&mut input[..nperseg]);
                input[..nperseg]
                    .iter_mut()
                    .zip(window)
                    .for_each(|(x, w)| *x *= w);
            }
        }
        input[nperseg..].fill(0.0);

        // lengths match the plan by construction, so this cannot fail
        let done = self
            .fft
            .process_with_scratch(input, &mut self.output, &mut self.scratch);
        debug_assert!(done.is_ok(), "realfft buffers sized by its own plan");

        for (power, bin) in self.power.iter_mut().zip(&self.output) {
            *power = bin.re * bin.re + bin.im * bin.im;
        }
        &self.power
    }
}

/// The two-sided transform of one complex segment, with its buffers.
struct ComplexPeriodogram<'a> {
    plan: &'a SegmentPlan,
    fft: std::sync::Arc<dyn rustfft::Fft<f64>>,
    buffer: Vec<Complex64>,
    real: Vec<f64>,
    imaginary: Vec<f64>,
    scratch: Vec<Complex64>,
    power: Vec<f64>,
}

impl<'a> ComplexPeriodogram<'a> {
    fn new(plan: &'a SegmentPlan) -> Self {
        let fft = complex_plan(plan.nfft, Direction::Forward);
        Self {
            buffer: vec![Complex64::default(); plan.nfft],
            real: vec![0.0; plan.nperseg],
            imaginary: vec![0.0; plan.nperseg],
            scratch: vec![Complex64::default(); fft.get_inplace_scratch_len()],
            power: vec![0.0; plan.nfft],
            fft,
            plan,
        }
    }

    /// Detrends the real and imaginary parts apart (a least-squares fit of
    /// complex data is the fit of each part), tapers and transforms.
    fn compute(&mut self, segment: &[Complex64]) -> &[f64] {
        let nperseg = self.plan.nperseg;
        for ((re, im), value) in self.real.iter_mut().zip(&mut self.imaginary).zip(segment) {
            (*re, *im) = (value.re, value.im);
        }
        self.plan.detrend.apply(&mut self.real);
        self.plan.detrend.apply(&mut self.imaginary);

        let parts = self.real.iter().zip(&self.imaginary).zip(&self.plan.window);
        for (out, ((re, im), w)) in self.buffer[..nperseg].iter_mut().zip(parts) {
            *out = Complex64::new(re * w, im * w);
        }
        self.buffer[nperseg..].fill(Complex64::default());

        self.fft
            .process_with_scratch(&mut self.buffer, &mut self.scratch);
        for (power, bin) in self.power.iter_mut().zip(&self.buffer) {
            *power = bin.re * bin.re + bin.im * bin.im;
        }
        &self.power
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use signal::{RealVector, Silent};

    fn request(nperseg: Option<usize>, noverlap: Option<usize>) -> SegmentRequest {
        SegmentRequest {
            nperseg,
            noverlap,
            nfft: None,
            window: Window::Hann,
            detrend: Detrend::Constant,
            default_overlap: |nperseg| nperseg / 2,
        }
    }

    #[test]
    fn segment_count_follows_scipy() {
        let plan = SegmentPlan::resolve(&request(Some(256), None), 1000).unwrap();
        assert_eq!(plan.count, (1000 - 128) / 128);
        let plan = SegmentPlan::resolve(&request(Some(255), Some(254)), 1000).unwrap();
        assert_eq!(plan.count, 746);
    }

    #[test]
    fn bad_segments_are_refused_with_what_would_work() {
        let error = SegmentPlan::resolve(&request(Some(4096), None), 1000).unwrap_err();
        assert_eq!(
            error.to_string(),
            "nperseg 4096 is longer than the signal (1000 samples); use nperseg <= 1000"
        );
        let error = SegmentPlan::resolve(&request(Some(256), Some(256)), 1000).unwrap_err();
        assert_eq!(
            error.to_string(),
            "noverlap 256 is not less than nperseg 256; use noverlap <= 255"
        );
    }

    #[test]
    fn an_absurd_transform_length_is_refused_before_allocating() {
        let request = SegmentRequest {
            nfft: Some(1 << 40),
            ..request(Some(256), None)
        };
        let error = SegmentPlan::resolve(&request, 1000)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("nfft 1099511627776 is not valid; use nfft <= 16777216"),
            "{error}"
        );
    }

    #[test]
    fn a_short_signal_without_nperseg_uses_its_length() {
        let plan = SegmentPlan::resolve(&request(None, None), 100).unwrap();
        assert_eq!((plan.nperseg, plan.noverlap, plan.count), (100, 50, 1));
    }

    #[test]
    fn every_chunk_size_sees_the_same_segments() {
        let values: Vec<f64> = (0..1000).map(|i| ((i * 37) % 101) as f64).collect();
        let source = RealVector::new(values);
        let plan = SegmentPlan::resolve(&request(Some(64), Some(13)), 1000).unwrap();
        let collect = |chunk_len| {
            let mut all = Vec::new();
            for_each_periodogram(&source, &plan, chunk_len, &Silent, |index, power| {
                all.push((index, power.to_vec()));
                Ok(())
            })
            .unwrap();
            all
        };

        let reference = collect(1000);
        assert_eq!(reference.len() as u64, plan.count);
        for chunk_len in [1, 7, 64, 65, 333] {
            assert_eq!(collect(chunk_len), reference, "chunk {chunk_len}");
        }
    }
}
