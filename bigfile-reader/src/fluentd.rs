//! A Data Stream ingested through fluentd's wendelin output with the
//! `default` policy holds msgpack frames `[time, record]` appended as sent
//! (wendelin-protocol.md §6). [`FluentdStream`] reads such a stream as the
//! concatenation of the records' payloads, so that a recording sent
//! through fluentd decodes like one uploaded raw.
//!
//! A record's payload is the record itself when it is binary or a string,
//! else its `message` field (fluentd's key for unparsed input), else its
//! `data` field; anything else is an error naming the frame's offset. The
//! time is an integer, a float or an EventTime (ext type 0).
//!
//! One streaming pass over the stream builds an index of where each
//! payload lies (payloads are never read during it, only frame headers),
//! after which `size` and reads at any offset are cheap: a payload is
//! contiguous in the stream, so a read maps to ranged reads of the
//! stream. The msgpack walk here is hand-written because it must work over
//! a window that moves along the stream and must skip payloads unread.

use std::sync::Arc;

use signal::{Progress, Silent};

use crate::ReaderError;
use crate::range::ByteRange;

/// Bytes of the stream read at once while indexing.
const INDEX_WINDOW: usize = 1 << 20;

/// Where one record's payload lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Payload {
    /// Offset of the payload in the concatenation.
    logical: u64,
    /// Offset of the payload in the stream.
    offset: u64,
    /// Length in bytes.
    len: u64,
}

/// A fluentd-framed stream read as the concatenation of its payloads.
pub struct FluentdStream {
    inner: Arc<dyn ByteRange>,
    payloads: Vec<Payload>,
    size: u64,
    indexed_bytes: u64,
    warnings: Vec<String>,
}

impl FluentdStream {
    /// Indexes the frames of `inner` in one streaming pass.
    ///
    /// # Errors
    /// As [`FluentdStream::index_with_progress`].
    pub fn index(inner: Arc<dyn ByteRange>) -> Result<Self, ReaderError> {
        Self::index_with_progress(inner, &Silent)
    }

    /// Indexes the frames of `inner`, reporting bytes scanned to
    /// `progress` and stopping when it is cancelled. A partial frame at
    /// the end (a stream still being appended to) is left out, with a
    /// warning.
    ///
    /// # Errors
    /// [`ReaderError::FluentdFrame`] naming the first frame that is not
    /// `[time, record]` with a usable payload, [`ReaderError::Cancelled`],
    /// or the failure of a read.
    pub fn index_with_progress(
        inner: Arc<dyn ByteRange>,
        progress: &dyn Progress,
    ) -> Result<Self, ReaderError> {
        let mut cursor = Cursor::new(inner.as_ref());
        let mut payloads = Vec::new();
        let mut size = 0u64;
        let mut warnings = Vec::new();

        while cursor.position < cursor.size {
            let frame = cursor.position;
            match read_frame(&mut cursor, progress) {
                Ok(Some((offset, len))) => {
                    payloads.push(Payload {
                        logical: size,
                        offset,
                        len,
                    });
                    size += len;
                }
                Ok(None) => {
                    warnings.push(partial_frame_warning(frame, cursor.size));
                    cursor.position = frame;
                    break;
                }
                Err(reason) => return Err(framing_error(frame, reason)),
            }
            progress.advance(cursor.position, cursor.size);
        }
        for warning in &warnings {
            tracing::warn!(stream = %inner.describe(), %warning, "fluentd index");
        }
        Ok(Self {
            indexed_bytes: cursor.position,
            inner,
            payloads,
            size,
            warnings,
        })
    }

    /// Number of frames indexed.
    pub fn frame_count(&self) -> usize {
        self.payloads.len()
    }

    /// Bytes of the underlying stream covered by the index.
    pub fn indexed_bytes(&self) -> u64 {
        self.indexed_bytes
    }

    /// What was odd but readable, in words for the user.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Index of the payload holding logical byte `offset`.
    fn payload_at(&self, offset: u64) -> usize {
        self.payloads
            .partition_point(|payload| payload.logical + payload.len <= offset)
    }
}

impl ByteRange for FluentdStream {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_at(&self, offset: u64, buffer: &mut [u8]) -> Result<usize, ReaderError> {
        let mut filled = 0;
        let mut index = self.payload_at(offset);
        while filled < buffer.len() && index < self.payloads.len() {
            let payload = self.payloads[index];
            let within = offset + filled as u64 - payload.logical;
            let count = ((payload.len - within) as usize).min(buffer.len() - filled);
            crate::range::read_exact_at(
                self.inner.as_ref(),
                payload.offset + within,
                &mut buffer[filled..filled + count],
            )?;
            filled += count;
            index += 1;
        }
        Ok(filled)
    }

