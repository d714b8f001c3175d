//! Reliability runs: trigger a target, catch the email in the identity's
//! inbox, extract the OTP or link, report timing and confidence.
//!
//! - create checks the input, asks the circuit breaker of the target's host
//!   (open → 503 `dependency_timeout`, store unreadable → 503
//!   `dependency_unavailable`, the target untouched) and stores the run
//!   `pending`; a task then calls the target through the breaker (connect
//!   error or timeout → failure recorded, run `failed`
//!   `target_unreachable`; 4xx/5xx → `failed` `target_error`);
//! - the first email to the identity after the run started completes it
//!   (`email_received` → `completed` with the result, or `failed`
//!   `nothing_extractable`), inside the delivery itself;
//! - a run still waiting when `timeout_seconds` have passed on the mock
//!   clock is `timeout` (evaluated whenever the run is read).

use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use secrecy::SecretString;
use serde::Deserialize;

use authflow::api::aidenid::IdentityStatus;
use authflow::api::reliability::{
    Run, RunFailure, RunFlowType, RunList, RunResult, RunSecret, RunStatus, Trigger,
};

use super::identities::{self, kind_name};
use super::store::{Data, RunRecord};
use super::{Agent, MAX_BODY};
use crate::clock::rfc3339_secs;
use crate::envelope::{EnvelopeError, EnvelopeResult, read_json};
use crate::mail::secret_extract::{Extraction, redact};
use crate::state::{AppState, random_hex};

/// Default wait for the email.
pub const DEFAULT_TIMEOUT_S: u32 = 120;
/// Longest wait.
pub const MAX_TIMEOUT_S: u32 = 3600;
/// Real-time bound of one call to a target.
pub const TARGET_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    target_url: String,
    identity_id: String,
    #[serde(default)]
    timeout_seconds: Option<u32>,
    #[serde(default)]
    trigger: Option<Trigger>,
}

/// The wire form of a run at `now`.
pub fn view(r: &RunRecord) -> Run {
    Run {
        id: r.id.clone(),
        flow_type: r.flow_type,
        status: r.status,
        identity_id: r.identity_id.clone(),
        target_url: r.target_url.clone(),
        created_at: rfc3339_secs(r.created_ms),
        completed_at: r.completed_ms.map(rfc3339_secs),
        result: match (&r.received, r.status) {
            (Some((at, Some(e))), RunStatus::Completed) => Some(result_of(r, *at, e)),
            _ => None,
        },
        failure: r.failure.as_ref().map(|(code, message)| RunFailure {
            code: code.clone(),
            message: message.clone(),
        }),
    }
}

fn result_of(r: &RunRecord, at: i64, e: &Extraction) -> RunResult {
    RunResult {
        email_received_at: rfc3339_secs(at),
        extraction_type: kind_name(e.kind).to_owned(),
        has_secret: true,
        redacted_value: redact(&e.value),
        secret_retrieval_available: true,
        delivery_time_ms: u64::try_from(at - r.created_ms).unwrap_or(0),
        confidence: e.confidence,
    }
}

/// Apply the timeout rule at `now`.
fn refresh(r: &mut RunRecord, now: i64) {
    if !r.status.is_terminal() && now >= r.created_ms + r.timeout_ms {
        r.status = RunStatus::Timeout;
        r.completed_ms = Some(r.created_ms + r.timeout_ms);
        r.failure = Some((
            "timeout".into(),
            format!("No email arrived within {} seconds", r.timeout_ms / 1000),
        ));
    }
}

fn fail(r: &mut RunRecord, now: i64, code: &str, message: String) {
    if !r.status.is_terminal() {
        r.status = RunStatus::Failed;
        r.completed_ms = Some(now);
        r.failure = Some((code.to_owned(), message));
    }
}

/// A message arrived for `identity_id` at `at` (called by delivery with the
/// data locked): every run waiting on that identity takes it.
pub fn on_message(d: &mut Data, identity_id: &str, at: i64, extraction: Option<&Extraction>) {
    for r in d.runs.values_mut() {
        refresh(r, at);
        if r.identity_id != identity_id || r.status != RunStatus::Pending || at < r.created_ms {
            continue;
        }
        r.status = RunStatus::EmailReceived;
        r.received = Some((at, extraction.cloned()));
        match extraction {
            Some(_) => {
                r.status = RunStatus::Completed;
                r.completed_ms = Some(at);
            }
            None => fail(
                r,
                at,
                "nothing_extractable",
                "The email arrived but held no code or link".into(),
            ),
        }
    }
}

fn bad(message: impl Into<String>) -> EnvelopeError {
    EnvelopeError::bad_request("invalid_request", message)
}

/// The target's host, or why the URL is refused.
fn check_target(target: &str) -> EnvelopeResult<(url::Url, String)> {
    let url =
        url::Url::parse(target).map_err(|_| bad("target_url must be an absolute http(s) URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("target_url must be an http(s) URL"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("target_url must not carry credentials"));
    }
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| bad("target_url must have a host"))?
        .to_owned();
    let port = url.port_or_known_default().unwrap_or(0);
    Ok((url, format!("{host}:{port}")))
}

