//! Streaming M4 decimation (Jugel et al., PVLDB 7(10), 2014): for every
//! pixel column keep the first, smallest, largest and last sample, in one
//! pass over a source of any length, in memory proportional to the plot's
//! width. Columns come from plotters' own mapping
//! (`RangedCoordf64::map`, `floor(L·t + 1e-3)` with L the plot width − 1,
//! `spectral-and-plotting.md` §4), so a line through the kept points lights
//! exactly the pixels a line through every sample lights.
//!
//! Values pass through a [`Transform`] (dB, log10) before they are
//! compared; values that come out non-finite (NaN, ±inf, a log of 0) are
//! skipped, so the line joins across them. Drawing is not done here.

use std::ops::Range;
use std::sync::Arc;

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::Ranged;
use signal::{Progress, Slice, Source, for_each_chunk};

use crate::PlotError;
use crate::input::UniformAxis;

/// Samples read per chunk: 256 Ki f64, 2 MiB.
pub(crate) const CHUNK_LEN: usize = 1 << 18;

/// The pixel column of an x value, computed by plotters itself.
#[derive(Clone)]
pub(crate) struct ColumnMap {
    coord: RangedCoordf64,
    last: i32,
}

impl ColumnMap {
    /// Columns `0 ..= plot_width - 1` for x in `range`; the range must not be
    /// empty (plotters maps an empty range to the middle).
    pub(crate) fn new(range: Range<f64>, plot_width: u32) -> Self {
        assert!(
            range.start < range.end,
            "expected a non-empty x range, got {range:?}"
        );
        Self {
            coord: range.into(),
            last: plot_width as i32 - 1,
        }
    }

    /// The column of `x`; values outside the range give columns below 0 or
    /// above [`ColumnMap::last`].
    pub(crate) fn column(&self, x: f64) -> i32 {
        self.coord.map(&x, (0, self.last))
    }

    /// The rightmost column.
    pub(crate) fn last(&self) -> i32 {
        self.last
    }
}

/// How a raw value becomes the value drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Transform {
    Identity,
    /// `factor · log10(|v|)`: 10 for powers, 20 for amplitudes.
    Decibel(f64),
    /// `log10(v)`, for a log axis.
    Log10,
}

impl Transform {
    #[inline]
    pub(crate) fn apply(self, value: f64) -> f64 {
        match self {
            Self::Identity => value,
            Self::Decibel(factor) => factor * value.abs().log10(),
            Self::Log10 => value.log10(),
        }
    }
}

/// The x value drawn for sample `i`: a uniform axis, optionally in log10.
#[derive(Debug, Clone, Copy)]
pub(crate) struct XMap {
    pub axis: UniformAxis,
    pub log: bool,
}

impl XMap {
    #[inline]
    pub(crate) fn x(&self, index: u64) -> f64 {
        let value = self.axis.at(index);
        if self.log { value.log10() } else { value }
    }

    /// True when sample `index` has a drawable x (positive on a log axis).
    fn valid(&self, index: u64) -> bool {
        self.x(index).is_finite()
    }
}

/// A kept sample: its index in the source and its drawn coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Point {
    pub index: u64,
    pub x: f64,
    pub y: f64,
}

/// The M4 summary of one pixel column.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Bucket {
    pub column: i32,
    /// Finite values seen.
    pub count: u64,
    pub first: Point,
    pub min: Point,
    pub max: Point,
    pub last: Point,
}

impl Bucket {
    pub(crate) fn empty(column: i32) -> Self {
        let nothing = Point {
            index: 0,
            x: f64::NAN,
            y: f64::NAN,
        };
        Self {
            column,
            count: 0,
            first: nothing,
            min: nothing,
            max: nothing,
            last: nothing,
        }
    }

    /// Adds a finite sample with its x; samples must come in order.
    #[inline]
    pub(crate) fn push(&mut self, point: Point) {
        if self.count == 0 {
            self.first = point;
            self.min = point;
            self.max = point;
        } else if point.y < self.min.y {
            self.min = point;
        } else if point.y > self.max.y {
            self.max = point;
        }
        self.last = point;
        self.count += 1;
    }

