//! Welch's power spectral density, with the semantics and defaults of
//! `scipy.signal.welch` (reference spectral-and-plotting.md §2): hann
//! window, nperseg 256, noverlap nperseg/2, constant detrend, density
//! scaling, one-sided, mean average; only full segments count.
//!
//! The mean streams in constant memory (a compensated sum per bin, so the
//! result does not drift with the number of segments). The median keeps
//! every periodogram, in memory while they fit half the budget and in a
//! scratch file beyond.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use signal::{ComplexSource, DEFAULT_CHUNK_LEN, Progress, RealVector, Source, SourceInfo};

use crate::export::{DataArrayExport, Dtype, ExportValues, format_number};
use crate::scratch::ScratchFile;
use crate::segments::{
    SegmentPlan, SegmentRequest, for_each_complex_periodogram, for_each_periodogram,
};
use crate::{Detrend, MemoryBudget, SpectralError, Window};

/// How a periodogram is normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scaling {
    /// Power spectral density, V²/Hz: 1 / (fs·Σw²).
    #[default]
    Density,
    /// Power spectrum, V²: 1 / (Σw)².
    Spectrum,
}

impl Scaling {
    /// Reads "density" or "spectrum".
    ///
    /// # Errors
    /// [`SpectralError::InvalidOption`] naming the text and the choices.
    pub fn parse(text: &str) -> Result<Self, SpectralError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "density" => Ok(Self::Density),
            "spectrum" => Ok(Self::Spectrum),
            _ => Err(SpectralError::invalid(
                "scaling",
                format!("{text:?}"),
                "density or spectrum",
            )),
        }
    }

    /// The factor applied to |X|², given the window sums and the rate.
    pub(crate) fn factor(self, plan: &SegmentPlan, sample_rate: f64) -> f64 {
        let (squares, sum_squared) = plan.window_sums();
        match self {
            Self::Density => 1.0 / (sample_rate * squares),
            Self::Spectrum => 1.0 / sum_squared,
        }
    }
}

impl FromStr for Scaling {
    type Err = SpectralError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

/// How the periodograms of the segments are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Average {
    /// The mean, streamed.
    #[default]
    Mean,
    /// The median, divided by scipy's `_median_bias`.
    Median,
}

impl Average {
    /// Reads "mean" or "median".
    ///
    /// # Errors
    /// [`SpectralError::InvalidOption`] naming the text and the choices.
    pub fn parse(text: &str) -> Result<Self, SpectralError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "mean" => Ok(Self::Mean),
            "median" => Ok(Self::Median),
            _ => Err(SpectralError::invalid(
                "average",
                format!("{text:?}"),
                "mean or median",
            )),
        }
    }
}

impl fmt::Display for Average {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Mean => "mean",
            Self::Median => "median",
        })
    }
}

impl fmt::Display for Scaling {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Density => "density",
            Self::Spectrum => "spectrum",
        })
    }
}

impl FromStr for Average {
    type Err = SpectralError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

/// Options of [`welch`], with scipy's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct WelchOptions {
    /// Taper of each segment. Default: hann.
    pub window: Window,
    /// Segment length. Default: 256, or the signal's length when shorter.
    pub nperseg: Option<usize>,
    /// Samples shared by consecutive segments. Default: nperseg / 2.
    pub noverlap: Option<usize>,
    /// Transform length (zero-padding), at least nperseg. Default: nperseg.
    pub nfft: Option<usize>,
    /// Trend removed from each segment. Default: constant.
    pub detrend: Detrend,
    /// Density (default) or spectrum.
    pub scaling: Scaling,
    /// Mean (default) or median.
    pub average: Average,
    /// Samples per second, overriding the source's; 1.0 when neither.
    pub sample_rate: Option<f64>,
    /// Samples per read. The result does not depend on it.
    pub chunk_len: usize,
    /// Memory the median may hold before it spills to scratch files.
    pub budget: MemoryBudget,
    /// Where scratch files go. Default: `std::env::temp_dir()`.
    pub scratch_dir: Option<PathBuf>,
}

