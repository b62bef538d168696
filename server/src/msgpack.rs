//! Msgpack framing of ingestion bodies: concatenated `[time, record]`
//! frames, as fluentd's wendelin output sends them (wendelin-protocol.md
//! §6).
//!
//! [`split_frames`] checks a whole body before anything is appended and
//! names the byte offset of the first problem. [`record_payload`] turns a
//! record into the bytes a conversion policy appends. Markers are read with
//! `rmp`; lengths are checked against the bytes left before anything is
//! allocated, nesting is walked without recursion when skipping, and
//! decoding stops at [`MAX_DEPTH`], so no input can panic, exhaust memory
//! or overflow the stack.

use rmp::Marker;

/// Deepest nesting decoded when a record is converted.
pub const MAX_DEPTH: usize = 64;

/// One `[time, record]` frame of a body.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame<'a> {
    /// Byte offset of the frame in the body.
    pub offset: usize,
    /// The raw msgpack bytes of the record (second element).
    pub record: &'a [u8],
}

/// A framing problem: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FramingError {
    /// Where parsing failed.
    pub offset: usize,
    /// Where the frame holding it starts.
    pub frame: usize,
    pub reason: String,
}

fn error<T>(offset: usize, reason: impl Into<String>) -> Result<T, FramingError> {
    Err(FramingError {
        offset,
        frame: offset,
        reason: reason.into(),
    })
}

/// Sets the frame start of an error.
fn in_frame(frame: usize) -> impl Fn(FramingError) -> FramingError {
    move |e| FramingError { frame, ..e }
}

/// What a marker says: its kind, the bytes of its length field, the payload
/// length when fixed, and how many child values follow it.
#[derive(Debug, Clone, Copy)]
struct Head {
    marker: Marker,
    /// Bytes of the header (marker plus length fields and ext type).
    header: usize,
    /// Bytes of the payload after the header.
    payload: u64,
    /// Child values that follow (array items, map keys and values).
    children: u64,
}

