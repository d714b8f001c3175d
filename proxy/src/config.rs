//! Proxy configuration: [`ProxyConfig`] (built in code) and [`FileConfig`]
//! (the binary's optional TOML file).

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use authflow::api::validation::is_org_api_key;
use authflow::breaker::BreakerConfig;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::breaker::BreakerBackend;
use crate::ratelimit::RedisRateLimiter;

/// Default upstream: the public AuthFlow origin.
pub const DEFAULT_UPSTREAM: &str = "https://api.authflow.net";
/// Default time allowed to open a connection to the upstream.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default time allowed for a whole upstream exchange (request and response body).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Default request body limit (1 MiB); larger bodies get 413.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;
/// Default limit on the total size of a request's headers (16 KiB); larger get 431.
pub const DEFAULT_HEADER_LIMIT: usize = 16 * 1024;
/// Default limit on an upstream response body (8 MiB); larger become 502.
pub const DEFAULT_RESPONSE_LIMIT: usize = 8 * 1024 * 1024;

/// Why a configuration was refused. Never contains the key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The key is not `af_` followed by 32 lowercase hex characters.
    #[error(
        "the AuthFlow API key is malformed: expected `af_` followed by 32 lowercase hex characters"
    )]
    MalformedKey,
    /// The AIdenID agent key is not `aid_` followed by visible characters.
    #[error("the AIdenID agent key is malformed: expected `aid_` followed by the key")]
    MalformedAgentKey,
    /// No key was given.
    #[error("no AuthFlow API key: set AUTHFLOW_API_KEY or pass --api-key-file")]
    MissingKey,
    /// The upstream URL is unusable.
    #[error("invalid upstream URL: {0}")]
    Upstream(String),
    /// Some other setting is unusable.
    #[error("invalid setting `{0}`: {1}")]
    Setting(&'static str, String),
    /// The HTTP client could not be built.
    #[error("cannot build the upstream HTTP client")]
    Client,
    /// Reading a file failed.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error, without file contents.
        reason: String,
    },
    /// The TOML file does not parse.
    #[error("invalid config file {path}: {reason}")]
    Toml {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        reason: String,
    },
}

/// Per-client-IP token bucket.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Tokens added per second (sustained requests per second).
    pub per_second: f64,
    /// Bucket size (requests allowed in a burst).
    pub burst: u32,
}

/// Backend-for-frontend session cookie mode (off by default).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CookieMode {
    /// Cookie name (default `authflow_session`).
    #[serde(default = "default_cookie_name")]
    pub name: String,
    /// Origins allowed to make state-changing requests (exact
    /// `scheme://host[:port]`); requests without a matching `Origin` get 403.
    pub allowed_origins: Vec<String>,
    /// Cookie lifetime in seconds (`Max-Age`; default 3600).
    #[serde(default = "default_cookie_max_age")]
    pub max_age_secs: u64,
}

fn default_cookie_name() -> String {
    "authflow_session".to_owned()
}
fn default_cookie_max_age() -> u64 {
    3600
}

impl CookieMode {
    /// Cookie mode with the default cookie name and lifetime.
    pub fn new(allowed_origins: Vec<String>) -> Self {
        Self {
            name: default_cookie_name(),
            allowed_origins,
            max_age_secs: default_cookie_max_age(),
        }
    }
}

/// AIdenID mode (off by default): on the AIdenID agent routes (`/v1/…` of
/// the route table's [`Api::AidenId`](authflow::api::routes::Api)) the
/// proxy injects `Authorization: Bearer aid_…`, `X-Org-Id`, `X-Project-Id`
/// and `X-Server-Auth-Injected: true`, replacing whatever the client sent;
/// consumer routes ([`Api::Consumer`](authflow::api::routes::Api)) are
/// forwarded with the client's own session. `Debug` never shows the key.
#[derive(Clone)]
pub struct AidenIdMode {
    pub(crate) agent_key: SecretString,
    pub(crate) org_id: String,
    pub(crate) project_id: String,
}

impl fmt::Debug for AidenIdMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AidenIdMode")
            .field("agent_key", &"[REDACTED]")
            .field("org_id", &self.org_id)
            .field("project_id", &self.project_id)
            .finish()
    }
}