    /// Folds in the summary of samples that come after this bucket's.
    fn merge(&mut self, later: &Bucket) {
        if later.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = Bucket {
                column: self.column,
                ..*later
            };
            return;
        }
        if later.min.y < self.min.y {
            self.min = later.min;
        }
        if later.max.y > self.max.y {
            self.max = later.max;
        }
        self.last = later.last;
        self.count += later.count;
    }

    /// The kept points in sample order, without repeats: one point for a
    /// column of one sample, two to four otherwise.
    pub(crate) fn points(&self) -> impl Iterator<Item = Point> {
        let mut points = [self.first, self.min, self.max, self.last];
        points.sort_by_key(|point| point.index);
        let count = if self.count == 0 { 0 } else { 4 };
        let mut previous = None;
        points.into_iter().take(count).filter(move |point| {
            let repeat = previous == Some(point.index);
            previous = Some(point.index);
            !repeat
        })
    }
}

/// The decimated series: buckets in column order. Columns below 0 or past
/// the last one hold the single neighbour sample that joins the line to
/// the plot's edge when limits cut the data.
#[derive(Debug, Clone, Default)]
pub(crate) struct Envelope {
    pub buckets: Vec<Bucket>,
    /// Samples read.
    pub samples_read: u64,
    /// True when the buckets only summarise the values per column (x/y
    /// pairs not ordered in x): the line must be drawn from the source.
    pub summary_only: bool,
}

impl Envelope {
    /// The points to draw, in order.
    pub(crate) fn points(&self) -> impl Iterator<Item = Point> + '_ {
        self.buckets.iter().flat_map(Bucket::points)
    }

    /// Smallest and largest value inside columns `0 ..= last`, when any.
    pub(crate) fn value_range(&self, last: i32) -> Option<(f64, f64)> {
        let visible = self
            .buckets
            .iter()
            .filter(|b| b.count > 0 && (0..=last).contains(&b.column));
        visible.fold(None, |range, bucket| {
            let (low, high) = range.unwrap_or((bucket.min.y, bucket.max.y));
            Some((low.min(bucket.min.y), high.max(bucket.max.y)))
        })
    }
}

