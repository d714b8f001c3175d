//! The Flow admin API (`/api/admin/flows`): CRUD, validate, compile,
//! activate, deactivate, and a Mermaid picture of a flow's graph, behind an
//! admin bearer token. Errors use the [envelope](crate::envelope).
//!
//! Two tokens exist: the admin token (every route) and a read-only token
//! (list, get, validate, `graph.mmd`; mutations answer 403 `forbidden`).

pub mod store;

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, post, put};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use authflow::api::flows::{
    CompileResponse, CreateFlowRequest, Flow, FlowCreated, FlowStatus, FlowSummary, FlowType,
    StatusChangeResponse, UpdateFlowRequest, flow_id_for, is_valid_flow_name,
};
use authflow::api::routes::{self, Route};

use crate::envelope::{EnvelopeError, EnvelopeResult, read_json};
use crate::state::{AppState, random_hex};
pub use store::{FlowRecord, FlowRegistry};

/// Largest accepted request body (graphs of tens of thousands of nodes fit).
pub const MAX_BODY: usize = 4 * 1024 * 1024;
/// Default page size.
pub const DEFAULT_LIMIT: usize = 20;
/// Largest page size.
pub const MAX_LIMIT: usize = 100;
/// Longest display name.
const MAX_DISPLAY_NAME: usize = 200;
/// Longest description.
const MAX_DESCRIPTION: usize = 2000;

/// The bearer tokens the Flow admin API accepts.
#[derive(Clone)]
pub struct FlowTokens {
    /// Every route.
    pub admin: SecretString,
    /// Reads only.
    pub read_only: SecretString,
}

impl FlowTokens {
    /// Random tokens (`fla_` / `flr_` + 32 hex).
    pub fn generate() -> Self {
        FlowTokens {
            admin: SecretString::from(format!("fla_{}", random_hex(16))),
            read_only: SecretString::from(format!("flr_{}", random_hex(16))),
        }
    }
}

impl std::fmt::Debug for FlowTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FlowTokens([REDACTED])")
    }
}

/// The handler of a Flow admin route of the table.
pub(crate) fn handler(route: &Route) -> Option<MethodRouter<AppState>> {
    Some(match route.name {
        "listFlows" => get(list),
        "getFlow" => get(get_flow),
        "createFlow" => post(create),
        "updateFlow" => put(update),
        "deleteFlow" => delete(remove),
        "validateFlow" => post(validate),
        "compileFlow" => post(compile),
        "activateFlow" => post(activate),
        "deactivateFlow" => post(deactivate),
        "flowGraphMermaid" => get(mermaid),
        _ => return None,
    })
}

/// An authenticated caller (the extractor checks the bearer token against
/// the route: read-only tokens may not mutate).
pub(crate) struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = EnvelopeError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                EnvelopeError::unauthorized("Missing or malformed Authorization: Bearer token")
            })?;
        let tokens = &state.inner.flow_tokens;
        let is =
            |s: &SecretString| bool::from(s.expose_secret().as_bytes().ct_eq(token.as_bytes()));
        if is(&tokens.admin) {
            return Ok(Admin);
        }
        if !is(&tokens.read_only) {
            return Err(EnvelopeError::unauthorized("Invalid bearer token"));
        }
        let mutates = crate::control::to_route_method(&parts.method)
            .and_then(|m| routes::match_path(m, parts.uri.path()))
            .is_none_or(|r| r.mutates);
        if mutates {
            return Err(EnvelopeError::forbidden("This token may only read flows"));
        }
        Ok(Admin)
    }
}

fn flow_id(path: Result<Path<String>, PathRejection>) -> EnvelopeResult<String> {
    path.map(|Path(id)| id)
        .map_err(|_| EnvelopeError::bad_request("invalid_request", "Flow id is not valid UTF-8"))
}

fn not_found() -> EnvelopeError {
    EnvelopeError::not_found("flow_not_found", "Flow not found")
}

fn check_text(field: &'static str, value: &str, max: usize, required: bool) -> EnvelopeResult<()> {
    if required && value.trim().is_empty() {
        return Err(EnvelopeError::bad_request(
            "invalid_request",
            format!("{field} must not be empty"),
        ));
    }
    if value.chars().count() > max {
        return Err(EnvelopeError::bad_request(
            "invalid_request",
            format!("{field} is longer than {max} characters"),
        ));
    }
    Ok(())
}

// ------------------------------------------------------------------ list

fn encode_cursor(after: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1:{after}"))
}

fn decode_cursor(cursor: &str) -> Option<u64> {
    let raw = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = std::str::from_utf8(&raw).ok()?;
    text.strip_prefix("v1:")?.parse().ok()
}

fn parse_enum<T: DeserializeOwned>(field: &str, value: &str, allowed: &str) -> EnvelopeResult<T> {
    serde_json::from_value(Value::String(value.to_owned())).map_err(|_| {
        EnvelopeError::bad_request(
            "invalid_parameter",
            format!("{field} must be one of {allowed}"),
        )
    })
}