impl Default for WelchOptions {
    fn default() -> Self {
        Self {
            window: Window::Hann,
            nperseg: None,
            noverlap: None,
            nfft: None,
            detrend: Detrend::Constant,
            scaling: Scaling::Density,
            average: Average::Mean,
            sample_rate: None,
            chunk_len: DEFAULT_CHUNK_LEN,
            budget: MemoryBudget::machine_default(),
            scratch_dir: None,
        }
    }
}

/// The sample rate to use: the option, the source's, or 1.0.
///
/// # Errors
/// [`SpectralError::InvalidOption`] for a rate that is not positive.
pub(crate) fn resolve_rate(
    option: Option<f64>,
    info: &SourceInfo,
) -> Result<(f64, bool), SpectralError> {
    let given = option.or(info.sample_rate);
    let rate = given.unwrap_or(1.0);
    if !(rate.is_finite() && rate > 0.0) {
        return Err(SpectralError::invalid(
            "sample rate",
            rate,
            "a positive number of hertz",
        ));
    }
    Ok((rate, given.is_some()))
}

/// A power spectral density estimate; see [`welch`].
#[derive(Debug, Clone, PartialEq)]
pub struct Psd {
    frequencies: Vec<f64>,
    values: Vec<f64>,
    segments: u64,
    nperseg: usize,
    noverlap: usize,
    window: Window,
    scaling: Scaling,
    average: Average,
    sample_rate: f64,
    rate_known: bool,
}

impl Psd {
    /// Bin frequencies, as scipy's `rfftfreq(nfft, 1/fs)`.
    pub fn frequencies(&self) -> &[f64] {
        &self.frequencies
    }

    /// The estimate per bin (V²/Hz for density, V² for spectrum).
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Number of segments averaged.
    pub fn segments(&self) -> u64 {
        self.segments
    }

    /// Hz between bins.
    pub fn frequency_step(&self) -> f64 {
        self.frequencies.get(1).copied().unwrap_or(self.sample_rate)
    }

    /// The frequency of the largest value, DC left out unless alone.
    pub fn peak_frequency(&self) -> f64 {
        let skip = usize::from(self.values.len() > 1);
        let best = (skip..self.values.len())
            .max_by(|&a, &b| self.values[a].total_cmp(&self.values[b]))
            .unwrap_or(0);
        self.frequencies[best]
    }

    /// The values as a real source over frequency (`sample_rate` is bins
    /// per Hz).
    pub fn as_source(&self) -> RealVector {
        RealVector::new(self.values.clone()).with_sample_rate(1.0 / self.frequency_step())
    }

    /// One line for the notebook.
    pub fn summary(&self) -> String {
        let unit = if self.rate_known {
            "Hz"
        } else {
            "cycles/sample"
        };
        let last = self.frequencies.last().copied().unwrap_or(0.0);
        let what = match self.scaling {
            Scaling::Density => "psd",
            Scaling::Spectrum => "power spectrum",
        };
        format!(
            "welch {what} ({} of {} segments of {}, {}, noverlap {}): {} bins, 0 to {} {unit}, \
             resolution {} {unit}, peak {} {unit}",
            self.average,
            self.segments,
            self.nperseg,
            self.window,
            self.noverlap,
            self.values.len(),
            format_number(last),
            format_number(self.frequency_step()),
            format_number(self.peak_frequency()),
        )
    }

    /// The values as a Data Array: `<f8`, shape `[bins]`, frequency step.
    pub fn to_data_array(&self) -> DataArrayExport {
        DataArrayExport {
            dtype: Dtype::Float64,
            shape: vec![self.values.len() as u64],
            axes: vec!["frequency"],
            frequency_step: Some(self.frequency_step()),
            time_step: None,
            values: ExportValues::Real(std::sync::Arc::new(RealVector::new(self.values.clone()))),
        }
    }
}

impl fmt::Display for Psd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary())
    }
}

