//! A shared-state circuit breaker for outbound calls.
//!
//! This is the seed's breaker contract. A [`BreakerStore`] keeps one breaker
//! per key (for example a target host) with three operations:
//! [`should_allow`](BreakerStore::should_allow),
//! [`record_success`](BreakerStore::record_success) and
//! [`record_failure`](BreakerStore::record_failure) (with the time to stay
//! open). [`Breaker::call`] wraps an outbound call with it:
//!
//! | outcome | [`BreakerError`] | `code()` | HTTP | retryable |
//! | --- | --- | --- | --- | --- |
//! | breaker open (or its half-open trial is taken) | [`Open`](BreakerError::Open) | `dependency_timeout` | 503 | yes |
//! | the store cannot be read or written | [`StoreUnavailable`](BreakerError::StoreUnavailable) | `dependency_unavailable` | 503 | yes |
//! | the call failed in a way that counts against the dependency (timeout, connection error, …) | [`Transient`](BreakerError::Transient) | `dependency_timeout` | 503 | yes |
//! | any other failure of the call | [`Failed`](BreakerError::Failed) | `dependency_failed` | 502 | no |
//!
//! It **fails closed**: when the store cannot be read, the call is not made.
//! Retries are bounded by a [`RetryPolicy`] (backoff through an injectable
//! [`Sleep`]).
//!
//! ## States
//!
//! *Closed* until [`BreakerConfig::failure_threshold`] consecutive failures;
//! then *open* for `open_for` (every call refused, none made); then
//! *half-open*: exactly one trial call is let through (it holds a lease of
//! [`BreakerConfig::trial_lease`], after which another trial may go). A success
//! closes the breaker and clears the count; a failure of the trial re-opens it
//! for `open_for`.
//!
//! ## Stores
//!
//! - [`SqliteStore`]: the embedded default, a file shared by every process
//!   on the host (transactions with `BEGIN IMMEDIATE`);
//! - `RedisStore` (feature `breaker-redis`): shared across processes and
//!   hosts, one Lua script per operation;
//! - [`MemoryStore`]: one process only, for unit tests.
//!
//! Stores read time from an injectable [`Clock`] ([`SystemClock`] by default,
//! [`ManualClock`] in tests), so tests never sleep.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use authflow::breaker::{Breaker, BreakerConfig, BreakerError, MemoryStore};
//! use authflow::RetryPolicy;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let config = BreakerConfig::default().failure_threshold(2).open_for(Duration::from_secs(30));
//! let store = Arc::new(MemoryStore::with_config(config));
//! let breaker = Breaker::with_config(store, config).retry_policy(RetryPolicy::none());
//!
//! for _ in 0..2 {
//!     let r: Result<(), _> = breaker.call("mail.example", || async { Err("connection refused") }).await;
//!     assert_eq!(r.unwrap_err().code(), "dependency_timeout");
//! }
//! // Open now: the closure is not run.
//! let r = breaker.call("mail.example", || async { Ok::<_, &str>(()) }).await;
//! assert!(matches!(r, Err(BreakerError::Open)));
//! # }
//! ```

mod memory;
#[cfg(feature = "breaker-redis")]
mod redis;
mod sqlite;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::transport::{RetryPolicy, Sleep, TokioSleep};

#[cfg(feature = "breaker-redis")]
pub use self::redis::{DEFAULT_REDIS_PREFIX, RedisStore};
pub use memory::MemoryStore;
pub use sqlite::SqliteStore;

