//! The mock server's stable test-control API (`/__mock/…`), exercised over
//! HTTP the way tools in other languages use it: the captured outbox
//! (`GET /__mock/emails`), the clock (`POST /__mock/clock/advance`), resets
//! (`POST /__mock/reset`), the redacted request journal
//! (`GET /__mock/requests`) and fault injection (`POST`/`DELETE
//! /__mock/faults`); plus the code and link extraction every captured email
//! goes through (`authflow_mock::mail::extract`, via the outbox).
//!
//! Every test starts its own `MockServer`, so they run in parallel.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use authflow::api::authflow::{SignUpRequest, UserRef};
use authflow::{AuthFlowClient, Error, LoginOutcome, RequestOptions, RetryPolicy, Session, totp};
use authflow_mock::mail::extract::{codes, links};
use authflow_mock::mail::{EmailKind, Outgoing};
use authflow_mock::{Clock, MockServer, Outbox};
use authflow_tests::RecordingSleep;
use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

// ------------------------------------------------------------------ helpers

const ROLE: &str = "user";
const PASSWORD: &str = "Contr0l-Pass!";

async fn start() -> MockServer {
    MockServer::start().await.expect("mock server starts")
}

/// An SDK client for `server` whose retries do not wait (the sleeper records).
fn sdk(server: &MockServer) -> (AuthFlowClient, Arc<RecordingSleep>) {
    let sleep = Arc::new(RecordingSleep::default());
    let client = AuthFlowClient::builder()
        .api_key(server.api_key())
        .base_url(server.base_url())
        .retry(
            RetryPolicy::default()
                .base_delay(Duration::from_millis(1))
                .jitter(false),
        )
        .sleeper(sleep.clone())
        .build()
        .expect("valid client configuration");
    (client, sleep)
}

fn secret(s: &str) -> SecretString {
    SecretString::from(s)
}

fn url(server: &MockServer, path: &str, query: &[(&str, &str)]) -> Url {
    let mut url = Url::parse(&format!("{}{path}", server.base_url())).expect("valid URL");
    if !query.is_empty() {
        let mut pairs = url.query_pairs_mut();
        for (k, v) in query {
            pairs.append_pair(k, v);
        }
    }
    url
}

async fn json_of(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("response body");
    let value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("HTTP {status}: body is not JSON ({e}): {text:?}"));
    (status, value)
}

async fn get(server: &MockServer, path: &str, query: &[(&str, &str)]) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .get(url(server, path, query))
        .send()
        .await
        .expect("request sent");
    json_of(resp).await
}

/// POST a raw body (sent as JSON, whatever it is).
async fn post_raw(server: &MockServer, path: &str, body: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(url(server, path, &[]))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("request sent");
    json_of(resp).await
}

async fn post(server: &MockServer, path: &str, body: &Value) -> (u16, Value) {
    post_raw(server, path, &body.to_string()).await
}

async fn emails(server: &MockServer, to: Option<&str>) -> Vec<Value> {
    let query: Vec<(&str, &str)> = to.map(|t| ("to", t)).into_iter().collect();
    let (status, body) = get(server, "/__mock/emails", &query).await;
    assert_eq!(status, 200, "{body}");
    body.as_array().expect("emails is a JSON array").clone()
}

async fn journal(server: &MockServer) -> Vec<Value> {
    let (status, body) = get(server, "/__mock/requests", &[]).await;
    assert_eq!(status, 200, "{body}");
    body.as_array().expect("journal is a JSON array").clone()
}

/// The statuses the journal recorded for `route`, in order.
async fn statuses_of(server: &MockServer, route: &str) -> Vec<u64> {
    journal(server)
        .await
        .iter()
        .filter(|e| e["route"] == route)
        .map(|e| e["status"].as_u64().expect("status is a number"))
        .collect()
}