/// First index in `range` where `predicate` turns false (it must be true
/// then false along the range).
fn partition(range: Range<u64>, predicate: impl Fn(u64) -> bool) -> u64 {
    let (mut low, mut high) = (range.start, range.end);
    while low < high {
        let middle = low + (high - low) / 2;
        if predicate(middle) {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    low
}

/// The samples to read: those in columns `0 ..= last` plus one neighbour
/// on each side, and the start index of every column among them.
fn column_starts(len: u64, xmap: &XMap, columns: &ColumnMap) -> Vec<(i32, u64)> {
    let column_of = |index: u64| columns.column(xmap.x(index));
    let first_valid = if xmap.log {
        partition(0..len, |i| !xmap.valid(i))
    } else {
        0
    };
    let visible_start = partition(first_valid..len, |i| column_of(i) < 0);
    let visible_end = partition(visible_start..len, |i| column_of(i) <= columns.last());
    let start = if visible_start > first_valid {
        visible_start - 1
    } else {
        visible_start
    };
    let end = if visible_end < len {
        visible_end + 1
    } else {
        visible_end
    };

    let mut starts = Vec::new();
    let mut index = start;
    while index < end {
        let column = column_of(index);
        starts.push((column, index));
        index = partition(index..end, |i| column_of(i) <= column);
    }
    starts.push((i32::MAX, end));
    starts
}

/// Decimates a source drawn against a uniform x axis, in one pass.
///
/// # Errors
/// A read error of the source, or cancellation through `progress`.
pub(crate) fn reduce_uniform(
    source: &Arc<dyn Source>,
    xmap: &XMap,
    columns: &ColumnMap,
    transform: Transform,
    progress: &dyn Progress,
) -> Result<Envelope, PlotError> {
    let starts = column_starts(source.len(), xmap, columns);
    let (begin, end) = (starts[0].1, starts[starts.len() - 1].1);
    let mut buckets: Vec<Bucket> = starts
        .iter()
        .map(|(column, _)| Bucket::empty(*column))
        .collect();
    buckets.pop();

    let window = Slice::new(source.clone(), begin, end)?;
    let mut current = 0;
    for_each_chunk(&window, CHUNK_LEN, progress, |offset, samples| {
        let chunk_start = begin + offset;
        let chunk_end = chunk_start + samples.len() as u64;
        let mut index = chunk_start;
        while index < chunk_end {
            while starts[current + 1].1 <= index {
                current += 1;
            }
            let stop = starts[current + 1].1.min(chunk_end);
            let slice = &samples[(index - chunk_start) as usize..(stop - chunk_start) as usize];
            scan(&mut buckets[current], index, slice, transform);
            index = stop;
        }
        Ok(())
    })?;

    for bucket in &mut buckets {
        for point in [
            &mut bucket.first,
            &mut bucket.min,
            &mut bucket.max,
            &mut bucket.last,
        ] {
            point.x = xmap.x(point.index);
        }
    }
    Ok(Envelope {
        buckets,
        samples_read: end - begin,
        summary_only: false,
    })
}

/// Folds consecutive samples starting at `first_index` into one bucket.
fn scan(bucket: &mut Bucket, first_index: u64, samples: &[f64], transform: Transform) {
    match transform {
        Transform::Identity => scan_with(bucket, first_index, samples, |v| v),
        Transform::Decibel(_) | Transform::Log10 => {
            scan_with(bucket, first_index, samples, |v| transform.apply(v));
        }
    }
}

/// The fast path: one branch-light pass for the extremes, then the first
/// and last drawable samples from the ends. Slices holding ±inf take the
/// sample-by-sample path.
#[inline]
fn scan_with(
    bucket: &mut Bucket,
    first_index: u64,
    samples: &[f64],
    value: impl Fn(f64) -> f64 + Copy,
) {
    let (mut min, mut min_at) = (f64::INFINITY, 0);
    let (mut max, mut max_at) = (f64::NEG_INFINITY, 0);
    let mut missing = 0u64;
    for (offset, &raw) in samples.iter().enumerate() {
        let y = value(raw);
        missing += u64::from(y.is_nan());
        if y < min {
            (min, min_at) = (y, offset);
        }
        if y > max {
            (max, max_at) = (y, offset);
        }
    }
    if !(min.is_finite() && max.is_finite()) {
        return scan_each(bucket, first_index, samples, value);
    }

    let point = |offset: usize, y: f64| Point {
        index: first_index + offset as u64,
        x: 0.0,
        y,
    };
    let first = samples
        .iter()
        .position(|&raw| !value(raw).is_nan())
        .unwrap_or(min_at);
    let last = samples
        .iter()
        .rposition(|&raw| !value(raw).is_nan())
        .unwrap_or(max_at);
    let summary = Bucket {
        column: bucket.column,
        count: samples.len() as u64 - missing,
        first: point(first, value(samples[first])),
        min: point(min_at, min),
        max: point(max_at, max),
        last: point(last, value(samples[last])),
    };
    bucket.merge(&summary);
}

/// The sample-by-sample path, skipping every non-finite value.
fn scan_each(bucket: &mut Bucket, first_index: u64, samples: &[f64], value: impl Fn(f64) -> f64) {
    for (offset, &raw) in samples.iter().enumerate() {
        let y = value(raw);
        if y.is_finite() {
            bucket.push(Point {
                index: first_index + offset as u64,
                x: 0.0,
                y,
            });
        }
    }
}

/// Accumulates points with explicit, non-decreasing x into buckets, for
/// x/y series; points must come in order.
#[derive(Debug, Default)]
pub(crate) struct PointReducer {
    envelope: Envelope,
    /// The last point left of column 0, kept until the first visible one.
    left_neighbour: Option<(i32, Point)>,
    /// Set once a point right of the last column was kept.
    done: bool,
}

impl PointReducer {
    /// Adds a point whose x and y are already transformed; non-finite ones
    /// are skipped.
    pub(crate) fn push(&mut self, columns: &ColumnMap, point: Point) {
        if self.done || !point.x.is_finite() || !point.y.is_finite() {
            return;
        }
        let column = columns.column(point.x);
        if column < 0 {
            self.left_neighbour = Some((column, point));
            return;
        }
        if let Some((left_column, left)) = self.left_neighbour.take() {
            self.bucket_for(left_column).push(left);
        }
        self.done = column > columns.last();
        self.bucket_for(column).push(point);
    }

    fn bucket_for(&mut self, column: i32) -> &mut Bucket {
        let buckets = &mut self.envelope.buckets;
        if buckets.last().is_none_or(|bucket| bucket.column != column) {
            buckets.push(Bucket::empty(column));
        }
        let last = buckets.len() - 1;
        &mut buckets[last]
    }

    /// The envelope of the points pushed.
    pub(crate) fn finish(mut self, samples_read: u64) -> Envelope {
        if self.envelope.buckets.is_empty()
            && let Some((column, point)) = self.left_neighbour.take()
        {
            self.bucket_for(column).push(point);
        }
        self.envelope.samples_read = samples_read;
        self.envelope
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use signal::{RealVector, Silent};

    fn source(values: Vec<f64>) -> Arc<dyn Source> {
        Arc::new(RealVector::new(values))
    }

    fn linear(len: u64) -> XMap {
        let _ = len;
        XMap {
            axis: UniformAxis::new(0.0, 1.0),
            log: false,
        }
    }

    /// Buckets computed the slow way: every sample's column by plotters'
    /// mapping, then first/min/max/last per column.
    fn naive(values: &[f64], columns: &ColumnMap) -> Vec<(i32, f64, f64, f64, f64)> {
        let mut out: Vec<(i32, f64, f64, f64, f64)> = Vec::new();
        for (i, &v) in values.iter().enumerate() {
            let column = columns.column(i as f64);
            match out.last_mut() {
                Some(last) if last.0 == column => {
                    last.2 = last.2.min(v);
                    last.3 = last.3.max(v);
                    last.4 = v;
                }
                _ => out.push((column, v, v, v, v)),
            }
        }
        out
    }

    #[test]
    fn buckets_match_a_sample_by_sample_computation() {
        let values: Vec<f64> = (0..100_003)
            .map(|i| ((i * 7919) % 1009) as f64 - 500.0)
            .collect();
        let columns = ColumnMap::new(0.0..100_002.0, 937);
        let envelope = reduce_uniform(
            &source(values.clone()),
            &linear(0),
            &columns,
            Transform::Identity,
            &Silent,
        )
        .unwrap();

        let got: Vec<_> = envelope
            .buckets
            .iter()
            .map(|b| (b.column, b.first.y, b.min.y, b.max.y, b.last.y))
            .collect();
        assert_eq!(got, naive(&values, &columns));
        assert_eq!(envelope.samples_read, 100_003);
    }

    #[test]
    fn a_column_of_one_sample_keeps_one_point() {
        let columns = ColumnMap::new(0.0..9.0, 100);
        let values: Vec<f64> = (0..10).map(f64::from).collect();
        let envelope = reduce_uniform(
            &source(values),
            &linear(0),
            &columns,
            Transform::Identity,
            &Silent,
        )
        .unwrap();
        assert_eq!(envelope.points().count(), 10);
    }

    #[test]
    fn limits_keep_one_neighbour_on_each_side() {
        let columns = ColumnMap::new(100.0..200.0, 50);
        let values: Vec<f64> = (0..1000).map(f64::from).collect();
        let envelope = reduce_uniform(
            &source(values),
            &linear(0),
            &columns,
            Transform::Identity,
            &Silent,
        )
        .unwrap();

        let visible: Vec<u64> = (0..1000)
            .filter(|&i| (0..=columns.last()).contains(&columns.column(i as f64)))
            .collect();
        let (low, high) = (visible[0], visible[visible.len() - 1]);
        let first = envelope.buckets.first().unwrap();
        let last = envelope.buckets.last().unwrap();
        assert_eq!(
            (first.column, first.count, first.first.index),
            (-1, 1, low - 1)
        );
        assert_eq!((last.count, last.first.index), (1, high + 1));
        assert!(last.column > columns.last());
        assert_eq!(envelope.samples_read, high - low + 3);
        assert_eq!(
            envelope.value_range(columns.last()),
            Some((low as f64, high as f64))
        );
    }

    #[test]
    fn non_finite_values_are_skipped() {
        let columns = ColumnMap::new(0.0..3.0, 2);
        let values = vec![1.0, f64::NAN, -1.0, 0.0];
        let envelope = reduce_uniform(
            &source(values),
            &linear(0),
            &columns,
            Transform::Log10,
            &Silent,
        )
        .unwrap();
        let kept: Vec<u64> = envelope.points().map(|p| p.index).collect();
        assert_eq!(kept, vec![0]);
    }

    #[test]
    fn infinities_and_nans_inside_a_column_are_skipped() {
        let columns = ColumnMap::new(0.0..7.0, 2);
        let values = vec![
            f64::NAN,
            3.0,
            f64::INFINITY,
            -2.0,
            f64::NAN,
            5.0,
            f64::NEG_INFINITY,
            1.0,
        ];
        let envelope = reduce_uniform(
            &source(values),
            &linear(0),
            &columns,
            Transform::Identity,
            &Silent,
        )
        .unwrap();
        let summary: Vec<(u64, u64, u64, u64, u64)> = envelope
            .buckets
            .iter()
            .map(|b| {
                (
                    b.count,
                    b.first.index,
                    b.min.index,
                    b.max.index,
                    b.last.index,
                )
            })
            .collect();
        // L = 1: samples 0..=6 map to column 0, sample 7 to column 1
        assert_eq!(summary, vec![(3, 1, 3, 5, 5), (1, 7, 7, 7, 7)]);
    }

    #[test]
    fn chunked_fast_path_agrees_with_point_by_point_pushes() {
        let values: Vec<f64> = (0..700_001u64)
            .map(|i| {
                if i % 1013 == 0 {
                    f64::NAN
                } else {
                    ((i * 7919) % 2003) as f64
                }
            })
            .collect();
        let columns = ColumnMap::new(0.0..700_000.0, 333);
        let fast = reduce_uniform(
            &source(values.clone()),
            &linear(0),
            &columns,
            Transform::Identity,
            &Silent,
        )
        .unwrap();
        let mut reducer = PointReducer::default();
        for (i, &y) in values.iter().enumerate() {
            reducer.push(
                &columns,
                Point {
                    index: i as u64,
                    x: i as f64,
                    y,
                },
            );
        }
        assert_eq!(fast.buckets, reducer.finish(700_001).buckets);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        #[test]
        fn any_series_reduces_like_the_sample_by_sample_oracle(
            values in proptest::collection::vec(-1e6f64..1e6, 1..3000),
            plot_width in 2u32..400,
            step in 1e-3f64..10.0,
        ) {
            let last_x = (values.len() - 1) as f64 * step;
            let columns = ColumnMap::new(0.0..last_x.max(step), plot_width);
            let xmap = XMap { axis: UniformAxis::new(0.0, step), log: false };
            let fast = reduce_uniform(&source(values.clone()), &xmap, &columns, Transform::Identity, &Silent)
                .unwrap();

            let mut reducer = PointReducer::default();
            for (i, &y) in values.iter().enumerate() {
                reducer.push(&columns, Point { index: i as u64, x: xmap.x(i as u64), y });
            }
            proptest::prop_assert_eq!(fast.buckets, reducer.finish(values.len() as u64).buckets);
        }
    }

    #[test]
    fn cancellation_stops_the_reduction() {
        let flag = signal::CancelFlag::new();
        flag.cancel();
        let columns = ColumnMap::new(0.0..9.0, 100);
        let result = reduce_uniform(
            &source(vec![0.0; 10]),
            &linear(0),
            &columns,
            Transform::Identity,
            &flag,
        );
        assert!(result.unwrap_err().is_cancelled());
    }

    #[test]
    fn point_reducer_matches_the_uniform_path() {
        let values: Vec<f64> = (0..5000).map(|i| (i as f64 * 0.37).sin()).collect();
        let columns = ColumnMap::new(0.0..4999.0, 300);
        let uniform = reduce_uniform(
            &source(values.clone()),
            &linear(0),
            &columns,
            Transform::Identity,
            &Silent,
        )
        .unwrap();

        let mut reducer = PointReducer::default();
        for (i, &y) in values.iter().enumerate() {
            reducer.push(
                &columns,
                Point {
                    index: i as u64,
                    x: i as f64,
                    y,
                },
            );
        }
        let explicit = reducer.finish(5000);
        assert_eq!(explicit.buckets, uniform.buckets);
    }
}
