//! The access log, in a test binary of its own (a thread-local subscriber
//! must not race other tests for tracing's per-callsite interest cache).

#[path = "proxy_support.rs"]
mod proxy_support;

use authflow::{AuthFlowClient, RetryPolicy};
use proxy_support::stack;
use secrecy::{ExposeSecret, SecretString};

const PASSWORD: &str = "TestPass123!";
const ROLE: &str = "detective";

fn secret(s: &str) -> SecretString {
    SecretString::from(s)
}

fn proxied_client(url: &str) -> AuthFlowClient {
    AuthFlowClient::builder()
        .via_proxy()
        .base_url(url)
        .retry(RetryPolicy::none())
        .build()
        .expect("valid client configuration")
}

/// Captures formatted log lines.
#[derive(Clone, Default)]
struct Capture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut v) = self.0.lock() {
            v.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The access log names every request and redacts the key, passwords,
/// session and temp tokens, fooBar tokens and cookies.
#[tokio::test(flavor = "current_thread")]
async fn access_log_is_redacted() {
    let capture = Capture::default();
    let sink = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let (server, proxy) = stack().await;
    let client = proxied_client(&proxy.url);
    let email = "log@example.com";
    let session = client
        .sign_up(email, &secret(PASSWORD), "Log User", ROLE)
        .await
        .expect("signUp")
        .into_inner();
    client.me(&session.token).await.expect("me");
    let raw = reqwest::Client::new()
        .get(format!(
            "{}/auth/validate?email=log%40example.com&sessionToken=x",
            proxy.url
        ))
        .header("cookie", "authflow_session=cookie-secret-value")
        .send()
        .await
        .expect("validate");
    assert!(raw.status().is_client_error());
    drop(proxy);

    let logs = String::from_utf8_lossy(&capture.0.lock().expect("lock")).into_owned();
    let access: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("authflow_proxy::access"))
        .collect();
    assert!(access.len() >= 4, "{} lines: {logs}", logs.lines().count());
    assert!(
        access
            .iter()
            .any(|l| l.contains("route=\"signUp\"") && l.contains("status=200")),
        "{logs}"
    );
    assert!(logs.contains("password=%5BREDACTED%5D"), "{logs}");
    for secret in [
        server.api_key().expose_secret().to_owned(),
        PASSWORD.replace('!', "%21"),
        PASSWORD.to_owned(),
        session.token.expose_secret().to_owned(),
        "cookie-secret-value".to_owned(),
    ] {
        assert!(!logs.contains(&secret), "a secret is in the logs: {logs}");
    }
}
