//! Benchmark driver for scripts/bench-reader.sh; prints figures, asserts
//! nothing about time.
//!
//!     bench_reader stream <portal url> <module/id>   # BigFileReader, 8 MiB reads
//!     bench_reader wav <file.wav>                    # channel(0) rms from disk
//!     bench_reader wav-stream <portal url> <module/id> # channel(0) rms over HTTP
//!
//! Each prints one line: what, bytes, seconds, GB/s, peak RSS in MiB.

use std::sync::Arc;
use std::time::Instant;

use bigfile_reader::{BigFileReader, ConnectOptions, FileObject, Portal, WavFile};
use signal::{Silent, Source, statistics};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    match arguments
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["stream", url, relative_url] => stream(url, relative_url),
        ["wav", path] => wav(path),
        ["wav-stream", url, relative_url] => wav_stream(url, relative_url),
        _ => Err(
            "usage: bench_reader stream <portal url> <module/id> | bench_reader wav <file.wav>"
                .into(),
        ),
    }
}

fn stream(url: &str, relative_url: &str) -> Result<(), Box<dyn std::error::Error>> {
    let options = ConnectOptions::from_env();
    let options = ConnectOptions {
        url: url.to_owned(),
        ..options
    };
    let portal = Portal::connect(&options)?;
    let (module, id) = relative_url.split_once('/').ok_or("expected module/id")?;
    let stream = portal.module(module).get(id)?.into_data_stream()?;

    let start = Instant::now();
    let mut reader = BigFileReader::new(stream.object())?;
    let mut buffer = vec![0u8; 8 << 20];
    let mut total = 0u64;
    let mut checksum = 0u64;
    loop {
        let count = reader.read_into(&mut buffer)?;
        if count == 0 {
            break;
        }
        checksum = checksum.wrapping_add(u64::from(buffer[count - 1]));
        total += count as u64;
    }
    report(
        "BigFileReader sequential read",
        total,
        start.elapsed().as_secs_f64(),
        &format!("last-byte sum {checksum}"),
    );
    Ok(())
}

fn wav_stream(url: &str, relative_url: &str) -> Result<(), Box<dyn std::error::Error>> {
    let options = ConnectOptions {
        url: url.to_owned(),
        ..ConnectOptions::from_env()
    };
    let portal = Portal::connect(&options)?;
    let (module, id) = relative_url.split_once('/').ok_or("expected module/id")?;
    let stream = portal.module(module).get(id)?.into_data_stream()?;

    let start = Instant::now();
    let reader = BigFileReader::new(stream.object())?;
    let summary = statistics(&reader.wav()?.channel(0)?, &Silent)?;
    let detail = format!("rms {:.12}", summary.rms);
    report(
        "WAV channel(0) rms over HTTP",
        stream.size(),
        start.elapsed().as_secs_f64(),
        &detail,
    );
    Ok(())
}

fn wav(path: &str) -> Result<(), Box<dyn std::error::Error>> {
    let start = Instant::now();
    let file = WavFile::open(Arc::new(FileObject::open(path)?))?;
    let summary = statistics(&file.channel(0)?, &Silent)?;
    let bytes = std::fs::metadata(path)?.len();
    report(
        "WAV channel(0) rms",
        bytes,
        start.elapsed().as_secs_f64(),
        &format!("rms {:.12}", summary.rms),
    );

    // the same decode with a plain sum of squares, to show what the
    // compensated statistics cost
    let start = Instant::now();
    let channel = file.channel(0)?;
    let mut sum_of_squares = 0.0;
    signal::for_each_chunk(
        &channel,
        signal::DEFAULT_CHUNK_LEN,
        &Silent,
        |_, samples| {
            sum_of_squares += samples.iter().map(|sample| sample * sample).sum::<f64>();
            Ok(())
        },
    )?;
    let rms = (sum_of_squares / channel.len() as f64).sqrt();
    report(
        "WAV channel(0) decode + plain sum",
        bytes,
        start.elapsed().as_secs_f64(),
        &format!("rms {rms:.12}"),
    );
    Ok(())
}

fn report(what: &str, bytes: u64, seconds: f64, detail: &str) {
    println!(
        "{what}: {bytes} bytes in {seconds:.3} s = {:.2} GB/s, peak RSS {} MiB ({detail})",
        bytes as f64 / seconds / 1e9,
        peak_rss_mib()
    );
}

/// VmHWM from /proc/self/status, in MiB.
fn peak_rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status
        .lines()
        .find(|line| line.starts_with("VmHWM:"))
        .unwrap_or("VmHWM: 0 kB");
    line.split_whitespace()
        .nth(1)
        .and_then(|kb| kb.parse::<u64>().ok())
        .unwrap_or(0)
        / 1024
}
