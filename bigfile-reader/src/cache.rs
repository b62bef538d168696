//! [`CachedRange`]: a byte range in front of a slow one (HTTP), with a
//! bounded block cache, read-ahead when access is sequential, and retries
//! with backoff for transient failures. Memory is the cache's capacity
//! whatever the object's size; a read of [`CacheOptions::direct_read`]
//! bytes or more goes straight into the caller's buffer without passing
//! the cache.
//!
//! Cancellation is checked before every fetch and during backoff, through
//! the [`signal::Progress`] set with [`CachedRange::set_progress`].

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use signal::{Progress, Silent};

use crate::ReaderError;
use crate::range::ByteRange;

/// Tuning of a [`CachedRange`].
#[derive(Debug, Clone, PartialEq)]
pub struct CacheOptions {
    /// Bytes per cached block; default 64 KiB, so that a cold read of a
    /// header costs one small request.
    pub block_size: usize,
    /// Most bytes the cache holds; default 32 MiB.
    pub capacity: usize,
    /// Most bytes fetched ahead in one request when access is sequential;
    /// default 8 MiB (at most the capacity).
    pub max_read_ahead: usize,
    /// Reads of at least this many bytes skip the cache and go straight
    /// to the object (which streams them); default 1 MiB.
    pub direct_read: usize,
    /// Attempts of a fetch that fails transiently; default 5.
    pub attempts: u32,
    /// Wait before the first retry, doubled after each; default 100 ms.
    pub backoff: Duration,
}

impl Default for CacheOptions {
    fn default() -> Self {
        Self {
            block_size: 64 << 10,
            capacity: 32 << 20,
            max_read_ahead: 8 << 20,
            direct_read: 1 << 20,
            attempts: 5,
            backoff: Duration::from_millis(100),
        }
    }
}

/// Counters of what a [`CachedRange`] did, for tests and summaries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStatistics {
    /// Requests sent to the object underneath (retries included).
    pub fetches: u64,
    /// Bytes received from it.
    pub fetched_bytes: u64,
    /// Retries after transient failures.
    pub retries: u64,
    /// Blocks served from the cache.
    pub hits: u64,
}

/// The mutable part, behind one lock.
#[derive(Default)]
struct CacheState {
    blocks: HashMap<u64, Arc<Vec<u8>>>,
    /// Block indexes, least recently used first.
    order: VecDeque<u64>,
    cached_bytes: usize,
    /// Where the last read ended, to detect sequential access.
    last_end: u64,
    /// Blocks to fetch on the next sequential miss.
    read_ahead_blocks: usize,
    statistics: CacheStatistics,
}

/// A cached, read-ahead, retrying view of another byte range.
pub struct CachedRange {
    inner: Arc<dyn ByteRange>,
    options: CacheOptions,
    state: Mutex<CacheState>,
    progress: RwLock<Arc<dyn Progress>>,
}

impl CachedRange {
    /// Wraps `inner` with the given options.
    ///
    /// # Errors
    /// [`ReaderError::InvalidArgument`] for a block size of 0 or a
    /// capacity smaller than one block.
    pub fn new(inner: Arc<dyn ByteRange>, options: CacheOptions) -> Result<Self, ReaderError> {
        if options.block_size == 0 || options.capacity < options.block_size {
            return Err(ReaderError::InvalidArgument {
                name: "cache",
                value: format!(
                    "{} bytes in {}-byte blocks",
                    options.capacity, options.block_size
                ),
                reason: "expected a block size above 0 and a capacity of at least one block"
                    .to_owned(),
            });
        }
        let state = Mutex::new(CacheState {
            read_ahead_blocks: 1,
            ..CacheState::default()
        });
        Ok(Self {
            inner,
            options,
            state,
            progress: RwLock::new(Arc::new(Silent)),
        })
    }