/// The future a [`BreakerStore`] operation returns: boxed and `Send`, so the
/// trait is object-safe (`Arc<dyn BreakerStore>`).
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Shared breaker state, one breaker per key.
///
/// Implementations must be safe across every process that shares the store
/// (atomic read-modify-write), and must return an error, never a guess, when
/// the state cannot be read or written: the [`Breaker`] then fails closed.
///
/// The failure threshold and the trial lease are the store's own
/// configuration ([`BreakerConfig`]); `open_for` comes with each failure, as
/// in the seed's `record_failure(key, open_for_s)`.
///
/// ```
/// use std::time::Duration;
/// use authflow::breaker::{BreakerStore, StoreError, StoreFuture};
///
/// /// A store whose backend is down: every operation fails.
/// #[derive(Debug)]
/// struct Down;
///
/// impl BreakerStore for Down {
///     fn should_allow<'a>(&'a self, _key: &'a str) -> StoreFuture<'a, bool> {
///         Box::pin(async { Err(StoreError::new("backend down")) })
///     }
///     fn record_success<'a>(&'a self, _key: &'a str) -> StoreFuture<'a, ()> {
///         Box::pin(async { Err(StoreError::new("backend down")) })
///     }
///     fn record_failure<'a>(&'a self, _key: &'a str, _open_for: Duration) -> StoreFuture<'a, ()> {
///         Box::pin(async { Err(StoreError::new("backend down")) })
///     }
/// }
/// let _store: std::sync::Arc<dyn BreakerStore> = std::sync::Arc::new(Down);
/// ```
pub trait BreakerStore: Send + Sync + fmt::Debug {
    /// Whether a call to `key` may go ahead now: `true` when closed; `false`
    /// while open; when half-open, `true` for exactly one caller (who takes the
    /// trial lease) and `false` for the others.
    fn should_allow<'a>(&'a self, key: &'a str) -> StoreFuture<'a, bool>;

    /// A call to `key` succeeded: close the breaker and reset its count.
    fn record_success<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()>;

    /// A call to `key` failed: count it; open the breaker for `open_for` when
    /// the count reaches the threshold, or at once if it was half-open.
    fn record_failure<'a>(&'a self, key: &'a str, open_for: Duration) -> StoreFuture<'a, ()>;
}

impl<S: BreakerStore + ?Sized> BreakerStore for Arc<S> {
    fn should_allow<'a>(&'a self, key: &'a str) -> StoreFuture<'a, bool> {
        (**self).should_allow(key)
    }
    fn record_success<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        (**self).record_success(key)
    }
    fn record_failure<'a>(&'a self, key: &'a str, open_for: Duration) -> StoreFuture<'a, ()> {
        (**self).record_failure(key, open_for)
    }
}

