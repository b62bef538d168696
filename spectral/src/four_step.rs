//! The out-of-core FFT: Bailey's four-step transform over memory-mapped
//! scratch files (reference spectral-and-plotting.md §1).
//!
//! A length L = N1·N2 is seen as N1 rows of N2 samples. Pass one reads
//! slabs of columns (one range read per row), does the N1-point column
//! FFTs, multiplies by the twiddles ω_L^(n2·k1) and writes each slab to
//! scratch file A, row by row. Pass two reads groups of rows back from A
//! (one contiguous range per slab), does the N2-point row FFTs and writes
//! the results to the output file in natural order, X[k1 + N1·k2]. The
//! input is read once; A is written once and read once.
//!
//! A real transform of even length packs pairs of samples into one
//! complex value and transforms half the length; its row pass loads each
//! group of rows with the mirror rows that hold their partners and unpacks
//! the real spectrum as it writes, so it too takes two passes. An odd real
//! length is transformed as complex.
//!
//! TODO: the passes run on one thread and do their I/O synchronously; a
//! 2^30-point real transform measured 71 s under a 1 GiB budget on a
//! loaded 2-core machine, against the 60 s goal of spectral-and-plotting.md
//! §1. Overlapping reads with FFTs (a reader thread per pass) is the next
//! step once the kernel's thread budget allows it. This module knows nothing of where the samples come from: it
//! takes a reader closure.

use std::f64::consts::PI;
use std::path::Path;

use num_complex::Complex64;
use signal::Progress;

use crate::budget::human_bytes;
use crate::plan::{Direction, complex_plan};
use crate::scratch::{COMPLEX_BYTES, ScratchFile};
use crate::{MemoryBudget, SpectralError};

/// How many bytes of budget per sample of the longer factor a split
/// needs: a row group of at least one row, its FFT scratch and plan, with
/// room to spare (four buffers of that row, twice).
const BYTES_PER_FACTOR_SAMPLE: u64 = 256;

/// The largest |X|² among the bins written, DC left out (as
/// `Spectrum::peak` does), so that a spectrum out of core knows its peak
/// without reading its file again.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Largest {
    pub bin: u64,
    pub power: f64,
}

impl Largest {
    fn new() -> Self {
        Self {
            bin: 0,
            power: f64::NEG_INFINITY,
        }
    }

    fn offer(&mut self, bin: u64, value: Complex64) {
        let power = value.norm_sqr();
        if bin > 0 && power > self.power {
            *self = Self { bin, power };
        }
    }

    /// (bin, magnitude), when any bin other than DC was offered.
    pub fn peak(self) -> Option<(u64, f64)> {
        (self.power >= 0.0).then(|| (self.bin, self.power.sqrt()))
    }
}

/// Rows or columns moved together in the transposes, so that each cache
/// line fetched is used whole.
const TILE: usize = 16;

/// Reads complex samples `start .. start + out.len()` of the transform's
/// input (already padded or truncated).
pub(crate) type ComplexReader<'a> =
    dyn FnMut(u64, &mut [Complex64]) -> Result<(), SpectralError> + 'a;

/// How a length is split and how much of it each pass holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FourStepShape {
    /// The transform length L = rows · columns.
    pub len: u64,
    /// N1: the column FFT length.
    pub rows: usize,
    /// N2: the row FFT length, at least `rows`.
    pub columns: usize,
    /// Columns per slab of pass one.
    pub slab_columns: usize,
    /// Rows per group of pass two.
    pub group_rows: usize,
}

impl FourStepShape {
    /// Splits `len` into the most nearly square factors and sizes the
    /// passes so that each holds about a quarter of `budget`.
    ///
    /// # Errors
    /// [`SpectralError::Unsplittable`] when the longer factor does not fit
    /// (a prime length, or one with a large prime factor), saying which
    /// padded length or which budget would work.
    pub fn plan(len: u64, budget: MemoryBudget) -> Result<Self, SpectralError> {
        let (rows, columns) = nearly_square_factors(len);
        if columns * BYTES_PER_FACTOR_SAMPLE > budget.bytes() {
            return Err(unsplittable(len, budget, columns, false));
        }
        let quarter = budget.bytes() / 4;
        let slab_columns = (quarter / (rows * COMPLEX_BYTES)).clamp(1, columns);
        let group_rows = (quarter / (columns * COMPLEX_BYTES)).clamp(1, rows);

        Ok(Self {
            len,
            rows: rows as usize,
            columns: columns as usize,
            slab_columns: slab_columns as usize,
            group_rows: group_rows as usize,
        })
    }
}

