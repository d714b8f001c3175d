//! The forwarding service: [`ProxyLayer`] and [`Proxy`].

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use authflow::api::routes::{Api, Credential, KeyPlacement, Params, Route};
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, Response, StatusCode, Version, header};
use axum::routing::get;
use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Body as HttpBody;
use secrecy::ExposeSecret;
use tower::{Layer, Service};

use crate::breaker::{UpstreamBreaker, UpstreamFailure};
use crate::config::{ConfigError, ProxyConfig};
use crate::error::ProxyError;
use crate::headers::{
    check_request_headers, client_ip, set_forwarded, strip_hop_by_hop, upstream_request_headers,
};
use crate::inject::{rewrite_body, rewrite_query};
use crate::metrics::Metrics;
use crate::ratelimit::{Limiter, RateLimiter};
use crate::scrub::{KeyScrubber, redact_query};
use crate::target;
use crate::{cookie, cors};

/// Boxed error of request bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

pub(crate) struct Shared {
    pub(crate) config: ProxyConfig,
    client: reqwest::Client,
    pub(crate) scrubber: KeyScrubber,
    pub(crate) metrics: Arc<Metrics>,
    limiter: Option<Arc<Limiter>>,
    breaker: Arc<UpstreamBreaker>,
    /// AIdenID mode: the headers injected on agent routes.
    agent: Option<AgentHeaders>,
    /// The upstream, parsed once; `base_path` its path without the final `/`.
    base_url: url::Url,
    base_path: String,
}

/// `Authorization` (marked sensitive), `X-Org-Id`, `X-Project-Id`.
struct AgentHeaders {
    authorization: HeaderValue,
    org_id: HeaderValue,
    project_id: HeaderValue,
}

/// A [`Layer`] that answers every request under `/auth` (and every
/// absolute-form or `//host` target) by forwarding it to the upstream when it
/// is one of the 20 AuthFlow routes of the route table — with the configured
/// key injected where the table says — or with the error envelope otherwise.
/// Other requests go to the wrapped service.
///
/// ```no_run
/// use authflow_proxy::{ProxyConfig, ProxyLayer};
/// use axum::{Router, routing::get};
/// use secrecy::SecretString;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let key = SecretString::from(std::env::var("AUTHFLOW_API_KEY")?);
/// let config = ProxyConfig::builder("https://api.authflow.net", key).build()?;
/// let app: Router = Router::new()
///     .route("/", get(|| async { "my app" }))
///     .layer(ProxyLayer::new(config)?);
/// # let _ = app; Ok(()) }
/// ```
#[derive(Clone)]
pub struct ProxyLayer {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for ProxyLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyLayer")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl ProxyLayer {
    /// Build the layer (and its pooled upstream client); opens the circuit
    /// breaker's store (a SQLite file by default).
    pub fn new(config: ProxyConfig) -> Result<Self, ConfigError> {
        let limiter = config.rate_limit.map(|l| {
            Arc::new(match &config.redis_rate_limit {
                Some(r) => Limiter::Redis(l, r.clone()),
                None => Limiter::Local(RateLimiter::new(l)),
            })
        });
        let breaker = Arc::new(UpstreamBreaker::new(
            &config.breaker,
            config.breaker_config,
            config.breaker_sync,
            &config.upstream,
        )?);
        Self::build(config, Arc::new(Metrics::default()), limiter, breaker)
    }

    /// Another layer with the same configuration, metrics, rate-limit
    /// buckets and circuit breaker but its own upstream connection pool: for a thread-per-core
    /// server, where each runtime keeps its connections (and their tasks) to
    /// itself.
    pub fn for_worker(&self) -> Result<Self, ConfigError> {
        Self::build(
            self.shared.config.clone(),
            self.shared.metrics.clone(),
            self.shared.limiter.clone(),
            self.shared.breaker.clone(),
        )
    }

