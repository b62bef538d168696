//! The byte-range abstraction everything else is built on: an object of
//! known size read by ranges. A Data Stream over HTTP, a local file and a
//! buffer in memory all implement [`ByteRange`], so the decoders, the cache
//! and the fluentd index work and are tested the same way on each.
//!
//! This file holds the trait and the two local implementations; the HTTP
//! one lives with the client, the cached one with [`crate::BigFileReader`].

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::{Arc, RwLock};

use crate::ReaderError;

/// An object of known size read by byte ranges. Reads take `&self`: an
/// implementation with state (a connection, a cache) guards it itself.
pub trait ByteRange: Send + Sync {
    /// The object's size in bytes.
    fn size(&self) -> u64;

    /// Reads bytes from `offset` into `buffer` and returns how many were
    /// read: `buffer.len()`, or fewer only when the object ends first
    /// (0 at or past the end).
    ///
    /// # Errors
    /// The failure of the layer underneath (a transfer, a file).
    fn read_at(&self, offset: u64, buffer: &mut [u8]) -> Result<usize, ReaderError>;

    /// A short name for messages: "data stream 3", "file a.wav".
    fn describe(&self) -> String {
        "the object".to_owned()
    }

    /// Appends `bytes` at the end and returns the new size.
    ///
    /// # Errors
    /// [`ReaderError::InvalidArgument`] for a read-only object, else the
    /// failure of the layer underneath.
    fn append(&self, bytes: &[u8]) -> Result<u64, ReaderError> {
        Err(ReaderError::InvalidArgument {
            name: "append to",
            value: self.describe(),
            reason: format!("it is read-only ({} bytes not written)", bytes.len()),
        })
    }
}

/// Fills `buffer` from `offset` entirely.
///
/// # Errors
/// [`ReaderError::OutOfRange`] when the object ends before the buffer is
/// full, else the failure of the read.
pub fn read_exact_at(
    object: &dyn ByteRange,
    offset: u64,
    buffer: &mut [u8],
) -> Result<(), ReaderError> {
    let mut filled = 0;
    while filled < buffer.len() {
        let count = object.read_at(offset + filled as u64, &mut buffer[filled..])?;
        if count == 0 {
            return Err(ReaderError::OutOfRange {
                object: object.describe(),
                start: offset,
                end: offset + buffer.len() as u64,
                size: object.size(),
            });
        }
        filled += count;
    }
    Ok(())
}

/// Copies what lies at `offset` in `bytes` into `buffer`, as a
/// [`ByteRange::read_at`] over an in-memory slice.
fn copy_from_slice_at(bytes: &[u8], offset: u64, buffer: &mut [u8]) -> usize {
    let Ok(start) = usize::try_from(offset) else {
        return 0;
    };
    if start >= bytes.len() {
        return 0;
    }
    let count = buffer.len().min(bytes.len() - start);
    buffer[..count].copy_from_slice(&bytes[start..start + count]);
    count
}

/// An object held in memory, growable by [`ByteRange::append`]; for tests
/// and small inputs.
#[derive(Debug, Default)]
pub struct MemoryObject {
    name: String,
    bytes: RwLock<Vec<u8>>,
}

impl MemoryObject {
    /// An object holding `bytes`, named "memory object" in messages.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self::named("memory object", bytes)
    }

    /// An object holding `bytes`, named `name` in messages.
    pub fn named(name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        Self {
            name: name.into(),
            bytes: RwLock::new(bytes.into()),
        }
    }

    /// The object behind an `Arc`, ready to share.
    pub fn shared(bytes: impl Into<Vec<u8>>) -> Arc<dyn ByteRange> {
        Arc::new(Self::new(bytes))
    }

    /// A copy of the content.
    pub fn to_vec(&self) -> Vec<u8> {
        self.bytes
            .read()
            .unwrap_or_else(|poison| poison.into_inner())
            .clone()
    }
}

impl ByteRange for MemoryObject {
    fn size(&self) -> u64 {
        self.bytes
            .read()
            .unwrap_or_else(|poison| poison.into_inner())
            .len() as u64
    }

    fn read_at(&self, offset: u64, buffer: &mut [u8]) -> Result<usize, ReaderError> {
        let bytes = self
            .bytes
            .read()
            .unwrap_or_else(|poison| poison.into_inner());
        Ok(copy_from_slice_at(&bytes, offset, buffer))
    }

    fn describe(&self) -> String {
        self.name.clone()
    }

    fn append(&self, bytes: &[u8]) -> Result<u64, ReaderError> {
        let mut content = self
            .bytes
            .write()
            .unwrap_or_else(|poison| poison.into_inner());
        content.extend_from_slice(bytes);
        Ok(content.len() as u64)
    }
}

/// A local file, read with positioned reads (no shared cursor). Its size
/// is taken when it is opened.
#[derive(Debug)]
pub struct FileObject {
    name: String,
    file: File,
    size: u64,
}

impl FileObject {
    /// Opens `path` for reading.
    ///
    /// # Errors
    /// [`ReaderError::Io`] when the file cannot be opened.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ReaderError> {
        let name = format!("file {}", path.as_ref().display());
        let io = |source| ReaderError::Io {
            object: name.clone(),
            source,
        };
        let file = File::open(path.as_ref()).map_err(io)?;
        let size = file.metadata().map_err(io)?.len();
        Ok(Self { name, file, size })
    }
}

impl ByteRange for FileObject {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_at(&self, offset: u64, buffer: &mut [u8]) -> Result<usize, ReaderError> {
        let mut filled = 0;
        while filled < buffer.len() {
            let count = self
                .file
                .read_at(&mut buffer[filled..], offset + filled as u64)
                .map_err(|source| ReaderError::Io {
                    object: self.name.clone(),
                    source,
                })?;
            if count == 0 {
                break;
            }
            filled += count;
        }
        Ok(filled)
    }

    fn describe(&self) -> String {
        self.name.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_object_reads_short_at_the_end() {
        let object = MemoryObject::new(b"abcdef".to_vec());
        let mut buffer = [0u8; 4];

        assert_eq!(object.read_at(4, &mut buffer).unwrap(), 2);
        assert_eq!(&buffer[..2], b"ef");
        assert_eq!(object.read_at(6, &mut buffer).unwrap(), 0);
        assert_eq!(object.read_at(u64::MAX, &mut buffer).unwrap(), 0);
    }

    #[test]
    fn exact_read_past_the_end_names_the_range() {
        let object = MemoryObject::named("data stream 7", b"abc".to_vec());
        let error = read_exact_at(&object, 2, &mut [0u8; 4]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "bytes 2..6 are past the end of data stream 7 (size 3)"
        );
    }

    #[test]
    fn append_grows_a_memory_object() {
        let object = MemoryObject::new(b"xyz".to_vec());
        assert_eq!(object.append(b"01").unwrap(), 5);
        assert_eq!(object.to_vec(), b"xyz01");
    }

    #[test]
    fn file_object_reads_what_was_written() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut file, b"0123456789").unwrap();
        let object = FileObject::open(file.path()).unwrap();

        let mut buffer = [0u8; 3];
        read_exact_at(&object, 7, &mut buffer).unwrap();

        assert_eq!(object.size(), 10);
        assert_eq!(&buffer, b"789");
        assert!(object.append(b"x").is_err());
    }
}
