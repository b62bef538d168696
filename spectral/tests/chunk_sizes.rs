//! Property: Welch (mean and median) and the spectrogram give
//! bit-identical results whatever the read-chunk size, from one sample to
//! more than the whole signal.

mod support;

use proptest::prelude::*;
use signal::{RealVector, Silent};
use spectral::{Average, Detrend, SpectrogramOptions, WelchOptions, Window, spectrogram, welch};
use support::Seeded;

const LEN: usize = 3000;

fn detrend_of(index: usize) -> Detrend {
    [Detrend::Constant, Detrend::Linear, Detrend::None][index % 3]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn welch_does_not_depend_on_the_chunk_size(
        seed in 0u64..1000,
        chunk_len in 1usize..4000,
        nperseg in 16usize..300,
        overlap_fraction in 0.0f64..1.0,
        detrend in 0usize..3,
        median in any::<bool>(),
    ) {
        let source = RealVector::new(Seeded::new(seed).signal(LEN));
        let noverlap = ((nperseg - 1) as f64 * overlap_fraction) as usize;
        let average = if median { Average::Median } else { Average::Mean };
        let options = WelchOptions {
            nperseg: Some(nperseg),
            noverlap: Some(noverlap),
            detrend: detrend_of(detrend),
            average,
            chunk_len: LEN,
            ..WelchOptions::default()
        };
        let chunked = WelchOptions { chunk_len, ..options.clone() };

        let whole = welch(&source, &options, &Silent).unwrap();
        let streamed = welch(&source, &chunked, &Silent).unwrap();

        prop_assert_eq!(whole.values(), streamed.values());
    }

    #[test]
    fn spectrogram_does_not_depend_on_the_chunk_size(
        seed in 0u64..1000,
        chunk_len in 1usize..4000,
        nperseg in 16usize..300,
        overlap_fraction in 0.0f64..1.0,
        alpha in 0.0f64..1.0,
    ) {
        let source = RealVector::new(Seeded::new(seed).signal(LEN));
        let noverlap = ((nperseg - 1) as f64 * overlap_fraction) as usize;
        let options = SpectrogramOptions {
            window: Window::Tukey(alpha),
            nperseg: Some(nperseg),
            noverlap: Some(noverlap),
            chunk_len: LEN,
            ..SpectrogramOptions::default()
        };
        let chunked = SpectrogramOptions { chunk_len, ..options.clone() };

        let whole = spectrogram(&source, &options, &Silent).unwrap();
        let streamed = spectrogram(&source, &chunked, &Silent).unwrap();

        prop_assert_eq!(whole.values(u64::MAX).unwrap(), streamed.values(u64::MAX).unwrap());
    }
}
