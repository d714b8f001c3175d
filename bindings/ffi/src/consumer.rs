//! [`ConsumerClient`], [`ConsumerSession`] and [`InboxEvents`]: the AIdenID
//! consumer API (magic-link sign-in, identities, notifications, upgrade and
//! the live inbox stream).

use std::pin::Pin;
use std::sync::Arc;

use futures_util::{Stream, StreamExt};
use tokio::sync::{Mutex, watch};

use crate::aidenid::{Identity, IdentityPage, page};
use crate::convert::{invalid, sdk};
use crate::{FfiResult, Secret};

/// A consumer notification (never contains an extracted value).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
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
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct NotificationPage {
    /// This page.
    pub items: Vec<Notification>,
    /// Notifications in all pages.
    pub total: u64,
    /// Page size used.
    pub limit: u32,
    /// Offset used.
    pub offset: u64,
}

/// The start of an upgrade to `human_paid`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Upgrade {
    /// Where to send the user to pay.
    pub checkout_url: String,
}

/// One event of the consumer inbox stream.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
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

/// Client for the AIdenID consumer API, before sign-in. Cheap to share.
#[derive(Debug, uniffi::Object)]
pub struct ConsumerClient {
    inner: authflow::ConsumerClient,
}

#[uniffi::export(async_runtime = "tokio")]
impl ConsumerClient {
    /// A client for `base_url` (default `https://api.aidenid.com`).
    #[uniffi::constructor]
    pub fn new(base_url: Option<String>) -> FfiResult<Arc<Self>> {
        let mut b = authflow::ConsumerClient::builder();
        if let Some(url) = base_url {
            b = b.base_url(url);
        }
        Ok(Arc::new(ConsumerClient {
            inner: b.build().map_err(sdk)?,
        }))
    }

    /// The base URL.
    pub fn base_url(&self) -> String {
        self.inner.base_url().to_owned()
    }

    /// `POST /v1/consumer/signup`: create an account; a magic link is mailed
    /// (409 `email_already_registered` if it exists).
    pub async fn signup(&self, email: String) -> FfiResult<()> {
        self.inner.signup(&email).await.map_err(sdk)?;
        Ok(())
    }

    /// `POST /v1/consumer/login`: mail a new magic link to an existing
    /// account (404 `consumer_not_found`).
    pub async fn login(&self, email: String) -> FfiResult<()> {
        self.inner.login(&email).await.map_err(sdk)?;
        Ok(())
    }

    /// `POST /v1/consumer/verify`: exchange a magic-link token (single use,
    /// 15 minutes) for a 7-day session (401 `invalid_magic_link`).
    pub async fn verify(&self, token: Arc<Secret>) -> FfiResult<Arc<ConsumerSession>> {
        let inner = self.inner.verify(token.inner()).await.map_err(sdk)?;
        Ok(Arc::new(ConsumerSession { inner }))
    }
}

/// A signed-in consumer. Its token is a [`Secret`]; `Debug` shows only the
/// consumer id and expiry.
#[derive(Debug, uniffi::Object)]
pub struct ConsumerSession {
    inner: authflow::ConsumerSession,
}

#[uniffi::export(async_runtime = "tokio")]
impl ConsumerSession {
    /// `csr_…`
    pub fn consumer_id(&self) -> String {
        self.inner.info().consumer_id.clone()
    }

    /// The consumer's personal organization (`org_personal_…`).
    pub fn org_id(&self) -> String {
        self.inner.info().org_id.clone()
    }

    /// The consumer's default project (`proj_default_…`).
    pub fn project_id(&self) -> String {
        self.inner.info().project_id.clone()
    }

    /// When the session ends (RFC 3339).
    pub fn expires_at(&self) -> String {
        self.inner.info().expires_at.clone()
    }

    /// The `sess_…` session token.
    pub fn session_token(&self) -> Arc<Secret> {
        Secret::from_sdk(self.inner.info().session_token.clone())
    }

    /// `GET /v1/consumer/identities`: one page of the consumer's identities.
    pub async fn identities(
        &self,
        limit: Option<u32>,
        offset: Option<u64>,
    ) -> FfiResult<IdentityPage> {
        let l = self
            .inner
            .identities(page(limit, offset))
            .await
            .map_err(sdk)?
            .into_inner();
        Ok(IdentityPage::from_sdk(l))
    }

