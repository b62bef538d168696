//! [`BigFileReader`]: a seekable reader over a remote object (`read(n)`,
//! `seek(pos)`, `position`, `size`), backed by a [`CachedRange`] so that
//! sequential reads fetch ahead and memory stays the cache's capacity;
//! and [`StreamBytes`], the ranged calls of a Data Stream
//! (`read(start, end)`, `iterate(chunk)`, `data()` within a limit,
//! `append`).
//!
//! The reader also opens what the bytes hold: [`BigFileReader::wav`],
//! [`BigFileReader::samples`], and with [`Format::Fluentd`] the payloads of
//! fluentd frames instead of the frames.

use std::sync::Arc;

use signal::{Progress, Silent};

use crate::ReaderError;
use crate::cache::{CacheOptions, CachedRange};
use crate::fluentd::FluentdStream;
use crate::range::ByteRange;
use crate::samples::RawSamples;
use crate::wav::WavFile;

/// Default limit of [`StreamBytes::data`]: 64 MiB.
pub const DEFAULT_DATA_LIMIT: u64 = 64 << 20;

/// How the object's bytes are laid out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Format {
    /// The bytes as stored.
    #[default]
    Raw,
    /// msgpack `[time, record]` frames from fluentd's wendelin output;
    /// the reader reads the concatenated payloads.
    Fluentd,
}

impl std::str::FromStr for Format {
    type Err = ReaderError;

    fn from_str(name: &str) -> Result<Self, ReaderError> {
        match name {
            "raw" => Ok(Self::Raw),
            "fluentd" => Ok(Self::Fluentd),
            other => Err(ReaderError::InvalidArgument {
                name: "format",
                value: format!("{other:?}"),
                reason: "expected \"raw\" or \"fluentd\"".to_owned(),
            }),
        }
    }
}

/// Options of a [`BigFileReader`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReaderOptions {
    /// Cache and retry tuning.
    pub cache: CacheOptions,
    /// Layout of the bytes.
    pub format: Format,
}

/// A seekable, cached reader over a byte range.
pub struct BigFileReader {
    cache: Arc<CachedRange>,
    object: Arc<dyn ByteRange>,
    position: u64,
    progress: Arc<dyn Progress>,
}

impl BigFileReader {
    /// A reader with the default options: 32 MiB cache, raw bytes.
    ///
    /// # Errors
    /// None with the default options; kept for symmetry with
    /// [`BigFileReader::with_options`].
    pub fn new(object: Arc<dyn ByteRange>) -> Result<Self, ReaderError> {
        Self::with_options(object, ReaderOptions::default(), Arc::new(Silent))
    }

    /// A reader with `options`, reporting to `progress` (bytes read, and
    /// the fluentd indexing pass) and stopping when it is cancelled.
    ///
    /// # Errors
    /// [`ReaderError::InvalidArgument`] for bad cache options, and for
    /// [`Format::Fluentd`] the errors of [`FluentdStream::index`].
    pub fn with_options(
        object: Arc<dyn ByteRange>,
        options: ReaderOptions,
        progress: Arc<dyn Progress>,
    ) -> Result<Self, ReaderError> {
        let cache = Arc::new(CachedRange::new(object, options.cache)?);
        cache.set_progress(progress.clone());
        let object: Arc<dyn ByteRange> = match options.format {
            Format::Raw => cache.clone(),
            Format::Fluentd => {
                progress.phase("indexing fluentd frames");
                Arc::new(FluentdStream::index_with_progress(
                    cache.clone(),
                    progress.as_ref(),
                )?)
            }
        };
        Ok(Self {
            cache,
            object,
            position: 0,
            progress,
        })
    }

    /// Size in bytes (of the payloads, for fluentd streams).
    pub fn size(&self) -> u64 {
        self.object.size()
    }

    /// The position of the next read.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Moves the position to `position` and returns it.
    ///
    /// # Errors
    /// [`ReaderError::OutOfRange`] past the end.
    pub fn seek(&mut self, position: u64) -> Result<u64, ReaderError> {
        let size = self.size();
        if position > size {
            return Err(ReaderError::OutOfRange {
                object: self.object.describe(),
                start: position,
                end: position,
                size,
            });
        }
        self.position = position;
        Ok(position)
    }

    /// Reads up to `count` bytes from the position (fewer at the end,
    /// none past it) and moves the position on.
    ///
    /// # Errors
    /// [`ReaderError::Cancelled`] or a failure that persisted.
    pub fn read(&mut self, count: usize) -> Result<Vec<u8>, ReaderError> {
        let left = self.size().saturating_sub(self.position);
        let mut buffer = vec![0u8; count.min(left as usize)];
        let filled = self.read_into(&mut buffer)?;
        buffer.truncate(filled);
        Ok(buffer)
    }

