//! Per-client-IP token bucket, in memory.
//!
//! Each replica counts on its own. A Redis-backed store shared by replicas
//! (`--redis`) and the upstream circuit breaker come with a later issue.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

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