async fn list(
    _: Admin,
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> EnvelopeResult<Json<Value>> {
    let mut limit = DEFAULT_LIMIT;
    let mut after = 0;
    let mut flow_type: Option<FlowType> = None;
    let mut status: Option<FlowStatus> = None;
    let mut seen: Vec<String> = Vec::new();
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if seen.iter().any(|s| *s == k) {
            let known = routes::FLOWS_LIST.fields.iter().any(|f| f.name == k);
            return Err(EnvelopeError::bad_request(
                "invalid_parameter",
                if known {
                    format!("Duplicate parameter: {k}")
                } else {
                    "Duplicate parameter".into()
                },
            ));
        }
        seen.push(k.clone().into_owned());
        match k.as_ref() {
            "limit" => {
                limit = v
                    .parse::<usize>()
                    .ok()
                    .filter(|l| (1..=MAX_LIMIT).contains(l))
                    .ok_or_else(|| {
                        EnvelopeError::bad_request(
                            "invalid_parameter",
                            format!("limit must be an integer from 1 to {MAX_LIMIT}"),
                        )
                    })?;
            }
            "cursor" => {
                after = decode_cursor(&v).ok_or_else(|| {
                    EnvelopeError::bad_request(
                        "invalid_cursor",
                        "cursor is not one this server issued",
                    )
                })?;
            }
            "type" => {
                flow_type = Some(parse_enum(
                    "type",
                    &v,
                    "login, registration, password_reset, mfa_setup, account_recovery",
                )?);
            }
            "status" => status = Some(parse_enum("status", &v, "active, inactive, draft")?),
            // Not echoed: an unknown name may be anything the client typed.
            _ => {
                return Err(EnvelopeError::bad_request(
                    "invalid_parameter",
                    "Unknown query parameter (expected limit, cursor, type, status)",
                ));
            }
        }
    }
    let page = state.inner.flows.page(flow_type, status, after, limit);
    Ok(Json(json!({
        "items": page.items,
        "total": page.total,
        "cursor": page.next_after.map(encode_cursor),
    })))
}

// --------------------------------------------------------------- one flow

