//! Retry policy: which failures are retried, and how long to wait.

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;

/// How a client retries failed attempts.
///
/// Defaults: 2 retries, backoff 0.5 s·2ⁿ capped at 8 s with jitter,
/// `Retry-After` honoured up to 60 s.
///
/// ```
/// use std::time::Duration;
/// use authflow::transport::RetryPolicy;
///
/// let policy = RetryPolicy::default().max_retries(4).max_retry_after(Duration::from_secs(10));
/// assert_eq!(policy.get_max_retries(), 4);
/// assert_eq!(RetryPolicy::none().get_max_retries(), 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct RetryPolicy {
    max_retries: u32,
    base: Duration,
    cap: Duration,
    max_retry_after: Duration,
    jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 2,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn none() -> Self {
        RetryPolicy::default().max_retries(0)
    }

    /// Retries after the first attempt (so at most `n + 1` attempts).
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// The first backoff delay (doubled for each further retry).
    pub fn base_delay(mut self, d: Duration) -> Self {
        self.base = d;
        self
    }

    /// The largest backoff delay.
    pub fn max_delay(mut self, d: Duration) -> Self {
        self.cap = d;
        self
    }

    /// The longest `Retry-After` honoured; a longer one ends the retries with the error.
    pub fn max_retry_after(mut self, d: Duration) -> Self {
        self.max_retry_after = d;
        self
    }

    /// Whether to randomise delays (on by default; off makes delays exact).
    pub fn jitter(mut self, on: bool) -> Self {
        self.jitter = on;
        self
    }

    /// The configured number of retries.
    pub fn get_max_retries(&self) -> u32 {
        self.max_retries
    }

    /// The longest `Retry-After` honoured.
    pub fn get_max_retry_after(&self) -> Duration {
        self.max_retry_after
    }

    /// The backoff before retry number `retry` (0-based): `base·2ⁿ` capped,
    /// then, with jitter, a uniform pick in its upper half.
    pub fn backoff(&self, retry: u32) -> Duration {
        let nominal = self
            .base
            .saturating_mul(2u32.saturating_pow(retry.min(31)))
            .min(self.cap);
        if !self.jitter || nominal.is_zero() {
            return nominal;
        }
        let half = nominal / 2;
        let extra = rand::random_range(0..=half.as_millis() as u64);
        half + Duration::from_millis(extra)
    }
}

/// Statuses worth retrying: 408, 429, 500, 502, 503, 504.
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// The delay the server asks for: `retry-after-ms` (milliseconds), else
/// `Retry-After` in seconds or as an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    if let Some(ms) = headers
        .get("retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|ms| ms.is_finite() && *ms >= 0.0)
    {
        // A value too large for a Duration is "longer than any cap".
        return Some(Duration::try_from_secs_f64(ms / 1000.0).unwrap_or(Duration::MAX));
    }
    let raw = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = raw.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(raw).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn backoff_doubles_and_caps() {
        let p = RetryPolicy::default().jitter(false);
        let got: Vec<_> = (0..6).map(|n| p.backoff(n).as_millis()).collect();
        assert_eq!(got, vec![500, 1000, 2000, 4000, 8000, 8000]);
        assert_eq!(p.backoff(1000), Duration::from_secs(8));
    }

    #[test]
    fn jitter_stays_in_upper_half() {
        let p = RetryPolicy::default();
        for n in 0..5 {
            let nominal = RetryPolicy::default().jitter(false).backoff(n);
            for _ in 0..50 {
                let d = p.backoff(n);
                assert!(d >= nominal / 2 && d <= nominal, "{d:?} vs {nominal:?}");
            }
        }
    }

    #[test]
    fn parses_retry_after_forms() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after-ms", HeaderValue::from_static("1500"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(1500)));
        let mut h = HeaderMap::new();
        let future = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
        h.insert("retry-after", HeaderValue::from_str(&future).unwrap());
        let d = retry_after(&h).unwrap();
        assert!(
            d > Duration::from_secs(27) && d <= Duration::from_secs(30),
            "{d:?}"
        );
        h.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
        let mut h = HeaderMap::new();
        h.insert("retry-after-ms", HeaderValue::from_static("1e30"));
        assert_eq!(retry_after(&h), Some(Duration::MAX));
        h.insert("retry-after-ms", HeaderValue::from_static("-5"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn retryable_statuses() {
        let yes: Vec<u16> = (100..600).filter(|s| is_retryable_status(*s)).collect();
        assert_eq!(yes, vec![408, 429, 500, 502, 503, 504]);
    }
}
