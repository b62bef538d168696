//! WAV files and raw samples: `reader.wav()` (a summary of the header;
//! `sample_rate`, `channels`, `bits_per_sample`, `frames`, `duration`) and
//! `reader.samples(#{dtype, channels, sample_rate})`, whose `channel(i)` is
//! the shared lazy `Signal`.

use std::sync::Arc;

use bigfile_reader::{RawSamples, WavFile};
use rhai::{EvalAltResult, FuncRegistration, Map};

use super::reader_error;
use super::streams::ReaderHandle;
use crate::display::{Displayable, MimeBundle, escape_html};
use crate::toolkit::Registrar;
use crate::toolkit::signals::Signal;

/// A WAV file, header parsed, samples unread.
#[derive(Clone)]
pub struct WavHandle {
    /// The bigfile-reader WAV file.
    pub wav: WavFile,
    /// What it was read from.
    pub label: String,
}

/// Headerless interleaved samples.
#[derive(Clone)]
pub struct SamplesHandle {
    /// The bigfile-reader samples.
    pub samples: RawSamples,
    /// What they were read from.
    pub label: String,
}

impl Displayable for WavHandle {
    fn mime_bundle(&self) -> MimeBundle {
        let text = format!("WAV {}: {}", self.label, self.wav.summary());
        let html = format!("<p>{}</p>", escape_html(&text));
        MimeBundle::text(text).with_html(html)
    }
}

impl Displayable for SamplesHandle {
    fn mime_bundle(&self) -> MimeBundle {
        MimeBundle::text(format!(
            "raw samples {}: {} frames of {} channel(s)",
            self.label,
            self.samples.frames(),
            self.samples.channels()
        ))
    }
}

/// Registers WAV files and raw samples.
pub fn register(registrar: &mut Registrar<'_>) {
    registrar.register_type::<WavHandle>("Wav");
    registrar.register_type::<SamplesHandle>("RawSamples");
    register_openers(registrar);
    register_wav(registrar);
    register_samples(registrar);
}

fn register_openers(registrar: &mut Registrar<'_>) {
    let engine = registrar.engine();
    FuncRegistration::new("wav")
        .with_params_info(["reader: &mut BigFileReader", "Wav"])
        .with_comments(["/// The bytes as a WAV file (reads the header only)."])
        .register_into_engine(
            engine,
            |reader: &mut ReaderHandle| -> Result<WavHandle, Box<EvalAltResult>> {
                let wav = reader.lock().wav().map_err(reader_error)?;
                for warning in wav.warnings() {
                    tracing::warn!(label = %reader.label, %warning, "wav header warning");
                }
                Ok(WavHandle {
                    wav,
                    label: reader.label.clone(),
                })
            },
        );
    FuncRegistration::new("samples")
        .with_params_info(["reader: &mut BigFileReader", "layout: Map", "RawSamples"])
        .with_comments([
            "/// The bytes as headerless interleaved samples:",
            "/// `#{dtype: \"<i2\", channels: 2, sample_rate: 48000}` (channels default 1).",
        ])
        .register_into_engine(
            engine,
            |reader: &mut ReaderHandle, layout: Map| -> Result<SamplesHandle, Box<EvalAltResult>> {
                let (dtype, channels, rate) = layout_of(&layout)?;
                let samples = reader
                    .lock()
                    .samples(&dtype, channels, rate)
                    .map_err(reader_error)?;
                Ok(SamplesHandle {
                    samples,
                    label: reader.label.clone(),
                })
            },
        );
}

/// `dtype`, `channels` and `sample_rate` of a layout map.
fn layout_of(layout: &Map) -> Result<(String, usize, Option<f64>), Box<EvalAltResult>> {
    let mut dtype = None;
    let mut channels = 1_usize;
    let mut rate = None;
    for (key, value) in layout {
        match key.as_str() {
            "dtype" => dtype = Some(value.to_string()),
            "channels" => {
                channels = value
                    .as_int()
                    .ok()
                    .and_then(|c| usize::try_from(c).ok())
                    .ok_or_else(|| format!("channels must be a whole number >= 1, not {value}"))?;
            }
            "sample_rate" => {
                rate = Some(
                    value
                        .as_float()
                        .or_else(|_| value.as_int().map(|i| i as f64))
                        .map_err(|_| format!("sample_rate must be a number, not {value}"))?,
                );
            }
            other => {
                return Err(format!(
                    "samples option {other:?} is not known; use dtype, channels, sample_rate"
                )
                .into());
            }
        }
    }
    let dtype = dtype.ok_or("samples needs a dtype, e.g. #{dtype: \"<i2\", channels: 2}")?;
    Ok((dtype, channels, rate))
}

