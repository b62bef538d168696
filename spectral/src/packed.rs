//! The in-memory real FFT of even length n through a complex FFT of
//! n/2 points, in place in the result buffer: samples are packed in
//! pairs, z[m] = x[2m] + i·x[2m+1], straight from the source, transformed
//! by the cached rustfft plan, then unpacked bin pair by bin pair.
//!
//! Holding only the result (n/2 + 1 complex values) halves the memory
//! and the page faults of a separate real input buffer. Odd lengths go
//! through realfft instead (see `fft.rs`).

use num_complex::Complex64;
use signal::{Progress, Source};

use crate::SpectralError;
use crate::four_step::Twiddles;
use crate::plan::{Direction, complex_plan, with_scratch};

/// Samples read per call to the source while packing.
const READ_LEN: usize = 1 << 12;

/// `numpy.fft.rfft(x, n)` for even `n`: the `n / 2 + 1` bins.
///
/// # Errors
/// A read error, or `Cancelled`.
///
/// # Panics
/// When `n` is odd or 0.
pub(crate) fn rfft_even(
    source: &dyn Source,
    n: usize,
    progress: &dyn Progress,
) -> Result<Vec<Complex64>, SpectralError> {
    assert!(
        n > 0 && n.is_multiple_of(2),
        "packed rfft needs an even length, got {n}"
    );
    let half = n / 2;
    let mut bins = Vec::with_capacity(half + 1);

    progress.phase("reading");
    pack(source, n, &mut bins, progress)?;
    bins.push(Complex64::default());

    progress.phase("transform");
    let plan = complex_plan(half, Direction::Forward);
    with_scratch(plan.get_inplace_scratch_len(), |scratch| {
        plan.process_with_scratch(&mut bins[..half], scratch);
    });

    unpack_in_place(&mut bins, n as u64);
    Ok(bins)
}

/// Appends z[m] = x[2m] + i·x[2m+1] for the first `n` samples (zeros
/// past the source's end) to `packed`.
fn pack(
    source: &dyn Source,
    n: usize,
    packed: &mut Vec<Complex64>,
    progress: &dyn Progress,
) -> Result<(), SpectralError> {
    let available = (source.len() as usize).min(n);
    let mut line = vec![0.0; READ_LEN.min(n)];
    let mut start = 0;

    while start < n {
        progress.check()?;
        let count = READ_LEN.min(n - start);
        let real = count.min(available.saturating_sub(start));
        if real > 0 {
            source.read_into(start as u64, &mut line[..real])?;
        }
        line[real..count].fill(0.0);

        let pairs = line[..count].chunks_exact(2);
        packed.extend(pairs.map(|pair| Complex64::new(pair[0], pair[1])));
        start += count;
        progress.advance(start as u64, n as u64);
    }
    Ok(())
}

/// From Z (the n/2-point transform, in `bins[..n/2]`) to the n/2 + 1 bins
/// of x: X[k] = E[k] + ω_n^k·O[k] and X[M−k] = conj(E[k] − ω_n^k·O[k]),
/// with E[k] = (Z[k] + conj Z[M−k]) / 2, O[k] = (Z[k] − conj Z[M−k]) / 2i.
fn unpack_in_place(bins: &mut [Complex64], n: u64) {
    let half = bins.len() - 1;
    let twiddles = Twiddles::new(n);

    let first = bins[0];
    bins[0] = Complex64::new(first.re + first.im, 0.0);
    bins[half] = Complex64::new(first.re - first.im, 0.0);

    for k in 1..=half / 2 {
        let (z, partner) = (bins[k], bins[half - k].conj());
        let even = (z + partner) * 0.5;
        let odd = (z - partner) * Complex64::new(0.0, -0.5);
        let turned = twiddles.get(k as u64) * odd;
        bins[k] = even + turned;
        if half - k != k {
            bins[half - k] = (even - turned).conj();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use signal::{RealVector, Silent};

    fn naive_rfft(x: &[f64]) -> Vec<Complex64> {
        let n = x.len();
        (0..=n / 2)
            .map(|k| {
                x.iter()
                    .enumerate()
                    .fold(Complex64::default(), |sum, (j, v)| {
                        let angle = -2.0 * std::f64::consts::PI * ((j * k) % n) as f64 / n as f64;
                        sum + Complex64::new(angle.cos(), angle.sin()) * v
                    })
            })
            .collect()
    }

    #[test]
    fn packed_transform_matches_the_definition() {
        for n in [2, 4, 6, 10, 12, 64, 90, 256] {
            let x: Vec<f64> = (0..n).map(|i| ((i * 37 + 11) % 17) as f64 - 8.0).collect();
            let got = rfft_even(&RealVector::new(x.clone()), n, &Silent).unwrap();
            let expected = naive_rfft(&x);
            for (k, (a, b)) in got.iter().zip(&expected).enumerate() {
                assert!((a - b).norm() < 1e-11, "n {n} bin {k}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn packing_pads_past_the_end_of_the_source() {
        let got = rfft_even(&RealVector::new(vec![1.0, 2.0, 3.0]), 6, &Silent).unwrap();
        let expected = naive_rfft(&[1.0, 2.0, 3.0, 0.0, 0.0, 0.0]);
        for (a, b) in got.iter().zip(&expected) {
            assert!((a - b).norm() < 1e-12, "{a} vs {b}");
        }
    }
}
