//! The public surface end to end: every PNG is decoded with the `png`
//! crate and checked for its size, ink inside the plot area and ink where
//! the labels and title go; determinism, log axes, errors, cancellation,
//! progress and bounded reads are checked through `plot` alone.

use std::io::Cursor;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use plotting::{
    Figure, OptionValue, PlotError, PlotInput, PlotKind, PlotOptions, Series, SpectrogramData,
    UniformAxis, plot,
};
use signal::{
    CancelFlag, Complex64, ComplexVector, Progress, RealVector, SignalError, Silent, Source,
    SourceInfo,
};

/// Decoded RGB pixels of a figure.
struct Image {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

impl Image {
    fn decode(figure: &Figure) -> Self {
        let mut reader = png::Decoder::new(Cursor::new(&figure.png))
            .read_info()
            .unwrap();
        let mut rgb = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut rgb).unwrap();
        assert_eq!(info.color_type, png::ColorType::Rgb);
        rgb.truncate(info.buffer_size());
        Self {
            width: info.width,
            height: info.height,
            rgb,
        }
    }

    fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let at = (y as usize * self.width as usize + x as usize) * 3;
        [self.rgb[at], self.rgb[at + 1], self.rgb[at + 2]]
    }

    /// Pixels in `xs × ys` darker than the grid (text, axes, lines).
    fn ink(&self, xs: std::ops::Range<u32>, ys: std::ops::Range<u32>) -> usize {
        let mut count = 0;
        for y in ys {
            for x in xs.clone() {
                let [r, g, b] = self.pixel(x, y);
                if u32::from(r) + u32::from(g) + u32::from(b) < 3 * 200 {
                    count += 1;
                }
            }
        }
        count
    }

    fn count_colour(&self, colour: [u8; 3]) -> usize {
        self.rgb.chunks(3).filter(|p| *p == colour).count()
    }
}

fn sine(len: usize, rate: f64) -> Arc<dyn Source> {
    let values = (0..len)
        .map(|i| (i as f64 * 2.0 * std::f64::consts::PI * 5.0 / rate).sin())
        .collect();
    Arc::new(RealVector::new(values).with_sample_rate(rate))
}

fn titled(title: &str) -> PlotOptions {
    PlotOptions {
        title: Some(title.to_string()),
        ..PlotOptions::default()
    }
}

#[test]
fn a_line_plot_has_ink_in_the_plot_the_labels_and_the_title() {
    let figure = plot(
        &Series::Signal(sine(100_000, 8000.0)).into(),
        &titled("Sine"),
        &Silent,
    )
    .unwrap();
    let image = Image::decode(&figure);
    let area = figure.plot_area;

    assert_eq!((image.width, image.height), (1000, 400));
    assert_eq!((figure.width, figure.height), (1000, 400));
    let inside = image.ink(area.x..area.x + area.width, area.y..area.y + area.height);
    assert!(inside > 5_000, "ink inside the plot area: {inside}");
    let title = image.ink(area.x..area.x + area.width, 0..area.y - 2);
    assert!(title > 50, "ink in the title band: {title}");
    let x_labels = image.ink(
        area.x..area.x + area.width,
        area.y + area.height + 2..image.height,
    );
    assert!(x_labels > 200, "ink under the x axis: {x_labels}");
    let y_labels = image.ink(0..area.x - 2, area.y..area.y + area.height);
    assert!(y_labels > 200, "ink left of the y axis: {y_labels}");
}

#[test]
fn the_same_input_gives_the_same_bytes() {
    let input: PlotInput = Series::Signal(sine(54_321, 1000.0)).into();
    let options = PlotOptions {
        title: Some("Twice".into()),
        peaks: 2,
        ..PlotOptions::default()
    };
    let first = plot(&input, &options, &Silent).unwrap();
    let second = plot(&input, &options, &Silent).unwrap();
    assert_eq!(first.png, second.png);
    assert_eq!(first.summary, second.summary);
}

