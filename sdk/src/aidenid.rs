//! The typed AIdenID clients: [`AidenIdClient`] for the agent API (an
//! `aid_…` key scoped to one org and project) and [`ConsumerClient`] for the
//! consumer API (magic-link sign-in, then a [`ConsumerSession`]).
//!
//! Every mutation carries an `Idempotency-Key`: one per call (per intent),
//! reused by that call's retries; pass your own with
//! [`with_options`](AidenIdClient::with_options) to make a retry of a whole
//! operation (after a crash, say) replay the first result.
//!
//! ```no_run
//! use authflow::AidenIdClient;
//! use authflow::api::aidenid::CreateIdentityRequest;
//! use secrecy::SecretString;
//!
//! # async fn run() -> authflow::Result<()> {
//! let aid = AidenIdClient::builder()
//!     .api_key(SecretString::from(std::env::var("AIDENID_KEY").unwrap()))
//!     .scope("org_abc123", "proj_def456")
//!     .build()?;
//! let ident = aid
//!     .create_identity(&CreateIdentityRequest { label: "reset-test".into(), ttl_hours: Some(1) })
//!     .await?;
//! println!("send the reset email to {}", ident.email);
//! aid.squash_identity(&ident.id).await?;
//! # Ok(()) }
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{Stream, StreamExt, TryStreamExt};
use secrecy::{ExposeSecret, SecretString};

use crate::api::Endpoint;
use crate::api::aidenid::{
    ConsumerCreateIdentity, ConsumerInbox, ConsumerListIdentities, ConsumerLoginRequest,
    ConsumerNotifications, ConsumerSessionInfo, ConsumerSignupRequest, ConsumerUpgrade,
    ConsumerVerifyRequest, CreateIdentityRequest, EmailSent, GetIdentity, Identity, IdentityList,
    InboxEvent, ListIdentities, ListIdentityMessages, MessageList, NotificationList, Page,
    SquashIdentity, UpgradeResponse,
};
use crate::api::reliability::{
    CreateRunRequest, GetRun, GetRunSecret, ListRuns, Run, RunList, RunSecret, RunStatus,
};
use crate::api::validation::is_email_shaped;
use crate::error::{Error, Result};
use crate::transport::{RequestOptions, Response, RetryPolicy, Sleep, Transport, TransportBuilder};

/// Largest page size of the limit/offset lists.
pub const MAX_PAGE: u32 = 100;
/// Longest identity label.
pub const MAX_LABEL: usize = 128;

fn check_page(page: &Page) -> Result<()> {
    if page.limit.is_some_and(|l| !(1..=MAX_PAGE).contains(&l)) {
        return Err(Error::invalid_input("limit", "must be between 1 and 100"));
    }
    Ok(())
}

fn check_label(label: &str) -> Result<()> {
    let l = label.trim();
    if l.is_empty() || l.chars().count() > MAX_LABEL {
        return Err(Error::invalid_input("label", "must be 1-128 characters"));
    }
    Ok(())
}

fn check_id(id: &str) -> Result<()> {
    if id.is_empty() || id == "." || id == ".." {
        return Err(Error::invalid_input("id", "is not an identity id"));
    }
    Ok(())
}

/// Every item of a limit/offset list, page after page.
fn offset_pages<'a, T, F, Fut>(page_size: u32, fetch: F) -> impl Stream<Item = Result<T>> + 'a
where
    T: 'a,
    F: Fn(Page) -> Fut + 'a,
    Fut: std::future::Future<Output = Result<(Vec<T>, u64)>> + 'a,
{
    let pages = futures_util::stream::try_unfold(Some(0u64), move |offset| {
        let fut = offset.map(|o| {
            fetch(Page {
                limit: Some(page_size),
                offset: Some(o),
            })
        });
        async move {
            let (Some(offset), Some(fut)) = (offset, fut) else {
                return Ok(None);
            };
            let (items, total) = fut.await?;
            let next = offset + items.len() as u64;
            let more = !items.is_empty() && next < total;
            Ok::<_, Error>(Some((items, more.then_some(next))))
        }
    });
    pages
        .map_ok(|items| futures_util::stream::iter(items.into_iter().map(Ok::<_, Error>)))
        .try_flatten()
}