/// The shape of the complex transform behind a real one of length `len`:
/// half the length when even (pairs packed), the length itself when odd.
///
/// # Errors
/// As [`FourStepShape::plan`], worded for the real length.
pub fn plan_real(len: u64, budget: MemoryBudget) -> Result<FourStepShape, SpectralError> {
    let packed = len.is_multiple_of(2);
    let complex_len = if packed { len / 2 } else { len };
    FourStepShape::plan(complex_len, budget).map_err(|error| match error {
        SpectralError::Unsplittable { .. } => {
            let (_, columns) = nearly_square_factors(complex_len);
            unsplittable(len, budget, columns, packed)
        }
        other => other,
    })
}

/// (N1, N2) with N1 ≤ N2, N1 the largest divisor not above √len.
fn nearly_square_factors(len: u64) -> (u64, u64) {
    let mut rows = (len as f64).sqrt() as u64;
    while rows * rows > len {
        rows -= 1;
    }
    while rows > 1 && !len.is_multiple_of(rows) {
        rows -= 1;
    }
    let rows = rows.max(1);
    (rows, len / rows)
}

/// The error for a length whose longer factor (`columns`, of the packed
/// half when `packed`) does not fit, with what would.
fn unsplittable(len: u64, budget: MemoryBudget, columns: u64, packed: bool) -> SpectralError {
    let mebibyte = 1 << 20;
    let needed = (columns * BYTES_PER_FACTOR_SAMPLE).div_ceil(mebibyte) * mebibyte;
    let padded = len.next_power_of_two();
    let padded_complex = if packed { padded / 2 } else { padded };
    let (_, padded_columns) = nearly_square_factors(padded_complex);
    let mut suggestion = String::new();
    if padded != len && padded_columns * BYTES_PER_FACTOR_SAMPLE <= budget.bytes() {
        suggestion.push_str(&format!("use n: {padded} to zero-pad it, or "));
    }
    suggestion.push_str(&format!(
        "use a memory budget of at least {} (its longer factor is {columns})",
        human_bytes(needed)
    ));
    SpectralError::Unsplittable {
        len,
        budget: budget.bytes(),
        suggestion,
    }
}

/// Accurate twiddles ω_L^m = exp(-2πi·m/L) from two short tables:
/// ω^m = coarse[m / T] · fine[m % T], T a power of two near √L, so each
/// value carries two roundings whatever m.
pub(crate) struct Twiddles {
    shift: u32,
    mask: u64,
    coarse: Vec<Complex64>,
    fine: Vec<Complex64>,
}

impl Twiddles {
    pub(crate) fn new(len: u64) -> Self {
        let shift = (64 - len.leading_zeros()).div_ceil(2);
        let step = 1u64 << shift;
        let angle = |m: u64| {
            let (sin, cos) = (-2.0 * PI * m as f64 / len as f64).sin_cos();
            Complex64::new(cos, sin)
        };
        let fine = (0..step.min(len)).map(angle).collect();
        let coarse = (0..len.div_ceil(step)).map(|a| angle(a * step)).collect();
        Self {
            shift,
            mask: step - 1,
            coarse,
            fine,
        }
    }

    pub(crate) fn get(&self, m: u64) -> Complex64 {
        self.coarse[(m >> self.shift) as usize] * self.fine[(m & self.mask) as usize]
    }
}