/// Welch's estimate of a real signal's power spectral density, as
/// `scipy.signal.welch(x, fs, window, nperseg, noverlap, nfft, detrend,
/// True, scaling, average=average)`.
///
/// # Errors
/// Bad options (naming the value and what would work), a read error, a
/// scratch-file error, or `Cancelled`.
pub fn welch(
    source: &dyn Source,
    options: &WelchOptions,
    progress: &dyn Progress,
) -> Result<Psd, SpectralError> {
    let plan = SegmentPlan::resolve(&segment_request(options), source.len())?;
    let rate = resolve_rate(options.sample_rate, &source.info())?;
    let chunk_len = checked_chunk_len(options.chunk_len)?;
    let mut walk =
        |visit: &mut Visit<'_>| for_each_periodogram(source, &plan, chunk_len, progress, visit);

    let raw = average(&plan, plan.bins(), options, &mut walk, progress)?;
    let frequencies = rfft_frequencies(plan.nfft, rate.0);
    Ok(finish(&plan, options, raw, frequencies, rate, true))
}

/// Welch's estimate of a complex signal's power spectral density, two-sided
/// (`nfft` bins in numpy's order: 0, positive, then negative frequencies),
/// as scipy does for complex input.
///
/// # Errors
/// As [`welch`].
pub fn welch_complex(
    source: &dyn ComplexSource,
    options: &WelchOptions,
    progress: &dyn Progress,
) -> Result<Psd, SpectralError> {
    let plan = SegmentPlan::resolve(&segment_request(options), source.len())?;
    let rate = resolve_rate(options.sample_rate, &source.info())?;
    let chunk_len = checked_chunk_len(options.chunk_len)?;
    let mut walk = |visit: &mut Visit<'_>| {
        for_each_complex_periodogram(source, &plan, chunk_len, progress, visit)
    };

    let raw = average(&plan, plan.nfft, options, &mut walk, progress)?;
    let frequencies = fft_frequencies(plan.nfft, rate.0);
    Ok(finish(&plan, options, raw, frequencies, rate, false))
}

/// Receives each segment's periodogram.
type Visit<'a> = dyn FnMut(u64, &[f64]) -> Result<(), SpectralError> + 'a;

/// Walks the periodograms of a signal, in order.
type Walk<'a> = dyn FnMut(&mut Visit<'_>) -> Result<(), SpectralError> + 'a;

fn average(
    plan: &SegmentPlan,
    bins: usize,
    options: &WelchOptions,
    walk: &mut Walk<'_>,
    progress: &dyn Progress,
) -> Result<Vec<f64>, SpectralError> {
    tracing::debug!(
        nperseg = plan.nperseg,
        noverlap = plan.noverlap,
        segments = plan.count,
        "welch"
    );
    match options.average {
        Average::Mean => mean_periodogram(plan, bins, walk),
        Average::Median => median_periodogram(plan, bins, options, walk, progress),
    }
}

/// Scales the averaged periodogram (doubling the one-sided bins that
/// stand for two) and builds the result.
fn finish(
    plan: &SegmentPlan,
    options: &WelchOptions,
    raw: Vec<f64>,
    frequencies: Vec<f64>,
    (sample_rate, rate_known): (f64, bool),
    one_sided: bool,
) -> Psd {
    let scale = options.scaling.factor(plan, sample_rate);
    let values = raw
        .iter()
        .enumerate()
        .map(|(bin, value)| {
            if one_sided && plan.doubled(bin) {
                value * scale * 2.0
            } else {
                value * scale
            }
        })
        .collect();

    Psd {
        frequencies,
        values,
        segments: plan.count,
        nperseg: plan.nperseg,
        noverlap: plan.noverlap,
        window: options.window,
        scaling: options.scaling,
        average: options.average,
        sample_rate,
        rate_known,
    }
}

fn segment_request(options: &WelchOptions) -> SegmentRequest {
    SegmentRequest {
        nperseg: options.nperseg,
        noverlap: options.noverlap,
        nfft: options.nfft,
        window: options.window,
        detrend: options.detrend,
        default_overlap: |nperseg| nperseg / 2,
    }
}

/// The chunk length, refused when 0.
pub(crate) fn checked_chunk_len(chunk_len: usize) -> Result<usize, SpectralError> {
    if chunk_len == 0 {
        return Err(SpectralError::invalid(
            "chunk length",
            0,
            "a chunk length >= 1",
        ));
    }
    Ok(chunk_len)
}

/// numpy's `rfftfreq(nfft, 1/fs)`: k · (1 / (nfft · (1/fs))).
pub(crate) fn rfft_frequencies(nfft: usize, sample_rate: f64) -> Vec<f64> {
    let step = 1.0 / (nfft as f64 * (1.0 / sample_rate));
    (0..nfft / 2 + 1).map(|k| k as f64 * step).collect()
}