/// The breaker store could not be read or written.
///
/// ```
/// use authflow::breaker::StoreError;
///
/// let e = StoreError::new("redis: connection refused");
/// assert_eq!(e.message(), "redis: connection refused");
/// assert_eq!(e.to_string(), "breaker store unavailable: redis: connection refused");
/// ```
#[derive(Debug, thiserror::Error)]
#[error("breaker store unavailable: {message}")]
pub struct StoreError {
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl StoreError {
    /// An error with a message.
    pub fn new(message: impl Into<String>) -> Self {
        StoreError {
            message: message.into(),
            source: None,
        }
    }

    /// An error with a message and its cause.
    pub fn with_source(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        StoreError {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }

    /// What went wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Why a guarded call did not return the call's value.
///
/// The error code, HTTP status, message and retryability are the seed's:
///
/// ```
/// use authflow::breaker::{BreakerError, StoreError};
///
/// let open: BreakerError<std::io::Error> = BreakerError::Open;
/// assert_eq!((open.code(), open.http_status(), open.is_retryable()), ("dependency_timeout", 503, true));
/// let store: BreakerError<std::io::Error> = BreakerError::StoreUnavailable(StoreError::new("down"));
/// assert_eq!((store.code(), store.http_status()), ("dependency_unavailable", 503));
/// let failed = BreakerError::Failed(std::io::Error::other("bad answer"));
/// assert_eq!((failed.code(), failed.http_status(), failed.is_retryable()), ("dependency_failed", 502, false));
///
/// let body = failed.to_envelope("req_1");
/// assert_eq!(body["error"]["code"], "dependency_failed");
/// assert_eq!(body["error"]["details"]["requestId"], "req_1");
/// assert_eq!(body["retryable"], false);
/// ```
#[derive(Debug, thiserror::Error)]
pub enum BreakerError<E> {
    /// The breaker is open (or half-open with its one trial call taken): the
    /// call was not made. 503 `dependency_timeout`, retryable.
    #[error("dependency circuit is open; the call was not made")]
    Open,
    /// The breaker store could not be read or written. When it could not be
    /// read the call was not made (fail closed); when recording the outcome
    /// failed, the call was made but its result is discarded. 503
    /// `dependency_unavailable`, retryable.
    #[error("dependency breaker store unavailable")]
    StoreUnavailable(#[source] StoreError),
    /// The call failed in a way the classifier counts against the dependency
    /// (a timeout, a connection error, a 5xx…); the failure was recorded and
    /// the bounded retries were spent. 503 `dependency_timeout`, retryable.
    #[error("dependency call timed out or could not reach the dependency")]
    Transient(#[source] E),
    /// The call failed in another way (not counted against the dependency,
    /// not retried). 502 `dependency_failed`, not retryable.
    #[error("dependency call failed")]
    Failed(#[source] E),
}

impl<E> BreakerError<E> {
    /// The wire error code: `dependency_timeout`, `dependency_unavailable` or
    /// `dependency_failed`.
    pub fn code(&self) -> &'static str {
        match self {
            BreakerError::Open | BreakerError::Transient(_) => "dependency_timeout",
            BreakerError::StoreUnavailable(_) => "dependency_unavailable",
            BreakerError::Failed(_) => "dependency_failed",
        }
    }

    /// The HTTP status to answer with: 503, or 502 for [`BreakerError::Failed`].
    pub fn http_status(&self) -> u16 {
        match self {
            BreakerError::Failed(_) => 502,
            _ => 503,
        }
    }

    /// Whether trying again later may succeed (all but [`BreakerError::Failed`]).
    pub fn is_retryable(&self) -> bool {
        !matches!(self, BreakerError::Failed(_))
    }

    /// The seed's human-readable message for this outcome (never the cause's
    /// text, which may carry details of the dependency).
    pub fn message(&self) -> &'static str {
        match self {
            BreakerError::Open => "Dependency circuit is open. Retry shortly.",
            BreakerError::StoreUnavailable(_) => "Dependency breaker store unavailable.",
            BreakerError::Transient(_) => "Dependency call timed out.",
            BreakerError::Failed(_) => "Dependency call failed.",
        }
    }

    /// The seed's error envelope:
    /// `{"error": {"code", "message", "details": {"requestId"}}, "requestId", "retryable"}`.
    pub fn to_envelope(&self, request_id: &str) -> Value {
        json!({
            "error": {
                "code": self.code(),
                "message": self.message(),
                "details": { "requestId": request_id },
            },
            "requestId": request_id,
            "retryable": self.is_retryable(),
        })
    }

    /// The call's own error, for [`BreakerError::Transient`] and [`BreakerError::Failed`].
    pub fn into_call_error(self) -> Option<E> {
        match self {
            BreakerError::Transient(e) | BreakerError::Failed(e) => Some(e),
            _ => None,
        }
    }
}

/// A classifier for this crate's own [`Error`](crate::Error), for guarding
/// SDK calls: timeouts, transport failures and 5xx answers count against the
/// dependency; anything else (4xx, bad input, decode errors) does not.
///
/// ```
/// use authflow::breaker::is_dependency_failure;
/// use authflow::Error;
///
/// let timeout = Error::Timeout { route: "GET /x", after: std::time::Duration::from_secs(1) };
/// assert!(is_dependency_failure(&timeout));
/// assert!(!is_dependency_failure(&Error::invalid_input("email", "empty")));
/// ```
pub fn is_dependency_failure(error: &crate::Error) -> bool {
    error.is_timeout()
        || error.is_transport()
        || error.status().is_some_and(|s| (500..=599).contains(&s))
}

/// Where stores read the time.
///
/// Implemented for [`SystemClock`], [`ManualClock`] and any
/// `Fn() -> SystemTime + Send + Sync` closure (to plug in another clock, e.g.
/// a mock server's).
///
/// ```
/// use std::sync::Arc;
/// use std::time::{Duration, SystemTime};
/// use authflow::breaker::Clock;
///
/// let offset = Duration::from_secs(60);
/// let ahead: Arc<dyn Clock> = Arc::new(move || SystemTime::now() + offset);
/// assert!(ahead.now() > SystemTime::now());
/// ```
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> SystemTime;
}

impl<F: Fn() -> SystemTime + Send + Sync> Clock for F {
    fn now(&self) -> SystemTime {
        self()
    }
}

/// The real clock.
///
/// ```
/// use authflow::breaker::{Clock, SystemClock};
/// assert!(SystemClock.now() > std::time::UNIX_EPOCH);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that moves only when told to, for tests. Clones share the time.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use authflow::breaker::{Clock, ManualClock};
///
/// let clock = ManualClock::at(UNIX_EPOCH + Duration::from_secs(1_000));
/// clock.advance(Duration::from_secs(30));
/// assert_eq!(clock.now(), UNIX_EPOCH + Duration::from_secs(1_030));
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    millis: Arc<AtomicI64>,
}

impl Default for ManualClock {
    /// Starts at the current real time.
    fn default() -> Self {
        ManualClock::at(SystemTime::now())
    }
}

impl ManualClock {
    /// A clock stopped at the current real time.
    pub fn new() -> Self {
        Self::default()
    }

    /// A clock stopped at `time` (millisecond precision).
    pub fn at(time: SystemTime) -> Self {
        ManualClock {
            millis: Arc::new(AtomicI64::new(to_millis(time))),
        }
    }

    /// Move the clock forward.
    pub fn advance(&self, by: Duration) {
        self.millis.fetch_add(duration_millis(by), Ordering::SeqCst);
    }

    /// Set the clock.
    pub fn set(&self, time: SystemTime) {
        self.millis.store(to_millis(time), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        from_millis(self.millis.load(Ordering::SeqCst))
    }
}

/// Milliseconds since the Unix epoch (0 before it), as the stores keep time.
pub(crate) fn to_millis(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map(duration_millis)
        .unwrap_or(0)
}

/// A duration in whole milliseconds, saturating.
pub(crate) fn duration_millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn from_millis(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// How a breaker behaves. Defaults: open after 5 consecutive failures, for
/// 30 s; a half-open trial holds its lease for at most 30 s; an idle
/// breaker's state is forgotten after 24 h.
///
/// The stores use `failure_threshold`, `trial_lease` and `state_ttl`; the
/// [`Breaker`] passes `open_for` with each failure. Give both the same config.
///
/// ```
/// use std::time::Duration;
/// use authflow::breaker::BreakerConfig;
///
/// let config = BreakerConfig::default().failure_threshold(3).open_for(Duration::from_secs(10));
/// assert_eq!(config.get_failure_threshold(), 3);
/// assert_eq!(config.get_open_for(), Duration::from_secs(10));
/// assert_eq!(BreakerConfig::default().get_failure_threshold(), 5);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct BreakerConfig {
    failure_threshold: u32,
    open_for: Duration,
    trial_lease: Duration,
    state_ttl: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            failure_threshold: 5,
            open_for: Duration::from_secs(30),
            trial_lease: Duration::from_secs(30),
            state_ttl: Duration::from_secs(24 * 3600),
        }
    }
}

impl BreakerConfig {
    /// Consecutive failures that open the breaker (at least 1).
    pub fn failure_threshold(mut self, n: u32) -> Self {
        self.failure_threshold = n.max(1);
        self
    }

