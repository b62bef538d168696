//! The store: the catalog and the blob files together, and the order of
//! their steps that makes storage lose nothing.
//!
//! An append is written past the committed size, fsynced, then committed
//! in the catalog, then published to readers, then acknowledged. A crash
//! before the catalog commit leaves a tail that start-up recovery cuts off;
//! a crash after it leaves bytes that are already durable. A replace writes
//! a new generation file, fsyncs it, commits, then swaps. Writers of one
//! blob are serialised by its slot's async lock, which callers hold across
//! the steps (see `content.rs`).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::blobs::{BlobSlot, BlobStore, Snapshot, cut_tail};
use crate::catalog::{Catalog, NewDocument};
use crate::error::{Result, ServerError};
use crate::model::{Document, Module};

/// Catalog plus blobs, shared by every request.
#[derive(Debug)]
pub struct Store {
    pub catalog: Catalog,
    pub blobs: BlobStore,
    data_dir: PathBuf,
    /// Serialises "find or create" of ingestion streams.
    pub ingestion_lock: tokio::sync::Mutex<()>,
    /// Held (locked) for the server's life: one server per data folder.
    _folder_lock: File,
}

/// Locks the data folder so that a second server on it refuses to start
/// (two writers would append past each other's committed sizes).
fn lock_folder(data_dir: &Path) -> Result<File> {
    let path = data_dir.join("lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| ServerError::blob(format!("opening {}", path.display()), e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(ServerError::blob(
            format!("locking {}", data_dir.display()),
            std::io::Error::other(
                "another wendelin-server uses this data folder; stop it or pick another --data-dir",
            ),
        )),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(ServerError::blob(format!("locking {}", path.display()), e))
        }
    }
}

/// Runs blocking storage work off the async threads.
///
/// # Errors
///
/// What `work` returns, or a blob failure if the task panicked.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ServerError::blob("running storage work", std::io::Error::other(e)))?
}

impl Store {
    /// Opens the data folder (creating it), then recovers: every blob is
    /// cut back to its committed size and orphan files are removed.
    ///
    /// # Errors
    ///
    /// When the folder, catalog or blobs cannot be opened or recovered.
    pub fn open(data_dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| ServerError::blob(format!("creating {}", data_dir.display()), e))?;
        let folder_lock = lock_folder(data_dir)?;
        let catalog = Catalog::open(&data_dir.join("catalog.sqlite"))?;
        let blobs = BlobStore::open(data_dir.join("blobs"))?;

        let documents = catalog.all()?;
        for (key, found) in blobs.recover(&documents)? {
            tracing::error!(key, found, "blob file shorter than its committed size");
            let generation = catalog.get_by_key(key)?.map_or(0, |d| d.generation);
            catalog.commit_blob(key, found, generation, None)?;
        }
        tracing::debug!(documents = documents.len(), "storage recovered");

