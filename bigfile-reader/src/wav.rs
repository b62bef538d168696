//! WAV files read lazily from a byte range: RIFF (little-endian), RIFX
//! (big-endian) and RF64/BW64 (64-bit sizes in a `ds64` chunk); PCM of 1
//! to 64 bits in containers of 1 to 8 bytes, IEEE float of 32 and 64 bits,
//! WAVE_FORMAT_EXTENSIBLE, µ-law and A-law. Compressed formats (ADPCM,
//! MP3 in WAV) are refused by name.
//!
//! The header is parsed from the first [`HEADER_WINDOW`] bytes, in one
//! read for ordinary files; samples are read only when a channel is. The
//! edge cases follow spectral-and-plotting.md §5: odd-sized chunks carry a
//! pad byte, LIST and unknown chunks may come before `data`, a data size of
//! 0 or 0xFFFFFFFF means "to the end of the object", and a truncated file
//! is read up to its last whole frame, with a warning.
//!
//! Integer samples are normalised as `scipy.io.wavfile.read` followed by a
//! division by 2^(container bits - 1) would give: the container's value,
//! so 24-bit in 3 bytes and 20-bit in 3 bytes both divide by 2^23; 8-bit
//! and narrower are unsigned, centred on 128.

use std::sync::Arc;

use crate::ReaderError;
use crate::channel::{ChannelSource, FrameLayout};
use crate::encoding::{SampleEncoding, SampleKind};
use crate::range::ByteRange;

/// Bytes read at once while parsing the header.
pub const HEADER_WINDOW: usize = 64 * 1024;

/// Header reads allowed before giving up on finding the `data` chunk.
const MAX_HEADER_READS: usize = 4;

/// Chunks skipped before giving up on finding the `data` chunk.
const MAX_CHUNKS: usize = 4096;

/// The 12 trailing bytes of the EXTENSIBLE sub-format GUIDs
/// `{XXXXXXXX-0000-0010-8000-00AA00389B71}`, as stored little-endian.
const GUID_TAIL_LITTLE: [u8; 12] = [
    0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
];

/// The same tail as a RIFX file stores it.
const GUID_TAIL_BIG: [u8; 12] = [
    0x00, 0x00, 0x00, 0x10, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
];

/// The outer container of a WAV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// `RIFF`: little-endian, 32-bit sizes.
    Riff,
    /// `RIFX`: big-endian, 32-bit sizes.
    Rifx,
    /// `RF64` or `BW64`: little-endian, 64-bit sizes in `ds64`.
    Rf64,
}

/// What the `fmt ` chunk says, with the EXTENSIBLE sub-format resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WavFormat {
    /// The format tag: 1 PCM, 3 float, 6 A-law, 7 µ-law.
    pub format_tag: u16,
    /// Channels per frame.
    pub channels: u16,
    /// Frames per second.
    pub sample_rate: u32,
    /// Bytes per second as announced (not used for decoding).
    pub byte_rate: u32,
    /// Bytes per frame.
    pub block_align: u16,
    /// Bits per sample as announced (`wBitsPerSample`).
    pub bits_per_sample: u16,
}

/// A WAV file over a byte range: its header parsed, its samples not read.
#[derive(Clone)]
pub struct WavFile {
    object: Arc<dyn ByteRange>,
    container: Container,
    format: WavFormat,
    layout: FrameLayout,
    warnings: Vec<String>,
}

