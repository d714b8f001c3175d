//! The Redis-backed rate limit: replicas sharing one Redis share one bucket
//! per client IP; when Redis is down the limiter fails open (requests go on).

#[path = "proxy_support.rs"]
mod proxy_support;

use std::time::Duration;

use authflow_mock::MockServer;
use authflow_proxy::{RateLimit, RedisRateLimiter};
use authflow_tests::RedisServer;
use proxy_support::{RunningProxy, assert_envelope, start_proxy};
use serde_json::Value;

const ROUTE: &str = "/auth/fooBar?identity=a%40b.co";

async fn replica(mock: &MockServer, limiter: RedisRateLimiter) -> RunningProxy {
    start_proxy(&mock.base_url(), mock.api_key(), |b| {
        b.rate_limit(RateLimit {
            per_second: 0.01,
            burst: 3,
        })
        .redis_rate_limit(limiter)
    })
    .await
}

#[tokio::test]
async fn replicas_share_one_bucket() {
    let redis = RedisServer::start();
    let mock = MockServer::start().await.expect("mock");
    let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
    let limiter = || async {
        RedisRateLimiter::connect(&redis.url())
            .await
            .expect("redis")
            .with_prefix(&prefix)
    };
    let a = replica(&mock, limiter().await).await;
    let b = replica(&mock, limiter().await).await;
    let http = reqwest::Client::new();
    let mut statuses = Vec::new();
    for proxy in [&a, &b, &a, &b, &a] {
        let res = http
            .get(format!("{}{ROUTE}", proxy.url))
            .send()
            .await
            .expect("send");
        let status = res.status().as_u16();
        statuses.push(status);
        if status == 429 {
            let retry: u64 = res.headers()["retry-after"]
                .to_str()
                .expect("ascii")
                .parse()
                .expect("seconds");
            assert!(retry >= 1);
            let v: Value = res.json().await.expect("json");
            assert_envelope(&v, "rate_limited");
        }
    }
    // One bucket of 3 for the client, whichever replica it reaches.
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    assert_eq!(mock.requests().len(), 3);
}

#[tokio::test]
async fn redis_down_fails_open() {
    let mut redis = RedisServer::start();
    let mock = MockServer::start().await.expect("mock");
    let limiter = RedisRateLimiter::connect(&redis.url())
        .await
        .expect("redis")
        .with_prefix(&format!("test:{}:", uuid::Uuid::new_v4().simple()))
        .with_op_timeout(Duration::from_millis(200));
    let proxy = replica(&mock, limiter.clone()).await;
    redis.kill();
    let http = reqwest::Client::new();
    for _ in 0..5 {
        let res = http
            .get(format!("{}{ROUTE}", proxy.url))
            .send()
            .await
            .expect("send");
        assert_eq!(res.status(), 200);
    }
    assert_eq!(mock.requests().len(), 5);
    assert_eq!(limiter.store_errors(), 5);
    let text = http
        .get(format!("{}/metrics", proxy.url))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        text.contains("authflow_proxy_ratelimit_store_errors_total 5"),
        "{text}"
    );
}
