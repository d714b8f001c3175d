//! Per-call cost of `validate` through the FFI facade (`authflow-ffi`, what
//! the Python and Node bindings wrap) against the Rust SDK and raw reqwest,
//! all against one in-process `authflow_mock::MockServer` on the same tokio
//! runtime (multi-thread, one worker per core unless
//! `AUTHFLOW_BENCH_WORKERS` says otherwise, as the bindings' runtimes do).
//!
//! Two measurements per contender:
//!
//! - sequential: one `validate` at a time, each call timed (µs/call);
//! - concurrent: batches of 1,000 `validate` calls, each spawned as its own
//!   task (as the bindings do), the batch awaited as a whole.
//!
//! Contenders: `authflow::AuthFlowClient::validate` (the SDK),
//! `authflow_ffi::AuthFlowClient::validate` (the facade, called from Rust:
//! its record conversions without any foreign runtime), and a bare reqwest
//! `GET /auth/validate` with the query the SDK sends (checked against the
//! mock's request journal) whose JSON body is parsed and checked.
//!
//! Run: `cargo bench -p authflow-bench --bench ffi_overhead`
//! (`bench/bindings/run.sh` runs it next to the Python and Node benches).
//! Environment: `AUTHFLOW_BENCH_SEQ` (sequential calls per contender, default
//! 2000), `AUTHFLOW_BENCH_ROUNDS` (batches per contender, default 10),
//! `AUTHFLOW_BENCH_BATCH` (calls per batch, default 1000),
//! `AUTHFLOW_BENCH_JSON` (write the figures there as JSON).

use std::sync::Arc;
use std::time::{Duration, Instant};

use authflow::{AuthFlowClient, LoginOutcome};
use authflow_bench::percentile;
use authflow_mock::MockServer;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tokio::task::JoinSet;

/// Who makes the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Sdk,
    Facade,
    Reqwest,
}

impl Who {
    const ALL: [Who; 3] = [Who::Sdk, Who::Facade, Who::Reqwest];

    fn key(self) -> &'static str {
        match self {
            Who::Sdk => "rust_sdk",
            Who::Facade => "rust_ffi_facade",
            Who::Reqwest => "rust_reqwest",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Who::Sdk => "Rust SDK authflow::AuthFlowClient::validate",
            Who::Facade => "FFI facade authflow_ffi::AuthFlowClient::validate",
            Who::Reqwest => "raw reqwest GET + serde_json",
        }
    }
}

/// The clients and the session every contender validates.
struct Ctx {
    sdk: AuthFlowClient,
    facade: Arc<authflow_ffi::AuthFlowClient>,
    http: reqwest::Client,
    session: authflow::Session,
    facade_session: authflow_ffi::Session,
    url: reqwest::Url,
}

