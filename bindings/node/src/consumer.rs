//! `ConsumerClient`, `ConsumerSession` and `InboxEvents`: the AIdenID
//! consumer API. `index.js` makes `InboxEvents` async-iterable
//! (`for await`).

use std::sync::Arc;

use authflow_ffi as ffi;
use napi::bindgen_prelude::Result;
use napi_derive::napi;

use crate::aidenid::{Identity, IdentityPage};
use crate::{Secret, SecretArg, from_u64, js_err, to_u64};

/// A consumer notification (never holds an extracted value).
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct Notification {
    /// `notif_…`
    pub id: String,
    /// `extraction.completed` or `identity.expiring`.
    pub kind: String,
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
    /// Whether it was read.
    pub read: bool,
    /// Created at (RFC 3339).
    pub created_at: String,
}

/// One page of notifications, newest first.
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct NotificationPage {
    /// This page.
    pub items: Vec<Notification>,
    /// Notifications in all pages.
    pub total: i64,
    /// Page size used.
    pub limit: u32,
    /// Offset used.
    pub offset: i64,
}

/// The start of an upgrade to `human_paid`.
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct Upgrade {
    /// Where to send the user to pay.
    pub checkout_url: String,
}

/// One event of the consumer inbox stream.
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct InboxEvent {
    /// The event id (the resume point).
    pub id: String,
    /// `inbound.received` or `extraction.completed`.
    pub event_type: String,
    /// The identity the mail arrived for.
    pub identity_id: String,
    /// The message.
    pub message_id: String,
    /// The event's `data:` payload as JSON text (redacted values only).
    pub data_json: String,
}

fn offset(value: Option<i64>) -> Result<Option<u64>> {
    value
        .map(|v| to_u64(v, "a non-negative offset"))
        .transpose()
}

/// Client for the AIdenID consumer API, before sign-in.
#[napi]
pub struct ConsumerClient(Arc<ffi::ConsumerClient>);

#[napi]
impl ConsumerClient {
    /// A client for `baseUrl` (default `https://api.aidenid.com`).
    #[napi(constructor)]
    pub fn new(base_url: Option<String>) -> Result<Self> {
        ffi::ConsumerClient::new(base_url)
            .map(ConsumerClient)
            .map_err(js_err)
    }

    /// The base URL.
    #[napi(getter)]
    pub fn base_url(&self) -> String {
        self.0.base_url()
    }

    /// `POST /v1/consumer/signup`: create an account; a magic link is mailed
    /// (409 `email_already_registered`).
    #[napi]
    pub async fn signup(&self, email: String) -> Result<()> {
        let c = self.0.clone();
        c.signup(email).await.map_err(js_err)
    }

    /// `POST /v1/consumer/login`: mail a new magic link (404
    /// `consumer_not_found`).
    #[napi]
    pub async fn login(&self, email: String) -> Result<()> {
        let c = self.0.clone();
        c.login(email).await.map_err(js_err)
    }

    /// `POST /v1/consumer/verify`: exchange a magic-link token for a session
    /// (401 `invalid_magic_link`).
    #[napi]
    pub async fn verify(
        &self,
        #[napi(ts_arg_type = "Secret | string")] token: SecretArg,
    ) -> Result<ConsumerSession> {
        let c = self.0.clone();
        c.verify(token.0).await.map(ConsumerSession).map_err(js_err)
    }
}

/// A signed-in consumer.
#[napi]
pub struct ConsumerSession(Arc<ffi::ConsumerSession>);

#[napi]
impl ConsumerSession {
    /// `csr_…`
    #[napi(getter)]
    pub fn consumer_id(&self) -> String {
        self.0.consumer_id()
    }

    /// The consumer's personal organization.
    #[napi(getter)]
    pub fn org_id(&self) -> String {
        self.0.org_id()
    }

    /// The consumer's default project.
    #[napi(getter)]
    pub fn project_id(&self) -> String {
        self.0.project_id()
    }

    /// When the session ends (RFC 3339).
    #[napi(getter)]
    pub fn expires_at(&self) -> String {
        self.0.expires_at()
    }

    /// The `sess_…` session token.
    #[napi(getter)]
    pub fn session_token(&self) -> Secret {
        Secret(self.0.session_token())
    }

    /// `GET /v1/consumer/identities`: one page.
    #[napi]
    pub async fn identities(
        &self,
        limit: Option<u32>,
        offset: Option<i64>,
    ) -> Result<IdentityPage> {
        let c = self.0.clone();
        let offset = self::offset(offset)?;
        c.identities(limit, offset)
            .await
            .map(IdentityPage::from_ffi)
            .map_err(js_err)
    }

    /// `POST /v1/consumer/identities`: a new identity (403
    /// `identity_limit_reached` beyond the tier's limit).
    #[napi]
    pub async fn create_identity(&self, label: String) -> Result<Identity> {
        let c = self.0.clone();
        c.create_identity(label)
            .await
            .map(Identity::from_ffi)
            .map_err(js_err)
    }

    /// `GET /v1/consumer/notifications`: one page, newest first.
    #[napi]
    pub async fn notifications(
        &self,
        limit: Option<u32>,
        offset: Option<i64>,
    ) -> Result<NotificationPage> {
        let c = self.0.clone();
        let offset = self::offset(offset)?;
        let p = c.notifications(limit, offset).await.map_err(js_err)?;
        Ok(NotificationPage {
            items: p
                .items
                .into_iter()
                .map(|n| Notification {
                    id: n.id,
                    kind: n.kind,
                    title: n.title,
                    body: n.body,
                    read: n.read,
                    created_at: n.created_at,
                })
                .collect(),
            total: from_u64(p.total),
            limit: p.limit,
            offset: from_u64(p.offset),
        })
    }

    /// `POST /v1/consumer/upgrade`: the checkout URL (409 `already_upgraded`).
    #[napi]
    pub async fn upgrade(&self) -> Result<Upgrade> {
        let c = self.0.clone();
        let u = c.upgrade().await.map_err(js_err)?;
        Ok(Upgrade {
            checkout_url: u.checkout_url,
        })
    }

    /// The live inbox stream (`for await (const e of session.inboxEvents())`),
    /// resuming after `lastEventId` if given.
    #[napi]
    pub fn inbox_events(&self, last_event_id: Option<String>) -> InboxEvents {
        InboxEvents(self.0.inbox_events(last_event_id))
    }
}

/// The consumer's live inbox (Server-Sent Events): `next()` until `null`,
/// or `for await`.
#[napi]
pub struct InboxEvents(Arc<ffi::InboxEvents>);

#[napi]
impl InboxEvents {
    /// The next event; `null` after `close()` or when the stream ended.
    #[napi]
    pub async fn next(&self) -> Result<Option<InboxEvent>> {
        let c = self.0.clone();
        let e = c.next().await.map_err(js_err)?;
        Ok(e.map(|e| InboxEvent {
            id: e.id,
            event_type: e.event_type,
            identity_id: e.identity_id,
            message_id: e.message_id,
            data_json: e.data_json,
        }))
    }

    /// Close the stream (idempotent); a waiting `next()` resolves to `null`.
    #[napi]
    pub async fn close(&self) -> Result<()> {
        let c = self.0.clone();
        c.close().await;
        Ok(())
    }
}
