//! The test-control API under `/__mock/` (stable: other tools depend on it),
//! the request journal and fault injection.
//!
//! | route | what |
//! | --- | --- |
//! | `GET /__mock/emails?to=ADDRESS` | captured emails (all, or to one address), newest last |
//! | `POST /__mock/clock/advance` `{"seconds": N}` | move the clock forward |
//! | `POST /__mock/clock/freeze`, `/unfreeze` | stop the clock (it moves only by `advance`) / real time again |
//! | `POST /__mock/reset` | forget all state (orgs re-seeded, clock back to real time) |
//! | `GET /__mock/requests` | the request journal, secrets redacted |
//! | `POST /__mock/faults` `{"route", "status"?, "times"?, "latency_ms"?, "retry_after"?}` | inject a fault |
//! | `DELETE /__mock/faults` | clear faults |

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use authflow::api::routes::{self, is_secret_name};
use authflow::sanitize::{REDACTED, sanitize_for_logs};

use crate::clock::rfc3339;
use crate::error::ApiError;
use crate::params::MAX_BODY;
use crate::state::AppState;

/// One journal entry.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct JournalEntry {
    /// Sequence number, from 1.
    pub seq: u64,
    /// When (mock clock, RFC 3339).
    pub at: String,
    /// HTTP method.
    pub method: String,
    /// Path (no query).
    pub path: String,
    /// The route name, if the path is in the route table.
    pub route: Option<String>,
    /// Query pairs in order, secret values redacted.
    pub query: Vec<(String, String)>,
    /// JSON body, secret values redacted (`null` if none or not JSON).
    pub body: Value,
    /// Whether an `Authorization` header was present (its value is never kept).
    pub authorization: bool,
    /// Response status.
    pub status: u16,
}

/// The request journal.
#[derive(Debug, Default)]
pub struct Journal {
    entries: Mutex<Vec<JournalEntry>>,
}

impl Journal {
    /// Every entry, oldest first.
    pub fn entries(&self) -> Vec<JournalEntry> {
        self.entries.lock().map(|e| e.clone()).unwrap_or_default()
    }
    fn push(&self, mut entry: JournalEntry) {
        if let Ok(mut e) = self.entries.lock() {
            entry.seq = e.len() as u64 + 1;
            e.push(entry);
        }
    }
    /// Forget every entry.
    pub fn clear(&self) {
        if let Ok(mut e) = self.entries.lock() {
            e.clear();
        }
    }
}

/// A fault to inject on a route.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct Fault {
    /// Route name (`login`) or path (`/auth/login`).
    pub route: String,
    /// Status to answer instead of calling the handler.
    #[serde(default)]
    pub status: Option<u16>,
    /// For how many calls the status is forced (default 1).
    #[serde(default)]
    pub times: Option<u32>,
    /// Latency added to every call of the route.
    #[serde(default)]
    pub latency_ms: Option<u64>,
    /// `Retry-After` seconds sent with the forced status.
    #[serde(default)]
    pub retry_after: Option<u64>,
}

#[derive(Debug, Default, Clone)]
struct FaultState {
    status: Option<(u16, u32)>,
    latency: Option<Duration>,
    retry_after: Option<u64>,
}

/// Injected faults by route name.
#[derive(Debug, Default)]
pub struct Faults {
    by_route: Mutex<HashMap<String, FaultState>>,
}

impl Faults {
    fn set(&self, route: String, f: &Fault) {
        if let Ok(mut m) = self.by_route.lock() {
            let e = m.entry(route).or_default();
            if let Some(s) = f.status {
                e.status = Some((s, f.times.unwrap_or(1)));
                e.retry_after = f.retry_after;
            }
            if let Some(ms) = f.latency_ms {
                e.latency = Some(Duration::from_millis(ms));
            }
        }
    }
    /// The latency to add and the status to force (consuming one use) for a route.
    fn take(&self, route: &str) -> (Option<Duration>, Option<(u16, Option<u64>)>) {
        let Ok(mut m) = self.by_route.lock() else {
            return (None, None);
        };
        let Some(e) = m.get_mut(route) else {
            return (None, None);
        };
        let status = match &mut e.status {
            Some((s, n)) if *n > 0 => {
                *n -= 1;
                Some((*s, e.retry_after))
            }
            _ => None,
        };
        (e.latency, status)
    }
    /// Clear every fault.
    pub fn clear(&self) {
        if let Ok(mut m) = self.by_route.lock() {
            m.clear();
        }
    }
}