impl WavFile {
    /// Parses the header of the WAV file held by `object`.
    ///
    /// # Errors
    /// [`ReaderError::NotWav`], [`ReaderError::InvalidWav`],
    /// [`ReaderError::UnsupportedWav`] or [`ReaderError::UnexpectedEnd`],
    /// each naming the problem, or the failure of a read.
    pub fn open(object: Arc<dyn ByteRange>) -> Result<Self, ReaderError> {
        let mut header = HeaderWindow::new(object.as_ref());
        let (container, declared) = parse_header(&mut header)?;
        let format = declared.format;
        let encoding = encoding_for(&format, container == Container::Rifx)?;
        let (data_offset, data_len, mut warnings) = data_extent(&declared, header.size)?;

        let block_align = usize::from(format.block_align);
        let frames = data_len / block_align as u64;
        if data_len % block_align as u64 != 0 {
            warnings.push(format!(
                "the data chunk holds {data_len} bytes, not a whole number of {block_align}-byte frames; \
                 the last partial frame is ignored"
            ));
        }
        let expected_rate = u64::from(format.sample_rate) * u64::from(format.block_align);
        if format.format_tag == 1 && u64::from(format.byte_rate) != expected_rate {
            warnings.push(format!(
                "the header announces {} bytes per second, not sample rate × block align = {}; ignored",
                format.byte_rate, expected_rate
            ));
        }
        for warning in &warnings {
            tracing::warn!(object = %object.describe(), %warning, "wav header");
        }

        let channels = usize::from(format.channels);
        let layout = FrameLayout {
            data_offset,
            frames,
            block_align,
            channels,
            encoding,
        };
        Ok(Self {
            object,
            container,
            format,
            layout,
            warnings,
        })
    }

    /// Frames per second.
    pub fn sample_rate(&self) -> u32 {
        self.format.sample_rate
    }

    /// Channels per frame.
    pub fn channels(&self) -> usize {
        usize::from(self.format.channels)
    }

    /// Bits per sample as announced by the header.
    pub fn bits_per_sample(&self) -> u16 {
        self.format.bits_per_sample
    }

    /// Number of whole frames present.
    pub fn frames(&self) -> u64 {
        self.layout.frames
    }

    /// Length in seconds.
    pub fn duration(&self) -> f64 {
        self.layout.frames as f64 / f64::from(self.format.sample_rate)
    }

    /// The container kind.
    pub fn container(&self) -> Container {
        self.container
    }

    /// The `fmt ` chunk, sub-format resolved.
    pub fn format(&self) -> WavFormat {
        self.format
    }

    /// Where the frames lie and how they are stored.
    pub fn layout(&self) -> FrameLayout {
        self.layout
    }

    /// What was odd but readable (truncation, a size meaning "to the
    /// end"), in words for the user.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// A one-line description: "PCM 16-bit, 2 channels, 48000 Hz, 96000
    /// frames (2.000 s)".
    pub fn summary(&self) -> String {
        let kind = match self.format.format_tag {
            3 => "float",
            6 => "A-law",
            7 => "µ-law",
            _ => "PCM",
        };
        format!(
            "{kind} {}-bit, {} channel(s), {} Hz, {} frames ({:.3} s)",
            self.format.bits_per_sample,
            self.format.channels,
            self.format.sample_rate,
            self.layout.frames,
            self.duration()
        )
    }

    /// Channel `index` (from 0) as a lazy source of f64 samples at the
    /// file's sample rate; integer samples are normalised to [-1, 1).
    ///
    /// # Errors
    /// [`ReaderError::NoSuchChannel`] past the last channel.
    pub fn channel(&self, index: usize) -> Result<ChannelSource, ReaderError> {
        if index >= self.channels() {
            return Err(ReaderError::NoSuchChannel {
                index,
                channels: self.channels(),
            });
        }
        let rate = Some(f64::from(self.format.sample_rate));
        let units = Some("full scale".to_owned());
        Ok(ChannelSource::new(
            self.object.clone(),
            self.layout,
            index,
            rate,
            units,
        ))
    }
}

/// Header bytes read through a window of [`HEADER_WINDOW`] bytes, moved
/// forward at most [`MAX_HEADER_READS`] times.
struct HeaderWindow<'a> {
    object: &'a dyn ByteRange,
    size: u64,
    start: u64,
    bytes: Vec<u8>,
    reads: usize,
}

impl<'a> HeaderWindow<'a> {
    fn new(object: &'a dyn ByteRange) -> Self {
        Self {
            object,
            size: object.size(),
            start: 0,
            bytes: Vec::new(),
            reads: 0,
        }
    }