// ---------------------------------------------------------------- agent

/// Client for the AIdenID agent API. Cheap to clone.
#[derive(Clone)]
pub struct AidenIdClient {
    transport: Transport,
    options: Arc<RequestOptions>,
}

impl fmt::Debug for AidenIdClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AidenIdClient")
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

/// Builder for an [`AidenIdClient`].
///
/// ```
/// use authflow::AidenIdClient;
/// use secrecy::SecretString;
///
/// let aid = AidenIdClient::builder()
///     .api_key(SecretString::from("aid_0123456789abcdef"))
///     .scope("org_abc123", "proj_def456")
///     .base_url("http://127.0.0.1:4010")
///     .build()
///     .unwrap();
/// assert!(!format!("{aid:?}").contains("aid_0123"));
/// ```
#[derive(Debug, Default)]
#[must_use]
pub struct AidenIdClientBuilder {
    transport: TransportBuilder,
    key: Option<SecretString>,
    scope: Option<(String, String)>,
}

impl AidenIdClientBuilder {
    /// The `aid_…` API key.
    pub fn api_key(mut self, key: SecretString) -> Self {
        self.key = Some(key);
        self
    }
    /// The key's org and project (`X-Org-Id`, `X-Project-Id`).
    pub fn scope(mut self, org_id: impl Into<String>, project_id: impl Into<String>) -> Self {
        self.scope = Some((org_id.into(), project_id.into()));
        self
    }
    /// Base URL (default `https://api.aidenid.com`).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.transport = self.transport.base_url(url);
        self
    }
    /// Total timeout of one attempt (default 30 s).
    pub fn timeout(mut self, t: Duration) -> Self {
        self.transport = self.transport.timeout(t);
        self
    }
    /// Default retry policy.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.transport = self.transport.retry(policy);
        self
    }
    /// Use your own `reqwest::Client`.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.transport = self.transport.http_client(client);
        self
    }
    /// The sleep between retries (tests inject one that does not wait).
    pub fn sleeper(mut self, sleep: Arc<dyn Sleep>) -> Self {
        self.transport = self.transport.sleeper(sleep);
        self
    }

    /// Build the client: [`Error::InvalidInput`] without a well-formed key
    /// or scope.
    pub fn build(self) -> Result<AidenIdClient> {
        let key = self
            .key
            .ok_or_else(|| Error::invalid_input("api_key", "is required"))?;
        let k = key.expose_secret();
        if !k.starts_with("aid_") || k.len() < 8 || k.bytes().any(|b| !b.is_ascii_graphic()) {
            return Err(Error::invalid_input(
                "api_key",
                "must be `aid_` followed by printable characters",
            ));
        }
        let (org, project) = self
            .scope
            .ok_or_else(|| Error::invalid_input("scope", "org and project ids are required"))?;
        if org.trim().is_empty() || project.trim().is_empty() {
            return Err(Error::invalid_input(
                "scope",
                "org and project ids are required",
            ));
        }
        let mut transport = self.transport;
        if !transport.has_base_url() {
            transport = transport.base_url(DEFAULT_BASE_URL);
        }
        Ok(AidenIdClient {
            transport: transport
                .bearer_token(Some(key))
                .scope(org, project)
                .build()?,
            options: Arc::new(RequestOptions::default()),
        })
    }
}

/// The public AIdenID origin.
pub const DEFAULT_BASE_URL: &str = "https://api.aidenid.com";

impl AidenIdClient {
    /// A builder.
    pub fn builder() -> AidenIdClientBuilder {
        AidenIdClientBuilder::default()
    }

    /// A handle whose calls use `options` over the client's defaults (e.g.
    /// your own idempotency key).
    pub fn with_options(&self, options: RequestOptions) -> Self {
        AidenIdClient {
            transport: self.transport.clone(),
            options: Arc::new(options.merged_over(&self.options)),
        }
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        self.transport.base_url()
    }

