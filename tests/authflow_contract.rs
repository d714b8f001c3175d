//! Contract tests for the AuthFlow `/auth` API.
//!
//! One test per documented route (20 in all) asserts the exact request the
//! SDK puts on the wire (method, path, every query parameter or every JSON
//! body field, the `Authorization` header where the route takes one, and the
//! organization `api_key` only where the API document places it), serves the
//! document's literal example response and checks the decoded values.
//!
//! Further tests cover `validate`'s status mapping, the error mapping table,
//! request ids, input validation before any request, and proxy mode.

use std::time::Duration;

use authflow::api::authflow::{Profile, UserRef};
use authflow::{AuthFlowClient, Error, ErrorCode, LoginOutcome, RequestOptions, RetryPolicy};
use authflow_tests::{API_KEY, client, secret};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use wiremock::matchers::{any, body_json, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

// ------------------------------------------------------------- seed values

/// The fooBar token of the seed's `/auth/fooBar` example response.
const FOOBAR_TOKEN: &str = "eyJhbGciOiJSUzUxMiIsInR5cCI6IkpXVCJ9.eyJpZGVudGl0eSI6InVzZXJAZXhhbXBsZS5jb20iLCJvcmdfaWQiOiJvcmctdXVpZCIsInJvbGUiOiJkZXRlY3RpdmUiLCJpYXQiOjE3NzUzNDQ4MDAsImV4cCI6MTc3NTM0NDg0NX0.Rm9vQmFyU2lnbmF0dXJlRXhhbXBsZVN0cmluZ0ZvckF1dGhGbG93";
/// The session token of the seed's signUp/login/2FA example responses.
const SESSION_TOKEN: &str = "eyJhbGciOiJSUzUxMiIsInR5cCI6IkpXVCJ9.eyJlbWFpbCI6InVzZXJAZXhhbXBsZS5jb20iLCJvcmdfaWQiOiJvcmctdXVpZCIsInJvbGUiOiJkZXRlY3RpdmUiLCJpYXQiOjE3NzUzNDQ4MDAsImV4cCI6MTc3NTM4ODAwMH0.U2Vzc2lvblRva2VuU2lnbmF0dXJlRXhhbXBsZVN0cmluZ0ZvckF1dGhGbG93";
/// The temp token of the seed's `requires2FA` login example.
const TEMP_TOKEN: &str = "d2e6c30aa5f74af4a81f98e8830a6e49e9bb2f31e1a7406a8d2f2eb3ef3028a1";

const EMAIL: &str = "user@example.com";
const ROLE: &str = "detective";
const ORG_ID: &str = "org-uuid";
const FULLNAME: &str = "John Smith";
const PASSWORD: &str = "TestPass123!";
const NEW_PASSWORD: &str = "NewPass123!";

// Literal example response bodies from the API document.

const FOOBAR_BODY: &str = r#"{
  "token": "eyJhbGciOiJSUzUxMiIsInR5cCI6IkpXVCJ9.eyJpZGVudGl0eSI6InVzZXJAZXhhbXBsZS5jb20iLCJvcmdfaWQiOiJvcmctdXVpZCIsInJvbGUiOiJkZXRlY3RpdmUiLCJpYXQiOjE3NzUzNDQ4MDAsImV4cCI6MTc3NTM0NDg0NX0.Rm9vQmFyU2lnbmF0dXJlRXhhbXBsZVN0cmluZ0ZvckF1dGhGbG93"
}"#;
const SESSION_TOKEN_BODY: &str = r#"{
  "token": "eyJhbGciOiJSUzUxMiIsInR5cCI6IkpXVCJ9.eyJlbWFpbCI6InVzZXJAZXhhbXBsZS5jb20iLCJvcmdfaWQiOiJvcmctdXVpZCIsInJvbGUiOiJkZXRlY3RpdmUiLCJpYXQiOjE3NzUzNDQ4MDAsImV4cCI6MTc3NTM4ODAwMH0.U2Vzc2lvblRva2VuU2lnbmF0dXJlRXhhbXBsZVN0cmluZ0ZvckF1dGhGbG93"
}"#;
const LOGIN_2FA_BODY: &str = r#"{
  "requires2FA": true,
  "tempToken": "d2e6c30aa5f74af4a81f98e8830a6e49e9bb2f31e1a7406a8d2f2eb3ef3028a1",
  "email": "user@example.com",
  "org_id": "org-uuid",
  "role": "detective"
}"#;
const ME_BODY: &str = r#"{
  "email": "user@example.com",
  "fullname": "John Smith",
  "role": "detective",
  "org_id": "org-uuid"
}"#;
const SUCCESS_BODY: &str = r#"{
  "success": true
}"#;
const DELETE_USER_BODY: &str = r#"{
  "success": true,
  "message": "User deleted successfully"
}"#;
const FORGOT_PASSWORD_BODY: &str = r#"{
  "success": true,
  "message": "If an account exists for this email, a reset link has been sent."
}"#;
const RESEND_VERIFY_BODY: &str = r#"{
  "statusCode": 200,
  "message": "Verification email sent."
}"#;
const ENABLE_BODY: &str = r#"{
  "secret": "BASE32SECRET",
  "qrCode": "data:image/png;base64,...",
  "otpauth_url": "otpauth://totp/..."
}"#;
const VERIFY_SETUP_BODY: &str = r#"{
  "success": true,
  "recoveryCodes": ["AB12CD34", "..."]
}"#;
const BACKUP_EMAIL_BODY: &str = r#"{
  "success": true,
  "message": "OTP sent to your email"
}"#;
const RECOVERY_CODES_BODY: &str = r#"{
  "recoveryCodes": ["AB12CD34", "..."]
}"#;
const VERIFY_RECOVERY_BODY: &str = r#"{
  "token": "eyJhbGciOiJSUzUxMiIsInR5cCI6IkpXVCJ9.eyJlbWFpbCI6InVzZXJAZXhhbXBsZS5jb20iLCJvcmdfaWQiOiJvcmctdXVpZCIsInJvbGUiOiJkZXRlY3RpdmUiLCJpYXQiOjE3NzUzNDQ4MDAsImV4cCI6MTc3NTM4ODAwMH0.U2Vzc2lvblRva2VuU2lnbmF0dXJlRXhhbXBsZVN0cmluZ0ZvckF1dGhGbG93",
  "remainingCodes": 9
}"#;

