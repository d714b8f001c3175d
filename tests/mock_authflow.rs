//! End-to-end tests of the SDK against the in-process AuthFlow mock.
//!
//! Every test starts its own [`MockServer`] (its own store, clock and outbox)
//! and talks to it through [`AuthFlowClient`] over real HTTP:
//!
//! - the route table, the client and the mock agree: every one of the 20
//!   AuthFlow routes succeeds through the SDK (checked in the mock's journal);
//! - every documented error status per route, with the right [`Error`]
//!   predicate and the API's message;
//! - the 2FA journeys (TOTP, backup email OTP, recovery codes), with
//!   single-use codes and tokens, attempt limits and expiry on the mock clock;
//! - tokens verify against the published JWKS with an independent
//!   `jsonwebtoken` configuration.
//!
//! Expiry is always driven by `server.clock().advance(..)`, never by sleeping.

use std::collections::HashSet;
use std::time::Duration;

use authflow::api::authflow::{
    DeleteUserRequest, ResetPasswordRequest, SignUpRequest, TwoFactorVerifyRequest, UserRef,
};
use authflow::api::routes::{self, Api};
use authflow::api::validation::password_meets_rule;
use authflow::{
    AuthFlowClient, Challenge, Error, LoginOutcome, RequestOptions, RetryPolicy, Session,
};
use authflow_mock::{EmailKind, MockServer};
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

// ------------------------------------------------------------------ helpers

const PASSWORD: &str = "TestPass123!";
const NEW_PASSWORD: &str = "NewPass123!";
const WEAK_PASSWORD: &str = "password";
const ROLE: &str = "detective";
const FORGOT_MESSAGE: &str = "If an account exists for this email, a reset link has been sent.";

fn secret(s: &str) -> SecretString {
    SecretString::from(s)
}

/// A server and a client for its default organization (no retries, so an
/// error status is seen exactly once).
async fn start() -> (MockServer, AuthFlowClient) {
    let server = MockServer::start().await.expect("mock server starts");
    let client = client_for(&server, server.api_key());
    (server, client)
}

fn client_for(server: &MockServer, key: SecretString) -> AuthFlowClient {
    AuthFlowClient::builder()
        .api_key(key)
        .base_url(server.base_url())
        .retry(RetryPolicy::none())
        .build()
        .expect("valid client configuration")
}

fn user(server: &MockServer, email: &str, role: &str) -> UserRef {
    UserRef {
        email: email.to_owned(),
        org_id: server.org_id(),
        role: role.to_owned(),
    }
}

async fn sign_up(client: &AuthFlowClient, email: &str, role: &str) -> Session {
    client
        .sign_up(email, &secret(PASSWORD), "Test User", role)
        .await
        .expect("sign-up succeeds")
        .into_inner()
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
        .expect("login succeeds")
    {
        LoginOutcome::Session(s) => s.into_inner(),
        LoginOutcome::TwoFactorRequired(_) => panic!("expected a session, got a 2FA challenge"),
    }
}

async fn login_challenge(client: &AuthFlowClient, email: &str, role: &str) -> Challenge {
    match client
        .login(email, &secret(PASSWORD), role)
        .await
        .expect("login succeeds")
    {
        LoginOutcome::TwoFactorRequired(c) => c,
        LoginOutcome::Session(_) => panic!("expected a 2FA challenge, got a session"),
    }
}

async fn owner_session(server: &MockServer, client: &AuthFlowClient) -> Session {
    let org = server.default_org();
    login_session(
        client,
        &org.owner_email,
        org.owner_password.expose_secret(),
        &org.owner_role,
    )
    .await
}

/// Assert `err` is an API error with this status and message; returns it.
#[track_caller]
fn expect_api(err: Error, status: u16, message: &str) -> Error {
    match &err {
        Error::Api {
            status: s,
            message: m,
            ..
        } => {
            assert_eq!(*s, status, "status of {err}");
            assert_eq!(m, message, "message of {err}");
        }
        other => panic!("expected HTTP {status} {message:?}, got {other:?}"),
    }
    err
}

/// The route an API error names.
#[track_caller]
fn route_of(err: &Error) -> &'static str {
    match err {
        Error::Api { route, .. } => route,
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// The `token` query parameter of an emailed link.
#[track_caller]
fn token_of(link: &str) -> SecretString {
    let (_, query) = link.split_once('?').expect("link has a query");
    let token = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("token="))
        .expect("link has a token");
    assert!(!token.is_empty());
    secret(token)
}

/// The newest link of `kind` emailed to `to`.
#[track_caller]
fn latest_link(server: &MockServer, to: &str, kind: EmailKind) -> String {
    let mail = server
        .emails()
        .to(to)
        .into_iter()
        .rev()
        .find(|e| e.kind == kind)
        .unwrap_or_else(|| panic!("no {kind:?} email to {to}"));
    assert_eq!(mail.links.len(), 1, "{:?}", mail.links);
    mail.links[0].clone()
}

fn now(server: &MockServer) -> u64 {
    u64::try_from(server.clock().now_secs()).expect("clock after 1970")
}

/// The current TOTP code on the mock clock.
fn totp_now(server: &MockServer, totp_secret: &SecretString) -> SecretString {
    secret(&authflow::totp::code_at(totp_secret, now(server)).expect("valid secret"))
}

/// A six-digit code that is not valid for `totp_secret` around now.
fn wrong_totp(server: &MockServer, totp_secret: &SecretString) -> SecretString {
    let t = now(server);
    (0..10)
        .map(|d| d.to_string().repeat(6))
        .find(|c| {
            [t.saturating_sub(60), t, t + 60]
                .iter()
                .all(|at| !authflow::totp::verify_at(totp_secret, c, *at).expect("valid secret"))
        })
        .map(|c| secret(&c))
        .expect("some repeated digit is not a valid code")
}

fn opts() -> RequestOptions {
    RequestOptions::new()
}

