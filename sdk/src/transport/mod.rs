//! The HTTP transport: one `send` path that owns URL building, credential
//! placement, idempotency keys, timeouts, retries, decoding, error mapping and
//! redaction.
//!
//! Route methods on the API clients only describe a call (an
//! [`Endpoint`]); everything else happens here.

mod decode;
mod options;
mod retry;
mod sleep;

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderValue, USER_AGENT};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tracing::Instrument;
use url::Url;

pub use options::RequestOptions;
pub use retry::{RetryPolicy, is_retryable_status, retry_after};
pub use sleep::{Sleep, SleepFuture, TokioSleep};

use crate::api::routes::{Credential, KeyPlacement, Method, Params, Route};
use crate::api::{Endpoint, FromResponse};
use crate::error::{Error, Result, TransportKind};
use crate::sanitize::{scrub, strip_quoted};

/// The public AuthFlow origin.
pub const DEFAULT_BASE_URL: &str = "https://api.authflow.net";
/// Default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default total timeout of one attempt.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The `User-Agent` sent by default.
pub const DEFAULT_USER_AGENT: &str = concat!("authflow-rs/", env!("CARGO_PKG_VERSION"));

/// A decoded success response with its metadata. Dereferences to the value.
///
/// ```no_run
/// # async fn run(client: authflow::AuthFlowClient, token: secrecy::SecretString) -> authflow::Result<()> {
/// let me = client.me(&token).await?;
/// println!("{} (request {:?})", me.email, me.request_id());
/// let profile = me.into_inner();
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Response<T> {
    value: T,
    status: u16,
    request_id: Option<String>,
}

impl<T> Response<T> {
    /// Wrap a value with its metadata.
    pub fn new(value: T, status: u16, request_id: Option<String>) -> Self {
        Response {
            value,
            status,
            request_id,
        }
    }
    /// The request id the server gave (`X-Request-Id` or envelope `requestId`).
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }
    /// The value, without metadata.
    pub fn into_inner(self) -> T {
        self.value
    }
    /// Transform the value, keeping the metadata.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Response<U> {
        Response {
            value: f(self.value),
            status: self.status,
            request_id: self.request_id,
        }
    }
}

impl<T> Deref for Response<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

/// Builder for a [`Transport`].
#[derive(Debug)]
#[must_use]
pub struct TransportBuilder {
    base_url: String,
    base_url_set: bool,
    timeout: Duration,
    connect_timeout: Duration,
    retry: RetryPolicy,
    http: Option<reqwest::Client>,
    user_agent: String,
    sleep: Arc<dyn Sleep>,
    org_api_key: Option<SecretString>,
    bearer_token: Option<SecretString>,
    scope: Option<(String, String)>,
}

impl Default for TransportBuilder {
    fn default() -> Self {
        TransportBuilder {
            base_url: DEFAULT_BASE_URL.to_owned(),
            base_url_set: false,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            retry: RetryPolicy::default(),
            http: None,
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            sleep: Arc::new(TokioSleep),
            org_api_key: None,
            bearer_token: None,
            scope: None,
        }
    }
}