impl Ctx {
    /// One `validate`; `true` if the server said the session is valid.
    async fn call(&self, who: Who) -> bool {
        match who {
            Who::Sdk => self
                .sdk
                .validate(&self.session)
                .await
                .expect("SDK validate"),
            Who::Facade => self
                .facade
                .validate(self.facade_session.clone())
                .await
                .expect("facade validate"),
            Who::Reqwest => {
                let resp = self
                    .http
                    .get(self.url.clone())
                    .send()
                    .await
                    .expect("reqwest send");
                let ok = resp.status() == reqwest::StatusCode::OK;
                let body: Value = resp.json().await.expect("reqwest JSON body");
                ok && body["valid"] == Value::Bool(true)
            }
        }
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(default)
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let workers = env_usize("AUTHFLOW_BENCH_WORKERS", cores);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(run(workers, cores));
}

async fn setup() -> (MockServer, Arc<Ctx>) {
    let server = MockServer::start().await.expect("start mock");
    let sdk = AuthFlowClient::builder()
        .api_key(server.api_key())
        .base_url(server.base_url())
        .build()
        .expect("SDK client");
    let email = "bench-rust@example.com";
    let password = SecretString::from("BenchPass123!");
    sdk.sign_up(email, &password, "Bench User", "member")
        .await
        .expect("sign up");
    let session = match sdk.login(email, &password, "member").await.expect("login") {
        LoginOutcome::Session(s) => s.into_inner(),
        LoginOutcome::TwoFactorRequired(_) => unreachable!("no 2FA in this bench"),
    };
    let facade = authflow_ffi::AuthFlowClient::new(
        authflow_ffi::Secret::new(server.api_key().expose_secret().to_owned()),
        Some(server.base_url()),
    )
    .expect("facade client");
    let facade_session = authflow_ffi::Session {
        token: authflow_ffi::Secret::new(session.token.expose_secret().to_owned()),
        email: session.email.clone(),
    };
    // The query the SDK sends for `validate` (serde_json's map is ordered:
    // `email`, then `sessionToken`); checked against the journal below.
    let mut url =
        reqwest::Url::parse(&format!("{}/auth/validate", server.base_url())).expect("validate URL");
    url.query_pairs_mut()
        .append_pair("email", &session.email)
        .append_pair("sessionToken", session.token.expose_secret());
    let http = reqwest::Client::builder().build().expect("reqwest client");
    let ctx = Ctx {
        sdk,
        facade,
        http,
        session,
        facade_session,
        url,
    };
    (server, Arc::new(ctx))
}

/// The journaled `validate` requests must be the same for every contender:
/// method, path and query (names in order; the email value).
fn check_same_wire(server: &MockServer) -> String {
    let shapes: Vec<String> = server
        .requests()
        .into_iter()
        .filter(|e| e.route.as_deref() == Some("validate"))
        .map(|e| {
            let query: Vec<String> = e.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{} {}?{}", e.method, e.path, query.join("&"))
        })
        .collect();
    assert!(shapes.len() >= Who::ALL.len(), "validate calls journaled");
    assert!(
        shapes.iter().all(|s| *s == shapes[0]),
        "every contender sends the same validate request: {shapes:?}"
    );
    shapes[0].clone()
}

async fn sequential(ctx: &Ctx, who: Who, calls: usize) -> Vec<Duration> {
    let mut samples = Vec::with_capacity(calls);
    for _ in 0..calls {
        let t = Instant::now();
        let valid = ctx.call(who).await;
        samples.push(t.elapsed());
        assert!(valid, "{} said the session is invalid", who.label());
    }
    samples
}

/// `validate` with an empty session token, through the SDK and the facade:
/// each call fails the input check without sending anything.
async fn no_io(ctx: &Ctx, calls: usize) -> Vec<(&'static str, &'static str, Vec<Duration>)> {
    let sdk_empty = authflow::Session::new(SecretString::from(""), ctx.session.email.clone());
    let facade_empty = authflow_ffi::Session {
        token: authflow_ffi::Secret::new(String::new()),
        email: ctx.session.email.clone(),
    };
    let mut sdk = Vec::with_capacity(calls);
    let mut facade = Vec::with_capacity(calls);
    for _ in 0..calls {
        let t = Instant::now();
        let r = ctx.sdk.validate(&sdk_empty).await;
        sdk.push(t.elapsed());
        assert!(r.is_err_and(|e| e.is_invalid_input()), "SDK input check");
        let t = Instant::now();
        let r = ctx.facade.validate(facade_empty.clone()).await;
        facade.push(t.elapsed());
        assert!(
            r.is_err_and(|e| e.code() == "invalid_input"),
            "facade input check"
        );
    }
    vec![
        (
            "rust_sdk_noio",
            "Rust SDK validate, refused before I/O",
            sdk,
        ),
        (
            "rust_ffi_facade_noio",
            "FFI facade validate, refused before I/O",
            facade,
        ),
    ]
}

async fn batch(ctx: &Arc<Ctx>, who: Who, size: usize) -> Duration {
    let started = Instant::now();
    let mut set = JoinSet::new();
    for _ in 0..size {
        let ctx = ctx.clone();
        set.spawn(async move { ctx.call(who).await });
    }
    let mut valid = 0;
    while let Some(r) = set.join_next().await {
        if r.expect("validate task") {
            valid += 1;
        }
    }
    let took = started.elapsed();
    assert_eq!(valid, size, "{}: every call valid", who.label());
    took
}

async fn run(workers: usize, cores: usize) {
    let seq_calls = env_usize("AUTHFLOW_BENCH_SEQ", 2000);
    let rounds = env_usize("AUTHFLOW_BENCH_ROUNDS", 10);
    let size = env_usize("AUTHFLOW_BENCH_BATCH", 1000);
    let (server, ctx) = setup().await;

    // Warm-up: connections, lazy statics, the wire check.
    for who in Who::ALL {
        assert!(ctx.call(who).await, "{} warm-up", who.label());
    }
    let wire = check_same_wire(&server);
    for who in Who::ALL {
        sequential(&ctx, who, 200).await;
        batch(&ctx, who, size).await;
    }

    println!(
        "ffi_overhead: in-process authflow-mock and clients on one tokio runtime, \
         {workers} worker thread(s) on {cores} core(s)"
    );
    println!("validate request (all contenders): {wire}");

    // Sequential, interleaved in 5 blocks so drift hits every contender.
    let blocks = 5;
    let mut seq: Vec<Vec<Duration>> = vec![Vec::new(); Who::ALL.len()];
    for b in 0..blocks {
        for i in 0..Who::ALL.len() {
            let k = (i + b) % Who::ALL.len();
            let s = sequential(&ctx, Who::ALL[k], seq_calls.div_ceil(blocks)).await;
            seq[k].extend(s);
        }
    }
    // No I/O: `validate` refused by the SDK's input check (empty token)
    // before any request; what is left is the call machinery itself.
    let noio = no_io(&ctx, seq_calls).await;
    // Concurrent batches, order rotated every round.
    let mut conc: Vec<Vec<Duration>> = vec![Vec::new(); Who::ALL.len()];
    for r in 0..rounds {
        for i in 0..Who::ALL.len() {
            let k = (i + r) % Who::ALL.len();
            conc[k].push(batch(&ctx, Who::ALL[k], size).await);
        }
    }

    let sdk_seq = percentile(&seq[0], 50.0);
    let sdk_batch = percentile(&conc[0], 50.0);
    let mut results = serde_json::Map::new();
    println!(
        "{:<52} {:>10} {:>10} {:>10} {:>12} {:>12} {:>11}",
        "contender", "seq p50", "seq mean", "seq p99", "batch p50", "batch min", "calls/s"
    );
    for (k, who) in Who::ALL.into_iter().enumerate() {
        let s = &seq[k];
        let mean = s.iter().sum::<Duration>() / s.len() as u32;
        let (p50, p99) = (percentile(s, 50.0), percentile(s, 99.0));
        let b50 = percentile(&conc[k], 50.0);
        let bmin = conc[k].iter().min().copied().unwrap_or_default();
        let rate = size as f64 / b50.as_secs_f64();
        println!(
            "{:<52} {:>7.1} µs {:>7.1} µs {:>7.1} µs {:>9.2} ms {:>9.2} ms {:>11.0}",
            who.label(),
            us(p50),
            us(mean),
            us(p99),
            b50.as_secs_f64() * 1e3,
            bmin.as_secs_f64() * 1e3,
            rate
        );
        results.insert(
            who.key().to_owned(),
            json!({
                "label": who.label(),
                "seq_calls": s.len(),
                "seq_p50_us": us(p50),
                "seq_mean_us": us(mean),
                "seq_p99_us": us(p99),
                "seq_overhead_vs_sdk_us": us(p50) - us(sdk_seq),
                "batch_size": size,
                "batch_rounds": conc[k].len(),
                "batch_p50_ms": b50.as_secs_f64() * 1e3,
                "batch_min_ms": bmin.as_secs_f64() * 1e3,
                "batch_calls_per_s": rate,
                "batch_vs_sdk": b50.as_secs_f64() / sdk_batch.as_secs_f64(),
            }),
        );
    }
    for (key, label, samples) in &noio {
        let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
        let (p50, p99) = (percentile(samples, 50.0), percentile(samples, 99.0));
        println!(
            "{label:<52} {:>7.2} µs {:>7.2} µs {:>7.2} µs",
            us(p50),
            us(mean),
            us(p99)
        );
        results.insert(
            (*key).to_owned(),
            json!({
                "label": label,
                "seq_calls": samples.len(),
                "seq_p50_us": us(p50),
                "seq_mean_us": us(mean),
                "seq_p99_us": us(p99),
            }),
        );
    }
    if let Ok(path) = std::env::var("AUTHFLOW_BENCH_JSON") {
        let doc = json!({
            "bench": "ffi_overhead",
            "workers": workers,
            "cores": cores,
            "mock": format!("in-process, same tokio runtime ({workers} worker threads)"),
            "wire": wire,
            "results": results,
        });
        std::fs::write(&path, format!("{doc:#}\n")).expect("write JSON results");
    }
    server.shutdown().await;
}