async fn get_flow(
    _: Admin,
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> EnvelopeResult<Json<Flow>> {
    let id = flow_id(path)?;
    state
        .inner
        .flows
        .get(&id)
        .map(|r| Json(r.flow))
        .ok_or_else(not_found)
}

async fn create(_: Admin, State(state): State<AppState>, body: Body) -> EnvelopeResult<Response> {
    let req: CreateFlowRequest = read_json(body, MAX_BODY).await?;
    if !is_valid_flow_name(&req.name) {
        return Err(EnvelopeError::bad_request(
            "invalid_flow_name",
            "name must be 1-64 ASCII letters, digits and hyphens, not starting or ending with a hyphen",
        ));
    }
    check_text("display_name", &req.display_name, MAX_DISPLAY_NAME, true)?;
    if let Some(d) = &req.description {
        check_text("description", d, MAX_DESCRIPTION, false)?;
    }
    let now = state.now();
    let flow = Flow {
        summary: FlowSummary {
            id: flow_id_for(&req.name),
            name: req.name,
            display_name: req.display_name,
            flow_type: req.flow_type,
            status: FlowStatus::Draft,
            version: 1,
            created_at: now,
            updated_at: Some(now),
        },
        description: req.description,
        graph: req.graph,
        compiled: false,
        compiled_at: None,
    };
    let flow = state.inner.flows.create(flow).map_err(|_| {
        EnvelopeError::conflict(
            "flow_already_exists",
            "A flow with this name already exists",
        )
    })?;
    let created = FlowCreated {
        summary: FlowSummary {
            updated_at: None,
            ..flow.summary
        },
        compiled: false,
    };
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

async fn update(
    _: Admin,
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    body: Body,
) -> EnvelopeResult<Json<Flow>> {
    let id = flow_id(path)?;
    // 404 before reading the body: an unknown flow is the first thing to say.
    if state.inner.flows.get(&id).is_none() {
        return Err(not_found());
    }
    let changes: UpdateFlowRequest = read_json(body, MAX_BODY).await?;
    if let Some(n) = &changes.display_name {
        check_text("display_name", n, MAX_DISPLAY_NAME, true)?;
    }
    if let Some(d) = &changes.description {
        check_text("description", d, MAX_DESCRIPTION, false)?;
    }
    let now = state.now();
    state
        .inner
        .flows
        .update(&id, |r| {
            let f = &mut r.flow;
            if let Some(n) = changes.display_name {
                f.summary.display_name = n;
            }
            if let Some(d) = changes.description {
                f.description = Some(d);
            }
            if let Some(g) = changes.graph {
                f.graph = g;
                f.compiled = false;
                f.compiled_at = None;
                r.plan = None;
            }
            f.summary.updated_at = Some(now);
            Json(f.clone())
        })
        .ok_or_else(not_found)
}

async fn remove(
    _: Admin,
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> EnvelopeResult<StatusCode> {
    let id = flow_id(path)?;
    match state.inner.flows.remove_unless(&id, |r| {
        (r.flow.summary.status == FlowStatus::Active).then(|| {
            EnvelopeError::conflict(
                "flow_active",
                "An active flow cannot be deleted: deactivate it first",
            )
        })
    }) {
        None => Err(not_found()),
        Some(Err(e)) => Err(e),
        Some(Ok(())) => Ok(StatusCode::NO_CONTENT),
    }
}

// ---------------------------------------------------------- lifecycle

async fn validate(
    _: Admin,
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> EnvelopeResult<Json<Value>> {
    let id = flow_id(path)?;
    let record = state.inner.flows.get(&id).ok_or_else(not_found)?;
    let report = store::validate(&record.flow.graph);
    Ok(Json(serde_json::to_value(report).unwrap_or(Value::Null)))
}

fn invalid_graph(report: &authflow::api::flows::ValidationReport) -> EnvelopeError {
    let codes: Vec<String> = report
        .errors
        .iter()
        .map(|e| format!("{}: {}", e.code.as_str(), e.message))
        .collect();
    EnvelopeError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "flow_invalid",
        format!("The flow graph is invalid: {}", codes.join("; ")),
    )
    .detail(
        "errors",
        serde_json::to_value(&report.errors).unwrap_or(Value::Null),
    )
}

async fn compile(
    _: Admin,
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> EnvelopeResult<Json<CompileResponse>> {
    let id = flow_id(path)?;
    let record = state.inner.flows.get(&id).ok_or_else(not_found)?;
    // Compile outside the lock: a big graph must not stall other requests.
    let plan = if record.flow.compiled && record.plan.is_some() {
        None
    } else {
        Some(record.flow.graph.compile().map_err(|r| invalid_graph(&r))?)
    };
    let now = state.now();
    state
        .inner
        .flows
        .update(&id, |r| {
            if let Some(plan) = plan {
                // The graph may have changed since it was read: only keep the
                // plan if it is the plan of the stored graph.
                if r.flow.graph == record.flow.graph {
                    r.flow.summary.version += 1;
                    r.flow.compiled = true;
                    r.flow.compiled_at = Some(now);
                    r.flow.summary.updated_at = Some(now);
                    r.plan = Some(plan);
                }
            }
            match (r.flow.compiled, r.flow.compiled_at) {
                (true, Some(at)) => Ok(Json(CompileResponse {
                    id: r.flow.summary.id.clone(),
                    compiled: true,
                    compiled_at: at,
                    version: r.flow.summary.version,
                })),
                _ => Err(EnvelopeError::conflict(
                    "flow_changed",
                    "The flow changed while it was compiled; compile again",
                )),
            }
        })
        .ok_or_else(not_found)?
}

async fn activate(
    _: Admin,
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> EnvelopeResult<Json<StatusChangeResponse>> {
    let id = flow_id(path)?;
    let now = state.now();
    state
        .inner
        .flows
        .update(&id, |r| {
            if !r.flow.compiled || r.plan.is_none() {
                return Err(EnvelopeError::conflict(
                    "flow_not_compiled",
                    "Only a compiled flow can be activated: compile it first",
                ));
            }
            if r.flow.summary.status != FlowStatus::Active {
                r.flow.summary.status = FlowStatus::Active;
                r.activated_at = Some(now);
                r.flow.summary.updated_at = Some(now);
            }
            Ok(Json(StatusChangeResponse {
                id: r.flow.summary.id.clone(),
                status: FlowStatus::Active,
                activated_at: r.activated_at,
                deactivated_at: None,
            }))
        })
        .ok_or_else(not_found)?
}

async fn deactivate(
    _: Admin,
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> EnvelopeResult<Json<StatusChangeResponse>> {
    let id = flow_id(path)?;
    let now = state.now();
    state
        .inner
        .flows
        .update(&id, |r| {
            match r.flow.summary.status {
                FlowStatus::Draft => {
                    return Err(EnvelopeError::conflict(
                        "flow_not_active",
                        "The flow was never activated",
                    ));
                }
                FlowStatus::Active => {
                    r.flow.summary.status = FlowStatus::Inactive;
                    r.deactivated_at = Some(now);
                    r.flow.summary.updated_at = Some(now);
                }
                FlowStatus::Inactive => {}
            }
            Ok(Json(StatusChangeResponse {
                id: r.flow.summary.id.clone(),
                status: FlowStatus::Inactive,
                activated_at: None,
                deactivated_at: r.deactivated_at,
            }))
        })
        .ok_or_else(not_found)?
}

async fn mermaid(
    _: Admin,
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> EnvelopeResult<Response> {
    let id = flow_id(path)?;
    let record = state.inner.flows.get(&id).ok_or_else(not_found)?;
    let mut resp = record.flow.graph.to_mermaid().into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/vnd.mermaid; charset=utf-8"),
    );
    Ok(resp)
}

/// `GET /__mock/flows/{id}/plan`: the stored compiled plan (test control).
pub(crate) async fn plan(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> EnvelopeResult<Json<Value>> {
    let id = flow_id(path)?;
    let record = state.inner.flows.get(&id).ok_or_else(not_found)?;
    let plan = record
        .plan
        .ok_or_else(|| EnvelopeError::not_found("plan_not_found", "The flow is not compiled"))?;
    Ok(Json(serde_json::to_value(plan).unwrap_or(Value::Null)))
}