// ------------------------------------------------------------------ helpers

/// A JSON response with a literal body.
fn json_response(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.to_owned(), "application/json")
}

/// The decoded query pairs of a request, sorted.
fn query_pairs(req: &Request) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = req
        .url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.sort();
    pairs
}

/// Matches when the query holds exactly these pairs: none missing, none extra,
/// no duplicates.
fn exact_query(expected: &[(&str, &str)]) -> impl Fn(&Request) -> bool + Send + Sync + 'static {
    let mut want: Vec<(String, String)> = expected
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    want.sort();
    move |req: &Request| query_pairs(req) == want
}

/// Whether the request carries an `api_key` in its query or its JSON body.
fn has_api_key(req: &Request) -> bool {
    let in_query = req.url.query_pairs().any(|(k, _)| k == "api_key");
    let in_body = serde_json::from_slice::<Value>(&req.body)
        .ok()
        .is_some_and(|v| v.get("api_key").is_some());
    in_query || in_body
}

/// Matches requests that carry no `api_key` anywhere.
fn no_api_key(req: &Request) -> bool {
    !has_api_key(req)
}

/// Matches requests with an empty body (GET routes put everything in the query).
fn empty_body(req: &Request) -> bool {
    req.body.is_empty()
}

/// Mount the `GET /auth/fooBar` call that signUp, login and
/// resend-verify-email make first: identity, api_key and role, nothing else.
async fn mount_foobar(server: &MockServer, role: &str) {
    Mock::given(method("GET"))
        .and(path("/auth/fooBar"))
        .and(exact_query(&[
            ("identity", EMAIL),
            ("api_key", API_KEY),
            ("role", role),
        ]))
        .and(empty_body)
        .respond_with(json_response(200, FOOBAR_BODY))
        .expect(1)
        .named("fooBar")
        .mount(server)
        .await;
}

/// Mount a JSON POST route that takes no api_key: exact body, JSON content type.
async fn mount_post(server: &MockServer, route_path: &str, body: Value, response: &str) {
    Mock::given(method("POST"))
        .and(path(route_path))
        .and(header("content-type", "application/json"))
        .and(body_json(body))
        .and(no_api_key)
        .and(exact_query(&[]))
        .respond_with(json_response(200, response))
        .expect(1)
        .named(route_path)
        .mount(server)
        .await;
}

/// Mount a GET route that takes no api_key: exact query.
async fn mount_get(
    server: &MockServer,
    route_path: &str,
    query: &[(&str, &str)],
    response: ResponseTemplate,
) {
    Mock::given(method("GET"))
        .and(path(route_path))
        .and(exact_query(query))
        .and(no_api_key)
        .and(empty_body)
        .respond_with(response)
        .expect(1)
        .named(route_path)
        .mount(server)
        .await;
}

/// The paths of the requests the server received, in order.
async fn received_paths(server: &MockServer) -> Vec<String> {
    server
        .received_requests()
        .await
        .expect("request recording is on")
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect()
}

fn user() -> UserRef {
    UserRef {
        email: EMAIL.to_owned(),
        org_id: ORG_ID.to_owned(),
        role: ROLE.to_owned(),
    }
}

/// A client that never retries.
fn no_retry(client: &AuthFlowClient) -> AuthFlowClient {
    client.with_options(RequestOptions::new().retry(RetryPolicy::none()))
}

// ------------------------------------------------------------ session routes

