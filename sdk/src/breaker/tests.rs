//! Unit tests: the same conformance suite over every Rust store, the guard's
//! contract with a store that fails on demand, and SQLite across handles.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::*;
use crate::transport::SleepFuture;

const OPEN_FOR: Duration = Duration::from_secs(30);
const LEASE: Duration = Duration::from_secs(10);
const TTL: Duration = Duration::from_secs(3600);

fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_750_000_000)
}

fn config() -> BreakerConfig {
    BreakerConfig::default()
        .failure_threshold(3)
        .open_for(OPEN_FOR)
        .trial_lease(LEASE)
        .state_ttl(TTL)
}

/// Reads a store's state, whatever the store.
trait Snap: BreakerStore {
    fn snap(&self, key: &str) -> impl Future<Output = Option<BreakerState>> + Send;
}

impl Snap for MemoryStore {
    async fn snap(&self, key: &str) -> Option<BreakerState> {
        self.snapshot(key).unwrap()
    }
}

impl Snap for SqliteStore {
    async fn snap(&self, key: &str) -> Option<BreakerState> {
        self.snapshot(key).await.unwrap()
    }
}

/// A directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "authflow-breaker-{}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst),
            to_millis(SystemTime::now())
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    fn db(&self) -> PathBuf {
        self.0.join("breaker.db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ---------------------------------------------------------------- conformance

async fn opens_after_threshold(store: &impl Snap) {
    for _ in 0..2 {
        assert!(store.should_allow("k").await.unwrap());
        store.record_failure("k", OPEN_FOR).await.unwrap();
    }
    assert!(store.should_allow("k").await.unwrap(), "2 < threshold 3");
    store.record_failure("k", OPEN_FOR).await.unwrap();
    assert!(!store.should_allow("k").await.unwrap(), "open at 3");
    assert!(!store.should_allow("k").await.unwrap());
    let s = store.snap("k").await.unwrap();
    assert_eq!(s.consecutive_failures, 3);
    assert_eq!(s.opened_until, Some(t0() + OPEN_FOR));
    assert_eq!(s.trips, 1);
    // Other keys are independent.
    assert!(store.should_allow("other").await.unwrap());
}

async fn stays_open_until_open_for(store: &impl Snap, clock: &ManualClock) {
    for _ in 0..3 {
        store.record_failure("k", OPEN_FOR).await.unwrap();
    }
    clock.advance(OPEN_FOR - Duration::from_millis(1));
    assert!(
        !store.should_allow("k").await.unwrap(),
        "1 ms before the end"
    );
    // A late failure while open changes nothing but the count.
    store.record_failure("k", OPEN_FOR).await.unwrap();
    let s = store.snap("k").await.unwrap();
    assert_eq!((s.consecutive_failures, s.trips), (4, 1));
    assert_eq!(s.opened_until, Some(t0() + OPEN_FOR));
    clock.advance(Duration::from_millis(1));
    assert!(
        store.should_allow("k").await.unwrap(),
        "half-open at open_for"
    );
}

async fn half_open_lets_one_trial(store: &impl Snap, clock: &ManualClock) {
    for _ in 0..3 {
        store.record_failure("k", OPEN_FOR).await.unwrap();
    }
    clock.advance(OPEN_FOR);
    assert!(store.should_allow("k").await.unwrap(), "the trial");
    for _ in 0..5 {
        assert!(!store.should_allow("k").await.unwrap(), "only one trial");
    }
    let s = store.snap("k").await.unwrap();
    assert_eq!(s.trial_until, Some(t0() + OPEN_FOR + LEASE));
    assert_eq!(s.phase(clock.now()), Phase::HalfOpen);
    // The trial never reported back: after its lease, another trial goes.
    clock.advance(LEASE - Duration::from_millis(1));
    assert!(!store.should_allow("k").await.unwrap());
    clock.advance(Duration::from_millis(1));
    assert!(
        store.should_allow("k").await.unwrap(),
        "a new trial after the lease"
    );
    assert!(!store.should_allow("k").await.unwrap());
}

async fn trial_success_closes(store: &impl Snap, clock: &ManualClock) {
    for _ in 0..3 {
        store.record_failure("k", OPEN_FOR).await.unwrap();
    }
    clock.advance(OPEN_FOR);
    assert!(store.should_allow("k").await.unwrap());
    store.record_success("k").await.unwrap();
    assert_eq!(store.snap("k").await, None, "closed, count reset");
    for _ in 0..5 {
        assert!(store.should_allow("k").await.unwrap());
    }
    // Closed again: it takes the full threshold to open.
    for _ in 0..2 {
        store.record_failure("k", OPEN_FOR).await.unwrap();
    }
    assert!(store.should_allow("k").await.unwrap());
}

async fn trial_failure_reopens(store: &impl Snap, clock: &ManualClock) {
    for _ in 0..3 {
        store.record_failure("k", OPEN_FOR).await.unwrap();
    }
    clock.advance(OPEN_FOR);
    assert!(store.should_allow("k").await.unwrap());
    let reopen_at = clock.now();
    // One failure re-opens it at once, for the open_for given now.
    store
        .record_failure("k", Duration::from_secs(60))
        .await
        .unwrap();
    assert!(!store.should_allow("k").await.unwrap());
    let s = store.snap("k").await.unwrap();
    assert_eq!(s.opened_until, Some(reopen_at + Duration::from_secs(60)));
    assert_eq!((s.trips, s.trial_until), (2, None));
    clock.advance(Duration::from_secs(59));
    assert!(!store.should_allow("k").await.unwrap());
    clock.advance(Duration::from_secs(1));
    assert!(store.should_allow("k").await.unwrap());
}

async fn success_resets_the_count(store: &impl Snap) {
    for _ in 0..2 {
        store.record_failure("k", OPEN_FOR).await.unwrap();
    }
    store.record_success("k").await.unwrap();
    for _ in 0..2 {
        store.record_failure("k", OPEN_FOR).await.unwrap();
    }
    assert!(
        store.should_allow("k").await.unwrap(),
        "2 + 2 is not 3 in a row"
    );
    assert_eq!(store.snap("k").await.unwrap().consecutive_failures, 2);
}

async fn idle_state_expires(store: &impl Snap, clock: &ManualClock) {
    for _ in 0..2 {
        store.record_failure("k", OPEN_FOR).await.unwrap();
    }
    clock.advance(TTL);
    assert_eq!(store.snap("k").await, None, "forgotten after state_ttl");
    store.record_failure("k", OPEN_FOR).await.unwrap();
    assert!(
        store.should_allow("k").await.unwrap(),
        "the count restarted"
    );
    // An open breaker is kept for its open window plus the TTL.
    for _ in 0..2 {
        store.record_failure("k", OPEN_FOR).await.unwrap();
    }
    clock.advance(TTL);
    let s = store.snap("k").await.expect("still within open_for + ttl");
    assert_eq!(s.trips, 1);
    clock.advance(OPEN_FOR);
    assert_eq!(store.snap("k").await, None);
}

macro_rules! conformance {
    ($modname:ident, $make:expr) => {
        mod $modname {
            use super::*;

            #[allow(clippy::redundant_closure_call)]
            fn store(clock: &ManualClock) -> (impl Snap, Option<TempDir>) {
                ($make)(clock.clone())
            }

            #[tokio::test]
            async fn opens_after_threshold() {
                let clock = ManualClock::at(t0());
                let (s, _dir) = store(&clock);
                super::opens_after_threshold(&s).await;
            }
            #[tokio::test]
            async fn stays_open_until_open_for() {
                let clock = ManualClock::at(t0());
                let (s, _dir) = store(&clock);
                super::stays_open_until_open_for(&s, &clock).await;
            }
            #[tokio::test]
            async fn half_open_lets_one_trial() {
                let clock = ManualClock::at(t0());
                let (s, _dir) = store(&clock);
                super::half_open_lets_one_trial(&s, &clock).await;
            }
            #[tokio::test]
            async fn trial_success_closes() {
                let clock = ManualClock::at(t0());
                let (s, _dir) = store(&clock);
                super::trial_success_closes(&s, &clock).await;
            }
            #[tokio::test]
            async fn trial_failure_reopens() {
                let clock = ManualClock::at(t0());
                let (s, _dir) = store(&clock);
                super::trial_failure_reopens(&s, &clock).await;
            }
            #[tokio::test]
            async fn success_resets_the_count() {
                let clock = ManualClock::at(t0());
                let (s, _dir) = store(&clock);
                super::success_resets_the_count(&s).await;
            }
            #[tokio::test]
            async fn idle_state_expires() {
                let clock = ManualClock::at(t0());
                let (s, _dir) = store(&clock);
                super::idle_state_expires(&s, &clock).await;
            }
        }
    };
}

conformance!(memory, |clock: ManualClock| {
    (
        MemoryStore::with_config(config()).with_clock(clock),
        None::<TempDir>,
    )
});

conformance!(sqlite, |clock: ManualClock| {
    let dir = TempDir::new();
    let store = SqliteStore::open(dir.db())
        .unwrap()
        .with_config(config())
        .with_clock(clock);
    (store, Some(dir))
});

// ---------------------------------------------------------------- the guard

/// Records the delays instead of waiting.
#[derive(Debug, Default)]
struct RecordSleep(Mutex<Vec<Duration>>);

impl Sleep for RecordSleep {
    fn sleep(&self, d: Duration) -> SleepFuture {
        self.0.lock().unwrap().push(d);
        Box::pin(async {})
    }
}

/// A memory store whose operations fail on demand, counting calls.
#[derive(Debug, Default)]
struct FlakyStore {
    inner: MemoryStore,
    fail_allow: AtomicBool,
    fail_success: AtomicBool,
    fail_failure: AtomicBool,
    allows: AtomicU32,
    successes: AtomicU32,
    failures: AtomicU32,
}

impl FlakyStore {
    fn new(clock: &ManualClock) -> Self {
        FlakyStore {
            inner: MemoryStore::with_config(config()).with_clock(clock.clone()),
            ..Self::default()
        }
    }
    fn down() -> StoreError {
        StoreError::new("store down")
    }
}

impl BreakerStore for FlakyStore {
    fn should_allow<'a>(&'a self, key: &'a str) -> StoreFuture<'a, bool> {
        self.allows.fetch_add(1, Ordering::SeqCst);
        if self.fail_allow.load(Ordering::SeqCst) {
            return Box::pin(async { Err(Self::down()) });
        }
        self.inner.should_allow(key)
    }
    fn record_success<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        self.successes.fetch_add(1, Ordering::SeqCst);
        if self.fail_success.load(Ordering::SeqCst) {
            return Box::pin(async { Err(Self::down()) });
        }
        self.inner.record_success(key)
    }
    fn record_failure<'a>(&'a self, key: &'a str, open_for: Duration) -> StoreFuture<'a, ()> {
        self.failures.fetch_add(1, Ordering::SeqCst);
        if self.fail_failure.load(Ordering::SeqCst) {
            return Box::pin(async { Err(Self::down()) });
        }
        self.inner.record_failure(key, open_for)
    }
}

struct Fixture {
    clock: ManualClock,
    store: Arc<FlakyStore>,
    sleep: Arc<RecordSleep>,
    breaker: Breaker,
    calls: Arc<AtomicU32>,
}

fn fixture(max_retries: u32) -> Fixture {
    let clock = ManualClock::at(t0());
    let store = Arc::new(FlakyStore::new(&clock));
    let sleep = Arc::new(RecordSleep::default());
    let breaker = Breaker::with_config(store.clone(), config())
        .retry_policy(
            RetryPolicy::default()
                .max_retries(max_retries)
                .jitter(false),
        )
        .sleep(sleep.clone());
    Fixture {
        clock,
        store,
        sleep,
        breaker,
        calls: Arc::default(),
    }
}

#[derive(Debug, PartialEq)]
enum CallError {
    Timeout,
    BadRequest,
}

impl Fixture {
    /// A guarded call that counts its runs and returns `outcome`; only
    /// timeouts count against the dependency.
    async fn call(&self, outcome: Result<u32, CallError>) -> Result<u32, BreakerError<CallError>> {
        let calls = self.calls.clone();
        let outcome = Arc::new(Mutex::new(Some(outcome)));
        self.breaker
            .call_classified(
                "target.example",
                |e: &CallError| *e == CallError::Timeout,
                move || {
                    calls.fetch_add(1, Ordering::SeqCst);
                    let o = outcome.lock().unwrap().take();
                    async move {
                        match o {
                            Some(o) => o,
                            // A retry repeats the last failure.
                            None => Err(CallError::Timeout),
                        }
                    }
                },
            )
            .await
    }
    fn calls(&self) -> u32 {
        self.calls.load(Ordering::SeqCst)
    }
    fn slept(&self) -> Vec<Duration> {
        self.sleep.0.lock().unwrap().clone()
    }
}

#[tokio::test]
async fn success_passes_through_and_is_recorded() {
    let f = fixture(2);
    assert_eq!(f.call(Ok(7)).await.unwrap(), 7);
    assert_eq!(f.calls(), 1);
    assert_eq!(f.store.successes.load(Ordering::SeqCst), 1);
    assert!(f.slept().is_empty());
}

#[tokio::test]
async fn unreadable_store_fails_closed_without_calling() {
    let f = fixture(2);
    f.store.fail_allow.store(true, Ordering::SeqCst);
    let err = f.call(Ok(7)).await.unwrap_err();
    assert!(matches!(err, BreakerError::StoreUnavailable(_)), "{err:?}");
    assert_eq!(
        (err.code(), err.http_status(), err.is_retryable()),
        ("dependency_unavailable", 503, true)
    );
    assert_eq!(f.calls(), 0, "the external call is never made");
    assert_eq!(
        f.store.allows.load(Ordering::SeqCst),
        3,
        "bounded: 1 + 2 retries"
    );
    assert_eq!(
        f.slept(),
        vec![Duration::from_millis(500), Duration::from_millis(1000)]
    );
    let body = err.to_envelope("req_1");
    assert_eq!(body["error"]["code"], "dependency_unavailable");
    assert_eq!(
        body["error"]["message"],
        "Dependency breaker store unavailable."
    );
    assert_eq!(body["requestId"], "req_1");
    assert_eq!(body["retryable"], true);
}

#[tokio::test]
async fn store_that_recovers_during_retries_lets_the_call_go() {
    let f = Arc::new(fixture(2));
    f.store.fail_allow.store(true, Ordering::SeqCst);
    // The sleep between attempts is where the store comes back.
    struct Heal(Arc<FlakyStore>);
    impl std::fmt::Debug for Heal {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("Heal")
        }
    }
    impl Sleep for Heal {
        fn sleep(&self, _: Duration) -> SleepFuture {
            self.0.fail_allow.store(false, Ordering::SeqCst);
            Box::pin(async {})
        }
    }
    let breaker = f.breaker.clone().sleep(Arc::new(Heal(f.store.clone())));
    let r = breaker
        .call("target.example", || async { Ok::<_, CallError>(1) })
        .await;
    assert_eq!(r.unwrap(), 1);
}