/// Turn TOTP 2FA on for a signed-in user; returns the secret and recovery codes.
async fn enable_2fa(
    server: &MockServer,
    client: &AuthFlowClient,
    session: &Session,
    who: &UserRef,
) -> (SecretString, Vec<SecretString>) {
    let setup = client
        .enable_totp(&session.token, who)
        .await
        .expect("2fa/enable")
        .into_inner();
    let code = totp_now(server, &setup.secret);
    let codes = client
        .verify_totp_setup(&session.token, who, &code, &setup.secret)
        .await
        .expect("2fa/verify-setup")
        .into_inner();
    // The setup code's step is spent: later TOTP logins need the next step.
    server.clock().advance(Duration::from_secs(30));
    (setup.secret, codes)
}

// ------------------------------------------------- route table coverage

/// The route table, the client and the mock agree: every AuthFlow route is
/// called through the SDK and answers 2xx, and every request the SDK made
/// matched a route of the table with the table's method.
#[tokio::test]
async fn every_route_succeeds_through_the_sdk() {
    let (server, client) = start().await;
    let email = "ada@example.com";
    let who = user(&server, email, ROLE);

    // fooBar, signUp
    let fb = client.foobar(email, Some(ROLE)).await.expect("fooBar");
    assert!(!fb.expose_secret().is_empty());
    let session = sign_up(&client, email, ROLE).await;

    // resend-verify-email (the user is not verified yet), verify-email
    let resent = client
        .resend_verification(email, Some(ROLE))
        .await
        .expect("resend-verify-email");
    assert_eq!(resent.status_code, 200);
    let link = latest_link(&server, email, EmailKind::Verification);
    let page = client
        .verify_email(&token_of(&link))
        .await
        .expect("verify-email");
    assert_eq!(page.status(), 200);

    // login, validate, me
    let session2 = login_session(&client, email, PASSWORD, ROLE).await;
    assert!(client.validate(&session).await.expect("validate"));
    let me = client.me(&session2.token).await.expect("me");
    assert_eq!(me.email, email);
    assert_eq!(me.role, ROLE);
    assert_eq!(me.org_id, server.org_id());
    assert_eq!(me.fullname, "Test User");

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
    let (totp_secret, codes) = enable_2fa(&server, &client, &session, &who).await;
    assert_eq!(codes.len(), 10);

    // 2fa/verify-2fa
    let ch = login_challenge(&client, email, ROLE).await;
    let s = ch
        .verify_totp(&totp_now(&server, &totp_secret))
        .await
        .expect("verify-2fa");
    assert!(client.validate(&s).await.expect("validate"));

    // 2fa/backup/email, 2fa/verify-email-otp
    let ch = login_challenge(&client, email, ROLE).await;
    ch.send_backup_email().await.expect("backup/email");
    let otp = server.emails().latest(email).expect("OTP email").codes[0].clone();
    let s = ch
        .verify_email_otp(&secret(&otp))
        .await
        .expect("verify-email-otp");
    assert!(client.validate(&s).await.expect("validate"));

    // 2fa/verify-recovery, 2fa/recovery-codes, 2fa/disable
    let ch = login_challenge(&client, email, ROLE).await;
    let rec = ch
        .verify_recovery_code(&codes[0])
        .await
        .expect("verify-recovery");
    let session = rec.into_inner().session;
    client
        .regenerate_recovery_codes(&session.token, &who, &secret(PASSWORD))
        .await
        .expect("recovery-codes");
    client
        .disable_totp(&session.token, &who, &secret(PASSWORD))
        .await
        .expect("2fa/disable");

    // logout, deleteUser
    client.logout(&session).await.expect("logout");
    let owner = owner_session(&server, &client).await;
    client
        .delete_user(&owner, &server.org_id(), email)
        .await
        .expect("deleteUser");

    let journal = server.requests();
    for entry in &journal {
        let name = entry
            .route
            .as_deref()
            .unwrap_or_else(|| panic!("{} {} is not in the route table", entry.method, entry.path));
        let route = routes::find(name).expect("journal names a table route");
        assert_eq!(entry.method, route.method.as_str(), "{name}");
        assert_eq!(entry.path, route.path, "{name}");
        assert!(
            (200..300).contains(&entry.status),
            "{name} answered {} in the happy path",
            entry.status
        );
    }
    let authflow_routes: Vec<_> = routes::routes_of(Api::AuthFlow).collect();
    assert_eq!(authflow_routes.len(), 20);
    for route in authflow_routes {
        assert!(
            journal
                .iter()
                .any(|e| e.route.as_deref() == Some(route.name) && (200..300).contains(&e.status)),
            "route {} ({} {}) was never called with a 2xx answer",
            route.name,
            route.method,
            route.path
        );
    }
}

// --------------------------------------------------------------- signUp

