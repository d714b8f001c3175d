//! `/v1/identities`: create, get, list, squash, and the inbox of one identity.

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use serde::Deserialize;

use authflow::api::aidenid::{
    ExtractionSummary, Identity, IdentityList, IdentityStatus, InboxMessage, MessageList,
};

use super::store::{Data, IdentityRecord, Owner};
use super::{Agent, MAX_BODY, check_label, page};
use crate::clock::rfc3339_secs;
use crate::envelope::{EnvelopeError, EnvelopeResult, read_json};
use crate::mail::secret_extract::redact;
use crate::state::{AppState, random_hex};

/// Default identity life.
pub const DEFAULT_TTL_HOURS: u32 = 24;
/// Longest identity life.
pub const MAX_TTL_HOURS: u32 = 720;

/// The status of an identity at `now_ms`.
pub fn status(r: &IdentityRecord, now_ms: i64) -> IdentityStatus {
    if r.squashed_ms.is_some() {
        IdentityStatus::Squashed
    } else if now_ms >= r.expires_ms {
        IdentityStatus::Expired
    } else {
        IdentityStatus::Active
    }
}

/// The wire form of a stored identity.
pub fn view(r: &IdentityRecord, now_ms: i64) -> Identity {
    Identity {
        id: r.id.clone(),
        email: r.email.clone(),
        label: r.label.clone(),
        status: status(r, now_ms),
        created_at: rfc3339_secs(r.created_ms),
        expires_at: rfc3339_secs(r.expires_ms),
    }
}

/// Store a new identity (the caller checked limits).
pub fn insert(
    d: &mut Data,
    domain: &str,
    label: String,
    ttl_hours: u32,
    owner: Owner,
    now_ms: i64,
) -> IdentityRecord {
    let tag = random_hex(4);
    let record = IdentityRecord {
        id: format!("ident_{tag}{}", random_hex(3)),
        email: format!("{tag}{}@{domain}", random_hex(2)),
        label,
        created_ms: now_ms,
        expires_ms: now_ms + i64::from(ttl_hours) * 3_600_000,
        squashed_ms: None,
        owner,
        seq: {
            d.next_seq += 1;
            d.next_seq
        },
        expiry_warned: false,
    };
    d.by_email.insert(record.email.clone(), record.id.clone());
    d.identities.insert(record.id.clone(), record.clone());
    record
}

/// A page of the identities `owner` owns, in creation order.
pub fn list_of(d: &Data, owner: &Owner, limit: u32, offset: u64, now_ms: i64) -> IdentityList {
    let mut mine: Vec<&IdentityRecord> = d
        .identities
        .values()
        .filter(|r| &r.owner == owner)
        .collect();
    mine.sort_unstable_by_key(|r| r.seq);
    IdentityList {
        total: mine.len() as u64,
        items: mine
            .into_iter()
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .take(limit as usize)
            .map(|r| view(r, now_ms))
            .collect(),
        limit,
        offset,
    }
}

fn not_found() -> EnvelopeError {
    EnvelopeError::not_found("identity_not_found", "Referenced identity does not exist")
}

fn id_of(path: Result<Path<String>, PathRejection>) -> EnvelopeResult<String> {
    path.map(|Path(id)| id).map_err(|_| not_found())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    label: String,
    #[serde(default)]
    ttl_hours: Option<u32>,
}

/// `POST /v1/identities`
pub(crate) async fn create(
    agent: Agent,
    State(state): State<AppState>,
    body: Body,
) -> EnvelopeResult<(StatusCode, Json<Identity>)> {
    let req: CreateBody = read_json(body, MAX_BODY).await?;
    let label = check_label(&req.label)?;
    let ttl = req.ttl_hours.unwrap_or(DEFAULT_TTL_HOURS);
    if !(1..=MAX_TTL_HOURS).contains(&ttl) {
        return Err(EnvelopeError::bad_request(
            "invalid_request",
            format!("ttl_hours must be from 1 to {MAX_TTL_HOURS}"),
        ));
    }
    let now = state.clock().now_millis();
    let a = &state.inner.aidenid;
    let record = a.with(|d| insert(d, &a.inbox_domain, label, ttl, agent.owner(), now));
    Ok((StatusCode::CREATED, Json(view(&record, now))))
}

/// The identity `id` if `owner` owns it.
pub(crate) fn owned(state: &AppState, id: &str, owner: &Owner) -> EnvelopeResult<IdentityRecord> {
    state
        .inner
        .aidenid
        .with(|d| d.identities.get(id).filter(|r| &r.owner == owner).cloned())
        .ok_or_else(not_found)
}

/// `GET /v1/identities/{id}`
pub(crate) async fn get_one(
    agent: Agent,
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> EnvelopeResult<Json<Identity>> {
    let r = owned(&state, &id_of(path)?, &agent.owner())?;
    Ok(Json(view(&r, state.clock().now_millis())))
}

/// `GET /v1/identities`
pub(crate) async fn list(
    agent: Agent,
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> EnvelopeResult<Json<IdentityList>> {
    let (limit, offset) = page(query.as_deref())?;
    let now = state.clock().now_millis();
    let owner = agent.owner();
    Ok(Json(
        state
            .inner
            .aidenid
            .with(|d| list_of(d, &owner, limit, offset, now)),
    ))
}

/// `POST /v1/identities/{id}/squash`
pub(crate) async fn squash(
    agent: Agent,
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> EnvelopeResult<Json<Identity>> {
    let id = id_of(path)?;
    let owner = agent.owner();
    let now = state.clock().now_millis();
    state.inner.aidenid.with(|d| {
        let r = d
            .identities
            .get_mut(&id)
            .filter(|r| r.owner == owner)
            .ok_or_else(not_found)?;
        if r.squashed_ms.is_some() {
            return Err(EnvelopeError::conflict(
                "identity_already_squashed",
                "Cannot use a squashed identity for testing",
            ));
        }
        r.squashed_ms = Some(now);
        Ok(Json(view(r, now)))
    })
}

/// `GET /v1/identities/{id}/messages`
pub(crate) async fn messages(
    agent: Agent,
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> EnvelopeResult<Json<MessageList>> {
    let id = id_of(path)?;
    let (limit, offset) = page(query.as_deref())?;
    owned(&state, &id, &agent.owner())?;
    Ok(Json(state.inner.aidenid.with(|d| {
        let mine: Vec<_> = d.messages.iter().filter(|m| m.identity_id == id).collect();
        MessageList {
            total: mine.len() as u64,
            items: mine
                .into_iter()
                .skip(usize::try_from(offset).unwrap_or(usize::MAX))
                .take(limit as usize)
                .map(|m| InboxMessage {
                    id: m.id.clone(),
                    identity_id: m.identity_id.clone(),
                    from: m.from.clone(),
                    subject: m.subject.clone(),
                    received_at: rfc3339_secs(m.received_ms),
                    extraction: m.extraction.as_ref().map(|e| ExtractionSummary {
                        kind: kind_name(e.kind).to_owned(),
                        redacted_value: redact(&e.value),
                        confidence: e.confidence,
                    }),
                })
                .collect(),
            limit,
            offset,
        }
    })))
}

/// `otp` / `link`.
pub fn kind_name(k: crate::mail::secret_extract::SecretKind) -> &'static str {
    match k {
        crate::mail::secret_extract::SecretKind::Otp => "otp",
        crate::mail::secret_extract::SecretKind::Link => "link",
    }
}