    /// Fills `buffer` from the position (fewer bytes at the end), moves
    /// the position on and returns the count.
    ///
    /// # Errors
    /// As [`BigFileReader::read`].
    pub fn read_into(&mut self, buffer: &mut [u8]) -> Result<usize, ReaderError> {
        let size = self.size();
        let step = 8 << 20;
        let mut filled = 0;
        while filled < buffer.len() {
            self.progress.check()?;
            let end = buffer.len().min(filled + step);
            let count = self
                .object
                .read_at(self.position, &mut buffer[filled..end])?;
            if count == 0 {
                break;
            }
            filled += count;
            self.position += count as u64;
            self.progress.advance(self.position, size);
        }
        Ok(filled)
    }

    /// The bytes as a byte range (cached; payloads for fluentd streams),
    /// to share with decoders.
    pub fn object(&self) -> Arc<dyn ByteRange> {
        self.object.clone()
    }

    /// The cache underneath, for its statistics.
    pub fn cache(&self) -> &CachedRange {
        &self.cache
    }

    /// Parses the bytes as a WAV file (header only).
    ///
    /// # Errors
    /// As [`WavFile::open`].
    pub fn wav(&self) -> Result<WavFile, ReaderError> {
        WavFile::open(self.object())
    }

    /// Reads the bytes as headerless interleaved samples.
    ///
    /// # Errors
    /// As [`RawSamples::new`].
    pub fn samples(
        &self,
        dtype: &str,
        channels: usize,
        sample_rate: Option<f64>,
    ) -> Result<RawSamples, ReaderError> {
        RawSamples::new(self.object(), dtype, channels, sample_rate)
    }
}

impl std::io::Read for BigFileReader {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        self.read_into(buffer).map_err(std::io::Error::other)
    }
}

impl std::io::Seek for BigFileReader {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        let target = match to {
            std::io::SeekFrom::Start(position) => Some(position),
            std::io::SeekFrom::End(delta) => self.size().checked_add_signed(delta),
            std::io::SeekFrom::Current(delta) => self.position.checked_add_signed(delta),
        };
        let target = target.ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before the start")
        })?;
        BigFileReader::seek(self, target).map_err(std::io::Error::other)
    }
}

/// The ranged calls of a Data Stream over any byte range.
#[derive(Clone)]
pub struct StreamBytes {
    object: Arc<dyn ByteRange>,
    data_limit: u64,
}

impl StreamBytes {
    /// The calls over `object`, with the default `data()` limit.
    pub fn new(object: Arc<dyn ByteRange>) -> Self {
        Self {
            object,
            data_limit: DEFAULT_DATA_LIMIT,
        }
    }

    /// The same with another `data()` limit in bytes.
    pub fn with_data_limit(mut self, limit: u64) -> Self {
        self.data_limit = limit;
        self
    }

    /// Size in bytes.
    pub fn size(&self) -> u64 {
        self.object.size()
    }

    /// Bytes `start .. end`, `end` clamped to the size.
    ///
    /// # Errors
    /// [`ReaderError::OutOfRange`] when `start` is past the end or after
    /// `end`, else the failure of the read.
    pub fn read(&self, start: u64, end: u64) -> Result<Vec<u8>, ReaderError> {
        let size = self.size();
        if start > size || start > end {
            return Err(ReaderError::OutOfRange {
                object: self.object.describe(),
                start,
                end,
                size,
            });
        }
        let mut buffer = vec![0u8; (end.min(size) - start) as usize];
        crate::range::read_exact_at(self.object.as_ref(), start, &mut buffer)?;
        Ok(buffer)
    }

    /// Consecutive chunks of `chunk_size` bytes (the last shorter), in
    /// order, read one at a time.
    ///
    /// # Errors
    /// [`ReaderError::InvalidArgument`] for a chunk size of 0.
    pub fn iterate(&self, chunk_size: usize) -> Result<StreamChunks, ReaderError> {
        if chunk_size == 0 {
            return Err(ReaderError::InvalidArgument {
                name: "chunk size",
                value: "0".to_owned(),
                reason: "expected a positive number of bytes".to_owned(),
            });
        }
        Ok(StreamChunks {
            bytes: self.clone(),
            chunk_size: chunk_size as u64,
            next: 0,
            end: self.size(),
        })
    }

    /// Every byte, when the object is within the limit.
    ///
    /// # Errors
    /// [`ReaderError::TooLarge`] above the limit (pointing to
    /// BigFileReader), else the failure of the read.
    pub fn data(&self) -> Result<Vec<u8>, ReaderError> {
        let size = self.size();
        if size > self.data_limit {
            return Err(ReaderError::TooLarge {
                object: self.object.describe(),
                size,
                limit: self.data_limit,
            });
        }
        self.read(0, size)
    }

    /// Appends `bytes`; returns the new size.
    ///
    /// # Errors
    /// The failure of the append.
    pub fn append(&self, bytes: &[u8]) -> Result<u64, ReaderError> {
        self.object.append(bytes)
    }
}

/// The iterator of [`StreamBytes::iterate`].
pub struct StreamChunks {
    bytes: StreamBytes,
    chunk_size: u64,
    next: u64,
    end: u64,
}