#[tokio::test]
async fn sign_up_documented_errors() {
    let (server, client) = start().await;
    let email = "new@example.com";
    let foobar = client
        .foobar(email, Some(ROLE))
        .await
        .expect("fooBar")
        .into_inner();
    let request =
        |foobar: &SecretString, email: &str, password: &str, fullname: &str| SignUpRequest {
            foobar: foobar.clone(),
            email: email.to_owned(),
            password: secret(password),
            fullname: fullname.to_owned(),
            role: ROLE.to_owned(),
            disclaimed: true,
        };

    // 400 Missing required fields (the client would refuse an empty name).
    let err = client
        .transport()
        .send(&request(&foobar, email, PASSWORD, ""), &opts())
        .await
        .unwrap_err();
    let err = expect_api(err, 400, "Missing required fields");
    assert!(err.is_bad_request());
    assert_eq!(route_of(&err), "signUp");
    let err = client
        .sign_up(email, &secret(PASSWORD), "", ROLE)
        .await
        .unwrap_err();
    assert!(err.is_invalid_input(), "{err:?}");

    // 400 password rule (the client would refuse it too).
    assert!(!password_meets_rule(WEAK_PASSWORD));
    let err = client
        .transport()
        .send(&request(&foobar, email, WEAK_PASSWORD, "New User"), &opts())
        .await
        .unwrap_err();
    assert!(
        expect_api(err, 400, "Password does not meet complexity requirements").is_bad_request()
    );
    let err = client
        .sign_up(email, &secret(WEAK_PASSWORD), "New User", ROLE)
        .await
        .unwrap_err();
    assert!(err.is_invalid_input(), "{err:?}");

    // 401 Invalid api_key: a well-formed key of no organization, both on
    // the fooBar the client fetches first and on signUp itself.
    let stranger = client_for(&server, secret("af_ffffffffffffffffffffffffffffffff"));
    let err = stranger
        .sign_up(email, &secret(PASSWORD), "New User", ROLE)
        .await
        .unwrap_err();
    let err = expect_api(err, 401, "Invalid api_key");
    assert!(err.is_unauthorized());
    assert_eq!(route_of(&err), "fooBar");
    let err = stranger
        .transport()
        .send(&request(&foobar, email, PASSWORD, "New User"), &opts())
        .await
        .unwrap_err();
    let err = expect_api(err, 401, "Invalid api_key");
    assert_eq!(route_of(&err), "signUp");

    // 401 Invalid or expired token: a fooBar for another email.
    let other = client
        .foobar("other@example.com", Some(ROLE))
        .await
        .expect("fooBar")
        .into_inner();
    let err = client
        .transport()
        .send(&request(&other, email, PASSWORD, "New User"), &opts())
        .await
        .unwrap_err();
    assert!(expect_api(err, 401, "Invalid or expired token").is_unauthorized());

    // 401 Invalid or expired token: a fooBar past its 45 seconds.
    server.clock().advance(Duration::from_secs(46));
    let err = client
        .transport()
        .send(&request(&foobar, email, PASSWORD, "New User"), &opts())
        .await
        .unwrap_err();
    assert!(expect_api(err, 401, "Invalid or expired token").is_unauthorized());
    assert!(server.emails().to(email).is_empty(), "no user was created");

    // A fresh fooBar works; the session is valid.
    let session = sign_up(&client, email, ROLE).await;
    assert!(client.validate(&session).await.expect("validate"));

    // 409 for the same (email, role), in any case of the email.
    let err = client
        .sign_up(email, &secret(PASSWORD), "New User", ROLE)
        .await
        .unwrap_err();
    let err = expect_api(err, 409, "User already exists");
    assert!(err.is_conflict());
    assert_eq!(route_of(&err), "signUp");
    let err = client
        .sign_up("NEW@example.com", &secret(PASSWORD), "New User", ROLE)
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err:?}");

    // The same email with another role is another user.
    let customer = sign_up(&client, email, "customer").await;
    let me = client.me(&customer.token).await.expect("me");
    assert_eq!(me.role, "customer");
    assert_eq!(me.email, email);
}

// ---------------------------------------------------------------- login

#[tokio::test]
async fn login_documented_errors_and_lockout() {
    let (server, client) = start().await;
    let email = "lock@example.com";
    sign_up(&client, email, ROLE).await;

    // 404 for an unknown user (and for a known email with another role).
    let err = client
        .login("nobody@example.com", &secret(PASSWORD), ROLE)
        .await
        .unwrap_err();
    let err = expect_api(err, 404, "User not found");
    assert!(err.is_not_found());
    assert_eq!(route_of(&err), "login");
    let err = client
        .login(email, &secret(PASSWORD), "customer")
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");

    // 401 Incorrect password, five times.
    for i in 0..5 {
        let err = client
            .login(email, &secret("WrongPass1!"), ROLE)
            .await
            .unwrap_err();
        let err = expect_api(err, 401, "Incorrect password");
        assert!(err.is_unauthorized(), "attempt {i}");
    }

    // The sixth attempt is rate limited, even with the right password.
    for password in ["WrongPass1!", PASSWORD] {
        let err = client
            .login(email, &secret(password), ROLE)
            .await
            .unwrap_err();
        let err = expect_api(err, 429, "Too many failed login attempts. Try again later.");
        assert!(err.is_rate_limited());
        match &err {
            Error::Api {
                retry_after: Some(d),
                ..
            } => assert!(
                *d > Duration::ZERO && *d <= Duration::from_secs(15 * 60),
                "{d:?}"
            ),
            other => panic!("429 without Retry-After: {other:?}"),
        }
    }

    // Another user is not affected.
    sign_up(&client, "free@example.com", ROLE).await;
    login_session(&client, "free@example.com", PASSWORD, ROLE).await;

    // After the 15-minute window the right password works again.
    server.clock().advance(Duration::from_secs(15 * 60 + 1));
    let session = login_session(&client, email, PASSWORD, ROLE).await;
    assert!(client.validate(&session).await.expect("validate"));

    // A success clears the failures: four more misses do not lock.
    for _ in 0..4 {
        let err = client
            .login(email, &secret("WrongPass1!"), ROLE)
            .await
            .unwrap_err();
        expect_api(err, 401, "Incorrect password");
    }
    login_session(&client, email, PASSWORD, ROLE).await;
}

/// The lockout lifts when the server's own `Retry-After` has elapsed.
#[tokio::test]
async fn login_lockout_lifts_when_retry_after_elapses() {
    let (server, client) = start().await;
    let email = "patient@example.com";
    sign_up(&client, email, ROLE).await;
    // Start at the beginning of a mock-clock second so the failures and the
    // 429 fall in the same second (Retry-After is then the full window).
    let ms = server.clock().now_millis().rem_euclid(1000);
    server.clock().advance(Duration::from_millis(
        u64::try_from(1000 - ms).unwrap_or(0) + 1,
    ));
    for _ in 0..5 {
        let err = client
            .login(email, &secret("WrongPass1!"), ROLE)
            .await
            .unwrap_err();
        expect_api(err, 401, "Incorrect password");
    }
    let err = client
        .login(email, &secret(PASSWORD), ROLE)
        .await
        .unwrap_err();
    let wait = match expect_api(err, 429, "Too many failed login attempts. Try again later.") {
        Error::Api {
            retry_after: Some(d),
            ..
        } => d,
        other => panic!("429 without Retry-After: {other:?}"),
    };
    assert!(wait <= Duration::from_secs(15 * 60), "{wait:?}");
    server.clock().advance(wait);
    let outcome = client.login(email, &secret(PASSWORD), ROLE).await;
    assert!(
        matches!(outcome, Ok(LoginOutcome::Session(_))),
        "login still refused after waiting the server's Retry-After of {wait:?}: {outcome:?}"
    );
}

