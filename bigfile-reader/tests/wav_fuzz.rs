//! Property tests: the WAV reader never panics or hangs, whatever the
//! bytes. Inputs are real conformance headers with random bytes changed
//! and random truncation, fabricated headers with random fields, and
//! arbitrary bytes. Case counts are bounded for CI; failures found here
//! are kept below as named regression tests.

mod support;

use std::sync::Arc;

use bigfile_reader::{MemoryObject, ReaderError, WavFile};
use proptest::prelude::*;
use signal::Source;

/// Opens `bytes` as a WAV file and reads every channel in full; any
/// result is fine as long as it comes back, and what is read lies inside
/// the object.
fn read_everything(bytes: Vec<u8>) -> Result<(), ReaderError> {
    let size = bytes.len() as u64;
    let wav = WavFile::open(Arc::new(MemoryObject::new(bytes)))?;
    let layout = wav.layout();
    assert!(layout.data_offset + layout.frames * layout.block_align as u64 <= size);
    for channel in 0..wav.channels() {
        let source = wav.channel(channel)?;
        let mut buffer = vec![0.0; source.len() as usize];
        source
            .read_into(0, &mut buffer)
            .map_err(|error| ReaderError::NotWav(error.to_string()))?;
    }
    let _ = (wav.duration(), wav.summary());
    Ok(())
}

fn conformance_files() -> Vec<Vec<u8>> {
    let folder = support::shared_data().join("wav-conformance");
    support::wav_files(&folder)
        .iter()
        .map(|path| std::fs::read(path).unwrap())
        .collect()
}

/// A header built from random fields, followed by `tail` bytes.
fn fabricated(fields: (u16, u16, u32, u16, u16, u32), riff: &[u8; 4], tail: Vec<u8>) -> Vec<u8> {
    let (tag, channels, rate, block_align, bits, data_size) = fields;
    let mut bytes = riff.to_vec();
    bytes.extend_from_slice(&u32::MAX.to_le_bytes());
    bytes.extend_from_slice(b"WAVEfmt ");
    bytes.extend_from_slice(&16u32.to_le_bytes());
    for field in [tag, channels] {
        bytes.extend_from_slice(&field.to_le_bytes());
    }
    bytes.extend_from_slice(&rate.to_le_bytes());
    bytes.extend_from_slice(&rate.wrapping_mul(u32::from(block_align)).to_le_bytes());
    for field in [block_align, bits] {
        bytes.extend_from_slice(&field.to_le_bytes());
    }
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&data_size.to_le_bytes());
    bytes.extend(tail);
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn mutated_real_headers_never_panic(
        file in 0usize..64,
        mutations in prop::collection::vec((0usize..160, any::<u8>()), 1..8),
        keep in 0.0f64..=1.0,
    ) {
        let files = conformance_files();
        let mut bytes = files[file % files.len()].clone();
        for (position, byte) in mutations {
            if position < bytes.len() {
                bytes[position] = byte;
            }
        }
        bytes.truncate((bytes.len() as f64 * keep) as usize);
        let _ = read_everything(bytes);
    }

    #[test]
    fn fabricated_headers_never_panic(
        tag in prop::sample::select(vec![1u16, 3, 6, 7, 0xFFFE, 2, 0]),
        channels in prop::sample::select(vec![0u16, 1, 2, 3, 7, 65535]),
        rate in prop::sample::select(vec![0u32, 1, 8000, u32::MAX]),
        block_align in prop::sample::select(vec![0u16, 1, 2, 3, 4, 6, 8, 9, 16, 24, 65535]),
        bits in prop::sample::select(vec![0u16, 1, 8, 12, 16, 24, 32, 64, 65, 65535]),
        data_size in prop::sample::select(vec![0u32, 1, 2, 7, 64, 1000, u32::MAX - 1, u32::MAX]),
        riff in prop::sample::select(vec![*b"RIFF", *b"RIFX", *b"RF64"]),
        tail in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let bytes = fabricated((tag, channels, rate, block_align, bits, data_size), &riff, tail);
        let _ = read_everything(bytes);
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        prefix in prop::sample::select(vec![&b""[..], b"RIFF", b"RIFF\xff\xff\xff\xffWAVE", b"RF64\xff\xff\xff\xffWAVEds64"]),
        body in prop::collection::vec(any::<u8>(), 0..400),
    ) {
        let mut bytes = prefix.to_vec();
        bytes.extend(body);
        let _ = read_everything(bytes);
    }
}

#[test]
fn a_header_announcing_no_frames_reads_as_empty_channels() {
    // the first failure the mutation test found: a valid header whose data
    // chunk holds no whole frame made reading a channel panic
    let bytes = fabricated((1, 2, 8000, 4, 16, 2), b"RIFF", vec![0, 0]);
    let wav = WavFile::open(Arc::new(MemoryObject::new(bytes))).unwrap();
    assert_eq!(wav.frames(), 0);
    assert!(read_everything(fabricated((1, 2, 8000, 4, 16, 2), b"RIFF", vec![0, 0])).is_ok());
}