    /// The `len` bytes at `offset`, reading a new window if needed.
    fn bytes_at(&mut self, offset: u64, len: usize, what: &str) -> Result<&[u8], ReaderError> {
        let end = offset.saturating_add(len as u64);
        if end > self.size {
            return Err(ReaderError::UnexpectedEnd {
                object: self.object.describe(),
                what: what.to_owned(),
                offset,
                size: self.size,
            });
        }
        if offset < self.start || end > self.start + self.bytes.len() as u64 {
            self.fill(offset, len, what)?;
        }
        let from = (offset - self.start) as usize;
        Ok(&self.bytes[from..from + len])
    }

    fn fill(&mut self, offset: u64, len: usize, what: &str) -> Result<(), ReaderError> {
        if self.reads >= MAX_HEADER_READS {
            return Err(ReaderError::InvalidWav(format!(
                "no audio data found in the first {} header bytes (looking for the {what} at byte {offset})",
                offset
            )));
        }
        self.reads += 1;
        let want = len.max(HEADER_WINDOW).min((self.size - offset) as usize);
        self.bytes.resize(want, 0);
        crate::range::read_exact_at(self.object, offset, &mut self.bytes)?;
        self.start = offset;
        Ok(())
    }
}

/// What the chunk walk found before the `data` chunk.
struct DeclaredLayout {
    format: WavFormat,
    /// Offset of the data chunk's body.
    data_offset: u64,
    /// The data size written in the data chunk header.
    data_size32: u32,
    /// The data size from `ds64`, for RF64.
    data_size64: Option<u64>,
    container: Container,
}

/// Reads the RIFF header and walks the chunks up to `data`.
fn parse_header(header: &mut HeaderWindow) -> Result<(Container, DeclaredLayout), ReaderError> {
    if header.size < 12 {
        return Err(ReaderError::NotWav(format!(
            "the object holds only {} bytes, a WAV header needs 12",
            header.size
        )));
    }
    let riff = header.bytes_at(0, 12, "RIFF header")?;
    let container = match &riff[0..4] {
        b"RIFF" => Container::Riff,
        b"RIFX" => Container::Rifx,
        b"RF64" | b"BW64" => Container::Rf64,
        other => {
            return Err(ReaderError::NotWav(format!(
                "it starts with {:?}, not RIFF, RIFX or RF64",
                escape(other)
            )));
        }
    };
    if &riff[8..12] != b"WAVE" {
        return Err(ReaderError::NotWav(format!(
            "the RIFF form type is {:?}, not WAVE",
            escape(&riff[8..12])
        )));
    }
    let declared = walk_chunks(header, container)?;
    Ok((container, declared))
}

/// Walks the chunks after the RIFF header until the `data` chunk.
fn walk_chunks(
    header: &mut HeaderWindow,
    container: Container,
) -> Result<DeclaredLayout, ReaderError> {
    let big_endian = container == Container::Rifx;
    let mut format = None;
    let mut data_size64 = None;
    let mut position = 12u64;

    for _ in 0..MAX_CHUNKS {
        if position >= header.size {
            return Err(no_data_chunk(format.is_some(), header.size));
        }
        let chunk = header.bytes_at(position, 8, "chunk header")?;
        let id: [u8; 4] = [chunk[0], chunk[1], chunk[2], chunk[3]];
        let size = read_u32(&chunk[4..8], big_endian);
        let body = position + 8;

        match &id {
            b"data" => {
                let format = format.ok_or_else(|| {
                    ReaderError::InvalidWav("the data chunk comes before any fmt chunk".to_owned())
                })?;
                return Ok(DeclaredLayout {
                    format,
                    data_offset: body,
                    data_size32: size,
                    data_size64,
                    container,
                });
            }
            b"fmt " => format = Some(parse_fmt(header, body, size, big_endian)?),
            b"ds64" if container == Container::Rf64 => {
                data_size64 = Some(parse_ds64(header, body, size)?)
            }
            _ => tracing::debug!(chunk = %escape(&id), size, "skipping wav chunk"),
        }
        position = body + u64::from(size) + u64::from(size & 1);
    }
    Err(ReaderError::InvalidWav(format!(
        "no data chunk among the first {MAX_CHUNKS} chunks"
    )))
}