// ------------------------------------------------- validate, me, logout

#[tokio::test]
async fn validate_me_and_logout() {
    let (server, client) = start().await;
    let a = sign_up(&client, "a@example.com", ROLE).await;
    let b = sign_up(&client, "b@example.com", ROLE).await;

    assert!(client.validate(&a).await.expect("validate"));
    // Another user's email with this token is not valid.
    let crossed = Session::new(a.token.clone(), "b@example.com");
    assert!(!client.validate(&crossed).await.expect("validate"));
    // Garbage is not valid either (Ok(false), not an error).
    let garbage = Session::new(secret("not-a-jwt"), "a@example.com");
    assert!(!client.validate(&garbage).await.expect("validate"));

    // me: 401 for a garbage token.
    let err = client.me(&secret("not-a-jwt")).await.unwrap_err();
    let err = expect_api(err, 401, "Invalid or expired session");
    assert!(err.is_unauthorized());
    assert_eq!(route_of(&err), "me");

    // logout: the session is gone, a second logout is 401.
    let out = client.logout(&a).await.expect("logout");
    assert!(out.success);
    assert!(!client.validate(&a).await.expect("validate"));
    let err = client.me(&a.token).await.unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
    let err = client.logout(&a).await.unwrap_err();
    let err = expect_api(err, 401, "Invalid or expired session");
    assert_eq!(route_of(&err), "logout");
    // Logging out one session leaves the other user's alone.
    assert!(client.validate(&b).await.expect("validate"));

    // Sessions live 12 hours.
    server.clock().advance(Duration::from_secs(11 * 3600));
    assert!(client.validate(&b).await.expect("validate"));
    server.clock().advance(Duration::from_secs(2 * 3600));
    assert!(!client.validate(&b).await.expect("validate"));
    let err = client.me(&b.token).await.unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
}

// ----------------------------------------------------------- deleteUser

#[tokio::test]
async fn delete_user_rules() {
    let (server, client) = start().await;
    let org_id = server.org_id();
    let owner_email = server.default_org().owner_email.clone();
    let member_email = "member@example.com";
    let member = sign_up(&client, member_email, ROLE).await;
    sign_up(&client, "bystander@example.com", ROLE).await;
    let owner = owner_session(&server, &client).await;
    let send = |token: Option<SecretString>, email_owner: &str, org: &str, target: &str| {
        let req = DeleteUserRequest {
            session_token: token,
            email_owner: email_owner.to_owned(),
            org_id: org.to_owned(),
            user_email: target.to_owned(),
        };
        let client = client.clone();
        async move { client.transport().send(&req, &opts()).await }
    };

    // The client refuses to delete the owner before sending anything ...
    let before = server.requests().len();
    let err = client
        .delete_user(&owner, &org_id, &owner_email)
        .await
        .unwrap_err();
    assert!(err.is_invalid_input(), "{err:?}");
    assert_eq!(server.requests().len(), before, "nothing was sent");
    // ... and the API answers 403 when asked anyway.
    let err = send(
        Some(owner.token.clone()),
        &owner_email,
        &org_id,
        &owner_email,
    )
    .await
    .unwrap_err();
    let err = expect_api(err, 403, "The organization owner cannot be deleted");
    assert!(err.is_forbidden());
    assert_eq!(route_of(&err), "deleteUser");

    // 403 for a caller who is not the owner.
    let err = client
        .delete_user(&member, &org_id, "bystander@example.com")
        .await
        .unwrap_err();
    assert!(expect_api(err, 403, "Only the organization owner can delete users").is_forbidden());

    // 403 when the token's identity or organization differs from the body.
    for (email_owner, org) in [
        (member_email, org_id.as_str()),
        (owner_email.as_str(), "another-org"),
    ] {
        let err = send(Some(owner.token.clone()), email_owner, org, member_email)
            .await
            .unwrap_err();
        assert!(expect_api(err, 403, "Token identity does not match the request").is_forbidden());
    }

    // 404 for a user that does not exist.
    let err = client
        .delete_user(&owner, &org_id, "ghost@example.com")
        .await
        .unwrap_err();
    assert!(expect_api(err, 404, "User not found").is_not_found());

    // 401 without a valid token.
    let err = send(None, &owner_email, &org_id, member_email)
        .await
        .unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
    let forged = Session::new(secret("not-a-jwt"), owner_email.clone());
    let err = client
        .delete_user(&forged, &org_id, member_email)
        .await
        .unwrap_err();
    assert!(expect_api(err, 401, "Invalid or expired session").is_unauthorized());

    // None of the refusals deleted anybody.
    assert!(client.validate(&member).await.expect("validate"));

    // The owner deletes the member: gone from login, session dead.
    let done = client
        .delete_user(&owner, &org_id, member_email)
        .await
        .expect("deleteUser");
    assert!(done.success);
    assert_eq!(done.message, "User deleted successfully");
    let err = client
        .login(member_email, &secret(PASSWORD), ROLE)
        .await
        .unwrap_err();
    assert!(expect_api(err, 404, "User not found").is_not_found());
    assert!(!client.validate(&member).await.expect("validate"));
    // Deleting again is 404; the bystander is untouched.
    let err = client
        .delete_user(&owner, &org_id, member_email)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    login_session(&client, "bystander@example.com", PASSWORD, ROLE).await;

    // A logged-out owner session cannot delete.
    client.logout(&owner).await.expect("logout");
    let err = client
        .delete_user(&owner, &org_id, "bystander@example.com")
        .await
        .unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
}

// ------------------------------------------------------- changePassword