#[tokio::test]
async fn foobar_sends_identity_api_key_and_role_in_the_query() {
    let server = MockServer::start().await;
    mount_foobar(&server, ROLE).await;
    // role is optional: without it, it is left out rather than sent empty.
    Mock::given(method("GET"))
        .and(path("/auth/fooBar"))
        .and(exact_query(&[("identity", EMAIL), ("api_key", API_KEY)]))
        .respond_with(json_response(200, FOOBAR_BODY))
        .expect(1)
        .mount(&server)
        .await;
    let (client, sleep) = client(&server.uri());

    let token = client.foobar(EMAIL, Some(ROLE)).await.expect("fooBar");
    assert_eq!(token.status(), 200);
    assert_eq!(token.expose_secret(), FOOBAR_TOKEN);

    let token = client
        .foobar(EMAIL, None)
        .await
        .expect("fooBar without role");
    assert_eq!(token.expose_secret(), FOOBAR_TOKEN);
    assert!(sleep.delays().is_empty(), "no retries on success");
}

#[tokio::test]
async fn sign_up_fetches_foobar_then_sends_every_documented_query_parameter() {
    let server = MockServer::start().await;
    mount_foobar(&server, ROLE).await;
    Mock::given(method("GET"))
        .and(path("/auth/signUp"))
        .and(exact_query(&[
            ("foobar", FOOBAR_TOKEN),
            ("email", EMAIL),
            ("password", PASSWORD),
            ("fullname", FULLNAME),
            ("role", ROLE),
            ("api_key", API_KEY),
            ("disclaimed", "true"),
        ]))
        .and(empty_body)
        .respond_with(json_response(200, SESSION_TOKEN_BODY))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client(&server.uri());

    let session = client
        .sign_up(EMAIL, &secret(PASSWORD), FULLNAME, ROLE)
        .await
        .expect("signUp");
    assert_eq!(session.status(), 200);
    assert_eq!(session.token.expose_secret(), SESSION_TOKEN);
    assert_eq!(session.email, EMAIL);
    assert_eq!(
        received_paths(&server).await,
        vec!["/auth/fooBar", "/auth/signUp"],
        "a fresh fooBar token is fetched right before signUp"
    );
}

#[tokio::test]
async fn login_sends_foobar_credentials_and_key_and_returns_a_session() {
    let server = MockServer::start().await;
    mount_foobar(&server, ROLE).await;
    Mock::given(method("GET"))
        .and(path("/auth/login"))
        .and(exact_query(&[
            ("foobar", FOOBAR_TOKEN),
            ("email", EMAIL),
            ("password", PASSWORD),
            ("api_key", API_KEY),
            ("role", ROLE),
        ]))
        .and(empty_body)
        .respond_with(json_response(200, SESSION_TOKEN_BODY))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client(&server.uri());

    match client
        .login(EMAIL, &secret(PASSWORD), ROLE)
        .await
        .expect("login")
    {
        LoginOutcome::Session(session) => {
            assert_eq!(session.token.expose_secret(), SESSION_TOKEN);
            assert_eq!(session.email, EMAIL);
            assert_eq!(session.status(), 200);
        }
        other => panic!("expected a session, got {other:?}"),
    }
    assert_eq!(
        received_paths(&server).await,
        vec!["/auth/fooBar", "/auth/login"]
    );
}

