//! Every WAV file of the shared conformance set and of the real
//! recordings, read by our reader and by an independent oracle run at test
//! time: `scipy.io.wavfile.read` normalised to float, or, for G.711 files
//! scipy refuses, a chunk walk in Python decoded by `audioop`. Where the
//! oracle reads a file, our samples must match it (exact for integers,
//! within 1 ulp for floats); where it refuses, we must refuse with a
//! message that names the problem.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bigfile_reader::{
    ByteRange, FileObject, MemoryObject, WavFile, a_law_to_linear, mu_law_to_linear,
};
use signal::Source;

/// For each pair of arguments (a WAV path, an output path) prints
/// "ok RATE CHANNELS FRAMES" and writes the normalised frames (C order,
/// f64) to the output; or prints "refused MESSAGE".
const ORACLE: &str = r#"
import sys, struct, warnings
import numpy as np
from scipy.io import wavfile
warnings.simplefilter("ignore")

def g711(path):
    raw = open(path, "rb").read()
    pos, tag, channels, rate, data = 12, None, None, None, None
    while pos + 8 <= len(raw):
        cid, size = raw[pos:pos+4], struct.unpack("<I", raw[pos+4:pos+8])[0]
        if cid == b"fmt ":
            tag, channels, rate = struct.unpack("<HHI", raw[pos+8:pos+16])
        if cid == b"data":
            data = raw[pos+8:pos+8+size]
            break
        pos += 8 + size + (size & 1)
    import audioop
    decode = {6: audioop.alaw2lin, 7: audioop.ulaw2lin}[tag]
    linear = np.frombuffer(decode(data, 2), dtype="<i2")
    frames = len(linear) // channels
    return rate, linear[:frames * channels].reshape(frames, channels).astype(np.float64) / 32768.0

def answer(path, out):
    try:
        rate, data = wavfile.read(path)
        if data.ndim == 1:
            data = data[:, None]
        if data.dtype.kind == "u":
            values = (data.astype(np.float64) - 128.0) / 128.0
        elif data.dtype.kind == "i":
            values = data.astype(np.float64) / 2.0 ** (8 * data.dtype.itemsize - 1)
        else:
            values = data.astype(np.float64)
    except ValueError as error:
        if "MULAW" in str(error) or "ALAW" in str(error):
            rate, values = g711(path)
        else:
            return "refused " + str(error).replace("\n", " ")
    np.ascontiguousarray(values, dtype="<f8").tofile(out)
    return f"ok {rate} {values.shape[1]} {values.shape[0]}"

arguments = sys.argv[1:]
for path, out in zip(arguments[::2], arguments[1::2]):
    print(answer(path, out))
"#;

/// What the oracle answered for one file.
enum Expected {
    Samples {
        rate: u32,
        channels: usize,
        frames: u64,
        values: Vec<f64>,
    },
    Refused(String),
}

/// The oracle's answers for `paths`, in one Python run.
fn oracle(paths: &[PathBuf]) -> Vec<Expected> {
    let outputs: Vec<tempfile::NamedTempFile> = paths
        .iter()
        .map(|_| tempfile::NamedTempFile::new().unwrap())
        .collect();
    let mut arguments = Vec::new();
    for (path, out) in paths.iter().zip(&outputs) {
        arguments.push(path.to_str().unwrap().to_owned());
        arguments.push(out.path().to_str().unwrap().to_owned());
    }
    let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
    let answer = support::run_python(ORACLE, &arguments);
    answer
        .lines()
        .zip(&outputs)
        .map(|(line, out)| parse_answer(line, out.path()))
        .collect()
}

fn parse_answer(line: &str, out: &Path) -> Expected {
    let words: Vec<&str> = line.split_whitespace().collect();
    if words.first() == Some(&"refused") {
        return Expected::Refused(words[1..].join(" "));
    }
    Expected::Samples {
        rate: words[1].parse().unwrap(),
        channels: words[2].parse().unwrap(),
        frames: words[3].parse().unwrap(),
        values: support::read_f64_file(out),
    }
}

/// Units in the last place between two finite floats.
fn ulps(a: f64, b: f64) -> u64 {
    let key = |x: f64| {
        let bits = x.to_bits() as i64;
        if bits < 0 { i64::MIN - bits } else { bits }
    };
    key(a).abs_diff(key(b))
}