fn read_be(body: &[u8], at: usize, width: usize) -> Result<u64, FramingError> {
    let Some(bytes) = body.get(at..at + width) else {
        return error(at, format!("truncated: needs {width} length bytes"));
    };
    Ok(bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

/// Reads the marker at `at` and what it declares.
fn head(body: &[u8], at: usize) -> Result<Head, FramingError> {
    let Some(&byte) = body.get(at) else {
        return error(at, "truncated: a value was expected");
    };
    let marker = Marker::from_u8(byte);
    let fixed = |header: usize, payload: u64| Head {
        marker,
        header,
        payload,
        children: 0,
    };
    let sized = |width: usize, extra: usize| -> Result<Head, FramingError> {
        let len = read_be(body, at + 1, width)?;
        Ok(fixed(1 + width + extra, len))
    };
    let container = |width: usize, per_item: u64| -> Result<Head, FramingError> {
        let len = read_be(body, at + 1, width)?;
        Ok(Head {
            marker,
            header: 1 + width,
            payload: 0,
            children: len * per_item,
        })
    };

    match marker {
        Marker::FixPos(_) | Marker::FixNeg(_) | Marker::Null | Marker::True | Marker::False => {
            Ok(fixed(1, 0))
        }
        Marker::U8 | Marker::I8 => Ok(fixed(1, 1)),
        Marker::U16 | Marker::I16 => Ok(fixed(1, 2)),
        Marker::U32 | Marker::I32 | Marker::F32 => Ok(fixed(1, 4)),
        Marker::U64 | Marker::I64 | Marker::F64 => Ok(fixed(1, 8)),
        Marker::FixStr(len) => Ok(fixed(1, u64::from(len))),
        Marker::Str8 | Marker::Bin8 => sized(1, 0),
        Marker::Str16 | Marker::Bin16 => sized(2, 0),
        Marker::Str32 | Marker::Bin32 => sized(4, 0),
        Marker::FixExt1 => Ok(fixed(2, 1)),
        Marker::FixExt2 => Ok(fixed(2, 2)),
        Marker::FixExt4 => Ok(fixed(2, 4)),
        Marker::FixExt8 => Ok(fixed(2, 8)),
        Marker::FixExt16 => Ok(fixed(2, 16)),
        Marker::Ext8 => sized(1, 1),
        Marker::Ext16 => sized(2, 1),
        Marker::Ext32 => sized(4, 1),
        Marker::FixArray(len) => Ok(Head {
            marker,
            header: 1,
            payload: 0,
            children: u64::from(len),
        }),
        Marker::Array16 => container(2, 1),
        Marker::Array32 => container(4, 1),
        Marker::FixMap(len) => Ok(Head {
            marker,
            header: 1,
            payload: 0,
            children: 2 * u64::from(len),
        }),
        Marker::Map16 => container(2, 2),
        Marker::Map32 => container(4, 2),
        Marker::Reserved => error(at, "byte 0xc1 is not a msgpack marker"),
    }
}

/// The offset just past the value starting at `at`, walking nested values
/// with a counter instead of recursion.
fn value_end(body: &[u8], at: usize) -> Result<usize, FramingError> {
    let mut position = at;
    let mut pending: u64 = 1;

    while pending > 0 {
        let item = head(body, position)?;
        let left = (body.len() - position) as u64;
        let needed = item.header as u64 + item.payload;
        if needed > left {
            return error(
                position,
                format!("truncated: value needs {needed} bytes, {left} left"),
            );
        }
        pending = pending - 1 + item.children;
        // each pending value takes at least one byte
        if pending > left - needed {
            return error(
                position,
                format!(
                    "container declares {} values but only {} bytes follow",
                    item.children,
                    left - needed
                ),
            );
        }
        position += needed as usize;
    }
    Ok(position)
}

/// Checks that the element at `at` is a fluentd time: an integer, a float
/// or an EventTime (ext type 0 of 8 bytes).
fn check_time(body: &[u8], at: usize) -> Result<(), FramingError> {
    let item = head(body, at)?;
    match item.marker {
        Marker::FixPos(_)
        | Marker::FixNeg(_)
        | Marker::U8
        | Marker::U16
        | Marker::U32
        | Marker::U64
        | Marker::I8
        | Marker::I16
        | Marker::I32
        | Marker::I64
        | Marker::F32
        | Marker::F64 => Ok(()),
        Marker::FixExt8 if body.get(at + 1) == Some(&0) => Ok(()),
        other => error(
            at,
            format!(
                "time is {other:?}, expected an integer, a float or EventTime (ext 0, 8 bytes)"
            ),
        ),
    }
}

/// Splits a body into its `[time, record]` frames.
///
/// # Errors
///
/// The offset and reason of the first value that does not parse, the
/// first frame that is not a 2-array, or the first time that is not one.
pub fn split_frames(body: &[u8]) -> Result<Vec<Frame<'_>>, FramingError> {
    let mut frames = Vec::new();
    let mut offset = 0;

    while offset < body.len() {
        let end = value_end(body, offset).map_err(in_frame(offset))?;
        let item = head(body, offset).map_err(in_frame(offset))?;
        let is_array = matches!(
            item.marker,
            Marker::FixArray(_) | Marker::Array16 | Marker::Array32
        );
        if !is_array || item.children != 2 {
            return error(
                offset,
                format!(
                    "frame is {:?}, expected a [time, record] array",
                    item.marker
                ),
            );
        }

        let time_at = offset + item.header;
        check_time(body, time_at).map_err(in_frame(offset))?;
        let record_at = value_end(body, time_at).map_err(in_frame(offset))?;
        frames.push(Frame {
            offset,
            record: &body[record_at..end],
        });
        offset = end;
    }
    Ok(frames)
}

/// A decoded msgpack value, borrowing strings and binaries from the body.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Nil,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(&'a [u8]),
    Bin(&'a [u8]),
    Array(Vec<Value<'a>>),
    Map(Vec<(Value<'a>, Value<'a>)>),
    Ext(i8, &'a [u8]),
}

fn be_int(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}

/// Decodes a scalar from its marker and payload bytes.
fn scalar<'a>(marker: Marker, payload: &'a [u8]) -> Value<'a> {
    let bits = be_int(payload);
    match marker {
        Marker::Null => Value::Nil,
        Marker::True => Value::Bool(true),
        Marker::False => Value::Bool(false),
        Marker::FixPos(n) => Value::Int(i128::from(n)),
        Marker::FixNeg(n) => Value::Int(i128::from(n)),
        Marker::U8 | Marker::U16 | Marker::U32 | Marker::U64 => Value::Int(i128::from(bits)),
        Marker::I8 => Value::Int(i128::from(bits as u8 as i8)),
        Marker::I16 => Value::Int(i128::from(bits as u16 as i16)),
        Marker::I32 => Value::Int(i128::from(bits as u32 as i32)),
        Marker::I64 => Value::Int(i128::from(bits as i64)),
        Marker::F32 => Value::Float(f64::from(f32::from_bits(bits as u32))),
        Marker::F64 => Value::Float(f64::from_bits(bits)),
        Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32 => Value::Str(payload),
        _ => Value::Bin(payload),
    }
}

/// Decodes the value at `at` (already checked by [`value_end`]), returning
/// it and the offset after it.
fn decode_at(body: &[u8], at: usize, depth: usize) -> Result<(Value<'_>, usize), FramingError> {
    if depth > MAX_DEPTH {
        return error(at, format!("nesting deeper than {MAX_DEPTH} levels"));
    }
    let item = head(body, at)?;
    let start = at + item.header;
    let end = start + item.payload as usize;
    let Some(payload) = body.get(start..end) else {
        return error(at, "truncated value");
    };

    let is_ext = matches!(
        item.marker,
        Marker::FixExt1
            | Marker::FixExt2
            | Marker::FixExt4
            | Marker::FixExt8
            | Marker::FixExt16
            | Marker::Ext8
            | Marker::Ext16
            | Marker::Ext32
    );
    if is_ext {
        let kind = body[start - 1] as i8;
        return Ok((Value::Ext(kind, payload), end));
    }
    if item.children == 0
        && !matches!(
            item.marker,
            Marker::FixArray(_)
                | Marker::Array16
                | Marker::Array32
                | Marker::FixMap(_)
                | Marker::Map16
                | Marker::Map32
        )
    {
        return Ok((scalar(item.marker, payload), end));
    }

    let mut position = start;
    let mut children = Vec::with_capacity(item.children.min(1024) as usize);
    for _ in 0..item.children {
        let (child, next) = decode_at(body, position, depth + 1)?;
        children.push(child);
        position = next;
    }
    let value = match item.marker {
        Marker::FixMap(_) | Marker::Map16 | Marker::Map32 => {
            let mut pairs = Vec::with_capacity(children.len() / 2);
            let mut items = children.into_iter();
            while let (Some(key), Some(value)) = (items.next(), items.next()) {
                pairs.push((key, value));
            }
            Value::Map(pairs)
        }
        _ => Value::Array(children),
    };
    Ok((value, position))
}

/// Decodes one complete msgpack value.
///
/// # Errors
///
/// The offset and reason of what does not parse, trailing bytes included.
pub fn decode(bytes: &[u8]) -> Result<Value<'_>, FramingError> {
    let end = value_end(bytes, 0)?;
    if end != bytes.len() {
        return error(end, "trailing bytes after the value");
    }
    Ok(decode_at(bytes, 0, 0)?.0)
}

