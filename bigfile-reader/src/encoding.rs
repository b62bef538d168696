//! How one sample is stored and how it becomes an f64: integer, unsigned,
//! float, µ-law or A-law, in a container of 1 to 8 bytes of either byte
//! order, then scaled. WAV channels and raw sample streams share it; this
//! file also parses numpy-style dtype strings ("<i2", ">f8", "uint8").
//!
//! The µ-law and A-law expansions follow ITU-T G.711 to 16-bit linear
//! values, the same values Python's `audioop.ulaw2lin` / `alaw2lin` give
//! with width 2 (checked against it in `tests/wav_conformance.rs`).

use crate::ReaderError;

/// The family of a stored sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleKind {
    /// Two's complement integer.
    Signed,
    /// Unsigned integer.
    Unsigned,
    /// IEEE 754 float, 4 or 8 bytes.
    Float,
    /// G.711 µ-law, 1 byte.
    MuLaw,
    /// G.711 A-law, 1 byte.
    ALaw,
}

/// One stored sample's layout and its conversion to f64:
/// `(stored value - offset) * scale`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleEncoding {
    /// The family.
    pub kind: SampleKind,
    /// Container size in bytes, 1 to 8.
    pub bytes: usize,
    /// Byte order of the container.
    pub big_endian: bool,
    /// Subtracted from the stored value before scaling.
    pub offset: f64,
    /// Multiplies the stored value after the offset.
    pub scale: f64,
}

impl SampleEncoding {
    /// An encoding whose values are returned as stored.
    pub fn plain(kind: SampleKind, bytes: usize, big_endian: bool) -> Self {
        Self {
            kind,
            bytes,
            big_endian,
            offset: 0.0,
            scale: 1.0,
        }
    }

    /// Parses a numpy-style dtype: an optional byte order (`<` little,
    /// `>` big, `|` or `=` native little), a kind (`i`, `u`, `f`) and a
    /// size in bytes; or a name such as `int16`, `uint8`, `float32`.
    ///
    /// # Errors
    /// [`ReaderError::InvalidDtype`] naming what is not understood.
    pub fn from_dtype(dtype: &str) -> Result<Self, ReaderError> {
        let invalid = |reason: &str| ReaderError::InvalidDtype {
            dtype: dtype.to_owned(),
            reason: reason.to_owned(),
        };
        let (big_endian, code) = split_byte_order(dtype.trim());
        let (kind, size) = match named_dtype(code) {
            Some(parsed) => parsed,
            None => short_dtype(code).ok_or_else(|| {
                invalid("expected a byte order <, > or |, a kind i, u or f and a size in bytes, as in \"<i2\" or \">f4\"")
            })?,
        };

        let sizes: &[usize] = if kind == SampleKind::Float {
            &[4, 8]
        } else {
            &[1, 2, 4, 8]
        };
        if !sizes.contains(&size) {
            return Err(invalid(&format!(
                "{size}-byte samples of this kind are not supported; sizes: {sizes:?}"
            )));
        }
        Ok(Self::plain(kind, size, big_endian))
    }

    /// Decodes the sample at byte `first` of every `stride`-byte frame of
    /// `frames` into `out`, one per frame, for as many frames as `out`
    /// holds.
    ///
    /// # Panics
    /// When `frames` holds fewer than `out.len()` frames or the sample does
    /// not fit in a frame.
    pub fn decode_channel(&self, frames: &[u8], stride: usize, first: usize, out: &mut [f64]) {
        assert!(
            first + self.bytes <= stride,
            "sample at {first}+{} outside a {stride}-byte frame",
            self.bytes
        );
        assert!(
            frames.len() >= out.len() * stride,
            "{} frames expected, got {} bytes",
            out.len(),
            frames.len()
        );
        let frames = &frames[..out.len() * stride];
        let (offset, scale) = (self.offset, self.scale);

        match (self.kind, self.bytes, self.big_endian) {
            (SampleKind::Signed, 2, false) => each(frames, stride, first, out, |s| {
                (f64::from(i16::from_le_bytes([s[0], s[1]])) - offset) * scale
            }),
            (SampleKind::Signed, 4, false) => each(frames, stride, first, out, |s| {
                (f64::from(i32::from_le_bytes([s[0], s[1], s[2], s[3]])) - offset) * scale
            }),
            (SampleKind::Float, 4, false) => each(frames, stride, first, out, |s| {
                (f64::from(f32::from_le_bytes([s[0], s[1], s[2], s[3]])) - offset) * scale
            }),
            (SampleKind::Float, 8, false) => each(frames, stride, first, out, |s| {
                (f64::from_le_bytes(s[..8].try_into().unwrap_or_default()) - offset) * scale
            }),
            (SampleKind::Unsigned, 1, _) => each(frames, stride, first, out, |s| {
                (f64::from(s[0]) - offset) * scale
            }),
            _ => {
                let encoding = *self;
                each(frames, stride, first, out, |s| {
                    (encoding.decode_one(s) - offset) * scale
                });
            }
        }
    }