fn check_samples(path: &Path, wav: &WavFile, frames: u64, values: &[f64], integer: bool) {
    let channels = wav.channels();
    assert_eq!(
        values.len() as u64,
        frames * channels as u64,
        "{}: oracle size",
        path.display()
    );
    for channel in 0..channels {
        let mut ours = vec![0.0; frames as usize];
        wav.channel(channel)
            .unwrap()
            .read_into(0, &mut ours)
            .unwrap();
        for (frame, &value) in ours.iter().enumerate() {
            let expected = values[frame * channels + channel];
            let close = if integer {
                value == expected
            } else {
                ulps(value, expected) <= 1
            };
            assert!(
                close,
                "{}: channel {channel} frame {frame}: ours {value}, oracle {expected}",
                path.display()
            );
        }
    }
}

/// Checks every file against the oracle; returns one outcome line each.
fn check_files(paths: &[PathBuf]) -> Vec<String> {
    let expected = oracle(paths);
    assert_eq!(
        expected.len(),
        paths.len(),
        "the oracle answered {} of {} files",
        expected.len(),
        paths.len()
    );
    paths
        .iter()
        .zip(expected)
        .map(|(path, expected)| check_file(path, expected))
        .collect()
}

fn check_one(path: &Path) -> String {
    check_files(&[path.to_path_buf()]).remove(0)
}

fn check_file(path: &Path, expected: Expected) -> String {
    let object: Arc<dyn ByteRange> = Arc::new(FileObject::open(path).unwrap());
    let ours = WavFile::open(object);
    match (expected, ours) {
        (
            Expected::Samples {
                rate,
                channels,
                frames,
                values,
            },
            Ok(wav),
        ) => {
            assert_eq!(
                (wav.sample_rate(), wav.channels(), wav.frames()),
                (rate, channels, frames),
                "{}",
                path.display()
            );
            let integer = wav.format().format_tag != 3;
            check_samples(path, &wav, frames, &values, integer);
            format!("read {}", wav.summary())
        }
        (Expected::Samples { .. }, Err(error)) => panic!(
            "{}: the oracle reads it, we refuse: {error}",
            path.display()
        ),
        (Expected::Refused(reason), Ok(wav)) => {
            panic!(
                "{}: the oracle refuses it ({reason}), we read {}",
                path.display(),
                wav.summary()
            )
        }
        (Expected::Refused(_), Err(error)) => {
            let message = error.to_string();
            assert!(
                message.len() > 20 && !message.contains("panicked"),
                "vague refusal: {message}"
            );
            format!("refused: {message}")
        }
    }
}

#[test]
fn every_conformance_file_matches_scipy_or_is_refused_by_name() {
    let files = support::wav_files(&support::shared_data().join("wav-conformance"));
    assert!(
        files.len() >= 20,
        "conformance set missing: {} files",
        files.len()
    );
    for (path, outcome) in files.iter().zip(check_files(&files)) {
        eprintln!("{}: {outcome}", path.file_name().unwrap().to_string_lossy());
    }
}

#[test]
fn real_recordings_match_scipy() {
    let mut files = support::wav_files(&support::shared_data().join("recordings"));
    files.push(support::workspace_root().join("notebooks/data/speaker-positions.wav"));
    let files: Vec<PathBuf> = files.into_iter().filter(|path| path.exists()).collect();
    for (path, outcome) in files.iter().zip(check_files(&files)) {
        assert!(outcome.starts_with("read"), "{}: {outcome}", path.display());
    }
}

