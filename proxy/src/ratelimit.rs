//! Per-client-IP token bucket: in memory ([`RateLimiter`], each replica
//! counts on its own) or in Redis ([`RedisRateLimiter`], replicas share the
//! buckets).
//!
//! The Redis bucket is one atomic Lua script per request, reading the time
//! from the Redis server (`TIME`) so replicas need no synchronised clocks.
//! When Redis cannot answer (within 250 ms) the limiter **fails open**: the
//! request goes on, a warning is logged and
//! `authflow_proxy_ratelimit_store_errors_total` counts it. Rate limiting is
//! abuse protection, not a safety property; refusing every client while
//! Redis is down would turn a Redis outage into a full outage. (The circuit
//! breaker, on the other hand, fails closed.)

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::Script;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::config::RateLimit;

/// Buckets kept before idle full ones are swept.
const SWEEP_AT: usize = 10_000;

/// Token buckets keyed by client IP.
#[derive(Debug)]
pub struct RateLimiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl RateLimiter {
    /// A limiter with this rate and burst.
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Take one token for `ip`: `Ok` or `Err(seconds until one is available)`.
    pub fn check(&self, ip: IpAddr) -> Result<(), u64> {
        self.check_at(ip, Instant::now())
    }

    fn check_at(&self, ip: IpAddr, now: Instant) -> Result<(), u64> {
        let burst = f64::from(self.limit.burst);
        let rate = self.limit.per_second;
        let Ok(mut map) = self.buckets.lock() else {
            return Ok(());
        };
        if map.len() >= SWEEP_AT {
            map.retain(|_, (tokens, at)| {
                *tokens + now.saturating_duration_since(*at).as_secs_f64() * rate < burst
            });
        }
        let (tokens, at) = map.entry(ip).or_insert((burst, now));
        *tokens = (*tokens + now.saturating_duration_since(*at).as_secs_f64() * rate).min(burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / rate).ceil().max(1.0) as u64)
        }
    }
}

/// The token bucket, atomically, in Redis. `KEYS[1]` the bucket,
/// `ARGV[1]` tokens per second, `ARGV[2]` the burst. Returns
/// `{allowed (0|1), milliseconds until a token is available}`.
const TOKEN_BUCKET: &str = r"
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local v = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens = tonumber(v[1])
local ts = tonumber(v[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {allowed, wait}
";

/// Default key prefix of the Redis buckets.
pub const DEFAULT_REDIS_PREFIX: &str = "authflow:proxy:ratelimit:";

/// Token buckets keyed by client IP, in Redis: every replica pointed at the
/// same server shares them. Cheap to clone (one multiplexed connection).
#[derive(Clone)]
pub struct RedisRateLimiter {
    conn: ConnectionManager,
    script: Script,
    prefix: String,
    op_timeout: Duration,
    errors: std::sync::Arc<AtomicU64>,
}

impl fmt::Debug for RedisRateLimiter {
    // The URL may hold a password: it is not kept.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRateLimiter")
            .field("prefix", &self.prefix)
            .field("op_timeout", &self.op_timeout)
            .finish_non_exhaustive()
    }
}

/// Redis could not be reached (the message never holds the URL).
#[derive(Debug, thiserror::Error)]
#[error("redis rate limit store: {0}")]
pub struct RedisLimitError(String);

impl RedisRateLimiter {
    /// Connect to `url` (`redis://[:password@]host:port[/db]`). The
    /// connection reconnects by itself; it must be made inside the tokio
    /// runtime that will keep running (the connection's task lives there).
    pub async fn connect(url: &str) -> Result<Self, RedisLimitError> {
        let client = redis::Client::open(url)
            .map_err(|_| RedisLimitError("invalid connection URL".into()))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(1)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let conn = tokio::time::timeout(
            Duration::from_secs(2),
            ConnectionManager::new_with_config(client, config),
        )
        .await
        .map_err(|_| RedisLimitError("connect timed out".into()))?
        .map_err(|e| RedisLimitError(format!("connect: {:?}", e.kind())))?;
        Ok(Self {
            conn,
            script: Script::new(TOKEN_BUCKET),
            prefix: DEFAULT_REDIS_PREFIX.to_owned(),
            op_timeout: Duration::from_millis(250),
            errors: std::sync::Arc::default(),
        })
    }

    /// Use another key prefix (default [`DEFAULT_REDIS_PREFIX`]).
    #[must_use]
    pub fn with_prefix(mut self, prefix: &str) -> Self {
        self.prefix = prefix.to_owned();
        self
    }

    /// How long one check may wait for Redis before failing open (default 250 ms).
    #[must_use]
    pub fn with_op_timeout(mut self, timeout: Duration) -> Self {
        self.op_timeout = timeout;
        self
    }

    /// Checks that failed open because Redis could not answer.
    pub fn store_errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    /// Take one token for `ip` from the shared bucket: `Ok` or `Err(seconds
    /// until one is available)`. Fails open when Redis cannot answer.
    pub async fn check(&self, limit: RateLimit, ip: IpAddr) -> Result<(), u64> {
        let mut conn = self.conn.clone();
        let mut invocation = self.script.key(format!("{}{ip}", self.prefix));
        invocation.arg(limit.per_second).arg(limit.burst);
        let answer = tokio::time::timeout(
            self.op_timeout,
            invocation.invoke_async::<(i64, i64)>(&mut conn),
        )
        .await;
        match answer {
            Ok(Ok((1, _))) => Ok(()),
            Ok(Ok((_, wait_ms))) => Err(u64::try_from(wait_ms.max(1))
                .unwrap_or(1)
                .div_ceil(1000)
                .max(1)),
            Ok(Err(e)) => {
                self.errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(target: "authflow_proxy::ratelimit", error = ?e.kind(), "redis rate limit unavailable; failing open");
                Ok(())
            }
            Err(_) => {
                self.errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(target: "authflow_proxy::ratelimit", "redis rate limit timed out; failing open");
                Ok(())
            }
        }
    }
}

/// The limiter a proxy uses: in memory or in Redis.
#[derive(Debug)]
pub(crate) enum Limiter {
    Local(RateLimiter),
    Redis(RateLimit, RedisRateLimiter),
}

impl Limiter {
    pub(crate) async fn check(&self, ip: IpAddr) -> Result<(), u64> {
        match self {
            Self::Local(l) => l.check(ip),
            Self::Redis(limit, r) => r.check(*limit, ip).await,
        }
    }

    pub(crate) fn render(&self, out: &mut String) {
        if let Self::Redis(_, r) = self {
            use std::fmt::Write as _;
            out.push_str("# HELP authflow_proxy_ratelimit_store_errors_total Rate-limit checks that failed open because Redis could not answer.\n");
            out.push_str("# TYPE authflow_proxy_ratelimit_store_errors_total counter\n");
            let _ = writeln!(
                out,
                "authflow_proxy_ratelimit_store_errors_total {}",
                r.store_errors()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn bucket_refills() {
        let l = RateLimiter::new(RateLimit {
            per_second: 2.0,
            burst: 3,
        });
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.check_at(ip, t0).is_ok());
        }
        assert_eq!(l.check_at(ip, t0), Err(1));
        assert!(l.check_at(other, t0).is_ok());
        assert!(l.check_at(ip, t0 + Duration::from_millis(500)).is_ok());
        assert!(l.check_at(ip, t0 + Duration::from_millis(500)).is_err());
    }
}
