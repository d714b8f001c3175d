//! Journey throughput: signUp + login + validate per second against one
//! in-process mock with the fast hashing profile (argon2id m=64 KiB, t=1, p=1),
//! driven by the SDK over loopback HTTP with 16 concurrent tasks.
//!
//! Run: `cargo bench -p authflow-bench --bench journey_throughput`

use std::sync::Arc;
use std::time::Instant;

use authflow::{AuthFlowClient, LoginOutcome};
use authflow_mock::{MockServer, PasswordHashing};
use secrecy::SecretString;

const JOURNEYS: usize = 2_000;
const TASKS: usize = 16;

#[tokio::main]
async fn main() {
    for hashing in [PasswordHashing::Fast, PasswordHashing::Standard] {
        run(
            hashing,
            if hashing == PasswordHashing::Fast {
                JOURNEYS
            } else {
                200
            },
        )
        .await;
    }
}

async fn run(hashing: PasswordHashing, journeys: usize) {
    let server = MockServer::builder()
        .password_hashing(hashing)
        .start()
        .await
        .expect("start");
    let client = AuthFlowClient::builder()
        .api_key(server.api_key())
        .base_url(server.base_url())
        .build()
        .expect("client");
    let password = Arc::new(SecretString::from("TestPass123!"));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let (client, password) = (client.clone(), password.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = t;
            while i < journeys {
                let email = format!("user{i}@example.com");
                client
                    .sign_up(&email, &password, "Bench User", "member")
                    .await
                    .expect("sign up");
                let session = match client
                    .login(&email, &password, "member")
                    .await
                    .expect("login")
                {
                    LoginOutcome::Session(s) => s.into_inner(),
                    LoginOutcome::TwoFactorRequired(_) => unreachable!("no 2FA in this bench"),
                };
                assert!(client.validate(&session).await.expect("validate"));
                i += TASKS;
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{:<34} {journeys:>5} journeys (signUp+login+validate, 5 HTTP calls each incl. 2 fooBar) in {secs:.2} s = {:.0} journeys/s, {:.0} req/s",
        hashing.describe(),
        journeys as f64 / secs,
        journeys as f64 * 5.0 / secs
    );
}
