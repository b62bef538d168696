//! Spectral analysis in the notebook: `rfft`, `fft`, `welch` and
//! `spectrogram` over a `Signal`, their result values (`Spectrum`, `Psd`,
//! `Spectrogram`) with methods and displays, and the session's memory
//! budget (`set_memory_budget`). Option maps are read here into
//! `spectral`'s option structs, with errors that name the key, the value
//! and what would work; the numerics are all in `spectral`, drawing is in
//! `plots.rs` and saving to the server in `saving.rs`.
//!
//! Results stay native: their sample sequences (magnitude, frequencies,
//! PSD values, spectrogram frames) come back as the shared lazy `Signal`,
//! which becomes a Rhai array only through `to_array()`, bounded by the
//! session's array limit. Long jobs show a progress display with their
//! phases and end with a one-line summary; quick ones show nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rhai::{Dynamic, EvalAltResult, FuncRegistration, Map};
use signal::{Complex64, ComplexSource, Progress, RealVector, SignalError, Source, SourceInfo};
use spectral::{
    Average, Detrend, FftOptions, MemoryBudget, Psd, Scaling, SpectralError, Spectrogram,
    SpectrogramOptions, Spectrum, SpectrumKind, WelchOptions, Window,
};

use super::signals::{Signal, group_digits};
use super::{Registrar, Toolkit};
use crate::context::{CellContext, ProgressDisplay, interrupted_error};
use crate::display::{Displayable, MimeBundle, escape_html};

/// The session configuration key holding the memory budget, as the text
/// given to `set_memory_budget`.
pub const MEMORY_BUDGET_KEY: &str = "memory_budget";

/// How long an in-memory job runs before its progress display appears.
pub const QUIET_START: Duration = Duration::from_millis(300);

/// The most peaks `peaks(k)` returns.
pub const MAX_PEAKS: i64 = 10_000;

const DETREND_CHOICES: &str = "\"constant\", \"linear\", \"none\" or false";
const SCALING_CHOICES: &str = "\"density\" or \"spectrum\"";
const AVERAGE_CHOICES: &str = "\"mean\" or \"median\"";

const FFT_OPTIONS: &[&str] = &["n", "memory"];
const WELCH_OPTIONS: &[&str] = &[
    "nperseg", "noverlap", "nfft", "window", "detrend", "scaling", "average", "memory",
];
const SPECTROGRAM_OPTIONS: &[&str] = &[
    "nperseg", "noverlap", "nfft", "window", "detrend", "scaling", "memory",
];

/// Registers the analysis functions and result types.
#[derive(Debug, Clone, Copy)]
pub struct Analysis;

impl Toolkit for Analysis {
    fn name(&self) -> &'static str {
        "analysis"
    }

    fn register(&self, registrar: &mut Registrar<'_>) {
        register_budget(registrar);
        register_transforms(registrar);
        register_estimates(registrar);
        register_spectrum(registrar);
        register_psd(registrar);
        register_spectrogram(registrar);
    }
}

// ---------------------------------------------------------------------
// values

/// A spectrum in the notebook (`rfft`, `fft`), with what it was made of.
#[derive(Clone)]
pub struct SpectrumValue {
    /// The bins, in memory or in a scratch file.
    pub spectrum: Spectrum,
    /// "rfft of left".
    pub label: String,
}

/// A Welch PSD in the notebook.
#[derive(Clone)]
pub struct PsdValue {
    /// The estimate.
    pub psd: Psd,
    /// "welch of left".
    pub label: String,
}

/// A spectrogram in the notebook.
#[derive(Clone)]
pub struct SpectrogramValue {
    /// The frames, in memory or in a scratch file.
    pub spectrogram: Spectrogram,
    /// "spectrogram of left".
    pub label: String,
}

impl Displayable for SpectrumValue {
    fn mime_bundle(&self) -> MimeBundle {
        let spectrum = &self.spectrum;
        let peak = spectrum.peak().ok();
        let rows = [
            ("of", self.label.clone()),
            ("transform length", group_digits(spectrum.transform_len())),
            ("bins", group_digits(spectrum.len())),
            (
                "resolution",
                hertz(spectrum.frequency_step(), spectrum.sample_rate()),
            ),
            (
                "peak",
                peak.map_or("unavailable".into(), |p| {
                    format!(
                        "{} (|X| {:.6e})",
                        hertz(p.frequency, spectrum.sample_rate()),
                        p.magnitude
                    )
                }),
            ),
            ("held", held(spectrum.is_out_of_core())),
        ];
        MimeBundle::text(spectrum.summary()).with_html(html_table(&rows))
    }
}

impl Displayable for PsdValue {
    fn mime_bundle(&self) -> MimeBundle {
        let psd = &self.psd;
        let rows = [
            ("of", self.label.clone()),
            ("segments", group_digits(psd.segments())),
            ("bins", group_digits(psd.values().len() as u64)),
            ("resolution", format!("{}", psd.frequency_step())),
            ("peak", format!("{}", psd.peak_frequency())),
        ];
        MimeBundle::text(psd.summary()).with_html(html_table(&rows))
    }
}