    fn describe(&self) -> String {
        format!("the fluentd payloads of {}", self.inner.describe())
    }
}

fn partial_frame_warning(frame: u64, size: u64) -> String {
    format!(
        "the stream ends inside a frame that starts at byte {frame} ({} bytes); \
         it is left out (still being written?)",
        size - frame
    )
}

fn framing_error(frame: u64, reason: Malformed) -> ReaderError {
    match reason {
        Malformed::Frame(reason) => ReaderError::FluentdFrame {
            offset: frame,
            reason,
        },
        Malformed::Read(error) => error,
    }
}

/// Why a frame could not be indexed.
enum Malformed {
    /// The frame is not what fluentd writes.
    Frame(String),
    /// The read underneath failed (or was cancelled).
    Read(ReaderError),
}

impl From<ReaderError> for Malformed {
    fn from(error: ReaderError) -> Self {
        Self::Read(error)
    }
}

/// `Ok(None)` when the stream ends inside the frame.
type Step<T> = Result<Option<T>, Malformed>;

/// Reads one frame at the cursor; returns where its payload lies.
fn read_frame(cursor: &mut Cursor, progress: &dyn Progress) -> Step<(u64, u64)> {
    let Some(marker) = cursor.byte(progress)? else {
        return Ok(None);
    };
    let Some(count) = array_len(cursor, marker, progress)? else {
        return Ok(None);
    };
    if count != 2 {
        return Err(Malformed::Frame(format!(
            "expected a 2-element array [time, record], found {}",
            describe_marker(marker, Some(count))
        )));
    }
    if skip_time(cursor, progress)?.is_none() {
        return Ok(None);
    }
    record_payload(cursor, progress)
}

/// The length of an array whose marker was read; an error for any other
/// value.
fn array_len(cursor: &mut Cursor, marker: u8, progress: &dyn Progress) -> Step<u64> {
    match marker {
        0x90..=0x9f => Ok(Some(u64::from(marker & 0x0f))),
        0xdc => cursor.uint(2, progress).map_err(Into::into),
        0xdd => cursor.uint(4, progress).map_err(Into::into),
        _ => Err(Malformed::Frame(format!(
            "expected a 2-element array [time, record], found {}",
            describe_marker(marker, None)
        ))),
    }
}

/// Skips the frame's time: an integer, a float or an EventTime.
fn skip_time(cursor: &mut Cursor, progress: &dyn Progress) -> Step<()> {
    let Some(marker) = cursor.byte(progress)? else {
        return Ok(None);
    };
    let skip = match marker {
        0x00..=0x7f | 0xe0..=0xff => 0,
        0xcc | 0xd0 => 1,
        0xcd | 0xd1 => 2,
        0xce | 0xd2 | 0xca => 4,
        0xcf | 0xd3 | 0xcb => 8,
        0xd7 => return event_time(cursor, 9, progress),
        0xc7 => return event_time(cursor, 1, progress),
        _ => {
            return Err(Malformed::Frame(format!(
                "the time is {}, not an integer or an EventTime",
                describe_marker(marker, None)
            )));
        }
    };
    Ok(cursor.skip(skip))
}

/// Checks an ext value is an EventTime (type 0, 8 bytes) and skips it;
/// `header` is 9 for fixext 8 (type then data), 1 for ext 8 (length).
fn event_time(cursor: &mut Cursor, header: u8, progress: &dyn Progress) -> Step<()> {
    let (len, kind) = if header == 1 {
        let Some(len) = cursor.uint(1, progress)? else {
            return Ok(None);
        };
        let Some(kind) = cursor.byte(progress)? else {
            return Ok(None);
        };
        (len, kind)
    } else {
        let Some(kind) = cursor.byte(progress)? else {
            return Ok(None);
        };
        (8, kind)
    };
    if kind != 0 || len != 8 {
        return Err(Malformed::Frame(format!(
            "the time is an extension of type {kind} and {len} bytes, not an EventTime (type 0, 8 bytes)"
        )));
    }
    Ok(cursor.skip(8))
}

/// The payload of the record at the cursor, and moves past the record.
fn record_payload(cursor: &mut Cursor, progress: &dyn Progress) -> Step<(u64, u64)> {
    let Some(marker) = cursor.byte(progress)? else {
        return Ok(None);
    };
    if let Some(len) = bytes_len(cursor, marker, progress)? {
        let start = cursor.position;
        return Ok(cursor.skip(len).map(|()| (start, len)));
    }
    let Some(entries) = map_len(cursor, marker, progress)? else {
        return Err(Malformed::Frame(format!(
            "the record is {}, not bytes, a string or a map with a message or data field",
            describe_marker(marker, None)
        )));
    };
    map_payload(cursor, entries, progress)
}

