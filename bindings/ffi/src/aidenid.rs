//! [`AidenIdClient`]: the AIdenID agent API (identities, inboxes and
//! reliability runs), and the records it exchanges (shared with the
//! consumer API: [`Identity`], [`IdentityPage`]).

use std::sync::Arc;
use std::time::Duration;

use authflow::aidenid::WaitOptions;
use authflow::api::aidenid::{self as wire, Page};
use authflow::api::reliability::{self as runs, RunFlowType};

use crate::convert::{parse_opt, sdk, wire_name};
use crate::{FfiResult, Secret};

const RUN_STATUSES: &str = "pending, email_received, completed, timeout, failed";

/// A temporary email identity (`ident_…`) with its inbox address.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
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
    pub(crate) fn from_sdk(i: wire::Identity) -> Self {
        Identity {
            status: wire_name(&i.status),
            id: i.id,
            email: i.email,
            label: i.label,
            created_at: i.created_at,
            expires_at: i.expires_at,
        }
    }
}

/// One page of identities (limit/offset).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct IdentityPage {
    /// This page.
    pub items: Vec<Identity>,
    /// Identities in all pages.
    pub total: u64,
    /// Page size used.
    pub limit: u32,
    /// Offset used.
    pub offset: u64,
}

impl IdentityPage {
    pub(crate) fn from_sdk(l: wire::IdentityList) -> Self {
        IdentityPage {
            items: l.items.into_iter().map(Identity::from_sdk).collect(),
            total: l.total,
            limit: l.limit,
            offset: l.offset,
        }
    }
}

/// What was extracted from a message (redacted; never the value).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Extraction {
    /// `otp` or `link`.
    pub kind: String,
    /// The value with all but its last 3 characters hidden (`***921`).
    pub redacted_value: String,
    /// Confidence in [0, 1].
    pub confidence: f64,
}

/// One message of an identity's inbox.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct InboxMessage {
    /// `msg_…`
    pub id: String,
    /// The identity it arrived for.
    pub identity_id: String,
    /// Sender (`from` on the wire).
    pub sender: String,
    /// Subject.
    pub subject: String,
    /// When it arrived (RFC 3339).
    pub received_at: String,
    /// The extracted OTP or link, redacted, if any.
    pub extraction: Option<Extraction>,
}

impl InboxMessage {
    fn from_sdk(m: wire::InboxMessage) -> Self {
        InboxMessage {
            id: m.id,
            identity_id: m.identity_id,
            sender: m.from,
            subject: m.subject,
            received_at: m.received_at,
            extraction: m.extraction.map(|x| Extraction {
                kind: x.kind,
                redacted_value: x.redacted_value,
                confidence: x.confidence,
            }),
        }
    }
}

/// The result of a completed run (the secret itself is not in it: see
/// [`AidenIdClient::run_secret`]).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RunResult {
    /// `otp` or `link`.
    pub kind: String,
    /// The value with all but its last 3 characters hidden (`***921`).
    pub redacted_value: String,
    /// Whether a secret was extracted.
    pub has_secret: bool,
    /// Whether `run_secret` can return it.
    pub secret_retrieval_available: bool,
    /// Extraction confidence in [0, 1].
    pub confidence: f64,
    /// From run creation to the email's arrival, in milliseconds.
    pub delivery_time_ms: u64,
    /// When the email arrived (RFC 3339).
    pub email_received_at: String,
}

/// Why a run failed or timed out.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RunFailure {
    /// `timeout`, `target_unreachable`, `target_error`,
    /// `nothing_extractable`, `dependency_timeout`, `dependency_unavailable`.
    pub code: String,
    /// Human-readable detail (never the target's response body).
    pub detail: String,
}

