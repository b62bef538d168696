//! The benchmark driver behind `scripts/bench-plotting.sh` (run it in a
//! release build):
//!
//! - `bench line N OUT.png`: plots an N-point sine with noise held in
//!   memory to a 1000×400 PNG, five times, and prints the median time;
//! - `bench stream N OUT.png`: plots an N-sample synthetic lazy source (no
//!   file, samples computed on read) and prints the time, the time of one
//!   bare pass reading the same source, and the process's peak resident
//!   memory (VmHWM).

use std::sync::Arc;
use std::time::Instant;

use plotting::{PlotOptions, Series, plot};
use signal::{RealVector, SignalError, Silent, Source, SourceInfo, check_range, for_each_chunk};

/// A noisy triangle wave computed on read: nothing is stored.
struct Synthetic {
    len: u64,
}

fn noise(index: u64) -> f64 {
    let mut x = index.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    x ^= x >> 29;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 32;
    (x >> 11) as f64 / (1u64 << 53) as f64 - 0.5
}

impl Source for Synthetic {
    fn info(&self) -> SourceInfo {
        SourceInfo {
            len: self.len,
            sample_rate: Some(48_000.0),
            units: None,
        }
    }

    fn read_into(&self, start: u64, buffer: &mut [f64]) -> Result<(), SignalError> {
        check_range(start, buffer.len(), self.len)?;
        for (i, out) in buffer.iter_mut().enumerate() {
            let index = start + i as u64;
            let phase = (index % 4_800_000) as f64 / 4_800_000.0;
            *out = (2.0 * phase - 1.0).abs() + 0.2 * noise(index);
        }
        Ok(())
    }
}

fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn options() -> PlotOptions {
    PlotOptions {
        width: 1000,
        height: 400,
        title: Some("benchmark".into()),
        ..PlotOptions::default()
    }
}

fn line(len: usize, out: &str) {
    let values: Vec<f64> = (0..len)
        .map(|i| (i as f64 * 2e-4).sin() + 0.3 * noise(i as u64))
        .collect();
    let input = Series::Signal(Arc::new(RealVector::new(values).with_sample_rate(48_000.0))).into();
    let mut times = Vec::new();
    let mut png = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        png = plot(&input, &options(), &Silent).expect("plot").png;
        times.push(start.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    std::fs::write(out, png).expect("write png");
    println!("rust_line_seconds {:.4}", times[2]);
}

fn stream(len: u64, out: &str) {
    let input = Series::Signal(Arc::new(Synthetic { len })).into();
    let start = Instant::now();
    let figure = plot(&input, &options(), &Silent).expect("plot");
    let seconds = start.elapsed().as_secs_f64();
    std::fs::write(out, &figure.png).expect("write png");
    println!("rust_stream_seconds {seconds:.3}");
    let start = Instant::now();
    let mut sum = 0.0;
    for_each_chunk(&Synthetic { len }, 1 << 18, &Silent, |_, samples| {
        sum += samples.iter().sum::<f64>();
        Ok(())
    })
    .expect("read");
    println!("rust_read_seconds {:.3}", start.elapsed().as_secs_f64());
    std::hint::black_box(sum);
    println!("rust_stream_vmhwm_kib {}", peak_memory_kib().unwrap_or(0));
    println!("rust_stream_summary {}", figure.summary);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: bench (line|stream) N OUT.png";
    let (mode, count, out) = match args.as_slice() {
        [_, mode, count, out] => (
            mode.as_str(),
            count.parse::<f64>().expect(usage) as u64,
            out.as_str(),
        ),
        _ => panic!("{usage}"),
    };
    match mode {
        "line" => line(count as usize, out),
        "stream" => stream(count, out),
        _ => panic!("{usage}"),
    }
}