#[tokio::test]
async fn change_password_rules() {
    let (_server, client) = start().await;
    let email = "change@example.com";
    let session = sign_up(&client, email, ROLE).await;

    // 401 for a wrong old password.
    let err = client
        .change_password(&session, &secret("WrongPass1!"), &secret(NEW_PASSWORD))
        .await
        .unwrap_err();
    let err = expect_api(err, 401, "Incorrect password");
    assert!(err.is_unauthorized());
    assert_eq!(route_of(&err), "changePassword");

    // 400 for a weak new password (the client refuses it before sending).
    let err = client
        .change_password(&session, &secret(PASSWORD), &secret(WEAK_PASSWORD))
        .await
        .unwrap_err();
    assert!(err.is_invalid_input(), "{err:?}");
    let req = authflow::api::authflow::ChangePasswordRequest {
        session_token: session.token.clone(),
        email: email.to_owned(),
        old_password: secret(PASSWORD),
        new_password: secret(WEAK_PASSWORD),
    };
    let err = client.transport().send(&req, &opts()).await.unwrap_err();
    assert!(
        expect_api(err, 400, "Password does not meet complexity requirements").is_bad_request()
    );

    // 401 for a dead session.
    let garbage = Session::new(secret("not-a-jwt"), email);
    let err = client
        .change_password(&garbage, &secret(PASSWORD), &secret(NEW_PASSWORD))
        .await
        .unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");

    // The refusals changed nothing.
    login_session(&client, email, PASSWORD, ROLE).await;

    let ok = client
        .change_password(&session, &secret(PASSWORD), &secret(NEW_PASSWORD))
        .await
        .expect("changePassword");
    assert_eq!(ok.status(), 200);
    login_session(&client, email, NEW_PASSWORD, ROLE).await;
    let err = client
        .login(email, &secret(PASSWORD), ROLE)
        .await
        .unwrap_err();
    assert!(expect_api(err, 401, "Incorrect password").is_unauthorized());
}

// ------------------------------------------------------ forgot / reset

#[tokio::test]
async fn forgot_password_is_enumeration_safe() {
    let (server, client) = start().await;
    let email = "known@example.com";
    sign_up(&client, email, ROLE).await;
    let before = server.emails().to(email).len();

    let known = client
        .forgot_password(email, Some(ROLE))
        .await
        .expect("forgot-password");
    let unknown = client
        .forgot_password("unknown@example.com", Some(ROLE))
        .await
        .expect("forgot-password");
    assert_eq!(known.status(), 200);
    assert_eq!(unknown.status(), known.status());
    assert_eq!(*known, *unknown);
    assert!(known.success);
    assert_eq!(known.message, FORGOT_MESSAGE);

    // Only the known account got an email, and it carries a reset link.
    let mails = server.emails().to(email);
    assert_eq!(mails.len(), before + 1);
    let mail = mails.last().expect("reset email");
    assert_eq!(mail.kind, EmailKind::PasswordReset);
    assert!(
        mail.links[0].contains("/reset-password?token="),
        "{:?}",
        mail.links
    );
    assert!(server.emails().to("unknown@example.com").is_empty());

    // The role defaults to `user`: the detective account gets nothing.
    let defaulted = client
        .forgot_password(email, None)
        .await
        .expect("forgot-password");
    assert_eq!(*defaulted, *known);
    assert_eq!(server.emails().to(email).len(), before + 1);
}

#[tokio::test]
async fn reset_password_link_rules() {
    let (server, client) = start().await;
    let email = "reset@example.com";
    let old_session = sign_up(&client, email, ROLE).await;
    client
        .forgot_password(email, Some(ROLE))
        .await
        .expect("forgot-password");
    let token = token_of(&latest_link(&server, email, EmailKind::PasswordReset));

    // A weak password is refused (by the client, and 400 by the API) and
    // does not burn the link.
    let err = client
        .reset_password(&token, &secret(WEAK_PASSWORD))
        .await
        .unwrap_err();
    assert!(err.is_invalid_input(), "{err:?}");
    let weak = ResetPasswordRequest {
        token: token.clone(),
        new_password: secret(WEAK_PASSWORD),
    };
    let err = client.transport().send(&weak, &opts()).await.unwrap_err();
    let err = expect_api(err, 400, "Password does not meet complexity requirements");
    assert!(err.is_bad_request());
    assert_eq!(route_of(&err), "reset-password");

    let done = client
        .reset_password(&token, &secret(NEW_PASSWORD))
        .await
        .expect("reset-password");
    assert!(done.success);

    // Single use.
    let err = client
        .reset_password(&token, &secret("Other123!"))
        .await
        .unwrap_err();
    assert!(expect_api(err, 401, "Invalid or expired token").is_unauthorized());

    // The old password is rejected, sessions issued before are dead.
    assert!(!client.validate(&old_session).await.expect("validate"));
    let err = client
        .login(email, &secret(PASSWORD), ROLE)
        .await
        .unwrap_err();
    assert!(expect_api(err, 401, "Incorrect password").is_unauthorized());
    let session = login_session(&client, email, NEW_PASSWORD, ROLE).await;
    assert!(client.validate(&session).await.expect("validate"));

    // A link expires after an hour.
    client
        .forgot_password(email, Some(ROLE))
        .await
        .expect("forgot-password");
    let token = token_of(&latest_link(&server, email, EmailKind::PasswordReset));
    server.clock().advance(Duration::from_secs(61 * 60));
    let err = client
        .reset_password(&token, &secret("Other123!"))
        .await
        .unwrap_err();
    assert!(expect_api(err, 401, "Invalid or expired token").is_unauthorized());
    login_session(&client, email, NEW_PASSWORD, ROLE).await;

    // A made-up token is 401 too.
    let err = client
        .reset_password(&secret("deadbeef"), &secret("Other123!"))
        .await
        .unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
}

// ------------------------------------------------------ email verification

