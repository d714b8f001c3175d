//! `AidenIdClient` and its records: the AIdenID agent API (identities,
//! inboxes, reliability runs). `Identity` and `IdentityPage` are shared with
//! the consumer API.

use std::sync::Arc;

use authflow_ffi as ffi;
use napi::bindgen_prelude::Result;
use napi_derive::napi;

use crate::{Secret, SecretArg, from_u64, js_err, to_u64};

/// A temporary email identity with its inbox address.
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct Identity {
    /// `ident_…`
    pub id: String,
    /// The inbox address.
    pub email: String,
    /// Label.
    pub label: String,
    /// `active`, `expired` or `squashed`.
    pub status: String,
    /// Created at (RFC 3339).
    pub created_at: String,
    /// Expires at (RFC 3339).
    pub expires_at: String,
}

impl Identity {
    pub(crate) fn from_ffi(i: ffi::Identity) -> Self {
        Identity {
            id: i.id,
            email: i.email,
            label: i.label,
            status: i.status,
            created_at: i.created_at,
            expires_at: i.expires_at,
        }
    }
}

/// One page of identities (limit/offset).
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct IdentityPage {
    /// This page.
    pub items: Vec<Identity>,
    /// Identities in all pages.
    pub total: i64,
    /// Page size used.
    pub limit: u32,
    /// Offset used.
    pub offset: i64,
}

impl IdentityPage {
    pub(crate) fn from_ffi(p: ffi::IdentityPage) -> Self {
        IdentityPage {
            items: p.items.into_iter().map(Identity::from_ffi).collect(),
            total: from_u64(p.total),
            limit: p.limit,
            offset: from_u64(p.offset),
        }
    }
}

/// What was extracted from a message (redacted).
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct Extraction {
    /// `otp` or `link`.
    pub kind: String,
    /// The value with all but its last 3 characters hidden (`***921`).
    pub redacted_value: String,
    /// Confidence in [0, 1].
    pub confidence: f64,
}

/// One message of an identity's inbox.
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct InboxMessage {
    /// `msg_…`
    pub id: String,
    /// The identity it arrived for.
    pub identity_id: String,
    /// Sender.
    pub sender: String,
    /// Subject.
    pub subject: String,
    /// When it arrived (RFC 3339).
    pub received_at: String,
    /// The extracted OTP or link, redacted, if any.
    pub extraction: Option<Extraction>,
}

/// The result of a completed run (the secret itself: `runSecret`).
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct RunResult {
    /// `otp` or `link`.
    pub kind: String,
    /// The value with all but its last 3 characters hidden.
    pub redacted_value: String,
    /// Whether a secret was extracted.
    pub has_secret: bool,
    /// Whether `runSecret` can return it.
    pub secret_retrieval_available: bool,
    /// Extraction confidence in [0, 1].
    pub confidence: f64,
    /// From run creation to the email's arrival, in milliseconds.
    pub delivery_time_ms: i64,
    /// When the email arrived (RFC 3339).
    pub email_received_at: String,
}

/// Why a run failed or timed out.
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct RunFailure {
    /// `timeout`, `target_unreachable`, `target_error`, …
    pub code: String,
    /// Human-readable detail.
    pub detail: String,
}

/// A reliability run.
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct Run {
    /// `run_…`
    pub id: String,
    /// `password_reset` or `invite`.
    pub kind: String,
    /// `pending`, `email_received`, `completed`, `timeout` or `failed`.
    pub status: String,
    /// The identity.
    pub identity_id: String,
    /// The target.
    pub target_url: String,
    /// Created at (RFC 3339).
    pub created_at: String,
    /// When it reached a terminal state (RFC 3339).
    pub completed_at: Option<String>,
    /// The result (`completed`).
    pub result: Option<RunResult>,
    /// Why it failed (`failed`, `timeout`).
    pub failure: Option<RunFailure>,
}

impl Run {
    fn from_ffi(r: ffi::Run) -> Self {
        Run {
            id: r.id,
            kind: r.kind,
            status: r.status,
            identity_id: r.identity_id,
            target_url: r.target_url,
            created_at: r.created_at,
            completed_at: r.completed_at,
            result: r.result.map(|x| RunResult {
                kind: x.kind,
                redacted_value: x.redacted_value,
                has_secret: x.has_secret,
                secret_retrieval_available: x.secret_retrieval_available,
                confidence: x.confidence,
                delivery_time_ms: from_u64(x.delivery_time_ms),
                email_received_at: x.email_received_at,
            }),
            failure: r.failure.map(|f| RunFailure {
                code: f.code,
                detail: f.detail,
            }),
        }
    }
}

/// One page of runs (limit/offset).
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct RunPage {
    /// This page, oldest first.
    pub items: Vec<Run>,
    /// Runs matching the filter, in all pages.
    pub total: i64,
    /// Page size used.
    pub limit: u32,
    /// Offset used.
    pub offset: i64,
}

fn offset(value: Option<i64>) -> Result<Option<u64>> {
    value
        .map(|v| to_u64(v, "a non-negative offset"))
        .transpose()
}

/// Client for the AIdenID agent API (an `aid_…` key scoped to one org and
/// project).
#[napi]
pub struct AidenIdClient(Arc<ffi::AidenIdClient>);