impl Displayable for SpectrogramValue {
    fn mime_bundle(&self) -> MimeBundle {
        let spectrogram = &self.spectrogram;
        let (peak_frequency, peak_time) = spectrogram.peak();
        let rows = [
            ("of", self.label.clone()),
            ("frames", group_digits(spectrogram.frames())),
            ("bins", group_digits(spectrogram.bins() as u64)),
            ("resolution", format!("{}", spectrogram.frequency_step())),
            ("time step", format!("{}", spectrogram.time_step())),
            ("peak", format!("{peak_frequency} at {peak_time}")),
            ("held", held(spectrogram.is_out_of_core())),
        ];
        MimeBundle::text(spectrogram.summary()).with_html(html_table(&rows))
    }
}

fn hertz(value: f64, sample_rate: Option<f64>) -> String {
    match sample_rate {
        Some(_) => format!("{value} Hz"),
        None => format!("{value} cycles/sample"),
    }
}

fn held(out_of_core: bool) -> String {
    if out_of_core {
        "in a scratch file (out of core)".into()
    } else {
        "in memory".into()
    }
}

fn html_table(rows: &[(&str, String)]) -> String {
    let body: String = rows
        .iter()
        .map(|(key, value)| {
            format!(
                "<tr><th style=\"text-align:left\">{}</th><td>{}</td></tr>",
                escape_html(key),
                escape_html(value)
            )
        })
        .collect();
    format!("<table>{body}</table>")
}

// ---------------------------------------------------------------------
// sources the results hand out as signals

/// A source seen without a sample rate: values per bin, frame or index,
/// so that a plot or a summary does not read them as a time series.
struct Indexed {
    inner: Arc<dyn Source>,
}

impl Source for Indexed {
    fn info(&self) -> SourceInfo {
        SourceInfo {
            sample_rate: None,
            ..self.inner.info()
        }
    }

    fn read_into(&self, start: u64, buffer: &mut [f64]) -> Result<(), SignalError> {
        self.inner.read_into(start, buffer)
    }
}

/// The real or imaginary part of each bin of a spectrum.
struct SpectrumPart {
    spectrum: Spectrum,
    imaginary: bool,
}

impl Source for SpectrumPart {
    fn info(&self) -> SourceInfo {
        SourceInfo {
            sample_rate: None,
            ..ComplexSource::info(&self.spectrum)
        }
    }

    fn read_into(&self, start: u64, buffer: &mut [f64]) -> Result<(), SignalError> {
        let mut bins = vec![Complex64::default(); buffer.len()];
        ComplexSource::read_into(&self.spectrum, start, &mut bins)?;
        for (out, bin) in buffer.iter_mut().zip(bins) {
            *out = if self.imaginary { bin.im } else { bin.re };
        }
        Ok(())
    }
}

/// A shared real source seen as complex (imaginary parts 0), for `fft`.
struct RealAsComplex(Arc<dyn Source>);

impl ComplexSource for RealAsComplex {
    fn info(&self) -> SourceInfo {
        self.0.info()
    }

    fn read_into(&self, start: u64, buffer: &mut [Complex64]) -> Result<(), SignalError> {
        let mut real = vec![0.0; buffer.len()];
        self.0.read_into(start, &mut real)?;
        for (out, value) in buffer.iter_mut().zip(real) {
            *out = Complex64::new(value, 0.0);
        }
        Ok(())
    }
}

/// A signal indexed by bin or frame, over `source`.
fn indexed(source: impl Source + 'static, label: String) -> Signal {
    let inner: Arc<dyn Source> = Arc::new(source);
    Signal::new(Arc::new(Indexed { inner }), label)
}

/// A signal over values held in memory, indexed by position.
fn in_memory(values: &[f64], label: String) -> Signal {
    Signal::new(Arc::new(RealVector::new(values.to_vec())), label)
}

// ---------------------------------------------------------------------
// progress

/// A progress display for one job. An in-memory job shows it only once
/// it has run for [`QUIET_START`], so quick calls leave no output; a job
/// known to be long (out of core) shows it at once. Implements
/// [`signal::Progress`], cancellation included.
pub struct JobProgress {
    display: ProgressDisplay,
    shown_from: Instant,
    shown: AtomicBool,
}

impl std::fmt::Debug for JobProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobProgress")
            .field("shown", &self.shown.load(Ordering::SeqCst))
            .finish()
    }
}

impl JobProgress {
    /// A display named `label`; `quiet` delays it by [`QUIET_START`].
    pub fn new(context: &CellContext, label: &str, quiet: bool) -> Self {
        let delay = if quiet { QUIET_START } else { Duration::ZERO };
        Self {
            display: context.progress(label),
            shown_from: Instant::now() + delay,
            shown: AtomicBool::new(false),
        }
    }