    /// The underlying transport.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    async fn send<E: Endpoint>(&self, request: &E) -> Result<Response<E::Response>> {
        self.transport.send(request, &self.options).await
    }

    /// Create an identity (`ttl_hours` 1–720, default 24).
    pub async fn create_identity(
        &self,
        request: &CreateIdentityRequest,
    ) -> Result<Response<Identity>> {
        check_label(&request.label)?;
        if request.ttl_hours.is_some_and(|t| !(1..=720).contains(&t)) {
            return Err(Error::invalid_input("ttl_hours", "must be from 1 to 720"));
        }
        self.send(request).await
    }

    /// One identity.
    pub async fn identity(&self, id: &str) -> Result<Response<Identity>> {
        check_id(id)?;
        self.send(&GetIdentity { id: id.to_owned() }).await
    }

    /// One page of identities.
    pub async fn identities(&self, page: Page) -> Result<Response<IdentityList>> {
        check_page(&page)?;
        self.send(&ListIdentities { page }).await
    }

    /// Every identity, page after page (`page_size` 1–100).
    pub fn identities_all(&self, page_size: u32) -> impl Stream<Item = Result<Identity>> + '_ {
        offset_pages(page_size, move |page| async move {
            let l = self.identities(page).await?.into_inner();
            Ok((l.items, l.total))
        })
    }

    /// End an identity (409 `identity_already_squashed` the second time).
    pub async fn squash_identity(&self, id: &str) -> Result<Response<Identity>> {
        check_id(id)?;
        self.send(&SquashIdentity { id: id.to_owned() }).await
    }

    /// The identity's inbox (extracted values redacted).
    pub async fn messages(&self, id: &str, page: Page) -> Result<Response<MessageList>> {
        check_id(id)?;
        check_page(&page)?;
        self.send(&ListIdentityMessages {
            id: id.to_owned(),
            page,
        })
        .await
    }
}

// ---------------------------------------------------------- reliability

/// How [`AidenIdClient::wait_for_run`] polls.
///
/// ```
/// use std::time::Duration;
/// use authflow::aidenid::WaitOptions;
/// let w = WaitOptions::default().max_wait(Duration::from_secs(60));
/// assert_eq!(w.get_max_wait(), Duration::from_secs(60));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[must_use]
pub struct WaitOptions {
    backoff: RetryPolicy,
    max_wait: Duration,
}

impl Default for WaitOptions {
    /// 0.5 s doubling to 8 s with jitter, for at most 10 minutes.
    fn default() -> Self {
        WaitOptions {
            backoff: RetryPolicy::default()
                .base_delay(Duration::from_millis(500))
                .max_delay(Duration::from_secs(8)),
            max_wait: Duration::from_secs(600),
        }
    }
}

impl WaitOptions {
    /// Give up (with [`Error::Timeout`]) after this much waiting in total.
    pub fn max_wait(mut self, d: Duration) -> Self {
        self.max_wait = d;
        self
    }
    /// The poll delays (base, cap, jitter; retries are unbounded here: the
    /// total wait bounds them).
    pub fn backoff(mut self, policy: RetryPolicy) -> Self {
        self.backoff = policy;
        self
    }
    /// The total wait bound.
    pub fn get_max_wait(&self) -> Duration {
        self.max_wait
    }
}

impl AidenIdClient {
    /// Start a run: trigger the target, catch the email in the identity's
    /// inbox, extract the code or link. `request.flow_type` picks
    /// password-reset (default) or invite.
    pub async fn create_run(&self, request: &CreateRunRequest) -> Result<Response<Run>> {
        check_target_url(&request.target_url)?;
        check_id(&request.identity_id)?;
        if request
            .timeout_seconds
            .is_some_and(|t| !(1..=3600).contains(&t))
        {
            return Err(Error::invalid_input(
                "timeout_seconds",
                "must be from 1 to 3600",
            ));
        }
        self.send(request).await
    }

    /// One run.
    pub async fn run(&self, id: &str) -> Result<Response<Run>> {
        check_id(id)?;
        self.send(&GetRun { id: id.to_owned() }).await
    }

