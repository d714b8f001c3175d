//! Redaction, end to end: no secret (API key, passwords, session, temp, reset,
//! verification and fooBar tokens, TOTP and email codes, recovery codes, TOTP
//! secrets and their QR code and provisioning URL) reaches the `tracing`
//! output (captured at TRACE, `log` records included), an error's `Display`
//! or `Debug`, or the `Debug` of any request, response or SDK type — including
//! when the server echoes secrets in error bodies, sends a malformed success
//! body, or the connection is refused while the URL holds the key and the
//! password.

use std::fmt::Debug;
use std::io;
use std::net::TcpListener;
use std::sync::{Arc, Mutex, Once};

use authflow::api::authflow::{
    ChangePasswordRequest, DeleteUserRequest, FooBarRequest, ForgotPasswordRequest, LoginRequest,
    LoginResponse, LogoutRequest, MeRequest, RecoveryCodesResponse, RecoveryTokenResponse,
    ResendVerifyEmailRequest, ResetPasswordRequest, SignUpRequest, TokenResponse,
    TwoFactorBackupEmailRequest, TwoFactorChallenge, TwoFactorDisableRequest,
    TwoFactorEnableRequest, TwoFactorEnableResponse, TwoFactorRecoveryCodesRequest,
    TwoFactorVerifyEmailOtpRequest, TwoFactorVerifyRecoveryRequest, TwoFactorVerifyRequest,
    TwoFactorVerifySetupRequest, UserRef, ValidateRequest, VerifyEmailRequest,
};
use authflow::{
    AuthFlowClient, Error, LoginOutcome, RecoverySession, RequestOptions, Response, RetryPolicy,
    Session, TotpSetup, TransportKind, sanitize_for_logs,
};
use authflow_tests::{RecordingSleep, secret};
use secrecy::ExposeSecret;
use serde::Serialize;
use serde_json::{Value, json};
use tracing::subscriber::DefaultGuard;
use tracing_subscriber::fmt::MakeWriter;
use wiremock::matchers::{body_partial_json, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

// ------------------------------------------------------------------ secrets

/// A well-formed organization key, distinct from `authflow_tests::API_KEY`.
const KEY: &str = "af_d1a9c0ffee5ec2e7d1a9c0ffee5ec2e7";
const PASSWORD: &str = "Sup3r-Secret-Pw!";
const NEW_PASSWORD: &str = "N3w-Secret-Pw!x9";
const FOOBAR: &str = "foobar-tok-3a7c5e91";
/// The session token the caller holds.
const SESSION: &str = "sess-tok-7f3a9b2c1d";
const SIGNUP_SESSION: &str = "signup-sess-tok-51c0e4";
const TEMP: &str = "temp-tok-4e8d2a6f";
const TOTP_CODE: &str = "493817";
const EMAIL_OTP: &str = "615243";
const RECOVERY_CODE: &str = "RCV7K2Q9";
const MALFORMED_RECOVERY_CODE: &str = "RCV0BADX";
const TOTP_SECRET: &str = "JBSWY3DPEHPK3PXPZZQ7MNOP";
const QR_CODE: &str = "data:image/png;base64,UVJTRUNSRVQtUVItUE5H";
const OTPAUTH_URL: &str =
    "otpauth://totp/AuthFlow:ada@example.com?secret=JBSWY3DPEHPK3PXPZZQ7MNOP&issuer=AuthFlow";
const SETUP_CODES: [&str; 2] = ["RCOD3AA1", "RCOD3BB2"];
const RESET_TOKEN: &str = "reset-tok-c4f1e9d2";
const VERIFY_TOKEN: &str = "verify-tok-8b2d7a31";
const TOTP_SESSION: &str = "totp-sess-tok-a81f66";
const RECOVERY_SESSION: &str = "recovery-sess-tok-6d0e";
/// Sent back in a malformed success body (a string where a number belongs).
const MALFORMED_SECRET: &str = "malformed-sess-tok-e77b";

/// Every secret value the tests use.
const SECRETS: [&str; 21] = [
    KEY,
    PASSWORD,
    NEW_PASSWORD,
    FOOBAR,
    SESSION,
    SIGNUP_SESSION,
    TEMP,
    TOTP_CODE,
    EMAIL_OTP,
    RECOVERY_CODE,
    MALFORMED_RECOVERY_CODE,
    TOTP_SECRET,
    QR_CODE,
    OTPAUTH_URL,
    SETUP_CODES[0],
    SETUP_CODES[1],
    RESET_TOKEN,
    VERIFY_TOKEN,
    TOTP_SESSION,
    RECOVERY_SESSION,
    MALFORMED_SECRET,
];

const EMAIL: &str = "ada@example.com";

fn user() -> UserRef {
    UserRef {
        email: EMAIL.into(),
        org_id: "org_1".into(),
        role: "detective".into(),
    }
}

/// Panics naming every secret that occurs in `text`.
fn assert_no_secret(what: &str, text: &str) {
    let leaked: Vec<&str> = SECRETS
        .iter()
        .copied()
        .filter(|s| text.contains(s))
        .collect();
    assert!(leaked.is_empty(), "{what} leaks {leaked:?}:\n{text}");
}

// ------------------------------------------------------------- log capture

/// Everything the `fmt` subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log buffer")).into_owned()
    }
}

