//! The Redis breaker store against a real `redis-server` that this test starts
//! itself, on a free loopback port, with no persistence; it is killed when the
//! test ends. Tests never use a Redis someone else started.
//!
//! `redis-server` must be installed (`scripts/redis-for-tests` installs it);
//! without it these tests FAIL, they do not skip.
//!
//! Covered: two store handles (two connections, as two processes would have)
//! share one breaker; the half-open trial goes to exactly one caller; 50
//! concurrent failures lose no update and cross the threshold exactly once;
//! keys expire (TTL), but never while the breaker is open; the guard over
//! Redis; a killed Redis fails closed with `dependency_unavailable` and no
//! call made.

use std::net::{Ipv4Addr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use authflow::RetryPolicy;
use authflow::breaker::{
    Breaker, BreakerConfig, BreakerError, BreakerStore, Clock, ManualClock, Phase, RedisStore,
};
use authflow_tests::{RecordingSleep, RedisServer};

const OPEN_FOR: Duration = Duration::from_secs(30);

fn config() -> BreakerConfig {
    BreakerConfig::default()
        .failure_threshold(3)
        .open_for(OPEN_FOR)
        .trial_lease(Duration::from_secs(10))
}

async fn store(server: &RedisServer, clock: &ManualClock, config: BreakerConfig) -> RedisStore {
    RedisStore::connect(&server.url())
        .await
        .expect("connect to the test redis-server")
        .with_config(config)
        .with_clock(clock.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_handles_share_one_breaker() {
    let server = RedisServer::start();
    let clock = ManualClock::new();
    let a = store(&server, &clock, config()).await;
    let b = store(&server, &clock, config()).await;

    for _ in 0..2 {
        a.record_failure("target.example", OPEN_FOR).await.unwrap();
    }
    assert!(b.should_allow("target.example").await.unwrap(), "2 < 3");
    b.record_failure("target.example", OPEN_FOR).await.unwrap();
    assert!(
        !a.should_allow("target.example").await.unwrap(),
        "a sees b's trip"
    );
    let s = a.snapshot("target.example").await.unwrap().unwrap();
    assert_eq!((s.consecutive_failures, s.trips), (3, 1));
    assert_eq!(s.phase(clock.now()), Phase::Open);

    // Another prefix is another namespace.
    let other = store(&server, &clock, config())
        .await
        .with_prefix("staging:breaker:");
    assert!(other.should_allow("target.example").await.unwrap());

    // Stays open until open_for on the injected clock.
    clock.advance(OPEN_FOR - Duration::from_millis(1));
    assert!(!b.should_allow("target.example").await.unwrap());
    clock.advance(Duration::from_millis(1));
    assert!(
        b.should_allow("target.example").await.unwrap(),
        "b takes the trial"
    );
    assert!(
        !a.should_allow("target.example").await.unwrap(),
        "one trial only"
    );

    // The trial fails: re-opened at once, by one failure.
    b.record_failure("target.example", OPEN_FOR).await.unwrap();
    assert!(!a.should_allow("target.example").await.unwrap());
    assert_eq!(
        a.snapshot("target.example").await.unwrap().unwrap().trips,
        2
    );

    // The next trial succeeds: closed for both, state deleted.
    clock.advance(OPEN_FOR);
    assert!(a.should_allow("target.example").await.unwrap());
    a.record_success("target.example").await.unwrap();
    assert!(b.should_allow("target.example").await.unwrap());
    assert!(b.should_allow("target.example").await.unwrap());
    assert_eq!(b.snapshot("target.example").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_failures_cross_the_threshold_exactly_once() {
    let server = RedisServer::start();
    let clock = ManualClock::new();
    let cfg = config().failure_threshold(5);
    let a = store(&server, &clock, cfg).await;
    let b = store(&server, &clock, cfg).await;

    let mut tasks = Vec::new();
    for i in 0..50 {
        let s = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            s.record_failure("busy.example", OPEN_FOR).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let s = a.snapshot("busy.example").await.unwrap().unwrap();
    assert_eq!(s.consecutive_failures, 50, "no lost update");
    assert_eq!(s.trips, 1, "opened exactly once");

    clock.advance(OPEN_FOR);
    let mut tasks = Vec::new();
    for i in 0..30 {
        let s = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(
            async move { s.should_allow("busy.example").await },
        ));
    }
    let mut allowed = 0;
    for t in tasks {
        allowed += u32::from(t.await.unwrap().unwrap());
    }
    assert_eq!(allowed, 1, "exactly one half-open trial");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_keys_expire_but_open_breakers_do_not() {
    let server = RedisServer::start();
    // Real time here: Redis TTLs run on the server's clock.
    let clock = ManualClock::new();
    let cfg = config().state_ttl(Duration::from_millis(300));
    let s = store(&server, &clock, cfg).await;

    s.record_failure("idle.example", OPEN_FOR).await.unwrap();
    assert!(s.snapshot("idle.example").await.unwrap().is_some());
    let deadline = Instant::now() + Duration::from_secs(5);
    while s.snapshot("idle.example").await.unwrap().is_some() {
        assert!(Instant::now() < deadline, "the idle key never expired");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Open for 30 s: its TTL covers the open window plus state_ttl.
    for _ in 0..3 {
        s.record_failure("open.example", OPEN_FOR).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    let state = s.snapshot("open.example").await.unwrap();
    assert_eq!(state.map(|st| st.trips), Some(1), "kept while open");
    assert!(!s.should_allow("open.example").await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guarded_calls_over_redis() {
    let server = RedisServer::start();
    let clock = ManualClock::new();
    let store: Arc<dyn BreakerStore> = Arc::new(store(&server, &clock, config()).await);
    let sleep = Arc::new(RecordingSleep::default());
    let breaker = Breaker::with_config(store, config())
        .retry_policy(RetryPolicy::none())
        .sleep(sleep);
    let calls = AtomicU32::new(0);
    let dead_target = || async {
        calls.fetch_add(1, Ordering::SeqCst);
        Err::<(), _>(std::io::Error::from(std::io::ErrorKind::ConnectionRefused))
    };
    for _ in 0..3 {
        let err = breaker.call("dead.example", dead_target).await.unwrap_err();
        assert!(matches!(err, BreakerError::Transient(_)), "{err:?}");
        assert_eq!((err.code(), err.http_status()), ("dependency_timeout", 503));
    }
    let err = breaker.call("dead.example", dead_target).await.unwrap_err();
    assert!(matches!(err, BreakerError::Open), "{err:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 3, "not called while open");

    clock.advance(OPEN_FOR);
    let ok = breaker
        .call("dead.example", || async { Ok::<_, std::io::Error>("up") })
        .await
        .unwrap();
    assert_eq!(ok, "up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_redis_fails_closed_without_calling() {
    let mut server = RedisServer::start();
    let clock = ManualClock::new();
    let store = store(&server, &clock, config()).await;
    assert!(store.should_allow("t.example").await.unwrap());
    server.kill();

    let sleep = Arc::new(RecordingSleep::default());
    let breaker = Breaker::with_config(Arc::new(store), config())
        .retry_policy(RetryPolicy::default().max_retries(2))
        .sleep(sleep.clone());
    let calls = AtomicU32::new(0);
    let started = Instant::now();
    let err = breaker
        .call("t.example", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok::<_, std::io::Error>(())
        })
        .await
        .unwrap_err();
    assert!(matches!(err, BreakerError::StoreUnavailable(_)), "{err:?}");
    assert_eq!(
        (err.code(), err.http_status(), err.is_retryable()),
        ("dependency_unavailable", 503, true)
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "the external call is never made"
    );
    assert_eq!(sleep.delays().len(), 2, "bounded retries");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "answered promptly, took {:?}",
        started.elapsed()
    );
    let body = err.to_envelope("req_7");
    assert_eq!(body["error"]["code"], "dependency_unavailable");
    assert_eq!(body["requestId"], "req_7");
}

#[tokio::test]
async fn unreachable_redis_is_an_error_at_connect() {
    // Nothing listens on a port we just released.
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let r = RedisStore::connect(&format!("redis://127.0.0.1:{port}")).await;
    let err = r.expect_err("nothing listens there");
    assert!(err.message().starts_with("redis"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    // The URL (which may hold a password) is never in the message.
    let r = RedisStore::connect("redis://:hunter2@127.0.0.1:1").await;
    assert!(!r.expect_err("refused").to_string().contains("hunter2"));
}