    /// Ends the display with a one-line `summary`, when it was shown.
    pub fn finish(&self, summary: &str) {
        if self.shown.load(Ordering::SeqCst) {
            self.display.finish(summary);
        }
    }
}

impl Progress for JobProgress {
    fn advance(&self, done: u64, total: u64) {
        if Instant::now() >= self.shown_from {
            self.shown.store(true, Ordering::SeqCst);
            self.display.advance(done, total);
        }
    }

    fn phase(&self, name: &str) {
        self.display.phase(name);
    }

    fn is_cancelled(&self) -> bool {
        self.display.is_cancelled()
    }
}

// ---------------------------------------------------------------------
// errors and option maps

/// The cell's error for a failed analysis: an interrupt reads as one,
/// anything else is `function: message`.
pub fn spectral_error(function: &str, error: SpectralError) -> Box<EvalAltResult> {
    match error {
        SpectralError::Signal(SignalError::Cancelled) => interrupted_error(),
        other => format!("{function}: {other}").into(),
    }
}

/// A value as a message names it: `string "abc"`, `integer 3`.
pub fn describe(value: &Dynamic) -> String {
    if let Ok(text) = value.clone().into_string() {
        return format!("string {text:?}");
    }
    if let Ok(number) = value.as_int() {
        return format!("integer {number}");
    }
    if let Ok(number) = value.as_float() {
        return format!("number {number}");
    }
    if let Ok(flag) = value.as_bool() {
        return format!("boolean {flag}");
    }
    if let Some(array) = value.read_lock::<rhai::Array>() {
        return format!("an array of {} items", array.len());
    }
    if value.is_map() {
        return "a map".into();
    }
    format!("a value of type {}", value.type_name())
}

/// A script's option map, read key by key for one function.
pub struct OptionReader<'a> {
    function: &'static str,
    map: &'a Map,
}

impl std::fmt::Debug for OptionReader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OptionReader")
            .field("function", &self.function)
            .finish()
    }
}

impl<'a> OptionReader<'a> {
    /// A reader for `function`'s options, refusing any key not in `known`.
    ///
    /// # Errors
    /// The first unknown key, with the known ones and the closest match.
    pub fn new(
        function: &'static str,
        map: &'a Map,
        known: &[&str],
    ) -> Result<Self, Box<EvalAltResult>> {
        if let Some(key) = map.keys().find(|key| !known.contains(&key.as_str())) {
            let hint = closest(key, known)
                .map(|name| format!(" (did you mean {name}?)"))
                .unwrap_or_default();
            return Err(format!(
                "{function}: unknown option {:?}{hint}; known options: {}",
                key.as_str(),
                known.join(", ")
            )
            .into());
        }
        Ok(Self { function, map })
    }

    /// The value of `key`, none when missing or `()`.
    pub fn get(&self, key: &str) -> Option<&'a Dynamic> {
        self.map.get(key).filter(|value| !value.is_unit())
    }

    /// The error for a value of `key` that is not what it should be.
    pub fn refuse(&self, key: &str, value: &Dynamic, wanted: &str) -> Box<EvalAltResult> {
        format!(
            "{}: option {key} is {}; use {wanted}",
            self.function,
            describe(value)
        )
        .into()
    }

    /// An integer of at least `minimum`.
    ///
    /// # Errors
    /// A value that is not such an integer.
    pub fn integer(&self, key: &str, minimum: i64) -> Result<Option<u64>, Box<EvalAltResult>> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        match value.as_int() {
            Ok(number) if number >= minimum => Ok(Some(number as u64)),
            _ => Err(self.refuse(key, value, &format!("an integer >= {minimum}"))),
        }
    }

    /// A string.
    ///
    /// # Errors
    /// A value that is not a string.
    pub fn text(&self, key: &str) -> Result<Option<String>, Box<EvalAltResult>> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        match value.clone().into_string() {
            Ok(text) => Ok(Some(text)),
            Err(_) => Err(self.refuse(key, value, "a string")),
        }
    }

    /// A memory budget: a size such as "512MiB", or a number of bytes.
    ///
    /// # Errors
    /// A value that is neither, or a size that does not parse.
    pub fn budget(&self, key: &str) -> Result<Option<MemoryBudget>, Box<EvalAltResult>> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        parse_budget(value)
            .map(Some)
            .map_err(|wanted| self.refuse(key, value, &wanted))
    }

    /// The value parsed by `parse` from a string; `choices` says what
    /// would work when the value is not a string.
    fn parsed<T>(
        &self,
        key: &str,
        parse: fn(&str) -> Result<T, SpectralError>,
        choices: &str,
    ) -> Result<Option<T>, Box<EvalAltResult>> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        let text = value
            .clone()
            .into_string()
            .map_err(|_| self.refuse(key, value, choices))?;
        parse(&text)
            .map(Some)
            .map_err(|error| spectral_error(self.function, error))
    }

    /// A window: a name ("hann", "tukey:0.25") or `["tukey", 0.25]`.
    fn window(&self, key: &str) -> Result<Option<Window>, Box<EvalAltResult>> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        let text = match value.read_lock::<rhai::Array>() {
            Some(pair) => window_pair(&pair),
            None => value.clone().into_string().ok(),
        };
        let wanted = "a window name such as \"hann\", \"tukey:0.25\" or [\"tukey\", 0.25]";
        let text = text.ok_or_else(|| self.refuse(key, value, wanted))?;
        Window::parse(&text)
            .map(Some)
            .map_err(|error| spectral_error(self.function, error))
    }

    /// A detrend: "constant", "linear", "none" or `false`.
    fn detrend(&self, key: &str) -> Result<Option<Detrend>, Box<EvalAltResult>> {
        match self.get(key).map(Dynamic::as_bool) {
            Some(Ok(false)) => Ok(Some(Detrend::None)),
            Some(Ok(true)) => Ok(Some(Detrend::Constant)),
            _ => self.parsed(key, Detrend::parse, DETREND_CHOICES),
        }
    }
}