/// numpy's `fftfreq(nfft, 1/fs)`: 0, positive, then negative frequencies.
pub(crate) fn fft_frequencies(nfft: usize, sample_rate: f64) -> Vec<f64> {
    let step = 1.0 / (nfft as f64 * (1.0 / sample_rate));
    let positive = nfft.div_ceil(2);
    (0..nfft)
        .map(|k| if k < positive { k as f64 } else { k as f64 - nfft as f64 } * step)
        .collect()
}

/// The mean of the unscaled periodograms, with a Neumaier-compensated
/// sum per bin.
fn mean_periodogram(
    plan: &SegmentPlan,
    bins: usize,
    walk: &mut Walk<'_>,
) -> Result<Vec<f64>, SpectralError> {
    let mut sums = vec![0.0; bins];
    let mut compensations = vec![0.0; bins];
    walk(&mut |_, power| {
        for ((sum, compensation), &value) in sums.iter_mut().zip(&mut compensations).zip(power) {
            let total = *sum + value;
            *compensation += if sum.abs() >= value.abs() {
                (*sum - total) + value
            } else {
                (value - total) + *sum
            };
            *sum = total;
        }
        Ok(())
    })?;
    let count = plan.count as f64;
    Ok(sums
        .iter()
        .zip(&compensations)
        .map(|(sum, c)| (sum + c) / count)
        .collect())
}

/// The median of the unscaled periodograms over segments, divided by
/// scipy's bias (not applied to a single segment, as scipy).
fn median_periodogram(
    plan: &SegmentPlan,
    bins: usize,
    options: &WelchOptions,
    walk: &mut Walk<'_>,
    progress: &dyn Progress,
) -> Result<Vec<f64>, SpectralError> {
    let bytes = plan.count * bins as u64 * 8;
    let store = if bytes <= options.budget.bytes() / 2 {
        PeriodogramStore::Memory(Vec::with_capacity((plan.count as usize) * bins))
    } else {
        let dir = options
            .scratch_dir
            .clone()
            .unwrap_or_else(std::env::temp_dir);
        tracing::debug!(bytes, "welch median spills to a scratch file");
        PeriodogramStore::Scratch(ScratchFile::create(&dir, bytes)?)
    };
    let mut store = store;
    walk(&mut |index, power| store.push(index, power))?;

    progress.phase("median");
    let medians = store.medians(plan.count as usize, bins, options.budget, progress)?;
    if plan.count == 1 {
        return Ok(medians);
    }
    let bias = median_bias(plan.count as usize);
    Ok(medians.into_iter().map(|value| value / bias).collect())
}

/// scipy's `_median_bias(n)`: 1 + Σ_{i=1}^{(n−1)/2} (1/(2i+1) − 1/(2i)).
pub fn median_bias(count: usize) -> f64 {
    let terms = (1..=(count - 1) / 2).map(|i| {
        let even = 2.0 * i as f64;
        1.0 / (even + 1.0) - 1.0 / even
    });
    1.0 + terms.sum::<f64>()
}

/// Every periodogram, one row per segment.
enum PeriodogramStore {
    Memory(Vec<f64>),
    Scratch(ScratchFile),
}

impl PeriodogramStore {
    fn push(&mut self, index: u64, power: &[f64]) -> Result<(), SpectralError> {
        match self {
            Self::Memory(rows) => {
                rows.extend_from_slice(power);
                Ok(())
            }
            Self::Scratch(file) => file.write_f64s(index * power.len() as u64, power),
        }
    }

    /// The median of each bin over all rows, reading blocks of bins that
    /// fit a quarter of the budget.
    ///
    /// TODO: a spilled store is read one row per mapped window; mapping
    /// several rows at once would cut the system calls for very many
    /// segments. Worth doing once a median over a spilled store shows up
    /// in a profile.
    fn medians(
        &self,
        rows: usize,
        bins: usize,
        budget: MemoryBudget,
        progress: &dyn Progress,
    ) -> Result<Vec<f64>, SpectralError> {
        let block = ((budget.bytes() / 4) / (rows as u64 * 8)).clamp(1, bins as u64) as usize;
        let mut column = vec![0.0; rows * block];
        let mut medians = Vec::with_capacity(bins);
        let mut line = vec![0.0; block];

        for first in (0..bins).step_by(block) {
            progress.check()?;
            let width = block.min(bins - first);
            for row in 0..rows {
                self.read(row * bins + first, &mut line[..width])?;
                for (j, value) in line[..width].iter().enumerate() {
                    column[j * rows + row] = *value;
                }
            }
            for j in 0..width {
                medians.push(median(&mut column[j * rows..(j + 1) * rows]));
            }
            progress.advance((first + width) as u64, bins as u64);
        }
        Ok(medians)
    }