#[test]
fn the_summary_names_samples_duration_rate_and_size() {
    let figure = plot(
        &Series::Signal(sine(1_234_567, 44_100.0)).into(),
        &PlotOptions::default(),
        &Silent,
    )
    .unwrap();
    // 1,234,567 / 44,100 = 27.9947... s
    assert_eq!(
        figure.summary,
        "line plot of 1,234,567 samples (27.99 s at 44100 Hz), 1000×400 px"
    );
}

fn spectrum_with_zeros() -> Series {
    let bins: Vec<Complex64> = (0..4097)
        .map(|k| match k {
            0 | 100..=120 => Complex64::new(0.0, 0.0),
            1000 => Complex64::new(30.0, 40.0),
            _ => Complex64::new(1.0 + (k % 7) as f64, 0.5),
        })
        .collect();
    Series::Spectrum {
        bins: Arc::new(ComplexVector::new(bins)),
        frequencies: UniformAxis::new(0.0, 2.5),
    }
}

#[test]
fn log_axes_clip_zero_bins_instead_of_failing() {
    let options = PlotOptions {
        log_x: true,
        log_y: true,
        ..titled("Log")
    };
    let figure = plot(&spectrum_with_zeros().into(), &options, &Silent).unwrap();
    let image = Image::decode(&figure);
    let area = figure.plot_area;
    assert!(image.ink(area.x..area.x + area.width, area.y..area.y + area.height) > 1_000);
    assert!(
        figure
            .summary
            .starts_with("spectrum plot of 4,097 bins (0 Hz–10.24 kHz)"),
        "{}",
        figure.summary
    );

    let db = PlotOptions {
        db: true,
        peaks: 1,
        ..PlotOptions::default()
    };
    assert!(plot(&spectrum_with_zeros().into(), &db, &Silent).is_ok());
}

#[test]
fn log_y_without_a_positive_value_is_a_clear_error() {
    let values: Arc<dyn Source> = Arc::new(RealVector::new(vec![0.0, -1.0, -2.0, 0.0]));
    let options = PlotOptions {
        log_y: true,
        ..PlotOptions::default()
    };
    let error = plot(&Series::Signal(values).into(), &options, &Silent).unwrap_err();
    assert_eq!(
        error.to_string(),
        "nothing to draw among 4 values: log_y needs positive values; none of them is > 0 and finite"
    );
}

#[test]
fn bad_options_are_refused_with_the_bad_value() {
    let input: PlotInput = Series::Signal(sine(100, 100.0)).into();
    let cases = [
        (
            PlotOptions {
                width: 0,
                ..PlotOptions::default()
            },
            "width 0 is not a valid plot width; use 64..=8192",
        ),
        (
            PlotOptions {
                height: 9000,
                ..PlotOptions::default()
            },
            "height 9000 is not a valid plot height; use 64..=8192",
        ),
        (
            PlotOptions {
                ylim: Some((2.0, 1.0)),
                ..PlotOptions::default()
            },
            "ylim [2, 1] is not a range; give [low, high] with finite low < high",
        ),
        (
            PlotOptions {
                db: true,
                log_y: true,
                ..PlotOptions::default()
            },
            "db and log_y together: decibels are already logarithmic; set only one",
        ),
        (
            PlotOptions {
                kind: Some(PlotKind::Spectrogram),
                ..PlotOptions::default()
            },
            "kind \"spectrogram\" cannot draw a real signal of 100 samples; leave kind out to use the default for this value",
        ),
    ];
    for (options, message) in cases {
        let error = plot(&input, &options, &Silent).unwrap_err();
        assert_eq!(error.to_string(), message);
    }

    let mut options = PlotOptions::default();
    let error = options
        .set("color", OptionValue::Text("blurple".into()))
        .unwrap_err();
    assert!(matches!(error, PlotError::InvalidOption(_)));
    assert!(error.to_string().contains("\"blurple\""));
}

#[test]
fn an_empty_signal_is_refused() {
    let empty: Arc<dyn Source> = Arc::new(RealVector::new(Vec::new()));
    let error = plot(
        &Series::Signal(empty).into(),
        &PlotOptions::default(),
        &Silent,
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "nothing to plot: the input has no samples"
    );
}