    /// One page of runs, optionally only those in `status`.
    pub async fn runs(&self, status: Option<RunStatus>, page: Page) -> Result<Response<RunList>> {
        check_page(&page)?;
        self.send(&ListRuns { status, page }).await
    }

    /// Every run (optionally in `status`), page after page.
    pub fn runs_all(
        &self,
        status: Option<RunStatus>,
        page_size: u32,
    ) -> impl Stream<Item = Result<Run>> + '_ {
        offset_pages(page_size, move |page| async move {
            let l = self.runs(status, page).await?.into_inner();
            Ok((l.items, l.total))
        })
    }

    /// The raw OTP or link of a completed run (needs a key with the
    /// `secrets:read` scope; 403 `forbidden` otherwise). Keep it in the
    /// `SecretString`; never log it.
    pub async fn run_secret(&self, id: &str) -> Result<Response<RunSecret>> {
        check_id(id)?;
        self.send(&GetRunSecret { id: id.to_owned() }).await
    }

    /// Poll a run until it is `completed`, `timeout` or `failed`, with
    /// backoff (0.5 s doubling to 8 s, jitter) and a bounded total wait.
    /// A 429 or 503 the transport's own retries did not absorb is waited
    /// out (its `Retry-After`, or the backoff) within the same bound.
    ///
    /// ```no_run
    /// # async fn run(aid: authflow::AidenIdClient, id: &str) -> authflow::Result<()> {
    /// use authflow::aidenid::WaitOptions;
    /// let run = aid.wait_for_run(id, WaitOptions::default()).await?;
    /// if let Some(r) = &run.result {
    ///     println!("delivered in {} ms ({})", r.delivery_time_ms, r.redacted_value);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn wait_for_run(&self, id: &str, options: WaitOptions) -> Result<Run> {
        check_id(id)?;
        let sleep = self.transport.sleeper();
        let mut waited = Duration::ZERO;
        let mut attempt = 0u32;
        loop {
            let delay = match self.run(id).await {
                Ok(run) if run.status.is_terminal() => return Ok(run.into_inner()),
                Ok(_) => options.backoff.backoff(attempt),
                Err(Error::Api {
                    status: 429 | 503,
                    retry_after,
                    ..
                }) => retry_after.unwrap_or_else(|| options.backoff.backoff(attempt)),
                Err(e) => return Err(e),
            };
            if waited + delay > options.max_wait {
                return Err(Error::Timeout {
                    route: "getRun",
                    after: waited,
                });
            }
            sleep.sleep(delay).await;
            waited += delay;
            attempt = attempt.saturating_add(1);
        }
    }
}

/// A run's target: absolute http(s) URL with a host and no credentials.
pub fn check_target_url(target: &str) -> Result<()> {
    let url = url::Url::parse(target)
        .map_err(|_| Error::invalid_input("target_url", "is not an absolute URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(Error::invalid_input(
            "target_url",
            "must be an http(s) URL with a host",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::invalid_input(
            "target_url",
            "must not carry credentials",
        ));
    }
    Ok(())
}

// ------------------------------------------------------------- consumer

/// Client for the AIdenID consumer API, before sign-in. Cheap to clone.
///
/// ```no_run
/// use authflow::ConsumerClient;
///
/// # async fn run(token_from_email: secrecy::SecretString) -> authflow::Result<()> {
/// let consumers = ConsumerClient::builder().build()?;
/// consumers.signup("alice@example.com").await?;
/// let session = consumers.verify(&token_from_email).await?;
/// let ident = session.create_identity("twitter-signup").await?;
/// println!("{}", ident.email);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ConsumerClient {
    transport: Transport,
    options: Arc<RequestOptions>,
    /// Backoff and sleep of the inbox stream's reconnects.
    stream_retry: RetryPolicy,
    sleep: Arc<dyn Sleep>,
}

impl fmt::Debug for ConsumerClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsumerClient")
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

/// Builder for a [`ConsumerClient`].
#[derive(Debug, Default)]
#[must_use]
pub struct ConsumerClientBuilder {
    transport: TransportBuilder,
    stream_retry: Option<RetryPolicy>,
    sleep: Option<Arc<dyn Sleep>>,
}