    fn build(
        config: ProxyConfig,
        metrics: Arc<Metrics>,
        limiter: Option<Arc<Limiter>>,
        breaker: Arc<UpstreamBreaker>,
    ) -> Result<Self, ConfigError> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .tcp_nodelay(true)
            .pool_idle_timeout(std::time::Duration::from_secs(60))
            .build()
            .map_err(|_| ConfigError::Client)?;
        let base_url =
            url::Url::parse(&config.upstream).map_err(|e| ConfigError::Upstream(e.to_string()))?;
        let base_path = base_url.path().trim_end_matches('/').to_owned();
        let mut scrubber = KeyScrubber::new(&config.api_key);
        let mut agent = None;
        if let Some(mode) = &config.aidenid {
            scrubber = scrubber.with_agent_key(&mode.agent_key);
            let bad =
                |what: &'static str| ConfigError::Setting(what, "not a valid header value".into());
            let mut authorization =
                HeaderValue::from_str(&format!("Bearer {}", mode.agent_key.expose_secret()))
                    .map_err(|_| ConfigError::MalformedAgentKey)?;
            authorization.set_sensitive(true);
            agent = Some(AgentHeaders {
                authorization,
                org_id: HeaderValue::from_str(&mode.org_id).map_err(|_| bad("aidenid.org_id"))?,
                project_id: HeaderValue::from_str(&mode.project_id)
                    .map_err(|_| bad("aidenid.project_id"))?,
            });
        }
        Ok(Self {
            shared: Arc::new(Shared {
                config,
                client,
                scrubber,
                metrics,
                limiter,
                breaker,
                agent,
                base_url,
                base_path,
            }),
        })
    }

    /// The standalone service: the proxy with a 404-envelope fallback.
    pub fn service(&self) -> ProxyService {
        Proxy {
            shared: self.shared.clone(),
            inner: NotFound,
        }
    }

    /// The proxy's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    /// A complete app: `GET /healthz`, `GET /metrics` (Prometheus) and the
    /// proxy for everything else, with the CORS allow-list when configured.
    pub fn router(&self) -> Router {
        let shared = self.shared.clone();
        let router = Router::new()
            .route("/healthz", get(|| async { "ok\n" }))
            .route(
                "/metrics",
                get(move || {
                    let mut text = shared.metrics.render();
                    shared.breaker.render(&mut text);
                    if let Some(l) = &shared.limiter {
                        l.render(&mut text);
                    }
                    async move {
                        (
                            [(
                                header::CONTENT_TYPE,
                                "text/plain; version=0.0.4; charset=utf-8",
                            )],
                            text,
                        )
                    }
                }),
            )
            .fallback_service(self.service());
        match cors::layer(&self.shared.config) {
            Some(cors) => router.layer(cors),
            None => router,
        }
    }
}

impl<S> Layer<S> for ProxyLayer {
    type Service = Proxy<S>;
    fn layer(&self, inner: S) -> Proxy<S> {
        Proxy {
            shared: self.shared.clone(),
            inner,
        }
    }
}

/// The proxy service (see [`ProxyLayer`]), wrapping `S` for the requests it
/// does not claim.
#[derive(Clone)]
pub struct Proxy<S> {
    shared: Arc<Shared>,
    inner: S,
}

impl<S> std::fmt::Debug for Proxy<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy").finish_non_exhaustive()
    }
}

/// The standalone proxy service: unclaimed requests get a 404 envelope.
pub type ProxyService = Proxy<NotFound>;

/// Whether the proxy answers this request itself: `/auth` and anything under
/// it — including disguised forms like `/auth%2f..`, `/auth..` or `/auth\` —
/// but not `/authors`; in AIdenID mode (`v1`) `/v1` and anything under it
/// likewise; `//host/…` paths; absolute-form HTTP/1 targets.
fn claims<B>(req: &Request<B>, v1: bool) -> bool {
    let path = req.uri().path();
    let under = |prefix: &str| {
        path.strip_prefix(prefix).is_some_and(|rest| {
            rest.bytes()
                .next()
                .is_none_or(|b| !(b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        })
    };
    under("/auth")
        || (v1 && under("/v1"))
        || path.starts_with("//")
        || (req.version() < Version::HTTP_2 && req.uri().authority().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claimed_paths() {
        let claim = |t: &str| claims(&Request::get(t).body(()).expect("request"), false);
        let claim_v1 = |t: &str| claims(&Request::get(t).body(()).expect("request"), true);
        assert!(!claim("/v1/identities"));
        assert!(claim_v1("/v1/identities"));
        assert!(claim_v1("/v1%2f.."));
        assert!(!claim_v1("/v10"));
        for t in [
            "/auth",
            "/auth/login",
            "/auth%2f..",
            "/auth../x",
            "//evil/auth",
            "http://evil/x",
        ] {
            assert!(claim(t), "{t}");
        }
        for t in ["/", "/authors", "/auth-ui", "/healthz", "/app/auth/login"] {
            assert!(!claim(t), "{t}");
        }
    }
}

impl<S, B> Service<Request<B>> for Proxy<S>
where
    S: Service<Request<B>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Response<Body>, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        if claims(&req, self.shared.agent.is_some()) {
            let shared = self.shared.clone();
            Box::pin(async move { Ok(shared.handle(req).await) })
        } else {
            let clone = self.inner.clone();
            let mut inner = std::mem::replace(&mut self.inner, clone);
            Box::pin(inner.call(req))
        }
    }
}

/// Fallback of [`ProxyService`]: 404 envelope.
#[derive(Debug, Clone, Copy, Default)]
pub struct NotFound;

impl<B> Service<Request<B>> for NotFound {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Response<Body>, Infallible>>;
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }
    fn call(&mut self, req: Request<B>) -> Self::Future {
        let id = new_request_id();
        std::future::ready(Ok(ProxyError::not_found().render(&id, req.uri().path())))
    }
}