struct CapturedWriter(Arc<Mutex<Vec<u8>>>);

impl io::Write for CapturedWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = CapturedWriter;
    fn make_writer(&'a self) -> CapturedWriter {
        CapturedWriter(self.0.clone())
    }
}

/// Capture all `tracing` output of this thread at TRACE (and, through the
/// `log` bridge, reqwest's `log` records) until the guard drops. The tests
/// use the current-thread runtime, so hyper's connection tasks run here too.
fn capture_logs() -> (Captured, DefaultGuard) {
    static LOG_BRIDGE: Once = Once::new();
    LOG_BRIDGE.call_once(|| {
        tracing_log::LogTracer::init().expect("no other logger is installed");
    });
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .without_time()
        .finish();
    (captured, tracing::subscriber::set_default(subscriber))
}

fn client_for(base_url: &str) -> AuthFlowClient {
    AuthFlowClient::builder()
        .api_key(secret(KEY))
        .base_url(base_url)
        .retry(RetryPolicy::default().jitter(false))
        .sleeper(Arc::new(RecordingSleep::default()))
        .build()
        .expect("valid configuration")
}

/// A base URL on which nothing listens.
fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    let port = listener.local_addr().expect("local address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// The `Display`, `Debug` and pretty `Debug` of everything the calls produced.
#[derive(Default)]
struct Seen(Vec<(String, String)>);

impl Seen {
    fn debug(&mut self, label: &str, value: &impl Debug) {
        self.0
            .push((format!("{label} (Debug)"), format!("{value:?}")));
        self.0
            .push((format!("{label} (Debug #)"), format!("{value:#?}")));
    }
    fn error(&mut self, label: &str, e: &Error) {
        self.0.push((format!("{label} (Display)"), e.to_string()));
        self.debug(label, e);
    }
    fn check(&self) {
        for (label, text) in &self.0 {
            assert_no_secret(label, text);
        }
    }
}

// ---------------------------------------------------------------- mocks

fn json(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(body)
}

async fn on(server: &MockServer, verb: &str, p: &str, response: ResponseTemplate) {
    Mock::given(method(verb))
        .and(path(p))
        .respond_with(response)
        .mount(server)
        .await;
}

async fn mount_all(server: &MockServer) {
    on(
        server,
        "GET",
        "/auth/fooBar",
        json(200, json!({"token": FOOBAR})),
    )
    .await;
    on(
        server,
        "GET",
        "/auth/signUp",
        json(200, json!({"token": SIGNUP_SESSION})),
    )
    .await;
    // login: a 2FA challenge, a 401 and a 500 that echo the password and the key.
    Mock::given(method("GET"))
        .and(path("/auth/login"))
        .and(query_param("email", EMAIL))
        .respond_with(json(
            200,
            json!({"requires2FA": true, "tempToken": TEMP, "email": EMAIL,
                   "org_id": "org_1", "role": "detective"}),
        ))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/auth/login"))
        .and(query_param("email", "bad@example.com"))
        .respond_with(json(
            401,
            json!({"message": format!("bad password {PASSWORD} for key {KEY} (fooBar {FOOBAR})")}),
        ))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/auth/login"))
        .and(query_param("email", "boom@example.com"))
        .respond_with(
            ResponseTemplate::new(500)
                .insert_header("content-type", "text/plain")
                .set_body_string(format!("login crashed on {PASSWORD} with {KEY}")),
        )
        .mount(server)
        .await;
    on(server, "GET", "/auth/validate", ResponseTemplate::new(200)).await;
    // me: one 503 echoing the session token (so a retry is logged), then 200.
    Mock::given(method("GET"))
        .and(path("/auth/me"))
        .respond_with(json(
            503,
            json!({"message": format!("session {SESSION} store unavailable")}),
        ))
        .up_to_n_times(1)
        .mount(server)
        .await;
    on(
        server,
        "GET",
        "/auth/me",
        json(
            200,
            json!({"email": EMAIL, "fullname": "Ada Lovelace", "role": "detective", "org_id": "org_1"}),
        ),
    )
    .await;
    on(
        server,
        "GET",
        "/auth/logout",
        json(200, json!({"success": true})),
    )
    .await;
    on(
        server,
        "POST",
        "/auth/deleteUser",
        json(
            403,
            json!({"message": format!("bearer {SESSION} is not the owner")}),
        ),
    )
    .await;
    on(
        server,
        "POST",
        "/auth/forgot-password",
        json(
            200,
            json!({"success": true, "message": "If the account exists, an email was sent"}),
        ),
    )
    .await;
    on(
        server,
        "POST",
        "/auth/reset-password",
        json(
            400,
            json!({"message": format!("token {RESET_TOKEN} expired; {NEW_PASSWORD} not applied")}),
        ),
    )
    .await;
    on(
        server,
        "GET",
        "/auth/changePassword",
        json(
            401,
            json!({"message": format!("old {PASSWORD} wrong (new {NEW_PASSWORD}, session {SESSION})")}),
        ),
    )
    .await;
    on(
        server,
        "GET",
        "/auth/verify-email",
        ResponseTemplate::new(200)
            .insert_header("content-type", "text/html")
            .set_body_string("<html><body>Email verified</body></html>"),
    )
    .await;
    on(
        server,
        "GET",
        "/auth/resend-verify-email",
        json(200, json!({"statusCode": 200, "message": "sent"})),
    )
    .await;
    on(
        server,
        "POST",
        "/auth/2fa/enable",
        json(
            200,
            json!({"secret": TOTP_SECRET, "qrCode": QR_CODE, "otpauth_url": OTPAUTH_URL}),
        ),
    )
    .await;
    on(
        server,
        "POST",
        "/auth/2fa/verify-setup",
        json(200, json!({"success": true, "recoveryCodes": SETUP_CODES})),
    )
    .await;
    on(
        server,
        "POST",
        "/auth/2fa/disable",
        json(
            401,
            json!({"message": format!("session {SESSION} with password {PASSWORD} refused")}),
        ),
    )
    .await;
    on(
        server,
        "POST",
        "/auth/2fa/verify-2fa",
        json(200, json!({"token": TOTP_SESSION})),
    )
    .await;
    on(
        server,
        "POST",
        "/auth/2fa/backup/email",
        json(200, json!({"success": true, "message": "Backup code sent"})),
    )
    .await;
    on(
        server,
        "POST",
        "/auth/2fa/verify-email-otp",
        json(
            400,
            json!({"message": format!("code {EMAIL_OTP} for {EMAIL} is invalid")}),
        ),
    )
    .await;
    on(
        server,
        "POST",
        "/auth/2fa/recovery-codes",
        ResponseTemplate::new(500).set_body_string(format!(
            "cannot regenerate codes for {SESSION} / {PASSWORD}"
        )),
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/auth/2fa/verify-recovery"))
        .and(body_partial_json(json!({"recoveryCode": RECOVERY_CODE})))
        .respond_with(json(
            200,
            json!({"token": RECOVERY_SESSION, "remainingCodes": 9}),
        ))
        .mount(server)
        .await;
    // A success body that does not decode: a secret where a number belongs.
    Mock::given(method("POST"))
        .and(path("/auth/2fa/verify-recovery"))
        .and(body_partial_json(
            json!({"recoveryCode": MALFORMED_RECOVERY_CODE}),
        ))
        .respond_with(json(
            200,
            json!({"token": MALFORMED_SECRET, "remainingCodes": MALFORMED_SECRET}),
        ))
        .mount(server)
        .await;
}

/// What the server received, decoded: query pairs, `Authorization`, bodies.
async fn wire_text(server: &MockServer) -> String {
    let mut out = String::new();
    for r in server.received_requests().await.expect("recording is on") {
        out.push_str(r.url.path());
        for (k, v) in r.url.query_pairs() {
            out.push_str(&format!(" {k}={v}"));
        }
        if let Some(auth) = r.headers.get("authorization") {
            out.push_str(&format!(" auth={}", auth.to_str().unwrap_or_default()));
        }
        out.push(' ');
        out.push_str(&String::from_utf8_lossy(&r.body));
        out.push('\n');
    }
    out
}

// ----------------------------------------------------------------- tests

#[tokio::test]
async fn no_secret_reaches_logs_errors_or_debug_output() {
    let server = MockServer::start().await;
    mount_all(&server).await;
    let (logs, guard) = capture_logs();
    let client = client_for(&server.uri());
    let mut seen = Seen::default();
    seen.debug("client", &client);
    let password = secret(PASSWORD);
    let new_password = secret(NEW_PASSWORD);
    let session = Session::new(secret(SESSION), EMAIL);

    // ---- session routes
    let foobar = client.foobar(EMAIL, None).await.expect("fooBar");
    assert_eq!(foobar.expose_secret(), FOOBAR);
    seen.debug("foobar", &foobar);

    let signed_up = client
        .sign_up(EMAIL, &password, "Ada Lovelace", "detective")
        .await
        .expect("signUp");
    assert_eq!(signed_up.token.expose_secret(), SIGNUP_SESSION);
    seen.debug("signUp", &signed_up);

    let outcome = client
        .login(EMAIL, &password, "detective")
        .await
        .expect("login");
    seen.debug("login outcome", &outcome);
    let LoginOutcome::TwoFactorRequired(challenge) = outcome else {
        panic!("expected a 2FA challenge");
    };
    assert_eq!(challenge.temp_token().expose_secret(), TEMP);
    seen.debug("challenge", &challenge);

    for email in ["bad@example.com", "boom@example.com"] {
        let e = client
            .login(email, &password, "detective")
            .await
            .expect_err("login fails");
        assert!(e.is_unauthorized() || e.is_server_error(), "{e:?}");
        assert!(
            e.to_string().contains("[REDACTED]"),
            "the echoed secrets were scrubbed, the rest kept: {e}"
        );
        seen.error(&format!("login {email}"), &e);
    }

    assert!(client.validate(&session).await.expect("validate"));
    let me = client
        .me(&secret(SESSION))
        .await
        .expect("me after one retry");
    seen.debug("me", &me);
    let out = client.logout(&session).await.expect("logout");
    seen.debug("logout", &out);
    let e = client
        .delete_user(&session, "org_1", "bob@example.com")
        .await
        .expect_err("403");
    assert!(e.is_forbidden(), "{e:?}");
    seen.error("deleteUser", &e);

    // ---- password management
    let sent = client
        .forgot_password(EMAIL, None)
        .await
        .expect("forgot-password");
    seen.debug("forgot-password", &sent);
    let e = client
        .reset_password(&secret(RESET_TOKEN), &new_password)
        .await
        .expect_err("400");
    assert!(e.is_bad_request(), "{e:?}");
    seen.error("reset-password", &e);
    let e = client
        .change_password(&session, &password, &new_password)
        .await
        .expect_err("401");
    assert!(e.is_unauthorized(), "{e:?}");
    seen.error("changePassword", &e);

    // ---- email verification
    let page = client
        .verify_email(&secret(VERIFY_TOKEN))
        .await
        .expect("verify-email");
    seen.debug("verify-email", &page);
    let resent = client
        .resend_verification(EMAIL, Some("detective"))
        .await
        .expect("resend");
    seen.debug("resend-verify-email", &resent);

    // ---- two-factor setup
    let setup = client
        .enable_totp(&secret(SESSION), &user())
        .await
        .expect("enable");
    assert_eq!(setup.secret.expose_secret(), TOTP_SECRET);
    assert_eq!(setup.qr_code.expose_secret(), QR_CODE);
    assert_eq!(setup.otpauth_url.expose_secret(), OTPAUTH_URL);
    seen.debug("2fa/enable", &setup);
    let codes = client
        .verify_totp_setup(&secret(SESSION), &user(), &secret(TOTP_CODE), &setup.secret)
        .await
        .expect("verify-setup");
    let exposed: Vec<&str> = codes.iter().map(|c| c.expose_secret()).collect();
    assert_eq!(exposed, SETUP_CODES);
    seen.debug("2fa/verify-setup", &codes);
    let e = client
        .regenerate_recovery_codes(&secret(SESSION), &user(), &password)
        .await
        .expect_err("500");
    assert!(e.is_server_error(), "{e:?}");
    seen.error("2fa/recovery-codes", &e);
    let e = client
        .disable_totp(&secret(SESSION), &user(), &password)
        .await
        .expect_err("401");
    assert!(e.is_unauthorized(), "{e:?}");
    seen.error("2fa/disable", &e);

    // ---- the login challenge exchanges
    let s = challenge
        .verify_totp(&secret(TOTP_CODE))
        .await
        .expect("verify-2fa");
    assert_eq!(s.token.expose_secret(), TOTP_SESSION);
    seen.debug("2fa/verify-2fa", &s);
    let mail = challenge.send_backup_email().await.expect("backup email");
    seen.debug("2fa/backup/email", &mail);
    let e = challenge
        .verify_email_otp(&secret(EMAIL_OTP))
        .await
        .expect_err("400");
    assert!(e.is_bad_request(), "{e:?}");
    seen.error("2fa/verify-email-otp", &e);
    let rec = challenge
        .verify_recovery_code(&secret(RECOVERY_CODE))
        .await
        .expect("verify-recovery");
    assert_eq!(rec.session.token.expose_secret(), RECOVERY_SESSION);
    assert_eq!(rec.remaining_codes, 9);
    seen.debug("2fa/verify-recovery", &rec);
    let e = challenge
        .verify_recovery_code(&secret(MALFORMED_RECOVERY_CODE))
        .await
        .expect_err("decode error");
    assert!(e.is_decode(), "{e:?}");
    assert_eq!(e.status(), Some(200));
    seen.error("2fa/verify-recovery (malformed)", &e);

    drop(guard);

    // The secrets really went over the wire (so their absence below means something).
    let wire = wire_text(&server).await;
    for s in [
        KEY,
        PASSWORD,
        NEW_PASSWORD,
        FOOBAR,
        SESSION,
        TEMP,
        TOTP_CODE,
        EMAIL_OTP,
        RECOVERY_CODE,
        MALFORMED_RECOVERY_CODE,
        TOTP_SECRET,
        RESET_TOKEN,
        VERIFY_TOKEN,
    ] {
        assert!(wire.contains(s), "{s} was not sent:\n{wire}");
    }
    assert!(wire.contains(&format!("auth=Bearer {SESSION}")));

    seen.check();
    let log = logs.text();
    assert!(!log.is_empty(), "the capture works");
    for route in [
        r#"route="fooBar""#,
        r#"route="signUp""#,
        r#"route="login""#,
        r#"route="validate""#,
        r#"route="me""#,
        r#"route="logout""#,
        r#"route="deleteUser""#,
        r#"route="forgot-password""#,
        r#"route="reset-password""#,
        r#"route="changePassword""#,
        r#"route="verify-email""#,
        r#"route="resend-verify-email""#,
        r#"route="2fa/enable""#,
        r#"route="2fa/verify-setup""#,
        r#"route="2fa/disable""#,
        r#"route="2fa/verify-2fa""#,
        r#"route="2fa/backup/email""#,
        r#"route="2fa/verify-email-otp""#,
        r#"route="2fa/recovery-codes""#,
        r#"route="2fa/verify-recovery""#,
    ] {
        assert!(log.contains(route), "no `{route}` in the log:\n{log}");
    }
    assert!(log.contains("retrying"), "the me retry is logged:\n{log}");
    assert!(log.contains("TRACE"), "TRACE records are captured:\n{log}");
    assert_no_secret("the captured log", &log);
    assert!(!log.contains("api_key="), "{log}");
    assert!(!log.contains("password="), "{log}");
}

#[tokio::test]
async fn refused_connections_leak_neither_url_nor_secrets() {
    let (logs, guard) = capture_logs();
    let client = client_for(&closed_port_url());
    let password = secret(PASSWORD);
    let mut errors = Vec::new();

    // login: its fooBar call (key in the query) is refused.
    let e = client
        .login(EMAIL, &password, "detective")
        .await
        .expect_err("refused");
    errors.push(e);
    // The login route itself, sent directly: key, fooBar token and password in the query.
    let req = LoginRequest {
        foobar: secret(FOOBAR),
        email: EMAIL.into(),
        password: secret(PASSWORD),
        role: "detective".into(),
    };
    let e = client
        .transport()
        .send(&req, &RequestOptions::new())
        .await
        .expect_err("refused");
    errors.push(e);
    // And a POST carrying the key in its body.
    let e = client
        .forgot_password(EMAIL, None)
        .await
        .expect_err("refused");
    errors.push(e);
    drop(guard);

    let routes: Vec<&str> = errors
        .iter()
        .map(|e| match e {
            Error::Transport {
                kind: TransportKind::Connect,
                route,
                ..
            } => *route,
            other => panic!("expected a connect error, got {other:?}"),
        })
        .collect();
    assert_eq!(routes, ["fooBar", "login", "forgot-password"]);

    let log = logs.text();
    assert!(!log.is_empty(), "the capture works");
    assert!(log.contains(r#"route="login""#), "{log}");
    assert!(log.contains(r#"route="fooBar""#), "{log}");
    assert!(log.contains("transport failure"), "{log}");
    for e in &errors {
        for text in [e.to_string(), format!("{e:?}"), format!("{e:#?}")] {
            assert_no_secret("a connect error", &text);
            assert!(!text.contains("api_key="), "{text}");
            assert!(!text.contains("password="), "{text}");
        }
    }
    assert_no_secret("the captured log", &log);
    assert!(!log.contains("api_key="), "{log}");
    assert!(!log.contains("password="), "{log}");
}

/// `Debug` of the value shows no secret, while its wire form (when it has
/// one) does carry them: the secrets are there, just never printed.
fn check_type<T: Debug + Serialize>(name: &str, value: &T, secrets_on_wire: &[&str]) {
    let debug = format!("{value:?}");
    assert_no_secret(name, &debug);
    assert_no_secret(name, &format!("{value:#?}"));
    let wire = serde_json::to_string(value).expect("serializes");
    for s in secrets_on_wire {
        assert!(wire.contains(s), "{name}: {s} missing from the wire form");
    }
    if !secrets_on_wire.is_empty() {
        assert!(debug.contains("REDACTED"), "{name}: {debug}");
    }
}

#[test]
fn debug_of_every_request_and_response_type_is_redacted() {
    let u = user();
    check_type(
        "FooBarRequest",
        &FooBarRequest {
            identity: EMAIL.into(),
            role: Some("detective".into()),
        },
        &[],
    );
    check_type(
        "SignUpRequest",
        &SignUpRequest {
            foobar: secret(FOOBAR),
            email: EMAIL.into(),
            password: secret(PASSWORD),
            fullname: "Ada".into(),
            role: "detective".into(),
            disclaimed: true,
        },
        &[FOOBAR, PASSWORD],
    );
    check_type(
        "LoginRequest",
        &LoginRequest {
            foobar: secret(FOOBAR),
            email: EMAIL.into(),
            password: secret(PASSWORD),
            role: "detective".into(),
        },
        &[FOOBAR, PASSWORD],
    );
    check_type(
        "ValidateRequest",
        &ValidateRequest {
            session_token: secret(SESSION),
            email: EMAIL.into(),
        },
        &[SESSION],
    );
    check_type(
        "MeRequest",
        &MeRequest {
            session_token: secret(SESSION),
        },
        &[SESSION],
    );
    check_type(
        "LogoutRequest",
        &LogoutRequest {
            session_token: secret(SESSION),
            email: EMAIL.into(),
        },
        &[SESSION],
    );
    // The bearer token is skipped on the wire body (it travels as a header).
    let delete = DeleteUserRequest {
        session_token: Some(secret(SESSION)),
        email_owner: EMAIL.into(),
        org_id: "org_1".into(),
        user_email: "bob@example.com".into(),
    };
    check_type("DeleteUserRequest", &delete, &[]);
    assert!(format!("{delete:?}").contains("REDACTED"));
    check_type(
        "ForgotPasswordRequest",
        &ForgotPasswordRequest {
            email: EMAIL.into(),
            role: None,
        },
        &[],
    );
    check_type(
        "ResetPasswordRequest",
        &ResetPasswordRequest {
            token: secret(RESET_TOKEN),
            new_password: secret(NEW_PASSWORD),
        },
        &[RESET_TOKEN, NEW_PASSWORD],
    );
    check_type(
        "ChangePasswordRequest",
        &ChangePasswordRequest {
            session_token: secret(SESSION),
            email: EMAIL.into(),
            old_password: secret(PASSWORD),
            new_password: secret(NEW_PASSWORD),
        },
        &[SESSION, PASSWORD, NEW_PASSWORD],
    );
    check_type(
        "VerifyEmailRequest",
        &VerifyEmailRequest {
            token: secret(VERIFY_TOKEN),
        },
        &[VERIFY_TOKEN],
    );
    check_type(
        "ResendVerifyEmailRequest",
        &ResendVerifyEmailRequest {
            foobar: secret(FOOBAR),
            email: EMAIL.into(),
            role: None,
        },
        &[FOOBAR],
    );
    check_type(
        "TwoFactorEnableRequest",
        &TwoFactorEnableRequest {
            session_token: secret(SESSION),
            user: u.clone(),
        },
        &[SESSION],
    );
    check_type(
        "TwoFactorVerifySetupRequest",
        &TwoFactorVerifySetupRequest {
            session_token: secret(SESSION),
            user: u.clone(),
            totp_code: secret(TOTP_CODE),
            secret: secret(TOTP_SECRET),
        },
        &[SESSION, TOTP_CODE, TOTP_SECRET],
    );
    check_type(
        "TwoFactorDisableRequest",
        &TwoFactorDisableRequest {
            session_token: secret(SESSION),
            user: u.clone(),
            password: secret(PASSWORD),
        },
        &[SESSION, PASSWORD],
    );
    check_type(
        "TwoFactorVerifyRequest",
        &TwoFactorVerifyRequest {
            temp_token: secret(TEMP),
            user: u.clone(),
            totp_code: secret(TOTP_CODE),
        },
        &[TEMP, TOTP_CODE],
    );
    check_type(
        "TwoFactorBackupEmailRequest",
        &TwoFactorBackupEmailRequest {
            temp_token: secret(TEMP),
            user: u.clone(),
        },
        &[TEMP],
    );
    check_type(
        "TwoFactorVerifyEmailOtpRequest",
        &TwoFactorVerifyEmailOtpRequest {
            user: u.clone(),
            email_otp: secret(EMAIL_OTP),
        },
        &[EMAIL_OTP],
    );
    check_type(
        "TwoFactorRecoveryCodesRequest",
        &TwoFactorRecoveryCodesRequest {
            session_token: secret(SESSION),
            user: u.clone(),
            password: secret(PASSWORD),
        },
        &[SESSION, PASSWORD],
    );
    check_type(
        "TwoFactorVerifyRecoveryRequest",
        &TwoFactorVerifyRecoveryRequest {
            user: u.clone(),
            recovery_code: secret(RECOVERY_CODE),
        },
        &[RECOVERY_CODE],
    );

    // Responses, decoded from the wire as the client does.
    fn decoded<T: serde::de::DeserializeOwned>(v: Value) -> T {
        serde_json::from_value(v).expect("decodes")
    }
    let token: TokenResponse = decoded(json!({"token": SIGNUP_SESSION}));
    check_type("TokenResponse", &token, &[SIGNUP_SESSION]);
    let challenge: LoginResponse = decoded(json!({"requires2FA": true, "tempToken": TEMP,
        "email": EMAIL, "org_id": "org_1", "role": "detective"}));
    assert!(matches!(challenge, LoginResponse::TwoFactor(_)));
    check_type("LoginResponse::TwoFactor", &challenge, &[TEMP]);
    let logged_in: LoginResponse = decoded(json!({"token": TOTP_SESSION}));
    assert!(matches!(logged_in, LoginResponse::Token(_)));
    check_type("LoginResponse::Token", &logged_in, &[TOTP_SESSION]);
    let raw_challenge: TwoFactorChallenge = decoded(json!({"requires2FA": true,
        "tempToken": TEMP, "email": EMAIL, "org_id": "org_1", "role": "detective"}));
    check_type("TwoFactorChallenge", &raw_challenge, &[TEMP]);
    let enable: TwoFactorEnableResponse =
        decoded(json!({"secret": TOTP_SECRET, "qrCode": QR_CODE, "otpauth_url": OTPAUTH_URL}));
    check_type(
        "TwoFactorEnableResponse",
        &enable,
        &[TOTP_SECRET, QR_CODE, OTPAUTH_URL],
    );
    let codes: RecoveryCodesResponse =
        decoded(json!({"success": true, "recoveryCodes": SETUP_CODES}));
    check_type("RecoveryCodesResponse", &codes, &SETUP_CODES);
    let rec: RecoveryTokenResponse =
        decoded(json!({"token": RECOVERY_SESSION, "remainingCodes": 3}));
    check_type("RecoveryTokenResponse", &rec, &[RECOVERY_SESSION]);

    // SDK types.
    let session = Session::new(secret(SESSION), EMAIL);
    let setup = TotpSetup {
        secret: secret(TOTP_SECRET),
        qr_code: secret(QR_CODE),
        otpauth_url: secret(OTPAUTH_URL),
    };
    let recovery = RecoverySession {
        session: Session::new(secret(RECOVERY_SESSION), EMAIL),
        remaining_codes: 2,
    };
    let outcome = LoginOutcome::Session(Response::new(
        Session::new(secret(TOTP_SESSION), EMAIL),
        200,
        Some("req_1".into()),
    ));
    let client = client_for("http://127.0.0.1:9");
    let codes_resp = Response::new(
        vec![secret(SETUP_CODES[0]), secret(SETUP_CODES[1])],
        200,
        None,
    );
    let texts = [
        format!("{session:?}"),
        format!("{setup:?}"),
        format!("{recovery:?}"),
        format!("{outcome:?}"),
        format!("{client:?}"),
        format!("{:?}", client.transport()),
        format!("{codes_resp:?}"),
        format!("{:?}", Response::new(setup.clone(), 200, None)),
        format!("{:#?}", outcome),
    ];
    for t in &texts {
        assert_no_secret("an SDK type", t);
    }
    assert!(texts[0].contains(EMAIL), "Debug stays useful: {}", texts[0]);
    assert!(texts[4].contains("127.0.0.1:9"), "{}", texts[4]);
}

#[test]
fn sanitize_for_logs_redacts_the_seed_fields() {
    let seed_like = json!({
        "email": EMAIL,
        "fullname": "Ada Lovelace",
        "role": "detective",
        "org_id": "org_1",
        "api_key": KEY,
        "password": PASSWORD,
        "newPassword": NEW_PASSWORD,
        "oldPassword": PASSWORD,
        "sessionToken": SESSION,
        "tempToken": TEMP,
        "token": RESET_TOKEN,
        "totpCode": TOTP_CODE,
        "emailOTP": EMAIL_OTP,
        "recoveryCode": RECOVERY_CODE,
        "user": {
            "email": EMAIL,
            "2fa": {"secret": TOTP_SECRET, "qrCode": QR_CODE, "otpauth_url": OTPAUTH_URL},
            "recoveryCodes": SETUP_CODES,
        },
        "history": [
            {"token": VERIFY_TOKEN, "kind": "verify"},
            {"sessionToken": TOTP_SESSION, "kind": "login"},
        ],
    });
    let before = seed_like.to_string();
    for s in [KEY, PASSWORD, TOTP_SECRET, VERIFY_TOKEN] {
        assert!(before.contains(s));
    }
    let clean = sanitize_for_logs(seed_like);
    let text = clean.to_string();
    assert_no_secret("sanitize_for_logs output", &text);
    assert_eq!(clean["email"], EMAIL);
    assert_eq!(clean["role"], "detective");
    assert_eq!(clean["org_id"], "org_1");
    assert_eq!(clean["password"], "[REDACTED]");
    assert_eq!(clean["user"]["email"], EMAIL);
    assert_eq!(clean["user"]["recoveryCodes"], "[REDACTED]");
    assert_eq!(clean["user"]["2fa"]["qrCode"], "[REDACTED]");
    assert_eq!(clean["history"][0]["kind"], "verify");
    assert_eq!(clean["history"][1]["sessionToken"], "[REDACTED]");
}
