//! Retry behaviour of the transport, end to end against wiremock: which
//! failures are retried and on which routes, how long the client waits
//! (backoff, `Retry-After`, `retry-after-ms`, the cap), how many attempts it
//! makes, idempotency keys across attempts, envelope `retryable` overrides and
//! per-attempt timeouts.
//!
//! Every client uses `authflow_tests::RecordingSleep`, so the delays are recorded instead of
//! waited, and jitter is off, so they are exact.

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use authflow::api::{Api, Credential, Endpoint, Method, Params, Route};
use authflow::{Error, RequestOptions, RetryPolicy, Session, TransportKind};
use authflow_tests::{client, secret};
use serde::Serialize;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

// ------------------------------------------------------------------ helpers

/// A mutation that carries an `Idempotency-Key` by default (none of the 20
/// AuthFlow routes does, so the test defines one).
static IDEMPOTENT_CREATE: Route = Route {
    api: Api::AuthFlow,
    name: "test/idempotent-create",
    method: Method::Post,
    path: "/test/idempotent-create",
    params: Params::JsonBody,
    fields: &[],
    credential: Credential::None,
    secret_fields: &[],
    mutates: true,
    idempotency_key: true,
    needs_foobar: false,
};

#[derive(Debug, Serialize)]
struct CreateThing {
    name: String,
}

impl Endpoint for CreateThing {
    type Response = Value;
    fn route(&self) -> &'static Route {
        &IDEMPOTENT_CREATE
    }
}

/// Answers with `responses` in order, repeating the last one once exhausted.
struct Sequence {
    next: AtomicUsize,
    responses: Vec<ResponseTemplate>,
}

fn sequence(responses: Vec<ResponseTemplate>) -> Sequence {
    assert!(!responses.is_empty());
    Sequence {
        next: AtomicUsize::new(0),
        responses,
    }
}

impl Respond for Sequence {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let i = self.next.fetch_add(1, Ordering::SeqCst);
        self.responses[i.min(self.responses.len() - 1)].clone()
    }
}

fn status(code: u16) -> ResponseTemplate {
    ResponseTemplate::new(code)
}

fn profile() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "email": "ada@example.com",
        "fullname": "Ada Lovelace",
        "role": "detective",
        "org_id": "org_1",
    }))
}

/// Mount `responses` (in order) on `verb path_`.
async fn mount(server: &MockServer, verb: &str, path_: &str, responses: Vec<ResponseTemplate>) {
    Mock::given(method(verb))
        .and(path(path_))
        .respond_with(sequence(responses))
        .mount(server)
        .await;
}

/// The requests the server received on `path_`.
async fn requests_to(server: &MockServer, path_: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .expect("request recording is on")
        .into_iter()
        .filter(|r| r.url.path() == path_)
        .collect()
}

fn idempotency_key(r: &Request) -> Option<String> {
    r.headers
        .get("idempotency-key")
        .map(|v| v.to_str().expect("ASCII header").to_owned())
}

/// Whether `s` is a lowercase hyphenated UUID of version 4 (RFC 4122 variant).
fn is_uuid_v4(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(c),
        })
        && b[14] == b'4'
        && matches!(b[19], b'8' | b'9' | b'a' | b'b')
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn session() -> Session {
    Session::new(secret("sess-token-for-retry-tests"), "ada@example.com")
}