fn no_data_chunk(has_format: bool, size: u64) -> ReaderError {
    let what = if has_format {
        "data chunk"
    } else {
        "fmt and data chunks"
    };
    ReaderError::InvalidWav(format!("the file ends at byte {size} without its {what}"))
}

/// Parses a `fmt ` chunk whose body starts at `body`.
fn parse_fmt(
    header: &mut HeaderWindow,
    body: u64,
    size: u32,
    big_endian: bool,
) -> Result<WavFormat, ReaderError> {
    if size < 16 {
        return Err(ReaderError::InvalidWav(format!(
            "the fmt chunk holds {size} bytes, at least 16 are needed"
        )));
    }
    let len = (size as usize).min(40);
    let bytes = header.bytes_at(body, len, "fmt chunk")?;
    let u16_at = |at: usize| read_u16(&bytes[at..at + 2], big_endian);
    let u32_at = |at: usize| read_u32(&bytes[at..at + 4], big_endian);

    let mut format = WavFormat {
        format_tag: u16_at(0),
        channels: u16_at(2),
        sample_rate: u32_at(4),
        byte_rate: u32_at(8),
        block_align: u16_at(12),
        bits_per_sample: u16_at(14),
    };
    if format.format_tag == 0xFFFE {
        format.format_tag = extensible_sub_format(bytes, big_endian)?;
    }
    Ok(format)
}

/// The format tag held by a WAVE_FORMAT_EXTENSIBLE sub-format GUID.
fn extensible_sub_format(fmt: &[u8], big_endian: bool) -> Result<u16, ReaderError> {
    if fmt.len() < 40 || read_u16(&fmt[16..18], big_endian) < 22 {
        return Err(ReaderError::InvalidWav(format!(
            "a WAVE_FORMAT_EXTENSIBLE fmt chunk needs 40 bytes with a 22-byte extension, this one holds {}",
            fmt.len()
        )));
    }
    let guid = &fmt[24..40];
    let tail = if big_endian {
        &GUID_TAIL_BIG
    } else {
        &GUID_TAIL_LITTLE
    };
    if &guid[4..16] != tail {
        let hex: String = guid.iter().map(|byte| format!("{byte:02x}")).collect();
        return Err(ReaderError::UnsupportedWav(format!(
            "unknown WAVE_FORMAT_EXTENSIBLE sub-format GUID {hex}"
        )));
    }
    let tag = read_u32(&guid[0..4], big_endian);
    u16::try_from(tag).map_err(|_| ReaderError::UnsupportedWav(format!("sub-format tag {tag:#x}")))
}

/// The data size held by an RF64 `ds64` chunk.
fn parse_ds64(header: &mut HeaderWindow, body: u64, size: u32) -> Result<u64, ReaderError> {
    if size < 24 {
        return Err(ReaderError::InvalidWav(format!(
            "the ds64 chunk holds {size} bytes, at least 24 are needed"
        )));
    }
    let bytes = header.bytes_at(body, 24, "ds64 chunk")?;
    Ok(u64::from_le_bytes(
        bytes[8..16].try_into().unwrap_or_default(),
    ))
}

