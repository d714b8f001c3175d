//! Reliability runs end to end, SDK (`AidenIdClient`) ↔ mock, against the
//! mock's own demo targets and a dead target: completed runs with a link or
//! an OTP, secret retrieval only with `secrets:read`, timeouts on the mock
//! clock, failures, the circuit breaker opening after the threshold (later
//! runs get 503 `dependency_timeout` and the target is not called) and
//! closing after `open_for`, and a failing breaker store failing closed.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use authflow::aidenid::WaitOptions;
use authflow::api::aidenid::CreateIdentityRequest;
use authflow::api::reliability::{CreateRunRequest, RunFlowType, RunStatus, Trigger};
use authflow::breaker::{BreakerStore, StoreError, StoreFuture};
use authflow::transport::RetryPolicy;
use authflow::{AidenIdClient, Error};
use authflow_mock::MockServer;
use authflow_mock::aidenid::AgentKeySeed;
use secrecy::ExposeSecret;

fn client(server: &MockServer, key: &AgentKeySeed) -> AidenIdClient {
    AidenIdClient::builder()
        .api_key(key.key.clone())
        .scope(&key.org_id, &key.project_id)
        .base_url(server.base_url())
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

/// Poll with real, short sleeps (the engine's trigger runs in a task).
fn fast_wait() -> WaitOptions {
    WaitOptions::default()
        .backoff(
            RetryPolicy::default()
                .base_delay(Duration::from_millis(5))
                .max_delay(Duration::from_millis(50)),
        )
        .max_wait(Duration::from_secs(10))
}

async fn identity(aid: &AidenIdClient) -> authflow::api::aidenid::Identity {
    aid.create_identity(&CreateIdentityRequest {
        label: "reliability".into(),
        ttl_hours: Some(1),
    })
    .await
    .unwrap()
    .into_inner()
}

fn run_req(target: String, identity_id: &str, flow: RunFlowType) -> CreateRunRequest {
    CreateRunRequest {
        target_url: target,
        identity_id: identity_id.to_owned(),
        timeout_seconds: Some(120),
        trigger: None,
        flow_type: Some(flow),
    }
}

fn api_code(e: &Error) -> (u16, String) {
    match e {
        Error::Api { status, code, .. } => (*status, code.as_str().to_owned()),
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn password_reset_run_completes_with_a_link_and_secret_needs_the_scope() {
    let server = MockServer::start().await.unwrap();
    let aid = client(&server, &server.agent_key());
    let ident = identity(&aid).await;
    let target = format!("{}/__mock/demo/forgot-password", server.base_url());
    let created = aid
        .create_run(&run_req(
            target.clone(),
            &ident.id,
            RunFlowType::PasswordReset,
        ))
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert!(created.id.starts_with("run_"));
    assert_eq!(created.flow_type, RunFlowType::PasswordReset);
    assert_eq!(created.target_url, target);
    let run = aid.wait_for_run(&created.id, fast_wait()).await.unwrap();
    assert_eq!(run.status, RunStatus::Completed, "{run:?}");
    let result = run.result.clone().unwrap();
    assert_eq!(result.extraction_type, "link");
    assert!(result.has_secret && result.secret_retrieval_available);
    assert!(result.redacted_value.starts_with("***"));
    assert_eq!(result.redacted_value.len(), 6);
    assert!(result.confidence > 0.5 && result.confidence <= 1.0);
    assert!(run.completed_at.is_some());

    // The default payload never carries the secret.
    let raw = serde_json::to_string(&run).unwrap();
    assert!(!raw.contains("/__mock/demo/reset?token="));

    // Secret retrieval: forbidden without secrets:read, the link with it.
    let err = aid.run_secret(&run.id).await.unwrap_err();
    assert_eq!(api_code(&err), (403, "forbidden".into()));
    let privileged = client(&server, &server.agent_key_with_secrets());
    let secret = privileged.run_secret(&run.id).await.unwrap().into_inner();
    assert_eq!(secret.extraction_type, "link");
    let value = secret.value.expose_secret();
    assert!(value.contains("/__mock/demo/reset?token="), "a link");
    assert!(value.ends_with(&result.redacted_value[3..]));
    assert!(!format!("{secret:?}").contains(value));
    // The mail went to the identity's inbox.
    let mail = server.emails().latest(&ident.email).unwrap();
    assert!(mail.text.contains(value));
}

#[tokio::test]
async fn invite_run_extracts_an_otp() {
    let server = MockServer::start().await.unwrap();
    let aid = client(&server, &server.agent_key());
    let ident = identity(&aid).await;
    let target = format!("{}/__mock/demo/invite", server.base_url());
    let mut req = run_req(target, &ident.id, RunFlowType::Invite);
    req.trigger = Some(Trigger {
        method: None,
        content_type: Some("json".into()),
        field: Some("email".into()),
    });
    let created = aid.create_run(&req).await.unwrap().into_inner();
    assert_eq!(created.flow_type, RunFlowType::Invite);
    let run = aid.wait_for_run(&created.id, fast_wait()).await.unwrap();
    assert_eq!(run.status, RunStatus::Completed);
    let result = run.result.unwrap();
    assert_eq!(result.extraction_type, "otp");
    let secret = client(&server, &server.agent_key_with_secrets())
        .run_secret(&run.id)
        .await
        .unwrap()
        .into_inner();
    let code = secret.value.expose_secret();
    assert_eq!(code.len(), 6);
    assert!(code.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(&result.redacted_value, &format!("***{}", &code[3..]));
}

#[tokio::test]
async fn dropped_mail_times_out_on_the_mock_clock() {
    let server = MockServer::start().await.unwrap();
    let aid = client(&server, &server.agent_key());
    let ident = identity(&aid).await;
    let target = format!(
        "{}/__mock/demo/forgot-password?drop=true",
        server.base_url()
    );
    let created = aid
        .create_run(&run_req(target, &ident.id, RunFlowType::PasswordReset))
        .await
        .unwrap()
        .into_inner();
    // Still waiting before the timeout.
    server.clock().advance(Duration::from_secs(119));
    assert_eq!(
        aid.run(&created.id).await.unwrap().status,
        RunStatus::Pending
    );
    server.clock().advance(Duration::from_secs(2));
    let run = aid.run(&created.id).await.unwrap().into_inner();
    assert_eq!(run.status, RunStatus::Timeout);
    assert_eq!(run.failure.unwrap().code, "timeout");
    assert!(run.result.is_none());
    // The list filter sees it.
    let timed_out = aid
        .runs(Some(RunStatus::Timeout), Default::default())
        .await
        .unwrap();
    assert_eq!(timed_out.total, 1);
    let err = client(&server, &server.agent_key_with_secrets())
        .run_secret(&run.id)
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), (409, "secret_not_available".into()));
}

/// A target that refuses connections: runs fail, the breaker opens after
/// five failures, later runs are refused with 503 `dependency_timeout`
/// without a connection attempt, and it closes after 30 s (mock clock).
#[tokio::test]
async fn dead_target_opens_the_breaker_which_closes_after_open_for() {
    // A listener that counts connections and closes them at once.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let accept = tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            h.fetch_add(1, Ordering::SeqCst);
            drop(sock);
        }
    });
    let server = MockServer::start().await.unwrap();
    let aid = client(&server, &server.agent_key());
    let ident = identity(&aid).await;
    let target = format!("http://{addr}/forgot-password");
    for i in 0..5 {
        let created = aid
            .create_run(&run_req(
                target.clone(),
                &ident.id,
                RunFlowType::PasswordReset,
            ))
            .await
            .unwrap_or_else(|e| panic!("run {i}: {e}"))
            .into_inner();
        let run = aid.wait_for_run(&created.id, fast_wait()).await.unwrap();
        assert_eq!(run.status, RunStatus::Failed);
        assert_eq!(run.failure.unwrap().code, "target_unreachable");
    }
    let before = hits.load(Ordering::SeqCst);
    assert!(before >= 5);
    // Open: refused up front, the target untouched.
    let err = aid
        .create_run(&run_req(
            target.clone(),
            &ident.id,
            RunFlowType::PasswordReset,
        ))
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), (503, "dependency_timeout".into()));
    assert!(err.is_retryable());
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(hits.load(Ordering::SeqCst), before);
    // Another host is unaffected.
    let other = format!("{}/__mock/demo/invite", server.base_url());
    let ok = aid
        .create_run(&run_req(other, &ident.id, RunFlowType::Invite))
        .await
        .unwrap();
    assert_eq!(ok.status(), 201);
    // After open_for (30 s on the mock clock) a trial call is let through.
    server.clock().advance(Duration::from_secs(31));
    let trial = aid
        .create_run(&run_req(target, &ident.id, RunFlowType::PasswordReset))
        .await
        .unwrap()
        .into_inner();
    let run = aid.wait_for_run(&trial.id, fast_wait()).await.unwrap();
    assert_eq!(run.failure.unwrap().code, "target_unreachable");
    assert!(
        hits.load(Ordering::SeqCst) > before,
        "the trial reached the target"
    );
    accept.abort();
}

