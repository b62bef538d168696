//! The process-wide plan cache: exactly one FFT plan per length and
//! direction, shared by every job (reference spectral-and-plotting.md §3:
//! planning a 2^24 transform costs 0.3 to 0.65 s, so it must not repeat).
//!
//! rustfft's and realfft's planners keep the plans they made; this module
//! holds one of each behind a lock, so a plan is made once per process and
//! handed out as an `Arc`.
//!
//! It also keeps, per thread, the scratch buffer of the last in-memory
//! transform (up to [`SCRATCH_CACHE_BYTES`]): allocating and faulting in a
//! fresh buffer costs as much as the transform itself, so repeated
//! transforms reuse it. [`release_cached_scratch`] gives it back.

use std::cell::RefCell;
use std::sync::{Arc, Mutex, OnceLock};

use num_complex::Complex64;

use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use rustfft::{Fft, FftPlanner};

/// Which way a complex transform goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// exp(-2πi·jk/n), numpy's `fft`.
    Forward,
    /// exp(+2πi·jk/n), unnormalised.
    Inverse,
}

struct Planners {
    complex: FftPlanner<f64>,
    real: RealFftPlanner<f64>,
}

fn planners() -> &'static Mutex<Planners> {
    static PLANNERS: OnceLock<Mutex<Planners>> = OnceLock::new();
    PLANNERS.get_or_init(|| {
        Mutex::new(Planners {
            complex: FftPlanner::new(),
            real: RealFftPlanner::new(),
        })
    })
}

fn lock() -> std::sync::MutexGuard<'static, Planners> {
    // A panic while planning leaves the planners usable: they only cache.
    planners()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The cached complex plan of length `len`.
pub fn complex_plan(len: usize, direction: Direction) -> Arc<dyn Fft<f64>> {
    let mut planners = lock();
    match direction {
        Direction::Forward => planners.complex.plan_fft_forward(len),
        Direction::Inverse => planners.complex.plan_fft_inverse(len),
    }
}

/// The cached real-to-complex plan of length `len`.
pub fn real_forward_plan(len: usize) -> Arc<dyn RealToComplex<f64>> {
    lock().real.plan_fft_forward(len)
}

/// The cached complex-to-real plan of length `len`.
pub fn real_inverse_plan(len: usize) -> Arc<dyn ComplexToReal<f64>> {
    lock().real.plan_fft_inverse(len)
}

/// The largest scratch buffer a thread keeps between transforms: 128 MiB,
/// what a 2^24-point real transform needs.
pub const SCRATCH_CACHE_BYTES: usize = 128 << 20;

thread_local! {
    static SCRATCH: RefCell<Vec<Complex64>> = const { RefCell::new(Vec::new()) };
}

/// Runs `work` with a scratch buffer of `len` values, reusing this
/// thread's cached one when it is small enough to keep.
pub(crate) fn with_scratch<R>(len: usize, work: impl FnOnce(&mut [Complex64]) -> R) -> R {
    if len * size_of::<Complex64>() > SCRATCH_CACHE_BYTES {
        return work(&mut vec![Complex64::default(); len]);
    }
    SCRATCH.with(|cell| {
        let mut buffer = cell.borrow_mut();
        if buffer.len() < len {
            buffer.resize(len, Complex64::default());
        }
        work(&mut buffer[..len])
    })
}

/// Frees this thread's cached scratch buffer.
pub fn release_cached_scratch() {
    SCRATCH.with(|cell| *cell.borrow_mut() = Vec::new());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_length_gets_the_same_plan() {
        let first = complex_plan(1000, Direction::Forward);
        let second = complex_plan(1000, Direction::Forward);
        let inverse = complex_plan(1000, Direction::Inverse);

        assert!(Arc::ptr_eq(&first, &second));
        assert!(!Arc::ptr_eq(&first, &inverse));
        assert!(Arc::ptr_eq(
            &real_forward_plan(998),
            &real_forward_plan(998)
        ));
    }
}