fn kinds(list: &[Value]) -> Vec<&str> {
    list.iter()
        .map(|e| e["kind"].as_str().expect("kind is a string"))
        .collect()
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

fn api_status(e: &Error) -> (u16, String) {
    match e {
        Error::Api {
            status, message, ..
        } => (*status, message.clone()),
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn expect_session(outcome: LoginOutcome) -> Session {
    match outcome {
        LoginOutcome::Session(s) => s.into_inner(),
        LoginOutcome::TwoFactorRequired(c) => panic!("unexpected 2FA challenge: {c:?}"),
    }
}

async fn sign_up(client: &AuthFlowClient, email: &str) -> Session {
    client
        .sign_up(email, &secret(PASSWORD), "Control Tester", ROLE)
        .await
        .expect("sign-up succeeds")
        .into_inner()
}

fn user_ref(server: &MockServer, email: &str) -> UserRef {
    UserRef {
        email: email.to_owned(),
        org_id: server.org_id(),
        role: ROLE.to_owned(),
    }
}

/// The TOTP code `offset` seconds from now on the server's clock.
fn totp_code(server: &MockServer, secret: &SecretString, offset: i64) -> SecretString {
    let at = u64::try_from(server.clock().now_secs() + offset).expect("positive time");
    SecretString::from(totp::code_at(secret, at).expect("valid TOTP secret"))
}

/// Turn 2FA on for a signed-in user; returns the TOTP secret.
async fn enable_2fa(
    server: &MockServer,
    client: &AuthFlowClient,
    session: &Session,
) -> SecretString {
    let user = user_ref(server, &session.email);
    let setup = client
        .enable_totp(&session.token, &user)
        .await
        .expect("2fa/enable")
        .into_inner();
    let code = totp_code(server, &setup.secret, 0);
    let recovery = client
        .verify_totp_setup(&session.token, &user, &code, &setup.secret)
        .await
        .expect("2fa/verify-setup");
    assert_eq!(recovery.len(), 10, "recovery codes issued");
    setup.secret
}

// ------------------------------------------------------------ GET /__mock/emails

const EMAIL_FIELDS: [&str; 10] = [
    "codes",
    "from",
    "html",
    "id",
    "kind",
    "links",
    "received_at",
    "subject",
    "text",
    "to",
];

#[tokio::test]
async fn emails_are_listed_newest_last_with_every_field() {
    let server = start().await;
    let (client, _) = sdk(&server);
    sign_up(&client, "ada@example.com").await;
    sign_up(&client, "bob@example.com").await;
    client
        .forgot_password("ada@example.com", Some(ROLE))
        .await
        .expect("forgot-password");

    let all = emails(&server, None).await;
    assert_eq!(all.len(), 3, "without `to`, every email: {all:#?}");
    let to: Vec<&str> = all.iter().map(|e| e["to"].as_str().expect("to")).collect();
    assert_eq!(
        to,
        ["ada@example.com", "bob@example.com", "ada@example.com"],
        "oldest first, newest last"
    );
    assert_eq!(
        kinds(&all),
        ["verification", "verification", "password_reset"]
    );
    let ids: BTreeSet<&str> = all.iter().map(|e| e["id"].as_str().expect("id")).collect();
    assert_eq!(ids.len(), 3, "ids are unique");
    // Same order as the in-process outbox.
    let in_process: Vec<String> = server.emails().all().into_iter().map(|e| e.id).collect();
    let over_http: Vec<&str> = all.iter().map(|e| e["id"].as_str().expect("id")).collect();
    assert_eq!(over_http, in_process);

    for email in &all {
        let obj = email.as_object().expect("email is an object");
        let keys: BTreeSet<&str> = obj.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            BTreeSet::from(EMAIL_FIELDS),
            "exactly the documented fields"
        );
        for field in ["id", "to", "from", "subject", "text", "html", "received_at"] {
            let s = obj[field].as_str().unwrap_or_default();
            assert!(!s.is_empty(), "{field} is a non-empty string: {email}");
        }
        assert!(
            email["id"]
                .as_str()
                .is_some_and(|id| id.starts_with("msg_"))
        );
        assert!(email["codes"].is_array() && email["links"].is_array());
        let at = email["received_at"].as_str().expect("received_at");
        assert!(
            at.len() == 24 && at.ends_with('Z') && at.as_bytes()[10] == b'T',
            "RFC 3339 UTC: {at}"
        );
    }
    let first = all[0]["received_at"].as_str().expect("received_at");
    let last = all[2]["received_at"].as_str().expect("received_at");
    assert!(first <= last, "received_at grows: {first} then {last}");
}

#[tokio::test]
async fn emails_filter_by_address_case_insensitively() {
    let server = start().await;
    let (client, _) = sdk(&server);
    sign_up(&client, "ada@example.com").await;
    sign_up(&client, "bob@example.com").await;
    client
        .forgot_password("ada@example.com", Some(ROLE))
        .await
        .expect("forgot-password");

    let ada = emails(&server, Some("ADA@Example.COM")).await;
    assert_eq!(kinds(&ada), ["verification", "password_reset"], "{ada:#?}");
    assert!(ada.iter().all(|e| e["to"] == "ada@example.com"));
    let reset = &ada[1];
    let reset_links = reset["links"].as_array().expect("links");
    assert_eq!(reset_links.len(), 1, "{reset}");
    assert!(
        reset_links[0]
            .as_str()
            .is_some_and(|l| l.contains("/reset-password?token=")),
        "{reset}"
    );

    let bob = emails(&server, Some("bob@example.com")).await;
    assert_eq!(kinds(&bob), ["verification"]);
    assert!(emails(&server, Some("nobody@example.com")).await.is_empty());
}

#[tokio::test]
async fn verification_email_carries_one_working_verify_link() {
    let server = start().await;
    let (client, _) = sdk(&server);
    sign_up(&client, "carol@example.com").await;

    let list = emails(&server, Some("carol@example.com")).await;
    assert_eq!(list.len(), 1, "{list:#?}");
    let mail = &list[0];
    assert_eq!(mail["kind"], "verification");
    assert_eq!(mail["codes"], json!([]), "no code in a verification email");
    let links = mail["links"].as_array().expect("links");
    assert_eq!(
        links.len(),
        1,
        "text and HTML carry the same link once: {mail}"
    );
    let link = links[0].as_str().expect("link is a string");
    assert!(
        link.starts_with(&format!("{}/auth/verify-email?token=", server.base_url())),
        "{link}"
    );
    assert!(mail["text"].as_str().is_some_and(|t| t.contains(link)));

    // The link works once.
    let http = reqwest::Client::new();
    let first = http.get(link).send().await.expect("verify link");
    assert_eq!(first.status().as_u16(), 200);
    let again = http.get(link).send().await.expect("verify link again");
    assert_eq!(
        again.status().as_u16(),
        401,
        "verification links are single-use"
    );
}

#[tokio::test]
async fn backup_email_codes_contain_the_code_that_signs_in() {
    let server = start().await;
    let (client, _) = sdk(&server);
    let email = "dave@example.com";
    let session = sign_up(&client, email).await;
    enable_2fa(&server, &client, &session).await;

    let challenge = match client
        .login(email, &secret(PASSWORD), ROLE)
        .await
        .expect("login")
    {
        LoginOutcome::TwoFactorRequired(c) => c,
        LoginOutcome::Session(_) => panic!("2FA is on: a challenge was expected"),
    };
    challenge.send_backup_email().await.expect("backup email");

    let list = emails(&server, Some(email)).await;
    assert_eq!(
        kinds(&list),
        ["verification", "two_factor_otp"],
        "{list:#?}"
    );
    let otp = &list[1];
    let codes = otp["codes"].as_array().expect("codes");
    assert_eq!(codes.len(), 1, "{otp}");
    let code = codes[0].as_str().expect("code is a string");
    assert!(
        code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()),
        "{code}"
    );
    assert!(otp["text"].as_str().is_some_and(|t| t.contains(code)));
    assert_eq!(otp["links"], json!([]));

    let signed_in = challenge
        .verify_email_otp(&secret(code))
        .await
        .expect("the extracted code signs in")
        .into_inner();
    let me = client.me(&signed_in.token).await.expect("me");
    assert_eq!(me.email, email);
}

// ------------------------------------------------------ POST /__mock/clock/advance

#[tokio::test]
async fn clock_advance_moves_now_forward() {
    let server = start().await;
    let before = server.clock().now_secs();
    let (status, body) = post(&server, "/__mock/clock/advance", &json!({"seconds": 46})).await;
    assert_eq!(status, 200, "{body}");
    let now_unix = body["now_unix"].as_i64().expect("now_unix is an integer");
    assert!(
        now_unix >= before + 46 && now_unix <= before + 48,
        "{now_unix} vs {before}"
    );
    assert!(
        body["now"].as_str().is_some_and(|s| s.ends_with('Z')),
        "{body}"
    );
    assert!(
        server.clock().now_secs() >= unix_now() + 45,
        "the server's clock moved"
    );

    // Fractions and zero are accepted; zero does not move the clock.
    let (status, body) = post(&server, "/__mock/clock/advance", &json!({"seconds": 0})).await;
    assert_eq!(status, 200, "{body}");
    let again = body["now_unix"].as_i64().expect("now_unix");
    assert!(
        again >= now_unix && again <= now_unix + 2,
        "{again} vs {now_unix}"
    );
    let (status, _) = post(&server, "/__mock/clock/advance", &json!({"seconds": 0.5})).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn clock_advance_rejects_bad_bodies() {
    let server = start().await;
    let bad = [
        "",
        "{}",
        "null",
        "46",
        r#"{"seconds": -1}"#,
        r#"{"seconds": -0.001}"#,
        r#"{"seconds": "46"}"#,
        r#"{"seconds": null}"#,
        r#"{"seconds": NaN}"#,
        r#"{"seconds": "NaN"}"#,
        r#"{"seconds": Infinity}"#,
        r#"{"seconds": 1e999}"#,
        r#"{"seconds": 2e9}"#,
        r#"{"seconds": 46, "extra": 1}"#,
        r#"{"secs": 46}"#,
        r#"{"seconds": 46"#,
    ];
    let before = server.clock().now_secs();
    for body in bad {
        let (status, resp) = post_raw(&server, "/__mock/clock/advance", body).await;
        assert_eq!(status, 400, "body {body:?} answered {resp}");
        let obj = resp.as_object().expect("error body is an object");
        assert_eq!(obj.len(), 1, "only `message`: {resp}");
        assert!(
            resp["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{resp}"
        );
    }
    assert!(
        server.clock().now_secs() <= before + 2,
        "rejected bodies must not move the clock"
    );
}

#[tokio::test]
async fn clock_advance_expires_a_foobar_token() {
    let server = start().await;
    let (client, _) = sdk(&server);
    let sign_up_with = |foobar: SecretString, email: &str| SignUpRequest {
        foobar,
        email: email.to_owned(),
        password: secret(PASSWORD),
        fullname: "Eve Expiry".into(),
        role: ROLE.into(),
        disclaimed: true,
    };

    let stale = client
        .foobar("eve@example.com", Some(ROLE))
        .await
        .expect("fooBar")
        .into_inner();
    let (status, body) = post(&server, "/__mock/clock/advance", &json!({"seconds": 46})).await;
    assert_eq!(status, 200, "{body}");

    let err = client
        .transport()
        .send(
            &sign_up_with(stale, "eve@example.com"),
            &RequestOptions::new(),
        )
        .await
        .expect_err("a 46-second-old fooBar token is expired");
    assert_eq!(
        api_status(&err),
        (401, "Invalid or expired token".to_owned())
    );

    // A fresh token on the advanced clock works: the expiry was the cause.
    let fresh = client
        .foobar("eve@example.com", Some(ROLE))
        .await
        .expect("fooBar")
        .into_inner();
    let ok = client
        .transport()
        .send(
            &sign_up_with(fresh, "eve@example.com"),
            &RequestOptions::new(),
        )
        .await
        .expect("sign-up with a fresh fooBar");
    assert_eq!(ok.status(), 200);
}

// ---------------------------------------------------------------- POST /__mock/reset

#[tokio::test]
async fn reset_forgets_state_and_keeps_the_seeded_org() {
    let server = start().await;
    let (client, _) = sdk(&server);
    let email = "frank@example.com";
    let session = sign_up(&client, email).await;
    expect_session(
        client
            .login(email, &secret(PASSWORD), ROLE)
            .await
            .expect("login before reset"),
    );
    let (status, _) = post(&server, "/__mock/clock/advance", &json!({"seconds": 7200})).await;
    assert_eq!(status, 200);
    let (status, _) = post(
        &server,
        "/__mock/faults",
        &json!({"route": "fooBar", "status": 503, "times": 100}),
    )
    .await;
    assert_eq!(status, 201);
    assert!(!emails(&server, None).await.is_empty());
    assert!(!journal(&server).await.is_empty());

    let (status, body) = post_raw(&server, "/__mock/reset", "").await;
    assert_eq!(status, 200, "{body}");

    assert!(emails(&server, None).await.is_empty(), "emails forgotten");
    assert!(journal(&server).await.is_empty(), "journal forgotten");
    let now = server.clock().now_secs();
    assert!(
        (now - unix_now()).abs() <= 2,
        "clock back to real time: {now} vs {}",
        unix_now()
    );

    // Faults are gone too: fooBar answers at once, without retries.
    let no_retry = client.with_options(RequestOptions::new().retry(RetryPolicy::none()));
    let err = no_retry
        .login(email, &secret(PASSWORD), ROLE)
        .await
        .expect_err("the user was forgotten");
    assert_eq!(api_status(&err).0, 404, "{err}");
    assert!(
        !client.validate(&session).await.expect("validate"),
        "sessions forgotten"
    );

    // The seeded organization and its owner survive.
    let org = server.default_org();
    let owner = expect_session(
        no_retry
            .login(&org.owner_email, &org.owner_password, &org.owner_role)
            .await
            .expect("owner login after reset"),
    );
    assert!(client.validate(&owner).await.expect("validate"));
    // The email is free again.
    sign_up(&client, email).await;
}

// ------------------------------------------------------------- GET /__mock/requests

#[tokio::test]
async fn journal_records_every_api_request_with_secrets_redacted() {
    let server = start().await;
    let (client, _) = sdk(&server);
    let email = "grace@example.com";
    let password = secret(PASSWORD);

    // signUp with a fooBar token this test holds, so it can look for it.
    let foobar = client
        .foobar(email, Some(ROLE))
        .await
        .expect("fooBar")
        .into_inner();
    let signed_up = client
        .transport()
        .send(
            &SignUpRequest {
                foobar: foobar.clone(),
                email: email.into(),
                password: password.clone(),
                fullname: "Grace Journal".into(),
                role: ROLE.into(),
                disclaimed: true,
            },
            &RequestOptions::new(),
        )
        .await
        .expect("signUp")
        .into_inner()
        .token;
    client.me(&signed_up).await.expect("me");
    let session = Session::new(signed_up.clone(), email);
    let totp_secret = enable_2fa(&server, &client, &session).await;

    // Login with TOTP.
    let LoginOutcome::TwoFactorRequired(challenge) =
        client.login(email, &password, ROLE).await.expect("login")
    else {
        panic!("2FA is on");
    };
    let temp_1 = challenge.temp_token().clone();
    let via_totp = challenge
        .verify_totp(&totp_code(&server, &totp_secret, 30))
        .await
        .expect("verify-2fa")
        .into_inner();

    // Login with the backup email code.
    let LoginOutcome::TwoFactorRequired(challenge) =
        client.login(email, &password, ROLE).await.expect("login")
    else {
        panic!("2FA is on");
    };
    let temp_2 = challenge.temp_token().clone();
    challenge.send_backup_email().await.expect("backup email");
    let otp = server
        .emails()
        .latest(email)
        .expect("backup email captured")
        .codes[0]
        .clone();
    let via_email = challenge
        .verify_email_otp(&secret(&otp))
        .await
        .expect("verify-email-otp")
        .into_inner();

    // The owner deletes the user (a bearer-authenticated route).
    let org = server.default_org().clone();
    let owner = expect_session(
        client
            .login(&org.owner_email, &org.owner_password, &org.owner_role)
            .await
            .expect("owner login"),
    );
    client
        .delete_user(&owner, &server.org_id(), email)
        .await
        .expect("deleteUser");

    // Control routes in between are not journaled.
    emails(&server, None).await;
    post(&server, "/__mock/clock/advance", &json!({"seconds": 0})).await;

    let entries = journal(&server).await;
    let routes: Vec<&str> = entries
        .iter()
        .map(|e| e["route"].as_str().unwrap_or("<none>"))
        .collect();
    assert_eq!(
        routes,
        [
            "fooBar",
            "signUp",
            "me",
            "2fa/enable",
            "2fa/verify-setup",
            "fooBar",
            "login",
            "2fa/verify-2fa",
            "fooBar",
            "login",
            "2fa/backup/email",
            "2fa/verify-email-otp",
            "fooBar",
            "login",
            "deleteUser",
        ],
        "one entry per API request, in order, control routes excluded"
    );
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e["seq"], json!(i + 1), "{e}");
        assert_eq!(e["status"], 200, "{e}");
        assert!(e["at"].as_str().is_some_and(|a| a.ends_with('Z')), "{e}");
        let path = e["path"].as_str().expect("path");
        assert!(path.starts_with("/auth/") && !path.contains('?'), "{e}");
        let get = e["method"] == "GET";
        assert!(get || e["method"] == "POST", "{e}");
        assert_eq!(
            e["body"].is_null(),
            get,
            "GET routes have no body, POST routes a JSON one: {e}"
        );
        assert_eq!(
            e["query"].as_array().is_some_and(|q| !q.is_empty()),
            get,
            "{e}"
        );
        assert_eq!(
            e["authorization"],
            json!(e["route"] == "deleteUser"),
            "only deleteUser sends Authorization: {e}"
        );
    }

    // Nothing secret survives anywhere in the journal.
    let dump = serde_json::to_string(&entries).expect("journal serializes");
    let secrets = [
        ("password", password.expose_secret().to_owned()),
        (
            "owner password",
            org.owner_password.expose_secret().to_owned(),
        ),
        ("api key", server.api_key().expose_secret().to_owned()),
        ("fooBar token", foobar.expose_secret().to_owned()),
        ("signUp session", signed_up.expose_secret().to_owned()),
        ("TOTP session", via_totp.token.expose_secret().to_owned()),
        (
            "email-OTP session",
            via_email.token.expose_secret().to_owned(),
        ),
        ("owner session", owner.token.expose_secret().to_owned()),
        ("TOTP secret", totp_secret.expose_secret().to_owned()),
        ("temp token 1", temp_1.expose_secret().to_owned()),
        ("temp token 2", temp_2.expose_secret().to_owned()),
    ];
    for (what, value) in &secrets {
        assert!(value.len() >= 8, "{what} is long enough to search for");
        assert!(
            !dump.contains(value.as_str()),
            "the journal leaks the {what}"
        );
    }
    assert!(dump.contains(email), "non-secret values are kept");

    let field = |route: &str, n: usize| -> Value {
        entries
            .iter()
            .filter(|e| e["route"] == route)
            .nth(n)
            .unwrap_or_else(|| panic!("entry {n} of {route}"))
            .clone()
    };
    // The first login: api_key exactly once, redacted; other secrets too.
    let login = field("login", 0);
    assert_eq!(login["method"], "GET");
    assert_eq!(login["path"], "/auth/login");
    let query: Vec<(String, String)> =
        serde_json::from_value(login["query"].clone()).expect("query is [name, value] pairs");
    let keys: Vec<&(String, String)> = query.iter().filter(|(k, _)| k == "api_key").collect();
    assert_eq!(
        keys,
        [&("api_key".to_owned(), "[REDACTED]".to_owned())],
        "{query:?}"
    );
    let value_of = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(value_of("password"), Some("[REDACTED]"));
    assert_eq!(value_of("foobar"), Some("[REDACTED]"));
    assert_eq!(value_of("email"), Some(email));
    assert_eq!(value_of("role"), Some(ROLE));

    let verify_setup = field("2fa/verify-setup", 0);
    assert_eq!(verify_setup["body"]["secret"], "[REDACTED]");
    assert_eq!(verify_setup["body"]["totpCode"], "[REDACTED]");
    assert_eq!(verify_setup["body"]["sessionToken"], "[REDACTED]");
    assert_eq!(verify_setup["body"]["email"], email);
    assert_eq!(field("2fa/verify-2fa", 0)["body"]["totpCode"], "[REDACTED]");
    assert_eq!(
        field("2fa/verify-2fa", 0)["body"]["tempToken"],
        "[REDACTED]"
    );
    assert_eq!(
        field("2fa/verify-email-otp", 0)["body"]["emailOTP"],
        "[REDACTED]"
    );
    let me = field("me", 0);
    assert_eq!(me["query"], json!([["sessionToken", "[REDACTED]"]]), "{me}");
}

#[tokio::test]
async fn journal_records_unknown_paths_and_errors_but_not_control_routes() {
    let server = start().await;
    let http = reqwest::Client::new();
    let resp = http
        .get(url(&server, "/auth/no-such-route", &[("x", "1")]))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 404);
    let resp = http
        .post(url(&server, "/auth/forgot-password", &[]))
        .json(&json!({"email": "x@example.com", "api_key": "af_00000000000000000000000000000000"}))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 401);
    for _ in 0..3 {
        emails(&server, None).await;
        journal(&server).await;
    }
    let resp = http
        .delete(url(&server, "/__mock/faults", &[]))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 200);

    let entries = journal(&server).await;
    assert_eq!(entries.len(), 2, "{entries:#?}");
    assert_eq!(entries[0]["path"], "/auth/no-such-route");
    assert_eq!(entries[0]["route"], Value::Null);
    assert_eq!(entries[0]["status"], 404);
    assert_eq!(entries[0]["query"], json!([["x", "1"]]));
    assert_eq!(entries[1]["route"], "forgot-password");
    assert_eq!(entries[1]["method"], "POST");
    assert_eq!(entries[1]["status"], 401);
    assert_eq!(
        entries[1]["body"],
        json!({"email": "x@example.com", "api_key": "[REDACTED]"}),
        "a key in a JSON body is redacted too"
    );
}

