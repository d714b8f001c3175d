//! The whole AuthFlow journey through `authflow-proxy` → mock, with no key in
//! the client (`AuthFlowClient::via_proxy`): every one of the 20 routes
//! answers 2xx, and the mock's journal shows the key injected exactly once
//! on the five routes that take it (query or body, as the route table says)
//! and nowhere else.

#[path = "proxy_support.rs"]
mod proxy_support;

use std::time::Duration;

use authflow::api::authflow::UserRef;
use authflow::api::routes::{self, Api, KeyPlacement};
use authflow::{AuthFlowClient, Challenge, LoginOutcome, RetryPolicy, Session};
use authflow_mock::{EmailKind, MockServer};
use proxy_support::stack;
use secrecy::{ExposeSecret, SecretString};

const PASSWORD: &str = "TestPass123!";
const NEW_PASSWORD: &str = "NewPass123!";
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

async fn login_session(
    client: &AuthFlowClient,
    email: &str,
    password: &str,
    role: &str,
) -> Session {
    match client
        .login(email, &secret(password), role)
        .await
        .expect("login")
    {
        LoginOutcome::Session(s) => s.into_inner(),
        LoginOutcome::TwoFactorRequired(_) => panic!("expected a session"),
    }
}

async fn login_challenge(client: &AuthFlowClient, email: &str) -> Challenge {
    match client
        .login(email, &secret(PASSWORD), ROLE)
        .await
        .expect("login")
    {
        LoginOutcome::TwoFactorRequired(c) => c,
        LoginOutcome::Session(_) => panic!("expected a 2FA challenge"),
    }
}

fn latest_link(server: &MockServer, to: &str, kind: EmailKind) -> String {
    let mail = server
        .emails()
        .to(to)
        .into_iter()
        .rev()
        .find(|e| e.kind == kind)
        .unwrap_or_else(|| panic!("no {kind:?} email to {to}"));
    mail.links[0].clone()
}

fn token_of(link: &str) -> SecretString {
    let (_, query) = link.split_once('?').expect("link has a query");
    let token = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("token="))
        .expect("link has a token");
    secret(token)
}

fn totp_now(server: &MockServer, totp_secret: &SecretString) -> SecretString {
    let now = u64::try_from(server.clock().now_secs()).expect("clock after 1970");
    secret(&authflow::totp::code_at(totp_secret, now).expect("valid secret"))
}