    /// How long the breaker stays open before a trial call is let through.
    pub fn open_for(mut self, d: Duration) -> Self {
        self.open_for = d;
        self
    }

    /// How long a half-open trial call holds its lease: if it neither
    /// succeeds nor fails within it (its process died, say), another trial
    /// may go.
    pub fn trial_lease(mut self, d: Duration) -> Self {
        self.trial_lease = d;
        self
    }

    /// How long a breaker's state is kept after its last change (and after
    /// it closes again, if open): then it is forgotten (closed, count 0).
    /// Redis enforces it with key TTLs; SQLite prunes expired rows.
    pub fn state_ttl(mut self, d: Duration) -> Self {
        self.state_ttl = d;
        self
    }

    /// The failure threshold.
    pub fn get_failure_threshold(&self) -> u32 {
        self.failure_threshold
    }

    /// How long the breaker stays open.
    pub fn get_open_for(&self) -> Duration {
        self.open_for
    }

    /// The half-open trial lease.
    pub fn get_trial_lease(&self) -> Duration {
        self.trial_lease
    }

    /// How long idle state is kept.
    pub fn get_state_ttl(&self) -> Duration {
        self.state_ttl
    }
}

/// Where a breaker is, as [`BreakerState::phase`] tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Calls go through.
    Closed,
    /// Calls are refused.
    Open,
    /// One trial call may go (or has gone and holds the lease).
    HalfOpen,
}

/// A breaker's stored state, as the stores' `snapshot` methods return it
/// (for monitoring and tests).
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use authflow::breaker::{BreakerState, Phase};
///
/// let state = BreakerState {
///     consecutive_failures: 5,
///     opened_until: Some(UNIX_EPOCH + Duration::from_secs(100)),
///     trial_until: None,
///     trips: 1,
/// };
/// assert_eq!(state.phase(UNIX_EPOCH + Duration::from_secs(99)), Phase::Open);
/// assert_eq!(state.phase(UNIX_EPOCH + Duration::from_secs(100)), Phase::HalfOpen);
/// assert_eq!(BreakerState::default().phase(UNIX_EPOCH), Phase::Closed);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BreakerState {
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// When the breaker opened, until when; `None` while closed.
    pub opened_until: Option<SystemTime>,
    /// When half-open, until when the current trial holds its lease.
    pub trial_until: Option<SystemTime>,
    /// How many times the breaker opened since its state was created.
    pub trips: u64,
}