#[test]
fn a_cancelled_plot_stops_with_interrupted() {
    let flag = CancelFlag::new();
    flag.cancel();
    let error = plot(
        &Series::Signal(sine(10_000, 100.0)).into(),
        &PlotOptions::default(),
        &flag,
    )
    .unwrap_err();
    assert!(error.is_cancelled());
    assert_eq!(error.to_string(), "interrupted");
}

/// Records the progress calls of a job.
#[derive(Default)]
struct Recorder {
    calls: AtomicUsize,
    last: Mutex<(u64, u64)>,
}

impl Progress for Recorder {
    fn advance(&self, done: u64, total: u64) {
        self.calls.fetch_add(1, Ordering::SeqCst);
        *self.last.lock().unwrap() = (done, total);
    }
}

/// A lazy source of a sawtooth that remembers its largest read.
struct Lazy {
    len: u64,
    largest_read: AtomicU64,
}

impl Source for Lazy {
    fn info(&self) -> SourceInfo {
        SourceInfo {
            len: self.len,
            sample_rate: Some(48_000.0),
            units: Some("V".into()),
        }
    }

    fn read_into(&self, start: u64, buffer: &mut [f64]) -> Result<(), SignalError> {
        signal::check_range(start, buffer.len(), self.len)?;
        self.largest_read
            .fetch_max(buffer.len() as u64, Ordering::SeqCst);
        for (i, out) in buffer.iter_mut().enumerate() {
            *out = ((start + i as u64) % 1000) as f64;
        }
        Ok(())
    }
}

#[test]
fn sources_are_read_in_bounded_chunks_with_progress() {
    let source = Arc::new(Lazy {
        len: 3_000_000,
        largest_read: AtomicU64::new(0),
    });
    let recorder = Recorder::default();
    let figure = plot(
        &Series::Signal(source.clone()).into(),
        &PlotOptions::default(),
        &recorder,
    )
    .unwrap();

    let largest = source.largest_read.load(Ordering::SeqCst);
    assert!(largest <= 1 << 20, "largest read {largest}");
    assert!(recorder.calls.load(Ordering::SeqCst) >= 3);
    let (done, total) = *recorder.last.lock().unwrap();
    assert_eq!(done, total);
    assert!(
        figure
            .summary
            .contains("3,000,000 samples (62.5 s at 48000 Hz)"),
        "{}",
        figure.summary
    );
}

fn spectrogram() -> SpectrogramData {
    let (frames, bins) = (2_000, 129);
    let grid: Vec<f64> = (0..frames * bins)
        .map(|i| {
            let (frame, bin) = (i / bins, i % bins);
            if bin == 20 + frame * 100 / frames {
                1.0
            } else {
                1e-5 * (1.0 + (i % 13) as f64)
            }
        })
        .collect();
    SpectrogramData {
        grid: Arc::new(RealVector::new(grid)),
        frames,
        bins,
        times: UniformAxis::new(0.016, 0.032),
        frequencies: UniformAxis::new(0.0, 62.5),
    }
}

#[test]
fn a_spectrogram_draws_a_heatmap_and_a_colour_bar() {
    let figure = plot(
        &Series::Spectrogram(spectrogram()).into(),
        &titled("Spectrogram"),
        &Silent,
    )
    .unwrap();
    let image = Image::decode(&figure);
    let area = figure.plot_area;
    assert_eq!(
        figure.summary,
        "spectrogram of 2,000 frames × 129 bins (64 s, 0 Hz–8 kHz), 1000×400 px"
    );

    // the loudest colour of viridis (yellow) is on the ridge, the quietest (purple) elsewhere
    let yellow = image.count_colour([254, 232, 37]);
    assert!(yellow > area.width as usize, "yellow pixels: {yellow}");
    let bar_x = area.x + area.width + 20;
    let top = image.pixel(bar_x, area.y + 1);
    let bottom = image.pixel(bar_x, area.y + area.height - 2);
    assert!(
        top[0] > 200 && top[1] > 200 && top[2] < 100,
        "top of the colour bar: {top:?}"
    );
    assert!(
        bottom[0] < 100 && bottom[2] > 60,
        "bottom of the colour bar: {bottom:?}"
    );
    let scale = image.ink(bar_x + 15..image.width, area.y..area.y + area.height);
    assert!(scale > 200, "ink of the colour bar's scale: {scale}");
}

