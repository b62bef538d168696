//! Blob files: one append-only file per document that holds bytes, named
//! `<key>-<generation>.blob` after the catalog's internal integer key, so
//! no id or reference ever becomes a path.
//!
//! Each blob has a slot in memory holding its committed size, its
//! generation and an open file. Readers take a snapshot (file and size) and
//! read with positional reads below that size, so they always see a prefix
//! that is committed, whatever a writer is doing past it. Writers hold the
//! slot's async lock, write past the committed size, fsync, and only then
//! raise the size (after the catalog has it: see `storage.rs`). Replacing
//! content writes a new generation file and swaps it in; a reader holding
//! the old file keeps reading it. Start-up recovery cuts every file back to
//! the size the catalog committed and deletes files no document owns.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::error::{Result, ServerError};
use crate::model::Document;

/// A consistent view of a blob: an open file and the committed size.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub file: Arc<File>,
    pub size: u64,
    pub generation: i64,
}

#[derive(Debug)]
struct SlotState {
    size: u64,
    generation: i64,
    file: Option<Arc<File>>,
}

/// The in-memory state of one blob.
#[derive(Debug)]
pub struct BlobSlot {
    key: i64,
    /// Held by a writer for the whole of an append or replace.
    pub writer: tokio::sync::Mutex<()>,
    state: Mutex<SlotState>,
}

/// The folder of blob files and their slots.
///
/// TODO: a slot keeps its file open once read, so a portal with more
/// documents read than the process's file limit would fail to open more;
/// close idle files (least recently used) once a deployment gets there.
#[derive(Debug)]
pub struct BlobStore {
    dir: PathBuf,
    slots: Mutex<HashMap<i64, Arc<BlobSlot>>>,
}

fn guard<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // slot state is plain numbers and a file handle: still valid after a
    // panic elsewhere
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Makes a directory's new entries durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn open_read_write(path: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).write(true).open(path)
}

/// The key and generation a blob file name stands for.
fn parse_name(name: &str) -> Option<(i64, i64)> {
    let stem = name.strip_suffix(".blob")?;
    let (key, generation) = stem.split_once('-')?;
    Some((key.parse().ok()?, generation.parse().ok()?))
}

impl BlobStore {
    /// Uses (and creates) `dir` for blob files.
    ///
    /// # Errors
    ///
    /// When the folder cannot be created.
    pub fn open(dir: PathBuf) -> Result<BlobStore> {
        std::fs::create_dir_all(&dir)
            .map_err(|e| ServerError::blob(format!("creating {}", dir.display()), e))?;
        Ok(BlobStore {
            dir,
            slots: Mutex::new(HashMap::new()),
        })
    }

    fn path(&self, key: i64, generation: i64) -> PathBuf {
        self.dir.join(format!("{key}-{generation}.blob"))
    }

    /// Creates the first file of a new blob, `size` bytes of zeros (sparse),
    /// durable with its directory entry.
    ///
    /// # Errors
    ///
    /// An I/O failure.
    pub fn create(&self, key: i64, size: u64) -> Result<()> {
        let path = self.path(key, 0);
        let fail = |e| ServerError::blob(format!("creating {}", path.display()), e);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(fail)?;
        file.set_len(size).map_err(fail)?;
        file.sync_all().map_err(fail)?;
        sync_dir(&self.dir).map_err(fail)?;
        Ok(())
    }

    /// Registers the slot of a blob at the catalog's committed size.
    pub fn register(&self, key: i64, size: u64, generation: i64) -> Arc<BlobSlot> {
        let slot = Arc::new(BlobSlot {
            key,
            writer: tokio::sync::Mutex::new(()),
            state: Mutex::new(SlotState {
                size,
                generation,
                file: None,
            }),
        });
        guard(&self.slots).insert(key, Arc::clone(&slot));
        slot
    }

    /// The slot of a document's blob, registered from the catalog's values
    /// if this is its first use.
    pub fn slot(&self, document: &Document) -> Arc<BlobSlot> {
        if let Some(slot) = guard(&self.slots).get(&document.key) {
            return Arc::clone(slot);
        }
        self.register(document.key, document.size, document.generation)
    }

    /// The open file and committed size of a blob, opening it if needed.
    ///
    /// # Errors
    ///
    /// When the file cannot be opened.
    pub fn snapshot(&self, slot: &BlobSlot) -> Result<Snapshot> {
        let mut state = guard(&slot.state);
        if state.file.is_none() {
            let path = self.path(slot.key, state.generation);
            let file = open_read_write(&path)
                .map_err(|e| ServerError::blob(format!("opening {}", path.display()), e))?;
            state.file = Some(Arc::new(file));
        }
        Ok(Snapshot {
            file: Arc::clone(state.file.as_ref().expect("file was just opened")),
            size: state.size,
            generation: state.generation,
        })
    }

    /// The committed size readers see now, without opening the file.
    pub fn committed_size(&self, slot: &BlobSlot) -> u64 {
        guard(&slot.state).size
    }

