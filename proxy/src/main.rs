//! `authflow-proxy`: the key-injecting AuthFlow proxy as a binary.
//!
//! ```text
//! AUTHFLOW_API_KEY=af_… authflow-proxy --listen 127.0.0.1:8080 --upstream https://api.authflow.net
//! authflow-proxy --config proxy.toml --api-key-file /run/secrets/authflow_api_key
//! ```
//!
//! The key is read from `AUTHFLOW_API_KEY` or `--api-key-file`, never from
//! the command line (it would show in `ps`). The first stdout line is
//! `listening on http://HOST:PORT`. SIGTERM or Ctrl-C stop accepting and
//! drain in-flight requests.
#![forbid(unsafe_code)]

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use authflow::breaker::RedisStore;
use authflow_proxy::{
    AidenIdMode, BreakerBackend, ConfigError, FileConfig, ProxyConfig, ProxyLayer,
    RedisRateLimiter, ServeOptions, serve_handoff,
};
use clap::Parser;
use secrecy::SecretString;

/// Key-injecting reverse proxy for the AuthFlow API.
#[derive(Debug, Parser)]
#[command(name = "authflow-proxy", version, about)]
struct Args {
    /// Address to listen on (port 0 = random) [default: 127.0.0.1:8080].
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Upstream base URL [default: https://api.authflow.net].
    #[arg(long)]
    upstream: Option<String>,
    /// TOML configuration file (see the crate docs for its fields).
    #[arg(long)]
    config: Option<PathBuf>,
    /// File holding the organization API key (else `AUTHFLOW_API_KEY`).
    #[arg(long)]
    api_key_file: Option<PathBuf>,
    /// SQLite file of the upstream circuit breaker, shared by the proxies on
    /// this host [default: authflow-proxy-breaker.db in the temp dir].
    #[arg(long, value_name = "FILE")]
    breaker_sqlite: Option<PathBuf>,
    /// Milliseconds a process trusts the breaker store's last "closed"
    /// before asking it again; 0 = ask on every request [default: 100].
    #[arg(long, value_name = "MS")]
    breaker_sync_ms: Option<u64>,
    /// Redis URL: the circuit breaker and the rate-limit buckets live there,
    /// shared by every replica (may also come from AUTHFLOW_PROXY_REDIS, to
    /// keep a password out of `ps`).
    #[arg(
        long,
        value_name = "URL",
        env = "AUTHFLOW_PROXY_REDIS",
        hide_env_values = true
    )]
    redis: Option<String>,
    /// File holding the AIdenID agent key (else `AIDENID_AGENT_KEY`): turns
    /// AIdenID mode on.
    #[arg(long, value_name = "FILE")]
    aidenid_key_file: Option<PathBuf>,
    /// `X-Org-Id` for AIdenID mode (else `AIDENID_ORG_ID`).
    #[arg(long, value_name = "ID")]
    aidenid_org_id: Option<String>,
    /// `X-Project-Id` for AIdenID mode (else `AIDENID_PROJECT_ID`).
    #[arg(long, value_name = "ID")]
    aidenid_project_id: Option<String>,
    /// Worker threads, each a single-threaded runtime with its own upstream
    /// connection pool [default: one per CPU].
    #[arg(long)]
    workers: Option<usize>,
}

fn main() -> ExitCode {
    // Refuse a key on the command line before clap can echo it in an error.
    if std::env::args().skip(1).any(|a| {
        let a = a.to_ascii_lowercase();
        let secret = a.starts_with("--api-key")
            || a.starts_with("--api_key")
            || a.starts_with("--key")
            || a.starts_with("--agent-key")
            || a.starts_with("--agent_key")
            || a.starts_with("--aidenid-key")
            || a.starts_with("--aidenid_key");
        secret && !a.starts_with("--api-key-file") && !a.starts_with("--aidenid-key-file")
    }) {
        eprintln!(
            "authflow-proxy: keys are never taken from the command line (they would be visible in `ps`); set AUTHFLOW_API_KEY / AIDENID_AGENT_KEY or pass --api-key-file / --aidenid-key-file"
        );
        return ExitCode::from(2);
    }
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("authflow-proxy: {e}");
            ExitCode::from(2)
        }
    }
}

fn read_key(file: Option<&PathBuf>) -> Result<SecretString, ConfigError> {
    match file {
        Some(path) => std::fs::read_to_string(path)
            .map(|s| SecretString::from(s.trim().to_owned()))
            .map_err(|e| ConfigError::Read {
                path: path.clone(),
                reason: e.kind().to_string(),
            }),
        None => std::env::var("AUTHFLOW_API_KEY")
            .ok()
            .filter(|k| !k.trim().is_empty())
            .map(|k| SecretString::from(k.trim().to_owned()))
            .ok_or(ConfigError::MissingKey),
    }
}

