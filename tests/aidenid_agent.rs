//! The AIdenID agent API end to end: SDK (`AidenIdClient`) ↔ mock, with raw
//! `reqwest` wherever the exact wire matters.
//!
//! - auth: 401 `unauthorized` (no credential, unknown key), 403 `forbidden`
//!   (read-only key writing), 403 `scope_mismatch` (X-Org-Id/X-Project-Id),
//!   every one in the seed's envelope and decoded by the SDK into
//!   `Error::Api` without the key in `Display`/`Debug`;
//! - identities: create (201, documented shape, `expires_at` is `created_at`
//!   plus the TTL), get, list and the auto-paging stream over 45 identities,
//!   squash (409 the second time), 404 for unknown ids and for other scopes,
//!   expiry on the mock clock;
//! - idempotency: missing key, replay (also with reordered JSON keys),
//!   reuse with another payload, scoping per credential and route, the 24 h
//!   window, 100 concurrent requests with one key, and the SDK reusing one
//!   key across its own retries (proven through a proxy that loses the
//!   first response after the mock handled it);
//! - mail: an AuthFlow verification email sent to an identity's address
//!   lands in its inbox, extracted and redacted;
//! - bad input: malformed JSON, wrong types, unknown fields, bad labels and
//!   TTLs, bad paging parameters → documented 400 codes, never a 5xx.
//!
//! Expiry is driven by `server.clock().advance(..)`, never by sleeping.

// In tests a panic is the failure report, helpers included.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use authflow::api::aidenid::{CreateIdentityRequest, IdentityStatus, Page};
use authflow::{AidenIdClient, AuthFlowClient, Error, RequestOptions, RetryPolicy};
use authflow_mock::MockServer;
use authflow_mock::aidenid::AgentKeySeed;
use authflow_tests::RecordingSleep;
use futures_util::TryStreamExt;
use reqwest::Method;
use reqwest::header::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

// ------------------------------------------------------------------ helpers

const RW: &[&str] = &["identities:read", "identities:write"];

/// An SDK client for `seed` (no retries: an error is seen exactly once).
fn client(server: &MockServer, seed: &AgentKeySeed) -> AidenIdClient {
    client_at(&server.base_url(), seed)
}

fn client_at(base: &str, seed: &AgentKeySeed) -> AidenIdClient {
    AidenIdClient::builder()
        .api_key(seed.key.clone())
        .scope(&seed.org_id, &seed.project_id)
        .base_url(base)
        .retry(RetryPolicy::none())
        .build()
        .expect("valid client configuration")
}

fn create(label: &str, ttl_hours: Option<u32>) -> CreateIdentityRequest {
    CreateIdentityRequest {
        label: label.to_owned(),
        ttl_hours,
    }
}

/// A raw response: status, headers, body bytes and the body as JSON (or Null).
struct Raw {
    status: u16,
    headers: HeaderMap,
    bytes: Vec<u8>,
    json: Value,
}

impl Raw {
    async fn from(resp: reqwest::Response) -> Raw {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("body").to_vec();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Raw {
            status,
            headers,
            bytes,
            json,
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn replayed(&self) -> bool {
        self.header("idempotent-replayed") == Some("true")
    }

    /// Assert the seed's error envelope with `status` and `code` for `path`.
    #[track_caller]
    fn assert_envelope(&self, status: u16, code: &str, path: &str) {
        let v = &self.json;
        assert_eq!(self.status, status, "{v}");
        assert_eq!(v["error"]["code"], code, "{v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{v}"
        );
        let rid = v["requestId"].as_str().expect("top-level requestId");
        assert!(rid.starts_with("req_"), "{v}");
        assert_eq!(v["error"]["details"]["requestId"], rid, "{v}");
        assert_eq!(self.header("x-request-id"), Some(rid), "{v}");
        assert!(
            v["timestamp"].as_str().is_some_and(|t| t.contains('T')),
            "{v}"
        );
        assert_eq!(v["path"], path, "{v}");
        assert_eq!(v["retryable"], json!(false), "{v}");
        assert!(
            self.header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "{v}"
        );
    }
}

/// Raw requests with an agent key's credential and scope headers.
struct Wire {
    http: reqwest::Client,
    base: String,
}

impl Wire {
    fn new(server: &MockServer) -> Wire {
        Wire {
            http: reqwest::Client::new(),
            base: server.base_url(),
        }
    }

    fn bare(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base))
    }

    fn authed(&self, seed: &AgentKeySeed, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.bare(method, path)
            .bearer_auth(seed.key.expose_secret())
            .header("X-Org-Id", &seed.org_id)
            .header("X-Project-Id", &seed.project_id)
    }

    async fn get(&self, seed: &AgentKeySeed, path: &str) -> Raw {
        Raw::from(
            self.authed(seed, Method::GET, path)
                .send()
                .await
                .expect("send"),
        )
        .await
    }

    /// POST a raw body with an Idempotency-Key.
    async fn post(&self, seed: &AgentKeySeed, path: &str, key: &str, body: &str) -> Raw {
        Raw::from(
            self.authed(seed, Method::POST, path)
                .header("Idempotency-Key", key)
                .header("Content-Type", "application/json")
                .body(body.to_owned())
                .send()
                .await
                .expect("send"),
        )
        .await
    }
}

