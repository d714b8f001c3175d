//! The circuit breaker on the upstream (the SDK's `BreakerStore`): an
//! upstream that keeps timing out opens it, after which requests get 503
//! `dependency_timeout` and the upstream sees no connection; it closes after
//! `open_for` (a manual clock); a store that cannot be read fails closed
//! (503 `dependency_unavailable`, no upstream call); replicas sharing a
//! SQLite file or Redis share the breaker.

#[path = "proxy_support.rs"]
mod proxy_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use authflow::breaker::{
    BreakerConfig, BreakerStore, ManualClock, RedisStore, SqliteStore, StoreError, StoreFuture,
};
use authflow_proxy::BreakerBackend;
use authflow_tests::RedisServer;
use proxy_support::{RunningProxy, assert_envelope, assert_no_key, get, raw, start_proxy};
use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const KEY: &str = "af_0123456789abcdef0123456789abcdef";
const ROUTE: &str = "/auth/fooBar?identity=a%40b.co";

fn key() -> SecretString {
    SecretString::from(KEY)
}

/// An upstream that counts connections; while `healthy` is false it accepts,
/// reads and never answers (the proxy times out), else it answers 200 `{}`.
struct Upstream {
    url: String,
    connections: Arc<AtomicUsize>,
    healthy: Arc<AtomicBool>,
}

impl Upstream {
    async fn start() -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let connections = Arc::new(AtomicUsize::new(0));
        let healthy = Arc::new(AtomicBool::new(false));
        let (c, h) = (connections.clone(), healthy.clone());
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                c.fetch_add(1, Ordering::SeqCst);
                let h = h.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 16 * 1024];
                    let mut seen = Vec::new();
                    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                        match s.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => seen.extend_from_slice(&buf[..n]),
                        }
                    }
                    if h.load(Ordering::SeqCst) {
                        let _ = s
                            .write_all(
                                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                                  content-length: 2\r\nconnection: close\r\n\r\n{}",
                            )
                            .await;
                    } else {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                    }
                });
            }
        });
        Upstream {
            url: format!("http://{addr}"),
            connections,
            healthy,
        }
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

fn config() -> BreakerConfig {
    BreakerConfig::default()
        .failure_threshold(3)
        .open_for(Duration::from_secs(30))
}

/// A fresh SQLite file for one test (the default file is shared by the host).
fn db(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "authflow-proxy-breaker-{name}-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).expect("mkdir");
    dir.join("breaker.db")
}

/// A proxy that asks the breaker store on every request.
async fn proxy_with(upstream: &str, backend: BreakerBackend) -> RunningProxy {
    proxy_synced(upstream, backend, Duration::ZERO).await
}

/// A proxy trusting the store's last *closed* for `sync`.
async fn proxy_synced(upstream: &str, backend: BreakerBackend, sync: Duration) -> RunningProxy {
    start_proxy(upstream, key(), |b| {
        b.request_timeout(Duration::from_millis(300))
            .breaker(backend)
            .breaker_config(config())
            .breaker_sync_interval(sync)
    })
    .await
}

async fn metrics(proxy: &RunningProxy) -> String {
    reqwest::get(format!("{}/metrics", proxy.url))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text")
}

fn open_gauge(upstream: &str, v: u8) -> String {
    format!("authflow_proxy_breaker_open{{upstream=\"{upstream}\"}} {v}")
}

#[tokio::test]
async fn timeouts_open_the_breaker_and_it_closes_after_open_for() {
    let upstream = Upstream::start().await;
    let clock = ManualClock::new();
    let store = SqliteStore::open(db("opens"))
        .expect("sqlite")
        .with_config(config())
        .with_clock(clock.clone());
    let proxy = proxy_with(&upstream.url, BreakerBackend::Sqlite(store)).await;

    // Three timeouts: each reaches the upstream, each is 504.
    for i in 1..=3 {
        let res = raw(proxy.addr, &get(ROUTE)).await;
        assert_eq!(res.status, 504, "{}", res.text());
        assert_envelope(&res.json(), "dependency_timeout");
        assert_eq!(upstream.connections(), i);
    }
    assert!(
        metrics(&proxy)
            .await
            .contains(&open_gauge(&upstream.url, 1))
    );

    // Open: 503 dependency_timeout, and the upstream sees no connection.
    for _ in 0..5 {
        let res = raw(proxy.addr, &get(ROUTE)).await;
        assert_eq!(res.status, 503, "{}", res.text());
        let v = res.json();
        assert_envelope(&v, "dependency_timeout");
        assert_eq!(v["retryable"], true);
        assert_no_key(&res.bytes, &key());
        assert!(!res.text().contains(&upstream.url), "upstream URL leaked");
    }
    assert_eq!(upstream.connections(), 3);
    let text = metrics(&proxy).await;
    assert!(text.contains(&open_gauge(&upstream.url, 1)), "{text}");
    assert!(
        text.contains("authflow_proxy_breaker_refused_total"),
        "{text}"
    );

    // Still open just before open_for ends.
    clock.advance(Duration::from_secs(29));
    assert_eq!(raw(proxy.addr, &get(ROUTE)).await.status, 503);
    assert_eq!(upstream.connections(), 3);

    // Half-open after open_for: one trial goes through, succeeds, closes it.
    upstream.healthy.store(true, Ordering::SeqCst);
    clock.advance(Duration::from_secs(1));
    let res = raw(proxy.addr, &get(ROUTE)).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(upstream.connections(), 4);
    let res = raw(proxy.addr, &get(ROUTE)).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert!(
        metrics(&proxy)
            .await
            .contains(&open_gauge(&upstream.url, 0))
    );
}