/// Walks a map's entries and picks the `message` field, else `data`.
fn map_payload(cursor: &mut Cursor, entries: u64, progress: &dyn Progress) -> Step<(u64, u64)> {
    let mut message = None;
    let mut data = None;
    for _ in 0..entries {
        let Some(key) = read_key(cursor, progress)? else {
            return Ok(None);
        };
        let value_start = cursor.position;
        let Some(marker) = cursor.byte(progress)? else {
            return Ok(None);
        };
        match bytes_len(cursor, marker, progress)? {
            Some(len) => {
                let found = Some((cursor.position, len));
                match key.as_deref() {
                    Some(b"message") => message = found,
                    Some(b"data") => data = found,
                    _ => {}
                }
                if cursor.skip(len).is_none() {
                    return Ok(None);
                }
            }
            None => {
                cursor.position = value_start;
                if skip_values(cursor, 1, progress)?.is_none() {
                    return Ok(None);
                }
            }
        }
    }
    match message.or(data) {
        Some(payload) => Ok(Some(payload)),
        None => Err(Malformed::Frame(
            "the record is a map without a message or data field holding bytes or a string"
                .to_owned(),
        )),
    }
}

/// A map key when it is a short string or binary, `Some(None)` for any
/// other key (skipped).
fn read_key(cursor: &mut Cursor, progress: &dyn Progress) -> Step<Option<Vec<u8>>> {
    let start = cursor.position;
    let Some(marker) = cursor.byte(progress)? else {
        return Ok(None);
    };
    match bytes_len(cursor, marker, progress)? {
        Some(len) if len <= 16 => Ok(cursor.take(len as usize, progress)?.map(Some)),
        _ => {
            cursor.position = start;
            Ok(skip_values(cursor, 1, progress)?.map(|()| None))
        }
    }
}

/// The length of a string or binary whose marker was read, `None` for
/// other values (the cursor then stands after the marker).
fn bytes_len(
    cursor: &mut Cursor,
    marker: u8,
    progress: &dyn Progress,
) -> Result<Option<u64>, Malformed> {
    let width = match marker {
        0xa0..=0xbf => return Ok(Some(u64::from(marker & 0x1f))),
        0xd9 | 0xc4 => 1,
        0xda | 0xc5 => 2,
        0xdb | 0xc6 => 4,
        _ => return Ok(None),
    };
    match cursor.uint(width, progress)? {
        Some(len) => Ok(Some(len)),
        None => Ok(Some(u64::MAX)),
    }
}

/// The number of entries of a map whose marker was read.
fn map_len(cursor: &mut Cursor, marker: u8, progress: &dyn Progress) -> Step<u64> {
    match marker {
        0x80..=0x8f => Ok(Some(u64::from(marker & 0x0f))),
        0xde => cursor.uint(2, progress).map_err(Into::into),
        0xdf => cursor.uint(4, progress).map_err(Into::into),
        _ => Ok(None),
    }
}

/// Skips `count` msgpack values of any kind, iteratively: nesting is
/// counted, not recursed into, so no input can exhaust the stack.
fn skip_values(cursor: &mut Cursor, count: u64, progress: &dyn Progress) -> Step<()> {
    let mut pending = count;
    while pending > 0 {
        pending -= 1;
        let Some(marker) = cursor.byte(progress)? else {
            return Ok(None);
        };
        let (skip, nested) = match marker {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => (Some(0), 0),
            0x80..=0x8f => (Some(0), 2 * u64::from(marker & 0x0f)),
            0x90..=0x9f => (Some(0), u64::from(marker & 0x0f)),
            0xa0..=0xbf => (Some(u64::from(marker & 0x1f)), 0),
            0xcc | 0xd0 => (Some(1), 0),
            0xcd | 0xd1 | 0xd4 => (Some(2), 0),
            0xd5 => (Some(3), 0),
            0xce | 0xd2 | 0xca => (Some(4), 0),
            0xd6 => (Some(5), 0),
            0xcf | 0xd3 | 0xcb => (Some(8), 0),
            0xd7 => (Some(9), 0),
            0xd8 => (Some(17), 0),
            0xc4 | 0xd9 => (cursor.uint(1, progress)?, 0),
            0xc5 | 0xda => (cursor.uint(2, progress)?, 0),
            0xc6 | 0xdb => (cursor.uint(4, progress)?, 0),
            0xc7 => (cursor.uint(1, progress)?.map(|len| len + 1), 0),
            0xc8 => (cursor.uint(2, progress)?.map(|len| len + 1), 0),
            0xc9 => (cursor.uint(4, progress)?.map(|len| len + 1), 0),
            0xdc => (Some(0), cursor.uint(2, progress)?.unwrap_or(u64::MAX)),
            0xdd => (Some(0), cursor.uint(4, progress)?.unwrap_or(u64::MAX)),
            0xde => (
                Some(0),
                cursor.uint(2, progress)?.map_or(u64::MAX, |n| 2 * n),
            ),
            0xdf => (
                Some(0),
                cursor.uint(4, progress)?.map_or(u64::MAX, |n| 2 * n),
            ),
            _ => {
                return Err(Malformed::Frame(format!(
                    "the byte {marker:#04x} is not a msgpack value"
                )));
            }
        };
        let Some(skip) = skip else { return Ok(None) };
        if cursor.skip(skip).is_none() {
            return Ok(None);
        }
        pending = pending.saturating_add(nested);
    }
    Ok(Some(()))
}

