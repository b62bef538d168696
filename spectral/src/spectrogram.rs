//! The spectrogram, with the semantics and defaults of
//! `scipy.signal.spectrogram` (mode `psd`): a tukey 0.25 window, nperseg
//! 256, noverlap nperseg/8 (not welch's), constant detrend, density
//! scaling, one-sided; times are segment centres.
//!
//! Frames stream in and are kept in memory while they fit half the
//! budget; past that they go to a scratch file, so a spectrogram can hold
//! more frames than memory.
//!
//! TODO: scipy's other modes (`complex`, `magnitude`, `angle`, `phase`)
//! and complex input are not offered; add them when a notebook needs
//! them (the segment walker already streams complex samples for Welch).

use std::path::PathBuf;
use std::sync::Arc;

use ndarray::Array2;
use signal::{DEFAULT_CHUNK_LEN, Progress, SignalError, Source, SourceInfo, check_range};

use crate::export::{DataArrayExport, Dtype, ExportValues, format_number};
use crate::scratch::ScratchFile;
use crate::segments::{SegmentPlan, SegmentRequest, for_each_periodogram};
use crate::welch::{checked_chunk_len, resolve_rate, rfft_frequencies};
use crate::{Detrend, MemoryBudget, Scaling, SpectralError, Window};

/// Frames gathered before one write to the scratch file.
const FRAMES_PER_WRITE_BYTES: usize = 4 << 20;

/// Options of [`spectrogram`], with scipy's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct SpectrogramOptions {
    /// Taper of each segment. Default: tukey 0.25.
    pub window: Window,
    /// Segment length. Default: 256, or the signal's length when shorter.
    pub nperseg: Option<usize>,
    /// Samples shared by consecutive segments. Default: nperseg / 8.
    pub noverlap: Option<usize>,
    /// Transform length (zero-padding), at least nperseg. Default: nperseg.
    pub nfft: Option<usize>,
    /// Trend removed from each segment. Default: constant.
    pub detrend: Detrend,
    /// Density (default) or spectrum.
    pub scaling: Scaling,
    /// Samples per second, overriding the source's; 1.0 when neither.
    pub sample_rate: Option<f64>,
    /// Samples per read. The result does not depend on it.
    pub chunk_len: usize,
    /// Memory the frames may hold before they spill to a scratch file.
    pub budget: MemoryBudget,
    /// Where scratch files go. Default: `std::env::temp_dir()`.
    pub scratch_dir: Option<PathBuf>,
}

impl Default for SpectrogramOptions {
    fn default() -> Self {
        Self {
            window: Window::Tukey(0.25),
            nperseg: None,
            noverlap: None,
            nfft: None,
            detrend: Detrend::Constant,
            scaling: Scaling::Density,
            sample_rate: None,
            chunk_len: DEFAULT_CHUNK_LEN,
            budget: MemoryBudget::machine_default(),
            scratch_dir: None,
        }
    }
}

/// Where the frames are: `frames × bins` values, frame after frame.
enum FrameStorage {
    Memory(Vec<f64>),
    Scratch(ScratchFile),
}

/// The largest value and where it is.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Maximum {
    bin: usize,
    frame: u64,
    value: f64,
}

struct SpectrogramData {
    frequencies: Vec<f64>,
    times: Vec<f64>,
    storage: FrameStorage,
    maximum: Maximum,
    nperseg: usize,
    noverlap: usize,
    sample_rate: f64,
    rate_known: bool,
}

/// A spectrogram; see [`spectrogram`]. Cheap to clone; its scratch file,
/// if any, is removed with the last clone.
#[derive(Clone)]
pub struct Spectrogram {
    data: Arc<SpectrogramData>,
}

impl std::fmt::Debug for Spectrogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spectrogram")
            .field("bins", &self.bins())
            .field("frames", &self.frames())
            .field("out_of_core", &self.is_out_of_core())
            .finish()
    }
}

impl Spectrogram {
    /// Bin frequencies, as scipy's `rfftfreq(nfft, 1/fs)`.
    pub fn frequencies(&self) -> &[f64] {
        &self.data.frequencies
    }

    /// Frame times: segment centres in seconds, as scipy.
    pub fn times(&self) -> &[f64] {
        &self.data.times
    }