#[tokio::test]
async fn unwritable_store_after_success_is_dependency_unavailable() {
    let f = fixture(2);
    f.store.fail_success.store(true, Ordering::SeqCst);
    let err = f.call(Ok(7)).await.unwrap_err();
    assert!(matches!(err, BreakerError::StoreUnavailable(_)), "{err:?}");
    assert_eq!(f.calls(), 1, "made once, never repeated");
}

#[tokio::test]
async fn unwritable_store_after_failure_is_dependency_unavailable_without_retry() {
    let f = fixture(2);
    f.store.fail_failure.store(true, Ordering::SeqCst);
    let err = f.call(Err(CallError::Timeout)).await.unwrap_err();
    assert!(matches!(err, BreakerError::StoreUnavailable(_)), "{err:?}");
    assert_eq!(f.calls(), 1);
    assert!(f.slept().is_empty());
}

#[tokio::test]
async fn transient_failures_are_recorded_retried_and_bounded() {
    let f = fixture(1);
    let err = f.call(Err(CallError::Timeout)).await.unwrap_err();
    assert!(
        matches!(err, BreakerError::Transient(CallError::Timeout)),
        "{err:?}"
    );
    assert_eq!(
        (err.code(), err.http_status(), err.is_retryable()),
        ("dependency_timeout", 503, true)
    );
    assert_eq!(err.message(), "Dependency call timed out.");
    assert_eq!(f.calls(), 2, "1 + 1 retry");
    assert_eq!(f.store.failures.load(Ordering::SeqCst), 2);
    assert_eq!(f.slept(), vec![Duration::from_millis(500)]);
}

