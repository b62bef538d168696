//! Spectral analysis of signals larger than memory: full-length FFTs
//! (`rfft`, `fft`) that run in memory when they fit the budget and as a
//! four-step transform over memory-mapped scratch files when they do not,
//! and streaming Welch and spectrogram estimators that agree with scipy.
//!
//! Samples come from the `signal` crate's `Source` / `ComplexSource`;
//! results are typed values (`Spectrum`, `Psd`, `Spectrogram`) that read
//! back as sources, summarise themselves in one line and export as Data
//! Array bytes. Long work reports through `signal::Progress` and stops
//! when it is cancelled, removing its scratch files. This crate knows
//! nothing of HTTP or Jupyter: the kernel binds it to the notebook.

mod budget;
mod detrend;
mod error;
mod export;
mod fft;
mod four_step;
mod packed;
mod plan;
mod scratch;
mod segments;
mod spectrogram;
mod spectrum;
mod welch;
mod window;

pub use budget::{MemoryBudget, human_bytes};
pub use detrend::Detrend;
pub use error::SpectralError;
pub use export::{DataArrayExport, Dtype};
pub use fft::{AsComplex, FftOptions, MAX_IN_MEMORY_LEN, fft, fits_in_memory, prepare_rfft, rfft};
pub use four_step::FourStepShape;
pub use plan::{
    Direction, SCRATCH_CACHE_BYTES, complex_plan, real_forward_plan, real_inverse_plan,
    release_cached_scratch,
};
pub use segments::{DEFAULT_NPERSEG, MAX_SEGMENT_LEN};
pub use spectrogram::{Spectrogram, SpectrogramOptions, SpectrogramValues, spectrogram};
pub use spectrum::{FrequencyAxis, Peak, Spectrum, SpectrumKind, SpectrumValues, collect};
pub use welch::{Average, Psd, Scaling, WelchOptions, median_bias, welch, welch_complex};
pub use window::Window;
