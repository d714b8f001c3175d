//! The circuit breaker on the upstream, on the SDK's
//! [`authflow::breaker::BreakerStore`].
//!
//! Every upstream exchange (request and response body) is one guarded call
//! keyed by the upstream origin, so every replica sharing the store shares
//! the breaker:
//!
//! - breaker open → 503 `dependency_timeout` (`retryable`), the upstream is
//!   not called;
//! - store unreadable → 503 `dependency_unavailable`, the upstream is not
//!   called (fail closed); an outcome that cannot be recorded also answers
//!   503 `dependency_unavailable` (the SDK's contract);
//! - connect errors and timeouts count as failures; other upstream failures
//!   (reset, malformed answer, oversized body) do not; any answer from the
//!   upstream, whatever its status, is a success;
//! - no retries: the proxy forwards non-idempotent requests.
//!
//! **Local view.** Two store transactions per request would cap the proxy at
//! a few thousand requests/s (SQLite) or add a Redis round trip to every
//! request, so each process keeps a short-lived view: after the store has
//! said *closed* (a success was recorded), requests in the next
//! `sync_interval` (default 100 ms) skip `should_allow` and
//! `record_success`; any counted failure is recorded in the store at once
//! and ends the view, so the next request asks the store again. An open
//! breaker, a half-open trial and a store that cannot be read are therefore
//! always decided by the store, except that a process that has just seen
//! successes notices them up to `sync_interval` (plus one store operation)
//! late: another replica's trip, or an unreadable store. When the view
//! expires one request asks the store while the others go on, so bursts
//! never queue on it. `sync_interval` zero asks the store on every
//! request (the SDK's [`Breaker`] exactly).
//!
//! Stores: [`SqliteStore`] (a file shared by the processes of one host: the
//! default, `authflow-proxy-breaker.db` in the temp dir), [`RedisStore`]
//! (shared across hosts: `--redis`), or any [`BreakerStore`].

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use authflow::RetryPolicy;
use authflow::breaker::{
    Breaker, BreakerConfig, BreakerError, BreakerStore, RedisStore, SqliteStore,
};

use crate::config::ConfigError;
use crate::error::ProxyError;

/// Where the upstream breaker keeps its state.
#[derive(Clone)]
pub enum BreakerBackend {
    /// A SQLite file, opened when the layer is built (its directory must exist).
    SqlitePath(PathBuf),
    /// An opened SQLite store (e.g. built with a clock or a config).
    Sqlite(SqliteStore),
    /// A Redis store, shared across hosts.
    Redis(RedisStore),
    /// Any other store.
    Custom(Arc<dyn BreakerStore>),
}

impl fmt::Debug for BreakerBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SqlitePath(p) => f.debug_tuple("SqlitePath").field(p).finish(),
            Self::Sqlite(s) => f.debug_tuple("Sqlite").field(s).finish(),
            Self::Redis(s) => f.debug_tuple("Redis").field(s).finish(),
            Self::Custom(s) => f.debug_tuple("Custom").field(s).finish(),
        }
    }
}

impl Default for BreakerBackend {
    /// [`default_sqlite_path`].
    fn default() -> Self {
        Self::SqlitePath(default_sqlite_path())
    }
}

/// Default [`sync_interval`](crate::ProxyConfigBuilder::breaker_sync_interval):
/// how long a process trusts the store's last *closed*.
pub const DEFAULT_SYNC_INTERVAL: Duration = Duration::from_millis(100);

/// The default breaker file: `authflow-proxy-breaker.db` in the temp dir,
/// shared by every proxy process on the host.
pub fn default_sqlite_path() -> PathBuf {
    std::env::temp_dir().join("authflow-proxy-breaker.db")
}

/// An upstream failure, classified for the breaker when it happens (the
/// client's error, whose text could name the upstream URL and so the key,
/// is never kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UpstreamFailure {
    /// No connection could be opened (refused, unreachable, DNS, TLS
    /// handshake, connect timeout).
    Connect,
    /// The exchange (request and response body) took longer than the
    /// request timeout.
    Timeout,
    /// Any other client failure: reset, malformed answer, body error.
    Failed,
    /// The answer was over the response limit.
    TooLarge,
}

