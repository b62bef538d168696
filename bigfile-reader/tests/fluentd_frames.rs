//! Fluentd-framed streams made by Python's `msgpack` (the packer fluentd's
//! wire format is checked against in wendelin-protocol.md §6) read back as
//! the bytes that were framed, and a recording sent through fluentd
//! decodes like the raw file. Frames straddle the index's read windows.

mod support;

use std::sync::Arc;

use bigfile_reader::{ByteRange, FileObject, FluentdStream, MemoryObject, WavFile, read_exact_at};
use signal::Source;

/// Frames argv[1] into argv[2] as fluentd_ingest.py does: EventTime and
/// `{"data": chunk}` records of argv[3] bytes, with some records as bare
/// binary and some as `{"message": ..., "host": ...}` for variety.
const FRAMER: &str = r#"
import sys, struct, msgpack
source, out, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(source, "rb").read()
with open(out, "wb") as sink:
    for index, start in enumerate(range(0, len(data), size)):
        chunk = data[start:start + size]
        time = msgpack.ExtType(0, struct.pack(">II", 1733333333 + index, 5))
        if index % 5 == 3:
            record = chunk
        elif index % 5 == 4:
            record = {"host": "sensor-1", "message": chunk, "seq": [index, {"k": None}]}
        else:
            record = {"data": chunk}
        if index % 7 == 6:
            time = 1733333333 + index
        sink.write(msgpack.packb([time, record], use_bin_type=True))
print(len(data))
"#;

fn framed(source: &std::path::Path, record_size: usize) -> Vec<u8> {
    let out = tempfile::NamedTempFile::new().unwrap();
    support::run_python(
        FRAMER,
        &[
            source.to_str().unwrap(),
            out.path().to_str().unwrap(),
            &record_size.to_string(),
        ],
    );
    std::fs::read(out.path()).unwrap()
}

#[test]
fn framed_bytes_read_back_unchanged_at_any_record_size() {
    let source = support::shared_data().join("recordings/Front_Left.wav");
    let original = std::fs::read(&source).unwrap();
    for record_size in [1, 1000, 65536, 1 << 20] {
        let stream =
            FluentdStream::index(MemoryObject::shared(framed(&source, record_size))).unwrap();

        let mut bytes = vec![0; stream.size() as usize];
        read_exact_at(&stream, 0, &mut bytes).unwrap();

        assert_eq!(bytes.len(), original.len(), "record size {record_size}");
        assert!(
            bytes == original,
            "record size {record_size}: content differs"
        );
        assert_eq!(stream.frame_count(), original.len().div_ceil(record_size));
    }
}

#[test]
fn a_recording_sent_through_fluentd_decodes_like_the_raw_file() {
    let source = support::workspace_root().join("notebooks/data/speaker-positions.wav");
    let raw = WavFile::open(Arc::new(FileObject::open(&source).unwrap())).unwrap();
    let stream: Arc<dyn ByteRange> =
        Arc::new(FluentdStream::index(MemoryObject::shared(framed(&source, 65536))).unwrap());
    let through_fluentd = WavFile::open(stream).unwrap();

    assert_eq!(through_fluentd.summary(), raw.summary());
    for channel in 0..raw.channels() {
        let mut expected = vec![0.0; raw.frames() as usize];
        let mut got = vec![0.0; raw.frames() as usize];
        raw.channel(channel)
            .unwrap()
            .read_into(0, &mut expected)
            .unwrap();
        through_fluentd
            .channel(channel)
            .unwrap()
            .read_into(0, &mut got)
            .unwrap();
        assert!(expected == got, "channel {channel} differs");
    }
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    fn index_and_read(bytes: Vec<u8>) {
        if let Ok(stream) = FluentdStream::index(MemoryObject::shared(bytes)) {
            let mut all = vec![0; stream.size() as usize];
            read_exact_at(&stream, 0, &mut all).unwrap();
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            index_and_read(bytes);
        }

        #[test]
        fn mutated_frames(mutations in prop::collection::vec((0usize..120, any::<u8>()), 1..6)) {
            let mut bytes = Vec::new();
            for index in 0..6u8 {
                bytes.extend_from_slice(&[0x92, 0xd7, 0x00, 0, 0, 0, index, 0, 0, 0, 0, 0x81, 0xa4]);
                bytes.extend_from_slice(b"data");
                bytes.extend_from_slice(&[0xc4, 3, index, index, index]);
            }
            for (position, byte) in mutations {
                if position < bytes.len() {
                    bytes[position] = byte;
                }
            }
            index_and_read(bytes);
        }
    }
}