/// Transforms the `shape.len` complex samples that `read` yields and
/// returns a scratch file holding the first `keep` outputs in natural
/// order, with the largest of them.
///
/// # Errors
/// A read error, a scratch-file error, or [`SpectralError::Signal`] with
/// `Cancelled` when `progress` asks to stop (scratch files are removed).
pub(crate) fn transform(
    shape: &FourStepShape,
    read: &mut ComplexReader<'_>,
    keep: u64,
    dir: &Path,
    progress: &dyn Progress,
    total_units: u64,
) -> Result<(ScratchFile, Largest), SpectralError> {
    tracing::debug!(?shape, keep, "four-step fft");
    let twiddles = Twiddles::new(shape.len);
    let columns = ScratchFile::create(dir, shape.len * COMPLEX_BYTES)?;

    progress.phase("columns");
    column_pass(shape, read, &columns, &twiddles, progress, total_units)?;

    progress.phase("rows");
    let output = ScratchFile::create(dir, keep * COMPLEX_BYTES)?;
    let largest = row_pass(shape, &columns, &output, keep, progress, total_units)?;
    Ok((output, largest))
}

/// The real transform of length 2M whose samples `read` yields packed in
/// pairs, z[m] = x[2m] + i·x[2m+1] (M = `shape.len`): the column pass of
/// the M-point complex transform, then a row pass that loads each group of
/// rows with its mirror rows and unpacks as it writes, so the M + 1 bins
/// of x come out of two passes, with the largest of them.
///
/// # Errors
/// As [`transform`].
pub(crate) fn transform_packed_real(
    shape: &FourStepShape,
    read: &mut ComplexReader<'_>,
    dir: &Path,
    progress: &dyn Progress,
    total_units: u64,
) -> Result<(ScratchFile, Largest), SpectralError> {
    tracing::debug!(?shape, "four-step real fft, packed");
    let twiddles = Twiddles::new(shape.len);
    let columns = ScratchFile::create(dir, shape.len * COMPLEX_BYTES)?;

    progress.phase("columns");
    column_pass(shape, read, &columns, &twiddles, progress, total_units)?;

    progress.phase("rows");
    let output = ScratchFile::create(dir, (shape.len + 1) * COMPLEX_BYTES)?;
    let largest = unpacking_row_pass(shape, &columns, &output, progress, total_units)?;
    Ok((output, largest))
}

/// Loaded rows of the twiddled matrix after their row FFTs: a group
/// `first ..` and the mirror rows `mirror_first ..` that hold its partners.
struct RowPair<'a> {
    first: usize,
    group: &'a [Complex64],
    mirror_first: usize,
    mirror: &'a [Complex64],
    row_len: usize,
}

impl RowPair<'_> {
    fn at(&self, row: usize, column: usize) -> Complex64 {
        let in_group = row >= self.first && (row - self.first) * self.row_len < self.group.len();
        if in_group {
            self.group[(row - self.first) * self.row_len + column]
        } else {
            self.mirror[(row - self.mirror_first) * self.row_len + column]
        }
    }
}

/// Pass two of a packed real transform: for rows k1 in 0 ..= N1/2 a group
/// at a time, with their mirror rows N1 − k1, the row FFTs, then
/// X[m] = E + ω_2M^m·O for every m in those rows, where
/// E = (Z[m] + conj Z[M−m]) / 2 and O = (Z[m] − conj Z[M−m]) / 2i, and
/// X[M] from Z[0]. Z[M−m] lies in row N1 − k1 (row 0 pairs with itself).
fn unpacking_row_pass(
    shape: &FourStepShape,
    columns: &ScratchFile,
    output: &ScratchFile,
    progress: &dyn Progress,
    total_units: u64,
) -> Result<Largest, SpectralError> {
    let (rows, row_len) = (shape.rows, shape.columns);
    let height_max = (shape.group_rows / 2).max(1);
    let fft = complex_plan(row_len, Direction::Forward);
    let unpack = Twiddles::new(2 * shape.len);
    let mut group = vec![Complex64::default(); height_max * row_len];
    let mut mirror = vec![Complex64::default(); height_max * row_len];
    let mut scratch = vec![Complex64::default(); fft.get_inplace_scratch_len()];
    let mut largest = Largest::new();
    let half = rows / 2;
    let mut processed = 0;

    for first in (0..=half).step_by(height_max) {
        let end = (first + height_max).min(half + 1);
        let mirror_first = (rows + 1 - end).max(half + 1);
        let mirror_end = (rows + 1 - first).min(rows);
        let mirror_height = mirror_end.saturating_sub(mirror_first);

        let group = &mut group[..(end - first) * row_len];
        read_row_group(shape, columns, first, end - first, group, progress)?;
        transform_in_batches(fft.as_ref(), group, &mut scratch, progress)?;
        let mirror = &mut mirror[..mirror_height * row_len];
        read_row_group(
            shape,
            columns,
            mirror_first,
            mirror_height,
            mirror,
            progress,
        )?;
        transform_in_batches(fft.as_ref(), mirror, &mut scratch, progress)?;

        let pair = RowPair {
            first,
            group,
            mirror_first,
            mirror,
            row_len,
        };
        let context = UnpackContext {
            shape,
            pair: &pair,
            twiddles: &unpack,
        };
        context.write_rows(output, first..end, &mut largest, progress)?;
        context.write_rows(
            output,
            mirror_first..mirror_first + mirror_height,
            &mut largest,
            progress,
        )?;
        if first == 0 {
            let zero = pair.at(0, 0);
            let nyquist = Complex64::new(zero.re - zero.im, 0.0);
            largest.offer(shape.len, nyquist);
            output.write_complex(shape.len, &[nyquist])?;
        }

        processed += end - first + mirror_height;
        progress.advance(shape.len + (processed * row_len) as u64, total_units);
    }
    Ok(largest)
}