/// A reliability run: trigger a target, catch its email, extract the code
/// or link.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Run {
    /// `run_…`
    pub id: String,
    /// `password_reset` or `invite`.
    pub kind: String,
    /// `pending`, `email_received`, `completed`, `timeout` or `failed`.
    pub status: String,
    /// The identity whose inbox receives the email.
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
    fn from_sdk(r: runs::Run) -> Self {
        Run {
            kind: wire_name(&r.flow_type),
            status: wire_name(&r.status),
            id: r.id,
            identity_id: r.identity_id,
            target_url: r.target_url,
            created_at: r.created_at,
            completed_at: r.completed_at,
            result: r.result.map(|x| RunResult {
                kind: x.extraction_type,
                redacted_value: x.redacted_value,
                has_secret: x.has_secret,
                secret_retrieval_available: x.secret_retrieval_available,
                confidence: x.confidence,
                delivery_time_ms: x.delivery_time_ms,
                email_received_at: x.email_received_at,
            }),
            failure: r.failure.map(|f| RunFailure {
                code: f.code,
                detail: f.message,
            }),
        }
    }
}

/// One page of runs (limit/offset).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RunPage {
    /// This page, oldest first.
    pub items: Vec<Run>,
    /// Runs matching the filter, in all pages.
    pub total: u64,
    /// Page size used.
    pub limit: u32,
    /// Offset used.
    pub offset: u64,
}

pub(crate) fn page(limit: Option<u32>, offset: Option<u64>) -> Page {
    Page { limit, offset }
}

/// Client for the AIdenID agent API: an `aid_…` key scoped to one org and
/// project. Mutations carry an idempotency key. Cheap to share.
#[derive(Debug, uniffi::Object)]
pub struct AidenIdClient {
    inner: authflow::AidenIdClient,
}

