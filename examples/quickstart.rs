//! The whole AuthFlow journey against the in-process mock server:
//! sign up → verify the email from the captured mail → log in → enable TOTP
//! 2FA → log in with the TOTP challenge → log in with a recovery code →
//! log in with a backup email code → reset a forgotten password → log out.
//!
//! Run: `cargo run -p authflow-examples --example quickstart`

use std::time::Duration;

use authflow::api::authflow::UserRef;
use authflow::{AuthFlowClient, LoginOutcome, Session, totp};
use authflow_mock::MockServer;
use secrecy::{ExposeSecret, SecretString};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn step(n: u32, what: &str) {
    println!("\n{n:>2}. {what}");
}

fn show(detail: impl AsRef<str>) {
    println!("    {}", detail.as_ref());
}

/// Log in and expect the 2FA challenge.
async fn challenge(
    client: &AuthFlowClient,
    email: &str,
    password: &SecretString,
    role: &str,
) -> Result<authflow::Challenge, BoxError> {
    match client.login(email, password, role).await? {
        LoginOutcome::TwoFactorRequired(c) => Ok(c),
        LoginOutcome::Session(_) => Err("expected a 2FA challenge".into()),
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let started = std::time::Instant::now();
    let server = MockServer::start().await?;
    println!(
        "AuthFlow quickstart — mock server at {} (started in {:?})",
        server.base_url(),
        started.elapsed()
    );

    // The organization key lives server-side only; the SDK validates its format.
    let client = AuthFlowClient::builder()
        .api_key(server.api_key())
        .base_url(server.base_url())
        .build()?;
    let (email, role) = ("ada@example.com", "detective");
    let password = SecretString::from("TestPass123!");

    step(
        1,
        "Sign up (a fresh 45-second fooBar token is fetched for you)",
    );
    let session = client
        .sign_up(email, &password, "Ada Lovelace", role)
        .await?
        .into_inner();
    show(format!(
        "session token issued for {} (Debug shows {:?})",
        session.email, session.token
    ));

    step(2, "Verify the email with the link from the captured mail");
    let mail = server
        .emails()
        .latest(email)
        .ok_or("no verification email")?;
    show(format!(
        "mail: {:?} → {}",
        mail.subject,
        redact_link(&mail.links[0])
    ));
    let token = SecretString::from(link_token(&mail.links[0])?);
    client.verify_email(&token).await?;
    show("verified (the link is single-use: a second click answers 401)");
    assert!(client.verify_email(&token).await.is_err());

    step(3, "Log in, validate the session, load the profile");
    let session = expect_session(client.login(email, &password, role).await?)?;
    assert!(client.validate(&session).await?);
    let me = client.me(&session.token).await?;
    show(format!(
        "{} <{}>, role {}, org {}",
        me.fullname, me.email, me.role, me.org_id
    ));
    let user = UserRef {
        email: me.email.clone(),
        org_id: me.org_id.clone(),
        role: me.role.clone(),
    };

    step(
        4,
        "Enable TOTP 2FA and confirm it with a code from the secret",
    );
    let setup = client
        .enable_totp(&session.token, &user)
        .await?
        .into_inner();
    show(format!(
        "QR code: {} bytes of PNG data URL; otpauth URL kept secret",
        setup.qr_code.expose_secret().len()
    ));
    let code = SecretString::from(totp::code_at(
        &setup.secret,
        server.clock().now_secs() as u64,
    )?);
    let recovery = client
        .verify_totp_setup(&session.token, &user, &code, &setup.secret)
        .await?
        .into_inner();
    show(format!(
        "2FA on; {} single-use recovery codes issued",
        recovery.len()
    ));

    step(
        5,
        "Log in again: the API asks for a second factor; answer with TOTP",
    );
    server.clock().advance(Duration::from_secs(30)); // a TOTP code works once per 30-second step
    let c = challenge(&client, email, &password, role).await?;
    let code = SecretString::from(totp::code_at(
        &setup.secret,
        server.clock().now_secs() as u64,
    )?);
    let session = c.verify_totp(&code).await?.into_inner();
    show(format!(
        "signed in with TOTP; session valid: {}",
        client.validate(&session).await?
    ));

    step(6, "Lost the phone? Use a recovery code");
    let c = challenge(&client, email, &password, role).await?;
    let rec = c.verify_recovery_code(&recovery[0]).await?.into_inner();
    show(format!(
        "signed in with a recovery code; {} codes left",
        rec.remaining_codes
    ));
    assert!(
        c.verify_recovery_code(&recovery[0]).await.is_err(),
        "a recovery code works once"
    );

    step(7, "Or ask for a backup code by email");
    let c = challenge(&client, email, &password, role).await?;
    c.send_backup_email().await?;
    let mail = server.emails().latest(email).ok_or("no OTP email")?;
    show(format!(
        "mail: {:?} (code extracted from the text)",
        mail.subject
    ));
    let otp = SecretString::from(mail.codes.first().cloned().ok_or("no code in the mail")?);
    let session = c.verify_email_otp(&otp).await?.into_inner();
    show(format!(
        "signed in with the emailed code; session valid: {}",
        client.validate(&session).await?
    ));

    step(8, "Forgot the password: reset it from the emailed link");
    client.forgot_password(email, Some(role)).await?;
    let mail = server.emails().latest(email).ok_or("no reset email")?;
    let reset = SecretString::from(link_token(&mail.links[0])?);
    let new_password = SecretString::from("NewPass123!");
    client.reset_password(&reset, &new_password).await?;
    show(format!(
        "password reset; sessions from before are revoked: valid = {}",
        client.validate(&session).await?
    ));
    let old = client.login(email, &password, role).await;
    show(format!(
        "old password now: {}",
        old.err().map(|e| e.to_string()).unwrap_or_default()
    ));

    step(9, "Log in with the new password (and TOTP), then log out");
    server.clock().advance(Duration::from_secs(30));
    let c = challenge(&client, email, &new_password, role).await?;
    let code = SecretString::from(totp::code_at(
        &setup.secret,
        server.clock().now_secs() as u64,
    )?);
    let session: Session = c.verify_totp(&code).await?.into_inner();
    client.logout(&session).await?;
    show(format!(
        "logged out; session valid: {}",
        client.validate(&session).await?
    ));

    println!(
        "\nDone in {:?}: {} emails captured, {} API requests served.",
        started.elapsed(),
        server.emails().all().len(),
        server.requests().len()
    );
    server.shutdown().await;
    Ok(())
}

fn expect_session(outcome: LoginOutcome) -> Result<Session, BoxError> {
    match outcome {
        LoginOutcome::Session(s) => Ok(s.into_inner()),
        LoginOutcome::TwoFactorRequired(_) => Err("unexpected 2FA challenge".into()),
    }
}

/// The `token` query parameter of a link.
fn link_token(link: &str) -> Result<String, BoxError> {
    link.split_once("token=")
        .map(|(_, t)| t.split('&').next().unwrap_or(t).to_owned())
        .ok_or_else(|| "link has no token".into())
}

/// A link with its token hidden, for printing.
fn redact_link(link: &str) -> String {
    match link.split_once("token=") {
        Some((head, _)) => format!("{head}token=[REDACTED]"),
        None => link.to_owned(),
    }
}