impl Iterator for StreamChunks {
    type Item = Result<Vec<u8>, ReaderError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.end {
            return None;
        }
        let end = (self.next + self.chunk_size).min(self.end);
        let chunk = self.bytes.read(self.next, end);
        self.next = if chunk.is_ok() { end } else { self.end };
        Some(chunk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::range::MemoryObject;
    use std::io::{Read, Seek, SeekFrom};

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    #[test]
    fn reads_and_seeks_follow_the_position() {
        let bytes = pattern(10_000);
        let mut reader = BigFileReader::new(MemoryObject::shared(bytes.clone())).unwrap();

        assert_eq!(reader.read(100).unwrap(), bytes[..100]);
        reader.seek(9_990).unwrap();
        assert_eq!(reader.read(100).unwrap(), bytes[9_990..]);
        assert_eq!(reader.position(), 10_000);
        assert!(reader.read(10).unwrap().is_empty());
        assert!(reader.seek(10_001).is_err());
    }

    #[test]
    fn std_io_traits_work_for_consumers_of_files() {
        let bytes = pattern(5_000);
        let mut reader = BigFileReader::new(MemoryObject::shared(bytes.clone())).unwrap();
        Seek::seek(&mut reader, SeekFrom::End(-10)).unwrap();
        let mut tail = Vec::new();
        reader.read_to_end(&mut tail).unwrap();
        assert_eq!(tail, bytes[4_990..]);
    }

    #[test]
    fn reads_report_progress_and_stop_when_cancelled() {
        let flag = signal::CancelFlag::new();
        let options = ReaderOptions::default();
        let mut reader = BigFileReader::with_options(
            MemoryObject::shared(pattern(100)),
            options,
            Arc::new(flag.clone()),
        )
        .unwrap();
        assert_eq!(reader.read(10).unwrap().len(), 10);

        flag.cancel();

        assert!(matches!(reader.read(10), Err(ReaderError::Cancelled)));
        assert_eq!(reader.position(), 10);
    }

    /// Records the length of every read that reaches the object.
    struct Recording {
        inner: MemoryObject,
        reads: std::sync::Mutex<Vec<usize>>,
    }

    impl ByteRange for Recording {
        fn size(&self) -> u64 {
            self.inner.size()
        }

        fn read_at(&self, offset: u64, buffer: &mut [u8]) -> Result<usize, ReaderError> {
            self.reads.lock().unwrap().push(buffer.len());
            self.inner.read_at(offset, buffer)
        }
    }

    #[test]
    fn a_wav_header_costs_one_small_request() {
        let mut bytes =
            b"RIFF\0\0\0\0WAVEfmt \x10\0\0\0\x01\0\x02\0\x40\x1f\0\0\0\x7d\0\0\x04\0\x10\0data"
                .to_vec();
        bytes.extend_from_slice(&(4_000_000u32).to_le_bytes());
        bytes.resize(bytes.len() + 4_000_000, 1);
        let object = Arc::new(Recording {
            inner: MemoryObject::new(bytes),
            reads: Default::default(),
        });

        let wav = BigFileReader::new(object.clone()).unwrap().wav().unwrap();

        assert_eq!(wav.frames(), 1_000_000);
        assert_eq!(*object.reads.lock().unwrap(), [64 << 10]);
    }

    #[test]
    fn stream_reads_clamp_at_the_end_and_iterate_in_order() {
        let bytes = pattern(1000);
        let stream = StreamBytes::new(MemoryObject::shared(bytes.clone()));

        assert_eq!(stream.read(990, 2000).unwrap(), bytes[990..]);
        assert!(stream.read(1001, 1002).is_err());
        let chunks: Vec<Vec<u8>> = stream.iterate(300).unwrap().map(Result::unwrap).collect();
        assert_eq!(
            chunks.iter().map(Vec::len).collect::<Vec<_>>(),
            [300, 300, 300, 100]
        );
        assert_eq!(chunks.concat(), bytes);
    }

    #[test]
    fn data_above_the_limit_points_to_big_file_reader() {
        let stream = StreamBytes::new(Arc::new(MemoryObject::named("data stream 4", pattern(100))))
            .with_data_limit(50);
        let error = stream.data().unwrap_err().to_string();
        assert!(
            error.starts_with("data stream 4 holds 100 bytes, above the limit of 50 bytes"),
            "{error}"
        );
        assert!(error.contains("BigFileReader"), "{error}");
    }

    #[test]
    fn append_then_read_sees_the_new_bytes() {
        let stream = StreamBytes::new(MemoryObject::shared(b"xyz".to_vec()));
        assert_eq!(stream.append(b"01").unwrap(), 5);
        assert_eq!(stream.data().unwrap(), b"xyz01");
    }

    #[test]
    fn format_names_parse_and_bad_ones_are_named() {
        assert_eq!("fluentd".parse::<Format>().unwrap(), Format::Fluentd);
        let error = "csv".parse::<Format>().unwrap_err().to_string();
        assert_eq!(
            error,
            "invalid format \"csv\": expected \"raw\" or \"fluentd\""
        );
    }
}
