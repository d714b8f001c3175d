//! The SQLite store: the embedded default, shared by every process on a host.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{
    Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params,
};

use super::{
    BreakerConfig, BreakerState, BreakerStore, Cell, Clock, StoreError, StoreFuture, SystemClock,
    duration_millis, to_millis,
};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS authflow_breaker (
    key             TEXT PRIMARY KEY NOT NULL,
    failures        INTEGER NOT NULL DEFAULT 0,
    opened_until_ms INTEGER NOT NULL DEFAULT 0,
    trial_until_ms  INTEGER NOT NULL DEFAULT 0,
    trips           INTEGER NOT NULL DEFAULT 0,
    expires_at_ms   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS authflow_breaker_expires ON authflow_breaker (expires_at_ms);
";

/// A [`BreakerStore`] in a SQLite file: the embedded default.
///
/// Every process that opens the same file shares the breakers. Each
/// operation is one `BEGIN IMMEDIATE` transaction (read, decide, write), so
/// concurrent processes never interleave. A file that has become unusable
/// (deleted, replaced, made read-only — checked before each operation, so
/// it holds for root too — or its disk full) is an error at once, even for
/// `should_allow`, so the guarded call is not made. Blocking work runs on
/// tokio's blocking pool ([`tokio::task::spawn_blocking`]): the operations
/// need a tokio runtime.
///
/// Table `authflow_breaker`: one row per key with the consecutive failures,
/// `opened_until_ms`, the half-open trial lease `trial_until_ms`, the trip
/// count and `expires_at_ms` (rows past it are ignored and pruned). The file
/// uses WAL journaling with `synchronous = NORMAL`.
///
/// Open it once per process and clone the handle: clones queue their
/// operations in the process, and only other processes wait on SQLite's lock
/// (up to the busy timeout, then the operation fails).
///
/// ```no_run
/// use std::sync::Arc;
/// use authflow::breaker::{Breaker, BreakerConfig, SqliteStore};
///
/// # fn run() -> Result<(), authflow::breaker::StoreError> {
/// let config = BreakerConfig::default();
/// let store = SqliteStore::open("/var/lib/authflow/breaker.db")?.with_config(config);
/// let breaker = Breaker::with_config(Arc::new(store), config);
/// # let _ = breaker; Ok(()) }
/// ```
#[derive(Clone)]
pub struct SqliteStore {
    path: Arc<Path>,
    config: BreakerConfig,
    clock: Arc<dyn Clock>,
    busy_timeout: Duration,
    /// Serialises this handle's (and its clones') operations, so callers in
    /// one process queue here instead of spinning in SQLite's busy handler.
    gate: Arc<tokio::sync::Mutex<Option<Conn>>>,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .field("config", &self.config)
            .field("busy_timeout", &self.busy_timeout)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Open (creating if needed) the store at `path`, with
    /// [`BreakerConfig::default`] and the system clock. Blocks briefly; the
    /// parent directory must exist.
    ///
    /// ```
    /// # fn run() -> Result<(), authflow::breaker::StoreError> {
    /// let dir = std::env::temp_dir().join(format!("authflow-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).map_err(|e| authflow::breaker::StoreError::with_source("mkdir", e))?;
    /// let store = authflow::breaker::SqliteStore::open(dir.join("breaker.db"))?;
    /// assert!(store.path().ends_with("breaker.db"));
    /// # std::fs::remove_dir_all(&dir).ok(); Ok(()) }
    /// # run().unwrap();
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path: PathBuf = path.as_ref().to_path_buf();
        let conn = Connection::open(&path).map_err(|e| sqlite_error("open", e))?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(|e| sqlite_error("open", e))?;
        conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
            .map_err(|e| sqlite_error("enable WAL", e))?;
        conn.execute_batch(SCHEMA)
            .map_err(|e| sqlite_error("create schema", e))?;
        Ok(SqliteStore {
            path: path.into(),
            config: BreakerConfig::default(),
            clock: Arc::new(SystemClock),
            busy_timeout: Duration::from_secs(5),
            gate: Arc::default(),
        })
    }

    /// Use `config` (failure threshold, trial lease, state TTL).
    #[must_use]
    pub fn with_config(mut self, config: BreakerConfig) -> Self {
        self.config = config;
        self
    }

    /// Read time from `clock` (e.g. a [`ManualClock`](super::ManualClock)).
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// How long an operation waits for its turn (behind this process's other
    /// operations, then behind another process's transaction) before failing
    /// (default 5 s).
    #[must_use]
    pub fn with_busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The state of `key`, `None` if it has none (closed, never failed).
    pub async fn snapshot(&self, key: &str) -> Result<Option<BreakerState>, StoreError> {
        let key = key.to_owned();
        self.run("read", move |tx, now| {
            Ok(load(tx, &key, now)?.map(Cell::to_state))
        })
        .await
    }

    /// Run `f` in one `BEGIN IMMEDIATE` transaction on this handle's
    /// connection, on the blocking pool; commit if it returns `Ok`.
    async fn run<R, F>(&self, what: &'static str, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Transaction<'_>, i64) -> rusqlite::Result<R> + Send + 'static,
    {
        let path = Arc::clone(&self.path);
        let busy = self.busy_timeout;
        // Bounded wait for this process's queue, too: never hang.
        let mut turn = tokio::time::timeout(busy, self.gate.lock())
            .await
            .map_err(|_| StoreError::new(format!("sqlite {what}: busy for {busy:?}")))?;
        let cached = turn.take();
        let now = to_millis(self.clock.now());
        let joined = tokio::task::spawn_blocking(move || {
            let mut conn = checked_connection(&path, cached, busy)?;
            let result = (|| -> rusqlite::Result<R> {
                let tx = conn
                    .conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)?;
                let out = f(&tx, now)?;
                tx.commit()?;
                Ok(out)
            })();
            match result {
                Ok(out) => Ok((out, conn)),
                // Drop the connection after any error: the next operation
                // starts afresh (and sees a deleted or replaced file).
                Err(e) => Err(Fault::Sqlite(e)),
            }
        })
        .await;
        match joined {
            Ok(Ok((out, conn))) => {
                *turn = Some(conn);
                Ok(out)
            }
            Ok(Err(fault)) => Err(fault.into_store_error(what)),
            Err(e) => Err(StoreError::with_source(
                format!("sqlite {what}: blocking task failed"),
                e,
            )),
        }
    }
}