impl AidenIdClient {
    async fn create_run(
        &self,
        flow: RunFlowType,
        identity_id: String,
        target_url: String,
        timeout_seconds: Option<u32>,
    ) -> FfiResult<Run> {
        let request = runs::CreateRunRequest {
            target_url,
            identity_id,
            timeout_seconds,
            trigger: None,
            flow_type: Some(flow),
        };
        let r = self
            .inner
            .create_run(&request)
            .await
            .map_err(sdk)?
            .into_inner();
        Ok(Run::from_sdk(r))
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl AidenIdClient {
    /// A client with the `aid_…` `agent_key` scoped to `org_id` and
    /// `project_id`, for `base_url` (default `https://api.aidenid.com`).
    /// Fails with `invalid_input` for a malformed key or an empty scope.
    #[uniffi::constructor]
    pub fn new(
        agent_key: Arc<Secret>,
        org_id: String,
        project_id: String,
        base_url: Option<String>,
    ) -> FfiResult<Arc<Self>> {
        let mut b = authflow::AidenIdClient::builder()
            .api_key(agent_key.to_sdk())
            .scope(org_id, project_id);
        if let Some(url) = base_url {
            b = b.base_url(url);
        }
        Ok(Arc::new(AidenIdClient {
            inner: b.build().map_err(sdk)?,
        }))
    }

    /// The base URL.
    pub fn base_url(&self) -> String {
        self.inner.base_url().to_owned()
    }

    /// `POST /v1/identities`: a new identity (`label` 1–128 characters,
    /// `ttl_hours` 1–720, default 24).
    pub async fn create_identity(
        &self,
        label: String,
        ttl_hours: Option<u32>,
    ) -> FfiResult<Identity> {
        let i = self
            .inner
            .create_identity(&wire::CreateIdentityRequest { label, ttl_hours })
            .await
            .map_err(sdk)?
            .into_inner();
        Ok(Identity::from_sdk(i))
    }

    /// `GET /v1/identities/{id}` (404 `identity_not_found`).
    pub async fn identity(&self, id: String) -> FfiResult<Identity> {
        let i = self.inner.identity(&id).await.map_err(sdk)?.into_inner();
        Ok(Identity::from_sdk(i))
    }

    /// `GET /v1/identities`: one page (`limit` 1–100, default 20; `offset`
    /// items to skip).
    pub async fn list_identities(
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

    /// `POST /v1/identities/{id}/squash`: end an identity (409
    /// `identity_already_squashed` the second time).
    pub async fn squash_identity(&self, id: String) -> FfiResult<Identity> {
        let i = self
            .inner
            .squash_identity(&id)
            .await
            .map_err(sdk)?
            .into_inner();
        Ok(Identity::from_sdk(i))
    }

    /// `GET /v1/identities/{id}/messages`: the first 100 messages of the
    /// identity's inbox, oldest first (extracted values redacted).
    pub async fn messages(&self, id: String) -> FfiResult<Vec<InboxMessage>> {
        let l = self
            .inner
            .messages(&id, page(Some(authflow::aidenid::MAX_PAGE), None))
            .await
            .map_err(sdk)?
            .into_inner();
        Ok(l.items.into_iter().map(InboxMessage::from_sdk).collect())
    }

    /// `POST /v1/reliability/password-reset`: start a password-reset run
    /// against `target_url` for the identity's address (`timeout_seconds`
    /// 1–3600, default 120).
    pub async fn create_password_reset_run(
        &self,
        identity_id: String,
        target_url: String,
        timeout_seconds: Option<u32>,
    ) -> FfiResult<Run> {
        self.create_run(
            RunFlowType::PasswordReset,
            identity_id,
            target_url,
            timeout_seconds,
        )
        .await
    }

    /// `POST /v1/reliability/invite`: start an invite run.
    pub async fn create_invite_run(
        &self,
        identity_id: String,
        target_url: String,
        timeout_seconds: Option<u32>,
    ) -> FfiResult<Run> {
        self.create_run(
            RunFlowType::Invite,
            identity_id,
            target_url,
            timeout_seconds,
        )
        .await
    }

    /// `GET /v1/reliability/{id}` (404 `run_not_found`).
    pub async fn run(&self, id: String) -> FfiResult<Run> {
        let r = self.inner.run(&id).await.map_err(sdk)?.into_inner();
        Ok(Run::from_sdk(r))
    }

    /// `GET /v1/reliability`: one page of runs, optionally only those in
    /// `status` (`pending`, `email_received`, `completed`, `timeout`,
    /// `failed`).
    pub async fn list_runs(
        &self,
        status: Option<String>,
        limit: Option<u32>,
        offset: Option<u64>,
    ) -> FfiResult<RunPage> {
        let status = parse_opt("status", status, RUN_STATUSES)?;
        let l = self
            .inner
            .runs(status, page(limit, offset))
            .await
            .map_err(sdk)?
            .into_inner();
        Ok(RunPage {
            items: l.items.into_iter().map(Run::from_sdk).collect(),
            total: l.total,
            limit: l.limit,
            offset: l.offset,
        })
    }

    /// `GET /v1/reliability/{id}/secret`: the raw OTP or link of a completed
    /// run (needs a key with `secrets:read`: 403 `forbidden` otherwise; 409
    /// `secret_not_available` for a run without one).
    pub async fn run_secret(&self, id: String) -> FfiResult<Arc<Secret>> {
        let s = self.inner.run_secret(&id).await.map_err(sdk)?.into_inner();
        Ok(Secret::from_sdk(s.value))
    }

    /// Poll a run until it is `completed`, `timeout` or `failed` (0.5 s
    /// doubling to 8 s, with jitter), for at most `max_wait_ms` (default
    /// 600 000); gives up with code `timeout`.
    pub async fn wait_for_run(&self, id: String, max_wait_ms: Option<u64>) -> FfiResult<Run> {
        let mut options = WaitOptions::default();
        if let Some(ms) = max_wait_ms {
            options = options.max_wait(Duration::from_millis(ms));
        }
        let r = self.inner.wait_for_run(&id, options).await.map_err(sdk)?;
        Ok(Run::from_sdk(r))
    }
}