#[test]
fn several_series_get_their_colours_and_a_legend() {
    let input = PlotInput::several([
        (
            Series::Signal(sine(5_000, 1000.0)),
            Some("left".to_string()),
        ),
        (
            Series::Signal(sine(3_000, 1000.0)),
            Some("right".to_string()),
        ),
    ]);
    let figure = plot(&input, &PlotOptions::default(), &Silent).unwrap();
    let image = Image::decode(&figure);
    let area = figure.plot_area;

    assert!(image.count_colour([0x1f, 0x77, 0xb4]) > 500);
    assert!(image.count_colour([0xff, 0x7f, 0x0e]) > 500);
    let legend = image.ink(
        area.x + area.width - 150..area.x + area.width,
        area.y..area.y + 60,
    );
    assert!(legend > 100, "ink in the legend corner: {legend}");
    assert_eq!(
        figure.summary,
        "line plot of 2 series (8,000 points), 1000×400 px"
    );
}

#[test]
fn unordered_xy_pairs_are_drawn_whole() {
    let x: Vec<f64> = (0..2000)
        .map(|i| (i as f64 * 0.01).cos() * i as f64)
        .collect();
    let y: Vec<f64> = (0..2000)
        .map(|i| (i as f64 * 0.01).sin() * i as f64)
        .collect();
    let series = Series::Xy {
        x: Arc::new(RealVector::new(x)),
        y: Arc::new(RealVector::new(y)),
    };
    let options = PlotOptions {
        color: Some("red".parse().unwrap()),
        width: 500,
        height: 500,
        ..PlotOptions::default()
    };
    let figure = plot(&series.into(), &options, &Silent).unwrap();
    let image = Image::decode(&figure);
    assert_eq!((image.width, image.height), (500, 500));
    assert!(image.count_colour([0xd6, 0x27, 0x28]) > 1_000);
    assert_eq!(figure.summary, "x/y plot of 2,000 points, 500×500 px");
}

#[test]
fn kind_overrides_follow_the_table() {
    let psd_values: Arc<dyn Source> =
        Arc::new(RealVector::new((1..=513).map(|k| 1.0 / k as f64).collect()));
    let options = PlotOptions {
        kind: Some(PlotKind::Psd),
        db: true,
        ..PlotOptions::default()
    };
    let figure = plot(&Series::Signal(psd_values).into(), &options, &Silent).unwrap();
    assert_eq!(figure.summary, "psd plot of 513 bins, 1000×400 px");

    let line = PlotOptions {
        kind: Some(PlotKind::Line),
        ..PlotOptions::default()
    };
    let figure = plot(&spectrum_with_zeros().into(), &line, &Silent).unwrap();
    assert!(
        figure.summary.starts_with("line plot of 4,097 bins"),
        "{}",
        figure.summary
    );
}

#[test]
fn the_smallest_and_a_large_canvas_render() {
    for (width, height) in [(64, 64), (2400, 900)] {
        let options = PlotOptions {
            width,
            height,
            ..titled("Sizes")
        };
        let figure = plot(
            &Series::Signal(sine(10_000, 100.0)).into(),
            &options,
            &Silent,
        )
        .unwrap();
        let image = Image::decode(&figure);
        assert_eq!((image.width, image.height), (width, height));
        let spectrogram = plot(
            &Series::Spectrogram(spectrogram()).into(),
            &options,
            &Silent,
        )
        .unwrap();
        assert_eq!(Image::decode(&spectrogram).width, width);
    }
}