/// A connection with the identity of the file it was opened on.
struct Conn {
    conn: Connection,
    file: FileId,
}

/// Why an operation could not run.
enum Fault {
    File(String),
    Sqlite(rusqlite::Error),
}

impl Fault {
    fn into_store_error(self, what: &str) -> StoreError {
        match self {
            Fault::File(msg) => StoreError::new(format!("sqlite {what}: {msg}")),
            Fault::Sqlite(e) => sqlite_error(what, e),
        }
    }
}

impl From<rusqlite::Error> for Fault {
    fn from(e: rusqlite::Error) -> Self {
        Fault::Sqlite(e)
    }
}

#[cfg(unix)]
type FileId = (u64, u64);
#[cfg(not(unix))]
type FileId = ();

#[cfg(unix)]
fn file_id(meta: &std::fs::Metadata) -> FileId {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}
#[cfg(not(unix))]
fn file_id(_meta: &std::fs::Metadata) -> FileId {}

/// The cached connection if it is still on the file at `path`, else a new
/// one. The file must exist (a deleted file is an error, never a fresh empty
/// store) and have a write permission bit (a file made read-only is an
/// error even for root, whom the OS would let write).
fn checked_connection(path: &Path, cached: Option<Conn>, busy: Duration) -> Result<Conn, Fault> {
    let meta = std::fs::metadata(path)
        .map_err(|e| Fault::File(format!("database file unavailable: {e}")))?;
    if meta.permissions().readonly() {
        return Err(Fault::File("database file is read-only".into()));
    }
    let file = file_id(&meta);
    if let Some(c) = cached.filter(|c| c.file == file) {
        return Ok(c);
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(busy)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(Conn { conn, file })
}

fn sqlite_error(what: &str, e: rusqlite::Error) -> StoreError {
    StoreError::with_source(format!("sqlite {what}: {e}"), e)
}

/// `key`'s live row, if any.
fn load(tx: &Transaction<'_>, key: &str, now: i64) -> rusqlite::Result<Option<Cell>> {
    tx.query_row(
        "SELECT failures, opened_until_ms, trial_until_ms, trips FROM authflow_breaker
         WHERE key = ?1 AND expires_at_ms > ?2",
        params![key, now],
        |r| {
            Ok(Cell {
                failures: r.get(0)?,
                opened_until: r.get(1)?,
                trial_until: r.get(2)?,
                trips: r.get(3)?,
            })
        },
    )
    .optional()
}

fn save(tx: &Transaction<'_>, key: &str, cell: &Cell, expires_at: i64) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO authflow_breaker
             (key, failures, opened_until_ms, trial_until_ms, trips, expires_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (key) DO UPDATE SET
             failures = excluded.failures,
             opened_until_ms = excluded.opened_until_ms,
             trial_until_ms = excluded.trial_until_ms,
             trips = excluded.trips,
             expires_at_ms = excluded.expires_at_ms",
        params![
            key,
            cell.failures,
            cell.opened_until,
            cell.trial_until,
            cell.trips,
            expires_at
        ],
    )?;
    Ok(())
}

impl BreakerStore for SqliteStore {
    fn should_allow<'a>(&'a self, key: &'a str) -> StoreFuture<'a, bool> {
        let key = key.to_owned();
        let lease = duration_millis(self.config.trial_lease);
        let ttl = duration_millis(self.config.state_ttl);
        Box::pin(self.run("should_allow", move |tx, now| {
            let mut cell = load(tx, &key, now)?.unwrap_or_default();
            let (allow, changed) = cell.allow(now, lease);
            if changed {
                save(tx, &key, &cell, cell.expires_at(now, ttl))?;
            }
            Ok(allow)
        }))
    }

    fn record_success<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        let key = key.to_owned();
        Box::pin(self.run("record_success", move |tx, _now| {
            tx.execute("DELETE FROM authflow_breaker WHERE key = ?1", params![key])?;
            Ok(())
        }))
    }

    fn record_failure<'a>(&'a self, key: &'a str, open_for: Duration) -> StoreFuture<'a, ()> {
        let key = key.to_owned();
        let threshold = self.config.failure_threshold;
        let open_for = duration_millis(open_for);
        let ttl = duration_millis(self.config.state_ttl);
        Box::pin(self.run("record_failure", move |tx, now| {
            tx.execute(
                "DELETE FROM authflow_breaker WHERE expires_at_ms <= ?1",
                params![now],
            )?;
            let mut cell = load(tx, &key, now)?.unwrap_or_default();
            cell.fail(now, open_for, threshold);
            save(tx, &key, &cell, cell.expires_at(now, ttl))
        }))
    }
}