#[napi]
impl AidenIdClient {
    /// A client with the `aid_…` `agentKey` scoped to `orgId` and
    /// `projectId`, for `baseUrl` (default `https://api.aidenid.com`).
    #[napi(constructor)]
    pub fn new(
        #[napi(ts_arg_type = "Secret | string")] agent_key: SecretArg,
        org_id: String,
        project_id: String,
        base_url: Option<String>,
    ) -> Result<Self> {
        ffi::AidenIdClient::new(agent_key.0, org_id, project_id, base_url)
            .map(AidenIdClient)
            .map_err(js_err)
    }

    /// The base URL.
    #[napi(getter)]
    pub fn base_url(&self) -> String {
        self.0.base_url()
    }

    /// `POST /v1/identities`: a new identity (`ttlHours` 1–720, default 24).
    #[napi]
    pub async fn create_identity(&self, label: String, ttl_hours: Option<u32>) -> Result<Identity> {
        let c = self.0.clone();
        c.create_identity(label, ttl_hours)
            .await
            .map(Identity::from_ffi)
            .map_err(js_err)
    }

    /// `GET /v1/identities/{id}` (404 `identity_not_found`).
    #[napi]
    pub async fn identity(&self, id: String) -> Result<Identity> {
        let c = self.0.clone();
        c.identity(id).await.map(Identity::from_ffi).map_err(js_err)
    }

    /// `GET /v1/identities`: one page (`limit` 1–100, `offset` to skip).
    #[napi]
    pub async fn list_identities(
        &self,
        limit: Option<u32>,
        offset: Option<i64>,
    ) -> Result<IdentityPage> {
        let c = self.0.clone();
        let offset = self::offset(offset)?;
        c.list_identities(limit, offset)
            .await
            .map(IdentityPage::from_ffi)
            .map_err(js_err)
    }

    /// `POST /v1/identities/{id}/squash`: end an identity.
    #[napi]
    pub async fn squash_identity(&self, id: String) -> Result<Identity> {
        let c = self.0.clone();
        c.squash_identity(id)
            .await
            .map(Identity::from_ffi)
            .map_err(js_err)
    }

    /// `GET /v1/identities/{id}/messages`: the first 100 messages.
    #[napi]
    pub async fn messages(&self, id: String) -> Result<Vec<InboxMessage>> {
        let c = self.0.clone();
        let v = c.messages(id).await.map_err(js_err)?;
        Ok(v.into_iter()
            .map(|m| InboxMessage {
                id: m.id,
                identity_id: m.identity_id,
                sender: m.sender,
                subject: m.subject,
                received_at: m.received_at,
                extraction: m.extraction.map(|x| Extraction {
                    kind: x.kind,
                    redacted_value: x.redacted_value,
                    confidence: x.confidence,
                }),
            })
            .collect())
    }

    /// `POST /v1/reliability/password-reset`: start a password-reset run.
    #[napi]
    pub async fn create_password_reset_run(
        &self,
        identity_id: String,
        target_url: String,
        timeout_seconds: Option<u32>,
    ) -> Result<Run> {
        let c = self.0.clone();
        c.create_password_reset_run(identity_id, target_url, timeout_seconds)
            .await
            .map(Run::from_ffi)
            .map_err(js_err)
    }

    /// `POST /v1/reliability/invite`: start an invite run.
    #[napi]
    pub async fn create_invite_run(
        &self,
        identity_id: String,
        target_url: String,
        timeout_seconds: Option<u32>,
    ) -> Result<Run> {
        let c = self.0.clone();
        c.create_invite_run(identity_id, target_url, timeout_seconds)
            .await
            .map(Run::from_ffi)
            .map_err(js_err)
    }

    /// `GET /v1/reliability/{id}` (404 `run_not_found`).
    #[napi]
    pub async fn run(&self, id: String) -> Result<Run> {
        let c = self.0.clone();
        c.run(id).await.map(Run::from_ffi).map_err(js_err)
    }

    /// `GET /v1/reliability`: one page of runs, optionally only in `status`.
    #[napi]
    pub async fn list_runs(
        &self,
        status: Option<String>,
        limit: Option<u32>,
        offset: Option<i64>,
    ) -> Result<RunPage> {
        let c = self.0.clone();
        let offset = self::offset(offset)?;
        let p = c.list_runs(status, limit, offset).await.map_err(js_err)?;
        Ok(RunPage {
            items: p.items.into_iter().map(Run::from_ffi).collect(),
            total: from_u64(p.total),
            limit: p.limit,
            offset: from_u64(p.offset),
        })
    }

    /// `GET /v1/reliability/{id}/secret`: the raw OTP or link (needs
    /// `secrets:read`).
    #[napi]
    pub async fn run_secret(&self, id: String) -> Result<Secret> {
        let c = self.0.clone();
        c.run_secret(id).await.map(Secret).map_err(js_err)
    }

    /// Poll a run until it is `completed`, `timeout` or `failed`, for at
    /// most `maxWaitMs` (default 600 000); rejects with code `timeout`.
    #[napi]
    pub async fn wait_for_run(&self, id: String, max_wait_ms: Option<i64>) -> Result<Run> {
        let c = self.0.clone();
        let max_wait_ms = max_wait_ms
            .map(|v| to_u64(v, "a non-negative number of milliseconds"))
            .transpose()?;
        c.wait_for_run(id, max_wait_ms)
            .await
            .map(Run::from_ffi)
            .map_err(js_err)
    }
}