#[tokio::test]
async fn other_failures_are_502_not_retried_not_recorded() {
    let f = fixture(2);
    let err = f.call(Err(CallError::BadRequest)).await.unwrap_err();
    assert!(
        matches!(err, BreakerError::Failed(CallError::BadRequest)),
        "{err:?}"
    );
    assert_eq!(
        (err.code(), err.http_status(), err.is_retryable()),
        ("dependency_failed", 502, false)
    );
    assert_eq!(err.to_envelope("r")["retryable"], false);
    assert_eq!(f.calls(), 1);
    assert_eq!(f.store.failures.load(Ordering::SeqCst), 0);
    assert_eq!(f.store.successes.load(Ordering::SeqCst), 0);
    assert_eq!(err.into_call_error(), Some(CallError::BadRequest));
}

#[tokio::test]
async fn open_breaker_refuses_without_calling_then_closes_after_open_for() {
    let f = fixture(0);
    for _ in 0..3 {
        let err = f.call(Err(CallError::Timeout)).await.unwrap_err();
        assert_eq!(err.code(), "dependency_timeout");
    }
    assert_eq!(f.calls(), 3);
    let err = f.call(Ok(1)).await.unwrap_err();
    assert!(matches!(err, BreakerError::Open), "{err:?}");
    assert_eq!(
        (err.code(), err.http_status(), err.is_retryable()),
        ("dependency_timeout", 503, true)
    );
    assert_eq!(err.message(), "Dependency circuit is open. Retry shortly.");
    assert_eq!(f.calls(), 3, "not called while open");

    f.clock.advance(OPEN_FOR);
    assert_eq!(
        f.call(Ok(2)).await.unwrap(),
        2,
        "the half-open trial succeeds"
    );
    assert_eq!(f.call(Ok(3)).await.unwrap(), 3, "closed again");
    assert_eq!(f.store.inner.snapshot("target.example").unwrap(), None);
}