/// A breaker store that cannot be read: runs are refused with 503
/// `dependency_unavailable` and the target is never called (fail closed).
#[tokio::test]
async fn an_unavailable_breaker_store_fails_closed() {
    #[derive(Debug)]
    struct Down;
    impl BreakerStore for Down {
        fn should_allow<'a>(&'a self, _key: &'a str) -> StoreFuture<'a, bool> {
            Box::pin(async { Err(StoreError::new("store down")) })
        }
        fn record_success<'a>(&'a self, _key: &'a str) -> StoreFuture<'a, ()> {
            Box::pin(async { Err(StoreError::new("store down")) })
        }
        fn record_failure<'a>(&'a self, _key: &'a str, _open_for: Duration) -> StoreFuture<'a, ()> {
            Box::pin(async { Err(StoreError::new("store down")) })
        }
    }
    let server = MockServer::builder()
        .breaker_store(Arc::new(Down))
        .start()
        .await
        .unwrap();
    let aid = client(&server, &server.agent_key());
    let ident = identity(&aid).await;
    let target = format!("{}/__mock/demo/forgot-password", server.base_url());
    let err = aid
        .create_run(&run_req(target, &ident.id, RunFlowType::PasswordReset))
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), (503, "dependency_unavailable".into()));
    assert!(
        server.emails().latest(&ident.email).is_none(),
        "target not called"
    );
    assert_eq!(aid.runs(None, Default::default()).await.unwrap().total, 0);
}

