//! Idempotency keys for every AIdenID mutation (agent and consumer routes
//! whose table entry has `idempotency_key`):
//!
//! - no `Idempotency-Key` header → 400 `missing_idempotency_key`;
//! - the same key with the same payload (method, path, canonical JSON body)
//!   replays the first response exactly, with `Idempotent-Replayed: true`;
//! - the same key with another payload → 409 `idempotency_key_reused`;
//! - keys are scoped per credential (the `Authorization` value, hashed) and
//!   route, and kept 24 hours on the mock clock;
//! - concurrent requests with one key run the handler once: the others wait
//!   for its response and replay it.
//!
//! Responses that say nothing about the operation (401, 403, 429, 5xx) are
//! not kept, so a retry after fixing the credential, or after an outage,
//! runs the operation.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::sync::OnceCell;

use crate::envelope::EnvelopeError;
use crate::state::{AppState, sha256};

/// How long a key is remembered.
pub const KEY_TTL_MS: i64 = 24 * 3600 * 1000;
/// Longest accepted key.
pub const MAX_KEY_LEN: usize = 255;
/// Largest body the middleware buffers.
const MAX_BODY: usize = 256 * 1024;

/// A kept response.
#[derive(Debug, Clone)]
struct Stored {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    /// An envelope error's body is written by the outermost middleware.
    envelope: Option<EnvelopeError>,
}

#[derive(Debug)]
struct Entry {
    fingerprint: [u8; 32],
    created_ms: i64,
    cell: Arc<OnceCell<Stored>>,
}

/// The kept keys.
#[derive(Debug, Default)]
pub struct IdempotencyStore {
    entries: Mutex<HashMap<(String, &'static str, String), Entry>>,
}

impl IdempotencyStore {
    /// Forget every key.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// Number of kept keys.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none are kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, &'static str, String), Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// JSON with object keys sorted, so `{"a":1,"b":2}` and `{"b":2,"a":1}` are
/// the same payload.
fn canonical(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical(&m[k])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

fn fingerprint(method: &str, path: &str, body: &[u8]) -> [u8; 32] {
    let body = match serde_json::from_slice::<Value>(body) {
        Ok(v) => canonical(&v),
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    };
    sha256(&format!("{method} {path}\n{body}"))
}

/// Whether a response is the operation's outcome (kept and replayed).
/// Refusals before the operation began — bad input (400, 413, 422), the
/// credential (401, 403), rate limits (429) and server failures — are not
/// kept, and the key is released: a corrected retry runs the operation.
fn keeps(status: StatusCode) -> bool {
    !(status.is_server_error()
        || status == StatusCode::BAD_REQUEST
        || status == StatusCode::UNAUTHORIZED
        || status == StatusCode::FORBIDDEN
        || status == StatusCode::PAYLOAD_TOO_LARGE
        || status == StatusCode::UNPROCESSABLE_ENTITY
        || status == StatusCode::TOO_MANY_REQUESTS)
}

fn replay(stored: &Stored) -> Response {
    let mut resp = Response::new(Body::from(stored.body.clone()));
    *resp.status_mut() = stored.status;
    *resp.headers_mut() = stored.headers.clone();
    if let Some(e) = &stored.envelope {
        resp.extensions_mut().insert(e.clone());
    }
    resp.headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    resp
}

/// The middleware, applied to each route that takes a key.
pub(crate) async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = crate::control::to_route_method(req.method())
        .and_then(|m| authflow::api::routes::match_path(m, req.uri().path()));
    let Some(route) = route.filter(|r| r.idempotency_key) else {
        return next.run(req).await;
    };
    // Who is asking comes first: 401/403 before any word about the key.
    let (mut head, body) = req.into_parts();
    let auth = match route.credential {
        authflow::api::Credential::AgentKey => {
            crate::aidenid::Agent::from_request_parts(&mut head, &state)
                .await
                .map(|_| ())
        }
        authflow::api::Credential::ConsumerSession => {
            crate::aidenid::ConsumerAuth::from_request_parts(&mut head, &state)
                .await
                .map(|_| ())
        }
        _ => Ok(()),
    };
    if let Err(e) = auth {
        return e.into_response();
    }
    let req = Request::from_parts(head, body);
    let key = match req.headers().get("idempotency-key").map(|v| v.to_str()) {
        None => {
            return EnvelopeError::bad_request(
                "missing_idempotency_key",
                "Mutation request missing Idempotency-Key header",
            )
            .into_response();
        }
        Some(Ok(k)) if !k.trim().is_empty() && k.len() <= MAX_KEY_LEN => k.trim().to_owned(),
        Some(_) => {
            return EnvelopeError::bad_request(
                "invalid_idempotency_key",
                format!("Idempotency-Key must be 1-{MAX_KEY_LEN} visible ASCII characters"),
            )
            .into_response();
        }
    };
    let scope = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| {
            // The credential, not its spelling: `Bearer X` and `bearer  X`
            // authenticate the same caller, so they share one scope.
            let raw = String::from_utf8_lossy(v.as_bytes());
            let credential = match raw.trim().split_once(' ') {
                Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
                _ => raw.trim(),
            };
            let h = sha256(credential);
            h.iter().map(|b| format!("{b:02x}")).collect::<String>()
        })
        .unwrap_or_else(|| "anonymous".into());
    let method = req.method().to_string();
    let path = req.uri().path().to_owned();
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => return EnvelopeError::payload_too_large(MAX_BODY).into_response(),
    };
    let print = fingerprint(&method, &path, &bytes);
    let now = state.clock().now_millis();
    let entry_key = (scope, route.name, key);
    let cell = {
        let store = &state.inner.idempotency;
        let mut map = store.lock();
        let k = entry_key.clone();
        match map.get(&k) {
            Some(e) if now - e.created_ms < KEY_TTL_MS => {
                if e.fingerprint != print {
                    return EnvelopeError::conflict(
                        "idempotency_key_reused",
                        "This Idempotency-Key was used with a different request payload",
                    )
                    .into_response();
                }
                e.cell.clone()
            }
            _ => {
                let cell = Arc::new(OnceCell::new());
                map.insert(
                    k,
                    Entry {
                        fingerprint: print,
                        created_ms: now,
                        cell: cell.clone(),
                    },
                );
                cell
            }
        }
    };
    let mut fresh: Option<Response> = None;
    let result = cell
        .get_or_try_init(|| async {
            let resp = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            let (head, body) = resp.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            let stored = Stored {
                status: head.status,
                headers: head.headers.clone(),
                body: body.clone(),
                envelope: head.extensions.get::<EnvelopeError>().cloned(),
            };
            if keeps(head.status) {
                fresh = Some(Response::from_parts(head, Body::from(body)));
                Ok(stored)
            } else {
                Err(Response::from_parts(head, Body::from(body)))
            }
        })
        .await;
    match result {
        Ok(stored) => fresh.take().unwrap_or_else(|| replay(stored)),
        Err(resp) => {
            // Release the key, unless another request already refilled it.
            let mut map = state.inner.idempotency.lock();
            if map
                .get(&entry_key)
                .is_some_and(|e| Arc::ptr_eq(&e.cell, &cell) && e.cell.get().is_none())
            {
                map.remove(&entry_key);
            }
            resp
        }
    }
}