#[tokio::test]
async fn retries_stop_when_the_breaker_opens() {
    let f = fixture(10);
    let err = f.call(Err(CallError::Timeout)).await.unwrap_err();
    assert!(matches!(err, BreakerError::Open), "{err:?}");
    assert_eq!(f.calls(), 3, "threshold 3, then refused");
    assert_eq!(f.slept().len(), 3);
}

#[tokio::test]
async fn plain_call_counts_every_error() {
    let f = fixture(0);
    let r: Result<(), _> = f
        .breaker
        .call("target.example", || async { Err(CallError::BadRequest) })
        .await;
    assert!(matches!(
        r,
        Err(BreakerError::Transient(CallError::BadRequest))
    ));
    assert_eq!(f.store.failures.load(Ordering::SeqCst), 1);
}

#[test]
fn sdk_errors_are_classified() {
    use crate::error::{Error, ErrorCode, TransportKind};
    let api = |status: u16| Error::Api {
        route: "POST /t",
        status,
        code: ErrorCode::from_status(status),
        message: String::new(),
        request_id: None,
        retryable: false,
        retry_after: None,
    };
    assert!(is_dependency_failure(&api(503)));
    assert!(is_dependency_failure(&api(500)));
    assert!(!is_dependency_failure(&api(400)));
    assert!(!is_dependency_failure(&api(429)));
    assert!(is_dependency_failure(&Error::Transport {
        route: "POST /t",
        kind: TransportKind::Connect,
        message: String::new(),
    }));
    assert!(!is_dependency_failure(&Error::Config("x".into())));
}