/// `["tukey", 0.25]` as "tukey:0.25".
fn window_pair(pair: &rhai::Array) -> Option<String> {
    let [name, parameter] = pair.as_slice() else {
        return None;
    };
    let name = name.clone().into_string().ok()?;
    let parameter = parameter
        .as_float()
        .or_else(|_| parameter.as_int().map(|i| i as f64))
        .ok()?;
    Some(format!("{name}:{parameter}"))
}

/// A budget from a string ("64MiB") or a positive number of bytes; the
/// error is what would work.
fn parse_budget(value: &Dynamic) -> Result<MemoryBudget, String> {
    const WANTED: &str = "a size such as \"512MiB\", \"1GiB\" or \"2G\", or a number of bytes";
    if let Ok(bytes) = value.as_int() {
        return u64::try_from(bytes)
            .ok()
            .filter(|&b| b > 0)
            .map(MemoryBudget::from_bytes)
            .ok_or_else(|| WANTED.to_string());
    }
    let text = value
        .clone()
        .into_string()
        .map_err(|_| WANTED.to_string())?;
    MemoryBudget::parse(&text).map_err(|_| WANTED.to_string())
}

/// The known name nearest to `key` by edit distance, when near enough to
/// be a typo.
fn closest<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    known
        .iter()
        .map(|name| (edit_distance(key, name), *name))
        .filter(|(distance, name)| *distance <= 2.max(name.len() / 3))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

// ---------------------------------------------------------------------
// the memory budget

/// The session's memory budget: the one set by `set_memory_budget`, else
/// a quarter of the machine's memory.
pub fn session_budget(context: &CellContext) -> MemoryBudget {
    context
        .config()
        .get(MEMORY_BUDGET_KEY)
        .and_then(|text| MemoryBudget::parse(&text).ok())
        .unwrap_or_else(MemoryBudget::machine_default)
}

fn register_budget(registrar: &mut Registrar<'_>) {
    let context = registrar.context();
    FuncRegistration::new("set_memory_budget")
        .with_params_info(["budget: Dynamic", "()"])
        .with_comments([
            "/// Sets the memory budget of every later `rfft`, `fft`, `welch` and",
            "/// `spectrogram` of this session: a size such as \"64MiB\", \"1GiB\" or \"2G\"",
            "/// (binary units; \"MB\", \"GB\" are decimal), or a number of bytes. A",
            "/// transform larger than the budget runs out of core, in scratch files in",
            "/// the system's temporary directory (`TMPDIR`). The default is a quarter",
            "/// of the machine's memory; an option `memory` overrides it for one call.",
            "/// Set it once at the top of a notebook: `set_memory_budget(\"64MiB\");`",
        ])
        .register_into_engine(
            registrar.engine(),
            move |value: Dynamic| -> Result<(), Box<EvalAltResult>> {
                let budget = parse_budget(&value).map_err(|wanted| {
                    format!(
                        "set_memory_budget: {} is not a budget; use {wanted}",
                        describe(&value)
                    )
                })?;
                context
                    .config()
                    .set(MEMORY_BUDGET_KEY, &budget.bytes().to_string());
                context.print(&format!(
                    "memory budget {budget}: longer transforms run out of core in {}\n",
                    std::env::temp_dir().display()
                ));
                Ok(())
            },
        );

    let context = registrar.context();
    FuncRegistration::new("memory_budget")
        .with_params_info(["String"])
        .with_comments(["/// The session's memory budget for transforms, e.g. \"64 MiB\"."])
        .register_into_engine(registrar.engine(), move || {
            session_budget(&context).to_string()
        });
}

// ---------------------------------------------------------------------
// rfft and fft

/// The [`FftOptions`] of an option map, under the session's budget.
///
/// # Errors
/// An unknown key or a bad value.
pub fn fft_options(
    function: &'static str,
    map: &Map,
    context: &CellContext,
) -> Result<FftOptions, Box<EvalAltResult>> {
    let reader = OptionReader::new(function, map, FFT_OPTIONS)?;
    Ok(FftOptions {
        n: reader.integer("n", 1)?,
        budget: reader
            .budget("memory")?
            .unwrap_or_else(|| session_budget(context)),
        ..FftOptions::default()
    })
}