#[tokio::test]
async fn a_failed_trial_reopens_the_breaker() {
    let upstream = Upstream::start().await;
    let clock = ManualClock::new();
    let store = SqliteStore::open(db("reopen"))
        .expect("sqlite")
        .with_config(config())
        .with_clock(clock.clone());
    let proxy = proxy_with(&upstream.url, BreakerBackend::Sqlite(store)).await;
    for _ in 0..3 {
        assert_eq!(raw(proxy.addr, &get(ROUTE)).await.status, 504);
    }
    clock.advance(Duration::from_secs(30));
    // The trial times out too: open again at once.
    assert_eq!(raw(proxy.addr, &get(ROUTE)).await.status, 504);
    assert_eq!(upstream.connections(), 4);
    let res = raw(proxy.addr, &get(ROUTE)).await;
    assert_eq!(res.status, 503);
    assert_envelope(&res.json(), "dependency_timeout");
    assert_eq!(upstream.connections(), 4);
}

#[tokio::test]
async fn connection_refused_counts_as_failure() {
    // A port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let upstream = format!("http://127.0.0.1:{port}");
    let proxy = proxy_with(&upstream, BreakerBackend::SqlitePath(db("refused"))).await;
    for _ in 0..3 {
        let res = raw(proxy.addr, &get(ROUTE)).await;
        assert_eq!(res.status, 503, "{}", res.text());
        assert_envelope(&res.json(), "dependency_unavailable");
    }
    let res = raw(proxy.addr, &get(ROUTE)).await;
    assert_eq!(res.status, 503, "{}", res.text());
    let v = res.json();
    assert_envelope(&v, "dependency_timeout");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("circuit")),
        "{v}"
    );
}

/// A store whose backend is down.
#[derive(Debug)]
struct Down;

impl BreakerStore for Down {
    fn should_allow<'a>(&'a self, _key: &'a str) -> StoreFuture<'a, bool> {
        Box::pin(async { Err(StoreError::new("backend down")) })
    }
    fn record_success<'a>(&'a self, _key: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async { Err(StoreError::new("backend down")) })
    }
    fn record_failure<'a>(&'a self, _key: &'a str, _open_for: Duration) -> StoreFuture<'a, ()> {
        Box::pin(async { Err(StoreError::new("backend down")) })
    }
}

#[tokio::test]
async fn an_unreadable_store_fails_closed() {
    let upstream = Upstream::start().await;
    upstream.healthy.store(true, Ordering::SeqCst);
    let proxy = proxy_with(&upstream.url, BreakerBackend::Custom(Arc::new(Down))).await;
    for _ in 0..3 {
        let res = raw(proxy.addr, &get(ROUTE)).await;
        assert_eq!(res.status, 503, "{}", res.text());
        let v = res.json();
        assert_envelope(&v, "dependency_unavailable");
        assert_eq!(v["retryable"], true);
        assert_no_key(&res.bytes, &key());
        assert!(!res.text().contains("backend down"), "store error leaked");
    }
    assert_eq!(upstream.connections(), 0);
    assert!(metrics(&proxy).await.contains(&format!(
        "authflow_proxy_breaker_store_errors_total{{upstream=\"{}\"}} 3",
        upstream.url
    )));
}

#[tokio::test]
async fn a_deleted_sqlite_file_fails_closed() {
    let upstream = Upstream::start().await;
    upstream.healthy.store(true, Ordering::SeqCst);
    let path = db("deleted");
    let proxy = proxy_with(&upstream.url, BreakerBackend::SqlitePath(path.clone())).await;
    assert_eq!(raw(proxy.addr, &get(ROUTE)).await.status, 200);
    assert_eq!(upstream.connections(), 1);
    std::fs::remove_file(&path).expect("rm");
    let res = raw(proxy.addr, &get(ROUTE)).await;
    assert_eq!(res.status, 503, "{}", res.text());
    assert_envelope(&res.json(), "dependency_unavailable");
    assert_eq!(upstream.connections(), 1);
}

