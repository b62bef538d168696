//! Memory-mapped scratch files: where a transform too large for memory
//! keeps its intermediate matrix and its result.
//!
//! A file lives in a caller-given directory (default the system temporary
//! directory) and is removed when its [`ScratchFile`] is dropped, which
//! happens on success, on error and on cancellation alike. It is read
//! through memory maps of bounded windows, so its pages are file-backed
//! and the process's own (anonymous) memory stays within the job's budget.
//! It is written with positioned writes: first touching a page of a new
//! (sparse) file through a map makes the kernel read and zero it, which
//! measured as a third of an out-of-core transform's time. Values are
//! stored little-endian, f64 or complex (re, im) pairs.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use memmap2::{MmapMut, MmapOptions};
use num_complex::Complex64;
use tempfile::NamedTempFile;

use crate::SpectralError;

/// Bytes of one f64.
const F64_BYTES: u64 = 8;

/// Bytes of one complex value.
pub const COMPLEX_BYTES: u64 = 16;

/// A sized temporary file, removed on drop.
#[derive(Debug)]
pub struct ScratchFile {
    file: NamedTempFile,
    dir: PathBuf,
    len_bytes: u64,
}

impl ScratchFile {
    /// Creates a file of `len_bytes` zero bytes (sparse) in `dir`.
    ///
    /// # Errors
    /// [`SpectralError::Scratch`] when the file cannot be created or sized.
    pub fn create(dir: &Path, len_bytes: u64) -> Result<Self, SpectralError> {
        let failed = |source| SpectralError::Scratch {
            dir: dir.to_path_buf(),
            source,
        };
        let file = tempfile::Builder::new()
            .prefix("spectral-")
            .suffix(".scratch")
            .tempfile_in(dir)
            .map_err(failed)?;
        file.as_file().set_len(len_bytes).map_err(failed)?;
        tracing::debug!(path = %file.path().display(), len_bytes, "scratch file created");
        Ok(Self {
            file,
            dir: dir.to_path_buf(),
            len_bytes,
        })
    }

    /// Where the file is, while it exists.
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// Maps bytes `offset .. offset + len` for reading.
    ///
    /// # Errors
    /// [`SpectralError::Scratch`] when the range passes the end or the map
    /// fails.
    pub fn window(&self, offset: u64, len: u64) -> Result<MappedWindow, SpectralError> {
        if offset + len > self.len_bytes {
            let message = format!(
                "window {offset}..{} passes the end of the file ({} bytes)",
                offset + len,
                self.len_bytes
            );
            return Err(self.failure(std::io::Error::other(message)));
        }
        let map = map_window(self.file.as_file(), offset, len as usize)
            .map_err(|source| self.failure(source))?;
        Ok(MappedWindow { map })
    }

    /// Writes `values` at complex index `index`.
    ///
    /// # Errors
    /// [`SpectralError::Scratch`] when the range passes the end or the
    /// write fails.
    pub fn write_complex(&self, index: u64, values: &[Complex64]) -> Result<(), SpectralError> {
        let mut bytes = Vec::with_capacity(values.len() * COMPLEX_BYTES as usize);
        for value in values {
            bytes.extend_from_slice(&value.re.to_le_bytes());
            bytes.extend_from_slice(&value.im.to_le_bytes());
        }
        self.write_bytes(index * COMPLEX_BYTES, &bytes)
    }

    /// Reads `out.len()` complex values from complex index `index`.
    ///
    /// # Errors
    /// As [`ScratchFile::window`].
    pub fn read_complex(&self, index: u64, out: &mut [Complex64]) -> Result<(), SpectralError> {
        let bytes = out.len() as u64 * COMPLEX_BYTES;
        self.window(index * COMPLEX_BYTES, bytes)?
            .read_complex(0, out);
        Ok(())
    }

    /// Writes `values` at f64 index `index`.
    ///
    /// # Errors
    /// As [`ScratchFile::write_complex`].
    pub fn write_f64s(&self, index: u64, values: &[f64]) -> Result<(), SpectralError> {
        let bytes: Vec<u8> = values
            .iter()
            .flat_map(|value| value.to_le_bytes())
            .collect();
        self.write_bytes(index * F64_BYTES, &bytes)
    }