impl AidenIdMode {
    /// The agent key (`aid_…`) and the organization and project it is scoped to.
    pub fn new(
        agent_key: SecretString,
        org_id: impl Into<String>,
        project_id: impl Into<String>,
    ) -> Result<Self, ConfigError> {
        let k = agent_key.expose_secret();
        if !k.starts_with("aid_") || k.len() < 8 || k.bytes().any(|b| !b.is_ascii_graphic()) {
            return Err(ConfigError::MalformedAgentKey);
        }
        let (org_id, project_id) = (org_id.into(), project_id.into());
        for (name, v) in [
            ("aidenid.org_id", &org_id),
            ("aidenid.project_id", &project_id),
        ] {
            if v.is_empty() || v.len() > 128 || v.bytes().any(|b| !b.is_ascii_graphic()) {
                return Err(ConfigError::Setting(
                    name,
                    "1 to 128 visible ASCII characters".into(),
                ));
            }
        }
        Ok(Self {
            agent_key,
            org_id,
            project_id,
        })
    }

    /// The organization id sent as `X-Org-Id`.
    pub fn org_id(&self) -> &str {
        &self.org_id
    }

    /// The project id sent as `X-Project-Id`.
    pub fn project_id(&self) -> &str {
        &self.project_id
    }
}

/// A validated proxy configuration. `Debug` never shows the key.
#[derive(Clone)]
pub struct ProxyConfig {
    pub(crate) upstream: String,
    pub(crate) api_key: SecretString,
    pub(crate) connect_timeout: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) body_limit: usize,
    pub(crate) header_limit: usize,
    pub(crate) response_limit: usize,
    pub(crate) trusted_proxies: Vec<IpAddr>,
    pub(crate) forwarded_proto: String,
    pub(crate) cors_origins: Vec<String>,
    pub(crate) rate_limit: Option<RateLimit>,
    pub(crate) redis_rate_limit: Option<RedisRateLimiter>,
    pub(crate) cookie: Option<CookieMode>,
    pub(crate) breaker: BreakerBackend,
    pub(crate) breaker_config: BreakerConfig,
    pub(crate) breaker_sync: Duration,
    pub(crate) aidenid: Option<AidenIdMode>,
}

impl fmt::Debug for ProxyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyConfig")
            .field("upstream", &self.upstream)
            .field("api_key", &"[REDACTED]")
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("body_limit", &self.body_limit)
            .field("header_limit", &self.header_limit)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("cors_origins", &self.cors_origins)
            .field("rate_limit", &self.rate_limit)
            .field("cookie", &self.cookie)
            .field("breaker", &self.breaker)
            .field("breaker_config", &self.breaker_config)
            .field("breaker_sync", &self.breaker_sync)
            .field("aidenid", &self.aidenid)
            .finish_non_exhaustive()
    }
}

impl ProxyConfig {
    /// A builder for `upstream` (an `http`/`https` origin, optionally with a
    /// base path) and the organization key.
    pub fn builder(upstream: impl Into<String>, api_key: SecretString) -> ProxyConfigBuilder {
        ProxyConfigBuilder {
            upstream: upstream.into(),
            api_key,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            body_limit: DEFAULT_BODY_LIMIT,
            header_limit: DEFAULT_HEADER_LIMIT,
            response_limit: DEFAULT_RESPONSE_LIMIT,
            trusted_proxies: Vec::new(),
            forwarded_proto: "http".to_owned(),
            cors_origins: Vec::new(),
            rate_limit: None,
            redis_rate_limit: None,
            cookie: None,
            breaker: BreakerBackend::default(),
            breaker_config: BreakerConfig::default(),
            breaker_sync: crate::breaker::DEFAULT_SYNC_INTERVAL,
            aidenid: None,
        }
    }

    /// The upstream base URL (no trailing slash).
    pub fn upstream(&self) -> &str {
        &self.upstream
    }
    /// The request header size limit (the server uses it for its read buffer too).
    pub fn header_limit(&self) -> usize {
        self.header_limit
    }
}

/// Builder of [`ProxyConfig`]; every setting has the documented default.
#[derive(Clone)]
#[must_use]
pub struct ProxyConfigBuilder {
    upstream: String,
    api_key: SecretString,
    connect_timeout: Duration,
    request_timeout: Duration,
    body_limit: usize,
    header_limit: usize,
    response_limit: usize,
    trusted_proxies: Vec<IpAddr>,
    forwarded_proto: String,
    cors_origins: Vec<String>,
    rate_limit: Option<RateLimit>,
    redis_rate_limit: Option<RedisRateLimiter>,
    cookie: Option<CookieMode>,
    breaker: BreakerBackend,
    breaker_config: BreakerConfig,
    breaker_sync: Duration,
    aidenid: Option<AidenIdMode>,
}

