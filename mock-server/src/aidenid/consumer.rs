//! `/v1/consumer/…`: magic-link accounts, their identities (tier limits),
//! notifications and the upgrade checkout.

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

use authflow::api::aidenid::{
    ConsumerSessionInfo, EmailSent, Identity, IdentityList, Notification, NotificationList,
    UpgradeResponse,
};
use authflow::api::validation::is_email_shaped;

use super::identities::{self, DEFAULT_TTL_HOURS};
use super::store::{ConsumerRecord, NotificationRecord, Owner};
use super::{ConsumerAuth, MAX_BODY, check_label, page};
use crate::clock::rfc3339_secs;
use crate::envelope::{EnvelopeError, EnvelopeResult, read_json};
use crate::mail::{EmailKind, Outgoing};
use crate::state::{AppState, random_hex, sha256};

/// Magic links live 15 minutes.
pub const MAGIC_LINK_TTL_MS: i64 = 15 * 60 * 1000;
/// Sessions live 7 days.
pub const SESSION_TTL_MS: i64 = 7 * 24 * 3600 * 1000;
/// Active identities of a trial consumer.
pub const TRIAL_LIMIT: usize = 3;
/// Active identities of a `human_paid` consumer.
pub const PAID_LIMIT: usize = 10;
/// Identity-expiry warnings go out this long before expiry.
pub const EXPIRY_WARNING_MS: i64 = 3600 * 1000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailBody {
    email: String,
}

fn check_email(email: &str) -> EnvelopeResult<String> {
    let e = email.trim().to_lowercase();
    if !is_email_shaped(&e) {
        return Err(EnvelopeError::bad_request(
            "invalid_request",
            "email is not a valid email address",
        ));
    }
    Ok(e)
}

/// Create a magic link for `consumer_id` and mail it.
fn send_magic_link(state: &AppState, consumer_id: &str, email: &str, login: bool) {
    let token = format!("ml_{}", random_hex(16));
    let now = state.clock().now_millis();
    state.inner.aidenid.with(|d| {
        d.magic_links.insert(
            sha256(&token),
            (consumer_id.to_owned(), now + MAGIC_LINK_TTL_MS, false),
        );
    });
    let link = format!("{}/consumer/verify?token={token}", state.public_url());
    let (subject, intro) = if login {
        ("Your AIdenID login link", "Sign in to AIdenID")
    } else {
        (
            "Verify your AIdenID account",
            "Welcome to AIdenID! Confirm your email",
        )
    };
    state.send_mail(Outgoing {
        to: email.to_owned(),
        subject: subject.into(),
        text: format!("{intro} with this magic link (valid for 15 minutes):\n\n{link}\n"),
        html: format!("<p>{intro} with this magic link (valid for 15 minutes):</p><p><a href=\"{link}\">Sign in</a></p>"),
        kind: EmailKind::MagicLink,
    });
}

/// `POST /v1/consumer/signup`
pub(crate) async fn signup(
    State(state): State<AppState>,
    body: Body,
) -> EnvelopeResult<Json<EmailSent>> {
    let req: EmailBody = read_json(body, MAX_BODY).await?;
    let email = check_email(&req.email)?;
    let consumer = state.inner.aidenid.with(|d| {
        if d.consumers.values().any(|c| c.email == email) {
            return Err(EnvelopeError::conflict(
                "email_already_registered",
                "A consumer account with this email already exists",
            ));
        }
        let tag = random_hex(4);
        let c = ConsumerRecord {
            id: format!("csr_{tag}"),
            email: email.clone(),
            paid: false,
            org_id: format!("org_personal_{tag}"),
            project_id: format!("proj_default_{tag}"),
        };
        d.consumers.insert(c.id.clone(), c.clone());
        Ok(c)
    })?;
    send_magic_link(&state, &consumer.id, &email, false);
    Ok(Json(EmailSent {
        message: "Verification email sent".into(),
        email,
    }))
}