#[tokio::test]
async fn validate_sends_session_token_and_email_and_maps_200_401_500() {
    let session = authflow::Session::new(secret(SESSION_TOKEN), EMAIL);
    let query = [("sessionToken", SESSION_TOKEN), ("email", EMAIL)];

    // 200 → valid.
    let server = MockServer::start().await;
    mount_get(
        &server,
        "/auth/validate",
        &query,
        ResponseTemplate::new(200),
    )
    .await;
    let (c, _) = client(&server.uri());
    assert!(c.validate(&session).await.expect("validate 200"));
    drop(server);

    // 401 → invalid or expired, not an error.
    let server = MockServer::start().await;
    mount_get(
        &server,
        "/auth/validate",
        &query,
        json_response(401, r#"{"message":"Invalid or expired token"}"#),
    )
    .await;
    let (c, sleep) = client(&server.uri());
    assert!(!c.validate(&session).await.expect("validate 401"));
    assert!(sleep.delays().is_empty(), "a 401 is not retried");
    drop(server);

    // 500 → an error; with retries off, exactly one attempt.
    let server = MockServer::start().await;
    mount_get(
        &server,
        "/auth/validate",
        &query,
        json_response(500, r#"{"message":"Internal server error"}"#),
    )
    .await;
    let (c, sleep) = client(&server.uri());
    let err = no_retry(&c)
        .validate(&session)
        .await
        .expect_err("validate 500 is an error");
    assert!(err.is_server_error(), "{err:?}");
    assert_eq!(err.status(), Some(500));
    assert!(sleep.delays().is_empty());
    drop(server);

    // 500 with the default policy: validate is a read, so it is retried, but
    // boundedly (2 retries, exact backoff with jitter off).
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/auth/validate"))
        .and(exact_query(&query))
        .respond_with(json_response(500, r#"{"message":"Internal server error"}"#))
        .expect(3)
        .mount(&server)
        .await;
    let (c, sleep) = client(&server.uri());
    let err = c.validate(&session).await.expect_err("still failing");
    assert!(err.is_server_error(), "{err:?}");
    assert_eq!(
        sleep.delays(),
        vec![Duration::from_millis(500), Duration::from_millis(1000)]
    );
}

#[tokio::test]
async fn me_sends_only_the_session_token_and_decodes_the_profile() {
    let server = MockServer::start().await;
    mount_get(
        &server,
        "/auth/me",
        &[("sessionToken", SESSION_TOKEN)],
        json_response(200, ME_BODY),
    )
    .await;
    let (client, _) = client(&server.uri());

    let me = client.me(&secret(SESSION_TOKEN)).await.expect("me");
    assert_eq!(
        me.into_inner(),
        Profile {
            email: EMAIL.to_owned(),
            fullname: FULLNAME.to_owned(),
            role: ROLE.to_owned(),
            org_id: ORG_ID.to_owned(),
        }
    );
}

#[tokio::test]
async fn logout_sends_session_token_and_email() {
    let server = MockServer::start().await;
    mount_get(
        &server,
        "/auth/logout",
        &[("sessionToken", SESSION_TOKEN), ("email", EMAIL)],
        json_response(200, SUCCESS_BODY),
    )
    .await;
    let (client, _) = client(&server.uri());

    let out = client
        .logout(&authflow::Session::new(secret(SESSION_TOKEN), EMAIL))
        .await
        .expect("logout");
    assert!(out.success);
}

#[tokio::test]
async fn delete_user_posts_the_body_with_the_owner_session_as_bearer() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/auth/deleteUser"))
        .and(header(
            "authorization",
            format!("Bearer {SESSION_TOKEN}").as_str(),
        ))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "email_owner": "owner@example.com",
            "org_id": ORG_ID,
            "user_email": "member@example.com",
        })))
        .and(no_api_key)
        .and(exact_query(&[]))
        .respond_with(json_response(200, DELETE_USER_BODY))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client(&server.uri());

    let owner = authflow::Session::new(secret(SESSION_TOKEN), "owner@example.com");
    let out = client
        .delete_user(&owner, ORG_ID, "member@example.com")
        .await
        .expect("deleteUser");
    assert!(out.success);
    assert_eq!(out.message, "User deleted successfully");

    // The session token travels only as the bearer credential.
    let reqs = server.received_requests().await.expect("recording");
    let body: Value = reqs[0].body_json().expect("JSON body");
    assert!(body.get("sessionToken").is_none(), "{body}");
    assert_eq!(reqs[0].headers.get_all("authorization").iter().count(), 1);
}

// ------------------------------------------------------ password management

#[tokio::test]
async fn forgot_password_posts_email_api_key_and_role_in_the_body() {
    let server = MockServer::start().await;
    for body in [
        json!({"email": EMAIL, "api_key": API_KEY, "role": ROLE}),
        // role is optional and left out when not given.
        json!({"email": EMAIL, "api_key": API_KEY}),
    ] {
        Mock::given(method("POST"))
            .and(path("/auth/forgot-password"))
            .and(header("content-type", "application/json"))
            .and(body_json(body))
            .and(exact_query(&[]))
            .respond_with(json_response(200, FORGOT_PASSWORD_BODY))
            .expect(1)
            .mount(&server)
            .await;
    }
    let (client, _) = client(&server.uri());

    let out = client
        .forgot_password(EMAIL, Some(ROLE))
        .await
        .expect("forgot-password");
    assert!(out.success);
    assert_eq!(
        out.message,
        "If an account exists for this email, a reset link has been sent."
    );
    client
        .forgot_password(EMAIL, None)
        .await
        .expect("forgot-password without role");
}

#[tokio::test]
async fn reset_password_posts_token_and_new_password() {
    let server = MockServer::start().await;
    mount_post(
        &server,
        "/auth/reset-password",
        json!({"token": "reset-token-123", "newPassword": NEW_PASSWORD}),
        SUCCESS_BODY,
    )
    .await;
    let (client, _) = client(&server.uri());

    let out = client
        .reset_password(&secret("reset-token-123"), &secret(NEW_PASSWORD))
        .await
        .expect("reset-password");
    assert!(out.success);
}

#[tokio::test]
async fn change_password_sends_all_four_query_parameters() {
    let server = MockServer::start().await;
    mount_get(
        &server,
        "/auth/changePassword",
        &[
            ("sessionToken", SESSION_TOKEN),
            ("email", EMAIL),
            ("oldPassword", PASSWORD),
            ("newPassword", NEW_PASSWORD),
        ],
        ResponseTemplate::new(200),
    )
    .await;
    let (client, _) = client(&server.uri());

    let out = client
        .change_password(
            &authflow::Session::new(secret(SESSION_TOKEN), EMAIL),
            &secret(PASSWORD),
            &secret(NEW_PASSWORD),
        )
        .await
        .expect("changePassword");
    assert_eq!(out.status(), 200);
}

// ------------------------------------------------------- email verification