#[test]
fn config_clamps_threshold_and_cell_never_opens_at_zero() {
    assert_eq!(
        BreakerConfig::default()
            .failure_threshold(0)
            .get_failure_threshold(),
        1
    );
    let mut cell = Cell::default();
    cell.fail(1_000, 0, 1);
    assert!(
        cell.opened_until > 0,
        "an open_for of 0 still marks it open"
    );
    assert!(cell.allow(1_001, 10).0, "and half-open at once");
}

// ---------------------------------------------------------------- SQLite across handles

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_sqlite_handles_share_state() {
    let dir = TempDir::new();
    let clock = ManualClock::at(t0());
    let a = SqliteStore::open(dir.db())
        .unwrap()
        .with_config(config())
        .with_clock(clock.clone());
    let b = SqliteStore::open(dir.db())
        .unwrap()
        .with_config(config())
        .with_clock(clock.clone());

    for _ in 0..3 {
        a.record_failure("h", OPEN_FOR).await.unwrap();
    }
    assert!(!b.should_allow("h").await.unwrap(), "b sees a's trip");
    clock.advance(OPEN_FOR);
    assert!(b.should_allow("h").await.unwrap(), "b takes the trial");
    assert!(
        !a.should_allow("h").await.unwrap(),
        "a sees the trial taken"
    );
    b.record_success("h").await.unwrap();
    assert!(a.should_allow("h").await.unwrap(), "a sees it closed");
    assert_eq!(a.snapshot("h").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_concurrent_failures_trip_exactly_once() {
    let dir = TempDir::new();
    let clock = ManualClock::at(t0());
    let open = || {
        SqliteStore::open(dir.db())
            .unwrap()
            .with_config(config().failure_threshold(5))
            .with_clock(clock.clone())
    };
    let (a, b) = (open(), open());
    let mut tasks = Vec::new();
    for i in 0..50 {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            store.record_failure("h", OPEN_FOR).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let s = a.snapshot("h").await.unwrap().unwrap();
    assert_eq!(s.consecutive_failures, 50, "no lost update");
    assert_eq!(s.trips, 1, "the threshold was crossed exactly once");

    // Exactly one of many concurrent callers gets the half-open trial.
    clock.advance(OPEN_FOR);
    let mut tasks = Vec::new();
    for i in 0..20 {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move { store.should_allow("h").await }));
    }
    let mut allowed = 0;
    for t in tasks {
        allowed += u32::from(t.await.unwrap().unwrap());
    }
    assert_eq!(allowed, 1);
}

#[tokio::test]
async fn sqlite_file_gone_is_store_unavailable_and_no_call_is_made() {
    let dir = TempDir::new();
    let store = SqliteStore::open(dir.db()).unwrap();
    assert!(store.should_allow("h").await.unwrap());
    std::fs::remove_dir_all(&dir.0).unwrap();

    let err = store.should_allow("h").await.unwrap_err();
    assert!(err.message().starts_with("sqlite should_allow"), "{err}");
    assert!(!dir.0.exists(), "not silently re-created");

    let calls = AtomicU32::new(0);
    let breaker = Breaker::new(Arc::new(store)).retry_policy(RetryPolicy::none());
    let r = breaker
        .call("h", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok::<_, CallError>(())
        })
        .await;
    assert!(matches!(r, Err(BreakerError::StoreUnavailable(_))), "{r:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[cfg(unix)]
#[tokio::test]
async fn sqlite_read_only_file_fails_closed_even_for_root() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new();
    let store = SqliteStore::open(dir.db()).unwrap();
    assert!(store.should_allow("h").await.unwrap());
    std::fs::set_permissions(dir.db(), std::fs::Permissions::from_mode(0o444)).unwrap();

    let calls = AtomicU32::new(0);
    let breaker = Breaker::new(Arc::new(store.clone())).retry_policy(RetryPolicy::none());
    let r = breaker
        .call("h", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok::<_, CallError>(())
        })
        .await;
    match r {
        Err(BreakerError::StoreUnavailable(e)) => {
            assert!(e.message().contains("read-only"), "{e}")
        }
        other => panic!("expected StoreUnavailable, got {other:?}"),
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0, "no call made");

    std::fs::set_permissions(dir.db(), std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(store.should_allow("h").await.unwrap(), "writable again");
}

#[tokio::test]
async fn sqlite_replaced_file_is_followed() {
    let dir = TempDir::new();
    let clock = ManualClock::at(t0());
    let store = SqliteStore::open(dir.db())
        .unwrap()
        .with_config(config())
        .with_clock(clock.clone());
    for _ in 0..3 {
        store.record_failure("h", OPEN_FOR).await.unwrap();
    }
    assert!(!store.should_allow("h").await.unwrap());
    // Someone replaces the database with a fresh one: the handle must not
    // keep using the old, unlinked file.
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", dir.db().display()));
    }
    let _fresh = SqliteStore::open(dir.db()).unwrap();
    assert!(store.should_allow("h").await.unwrap());
    assert_eq!(store.snapshot("h").await.unwrap(), None);
}

