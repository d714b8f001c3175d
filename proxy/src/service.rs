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
use axum::http::uri::{Authority, PathAndQuery, Scheme};
use axum::http::{HeaderName, HeaderValue, Request, Response, StatusCode, Uri, Version, header};
use axum::routing::get;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Body as HttpBody;
use secrecy::ExposeSecret;
use tower::{Layer, Service};

use crate::breaker::{UpstreamBreaker, UpstreamFailure};
use crate::config::{ConfigError, ProxyConfig};
use crate::error::ProxyError;
use crate::headers::{
    check_request_headers, client_ip, set_forwarded_with, strip_hop_by_hop,
    upstream_request_headers,
};
use crate::inject::{rewrite_body, rewrite_query};
use crate::metrics::Metrics;
use crate::ratelimit::{Limiter, RateLimiter};
use crate::scrub::{KeyScrubber, redact_query};
use crate::target;
use crate::upstream::{self, UpstreamClient};
use crate::{cookie, cors};

/// Boxed error of request bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

pub(crate) struct Shared {
    pub(crate) config: ProxyConfig,
    client: UpstreamClient,
    /// The TLS settings, shared by every worker's client.
    tls: rustls::ClientConfig,
    pub(crate) scrubber: KeyScrubber,
    pub(crate) metrics: Arc<Metrics>,
    limiter: Option<Arc<Limiter>>,
    breaker: Arc<UpstreamBreaker>,
    /// AIdenID mode: the headers injected on agent routes.
    agent: Option<AgentHeaders>,
    /// The upstream, parsed once; `base_path` its path without the final `/`.
    scheme: Scheme,
    authority: Authority,
    base_path: String,
    /// `Host` for an `http` upstream (always HTTP/1.1, and the connection
    /// API sets none), made once; an `https` one may speak HTTP/2, so the
    /// client sets it.
    host: Option<HeaderValue>,
    /// `X-Forwarded-Proto` as configured.
    forwarded_proto: Option<HeaderValue>,
}

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const X_SERVER_AUTH_INJECTED: HeaderName = HeaderName::from_static("x-server-auth-injected");
const X_ORG_ID: HeaderName = HeaderName::from_static("x-org-id");
const X_PROJECT_ID: HeaderName = HeaderName::from_static("x-project-id");

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
        let tls = upstream::tls_config()?;
        Self::build(config, tls, Arc::new(Metrics::default()), limiter, breaker)
    }

    /// Another layer with the same configuration, metrics, rate-limit
    /// buckets and circuit breaker but its own upstream connection pool: for a thread-per-core
    /// server, where each runtime keeps its connections (and their tasks) to
    /// itself.
    pub fn for_worker(&self) -> Result<Self, ConfigError> {
        Self::build(
            self.shared.config.clone(),
            self.shared.tls.clone(),
            self.shared.metrics.clone(),
            self.shared.limiter.clone(),
            self.shared.breaker.clone(),
        )
    }

    fn build(
        config: ProxyConfig,
        tls: rustls::ClientConfig,
        metrics: Arc<Metrics>,
        limiter: Option<Arc<Limiter>>,
        breaker: Arc<UpstreamBreaker>,
    ) -> Result<Self, ConfigError> {
        let base_url =
            url::Url::parse(&config.upstream).map_err(|e| ConfigError::Upstream(e.to_string()))?;
        let base_path = base_url.path().trim_end_matches('/').to_owned();
        let bad_upstream = || ConfigError::Upstream("not a valid origin".into());
        let scheme = match base_url.scheme() {
            "http" => Scheme::HTTP,
            "https" => Scheme::HTTPS,
            _ => return Err(ConfigError::Upstream("scheme must be http or https".into())),
        };
        let mut origin = base_url.host_str().ok_or_else(bad_upstream)?.to_owned();
        if let Some(port) = base_url.port() {
            origin.push(':');
            origin.push_str(&port.to_string());
        }
        let authority = Authority::from_maybe_shared(Bytes::from(origin.clone()))
            .map_err(|_| bad_upstream())?;
        let host = (scheme == Scheme::HTTP)
            .then(|| HeaderValue::from_str(&origin))
            .transpose()
            .map_err(|_| bad_upstream())?;
        // An `http` upstream's `host:port` for the worker's own HTTP/1.1
        // pool (port 80 when the URL names none).
        let plain_addr = (scheme == Scheme::HTTP).then(|| {
            let host = base_url.host_str().unwrap_or_default();
            format!("{host}:{}", base_url.port_or_known_default().unwrap_or(80))
        });
        let client = upstream::client(&tls, config.connect_timeout, plain_addr);
        let forwarded_proto = HeaderValue::from_str(&config.forwarded_proto).ok();
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
                tls,
                scrubber,
                metrics,
                limiter,
                breaker,
                agent,
                scheme,
                authority,
                base_path,
                host,
                forwarded_proto,
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
    RequestId::new().as_str().to_owned()
}

/// A request id, formatted without the formatting machinery.
#[derive(Clone, Copy)]
pub(crate) struct RequestId([u8; 36]);