#[tokio::test]
async fn run_input_errors() {
    let server = MockServer::start().await.unwrap();
    let aid = client(&server, &server.agent_key());
    let ident = identity(&aid).await;
    let demo = format!("{}/__mock/demo/invite", server.base_url());
    // Refused locally by the SDK.
    for bad in [
        "ftp://x.example/",
        "https://user:pw@x.example/",
        "not a url",
        "/relative",
    ] {
        let e = aid
            .create_run(&run_req(bad.into(), &ident.id, RunFlowType::Invite))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::InvalidInput { .. }), "{bad}");
    }
    // Refused by the server (raw requests bypass the SDK's checks).
    let key = server.agent_key();
    let http = reqwest::Client::new();
    let post = |body: serde_json::Value| {
        http.post(format!("{}/v1/reliability/invite", server.base_url()))
            .bearer_auth(key.key.expose_secret())
            .header("X-Org-Id", &key.org_id)
            .header("X-Project-Id", &key.project_id)
            .header("Idempotency-Key", uuid_like())
            .json(&body)
            .send()
    };
    for (body, code) in [
        (
            serde_json::json!({"target_url": "ftp://x.example/", "identity_id": ident.id}),
            "invalid_request",
        ),
        (
            serde_json::json!({"target_url": "https://u:p@x.example/", "identity_id": ident.id}),
            "invalid_request",
        ),
        (
            serde_json::json!({"target_url": demo, "identity_id": ident.id, "timeout_seconds": 0}),
            "invalid_request",
        ),
        (
            serde_json::json!({"target_url": demo, "identity_id": ident.id, "timeout_seconds": 3601}),
            "invalid_request",
        ),
        (serde_json::json!({"target_url": demo}), "invalid_request"),
        (
            serde_json::json!({"target_url": demo, "identity_id": "ident_nope"}),
            "identity_not_found",
        ),
    ] {
        let resp = post(body.clone()).await.unwrap();
        let status = resp.status().as_u16();
        let v: serde_json::Value = resp.json().await.unwrap();
        assert!(status == 400 || status == 404, "{body}: {status}");
        assert_eq!(v["error"]["code"], code, "{body}");
        assert!(!v.to_string().contains("u:p@"), "credentials not echoed");
    }
    // Squashed identity → 409; unknown run → 404.
    aid.squash_identity(&ident.id).await.unwrap();
    let e = aid
        .create_run(&run_req(demo, &ident.id, RunFlowType::Invite))
        .await
        .unwrap_err();
    assert_eq!(api_code(&e), (409, "identity_already_squashed".into()));
    let e = aid.run("run_nope").await.unwrap_err();
    assert_eq!(api_code(&e), (404, "run_not_found".into()));
}