#[tokio::test]
async fn sqlite_lock_held_past_busy_timeout_is_store_unavailable() {
    // Another process holds the write lock and never lets go: the store
    // answers with an error after its busy timeout instead of blocking.
    let dir = TempDir::new();
    let store = SqliteStore::open(dir.db())
        .unwrap()
        .with_busy_timeout(Duration::from_millis(50));
    let holder = rusqlite::Connection::open(dir.db()).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let err = store.should_allow("h").await.unwrap_err();
    assert!(err.message().contains("should_allow"), "{err}");
    holder.execute_batch("ROLLBACK").unwrap();
    assert!(store.should_allow("h").await.unwrap());
}

#[test]
fn debug_output_is_tidy() {
    let s = format!("{:?}", MemoryStore::new());
    assert!(s.starts_with("MemoryStore"), "{s}");
    let e = StoreError::with_source("x", std::io::Error::other("y"));
    assert!(std::error::Error::source(&e).is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_many_concurrent_callers_in_one_process() {
    let dir = TempDir::new();
    let store = SqliteStore::open(dir.db()).unwrap().with_config(config());
    let mut tasks = Vec::new();
    for i in 0..1000 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            let key = format!("host{}", i % 10);
            s.should_allow(&key).await?;
            s.record_failure(&key, OPEN_FOR).await?;
            s.record_success(&key).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
}

#[test]
fn guarded_call_futures_are_send() {
    fn assert_send<T: Send>(_: T) {}
    let breaker = Breaker::new(Arc::new(MemoryStore::new()));
    assert_send(breaker.call("k", || async { Ok::<_, CallError>(()) }));
    let sqlite: Arc<dyn BreakerStore> = Arc::new(SqliteStore::open(TempDir::new().db()).unwrap());
    assert_send(Breaker::new(sqlite).call_classified(
        "k",
        |_: &CallError| true,
        || async { Ok::<_, CallError>(()) },
    ));
}
