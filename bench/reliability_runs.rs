//! 1,000 concurrent reliability runs against the mock's demo targets in one
//! in-process mock, driven by the SDK: every run must reach a terminal
//! state (none lost); reports p50/p99 `delivery_time_ms` (run creation to
//! the email's arrival, as the engine measures it), wall time and runs/s.
//! Half the runs use the password-reset demo (a link), half the invite demo
//! (an OTP).
//!
//! Run: `cargo bench -p authflow-bench --bench reliability_runs`

use std::time::{Duration, Instant};

use authflow::AidenIdClient;
use authflow::aidenid::WaitOptions;
use authflow::api::aidenid::CreateIdentityRequest;
use authflow::api::reliability::{CreateRunRequest, RunFlowType, RunStatus};
use authflow::transport::RetryPolicy;
use authflow_mock::MockServer;

const RUNS: usize = 1_000;

#[tokio::main]
async fn main() {
    let server = MockServer::start().await.expect("start");
    let key = server.agent_key();
    let aid = AidenIdClient::builder()
        .api_key(key.key.clone())
        .scope(&key.org_id, &key.project_id)
        .base_url(server.base_url())
        .build()
        .expect("client");
    let wait = WaitOptions::default()
        .backoff(
            RetryPolicy::default()
                .base_delay(Duration::from_millis(10))
                .max_delay(Duration::from_millis(200)),
        )
        .max_wait(Duration::from_secs(120));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(RUNS);
    for i in 0..RUNS {
        let aid = aid.clone();
        let base = server.base_url();
        tasks.push(tokio::spawn(async move {
            let ident = aid
                .create_identity(&CreateIdentityRequest {
                    label: format!("bench-{i}"),
                    ttl_hours: Some(1),
                })
                .await?
                .into_inner();
            let (flow, path) = if i % 2 == 0 {
                (RunFlowType::PasswordReset, "forgot-password")
            } else {
                (RunFlowType::Invite, "invite")
            };
            let run = aid
                .create_run(&CreateRunRequest {
                    target_url: format!("{base}/__mock/demo/{path}"),
                    identity_id: ident.id,
                    timeout_seconds: Some(120),
                    trigger: None,
                    flow_type: Some(flow),
                })
                .await?
                .into_inner();
            aid.wait_for_run(&run.id, wait).await
        }));
    }
    let mut delivery = Vec::with_capacity(RUNS);
    let (mut completed, mut other) = (0usize, 0usize);
    for t in tasks {
        match t.await.expect("task") {
            Ok(run) if run.status == RunStatus::Completed => {
                completed += 1;
                if let Some(r) = run.result {
                    delivery.push(Duration::from_millis(r.delivery_time_ms));
                }
            }
            Ok(run) => {
                other += 1;
                eprintln!("run {} ended {:?}", run.id, run.status);
            }
            Err(e) => {
                other += 1;
                eprintln!("run failed: {e}");
            }
        }
    }
    let wall = started.elapsed();
    println!(
        "reliability runs: {RUNS} concurrent runs (identity + run + polling), one in-process mock"
    );
    println!(
        "  terminal: {} of {RUNS} (completed {completed}, other {other}); lost: {}",
        completed + other,
        RUNS - completed - other
    );
    println!(
        "  delivery_time_ms p50 {}  p99 {}  max {}",
        authflow_bench::ms(authflow_bench::percentile(&delivery, 50.0)),
        authflow_bench::ms(authflow_bench::percentile(&delivery, 99.0)),
        authflow_bench::ms(authflow_bench::percentile(&delivery, 100.0)),
    );
    println!(
        "  wall {}  ({:.0} runs/s end to end)",
        authflow_bench::ms(wall),
        RUNS as f64 / wall.as_secs_f64()
    );
    assert_eq!(completed + other, RUNS, "a run was lost");

    // The same loop one run at a time: delivery time without queueing.
    let mut solo = Vec::new();
    for i in 0..SOLO {
        let ident = aid
            .create_identity(&CreateIdentityRequest {
                label: format!("solo-{i}"),
                ttl_hours: Some(1),
            })
            .await
            .expect("identity")
            .into_inner();
        let run = aid
            .create_run(&CreateRunRequest {
                target_url: format!("{}/__mock/demo/invite", server.base_url()),
                identity_id: ident.id,
                timeout_seconds: Some(120),
                trigger: None,
                flow_type: Some(RunFlowType::Invite),
            })
            .await
            .expect("run")
            .into_inner();
        let run = aid.wait_for_run(&run.id, wait).await.expect("wait");
        if let Some(r) = run.result {
            solo.push(Duration::from_millis(r.delivery_time_ms));
        }
    }
    println!(
        "  one at a time ({SOLO} runs): delivery_time_ms p50 {}  p99 {}",
        authflow_bench::ms(authflow_bench::percentile(&solo, 50.0)),
        authflow_bench::ms(authflow_bench::percentile(&solo, 99.0)),
    );
}

const SOLO: usize = 50;
