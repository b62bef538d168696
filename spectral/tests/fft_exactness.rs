//! rfft and fft against a naive DFT for small lengths (primes, odd,
//! even), and the out-of-core four-step against the in-memory transform
//! under budgets small enough to force it.

mod support;

use num_complex::Complex64;
use signal::{ComplexVector, RealVector, Silent};
use spectral::{AsComplex, FftOptions, MemoryBudget, SpectralError, fft, rfft};
use support::{Recorder, Seeded, assert_close_to_largest, naive_dft};

fn real_of(values: &[f64]) -> Vec<Complex64> {
    values.iter().map(|&x| Complex64::new(x, 0.0)).collect()
}

fn tiny_budget(dir: &std::path::Path, bytes: u64) -> FftOptions {
    FftOptions {
        budget: MemoryBudget::from_bytes(bytes),
        scratch_dir: Some(dir.to_path_buf()),
        ..FftOptions::default()
    }
}

#[test]
fn rfft_matches_the_naive_dft_for_small_lengths() {
    let mut random = Seeded::new(7);
    for len in [
        1, 2, 3, 4, 5, 7, 8, 13, 16, 31, 64, 97, 100, 127, 210, 256, 331, 1000,
    ] {
        let values = random.signal(len);
        let expected = naive_dft(&real_of(&values));

        let spectrum = rfft(&RealVector::new(values), &FftOptions::default(), &Silent).unwrap();

        let got = spectrum.to_vec(u64::MAX).unwrap();
        assert_close_to_largest(
            &got,
            &expected[..len / 2 + 1],
            1e-12,
            &format!("rfft {len}"),
        );
    }
}

#[test]
fn fft_matches_the_naive_dft_for_small_lengths() {
    let mut random = Seeded::new(11);
    for len in [1, 2, 3, 6, 11, 17, 60, 101, 128, 243, 499] {
        let values = random.complex_signal(len);
        let expected = naive_dft(&values);

        let spectrum = fft(&ComplexVector::new(values), &FftOptions::default(), &Silent).unwrap();

        assert_close_to_largest(
            &spectrum.to_vec(u64::MAX).unwrap(),
            &expected,
            1e-12,
            &format!("fft {len}"),
        );
    }
}

#[test]
fn fft_of_a_real_signal_is_hermitian_and_extends_rfft() {
    let values = Seeded::new(3).signal(99);
    let full = fft(
        &AsComplex(RealVector::new(values.clone())),
        &FftOptions::default(),
        &Silent,
    )
    .unwrap();
    let half = rfft(&RealVector::new(values), &FftOptions::default(), &Silent).unwrap();

    let full = full.to_vec(1000).unwrap();
    assert_close_to_largest(&full[..50], &half.to_vec(1000).unwrap(), 1e-13, "halves");
    for k in 1..99 {
        assert!((full[k] - full[99 - k].conj()).norm() < 1e-10, "bin {k}");
    }
}

/// In memory with the default budget, then out of core with `budget`
/// bytes; the two must agree and the scratch directory end empty.
fn out_of_core_equals_in_memory(len: usize, budget: u64) {
    let values = Seeded::new(len as u64).signal(len);
    let source = RealVector::new(values);
    let dir = tempfile::tempdir().unwrap();

    let expected = rfft(&source, &FftOptions::default(), &Silent).unwrap();
    let spectrum = rfft(&source, &tiny_budget(dir.path(), budget), &Silent).unwrap();

    assert!(!expected.is_out_of_core());
    assert!(
        spectrum.is_out_of_core(),
        "length {len} should not fit {budget} bytes"
    );
    let got = spectrum.to_vec(u64::MAX).unwrap();
    assert_close_to_largest(
        &got,
        &expected.to_vec(u64::MAX).unwrap(),
        1e-12,
        &format!("rfft {len}"),
    );

    drop(spectrum);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "scratch files left behind"
    );
}

#[test]
fn out_of_core_rfft_of_a_power_of_two_equals_in_memory() {
    out_of_core_equals_in_memory(1 << 16, 64 << 10);
}

#[test]
fn out_of_core_rfft_of_an_odd_length_with_odd_factors_equals_in_memory() {
    // 3^5 · 5^3: runs as a complex transform of 135 × 225
    out_of_core_equals_in_memory(30375, 64 << 10);
}

#[test]
fn out_of_core_rfft_of_an_even_length_with_odd_factors_equals_in_memory() {
    // 2·3·5·7·11·13: packed into 15015 = 105 × 143
    out_of_core_equals_in_memory(30030, 64 << 10);
}

#[test]
fn out_of_core_rfft_with_a_non_square_split_equals_in_memory() {
    // 2^17 packed into 2^16 = 256 × 256 with slabs and groups of one
    out_of_core_equals_in_memory(1 << 17, 70 << 10);
    // 2 · 3^7 · 7: packed into 15309 = 81 × 189
    out_of_core_equals_in_memory(30618, 64 << 10);
    // 2 · 3^9: packed into 81 × 243, one row and its mirror per group
    out_of_core_equals_in_memory(39366, 62_300);
}