// ---------------------------------------------------------------- /__mock/faults

#[tokio::test]
async fn fault_by_route_name_is_retried_through_by_the_sdk() {
    let server = start().await;
    let (client, sleep) = sdk(&server);
    let session = sign_up(&client, "heidi@example.com").await;

    let (status, body) = post(
        &server,
        "/__mock/faults",
        &json!({"route": "me", "status": 503, "times": 2}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["route"], "me");

    let me = client
        .me(&session.token)
        .await
        .expect("two 503s, then the third attempt succeeds");
    assert_eq!(me.email, "heidi@example.com");
    assert_eq!(sleep.delays().len(), 2, "two retries");
    assert_eq!(statuses_of(&server, "me").await, [503, 503, 200]);

    // The fault is spent: the next call succeeds at once.
    client.me(&session.token).await.expect("me");
    assert_eq!(sleep.delays().len(), 2, "no more retries");

    // More failures than retries: the SDK gives up with the injected status.
    let (status, _) = post(
        &server,
        "/__mock/faults",
        &json!({"route": "me", "status": 503, "times": 3}),
    )
    .await;
    assert_eq!(status, 201);
    let err = client
        .me(&session.token)
        .await
        .expect_err("three 503s exhaust two retries");
    assert_eq!(api_status(&err).0, 503);
    assert_eq!(
        statuses_of(&server, "me").await,
        [503, 503, 200, 200, 503, 503, 503]
    );
    client.me(&session.token).await.expect("fault spent");
}

#[tokio::test]
async fn fault_by_path_fails_one_login() {
    let server = start().await;
    let (client, sleep) = sdk(&server);
    sign_up(&client, "ivan@example.com").await;

    let (status, body) = post(
        &server,
        "/__mock/faults",
        &json!({"route": "/auth/login", "status": 500, "times": 1}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body["route"], "login",
        "the path resolves to the route name"
    );

    let err = client
        .login("ivan@example.com", &secret(PASSWORD), ROLE)
        .await
        .expect_err("the injected 500");
    let (status, message) = api_status(&err);
    assert_eq!(status, 500);
    assert!(!message.is_empty());
    assert!(sleep.delays().is_empty(), "login mutates: not retried");

    expect_session(
        client
            .login("ivan@example.com", &secret(PASSWORD), ROLE)
            .await
            .expect("the fault was used once"),
    );
    assert_eq!(statuses_of(&server, "login").await, [500, 200]);
    assert_eq!(
        statuses_of(&server, "fooBar").await,
        [200, 200, 200],
        "other routes unaffected"
    );
}

#[tokio::test]
async fn fault_latency_delays_the_route() {
    let server = start().await;
    let (client, _) = sdk(&server);
    let (status, body) = post(
        &server,
        "/__mock/faults",
        &json!({"route": "fooBar", "latency_ms": 150}),
    )
    .await;
    assert_eq!(status, 201, "{body}");

    for _ in 0..2 {
        let started = Instant::now();
        client
            .foobar("judy@example.com", None)
            .await
            .expect("slow but successful");
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(150),
            "latency applies to every call: {took:?}"
        );
    }
    assert_eq!(statuses_of(&server, "fooBar").await, [200, 200]);
}

#[tokio::test]
async fn fault_requests_are_validated() {
    let server = start().await;
    let (status, body) = post(
        &server,
        "/__mock/faults",
        &json!({"route": "no-such-route", "status": 503}),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert!(body["message"].is_string(), "{body}");
    let (status, _) = post(
        &server,
        "/__mock/faults",
        &json!({"route": "/auth/nope", "status": 503}),
    )
    .await;
    assert_eq!(status, 404);

    let bad = [
        json!({"route": "me", "status": 99}),
        json!({"route": "me", "status": 0}),
        json!({"route": "me", "status": 150}),
        json!({"route": "me", "status": 1000}),
        json!({"route": "me", "status": 70000}),
        json!({"route": "me", "status": -1}),
        json!({"route": "me", "status": "503"}),
        json!({"route": "me", "status": 503, "times": -1}),
        json!({"route": "me", "latency_ms": "fast"}),
        json!({"status": 503}),
        json!([]),
    ];
    for fault in &bad {
        let (status, body) = post(&server, "/__mock/faults", fault).await;
        assert_eq!(status, 400, "{fault} answered {body}");
        assert!(body["message"].is_string(), "{body}");
    }
    let (status, _) = post_raw(&server, "/__mock/faults", "{not json").await;
    assert_eq!(status, 400);

    // None of them took effect.
    let (client, sleep) = sdk(&server);
    let session = sign_up(&client, "ken@example.com").await;
    client.me(&session.token).await.expect("me");
    assert!(sleep.delays().is_empty());
    assert_eq!(statuses_of(&server, "me").await, [200]);
}

#[tokio::test]
async fn delete_faults_clears_them() {
    let server = start().await;
    let (client, sleep) = sdk(&server);
    let session = sign_up(&client, "liam@example.com").await;
    for fault in [
        json!({"route": "me", "status": 503, "times": 50}),
        json!({"route": "validate", "status": 500, "times": 50}),
    ] {
        let (status, _) = post(&server, "/__mock/faults", &fault).await;
        assert_eq!(status, 201);
    }
    let err = client
        .with_options(RequestOptions::new().retry(RetryPolicy::none()))
        .me(&session.token)
        .await
        .expect_err("fault in place");
    assert_eq!(api_status(&err).0, 503);

    let resp = reqwest::Client::new()
        .delete(url(&server, "/__mock/faults", &[]))
        .send()
        .await
        .expect("DELETE");
    let (status, body) = json_of(resp).await;
    assert_eq!(status, 200, "{body}");

    let strict = client.with_options(RequestOptions::new().retry(RetryPolicy::none()));
    strict.me(&session.token).await.expect("faults cleared");
    assert!(strict.validate(&session).await.expect("validate"));
    assert!(sleep.delays().is_empty());
    assert_eq!(statuses_of(&server, "me").await, [503, 200]);
    assert_eq!(statuses_of(&server, "validate").await, [200]);
}

// ------------------------------------------------------- code and link extraction

struct Case {
    name: &'static str,
    subject: &'static str,
    text: &'static str,
    html: &'static str,
    codes: &'static [&'static str],
    links: &'static [&'static str],
}