    /// Number of frequency bins.
    pub fn bins(&self) -> usize {
        self.data.frequencies.len()
    }

    /// Number of frames (segments).
    pub fn frames(&self) -> u64 {
        self.data.times.len() as u64
    }

    /// True when the frames live in a scratch file.
    pub fn is_out_of_core(&self) -> bool {
        matches!(self.data.storage, FrameStorage::Scratch(_))
    }

    /// The values of frame `frame`, one per bin.
    ///
    /// # Errors
    /// Out of range, or a scratch read failure.
    pub fn frame(&self, frame: u64) -> Result<Vec<f64>, SpectralError> {
        let mut values = vec![0.0; self.bins()];
        self.read_flat(frame * self.bins() as u64, &mut values)?;
        Ok(values)
    }

    /// All values as scipy returns them, shape (frequencies, times),
    /// refused past `limit` values.
    ///
    /// # Errors
    /// [`SpectralError::TooLarge`], or a read failure.
    pub fn values(&self, limit: u64) -> Result<Array2<f64>, SpectralError> {
        let len = self.frames() * self.bins() as u64;
        if len > limit {
            return Err(SpectralError::TooLarge {
                what: "spectrogram",
                len,
                limit,
            });
        }
        let mut flat = vec![0.0; len as usize];
        self.read_flat(0, &mut flat)?;
        let by_frame = Array2::from_shape_vec((self.frames() as usize, self.bins()), flat)
            .map_err(|error| SignalError::read(format!("spectrogram shape: {error}")))?;
        Ok(by_frame.reversed_axes().as_standard_layout().into_owned())
    }

    /// The values frame after frame as a real source (`frames × bins`).
    pub fn as_source(&self) -> SpectrogramValues {
        SpectrogramValues {
            spectrogram: self.clone(),
        }
    }

    /// Hz between bins.
    pub fn frequency_step(&self) -> f64 {
        self.data
            .frequencies
            .get(1)
            .copied()
            .unwrap_or(self.data.sample_rate)
    }

    /// Seconds between frames.
    pub fn time_step(&self) -> f64 {
        (self.data.nperseg - self.data.noverlap) as f64 / self.data.sample_rate
    }

    /// The frequency and time of the largest value.
    pub fn peak(&self) -> (f64, f64) {
        let maximum = self.data.maximum;
        (
            self.data.frequencies[maximum.bin],
            self.data.times[maximum.frame as usize],
        )
    }

    /// One line for the notebook.
    pub fn summary(&self) -> String {
        let (unit, time_unit) = if self.data.rate_known {
            ("Hz", "s")
        } else {
            ("cycles/sample", "samples")
        };
        let (peak_frequency, peak_time) = self.peak();
        let place = if self.is_out_of_core() {
            ", out of core"
        } else {
            ""
        };
        format!(
            "spectrogram: {} frequencies × {} frames, 0 to {} {unit} in steps of {} {unit}, \
             a frame every {} {time_unit} (nperseg {}, noverlap {}), peak {} {unit} at {} {time_unit}{place}",
            self.bins(),
            self.frames(),
            format_number(self.data.frequencies.last().copied().unwrap_or(0.0)),
            format_number(self.frequency_step()),
            format_number(self.time_step()),
            self.data.nperseg,
            self.data.noverlap,
            format_number(peak_frequency),
            format_number(peak_time),
        )
    }

    /// The values as a Data Array: `<f8`, shape `[frames, bins]` (frame
    /// after frame: the transpose of scipy's layout), with both steps.
    pub fn to_data_array(&self) -> DataArrayExport {
        DataArrayExport {
            dtype: Dtype::Float64,
            shape: vec![self.frames(), self.bins() as u64],
            axes: vec!["time", "frequency"],
            frequency_step: Some(self.frequency_step()),
            time_step: Some(self.time_step()),
            values: ExportValues::Real(Arc::new(self.as_source())),
        }
    }

    fn read_flat(&self, start: u64, out: &mut [f64]) -> Result<(), SpectralError> {
        check_range(start, out.len(), self.frames() * self.bins() as u64)?;
        match &self.data.storage {
            FrameStorage::Memory(values) => {
                out.copy_from_slice(&values[start as usize..start as usize + out.len()]);
                Ok(())
            }
            FrameStorage::Scratch(file) => file.read_f64s(start, out),
        }
    }
}

