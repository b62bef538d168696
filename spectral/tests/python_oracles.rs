//! numpy and scipy as oracles, computed at test time from the same input:
//! `numpy.fft.rfft` / `fft` over several lengths and `n`, and
//! `scipy.signal.welch` / `spectrogram` over a bounded grid of nperseg
//! (255, 256, 4096), noverlap (0, default, nperseg − 1), windows, detrend,
//! scaling and averaging.
//!
//! The grid crosses every (nperseg, noverlap) pair with every window and
//! cycles detrend, scaling and averaging through it, so each value of each
//! option meets each of the others' several times without the full
//! product's cost.

mod support;

use std::path::Path;

use num_complex::Complex64;
use signal::{ComplexVector, RealVector, Silent};
use spectral::{
    Average, Detrend, FftOptions, Scaling, SpectrogramOptions, WelchOptions, Window, fft, rfft,
    spectrogram, welch, welch_complex,
};
use support::{Seeded, assert_close_per_value, assert_close_to_largest};

/// Per-bin relative tolerance, and the floor relative to the largest value
/// for bins that detrending empties.
const RELATIVE: f64 = 1e-12;
const FLOOR: f64 = 1e-14;

/// Samples of the input most grid cases use.
const LONG: usize = 10_007;

const WINDOWS: [&str; 5] = ["hann", "hamming", "blackman", "tukey:0.25", "boxcar"];
const DETRENDS: [&str; 3] = ["constant", "linear", "none"];
const SCALINGS: [&str; 2] = ["density", "spectrum"];
const AVERAGES: [&str; 2] = ["mean", "median"];

/// One grid point: nperseg, noverlap (None = default), window, detrend,
/// scaling, average, and how many samples of the input it uses.
struct Case {
    len: usize,
    nperseg: usize,
    noverlap: Option<usize>,
    window: &'static str,
    detrend: &'static str,
    scaling: &'static str,
    average: &'static str,
}

fn grid() -> Vec<Case> {
    let mut cases = Vec::new();
    for nperseg in [255, 256, 4096] {
        for noverlap in [Some(0), None, Some(nperseg - 1)] {
            for window in WINDOWS {
                let i = cases.len();
                // a hop of one sample costs a transform per sample: keep
                // those signals short (still hundreds of segments)
                let len = if noverlap == Some(nperseg - 1) {
                    nperseg + 400 + i
                } else {
                    LONG
                };
                cases.push(Case {
                    len,
                    nperseg,
                    noverlap,
                    window,
                    detrend: DETRENDS[i % 3],
                    scaling: SCALINGS[(i / 3) % 2],
                    average: AVERAGES[(i / 2) % 2],
                });
            }
        }
    }
    cases
}

fn noverlap_word(noverlap: Option<usize>) -> String {
    noverlap.map_or("none".to_string(), |n| n.to_string())
}

#[test]
fn rfft_and_fft_agree_with_numpy() {
    let dir = tempfile::tempdir().unwrap();
    let mut random = Seeded::new(42);
    let real = random.signal(100_003);
    let complex = random.complex_signal(50_000);
    let input = dir.path().join("input.f64");

    // real cases: (length used, n)
    let real_cases: [(usize, Option<u64>); 9] = [
        (1, None),
        (2, None),
        (17, None),
        (1000, None),
        (4099, None),
        (65536, None),
        (100_003, None),
        (1000, Some(1536)),
        (100_003, Some(70_000)),
    ];
    support::write_f64s(&input, &real);
    let lines: Vec<String> = real_cases
        .iter()
        .map(|(len, n)| {
            format!(
                "@{len} rfft {}",
                n.map_or("none".to_string(), |n| n.to_string())
            )
        })
        .collect();
    let real_dir = dir.path().join("real");
    std::fs::create_dir(&real_dir).unwrap();
    support::run_oracle(&real_dir, &input, &lines);
    for (index, (len, n)) in real_cases.iter().enumerate() {
        let expected = support::read_complex(&real_dir.join(format!("out-{index}.f64")));

        let options = FftOptions {
            n: *n,
            ..FftOptions::default()
        };
        let got = rfft(&RealVector::new(real[..*len].to_vec()), &options, &Silent).unwrap();

        let what = format!("rfft of {len} samples, n {n:?}");
        assert_close_to_largest(&got.to_vec(u64::MAX).unwrap(), &expected, RELATIVE, &what);
    }

    support::write_complex(&input, &complex);
    let complex_cases = ["fft none", "fft 4097", "fft 65536"];
    let cases: Vec<String> = complex_cases.iter().map(|c| c.to_string()).collect();
    support::run_oracle(dir.path(), &input, &cases);
    for (index, n) in [None, Some(4097), Some(65536)].into_iter().enumerate() {
        let expected = support::read_complex(&dir.path().join(format!("out-{index}.f64")));
        let options = FftOptions {
            n,
            ..FftOptions::default()
        };
        let got = fft(&ComplexVector::new(complex.clone()), &options, &Silent).unwrap();
        let what = format!("fft n {n:?}");
        assert_close_to_largest(&got.to_vec(u64::MAX).unwrap(), &expected, RELATIVE, &what);
    }
}