fn run_transform(
    context: &CellContext,
    signal: &Signal,
    map: &Map,
    real: bool,
) -> Result<SpectrumValue, Box<EvalAltResult>> {
    let function = if real { "rfft" } else { "fft" };
    let options = fft_options(function, map, context)?;
    let len = options
        .transform_len(signal.source.len())
        .map_err(|error| spectral_error(function, error))?;
    let in_memory = spectral::fits_in_memory(len, real, &options);

    let label = format!("{function} of {}", signal.label);
    let progress = JobProgress::new(context, &label, in_memory);
    let result = if real {
        spectral::rfft(signal.source.as_ref(), &options, &progress)
    } else {
        let complex = RealAsComplex(signal.source.clone());
        spectral::fft(&complex, &options, &progress)
    };
    let spectrum = result.map_err(|error| spectral_error(function, error))?;

    progress.finish(&transform_summary(&spectrum, options.budget));
    Ok(SpectrumValue { spectrum, label })
}

fn transform_summary(spectrum: &Spectrum, budget: MemoryBudget) -> String {
    let place = if spectrum.is_out_of_core() {
        format!("out of core (budget {budget})")
    } else {
        "in memory".into()
    };
    format!(
        "{} samples to {} bins, {place}",
        group_digits(spectrum.transform_len()),
        group_digits(spectrum.len())
    )
}

fn register_transforms(registrar: &mut Registrar<'_>) {
    for (real, name, doc) in [
        (
            true,
            "rfft",
            "/// The one-sided spectrum of a real signal, `n / 2 + 1` bins, as\n\
             /// `numpy.fft.rfft`. Options: `n` (pad with zeros or truncate to n\n\
             /// samples), `memory` (budget for this call, e.g. \"512MiB\"). Longer than\n\
             /// the budget, it runs out of core in scratch files, with progress.",
        ),
        (
            false,
            "fft",
            "/// The two-sided spectrum of a real signal, `n` bins in numpy's order\n\
             /// (0, positive, then negative frequencies), as `numpy.fft.fft`. Options:\n\
             /// `n`, `memory`, as for `rfft`.",
        ),
    ] {
        let context = registrar.context();
        FuncRegistration::new(name)
            .with_params_info(["signal: Signal", "Spectrum"])
            .with_comments([doc])
            .register_into_engine(registrar.engine(), move |signal: Signal| {
                run_transform(&context, &signal, &Map::new(), real)
            });
        let context = registrar.context();
        FuncRegistration::new(name)
            .with_params_info(["signal: Signal", "options: Map", "Spectrum"])
            .with_comments([doc])
            .register_into_engine(registrar.engine(), move |signal: Signal, map: Map| {
                run_transform(&context, &signal, &map, real)
            });
    }
}

// ---------------------------------------------------------------------
// welch and spectrogram

/// The [`WelchOptions`] of an option map, scipy's defaults for the rest.
///
/// # Errors
/// An unknown key or a bad value.
pub fn welch_options(map: &Map, context: &CellContext) -> Result<WelchOptions, Box<EvalAltResult>> {
    let reader = OptionReader::new("welch", map, WELCH_OPTIONS)?;
    let defaults = WelchOptions::default();
    Ok(WelchOptions {
        nperseg: reader.integer("nperseg", 1)?.map(|n| n as usize),
        noverlap: reader.integer("noverlap", 0)?.map(|n| n as usize),
        nfft: reader.integer("nfft", 1)?.map(|n| n as usize),
        window: reader.window("window")?.unwrap_or(defaults.window),
        detrend: reader.detrend("detrend")?.unwrap_or(defaults.detrend),
        scaling: reader
            .parsed("scaling", Scaling::parse, SCALING_CHOICES)?
            .unwrap_or(defaults.scaling),
        average: reader
            .parsed("average", Average::parse, AVERAGE_CHOICES)?
            .unwrap_or(defaults.average),
        budget: reader
            .budget("memory")?
            .unwrap_or_else(|| session_budget(context)),
        ..defaults
    })
}

/// The [`SpectrogramOptions`] of an option map, scipy's defaults for the
/// rest.
///
/// # Errors
/// An unknown key or a bad value.
pub fn spectrogram_options(
    map: &Map,
    context: &CellContext,
) -> Result<SpectrogramOptions, Box<EvalAltResult>> {
    let reader = OptionReader::new("spectrogram", map, SPECTROGRAM_OPTIONS)?;
    let defaults = SpectrogramOptions::default();
    Ok(SpectrogramOptions {
        nperseg: reader.integer("nperseg", 1)?.map(|n| n as usize),
        noverlap: reader.integer("noverlap", 0)?.map(|n| n as usize),
        nfft: reader.integer("nfft", 1)?.map(|n| n as usize),
        window: reader.window("window")?.unwrap_or(defaults.window),
        detrend: reader.detrend("detrend")?.unwrap_or(defaults.detrend),
        scaling: reader
            .parsed("scaling", Scaling::parse, SCALING_CHOICES)?
            .unwrap_or(defaults.scaling),
        budget: reader
            .budget("memory")?
            .unwrap_or_else(|| session_budget(context)),
        ..defaults
    })
}