impl std::fmt::Display for Spectrogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.summary())
    }
}

/// A spectrogram's values frame after frame, as a lazy real source.
#[derive(Debug, Clone)]
pub struct SpectrogramValues {
    spectrogram: Spectrogram,
}

impl Source for SpectrogramValues {
    fn info(&self) -> SourceInfo {
        SourceInfo {
            len: self.spectrogram.frames() * self.spectrogram.bins() as u64,
            sample_rate: None,
            units: None,
        }
    }

    fn read_into(&self, start: u64, buffer: &mut [f64]) -> Result<(), SignalError> {
        self.spectrogram
            .read_flat(start, buffer)
            .map_err(|error| match error {
                SpectralError::Signal(inner) => inner,
                other => SignalError::read(other),
            })
    }
}

/// The spectrogram of a real signal, as `scipy.signal.spectrogram(x, fs,
/// window, nperseg, noverlap, nfft, detrend, True, scaling, mode="psd")`.
///
/// # Errors
/// Bad options (naming the value and what would work), a read error, a
/// scratch-file error, or `Cancelled` (the scratch file is removed).
pub fn spectrogram(
    source: &dyn Source,
    options: &SpectrogramOptions,
    progress: &dyn Progress,
) -> Result<Spectrogram, SpectralError> {
    let plan = SegmentPlan::resolve(&segment_request(options), source.len())?;
    let (sample_rate, rate_known) = resolve_rate(options.sample_rate, &source.info())?;
    let chunk_len = checked_chunk_len(options.chunk_len)?;
    let scale = options.scaling.factor(&plan, sample_rate);
    let bins = plan.bins();

    let mut sink = FrameSink::new(&plan, options)?;
    let mut frame = vec![0.0; bins];
    for_each_periodogram(source, &plan, chunk_len, progress, |index, power| {
        for (bin, (out, value)) in frame.iter_mut().zip(power).enumerate() {
            let scaled = value * scale;
            *out = if plan.doubled(bin) {
                scaled * 2.0
            } else {
                scaled
            };
        }
        sink.push(index, &frame)
    })?;
    let (storage, maximum) = sink.finish()?;

    let hop = plan.hop() as f64;
    let times = (0..plan.count)
        .map(|i| (plan.nperseg as f64 / 2.0 + i as f64 * hop) / sample_rate)
        .collect();
    let data = SpectrogramData {
        frequencies: rfft_frequencies(plan.nfft, sample_rate),
        times,
        storage,
        maximum,
        nperseg: plan.nperseg,
        noverlap: plan.noverlap,
        sample_rate,
        rate_known,
    };
    Ok(Spectrogram {
        data: Arc::new(data),
    })
}

fn segment_request(options: &SpectrogramOptions) -> SegmentRequest {
    SegmentRequest {
        nperseg: options.nperseg,
        noverlap: options.noverlap,
        nfft: options.nfft,
        window: options.window,
        detrend: options.detrend,
        default_overlap: |nperseg| nperseg / 8,
    }
}

/// Collects frames in memory, or buffers them into a scratch file.
struct FrameSink {
    storage: FrameStorage,
    pending: Vec<f64>,
    written: u64,
    batch: usize,
    maximum: Maximum,
}

impl FrameSink {
    fn new(plan: &SegmentPlan, options: &SpectrogramOptions) -> Result<Self, SpectralError> {
        let bins = plan.bins();
        let bytes = plan.count * bins as u64 * 8;
        let storage = if bytes <= options.budget.bytes() / 2 {
            FrameStorage::Memory(Vec::with_capacity(plan.count as usize * bins))
        } else {
            let dir = options
                .scratch_dir
                .clone()
                .unwrap_or_else(std::env::temp_dir);
            tracing::debug!(bytes, "spectrogram frames spill to a scratch file");
            FrameStorage::Scratch(ScratchFile::create(&dir, bytes)?)
        };
        let batch_bytes = (options.budget.bytes() / 8).min(FRAMES_PER_WRITE_BYTES as u64);
        Ok(Self {
            storage,
            pending: Vec::new(),
            written: 0,
            batch: ((batch_bytes / (bins as u64 * 8)) as usize).max(1),
            maximum: Maximum {
                bin: 0,
                frame: 0,
                value: f64::NEG_INFINITY,
            },
        })
    }