#[tokio::test]
async fn failures_are_counted_within_the_sync_interval() {
    let upstream = Upstream::start().await;
    upstream.healthy.store(true, Ordering::SeqCst);
    let proxy = proxy_synced(
        &upstream.url,
        BreakerBackend::SqlitePath(db("synced")),
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(raw(proxy.addr, &get(ROUTE)).await.status, 200);
    assert_eq!(raw(proxy.addr, &get(ROUTE)).await.status, 200);
    upstream.healthy.store(false, Ordering::SeqCst);
    for _ in 0..3 {
        assert_eq!(raw(proxy.addr, &get(ROUTE)).await.status, 504);
    }
    assert_eq!(upstream.connections(), 5);
    let res = raw(proxy.addr, &get(ROUTE)).await;
    assert_eq!(res.status, 503, "{}", res.text());
    assert_envelope(&res.json(), "dependency_timeout");
    assert_eq!(upstream.connections(), 5);
}

#[tokio::test]
async fn an_unreadable_store_is_noticed_within_the_sync_interval() {
    let upstream = Upstream::start().await;
    upstream.healthy.store(true, Ordering::SeqCst);
    let path = db("sync-deleted");
    let proxy = proxy_synced(
        &upstream.url,
        BreakerBackend::SqlitePath(path.clone()),
        Duration::from_millis(300),
    )
    .await;
    assert_eq!(raw(proxy.addr, &get(ROUTE)).await.status, 200);
    std::fs::remove_file(&path).expect("rm");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let res = raw(proxy.addr, &get(ROUTE)).await;
    assert_eq!(res.status, 503, "{}", res.text());
    assert_envelope(&res.json(), "dependency_unavailable");
    assert_eq!(upstream.connections(), 1);
}

#[tokio::test]
async fn replicas_sharing_a_sqlite_file_share_the_breaker() {
    let upstream = Upstream::start().await;
    let path = db("shared");
    let a = proxy_with(&upstream.url, BreakerBackend::SqlitePath(path.clone())).await;
    let b = proxy_with(&upstream.url, BreakerBackend::SqlitePath(path)).await;
    for _ in 0..3 {
        assert_eq!(raw(a.addr, &get(ROUTE)).await.status, 504);
    }
    assert_eq!(upstream.connections(), 3);
    // B never saw a failure, but the shared breaker is open.
    let res = raw(b.addr, &get(ROUTE)).await;
    assert_eq!(res.status, 503, "{}", res.text());
    assert_envelope(&res.json(), "dependency_timeout");
    assert_eq!(upstream.connections(), 3);
}

#[tokio::test]
async fn replicas_sharing_redis_share_the_breaker_and_redis_down_fails_closed() {
    let mut redis = RedisServer::start();
    let upstream = Upstream::start().await;
    let clock = ManualClock::new();
    let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
    let store = || async {
        RedisStore::connect(&redis.url())
            .await
            .expect("redis")
            .with_config(config())
            .with_clock(clock.clone())
            .with_prefix(&prefix)
            .with_op_timeout(Duration::from_millis(500))
    };
    let a = proxy_with(&upstream.url, BreakerBackend::Redis(store().await)).await;
    let b = proxy_with(&upstream.url, BreakerBackend::Redis(store().await)).await;
    for _ in 0..3 {
        assert_eq!(raw(a.addr, &get(ROUTE)).await.status, 504);
    }
    let res = raw(b.addr, &get(ROUTE)).await;
    assert_eq!(res.status, 503, "{}", res.text());
    assert_envelope(&res.json(), "dependency_timeout");
    assert_eq!(upstream.connections(), 3);

    // After open_for, B's trial closes it for both.
    upstream.healthy.store(true, Ordering::SeqCst);
    clock.advance(Duration::from_secs(30));
    assert_eq!(raw(b.addr, &get(ROUTE)).await.status, 200);
    assert_eq!(raw(a.addr, &get(ROUTE)).await.status, 200);
    assert_eq!(upstream.connections(), 5);

    // Redis gone: fail closed, no upstream call.
    redis.kill();
    for proxy in [&a, &b] {
        let res = raw(proxy.addr, &get(ROUTE)).await;
        assert_eq!(res.status, 503, "{}", res.text());
        assert_envelope(&res.json(), "dependency_unavailable");
        assert_no_key(&res.bytes, &key());
    }
    assert_eq!(upstream.connections(), 5);
}
