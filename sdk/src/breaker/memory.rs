//! The in-memory store, for unit tests.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{
    BreakerConfig, BreakerState, BreakerStore, Cell, Clock, StoreError, StoreFuture, SystemClock,
    duration_millis, to_millis,
};

/// Each key's cell with the time (ms) it expires.
type Cells = HashMap<String, (Cell, i64)>;

/// A [`BreakerStore`] in this process's memory, **for unit tests only**.
///
/// Its state is not shared across processes (each process has its own breaker,
/// so N replicas would let N× the calls through) and is lost on exit: use
/// [`SqliteStore`](super::SqliteStore) or `RedisStore` outside tests. Clones
/// share the state.
///
/// ```
/// use std::time::Duration;
/// use authflow::breaker::{BreakerConfig, BreakerStore, ManualClock, MemoryStore};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), authflow::breaker::StoreError> {
/// let clock = ManualClock::new();
/// let store = MemoryStore::with_config(BreakerConfig::default().failure_threshold(1))
///     .with_clock(clock.clone());
/// store.record_failure("k", Duration::from_secs(30)).await?;
/// assert!(!store.should_allow("k").await?);
/// clock.advance(Duration::from_secs(30));
/// assert!(store.should_allow("k").await?); // the half-open trial
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MemoryStore {
    cells: Arc<Mutex<Cells>>,
    config: BreakerConfig,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store with [`BreakerConfig::default`] and the system clock.
    pub fn new() -> Self {
        Self::with_config(BreakerConfig::default())
    }

    /// An empty store with `config`.
    pub fn with_config(config: BreakerConfig) -> Self {
        MemoryStore {
            cells: Arc::default(),
            config,
            clock: Arc::new(SystemClock),
        }
    }

    /// Read time from `clock` (e.g. a [`ManualClock`](super::ManualClock)).
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The state of `key`, `None` if it has none (closed, never failed).
    ///
    /// ```
    /// # use authflow::breaker::MemoryStore;
    /// assert_eq!(MemoryStore::new().snapshot("k").unwrap(), None);
    /// ```
    pub fn snapshot(&self, key: &str) -> Result<Option<BreakerState>, StoreError> {
        let now = to_millis(self.clock.now());
        let cells = self.lock()?;
        Ok(cells
            .get(key)
            .filter(|(_, expires)| *expires > now)
            .map(|(cell, _)| cell.to_state()))
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Cells>, StoreError> {
        self.cells
            .lock()
            .map_err(|_| StoreError::new("memory store lock poisoned"))
    }

    /// Apply `f` to `key`'s live cell (a fresh one if absent or expired) and
    /// store the result when `f` says it changed.
    fn update<R>(
        &self,
        key: &str,
        f: impl FnOnce(&mut Cell, i64) -> (R, bool),
    ) -> Result<R, StoreError> {
        let now = to_millis(self.clock.now());
        let ttl = duration_millis(self.config.state_ttl);
        let mut cells = self.lock()?;
        cells.retain(|_, (_, expires)| *expires > now);
        let mut cell = cells.get(key).map(|(c, _)| *c).unwrap_or_default();
        let (out, changed) = f(&mut cell, now);
        if changed {
            let expires = cell.expires_at(now, ttl);
            cells.insert(key.to_owned(), (cell, expires));
        }
        Ok(out)
    }
}

impl BreakerStore for MemoryStore {
    fn should_allow<'a>(&'a self, key: &'a str) -> StoreFuture<'a, bool> {
        let lease = duration_millis(self.config.trial_lease);
        Box::pin(async move { self.update(key, |cell, now| cell.allow(now, lease)) })
    }

    fn record_success<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.lock().map(|mut cells| {
                cells.remove(key);
            })
        })
    }

    fn record_failure<'a>(&'a self, key: &'a str, open_for: Duration) -> StoreFuture<'a, ()> {
        let threshold = self.config.failure_threshold;
        let open_for = duration_millis(open_for);
        Box::pin(async move {
            self.update(key, |cell, now| {
                cell.fail(now, open_for, threshold);
                ((), true)
            })
        })
    }
}
