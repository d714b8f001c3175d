//! The AIdenID agent API (identities, their inboxes) and consumer API
//! (magic-link accounts, identities with tier limits, notifications,
//! upgrade, the SSE inbox stream). Errors use the [envelope](crate::envelope);
//! every mutation goes through the [idempotency](crate::idempotency) layer.

pub mod consumer;
pub mod identities;
pub mod inbox;
pub mod runs;
pub mod store;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header;
use axum::http::request::Parts;
use axum::routing::{MethodRouter, get, post};
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use authflow::api::routes::{self, Route};

use crate::envelope::{EnvelopeError, EnvelopeResult};
use crate::state::{AppState, sha256};
pub use store::{AgentKeySeed, AidenIdState, Owner};

/// Largest accepted JSON body.
pub const MAX_BODY: usize = 64 * 1024;
/// Default page size.
pub const DEFAULT_LIMIT: u32 = 20;
/// Largest page size.
pub const MAX_LIMIT: u32 = 100;
/// Longest label.
pub const MAX_LABEL: usize = 128;

/// The handler of an AIdenID route of the table.
pub(crate) fn handler(route: &Route) -> Option<MethodRouter<AppState>> {
    Some(match route.name {
        "createIdentity" => post(identities::create),
        "getIdentity" => get(identities::get_one),
        "listIdentities" => get(identities::list),
        "squashIdentity" => post(identities::squash),
        "listIdentityMessages" => get(identities::messages),
        "createPasswordResetRun" => post(runs::create_password_reset),
        "createInviteRun" => post(runs::create_invite),
        "getRun" => get(runs::get_one),
        "listRuns" => get(runs::list),
        "getRunSecret" => get(runs::secret),
        "consumerSignup" => post(consumer::signup),
        "consumerVerify" => post(consumer::verify),
        "consumerLogin" => post(consumer::login),
        "consumerInbox" => get(inbox::stream),
        "consumerListIdentities" => get(consumer::list_identities),
        "consumerCreateIdentity" => post(consumer::create_identity),
        "consumerNotifications" => get(consumer::notifications),
        "consumerUpgrade" => post(consumer::upgrade),
        _ => return None,
    })
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|t| !t.is_empty())
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// An authenticated agent: its scope and grants.
#[derive(Debug, Clone)]
pub struct Agent {
    /// Organization.
    pub org_id: String,
    /// Project.
    pub project_id: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
}

impl Agent {
    /// The owner value of identities this agent creates.
    pub fn owner(&self) -> Owner {
        Owner::Agent {
            org_id: self.org_id.clone(),
            project_id: self.project_id.clone(),
        }
    }

    /// 403 `forbidden` unless the key holds `scope`.
    pub fn require(&self, scope: &str) -> EnvelopeResult<()> {
        if self.scopes.iter().any(|s| s == scope) {
            Ok(())
        } else {
            Err(EnvelopeError::forbidden(format!(
                "This API key lacks the {scope} scope"
            )))
        }
    }
}

/// The scope a route needs (`identities:read`, …) by its path and method.
fn needed_scope(parts: &Parts) -> &'static str {
    let path = parts.uri.path();
    let write = parts.method != axum::http::Method::GET;
    let family = if path.starts_with("/v1/reliability") {
        "runs"
    } else {
        "identities"
    };
    match (family, write) {
        ("runs", true) => "runs:write",
        ("runs", false) => "runs:read",
        (_, true) => "identities:write",
        _ => "identities:read",
    }
}

impl FromRequestParts<AppState> for Agent {
    type Rejection = EnvelopeError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(&parts.headers).ok_or_else(|| {
            EnvelopeError::unauthorized("Missing or malformed Authorization: Bearer credential")
        })?;
        let seed = state
            .inner
            .aidenid
            .agent_keys
            .iter()
            .find(|k| bool::from(k.key.expose_secret().as_bytes().ct_eq(token.as_bytes())))
            .ok_or_else(|| EnvelopeError::unauthorized("Invalid API key"))?;
        let org = header_str(&parts.headers, "x-org-id");
        let project = header_str(&parts.headers, "x-project-id");
        if org != Some(seed.org_id.as_str()) || project != Some(seed.project_id.as_str()) {
            return Err(EnvelopeError::new(
                axum::http::StatusCode::FORBIDDEN,
                "scope_mismatch",
                "X-Org-Id/X-Project-Id do not match the API key's scope",
            ));
        }
        let agent = Agent {
            org_id: seed.org_id.clone(),
            project_id: seed.project_id.clone(),
            scopes: seed.scopes.clone(),
        };
        agent.require(needed_scope(parts))?;
        Ok(agent)
    }
}