/// A base URL on which nothing listens.
fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    let port = listener.local_addr().expect("local address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

fn create(name: &str) -> CreateThing {
    CreateThing {
        name: name.to_owned(),
    }
}

// ------------------------------------------------------- idempotency keys

#[tokio::test]
async fn generated_idempotency_key_is_reused_across_retries_and_fresh_per_intent() {
    let server = MockServer::start().await;
    mount(
        &server,
        "POST",
        "/test/idempotent-create",
        vec![
            status(503),
            status(503),
            status(200).set_body_json(json!({"id": 1})),
        ],
    )
    .await;
    let (client, sleep) = client(&server.uri());

    let resp = client
        .transport()
        .send(&create("first"), &RequestOptions::new())
        .await
        .expect("the third attempt succeeds");
    assert_eq!(resp.status(), 200);
    assert_eq!(*resp, json!({"id": 1}));

    let reqs = requests_to(&server, "/test/idempotent-create").await;
    assert_eq!(reqs.len(), 3, "503, 503, 200");
    let keys: Vec<String> = reqs
        .iter()
        .map(|r| idempotency_key(r).expect("every attempt carries Idempotency-Key"))
        .collect();
    assert!(is_uuid_v4(&keys[0]), "not a UUID v4: {}", keys[0]);
    assert!(
        keys.iter().all(|k| *k == keys[0]),
        "one key for all attempts of one call: {keys:?}"
    );
    // Each attempt sends the same body too.
    assert!(
        reqs.iter()
            .all(|r| r.body_json::<Value>().ok() == Some(json!({"name": "first"})))
    );
    assert_eq!(sleep.delays(), vec![ms(500), ms(1000)]);

    // A second call is a new intent: a new key.
    client
        .transport()
        .send(&create("second"), &RequestOptions::new())
        .await
        .expect("200");
    let reqs = requests_to(&server, "/test/idempotent-create").await;
    assert_eq!(reqs.len(), 4);
    let second = idempotency_key(&reqs[3]).expect("key on the second call");
    assert!(is_uuid_v4(&second), "not a UUID v4: {second}");
    assert_ne!(second, keys[0], "a new call must get a new key");
    assert_eq!(sleep.delays().len(), 2, "the second call was not retried");
}

#[tokio::test]
async fn caller_supplied_idempotency_key_is_sent_verbatim_on_every_attempt() {
    let server = MockServer::start().await;
    mount(
        &server,
        "POST",
        "/test/idempotent-create",
        vec![status(503), status(200).set_body_json(json!({}))],
    )
    .await;
    let (client, sleep) = client(&server.uri());

    client
        .transport()
        .send(&create("x"), &RequestOptions::new().idempotency_key("k-1"))
        .await
        .expect("the retry succeeds");
    let reqs = requests_to(&server, "/test/idempotent-create").await;
    let keys: Vec<_> = reqs.iter().map(idempotency_key).collect();
    assert_eq!(keys, vec![Some("k-1".to_owned()), Some("k-1".to_owned())]);
    assert_eq!(sleep.delays(), vec![ms(500)]);
}

#[tokio::test]
async fn routes_without_an_idempotency_key_send_none() {
    let server = MockServer::start().await;
    mount(&server, "GET", "/auth/me", vec![profile()]).await;
    let (client, _) = client(&server.uri());
    client.me(&secret("sess-token-x")).await.expect("200");
    let reqs = requests_to(&server, "/auth/me").await;
    assert_eq!(reqs.len(), 1);
    assert_eq!(idempotency_key(&reqs[0]), None);
}

// ------------------------------------------------------ what is retried

#[tokio::test]
async fn bad_request_is_never_retried() {
    let server = MockServer::start().await;
    mount(
        &server,
        "GET",
        "/auth/me",
        vec![
            status(400).set_body_json(json!({"message": "Missing sessionToken"})),
            profile(),
        ],
    )
    .await;
    let (client, sleep) = client(&server.uri());

    let err = client
        .me(&secret("sess-token-x"))
        .await
        .expect_err("the call must fail");
    assert!(err.is_bad_request(), "{err:?}");
    assert!(!err.is_retryable());
    assert_eq!(requests_to(&server, "/auth/me").await.len(), 1);
    assert!(sleep.delays().is_empty());
}

#[tokio::test]
async fn retry_after_seconds_is_honoured() {
    let server = MockServer::start().await;
    mount(
        &server,
        "GET",
        "/auth/me",
        vec![status(503).insert_header("Retry-After", "2"), profile()],
    )
    .await;
    let (client, sleep) = client(&server.uri());

    let me = client.me(&secret("sess-token-x")).await.expect("retried");
    assert_eq!(me.email, "ada@example.com");
    assert_eq!(sleep.delays(), vec![Duration::from_secs(2)]);
    assert_eq!(requests_to(&server, "/auth/me").await.len(), 2);
}

#[tokio::test]
async fn retry_after_ms_is_honoured() {
    let server = MockServer::start().await;
    mount(
        &server,
        "GET",
        "/auth/me",
        vec![
            status(429).insert_header("retry-after-ms", "1500"),
            profile(),
        ],
    )
    .await;
    let (client, sleep) = client(&server.uri());

    client.me(&secret("sess-token-x")).await.expect("retried");
    assert_eq!(sleep.delays(), vec![ms(1500)]);
    assert_eq!(requests_to(&server, "/auth/me").await.len(), 2);
}

#[tokio::test]
async fn retry_after_beyond_the_cap_gives_up_at_once() {
    for code in [503, 429] {
        let server = MockServer::start().await;
        mount(
            &server,
            "GET",
            "/auth/me",
            vec![status(code).insert_header("Retry-After", "120"), profile()],
        )
        .await;
        let (client, sleep) = client(&server.uri());

        let err = client
            .me(&secret("sess-token-x"))
            .await
            .expect_err("the call must fail");
        assert_eq!(err.status(), Some(code), "{err:?}");
        match &err {
            Error::Api { retry_after, .. } => {
                assert_eq!(*retry_after, Some(Duration::from_secs(120)));
            }
            other => panic!("expected an API error, got {other:?}"),
        }
        assert_eq!(requests_to(&server, "/auth/me").await.len(), 1, "{code}");
        assert!(sleep.delays().is_empty(), "{code}: {:?}", sleep.delays());
    }
}

#[tokio::test]
async fn attempts_are_bounded_by_the_policy() {
    let server = MockServer::start().await;
    mount(&server, "GET", "/auth/me", vec![status(503)]).await;
    let (client, sleep) = client(&server.uri());

    let err = client
        .me(&secret("sess-token-x"))
        .await
        .expect_err("the call must fail");
    assert!(
        err.is_server_error() && err.status() == Some(503),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(
        requests_to(&server, "/auth/me").await.len(),
        3,
        "1 + 2 retries"
    );
    assert_eq!(sleep.delays(), vec![ms(500), ms(1000)]);

    server.reset().await;
    mount(&server, "GET", "/auth/me", vec![status(503)]).await;
    let five = client.with_options(
        RequestOptions::new().retry(RetryPolicy::default().max_retries(5).jitter(false)),
    );
    let err = five
        .me(&secret("sess-token-x"))
        .await
        .expect_err("the call must fail");
    assert_eq!(err.status(), Some(503));
    assert_eq!(
        requests_to(&server, "/auth/me").await.len(),
        6,
        "1 + 5 retries"
    );
    assert_eq!(
        sleep.delays()[2..],
        [ms(500), ms(1000), ms(2000), ms(4000), ms(8000)],
        "doubling, capped at 8 s"
    );

    server.reset().await;
    mount(&server, "GET", "/auth/me", vec![status(503)]).await;
    let none = client.with_options(RequestOptions::new().retry(RetryPolicy::none()));
    none.me(&secret("sess-token-x"))
        .await
        .expect_err("the call must fail");
    assert_eq!(requests_to(&server, "/auth/me").await.len(), 1);
    assert_eq!(sleep.delays().len(), 7, "no new sleep");
}

// ------------------------------------------- unsafe mutations after sending

async fn mount_foobar(server: &MockServer) {
    mount(
        server,
        "GET",
        "/auth/fooBar",
        vec![status(200).set_body_json(json!({"token": "foobar-token-abc"}))],
    )
    .await;
}

#[tokio::test]
async fn login_is_not_retried_after_a_502() {
    let server = MockServer::start().await;
    mount_foobar(&server).await;
    mount(
        &server,
        "GET",
        "/auth/login",
        vec![
            status(502),
            status(200).set_body_json(json!({"token": "t"})),
        ],
    )
    .await;
    let (client, sleep) = client(&server.uri());

    let err = client
        .login("ada@example.com", &secret("TestPass123!"), "detective")
        .await
        .expect_err("the call must fail");
    assert_eq!(err.status(), Some(502), "{err:?}");
    assert!(
        err.is_retryable(),
        "the error itself is retryable; the route is not"
    );
    assert_eq!(requests_to(&server, "/auth/fooBar").await.len(), 1);
    assert_eq!(requests_to(&server, "/auth/login").await.len(), 1);
    assert!(sleep.delays().is_empty());
}

#[tokio::test]
async fn logout_and_change_password_are_not_retried_after_a_5xx() {
    let server = MockServer::start().await;
    mount(&server, "GET", "/auth/logout", vec![status(502)]).await;
    mount(&server, "GET", "/auth/changePassword", vec![status(503)]).await;
    let (client, sleep) = client(&server.uri());

    let err = client
        .logout(&session())
        .await
        .expect_err("the call must fail");
    assert_eq!(err.status(), Some(502));
    let err = client
        .change_password(&session(), &secret("TestPass123!"), &secret("NewPass123!"))
        .await
        .expect_err("the call must fail");
    assert_eq!(err.status(), Some(503));
    assert_eq!(requests_to(&server, "/auth/logout").await.len(), 1);
    assert_eq!(requests_to(&server, "/auth/changePassword").await.len(), 1);
    assert!(sleep.delays().is_empty());
}

#[tokio::test]
async fn an_unsafe_mutation_with_a_caller_idempotency_key_is_retried() {
    let server = MockServer::start().await;
    mount_foobar(&server).await;
    mount(
        &server,
        "GET",
        "/auth/login",
        vec![
            status(502),
            status(502),
            status(200).set_body_json(json!({"token": "session-token-xyz"})),
        ],
    )
    .await;
    mount(
        &server,
        "GET",
        "/auth/logout",
        vec![
            status(503),
            status(200).set_body_json(json!({"success": true})),
        ],
    )
    .await;
    let (client, sleep) = client(&server.uri());

    let keyed = client.with_options(RequestOptions::new().idempotency_key("login-intent-1"));
    let outcome = keyed
        .login("ada@example.com", &secret("TestPass123!"), "detective")
        .await
        .expect("retried to success");
    match outcome {
        authflow::LoginOutcome::Session(s) => assert_eq!(s.email, "ada@example.com"),
        other => panic!("expected a session, got {other:?}"),
    }
    let logins = requests_to(&server, "/auth/login").await;
    assert_eq!(logins.len(), 3);
    assert!(
        logins
            .iter()
            .all(|r| idempotency_key(r).as_deref() == Some("login-intent-1"))
    );
    assert_eq!(sleep.delays(), vec![ms(500), ms(1000)]);
    // The key belongs to the login intent, not to the fooBar fetch before it.
    let foobars = requests_to(&server, "/auth/fooBar").await;
    assert_eq!(foobars.len(), 1);
    assert_eq!(idempotency_key(&foobars[0]), None);

    let logout = client.with_options(RequestOptions::new().idempotency_key("logout-1"));
    logout.logout(&session()).await.expect("retried to success");
    assert_eq!(requests_to(&server, "/auth/logout").await.len(), 2);
}

// ------------------------------------------------------ connection errors

#[tokio::test]
async fn connection_errors_are_retried_on_every_route() {
    let (client, sleep) = client(&closed_port_url());

    let err = client
        .logout(&session())
        .await
        .expect_err("the call must fail");
    assert!(
        matches!(
            err,
            Error::Transport {
                kind: TransportKind::Connect,
                route: "logout",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(
        sleep.delays(),
        vec![ms(500), ms(1000)],
        "logout is unsafe to repeat once sent, but it never left"
    );

    // Also an unsafe POST.
    let (client, sleep) = authflow_tests::client(&closed_port_url());
    let err = client
        .forgot_password("ada@example.com", None)
        .await
        .expect_err("the call must fail");
    assert!(
        matches!(
            err,
            Error::Transport {
                kind: TransportKind::Connect,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(sleep.delays().len(), 2);
}

// ------------------------------------------------- envelope `retryable`

#[tokio::test]
async fn envelope_retryable_false_wins_over_a_503() {
    let server = MockServer::start().await;
    let body = json!({
        "error": {"code": "dependency_failed", "message": "x", "details": {"requestId": "req_1"}},
        "requestId": "req_1",
        "retryable": false,
    });
    mount(
        &server,
        "GET",
        "/auth/me",
        vec![status(503).set_body_json(body), profile()],
    )
    .await;
    let (client, sleep) = client(&server.uri());

    let err = client
        .me(&secret("sess-token-x"))
        .await
        .expect_err("the call must fail");
    assert_eq!(err.status(), Some(503));
    assert_eq!(
        err.code().map(|c| c.as_str()),
        Some("dependency_failed"),
        "{err:?}"
    );
    assert_eq!(err.request_id(), Some("req_1"));
    assert!(!err.is_retryable());
    assert_eq!(requests_to(&server, "/auth/me").await.len(), 1);
    assert!(sleep.delays().is_empty());
}

#[tokio::test]
async fn envelope_retryable_true_makes_a_409_retryable_on_a_safe_route() {
    let server = MockServer::start().await;
    let body = json!({
        "error": {"code": "conflict", "message": "busy, try again"},
        "requestId": "req_2",
        "retryable": true,
    });
    mount(
        &server,
        "GET",
        "/auth/me",
        vec![status(409).set_body_json(body), profile()],
    )
    .await;
    let (client, sleep) = client(&server.uri());

    let me = client.me(&secret("sess-token-x")).await.expect("retried");
    assert_eq!(me.org_id, "org_1");
    assert_eq!(requests_to(&server, "/auth/me").await.len(), 2);
    assert_eq!(sleep.delays(), vec![ms(500)]);
}

#[tokio::test]
async fn a_plain_409_is_not_retried() {
    let server = MockServer::start().await;
    mount(
        &server,
        "GET",
        "/auth/me",
        vec![
            status(409).set_body_json(json!({"message": "conflict"})),
            profile(),
        ],
    )
    .await;
    let (client, sleep) = client(&server.uri());
    let err = client
        .me(&secret("sess-token-x"))
        .await
        .expect_err("the call must fail");
    assert!(err.is_conflict());
    assert_eq!(requests_to(&server, "/auth/me").await.len(), 1);
    assert!(sleep.delays().is_empty());
}

// --------------------------------------------------------------- timeouts

#[tokio::test]
async fn timeouts_are_retried_on_safe_routes_only() {
    let server = MockServer::start().await;
    mount(
        &server,
        "GET",
        "/auth/me",
        vec![profile().set_delay(ms(500))],
    )
    .await;
    mount(
        &server,
        "GET",
        "/auth/logout",
        vec![
            status(200)
                .set_body_json(json!({"success": true}))
                .set_delay(ms(500)),
        ],
    )
    .await;
    let (client, sleep) = client(&server.uri());
    let fast = client.with_options(RequestOptions::new().timeout(ms(100)));

    let err = fast
        .me(&secret("sess-token-x"))
        .await
        .expect_err("the call must fail");
    assert!(
        matches!(err, Error::Timeout { route: "me", after } if after == ms(100)),
        "{err:?}"
    );
    assert!(err.is_timeout() && err.is_retryable());
    assert_eq!(requests_to(&server, "/auth/me").await.len(), 3);
    assert_eq!(sleep.delays(), vec![ms(500), ms(1000)]);

    let err = fast
        .logout(&session())
        .await
        .expect_err("the call must fail");
    assert!(
        matches!(
            err,
            Error::Timeout {
                route: "logout",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        requests_to(&server, "/auth/logout").await.len(),
        1,
        "a timed-out logout may have reached the server"
    );
    assert_eq!(sleep.delays().len(), 2, "no new sleep");
}