fn check_trigger(t: &Trigger) -> EnvelopeResult<()> {
    if let Some(m) = &t.method
        && !matches!(m.to_ascii_uppercase().as_str(), "POST" | "PUT")
    {
        return Err(bad("trigger.method must be POST or PUT"));
    }
    if let Some(c) = &t.content_type
        && !matches!(c.as_str(), "form" | "json")
    {
        return Err(bad("trigger.content_type must be form or json"));
    }
    if let Some(f) = &t.field
        && (f.trim().is_empty() || f.len() > 64 || f.chars().any(char::is_control))
    {
        return Err(bad("trigger.field must be 1-64 characters"));
    }
    Ok(())
}

async fn create(
    flow_type: RunFlowType,
    agent: Agent,
    state: AppState,
    body: Body,
) -> EnvelopeResult<(StatusCode, Json<Run>)> {
    let req: CreateBody = read_json(body, MAX_BODY).await?;
    let (url, breaker_key) = check_target(&req.target_url)?;
    let timeout = req.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT_S);
    if !(1..=MAX_TIMEOUT_S).contains(&timeout) {
        return Err(bad(format!(
            "timeout_seconds must be from 1 to {MAX_TIMEOUT_S}"
        )));
    }
    let trigger = req.trigger.unwrap_or_default();
    check_trigger(&trigger)?;
    let owner = agent.owner();
    let identity = identities::owned(&state, &req.identity_id, &owner)?;
    let now = state.clock().now_millis();
    match identities::status(&identity, now) {
        IdentityStatus::Active => {}
        IdentityStatus::Squashed => {
            return Err(EnvelopeError::conflict(
                "identity_already_squashed",
                "Cannot use a squashed identity for testing",
            ));
        }
        IdentityStatus::Expired => {
            return Err(EnvelopeError::conflict(
                "identity_expired",
                "The identity's TTL has passed",
            ));
        }
    }
    // Fail closed before anything is stored or called.
    match crate::breaker::allow(&state, &breaker_key).await {
        Ok(true) => {}
        Ok(false) => {
            return Err(EnvelopeError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "dependency_timeout",
                "Dependency circuit is open. Retry shortly.",
            ));
        }
        Err(()) => {
            return Err(EnvelopeError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "dependency_unavailable",
                "Dependency breaker store unavailable.",
            ));
        }
    }
    let record = state.inner.aidenid.with(|d| {
        d.next_seq += 1;
        let r = RunRecord {
            id: format!("run_{}", random_hex(4)),
            seq: d.next_seq,
            flow_type,
            identity_id: identity.id.clone(),
            target_url: req.target_url.clone(),
            owner,
            created_ms: now,
            timeout_ms: i64::from(timeout) * 1000,
            status: RunStatus::Pending,
            completed_ms: None,
            received: None,
            failure: None,
        };
        d.runs.insert(r.id.clone(), r.clone());
        r
    });
    let task_state = state.clone();
    let run_id = record.id.clone();
    let email = identity.email.clone();
    tokio::spawn(async move {
        trigger_target(task_state, run_id, url, breaker_key, trigger, email).await;
    });
    Ok((StatusCode::CREATED, Json(view(&record))))
}

/// Call the target through the breaker and record a failure on the run.
async fn trigger_target(
    state: AppState,
    run_id: String,
    url: url::Url,
    breaker_key: String,
    trigger: Trigger,
    email: String,
) {
    let field = trigger.field.unwrap_or_else(|| "email".into());
    let method = match trigger
        .method
        .as_deref()
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        Some("PUT") => reqwest::Method::PUT,
        _ => reqwest::Method::POST,
    };
    let http = state.inner.target_client.clone();
    let mut rb = http.request(method, url).timeout(TARGET_TIMEOUT);
    rb = if trigger.content_type.as_deref() == Some("json") {
        rb.json(&serde_json::json!({ field: email }))
    } else {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair(&field, &email)
            .finish();
        rb.header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(body)
    };
    // `create` asked the breaker already: this call is the one it allowed.
    let outcome = crate::breaker::call_allowed(&state, &breaker_key, async move {
        match rb.send().await {
            Ok(resp) if resp.status().is_client_error() || resp.status().is_server_error() => {
                Err(crate::breaker::CallError::Failed(format!(
                    "The target answered HTTP {}",
                    resp.status().as_u16()
                )))
            }
            Ok(_) => Ok(()),
            Err(e) if e.is_builder() => Err(crate::breaker::CallError::Failed(
                "The target request could not be built".into(),
            )),
            // No HTTP answer at all (refused, reset, closed, timed out):
            // the seed's ConnectionError/TimeoutError, a breaker failure.
            Err(e) => Err(crate::breaker::CallError::Unreachable(if e.is_timeout() {
                "The target did not answer in time".into()
            } else {
                "The target refused or dropped the connection".into()
            })),
        }
    })
    .await;
    let failure = match outcome {
        Ok(()) => None,
        Err(crate::breaker::GuardError::Open) => Some((
            "dependency_timeout",
            "Dependency circuit is open. Retry shortly.".to_owned(),
        )),
        Err(crate::breaker::GuardError::StoreUnavailable) => Some((
            "dependency_unavailable",
            "Dependency breaker store unavailable.".to_owned(),
        )),
        Err(crate::breaker::GuardError::Call(crate::breaker::CallError::Unreachable(m))) => {
            Some(("target_unreachable", m))
        }
        Err(crate::breaker::GuardError::Call(crate::breaker::CallError::Failed(m))) => {
            Some(("target_error", m))
        }
    };
    if let Some((code, message)) = failure {
        let now = state.clock().now_millis();
        state.inner.aidenid.with(|d| {
            if let Some(r) = d.runs.get_mut(&run_id) {
                fail(r, now, code, message);
            }
        });
    }
}

