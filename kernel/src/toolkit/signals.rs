//! The `Signal` value of the notebook: a lazy sample source (a WAV
//! channel, a Data Array, a slice of either) with its axis, shared by every
//! toolkit that produces or consumes samples.
//!
//! The Wendelin bindings make signals (`wav.channel(0)`, `array.signal()`),
//! the analysis bindings consume them (`rfft`, `welch`, `plot`). Nothing is
//! read when a signal is made or displayed; the statistics read it once, in
//! chunks, with a progress display and the interrupt honoured. A Rhai array
//! is made only by `to_array()`, bounded by the session's array limit.

use std::sync::Arc;

use rhai::{Dynamic, EvalAltResult, FuncRegistration};
use signal::{RealVector, Slice, Source, Statistics};

use super::{Registrar, Toolkit, to_rhai_array};
use crate::context::{CellContext, interrupted_error};
use crate::display::{Displayable, MimeBundle};

/// A lazy real signal held by a notebook variable. Cloning shares the
/// source.
#[derive(Clone)]
pub struct Signal {
    /// Where the samples come from.
    pub source: Arc<dyn Source>,
    /// What the signal is, for summaries ("channel 0 of speaker-positions").
    pub label: String,
}

impl std::fmt::Debug for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signal")
            .field("label", &self.label)
            .field("len", &self.source.len())
            .finish()
    }
}

impl Signal {
    /// A signal over `source`, described by `label`.
    pub fn new(source: Arc<dyn Source>, label: impl Into<String>) -> Self {
        Self {
            source,
            label: label.into(),
        }
    }

    /// One line: label, length, rate and duration.
    pub fn summary(&self) -> String {
        let info = self.source.info();
        let mut line = format!("signal {}: {} samples", self.label, group_digits(info.len));
        if let (Some(rate), Some(duration)) = (info.sample_rate, info.duration()) {
            line.push_str(&format!(" at {rate} Hz ({duration:.3} s)"));
        }
        if let Some(units) = info.units {
            line.push_str(&format!(", in {units}"));
        }
        line
    }
}

impl Displayable for Signal {
    fn mime_bundle(&self) -> MimeBundle {
        MimeBundle::text(self.summary())
    }
}

/// Writes `n` with thin groups of three digits: 1,234,567.
pub fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// Maps a `signal` error to the Rhai error a cell ends with: an interrupt
/// reads as one, anything else keeps its message.
pub fn signal_error(error: signal::SignalError) -> Box<EvalAltResult> {
    match error {
        signal::SignalError::Cancelled => interrupted_error(),
        other => other.to_string().into(),
    }
}

/// Registers the `Signal` type, its properties and its methods.
#[derive(Debug, Clone, Copy)]
pub struct Signals;

impl Toolkit for Signals {
    fn name(&self) -> &'static str {
        "signals"
    }

    fn register(&self, registrar: &mut Registrar<'_>) {
        registrar.register_type::<Signal>("Signal");
        register_properties(registrar);
        register_statistics(registrar);
        register_conversions(registrar);
    }
}

fn register_properties(registrar: &mut Registrar<'_>) {
    let engine = registrar.engine();
    engine.register_get("len", |signal: &mut Signal| signal.source.len() as i64);
    engine.register_get("label", |signal: &mut Signal| signal.label.clone());
    engine.register_get("sample_rate", |signal: &mut Signal| {
        signal
            .source
            .info()
            .sample_rate
            .map_or(Dynamic::UNIT, Dynamic::from_float)
    });
    engine.register_get("duration", |signal: &mut Signal| {
        signal
            .source
            .info()
            .duration()
            .map_or(Dynamic::UNIT, Dynamic::from_float)
    });
    engine.register_get("units", |signal: &mut Signal| {
        signal
            .source
            .info()
            .units
            .map_or(Dynamic::UNIT, Dynamic::from)
    });

    FuncRegistration::new("slice")
        .with_params_info(["signal: Signal", "start: i64", "end: i64", "Signal"])
        .with_comments(["/// Samples `start .. end` of the signal, read lazily."])
        .register_into_engine(
            registrar.engine(),
            |signal: &mut Signal, start: i64, end: i64| -> Result<Signal, Box<EvalAltResult>> {
                if start < 0 || end < start {
                    return Err(format!(
                        "slice({start}, {end}) is not a valid range; use 0 <= start <= end"
                    )
                    .into());
                }
                let slice = Slice::new(signal.source.clone(), start as u64, end as u64)
                    .map_err(signal_error)?;
                Ok(Signal::new(
                    Arc::new(slice),
                    format!("{}[{start}..{end}]", signal.label),
                ))
            },
        );
}