impl RequestId {
    pub(crate) fn new() -> Self {
        static PREFIX: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let prefix = *PREFIX.get_or_init(|| uuid::Uuid::new_v4().as_u64_pair().0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut id = *b"req_00000000000000000000000000000000";
        for (i, v) in [prefix, n].into_iter().enumerate() {
            for d in 0..16 {
                id[4 + 16 * i + d] = HEX[((v >> (60 - 4 * d)) & 0xf) as usize];
            }
        }
        Self(id)
    }

    pub(crate) fn as_str(&self) -> &str {
        // Always ASCII: `req_` and hex digits.
        std::str::from_utf8(&self.0).unwrap_or("req_")
    }

    fn header(&self) -> HeaderValue {
        HeaderValue::from_bytes(&self.0).unwrap_or(HeaderValue::from_static("req_"))
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
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
        let request_id = RequestId::new();
        // What only the access log needs is made only when it is on (the
        // query redaction costs a parse).
        let access = tracing::enabled!(target: "authflow_proxy::access", tracing::Level::INFO);
        let logged = access.then(|| {
            (
                req.method().clone(),
                redact_query(req.uri().query(), &self.scrubber),
            )
        });
        // A cheap handle on the target (shared bytes) for the error path.
        let uri = req.uri().clone();
        let peer = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let client = client_ip(req.headers(), peer, &self.config.trusted_proxies);
        let mut route = None;
        let result = self
            .forward(req, &request_id, peer, client, &mut route)
            .await;
        let mut log_path = None;
        let mut res = match result {
            Ok(res) => res,
            Err(e) => {
                if is_upstream_error(&e) {
                    self.metrics.upstream_error(e.code);
                    tracing::warn!(target: "authflow_proxy::upstream", request_id = %request_id, kind = e.code, "upstream failure");
                }
                let path = log_path.insert(self.scrubber.scrub_str(uri.path()));
                e.render(request_id.as_str(), path)
            }
        };
        res.headers_mut().insert(X_REQUEST_ID, request_id.header());
        let elapsed = started.elapsed();
        let status = res.status().as_u16();
        self.metrics.finish(route, status, elapsed);
        if let Some((method, log_query)) = logged {
            let log_path = log_path.unwrap_or_else(|| self.scrubber.scrub_str(uri.path()));
            tracing::info!(
                target: "authflow_proxy::access",
                request_id = %request_id,
                client = %client.map(|c| c.to_string()).unwrap_or_default(),
                method = %method,
                path = %log_path,
                query = %log_query,
                route = route.map_or("unmatched", |r| r.name),
                status,
                latency_ms = elapsed.as_secs_f64() * 1000.0,
            );
        }
        res
    }

    async fn forward<B>(
        &self,
        req: Request<B>,
        request_id: &RequestId,
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
        // The pre-parsed upstream origin with the path and query: no URL
        // parse (and no IDNA host processing) per request.
        let mut target = String::with_capacity(self.base_path.len() + path.len() + 1 + query.len());
        target.push_str(&self.base_path);
        target.push_str(path);
        if !query.is_empty() {
            target.push('?');
            target.push_str(&query);
        }
        let mut uri = axum::http::uri::Parts::default();
        if !self.client.origin_form() {
            uri.scheme = Some(self.scheme.clone());
            uri.authority = Some(self.authority.clone());
        }
        uri.path_and_query = Some(
            PathAndQuery::from_maybe_shared(Bytes::from(target))
                .map_err(|_| ProxyError::bad_request("Malformed request target"))?,
        );
        let uri = Uri::from_parts(uri)
            .map_err(|_| ProxyError::bad_request("Malformed request target"))?;
        let mut headers = upstream_request_headers(&parts.headers);
        set_forwarded_with(
            &mut headers,
            &parts.headers,
            peer,
            &self.config.trusted_proxies,
            self.forwarded_proto.as_ref(),
        );
        headers.insert(X_REQUEST_ID, request_id.header());
        if let Some(s) = &session {
            cookie::inject_headers(route, &mut headers, s);
        }
        // Only the proxy may claim it injected the credential.
        headers.remove(X_SERVER_AUTH_INJECTED);
        if let (Some(agent), Credential::AgentKey) = (&self.agent, route.credential) {
            headers.insert(header::AUTHORIZATION, agent.authorization.clone());
            headers.insert(X_ORG_ID, agent.org_id.clone());
            headers.insert(X_PROJECT_ID, agent.project_id.clone());
            headers.insert(X_SERVER_AUTH_INJECTED, HeaderValue::from_static("true"));
        }
        if let Some(host) = &self.host {
            headers.insert(header::HOST, host.clone());
        }
        // What reqwest, the previous client, sent when the client did not.
        headers
            .entry(header::ACCEPT)
            .or_insert_with(|| HeaderValue::from_static("*/*"));
        let body = match body {
            Some(b) => {
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                b
            }
            None => Bytes::new(),
        };
        let mut upstream_req = Request::new(Full::new(body));
        *upstream_req.method_mut() = parts.method.clone();
        *upstream_req.uri_mut() = uri;
        *upstream_req.headers_mut() = headers;
        let client = &self.client;
        let limit = self.config.response_limit;
        let timeout = self.config.request_timeout;
        let (head, body) = self
            .breaker
            .call(|| async move {
                tokio::time::timeout(timeout, client.exchange(upstream_req, limit))
                    .await
                    .unwrap_or(Err(UpstreamFailure::Timeout))
            })
            .await?;
        self.respond(route, head.status, head.headers, body, &parts.headers)
    }

    fn respond(
        &self,
        route: &'static Route,
        status: StatusCode,
        mut headers: axum::http::HeaderMap,
        body: Bytes,
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
        let mut body = match self.scrubber.replace(&body) {
            Some(clean) => {
                tracing::warn!(target: "authflow_proxy::upstream", "upstream response body carried the key; replaced");
                Bytes::from(clean)
            }
            None => body,
        };
        if let Some(mode) = &self.config.cookie {
            body = cookie::after(mode, route, status, &mut headers, body, request_headers);
        }
        let mut res = Response::new(Body::from(body));
        *res.status_mut() = status;
        *res.headers_mut() = headers;
        Ok(res)
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}