#[tokio::test]
async fn verify_email_and_resend() {
    let (server, client) = start().await;
    let email = "verify@example.com";
    sign_up(&client, email, ROLE).await;
    let mail = server.emails().latest(email).expect("verification email");
    assert_eq!(mail.kind, EmailKind::Verification);
    let link = latest_link(&server, email, EmailKind::Verification);
    assert!(
        link.starts_with(&format!("{}/auth/verify-email?token=", server.base_url())),
        "{link}"
    );

    // resend: a new email with a new link, while unverified.
    let resent = client
        .resend_verification(email, Some(ROLE))
        .await
        .expect("resend-verify-email");
    assert_eq!(resent.status_code, 200);
    assert_eq!(resent.message, "Verification email sent.");
    let mails: Vec<_> = server
        .emails()
        .to(email)
        .into_iter()
        .filter(|m| m.kind == EmailKind::Verification)
        .collect();
    assert_eq!(mails.len(), 2);
    let new_link = latest_link(&server, email, EmailKind::Verification);
    assert_ne!(new_link, link);

    // verify-email: an HTML page with 200, then 401 for the same link.
    let page = client
        .verify_email(&token_of(&new_link))
        .await
        .expect("verify-email");
    assert_eq!(page.status(), 200);
    assert!(page.0.contains("<html"), "{}", page.0);
    assert!(page.0.contains("verified"), "{}", page.0);
    let err = client.verify_email(&token_of(&new_link)).await.unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
    assert_eq!(route_of(&err), "verify-email");

    // resend for a verified user: 400.
    let err = client
        .resend_verification(email, Some(ROLE))
        .await
        .unwrap_err();
    let err = expect_api(err, 400, "Email already verified");
    assert!(err.is_bad_request());
    assert_eq!(route_of(&err), "resend-verify-email");

    // A link expires after 24 hours.
    let late = "late@example.com";
    sign_up(&client, late, ROLE).await;
    let late_link = latest_link(&server, late, EmailKind::Verification);
    server.clock().advance(Duration::from_secs(25 * 3600));
    let err = client
        .verify_email(&token_of(&late_link))
        .await
        .unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
    // A made-up token is 401 too.
    let err = client.verify_email(&secret("deadbeef")).await.unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
    // A resent link works.
    client
        .resend_verification(late, Some(ROLE))
        .await
        .expect("resend-verify-email");
    let fresh = latest_link(&server, late, EmailKind::Verification);
    let page = client
        .verify_email(&token_of(&fresh))
        .await
        .expect("verify-email");
    assert_eq!(page.status(), 200);
}

// ------------------------------------------------------------ 2FA: TOTP

#[tokio::test]
async fn totp_journey() {
    let (server, client) = start().await;
    let email = "totp@example.com";
    let who = user(&server, email, ROLE);
    let session = sign_up(&client, email, ROLE).await;

    let setup = client
        .enable_totp(&session.token, &who)
        .await
        .expect("2fa/enable")
        .into_inner();
    let b32 = setup.secret.expose_secret();
    assert!(b32.len() >= 16, "{} chars", b32.len());
    assert!(
        b32.bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b) || b == b'='),
        "secret is not base32"
    );
    let qr = setup.qr_code.expose_secret();
    let png_b64 = qr
        .strip_prefix("data:image/png;base64,")
        .expect("qrCode is a PNG data URL");
    let png = base64::engine::general_purpose::STANDARD
        .decode(png_b64)
        .expect("qrCode decodes");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let url = setup.otpauth_url.expose_secret();
    assert!(url.starts_with("otpauth://totp/"), "{}", url.len());
    assert!(url.contains(&format!("secret={b32}")));

    // 2FA is not on until verify-setup: login still gives a session.
    login_session(&client, email, PASSWORD, ROLE).await;

    let code = totp_now(&server, &setup.secret);
    let codes = client
        .verify_totp_setup(&session.token, &who, &code, &setup.secret)
        .await
        .expect("2fa/verify-setup")
        .into_inner();
    assert_eq!(codes.len(), 10);
    let distinct: HashSet<_> = codes.iter().map(|c| c.expose_secret().to_owned()).collect();
    assert_eq!(distinct.len(), 10);
    for c in &codes {
        assert_eq!(c.expose_secret().len(), 8);
        assert!(c.expose_secret().bytes().all(|b| b.is_ascii_alphanumeric()));
    }
    let totp_secret = setup.secret;

    // login → challenge → TOTP → session.
    server.clock().advance(Duration::from_secs(30));
    let ch = login_challenge(&client, email, ROLE).await;
    assert_eq!(ch.user(), &who);
    assert_eq!(ch.temp_token().expose_secret().len(), 64);
    let code = totp_now(&server, &totp_secret);
    let s = ch
        .verify_totp(&code)
        .await
        .expect("verify-2fa")
        .into_inner();
    assert!(client.validate(&s).await.expect("validate"));
    assert_eq!(client.me(&s.token).await.expect("me").email, email);

    // The temp token is single use.
    let err = ch.verify_totp(&code).await.unwrap_err();
    let err = expect_api(err, 401, "Invalid or expired token");
    assert_eq!(route_of(&err), "2fa/verify-2fa");

    // A TOTP code is single use within its step, on a new temp token too.
    let ch = login_challenge(&client, email, ROLE).await;
    let err = ch.verify_totp(&code).await.unwrap_err();
    assert!(expect_api(err, 401, "TOTP code already used").is_unauthorized());
    // ... while the next step's code works on that temp token.
    server.clock().advance(Duration::from_secs(30));
    ch.verify_totp(&totp_now(&server, &totp_secret))
        .await
        .expect("verify-2fa with the next step's code");

    // Four wrong codes leave the temp token usable ...
    server.clock().advance(Duration::from_secs(30));
    let ch = login_challenge(&client, email, ROLE).await;
    let wrong = wrong_totp(&server, &totp_secret);
    for _ in 0..4 {
        let err = ch.verify_totp(&wrong).await.unwrap_err();
        assert!(expect_api(err, 401, "Invalid TOTP code").is_unauthorized());
    }
    ch.verify_totp(&totp_now(&server, &totp_secret))
        .await
        .expect("the fifth try with the right code works");

    // ... the fifth wrong code kills it.
    server.clock().advance(Duration::from_secs(30));
    let ch = login_challenge(&client, email, ROLE).await;
    for _ in 0..5 {
        let err = ch.verify_totp(&wrong).await.unwrap_err();
        expect_api(err, 401, "Invalid TOTP code");
    }
    let good = totp_now(&server, &totp_secret);
    let err = ch.verify_totp(&good).await.unwrap_err();
    assert!(expect_api(err, 401, "Invalid or expired token").is_unauthorized());
    // The code itself was fine: a new challenge accepts it.
    let ch = login_challenge(&client, email, ROLE).await;
    ch.verify_totp(&good).await.expect("verify-2fa");

    // The temp token expires after 5 minutes.
    let ch = login_challenge(&client, email, ROLE).await;
    server.clock().advance(Duration::from_secs(301));
    let good = totp_now(&server, &totp_secret);
    let err = ch.verify_totp(&good).await.unwrap_err();
    assert!(expect_api(err, 401, "Invalid or expired token").is_unauthorized());
    let ch = login_challenge(&client, email, ROLE).await;
    ch.verify_totp(&good).await.expect("verify-2fa");

    // A temp token is bound to its user.
    sign_up(&client, "other2fa@example.com", ROLE).await;
    server.clock().advance(Duration::from_secs(30));
    let ch = login_challenge(&client, email, ROLE).await;
    let req = TwoFactorVerifyRequest {
        temp_token: ch.temp_token().clone(),
        user: user(&server, "other2fa@example.com", ROLE),
        totp_code: totp_now(&server, &totp_secret),
    };
    let err = client.transport().send(&req, &opts()).await.unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
}