/// The sample encoding and scale a format stands for.
fn encoding_for(format: &WavFormat, big_endian: bool) -> Result<SampleEncoding, ReaderError> {
    check_shape(format)?;
    let container = usize::from(format.block_align / format.channels);
    let bits = format.bits_per_sample;
    let invalid = |what: String| Err(ReaderError::UnsupportedWav(what));

    match format.format_tag {
        1 if bits as usize > container * 8 => Err(ReaderError::InvalidWav(format!(
            "{bits} bits per sample do not fit in the {container}-byte sample container"
        ))),
        1 if container == 1 => Ok(SampleEncoding {
            offset: 128.0,
            scale: 1.0 / 128.0,
            ..unsigned_byte()
        }),
        1 => {
            let scale = 0.5f64.powi(8 * container as i32 - 1);
            Ok(SampleEncoding {
                scale,
                ..SampleEncoding::plain(SampleKind::Signed, container, big_endian)
            })
        }
        3 if container == 4 || container == 8 => Ok(SampleEncoding::plain(
            SampleKind::Float,
            container,
            big_endian,
        )),
        3 => invalid(format!(
            "{}-byte floating-point samples (only 4 and 8 bytes exist)",
            container
        )),
        6 | 7 if container != 1 => {
            invalid(format!("G.711 samples in a {container}-byte container"))
        }
        6 => Ok(SampleEncoding {
            scale: 1.0 / 32768.0,
            ..SampleEncoding::plain(SampleKind::ALaw, 1, false)
        }),
        7 => Ok(SampleEncoding {
            scale: 1.0 / 32768.0,
            ..SampleEncoding::plain(SampleKind::MuLaw, 1, false)
        }),
        tag => invalid(format!(
            "format tag {tag:#06x} ({}); only PCM, IEEE float, µ-law and A-law are read: \
             convert the file, e.g. with `sox in.wav -e signed-integer out.wav`",
            format_name(tag)
        )),
    }
}

fn unsigned_byte() -> SampleEncoding {
    SampleEncoding::plain(SampleKind::Unsigned, 1, false)
}

/// Channels, rate and block align that a frame layout can be built on.
fn check_shape(format: &WavFormat) -> Result<(), ReaderError> {
    let (channels, block_align) = (format.channels, format.block_align);
    if channels == 0 {
        return Err(ReaderError::InvalidWav(
            "the fmt chunk announces 0 channels".to_owned(),
        ));
    }
    if format.sample_rate == 0 {
        return Err(ReaderError::InvalidWav(
            "the fmt chunk announces a sample rate of 0 Hz".to_owned(),
        ));
    }
    if format.bits_per_sample == 0 {
        return Err(ReaderError::InvalidWav(
            "the fmt chunk announces 0 bits per sample".to_owned(),
        ));
    }
    if block_align == 0 || block_align % channels != 0 {
        return Err(ReaderError::InvalidWav(format!(
            "block align {block_align} is not a whole number of bytes for each of the {channels} channels"
        )));
    }
    if block_align / channels > 8 {
        return Err(ReaderError::UnsupportedWav(format!(
            "{}-byte sample containers (at most 8 are read)",
            block_align / channels
        )));
    }
    Ok(())
}

fn format_name(tag: u16) -> &'static str {
    match tag {
        0x0002 => "Microsoft ADPCM",
        0x0011 => "IMA ADPCM",
        0x0031 => "GSM 6.10",
        0x0050 => "MPEG",
        0x0055 => "MPEG layer 3",
        _ => "unknown",
    }
}

/// Where the frames start and how many bytes of them there are, with the
/// warnings the sizes call for.
fn data_extent(
    declared: &DeclaredLayout,
    size: u64,
) -> Result<(u64, u64, Vec<String>), ReaderError> {
    let mut warnings = Vec::new();
    let available = size.saturating_sub(declared.data_offset);
    let announced = match (declared.container, declared.data_size32) {
        (Container::Rf64, u32::MAX) => declared.data_size64,
        (_, 0 | u32::MAX) => None,
        (_, size32) => Some(u64::from(size32)),
    };

    let len = match announced {
        None => {
            warnings.push(format!(
                "the data chunk announces no size ({:#x}), as a streamed recording does; reading to the end of the object",
                declared.data_size32
            ));
            available
        }
        Some(announced) if announced > available => {
            warnings.push(format!(
                "the file is truncated: the header announces {announced} bytes of audio, the object holds {available}; \
                 reading the whole frames present"
            ));
            available
        }
        Some(announced) => announced,
    };
    Ok((declared.data_offset, len, warnings))
}

fn read_u16(bytes: &[u8], big_endian: bool) -> u16 {
    let pair = [bytes[0], bytes[1]];
    if big_endian {
        u16::from_be_bytes(pair)
    } else {
        u16::from_le_bytes(pair)
    }
}