impl ConsumerClientBuilder {
    /// Base URL (default `https://api.aidenid.com`).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.transport = self.transport.base_url(url);
        self
    }
    /// Total timeout of one attempt (default 30 s; not applied to the
    /// inbox stream, which stays open).
    pub fn timeout(mut self, t: Duration) -> Self {
        self.transport = self.transport.timeout(t);
        self
    }
    /// Default retry policy of requests.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.transport = self.transport.retry(policy);
        self
    }
    /// Reconnect policy of the inbox stream (default: 10 consecutive
    /// failures, backoff 0.5 s → 8 s with jitter).
    pub fn stream_retry(mut self, policy: RetryPolicy) -> Self {
        self.stream_retry = Some(policy);
        self
    }
    /// Use your own `reqwest::Client`.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.transport = self.transport.http_client(client);
        self
    }
    /// The sleep between retries and reconnects (tests inject one).
    pub fn sleeper(mut self, sleep: Arc<dyn Sleep>) -> Self {
        self.transport = self.transport.sleeper(sleep.clone());
        self.sleep = Some(sleep);
        self
    }

    /// Build the client.
    pub fn build(self) -> Result<ConsumerClient> {
        let mut transport = self.transport;
        if !transport.has_base_url() {
            transport = transport.base_url(DEFAULT_BASE_URL);
        }
        Ok(ConsumerClient {
            transport: transport.build()?,
            options: Arc::new(RequestOptions::default()),
            stream_retry: self
                .stream_retry
                .unwrap_or_else(|| RetryPolicy::default().max_retries(10)),
            sleep: self
                .sleep
                .unwrap_or_else(|| Arc::new(crate::transport::TokioSleep)),
        })
    }
}

impl ConsumerClient {
    /// A builder.
    pub fn builder() -> ConsumerClientBuilder {
        ConsumerClientBuilder::default()
    }

    /// A handle whose calls use `options` over the client's defaults.
    pub fn with_options(&self, options: RequestOptions) -> Self {
        ConsumerClient {
            options: Arc::new(options.merged_over(&self.options)),
            ..self.clone()
        }
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        self.transport.base_url()
    }

    async fn send<E: Endpoint>(&self, request: &E) -> Result<Response<E::Response>> {
        self.transport.send(request, &self.options).await
    }

    /// Create an account; a magic link is mailed (409
    /// `email_already_registered` if it exists).
    pub async fn signup(&self, email: &str) -> Result<Response<EmailSent>> {
        if !is_email_shaped(email) {
            return Err(Error::invalid_input("email", "is not an email address"));
        }
        self.send(&ConsumerSignupRequest {
            email: email.to_owned(),
        })
        .await
    }

    /// Mail a new magic link to an existing account (404 `consumer_not_found`).
    pub async fn login(&self, email: &str) -> Result<Response<EmailSent>> {
        if !is_email_shaped(email) {
            return Err(Error::invalid_input("email", "is not an email address"));
        }
        self.send(&ConsumerLoginRequest {
            email: email.to_owned(),
        })
        .await
    }

    /// Exchange a magic-link token (single use, 15 minutes) for a session.
    pub async fn verify(&self, token: &SecretString) -> Result<ConsumerSession> {
        if token.expose_secret().trim().is_empty() {
            return Err(Error::invalid_input("token", "is required"));
        }
        let info = self
            .send(&ConsumerVerifyRequest {
                token: token.clone(),
            })
            .await?
            .into_inner();
        Ok(ConsumerSession {
            client: self.clone(),
            info,
        })
    }

    /// Resume a session whose token you stored.
    pub fn session(&self, info: ConsumerSessionInfo) -> ConsumerSession {
        ConsumerSession {
            client: self.clone(),
            info,
        }
    }
}

/// A signed-in consumer: the session (7 days) and its calls. The token is a
/// `SecretString` and never appears in `Debug`.
#[derive(Clone)]
pub struct ConsumerSession {
    client: ConsumerClient,
    info: ConsumerSessionInfo,
}

