//! `authflow-mock`: the AuthFlow mock server as a standalone process.
//!
//! Prints `listening on http://HOST:PORT` as its first stdout line, then the
//! credentials it uses. Stops gracefully on SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use secrecy::{ExposeSecret, SecretString};

use authflow_mock::{EmailVerification, MockServer, OrgSeed, PasswordHashing, SigningKey};

/// A faithful mock of the AuthFlow API: real RS512 JWTs, argon2id, TOTP,
/// single-use codes, expiry on a controllable clock, captured email, and a
/// test-control API under /__mock/.
///
/// Credentials come from the environment; any that is unset is generated and
/// printed: AUTHFLOW_API_KEY (af_ + 32 lowercase hex), AUTHFLOW_ORG_ID,
/// AUTHFLOW_OWNER_EMAIL, AUTHFLOW_OWNER_PASSWORD, and the Flow admin API's
/// bearer tokens FLOWS_ADMIN_TOKEN (every route) and FLOWS_READ_TOKEN (reads),
/// and one AIdenID agent key with every scope: AIDENID_AGENT_KEY (aid_…),
/// AIDENID_ORG_ID, AIDENID_PROJECT_ID (without AIDENID_AGENT_KEY, three keys
/// are generated and printed: full, full with secrets:read, read-only).
#[derive(Debug, Parser)]
#[command(name = "authflow-mock", version, about, long_about)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:4010")]
    listen: SocketAddr,

    /// PEM RSA private key (PKCS#1 or PKCS#8) to sign tokens with; a key is
    /// generated at start-up otherwise.
    #[arg(long, value_name = "FILE")]
    rsa_key_file: Option<PathBuf>,

    /// Use the fast argon2id profile (m=64 KiB, t=1) instead of OWASP's
    /// (m=19 MiB, t=2): for load tests against the mock.
    #[arg(long)]
    fast_hashing: bool,

    /// Refuse login (401) until the user's email is verified.
    #[arg(long)]
    require_verified_email: bool,

    /// Also accept mail over SMTP here (e.g. 127.0.0.1:2525): applications
    /// under test deliver to AIdenID identity addresses.
    #[arg(long, value_name = "ADDR")]
    smtp_listen: Option<SocketAddr>,

    /// Keep the run engine's circuit breakers in this SQLite file (shared by
    /// every process on the host that uses it). Default: a temporary file.
    #[arg(long, value_name = "FILE", conflicts_with = "breaker_redis")]
    breaker_sqlite: Option<PathBuf>,

    /// Keep the run engine's circuit breakers in Redis (shared across
    /// hosts), e.g. redis://127.0.0.1:6379/0.
    #[arg(long, value_name = "URL")]
    breaker_redis: Option<String>,

    /// Domain of AIdenID identity addresses.
    #[arg(long, default_value = "inbox.aidenid.test")]
    inbox_domain: String,

    /// Log filter (tracing EnvFilter syntax), e.g. `info` or `authflow_mock=debug`.
    #[arg(long, env = "AUTHFLOW_MOCK_LOG", default_value = "warn")]
    log: String,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&args.log).unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("authflow-mock: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let generated = OrgSeed::generate();
    let mut printed = Vec::new();
    let mut pick = |var: &str, fallback: String, secret: bool| match env(var) {
        Some(v) => {
            printed.push(format!("{var}: (from environment)"));
            v
        }
        None => {
            printed.push(if secret {
                format!("{var}={fallback} (generated)")
            } else {
                format!("{var}={fallback}")
            });
            fallback
        }
    };
    let api_key = pick(
        "AUTHFLOW_API_KEY",
        generated.api_key.expose_secret().to_owned(),
        true,
    );
    let org_id = pick("AUTHFLOW_ORG_ID", generated.org_id.clone(), false);
    let owner_email = pick("AUTHFLOW_OWNER_EMAIL", generated.owner_email.clone(), false);
    let owner_password = pick(
        "AUTHFLOW_OWNER_PASSWORD",
        generated.owner_password.expose_secret().to_owned(),
        true,
    );
    let tokens = authflow_mock::flows::FlowTokens::generate();
    let admin_token = pick(
        "FLOWS_ADMIN_TOKEN",
        tokens.admin.expose_secret().to_owned(),
        true,
    );
    let read_token = pick(
        "FLOWS_READ_TOKEN",
        tokens.read_only.expose_secret().to_owned(),
        true,
    );
    for (name, t) in [
        ("FLOWS_ADMIN_TOKEN", &admin_token),
        ("FLOWS_READ_TOKEN", &read_token),
    ] {
        if t.bytes().any(|b| !(0x21..0x7f).contains(&b)) {
            return Err(format!("{name} must be printable ASCII without spaces"));
        }
    }
    if admin_token == read_token {
        return Err("FLOWS_ADMIN_TOKEN and FLOWS_READ_TOKEN must differ".into());
    }
    if !authflow::api::validation::is_org_api_key(&api_key) {
        return Err(
            "AUTHFLOW_API_KEY must be `af_` followed by 32 lowercase hex characters".into(),
        );
    }
    let mut builder = MockServer::builder()
        .listen(args.listen)
        .org(OrgSeed {
            org_id,
            api_key: SecretString::from(api_key),
            owner_email,
            owner_password: SecretString::from(owner_password),
            owner_role: generated.owner_role,
        })
        .flow_tokens(authflow_mock::flows::FlowTokens {
            admin: SecretString::from(admin_token),
            read_only: SecretString::from(read_token),
        })
        .password_hashing(if args.fast_hashing {
            PasswordHashing::Fast
        } else {
            PasswordHashing::Standard
        });
    builder = builder.inbox_domain(&args.inbox_domain);
    if let Some(path) = &args.breaker_sqlite {
        let store = authflow::breaker::SqliteStore::open(path)
            .map_err(|e| format!("--breaker-sqlite {}: {e}", path.display()))?;
        builder = builder.breaker_store(std::sync::Arc::new(store));
    }
    if let Some(url) = &args.breaker_redis {
        let store = authflow::breaker::RedisStore::connect(url)
            .await
            // The URL may carry a password: the message never shows it.
            .map_err(|_| "--breaker-redis: cannot connect to that Redis".to_owned())?;
        builder = builder.breaker_store(std::sync::Arc::new(store));
    }
    if let Some(addr) = args.smtp_listen {
        builder = builder.smtp_listen(addr);
    }
    if let Some(key) = env("AIDENID_AGENT_KEY") {
        if !key.starts_with("aid_") || key.bytes().any(|b| !b.is_ascii_graphic()) {
            return Err("AIDENID_AGENT_KEY must be `aid_` followed by printable characters".into());
        }
        builder = builder.agent_key(authflow_mock::aidenid::AgentKeySeed {
            key: SecretString::from(key),
            org_id: env("AIDENID_ORG_ID").unwrap_or_else(|| "org_mock".into()),
            project_id: env("AIDENID_PROJECT_ID").unwrap_or_else(|| "proj_mock".into()),
            scopes: authflow_mock::aidenid::store::ALL_SCOPES
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        });
        printed.push("AIDENID_AGENT_KEY: (from environment)".into());
    }
    if args.require_verified_email {
        builder = builder.email_verification(EmailVerification::RequiredForLogin);
    }
    if let Some(path) = &args.rsa_key_file {
        let pem = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        builder = builder.signing_key(SigningKey::from_pem(&pem).map_err(|e| e.to_string())?);
    }
    let server = builder.start().await.map_err(|e| e.to_string())?;
    println!("listening on {}", server.base_url());
    for line in printed {
        println!("{line}");
    }
    println!("owner role: {}", server.default_org().owner_role);
    if env("AIDENID_AGENT_KEY").is_none() {
        for k in server.agent_keys() {
            println!(
                "AIDENID_AGENT_KEY={} org={} project={} scopes={} (generated)",
                k.key.expose_secret(),
                k.org_id,
                k.project_id,
                k.scopes.join(",")
            );
        }
    } else {
        let k = server.agent_key();
        println!(
            "AIDENID_ORG_ID={} AIDENID_PROJECT_ID={}",
            k.org_id, k.project_id
        );
    }
    if let Some(addr) = server.smtp_addr() {
        println!("smtp on {addr}");
    }
    shutdown_signal().await;
    eprintln!("authflow-mock: shutting down");
    server.shutdown().await;
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
}