/// `POST /v1/consumer/login`
pub(crate) async fn login(
    State(state): State<AppState>,
    body: Body,
) -> EnvelopeResult<Json<EmailSent>> {
    let req: EmailBody = read_json(body, MAX_BODY).await?;
    let email = check_email(&req.email)?;
    let consumer = state
        .inner
        .aidenid
        .with(|d| d.consumers.values().find(|c| c.email == email).cloned())
        .ok_or_else(|| {
            EnvelopeError::not_found(
                "consumer_not_found",
                "No consumer account found for this email",
            )
        })?;
    send_magic_link(&state, &consumer.id, &email, true);
    Ok(Json(EmailSent {
        message: "Login email sent".into(),
        email,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyBody {
    token: SecretString,
}

/// `POST /v1/consumer/verify`
pub(crate) async fn verify(
    State(state): State<AppState>,
    body: Body,
) -> EnvelopeResult<Json<ConsumerSessionInfo>> {
    let req: VerifyBody = read_json(body, MAX_BODY).await?;
    let now = state.clock().now_millis();
    let session = format!("sess_{}", random_hex(16));
    let consumer = state
        .inner
        .aidenid
        .with(|d| {
            let invalid =
                || EnvelopeError::unauthorized("The magic-link token is invalid or expired");
            let link = d
                .magic_links
                .get_mut(&sha256(req.token.expose_secret()))
                .ok_or_else(invalid)?;
            if link.2 || now >= link.1 {
                return Err(invalid());
            }
            link.2 = true;
            let cid = link.0.clone();
            d.sessions
                .insert(sha256(&session), (cid.clone(), now + SESSION_TTL_MS));
            d.consumers.get(&cid).cloned().ok_or_else(invalid)
        })
        .map_err(|mut e| {
            if e.status == StatusCode::UNAUTHORIZED {
                e.code = "invalid_magic_link";
            }
            e
        })?;
    Ok(Json(ConsumerSessionInfo {
        consumer_id: consumer.id,
        org_id: consumer.org_id,
        project_id: consumer.project_id,
        session_token: SecretString::from(session),
        expires_at: rfc3339_secs(now + SESSION_TTL_MS),
    }))
}

/// `GET /v1/consumer/identities`
pub(crate) async fn list_identities(
    auth: ConsumerAuth,
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> EnvelopeResult<Json<IdentityList>> {
    let (limit, offset) = page(query.as_deref())?;
    let now = state.clock().now_millis();
    let owner = Owner::Consumer(auth.consumer.id);
    Ok(Json(state.inner.aidenid.with(|d| {
        identities::list_of(d, &owner, limit, offset, now)
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LabelBody {
    label: String,
}

/// `POST /v1/consumer/identities`
pub(crate) async fn create_identity(
    auth: ConsumerAuth,
    State(state): State<AppState>,
    body: Body,
) -> EnvelopeResult<(StatusCode, Json<Identity>)> {
    let req: LabelBody = read_json(body, MAX_BODY).await?;
    let label = check_label(&req.label)?;
    let now = state.clock().now_millis();
    let a = &state.inner.aidenid;
    let owner = Owner::Consumer(auth.consumer.id.clone());
    let record = a.with(|d| {
        let paid = d.consumers.get(&auth.consumer.id).is_some_and(|c| c.paid);
        let limit = if paid { PAID_LIMIT } else { TRIAL_LIMIT };
        let active = d
            .identities
            .values()
            .filter(|r| {
                r.owner == owner
                    && identities::status(r, now) == authflow::api::aidenid::IdentityStatus::Active
            })
            .count();
        if active >= limit {
            return Err(EnvelopeError::forbidden(format!(
                "Active identity limit reached for the consumer's tier ({limit})"
            ))
            .with_code("identity_limit_reached"));
        }
        Ok(identities::insert(
            d,
            &a.inbox_domain,
            label,
            DEFAULT_TTL_HOURS,
            owner.clone(),
            now,
        ))
    })?;
    Ok((StatusCode::CREATED, Json(identities::view(&record, now))))
}

/// Add identity-expiry warnings due by `now` for `consumer_id`.
fn warn_expiring(state: &AppState, consumer_id: &str, now: i64) {
    state.inner.aidenid.with(|d| {
        let owner = Owner::Consumer(consumer_id.to_owned());
        let mut due: Vec<(String, String, i64)> = Vec::new();
        for r in d.identities.values_mut() {
            if r.owner == owner
                && !r.expiry_warned
                && r.squashed_ms.is_none()
                && now >= r.expires_ms - EXPIRY_WARNING_MS
            {
                r.expiry_warned = true;
                due.push((
                    r.label.clone(),
                    r.id.clone(),
                    (r.expires_ms - EXPIRY_WARNING_MS).max(r.created_ms),
                ));
            }
        }
        due.sort_by_key(|x| x.2);
        for (label, _id, at) in due {
            d.notifications.push(NotificationRecord {
                id: format!("notif_{}", random_hex(4)),
                consumer_id: consumer_id.to_owned(),
                kind: "identity.expiring".into(),
                title: format!("Identity {label} expires soon"),
                body: format!("The identity {label} expires within the hour"),
                read: false,
                created_ms: at,
            });
        }
    });
}

/// `GET /v1/consumer/notifications` (newest first). Listing marks nothing
/// read; identity-expiry warnings due by now are added first.
pub(crate) async fn notifications(
    auth: ConsumerAuth,
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> EnvelopeResult<Json<NotificationList>> {
    let (limit, offset) = page(query.as_deref())?;
    let now = state.clock().now_millis();
    warn_expiring(&state, &auth.consumer.id, now);
    Ok(Json(state.inner.aidenid.with(|d| {
        let mut mine: Vec<&NotificationRecord> = d
            .notifications
            .iter()
            .filter(|n| n.consumer_id == auth.consumer.id)
            .collect();
        mine.sort_by_key(|n| std::cmp::Reverse(n.created_ms));
        NotificationList {
            total: mine.len() as u64,
            items: mine
                .into_iter()
                .skip(usize::try_from(offset).unwrap_or(usize::MAX))
                .take(limit as usize)
                .map(|n| Notification {
                    id: n.id.clone(),
                    kind: n.kind.clone(),
                    title: n.title.clone(),
                    body: n.body.clone(),
                    read: n.read,
                    created_at: rfc3339_secs(n.created_ms),
                })
                .collect(),
            limit,
            offset,
        }
    })))
}

/// `POST /v1/consumer/upgrade`
pub(crate) async fn upgrade(
    auth: ConsumerAuth,
    State(state): State<AppState>,
) -> EnvelopeResult<Json<UpgradeResponse>> {
    let id = format!("cs_mock_{}", random_hex(12));
    state.inner.aidenid.with(|d| {
        if d.consumers.get(&auth.consumer.id).is_some_and(|c| c.paid) {
            return Err(EnvelopeError::conflict(
                "already_upgraded",
                "Consumer is already on the paid plan",
            ));
        }
        d.checkouts
            .insert(id.clone(), (auth.consumer.id.clone(), false));
        Ok(())
    })?;
    Ok(Json(UpgradeResponse {
        checkout_url: format!("{}/__mock/checkout/{id}", state.public_url()),
    }))
}

/// `GET /__mock/checkout/{id}`: the page the `checkout_url` leads to, with
/// a button that completes the payment.
pub(crate) async fn checkout_page(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> axum::response::Response {
    use axum::response::{Html, IntoResponse};
    let id = path.map(|Path(id)| id).unwrap_or_default();
    let exists = state.inner.aidenid.with(|d| d.checkouts.contains_key(&id));
    if !exists {
        return EnvelopeError::not_found("checkout_not_found", "No such checkout").into_response();
    }
    // The id is ours (cs_mock_ + hex): safe in the page.
    Html(format!(
        "<!doctype html><title>Mock checkout</title><h1>AIdenID human_paid (mock checkout)</h1>\
         <form method=\"post\" action=\"/__mock/checkout/{id}/complete\"><button>Pay</button></form>"
    ))
    .into_response()
}

/// `POST /__mock/checkout/{id}/complete`: the payment succeeded; the
/// consumer's plan becomes `human_paid`.
pub(crate) async fn complete_checkout(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> EnvelopeResult<Json<Value>> {
    let id = path
        .map(|Path(id)| id)
        .map_err(|_| EnvelopeError::not_found("checkout_not_found", "No such checkout"))?;
    state.inner.aidenid.with(|d| {
        let (cid, done) = d
            .checkouts
            .get_mut(&id)
            .ok_or_else(|| EnvelopeError::not_found("checkout_not_found", "No such checkout"))?;
        if *done {
            return Err(EnvelopeError::conflict(
                "checkout_completed",
                "This checkout is already complete",
            ));
        }
        *done = true;
        let cid = cid.clone();
        if let Some(c) = d.consumers.get_mut(&cid) {
            c.paid = true;
        }
        Ok(Json(
            json!({ "id": id, "consumer_id": cid, "plan": "human_paid" }),
        ))
    })
}
