//! Headerless samples of every integer and float dtype, in both byte
//! orders, read by `RawSamples` and by `numpy.frombuffer` on the same
//! bytes; the values must be equal (NaN payloads aside).

mod support;

use bigfile_reader::{MemoryObject, RawSamples};
use signal::Source;

/// Reads argv[1] as each dtype of argv[3:] (one channel count applies to
/// the frame cut, argv[2]) and writes the values as f64 to
/// `<argv[1]>.<index>`.
const ORACLE: &str = r#"
import sys, numpy as np
raw = open(sys.argv[1], "rb").read()
channels = int(sys.argv[2])
for index, name in enumerate(sys.argv[3:]):
    dtype = np.dtype(name)
    frames = len(raw) // (dtype.itemsize * channels)
    values = np.frombuffer(raw[:frames * channels * dtype.itemsize], dtype=dtype).astype(np.float64)
    values.astype("<f8").tofile(f"{sys.argv[1]}.{index}")
"#;

const DTYPES: [&str; 18] = [
    "<i1", "|u1", "<i2", ">i2", "<u2", ">u2", "<i4", ">i4", "<u4", ">u4", "<i8", ">i8", "<u8",
    ">u8", "<f4", ">f4", "<f8", ">f8",
];

fn check_channels(bytes: &[u8], channels: usize) {
    let folder = tempfile::tempdir().unwrap();
    let input = folder.path().join("raw");
    std::fs::write(&input, bytes).unwrap();
    let mut arguments = vec![input.to_str().unwrap().to_owned(), channels.to_string()];
    arguments.extend(DTYPES.iter().map(|dtype| (*dtype).to_owned()));
    let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
    support::run_python(ORACLE, &arguments);

    for (index, dtype) in DTYPES.iter().enumerate() {
        let expected = support::read_f64_file(&folder.path().join(format!("raw.{index}")));
        let samples = RawSamples::new(
            MemoryObject::shared(bytes.to_vec()),
            dtype,
            channels,
            Some(1000.0),
        )
        .unwrap();
        assert_eq!(
            samples.frames() as usize * channels,
            expected.len(),
            "{dtype} × {channels}"
        );
        for channel in 0..channels {
            let source = samples.channel(channel).unwrap();
            let mut got = vec![0.0; source.len() as usize];
            source.read_into(0, &mut got).unwrap();
            for (frame, value) in got.iter().enumerate() {
                let want = expected[frame * channels + channel];
                let same = *value == want || (value.is_nan() && want.is_nan());
                assert!(
                    same,
                    "{dtype} ch {channel} frame {frame}: {value} vs {want}"
                );
            }
        }
    }
}

#[test]
fn every_dtype_matches_numpy() {
    let bytes: Vec<u8> = (0..4099u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    for channels in [1usize, 3] {
        check_channels(&bytes, channels);
    }
}