/// `req_` + 32 hex digits: a random per-process prefix and a counter (unique,
/// cheap: no system call per request; request ids need not be unguessable).
pub(crate) fn new_request_id() -> String {
    static PREFIX: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let prefix = *PREFIX.get_or_init(|| uuid::Uuid::new_v4().as_u64_pair().0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("req_{prefix:016x}{n:016x}")
}

fn is_upstream_error(e: &ProxyError) -> bool {
    e.code.starts_with("dependency_")
}

impl Shared {
    async fn handle<B>(self: Arc<Self>, req: Request<B>) -> Response<Body>
    where
        B: HttpBody<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let started = Instant::now();
        self.metrics.start();
        let request_id = new_request_id();
        let method = req.method().clone();
        let log_path = self.scrubber.scrub_str(req.uri().path());
        // Redacting the query costs a parse: only when the access log is on.
        let log_query = if tracing::enabled!(target: "authflow_proxy::access", tracing::Level::INFO)
        {
            redact_query(req.uri().query(), &self.scrubber)
        } else {
            String::new()
        };
        let peer = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let client = client_ip(req.headers(), peer, &self.config.trusted_proxies);
        let mut route = None;
        let result = self
            .forward(req, &request_id, peer, client, &mut route)
            .await;
        let mut res = match result {
            Ok(res) => res,
            Err(e) => {
                if is_upstream_error(&e) {
                    self.metrics.upstream_error(e.code);
                    tracing::warn!(target: "authflow_proxy::upstream", request_id = %request_id, kind = e.code, "upstream failure");
                }
                e.render(&request_id, &log_path)
            }
        };
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            res.headers_mut().insert("x-request-id", v);
        }
        let elapsed = started.elapsed();
        let name = route.map_or("unmatched", |r| r.name);
        self.metrics.finish(name, res.status().as_u16(), elapsed);
        tracing::info!(
            target: "authflow_proxy::access",
            request_id = %request_id,
            client = %client.map(|c| c.to_string()).unwrap_or_default(),
            method = %method,
            path = %log_path,
            query = %log_query,
            route = name,
            status = res.status().as_u16(),
            latency_ms = elapsed.as_secs_f64() * 1000.0,
        );
        res
    }

    async fn forward<B>(
        &self,
        req: Request<B>,
        request_id: &str,
        peer: Option<IpAddr>,
        client: Option<IpAddr>,
        route_out: &mut Option<&'static Route>,
    ) -> Result<Response<Body>, ProxyError>
    where
        B: HttpBody<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let route =
            target::resolve_with(req.method(), req.uri(), req.version(), self.agent.is_some())?;
        *route_out = Some(route);
        check_request_headers(req.headers(), req.version(), self.config.header_limit)?;
        if let (Some(limiter), Some(ip)) = (&self.limiter, client) {
            limiter.check(ip).await.map_err(ProxyError::rate_limited)?;
        }
        let session = match &self.config.cookie {
            Some(mode) => cookie::before(mode, route, req.headers())?,
            None => None,
        };

        let (parts, body) = req.into_parts();
        let key = self.config.api_key.expose_secret();
        let placement = route.api_key_placement();
        let (query, body) = match route.params {
            Params::Query => {
                let mut q = rewrite_query(
                    parts.uri.query(),
                    (placement == KeyPlacement::Query).then_some(key),
                );
                if let Some(s) = &session {
                    q = cookie::inject_query(route, &q, s);
                }
                (q, None)
            }
            Params::JsonBody => {
                let declared = parts
                    .headers
                    .get(header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok());
                if declared.is_some_and(|n| n > self.config.body_limit as u64) {
                    return Err(ProxyError::payload_too_large());
                }
                let bytes = Limited::new(body, self.config.body_limit)
                    .collect()
                    .await
                    .map_err(|e| {
                        if e.downcast_ref::<LengthLimitError>().is_some() {
                            ProxyError::payload_too_large()
                        } else {
                            ProxyError::bad_request("Unreadable request body")
                        }
                    })?
                    .to_bytes();
                let bytes = match &session {
                    Some(s) => cookie::inject_body(route, &bytes, s)?,
                    None => bytes,
                };
                let body = rewrite_body(&bytes, (placement == KeyPlacement::Body).then_some(key))?;
                (String::new(), Some(body))
            }
        };

        // AuthFlow paths are literal: the table's. AIdenID paths have `{id}`
        // segments: the client's, checked against the template.
        let path = if route.api == Api::AuthFlow {
            route.path
        } else {
            parts.uri.path()
        };
        // The pre-parsed upstream with the path and query set: no URL parse
        // (and no IDNA host processing) per request.
        let mut url = self.base_url.clone();
        let mut full_path = String::with_capacity(self.base_path.len() + path.len());
        full_path.push_str(&self.base_path);
        full_path.push_str(path);
        url.set_path(&full_path);
        url.set_query((!query.is_empty()).then_some(query.as_str()));
        let mut headers = upstream_request_headers(&parts.headers);
        set_forwarded(
            &mut headers,
            &parts.headers,
            peer,
            &self.config.trusted_proxies,
            &self.config.forwarded_proto,
        );
        if let Ok(v) = HeaderValue::from_str(request_id) {
            headers.insert("x-request-id", v);
        }
        if let Some(s) = &session {
            cookie::inject_headers(route, &mut headers, s);
        }
        // Only the proxy may claim it injected the credential.
        headers.remove("x-server-auth-injected");
        if let (Some(agent), Credential::AgentKey) = (&self.agent, route.credential) {
            headers.insert(header::AUTHORIZATION, agent.authorization.clone());
            headers.insert("x-org-id", agent.org_id.clone());
            headers.insert("x-project-id", agent.project_id.clone());
            headers.insert("x-server-auth-injected", HeaderValue::from_static("true"));
        }
        let mut rb = self
            .client
            .request(parts.method.clone(), url)
            .headers(headers);
        if let Some(b) = body {
            rb = rb.header(header::CONTENT_TYPE, "application/json").body(b);
        }
        let limit = self.config.response_limit;
        let (status, headers, buf) = self
            .breaker
            .call(|| async move {
                let mut upstream = rb.send().await.map_err(UpstreamFailure::Http)?;
                let status = upstream.status();
                let headers = std::mem::take(upstream.headers_mut());
                let mut buf: Vec<u8> = Vec::new();
                while let Some(chunk) = upstream.chunk().await.map_err(UpstreamFailure::Http)? {
                    if buf.len() + chunk.len() > limit {
                        return Err(UpstreamFailure::TooLarge);
                    }
                    buf.extend_from_slice(&chunk);
                }
                Ok((status, headers, buf))
            })
            .await?;
        self.respond(route, status, headers, buf, &parts.headers)
    }

    fn respond(
        &self,
        route: &'static Route,
        status: reqwest::StatusCode,
        mut headers: axum::http::HeaderMap,
        buf: Vec<u8>,
        request_headers: &axum::http::HeaderMap,
    ) -> Result<Response<Body>, ProxyError> {
        strip_hop_by_hop(&mut headers);
        headers.remove(header::CONTENT_LENGTH);
        if let Some(loc) = headers.get(header::LOCATION) {
            let lower = loc.as_bytes().to_ascii_lowercase();
            if self.scrubber.contains(&lower)
                || contains(&lower, b"api_key")
                || contains(&lower, b"api%5fkey")
            {
                tracing::warn!(target: "authflow_proxy::upstream", "upstream redirect carried the key; refused");
                return Err(ProxyError::dependency_failed());
            }
        }
        if self.scrubber.scrub_headers(&mut headers) {
            tracing::warn!(target: "authflow_proxy::upstream", "upstream response header carried the key; replaced");
        }
        let mut body = match self.scrubber.replace(&buf) {
            Some(clean) => {
                tracing::warn!(target: "authflow_proxy::upstream", "upstream response body carried the key; replaced");
                Bytes::from(clean)
            }
            None => Bytes::from(buf),
        };
        if let Some(mode) = &self.config.cookie {
            body = cookie::after(mode, route, status, &mut headers, body, request_headers);
        }
        let mut res = Response::new(Body::from(body));
        *res.status_mut() =
            StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
        *res.headers_mut() = headers;
        Ok(res)
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}
