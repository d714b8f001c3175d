//! Per-call overrides of the client defaults.

use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue};

use super::RetryPolicy;
use crate::error::{Error, Result};

/// Options that override the client's defaults for the calls made through
/// [`AuthFlowClient::with_options`](crate::AuthFlowClient::with_options) (or
/// passed to [`Transport::send`](super::Transport::send)).
///
/// ```
/// use std::time::Duration;
/// use authflow::transport::{RequestOptions, RetryPolicy};
///
/// let opts = RequestOptions::new()
///     .timeout(Duration::from_secs(2))
///     .retry(RetryPolicy::none())
///     .idempotency_key("order-42-create");
/// assert_eq!(opts.get_idempotency_key(), Some("order-42-create"));
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct RequestOptions {
    pub(crate) timeout: Option<Duration>,
    pub(crate) retry: Option<RetryPolicy>,
    pub(crate) idempotency_key: Option<String>,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
}

impl RequestOptions {
    /// No overrides.
    pub fn new() -> Self {
        Self::default()
    }

    /// Per-attempt timeout (overrides the client's total timeout).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Retry policy for these calls.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Use this idempotency key (sent as `Idempotency-Key`) instead of a
    /// generated one. Supplying one on a mutation that has none by default
    /// declares the server honours it, which makes the call retryable after
    /// it was sent.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// Add a header to every request (not for credentials: the client places those).
    pub fn header(mut self, name: &str, value: &str) -> Result<Self> {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| Error::invalid_input("header", "is not a valid header name"))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| Error::invalid_input("header", "value is not a valid header value"))?;
        self.headers.push((name, value));
        Ok(self)
    }

    /// The caller-supplied idempotency key, if any.
    pub fn get_idempotency_key(&self) -> Option<&str> {
        self.idempotency_key.as_deref()
    }

    /// Layer `self` over `base`: values set here win.
    pub(crate) fn merged_over(&self, base: &RequestOptions) -> RequestOptions {
        let mut headers = base.headers.clone();
        headers.extend(self.headers.iter().cloned());
        RequestOptions {
            timeout: self.timeout.or(base.timeout),
            retry: self.retry.or(base.retry),
            idempotency_key: self
                .idempotency_key
                .clone()
                .or_else(|| base.idempotency_key.clone()),
            headers,
        }
    }
}