/// Middleware: apply faults to API routes and record every API request in the journal.
pub(crate) async fn journal_and_faults(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_owned();
    if path.starts_with("/__mock/") {
        return next.run(req).await;
    }
    let method = req.method().clone();
    let route = to_route_method(&method).and_then(|m| routes::match_path(m, &path));
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
            .map(|(k, v)| {
                let v = if is_secret_name(&k) {
                    REDACTED.to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
    let authorization = req
        .headers()
        .contains_key(axum::http::header::AUTHORIZATION);
    let (parts, body) = req.into_parts();
    // Buffer the body (bounded) to journal it; the handler still sees it whole.
    let is_flows = route.is_some_and(|r| r.api == routes::Api::Flows);
    let limit = if is_flows {
        crate::flows::MAX_BODY
    } else {
        MAX_BODY
    };
    let (bytes, body_failure) = match axum::body::to_bytes(body, limit).await {
        Ok(b) => (b, None),
        Err(e) => {
            let err = crate::params::body_error(e);
            let resp = if crate::uses_envelope(&path) {
                match err.status {
                    StatusCode::PAYLOAD_TOO_LARGE => {
                        crate::envelope::EnvelopeError::payload_too_large(limit).into_response()
                    }
                    _ => crate::envelope::EnvelopeError::bad_request(
                        "invalid_request",
                        "Malformed request body",
                    )
                    .into_response(),
                }
            } else {
                err.into_response()
            };
            (Default::default(), Some(resp))
        }
    };
    // Big bodies (flow graphs) are journaled by size only.
    let body_json = if bytes.len() > MAX_BODY {
        json!({ "omitted_bytes": bytes.len() })
    } else {
        serde_json::from_slice::<Value>(&bytes)
            .map(sanitize_for_logs)
            .unwrap_or(Value::Null)
    };
    let response = if let Some(resp) = body_failure {
        resp
    } else {
        let (latency, forced) = route
            .map(|r| state.inner.faults.take(r.name))
            .unwrap_or((None, None));
        if let Some(d) = latency {
            tokio::time::sleep(d).await;
        }
        let forced = forced.and_then(|(s, after)| StatusCode::from_u16(s).ok().map(|s| (s, after)));
        match forced {
            Some((status, after)) => {
                let mut resp = if crate::uses_envelope(&path) {
                    crate::envelope::EnvelopeError::new(status, "injected_fault", "Injected fault")
                        .into_response()
                } else {
                    ApiError::new(status, "Injected fault").into_response()
                };
                if let Some(secs) = after {
                    resp.headers_mut()
                        .insert(axum::http::header::RETRY_AFTER, secs.into());
                }
                resp
            }
            None => {
                next.run(Request::from_parts(parts, Body::from(bytes)))
                    .await
            }
        }
    };
    state.inner.journal.push(JournalEntry {
        seq: 0,
        at: rfc3339(state.clock().now_millis()),
        method: method.to_string(),
        path,
        route: route.map(|r| r.name.to_owned()),
        query,
        body: body_json,
        authorization,
        status: response.status().as_u16(),
    });
    response
}

pub(crate) fn to_route_method(m: &axum::http::Method) -> Option<routes::Method> {
    Some(match *m {
        axum::http::Method::GET => routes::Method::Get,
        axum::http::Method::POST => routes::Method::Post,
        axum::http::Method::PUT => routes::Method::Put,
        axum::http::Method::PATCH => routes::Method::Patch,
        axum::http::Method::DELETE => routes::Method::Delete,
        _ => return None,
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct EmailsQuery {
    to: Option<String>,
}

pub(crate) async fn emails(
    State(state): State<AppState>,
    Query(q): Query<EmailsQuery>,
) -> Response {
    let list = match q.to {
        Some(to) => state.outbox().to(&to),
        None => state.outbox().all(),
    };
    Json(list).into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Advance {
    seconds: f64,
}

pub(crate) async fn advance_clock(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Response {
    let Some(Ok(Advance { seconds })) = json_object(&body).map(serde_json::from_value::<Advance>)
    else {
        return ApiError::bad_request("Body must be {\"seconds\": N}").into_response();
    };
    if !seconds.is_finite() || !(0.0..=1.0e9).contains(&seconds) {
        return ApiError::bad_request("seconds must be between 0 and 1e9").into_response();
    }
    state.clock().advance(Duration::from_secs_f64(seconds));
    Json(json!({ "now": state.clock().now_rfc3339(), "now_unix": state.clock().now_secs() }))
        .into_response()
}

/// `POST /__mock/clock/freeze`: stop the clock (it then moves only by
/// `advance`); `POST /__mock/clock/unfreeze`: real time again.
pub(crate) async fn freeze_clock(State(state): State<AppState>) -> Response {
    state.clock().freeze();
    Json(json!({ "now": state.clock().now_rfc3339(), "frozen": true })).into_response()
}

/// See [`freeze_clock`].
pub(crate) async fn unfreeze_clock(State(state): State<AppState>) -> Response {
    state.clock().unfreeze();
    Json(json!({ "now": state.clock().now_rfc3339(), "frozen": false })).into_response()
}

/// The body as a JSON object, or `None` (arrays would otherwise fill a struct
/// positionally).
fn json_object(body: &[u8]) -> Option<Value> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Some(v),
        _ => None,
    }
}

pub(crate) async fn reset(State(state): State<AppState>) -> Response {
    state.reset();
    Json(json!({ "reset": true })).into_response()
}

pub(crate) async fn requests(State(state): State<AppState>) -> Response {
    Json(state.inner.journal.entries()).into_response()
}

pub(crate) async fn set_fault(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let Some(Ok(fault)) = json_object(&body).map(serde_json::from_value::<Fault>) else {
        return ApiError::bad_request(
            "Body must be {\"route\", \"status\"?, \"times\"?, \"latency_ms\"?}",
        )
        .into_response();
    };
    let route = routes::find(&fault.route)
        .or_else(|| routes::ROUTES.iter().find(|r| r.path == fault.route))
        .map(|r| r.name.to_owned());
    let Some(route) = route else {
        return ApiError::not_found("Unknown route").into_response();
    };
    if fault
        .status
        .is_some_and(|s| StatusCode::from_u16(s).is_err() || s < 200)
    {
        return ApiError::bad_request("status must be a valid HTTP status").into_response();
    }
    state.inner.faults.set(route.clone(), &fault);
    (
        StatusCode::CREATED,
        Json(json!({ "route": route, "fault": fault })),
    )
        .into_response()
}

pub(crate) async fn clear_faults(State(state): State<AppState>) -> Response {
    state.inner.faults.clear();
    Json(json!({ "cleared": true })).into_response()
}

/// `POST /__mock/inbound[?to=ADDRESS]`: deliver a raw RFC 5322 message (the
/// body) as if it arrived over SMTP — to `to` if given, else to the
/// message's `To`/`Cc` addresses. Answers `{"delivered": [message ids]}`.
pub(crate) async fn inbound(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    body: axum::body::Bytes,
) -> Response {
    let Some(parsed) = crate::mail::mime::parse(&body) else {
        return ApiError::bad_request("Body is not a parseable RFC 5322 message").into_response();
    };
    let to = match q.get("to") {
        Some(t) => vec![t.clone()],
        None => parsed.to.clone(),
    };
    let delivered = crate::aidenid::inbox::deliver(
        &state,
        &crate::aidenid::inbox::Inbound {
            from: parsed.from,
            to,
            subject: parsed.subject,
            text: parsed.text,
            html: parsed.html,
        },
    );
    Json(json!({ "delivered": delivered })).into_response()
}