    /// Sets the observer whose cancellation stops fetches.
    pub fn set_progress(&self, progress: Arc<dyn Progress>) {
        *self
            .progress
            .write()
            .unwrap_or_else(|poison| poison.into_inner()) = progress;
    }

    /// What was done so far.
    pub fn statistics(&self) -> CacheStatistics {
        self.lock().statistics
    }

    /// Bytes held by the cache now.
    pub fn cached_bytes(&self) -> usize {
        self.lock().cached_bytes
    }

    /// The object underneath.
    pub fn inner(&self) -> &Arc<dyn ByteRange> {
        &self.inner
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheState> {
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    fn progress(&self) -> Arc<dyn Progress> {
        self.progress
            .read()
            .unwrap_or_else(|poison| poison.into_inner())
            .clone()
    }

    /// Fills `buffer` from `offset` through the cache; `buffer` ends
    /// before the object does.
    fn read_cached(
        &self,
        state: &mut CacheState,
        offset: u64,
        buffer: &mut [u8],
    ) -> Result<(), ReaderError> {
        let block_size = self.options.block_size as u64;
        let mut filled = 0;
        while filled < buffer.len() {
            let position = offset + filled as u64;
            let index = position / block_size;
            let within = (position - index * block_size) as usize;
            // a short last block from before an append is refetched
            let cached = state
                .blocks
                .get(&index)
                .filter(|block| within < block.len())
                .cloned();
            let block = match cached {
                Some(block) => {
                    state.statistics.hits += 1;
                    touch(state, index);
                    block
                }
                None => self.fetch_blocks(state, index)?,
            };
            let count = (block.len() - within).min(buffer.len() - filled);
            buffer[filled..filled + count].copy_from_slice(&block[within..within + count]);
            filled += count;
        }
        Ok(())
    }

    /// Fetches block `first` and, when access is sequential, the blocks
    /// after it, in one request; returns block `first`.
    fn fetch_blocks(
        &self,
        state: &mut CacheState,
        first: u64,
    ) -> Result<Arc<Vec<u8>>, ReaderError> {
        let block_size = self.options.block_size as u64;
        let start = first * block_size;
        let size = self.inner.size();
        let span = (state.read_ahead_blocks as u64 * block_size).min(size - start);
        let mut bytes = vec![0u8; span as usize];
        self.fetch(state, start, &mut bytes)?;

        let mut first_block = None;
        for (number, piece) in bytes.chunks(self.options.block_size).enumerate() {
            let block = Arc::new(piece.to_vec());
            first_block.get_or_insert_with(|| block.clone());
            insert(state, first + number as u64, block, self.options.capacity);
        }
        first_block.ok_or_else(|| ReaderError::OutOfRange {
            object: self.inner.describe(),
            start,
            end: start + block_size,
            size,
        })
    }

    /// One ranged read of the object underneath, retried with backoff
    /// while it fails transiently.
    fn fetch(
        &self,
        state: &mut CacheState,
        offset: u64,
        buffer: &mut [u8],
    ) -> Result<(), ReaderError> {
        let progress = self.progress();
        let mut wait = self.options.backoff;
        let mut attempt = 1;
        loop {
            progress.check()?;
            state.statistics.fetches += 1;
            match crate::range::read_exact_at(self.inner.as_ref(), offset, buffer) {
                Ok(()) => {
                    state.statistics.fetched_bytes += buffer.len() as u64;
                    return Ok(());
                }
                Err(error) if error.is_transient() && attempt < self.options.attempts => {
                    tracing::warn!(object = %self.inner.describe(), attempt, %error, "retrying a transient failure");
                    state.statistics.retries += 1;
                    sleep_unless_cancelled(wait, progress.as_ref())?;
                    wait *= 2;
                    attempt += 1;
                }
                Err(error) if error.is_transient() => {
                    return Err(ReaderError::RetriesExhausted {
                        attempts: attempt,
                        last: Box::new(error),
                    });
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Updates the read-ahead span: doubled on a sequential read, back to
    /// one block on a jump.
    fn track_access(&self, state: &mut CacheState, offset: u64, len: usize) {
        let most = (self.options.max_read_ahead.min(self.options.capacity / 2)
            / self.options.block_size)
            .max(1);
        state.read_ahead_blocks = if offset == state.last_end && offset != 0 {
            (state.read_ahead_blocks * 2).min(most)
        } else {
            1
        };
        state.last_end = offset + len as u64;
    }
}

impl ByteRange for CachedRange {
    fn size(&self) -> u64 {
        self.inner.size()
    }

    fn read_at(&self, offset: u64, buffer: &mut [u8]) -> Result<usize, ReaderError> {
        let size = self.inner.size();
        if offset >= size || buffer.is_empty() {
            return Ok(0);
        }
        let count = buffer.len().min((size - offset) as usize);
        let buffer = &mut buffer[..count];
        let mut state = self.lock();
        self.track_access(&mut state, offset, count);

        if count >= self.options.direct_read {
            self.fetch(&mut state, offset, buffer)?;
        } else {
            self.read_cached(&mut state, offset, buffer)?;
        }
        Ok(count)
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn append(&self, bytes: &[u8]) -> Result<u64, ReaderError> {
        let size = self.inner.append(bytes)?;
        let mut state = self.lock();
        let last_block = size.saturating_sub(bytes.len() as u64) / self.options.block_size as u64;
        if let Some(position) = state.order.iter().position(|&index| index == last_block) {
            state.order.remove(position);
            if let Some(block) = state.blocks.remove(&last_block) {
                state.cached_bytes -= block.len();
            }
        }
        Ok(size)
    }
}

/// Marks block `index` as the most recently used.
fn touch(state: &mut CacheState, index: u64) {
    if state.order.back() != Some(&index) {
        if let Some(position) = state.order.iter().position(|&other| other == index) {
            state.order.remove(position);
        }
        state.order.push_back(index);
    }
}

/// Adds a block, evicting the least recently used past `capacity`.
fn insert(state: &mut CacheState, index: u64, block: Arc<Vec<u8>>, capacity: usize) {
    if let Some(old) = state.blocks.insert(index, block.clone()) {
        state.cached_bytes -= old.len();
    }
    state.cached_bytes += block.len();
    touch(state, index);
    while state.cached_bytes > capacity {
        let Some(oldest) = state.order.pop_front() else {
            break;
        };
        if let Some(evicted) = state.blocks.remove(&oldest) {
            state.cached_bytes -= evicted.len();
        }
    }
}

/// Waits `wait`, waking every 50 ms to check cancellation.
fn sleep_unless_cancelled(wait: Duration, progress: &dyn Progress) -> Result<(), ReaderError> {
    let step = Duration::from_millis(50);
    let mut left = wait;
    while !left.is_zero() {
        progress.check()?;
        let now = left.min(step);
        std::thread::sleep(now);
        left -= now;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::range::{MemoryObject, read_exact_at};
    use std::sync::atomic::{AtomicU32, Ordering};

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    fn small_options() -> CacheOptions {
        CacheOptions {
            block_size: 100,
            capacity: 1000,
            max_read_ahead: 400,
            direct_read: 400,
            backoff: Duration::from_millis(1),
            ..CacheOptions::default()
        }
    }

    /// Fails the first `failures` reads with a transient error.
    struct Flaky {
        inner: MemoryObject,
        failures: AtomicU32,
    }

    impl ByteRange for Flaky {
        fn size(&self) -> u64 {
            self.inner.size()
        }

        fn read_at(&self, offset: u64, buffer: &mut [u8]) -> Result<usize, ReaderError> {
            if self.failures.load(Ordering::SeqCst) > 0 {
                self.failures.fetch_sub(1, Ordering::SeqCst);
                return Err(ReaderError::Transient {
                    url: "http://127.0.0.1/x".into(),
                    reason: "connection reset".into(),
                });
            }
            self.inner.read_at(offset, buffer)
        }
    }

    #[test]
    fn cached_reads_return_the_object_bytes() {
        let bytes = pattern(5000);
        let cache = CachedRange::new(MemoryObject::shared(bytes.clone()), small_options()).unwrap();
        for (offset, len) in [
            (0, 10),
            (95, 10),
            (4990, 10),
            (1234, 777),
            (0, 5000),
            (4999, 1),
        ] {
            let mut buffer = vec![0; len];
            read_exact_at(&cache, offset as u64, &mut buffer).unwrap();
            assert_eq!(buffer, bytes[offset..offset + len], "{offset}+{len}");
        }
        assert!(cache.cached_bytes() <= 1000);
    }

    #[test]
    fn sequential_reads_fetch_ahead_in_fewer_requests() {
        let cache =
            CachedRange::new(MemoryObject::shared(pattern(100_000)), small_options()).unwrap();
        let mut buffer = [0u8; 50];
        for offset in (0..20_000).step_by(50) {
            read_exact_at(&cache, offset, &mut buffer).unwrap();
        }
        let statistics = cache.statistics();
        // 200 blocks; read-ahead grows to 4 blocks per request
        assert!(statistics.fetches <= 55, "{statistics:?}");
        // no block is fetched twice; at most one read-ahead span past the end
        assert!(
            (20_000..=20_400).contains(&statistics.fetched_bytes),
            "{statistics:?}"
        );
    }

    #[test]
    fn memory_stays_within_capacity_over_a_long_read() {
        let cache =
            CachedRange::new(MemoryObject::shared(pattern(200_000)), small_options()).unwrap();
        let mut buffer = [0u8; 64];
        for offset in (0..199_000).step_by(64) {
            read_exact_at(&cache, offset, &mut buffer).unwrap();
            assert!(cache.cached_bytes() <= 1000);
        }
    }

    #[test]
    fn transient_failures_are_retried() {
        let flaky = Flaky {
            inner: MemoryObject::new(pattern(300)),
            failures: AtomicU32::new(3),
        };
        let cache = CachedRange::new(Arc::new(flaky), small_options()).unwrap();
        let mut buffer = [0u8; 10];

        read_exact_at(&cache, 5, &mut buffer).unwrap();

        assert_eq!(buffer[..], pattern(300)[5..15]);
        assert_eq!(cache.statistics().retries, 3);
    }

    #[test]
    fn a_persistent_failure_ends_in_a_clear_error() {
        let flaky = Flaky {
            inner: MemoryObject::new(pattern(300)),
            failures: AtomicU32::new(100),
        };
        let cache = CachedRange::new(Arc::new(flaky), small_options()).unwrap();

        let error = read_exact_at(&cache, 5, &mut [0u8; 10]).unwrap_err();

        assert_eq!(
            error.to_string(),
            "transfer from http://127.0.0.1/x failed: connection reset (gave up after 5 attempts)"
        );
    }

    #[test]
    fn a_cancelled_read_fetches_nothing() {
        let cache = CachedRange::new(MemoryObject::shared(pattern(300)), small_options()).unwrap();
        let flag = signal::CancelFlag::new();
        flag.cancel();
        cache.set_progress(Arc::new(flag));

        assert!(matches!(
            read_exact_at(&cache, 0, &mut [0u8; 10]),
            Err(ReaderError::Cancelled)
        ));
        assert_eq!(cache.statistics().fetches, 0);
    }

    #[test]
    fn appended_bytes_are_seen_after_a_cached_read() {
        let cache =
            CachedRange::new(MemoryObject::shared(b"xyz".to_vec()), small_options()).unwrap();
        let mut buffer = [0u8; 3];
        read_exact_at(&cache, 0, &mut buffer).unwrap();

        cache.append(b"01").unwrap();
        let mut all = [0u8; 5];
        read_exact_at(&cache, 0, &mut all).unwrap();

        assert_eq!(&all, b"xyz01");
    }
}