fn uuid_like() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A target that counts connections (and closes them).
async fn counting_target() -> (
    std::net::SocketAddr,
    Arc<AtomicUsize>,
    tokio::task::JoinHandle<()>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let task = tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            h.fetch_add(1, Ordering::SeqCst);
            drop(sock);
        }
    });
    (addr, hits, task)
}

/// Two mock servers (two run engines, as two processes would be) sharing
/// one Redis see one breaker: failures seen by one open the circuit for the
/// other. Then Redis dies: both fail closed with `dependency_unavailable`
/// and make no call.
#[tokio::test]
async fn two_engines_share_one_redis_breaker_and_fail_closed_when_it_dies() {
    use authflow::breaker::RedisStore;
    let mut redis = authflow_tests::RedisServer::start();
    let clock = authflow_mock::Clock::new();
    let mut servers = Vec::new();
    for _ in 0..2 {
        let store = RedisStore::connect(&redis.url())
            .await
            .unwrap()
            .with_clock(authflow_mock::breaker::clock_of(&clock));
        servers.push(
            MockServer::builder()
                .clock(clock.clone())
                .breaker_store(Arc::new(store))
                .start()
                .await
                .unwrap(),
        );
    }
    let (addr, hits, task) = counting_target().await;
    let target = format!("http://{addr}/reset");
    let a = client(&servers[0], &servers[0].agent_key());
    let ident_a = identity(&a).await;
    for _ in 0..5 {
        let run = a
            .create_run(&run_req(
                target.clone(),
                &ident_a.id,
                RunFlowType::PasswordReset,
            ))
            .await
            .unwrap()
            .into_inner();
        let run = a.wait_for_run(&run.id, fast_wait()).await.unwrap();
        assert_eq!(run.failure.unwrap().code, "target_unreachable");
    }
    let seen = hits.load(Ordering::SeqCst);
    // The other engine refuses at once: the circuit is open in Redis.
    let b = client(&servers[1], &servers[1].agent_key());
    let ident_b = identity(&b).await;
    let err = b
        .create_run(&run_req(
            target.clone(),
            &ident_b.id,
            RunFlowType::PasswordReset,
        ))
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), (503, "dependency_timeout".into()));
    // Redis dies: both engines fail closed, even toward a healthy target.
    redis.kill();
    let healthy = format!("{}/__mock/demo/invite", servers[1].base_url());
    for (c, ident) in [(&a, &ident_a), (&b, &ident_b)] {
        let err = c
            .create_run(&run_req(healthy.clone(), &ident.id, RunFlowType::Invite))
            .await
            .unwrap_err();
        assert_eq!(api_code(&err), (503, "dependency_unavailable".into()));
        assert!(err.is_retryable());
    }
    assert!(
        servers[1].emails().latest(&ident_b.email).is_none(),
        "no call made"
    );
    assert_eq!(hits.load(Ordering::SeqCst), seen);
    task.abort();
}