impl fmt::Debug for ProxyConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyConfigBuilder")
            .field("upstream", &self.upstream)
            .field("api_key", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

impl ProxyConfigBuilder {
    /// Connect timeout (default 5 s).
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }
    /// Whole-exchange timeout (default 30 s).
    pub fn request_timeout(mut self, t: Duration) -> Self {
        self.request_timeout = t;
        self
    }
    /// Request body limit in bytes (default 1 MiB).
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }
    /// Total request header size limit in bytes (default 16 KiB).
    pub fn header_limit(mut self, bytes: usize) -> Self {
        self.header_limit = bytes;
        self
    }
    /// Upstream response body limit in bytes (default 8 MiB).
    pub fn response_limit(mut self, bytes: usize) -> Self {
        self.response_limit = bytes;
        self
    }
    /// Peers whose `X-Forwarded-*` headers are kept (appended to) instead of replaced.
    pub fn trusted_proxies(mut self, peers: impl IntoIterator<Item = IpAddr>) -> Self {
        self.trusted_proxies = peers.into_iter().collect();
        self
    }
    /// The scheme clients use to reach the proxy, sent as `X-Forwarded-Proto`
    /// (default `http`; set `https` behind a TLS terminator).
    pub fn forwarded_proto(mut self, proto: impl Into<String>) -> Self {
        self.forwarded_proto = proto.into();
        self
    }
    /// Browser origins allowed by CORS (exact `scheme://host[:port]`; empty = no CORS headers).
    pub fn cors_origins(mut self, origins: impl IntoIterator<Item = String>) -> Self {
        self.cors_origins = origins.into_iter().collect();
        self
    }
    /// Per-client-IP rate limit (default none).
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = Some(limit);
        self
    }
    /// Keep the rate-limit buckets in Redis, shared by every replica using
    /// the same server (needs [`rate_limit`](Self::rate_limit); fails open
    /// when Redis cannot answer).
    pub fn redis_rate_limit(mut self, redis: RedisRateLimiter) -> Self {
        self.redis_rate_limit = Some(redis);
        self
    }
    /// Where the upstream circuit breaker keeps its state (default: the
    /// SQLite file [`default_sqlite_path`](crate::breaker::default_sqlite_path)).
    pub fn breaker(mut self, backend: BreakerBackend) -> Self {
        self.breaker = backend;
        self
    }
    /// The breaker's threshold and open time (default: open after 5
    /// consecutive connect errors or timeouts, for 30 s). Give a store you
    /// build yourself the same config.
    pub fn breaker_config(mut self, config: BreakerConfig) -> Self {
        self.breaker_config = config;
        self
    }
    /// How long a process trusts the breaker store's last *closed* before
    /// asking it again (default 100 ms; zero = ask on every request). See
    /// [`crate::breaker`].
    pub fn breaker_sync_interval(mut self, interval: Duration) -> Self {
        self.breaker_sync = interval;
        self
    }
    /// Turn AIdenID mode on (see [`AidenIdMode`]).
    pub fn aidenid(mut self, mode: AidenIdMode) -> Self {
        self.aidenid = Some(mode);
        self
    }
    /// Turn the backend-for-frontend session cookie mode on.
    pub fn cookie_mode(mut self, mode: CookieMode) -> Self {
        self.cookie = Some(mode);
        self
    }

    /// Validate and build.
    pub fn build(self) -> Result<ProxyConfig, ConfigError> {
        if !is_org_api_key(self.api_key.expose_secret()) {
            return Err(ConfigError::MalformedKey);
        }
        let upstream = validate_upstream(&self.upstream)?;
        if self.body_limit == 0 {
            return Err(ConfigError::Setting(
                "body_limit",
                "must be positive".into(),
            ));
        }
        if self.header_limit < 1024 {
            return Err(ConfigError::Setting(
                "header_limit",
                "must be at least 1024 bytes".into(),
            ));
        }
        if self.connect_timeout.is_zero() || self.request_timeout.is_zero() {
            return Err(ConfigError::Setting("timeout", "must be positive".into()));
        }
        if !matches!(self.forwarded_proto.as_str(), "http" | "https") {
            return Err(ConfigError::Setting(
                "forwarded_proto",
                "must be http or https".into(),
            ));
        }
        for o in self
            .cors_origins
            .iter()
            .chain(self.cookie.iter().flat_map(|c| c.allowed_origins.iter()))
        {
            validate_origin(o)?;
        }
        if let Some(rl) = self.rate_limit
            && (!(rl.per_second.is_finite() && rl.per_second > 0.0) || rl.burst == 0)
        {
            return Err(ConfigError::Setting(
                "rate_limit",
                "per_second and burst must be positive".into(),
            ));
        }
        if let Some(c) = &self.cookie {
            let ok = !c.name.is_empty()
                && c.name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !ok {
                return Err(ConfigError::Setting(
                    "cookie.name",
                    "letters, digits, `_` and `-` only".into(),
                ));
            }
            if c.allowed_origins.is_empty() {
                return Err(ConfigError::Setting(
                    "cookie.allowed_origins",
                    "cookie mode needs at least one allowed origin (CSRF check)".into(),
                ));
            }
        }
        Ok(ProxyConfig {
            upstream,
            api_key: self.api_key,
            connect_timeout: self.connect_timeout,
            request_timeout: self.request_timeout,
            body_limit: self.body_limit,
            header_limit: self.header_limit,
            response_limit: self.response_limit,
            trusted_proxies: self.trusted_proxies,
            forwarded_proto: self.forwarded_proto,
            cors_origins: self.cors_origins,
            rate_limit: self.rate_limit,
            redis_rate_limit: self.redis_rate_limit,
            cookie: self.cookie,
            breaker: self.breaker,
            breaker_config: self.breaker_config,
            breaker_sync: self.breaker_sync,
            aidenid: self.aidenid,
        })
    }
}