impl TransportBuilder {
    /// Base URL (scheme, host, optional path prefix), e.g. a mock server or a proxy.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self.base_url_set = true;
        self
    }
    /// Whether [`Self::base_url`] was called (clients of other APIs pick
    /// their own default).
    pub fn has_base_url(&self) -> bool {
        self.base_url_set
    }
    /// Total timeout of one attempt (default 30 s).
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }
    /// Connect timeout (default 5 s; ignored with [`Self::http_client`]).
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }
    /// Default retry policy.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }
    /// Bring your own `reqwest::Client` (its redirect policy and connect
    /// timeout then apply; the SDK's default client never follows redirects,
    /// so a query-string key cannot be carried to another host).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }
    /// `User-Agent` header.
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = ua.into();
        self
    }
    /// The sleep used between retries (inject one in tests).
    pub fn sleeper(mut self, sleep: Arc<dyn Sleep>) -> Self {
        self.sleep = sleep;
        self
    }
    /// The AuthFlow organization API key, placed where each route says.
    pub fn org_api_key(mut self, key: Option<SecretString>) -> Self {
        self.org_api_key = key;
        self
    }

    /// The token sent as `Authorization: Bearer …` on routes whose
    /// credential is [`Credential::AdminBearer`] or [`Credential::AgentKey`].
    pub fn bearer_token(mut self, token: Option<SecretString>) -> Self {
        self.bearer_token = token;
        self
    }

    /// `X-Org-Id` and `X-Project-Id` sent with the bearer token on routes
    /// whose credential is [`Credential::AgentKey`].
    pub fn scope(mut self, org_id: impl Into<String>, project_id: impl Into<String>) -> Self {
        self.scope = Some((org_id.into(), project_id.into()));
        self
    }

    /// Build the transport.
    pub fn build(self) -> Result<Transport> {
        let base = self.base_url.trim_end_matches('/').to_owned();
        let parsed = Url::parse(&base)
            .map_err(|_| Error::Config("base URL is not a valid absolute URL".into()))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            return Err(Error::Config(
                "base URL must be http(s)://host[:port][/prefix]".into(),
            ));
        }
        if parsed.query().is_some()
            || parsed.fragment().is_some()
            || !parsed.username().is_empty()
            || parsed.password().is_some()
        {
            return Err(Error::Config(
                "base URL must not carry credentials, a query or a fragment".into(),
            ));
        }
        let user_agent = HeaderValue::from_str(&self.user_agent)
            .map_err(|_| Error::Config("user agent is not a valid header value".into()))?;
        let scope = match self.scope {
            Some((org, project)) => {
                let org = HeaderValue::from_str(&org)
                    .map_err(|_| Error::invalid_input("org_id", "is not a valid header value"))?;
                let project = HeaderValue::from_str(&project).map_err(|_| {
                    Error::invalid_input("project_id", "is not a valid header value")
                })?;
                Some((org, project))
            }
            None => None,
        };
        let http = match self.http {
            Some(c) => c,
            None => reqwest::Client::builder()
                .connect_timeout(self.connect_timeout)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| Error::Config(format!("HTTP client: {}", e.without_url())))?,
        };
        Ok(Transport {
            inner: Arc::new(Inner {
                http,
                base,
                timeout: self.timeout,
                retry: self.retry,
                user_agent,
                sleep: self.sleep,
                org_api_key: self.org_api_key,
                bearer_token: self.bearer_token,
                scope,
            }),
        })
    }
}

/// The shared HTTP core of every client. Cheap to clone.
#[derive(Clone)]
pub struct Transport {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: String,
    timeout: Duration,
    retry: RetryPolicy,
    user_agent: HeaderValue,
    sleep: Arc<dyn Sleep>,
    org_api_key: Option<SecretString>,
    bearer_token: Option<SecretString>,
    scope: Option<(HeaderValue, HeaderValue)>,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("base_url", &self.inner.base)
            .field("timeout", &self.inner.timeout)
            .field("retry", &self.inner.retry)
            .field(
                "org_api_key",
                &self.inner.org_api_key.as_ref().map(|_| "[REDACTED]"),
            )
            .field(
                "bearer_token",
                &self.inner.bearer_token.as_ref().map(|_| "[REDACTED]"),
            )
            .finish()
    }
}

/// What one attempt produced, before the retry decision.
enum Attempt<T> {
    Done(Result<Response<T>>),
    /// Failed in a way that may be retried: the error, whether the request may
    /// have reached the server, and any delay the server asked for.
    Retryable {
        error: Error,
        sent: bool,
        wait: Option<Duration>,
    },
}

impl Transport {
    /// A builder with the defaults.
    pub fn builder() -> TransportBuilder {
        TransportBuilder::default()
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.inner.base
    }

    /// The sleep used between retries (and by polling helpers).
    pub fn sleeper(&self) -> Arc<dyn Sleep> {
        self.inner.sleep.clone()
    }