/// The SQLite store's file made unwritable mid-life: 503
/// `dependency_unavailable`, no call to the target.
#[tokio::test]
async fn an_unwritable_sqlite_breaker_file_fails_closed() {
    use authflow::breaker::SqliteStore;
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("authflow-breaker-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{}.sqlite", uuid_like()));
    let clock = authflow_mock::Clock::new();
    let store = SqliteStore::open(&path)
        .unwrap()
        .with_clock(authflow_mock::breaker::clock_of(&clock));
    let server = MockServer::builder()
        .clock(clock)
        .breaker_store(Arc::new(store))
        .start()
        .await
        .unwrap();
    let aid = client(&server, &server.agent_key());
    let ident = identity(&aid).await;
    let target = format!("{}/__mock/demo/invite", server.base_url());
    // Works while writable.
    let ok = aid
        .create_run(&run_req(target.clone(), &ident.id, RunFlowType::Invite))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        aid.wait_for_run(&ok.id, fast_wait()).await.unwrap().status,
        RunStatus::Completed
    );
    let mails = server.emails().to(&ident.email).len();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    let err = aid
        .create_run(&run_req(target, &ident.id, RunFlowType::Invite))
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), (503, "dependency_unavailable".into()));
    assert_eq!(
        server.emails().to(&ident.email).len(),
        mails,
        "no call made"
    );
    let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `wait_for_run` waits out 503s with their `Retry-After` (through the
/// client's sleep: nothing really waits here) and gives up at `max_wait`.
#[tokio::test]
async fn wait_for_run_honours_retry_after_and_its_bound() {
    let server = MockServer::start().await.unwrap();
    let key = server.agent_key();
    let sleep = Arc::new(authflow_tests::RecordingSleep::default());
    let aid = AidenIdClient::builder()
        .api_key(key.key.clone())
        .scope(&key.org_id, &key.project_id)
        .base_url(server.base_url())
        .retry(RetryPolicy::none())
        .sleeper(sleep.clone())
        .build()
        .unwrap();
    let ident = identity(&aid).await;
    let target = format!(
        "{}/__mock/demo/forgot-password?drop=true",
        server.base_url()
    );
    let run = aid
        .create_run(&run_req(target, &ident.id, RunFlowType::PasswordReset))
        .await
        .unwrap()
        .into_inner();
    let resp = reqwest::Client::new()
        .post(format!("{}/__mock/faults", server.base_url()))
        .json(&serde_json::json!({"route": "getRun", "status": 503, "times": 2, "retry_after": 7}))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    // The mail was dropped: the run stays pending; the bound ends the wait.
    let options = WaitOptions::default().max_wait(Duration::from_secs(30));
    let err = aid.wait_for_run(&run.id, options).await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    let delays = sleep.delays();
    assert_eq!(
        &delays[..2],
        &[Duration::from_secs(7), Duration::from_secs(7)]
    );
    assert!(delays[2..].iter().all(|d| *d <= Duration::from_secs(8)));
    let total: Duration = delays.iter().sum();
    assert!(total <= Duration::from_secs(30), "{total:?}");
    // Once the mail comes (the clock passes the timeout), it ends.
    server.clock().advance(Duration::from_secs(121));
    let done = aid.wait_for_run(&run.id, options).await.unwrap();
    assert_eq!(done.status, RunStatus::Timeout);
}