impl fmt::Debug for ConsumerSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsumerSession")
            .field("consumer_id", &self.info.consumer_id)
            .field("expires_at", &self.info.expires_at)
            .finish_non_exhaustive()
    }
}

impl ConsumerSession {
    /// The session as the server issued it (consumer, org and project ids,
    /// token, expiry).
    pub fn info(&self) -> &ConsumerSessionInfo {
        &self.info
    }

    fn token(&self) -> SecretString {
        self.info.session_token.clone()
    }

    /// One page of the consumer's identities.
    pub async fn identities(&self, page: Page) -> Result<Response<IdentityList>> {
        check_page(&page)?;
        self.client
            .send(&ConsumerListIdentities {
                session: self.token(),
                page,
            })
            .await
    }

    /// Every identity of the consumer, page after page.
    pub fn identities_all(&self, page_size: u32) -> impl Stream<Item = Result<Identity>> + '_ {
        offset_pages(page_size, move |page| async move {
            let l = self.identities(page).await?.into_inner();
            Ok((l.items, l.total))
        })
    }

    /// Create an identity (403 `identity_limit_reached` beyond the tier's
    /// active identities: trial 3, `human_paid` 10).
    pub async fn create_identity(&self, label: &str) -> Result<Response<Identity>> {
        check_label(label)?;
        self.client
            .send(&ConsumerCreateIdentity {
                session: self.token(),
                label: label.to_owned(),
            })
            .await
    }

    /// One page of notifications, newest first.
    pub async fn notifications(&self, page: Page) -> Result<Response<NotificationList>> {
        check_page(&page)?;
        self.client
            .send(&ConsumerNotifications {
                session: self.token(),
                page,
            })
            .await
    }

    /// The live inbox: `inbound.received` and `extraction.completed` events
    /// of every identity of this consumer, as a stream that reconnects by
    /// itself (backoff with jitter, the server's `retry:`), resumes with
    /// `Last-Event-ID` and never yields an event twice or skips one. Pass
    /// the id of the last event you handled to resume across processes.
    /// Ends with an error only when reconnecting fails repeatedly or the
    /// session is refused (401 `session_expired`).
    ///
    /// ```no_run
    /// # async fn run(session: authflow::ConsumerSession) -> authflow::Result<()> {
    /// use futures_util::StreamExt;
    /// let mut events = std::pin::pin!(session.inbox_events(None));
    /// while let Some(event) = events.next().await {
    ///     let event = event?;
    ///     println!("{} {} {:?}", event.id, event.event, event.data.redacted_value);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn inbox_events(
        &self,
        last_event_id: Option<String>,
    ) -> impl Stream<Item = Result<InboxEvent>> + Send + 'static {
        let transport = self.client.transport.clone();
        let token = self.token();
        let connect = move |last: Option<String>| {
            let transport = transport.clone();
            let token = token.clone();
            // The caller's resume point counts until the stream has its own.
            let last = last.or_else(|| last_event_id.clone());
            async move {
                let request = ConsumerInbox { session: token };
                let headers: Vec<(&'static str, String)> =
                    last.map(|id| ("Last-Event-ID", id)).into_iter().collect();
                transport
                    .open_stream(&request, &headers)
                    .await
                    .map(Box::pin)
            }
        };
        crate::sse::reconnecting(connect, self.client.stream_retry, self.client.sleep.clone()).map(
            |event| {
                let event = event?;
                let data = serde_json::from_str(&event.data).map_err(|e| Error::Decode {
                    route: "consumerInbox",
                    status: 200,
                    message: crate::sanitize::strip_quoted(&e.to_string()),
                    request_id: None,
                })?;
                Ok(InboxEvent {
                    id: event.id.unwrap_or_default(),
                    event: event.event,
                    data,
                })
            },
        )
    }

    /// Start the upgrade to `human_paid`: the checkout URL to send the user
    /// to (409 `already_upgraded`).
    pub async fn upgrade(&self) -> Result<Response<UpgradeResponse>> {
        self.client
            .send(&ConsumerUpgrade {
                session: self.token(),
            })
            .await
    }
}