    /// `POST /v1/consumer/identities`: a new identity (403
    /// `identity_limit_reached` beyond the tier's active identities: trial
    /// 3, `human_paid` 10).
    pub async fn create_identity(&self, label: String) -> FfiResult<Identity> {
        let i = self
            .inner
            .create_identity(&label)
            .await
            .map_err(sdk)?
            .into_inner();
        Ok(Identity::from_sdk(i))
    }

    /// `GET /v1/consumer/notifications`: one page, newest first.
    pub async fn notifications(
        &self,
        limit: Option<u32>,
        offset: Option<u64>,
    ) -> FfiResult<NotificationPage> {
        let l = self
            .inner
            .notifications(page(limit, offset))
            .await
            .map_err(sdk)?
            .into_inner();
        Ok(NotificationPage {
            items: l
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
            total: l.total,
            limit: l.limit,
            offset: l.offset,
        })
    }

    /// `POST /v1/consumer/upgrade`: start the upgrade to `human_paid` (409
    /// `already_upgraded`).
    pub async fn upgrade(&self) -> FfiResult<Upgrade> {
        let u = self.inner.upgrade().await.map_err(sdk)?.into_inner();
        Ok(Upgrade {
            checkout_url: u.checkout_url,
        })
    }

    /// `GET /v1/consumer/inbox`: the live inbox of every identity of this
    /// consumer. Connects on the first [`InboxEvents::next`], reconnects by
    /// itself and resumes with `Last-Event-ID`; pass the id of the last
    /// event you handled to resume across processes.
    pub fn inbox_events(&self, last_event_id: Option<String>) -> Arc<InboxEvents> {
        let stream = self.inner.inbox_events(last_event_id);
        Arc::new(InboxEvents {
            stream: Mutex::new(Some(Box::pin(stream))),
            closed: watch::Sender::new(false),
        })
    }
}

type EventStream =
    Pin<Box<dyn Stream<Item = authflow::Result<authflow::api::aidenid::InboxEvent>> + Send>>;

/// The consumer's live inbox stream (Server-Sent Events).
#[derive(uniffi::Object)]
pub struct InboxEvents {
    stream: Mutex<Option<EventStream>>,
    /// Set by `close`: wakes a `next` that is waiting for an event.
    closed: watch::Sender<bool>,
}

impl std::fmt::Debug for InboxEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboxEvents").finish_non_exhaustive()
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl InboxEvents {
    /// The next event; `None` after [`close`](Self::close) or when the
    /// stream ended. An error (reconnecting failed repeatedly, 401
    /// `session_expired`) ends the stream: later calls return `None`.
    pub async fn next(&self) -> FfiResult<Option<InboxEvent>> {
        let mut closed = self.closed.subscribe();
        let mut guard = self.stream.lock().await;
        let Some(stream) = guard.as_mut() else {
            return Ok(None);
        };
        if *closed.borrow_and_update() {
            *guard = None;
            return Ok(None);
        }
        let item = tokio::select! {
            item = stream.next() => item,
            _ = closed.wait_for(|c| *c) => None,
        };
        match item {
            None => {
                *guard = None;
                Ok(None)
            }
            Some(Err(e)) => {
                *guard = None;
                Err(sdk(e))
            }
            Some(Ok(event)) => {
                let data_json = serde_json::to_string(&event.data)
                    .map_err(|_| invalid("data", "the event payload could not be serialised"))?;
                Ok(Some(InboxEvent {
                    id: event.id,
                    event_type: event.event,
                    identity_id: event.data.identity_id,
                    message_id: event.data.message_id,
                    data_json,
                }))
            }
        }
    }

    /// Close the stream and its connection (idempotent). A `next` waiting
    /// for an event returns `None`.
    ///
    /// The uniffi (Kotlin, Swift) name is `stop`: uniffi's Kotlin objects
    /// are `AutoCloseable`, whose `close()` releases the object.
    #[uniffi::method(name = "stop")]
    pub async fn close(&self) {
        self.closed.send_replace(true);
        self.stream.lock().await.take();
    }
}
