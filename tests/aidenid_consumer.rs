//! The AIdenID consumer API end to end: SDK (`ConsumerClient`,
//! `ConsumerSession`) ↔ mock, with raw `reqwest` for the wire details and
//! the SSE inbox stream.
//!
//! - magic links: signup (409 the second time) mails an `ml_…` link; verify
//!   exchanges it once (401 `invalid_magic_link` after use or after 15
//!   minutes) for a 7-day session in a personal org and project; login (404
//!   for unknown addresses) mails a new one; the session expires (401
//!   `session_expired`) and refuses other scope headers (403
//!   `scope_mismatch`);
//! - tier limits: trial 3 active identities, expiry frees slots, upgrade
//!   through the mock's checkout to `human_paid` (10), 409
//!   `already_upgraded`;
//! - notifications: extraction alerts (never the value) and expiry warnings;
//! - the inbox stream: `inbound.received` then `extraction.completed` with
//!   ids, resume from `Last-Event-ID` without repeats, 400/401 on bad
//!   requests, heartbeat comments, no cross-consumer leaks.
//!
//! Expiry is driven by `server.clock().advance(..)`; stream reads are
//! bounded by short timeouts.

// In tests a panic is the failure report, helpers included.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::time::{Duration, Instant};

use authflow::api::aidenid::{IdentityStatus, Page};
use authflow::{ConsumerClient, ConsumerSession, Error, RequestOptions, RetryPolicy};
use authflow_mock::{EmailKind, MockServer};
use futures_util::TryStreamExt;
use reqwest::Method;
use reqwest::header::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

// ------------------------------------------------------------------ helpers

fn consumers(server: &MockServer) -> ConsumerClient {
    ConsumerClient::builder()
        .base_url(server.base_url())
        .retry(RetryPolicy::none())
        .build()
        .expect("valid client configuration")
}