fn read_u32(bytes: &[u8], big_endian: bool) -> u32 {
    let quad = [bytes[0], bytes[1], bytes[2], bytes[3]];
    if big_endian {
        u32::from_be_bytes(quad)
    } else {
        u32::from_le_bytes(quad)
    }
}

/// Bytes as printable text for messages.
fn escape(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::range::MemoryObject;
    use signal::Source;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts the reads that reach the object.
    struct Counting {
        inner: MemoryObject,
        reads: AtomicUsize,
    }

    impl ByteRange for Counting {
        fn size(&self) -> u64 {
            self.inner.size()
        }

        fn read_at(&self, offset: u64, buffer: &mut [u8]) -> Result<usize, ReaderError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            self.inner.read_at(offset, buffer)
        }
    }

    /// A mono 16-bit WAV with `extra` chunks before `data`.
    fn mono16(extra: &[(&[u8; 4], usize)], samples: &[i16]) -> Vec<u8> {
        let mut bytes =
            b"RIFF\0\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0\x40\x1f\0\0\x80\x3e\0\0\x02\0\x10\0"
                .to_vec();
        for (id, len) in extra {
            bytes.extend_from_slice(&id[..]);
            bytes.extend_from_slice(&(*len as u32).to_le_bytes());
            bytes.resize(bytes.len() + len + len % 2, b'x');
        }
        bytes.extend_from_slice(b"data");
        bytes.extend_from_slice(&(samples.len() as u32 * 2).to_le_bytes());
        bytes.extend(samples.iter().flat_map(|sample| sample.to_le_bytes()));
        bytes
    }

    fn open_counting(bytes: Vec<u8>) -> (Result<WavFile, ReaderError>, usize) {
        let object = Arc::new(Counting {
            inner: MemoryObject::new(bytes),
            reads: AtomicUsize::new(0),
        });
        let wav = WavFile::open(object.clone());
        (wav, object.reads.load(Ordering::SeqCst))
    }

    #[test]
    fn an_ordinary_header_is_parsed_in_one_read() {
        let (wav, reads) = open_counting(mono16(&[(b"LIST", 31)], &[1, -2, 3]));
        let wav = wav.unwrap();
        assert_eq!(reads, 1);
        assert_eq!(
            (wav.frames(), wav.sample_rate(), wav.bits_per_sample()),
            (3, 8000, 16)
        );
    }

    #[test]
    fn a_long_chunk_before_data_costs_a_second_read() {
        let (wav, reads) = open_counting(mono16(&[(b"junk", 100_001)], &[7; 10]));
        assert_eq!(wav.unwrap().frames(), 10);
        assert_eq!(reads, 2);
    }

    #[test]
    fn samples_are_normalised_to_full_scale() {
        let wav = WavFile::open(Arc::new(MemoryObject::new(mono16(
            &[],
            &[i16::MIN, 0, 16384],
        ))))
        .unwrap();
        let mut samples = [0.0; 3];
        wav.channel(0).unwrap().read_into(0, &mut samples).unwrap();
        assert_eq!(samples, [-1.0, 0.0, 0.5]);
        assert!(wav.channel(1).is_err());
    }

    #[test]
    fn data_before_fmt_is_refused() {
        let bytes = b"RIFF\0\0\0\0WAVEdata\x02\0\0\0\0\0".to_vec();
        let error = WavFile::open(Arc::new(MemoryObject::new(bytes)))
            .err()
            .unwrap();
        assert_eq!(
            error.to_string(),
            "invalid WAV header: the data chunk comes before any fmt chunk"
        );
    }

    #[test]
    fn other_files_are_not_taken_for_wav() {
        let error = WavFile::open(Arc::new(MemoryObject::new(
            b"\x89PNG\r\n\x1a\n\0\0\0\0".to_vec(),
        )))
        .err()
        .unwrap();
        assert!(
            error
                .to_string()
                .starts_with("not a WAV file: it starts with"),
            "{error}"
        );
    }
}