impl BreakerState {
    /// The phase at `now`.
    pub fn phase(&self, now: SystemTime) -> Phase {
        match self.opened_until {
            None => Phase::Closed,
            Some(until) if now < until => Phase::Open,
            Some(_) => Phase::HalfOpen,
        }
    }
}

/// The state machine the Rust stores share (the Redis store runs the same
/// rules as Lua). Times in Unix milliseconds; 0 means "not set".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Cell {
    pub(crate) failures: i64,
    pub(crate) opened_until: i64,
    pub(crate) trial_until: i64,
    pub(crate) trips: i64,
}

impl Cell {
    /// `should_allow`; returns whether to allow and whether the cell changed.
    pub(crate) fn allow(&mut self, now: i64, trial_lease: i64) -> (bool, bool) {
        if self.opened_until == 0 {
            return (true, false);
        }
        if now < self.opened_until || self.trial_until > now {
            return (false, false);
        }
        self.trial_until = now.saturating_add(trial_lease.max(1));
        (true, true)
    }

    /// `record_failure`.
    pub(crate) fn fail(&mut self, now: i64, open_for: i64, threshold: u32) {
        self.failures = self.failures.saturating_add(1);
        let trip = if self.opened_until == 0 {
            self.failures >= i64::from(threshold.max(1))
        } else {
            // Half-open: the trial (or a late call) failed. Still open: a
            // call that started before the breaker opened; nothing to change.
            now >= self.opened_until
        };
        if trip {
            // 0 means "closed", so an open window always ends after `now`.
            self.opened_until = now.saturating_add(open_for).max(now.saturating_add(1));
            self.trial_until = 0;
            self.trips = self.trips.saturating_add(1);
        }
    }

    /// When this state may be forgotten: `state_ttl` after the last moment
    /// that matters (now, the end of the open window, the end of the lease).
    pub(crate) fn expires_at(&self, now: i64, state_ttl: i64) -> i64 {
        now.max(self.opened_until)
            .max(self.trial_until)
            .saturating_add(state_ttl)
    }

    pub(crate) fn to_state(self) -> BreakerState {
        let at = |ms: i64| (ms != 0).then(|| from_millis(ms));
        BreakerState {
            consecutive_failures: u32::try_from(self.failures).unwrap_or(u32::MAX),
            opened_until: at(self.opened_until),
            trial_until: at(self.trial_until),
            trips: u64::try_from(self.trips).unwrap_or(0),
        }
    }
}

/// The guard: wraps outbound calls with a [`BreakerStore`], the seed's
/// `guarded_call`. Cheap to clone.
///
/// Per attempt: ask the store ([`BreakerError::StoreUnavailable`] if it
/// cannot answer — the call is not made; [`BreakerError::Open`] if it says
/// no), make the call, record the outcome. Retries, bounded by the
/// [`RetryPolicy`] (default: 2 retries with backoff), happen only when the
/// store could not be read before a call, or when the call failed in a way
/// that counts against the dependency; never after an outcome could not be
/// recorded, never for [`BreakerError::Open`] or [`BreakerError::Failed`].
///
/// ```no_run
/// use std::sync::Arc;
/// use authflow::breaker::{Breaker, SqliteStore, is_dependency_failure};
///
/// # async fn run(client: authflow::AuthFlowClient) -> Result<(), Box<dyn std::error::Error>> {
/// let breaker = Breaker::new(Arc::new(SqliteStore::open("breaker.db")?));
/// let token = breaker
///     .call_classified("api.authflow.net", is_dependency_failure, || {
///         client.foobar("ada@example.com", None)
///     })
///     .await?;
/// # let _ = token; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Breaker {
    store: Arc<dyn BreakerStore>,
    open_for: Duration,
    retry: RetryPolicy,
    sleep: Arc<dyn Sleep>,
}

impl Breaker {
    /// A guard over `store`, opening for 30 s ([`BreakerConfig::default`]),
    /// with [`RetryPolicy::default`] and real sleeps.
    pub fn new(store: Arc<dyn BreakerStore>) -> Self {
        Self::with_config(store, BreakerConfig::default())
    }