        Ok(Store {
            catalog,
            blobs,
            data_dir: data_dir.to_owned(),
            ingestion_lock: tokio::sync::Mutex::new(()),
            _folder_lock: folder_lock,
        })
    }

    /// The data folder.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Creates a document and, when its module holds bytes, its blob.
    ///
    /// # Errors
    ///
    /// A taken id or a storage failure.
    pub fn create(&self, new: NewDocument) -> Result<Document> {
        let holds_bytes = new.module.holds_bytes();
        let size = new.size;
        let document = self.catalog.insert(new, |key| {
            if holds_bytes {
                self.blobs.create(key, size)?;
            }
            Ok(())
        })?;
        if holds_bytes {
            self.blobs.register(document.key, document.size, 0);
        }
        Ok(document)
    }

    /// The document `id` of `module`.
    ///
    /// # Errors
    ///
    /// [`ServerError::UnknownDocument`] or a catalog failure.
    pub fn document(&self, module: Module, id: &str) -> Result<Document> {
        self.catalog
            .get(module, id)?
            .ok_or_else(|| ServerError::UnknownDocument {
                module: module.id().to_owned(),
                id: id.chars().take(200).collect(),
            })
    }

    /// The slot of a document's blob.
    pub fn slot(&self, document: &Document) -> Arc<BlobSlot> {
        self.blobs.slot(document)
    }

    /// A consistent view of a document's bytes.
    ///
    /// # Errors
    ///
    /// When the blob file cannot be opened.
    pub fn snapshot(&self, document: &Document) -> Result<Snapshot> {
        self.blobs.snapshot(&self.slot(document))
    }

    /// The committed size readers see now (0 for documents without bytes).
    pub fn size(&self, document: &Document) -> u64 {
        if !document.module.holds_bytes() {
            return 0;
        }
        self.blobs.committed_size(&self.slot(document))
    }

    /// Writes bytes past the committed size of a blob (invisible until
    /// [`Store::commit_append`]); cuts any stale tail first when
    /// `offset == committed`.
    ///
    /// # Errors
    ///
    /// An I/O failure.
    pub fn write_tail(file: &File, committed: u64, offset: u64, bytes: &[u8]) -> Result<()> {
        let fail = |e| ServerError::blob(format!("writing at byte {offset}"), e);
        if offset == committed {
            cut_tail(file, committed).map_err(fail)?;
        }
        file.write_all_at(bytes, offset).map_err(fail)
    }

    /// Makes an append durable and visible: fsync, catalog commit, publish.
    /// The caller holds the slot's writer lock.
    ///
    /// # Errors
    ///
    /// An I/O or catalog failure; the bytes past the old size are then cut.
    pub fn commit_append(
        &self,
        key: i64,
        slot: &BlobSlot,
        snapshot: &Snapshot,
        size: u64,
    ) -> Result<()> {
        let durable = snapshot
            .file
            .sync_data()
            .map_err(|e| ServerError::blob(format!("syncing blob key {key}"), e))
            .and_then(|()| {
                self.catalog
                    .commit_blob(key, size, snapshot.generation, None)
            });
        if let Err(failure) = durable {
            let _ = cut_tail(&snapshot.file, snapshot.size);
            return Err(failure);
        }
        self.blobs.publish_size(slot, size);
        Ok(())
    }

    /// Undoes a failed append's bytes past the committed size.
    pub fn abandon_append(snapshot: &Snapshot) {
        if let Err(error) = cut_tail(&snapshot.file, snapshot.size) {
            tracing::warn!(%error, "could not cut an abandoned append");
        }
    }

    /// Appends bytes at the end in one step (ingestion); the caller holds
    /// the slot's writer lock. Returns the new size.
    ///
    /// # Errors
    ///
    /// An I/O or catalog failure; nothing is then appended.
    pub fn append_all(&self, document: &Document, slot: &BlobSlot, bytes: &[u8]) -> Result<u64> {
        let snapshot = self.blobs.snapshot(slot)?;
        if bytes.is_empty() {
            return Ok(snapshot.size);
        }
        let size = snapshot.size + bytes.len() as u64;
        if let Err(failure) = Self::write_tail(&snapshot.file, snapshot.size, snapshot.size, bytes)
        {
            Self::abandon_append(&snapshot);
            return Err(failure);
        }
        self.commit_append(document.key, slot, &snapshot, size)?;
        Ok(size)
    }

    /// Replaces a blob's whole content (and content type); the caller
    /// holds the slot's writer lock.
    ///
    /// # Errors
    ///
    /// An I/O or catalog failure; the old content then stays.
    pub fn replace(
        &self,
        document: &Document,
        slot: &BlobSlot,
        bytes: &[u8],
        content_type: Option<&str>,
    ) -> Result<()> {
        let generation = self.blobs.snapshot(slot)?.generation + 1;
        let file = self
            .blobs
            .write_generation(document.key, generation, bytes)?;
        self.catalog
            .commit_blob(document.key, bytes.len() as u64, generation, content_type)?;
        self.blobs
            .install(slot, file, bytes.len() as u64, generation);
        Ok(())
    }
}

/// Reads `length` bytes at `start` of a snapshot.
///
/// # Errors
///
/// An I/O failure (a short file is one).
pub fn read_at(snapshot: &Snapshot, start: u64, length: usize) -> Result<Vec<u8>> {
    let mut buffer = vec![0; length];
    snapshot
        .file
        .read_exact_at(&mut buffer, start)
        .map_err(|e| ServerError::blob(format!("reading {length} bytes at {start}"), e))?;
    Ok(buffer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    fn stream() -> NewDocument {
        NewDocument {
            module: Module::DataStreams,
            id: None,
            portal_type: "Data Stream".into(),
            reference: "s".into(),
            title: "s".into(),
            content_type: "application/octet-stream".into(),
            dtype: None,
            trailing_shape: None,
            properties: Map::new(),
            size: 0,
        }
    }

    #[test]
    fn unacknowledged_tail_is_cut_on_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let document = store.create(stream()).unwrap();
        let slot = store.slot(&document);
        store.append_all(&document, &slot, b"durable").unwrap();
        let snapshot = store.snapshot(&document).unwrap();
        Store::write_tail(&snapshot.file, 7, 7, b"torn").unwrap();
        drop((store, slot, snapshot));

        let reopened = Store::open(dir.path()).unwrap();
        let document = reopened.document(Module::DataStreams, "1").unwrap();
        let snapshot = reopened.snapshot(&document).unwrap();

        assert_eq!(snapshot.size, 7);
        assert_eq!(snapshot.file.metadata().unwrap().len(), 7);
        assert_eq!(read_at(&snapshot, 0, 7).unwrap(), b"durable");
    }

    #[test]
    fn replace_keeps_old_readers_on_the_old_content() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let document = store.create(stream()).unwrap();
        let slot = store.slot(&document);
        store.append_all(&document, &slot, b"old").unwrap();
        let before = store.snapshot(&document).unwrap();

        store.replace(&document, &slot, b"newer", None).unwrap();

        assert_eq!(read_at(&before, 0, 3).unwrap(), b"old");
        let after = store.snapshot(&document).unwrap();
        assert_eq!(read_at(&after, 0, after.size as usize).unwrap(), b"newer");
    }

    #[test]
    fn second_store_on_a_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let _first = Store::open(dir.path()).unwrap();

        let message = Store::open(dir.path()).unwrap_err().to_string();

        assert!(message.contains("another wendelin-server"), "{message}");
    }

    #[test]
    fn orphan_files_are_removed_on_reopening() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path()).unwrap());
        let orphan = dir.path().join("blobs").join("99-0.blob");
        std::fs::write(&orphan, b"x").unwrap();

        drop(Store::open(dir.path()).unwrap());

        assert!(!orphan.exists());
    }
}
