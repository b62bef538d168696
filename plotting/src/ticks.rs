//! Axis ticks: "nice" positions (1, 2, 2.5, 5 × 10^k) on linear axes,
//! decades on logarithmic ones, and their labels, short enough to fit the
//! fixed label area. Log axes are drawn in log10 space, so their tick
//! values are exponents and their labels the powers of ten.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::Ranged;

/// A linear plotters axis with our own tick positions: the mapping is
/// plotters' `RangedCoordf64` unchanged (the M4 columns rely on it), the
/// key points are [`Ticks::values`].
#[derive(Clone)]
pub(crate) struct TickedAxis {
    coord: RangedCoordf64,
    ticks: Vec<f64>,
}

impl TickedAxis {
    pub(crate) fn new(range: Range<f64>, ticks: &Ticks) -> Self {
        Self {
            coord: range.into(),
            ticks: ticks.values.clone(),
        }
    }
}

impl Ranged for TickedAxis {
    type ValueType = f64;
    type FormatOption = DefaultFormatting;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.coord.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.coord.range()
    }
}

/// Tick positions on an axis (in the axis' drawing space) and their labels.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ticks {
    pub values: Vec<f64>,
    pub labels: Vec<String>,
}

/// The step among 1, 2, 2.5, 5 × 10^k closest above `range / target`.
fn nice_step(range: f64, target: usize) -> f64 {
    let raw = range / target.max(1) as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let normalised = raw / magnitude;
    let factor = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .find(|f| *f >= normalised - 1e-9);
    factor.unwrap_or(10.0) * magnitude
}

/// About `target` ticks between `low` and `high` on a linear axis.
pub(crate) fn linear(low: f64, high: f64, target: usize) -> Ticks {
    let step = nice_step(high - low, target);
    let first = (low / step - 1e-9).ceil() as i64;
    let last = (high / step + 1e-9).floor() as i64;
    let values: Vec<f64> = (first..=last)
        .map(|k| k as f64 * step)
        .map(|v| if v.abs() < step * 1e-9 { 0.0 } else { v })
        .collect();
    let labels = format_linear(&values, step);
    Ticks { values, labels }
}

/// Ticks for a log axis spanning `10^low ..= 10^high` (exponents given):
/// decades when the range spans at least two, else nice linear values.
pub(crate) fn logarithmic(low: f64, high: f64, target: usize) -> Ticks {
    if high - low < 2.0 {
        let linear_ticks = linear(10f64.powf(low), 10f64.powf(high), target.min(6));
        let keep: Vec<usize> = (0..linear_ticks.values.len())
            .filter(|&i| linear_ticks.values[i] > 0.0)
            .collect();
        let values = keep
            .iter()
            .map(|&i| linear_ticks.values[i].log10())
            .collect();
        let labels = keep
            .iter()
            .map(|&i| linear_ticks.labels[i].clone())
            .collect();
        return Ticks { values, labels };
    }
    let stride = ((high - low) / target.max(1) as f64).ceil().max(1.0) as i64;
    let first = (low - 1e-9).ceil() as i64;
    let last = (high + 1e-9).floor() as i64;
    let exponents: Vec<i64> = (first..=last)
        .filter(|e| e.rem_euclid(stride) == 0)
        .collect();
    let values = exponents.iter().map(|&e| e as f64).collect();
    let labels = exponents.iter().map(|&e| power_of_ten(e)).collect();
    Ticks { values, labels }
}

fn power_of_ten(exponent: i64) -> String {
    match exponent {
        0..=5 => format!("{}", 10u64.pow(exponent as u32)),
        -3..=-1 => format!("{:.*}", (-exponent) as usize, 10f64.powi(exponent as i32)),
        _ => format!("1e{exponent}").replace('-', "\u{2212}"),
    }
}

/// Digits after the point that `step` needs to show exactly.
fn decimals(step: f64) -> usize {
    (0..12)
        .find(|&d| {
            let scaled = step * 10f64.powi(d as i32);
            (scaled - scaled.round()).abs() < 1e-6 * scaled.max(1.0)
        })
        .unwrap_or(12)
}

/// Labels with a typographic minus sign (U+2212), as printed axes use.
fn with_minus(labels: Vec<String>) -> Vec<String> {
    labels
        .into_iter()
        .map(|label| label.replace('-', "\u{2212}"))
        .collect()
}

fn format_linear(values: &[f64], step: f64) -> Vec<String> {
    with_minus(format_plain_or_scientific(values, step))
}

fn format_plain_or_scientific(values: &[f64], step: f64) -> Vec<String> {
    let largest = values.iter().fold(0.0f64, |acc, v| acc.max(v.abs()));
    if largest >= 1e6 || (largest < 1e-3 && largest > 0.0) {
        let exponent = largest.log10().floor();
        let digits = decimals(step / 10f64.powf(exponent));
        return values.iter().map(|v| scientific(*v, digits)).collect();
    }
    let digits = decimals(step);
    values.iter().map(|v| format!("{v:.digits$}")).collect()
}

fn scientific(value: f64, digits: usize) -> String {
    if value == 0.0 {
        return "0".to_string();
    }
    format!("{value:.digits$e}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_ticks_land_on_round_numbers() {
        let ticks = linear(0.0, 27.99, 8);
        assert_eq!(ticks.values, vec![0.0, 5.0, 10.0, 15.0, 20.0, 25.0]);
        assert_eq!(ticks.labels, vec!["0", "5", "10", "15", "20", "25"]);
    }

    #[test]
    fn fractional_steps_show_enough_digits() {
        let ticks = linear(-1.1, 1.1, 8);
        assert_eq!(ticks.labels, vec!["−1.0", "−0.5", "0.0", "0.5", "1.0"]);
        assert_eq!(
            linear(0.0, 0.9, 4).labels,
            vec!["0.00", "0.25", "0.50", "0.75"]
        );
    }

    #[test]
    fn tiny_and_huge_values_use_scientific_notation() {
        assert_eq!(
            linear(0.0, 3e-5, 4).labels,
            vec!["0", "1e−5", "2e−5", "3e−5"]
        );
        assert_eq!(
            linear(0.0, 2e7, 4).labels,
            vec!["0", "5.0e6", "1.0e7", "1.5e7", "2.0e7"]
        );
    }

    #[test]
    fn log_ticks_are_decades_labelled_as_powers() {
        let ticks = logarithmic(-1.0, 4.0, 8);
        assert_eq!(ticks.values, vec![-1.0, 0.0, 1.0, 2.0, 3.0, 4.0]);
        assert_eq!(ticks.labels, vec!["0.1", "1", "10", "100", "1000", "10000"]);
    }

    #[test]
    fn narrow_log_ranges_get_linear_values() {
        let ticks = logarithmic(2.0f64.log10() + 2.0, 8.0f64.log10() + 2.0, 6);
        assert_eq!(ticks.labels.first().unwrap(), "200");
        assert!((ticks.values[0] - 200f64.log10()).abs() < 1e-12);
    }
}