fn run_welch(
    context: &CellContext,
    signal: &Signal,
    map: &Map,
) -> Result<PsdValue, Box<EvalAltResult>> {
    let options = welch_options(map, context)?;
    let label = format!("welch of {}", signal.label);
    let progress = JobProgress::new(context, &label, true);
    let psd = spectral::welch(signal.source.as_ref(), &options, &progress)
        .map_err(|error| spectral_error("welch", error))?;
    progress.finish(&format!(
        "{} segments of {} samples averaged",
        group_digits(psd.segments()),
        options.nperseg.map_or("default".into(), |n| n.to_string())
    ));
    Ok(PsdValue { psd, label })
}

fn run_spectrogram(
    context: &CellContext,
    signal: &Signal,
    map: &Map,
) -> Result<SpectrogramValue, Box<EvalAltResult>> {
    let options = spectrogram_options(map, context)?;
    let label = format!("spectrogram of {}", signal.label);
    let progress = JobProgress::new(context, &label, true);
    let spectrogram = spectral::spectrogram(signal.source.as_ref(), &options, &progress)
        .map_err(|error| spectral_error("spectrogram", error))?;
    progress.finish(&format!(
        "{} frames × {} bins",
        group_digits(spectrogram.frames()),
        group_digits(spectrogram.bins() as u64)
    ));
    Ok(SpectrogramValue { spectrogram, label })
}

fn register_estimates(registrar: &mut Registrar<'_>) {
    let welch_doc = "/// Welch's power spectral density of a real signal, as\n\
         /// `scipy.signal.welch` with its defaults (hann, nperseg 256, noverlap\n\
         /// nperseg/2, constant detrend, density, mean). Options: `nperseg`,\n\
         /// `noverlap`, `nfft`, `window` (\"hann\", \"hamming\", \"blackman\",\n\
         /// \"tukey:0.25\", \"boxcar\"), `detrend` (\"constant\", \"linear\", \"none\"),\n\
         /// `scaling` (\"density\", \"spectrum\"), `average` (\"mean\", \"median\"),\n\
         /// `memory`.";
    let spectrogram_doc = "/// The spectrogram of a real signal, as `scipy.signal.spectrogram`\n\
         /// with its defaults (tukey 0.25, nperseg 256, noverlap nperseg/8,\n\
         /// constant detrend, density). Options: `nperseg`, `noverlap`, `nfft`,\n\
         /// `window`, `detrend`, `scaling`, `memory`, as for `welch`.";

    let context = registrar.context();
    FuncRegistration::new("welch")
        .with_params_info(["signal: Signal", "Psd"])
        .with_comments([welch_doc])
        .register_into_engine(registrar.engine(), move |signal: Signal| {
            run_welch(&context, &signal, &Map::new())
        });
    let context = registrar.context();
    FuncRegistration::new("welch")
        .with_params_info(["signal: Signal", "options: Map", "Psd"])
        .with_comments([welch_doc])
        .register_into_engine(registrar.engine(), move |signal: Signal, map: Map| {
            run_welch(&context, &signal, &map)
        });
    let context = registrar.context();
    FuncRegistration::new("spectrogram")
        .with_params_info(["signal: Signal", "Spectrogram"])
        .with_comments([spectrogram_doc])
        .register_into_engine(registrar.engine(), move |signal: Signal| {
            run_spectrogram(&context, &signal, &Map::new())
        });
    let context = registrar.context();
    FuncRegistration::new("spectrogram")
        .with_params_info(["signal: Signal", "options: Map", "Spectrogram"])
        .with_comments([spectrogram_doc])
        .register_into_engine(registrar.engine(), move |signal: Signal, map: Map| {
            run_spectrogram(&context, &signal, &map)
        });
}

// ---------------------------------------------------------------------
// the methods of the results

fn register_spectrum(registrar: &mut Registrar<'_>) {
    registrar.register_type::<SpectrumValue>("Spectrum");
    register_spectrum_sequences(registrar);
    register_spectrum_peaks(registrar);

    let engine = registrar.engine();
    engine.register_get("len", |s: &mut SpectrumValue| s.spectrum.len() as i64);
    engine.register_get("resolution", |s: &mut SpectrumValue| {
        s.spectrum.frequency_step()
    });
    engine.register_get("transform_len", |s: &mut SpectrumValue| {
        s.spectrum.transform_len() as i64
    });
    engine.register_get("sample_rate", |s: &mut SpectrumValue| {
        s.spectrum
            .sample_rate()
            .map_or(Dynamic::UNIT, Dynamic::from_float)
    });
    engine.register_get("out_of_core", |s: &mut SpectrumValue| {
        s.spectrum.is_out_of_core()
    });
    engine.register_get("kind", |s: &mut SpectrumValue| match s.spectrum.kind() {
        SpectrumKind::OneSided => "rfft".to_string(),
        SpectrumKind::TwoSided => "fft".to_string(),
    });
    engine.register_get("label", |s: &mut SpectrumValue| s.label.clone());
}