fn validate_upstream(raw: &str) -> Result<String, ConfigError> {
    let url = Url::parse(raw).map_err(|e| ConfigError::Upstream(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ConfigError::Upstream("scheme must be http or https".into()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ConfigError::Upstream("a host is required".into()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::Upstream(
            "credentials in the URL are not allowed".into(),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::Upstream("no query or fragment allowed".into()));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

fn validate_origin(origin: &str) -> Result<(), ConfigError> {
    let bad = || ConfigError::Setting("origin", format!("{origin:?} is not scheme://host[:port]"));
    let url = Url::parse(origin).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https")
        || url.host_str().is_none()
        || url.origin().ascii_serialization() != origin
    {
        return Err(bad());
    }
    Ok(())
}

/// The binary's TOML configuration file. The key is never read from it (use
/// `AUTHFLOW_API_KEY` or `api_key_file`); unknown fields are errors.
///
/// ```toml
/// listen = "127.0.0.1:8080"
/// upstream = "https://api.authflow.net"
/// api_key_file = "/run/secrets/authflow_api_key"
/// connect_timeout_ms = 5000
/// request_timeout_ms = 30000
/// body_limit_bytes = 1048576
/// header_limit_bytes = 16384
/// trusted_proxies = ["10.0.0.2"]
/// forwarded_proto = "https"
/// cors_origins = ["https://app.example"]
/// breaker_sqlite = "/var/lib/authflow-proxy/breaker.db"
/// breaker_failure_threshold = 5
/// breaker_open_for_secs = 30
/// breaker_sync_ms = 100
/// redis = "redis://127.0.0.1:6379/0"
/// [rate_limit]
/// per_second = 10.0
/// burst = 20
/// [cookie]
/// allowed_origins = ["https://app.example"]
/// [aidenid]
/// agent_key_file = "/run/secrets/aidenid_agent_key"
/// org_id = "org_123"
/// project_id = "proj_456"
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Listen address.
    pub listen: Option<SocketAddr>,
    /// Upstream base URL.
    pub upstream: Option<String>,
    /// File holding the key.
    pub api_key_file: Option<PathBuf>,
    /// Connect timeout in milliseconds.
    pub connect_timeout_ms: Option<u64>,
    /// Request timeout in milliseconds.
    pub request_timeout_ms: Option<u64>,
    /// Request body limit.
    pub body_limit_bytes: Option<usize>,
    /// Request header limit.
    pub header_limit_bytes: Option<usize>,
    /// Trusted peers for `X-Forwarded-*`.
    #[serde(default)]
    pub trusted_proxies: Vec<IpAddr>,
    /// `X-Forwarded-Proto` to send (`http`/`https`).
    pub forwarded_proto: Option<String>,
    /// CORS allow-list.
    #[serde(default)]
    pub cors_origins: Vec<String>,
    /// Per-IP rate limit.
    pub rate_limit: Option<RateLimit>,
    /// Session cookie mode.
    pub cookie: Option<CookieMode>,
    /// SQLite file of the upstream circuit breaker (default
    /// `authflow-proxy-breaker.db` in the temp dir).
    pub breaker_sqlite: Option<PathBuf>,
    /// Consecutive connect errors/timeouts that open the breaker (default 5).
    pub breaker_failure_threshold: Option<u32>,
    /// Seconds the breaker stays open (default 30).
    pub breaker_open_for_secs: Option<u64>,
    /// Milliseconds a process trusts the store's last *closed* (default 100;
    /// 0 = ask the store on every request).
    pub breaker_sync_ms: Option<u64>,
    /// Redis URL: breaker state and rate-limit buckets shared by replicas.
    pub redis: Option<String>,
    /// AIdenID mode.
    pub aidenid: Option<AidenIdFile>,
}

/// The `[aidenid]` table of the TOML file: never the key itself (use
/// `AIDENID_AGENT_KEY` or `agent_key_file`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AidenIdFile {
    /// File holding the agent key (else `AIDENID_AGENT_KEY`).
    pub agent_key_file: Option<PathBuf>,
    /// `X-Org-Id` (else `AIDENID_ORG_ID`).
    pub org_id: Option<String>,
    /// `X-Project-Id` (else `AIDENID_PROJECT_ID`).
    pub project_id: Option<String>,
}

impl FileConfig {
    /// Parse a TOML file.
    pub fn load(path: &std::path::Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: path.to_owned(),
            reason: e.kind().to_string(),
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Toml {
            path: path.to_owned(),
            reason: e.message().to_owned(),
        })
    }

    /// The breaker settings of the file over the defaults.
    pub fn breaker_config(&self) -> BreakerConfig {
        let mut c = BreakerConfig::default();
        if let Some(n) = self.breaker_failure_threshold {
            c = c.failure_threshold(n);
        }
        if let Some(s) = self.breaker_open_for_secs {
            c = c.open_for(Duration::from_secs(s));
        }
        c
    }

    /// Apply the file's settings to a builder (all but `redis`, which needs
    /// a connection: the binary makes it).
    pub fn apply(&self, mut b: ProxyConfigBuilder) -> ProxyConfigBuilder {
        if let Some(ms) = self.connect_timeout_ms {
            b = b.connect_timeout(Duration::from_millis(ms));
        }
        if let Some(ms) = self.request_timeout_ms {
            b = b.request_timeout(Duration::from_millis(ms));
        }
        if let Some(n) = self.body_limit_bytes {
            b = b.body_limit(n);
        }
        if let Some(n) = self.header_limit_bytes {
            b = b.header_limit(n);
        }
        if let Some(p) = &self.forwarded_proto {
            b = b.forwarded_proto(p.clone());
        }
        if let Some(rl) = self.rate_limit {
            b = b.rate_limit(rl);
        }
        if let Some(c) = &self.cookie {
            b = b.cookie_mode(c.clone());
        }
        if let Some(p) = &self.breaker_sqlite {
            b = b.breaker(BreakerBackend::SqlitePath(p.clone()));
        }
        b = b.breaker_config(self.breaker_config());
        if let Some(ms) = self.breaker_sync_ms {
            b = b.breaker_sync_interval(Duration::from_millis(ms));
        }
        b.trusted_proxies(self.trusted_proxies.clone())
            .cors_origins(self.cors_origins.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "af_0123456789abcdef0123456789abcdef";

    #[test]
    fn validates_key_and_upstream() {
        let ok = ProxyConfig::builder("http://127.0.0.1:9/", SecretString::from(KEY))
            .build()
            .unwrap();
        assert_eq!(ok.upstream(), "http://127.0.0.1:9");
        assert!(!format!("{ok:?}").contains(KEY));
        assert!(matches!(
            ProxyConfig::builder("http://x", SecretString::from("af_nope")).build(),
            Err(ConfigError::MalformedKey)
        ));
        for bad in ["ftp://x", "http://u:p@x", "http://x/?a=1", "nope"] {
            assert!(
                ProxyConfig::builder(bad, SecretString::from(KEY))
                    .build()
                    .is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn toml_rejects_a_key_field() {
        let err = toml::from_str::<FileConfig>(&format!("api_key = \"{KEY}\"")).unwrap_err();
        assert!(err.message().contains("unknown field"));
        assert!(!err.message().contains(KEY));
        let cfg: FileConfig = toml::from_str(
            "upstream = \"http://x\"\ncors_origins = [\"https://a.example\"]\n[rate_limit]\nper_second = 2.0\nburst = 3\n",
        )
        .unwrap();
        assert_eq!(cfg.rate_limit.unwrap().burst, 3);
    }
}