/// Send `case` through an outbox and compare what it extracted.
fn check(outbox: &Outbox, clock: &Clock, case: &Case) {
    let mail = outbox.send(
        clock,
        Outgoing {
            to: "Inbox@Example.com".into(),
            subject: case.subject.into(),
            text: case.text.into(),
            html: case.html.into(),
            kind: EmailKind::TwoFactorOtp,
        },
    );
    assert_eq!(mail.codes, case.codes, "codes of {:?}", case.name);
    assert_eq!(mail.links, case.links, "links of {:?}", case.name);
}

#[test]
fn outbox_extracts_codes_and_links_from_realistic_emails() {
    let cases = [
        Case {
            name: "code first in the subject",
            subject: "482913 is your AuthFlow code",
            text: "Use 482913 to finish signing in. It expires in 10 minutes.",
            html: "<p>Use <strong>482913</strong> to finish signing in.</p>",
            codes: &["482913"],
            links: &[],
        },
        Case {
            name: "HTML-only verification with &amp; in the href",
            subject: "Verify your email address",
            text: "",
            html: r#"<table><tr><td><a href="https://app.example.com/auth/verify-email?token=9f86d081884c7d65&amp;utm_source=email&amp;utm_medium=transactional" style="color:#1a73e8">Verify</a></td></tr></table>"#,
            codes: &[],
            links: &[
                "https://app.example.com/auth/verify-email?token=9f86d081884c7d65&utm_source=email&utm_medium=transactional",
            ],
        },
        Case {
            name: "tracking redirect in text and HTML, one link",
            subject: "Reset your password",
            text: "Reset it here:\nhttps://click.mailer.example.net/ls/click?upn=u001.QWxh-2FZm9v&u=https%3A%2F%2Fapp.example.com%2Freset-password%3Ftoken%3Dabc123\n",
            html: r#"<a href="https://click.mailer.example.net/ls/click?upn=u001.QWxh-2FZm9v&amp;u=https%3A%2F%2Fapp.example.com%2Freset-password%3Ftoken%3Dabc123">Reset</a>"#,
            codes: &[],
            links: &[
                "https://click.mailer.example.net/ls/click?upn=u001.QWxh-2FZm9v&u=https%3A%2F%2Fapp.example.com%2Freset-password%3Ftoken%3Dabc123",
            ],
        },
        Case {
            name: "redirect carrying an unencoded URL stays one link",
            subject: "Confirm",
            text: "Open https://t.example.com/r?sig=a1b2&to=https://app.example.com/auth/verify-email?token=feed01 to confirm.",
            html: "",
            codes: &[],
            links: &[
                "https://t.example.com/r?sig=a1b2&to=https://app.example.com/auth/verify-email?token=feed01",
            ],
        },
        Case {
            name: "trailing punctuation",
            subject: "Links",
            text: "Verify: https://app.example.com/auth/verify-email?token=abc123. Help (https://help.example.com/2fa)! Status https://status.example.com/, or https://example.com/faq?q=codes; thanks",
            html: "",
            codes: &[],
            links: &[
                "https://app.example.com/auth/verify-email?token=abc123",
                "https://help.example.com/2fa",
                "https://status.example.com/",
                "https://example.com/faq?q=codes",
            ],
        },
        Case {
            name: "links in text and HTML, deduplicated, text first",
            subject: "Welcome",
            text: "Start: https://app.example.com/start\nDocs: https://docs.example.com/",
            html: r#"<a href='https://docs.example.com/'>Docs</a> <a href="https://app.example.com/start">Start</a> <a href="http://legacy.example.com/unsubscribe?id=42&amp;list=7">Unsubscribe</a>"#,
            codes: &[],
            links: &[
                "https://app.example.com/start",
                "https://docs.example.com/",
                "http://legacy.example.com/unsubscribe?id=42&list=7",
            ],
        },
        Case {
            name: "ISO and slashed dates, times",
            subject: "Sign-in code",
            text: "Requested at 2026-04-06T21:33:45Z (06/04/2026, 21:33:45 UTC). Code 55012 expires at 21:43.",
            html: "",
            codes: &["55012"],
            links: &[],
        },
        Case {
            name: "hyphenated phone numbers",
            subject: "Your code: 660912",
            text: "Didn't ask for it? Call 1-800-555-0199 or +1 (555) 010-4477.",
            html: "",
            codes: &["660912"],
            links: &[],
        },
        Case {
            name: "code in subject and text, counted once",
            subject: "Your sign-in code: 104729",
            text: "Enter 104729 on the sign-in page. Do not share 104729 with anyone.",
            html: "",
            codes: &["104729"],
            links: &[],
        },
        Case {
            name: "amounts, versions, identifiers",
            subject: "Receipt",
            text: "Total $1,234.56, version 12345.6, rate 1.2345, request req_20260406_482913, session abc-778899, token=deadbeef123456.",
            html: "",
            codes: &[],
            links: &[],
        },
        Case {
            name: "too short and too long",
            subject: "Numbers",
            text: "Your PIN has 123 digits? No: account 123456789012 and code 7391.",
            html: "",
            codes: &["7391"],
            links: &[],
        },
        Case {
            name: "several codes in order",
            subject: "Recovery",
            text: "Backup codes:\n  11223344\n  55667788\n  11223344\n",
            html: "",
            codes: &["11223344", "55667788"],
            links: &[],
        },
        Case {
            name: "URL with port and digits in the path",
            subject: "Local link",
            text: "Local: http://127.0.0.1:4010/auth/verify-email?token=0123456789abcdef0123456789abcdef",
            html: "",
            codes: &[],
            links: &[
                "http://127.0.0.1:4010/auth/verify-email?token=0123456789abcdef0123456789abcdef",
            ],
        },
    ];
    assert!(cases.len() >= 12);
    let outbox = Outbox::default();
    let clock = Clock::new();
    for case in &cases {
        check(&outbox, &clock, case);
    }
    let all = outbox.to("inbox@example.com");
    assert_eq!(
        all.len(),
        cases.len(),
        "every email captured, address lowercased"
    );
    assert_eq!(all[0].subject, cases[0].subject, "oldest first");

    // The functions directly: codes come from text, links from text or HTML.
    assert_eq!(codes("123456 is your code"), ["123456"]);
    assert_eq!(
        links(r#"<a href="https://a.example/x?y=1&amp;z=2">go</a>."#),
        ["https://a.example/x?y=1&z=2"]
    );
    assert!(links("no scheme: www.example.com/path").is_empty());
}

/// Years and space-separated phone numbers standing alone look like codes
/// but are not.
#[test]
fn codes_ignore_years_and_phone_numbers() {
    let cases: &[(&str, &[&str])] = &[
        (
            "Your code is 731904.\n\n© 2026 AuthFlow, Inc. All rights reserved.",
            &["731904"],
        ),
        (
            "New sign-in on Monday, April 6, 2026 at 21:33 UTC. Code: 318204",
            &["318204"],
        ),
        ("Copyright 2025 AuthFlow", &[]),
        (
            "Questions? Call +44 20 7946 0958 or (555) 123 4567. Your code is 660912.",
            &["660912"],
        ),
    ];
    let wrong: Vec<String> = cases
        .iter()
        .filter_map(|(text, want)| {
            let got = codes(text);
            (got != want.to_vec()).then(|| format!("{text:?}: got {got:?}, want {want:?}"))
        })
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

// ------------------------------------------------------------------ OpenAPI

#[tokio::test]
async fn openapi_document_covers_every_served_route() {
    let server = start().await;
    let (status, doc) = get(&server, "/openapi.json", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["servers"][0]["url"], server.base_url());
    for r in authflow::api::routes::ROUTES {
        let method = r.method.as_str().to_ascii_lowercase();
        let op = &doc["paths"][r.path][&method];
        assert!(op.is_object(), "{} {} not documented", r.method, r.path);
        // Every documented parameter of the route appears, as a query
        // parameter (GET) or in the request schema (POST).
        let text = op.to_string();
        for f in r.fields {
            if r.method == authflow::api::Method::Get {
                assert!(
                    text.contains(&format!("\"name\":\"{}\"", f.name)),
                    "{} lacks {}",
                    r.path,
                    f.name
                );
            }
        }
    }
    for extra in [
        "/.well-known/jwks.json",
        "/openapi.json",
        "/__mock/emails",
        "/__mock/clock/advance",
        "/__mock/reset",
        "/__mock/requests",
        "/__mock/faults",
    ] {
        assert!(doc["paths"][extra].is_object(), "{extra} not documented");
    }
    // POST schemas carry the documented body fields.
    let schemas = &doc["components"]["schemas"];
    let verify = schemas["TwoFactorVerifyRequest"].to_string();
    for f in ["tempToken", "email", "org_id", "role", "totpCode"] {
        assert!(
            verify.contains(f) || schemas["UserRef"].to_string().contains(f),
            "{f}"
        );
    }
}
