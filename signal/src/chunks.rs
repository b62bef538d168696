//! Walking a source in bounded chunks, in order, with progress and
//! cancellation checked between chunks. Every streaming consumer (a
//! statistic, Welch, a plot's decimation) is built on these loops, so
//! memory is one chunk whatever the source's length.

use crate::{Complex64, ComplexSource, Progress, SignalError, Source};

/// Samples per chunk when the caller has no better idea: 1 Mi samples,
/// 8 MiB of f64.
pub const DEFAULT_CHUNK_LEN: usize = 1 << 20;

/// Calls `visit(offset, samples)` for consecutive chunks of at most
/// `chunk_len` samples covering the whole source, in order.
///
/// # Errors
/// The first error of a read or of `visit`, or [`SignalError::Cancelled`]
/// when `progress` asks to stop.
///
/// # Panics
/// When `chunk_len` is 0.
pub fn for_each_chunk(
    source: &dyn Source,
    chunk_len: usize,
    progress: &dyn Progress,
    mut visit: impl FnMut(u64, &[f64]) -> Result<(), SignalError>,
) -> Result<(), SignalError> {
    assert!(chunk_len > 0, "chunk length must be positive, got 0");
    let len = source.len();
    let mut buffer = vec![0.0; chunk_len.min(len as usize)];
    let mut offset = 0;

    while offset < len {
        progress.check()?;
        let count = chunk_len.min((len - offset) as usize);

        source.read_into(offset, &mut buffer[..count])?;
        visit(offset, &buffer[..count])?;

        offset += count as u64;
        progress.advance(offset, len);
    }
    Ok(())
}

/// As [`for_each_chunk`], for complex sources.
///
/// # Errors
/// As [`for_each_chunk`].
///
/// # Panics
/// When `chunk_len` is 0.
pub fn for_each_complex_chunk(
    source: &dyn ComplexSource,
    chunk_len: usize,
    progress: &dyn Progress,
    mut visit: impl FnMut(u64, &[Complex64]) -> Result<(), SignalError>,
) -> Result<(), SignalError> {
    assert!(chunk_len > 0, "chunk length must be positive, got 0");
    let len = source.len();
    let mut buffer = vec![Complex64::default(); chunk_len.min(len as usize)];
    let mut offset = 0;

    while offset < len {
        progress.check()?;
        let count = chunk_len.min((len - offset) as usize);

        source.read_into(offset, &mut buffer[..count])?;
        visit(offset, &buffer[..count])?;

        offset += count as u64;
        progress.advance(offset, len);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CancelFlag, RealVector, Silent};

    #[test]
    fn chunks_cover_the_source_in_order() {
        let vector = RealVector::new((0..10).map(f64::from).collect());
        let mut seen = Vec::new();

        for_each_chunk(&vector, 3, &Silent, |offset, samples| {
            assert_eq!(offset as usize, seen.len());
            seen.extend_from_slice(samples);
            Ok(())
        })
        .unwrap();

        assert_eq!(seen, vector.values);
    }

    #[test]
    fn a_cancelled_walk_stops_before_reading() {
        let vector = RealVector::new(vec![0.0; 10]);
        let flag = CancelFlag::new();
        flag.cancel();

        let result = for_each_chunk(&vector, 3, &flag, |_, _| panic!("read after cancel"));

        assert!(matches!(result, Err(SignalError::Cancelled)));
    }
}