    /// Raises the committed size readers see (after the catalog has it).
    pub fn publish_size(&self, slot: &BlobSlot, size: u64) {
        guard(&slot.state).size = size;
    }

    /// Writes a whole new generation of a blob, durable with its directory
    /// entry, and returns its file. Nothing changes for readers until
    /// [`BlobStore::install`].
    ///
    /// # Errors
    ///
    /// An I/O failure; the partial file is removed.
    pub fn write_generation(&self, key: i64, generation: i64, bytes: &[u8]) -> Result<File> {
        let path = self.path(key, generation);
        let write = || -> io::Result<File> {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&path)?;
            file.write_all_at(bytes, 0)?;
            file.sync_all()?;
            sync_dir(&self.dir)?;
            Ok(file)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&path);
            ServerError::blob(format!("writing {}", path.display()), e)
        })
    }

    /// Swaps a new generation in (after the catalog has it) and removes the
    /// old file; readers holding it keep reading it.
    pub fn install(&self, slot: &BlobSlot, file: File, size: u64, generation: i64) {
        let old = {
            let mut state = guard(&slot.state);
            let old = state.generation;
            *state = SlotState {
                size,
                generation,
                file: Some(Arc::new(file)),
            };
            old
        };
        let old_path = self.path(slot.key, old);
        if let Err(error) = std::fs::remove_file(&old_path) {
            tracing::warn!(path = %old_path.display(), %error, "old blob generation not removed");
        }
    }

    /// Brings the folder back to what the catalog committed: files longer
    /// than their committed size are cut back (a torn or unacknowledged
    /// append), files no document owns are removed, and every slot is
    /// registered. Returns the documents whose file is shorter than the
    /// catalog says, with the size found (which they are registered at).
    ///
    /// # Errors
    ///
    /// An I/O failure while listing, cutting or creating files.
    pub fn recover(&self, documents: &[Document]) -> Result<Vec<(i64, u64)>> {
        let owned: HashMap<i64, &Document> = documents
            .iter()
            .filter(|d| d.module.holds_bytes())
            .map(|d| (d.key, d))
            .collect();
        self.remove_orphans(&owned)?;

        let mut short = Vec::new();
        for document in owned.values() {
            let found = self.recover_one(document)?;
            if found < document.size {
                short.push((document.key, found));
            }
            self.register(document.key, found.min(document.size), document.generation);
        }
        Ok(short)
    }

    fn remove_orphans(&self, owned: &HashMap<i64, &Document>) -> Result<()> {
        let fail = |e| ServerError::blob(format!("listing {}", self.dir.display()), e);
        for entry in std::fs::read_dir(&self.dir).map_err(fail)? {
            let entry = entry.map_err(fail)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let current = parse_name(&name).is_some_and(|(key, generation)| {
                owned.get(&key).is_some_and(|d| d.generation == generation)
            });
            if !current {
                tracing::debug!(file = %name, "removing a blob file no document owns");
                std::fs::remove_file(entry.path())
                    .map_err(|e| ServerError::blob(format!("removing {name}"), e))?;
            }
        }
        Ok(())
    }

    /// Cuts one blob back to its committed size; returns the size found.
    fn recover_one(&self, document: &Document) -> Result<u64> {
        let path = self.path(document.key, document.generation);
        let fail = |e| ServerError::blob(format!("recovering {}", path.display()), e);
        if !path.exists() {
            self.create(document.key, 0)?;
            // a missing generation other than 0 is created as 0: rename
            if document.generation != 0 {
                std::fs::rename(self.path(document.key, 0), &path).map_err(fail)?;
            }
        }

        let file = open_read_write(&path).map_err(fail)?;
        let length = file.metadata().map_err(fail)?.len();
        if length > document.size {
            tracing::info!(
                key = document.key,
                length,
                committed = document.size,
                "cutting an unacknowledged tail"
            );
            file.set_len(document.size).map_err(fail)?;
            file.sync_all().map_err(fail)?;
        }
        Ok(length.min(document.size))
    }
}

/// Cuts anything past `size` off a file (what a failed append left).
///
/// # Errors
///
/// An I/O failure.
pub fn cut_tail(file: &File, size: u64) -> io::Result<()> {
    if file.metadata()?.len() > size {
        file.set_len(size)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_names_parse_back_to_key_and_generation() {
        assert_eq!(parse_name("12-3.blob"), Some((12, 3)));
        assert_eq!(parse_name("../x.blob"), None);
        assert_eq!(parse_name("12-3.tmp"), None);
    }

    #[test]
    fn snapshot_sees_only_published_size() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path().to_owned()).unwrap();
        store.create(1, 0).unwrap();
        let slot = store.register(1, 0, 0);

        let file = store.snapshot(&slot).unwrap().file;
        file.write_all_at(b"abc", 0).unwrap();

        assert_eq!(store.snapshot(&slot).unwrap().size, 0);
        store.publish_size(&slot, 3);
        assert_eq!(store.snapshot(&slot).unwrap().size, 3);
    }
}