fn write_signal(dir: &Path, len: usize, seed: u64) -> Vec<f64> {
    let values = Seeded::new(seed).signal(len);
    support::write_f64s(&dir.join("input.f64"), &values);
    values
}

#[test]
fn welch_agrees_with_scipy_over_the_grid() {
    let dir = tempfile::tempdir().unwrap();
    let rate = 8000.0;
    let values = write_signal(dir.path(), LONG, 99);
    let cases = grid();
    let lines: Vec<String> = cases
        .iter()
        .map(|c| {
            format!(
                "@{} welch {rate} {} {} {} {} {} {}",
                c.len,
                c.nperseg,
                noverlap_word(c.noverlap),
                c.window,
                c.detrend,
                c.scaling,
                c.average
            )
        })
        .collect();
    support::run_oracle(dir.path(), &dir.path().join("input.f64"), &lines);
    for (index, case) in cases.iter().enumerate() {
        let source = RealVector::new(values[..case.len].to_vec()).with_sample_rate(rate);
        let options = WelchOptions {
            window: Window::parse(case.window).unwrap(),
            nperseg: Some(case.nperseg),
            noverlap: case.noverlap,
            detrend: Detrend::parse(case.detrend).unwrap(),
            scaling: Scaling::parse(case.scaling).unwrap(),
            average: Average::parse(case.average).unwrap(),
            chunk_len: 1000 + 7 * index,
            ..WelchOptions::default()
        };
        let psd = welch(&source, &options, &Silent).unwrap();

        let expected = support::read_f64s(&dir.path().join(format!("out-{index}.f64")));
        let bins = psd.values().len();
        let what = format!("welch case {index}: {}", lines[index]);
        assert_eq!(expected.len(), 2 * bins, "{what}: bin count");
        assert_close_per_value(psd.frequencies(), &expected[..bins], 1e-15, 0.0, &what);
        assert_close_per_value(psd.values(), &expected[bins..], RELATIVE, FLOOR, &what);
    }
}

#[test]
fn welch_of_a_complex_signal_is_two_sided_like_scipy() {
    let dir = tempfile::tempdir().unwrap();
    let rate = 100.0;
    let values = Seeded::new(21).complex_signal(6001);
    support::write_complex(&dir.path().join("input.f64"), &values);
    let cases = [
        (255, "none", "hann", "constant", "density", "mean"),
        (256, "0", "hamming", "linear", "spectrum", "median"),
        (256, "255", "tukey:0.25", "none", "density", "median"),
        (255, "100", "boxcar", "linear", "density", "mean"),
    ];
    let lines: Vec<String> = cases
        .iter()
        .map(|(nperseg, noverlap, window, detrend, scaling, average)| {
            format!("cwelch {rate} {nperseg} {noverlap} {window} {detrend} {scaling} {average}")
        })
        .collect();
    support::run_oracle(dir.path(), &dir.path().join("input.f64"), &lines);
    let source = ComplexVector::new(values);

    for (index, (nperseg, noverlap, window, detrend, scaling, average)) in cases.iter().enumerate()
    {
        let options = WelchOptions {
            window: Window::parse(window).unwrap(),
            nperseg: Some(*nperseg),
            noverlap: noverlap.parse().ok(),
            detrend: Detrend::parse(detrend).unwrap(),
            scaling: Scaling::parse(scaling).unwrap(),
            average: Average::parse(average).unwrap(),
            sample_rate: Some(rate),
            chunk_len: 999,
            ..WelchOptions::default()
        };
        let psd = welch_complex(&source, &options, &Silent).unwrap();

        let expected = support::read_f64s(&dir.path().join(format!("out-{index}.f64")));
        let what = format!("complex welch case {index}: {}", lines[index]);
        assert_eq!(expected.len(), 2 * nperseg, "{what}: bin count");
        assert_close_per_value(psd.frequencies(), &expected[..*nperseg], 1e-15, 0.0, &what);
        assert_close_per_value(psd.values(), &expected[*nperseg..], RELATIVE, FLOOR, &what);
    }
}