    /// A guard over `store` that opens for `config`'s `open_for`.
    pub fn with_config(store: Arc<dyn BreakerStore>, config: BreakerConfig) -> Self {
        Breaker {
            store,
            open_for: config.open_for,
            retry: RetryPolicy::default(),
            sleep: Arc::new(TokioSleep),
        }
    }

    /// How long the breaker stays open once it trips.
    #[must_use]
    pub fn open_for(mut self, d: Duration) -> Self {
        self.open_for = d;
        self
    }

    /// The retry policy ([`RetryPolicy::none`] for calls that must not repeat).
    #[must_use]
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// How to wait between retries (inject one that does not wait in tests).
    #[must_use]
    pub fn sleep(mut self, sleep: Arc<dyn Sleep>) -> Self {
        self.sleep = sleep;
        self
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn BreakerStore> {
        &self.store
    }

    /// Guard `call` to `key`; every error of the call counts against the
    /// dependency (see [`Breaker::call_classified`] to choose).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use authflow::breaker::{Breaker, MemoryStore};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let breaker = Breaker::new(Arc::new(MemoryStore::new()));
    /// let n = breaker.call("example.com", || async { Ok::<_, std::io::Error>(42) }).await;
    /// assert_eq!(n.ok(), Some(42));
    /// # }
    /// ```
    pub async fn call<T, E, F, Fut>(&self, key: &str, call: F) -> Result<T, BreakerError<E>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.call_classified(key, |_: &E| true, call).await
    }

    /// Guard `call` to `key`; `counts_as_failure` tells which errors count
    /// against the dependency (recorded, retried, then
    /// [`BreakerError::Transient`]) and which do not (returned at once as
    /// [`BreakerError::Failed`], nothing recorded).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use authflow::breaker::{Breaker, BreakerError, MemoryStore};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let breaker = Breaker::new(Arc::new(MemoryStore::new()));
    /// let calls = AtomicU32::new(0);
    /// let r: Result<(), _> = breaker
    ///     .call_classified(
    ///         "example.com",
    ///         |e: &std::io::Error| e.kind() == std::io::ErrorKind::TimedOut,
    ///         || async {
    ///             calls.fetch_add(1, Ordering::SeqCst);
    ///             Err(std::io::Error::other("HTTP 400"))
    ///         },
    ///     )
    ///     .await;
    /// assert!(matches!(r, Err(BreakerError::Failed(_))));
    /// assert_eq!(calls.load(Ordering::SeqCst), 1); // not retried
    /// # }
    /// ```
    pub async fn call_classified<T, E, C, F, Fut>(
        &self,
        key: &str,
        counts_as_failure: C,
        mut call: F,
    ) -> Result<T, BreakerError<E>>
    where
        C: Fn(&E) -> bool,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let max_retries = self.retry.get_max_retries();
        let mut retry = 0u32;
        loop {
            match self.store.should_allow(key).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::debug!(breaker_key = key, "circuit open; call not made");
                    return Err(BreakerError::Open);
                }
                Err(e) => {
                    tracing::warn!(breaker_key = key, error = %e, "breaker store unreadable; call not made");
                    if retry < max_retries {
                        self.sleep.sleep(self.retry.backoff(retry)).await;
                        retry += 1;
                        continue;
                    }
                    return Err(BreakerError::StoreUnavailable(e));
                }
            }
            match call().await {
                Ok(value) => {
                    return match self.store.record_success(key).await {
                        Ok(()) => Ok(value),
                        Err(e) => {
                            tracing::warn!(breaker_key = key, error = %e, "breaker store unwritable; result discarded");
                            Err(BreakerError::StoreUnavailable(e))
                        }
                    };
                }
                Err(e) if counts_as_failure(&e) => {
                    if let Err(se) = self.store.record_failure(key, self.open_for).await {
                        tracing::warn!(breaker_key = key, error = %se, "breaker store unwritable");
                        return Err(BreakerError::StoreUnavailable(se));
                    }
                    if retry < max_retries {
                        self.sleep.sleep(self.retry.backoff(retry)).await;
                        retry += 1;
                        continue;
                    }
                    return Err(BreakerError::Transient(e));
                }
                Err(e) => return Err(BreakerError::Failed(e)),
            }
        }
    }
}

#[cfg(test)]
mod tests;