/// What unpacking a loaded group needs.
struct UnpackContext<'a> {
    shape: &'a FourStepShape,
    pair: &'a RowPair<'a>,
    twiddles: &'a Twiddles,
}

impl UnpackContext<'_> {
    /// X[m] for the rows `rows` (contiguous) and every column, written as
    /// one run per column, a tile of columns at a time.
    fn write_rows(
        &self,
        output: &ScratchFile,
        rows: std::ops::Range<usize>,
        largest: &mut Largest,
        progress: &dyn Progress,
    ) -> Result<(), SpectralError> {
        let height = rows.len();
        if height == 0 {
            return Ok(());
        }
        let (n1, n2) = (self.shape.rows, self.shape.columns);
        let mut tile = vec![Complex64::default(); TILE * height];

        for c0 in (0..n2).step_by(TILE) {
            progress.check()?;
            let width = TILE.min(n2 - c0);
            for (i, row) in rows.clone().enumerate() {
                for c in 0..width {
                    tile[c * height + i] = self.bin(row, c0 + c);
                }
            }
            for c in 0..width {
                let first = ((c0 + c) * n1 + rows.start) as u64;
                let run = &tile[c * height..(c + 1) * height];
                for (i, value) in run.iter().enumerate() {
                    largest.offer(first + i as u64, *value);
                }
                output.write_complex(first, run)?;
            }
        }
        Ok(())
    }

    /// X[m] for m = row + N1·column.
    fn bin(&self, row: usize, column: usize) -> Complex64 {
        let (n1, n2) = (self.shape.rows, self.shape.columns);
        let (partner_row, partner_column) = if row == 0 {
            (0, (n2 - column) % n2)
        } else {
            (n1 - row, n2 - 1 - column)
        };
        let z = self.pair.at(row, column);
        let partner = self.pair.at(partner_row, partner_column).conj();

        let even = (z + partner) * 0.5;
        let odd = (z - partner) * Complex64::new(0.0, -0.5);
        even + self.twiddles.get((row + n1 * column) as u64) * odd
    }
}