impl UpstreamFailure {
    /// Whether this failure counts against the upstream: connect errors and
    /// timeouts.
    fn counts(&self) -> bool {
        matches!(self, Self::Connect | Self::Timeout)
    }

    /// The envelope for it.
    fn into_proxy_error(self) -> ProxyError {
        match self {
            Self::Connect => ProxyError::dependency_unavailable(),
            Self::Timeout => ProxyError::dependency_timeout(),
            Self::Failed | Self::TooLarge => ProxyError::dependency_failed(),
        }
    }
}

/// How a request uses the local view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum View {
    /// Skip the store.
    Fresh,
    /// Ask the store, and renew the view (this request holds `refreshing`).
    Refresh,
    /// Ask the store (no view: never closed yet, or a failure since).
    Strict,
}

/// The guard on the upstream, shared by every worker of a proxy.
pub(crate) struct UpstreamBreaker {
    breaker: Breaker,
    key: String,
    threshold: u32,
    open_for: Duration,
    sync_interval: Duration,
    epoch: Instant,
    /// Microseconds since `epoch` (+1) of the store's last *closed*; 0 = none.
    closed_at: AtomicU64,
    /// A request is asking the store after the view expired.
    refreshing: AtomicBool,
    /// As this process last saw it (for `/metrics`).
    open: AtomicBool,
    local_failures: AtomicU32,
    refused: AtomicU64,
    store_errors: AtomicU64,
}