/// AIdenID mode from `--aidenid-key-file`, the file's `[aidenid]` or
/// `AIDENID_AGENT_KEY` (+ org and project ids): `None` when no key is given.
fn read_aidenid(args: &Args, file: &FileConfig) -> Result<Option<AidenIdMode>, ConfigError> {
    let table = file.aidenid.clone().unwrap_or_default();
    let key = match args
        .aidenid_key_file
        .as_ref()
        .or(table.agent_key_file.as_ref())
    {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .map(|s| SecretString::from(s.trim().to_owned()))
                .map_err(|e| ConfigError::Read {
                    path: path.clone(),
                    reason: e.kind().to_string(),
                })?,
        ),
        None => std::env::var("AIDENID_AGENT_KEY")
            .ok()
            .filter(|k| !k.trim().is_empty())
            .map(|k| SecretString::from(k.trim().to_owned())),
    };
    let Some(key) = key else {
        return Ok(None);
    };
    let id = |flag: &Option<String>, table: Option<String>, env: &str| {
        flag.clone()
            .or(table)
            .or_else(|| std::env::var(env).ok())
            .filter(|v| !v.trim().is_empty())
            .ok_or(ConfigError::Setting(
                "aidenid",
                format!("AIdenID mode needs {env} (or the flag / [aidenid] field)"),
            ))
    };
    let org = id(&args.aidenid_org_id, table.org_id, "AIDENID_ORG_ID")?;
    let project = id(
        &args.aidenid_project_id,
        table.project_id,
        "AIDENID_PROJECT_ID",
    )?;
    AidenIdMode::new(key, org.trim(), project.trim()).map(Some)
}

/// Thread-per-core: the main thread accepts and deals connections
/// round-robin to worker threads; every worker runs a single-threaded runtime
/// that owns its connections and its upstream connection pool, so a request
/// never hops threads (metrics and rate-limit buckets are shared).
fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let file = match &args.config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    let key = read_key(args.api_key_file.as_ref().or(file.api_key_file.as_ref()))?;
    let upstream = args
        .upstream
        .clone()
        .or_else(|| file.upstream.clone())
        .unwrap_or_else(|| authflow_proxy::config::DEFAULT_UPSTREAM.to_owned());
    let mut builder = file.apply(ProxyConfig::builder(upstream, key));
    if let Some(mode) = read_aidenid(&args, &file)? {
        builder = builder.aidenid(mode);
    }
    if let Some(ms) = args.breaker_sync_ms {
        builder = builder.breaker_sync_interval(std::time::Duration::from_millis(ms));
    }
    if let Some(path) = &args.breaker_sqlite {
        builder = builder.breaker(BreakerBackend::SqlitePath(path.clone()));
    }
    // Redis connections keep a task on the runtime that made them: a small
    // runtime of their own, alive as long as the proxy.
    let redis_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("authflow-proxy-redis")
        .enable_all()
        .build()?;
    if let Some(url) = args.redis.as_ref().or(file.redis.as_ref()) {
        let breaker_config = file.breaker_config();
        let (store, limiter) = redis_runtime.block_on(async {
            let store = RedisStore::connect(url).await;
            let limiter = RedisRateLimiter::connect(url).await;
            (store, limiter)
        });
        let store = store.map_err(|e| format!("--redis: {}", e.message()))?;
        let limiter = limiter.map_err(|e| format!("--redis: {e}"))?;
        builder = builder
            .breaker(BreakerBackend::Redis(store.with_config(breaker_config)))
            .redis_rate_limit(limiter);
    }
    let config = builder.build()?;
    let options = ServeOptions {
        header_limit: config.header_limit(),
        ..ServeOptions::default()
    };
    let upstream = config.upstream().to_owned();
    let layer = ProxyLayer::new(config)?;
    let workers = args
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let listen = args
        .listen
        .or(file.listen)
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
    let listener = std::net::TcpListener::bind(listen)
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut threads = Vec::with_capacity(workers);
    let mut hands = Vec::with_capacity(workers);
    for i in 0..workers {
        let (hand, incoming) = tokio::sync::mpsc::channel(1024);
        hands.push(hand);
        let layer = if i == 0 {
            layer.clone()
        } else {
            layer.for_worker()?
        };
        let mut stop = stop_rx.clone();
        let thread = std::thread::Builder::new()
            .name(format!("authflow-proxy-{i}"))
            .spawn(move || -> std::io::Result<()> {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?
                    .block_on(serve_handoff(
                        incoming,
                        layer.router(),
                        options,
                        async move {
                            let _ = stop.wait_for(|s| *s).await;
                        },
                    ));
                Ok(())
            })?;
        threads.push(thread);
    }
    {
        // Nobody reading stdout any more is no reason to stop serving.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on http://{addr}").and_then(|()| out.flush());
    }
    tracing::info!(%addr, %upstream, workers, "authflow-proxy started");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            let shutdown = shutdown_signal();
            tokio::pin!(shutdown);
            let mut next = 0usize;
            loop {
                tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok((stream, peer)) => {
                            let Ok(stream) = stream.into_std() else { continue };
                            // A full queue waits: back-pressure on accepting.
                            let _ = hands[next % hands.len()].send((stream, peer)).await;
                            next = next.wrapping_add(1);
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        }
                    },
                    () = &mut shutdown => break,
                }
            }
            Ok::<(), std::io::Error>(())
        })?;
    let _ = stop_tx.send(true);
    for t in threads {
        match t.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "worker failed"),
            Err(_) => tracing::error!("worker panicked"),
        }
    }
    drop(redis_runtime);
    tracing::info!("authflow-proxy stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: draining in-flight requests");
}