// ------------------------------------------------- 2FA: backup email OTP

#[tokio::test]
async fn backup_email_otp_journey() {
    let (server, client) = start().await;
    let email = "otp@example.com";
    let who = user(&server, email, ROLE);
    let session = sign_up(&client, email, ROLE).await;
    enable_2fa(&server, &client, &session, &who).await;

    let fetch_otp = |server: &MockServer| -> SecretString {
        let mail = server.emails().latest(email).expect("OTP email");
        assert_eq!(mail.kind, EmailKind::TwoFactorOtp);
        assert_eq!(mail.codes.len(), 1, "{:?}", mail.codes);
        let code = &mail.codes[0];
        assert_eq!(code.len(), 6);
        assert!(code.bytes().all(|b| b.is_ascii_digit()));
        assert!(mail.text.contains(code.as_str()));
        secret(code)
    };
    let wrong_otp = |otp: &SecretString| {
        secret(if otp.expose_secret() == "000000" {
            "111111"
        } else {
            "000000"
        })
    };

    // send → email → verify → session.
    let ch = login_challenge(&client, email, ROLE).await;
    let sent = ch.send_backup_email().await.expect("backup/email");
    assert!(sent.success);
    assert_eq!(sent.message, "OTP sent to your email");
    let otp = fetch_otp(&server);
    let s = ch
        .verify_email_otp(&otp)
        .await
        .expect("verify-email-otp")
        .into_inner();
    assert!(client.validate(&s).await.expect("validate"));

    // The same OTP again is rejected.
    let err = ch.verify_email_otp(&otp).await.unwrap_err();
    let err = expect_api(err, 401, "Invalid or expired code");
    assert!(err.is_unauthorized());
    assert_eq!(route_of(&err), "2fa/verify-email-otp");
    // And the temp token was spent by the login.
    let err = ch.send_backup_email().await.unwrap_err();
    assert!(expect_api(err, 401, "Invalid or expired token").is_unauthorized());

    // An OTP expires after 10 minutes.
    let ch = login_challenge(&client, email, ROLE).await;
    ch.send_backup_email().await.expect("backup/email");
    let otp = fetch_otp(&server);
    server.clock().advance(Duration::from_secs(601));
    let err = ch.verify_email_otp(&otp).await.unwrap_err();
    assert!(expect_api(err, 401, "Invalid or expired code").is_unauthorized());

    // Four wrong attempts leave the OTP usable ...
    let ch = login_challenge(&client, email, ROLE).await;
    ch.send_backup_email().await.expect("backup/email");
    let otp = fetch_otp(&server);
    for _ in 0..4 {
        let err = ch.verify_email_otp(&wrong_otp(&otp)).await.unwrap_err();
        expect_api(err, 401, "Invalid or expired code");
    }
    ch.verify_email_otp(&otp)
        .await
        .expect("the right OTP after four misses");

    // ... five invalidate it.
    let ch = login_challenge(&client, email, ROLE).await;
    ch.send_backup_email().await.expect("backup/email");
    let otp = fetch_otp(&server);
    for _ in 0..5 {
        let err = ch.verify_email_otp(&wrong_otp(&otp)).await.unwrap_err();
        expect_api(err, 401, "Invalid or expired code");
    }
    let err = ch.verify_email_otp(&otp).await.unwrap_err();
    assert!(expect_api(err, 401, "Invalid or expired code").is_unauthorized());
    // A new OTP on the still-live temp token works.
    ch.send_backup_email().await.expect("backup/email");
    let otp = fetch_otp(&server);
    ch.verify_email_otp(&otp).await.expect("verify-email-otp");
}

// ---------------------------------------------------- 2FA: recovery codes