/// The `ml_…` token of the newest magic-link email to `email`.
fn magic_token(server: &MockServer, email: &str) -> SecretString {
    let mail = server.emails().latest(email).expect("a magic-link email");
    assert_eq!(mail.kind, EmailKind::MagicLink);
    let link = mail
        .links
        .iter()
        .find(|l| l.contains("token=ml_"))
        .unwrap_or_else(|| panic!("a link with token=ml_…: {:?}", mail.links));
    assert!(link.starts_with(&server.base_url()), "{link}");
    let token = link
        .split("token=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    assert!(token.starts_with("ml_") && token.len() > 10, "{token}");
    SecretString::from(token.to_owned())
}

/// Sign up and verify `email`.
async fn signed_in(server: &MockServer, email: &str) -> ConsumerSession {
    let c = consumers(server);
    c.signup(email).await.expect("signup");
    c.verify(&magic_token(server, email)).await.expect("verify")
}

fn bearer(session: &ConsumerSession) -> String {
    session.info().session_token.expose_secret().to_owned()
}

#[track_caller]
fn api(e: &Error) -> (u16, String) {
    match e {
        Error::Api {
            status,
            code,
            request_id,
            retryable,
            ..
        } => {
            assert!(
                request_id.as_deref().is_some_and(|r| r.starts_with("req_")),
                "{e}"
            );
            assert!(!retryable, "{e}");
            (*status, code.as_str().to_owned())
        }
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// Unix seconds of an RFC 3339 UTC timestamp `YYYY-MM-DDTHH:MM:SS[.fff]Z`.
fn unix(ts: &str) -> i64 {
    assert!(
        ts.ends_with('Z') && ts.len() >= 20,
        "not RFC 3339 UTC: {ts}"
    );
    let n = |r: std::ops::Range<usize>| ts[r].parse::<i64>().expect("digits");
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    let (hh, mm, ss) = (n(11..13), n(14..16), n(17..19));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + hh * 3600 + mm * 60 + ss
}

#[derive(Debug)]
struct Raw {
    status: u16,
    headers: HeaderMap,
    json: Value,
}

impl Raw {
    async fn from(resp: reqwest::Response) -> Raw {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("body");
        Raw {
            status,
            headers,
            json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }

    #[track_caller]
    fn assert_envelope(&self, status: u16, code: &str) {
        let v = &self.json;
        assert_eq!(self.status, status, "{v}");
        assert_eq!(v["error"]["code"], code, "{v}");
        let rid = v["requestId"].as_str().expect("requestId");
        assert_eq!(v["error"]["details"]["requestId"], rid, "{v}");
        assert_eq!(
            self.headers
                .get("x-request-id")
                .and_then(|h| h.to_str().ok()),
            Some(rid)
        );
        assert_eq!(v["retryable"], json!(false), "{v}");
    }
}

async fn raw(
    server: &MockServer,
    method: Method,
    path: &str,
    session: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Raw {
    let mut rb = reqwest::Client::new().request(method, format!("{}{path}", server.base_url()));
    if let Some(s) = session {
        rb = rb.bearer_auth(s);
    }
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    if let Some(b) = body {
        rb = rb.json(b);
    }
    Raw::from(rb.send().await.unwrap()).await
}

/// `POST /__mock/inbound?to=ADDR` with a plain-text message; the delivered
/// message ids.
async fn deliver(server: &MockServer, to: &str, subject: &str, text: &str) -> Vec<String> {
    let mime = format!(
        "From: Twitter <verify@twitter.example>\r\nTo: {to}\r\nSubject: {subject}\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
    );
    let r = reqwest::Client::new()
        // Identity addresses are `hex@domain`: nothing to encode.
        .post(format!("{}/__mock/inbound?to={to}", server.base_url()))
        .body(mime)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    v["delivered"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap().to_owned())
        .collect()
}

// ----------------------------------------------------------- SSE reading

/// One SSE block: its fields and comment lines.
#[derive(Debug, Default, Clone)]
struct Block {
    id: Option<String>,
    event: Option<String>,
    data: String,
    comments: Vec<String>,
}

impl Block {
    fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap_or_else(|e| panic!("data is JSON: {e}: {self:?}"))
    }
    fn id_num(&self) -> u64 {
        self.id
            .as_deref()
            .expect("id:")
            .parse()
            .expect("numeric id")
    }
}

/// A raw event stream read chunk by chunk.
struct Stream {
    resp: reqwest::Response,
    buf: Vec<u8>,
    /// Everything received, for leak checks.
    all: String,
}

impl Stream {
    async fn open(
        server: &MockServer,
        session: Option<&str>,
        last_event_id: Option<&str>,
    ) -> Result<Stream, Raw> {
        let mut rb = reqwest::Client::new()
            .get(format!("{}/v1/consumer/inbox", server.base_url()))
            .header("Accept", "text/event-stream");
        if let Some(s) = session {
            rb = rb.bearer_auth(s);
        }
        if let Some(l) = last_event_id {
            rb = rb.header("Last-Event-ID", l);
        }
        let resp = tokio::time::timeout(Duration::from_secs(5), rb.send())
            .await
            .expect("stream answers in time")
            .unwrap();
        if resp.status() != 200 {
            return Err(Raw::from(resp).await);
        }
        let ct = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(ct.starts_with("text/event-stream"), "{ct}");
        Ok(Stream {
            resp,
            buf: Vec::new(),
            all: String::new(),
        })
    }

    /// The next block (event or comment), or `None` if none arrives within
    /// `within`.
    async fn next_block(&mut self, within: Duration) -> Option<Block> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(pos) = self.buf.windows(2).position(|w| w == b"\n\n") {
                let raw: Vec<u8> = self.buf.drain(..pos + 2).collect();
                let text = String::from_utf8(raw).expect("UTF-8 stream");
                let mut b = Block::default();
                for line in text.lines().filter(|l| !l.is_empty()) {
                    if let Some(c) = line.strip_prefix(':') {
                        b.comments.push(c.trim().to_owned());
                        continue;
                    }
                    let (field, value) = line.split_once(':').unwrap_or((line, ""));
                    let value = value.strip_prefix(' ').unwrap_or(value);
                    match field {
                        "id" => b.id = Some(value.to_owned()),
                        "event" => b.event = Some(value.to_owned()),
                        "data" => {
                            if !b.data.is_empty() {
                                b.data.push('\n');
                            }
                            b.data.push_str(value);
                        }
                        other => panic!("unexpected SSE field {other}: {text}"),
                    }
                }
                return Some(b);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            match tokio::time::timeout(left, self.resp.chunk()).await {
                Err(_) => return None,
                Ok(Ok(Some(chunk))) => {
                    self.all.push_str(&String::from_utf8_lossy(&chunk));
                    self.buf.extend_from_slice(&chunk);
                }
                Ok(Ok(None)) => return None,
                Ok(Err(e)) => panic!("stream failed: {e}"),
            }
        }
    }

    /// The next event (comments skipped), or `None` within `within`.
    async fn next_event(&mut self, within: Duration) -> Option<Block> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            let b = self.next_block(left).await?;
            if b.event.is_some() || !b.data.is_empty() {
                return Some(b);
            }
        }
    }
}

const WAIT: Duration = Duration::from_secs(5);
const QUIET: Duration = Duration::from_millis(300);

// ------------------------------------------------------------ magic links

#[tokio::test]
async fn signup_verify_and_the_session() {
    let server = MockServer::start().await.unwrap();
    let c = consumers(&server);
    let email = "alice@example.com";

    let sent = c.signup(email).await.unwrap().into_inner();
    assert_eq!(sent.message, "Verification email sent");
    assert_eq!(sent.email, email);
    let mail = server.emails().latest(email).unwrap();
    assert!(mail.text.contains("token=ml_"), "{}", mail.text);
    let token = magic_token(&server, email);

    // Signing up again, also with other case: 409.
    for again in [email, "Alice@Example.com"] {
        let e = c.signup(again).await.unwrap_err();
        assert_eq!(api(&e), (409, "email_already_registered".into()));
    }

    let before = server.clock().now_secs();
    let session = c.verify(&token).await.unwrap();
    let info = session.info();
    assert!(info.consumer_id.starts_with("csr_"), "{}", info.consumer_id);
    assert!(info.org_id.starts_with("org_personal_"), "{}", info.org_id);
    assert!(
        info.project_id.starts_with("proj_default_"),
        "{}",
        info.project_id
    );
    assert!(info.session_token.expose_secret().starts_with("sess_"));
    let ttl = unix(&info.expires_at) - before;
    assert!((7 * 86_400 - 2..=7 * 86_400 + 2).contains(&ttl), "{ttl}");
    assert!(!format!("{session:?}").contains(info.session_token.expose_secret()));

    // The raw verify body has exactly the documented fields.
    c.login(email).await.unwrap();
    let r = raw(
        &server,
        Method::POST,
        "/v1/consumer/verify",
        None,
        &[("Idempotency-Key", "verify-raw")],
        Some(&json!({"token": magic_token(&server, email).expose_secret()})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let fields: HashSet<&str> = r
        .json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        fields,
        HashSet::from([
            "consumer_id",
            "org_id",
            "project_id",
            "session_token",
            "expires_at"
        ])
    );
    assert_eq!(r.json["consumer_id"], info.consumer_id.as_str());
    assert_eq!(r.json["org_id"], info.org_id.as_str());

    // The token is single-use.
    let e = c.verify(&token).await.unwrap_err();
    assert_eq!(api(&e), (401, "invalid_magic_link".into()));
    // Made-up tokens too.
    for bogus in ["ml_0000", "sess_1234", "x"] {
        let e = c.verify(&SecretString::from(bogus)).await.unwrap_err();
        assert_eq!(api(&e), (401, "invalid_magic_link".into()));
        assert!(!e.to_string().contains(bogus) || bogus == "x", "{e}");
    }

    // The session works.
    let list = session.identities(Page::default()).await.unwrap();
    assert_eq!(list.total, 0);
}

#[tokio::test]
async fn magic_links_expire_after_15_minutes_and_login_sends_a_new_one() {
    let server = MockServer::start().await.unwrap();
    let c = consumers(&server);
    let email = "bob@example.com";
    c.signup(email).await.unwrap();
    let stale = magic_token(&server, email);
    server.clock().advance(Duration::from_secs(16 * 60));
    let e = c.verify(&stale).await.unwrap_err();
    assert_eq!(api(&e), (401, "invalid_magic_link".into()));

    // Unknown address: 404.
    let e = c.login("nobody@example.com").await.unwrap_err();
    assert_eq!(api(&e), (404, "consumer_not_found".into()));

    // Login mails a new link (not the old one) that works within 15 minutes.
    let sent = c.login(email).await.unwrap().into_inner();
    assert_eq!(sent.message, "Login email sent");
    assert_eq!(sent.email, email);
    let fresh = magic_token(&server, email);
    assert_ne!(fresh.expose_secret(), stale.expose_secret());
    assert_eq!(server.emails().to(email).len(), 2);
    server.clock().advance(Duration::from_secs(14 * 60));
    let session = c.verify(&fresh).await.unwrap();
    assert!(session.info().consumer_id.starts_with("csr_"));

    // Two logins: both links work (each once) and map to the same consumer.
    c.login(email).await.unwrap();
    let one = magic_token(&server, email);
    c.login(email).await.unwrap();
    let two = magic_token(&server, email);
    let s1 = c.verify(&one).await.unwrap();
    let s2 = c.verify(&two).await.unwrap();
    assert_eq!(s1.info().consumer_id, s2.info().consumer_id);
    assert_eq!(s1.info().consumer_id, session.info().consumer_id);
    assert_ne!(bearer(&s1), bearer(&s2));
}

#[tokio::test]
async fn sessions_expire_after_7_days() {
    let server = MockServer::start().await.unwrap();
    let session = signed_in(&server, "carol@example.com").await;
    server.clock().advance(Duration::from_secs(7 * 86_400 - 60));
    session.identities(Page::default()).await.unwrap();
    server.clock().advance(Duration::from_secs(61));
    let e = session.identities(Page::default()).await.unwrap_err();
    assert_eq!(api(&e), (401, "session_expired".into()));
    let e = session.create_identity("late").await.unwrap_err();
    assert_eq!(api(&e), (401, "session_expired".into()));
    let e = session.notifications(Page::default()).await.unwrap_err();
    assert_eq!(api(&e), (401, "session_expired".into()));
    let r = raw(
        &server,
        Method::GET,
        "/v1/consumer/identities",
        Some(&bearer(&session)),
        &[],
        None,
    )
    .await;
    r.assert_envelope(401, "session_expired");
    let r = Stream::open(&server, Some(&bearer(&session)), None)
        .await
        .err()
        .unwrap();
    r.assert_envelope(401, "session_expired");
}

#[tokio::test]
async fn sessions_refuse_other_scope_headers() {
    let server = MockServer::start().await.unwrap();
    let session = signed_in(&server, "dave@example.com").await;
    let other = signed_in(&server, "erin@example.com").await;
    let token = bearer(&session);
    let info = session.info().clone();
    let path = "/v1/consumer/identities";

    for headers in [
        vec![("X-Org-Id", "org_other")],
        vec![("X-Project-Id", "proj_other")],
        vec![
            ("X-Org-Id", info.org_id.as_str()),
            ("X-Project-Id", "proj_other"),
        ],
        vec![
            ("X-Org-Id", other.info().org_id.as_str()),
            ("X-Project-Id", other.info().project_id.as_str()),
        ],
    ] {
        let r = raw(&server, Method::GET, path, Some(&token), &headers, None).await;
        r.assert_envelope(403, "scope_mismatch");
    }
    // Matching headers, or none: fine.
    let ok = raw(
        &server,
        Method::GET,
        path,
        Some(&token),
        &[
            ("X-Org-Id", &info.org_id),
            ("X-Project-Id", &info.project_id),
        ],
        None,
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.json);

    // Through the SDK: a client sending a foreign X-Org-Id gets Error::Api 403.
    let c = consumers(&server).with_options(
        RequestOptions::new()
            .header("X-Org-Id", "org_other")
            .unwrap(),
    );
    let e = c
        .session(info)
        .identities(Page::default())
        .await
        .unwrap_err();
    assert_eq!(api(&e), (403, "scope_mismatch".into()));

    // No or unknown session: 401 unauthorized.
    let r = raw(&server, Method::GET, path, None, &[], None).await;
    r.assert_envelope(401, "unauthorized");
    let r = raw(&server, Method::GET, path, Some("sess_0000"), &[], None).await;
    r.assert_envelope(401, "unauthorized");
    // An agent key is not a session.
    let r = raw(
        &server,
        Method::GET,
        path,
        Some(server.agent_key().key.expose_secret()),
        &[],
        None,
    )
    .await;
    r.assert_envelope(401, "unauthorized");
}

#[tokio::test]
async fn consumer_bad_input_is_documented() {
    let server = MockServer::start().await.unwrap();
    let c = consumers(&server);
    // The SDK refuses what is not an email before sending.
    assert!(
        c.signup("not-an-email")
            .await
            .unwrap_err()
            .is_invalid_input()
    );
    assert!(c.login("").await.unwrap_err().is_invalid_input());

    let idem = [("Idempotency-Key", "bad-1")];
    let r = raw(
        &server,
        Method::POST,
        "/v1/consumer/signup",
        None,
        &[],
        Some(&json!({"email": "x@example.com"})),
    )
    .await;
    r.assert_envelope(400, "missing_idempotency_key");
    for (i, body) in [
        json!({"email": "not-an-email"}),
        json!({"email": 5}),
        json!({}),
        json!({"email": "x@example.com", "extra": 1}),
    ]
    .iter()
    .enumerate()
    {
        let key = format!("bad-body-{i}");
        let r = raw(
            &server,
            Method::POST,
            "/v1/consumer/signup",
            None,
            &[("Idempotency-Key", &key)],
            Some(body),
        )
        .await;
        r.assert_envelope(400, "invalid_request");
        assert!(!r.json.to_string().contains("not-an-email"), "{}", r.json);
    }
    let r = reqwest::Client::new()
        .post(format!("{}/v1/consumer/verify", server.base_url()))
        .header("Idempotency-Key", "bad-json")
        .header("Content-Type", "application/json")
        .body("{\"token\":")
        .send()
        .await
        .unwrap();
    Raw::from(r).await.assert_envelope(400, "invalid_json");
    let r = raw(
        &server,
        Method::POST,
        "/v1/consumer/verify",
        None,
        &idem,
        Some(&json!({"token": ""})),
    )
    .await;
    assert!(r.status == 401 || r.status == 400, "{}", r.json);

    let session = signed_in(&server, "frank@example.com").await;
    let token = bearer(&session);
    for (i, label) in ["".to_owned(), "a".repeat(129), "a\u{1}b".to_owned()]
        .iter()
        .enumerate()
    {
        let key = format!("label-{i}");
        let r = raw(
            &server,
            Method::POST,
            "/v1/consumer/identities",
            Some(&token),
            &[("Idempotency-Key", &key)],
            Some(&json!({ "label": label })),
        )
        .await;
        r.assert_envelope(400, "invalid_request");
    }
    // Consumer identities take no TTL.
    let r = raw(
        &server,
        Method::POST,
        "/v1/consumer/identities",
        Some(&token),
        &[("Idempotency-Key", "ttl")],
        Some(&json!({"label": "x", "ttl_hours": 1})),
    )
    .await;
    r.assert_envelope(400, "invalid_request");
    for q in ["limit=0", "limit=101", "limit=abc", "offset=-1"] {
        for p in ["/v1/consumer/identities", "/v1/consumer/notifications"] {
            let r = raw(
                &server,
                Method::GET,
                &format!("{p}?{q}"),
                Some(&token),
                &[],
                None,
            )
            .await;
            r.assert_envelope(400, "invalid_parameter");
        }
    }
    assert_eq!(session.identities(Page::default()).await.unwrap().total, 0);
}

// ------------------------------------------------------------- tier limits

#[tokio::test]
async fn tier_limits_expiry_and_upgrade() {
    let server = MockServer::start().await.unwrap();
    let session = signed_in(&server, "grace@example.com").await;

    // Trial: 3 active identities.
    for i in 0..3 {
        let ident = session
            .create_identity(&format!("trial-{i}"))
            .await
            .unwrap();
        assert_eq!(ident.status(), 201);
        assert_eq!(ident.status, IdentityStatus::Active);
        assert!(ident.email.ends_with("@inbox.aidenid.test"));
        assert_eq!(unix(&ident.expires_at) - unix(&ident.created_at), 24 * 3600);
    }
    let e = session.create_identity("trial-3").await.unwrap_err();
    assert_eq!(api(&e), (403, "identity_limit_reached".into()));
    assert_eq!(session.identities(Page::default()).await.unwrap().total, 3);

    // All expire after 24 h: room again (expired ones do not count).
    server.clock().advance(Duration::from_secs(25 * 3600));
    let fresh = session.create_identity("after-expiry").await.unwrap();
    assert_eq!(fresh.status, IdentityStatus::Active);
    let all: Vec<_> = session.identities_all(2).try_collect().await.unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(
        all.iter()
            .filter(|i| i.status == IdentityStatus::Expired)
            .count(),
        3
    );
    assert_eq!(all[3].id, fresh.id);

    // Upgrade: a checkout on the mock's own host; not paid until completed.
    let url = session.upgrade().await.unwrap().into_inner().checkout_url;
    assert!(url.starts_with(&server.base_url()), "{url}");
    session.create_identity("t2").await.unwrap();
    session.create_identity("t3").await.unwrap();
    let e = session.create_identity("t4").await.unwrap_err();
    assert_eq!(
        api(&e),
        (403, "identity_limit_reached".into()),
        "still trial"
    );

    let http = reqwest::Client::new();
    let done = http.post(format!("{url}/complete")).send().await.unwrap();
    assert_eq!(done.status(), 200);
    let v: Value = done.json().await.unwrap();
    assert_eq!(v["plan"], "human_paid", "{v}");
    assert_eq!(v["consumer_id"], session.info().consumer_id.as_str(), "{v}");
    let again = http.post(format!("{url}/complete")).send().await.unwrap();
    assert_eq!(again.status(), 409);
    let none = http
        .post(format!(
            "{}/__mock/checkout/cs_mock_nope/complete",
            server.base_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 404);

    // human_paid: 10 active (3 are active now).
    for i in 3..10 {
        session.create_identity(&format!("paid-{i}")).await.unwrap();
    }
    let e = session.create_identity("paid-10").await.unwrap_err();
    assert_eq!(api(&e), (403, "identity_limit_reached".into()));
    let list = session
        .identities(Page {
            limit: Some(100),
            offset: None,
        })
        .await
        .unwrap();
    assert_eq!(list.total, 13);
    assert_eq!(
        list.items
            .iter()
            .filter(|i| i.status == IdentityStatus::Active)
            .count(),
        10
    );

    // A second upgrade: 409.
    let e = session.upgrade().await.unwrap_err();
    assert_eq!(api(&e), (409, "already_upgraded".into()));

    // Another consumer is unaffected: still trial.
    let other = signed_in(&server, "heidi@example.com").await;
    for i in 0..3 {
        other.create_identity(&format!("o-{i}")).await.unwrap();
    }
    let e = other.create_identity("o-3").await.unwrap_err();
    assert_eq!(api(&e), (403, "identity_limit_reached".into()));
    assert_eq!(other.identities(Page::default()).await.unwrap().total, 3);
}

#[tokio::test]
async fn consumer_identities_are_private_to_their_consumer() {
    let server = MockServer::start().await.unwrap();
    let a = signed_in(&server, "ivan@example.com").await;
    let b = signed_in(&server, "judy@example.com").await;
    let ident = a.create_identity("mine").await.unwrap();
    assert_eq!(b.identities(Page::default()).await.unwrap().total, 0);
    assert_eq!(
        a.identities(Page::default()).await.unwrap().items[0].id,
        ident.id
    );
    // The agent API does not see consumer identities either.
    let seed = server.agent_key();
    let agent = authflow::AidenIdClient::builder()
        .api_key(seed.key.clone())
        .scope(&seed.org_id, &seed.project_id)
        .base_url(server.base_url())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let e = agent.identity(&ident.id).await.unwrap_err();
    assert_eq!(api(&e), (404, "identity_not_found".into()));
    assert_eq!(agent.identities(Page::default()).await.unwrap().total, 0);
}

// ------------------------------------------------------------ notifications

#[tokio::test]
async fn extraction_notifications_never_carry_the_code() {
    let server = MockServer::start().await.unwrap();
    let session = signed_in(&server, "kim@example.com").await;
    let ident = session.create_identity("twitter-signup").await.unwrap();
    assert_eq!(
        session.notifications(Page::default()).await.unwrap().total,
        0
    );

    let ids = deliver(
        &server,
        &ident.email,
        "Confirm your account",
        "Hi!\r\n\r\nYour verification code is 482913\r\n\r\nIt expires in 10 minutes.",
    )
    .await;
    assert_eq!(ids.len(), 1);

    let list = session
        .notifications(Page::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.total, 1);
    let n = &list.items[0];
    assert!(n.id.starts_with("notif_"), "{}", n.id);
    assert_eq!(n.kind, "extraction.completed");
    assert_eq!(n.title, "OTP received for twitter-signup");
    assert!(!n.read);
    assert!(!n.body.contains("482913"), "{}", n.body);
    assert!(n.body.contains('%'), "{}", n.body);
    let raw_list = raw(
        &server,
        Method::GET,
        "/v1/consumer/notifications",
        Some(&bearer(&session)),
        &[],
        None,
    )
    .await;
    assert_eq!(raw_list.status, 200);
    assert!(
        !raw_list.json.to_string().contains("482913"),
        "{}",
        raw_list.json
    );
    assert_eq!(raw_list.json["items"][0]["type"], "extraction.completed");
    assert_eq!(raw_list.json["items"][0]["read"], json!(false));

    // Mail without a code: no extraction notification.
    deliver(
        &server,
        &ident.email,
        "Welcome",
        "Thanks for joining. See you soon.",
    )
    .await;
    assert_eq!(
        session.notifications(Page::default()).await.unwrap().total,
        1
    );

    // Another consumer sees none of it.
    let other = signed_in(&server, "leo@example.com").await;
    assert_eq!(other.notifications(Page::default()).await.unwrap().total, 0);
}

#[tokio::test]
async fn expiry_warnings_within_the_last_hour() {
    let server = MockServer::start().await.unwrap();
    let session = signed_in(&server, "mallory@example.com").await;
    session.create_identity("short-lived").await.unwrap();
    let kinds = |l: &authflow::api::aidenid::NotificationList| {
        l.items.iter().map(|n| n.kind.clone()).collect::<Vec<_>>()
    };

    server.clock().advance(Duration::from_secs(22 * 3600));
    let l = session.notifications(Page::default()).await.unwrap();
    assert!(kinds(&l).is_empty(), "{l:?}");

    server.clock().advance(Duration::from_secs(3600 + 60)); // 59 minutes left
    let l = session.notifications(Page::default()).await.unwrap();
    assert_eq!(kinds(&l), ["identity.expiring"]);
    let n = &l.items[0];
    assert!(
        n.title.contains("short-lived") || n.body.contains("short-lived"),
        "{n:?}"
    );
    assert!(!n.read);
    assert_eq!(
        session.identities(Page::default()).await.unwrap().items[0].status,
        IdentityStatus::Active
    );

    // Listing again adds no duplicate.
    let l = session.notifications(Page::default()).await.unwrap();
    assert_eq!(l.total, 1);
}

// --------------------------------------------------------------------- SSE

#[tokio::test]
async fn inbox_stream_events_and_resume() {
    let server = MockServer::start().await.unwrap();
    let session = signed_in(&server, "nina@example.com").await;
    let token = bearer(&session);
    let ident = session.create_identity("twitter-signup").await.unwrap();

    let mut s = Stream::open(&server, Some(&token), None).await.unwrap();
    assert!(s.next_event(QUIET).await.is_none(), "nothing yet");
    let msg_ids = deliver(
        &server,
        &ident.email,
        "Your code",
        "Your verification code is 482913",
    )
    .await;
    assert_eq!(msg_ids.len(), 1);

    let first = s.next_event(WAIT).await.expect("inbound.received");
    assert_eq!(
        first.event.as_deref(),
        Some("inbound.received"),
        "{first:?}"
    );
    let d = first.json();
    assert_eq!(d["identity_id"], ident.id.as_str());
    assert_eq!(d["message_id"], msg_ids[0].as_str());
    let second = s.next_event(WAIT).await.expect("extraction.completed");
    assert_eq!(
        second.event.as_deref(),
        Some("extraction.completed"),
        "{second:?}"
    );
    let d = second.json();
    assert_eq!(d["identity_id"], ident.id.as_str());
    assert_eq!(d["message_id"], msg_ids[0].as_str());
    assert_eq!(d["type"], "otp");
    assert_eq!(d["redacted_value"], "***913");
    assert!(second.id_num() > first.id_num());
    assert!(s.next_event(QUIET).await.is_none(), "exactly two events");
    assert!(!s.all.contains("482913"), "{}", s.all);
    drop(s);

    // Resume after the first: only the second, once.
    let first_id = first.id.clone().unwrap();
    let mut r = Stream::open(&server, Some(&token), Some(&first_id))
        .await
        .unwrap();
    let again = r.next_event(WAIT).await.expect("the later event");
    assert_eq!(again.id, second.id);
    assert_eq!(again.event.as_deref(), Some("extraction.completed"));
    assert_eq!(again.json(), second.json());
    assert!(r.next_event(QUIET).await.is_none(), "nothing repeated");

    // Live events keep flowing on the resumed stream, in order.
    let more = deliver(&server, &ident.email, "Another", "Your OTP is 771204").await;
    let a = r.next_event(WAIT).await.unwrap();
    let b = r.next_event(WAIT).await.unwrap();
    assert_eq!(a.event.as_deref(), Some("inbound.received"));
    assert_eq!(b.event.as_deref(), Some("extraction.completed"));
    assert_eq!(a.json()["message_id"], more[0].as_str());
    assert_eq!(b.json()["redacted_value"], "***204");
    assert!(a.id_num() > second.id_num() && b.id_num() > a.id_num());
    drop(r);

    // Resume after the last: nothing.
    let last = b.id.clone().unwrap();
    let mut q = Stream::open(&server, Some(&token), Some(&last))
        .await
        .unwrap();
    assert!(q.next_event(QUIET).await.is_none());

    // Resume through the EventSource query fallback.
    let resp = reqwest::Client::new()
        .get(format!(
            "{}/v1/consumer/inbox?session_token={token}&last_event_id={first_id}",
            server.base_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut e = Stream {
        resp,
        buf: Vec::new(),
        all: String::new(),
    };
    let ids: Vec<Option<String>> = [
        e.next_event(WAIT).await.unwrap(),
        e.next_event(WAIT).await.unwrap(),
        e.next_event(WAIT).await.unwrap(),
    ]
    .iter()
    .map(|b| b.id.clone())
    .collect();
    assert_eq!(ids, [second.id.clone(), a.id.clone(), b.id.clone()]);
}

#[tokio::test]
async fn inbox_stream_refusals() {
    let server = MockServer::start().await.unwrap();
    let session = signed_in(&server, "oscar@example.com").await;
    let token = bearer(&session);
    for bad in ["abc", "-1", "1.5", "1e3", "18446744073709551616"] {
        let r = Stream::open(&server, Some(&token), Some(bad))
            .await
            .err()
            .unwrap();
        assert_eq!(r.status, 400, "{bad}: {}", r.json);
        r.assert_envelope(400, "invalid_parameter");
    }
    let r = Stream::open(&server, None, None).await.err().unwrap();
    r.assert_envelope(401, "unauthorized");
    let r = Stream::open(&server, Some("sess_nope"), None)
        .await
        .err()
        .unwrap();
    r.assert_envelope(401, "unauthorized");
    let r = raw(
        &server,
        Method::GET,
        "/v1/consumer/inbox",
        Some(&token),
        &[("X-Org-Id", "org_other")],
        None,
    )
    .await;
    r.assert_envelope(403, "scope_mismatch");
}

#[tokio::test]
async fn inbox_streams_are_per_consumer() {
    let server = MockServer::start().await.unwrap();
    let a = signed_in(&server, "peggy@example.com").await;
    let b = signed_in(&server, "quinn@example.com").await;
    let ia = a.create_identity("a").await.unwrap();
    let ib = b.create_identity("b").await.unwrap();
    let mut sa = Stream::open(&server, Some(&bearer(&a)), None)
        .await
        .unwrap();
    let mut sb = Stream::open(&server, Some(&bearer(&b)), None)
        .await
        .unwrap();

    deliver(&server, &ia.email, "For A", "Your code is 111222").await;
    deliver(&server, &ib.email, "For B", "Your code is 333444").await;
    for (s, ident, tail) in [(&mut sa, &ia, "***222"), (&mut sb, &ib, "***444")] {
        let x = s.next_event(WAIT).await.unwrap();
        let y = s.next_event(WAIT).await.unwrap();
        assert_eq!(x.json()["identity_id"], ident.id.as_str());
        assert_eq!(y.json()["identity_id"], ident.id.as_str());
        assert_eq!(y.json()["redacted_value"], tail);
        assert!(s.next_event(QUIET).await.is_none());
    }
    // Agent identities produce no consumer events.
    let seed = server.agent_key();
    let agent = authflow::AidenIdClient::builder()
        .api_key(seed.key.clone())
        .scope(&seed.org_id, &seed.project_id)
        .base_url(server.base_url())
        .build()
        .unwrap();
    let ag = agent
        .create_identity(&authflow::api::aidenid::CreateIdentityRequest {
            label: "agent".into(),
            ttl_hours: None,
        })
        .await
        .unwrap();
    assert_eq!(
        deliver(&server, &ag.email, "Agent", "Your code is 555666")
            .await
            .len(),
        1
    );
    assert!(sa.next_event(QUIET).await.is_none());
    assert!(sb.next_event(QUIET).await.is_none());
}

#[tokio::test]
async fn inbox_stream_heartbeats() {
    let server = MockServer::builder()
        .sse_heartbeat(Duration::from_millis(50))
        .start()
        .await
        .unwrap();
    let session = signed_in(&server, "rupert@example.com").await;
    let mut s = Stream::open(&server, Some(&bearer(&session)), None)
        .await
        .unwrap();
    let mut beats = 0;
    let deadline = Instant::now() + WAIT;
    while beats < 3 {
        let left = deadline
            .checked_duration_since(Instant::now())
            .expect("3 heartbeats in time");
        let b = s.next_block(left).await.expect("a heartbeat");
        assert!(
            b.event.is_none() && b.data.is_empty(),
            "only comments: {b:?}"
        );
        assert_eq!(b.comments, ["heartbeat"], "{b:?}");
        beats += 1;
    }
    // Comment lines (axum writes `: heartbeat`; the space is optional in SSE).
    assert!(
        s.all
            .lines()
            .filter(|l| !l.is_empty())
            .all(|l| l.starts_with(':') && l[1..].trim() == "heartbeat"),
        "{:?}",
        s.all
    );
}