/// The lazy per-bin sequences of a spectrum, each a `Signal`.
fn register_spectrum_sequences(registrar: &mut Registrar<'_>) {
    type Make = fn(&SpectrumValue) -> Signal;
    let sequences: [(&str, &str, Make); 6] = [
        (
            "frequencies",
            "/// The frequency of each bin in Hz (cycles/sample without a rate), as numpy's rfftfreq / fftfreq.",
            |s| {
                indexed(
                    s.spectrum.frequencies(),
                    format!("frequencies of {}", s.label),
                )
            },
        ),
        ("magnitude", "/// |X| of each bin, as a lazy signal.", |s| {
            indexed(s.spectrum.magnitude(), format!("magnitude of {}", s.label))
        }),
        ("power", "/// |X|² of each bin, as a lazy signal.", |s| {
            indexed(s.spectrum.power(), format!("power of {}", s.label))
        }),
        (
            "phase",
            "/// The angle of each bin in radians (numpy's angle), as a lazy signal.",
            |s| indexed(s.spectrum.phase(), format!("phase of {}", s.label)),
        ),
        (
            "real",
            "/// The real part of each bin, as a lazy signal.",
            |s| {
                let part = SpectrumPart {
                    spectrum: s.spectrum.clone(),
                    imaginary: false,
                };
                Signal::new(Arc::new(part), format!("real part of {}", s.label))
            },
        ),
        (
            "imag",
            "/// The imaginary part of each bin, as a lazy signal.",
            |s| {
                let part = SpectrumPart {
                    spectrum: s.spectrum.clone(),
                    imaginary: true,
                };
                Signal::new(Arc::new(part), format!("imaginary part of {}", s.label))
            },
        ),
    ];
    for (name, doc, make) in sequences {
        FuncRegistration::new(name)
            .with_params_info(["spectrum: Spectrum", "Signal"])
            .with_comments([doc])
            .register_into_engine(registrar.engine(), move |s: &mut SpectrumValue| make(s));
    }
}

fn peak_map(peak: &spectral::Peak) -> Dynamic {
    let mut map = Map::new();
    map.insert("bin".into(), Dynamic::from_int(peak.bin as i64));
    map.insert("frequency".into(), Dynamic::from_float(peak.frequency));
    map.insert("magnitude".into(), Dynamic::from_float(peak.magnitude));
    Dynamic::from_map(map)
}

fn register_spectrum_peaks(registrar: &mut Registrar<'_>) {
    FuncRegistration::new("peak_frequency")
        .with_params_info(["spectrum: Spectrum", "f64"])
        .with_comments([
            "/// The frequency of the largest bin, DC left out unless it is the only one.",
        ])
        .register_into_engine(
            registrar.engine(),
            |s: &mut SpectrumValue| -> Result<f64, Box<EvalAltResult>> {
                s.spectrum
                    .peak_frequency()
                    .map_err(|error| spectral_error("peak_frequency", error))
            },
        );
    FuncRegistration::new("peak")
        .with_params_info(["spectrum: Spectrum", "Map"])
        .with_comments(["/// The largest bin (DC left out) as #{bin, frequency, magnitude}."])
        .register_into_engine(
            registrar.engine(),
            |s: &mut SpectrumValue| -> Result<Dynamic, Box<EvalAltResult>> {
                let peak = s.spectrum.peak().map_err(|e| spectral_error("peak", e))?;
                Ok(peak_map(&peak))
            },
        );

    let context = registrar.context();
    FuncRegistration::new("peaks")
        .with_params_info(["spectrum: Spectrum", "k: i64", "Array"])
        .with_comments([
            "/// The k highest local maxima of the magnitude, highest first, each",
            "/// #{bin, frequency, magnitude}.",
        ])
        .register_into_engine(
            registrar.engine(),
            move |s: &mut SpectrumValue, k: i64| -> Result<rhai::Array, Box<EvalAltResult>> {
                if !(1..=MAX_PEAKS).contains(&k) {
                    return Err(format!("peaks: k {k} is not valid; use 1..={MAX_PEAKS}").into());
                }
                let progress = JobProgress::new(&context, &format!("peaks of {}", s.label), true);
                let peaks = s
                    .spectrum
                    .peaks(k as usize, &progress)
                    .map_err(|error| spectral_error("peaks", error))?;
                progress.finish(&format!("{} peaks", peaks.len()));
                Ok(peaks.iter().map(peak_map).collect())
            },
        );
}