/// `POST /v1/reliability/password-reset`
pub(crate) async fn create_password_reset(
    agent: Agent,
    State(state): State<AppState>,
    body: Body,
) -> EnvelopeResult<(StatusCode, Json<Run>)> {
    create(RunFlowType::PasswordReset, agent, state, body).await
}

/// `POST /v1/reliability/invite`
pub(crate) async fn create_invite(
    agent: Agent,
    State(state): State<AppState>,
    body: Body,
) -> EnvelopeResult<(StatusCode, Json<Run>)> {
    create(RunFlowType::Invite, agent, state, body).await
}

fn run_not_found() -> EnvelopeError {
    EnvelopeError::not_found("run_not_found", "Reliability run does not exist")
}

/// The run `id` of `agent`, refreshed.
fn owned_run(state: &AppState, agent: &Agent, id: &str) -> EnvelopeResult<RunRecord> {
    let now = state.clock().now_millis();
    let owner = agent.owner();
    state
        .inner
        .aidenid
        .with(|d| {
            let r = d.runs.get_mut(id).filter(|r| r.owner == owner)?;
            refresh(r, now);
            Some(r.clone())
        })
        .ok_or_else(run_not_found)
}

/// `GET /v1/reliability/{id}`
pub(crate) async fn get_one(
    agent: Agent,
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> EnvelopeResult<Json<Run>> {
    let id = path.map(|Path(id)| id).map_err(|_| run_not_found())?;
    Ok(Json(view(&owned_run(&state, &agent, &id)?)))
}

/// `GET /v1/reliability/{id}/secret` (`secrets:read` only)
pub(crate) async fn secret(
    agent: Agent,
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> EnvelopeResult<Json<RunSecret>> {
    agent.require("secrets:read")?;
    let id = path.map(|Path(id)| id).map_err(|_| run_not_found())?;
    let r = owned_run(&state, &agent, &id)?;
    match (&r.received, r.status) {
        (Some((_, Some(e))), RunStatus::Completed) => Ok(Json(RunSecret {
            id: r.id.clone(),
            extraction_type: kind_name(e.kind).to_owned(),
            value: SecretString::from(e.value.clone()),
        })),
        _ => Err(EnvelopeError::conflict(
            "secret_not_available",
            "The run has no extracted secret (it is not completed)",
        )),
    }
}

/// `GET /v1/reliability[?status=…&limit=…&offset=…]`
pub(crate) async fn list(
    agent: Agent,
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> EnvelopeResult<Json<RunList>> {
    let mut status: Option<RunStatus> = None;
    let mut rest = Vec::new();
    for (k, v) in url::form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes()) {
        if k == "status" {
            if status.is_some() {
                return Err(EnvelopeError::bad_request(
                    "invalid_parameter",
                    "Duplicate query parameter",
                ));
            }
            status = Some(serde_json::from_value(serde_json::Value::String(v.into_owned())).map_err(|_| {
                EnvelopeError::bad_request(
                    "invalid_parameter",
                    "status must be one of pending, email_received, completed, timeout, failed",
                )
            })?);
        } else {
            rest.push((k.into_owned(), v.into_owned()));
        }
    }
    let rest_query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(rest)
        .finish();
    let (limit, offset) = super::page(Some(&rest_query))?;
    let now = state.clock().now_millis();
    let owner = agent.owner();
    Ok(Json(state.inner.aidenid.with(|d| {
        let mut mine: Vec<&mut RunRecord> =
            d.runs.values_mut().filter(|r| r.owner == owner).collect();
        for r in mine.iter_mut() {
            refresh(r, now);
        }
        let mut mine: Vec<&RunRecord> = mine
            .into_iter()
            .map(|r| &*r)
            .filter(|r| status.is_none_or(|s| r.status == s))
            .collect();
        mine.sort_unstable_by_key(|r| r.seq);
        RunList {
            total: mine.len() as u64,
            items: mine
                .into_iter()
                .skip(usize::try_from(offset).unwrap_or(usize::MAX))
                .take(limit as usize)
                .map(view)
                .collect(),
            limit,
            offset,
        }
    })))
}
