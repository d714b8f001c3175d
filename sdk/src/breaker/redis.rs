//! The Redis store: shared across processes and hosts.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, Script};

use super::{
    BreakerConfig, BreakerState, BreakerStore, Cell, Clock, StoreError, StoreFuture, SystemClock,
    duration_millis, to_millis,
};

/// `should_allow`. KEYS[1] state hash; ARGV: now_ms, trial_lease_ms, state_ttl_ms.
/// Returns 1 to allow, 0 to refuse.
const SHOULD_ALLOW: &str = r"
local v = redis.call('HMGET', KEYS[1], 'o', 't')
local o = tonumber(v[1] or '0')
if o == 0 then return 1 end
local now = tonumber(ARGV[1])
local t = tonumber(v[2] or '0')
if now < o or t > now then return 0 end
t = now + math.max(tonumber(ARGV[2]), 1)
redis.call('HSET', KEYS[1], 't', string.format('%d', t))
redis.call('PEXPIRE', KEYS[1], string.format('%d', math.max(o, t) - now + tonumber(ARGV[3])))
return 1
";

/// `record_failure`. KEYS[1] state hash; ARGV: now_ms, open_for_ms,
/// failure_threshold, state_ttl_ms. Returns 1 if this failure opened the
/// breaker, else 0.
const RECORD_FAILURE: &str = r"
local v = redis.call('HMGET', KEYS[1], 'f', 'o', 't', 'n')
local f = tonumber(v[1] or '0') + 1
local o = tonumber(v[2] or '0')
local t = tonumber(v[3] or '0')
local n = tonumber(v[4] or '0')
local now = tonumber(ARGV[1])
local trip = 0
if o == 0 then
  if f >= math.max(tonumber(ARGV[3]), 1) then trip = 1 end
elseif now >= o then
  trip = 1
end
if trip == 1 then
  o = now + math.max(tonumber(ARGV[2]), 1)
  t = 0
  n = n + 1
end
redis.call('HSET', KEYS[1], 'f', string.format('%d', f), 'o', string.format('%d', o),
  't', string.format('%d', t), 'n', string.format('%d', n))
redis.call('PEXPIRE', KEYS[1], string.format('%d', math.max(now, o, t) - now + tonumber(ARGV[4])))
return trip
";

/// The default key prefix: a breaker `key` lives in the hash
/// `authflow:breaker:<key>`.
pub const DEFAULT_REDIS_PREFIX: &str = "authflow:breaker:";

/// A [`BreakerStore`] in Redis, shared by every process on every host that
/// uses the same server and prefix.
///
/// Each breaker is one hash, `authflow:breaker:<key>` (fields `f` failures,
/// `o` opened-until ms, `t` trial-lease-until ms, `n` trips), changed only by
/// one Lua script per operation, so concurrent callers never interleave
/// (and one key per script keeps it Redis Cluster-compatible). Every write
/// sets a TTL: the state is forgotten [`BreakerConfig::state_ttl`] after its
/// last change (or after its open window and lease end), so dead keys
/// expire. `record_success` deletes the hash.
///
/// Times come from the client's [`Clock`] (injectable; hosts' clocks should
/// agree to well under `open_for`); TTLs run on the server's clock.
///
/// The connection reconnects by itself; an operation that cannot complete
/// within the operation timeout (default 2 s) fails with [`StoreError`], so
/// a dead Redis means a prompt `dependency_unavailable`, never a hang.
///
/// ```no_run
/// use std::sync::Arc;
/// use authflow::breaker::{Breaker, BreakerConfig, RedisStore};
///
/// # async fn run() -> Result<(), authflow::breaker::StoreError> {
/// let config = BreakerConfig::default();
/// let store = RedisStore::connect("redis://127.0.0.1:6379/0").await?.with_config(config);
/// let breaker = Breaker::with_config(Arc::new(store), config);
/// # let _ = breaker; Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: Arc<str>,
    config: BreakerConfig,
    clock: Arc<dyn Clock>,
    op_timeout: Duration,
    should_allow: Script,
    record_failure: Script,
}