impl fmt::Debug for UpstreamBreaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpstreamBreaker")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl UpstreamBreaker {
    /// Open the store and build the guard for `upstream` (the breaker key).
    pub(crate) fn new(
        backend: &BreakerBackend,
        config: BreakerConfig,
        sync_interval: Duration,
        upstream: &str,
    ) -> Result<Self, ConfigError> {
        let store: Arc<dyn BreakerStore> = match backend {
            BreakerBackend::SqlitePath(path) => Arc::new(
                SqliteStore::open(path)
                    .map_err(|e| ConfigError::Setting("breaker_sqlite", e.to_string()))?
                    .with_config(config),
            ),
            BreakerBackend::Sqlite(s) => Arc::new(s.clone()),
            BreakerBackend::Redis(s) => Arc::new(s.clone()),
            BreakerBackend::Custom(s) => s.clone(),
        };
        Ok(Self {
            breaker: Breaker::with_config(store, config).retry_policy(RetryPolicy::none()),
            key: upstream.to_owned(),
            threshold: config.get_failure_threshold(),
            open_for: config.get_open_for(),
            sync_interval,
            epoch: Instant::now(),
            closed_at: AtomicU64::new(0),
            refreshing: AtomicBool::new(false),
            open: AtomicBool::new(false),
            local_failures: AtomicU32::new(0),
            refused: AtomicU64::new(0),
            store_errors: AtomicU64::new(0),
        })
    }

    fn now_micros(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros())
            .unwrap_or(u64::MAX)
            .saturating_add(1)
    }

    /// Whether this request may skip the store: the store said *closed*
    /// less than `sync_interval` ago with no counted failure since; or it
    /// said so longer ago (and no failure since) while another request is
    /// already asking it again. When the view has expired, exactly one
    /// request (the one that gets `refreshing`) asks the store, so a burst
    /// of requests does not queue on it.
    fn view(&self) -> View {
        let at = self.closed_at.load(Ordering::Relaxed);
        if at == 0 {
            return View::Strict;
        }
        if u128::from(self.now_micros().saturating_sub(at)) < self.sync_interval.as_micros() {
            return View::Fresh;
        }
        // Expired: someone else is refreshing → go on; else refresh ourselves.
        match self
            .refreshing
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
        {
            Ok(_) => View::Refresh,
            Err(_) => View::Fresh,
        }
    }

    /// Guard one upstream exchange.
    pub(crate) async fn call<T, F, Fut>(&self, call: F) -> Result<T, ProxyError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, UpstreamFailure>>,
    {
        let view = self.view();
        if view == View::Fresh {
            return match call().await {
                Ok(v) => Ok(v),
                Err(e) if e.counts() => {
                    self.closed_at.store(0, Ordering::Relaxed);
                    if let Err(se) = self
                        .breaker
                        .store()
                        .record_failure(&self.key, self.open_for)
                        .await
                    {
                        self.store_errors.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(target: "authflow_proxy::upstream", error = %se.message(), "breaker store unavailable; failing closed");
                        return Err(ProxyError::breaker_unavailable());
                    }
                    self.failed();
                    Err(e.into_proxy_error())
                }
                Err(e) => Err(e.into_proxy_error()),
            };
        }
        // Clears `refreshing` however this ends (even if the request is dropped).
        struct Refresh<'a>(&'a AtomicBool);
        impl Drop for Refresh<'_> {
            fn drop(&mut self) {
                self.0.store(false, Ordering::Release);
            }
        }
        let _refresh = (view == View::Refresh).then(|| Refresh(&self.refreshing));
        let mut call = Some(call);
        let result = self
            .breaker
            .call_classified(&self.key, UpstreamFailure::counts, || {
                let call = call.take();
                async move {
                    match call {
                        Some(call) => call().await,
                        // No retries are configured: never reached.
                        None => Err(UpstreamFailure::TooLarge),
                    }
                }
            })
            .await;
        match result {
            Ok(v) => {
                self.local_failures.store(0, Ordering::Relaxed);
                self.open.store(false, Ordering::Relaxed);
                if !self.sync_interval.is_zero() {
                    self.closed_at.store(self.now_micros(), Ordering::Relaxed);
                }
                Ok(v)
            }
            Err(BreakerError::Open) => {
                self.closed_at.store(0, Ordering::Relaxed);
                self.open.store(true, Ordering::Relaxed);
                self.refused.fetch_add(1, Ordering::Relaxed);
                Err(ProxyError::circuit_open())
            }
            Err(BreakerError::StoreUnavailable(e)) => {
                self.closed_at.store(0, Ordering::Relaxed);
                self.store_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(target: "authflow_proxy::upstream", error = %e.message(), "breaker store unavailable; failing closed");
                Err(ProxyError::breaker_unavailable())
            }
            Err(BreakerError::Transient(e)) => {
                self.closed_at.store(0, Ordering::Relaxed);
                self.failed();
                Err(e.into_proxy_error())
            }
            Err(BreakerError::Failed(e)) => {
                // The upstream answered something: it is reachable.
                self.open.store(false, Ordering::Relaxed);
                Err(e.into_proxy_error())
            }
        }
    }

    /// A counted failure was recorded: the gauge guesses the trip locally.
    fn failed(&self) {
        let n = self.local_failures.fetch_add(1, Ordering::Relaxed) + 1;
        if n >= self.threshold {
            self.open.store(true, Ordering::Relaxed);
        }
    }

    /// The breaker's Prometheus lines.
    pub(crate) fn render(&self, out: &mut String) {
        use std::fmt::Write as _;
        let up = self.key.replace('\\', "\\\\").replace('"', "\\\"");
        out.push_str("# HELP authflow_proxy_breaker_open Whether the upstream circuit breaker is open (1), as this process last saw it.\n");
        out.push_str("# TYPE authflow_proxy_breaker_open gauge\n");
        let _ = writeln!(
            out,
            "authflow_proxy_breaker_open{{upstream=\"{up}\"}} {}",
            u8::from(self.open.load(Ordering::Relaxed))
        );
        out.push_str("# HELP authflow_proxy_breaker_refused_total Requests refused because the breaker was open.\n");
        out.push_str("# TYPE authflow_proxy_breaker_refused_total counter\n");
        let _ = writeln!(
            out,
            "authflow_proxy_breaker_refused_total{{upstream=\"{up}\"}} {}",
            self.refused.load(Ordering::Relaxed)
        );
        out.push_str("# HELP authflow_proxy_breaker_store_errors_total Requests refused because the breaker store was unavailable.\n");
        out.push_str("# TYPE authflow_proxy_breaker_store_errors_total counter\n");
        let _ = writeln!(
            out,
            "authflow_proxy_breaker_store_errors_total{{upstream=\"{up}\"}} {}",
            self.store_errors.load(Ordering::Relaxed)
        );
    }
}
