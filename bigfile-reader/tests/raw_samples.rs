//! Headerless samples of every integer and float dtype, in both byte
//! orders, read by `RawSamples` and by `numpy.frombuffer` on the same
//! bytes; the values must be equal (NaN payloads aside).

mod support;

use bigfile_reader::{MemoryObject, RawSamples};
use signal::Source;

/// Writes numpy's reading of argv[1] as dtype argv[2] with argv[3]
/// channels, as f64, to argv[4].
const ORACLE: &str = r#"
import sys, numpy as np
raw = open(sys.argv[1], "rb").read()
dtype, channels = np.dtype(sys.argv[2]), int(sys.argv[3])
frames = len(raw) // (dtype.itemsize * channels)
values = np.frombuffer(raw[:frames * channels * dtype.itemsize], dtype=dtype).astype(np.float64)
values.astype("<f8").tofile(sys.argv[4])
"#;

#[test]
fn every_dtype_matches_numpy() {
    let bytes: Vec<u8> = (0..4099u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let input = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(input.path(), &bytes).unwrap();
    let dtypes = [
        "<i1", "|u1", "<i2", ">i2", "<u2", ">u2", "<i4", ">i4", "<u4", ">u4", "<i8", ">i8", "<u8",
        ">u8", "<f4", ">f4", "<f8", ">f8",
    ];

    for dtype in dtypes {
        for channels in [1usize, 3] {
            let out = tempfile::NamedTempFile::new().unwrap();
            let arguments = [
                input.path().to_str().unwrap(),
                dtype,
                &channels.to_string(),
                out.path().to_str().unwrap(),
            ];
            support::run_python(ORACLE, &arguments);
            let expected = support::read_f64_file(out.path());

            let samples = RawSamples::new(
                MemoryObject::shared(bytes.clone()),
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
                    assert!(
                        *value == want || (value.is_nan() && want.is_nan()),
                        "{dtype} ch {channel} frame {frame}: {value} vs {want}"
                    );
                }
            }
        }
    }
}
