//! Peak marking on spectra and PSDs: the highest local maxima of the
//! decimated trace, at least a few pixels apart, each labelled with the x
//! of the very sample that holds the maximum (M4 keeps it), so a peak's
//! frequency is exact to the bin whatever the decimation.

use crate::figure::trim;
use crate::input::XQuantity;
use crate::line::Marker;
use crate::m4::{ColumnMap, Envelope};

/// Columns on each side a peak must dominate, and the least distance
/// between two marked peaks.
const RADIUS: i32 = 12;

/// The `count` highest peaks of `envelope`.
pub(crate) fn find(
    envelope: &Envelope,
    columns: &ColumnMap,
    count: usize,
    x_scale: f64,
    quantity: XQuantity,
    log_x: bool,
) -> Vec<Marker> {
    if count == 0 {
        return Vec::new();
    }
    let visible: Vec<_> = envelope
        .buckets
        .iter()
        .filter(|b| b.count > 0 && (0..=columns.last()).contains(&b.column))
        .collect();
    let mut candidates: Vec<_> = (0..visible.len())
        .filter(|&i| {
            let mut near = visible
                .iter()
                .filter(|b| (b.column - visible[i].column).abs() <= RADIUS);
            near.all(|b| b.max.y <= visible[i].max.y)
        })
        .map(|i| visible[i])
        .collect();
    candidates.sort_by(|a, b| b.max.y.total_cmp(&a.max.y));

    let mut chosen: Vec<&crate::m4::Bucket> = Vec::new();
    for candidate in candidates {
        if chosen.len() < count
            && chosen
                .iter()
                .all(|c| (c.column - candidate.column).abs() > RADIUS)
        {
            chosen.push(candidate);
        }
    }
    chosen
        .into_iter()
        .map(|bucket| {
            let shown = if log_x {
                10f64.powf(bucket.max.x)
            } else {
                bucket.max.x
            };
            Marker {
                x: bucket.max.x,
                y: bucket.max.y,
                text: describe(shown / x_scale, quantity),
            }
        })
        .collect()
}

fn describe(x: f64, quantity: XQuantity) -> String {
    match quantity {
        XQuantity::Frequency if x.abs() >= 1000.0 => format!("{} kHz", trim(x / 1000.0, 3)),
        XQuantity::Frequency => format!("{} Hz", trim(x, 1)),
        XQuantity::Time => format!("{} s", trim(x, 4)),
        _ => trim(x, 4),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::UniformAxis;
    use crate::m4::{Transform, XMap, reduce_uniform};
    use signal::{RealVector, Silent, Source};
    use std::sync::Arc;

    #[test]
    fn the_highest_separated_maxima_are_marked_at_their_exact_bin() {
        let mut values = vec![1.0; 10_000];
        values[2_345] = 50.0;
        values[7_001] = 80.0;
        values[7_002] = 79.0;
        let source: Arc<dyn Source> = Arc::new(RealVector::new(values));
        let axis = UniformAxis::new(0.0, 2.0);
        let columns = ColumnMap::new(0.0..19_998.0, 500);
        let envelope = reduce_uniform(
            &source,
            &XMap { axis, log: false },
            &columns,
            Transform::Identity,
            &Silent,
        )
        .unwrap();

        let markers = find(&envelope, &columns, 2, 1.0, XQuantity::Frequency, false);
        let texts: Vec<&str> = markers.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(texts, vec!["14.002 kHz", "4.69 kHz"]);
        assert_eq!(markers[0].y, 80.0);
    }
}