#[test]
fn spectrogram_agrees_with_scipy_over_the_grid() {
    let dir = tempfile::tempdir().unwrap();
    let rate = 1000.0;
    let values = write_signal(dir.path(), LONG, 5);
    let cases = grid();
    let lines: Vec<String> = cases
        .iter()
        .map(|c| {
            format!(
                "@{} spectrogram {rate} {} {} {} {} {}",
                c.len,
                c.nperseg,
                noverlap_word(c.noverlap),
                c.window,
                c.detrend,
                c.scaling
            )
        })
        .collect();
    support::run_oracle(dir.path(), &dir.path().join("input.f64"), &lines);
    for (index, case) in cases.iter().enumerate() {
        let source = RealVector::new(values[..case.len].to_vec()).with_sample_rate(rate);
        let options = SpectrogramOptions {
            window: Window::parse(case.window).unwrap(),
            nperseg: Some(case.nperseg),
            noverlap: case.noverlap,
            detrend: Detrend::parse(case.detrend).unwrap(),
            scaling: Scaling::parse(case.scaling).unwrap(),
            chunk_len: 4096 - 3 * index,
            ..SpectrogramOptions::default()
        };
        let result = spectrogram(&source, &options, &Silent).unwrap();

        let expected = support::read_f64s(&dir.path().join(format!("out-{index}.f64")));
        let (bins, frames) = (result.bins(), result.frames() as usize);
        let what = format!("spectrogram case {index}: {}", lines[index]);
        assert_eq!(
            expected.len(),
            bins + frames + bins * frames,
            "{what}: sizes"
        );
        assert_close_per_value(result.frequencies(), &expected[..bins], 1e-15, 0.0, &what);
        assert_close_per_value(
            result.times(),
            &expected[bins..bins + frames],
            1e-15,
            0.0,
            &what,
        );
        let values = result.values(u64::MAX).unwrap();
        let got: Vec<f64> = values.iter().copied().collect();
        assert_close_per_value(&got, &expected[bins + frames..], RELATIVE, FLOOR, &what);
    }
}

#[test]
fn spectrogram_defaults_agree_with_scipy_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let values = write_signal(dir.path(), 5000, 17);
    let line = "spectrogram 1.0 256 none tukey:0.25 constant density".to_string();
    support::run_oracle(dir.path(), &dir.path().join("input.f64"), &[line]);

    let result = spectrogram(
        &RealVector::new(values),
        &SpectrogramOptions::default(),
        &Silent,
    )
    .unwrap();

    let expected = support::read_f64s(&dir.path().join("out-0.f64"));
    let (bins, frames) = (result.bins(), result.frames() as usize);
    assert_eq!(expected.len(), bins + frames + bins * frames);
    let got: Vec<f64> = result.values(u64::MAX).unwrap().iter().copied().collect();
    assert_close_per_value(
        &got,
        &expected[bins + frames..],
        RELATIVE,
        FLOOR,
        "defaults",
    );
}

#[test]
fn complex_samples_write_and_read_back() {
    // guards the oracle's own input format against a silent mismatch
    let dir = tempfile::tempdir().unwrap();
    let values = vec![Complex64::new(1.0, -2.0), Complex64::new(0.5, 3.0)];
    let path = dir.path().join("z.f64");
    support::write_complex(&path, &values);
    assert_eq!(support::read_complex(&path), values);
}