/// The JSON form of a value (binaries and exts as lists of byte values,
/// map keys as their text).
pub fn to_json(value: &Value<'_>) -> serde_json::Value {
    use serde_json::Value as Json;
    match value {
        Value::Nil => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(n) => i64::try_from(*n)
            .map(Json::from)
            .unwrap_or_else(|_| Json::from(*n as u64)),
        Value::Float(x) => serde_json::Number::from_f64(*x).map_or(Json::Null, Json::Number),
        Value::Str(text) => Json::String(String::from_utf8_lossy(text).into_owned()),
        Value::Bin(bytes) | Value::Ext(_, bytes) => Json::from(bytes.to_vec()),
        Value::Array(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Map(pairs) => Json::Object(
            pairs
                .iter()
                .map(|(key, value)| (key_text(key), to_json(value)))
                .collect(),
        ),
    }
}

fn key_text(key: &Value<'_>) -> String {
    match key {
        Value::Str(text) => String::from_utf8_lossy(text).into_owned(),
        other => to_json(other).to_string(),
    }
}

/// The bytes a conversion policy appends for a record: binary as bytes, a
/// string as its bytes, a number as decimal text, a map holding `data`,
/// `message` or `log` as that field's payload, anything else as its JSON
/// text and a newline (`docs/http-contract.md`, "Ingestion").
pub fn payload_bytes(value: &Value<'_>) -> Vec<u8> {
    match value {
        Value::Bin(bytes) | Value::Str(bytes) => bytes.to_vec(),
        Value::Int(n) => n.to_string().into_bytes(),
        Value::Float(x) => x.to_string().into_bytes(),
        Value::Map(pairs) => {
            let field = ["data", "message", "log"].iter().find_map(|name| {
                pairs.iter().find_map(|(key, value)| match (key, value) {
                    (Value::Str(k), Value::Str(_) | Value::Bin(_)) if *k == name.as_bytes() => {
                        Some(value)
                    }
                    _ => None,
                })
            });
            match field {
                Some(inner) => payload_bytes(inner),
                None => json_line(value),
            }
        }
        other => json_line(other),
    }
}

fn json_line(value: &Value<'_>) -> Vec<u8> {
    let mut line = to_json(value).to_string().into_bytes();
    line.push(b'\n');
    line
}

/// The payload of a record given as raw msgpack bytes.
///
/// # Errors
///
/// When the record does not decode (too deep, for one).
pub fn record_payload(record: &[u8]) -> Result<Vec<u8>, FramingError> {
    Ok(payload_bytes(&decode(record)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(time: u8, record: &[u8]) -> Vec<u8> {
        let mut bytes = vec![0x92, time];
        bytes.extend_from_slice(record);
        bytes
    }

    fn fixstr(text: &str) -> Vec<u8> {
        let mut bytes = vec![0xa0 | text.len() as u8];
        bytes.extend_from_slice(text.as_bytes());
        bytes
    }

    #[test]
    fn concatenated_frames_split_at_their_offsets() {
        let mut body = frame(1, &fixstr("ab"));
        body.extend(frame(2, &fixstr("cde")));

        let frames = split_frames(&body).unwrap();

        assert_eq!(frames.len(), 2);
        assert_eq!(frames[1].offset, 5);
        assert_eq!(frames[1].record, &fixstr("cde")[..]);
    }

    #[test]
    fn truncated_frame_names_its_offset() {
        let mut body = frame(1, &fixstr("ab"));
        body.extend_from_slice(&[0x92, 0x01, 0xa3, b'x']);

        let failure = split_frames(&body).unwrap_err();

        assert_eq!(failure.offset, 7);
        assert_eq!(failure.frame, 5);
        assert!(failure.reason.contains("truncated"), "{}", failure.reason);
    }

    #[test]
    fn frame_that_is_not_a_pair_is_refused() {
        let failure = split_frames(&[0x93, 1, 2, 3]).unwrap_err();

        assert_eq!(failure.offset, 0);
    }

    #[test]
    fn string_time_is_refused() {
        let mut body = vec![0x92];
        body.extend(fixstr("t"));
        body.push(0xc0);

        assert_eq!(split_frames(&body).unwrap_err().offset, 1);
    }

    #[test]
    fn event_time_is_accepted() {
        let mut body = vec![0x92, 0xd7, 0x00];
        body.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2]);
        body.extend(fixstr("x"));

        assert_eq!(split_frames(&body).unwrap().len(), 1);
    }

    #[test]
    fn huge_declared_array_is_refused_without_allocating() {
        let failure = split_frames(&[0xdd, 0xff, 0xff, 0xff, 0xff]).unwrap_err();

        assert!(failure.reason.contains("declares"), "{}", failure.reason);
    }

    #[test]
    fn reserved_marker_is_refused() {
        assert!(split_frames(&[0xc1]).is_err());
    }

    #[test]
    fn string_record_payload_is_its_text() {
        assert_eq!(record_payload(&fixstr("1,2\n")).unwrap(), b"1,2\n");
    }

    #[test]
    fn map_record_with_message_gives_the_message() {
        let mut record = vec![0x81];
        record.extend(fixstr("message"));
        record.extend(fixstr("hi"));

        assert_eq!(record_payload(&record).unwrap(), b"hi");
    }

    #[test]
    fn other_map_record_gives_a_json_line() {
        let mut record = vec![0x81];
        record.extend(fixstr("x"));
        record.push(0x05);

        assert_eq!(record_payload(&record).unwrap(), b"{\"x\":5}\n");
    }

    #[test]
    fn deep_nesting_is_refused_when_decoding() {
        let mut record = vec![0x91; MAX_DEPTH + 5];
        record.push(0xc0);

        assert!(record_payload(&record).is_err());
    }

    #[test]
    fn negative_integers_decode() {
        assert_eq!(decode(&[0xd0, 0xff]).unwrap(), Value::Int(-1));
        assert_eq!(decode(&[0xff]).unwrap(), Value::Int(-1));
    }
}