#[tokio::test]
async fn verify_email_sends_the_token_and_returns_the_html_page() {
    let page = "<html><body>Email verified</body></html>";
    let server = MockServer::start().await;
    mount_get(
        &server,
        "/auth/verify-email",
        &[("token", "verify-token-1")],
        ResponseTemplate::new(200).set_body_raw(page, "text/html"),
    )
    .await;
    mount_get(
        &server,
        "/auth/verify-email",
        &[("token", "expired-token")],
        ResponseTemplate::new(401).set_body_raw("<html>expired</html>", "text/html"),
    )
    .await;
    let (client, _) = client(&server.uri());

    let out = client
        .verify_email(&secret("verify-token-1"))
        .await
        .expect("verify-email");
    assert_eq!(out.status(), 200);
    assert_eq!(out.0, page);

    let err = client
        .verify_email(&secret("expired-token"))
        .await
        .expect_err("401 for an expired token");
    assert!(err.is_unauthorized(), "{err:?}");
}

#[tokio::test]
async fn resend_verify_email_fetches_foobar_then_sends_foobar_email_key_and_role() {
    let server = MockServer::start().await;
    mount_foobar(&server, ROLE).await;
    Mock::given(method("GET"))
        .and(path("/auth/resend-verify-email"))
        .and(exact_query(&[
            ("foobar", FOOBAR_TOKEN),
            ("email", EMAIL),
            ("api_key", API_KEY),
            ("role", ROLE),
        ]))
        .and(empty_body)
        .respond_with(json_response(200, RESEND_VERIFY_BODY))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client(&server.uri());

    let out = client
        .resend_verification(EMAIL, Some(ROLE))
        .await
        .expect("resend-verify-email");
    assert_eq!(out.status_code, 200);
    assert_eq!(out.message, "Verification email sent.");
    assert_eq!(
        received_paths(&server).await,
        vec!["/auth/fooBar", "/auth/resend-verify-email"]
    );
}

// --------------------------------------------------------------- two-factor

#[tokio::test]
async fn two_factor_enable_posts_session_and_user() {
    let server = MockServer::start().await;
    mount_post(
        &server,
        "/auth/2fa/enable",
        json!({"sessionToken": SESSION_TOKEN, "email": EMAIL, "org_id": ORG_ID, "role": ROLE}),
        ENABLE_BODY,
    )
    .await;
    let (client, _) = client(&server.uri());

    let setup = client
        .enable_totp(&secret(SESSION_TOKEN), &user())
        .await
        .expect("2fa/enable");
    assert_eq!(setup.secret.expose_secret(), "BASE32SECRET");
    assert_eq!(setup.qr_code.expose_secret(), "data:image/png;base64,...");
    assert_eq!(setup.otpauth_url.expose_secret(), "otpauth://totp/...");
}

#[tokio::test]
async fn two_factor_verify_setup_posts_code_and_secret() {
    let server = MockServer::start().await;
    mount_post(
        &server,
        "/auth/2fa/verify-setup",
        json!({
            "sessionToken": SESSION_TOKEN,
            "email": EMAIL,
            "org_id": ORG_ID,
            "role": ROLE,
            "totpCode": "123456",
            "secret": "BASE32SECRET",
        }),
        VERIFY_SETUP_BODY,
    )
    .await;
    let (client, _) = client(&server.uri());

    let codes = client
        .verify_totp_setup(
            &secret(SESSION_TOKEN),
            &user(),
            &secret("123456"),
            &secret("BASE32SECRET"),
        )
        .await
        .expect("2fa/verify-setup");
    let codes: Vec<&str> = codes.iter().map(|c| c.expose_secret()).collect();
    assert_eq!(codes, vec!["AB12CD34", "..."]);
}

#[tokio::test]
async fn two_factor_disable_posts_session_user_and_password() {
    let server = MockServer::start().await;
    mount_post(
        &server,
        "/auth/2fa/disable",
        json!({
            "sessionToken": SESSION_TOKEN,
            "email": EMAIL,
            "org_id": ORG_ID,
            "role": ROLE,
            "password": PASSWORD,
        }),
        SUCCESS_BODY,
    )
    .await;
    let (client, _) = client(&server.uri());

    let out = client
        .disable_totp(&secret(SESSION_TOKEN), &user(), &secret(PASSWORD))
        .await
        .expect("2fa/disable");
    assert!(out.success);
}