fn register_statistics(registrar: &mut Registrar<'_>) {
    type Pick = fn(&Statistics) -> f64;
    let names: [(&str, &str, Pick); 4] = [
        (
            "min",
            "/// The smallest sample, in one streaming pass.",
            |s| s.min,
        ),
        (
            "max",
            "/// The largest sample, in one streaming pass.",
            |s| s.max,
        ),
        (
            "mean",
            "/// The mean of the samples, in one streaming pass.",
            |s| s.mean,
        ),
        (
            "rms",
            "/// The root mean square of the samples, in one streaming pass.",
            |s| s.rms,
        ),
    ];
    for (name, doc, pick) in names {
        let context = registrar.context();
        FuncRegistration::new(name)
            .with_params_info(["signal: Signal", "f64"])
            .with_comments([doc])
            .register_into_engine(
                registrar.engine(),
                move |signal: &mut Signal| -> Result<f64, Box<EvalAltResult>> {
                    let summary = streaming_statistics(&context, signal, name)?;
                    Ok(pick(&summary))
                },
            );
    }
}

fn streaming_statistics(
    context: &CellContext,
    signal: &Signal,
    name: &str,
) -> Result<Statistics, Box<EvalAltResult>> {
    let progress = context.progress(&format!("{name} of {}", signal.label));
    let summary = signal::statistics(signal.source.as_ref(), &progress).map_err(signal_error)?;
    progress.finish(&format!("{} samples read", group_digits(summary.count)));
    Ok(summary)
}

fn register_conversions(registrar: &mut Registrar<'_>) {
    let context = registrar.context();
    FuncRegistration::new("to_array")
        .with_params_info(["signal: Signal", "Array"])
        .with_comments([
            "/// The samples as a Rhai array of floats, refused past the session's",
            "/// array limit: prefer the native signal for long data.",
        ])
        .register_into_engine(
            registrar.engine(),
            move |signal: &mut Signal| -> Result<rhai::Array, Box<EvalAltResult>> {
                let len = signal.source.len() as usize;
                if len > context.array_limit() {
                    return Err(format!(
                        "signal {} has {} samples, more than the array limit of {}; \
                         keep the native signal, or take a slice first",
                        signal.label,
                        group_digits(len as u64),
                        group_digits(context.array_limit() as u64)
                    )
                    .into());
                }
                let mut values = vec![0.0; len];
                signal
                    .source
                    .read_into(0, &mut values)
                    .map_err(signal_error)?;
                context.check()?;
                to_rhai_array(&values, context.array_limit())
            },
        );

    FuncRegistration::new("signal")
        .with_params_info(["values: Array", "sample_rate: f64", "Signal"])
        .with_comments(["/// A signal from an array of numbers, with a sample rate in Hz."])
        .register_into_engine(
            registrar.engine(),
            |values: rhai::Array, sample_rate: f64| -> Result<Signal, Box<EvalAltResult>> {
                if !(sample_rate.is_finite() && sample_rate > 0.0) {
                    return Err(format!(
                        "sample rate {sample_rate} is not a positive number of Hz"
                    )
                    .into());
                }
                let samples = numbers(&values)?;
                let vector = RealVector::new(samples).with_sample_rate(sample_rate);
                Ok(Signal::new(Arc::new(vector), "from an array"))
            },
        );
}

/// The floats of a Rhai array of numbers (integers or floats).
///
/// # Errors
/// A message naming the first item that is not a number and its index.
pub fn numbers(values: &rhai::Array) -> Result<Vec<f64>, Box<EvalAltResult>> {
    values
        .iter()
        .enumerate()
        .map(|(index, value)| {
            value
                .as_float()
                .or_else(|_| value.as_int().map(|i| i as f64))
                .map_err(|type_name| {
                    format!("item {index} of the array is a {type_name}, not a number").into()
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_grouped_by_three() {
        assert_eq!(group_digits(0), "0");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(1000), "1,000");
        assert_eq!(group_digits(1234567), "1,234,567");
    }

    #[test]
    fn summary_names_length_rate_and_duration() {
        let vector = RealVector::new(vec![0.0; 48_000]).with_sample_rate(48_000.0);
        let signal = Signal::new(Arc::new(vector), "left");
        assert_eq!(
            signal.summary(),
            "signal left: 48,000 samples at 48000 Hz (1.000 s)"
        );
    }
}
