//! The circuit breaker around every call the run engine makes to a target,
//! keyed by the target's `host:port`, exactly the seed's guarded-call
//! contract: open → `dependency_timeout` (the call is not made), store
//! unreadable or unwritable → `dependency_unavailable` (fail closed: the
//! call is not made), connection errors and timeouts count as failures
//! (the circuit opens for 30 s after the threshold), other failures are
//! `dependency_failed` and do not count.

use std::future::Future;

use crate::state::AppState;

/// How long a tripped circuit stays open.
pub const OPEN_FOR_S: u64 = 30;

/// A failed target call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// Connection refused or reset, or no answer in time (counts as a failure).
    Unreachable(String),
    /// Any other failure (does not count).
    Failed(String),
}

/// Why a guarded call did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardError {
    /// The circuit is open; the call was not made.
    Open,
    /// The breaker store could not be read or written; the call was not
    /// made (or its outcome could not be recorded).
    StoreUnavailable,
    /// The call failed.
    Call(CallError),
}

/// Whether a call to `key` may go ahead (`Err` when the store fails).
pub async fn allow(state: &AppState, key: &str) -> Result<bool, ()> {
    state.inner.breaker.should_allow(key).await.map_err(|_| ())
}

/// The mock clock as the breaker stores' clock (so `open_for` passes when
/// tests advance it).
pub fn clock_of(clock: &crate::Clock) -> impl authflow::breaker::Clock + 'static {
    let clock = clock.clone();
    move || {
        std::time::UNIX_EPOCH
            + std::time::Duration::from_millis(u64::try_from(clock.now_millis()).unwrap_or(0))
    }
}

/// A file in the temporary directory, removed (with SQLite's side files)
/// when the server's state is dropped.
#[derive(Debug)]
pub struct TempFile(pub std::path::PathBuf);

impl TempFile {
    /// A fresh unique path.
    pub fn new(stem: &str) -> TempFile {
        TempFile(std::env::temp_dir().join(format!(
            "{stem}-{}-{}.sqlite",
            std::process::id(),
            crate::state::random_hex(8)
        )))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut p = self.0.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Run `call` through the breaker of `key`.
pub async fn call<F>(state: &AppState, key: &str, call: F) -> Result<(), GuardError>
where
    F: Future<Output = Result<(), CallError>>,
{
    match allow(state, key).await {
        Ok(true) => {}
        Ok(false) => return Err(GuardError::Open),
        Err(()) => return Err(GuardError::StoreUnavailable),
    }
    call_allowed(state, key, call).await
}

/// Run `call`, which [`allow`] has just let through (asking twice would
/// spend a half-open breaker's single trial on the question), and record
/// its outcome.
pub async fn call_allowed<F>(state: &AppState, key: &str, call: F) -> Result<(), GuardError>
where
    F: Future<Output = Result<(), CallError>>,
{
    let store = &state.inner.breaker;
    match call.await {
        Ok(()) => {
            store
                .record_success(key)
                .await
                .map_err(|_| GuardError::StoreUnavailable)?;
            Ok(())
        }
        Err(CallError::Unreachable(m)) => {
            store
                .record_failure(key, std::time::Duration::from_secs(OPEN_FOR_S))
                .await
                .map_err(|_| GuardError::StoreUnavailable)?;
            Err(GuardError::Call(CallError::Unreachable(m)))
        }
        Err(e) => Err(GuardError::Call(e)),
    }
}