    /// The default retry policy.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.inner.retry
    }

    /// Whether an organization API key is configured (false in proxy mode).
    pub fn has_org_api_key(&self) -> bool {
        self.inner.org_api_key.is_some()
    }

    /// Send one request: the single path every route method goes through.
    ///
    /// Retries follow the effective [`RetryPolicy`]: connection failures
    /// (the request was never sent) are retried on every route; after a
    /// request may have reached the server (a timeout, a 408/429/5xx, an
    /// envelope with `retryable: true`) only routes that are
    /// [safe to retry](Route::safe_to_retry) or carry an idempotency key are.
    pub async fn send<E: Endpoint>(
        &self,
        request: &E,
        options: &RequestOptions,
    ) -> Result<Response<E::Response>> {
        let route = request.route();
        let span =
            tracing::debug_span!("authflow.request", route = route.name, method = %route.method);
        self.send_inner(route, request, options)
            .instrument(span)
            .await
    }

    async fn send_inner<E: Endpoint>(
        &self,
        route: &'static Route,
        request: &E,
        options: &RequestOptions,
    ) -> Result<Response<E::Response>> {
        let mut params = match serde_json::to_value(request) {
            Ok(Value::Object(map)) => map,
            Ok(_) => serde_json::Map::new(),
            Err(e) => {
                return Err(Error::invalid_input(
                    "request",
                    strip_quoted(&e.to_string()),
                ));
            }
        };
        if let Some(key) = &self.inner.org_api_key
            && route.api_key_placement() != KeyPlacement::None
        {
            params.insert(
                "api_key".into(),
                Value::String(key.expose_secret().to_owned()),
            );
        }
        let bearer = request.bearer().or(match route.credential {
            Credential::AdminBearer | Credential::AgentKey => self.inner.bearer_token.as_ref(),
            _ => None,
        });
        // Secret values of this request, scrubbed from any server message.
        let secrets: Vec<&str> = params
            .iter()
            .filter(|(k, _)| k.as_str() == "api_key" || route.is_secret_field(k))
            .filter_map(|(_, v)| v.as_str())
            .chain(bearer.map(|b| b.expose_secret()))
            .chain(self.inner.org_api_key.as_ref().map(|k| k.expose_secret()))
            .collect();

        let url = self.url(route, &request.path(), &params)?;
        let body = (route.params == Params::JsonBody).then(|| Value::Object(params.clone()));
        let idempotency_key = options.idempotency_key.clone().or_else(|| {
            route
                .idempotency_key
                .then(|| uuid::Uuid::new_v4().to_string())
        });
        let may_repeat = route.safe_to_retry() || idempotency_key.is_some();
        let policy = options.retry.unwrap_or(self.inner.retry);
        let timeout = options.timeout.unwrap_or(self.inner.timeout);

        let mut retry = 0;
        loop {
            let attempt = self
                .attempt::<E::Response>(
                    route,
                    &url,
                    body.as_ref(),
                    bearer,
                    idempotency_key.as_deref(),
                    options,
                    timeout,
                    &secrets,
                )
                .await;
            let (error, sent, wait) = match attempt {
                Attempt::Done(result) => return result,
                Attempt::Retryable { error, sent, wait } => (error, sent, wait),
            };
            if retry >= policy.get_max_retries() || (sent && !may_repeat) {
                return Err(error);
            }
            let delay = match wait {
                Some(w) if w > policy.get_max_retry_after() => {
                    tracing::debug!(
                        wait_ms = w.as_millis() as u64,
                        "Retry-After beyond the cap: giving up"
                    );
                    return Err(error);
                }
                Some(w) => w,
                None => policy.backoff(retry),
            };
            tracing::warn!(retry = retry + 1, delay_ms = delay.as_millis() as u64, error = %error, "retrying");
            self.inner.sleep.sleep(delay).await;
            retry += 1;
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn attempt<T: FromResponse>(
        &self,
        route: &'static Route,
        url: &Url,
        body: Option<&Value>,
        bearer: Option<&SecretString>,
        idempotency_key: Option<&str>,
        options: &RequestOptions,
        timeout: Duration,
        secrets: &[&str],
    ) -> Attempt<T> {
        let method = match route.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        };
        let mut rb = self
            .inner
            .http
            .request(method, url.clone())
            .timeout(timeout)
            .header(USER_AGENT, self.inner.user_agent.clone());
        for (name, value) in &options.headers {
            rb = rb.header(name, value);
        }
        if route.credential == Credential::AgentKey
            && let Some((org, project)) = &self.inner.scope
        {
            rb = rb
                .header("X-Org-Id", org.clone())
                .header("X-Project-Id", project.clone());
        }
        if let Some(token) = bearer {
            // reqwest marks this header sensitive.
            rb = rb.bearer_auth(token.expose_secret());
        }
        if let Some(key) = idempotency_key {
            rb = rb.header("Idempotency-Key", key);
        }
        if let Some(body) = body {
            rb = rb.json(body);
        }
        tracing::debug!("sending");
        let resp = match rb.send().await {
            Ok(r) => r,
            Err(e) => return self.classify(route, e, timeout),
        };
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => return self.classify(route, e, timeout),
        };
        if (200..300).contains(&status) {
            let request_id = decode::request_id(&headers, None).or_else(|| {
                serde_json::from_slice::<Value>(&bytes)
                    .ok()
                    .and_then(|v| decode::request_id(&headers, Some(&v)))
            });
            tracing::debug!(status, request_id = request_id.as_deref(), "response");
            return Attempt::Done(match T::from_body(&bytes) {
                Ok(value) => Ok(Response::new(value, status, request_id)),
                Err(e) => Err(Error::Decode {
                    route: route.name,
                    status,
                    message: scrub(&strip_quoted(&e.to_string()), secrets),
                    request_id,
                }),
            });
        }
        let error = decode::api_error(route.name, status, &headers, &bytes, secrets);
        tracing::debug!(status, request_id = error.request_id(), "error response");
        match &error {
            Error::Api {
                retryable: true,
                retry_after,
                ..
            } => {
                let wait = *retry_after;
                Attempt::Retryable {
                    error,
                    sent: true,
                    wait,
                }
            }
            _ => Attempt::Done(Err(error)),
        }
    }

    fn classify<T>(
        &self,
        route: &'static Route,
        e: reqwest::Error,
        timeout: Duration,
    ) -> Attempt<T> {
        // Never keep the URL: AuthFlow puts the key and passwords in query strings.
        let e = e.without_url();
        let (kind, sent) = if e.is_connect() {
            (TransportKind::Connect, false)
        } else if e.is_body() || e.is_decode() {
            (TransportKind::Body, true)
        } else if e.is_request() || e.is_timeout() {
            (TransportKind::Request, true)
        } else {
            (TransportKind::Other, true)
        };
        let error = if e.is_timeout() && kind != TransportKind::Connect {
            Error::Timeout {
                route: route.name,
                after: timeout,
            }
        } else {
            Error::Transport {
                route: route.name,
                kind,
                message: error_chain(&e),
            }
        };
        tracing::debug!(error = %error, "transport failure");
        match kind {
            TransportKind::Other if !e.is_timeout() => Attempt::Done(Err(error)),
            _ => Attempt::Retryable {
                error,
                sent,
                wait: None,
            },
        }
    }

    /// Open a long-lived response (a Server-Sent Events stream) for a `GET`
    /// route: credentials as [`send`](Self::send) places them, the given
    /// extra headers (`Last-Event-ID`), no total timeout (the connect
    /// timeout still applies), no retries (the caller reconnects). A
    /// non-2xx status becomes [`Error::Api`]; a body that is not
    /// `text/event-stream` becomes [`Error::Decode`]. The body comes back as
    /// a stream of chunks; a broken connection ends it with
    /// [`Error::Transport`].
    pub async fn open_stream<E: Endpoint>(
        &self,
        request: &E,
        headers: &[(&'static str, String)],
    ) -> Result<impl futures_util::Stream<Item = Result<Vec<u8>>> + Send + 'static + use<E>> {
        let route = request.route();
        let params = match serde_json::to_value(request) {
            Ok(Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        let url = self.url(route, &request.path(), &params)?;
        let bearer = request.bearer().or(match route.credential {
            Credential::AdminBearer | Credential::AgentKey => self.inner.bearer_token.as_ref(),
            _ => None,
        });
        let mut rb = self
            .inner
            .http
            .get(url)
            .header(USER_AGENT, self.inner.user_agent.clone())
            .header(reqwest::header::ACCEPT, "text/event-stream");
        if let Some(token) = bearer {
            rb = rb.bearer_auth(token.expose_secret());
        }
        for (name, value) in headers {
            rb = rb.header(*name, value.as_str());
        }
        let route_name = route.name;
        let resp = rb.send().await.map_err(|e| {
            let e = e.without_url();
            let kind = if e.is_connect() {
                TransportKind::Connect
            } else {
                TransportKind::Request
            };
            Error::Transport {
                route: route_name,
                kind,
                message: error_chain(&e),
            }
        })?;
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            let headers = resp.headers().clone();
            let bytes = resp.bytes().await.unwrap_or_default();
            let secrets: Vec<&str> = bearer.map(|b| b.expose_secret()).into_iter().collect();
            return Err(decode::api_error(
                route_name, status, &headers, &bytes, &secrets,
            ));
        }
        let is_sse = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("text/event-stream"));
        if !is_sse {
            return Err(Error::Decode {
                route: route_name,
                status,
                message: "the response is not text/event-stream".into(),
                request_id: decode::request_id(resp.headers(), None),
            });
        }
        Ok(futures_util::stream::unfold(
            Some(resp),
            move |resp| async move {
                let mut resp = resp?;
                match resp.chunk().await {
                    Ok(Some(chunk)) => Some((Ok(chunk.to_vec()), Some(resp))),
                    Ok(None) => None,
                    Err(e) => Some((
                        Err(Error::Transport {
                            route: route_name,
                            kind: TransportKind::Body,
                            message: error_chain(&e.without_url()),
                        }),
                        None,
                    )),
                }
            },
        ))
    }

    fn url(
        &self,
        route: &Route,
        path: &str,
        params: &serde_json::Map<String, Value>,
    ) -> Result<Url> {
        let mut url = Url::parse(&format!("{}{}", self.inner.base, path))
            .map_err(|_| Error::invalid_input("path", "does not form a valid URL"))?;
        if route.params == Params::Query {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in params {
                match v {
                    Value::Null => {}
                    Value::String(s) => {
                        pairs.append_pair(k, s);
                    }
                    other => {
                        pairs.append_pair(k, &other.to_string());
                    }
                }
            }
        }
        Ok(url)
    }
}

/// `e` and its sources joined, without URLs (the caller removed the top-level
/// one; hyper and io errors below it do not carry one).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        src = s.source();
    }
    out
}