    fn read(&self, start: usize, out: &mut [f64]) -> Result<(), SpectralError> {
        match self {
            Self::Memory(rows) => {
                out.copy_from_slice(&rows[start..start + out.len()]);
                Ok(())
            }
            Self::Scratch(file) => file.read_f64s(start as u64, out),
        }
    }
}

/// numpy's median: the middle value, or the mean of the two middle ones.
fn median(values: &mut [f64]) -> f64 {
    let len = values.len();
    let middle = len / 2;
    let (below, upper, _) = values.select_nth_unstable_by(middle, f64::total_cmp);
    let upper = *upper;
    if len % 2 == 1 {
        return upper;
    }
    let lower = below.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (lower + upper) / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use signal::Silent;

    #[test]
    fn median_bias_matches_scipy_for_small_counts() {
        assert_eq!(median_bias(1), 1.0);
        assert_eq!(median_bias(2), 1.0);
        assert!((median_bias(3) - (1.0 + 1.0 / 3.0 - 0.5)).abs() < 1e-16);
    }

    #[test]
    fn median_of_even_count_is_the_mean_of_the_middle_pair() {
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&mut [5.0, 1.0, 3.0]), 3.0);
    }

    #[test]
    fn white_noise_density_integrates_to_its_variance() {
        // a deterministic ±1 sequence: variance 1, flat spectrum
        let values: Vec<f64> = (0..65536u64)
            .map(|i| {
                if (i.wrapping_mul(2654435761) >> 13) & 1 == 0 {
                    1.0
                } else {
                    -1.0
                }
            })
            .collect();
        let source = RealVector::new(values).with_sample_rate(1000.0);
        let psd = welch(&source, &WelchOptions::default(), &Silent).unwrap();

        let total: f64 = psd.values().iter().sum::<f64>() * psd.frequency_step();
        assert!((total - 1.0).abs() < 0.05, "{total}");
        assert_eq!(psd.frequencies().len(), 129);
        assert_eq!(psd.frequencies()[128], 500.0);
    }

    #[test]
    fn median_spilled_to_scratch_equals_median_in_memory() {
        let values: Vec<f64> = (0..20000).map(|i| ((i * 7919) % 1013) as f64).collect();
        let source = RealVector::new(values);
        let dir = tempfile::tempdir().unwrap();
        let in_memory = WelchOptions {
            average: Average::Median,
            ..WelchOptions::default()
        };
        let spilled = WelchOptions {
            budget: MemoryBudget::from_bytes(4096),
            scratch_dir: Some(dir.path().to_path_buf()),
            ..in_memory.clone()
        };

        let expected = welch(&source, &in_memory, &Silent).unwrap();
        let got = welch(&source, &spilled, &Silent).unwrap();

        assert_eq!(got.values(), expected.values());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn summary_names_the_estimate_and_its_peak() {
        let values: Vec<f64> = (0..4096)
            .map(|i| (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / 8000.0).sin())
            .collect();
        let source = RealVector::new(values).with_sample_rate(8000.0);
        let psd = welch(&source, &WelchOptions::default(), &Silent).unwrap();
        assert_eq!(
            psd.summary(),
            "welch psd (mean of 31 segments of 256, hann, noverlap 128): 129 bins, 0 to 4000 Hz, \
             resolution 31.25 Hz, peak 1000 Hz"
        );
    }

    #[test]
    fn unknown_scaling_and_average_are_refused() {
        assert_eq!(
            Scaling::parse("power").unwrap_err().to_string(),
            "scaling \"power\" is not valid; use density or spectrum"
        );
        assert!(Average::parse("mode").is_err());
    }
}