    fn write_bytes(&self, offset: u64, bytes: &[u8]) -> Result<(), SpectralError> {
        let end = offset + bytes.len() as u64;
        if end > self.len_bytes {
            let message = format!(
                "write {offset}..{end} passes the end of the file ({} bytes)",
                self.len_bytes
            );
            return Err(self.failure(std::io::Error::other(message)));
        }
        self.file
            .as_file()
            .write_all_at(bytes, offset)
            .map_err(|source| self.failure(source))
    }

    /// Reads `out.len()` f64 values from f64 index `index`.
    ///
    /// # Errors
    /// As [`ScratchFile::window`].
    pub fn read_f64s(&self, index: u64, out: &mut [f64]) -> Result<(), SpectralError> {
        let bytes = out.len() as u64 * F64_BYTES;
        self.window(index * F64_BYTES, bytes)?.read_f64s(0, out);
        Ok(())
    }

    fn failure(&self, source: std::io::Error) -> SpectralError {
        SpectralError::Scratch {
            dir: self.dir.clone(),
            source,
        }
    }
}

/// Maps `len` bytes of `file` from `offset`; memmap2 aligns the offset to
/// the page size itself.
#[allow(unsafe_code)]
fn map_window(file: &File, offset: u64, len: usize) -> std::io::Result<MmapMut> {
    if len == 0 {
        return MmapMut::map_anon(0);
    }
    // SAFETY: the file is a private temporary file that this process created
    // and nobody else opens or truncates while a window is mapped (its size
    // is fixed at creation and the range is checked against it), so the
    // mapped bytes cannot change or vanish under the returned slice.
    unsafe { MmapOptions::new().offset(offset).len(len).map_mut(file) }
}

/// A mapped range of a scratch file, read in values; unmapped on drop.
pub struct MappedWindow {
    map: MmapMut,
}

impl MappedWindow {
    /// Reads complex values starting at complex index `at` of the window.
    pub fn read_complex(&self, at: usize, out: &mut [Complex64]) {
        let start = at * COMPLEX_BYTES as usize;
        let bytes = &self.map[start..start + out.len() * COMPLEX_BYTES as usize];
        for (chunk, value) in bytes.chunks_exact(COMPLEX_BYTES as usize).zip(out) {
            *value = Complex64::new(f64_at(&chunk[..8]), f64_at(&chunk[8..]));
        }
    }

    /// Reads f64 values starting at f64 index `at` of the window.
    pub fn read_f64s(&self, at: usize, out: &mut [f64]) {
        let start = at * F64_BYTES as usize;
        let bytes = &self.map[start..start + out.len() * F64_BYTES as usize];
        for (chunk, value) in bytes.chunks_exact(F64_BYTES as usize).zip(out) {
            *value = f64_at(chunk);
        }
    }
}

fn f64_at(bytes: &[u8]) -> f64 {
    let mut array = [0; 8];
    array.copy_from_slice(bytes);
    f64::from_le_bytes(array)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_written_through_windows_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let scratch = ScratchFile::create(dir.path(), 10_000 * COMPLEX_BYTES).unwrap();
        let values: Vec<Complex64> = (0..777)
            .map(|i| Complex64::new(i as f64, -0.5 * i as f64))
            .collect();

        scratch.write_complex(4097, &values).unwrap();
        let mut back = vec![Complex64::default(); 777];
        scratch.read_complex(4097, &mut back).unwrap();

        assert_eq!(back, values);
    }

    #[test]
    fn a_dropped_scratch_file_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let scratch = ScratchFile::create(dir.path(), 4096).unwrap();
        let path = scratch.path().to_path_buf();
        assert!(path.exists());

        drop(scratch);

        assert!(!path.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_window_past_the_end_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let scratch = ScratchFile::create(dir.path(), 64).unwrap();
        let error = scratch.write_f64s(7, &[1.0, 2.0]).unwrap_err().to_string();
        assert!(
            error.contains("passes the end of the file (64 bytes)"),
            "{error}"
        );
    }
}