    fn push(&mut self, index: u64, frame: &[f64]) -> Result<(), SpectralError> {
        for (bin, &value) in frame.iter().enumerate() {
            if value > self.maximum.value {
                self.maximum = Maximum {
                    bin,
                    frame: index,
                    value,
                };
            }
        }
        match &mut self.storage {
            FrameStorage::Memory(values) => values.extend_from_slice(frame),
            FrameStorage::Scratch(_) => {
                self.pending.extend_from_slice(frame);
                if self.pending.len() >= self.batch * frame.len() {
                    self.flush()?;
                }
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SpectralError> {
        if let FrameStorage::Scratch(file) = &self.storage
            && !self.pending.is_empty()
        {
            file.write_f64s(self.written, &self.pending)?;
            self.written += self.pending.len() as u64;
            self.pending.clear();
        }
        Ok(())
    }

    fn finish(mut self) -> Result<(FrameStorage, Maximum), SpectralError> {
        self.flush()?;
        if self.maximum.value == f64::NEG_INFINITY {
            self.maximum.value = 0.0;
        }
        Ok((self.storage, self.maximum))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use signal::{RealVector, Silent};

    fn tone(len: usize, rate: f64, frequency: f64) -> RealVector {
        let values = (0..len)
            .map(|i| (2.0 * std::f64::consts::PI * frequency * i as f64 / rate).sin())
            .collect();
        RealVector::new(values).with_sample_rate(rate)
    }

    #[test]
    fn defaults_are_scipys_not_welchs() {
        let result = spectrogram(
            &tone(2000, 1000.0, 125.0),
            &SpectrogramOptions::default(),
            &Silent,
        )
        .unwrap();
        assert_eq!(result.bins(), 129);
        // hop 256 - 32 = 224: (2000 - 32) / 224 frames
        assert_eq!(result.frames(), 8);
        assert_eq!(result.times()[0], 0.128);
        assert_eq!(result.peak().0, 125.0);
    }

    #[test]
    fn spilled_frames_equal_frames_in_memory() {
        let source = tone(50_000, 8000.0, 1000.0);
        let dir = tempfile::tempdir().unwrap();
        let spilled_options = SpectrogramOptions {
            budget: MemoryBudget::from_bytes(16 << 10),
            scratch_dir: Some(dir.path().to_path_buf()),
            ..SpectrogramOptions::default()
        };

        let in_memory = spectrogram(&source, &SpectrogramOptions::default(), &Silent).unwrap();
        let spilled = spectrogram(&source, &spilled_options, &Silent).unwrap();

        assert!(spilled.is_out_of_core() && !in_memory.is_out_of_core());
        assert_eq!(
            spilled.values(u64::MAX).unwrap(),
            in_memory.values(u64::MAX).unwrap()
        );
        drop(spilled);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn values_are_frequency_by_time_like_scipy() {
        let result = spectrogram(
            &tone(4000, 1000.0, 250.0),
            &SpectrogramOptions::default(),
            &Silent,
        )
        .unwrap();
        let values = result.values(1 << 20).unwrap();
        assert_eq!(values.dim(), (129, result.frames() as usize));
        assert_eq!(values[[5, 2]], result.frame(2).unwrap()[5]);
        assert!(result.values(10).is_err());
    }

    #[test]
    fn export_is_frame_major_with_both_steps() {
        let result = spectrogram(
            &tone(4000, 1000.0, 250.0),
            &SpectrogramOptions::default(),
            &Silent,
        )
        .unwrap();
        let export = result.to_data_array();
        assert_eq!(export.shape, vec![result.frames(), 129]);
        assert_eq!(export.time_step, Some(0.224));
        let bytes = export.to_bytes(u64::MAX, &Silent).unwrap();
        let first = f64::from_le_bytes(bytes[8..16].try_into().unwrap());
        assert_eq!(first, result.frame(0).unwrap()[1]);
    }
}