#[tokio::test]
async fn recovery_codes_journey() {
    let (server, client) = start().await;
    let email = "recover@example.com";
    let who = user(&server, email, ROLE);
    let session = sign_up(&client, email, ROLE).await;
    let (_, codes) = enable_2fa(&server, &client, &session, &who).await;

    let ch = login_challenge(&client, email, ROLE).await;
    let rec = ch
        .verify_recovery_code(&codes[0])
        .await
        .expect("verify-recovery")
        .into_inner();
    assert_eq!(rec.remaining_codes, 9);
    assert!(client.validate(&rec.session).await.expect("validate"));

    let ch = login_challenge(&client, email, ROLE).await;
    let rec = ch
        .verify_recovery_code(&codes[1])
        .await
        .expect("verify-recovery")
        .into_inner();
    assert_eq!(rec.remaining_codes, 8);
    let session = rec.session;

    // A used code is rejected.
    let ch = login_challenge(&client, email, ROLE).await;
    let err = ch.verify_recovery_code(&codes[0]).await.unwrap_err();
    let err = expect_api(err, 401, "Invalid recovery code");
    assert!(err.is_unauthorized());
    assert_eq!(route_of(&err), "2fa/verify-recovery");

    // Regenerating needs the right password.
    let err = client
        .regenerate_recovery_codes(&session.token, &who, &secret("WrongPass1!"))
        .await
        .unwrap_err();
    let err = expect_api(err, 401, "Incorrect password");
    assert_eq!(route_of(&err), "2fa/recovery-codes");
    // The refusal left the old codes in place.
    let ch = login_challenge(&client, email, ROLE).await;
    let rec = ch
        .verify_recovery_code(&codes[2])
        .await
        .expect("verify-recovery")
        .into_inner();
    assert_eq!(rec.remaining_codes, 7);

    let fresh = client
        .regenerate_recovery_codes(&session.token, &who, &secret(PASSWORD))
        .await
        .expect("recovery-codes")
        .into_inner();
    assert_eq!(fresh.len(), 10);
    let old: HashSet<_> = codes.iter().map(|c| c.expose_secret().to_owned()).collect();
    assert!(
        fresh
            .iter()
            .all(|c| c.expose_secret().len() == 8 && !old.contains(c.expose_secret()))
    );

    // The old codes are gone, the new ones work.
    let ch = login_challenge(&client, email, ROLE).await;
    let err = ch.verify_recovery_code(&codes[3]).await.unwrap_err();
    assert!(expect_api(err, 401, "Invalid recovery code").is_unauthorized());
    let rec = ch
        .verify_recovery_code(&fresh[0])
        .await
        .expect("verify-recovery")
        .into_inner();
    assert_eq!(rec.remaining_codes, 9);

    // Disabling needs the password; then login gives a session directly.
    let err = client
        .disable_totp(&session.token, &who, &secret("WrongPass1!"))
        .await
        .unwrap_err();
    let err = expect_api(err, 401, "Incorrect password");
    assert_eq!(route_of(&err), "2fa/disable");
    let still_on = login_challenge(&client, email, ROLE).await;
    assert_eq!(still_on.user(), &who, "2FA is still on after the refusal");
    let off = client
        .disable_totp(&session.token, &who, &secret(PASSWORD))
        .await
        .expect("2fa/disable");
    assert!(off.success);
    let s = login_session(&client, email, PASSWORD, ROLE).await;
    assert!(client.validate(&s).await.expect("validate"));
    // Recovery codes died with 2FA.
    let err = client
        .verify_recovery_code(&who, &fresh[1])
        .await
        .unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
}

// ------------------------------------------------------------------ JWKS

/// Tokens verify against `/.well-known/jwks.json` with a `jsonwebtoken`
/// configuration of the test's own (not the mock's verifier).
#[tokio::test]
async fn tokens_verify_against_the_published_jwks() {
    let (server, client) = start().await;
    let email = "jwt@example.com";

    let jwks: Value = reqwest::get(format!("{}/.well-known/jwks.json", server.base_url()))
        .await
        .expect("GET jwks")
        .error_for_status()
        .expect("jwks 200")
        .json()
        .await
        .expect("jwks is JSON");
    let keys = jwks["keys"].as_array().expect("keys array");
    assert_eq!(keys.len(), 1);
    let jwk = &keys[0];
    assert_eq!(jwk["kty"], "RSA");
    assert_eq!(jwk["alg"], "RS512");
    let kid = jwk["kid"].as_str().expect("kid");
    let key = DecodingKey::from_rsa_components(
        jwk["n"].as_str().expect("n"),
        jwk["e"].as_str().expect("e"),
    )
    .expect("RSA components");
    let validation = Validation::new(Algorithm::RS512);

    // Session tokens from signUp and login.
    let signed_up = sign_up(&client, email, ROLE).await;
    let logged_in = login_session(&client, email, PASSWORD, ROLE).await;
    let mut jtis = HashSet::new();
    for session in [&signed_up, &logged_in] {
        let data = jsonwebtoken::decode::<Value>(session.token.expose_secret(), &key, &validation)
            .expect("session token verifies against the JWKS");
        assert_eq!(data.header.alg, Algorithm::RS512);
        assert_eq!(data.header.kid.as_deref(), Some(kid));
        let c = &data.claims;
        assert_eq!(c["email"], email);
        assert_eq!(c["org_id"], server.org_id().as_str());
        assert_eq!(c["role"], ROLE);
        let iat = c["iat"].as_i64().expect("iat");
        let exp = c["exp"].as_i64().expect("exp");
        assert_eq!(exp - iat, 43_200);
        assert!((iat - server.clock().now_secs()).abs() <= 5, "iat is now");
        let jti = c["jti"].as_str().expect("jti");
        assert!(!jti.is_empty());
        assert!(jtis.insert(jti.to_owned()), "jti is unique");
    }

    // A fooBar token.
    let fb = client
        .foobar(email, Some(ROLE))
        .await
        .expect("fooBar")
        .into_inner();
    let data = jsonwebtoken::decode::<Value>(fb.expose_secret(), &key, &validation)
        .expect("fooBar token verifies against the JWKS");
    assert_eq!(data.header.kid.as_deref(), Some(kid));
    let c = &data.claims;
    assert_eq!(c["identity"], email);
    assert_eq!(c["org_id"], server.org_id().as_str());
    assert_eq!(c["role"], ROLE);
    assert_eq!(
        c["exp"].as_i64().expect("exp") - c["iat"].as_i64().expect("iat"),
        45
    );

    // The fooBar role defaults to `user`.
    let fb = client
        .foobar(email, None)
        .await
        .expect("fooBar")
        .into_inner();
    let data =
        jsonwebtoken::decode::<Value>(fb.expose_secret(), &key, &validation).expect("verifies");
    assert_eq!(data.claims["role"], "user");

    // A tampered token does not verify.
    let token = signed_up.token.expose_secret();
    let mut parts: Vec<&str> = token.split('.').collect();
    let forged_claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(br#"{"email":"evil@example.com","org_id":"x","role":"owner","iat":1,"exp":9999999999,"jti":"j"}"#);
    parts[1] = &forged_claims;
    assert!(jsonwebtoken::decode::<Value>(parts.join("."), &key, &validation).is_err());
}
