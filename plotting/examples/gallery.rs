//! Writes one PNG of every plot kind into a folder, for looking at them:
//! `cargo run -p plotting --example gallery -- /tmp/gallery`. The inputs
//! are synthetic (tones, a chirp, seeded noise), so the files are the same
//! on every run.

use std::f64::consts::PI;
use std::sync::Arc;

use plotting::{PlotInput, PlotOptions, Series, SpectrogramData, UniformAxis, plot};
use signal::{Complex64, ComplexVector, RealVector, Silent, Source};

/// A seeded uniform generator in [-1, 1) (xorshift64*).
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11;
        bits as f64 / (1u64 << 52) as f64 - 1.0
    }
}

fn tones(len: usize, rate: f64) -> RealVector {
    let mut noise = Noise(7);
    let values = (0..len)
        .map(|i| {
            let t = i as f64 / rate;
            let envelope = 1.0 + 0.5 * (2.0 * PI * 0.3 * t).sin();
            envelope * (2.0 * PI * 440.0 * t).sin() * 0.6 + 0.05 * noise.next()
        })
        .collect();
    RealVector::new(values).with_sample_rate(rate)
}

fn spectrum(bins: usize) -> ComplexVector {
    let mut noise = Noise(11);
    let values = (0..bins)
        .map(|k| {
            let peak =
                |centre: f64, height: f64| height / (1.0 + ((k as f64 - centre) / 3.0).powi(2));
            let level = 0.01 + peak(2043.0, 40.0) + peak(9500.0, 12.0) + peak(15_000.0, 5.0);
            Complex64::from_polar(level * (1.0 + 0.3 * noise.next()), noise.next() * PI)
        })
        .collect();
    ComplexVector::new(values)
}

fn chirp_spectrogram() -> SpectrogramData {
    let (frames, bins) = (600usize, 257usize);
    let mut noise = Noise(3);
    let mut grid = Vec::with_capacity(frames * bins);
    for frame in 0..frames {
        let centre = 20.0 + 200.0 * frame as f64 / frames as f64;
        for bin in 0..bins {
            let tone = (-((bin as f64 - centre) / 2.0).powi(2)).exp();
            let harmonic = 0.1 * (-((bin as f64 - centre / 2.0) / 2.0).powi(2)).exp();
            grid.push(tone + harmonic + 1e-6 * (1.5 + noise.next()));
        }
    }
    SpectrogramData {
        grid: Arc::new(RealVector::new(grid)),
        frames,
        bins,
        times: UniformAxis::new(0.0116, 0.0232),
        frequencies: UniformAxis::new(0.0, 44_100.0 / 512.0),
    }
}

fn save(folder: &str, name: &str, input: &PlotInput, options: &PlotOptions) {
    let figure = plot(input, options, &Silent).expect("plot");
    std::fs::write(format!("{folder}/{name}.png"), &figure.png).expect("write");
    println!("{name}: {}", figure.summary);
}

fn main() {
    let folder = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "gallery".to_string());
    std::fs::create_dir_all(&folder).expect("create folder");
    let title = |text: &str| PlotOptions {
        title: Some(text.to_string()),
        ..PlotOptions::default()
    };

    let signal: Arc<dyn Source> = Arc::new(tones(1_234_567, 44_100.0));
    save(
        &folder,
        "line",
        &Series::Signal(signal.clone()).into(),
        &title("Recording, channel 0"),
    );
    let small = PlotOptions {
        width: 320,
        height: 180,
        ..title("Small")
    };
    save(
        &folder,
        "small",
        &Series::Signal(signal.clone()).into(),
        &small,
    );

    let bins = Arc::new(spectrum(22_051));
    let frequencies = UniformAxis::new(0.0, 1.0);
    let spectrum = Series::Spectrum { bins, frequencies };
    let options = PlotOptions {
        db: true,
        peaks: 3,
        ..title("Spectrum")
    };
    save(&folder, "spectrum", &spectrum.clone().into(), &options);
    let options = PlotOptions {
        log_x: true,
        log_y: true,
        ..title("Spectrum, log axes")
    };
    save(&folder, "spectrum_log", &spectrum.into(), &options);

    save(
        &folder,
        "spectrogram",
        &Series::Spectrogram(chirp_spectrogram()).into(),
        &title("Chirp"),
    );

    let x: Vec<f64> = (0..500)
        .map(|i| (i as f64 * 0.05).cos() * (1.0 + i as f64 / 250.0))
        .collect();
    let y: Vec<f64> = (0..500)
        .map(|i| (i as f64 * 0.05).sin() * (1.0 + i as f64 / 250.0))
        .collect();
    let xy = Series::Xy {
        x: Arc::new(RealVector::new(x)),
        y: Arc::new(RealVector::new(y)),
    };
    save(&folder, "xy", &xy.into(), &title("Spiral"));

    let several = PlotInput::several((0..3).map(|k| {
        let values: Vec<f64> = (0..2000)
            .map(|i| ((i as f64) * 0.01 * (k + 1) as f64).sin() + k as f64)
            .collect();
        let series = Series::Signal(Arc::new(RealVector::new(values).with_sample_rate(1000.0)));
        (series, Some(format!("sensor {k}")))
    }));
    save(&folder, "several", &several, &title("Three sensors"));
}