/// `(status, code, request id, retryable)` of an API error.
#[track_caller]
fn api(e: &Error) -> (u16, String, String, bool) {
    match e {
        Error::Api {
            status,
            code,
            request_id,
            retryable,
            ..
        } => (
            *status,
            code.as_str().to_owned(),
            request_id.clone().expect("request id"),
            *retryable,
        ),
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// Assert an SDK error is the documented, non-retryable `status`/`code`
/// with a request id, and that `secret` is in neither its Display nor Debug.
#[track_caller]
fn assert_api(e: &Error, status: u16, code: &str, secret: &str) {
    let (s, c, rid, retryable) = api(e);
    assert_eq!((s, c.as_str()), (status, code), "{e}");
    assert!(rid.starts_with("req_"), "{e}");
    assert!(!retryable, "{e}");
    assert!(!e.to_string().contains(secret), "key in Display: {e}");
    assert!(!format!("{e:?}").contains(secret), "key in Debug: {e:?}");
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
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + hh * 3600 + mm * 60 + ss
}

/// A server with two full-access keys for two different orgs.
async fn two_orgs() -> (MockServer, AgentKeySeed, AgentKeySeed) {
    let a = AgentKeySeed::generate(RW);
    let mut b = AgentKeySeed::generate(RW);
    if b.org_id == a.org_id {
        b.org_id.push('b');
        b.project_id.push('b');
    }
    let server = MockServer::builder()
        .agent_key(a.clone())
        .agent_key(b.clone())
        .start()
        .await
        .expect("mock server");
    (server, a, b)
}

async fn total(wire: &Wire, seed: &AgentKeySeed) -> u64 {
    let r = wire.get(seed, "/v1/identities").await;
    assert_eq!(r.status, 200, "{}", r.json);
    r.json["total"].as_u64().unwrap()
}

// --------------------------------------------------------------------- auth

#[tokio::test]
async fn missing_or_unknown_credentials_are_401_envelopes() {
    let server = MockServer::start().await.unwrap();
    let wire = Wire::new(&server);
    let seed = server.agent_key();

    // No credential at all, on a read and on a mutation (with a key, so the
    // idempotency check is not what answers).
    let r = Raw::from(
        wire.bare(Method::GET, "/v1/identities")
            .header("X-Org-Id", &seed.org_id)
            .header("X-Project-Id", &seed.project_id)
            .send()
            .await
            .unwrap(),
    )
    .await;
    r.assert_envelope(401, "unauthorized", "/v1/identities");
    let r = Raw::from(
        wire.bare(Method::POST, "/v1/identities")
            .header("Idempotency-Key", "k-noauth")
            .json(&json!({"label": "x"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    r.assert_envelope(401, "unauthorized", "/v1/identities");

    // A malformed scheme and an unknown key.
    for auth in [
        "Basic YWxhZGRpbjpvcGVuc2VzYW1l",
        "Bearer",
        "Bearer aid_0000000000000000deadbeef",
    ] {
        let r = Raw::from(
            wire.bare(Method::GET, "/v1/identities")
                .header("Authorization", auth)
                .header("X-Org-Id", &seed.org_id)
                .header("X-Project-Id", &seed.project_id)
                .send()
                .await
                .unwrap(),
        )
        .await;
        r.assert_envelope(401, "unauthorized", "/v1/identities");
        assert!(!String::from_utf8_lossy(&r.bytes).contains("deadbeef"));
    }

    // The SDK with an unknown key: Error::Api 401, key never shown.
    let unknown = AgentKeySeed {
        key: SecretString::from("aid_5ecre7k3y5ecre7k3y5ecre7k3y0000".to_owned()),
        ..seed.clone()
    };
    let sdk = client(&server, &unknown);
    let e = sdk.identities(Page::default()).await.unwrap_err();
    assert_api(&e, 401, "unauthorized", unknown.key.expose_secret());
    let e = sdk.create_identity(&create("x", None)).await.unwrap_err();
    assert_api(&e, 401, "unauthorized", unknown.key.expose_secret());
    assert!(!format!("{sdk:?}").contains(unknown.key.expose_secret()));
}

#[tokio::test]
async fn read_only_key_cannot_write() {
    let server = MockServer::start().await.unwrap();
    let wire = Wire::new(&server);
    let ro = server.agent_key_read_only();
    let rw = server.agent_key();
    assert_eq!(
        (ro.org_id.as_str(), ro.project_id.as_str()),
        (rw.org_id.as_str(), rw.project_id.as_str())
    );

    // Reads work.
    let r = wire.get(&ro, "/v1/identities").await;
    assert_eq!(r.status, 200, "{}", r.json);

    // Writes are 403 forbidden, raw and through the SDK.
    let r = wire
        .post(&ro, "/v1/identities", "ro-1", r#"{"label":"nope"}"#)
        .await;
    r.assert_envelope(403, "forbidden", "/v1/identities");
    let sdk = client(&server, &ro);
    let e = sdk
        .create_identity(&create("nope", None))
        .await
        .unwrap_err();
    assert_api(&e, 403, "forbidden", ro.key.expose_secret());

    let ident = client(&server, &rw)
        .create_identity(&create("mine", None))
        .await
        .unwrap();
    let e = sdk.squash_identity(&ident.id).await.unwrap_err();
    assert_api(&e, 403, "forbidden", ro.key.expose_secret());
    // The read-only key sees it (same org and project) and it is still active.
    assert_eq!(
        sdk.identity(&ident.id).await.unwrap().status,
        IdentityStatus::Active
    );
    assert_eq!(total(&wire, &rw).await, 1);
}

#[tokio::test]
async fn scope_headers_must_match_the_key() {
    let (server, a, b) = two_orgs().await;
    let wire = Wire::new(&server);

    let cases: Vec<(Option<&str>, Option<&str>)> = vec![
        (None, Some(&a.project_id)),
        (Some(&a.org_id), None),
        (None, None),
        (Some("org_other"), Some(&a.project_id)),
        (Some(&a.org_id), Some("proj_other")),
        (Some(&b.org_id), Some(&b.project_id)),
        (Some(""), Some("")),
    ];
    for (org, project) in cases {
        let mut rb = wire
            .bare(Method::GET, "/v1/identities")
            .bearer_auth(a.key.expose_secret());
        if let Some(o) = org {
            rb = rb.header("X-Org-Id", o);
        }
        if let Some(p) = project {
            rb = rb.header("X-Project-Id", p);
        }
        let r = Raw::from(rb.send().await.unwrap()).await;
        r.assert_envelope(403, "scope_mismatch", "/v1/identities");
    }

    // The SDK configured with the wrong scope.
    for (org, project) in [
        ("org_other", a.project_id.as_str()),
        (b.org_id.as_str(), b.project_id.as_str()),
    ] {
        let sdk = AidenIdClient::builder()
            .api_key(a.key.clone())
            .scope(org, project)
            .base_url(server.base_url())
            .retry(RetryPolicy::none())
            .build()
            .unwrap();
        let e = sdk.identities(Page::default()).await.unwrap_err();
        assert_api(&e, 403, "scope_mismatch", a.key.expose_secret());
        let e = sdk.create_identity(&create("x", None)).await.unwrap_err();
        assert_api(&e, 403, "scope_mismatch", a.key.expose_secret());
    }
    assert_eq!(total(&wire, &a).await, 0);
}

#[tokio::test]
async fn sdk_errors_carry_the_envelope_request_id() {
    let server = MockServer::start().await.unwrap();
    let seed = server.agent_key();
    let sdk = client(&server, &seed);
    let e = sdk.identity("ident_doesnotexist").await.unwrap_err();
    assert_api(&e, 404, "identity_not_found", seed.key.expose_secret());
    // The request id the SDK reports is the one the mock journaled a 404 for
    // and is distinct per request.
    let e2 = sdk.identity("ident_doesnotexist").await.unwrap_err();
    assert_ne!(api(&e).2, api(&e2).2);
    // Success responses carry one too.
    let ok = sdk.identities(Page::default()).await.unwrap();
    assert!(ok.request_id().is_some_and(|r| r.starts_with("req_")));
}

// --------------------------------------------------------------- identities

#[tokio::test]
async fn create_get_and_the_documented_shape() {
    let server = MockServer::start().await.unwrap();
    let wire = Wire::new(&server);
    let seed = server.agent_key();

    // Raw: 201 with exactly the documented fields.
    let r = wire
        .post(
            &seed,
            "/v1/identities",
            "shape-1",
            r#"{"label":"reset-test","ttl_hours":1}"#,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert!(!r.replayed());
    let v = &r.json;
    let fields: HashSet<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        fields,
        HashSet::from(["id", "email", "label", "status", "created_at", "expires_at"])
    );
    let id = v["id"].as_str().unwrap();
    assert!(id.starts_with("ident_") && id.len() > 6, "{v}");
    let email = v["email"].as_str().unwrap();
    assert!(email.ends_with("@inbox.aidenid.test"), "{v}");
    assert_eq!(email, email.to_lowercase());
    assert_eq!(v["label"], "reset-test");
    assert_eq!(v["status"], "active");
    let created = unix(v["created_at"].as_str().unwrap());
    let expires = unix(v["expires_at"].as_str().unwrap());
    assert_eq!(expires - created, 3600, "{v}");
    assert!((created - server.clock().now_secs()).abs() <= 2, "{v}");
    // RFC 3339 to the second.
    assert_eq!(v["created_at"].as_str().unwrap().len(), 20, "{v}");

    // SDK: create with the default and a long TTL; get returns the same.
    let sdk = client(&server, &seed);
    let resp = sdk
        .create_identity(&create("default-ttl", None))
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let d = resp.into_inner();
    assert_eq!(unix(&d.expires_at) - unix(&d.created_at), 24 * 3600);
    let long = sdk
        .create_identity(&create("long", Some(720)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(unix(&long.expires_at) - unix(&long.created_at), 720 * 3600);
    assert_ne!(long.email, d.email);
    assert_ne!(long.id, d.id);
    assert_eq!(sdk.identity(&d.id).await.unwrap().into_inner(), d);
    let raw_get = wire.get(&seed, &format!("/v1/identities/{id}")).await;
    assert_eq!(raw_get.status, 200);
    assert_eq!(raw_get.json, r.json);

    // Labels are trimmed; unicode counts as characters.
    let l = sdk
        .create_identity(&create(&"é".repeat(128), None))
        .await
        .unwrap();
    assert_eq!(l.label.chars().count(), 128);
}

#[tokio::test]
async fn list_pages_and_the_auto_paging_stream() {
    let server = MockServer::start().await.unwrap();
    let seed = server.agent_key();
    let sdk = client(&server, &seed);
    let mut created = Vec::new();
    for i in 0..45 {
        let ident = sdk
            .create_identity(&create(&format!("id-{i:02}"), None))
            .await
            .unwrap()
            .into_inner();
        created.push(ident.id);
    }

    let page = sdk
        .identities(Page {
            limit: Some(10),
            offset: Some(40),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((page.total, page.limit, page.offset), (45, 10, 40));
    assert_eq!(
        page.items.iter().map(|i| i.id.clone()).collect::<Vec<_>>(),
        created[40..].to_vec()
    );
    let first = sdk.identities(Page::default()).await.unwrap().into_inner();
    assert_eq!((first.items.len(), first.limit, first.offset), (20, 20, 0));
    let beyond = sdk
        .identities(Page {
            limit: Some(100),
            offset: Some(1000),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(beyond.items.is_empty());
    assert_eq!(beyond.total, 45);

    for size in [1, 7, 45, 100] {
        let all: Vec<String> = sdk
            .identities_all(size)
            .map_ok(|i| i.id)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(
            all, created,
            "page size {size}: no gaps, no repeats, in order"
        );
    }
}

#[tokio::test]
async fn squash_then_conflict_and_unknown_ids() {
    let server = MockServer::start().await.unwrap();
    let seed = server.agent_key();
    let sdk = client(&server, &seed);
    let wire = Wire::new(&server);
    let ident = sdk.create_identity(&create("sq", None)).await.unwrap();

    let squashed = sdk.squash_identity(&ident.id).await.unwrap().into_inner();
    assert_eq!(squashed.status, IdentityStatus::Squashed);
    assert_eq!(
        (squashed.id.as_str(), squashed.email.as_str()),
        (ident.id.as_str(), ident.email.as_str())
    );
    assert_eq!(
        sdk.identity(&ident.id).await.unwrap().status,
        IdentityStatus::Squashed
    );

    let e = sdk.squash_identity(&ident.id).await.unwrap_err();
    assert_api(
        &e,
        409,
        "identity_already_squashed",
        seed.key.expose_secret(),
    );
    let path = format!("/v1/identities/{}/squash", ident.id);
    wire.post(&seed, &path, "sq-raw", "").await.assert_envelope(
        409,
        "identity_already_squashed",
        &path,
    );

    // Unknown ids: 404 identity_not_found on every identity route.
    let e = sdk.identity("ident_0000").await.unwrap_err();
    assert_api(&e, 404, "identity_not_found", seed.key.expose_secret());
    let e = sdk.squash_identity("ident_0000").await.unwrap_err();
    assert_api(&e, 404, "identity_not_found", seed.key.expose_secret());
    let e = sdk
        .messages("ident_0000", Page::default())
        .await
        .unwrap_err();
    assert_api(&e, 404, "identity_not_found", seed.key.expose_secret());
    for id in ["x", "ident_%2F..", "%00", &"a".repeat(2000), "ident_ü"] {
        let p = format!("/v1/identities/{id}");
        let r = wire.get(&seed, &p).await;
        assert_eq!(r.status, 404, "{id}: {}", r.json);
        assert_eq!(r.json["error"]["code"], "identity_not_found", "{id}");
    }
}

#[tokio::test]
async fn another_scope_cannot_see_or_touch_an_identity() {
    let (server, a, b) = two_orgs().await;
    let wire = Wire::new(&server);
    let sa = client(&server, &a);
    let sb = client(&server, &b);
    let ident = sa.create_identity(&create("private", None)).await.unwrap();

    let e = sb.identity(&ident.id).await.unwrap_err();
    assert_api(&e, 404, "identity_not_found", b.key.expose_secret());
    let e = sb.squash_identity(&ident.id).await.unwrap_err();
    assert_api(&e, 404, "identity_not_found", b.key.expose_secret());
    let e = sb.messages(&ident.id, Page::default()).await.unwrap_err();
    assert_api(&e, 404, "identity_not_found", b.key.expose_secret());
    let list = sb.identities(Page::default()).await.unwrap();
    assert_eq!(list.total, 0);
    assert!(list.items.is_empty());

    // Still A's and still active.
    assert_eq!(
        sa.identity(&ident.id).await.unwrap().status,
        IdentityStatus::Active
    );
    assert_eq!(total(&wire, &a).await, 1);
}

#[tokio::test]
async fn ttl_passes_on_the_mock_clock() {
    let server = MockServer::start().await.unwrap();
    let sdk = client(&server, &server.agent_key());
    let short = sdk
        .create_identity(&create("short", Some(1)))
        .await
        .unwrap();
    let long = sdk.create_identity(&create("long", Some(2))).await.unwrap();

    server.clock().advance(Duration::from_secs(3600 - 30));
    assert_eq!(
        sdk.identity(&short.id).await.unwrap().status,
        IdentityStatus::Active
    );
    server.clock().advance(Duration::from_secs(31));
    assert_eq!(
        sdk.identity(&short.id).await.unwrap().status,
        IdentityStatus::Expired
    );
    assert_eq!(
        sdk.identity(&long.id).await.unwrap().status,
        IdentityStatus::Active
    );
    let statuses: Vec<IdentityStatus> = sdk
        .identities(Page::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(|i| i.status)
        .collect();
    assert_eq!(statuses, [IdentityStatus::Expired, IdentityStatus::Active]);
    server.clock().advance(Duration::from_secs(3600));
    assert_eq!(
        sdk.identity(&long.id).await.unwrap().status,
        IdentityStatus::Expired
    );
}

// -------------------------------------------------------------- idempotency

#[tokio::test]
async fn mutations_need_an_idempotency_key() {
    let server = MockServer::start().await.unwrap();
    let wire = Wire::new(&server);
    let seed = server.agent_key();
    let r = Raw::from(
        wire.authed(&seed, Method::POST, "/v1/identities")
            .json(&json!({"label": "x"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    r.assert_envelope(400, "missing_idempotency_key", "/v1/identities");

    let ident = client(&server, &seed)
        .create_identity(&create("x", None))
        .await
        .unwrap();
    let path = format!("/v1/identities/{}/squash", ident.id);
    let r = Raw::from(
        wire.authed(&seed, Method::POST, &path)
            .send()
            .await
            .unwrap(),
    )
    .await;
    r.assert_envelope(400, "missing_idempotency_key", &path);
    // Only the SDK's create happened; the squash did not.
    assert_eq!(total(&wire, &seed).await, 1);
    assert_eq!(
        client(&server, &seed)
            .identity(&ident.id)
            .await
            .unwrap()
            .status,
        IdentityStatus::Active
    );
}

#[tokio::test]
async fn same_key_same_payload_replays_exactly() {
    let server = MockServer::start().await.unwrap();
    let wire = Wire::new(&server);
    let seed = server.agent_key();

    let first = wire
        .post(
            &seed,
            "/v1/identities",
            "rep-1",
            r#"{"label":"replay","ttl_hours":3}"#,
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.json);
    assert!(!first.replayed());
    // Later on the clock, with the keys reordered and other whitespace: the
    // same payload.
    server.clock().advance(Duration::from_secs(120));
    for body in [
        r#"{"label":"replay","ttl_hours":3}"#,
        r#"{"ttl_hours":3,"label":"replay"}"#,
        "{ \"ttl_hours\" : 3 ,\n \"label\" : \"replay\" }",
    ] {
        let again = wire.post(&seed, "/v1/identities", "rep-1", body).await;
        assert_eq!(again.status, 201, "{}", again.json);
        assert!(again.replayed(), "{body}");
        assert_eq!(again.bytes, first.bytes, "identical body for {body}");
    }
    assert_eq!(total(&wire, &seed).await, 1);

    // Another payload with the key: 409, nothing created.
    let other = wire
        .post(
            &seed,
            "/v1/identities",
            "rep-1",
            r#"{"label":"replay","ttl_hours":4}"#,
        )
        .await;
    other.assert_envelope(409, "idempotency_key_reused", "/v1/identities");
    assert_eq!(total(&wire, &seed).await, 1);

    // The same key on another route is another scope: the squash runs.
    let id = first.json["id"].as_str().unwrap();
    let path = format!("/v1/identities/{id}/squash");
    let sq = wire.post(&seed, &path, "rep-1", "").await;
    assert_eq!(sq.status, 200, "{}", sq.json);
    assert_eq!(sq.json["status"], "squashed");
    assert!(!sq.replayed());
    // And replaying the squash answers its first response again (200, not 409).
    let sq2 = wire.post(&seed, &path, "rep-1", "").await;
    assert_eq!(sq2.status, 200, "{}", sq2.json);
    assert!(sq2.replayed());
    assert_eq!(sq2.bytes, sq.bytes);
}

#[tokio::test]
async fn keys_are_scoped_per_credential() {
    let server = MockServer::start().await.unwrap();
    let wire = Wire::new(&server);
    let full = server.agent_key();
    let other = server.agent_key_with_secrets();
    assert_ne!(full.key.expose_secret(), other.key.expose_secret());
    let body = r#"{"label":"scoped"}"#;
    let a = wire.post(&full, "/v1/identities", "shared-key", body).await;
    let b = wire
        .post(&other, "/v1/identities", "shared-key", body)
        .await;
    assert_eq!((a.status, b.status), (201, 201));
    assert!(!b.replayed());
    assert_ne!(a.json["id"], b.json["id"]);
    // Both keys hold the same org and project: two identities there.
    assert_eq!(total(&wire, &full).await, 2);

    // Another org's key with the same key and a different payload: no 409.
    let (server2, x, y) = two_orgs().await;
    let wire2 = Wire::new(&server2);
    let r1 = wire2
        .post(&x, "/v1/identities", "k", r#"{"label":"a"}"#)
        .await;
    let r2 = wire2
        .post(&y, "/v1/identities", "k", r#"{"label":"b"}"#)
        .await;
    assert_eq!(
        (r1.status, r2.status),
        (201, 201),
        "{} {}",
        r1.json,
        r2.json
    );
}

#[tokio::test]
async fn keys_are_kept_24_hours() {
    let server = MockServer::start().await.unwrap();
    let wire = Wire::new(&server);
    let seed = server.agent_key();
    let body = r#"{"label":"day","ttl_hours":720}"#;
    let first = wire.post(&seed, "/v1/identities", "day-key", body).await;
    assert_eq!(first.status, 201);

    server.clock().advance(Duration::from_secs(24 * 3600 - 60));
    let replay = wire.post(&seed, "/v1/identities", "day-key", body).await;
    assert!(replay.replayed());
    assert_eq!(replay.bytes, first.bytes);

    server.clock().advance(Duration::from_secs(61));
    let fresh = wire.post(&seed, "/v1/identities", "day-key", body).await;
    assert_eq!(fresh.status, 201, "{}", fresh.json);
    assert!(!fresh.replayed());
    assert_ne!(fresh.json["id"], first.json["id"]);
    assert_eq!(total(&wire, &seed).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundred_concurrent_requests_create_one_identity() {
    let server = MockServer::start().await.unwrap();
    let seed = server.agent_key();
    let http = reqwest::Client::new();
    let url = format!("{}/v1/identities", server.base_url());
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let (http, url, seed) = (http.clone(), url.clone(), seed.clone());
        tasks.push(tokio::spawn(async move {
            let resp = http
                .post(url)
                .bearer_auth(seed.key.expose_secret())
                .header("X-Org-Id", &seed.org_id)
                .header("X-Project-Id", &seed.project_id)
                .header("Idempotency-Key", "one-key-for-all")
                .json(&json!({"label": "race", "ttl_hours": 5}))
                .send()
                .await
                .unwrap();
            Raw::from(resp).await
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    assert!(
        results.iter().all(|r| r.status == 201),
        "every answer is the 201"
    );
    let bodies: HashSet<&[u8]> = results.iter().map(|r| r.bytes.as_slice()).collect();
    assert_eq!(bodies.len(), 1, "100 identical bodies");
    let replays = results.iter().filter(|r| r.replayed()).count();
    assert_eq!(replays, 99, "one ran, 99 replayed");
    assert_eq!(total(&Wire::new(&server), &seed).await, 1);
}

#[tokio::test]
async fn sdk_retries_after_an_injected_503_create_one_identity() {
    let server = MockServer::start().await.unwrap();
    let seed = server.agent_key();
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/__mock/faults", server.base_url()))
        .json(&json!({"route": "createIdentity", "status": 503, "times": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    let sleep = Arc::new(RecordingSleep::default());
    let sdk = AidenIdClient::builder()
        .api_key(seed.key.clone())
        .scope(&seed.org_id, &seed.project_id)
        .base_url(server.base_url())
        .retry(RetryPolicy::default().max_retries(2).jitter(false))
        .sleeper(sleep.clone())
        .build()
        .unwrap();
    let ident = sdk.create_identity(&create("retried", None)).await.unwrap();
    assert_eq!(sleep.delays().len(), 1, "one retry");
    let list = sdk.identities(Page::default()).await.unwrap();
    assert_eq!(list.total, 1);
    assert_eq!(list.items[0].id, ident.id);
    let statuses: Vec<u16> = server
        .requests()
        .iter()
        .filter(|e| e.route.as_deref() == Some("createIdentity"))
        .map(|e| e.status)
        .collect();
    assert_eq!(statuses, [503, 201]);
}

/// A proxy in front of the mock that records each request's
/// `Idempotency-Key` and, for the first POST, forwards it (the mock creates
/// the identity) but answers 503: a response lost after the work was done.
#[derive(Clone)]
struct LossyProxy {
    upstream: String,
    http: reqwest::Client,
    keys: Arc<Mutex<Vec<(String, bool)>>>,
    lost_one: Arc<AtomicBool>,
}

async fn lossy_forward(
    axum::extract::State(p): axum::extract::State<LossyProxy>,
    req: axum::extract::Request,
) -> axum::response::Response {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let mut rb = p
        .http
        .request(parts.method.clone(), format!("{}{path}", p.upstream))
        .body(bytes.to_vec());
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            rb = rb.header(name, value);
        }
    }
    let resp = rb.send().await.unwrap();
    let status = resp.status();
    let replayed = resp.headers().get("idempotent-replayed").is_some();
    let headers = resp.headers().clone();
    let body = resp.bytes().await.unwrap();
    if parts.method == Method::POST {
        let key = parts
            .headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        p.keys.lock().unwrap().push((key, replayed));
        if !p.lost_one.swap(true, Ordering::SeqCst) {
            let mut lost = axum::response::Response::new(axum::body::Body::from(
                r#"{"message":"upstream response lost"}"#,
            ));
            *lost.status_mut() = axum::http::StatusCode::SERVICE_UNAVAILABLE;
            return lost;
        }
    }
    let mut out = axum::response::Response::new(axum::body::Body::from(body));
    *out.status_mut() = status;
    for (name, value) in &headers {
        if name != "content-length" && name != "transfer-encoding" {
            out.headers_mut().insert(name, value.clone());
        }
    }
    out
}

#[tokio::test]
async fn sdk_reuses_one_key_across_its_retries() {
    let server = MockServer::start().await.unwrap();
    let seed = server.agent_key();
    let proxy = LossyProxy {
        upstream: server.base_url(),
        http: reqwest::Client::new(),
        keys: Arc::default(),
        lost_one: Arc::default(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .fallback(lossy_forward)
        .with_state(proxy.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let sleep = Arc::new(RecordingSleep::default());
    let sdk = AidenIdClient::builder()
        .api_key(seed.key.clone())
        .scope(&seed.org_id, &seed.project_id)
        .base_url(&proxy_url)
        .retry(RetryPolicy::default().max_retries(2).jitter(false))
        .sleeper(sleep.clone())
        .build()
        .unwrap();
    let ident = sdk
        .create_identity(&create("lost-response", None))
        .await
        .unwrap();
    let keys = proxy.keys.lock().unwrap().clone();
    assert_eq!(keys.len(), 2, "one lost attempt, one retry: {keys:?}");
    assert!(!keys[0].0.is_empty());
    assert_eq!(keys[0].0, keys[1].0, "the retry reused the key");
    assert!(!keys[0].1 && keys[1].1, "the retry was a replay");
    let mock = client(&server, &seed);
    let list = mock.identities(Page::default()).await.unwrap();
    assert_eq!(
        list.total, 1,
        "the lost attempt's identity is the one returned"
    );
    assert_eq!(list.items[0].id, ident.id);

    // A new call is a new intent: a new key, a new identity.
    sdk.create_identity(&create("lost-response", None))
        .await
        .unwrap();
    let keys = proxy.keys.lock().unwrap().clone();
    assert_eq!(keys.len(), 3);
    assert_ne!(keys[2].0, keys[0].0);
    assert_eq!(mock.identities(Page::default()).await.unwrap().total, 2);
}

#[tokio::test]
async fn caller_supplied_key_replays_across_calls() {
    let server = MockServer::start().await.unwrap();
    let seed = server.agent_key();
    let sdk = client(&server, &seed);
    let keyed = sdk.with_options(RequestOptions::new().idempotency_key("order-42-identity"));
    let a = keyed
        .create_identity(&create("order-42", Some(2)))
        .await
        .unwrap();
    let b = keyed
        .create_identity(&create("order-42", Some(2)))
        .await
        .unwrap();
    assert_eq!(a.id, b.id);
    assert_eq!(a.into_inner(), b.into_inner());
    let e = keyed
        .create_identity(&create("order-43", Some(2)))
        .await
        .unwrap_err();
    assert_api(&e, 409, "idempotency_key_reused", seed.key.expose_secret());
    assert_eq!(sdk.identities(Page::default()).await.unwrap().total, 1);
    // Without the option, every call is its own intent.
    sdk.create_identity(&create("order-42", Some(2)))
        .await
        .unwrap();
    sdk.create_identity(&create("order-42", Some(2)))
        .await
        .unwrap();
    assert_eq!(sdk.identities(Page::default()).await.unwrap().total, 3);
}

// --------------------------------------------------------------------- mail

#[tokio::test]
async fn authflow_mail_lands_in_the_identity_inbox_redacted() {
    let server = MockServer::start().await.unwrap();
    let seed = server.agent_key();
    let sdk = client(&server, &seed);
    let ident = sdk
        .create_identity(&create("signup-test", Some(1)))
        .await
        .unwrap()
        .into_inner();
    let other = sdk
        .create_identity(&create("bystander", Some(1)))
        .await
        .unwrap()
        .into_inner();

    let af = AuthFlowClient::builder()
        .api_key(server.api_key())
        .base_url(server.base_url())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    af.sign_up(
        &ident.email,
        &SecretString::from("TestPass123!"),
        "Agent Identity",
        "detective",
    )
    .await
    .expect("sign-up to the identity's address");

    let mail = server
        .emails()
        .latest(&ident.email)
        .expect("verification email");
    let link = mail
        .links
        .iter()
        .find(|l| l.contains("token="))
        .expect("a link with a token")
        .clone();
    let token = link
        .split("token=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    assert!(token.len() > 8, "{token}");

    let msgs = sdk
        .messages(&ident.id, Page::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(msgs.total, 1);
    let m = &msgs.items[0];
    assert_eq!(m.identity_id, ident.id);
    assert!(m.id.starts_with("msg_"), "{}", m.id);
    assert_eq!(m.subject, mail.subject);
    let x = m.extraction.as_ref().expect("an extraction");
    assert_eq!(x.kind, "link");
    assert!(x.redacted_value.starts_with("***"), "{}", x.redacted_value);
    assert!(x.redacted_value.len() <= 6, "{}", x.redacted_value);
    assert!(token.ends_with(&x.redacted_value[3..]));
    assert!((0.0..=1.0).contains(&x.confidence));

    // No full token anywhere on the wire.
    let raw = Wire::new(&server)
        .get(&seed, &format!("/v1/identities/{}/messages", ident.id))
        .await;
    assert_eq!(raw.status, 200);
    let text = String::from_utf8_lossy(&raw.bytes);
    assert!(!text.contains(token), "token leaked: {text}");
    assert!(!text.contains(&link));

    // Nothing arrived for the bystander.
    assert_eq!(
        sdk.messages(&other.id, Page::default())
            .await
            .unwrap()
            .total,
        0
    );

    // A squashed identity receives nothing more.
    sdk.squash_identity(&ident.id).await.unwrap();
    let mime = format!(
        "From: App <no-reply@app.example>\r\nTo: {}\r\nSubject: Code\r\n\r\nYour code is 123456\r\n",
        ident.email
    );
    let r = reqwest::Client::new()
        .post(format!("{}/__mock/inbound", server.base_url()))
        .body(mime)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["delivered"], json!([]), "{v}");
    assert_eq!(
        sdk.messages(&ident.id, Page::default())
            .await
            .unwrap()
            .total,
        1
    );
}

// ---------------------------------------------------------------- bad input

#[tokio::test]
async fn bad_bodies_are_documented_400s() {
    let server = MockServer::start().await.unwrap();
    let wire = Wire::new(&server);
    let seed = server.agent_key();
    let long = format!(r#"{{"label":"{}"}}"#, "a".repeat(129));
    let cases: Vec<(&str, &str)> = vec![
        (r#"{"label":"#, "invalid_json"),
        ("{label: x}", "invalid_json"),
        (r#"{"label":"x"} trailing"#, "invalid_json"),
        ("", "invalid_request"),
        ("[]", "invalid_request"),
        ("\"x\"", "invalid_request"),
        ("{}", "invalid_request"),
        (r#"{"label":5}"#, "invalid_request"),
        (r#"{"label":null}"#, "invalid_request"),
        (r#"{"label":"x","ttl_hours":"x"}"#, "invalid_request"),
        (r#"{"label":"x","ttl_hours":-1}"#, "invalid_request"),
        (r#"{"label":"x","ttl_hours":1.5}"#, "invalid_request"),
        (
            r#"{"label":"x","ttl_hours":99999999999}"#,
            "invalid_request",
        ),
        (
            r#"{"label":"x","zz_unknown_field_zz":1}"#,
            "invalid_request",
        ),
        (r#"{"label":""}"#, "invalid_request"),
        (r#"{"label":"   "}"#, "invalid_request"),
        (&long, "invalid_request"),
        (r#"{"label":"a\u0001b"}"#, "invalid_request"),
        (r#"{"label":"a\nb"}"#, "invalid_request"),
        (r#"{"label":"x","ttl_hours":0}"#, "invalid_request"),
        (r#"{"label":"x","ttl_hours":721}"#, "invalid_request"),
    ];
    for (i, (body, code)) in cases.iter().enumerate() {
        let r = wire
            .post(&seed, "/v1/identities", &format!("bad-{i}"), body)
            .await;
        assert!(r.status < 500, "{body}: {}", r.status);
        r.assert_envelope(400, code, "/v1/identities");
        let msg = r.json["error"]["message"].as_str().unwrap();
        assert!(!msg.contains("zz_unknown_field_zz"), "echoed: {msg}");
    }
    assert_eq!(total(&wire, &seed).await, 0);

    // The SDK refuses bad labels and TTLs before sending.
    let sdk = client(&server, &seed);
    for req in [
        create("", None),
        create(&"a".repeat(129), None),
        create("x", Some(0)),
        create("x", Some(721)),
    ] {
        let e = sdk.create_identity(&req).await.unwrap_err();
        assert!(e.is_invalid_input(), "{e}");
    }
    // A control character passes the SDK's check but not the server's.
    let e = sdk
        .create_identity(&create("a\u{7}b", None))
        .await
        .unwrap_err();
    assert_api(&e, 400, "invalid_request", seed.key.expose_secret());
}

#[tokio::test]
async fn bad_paging_parameters_are_invalid_parameter() {
    let server = MockServer::start().await.unwrap();
    let wire = Wire::new(&server);
    let seed = server.agent_key();
    let ident = client(&server, &seed)
        .create_identity(&create("p", None))
        .await
        .unwrap();
    let msgs = format!("/v1/identities/{}/messages", ident.id);
    for base in ["/v1/identities", msgs.as_str()] {
        for q in [
            "limit=0",
            "limit=101",
            "limit=abc",
            "limit=-1",
            "limit=",
            "offset=-1",
            "offset=abc",
            "offset=1.5",
            "limit=99999999999999999999",
            "limit=5&limit=6",
            "bogus=1",
        ] {
            let r = wire.get(&seed, &format!("{base}?{q}")).await;
            r.assert_envelope(400, "invalid_parameter", base);
        }
        for q in ["limit=1", "limit=100", "offset=0", "limit=100&offset=99999"] {
            let r = wire.get(&seed, &format!("{base}?{q}")).await;
            assert_eq!(r.status, 200, "{base}?{q}: {}", r.json);
        }
    }
    // The SDK refuses out-of-range limits before sending.
    let sdk = client(&server, &seed);
    for limit in [0, 101] {
        let e = sdk
            .identities(Page {
                limit: Some(limit),
                offset: None,
            })
            .await
            .unwrap_err();
        assert!(e.is_invalid_input(), "{e}");
    }
}

#[tokio::test]
async fn oversized_and_odd_requests_never_5xx() {
    let server = MockServer::start().await.unwrap();
    let wire = Wire::new(&server);
    let seed = server.agent_key();
    let huge = format!(r#"{{"label":"{}"}}"#, "a".repeat(300 * 1024));
    let r = wire.post(&seed, "/v1/identities", "huge", &huge).await;
    assert!((400..500).contains(&r.status), "{}", r.status);
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let r = wire.post(&seed, "/v1/identities", "deep", &deep).await;
    assert_eq!(r.status, 400, "{}", r.json);
    let r = wire
        .post(
            &seed,
            "/v1/identities",
            &"k".repeat(256),
            r#"{"label":"x"}"#,
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.json);
    let r = Raw::from(
        wire.authed(&seed, Method::DELETE, "/v1/identities")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 405, "{}", r.json);
    assert_eq!(total(&wire, &seed).await, 0);
}

#[tokio::test]
async fn key_scope_is_the_credential_not_its_spelling() {
    let server = MockServer::start().await.unwrap();
    let wire = Wire::new(&server);
    let seed = server.agent_key();
    let mut answers = Vec::new();
    for auth in [
        format!("Bearer {}", seed.key.expose_secret()),
        format!("bearer  {}", seed.key.expose_secret()),
        format!("BEARER {}", seed.key.expose_secret()),
    ] {
        let r = Raw::from(
            wire.bare(Method::POST, "/v1/identities")
                .header("Authorization", auth)
                .header("X-Org-Id", &seed.org_id)
                .header("X-Project-Id", &seed.project_id)
                .header("Idempotency-Key", "spelling")
                .json(&json!({"label": "same-caller"}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.json);
        answers.push(r);
    }
    assert!(!answers[0].replayed() && answers[1].replayed() && answers[2].replayed());
    assert!(answers.iter().all(|a| a.bytes == answers[0].bytes));
    assert_eq!(total(&wire, &seed).await, 1);
}

/// Every error of the AIdenID API is the envelope — also an injected fault
/// and an oversized body, which the journal/fault middleware answers before
/// the AIdenID handlers run (today with AuthFlow's `{"message"}` body).
#[tokio::test]
async fn middleware_errors_use_the_envelope_too() {
    let server = MockServer::start().await.unwrap();
    let wire = Wire::new(&server);
    let seed = server.agent_key();
    reqwest::Client::new()
        .post(format!("{}/__mock/faults", server.base_url()))
        .json(&json!({"route": "listIdentities", "status": 503, "times": 1}))
        .send()
        .await
        .unwrap();
    let r = wire.get(&seed, "/v1/identities").await;
    assert_eq!(r.status, 503);
    assert_eq!(r.json["error"]["code"], "injected_fault", "{}", r.json);
    assert_eq!(r.json["retryable"], json!(true), "{}", r.json);

    let huge = format!(r#"{{"label":"{}"}}"#, "a".repeat(100 * 1024));
    let r = wire.post(&seed, "/v1/identities", "huge", &huge).await;
    assert_eq!(r.status, 413);
    assert_eq!(r.json["error"]["code"], "payload_too_large", "{}", r.json);
}
