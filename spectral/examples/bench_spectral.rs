//! The Rust side of `scripts/bench-spectral.sh`: times `rfft` (plans
//! warmed, planning timed apart), `welch`, and the out-of-core `rfft` of a
//! raw f64 file, and prints one JSON object per measurement with the
//! peak resident memory (VmHWM) and the peak anonymous memory (RssAnon,
//! sampled every 5 ms). Comparison with numpy / scipy is the script's job.
//!
//! Usage:
//!   bench rfft LOG2_MIN LOG2_MAX
//!   bench welch LOG2_LEN NPERSEG
//!   bench make-file PATH LOG2_LEN
//!   bench read-file PATH
//!   bench out-of-core PATH BUDGET SCRATCH_DIR

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use signal::{RealVector, SignalError, Silent, Source, SourceInfo};
use spectral::{FftOptions, MemoryBudget, WelchOptions, prepare_rfft, rfft, welch};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).cloned().unwrap_or_else(|| usage());
    match arg(0).as_str() {
        "rfft" => bench_rfft(number(&arg(1)), number(&arg(2))),
        "welch" => bench_welch(number(&arg(1)), number(&arg(2)) as usize),
        "make-file" => make_file(&arg(1), number(&arg(2))),
        "read-file" => read_file(&arg(1)),
        "out-of-core" => out_of_core(&arg(1), &arg(2), &arg(3)),
        _ => usage(),
    }
}

fn usage() -> ! {
    eprintln!(
        "usage: bench rfft MIN MAX | welch LOG2_LEN NPERSEG | make-file PATH LOG2_LEN | read-file PATH | out-of-core PATH BUDGET DIR"
    );
    std::process::exit(2)
}

fn number(text: &str) -> u32 {
    text.parse().unwrap_or_else(|_| usage())
}

/// Deterministic noise, cheap to make.
fn noise(len: usize, seed: u64) -> Vec<f64> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        })
        .collect()
}

fn median_ms(mut times: Vec<Duration>) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64() * 1e3
}

fn bench_rfft(log2_min: u32, log2_max: u32) {
    let options = FftOptions::default();
    for log2 in log2_min..=log2_max {
        let len = 1usize << log2;
        let source = RealVector::new(noise(len, log2 as u64));

        let started = Instant::now();
        prepare_rfft(len as u64);
        let planning = started.elapsed().as_secs_f64() * 1e3;

        let repeats = (1 << 26 >> log2).clamp(5, 50);
        let times = (0..repeats)
            .map(|_| {
                let started = Instant::now();
                let spectrum = rfft(&source, &options, &Silent).expect("rfft");
                let elapsed = started.elapsed();
                drop(spectrum);
                elapsed
            })
            .collect();
        println!(
            "{{\"case\": \"rfft\", \"log2\": {log2}, \"plan_ms\": {planning:.3}, \"median_ms\": {:.4}, \"repeats\": {repeats}, \"peak_rss_mib\": {:.1}}}",
            median_ms(times),
            status_kib("VmHWM") as f64 / 1024.0
        );
    }
}

fn bench_welch(log2_len: u32, nperseg: usize) {
    let source = RealVector::new(noise(1 << log2_len, 7));
    let options = WelchOptions {
        nperseg: Some(nperseg),
        ..WelchOptions::default()
    };
    welch(&source, &options, &Silent).expect("welch warm-up");
    let times = (0..3)
        .map(|_| {
            let started = Instant::now();
            welch(&source, &options, &Silent).expect("welch");
            started.elapsed()
        })
        .collect();
    println!(
        "{{\"case\": \"welch\", \"log2\": {log2_len}, \"nperseg\": {nperseg}, \"median_ms\": {:.2}, \"peak_rss_mib\": {:.1}}}",
        median_ms(times),
        status_kib("VmHWM") as f64 / 1024.0
    );
}

fn make_file(path: &str, log2_len: u32) {
    let mut out = BufWriter::with_capacity(8 << 20, File::create(path).expect("create"));
    let block = 1 << 20;
    for index in 0..(1u64 << log2_len) / block as u64 {
        let bytes: Vec<u8> = noise(block, index + 1)
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        out.write_all(&bytes).expect("write");
    }
    out.flush().expect("flush");
}

fn read_file(path: &str) {
    let mut file = File::open(path).expect("open");
    let mut buffer = vec![0u8; 8 << 20];
    let started = Instant::now();
    let mut total = 0u64;
    loop {
        let count = file.read(&mut buffer).expect("read");
        if count == 0 {
            break;
        }
        total += count as u64;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!("{{\"case\": \"read-file\", \"bytes\": {total}, \"seconds\": {seconds:.2}}}");
}

/// Raw little-endian f64 samples in a file, read with positioned reads.
struct FileSource {
    file: File,
    len: u64,
}

impl Source for FileSource {
    fn info(&self) -> SourceInfo {
        SourceInfo {
            len: self.len,
            sample_rate: None,
            units: None,
        }
    }

    fn read_into(&self, start: u64, buffer: &mut [f64]) -> Result<(), SignalError> {
        signal::check_range(start, buffer.len(), self.len)?;
        let mut bytes = vec![0u8; buffer.len() * 8];
        self.file
            .read_exact_at(&mut bytes, start * 8)
            .map_err(SignalError::read)?;
        for (value, chunk) in buffer.iter_mut().zip(bytes.chunks_exact(8)) {
            *value = f64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        }
        Ok(())
    }
}

fn out_of_core(path: &str, budget: &str, dir: &str) {
    let file = File::open(path).expect("open");
    let len = file.metadata().expect("metadata").len() / 8;
    let source = FileSource { file, len };
    let options = FftOptions {
        budget: MemoryBudget::parse(budget).expect("budget"),
        scratch_dir: Some(dir.into()),
        ..FftOptions::default()
    };

    let sampler = AnonSampler::start();
    let started = Instant::now();
    let spectrum = rfft(&source, &options, &Silent).expect("out-of-core rfft");
    let seconds = started.elapsed().as_secs_f64();
    let peak_anon = sampler.stop();

    println!(
        "{{\"case\": \"out-of-core\", \"len\": {len}, \"budget\": \"{budget}\", \"out_of_core\": {}, \"seconds\": {seconds:.2}, \"peak_anon_mib\": {:.1}, \"peak_rss_mib\": {:.1}}}",
        spectrum.is_out_of_core(),
        peak_anon as f64 / 1024.0,
        status_kib("VmHWM") as f64 / 1024.0
    );
}

/// A field of /proc/self/status in KiB.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|line| line.starts_with(field))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|value| value.parse().ok())
        .unwrap_or(0)
}

/// Samples RssAnon every 5 ms in a thread and keeps the largest.
struct AnonSampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: std::thread::JoinHandle<()>,
}

impl AnonSampler {
    fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(0));
        let (stop_flag, peak_value) = (stop.clone(), peak.clone());
        let thread = std::thread::spawn(move || {
            while !stop_flag.load(Ordering::Relaxed) {
                peak_value.fetch_max(status_kib("RssAnon"), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        Self { stop, peak, thread }
    }

    fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
        self.peak.load(Ordering::Relaxed)
    }
}