impl fmt::Debug for RedisStore {
    // The URL may carry a password: it is not kept, let alone printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("config", &self.config)
            .field("op_timeout", &self.op_timeout)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connect to `url` (`redis://[:password@]host:port[/db]`, `rediss://`
    /// needs a TLS feature of the `redis` crate), with
    /// [`BreakerConfig::default`], the system clock and the default prefix.
    /// Fails if the server cannot be reached within the operation timeout.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let op_timeout = Duration::from_secs(2);
        // Never echo the URL: it may hold a password.
        let client = Client::open(url)
            .map_err(|e| StoreError::with_source("redis: invalid connection URL", e))?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(1)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let conn = tokio::time::timeout(
            op_timeout,
            ConnectionManager::new_with_config(client, manager_config),
        )
        .await
        .map_err(|_| StoreError::new("redis: connect timed out"))?
        .map_err(|e| redis_error("connect", e))?;
        Ok(RedisStore {
            conn,
            prefix: Arc::from(DEFAULT_REDIS_PREFIX),
            config: BreakerConfig::default(),
            clock: Arc::new(SystemClock),
            op_timeout,
            should_allow: Script::new(SHOULD_ALLOW),
            record_failure: Script::new(RECORD_FAILURE),
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

    /// Use another key prefix (default [`DEFAULT_REDIS_PREFIX`]), e.g. one per
    /// environment sharing a server.
    #[must_use]
    pub fn with_prefix(mut self, prefix: &str) -> Self {
        self.prefix = Arc::from(prefix);
        self
    }

    /// The longest an operation may take before it fails (default 2 s).
    #[must_use]
    pub fn with_op_timeout(mut self, timeout: Duration) -> Self {
        self.op_timeout = timeout;
        self
    }

    /// The Redis key holding `key`'s state.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), authflow::breaker::StoreError> {
    /// let store = authflow::breaker::RedisStore::connect("redis://127.0.0.1:6379").await?;
    /// assert_eq!(store.redis_key("mail.example"), "authflow:breaker:mail.example");
    /// # Ok(()) }
    /// ```
    pub fn redis_key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// The state of `key`, `None` if it has none (closed, never failed, or
    /// expired).
    pub async fn snapshot(&self, key: &str) -> Result<Option<BreakerState>, StoreError> {
        let mut conn = self.conn.clone();
        let mut cmd = ::redis::cmd("HMGET");
        cmd.arg(self.redis_key(key)).arg(&["f", "o", "t", "n"]);
        let fields: Vec<Option<i64>> = self
            .timed("snapshot", async move { cmd.query_async(&mut conn).await })
            .await?;
        if fields.iter().all(Option::is_none) {
            return Ok(None);
        }
        let field = |i: usize| fields.get(i).copied().flatten().unwrap_or(0);
        Ok(Some(
            Cell {
                failures: field(0),
                opened_until: field(1),
                trial_until: field(2),
                trips: field(3),
            }
            .to_state(),
        ))
    }

    async fn timed<T>(
        &self,
        what: &'static str,
        op: impl Future<Output = ::redis::RedisResult<T>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.op_timeout, op).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(redis_error(what, e)),
            Err(_) => Err(StoreError::new(format!(
                "redis {what}: no answer within {:?}",
                self.op_timeout
            ))),
        }
    }
}

fn redis_error(what: &str, e: ::redis::RedisError) -> StoreError {
    StoreError::with_source(format!("redis {what}: {e}"), e)
}

impl BreakerStore for RedisStore {
    fn should_allow<'a>(&'a self, key: &'a str) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let mut call = self.should_allow.key(self.redis_key(key));
            call.arg(to_millis(self.clock.now()))
                .arg(duration_millis(self.config.trial_lease))
                .arg(duration_millis(self.config.state_ttl));
            let allowed: i64 = self
                .timed("should_allow", call.invoke_async(&mut conn))
                .await?;
            Ok(allowed == 1)
        })
    }

    fn record_success<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let mut cmd = ::redis::cmd("DEL");
            cmd.arg(self.redis_key(key));
            let _deleted: i64 = self
                .timed("record_success", cmd.query_async(&mut conn))
                .await?;
            Ok(())
        })
    }

    fn record_failure<'a>(&'a self, key: &'a str, open_for: Duration) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let mut call = self.record_failure.key(self.redis_key(key));
            call.arg(to_millis(self.clock.now()))
                .arg(duration_millis(open_for))
                .arg(self.config.failure_threshold)
                .arg(duration_millis(self.config.state_ttl));
            let _tripped: i64 = self
                .timed("record_failure", call.invoke_async(&mut conn))
                .await?;
            Ok(())
        })
    }
}