#[tokio::test]
async fn every_route_through_the_proxy_with_the_key_injected_once() {
    let (server, proxy) = stack().await;
    let client = proxied_client(&proxy.url);
    let email = "ada@example.com";
    let who = UserRef {
        email: email.to_owned(),
        org_id: server.org_id(),
        role: ROLE.to_owned(),
    };

    // fooBar, signUp, resend-verify-email, verify-email
    let fb = client.foobar(email, Some(ROLE)).await.expect("fooBar");
    assert!(!fb.expose_secret().is_empty());
    let session = client
        .sign_up(email, &secret(PASSWORD), "Test User", ROLE)
        .await
        .expect("signUp")
        .into_inner();
    client
        .resend_verification(email, Some(ROLE))
        .await
        .expect("resend-verify-email");
    let link = latest_link(&server, email, EmailKind::Verification);
    client
        .verify_email(&token_of(&link))
        .await
        .expect("verify-email");

    // login, validate, me
    let session2 = login_session(&client, email, PASSWORD, ROLE).await;
    assert!(client.validate(&session).await.expect("validate"));
    let me = client.me(&session2.token).await.expect("me");
    assert_eq!(me.email, email);
    assert_eq!(me.org_id, server.org_id());

    // changePassword, forgot-password, reset-password
    client
        .change_password(&session2, &secret(PASSWORD), &secret(NEW_PASSWORD))
        .await
        .expect("changePassword");
    client
        .forgot_password(email, Some(ROLE))
        .await
        .expect("forgot-password");
    let reset = latest_link(&server, email, EmailKind::PasswordReset);
    client
        .reset_password(&token_of(&reset), &secret(PASSWORD))
        .await
        .expect("reset-password");
    let session = login_session(&client, email, PASSWORD, ROLE).await;

    // 2fa/enable, 2fa/verify-setup
    let setup = client
        .enable_totp(&session.token, &who)
        .await
        .expect("2fa/enable")
        .into_inner();
    let code = totp_now(&server, &setup.secret);
    let codes = client
        .verify_totp_setup(&session.token, &who, &code, &setup.secret)
        .await
        .expect("2fa/verify-setup")
        .into_inner();
    assert_eq!(codes.len(), 10);
    server.clock().advance(Duration::from_secs(30));

    // 2fa/verify-2fa
    let ch = login_challenge(&client, email).await;
    let s = ch
        .verify_totp(&totp_now(&server, &setup.secret))
        .await
        .expect("verify-2fa");
    assert!(client.validate(&s).await.expect("validate"));

    // 2fa/backup/email, 2fa/verify-email-otp
    let ch = login_challenge(&client, email).await;
    ch.send_backup_email().await.expect("backup/email");
    let otp = server.emails().latest(email).expect("OTP email").codes[0].clone();
    let s = ch
        .verify_email_otp(&secret(&otp))
        .await
        .expect("verify-email-otp");
    assert!(client.validate(&s).await.expect("validate"));

    // 2fa/verify-recovery, 2fa/recovery-codes, 2fa/disable
    let ch = login_challenge(&client, email).await;
    let session = ch
        .verify_recovery_code(&codes[0])
        .await
        .expect("verify-recovery")
        .into_inner()
        .session;
    client
        .regenerate_recovery_codes(&session.token, &who, &secret(PASSWORD))
        .await
        .expect("recovery-codes");
    client
        .disable_totp(&session.token, &who, &secret(PASSWORD))
        .await
        .expect("2fa/disable");

    // logout, deleteUser (owner session as bearer, forwarded as-is)
    client.logout(&session).await.expect("logout");
    let org = server.default_org();
    let owner = login_session(
        &client,
        &org.owner_email,
        org.owner_password.expose_secret(),
        &org.owner_role,
    )
    .await;
    client
        .delete_user(&owner, &server.org_id(), email)
        .await
        .expect("deleteUser");

    // The journal: every request is a table route answered 2xx, and the key
    // appears exactly where the table puts it, exactly once.
    let journal = server.requests();
    for entry in &journal {
        let name = entry
            .route
            .as_deref()
            .expect("only table routes reach the mock");
        let route = routes::find(name).expect("table route");
        assert_eq!(route.api, Api::AuthFlow);
        assert!(
            (200..300).contains(&entry.status),
            "{name}: {}",
            entry.status
        );
        let in_query = entry.query.iter().filter(|(k, _)| k == "api_key").count();
        let in_body = entry.body.get("api_key").is_some();
        match route.api_key_placement() {
            KeyPlacement::Query => {
                assert_eq!(in_query, 1, "{name}: api_key in the query once");
                assert!(!in_body, "{name}");
            }
            KeyPlacement::Body => {
                assert_eq!(in_query, 0, "{name}");
                assert_eq!(entry.body["api_key"], "[REDACTED]", "{name}");
            }
            KeyPlacement::None => {
                assert_eq!(in_query, 0, "{name}: no key where the table has none");
                assert!(!in_body, "{name}: no key where the table has none");
            }
        }
    }
    for route in routes::routes_of(Api::AuthFlow) {
        assert!(
            journal
                .iter()
                .any(|e| e.route.as_deref() == Some(route.name)),
            "{} was never called through the proxy",
            route.name
        );
    }
    assert_eq!(routes::routes_of(Api::AuthFlow).count(), 20);
}

/// `/healthz` answers; a key-taking route answers 200 with no key from the
/// client and an `X-Request-Id`; `/metrics` counts it.
#[tokio::test]
async fn healthz_and_metrics() {
    let (_server, proxy) = stack().await;
    let http = reqwest::Client::new();
    let ok = http
        .get(format!("{}/healthz", proxy.url))
        .send()
        .await
        .expect("healthz");
    assert_eq!(ok.status(), 200);
    let fb = http
        .get(format!(
            "{}/auth/fooBar?identity=a%40b.co&role=detective",
            proxy.url
        ))
        .send()
        .await
        .expect("fooBar");
    assert_eq!(fb.status(), 200);
    assert!(fb.headers().contains_key("x-request-id"));
    let text = http
        .get(format!("{}/metrics", proxy.url))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        text.contains("authflow_proxy_requests_total{route=\"fooBar\",status=\"200\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("authflow_proxy_request_duration_seconds_count 1"),
        "{text}"
    );
}