#[tokio::test]
async fn two_factor_verify_2fa_completes_a_requires_2fa_login_with_the_temp_token() {
    let server = MockServer::start().await;
    mount_foobar(&server, ROLE).await;
    Mock::given(method("GET"))
        .and(path("/auth/login"))
        .and(exact_query(&[
            ("foobar", FOOBAR_TOKEN),
            ("email", EMAIL),
            ("password", PASSWORD),
            ("api_key", API_KEY),
            ("role", ROLE),
        ]))
        .respond_with(
            json_response(200, LOGIN_2FA_BODY).insert_header("x-request-id", "req_login_2fa"),
        )
        .expect(1)
        .mount(&server)
        .await;
    mount_post(
        &server,
        "/auth/2fa/verify-2fa",
        json!({
            "tempToken": TEMP_TOKEN,
            "email": EMAIL,
            "org_id": ORG_ID,
            "role": ROLE,
            "totpCode": "123456",
        }),
        SESSION_TOKEN_BODY,
    )
    .await;
    let (client, _) = client(&server.uri());

    let outcome = client
        .login(EMAIL, &secret(PASSWORD), ROLE)
        .await
        .expect("login");
    let challenge = match outcome {
        LoginOutcome::TwoFactorRequired(c) => c,
        other => panic!("expected a 2FA challenge, got {other:?}"),
    };
    assert_eq!(challenge.user(), &user());
    assert_eq!(challenge.temp_token().expose_secret(), TEMP_TOKEN);
    assert_eq!(challenge.request_id(), Some("req_login_2fa"));
    assert!(
        !format!("{challenge:?}").contains(TEMP_TOKEN),
        "Debug redacts the temp token"
    );

    let session = challenge
        .verify_totp(&secret("123456"))
        .await
        .expect("2fa/verify-2fa");
    assert_eq!(session.token.expose_secret(), SESSION_TOKEN);
    assert_eq!(session.email, EMAIL);
    assert_eq!(
        received_paths(&server).await,
        vec!["/auth/fooBar", "/auth/login", "/auth/2fa/verify-2fa"]
    );
}

#[tokio::test]
async fn two_factor_backup_email_posts_temp_token_and_user() {
    let server = MockServer::start().await;
    mount_post(
        &server,
        "/auth/2fa/backup/email",
        json!({"tempToken": TEMP_TOKEN, "email": EMAIL, "org_id": ORG_ID, "role": ROLE}),
        BACKUP_EMAIL_BODY,
    )
    .await;
    let (client, _) = client(&server.uri());

    let out = client
        .send_backup_email(&secret(TEMP_TOKEN), &user())
        .await
        .expect("2fa/backup/email");
    assert!(out.success);
    assert_eq!(out.message, "OTP sent to your email");
}

#[tokio::test]
async fn two_factor_verify_email_otp_posts_user_and_code() {
    let server = MockServer::start().await;
    mount_post(
        &server,
        "/auth/2fa/verify-email-otp",
        json!({"email": EMAIL, "org_id": ORG_ID, "role": ROLE, "emailOTP": "123456"}),
        SESSION_TOKEN_BODY,
    )
    .await;
    let (client, _) = client(&server.uri());

    let session = client
        .verify_email_otp(&user(), &secret("123456"))
        .await
        .expect("2fa/verify-email-otp");
    assert_eq!(session.token.expose_secret(), SESSION_TOKEN);
    assert_eq!(session.email, EMAIL);
}

#[tokio::test]
async fn two_factor_recovery_codes_posts_session_user_and_password() {
    let server = MockServer::start().await;
    mount_post(
        &server,
        "/auth/2fa/recovery-codes",
        json!({
            "sessionToken": SESSION_TOKEN,
            "email": EMAIL,
            "org_id": ORG_ID,
            "role": ROLE,
            "password": PASSWORD,
        }),
        RECOVERY_CODES_BODY,
    )
    .await;
    let (client, _) = client(&server.uri());

    let codes = client
        .regenerate_recovery_codes(&secret(SESSION_TOKEN), &user(), &secret(PASSWORD))
        .await
        .expect("2fa/recovery-codes");
    let codes: Vec<&str> = codes.iter().map(|c| c.expose_secret()).collect();
    assert_eq!(codes, vec!["AB12CD34", "..."]);
}

#[tokio::test]
async fn two_factor_verify_recovery_posts_user_and_code_and_decodes_remaining() {
    let server = MockServer::start().await;
    mount_post(
        &server,
        "/auth/2fa/verify-recovery",
        json!({"email": EMAIL, "org_id": ORG_ID, "role": ROLE, "recoveryCode": "AB12CD34"}),
        VERIFY_RECOVERY_BODY,
    )
    .await;
    let (client, _) = client(&server.uri());

    let out = client
        .verify_recovery_code(&user(), &secret("AB12CD34"))
        .await
        .expect("2fa/verify-recovery");
    assert_eq!(out.session.token.expose_secret(), SESSION_TOKEN);
    assert_eq!(out.session.email, EMAIL);
    assert_eq!(out.remaining_codes, 9);
}

// ------------------------------------------------------------ cross-cutting