    /// The stored value of one sample, before offset and scale.
    fn decode_one(&self, sample: &[u8]) -> f64 {
        let sample = &sample[..self.bytes];
        match self.kind {
            SampleKind::MuLaw => f64::from(mu_law_to_linear(sample[0])),
            SampleKind::ALaw => f64::from(a_law_to_linear(sample[0])),
            SampleKind::Float if self.bytes == 4 => {
                f64::from(f32::from_bits(assemble(sample, self.big_endian) as u32))
            }
            SampleKind::Float => f64::from_bits(assemble(sample, self.big_endian)),
            SampleKind::Unsigned => assemble(sample, self.big_endian) as f64,
            SampleKind::Signed => {
                let shift = 64 - 8 * self.bytes as u32;
                ((assemble(sample, self.big_endian) << shift) as i64 >> shift) as f64
            }
        }
    }
}

/// Splits a leading byte-order mark off a dtype.
fn split_byte_order(dtype: &str) -> (bool, &str) {
    match dtype.as_bytes().first() {
        Some(b'>') => (true, &dtype[1..]),
        Some(b'<' | b'|' | b'=') => (false, &dtype[1..]),
        _ => (false, dtype),
    }
}

/// `i2`, `u1`, `f8` and the like.
fn short_dtype(code: &str) -> Option<(SampleKind, usize)> {
    let kind = match code.as_bytes().first()? {
        b'i' => SampleKind::Signed,
        b'u' => SampleKind::Unsigned,
        b'f' => SampleKind::Float,
        _ => return None,
    };
    Some((kind, code[1..].parse().ok()?))
}

/// `int16`, `uint8`, `float64` and the like.
fn named_dtype(code: &str) -> Option<(SampleKind, usize)> {
    let (kind, bits) = if let Some(bits) = code.strip_prefix("uint") {
        (SampleKind::Unsigned, bits)
    } else if let Some(bits) = code.strip_prefix("int") {
        (SampleKind::Signed, bits)
    } else if let Some(bits) = code.strip_prefix("float") {
        (SampleKind::Float, bits)
    } else {
        return None;
    };
    let bits: usize = bits.parse().ok()?;
    bits.is_multiple_of(8).then_some((kind, bits / 8))
}

/// Calls `decode` on the sample at `first` of each frame.
#[inline(always)]
fn each(
    frames: &[u8],
    stride: usize,
    first: usize,
    out: &mut [f64],
    decode: impl Fn(&[u8]) -> f64,
) {
    for (value, frame) in out.iter_mut().zip(frames.chunks_exact(stride)) {
        *value = decode(&frame[first..]);
    }
}

/// The unsigned integer held by up to 8 bytes in the given order.
fn assemble(bytes: &[u8], big_endian: bool) -> u64 {
    let fold = |raw: u64, &byte: &u8| raw << 8 | u64::from(byte);
    if big_endian {
        bytes.iter().fold(0, fold)
    } else {
        bytes.iter().rev().fold(0, fold)
    }
}

/// G.711 µ-law byte to 16-bit linear: the complemented byte holds a sign,
/// a 3-bit segment and a 4-bit step; the magnitude is
/// `((step << 3) + 0x84) << segment` less the bias 0x84.
pub fn mu_law_to_linear(byte: u8) -> i16 {
    let code = !byte;
    let segment = (code >> 4) & 0x07;
    let magnitude = ((i32::from(code & 0x0F) << 3) + 0x84) << segment;
    let value = magnitude - 0x84;
    (if code & 0x80 != 0 { -value } else { value }) as i16
}