/// An authenticated consumer session.
#[derive(Debug, Clone)]
pub struct ConsumerAuth {
    /// The consumer.
    pub consumer: store::ConsumerRecord,
}

impl FromRequestParts<AppState> for ConsumerAuth {
    type Rejection = EnvelopeError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // EventSource cannot send headers: the inbox stream also takes
        // `?session_token=` (never logged: the journal redacts token names).
        let query_token = (parts.uri.path() == routes::CONSUMER_INBOX.path)
            .then(|| {
                url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
                    .find(|(k, _)| k == "session_token")
                    .map(|(_, v)| v.into_owned())
            })
            .flatten();
        let token = bearer(&parts.headers)
            .map(str::to_owned)
            .or(query_token)
            .ok_or_else(|| EnvelopeError::unauthorized("Missing consumer session"))?;
        let now = state.clock().now_millis();
        let hash = sha256(&token);
        let consumer = state.inner.aidenid.with(|d| {
            let (cid, expires) = d
                .sessions
                .get(&hash)
                .cloned()
                .ok_or_else(|| EnvelopeError::unauthorized("Invalid consumer session"))?;
            if now >= expires {
                return Err(EnvelopeError::new(
                    axum::http::StatusCode::UNAUTHORIZED,
                    "session_expired",
                    "The consumer session has expired: request a new login",
                ));
            }
            d.consumers
                .get(&cid)
                .cloned()
                .ok_or_else(|| EnvelopeError::unauthorized("Invalid consumer session"))
        })?;
        let org = header_str(&parts.headers, "x-org-id");
        let project = header_str(&parts.headers, "x-project-id");
        if org.is_some_and(|o| o != consumer.org_id)
            || project.is_some_and(|p| p != consumer.project_id)
        {
            return Err(EnvelopeError::new(
                axum::http::StatusCode::FORBIDDEN,
                "scope_mismatch",
                "Consumer session does not match provided org/project scope headers.",
            ));
        }
        Ok(ConsumerAuth { consumer })
    }
}

/// Parse `limit`/`offset` (and nothing else) from a query string.
pub(crate) fn page(query: Option<&str>) -> EnvelopeResult<(u32, u64)> {
    let mut limit = DEFAULT_LIMIT;
    let mut offset = 0u64;
    let mut seen: Vec<String> = Vec::new();
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if seen.iter().any(|s| *s == k) {
            return Err(EnvelopeError::bad_request(
                "invalid_parameter",
                "Duplicate query parameter",
            ));
        }
        seen.push(k.clone().into_owned());
        match k.as_ref() {
            "limit" => {
                limit = v
                    .parse::<u32>()
                    .ok()
                    .filter(|l| (1..=MAX_LIMIT).contains(l))
                    .ok_or_else(|| {
                        EnvelopeError::bad_request(
                            "invalid_parameter",
                            format!("limit must be an integer from 1 to {MAX_LIMIT}"),
                        )
                    })?;
            }
            "offset" => {
                offset = v.parse::<u64>().map_err(|_| {
                    EnvelopeError::bad_request(
                        "invalid_parameter",
                        "offset must be a non-negative integer",
                    )
                })?;
            }
            // The inbox stream's EventSource fallbacks.
            "session_token" | "last_event_id" => {}
            _ => {
                return Err(EnvelopeError::bad_request(
                    "invalid_parameter",
                    "Unknown query parameter (expected limit, offset)",
                ));
            }
        }
    }
    Ok((limit, offset))
}

/// Check a label: 1–128 characters, no control characters.
pub(crate) fn check_label(label: &str) -> EnvelopeResult<String> {
    let l = label.trim();
    if l.is_empty() || l.chars().count() > MAX_LABEL || l.chars().any(char::is_control) {
        return Err(EnvelopeError::bad_request(
            "invalid_request",
            format!("label must be 1-{MAX_LABEL} characters without control characters"),
        ));
    }
    Ok(l.to_owned())
}