#[tokio::test]
async fn error_statuses_map_to_typed_api_errors() {
    type Predicate = fn(&Error) -> bool;
    let predicates: [(&str, Predicate); 7] = [
        ("bad_request", Error::is_bad_request),
        ("unauthorized", Error::is_unauthorized),
        ("forbidden", Error::is_forbidden),
        ("not_found", Error::is_not_found),
        ("conflict", Error::is_conflict),
        ("rate_limited", Error::is_rate_limited),
        ("server_error", Error::is_server_error),
    ];
    // (status, response, content type, expected code, expected message)
    let cases: [(u16, &str, &str, ErrorCode, &str); 10] = [
        (
            400,
            r#"{"message":"Missing required fields"}"#,
            "application/json",
            ErrorCode::BadRequest,
            "Missing required fields",
        ),
        (
            401,
            r#"{"message":"Invalid or expired token"}"#,
            "application/json",
            ErrorCode::Unauthorized,
            "Invalid or expired token",
        ),
        (
            403,
            r#"{"message":"Only the organization owner can delete users"}"#,
            "application/json",
            ErrorCode::Forbidden,
            "Only the organization owner can delete users",
        ),
        (
            404,
            r#"{"message":"User not found"}"#,
            "application/json",
            ErrorCode::NotFound,
            "User not found",
        ),
        (
            409,
            r#"{"message":"User already exists"}"#,
            "application/json",
            ErrorCode::Conflict,
            "User already exists",
        ),
        (
            429,
            r#"{"message":"Too many requests"}"#,
            "application/json",
            ErrorCode::RateLimited,
            "Too many requests",
        ),
        (
            500,
            r#"{"message":"Internal server error"}"#,
            "application/json",
            ErrorCode::ServerError,
            "Internal server error",
        ),
        // Plain-text bodies: the text is the message.
        (
            409,
            "User already exists",
            "text/plain",
            ErrorCode::Conflict,
            "User already exists",
        ),
        (
            500,
            "  upstream exploded\n",
            "text/plain",
            ErrorCode::ServerError,
            "upstream exploded",
        ),
        // An HTML error page is not echoed: the reason phrase stands in.
        (
            404,
            "<html><body>Cannot GET</body></html>",
            "text/html",
            ErrorCode::NotFound,
            "Not Found",
        ),
    ];

    for (status, body, content_type, want_code, want_message) in cases {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/auth/me"))
            .and(exact_query(&[("sessionToken", SESSION_TOKEN)]))
            .respond_with(ResponseTemplate::new(status).set_body_raw(body, content_type))
            .expect(1) // RetryPolicy::none: 429 and 500 are not retried
            .mount(&server)
            .await;
        let (c, sleep) = client(&server.uri());
        let err = no_retry(&c)
            .me(&secret(SESSION_TOKEN))
            .await
            .expect_err("an error status");
        match &err {
            Error::Api {
                route,
                status: got_status,
                code,
                message,
                ..
            } => {
                assert_eq!(*route, "me", "{status}");
                assert_eq!(*got_status, status);
                assert_eq!(code, &want_code, "{status} {body}");
                assert_eq!(message, want_message, "{status} {body}");
            }
            other => panic!("{status}: expected Error::Api, got {other:?}"),
        }
        assert_eq!(err.status(), Some(status));
        assert_eq!(err.code(), Some(&want_code));
        for (name, predicate) in predicates {
            assert_eq!(
                predicate(&err),
                name == want_code.as_str(),
                "{status}: predicate for {name}"
            );
        }
        assert_eq!(err.is_retryable(), matches!(status, 429 | 500), "{status}");
        assert!(!err.to_string().contains(SESSION_TOKEN));
        assert!(sleep.delays().is_empty(), "{status}: no retry");
        server.verify().await;
    }

    // A non-retried route (signUp is a mutation): a 500 on the inner call is
    // surfaced after one attempt even with the default retry policy.
    let server = MockServer::start().await;
    mount_foobar(&server, ROLE).await;
    Mock::given(method("GET"))
        .and(path("/auth/signUp"))
        .respond_with(json_response(500, r#"{"message":"Internal server error"}"#))
        .expect(1)
        .mount(&server)
        .await;
    let (c, sleep) = client(&server.uri());
    let err = c
        .sign_up(EMAIL, &secret(PASSWORD), FULLNAME, ROLE)
        .await
        .expect_err("500");
    assert!(err.is_server_error(), "{err:?}");
    assert!(
        matches!(
            &err,
            Error::Api {
                route: "signUp",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(sleep.delays().is_empty());
}

#[tokio::test]
async fn request_id_is_exposed_on_responses_and_errors() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/auth/me"))
        .and(exact_query(&[("sessionToken", SESSION_TOKEN)]))
        .respond_with(json_response(200, ME_BODY).insert_header("X-Request-Id", "req_ok_123"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/auth/me"))
        .and(exact_query(&[("sessionToken", "expired")]))
        .respond_with(
            json_response(401, r#"{"message":"Invalid or expired token"}"#)
                .insert_header("X-Request-Id", "req_err_456"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client(&server.uri());

    let me = client.me(&secret(SESSION_TOKEN)).await.expect("me");
    assert_eq!(me.request_id(), Some("req_ok_123"));

    let err = client
        .me(&secret("expired"))
        .await
        .expect_err("401 for an expired session");
    assert_eq!(err.request_id(), Some("req_err_456"));
    assert!(
        matches!(&err, Error::Api { request_id: Some(id), .. } if id == "req_err_456"),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("(request id req_err_456)"),
        "{err}"
    );
}

#[tokio::test]
async fn invalid_input_is_rejected_before_any_request() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let (client, _) = client(&server.uri());

    fn assert_invalid(err: &Error, field: &str, secret_value: &str) {
        match err {
            Error::InvalidInput { field: f, .. } => assert_eq!(*f, field, "{err:?}"),
            other => panic!("expected InvalidInput({field}), got {other:?}"),
        }
        assert!(err.is_invalid_input());
        if !secret_value.is_empty() {
            assert!(!err.to_string().contains(secret_value), "{err}");
            assert!(!format!("{err:?}").contains(secret_value), "{err:?}");
        }
    }

    // Bad email.
    let err = client
        .sign_up("not-an-email", &secret(PASSWORD), FULLNAME, ROLE)
        .await
        .expect_err("bad email");
    assert_invalid(&err, "email", "");
    let err = client
        .login("user@example", &secret(PASSWORD), ROLE)
        .await
        .expect_err("bad email");
    assert_invalid(&err, "email", "");
    let err = client
        .foobar("a b@example.com", None)
        .await
        .expect_err("bad email");
    assert_invalid(&err, "email", "");

    // A password failing the documented rule (no digit, no symbol).
    let weak = "weakpassword";
    let err = client
        .sign_up(EMAIL, &secret(weak), FULLNAME, ROLE)
        .await
        .expect_err("weak password");
    assert_invalid(&err, "password", weak);
    let err = client
        .reset_password(&secret("reset-token-123"), &secret("Hunter22"))
        .await
        .expect_err("weak new password");
    assert_invalid(&err, "newPassword", "Hunter22");

    // Empty role.
    let err = client
        .login(EMAIL, &secret(PASSWORD), "")
        .await
        .expect_err("empty role");
    assert_invalid(&err, "role", PASSWORD);
    let err = client
        .sign_up(EMAIL, &secret(PASSWORD), FULLNAME, "   ")
        .await
        .expect_err("blank role");
    assert_invalid(&err, "role", PASSWORD);

    // A 5-digit TOTP code.
    let err = client
        .verify_2fa(&secret(TEMP_TOKEN), &user(), &secret("12345"))
        .await
        .expect_err("5-digit code");
    assert_invalid(&err, "totpCode", "12345");
    let err = client
        .verify_totp_setup(
            &secret(SESSION_TOKEN),
            &user(),
            &secret("12345"),
            &secret("BASE32SECRET"),
        )
        .await
        .expect_err("5-digit code");
    assert_invalid(&err, "totpCode", "12345");
    assert!(!err.to_string().contains("BASE32SECRET"));

    assert_eq!(received_paths(&server).await, Vec::<String>::new());
}

#[test]
fn malformed_api_key_is_rejected_at_construction() {
    for bad in [
        "af_XYZ",
        "af_0123456789ABCDEF0123456789ABCDEF",
        "xx_0123456789abcdef0123456789abcdef",
        "",
    ] {
        let err = AuthFlowClient::new(secret(bad)).expect_err("malformed key");
        assert!(
            matches!(
                err,
                Error::InvalidInput {
                    field: "api_key",
                    ..
                }
            ),
            "{bad:?}: {err:?}"
        );
        if !bad.is_empty() {
            assert!(!err.to_string().contains(bad), "{err}");
            assert!(!format!("{err:?}").contains(bad), "{err:?}");
        }
    }
    assert!(!format!("{:?}", AuthFlowClient::new(secret("af_XYZ"))).contains("XYZ"));
    AuthFlowClient::new(secret(API_KEY)).expect("a well-formed key is accepted");
}

#[tokio::test]
async fn via_proxy_sends_no_api_key_on_foobar_login_or_forgot_password() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/auth/fooBar"))
        .and(exact_query(&[("identity", EMAIL), ("role", ROLE)]))
        .and(no_api_key)
        .respond_with(json_response(200, FOOBAR_BODY))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/auth/login"))
        .and(exact_query(&[
            ("foobar", FOOBAR_TOKEN),
            ("email", EMAIL),
            ("password", PASSWORD),
            ("role", ROLE),
        ]))
        .and(no_api_key)
        .respond_with(json_response(200, SESSION_TOKEN_BODY))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/auth/forgot-password"))
        .and(body_json(json!({"email": EMAIL, "role": ROLE})))
        .and(no_api_key)
        .respond_with(json_response(200, FORGOT_PASSWORD_BODY))
        .expect(1)
        .mount(&server)
        .await;
    let client = AuthFlowClient::via_proxy(server.uri()).expect("proxy client");
    assert!(!client.transport().has_org_api_key());

    let token = client.foobar(EMAIL, Some(ROLE)).await.expect("fooBar");
    assert_eq!(token.expose_secret(), FOOBAR_TOKEN);
    match client
        .login(EMAIL, &secret(PASSWORD), ROLE)
        .await
        .expect("login")
    {
        LoginOutcome::Session(s) => assert_eq!(s.token.expose_secret(), SESSION_TOKEN),
        other => panic!("expected a session, got {other:?}"),
    }
    client
        .forgot_password(EMAIL, Some(ROLE))
        .await
        .expect("forgot-password");

    let reqs = server.received_requests().await.expect("recording");
    assert_eq!(reqs.len(), 4);
    for r in &reqs {
        assert!(!has_api_key(r), "{} carried an api_key", r.url.path());
        assert!(!r.url.as_str().contains(API_KEY));
        assert!(!String::from_utf8_lossy(&r.body).contains(API_KEY));
    }
}
