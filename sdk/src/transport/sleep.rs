//! The injectable sleep used between retries, so tests run without waiting.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// A boxed, sendable future returning `()`.
pub type SleepFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Something that can wait for a duration.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use std::time::Duration;
/// use authflow::transport::{Sleep, SleepFuture};
///
/// /// Records the delays instead of waiting.
/// #[derive(Debug, Default)]
/// struct Recorder(Mutex<Vec<Duration>>);
///
/// impl Sleep for Recorder {
///     fn sleep(&self, d: Duration) -> SleepFuture {
///         self.0.lock().unwrap().push(d);
///         Box::pin(async {})
///     }
/// }
/// let _sleeper: Arc<dyn Sleep> = Arc::new(Recorder::default());
/// ```
pub trait Sleep: Send + Sync + fmt::Debug + 'static {
    /// A future that completes after `duration`.
    fn sleep(&self, duration: Duration) -> SleepFuture;
}

/// The default sleeper: `tokio::time::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleep;

impl Sleep for TokioSleep {
    fn sleep(&self, duration: Duration) -> SleepFuture {
        Box::pin(tokio::time::sleep(duration))
    }
}
