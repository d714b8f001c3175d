//! AIdenID against the in-process mock server: an identity with a TTL, a
//! password-reset reliability run against the mock's demo target, the
//! redacted result and the privileged secret retrieval; then a consumer
//! signs in with a magic link and watches the live inbox stream.
//!
//! Run: `cargo run -p authflow-examples --example aidenid`

use std::time::Duration;

use authflow::aidenid::WaitOptions;
use authflow::api::aidenid::CreateIdentityRequest;
use authflow::api::reliability::{CreateRunRequest, RunFlowType};
use authflow::{AidenIdClient, ConsumerClient};
use authflow_mock::MockServer;
use futures_util::StreamExt;
use secrecy::{ExposeSecret, SecretString};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let server = MockServer::start().await?;
    let key = server.agent_key_with_secrets();
    let aid = AidenIdClient::builder()
        .api_key(key.key.clone())
        .scope(&key.org_id, &key.project_id)
        .base_url(server.base_url())
        .build()?;

    let ident = aid
        .create_identity(&CreateIdentityRequest {
            label: "reset-test".into(),
            ttl_hours: Some(1),
        })
        .await?
        .into_inner();
    println!(
        "identity {} <{}> expires {}",
        ident.id, ident.email, ident.expires_at
    );

    let run = aid
        .create_run(&CreateRunRequest {
            target_url: format!("{}/__mock/demo/forgot-password", server.base_url()),
            identity_id: ident.id.clone(),
            timeout_seconds: Some(120),
            trigger: None,
            flow_type: Some(RunFlowType::PasswordReset),
        })
        .await?
        .into_inner();
    let wait = WaitOptions::default().max_wait(Duration::from_secs(30));
    let run = aid.wait_for_run(&run.id, wait).await?;
    let result = run.result.as_ref().ok_or("the run has no result")?;
    println!(
        "run {}: {:?}, {} {} in {} ms (confidence {:.2})",
        run.id,
        run.status,
        result.extraction_type,
        result.redacted_value,
        result.delivery_time_ms,
        result.confidence
    );
    let secret = aid.run_secret(&run.id).await?.into_inner();
    // Printed only to show it is the real link; never log secrets in production.
    let link = secret.value.expose_secret();
    println!(
        "secret retrieval (secrets:read): a link of {} characters",
        link.len()
    );
    aid.squash_identity(&ident.id).await?;

    // A consumer: magic link → session → identity → live inbox.
    let consumers = ConsumerClient::builder()
        .base_url(server.base_url())
        .build()?;
    consumers.signup("alice@example.com").await?;
    let mail = server
        .emails()
        .latest("alice@example.com")
        .ok_or("no magic-link email")?;
    let token = mail.links[0]
        .split("token=")
        .nth(1)
        .ok_or("no token in the link")?;
    let session = consumers
        .verify(&SecretString::from(token.to_owned()))
        .await?;
    println!(
        "consumer {} signed in until {}",
        session.info().consumer_id,
        session.info().expires_at
    );
    let inbox = session
        .create_identity("twitter-signup")
        .await?
        .into_inner();
    let mut events = Box::pin(session.inbox_events(None));
    let raw = format!(
        "From: Example <no-reply@example.com>\r\nTo: {}\r\nSubject: Your code\r\n\r\nYour verification code is 482913.\r\n",
        inbox.email
    );
    reqwest_post(&format!("{}/__mock/inbound", server.base_url()), raw).await?;
    for _ in 0..2 {
        let event = events.next().await.ok_or("stream ended")??;
        println!(
            "event {} {} {}",
            event.id,
            event.event,
            event.data.redacted_value.as_deref().unwrap_or("")
        );
    }
    let notes = session
        .notifications(Default::default())
        .await?
        .into_inner();
    println!("notification: {}", notes.items[0].title);
    Ok(())
}

/// Deliver a raw message to the mock (what an SMTP client would do).
async fn reqwest_post(url: &str, body: String) -> Result<(), BoxError> {
    let status = reqwest::Client::new()
        .post(url)
        .body(body)
        .send()
        .await?
        .status();
    if !status.is_success() {
        return Err(format!("inbound delivery answered {status}").into());
    }
    Ok(())
}