/// G.711 A-law byte to 16-bit linear: the byte with its even bits
/// inverted holds a sign (set for positive), a 3-bit segment and a 4-bit
/// step; segment 0 is linear, the others double per segment.
pub fn a_law_to_linear(byte: u8) -> i16 {
    let code = byte ^ 0x55;
    let segment = (code >> 4) & 0x07;
    let step = i32::from(code & 0x0F) << 4;
    let magnitude = match segment {
        0 => step + 8,
        _ => (step + 0x108) << (segment - 1),
    };
    (if code & 0x80 != 0 {
        magnitude
    } else {
        -magnitude
    }) as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(encoding: SampleEncoding, bytes: &[u8]) -> Vec<f64> {
        let mut out = vec![0.0; bytes.len() / encoding.bytes];
        encoding.decode_channel(bytes, encoding.bytes, 0, &mut out);
        out
    }

    #[test]
    fn dtypes_parse_in_numpy_spelling() {
        let parsed = SampleEncoding::from_dtype(">i2").unwrap();
        assert_eq!(
            (parsed.kind, parsed.bytes, parsed.big_endian),
            (SampleKind::Signed, 2, true)
        );
        assert_eq!(SampleEncoding::from_dtype("<f8").unwrap().bytes, 8);
        assert_eq!(
            SampleEncoding::from_dtype("uint8").unwrap().kind,
            SampleKind::Unsigned
        );
        assert_eq!(SampleEncoding::from_dtype("|u1").unwrap().bytes, 1);
    }

    #[test]
    fn unknown_dtypes_are_refused_by_name() {
        let error = SampleEncoding::from_dtype("<f2").unwrap_err().to_string();
        assert!(error.contains("\"<f2\""), "{error}");
        assert!(SampleEncoding::from_dtype("<c16").is_err());
        assert!(SampleEncoding::from_dtype("").is_err());
        assert!(SampleEncoding::from_dtype("<i3").is_err());
    }

    #[test]
    fn integers_decode_in_both_byte_orders() {
        let little = SampleEncoding::from_dtype("<i2").unwrap();
        let big = SampleEncoding::from_dtype(">i2").unwrap();
        assert_eq!(
            decode(little, &[0x01, 0x80, 0xFF, 0x7F]),
            [-32767.0, 32767.0]
        );
        assert_eq!(decode(big, &[0x80, 0x01, 0x7F, 0xFF]), [-32767.0, 32767.0]);
        let wide = SampleEncoding::from_dtype(">u4").unwrap();
        assert_eq!(decode(wide, &[0xFF, 0xFF, 0xFF, 0xFE]), [4294967294.0]);
    }

    #[test]
    fn odd_container_sizes_sign_extend() {
        let three = SampleEncoding::plain(SampleKind::Signed, 3, false);
        assert_eq!(
            decode(three, &[0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x80]),
            [-1.0, -8388608.0]
        );
        let five = SampleEncoding::plain(SampleKind::Signed, 5, true);
        assert_eq!(decode(five, &[0x80, 0, 0, 0, 0]), [-549755813888.0]);
    }

    #[test]
    fn floats_decode_as_stored() {
        let big = SampleEncoding::from_dtype(">f4").unwrap();
        assert_eq!(decode(big, &1.5f32.to_be_bytes()), [1.5]);
        let little = SampleEncoding::from_dtype("<f8").unwrap();
        assert_eq!(decode(little, &(-0.1f64).to_le_bytes()), [-0.1]);
    }

    #[test]
    fn a_channel_is_picked_out_of_interleaved_frames() {
        let encoding = SampleEncoding::from_dtype("<i2").unwrap();
        let frames: Vec<u8> = [1i16, -1, 2, -2, 3, -3]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let mut out = [0.0; 3];
        encoding.decode_channel(&frames, 4, 2, &mut out);
        assert_eq!(out, [-1.0, -2.0, -3.0]);
    }

    #[test]
    fn g711_extremes_match_the_standard_tables() {
        assert_eq!(mu_law_to_linear(0x00), -32124);
        assert_eq!(mu_law_to_linear(0x80), 32124);
        assert_eq!(mu_law_to_linear(0xFF), 0);
        assert_eq!(a_law_to_linear(0xD5), 8);
        assert_eq!(a_law_to_linear(0x55), -8);
        assert_eq!(a_law_to_linear(0xAA), 32256);
    }
}