/// A msgpack marker in words, for messages.
fn describe_marker(marker: u8, len: Option<u64>) -> String {
    let kind = match marker {
        0x00..=0x7f | 0xe0..=0xff | 0xcc..=0xd3 => "an integer",
        0x80..=0x8f | 0xde | 0xdf => "a map",
        0x90..=0x9f | 0xdc | 0xdd => "an array",
        0xa0..=0xbf | 0xd9..=0xdb => "a string",
        0xc4..=0xc6 => "binary data",
        0xca | 0xcb => "a float",
        0xc0 => "nil",
        0xc2 | 0xc3 => "a boolean",
        0xc7..=0xc9 | 0xd4..=0xd8 => "an extension value",
        _ => "a byte that is not msgpack",
    };
    match len {
        Some(len) => format!("{} of {len} elements", kind),
        None => format!("{kind} (byte {marker:#04x})"),
    }
}

/// A position in the stream with a window of bytes read around it. Small
/// values are read through the window; payloads are skipped unread.
struct Cursor<'a> {
    object: &'a dyn ByteRange,
    size: u64,
    position: u64,
    window: Vec<u8>,
    window_start: u64,
}

impl<'a> Cursor<'a> {
    fn new(object: &'a dyn ByteRange) -> Self {
        Self {
            object,
            size: object.size(),
            position: 0,
            window: Vec::new(),
            window_start: 0,
        }
    }

    /// Moves `len` bytes on; `None` when that passes the end.
    fn skip(&mut self, len: u64) -> Option<()> {
        let target = self.position.checked_add(len)?;
        if target > self.size {
            return None;
        }
        self.position = target;
        Some(())
    }

    /// The next `len` bytes (`len` small), `None` past the end.
    fn take(
        &mut self,
        len: usize,
        progress: &dyn Progress,
    ) -> Result<Option<Vec<u8>>, ReaderError> {
        if self.position + len as u64 > self.size {
            return Ok(None);
        }
        let window_end = self.window_start + self.window.len() as u64;
        if self.position < self.window_start || self.position + len as u64 > window_end {
            self.refill(progress)?;
        }
        let from = (self.position - self.window_start) as usize;
        self.position += len as u64;
        Ok(Some(self.window[from..from + len].to_vec()))
    }

    fn byte(&mut self, progress: &dyn Progress) -> Result<Option<u8>, ReaderError> {
        Ok(self.take(1, progress)?.map(|bytes| bytes[0]))
    }

    /// A big-endian unsigned integer of `width` bytes.
    fn uint(&mut self, width: usize, progress: &dyn Progress) -> Result<Option<u64>, ReaderError> {
        let bytes = self.take(width, progress)?;
        Ok(bytes.map(|bytes| {
            bytes
                .iter()
                .fold(0u64, |value, &byte| value << 8 | u64::from(byte))
        }))
    }

