//! Shared helpers for the cross-crate tests.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use authflow::AuthFlowClient;
use authflow::transport::{RetryPolicy, Sleep, SleepFuture};
use secrecy::SecretString;

/// A well-formed organization key used by the contract tests.
pub const API_KEY: &str = "af_0123456789abcdef0123456789abcdef";

/// A sleeper that records each requested delay and returns at once.
#[derive(Debug, Default)]
pub struct RecordingSleep {
    delays: Mutex<Vec<Duration>>,
}

impl RecordingSleep {
    /// The delays requested so far.
    pub fn delays(&self) -> Vec<Duration> {
        self.delays.lock().map(|d| d.clone()).unwrap_or_default()
    }
}

impl Sleep for RecordingSleep {
    fn sleep(&self, duration: Duration) -> SleepFuture {
        if let Ok(mut d) = self.delays.lock() {
            d.push(duration);
        }
        Box::pin(async {})
    }
}

/// A client for `base_url` with [`API_KEY`], a recording sleeper and the
/// default retry policy with jitter off (so delays are exact).
pub fn client(base_url: &str) -> (AuthFlowClient, Arc<RecordingSleep>) {
    let sleep = Arc::new(RecordingSleep::default());
    let client = AuthFlowClient::builder()
        .api_key(SecretString::from(API_KEY))
        .base_url(base_url)
        .retry(RetryPolicy::default().jitter(false))
        .sleeper(sleep.clone())
        .build()
        .expect("valid test configuration");
    (client, sleep)
}

/// A secret from a literal.
pub fn secret(s: &str) -> SecretString {
    SecretString::from(s)
}