/// Writes a small WAV with a format tag and raw data bytes, as a byte
/// vector; the fmt chunk is a plain 16-byte one.
fn wav_bytes(tag: u16, channels: u16, rate: u32, bits: u16, data: &[u8]) -> Vec<u8> {
    let block_align = channels * bits.div_ceil(8);
    let mut bytes = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
    bytes.extend_from_slice(&16u32.to_le_bytes());
    bytes.extend_from_slice(&tag.to_le_bytes());
    bytes.extend_from_slice(&channels.to_le_bytes());
    bytes.extend_from_slice(&rate.to_le_bytes());
    bytes.extend_from_slice(&(rate * u32::from(block_align)).to_le_bytes());
    bytes.extend_from_slice(&block_align.to_le_bytes());
    bytes.extend_from_slice(&bits.to_le_bytes());
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&(data.len() as u32).to_le_bytes());
    bytes.extend_from_slice(data);
    if data.len() % 2 == 1 {
        bytes.push(0);
    }
    let riff_size = (bytes.len() - 8) as u32;
    bytes[4..8].copy_from_slice(&riff_size.to_le_bytes());
    bytes
}

#[test]
fn a_law_file_matches_audioop() {
    let codes: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
    let file = tempfile::Builder::new().suffix(".wav").tempfile().unwrap();
    std::fs::write(file.path(), wav_bytes(6, 2, 8000, 8, &codes)).unwrap();

    let outcome = check_one(file.path());

    assert!(outcome.starts_with("read A-law"), "{outcome}");
}

#[test]
fn g711_tables_match_audioop_for_every_byte() {
    let answer = support::run_python(
        "import audioop, numpy as np\n\
         for f in (audioop.ulaw2lin, audioop.alaw2lin):\n\
         \x20   print(' '.join(map(str, np.frombuffer(f(bytes(range(256)), 2), '<i2'))))",
        &[],
    );
    let mut lines = answer.lines();
    let parse = |line: &str| {
        line.split(' ')
            .map(|v| v.parse::<i16>().unwrap())
            .collect::<Vec<_>>()
    };
    let mu_law: Vec<i16> = (0..=255).map(mu_law_to_linear).collect();
    let a_law: Vec<i16> = (0..=255).map(a_law_to_linear).collect();

    assert_eq!(mu_law, parse(lines.next().unwrap()));
    assert_eq!(a_law, parse(lines.next().unwrap()));
}

#[test]
fn odd_chunks_and_streamed_sizes_read_like_scipy() {
    // a padded odd LIST chunk before data, then data sizes 0xFFFFFFFF and
    // a truncated tail: scipy reads the first two with the true sizes.
    let samples: Vec<u8> = (0..40i16).flat_map(|v| (v * 811).to_le_bytes()).collect();
    let plain = wav_bytes(1, 2, 16000, 16, &samples);
    let mut with_list = plain[..36].to_vec();
    with_list.extend_from_slice(b"LIST\x03\0\0\0abc\0");
    with_list.extend_from_slice(&plain[36..]);
    let riff_size = (with_list.len() - 8) as u32;
    with_list[4..8].copy_from_slice(&riff_size.to_le_bytes());

    let mut streamed = plain.clone();
    streamed[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
    streamed[4..8].copy_from_slice(&u32::MAX.to_le_bytes());

    for (name, bytes) in [("odd LIST", with_list), ("streamed", streamed)] {
        let file = tempfile::Builder::new().suffix(".wav").tempfile().unwrap();
        std::fs::write(file.path(), &bytes).unwrap();
        let outcome = check_one(file.path());
        assert!(
            outcome.starts_with("read PCM 16-bit, 2 channel(s), 16000 Hz, 20 frames"),
            "{name}: {outcome}"
        );
    }
}

#[test]
fn a_truncated_file_reads_its_whole_frames_with_a_warning() {
    let samples: Vec<u8> = (0..40i16).flat_map(|v| v.to_le_bytes()).collect();
    let mut bytes = wav_bytes(1, 2, 16000, 16, &samples);
    bytes.truncate(bytes.len() - 5);

    let wav = WavFile::open(Arc::new(MemoryObject::new(bytes))).unwrap();

    assert_eq!(wav.frames(), 18);
    assert!(
        wav.warnings()
            .iter()
            .any(|warning| warning.contains("truncated")),
        "{:?}",
        wav.warnings()
    );
}

#[test]
fn compressed_formats_are_refused_by_name() {
    let bytes = wav_bytes(2, 1, 8000, 4, &[0; 16]);
    let error = WavFile::open(Arc::new(MemoryObject::new(bytes)))
        .err()
        .unwrap();
    assert!(error.to_string().contains("Microsoft ADPCM"), "{error}");
}