    /// Reads the window that starts at the position.
    fn refill(&mut self, progress: &dyn Progress) -> Result<(), ReaderError> {
        progress.check()?;
        let len = INDEX_WINDOW.min((self.size - self.position) as usize);
        self.window.resize(len, 0);
        crate::range::read_exact_at(self.object, self.position, &mut self.window)?;
        self.window_start = self.position;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::range::{MemoryObject, read_exact_at};

    /// `[time, record]` with a fixint time and the given record bytes.
    fn frame(time: &[u8], record: &[u8]) -> Vec<u8> {
        let mut bytes = vec![0x92];
        bytes.extend_from_slice(time);
        bytes.extend_from_slice(record);
        bytes
    }

    fn bin(payload: &[u8]) -> Vec<u8> {
        let mut bytes = vec![0xc4, payload.len() as u8];
        bytes.extend_from_slice(payload);
        bytes
    }

    fn read_all(stream: &FluentdStream) -> Vec<u8> {
        let mut bytes = vec![0; stream.size() as usize];
        read_exact_at(stream, 0, &mut bytes).unwrap();
        bytes
    }

    #[test]
    fn binary_string_and_map_records_concatenate() {
        let event_time = [0xd7, 0x00, 0, 0, 0, 1, 0, 0, 0, 2];
        let mut bytes = frame(&[0x05], &bin(b"abc"));
        bytes.extend(frame(&event_time, &[0xa2, b'd', b'e']));
        let mut map = vec![0x82, 0xa1, b'x', 0x01, 0xa4];
        map.extend_from_slice(b"data");
        map.extend(bin(b"fg"));
        bytes.extend(frame(&[0xce, 0, 0, 0, 9], &map));

        let stream = FluentdStream::index(MemoryObject::shared(bytes)).unwrap();

        assert_eq!(stream.frame_count(), 3);
        assert_eq!(read_all(&stream), b"abcdefg");
    }

    #[test]
    fn message_wins_over_data() {
        let mut map = vec![0x82, 0xa4];
        map.extend_from_slice(b"data");
        map.extend(bin(b"no"));
        map.extend_from_slice(&[0xa7]);
        map.extend_from_slice(b"message");
        map.extend_from_slice(&[0xa3, b'y', b'e', b's']);

        let stream = FluentdStream::index(MemoryObject::shared(frame(&[0x00], &map))).unwrap();

        assert_eq!(read_all(&stream), b"yes");
    }

    #[test]
    fn a_record_without_payload_is_refused_with_its_offset() {
        let mut bytes = frame(&[0x01], &bin(b"ok"));
        bytes.extend(frame(&[0x01], &[0x81, 0xa1, b'x', 0x07]));

        let error = FluentdStream::index(MemoryObject::shared(bytes))
            .err()
            .unwrap();

        assert_eq!(
            error.to_string(),
            "invalid fluentd frame at byte 6: the record is a map without a message or data field holding bytes or a string"
        );
    }

    #[test]
    fn a_stream_that_is_not_frames_is_refused() {
        let error = FluentdStream::index(MemoryObject::shared(b"RIFF....WAVE".to_vec()))
            .err()
            .unwrap();
        assert!(
            error
                .to_string()
                .starts_with("invalid fluentd frame at byte 0: expected a 2-element array"),
            "{error}"
        );
    }

    #[test]
    fn a_partial_last_frame_is_left_out_with_a_warning() {
        let mut bytes = frame(&[0x01], &bin(b"whole"));
        bytes.extend(&frame(&[0x01], &bin(b"cut"))[..4]);

        let stream = FluentdStream::index(MemoryObject::shared(bytes)).unwrap();

        assert_eq!(read_all(&stream), b"whole");
        assert_eq!(stream.warnings().len(), 1);
    }

    #[test]
    fn reads_across_payload_boundaries_at_any_offset() {
        let mut bytes = Vec::new();
        let mut expected = Vec::new();
        for index in 0..50u8 {
            let payload: Vec<u8> = (0..index % 7 + 1)
                .map(|i| index.wrapping_mul(31).wrapping_add(i))
                .collect();
            bytes.extend(frame(&[index % 0x7f], &bin(&payload)));
            expected.extend(payload);
        }
        let stream = FluentdStream::index(MemoryObject::shared(bytes)).unwrap();

        for start in [0usize, 1, 5, 17, 100] {
            let mut buffer = vec![0; 23.min(expected.len() - start)];
            read_exact_at(&stream, start as u64, &mut buffer).unwrap();
            assert_eq!(buffer, expected[start..start + buffer.len()]);
        }
        assert_eq!(
            stream.read_at(expected.len() as u64, &mut [0; 4]).unwrap(),
            0
        );
    }

    #[test]
    fn nested_values_in_a_record_are_skipped() {
        let mut map = vec![0x82, 0xa4];
        map.extend_from_slice(b"tags");
        map.extend_from_slice(&[
            0x92, 0x81, 0xa1, b'k', 0x91, 0xc0, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0,
        ]);
        map.extend_from_slice(&[0xa7]);
        map.extend_from_slice(b"message");
        map.extend(bin(b"payload"));

        let stream = FluentdStream::index(MemoryObject::shared(frame(&[0x01], &map))).unwrap();

        assert_eq!(read_all(&stream), b"payload");
    }
}