fn channel_index(index: i64, channels: usize) -> Result<usize, Box<EvalAltResult>> {
    usize::try_from(index)
        .ok()
        .filter(|i| *i < channels)
        .ok_or_else(|| {
            format!(
                "channel {index} does not exist: there are {channels} channel(s), numbered from 0"
            )
            .into()
        })
}

fn register_wav(registrar: &mut Registrar<'_>) {
    let engine = registrar.engine();
    engine.register_get("sample_rate", |wav: &mut WavHandle| {
        wav.wav.sample_rate() as i64
    });
    engine.register_get("channels", |wav: &mut WavHandle| wav.wav.channels() as i64);
    engine.register_get("bits_per_sample", |wav: &mut WavHandle| {
        wav.wav.bits_per_sample() as i64
    });
    engine.register_get("frames", |wav: &mut WavHandle| wav.wav.frames() as i64);
    engine.register_get("duration", |wav: &mut WavHandle| wav.wav.duration());
    engine.register_fn("summary", |wav: &mut WavHandle| wav.wav.summary());
    FuncRegistration::new("channel")
        .with_params_info(["wav: &mut Wav", "index: i64", "Signal"])
        .with_comments(["/// Channel `index` (from 0) as a lazy signal of samples in [-1, 1)."])
        .register_into_engine(
            engine,
            |wav: &mut WavHandle, index: i64| -> Result<Signal, Box<EvalAltResult>> {
                let index = channel_index(index, wav.wav.channels())?;
                let source = wav.wav.channel(index).map_err(reader_error)?;
                Ok(Signal::new(
                    Arc::new(source),
                    format!("channel {index} of {}", wav.label),
                ))
            },
        );
}

fn register_samples(registrar: &mut Registrar<'_>) {
    let engine = registrar.engine();
    engine.register_get("channels", |samples: &mut SamplesHandle| {
        samples.samples.channels() as i64
    });
    engine.register_get("frames", |samples: &mut SamplesHandle| {
        samples.samples.frames() as i64
    });
    FuncRegistration::new("channel")
        .with_params_info(["samples: &mut RawSamples", "index: i64", "Signal"])
        .with_comments(["/// Channel `index` (from 0) as a lazy signal of the decoded values."])
        .register_into_engine(
            engine,
            |samples: &mut SamplesHandle, index: i64| -> Result<Signal, Box<EvalAltResult>> {
                let index = channel_index(index, samples.samples.channels())?;
                let source = samples.samples.channel(index).map_err(reader_error)?;
                Ok(Signal::new(
                    Arc::new(source),
                    format!("channel {index} of {}", samples.label),
                ))
            },
        );
}

#[cfg(test)]
mod tests {
    use super::*;
    use rhai::Dynamic;

    #[test]
    fn layout_needs_a_dtype() {
        let error = layout_of(&Map::new()).unwrap_err().to_string();
        assert!(error.contains("dtype"), "{error}");
    }

    #[test]
    fn layout_reads_channels_and_rate() {
        let mut map = Map::new();
        map.insert("dtype".into(), "<i2".into());
        map.insert("channels".into(), Dynamic::from_int(2));
        map.insert("sample_rate".into(), Dynamic::from_int(48000));
        assert_eq!(
            layout_of(&map).unwrap(),
            ("<i2".to_owned(), 2, Some(48000.0))
        );
    }

    #[test]
    fn channel_past_the_last_is_refused_with_the_count() {
        let error = channel_index(2, 2).unwrap_err().to_string();
        assert!(error.contains("2 channel(s)"), "{error}");
    }
}