#[test]
fn out_of_core_fft_of_a_complex_signal_equals_in_memory() {
    let values = Seeded::new(5).complex_signal(20000);
    let source = ComplexVector::new(values);
    let dir = tempfile::tempdir().unwrap();

    let expected = fft(&source, &FftOptions::default(), &Silent).unwrap();
    let spectrum = fft(&source, &tiny_budget(dir.path(), 64 << 10), &Silent).unwrap();

    assert!(spectrum.is_out_of_core());
    let got = spectrum.to_vec(u64::MAX).unwrap();
    assert_close_to_largest(
        &got,
        &expected.to_vec(u64::MAX).unwrap(),
        1e-12,
        "fft 20000",
    );
}

#[test]
fn out_of_core_padding_and_truncation_follow_n() {
    let values = Seeded::new(9).signal(40000);
    let source = RealVector::new(values);
    let dir = tempfile::tempdir().unwrap();
    for n in [30000u64, 65536] {
        let in_memory = FftOptions {
            n: Some(n),
            ..FftOptions::default()
        };
        let out_of_core = FftOptions {
            n: Some(n),
            ..tiny_budget(dir.path(), 64 << 10)
        };

        let expected = rfft(&source, &in_memory, &Silent).unwrap();
        let spectrum = rfft(&source, &out_of_core, &Silent).unwrap();

        assert!(spectrum.is_out_of_core());
        assert_eq!(spectrum.len(), n / 2 + 1);
        let got = spectrum.to_vec(u64::MAX).unwrap();
        assert_close_to_largest(
            &got,
            &expected.to_vec(u64::MAX).unwrap(),
            1e-12,
            &format!("n {n}"),
        );
    }
}

#[test]
fn a_large_prime_factor_gets_a_clear_error_and_the_suggested_n_works() {
    // 2 · 99991 packs into the prime 99991
    let values = Seeded::new(13).signal(2 * 99991);
    let source = RealVector::new(values);
    let dir = tempfile::tempdir().unwrap();
    let options = tiny_budget(dir.path(), 256 << 10);

    let error = rfft(&source, &options, &Silent).unwrap_err();

    assert!(
        matches!(error, SpectralError::Unsplittable { .. }),
        "{error}"
    );
    let message = error.to_string();
    assert!(
        message.contains("use n: 262144 to zero-pad it"),
        "{message}"
    );

    let padded = FftOptions {
        n: Some(262144),
        ..options
    };
    let spectrum = rfft(&source, &padded, &Silent).unwrap();
    assert!(spectrum.is_out_of_core());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn out_of_core_reports_its_passes_and_progress() {
    let source = RealVector::new(Seeded::new(1).signal(1 << 16));
    let dir = tempfile::tempdir().unwrap();
    let recorder = Recorder::new(None);

    rfft(&source, &tiny_budget(dir.path(), 64 << 10), &recorder).unwrap();

    assert_eq!(*recorder.phases.lock().unwrap(), vec!["columns", "rows"]);
    let fractions = recorder.fractions.lock().unwrap();
    assert!(
        fractions.windows(2).all(|pair| pair[0] <= pair[1]),
        "progress went backwards"
    );
    assert_eq!(*fractions.last().unwrap(), 1.0);
}

#[test]
fn a_cancelled_out_of_core_transform_stops_and_removes_its_scratch_files() {
    let source = RealVector::new(Seeded::new(2).signal(1 << 16));
    let dir = tempfile::tempdir().unwrap();
    for cancel_after in [0, 3, 20] {
        let recorder = Recorder::new(Some(cancel_after));

        let error = rfft(&source, &tiny_budget(dir.path(), 64 << 10), &recorder).unwrap_err();

        assert_eq!(error.to_string(), "interrupted");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "after {cancel_after}"
        );
    }
}

#[test]
fn an_out_of_core_spectrum_exports_its_bins_as_complex128_bytes() {
    let source = RealVector::new(Seeded::new(4).signal(1 << 16)).with_sample_rate(48000.0);
    let dir = tempfile::tempdir().unwrap();
    let spectrum = rfft(&source, &tiny_budget(dir.path(), 64 << 10), &Silent).unwrap();
    let export = spectrum.to_data_array();

    let mut bytes = Vec::new();
    export
        .for_each_chunk(4096, &Silent, |chunk| {
            assert!(chunk.len() <= 4096);
            bytes.extend_from_slice(chunk);
            Ok(())
        })
        .unwrap();

    assert_eq!(
        (export.dtype.as_str(), export.shape.clone()),
        ("<c16", vec![(1 << 15) + 1])
    );
    assert_eq!(export.frequency_step, Some(48000.0 / 65536.0));
    let bins = spectrum.to_vec(u64::MAX).unwrap();
    let expected: Vec<u8> = bins
        .iter()
        .flat_map(|z| [z.re.to_le_bytes(), z.im.to_le_bytes()])
        .flatten()
        .collect();
    assert_eq!(bytes, expected);
    assert!(
        spectrum.summary().contains("out of core"),
        "{}",
        spectrum.summary()
    );
}