/// Pass one: column FFTs and twiddles, slab by slab, into `columns`
/// where slab c0 holds its element (k1, j) at c0·N1 + k1·width + j.
fn column_pass(
    shape: &FourStepShape,
    read: &mut ComplexReader<'_>,
    columns: &ScratchFile,
    twiddles: &Twiddles,
    progress: &dyn Progress,
    total_units: u64,
) -> Result<(), SpectralError> {
    let (rows, width_max) = (shape.rows, shape.slab_columns);
    let fft = complex_plan(rows, Direction::Forward);
    let mut slab = vec![Complex64::default(); rows * width_max];
    let mut tile = vec![Complex64::default(); TILE.min(rows) * width_max];
    let mut scratch = vec![Complex64::default(); fft.get_inplace_scratch_len()];

    for c0 in (0..shape.columns).step_by(width_max) {
        let width = width_max.min(shape.columns - c0);
        let slab = &mut slab[..rows * width];

        // gather: one range read per row, a tile of rows at a time,
        // transposed into column-major order
        for n1 in (0..rows).step_by(TILE) {
            let height = TILE.min(rows - n1);
            for r in 0..height {
                progress.check()?;
                let start = (n1 + r) as u64 * shape.columns as u64 + c0 as u64;
                read(start, &mut tile[r * width..(r + 1) * width])?;
            }
            transpose_tile(&tile[..height * width], height, width, slab, rows, n1);
        }

        transform_in_batches(fft.as_ref(), slab, &mut scratch, progress)?;
        apply_twiddles(slab, rows, c0, shape.len, twiddles);

        // store row-major, a tile of rows per write, so that pass two
        // reads contiguous rows
        for k1 in (0..rows).step_by(TILE) {
            let height = TILE.min(rows - k1);
            for j in 0..width {
                let column = &slab[j * rows + k1..j * rows + k1 + height];
                for (r, value) in column.iter().enumerate() {
                    tile[r * width + j] = *value;
                }
            }
            columns.write_complex((c0 * rows + k1 * width) as u64, &tile[..height * width])?;
        }
        progress.advance(((c0 + width) * rows) as u64, total_units);
    }
    Ok(())
}

/// Values transformed between two cancellation checks: 2 Mi (32 MiB),
/// tens of milliseconds of FFT.
const BATCH_VALUES: usize = 1 << 21;

/// The FFTs of consecutive blocks of `buffer`, checking for cancellation
/// between batches so that an interrupt is seen within a fraction of a
/// second.
fn transform_in_batches(
    fft: &dyn rustfft::Fft<f64>,
    buffer: &mut [Complex64],
    scratch: &mut [Complex64],
    progress: &dyn Progress,
) -> Result<(), SpectralError> {
    let len = fft.len();
    let batch = (BATCH_VALUES / len).max(1) * len;
    for block in buffer.chunks_mut(batch) {
        progress.check()?;
        fft.process_with_scratch(block, scratch);
    }
    Ok(())
}

/// Rows of a tile (`height` × `width`, row-major) into rows `first ..`
/// of a column-major matrix with `rows` rows.
fn transpose_tile(
    tile: &[Complex64],
    height: usize,
    width: usize,
    matrix: &mut [Complex64],
    rows: usize,
    first: usize,
) {
    for j in 0..width {
        let column = &mut matrix[j * rows + first..j * rows + first + height];
        for (r, value) in column.iter_mut().enumerate() {
            *value = tile[r * width + j];
        }
    }
}

/// Multiplies column j (input column n2 = c0 + j) by ω_L^(n2·k1).
fn apply_twiddles(slab: &mut [Complex64], rows: usize, c0: usize, len: u64, twiddles: &Twiddles) {
    for (j, column) in slab.chunks_exact_mut(rows).enumerate() {
        let n2 = (c0 + j) as u64;
        let mut m = 0u64;
        for value in column.iter_mut() {
            *value *= twiddles.get(m);
            m += n2;
            if m >= len {
                m -= len;
            }
        }
    }
}

/// Pass two: row FFTs, group by group, scattered into `output` in
/// natural order; indexes at or past `keep` are dropped.
fn row_pass(
    shape: &FourStepShape,
    columns: &ScratchFile,
    output: &ScratchFile,
    keep: u64,
    progress: &dyn Progress,
    total_units: u64,
) -> Result<Largest, SpectralError> {
    let (row_len, height_max) = (shape.columns, shape.group_rows);
    let mut largest = Largest::new();
    let fft = complex_plan(row_len, Direction::Forward);
    let mut group = vec![Complex64::default(); height_max * row_len];
    let mut scratch = vec![Complex64::default(); fft.get_inplace_scratch_len()];

    for r0 in (0..shape.rows).step_by(height_max) {
        let height = height_max.min(shape.rows - r0);
        let group = &mut group[..height * row_len];

        read_row_group(shape, columns, r0, height, group, progress)?;
        transform_in_batches(fft.as_ref(), group, &mut scratch, progress)?;
        write_row_group(
            shape,
            output,
            keep,
            (r0, height),
            group,
            &mut largest,
            progress,
        )?;

        let done = shape.len + ((r0 + height) * row_len) as u64;
        progress.advance(done, total_units);
    }
    Ok(largest)
}