fn register_psd(registrar: &mut Registrar<'_>) {
    registrar.register_type::<PsdValue>("Psd");
    let engine = registrar.engine();
    engine.register_fn("frequencies", |p: &mut PsdValue| {
        in_memory(p.psd.frequencies(), format!("frequencies of {}", p.label))
    });
    engine.register_fn("values", |p: &mut PsdValue| {
        in_memory(p.psd.values(), format!("values of {}", p.label))
    });
    engine.register_fn("peak_frequency", |p: &mut PsdValue| p.psd.peak_frequency());
    engine.register_get("len", |p: &mut PsdValue| p.psd.values().len() as i64);
    engine.register_get("resolution", |p: &mut PsdValue| p.psd.frequency_step());
    engine.register_get("segments", |p: &mut PsdValue| p.psd.segments() as i64);
    engine.register_get("label", |p: &mut PsdValue| p.label.clone());
}

fn register_spectrogram(registrar: &mut Registrar<'_>) {
    registrar.register_type::<SpectrogramValue>("Spectrogram");
    let engine = registrar.engine();
    engine.register_fn("frequencies", |g: &mut SpectrogramValue| {
        in_memory(
            g.spectrogram.frequencies(),
            format!("frequencies of {}", g.label),
        )
    });
    engine.register_fn("times", |g: &mut SpectrogramValue| {
        in_memory(g.spectrogram.times(), format!("times of {}", g.label))
    });
    engine.register_get("frames", |g: &mut SpectrogramValue| {
        g.spectrogram.frames() as i64
    });
    engine.register_get("bins", |g: &mut SpectrogramValue| {
        g.spectrogram.bins() as i64
    });
    engine.register_get("resolution", |g: &mut SpectrogramValue| {
        g.spectrogram.frequency_step()
    });
    engine.register_get("time_step", |g: &mut SpectrogramValue| {
        g.spectrogram.time_step()
    });
    engine.register_get("out_of_core", |g: &mut SpectrogramValue| {
        g.spectrogram.is_out_of_core()
    });
    engine.register_get("label", |g: &mut SpectrogramValue| g.label.clone());
    engine.register_fn("peak", |g: &mut SpectrogramValue| {
        let (frequency, time) = g.spectrogram.peak();
        let mut map = Map::new();
        map.insert("frequency".into(), Dynamic::from_float(frequency));
        map.insert("time".into(), Dynamic::from_float(time));
        map
    });
    register_spectrogram_values(registrar);
}

fn register_spectrogram_values(registrar: &mut Registrar<'_>) {
    FuncRegistration::new("values")
        .with_params_info(["spectrogram: Spectrogram", "Signal"])
        .with_comments([
            "/// Every value as one lazy signal, frame after frame: value (frame f, bin b)",
            "/// is sample f × bins + b (the transpose of scipy's (frequencies, times)).",
        ])
        .register_into_engine(registrar.engine(), |g: &mut SpectrogramValue| {
            indexed(g.spectrogram.as_source(), format!("values of {}", g.label))
        });
    FuncRegistration::new("frame")
        .with_params_info(["spectrogram: Spectrogram", "index: i64", "Signal"])
        .with_comments(["/// The values of frame `index`, one per frequency bin."])
        .register_into_engine(
            registrar.engine(),
            |g: &mut SpectrogramValue, index: i64| -> Result<Signal, Box<EvalAltResult>> {
                let frames = g.spectrogram.frames() as i64;
                if !(0..frames).contains(&index) {
                    return Err(format!(
                        "frame: index {index} is outside the spectrogram's {frames} frames; use 0..{frames}"
                    )
                    .into());
                }
                let values = g
                    .spectrogram
                    .frame(index as u64)
                    .map_err(|error| spectral_error("frame", error))?;
                Ok(in_memory(&values, format!("frame {index} of {}", g.label)))
            },
        );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_name_catches_typos_only() {
        assert_eq!(closest("npreseg", WELCH_OPTIONS), Some("nperseg"));
        assert_eq!(closest("windw", WELCH_OPTIONS), Some("window"));
        assert_eq!(closest("zzzzzzzz", WELCH_OPTIONS), None);
    }

    #[test]
    fn budgets_read_from_text_or_bytes() {
        let text = parse_budget(&Dynamic::from("64MiB")).unwrap();
        assert_eq!(text.bytes(), 64 << 20);
        assert_eq!(
            parse_budget(&Dynamic::from_int(4096)).unwrap().bytes(),
            4096
        );
        assert!(parse_budget(&Dynamic::from_int(0)).is_err());
        assert!(parse_budget(&Dynamic::from("lots")).is_err());
    }

    #[test]
    fn window_pairs_read_as_name_and_parameter() {
        let pair: rhai::Array = vec![Dynamic::from("tukey"), Dynamic::from_float(0.25)];
        assert_eq!(window_pair(&pair).unwrap(), "tukey:0.25");
        assert!(window_pair(&vec![Dynamic::from("tukey")]).is_none());
    }
}