/// Rows r0 .. r0 + height of the twiddled matrix, from every slab.
fn read_row_group(
    shape: &FourStepShape,
    columns: &ScratchFile,
    r0: usize,
    height: usize,
    group: &mut [Complex64],
    progress: &dyn Progress,
) -> Result<(), SpectralError> {
    let row_len = shape.columns;
    for c0 in (0..row_len).step_by(shape.slab_columns) {
        progress.check()?;
        let width = shape.slab_columns.min(row_len - c0);
        let start = (c0 * shape.rows + r0 * width) as u64;
        let window = columns.window(
            start * COMPLEX_BYTES,
            (height * width) as u64 * COMPLEX_BYTES,
        )?;
        for i in 0..height {
            let row = &mut group[i * row_len + c0..i * row_len + c0 + width];
            window.read_complex(i * width, row);
        }
    }
    Ok(())
}

/// Writes X[k1 + N1·k2] for k1 in r0 .. r0 + height: one run of
/// `height` values per k2.
fn write_row_group(
    shape: &FourStepShape,
    output: &ScratchFile,
    keep: u64,
    (r0, height): (usize, usize),
    group: &[Complex64],
    largest: &mut Largest,
    progress: &dyn Progress,
) -> Result<(), SpectralError> {
    let rows = shape.rows as u64;
    let mut tile = vec![Complex64::default(); TILE * height];

    for k2 in (0..shape.columns).step_by(TILE) {
        let width = TILE.min(shape.columns - k2);
        if k2 as u64 * rows + r0 as u64 >= keep {
            break;
        }
        progress.check()?;

        // a tile of k2 columns, each gathered into its own run of rows
        for i in 0..height {
            let row = &group[i * shape.columns + k2..i * shape.columns + k2 + width];
            for (c, value) in row.iter().enumerate() {
                tile[c * height + i] = *value;
            }
        }
        for c in 0..width {
            let first = (k2 + c) as u64 * rows + r0 as u64;
            if first >= keep {
                break;
            }
            let count = (height as u64).min(keep - first) as usize;
            let run = &tile[c * height..c * height + count];
            for (i, value) in run.iter().enumerate() {
                largest.offer(first + i as u64, *value);
            }
            output.write_complex(first, run)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factors_are_nearly_square() {
        assert_eq!(nearly_square_factors(1 << 20), (1024, 1024));
        assert_eq!(nearly_square_factors(1 << 21), (1024, 2048));
        assert_eq!(nearly_square_factors(30375), (135, 225));
        assert_eq!(nearly_square_factors(65537), (1, 65537));
    }

    #[test]
    fn a_large_prime_factor_is_refused_with_what_would_work() {
        let budget = MemoryBudget::from_bytes(1 << 20);
        let error = FourStepShape::plan(2 * 65537, budget)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("length 131074 does not fit the memory budget of 1 MiB"),
            "{error}"
        );
        assert!(error.contains("use n: 262144 to zero-pad it"), "{error}");
        assert!(
            error.contains("a memory budget of at least 17 MiB"),
            "{error}"
        );
    }

    #[test]
    fn twiddles_match_direct_evaluation() {
        let len = 1_000_003;
        let twiddles = Twiddles::new(len);
        for m in [0, 1, 999, 500_001, len - 1] {
            let angle = -2.0 * PI * m as f64 / len as f64;
            let expected = Complex64::new(angle.cos(), angle.sin());
            assert!((twiddles.get(m) - expected).norm() < 1e-15, "{m}");
        }
    }

    #[test]
    fn shape_fits_each_pass_in_a_quarter_of_the_budget() {
        let budget = MemoryBudget::from_bytes(1 << 30);
        let shape = FourStepShape::plan(1 << 29, budget).unwrap();
        assert_eq!((shape.rows, shape.columns), (1 << 14, 1 << 15));
        assert!((shape.rows * shape.slab_columns) as u64 * COMPLEX_BYTES <= 1 << 28);
        assert!((shape.columns * shape.group_rows) as u64 * COMPLEX_BYTES <= 1 << 28);
    }
}
