//! The facade against the in-process mock: the AuthFlow journey, error
//! codes, and that no error text carries a secret.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test"
)]

use std::sync::Arc;

use authflow_ffi::{
    AuthFlowClient, AuthflowError, Challenge, LoginOutcome, MockServer, Secret, Session, UserRef,
    totp_at,
};

const EMAIL: &str = "ada@example.com";
const ROLE: &str = "detective";
const PASSWORD: &str = "TestPass123!";

fn token_of(link: &str) -> Arc<Secret> {
    let t = link.split_once("token=").unwrap().1;
    Secret::new(t.split('&').next().unwrap().to_owned())
}

async fn challenge(c: &AuthFlowClient, pw: &Arc<Secret>) -> Arc<Challenge> {
    match c
        .login(EMAIL.into(), pw.clone(), ROLE.into())
        .await
        .unwrap()
    {
        LoginOutcome::TwoFactorRequired { challenge } => challenge,
        LoginOutcome::Session { .. } => panic!("expected a 2FA challenge"),
    }
}

fn code_now(mock: &MockServer, secret: &Arc<Secret>) -> Arc<Secret> {
    totp_at(secret.clone(), mock.now_secs() as u64).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journey_sign_up_verify_totp_logout() {
    let mock = MockServer::start().await.unwrap();
    let client = AuthFlowClient::new(mock.api_key(), Some(mock.base_url())).unwrap();
    let pw = Secret::new(PASSWORD.into());

    let session = client
        .sign_up(EMAIL.into(), pw.clone(), "Ada".into(), ROLE.into())
        .await
        .unwrap();
    assert_eq!(session.email, EMAIL);

    let mail = mock.latest_email(EMAIL.into()).unwrap().unwrap();
    assert_eq!(mail.kind, "verification");
    let token = token_of(&mail.links[0]);
    client.verify_email(token.clone()).await.unwrap();
    let again = client.verify_email(token).await.unwrap_err();
    assert_eq!(
        (again.code().as_str(), again.status()),
        ("unauthorized", Some(401))
    );

    let session = match client
        .login(EMAIL.into(), pw.clone(), ROLE.into())
        .await
        .unwrap()
    {
        LoginOutcome::Session { session } => session,
        LoginOutcome::TwoFactorRequired { .. } => panic!("no 2FA yet"),
    };
    assert!(client.validate(session.clone()).await.unwrap());
    let me = client.me(session.token.clone()).await.unwrap();
    let user = UserRef {
        email: me.email,
        org_id: me.org_id,
        role: me.role,
    };

    let setup = client
        .enable_totp(session.token.clone(), user.clone())
        .await
        .unwrap();
    let recovery = client
        .verify_totp_setup(
            session.token.clone(),
            user.clone(),
            code_now(&mock, &setup.secret),
            setup.secret.clone(),
        )
        .await
        .unwrap();
    assert!(!recovery.is_empty());

    mock.advance_clock(30);
    let c = challenge(&client, &pw).await;
    assert_eq!(c.user(), user);
    let s: Session = c.verify_totp(code_now(&mock, &setup.secret)).await.unwrap();
    assert!(client.validate(s.clone()).await.unwrap());

    let c = challenge(&client, &pw).await;
    let rec = c.verify_recovery_code(recovery[0].clone()).await.unwrap();
    assert_eq!(rec.remaining_codes as usize, recovery.len() - 1);

    client.logout(s.clone()).await.unwrap();
    assert!(!client.validate(s).await.unwrap());
    mock.shutdown().await;
    assert_eq!(mock.emails_to(EMAIL.into()).unwrap_err().code(), "mock");
}

fn assert_clean(e: &AuthflowError, secrets: &[&str]) {
    let texts = [e.detail(), e.to_string(), format!("{e:?}")];
    for t in &texts {
        for s in secrets {
            assert!(!t.contains(s), "secret in error text: {t}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_codes_and_no_secret_in_error_text() {
    let mock = MockServer::start().await.unwrap();
    let key = mock.api_key();
    let client = AuthFlowClient::new(key.clone(), Some(mock.base_url())).unwrap();
    let pw = "Wr0ng-Pass-42!";

    // A malformed key: invalid_input before any request; the key is not echoed.
    let e = AuthFlowClient::new(Secret::new("af_not-a-key-Sekrit".into()), None).unwrap_err();
    assert_eq!((e.code().as_str(), e.status()), ("invalid_input", None));
    assert_clean(&e, &["af_not-a-key-Sekrit"]);

    // Unknown user: the API's 404.
    let e = match client
        .login(EMAIL.into(), Secret::new(pw.into()), ROLE.into())
        .await
    {
        Err(e) => e,
        Ok(_) => panic!("login of an unknown user succeeded"),
    };
    assert_eq!((e.code().as_str(), e.status()), ("not_found", Some(404)));
    assert_clean(&e, &[pw, &key.expose()]);

    // Duplicate sign-up: 409 conflict.
    let good = Secret::new(PASSWORD.into());
    client
        .sign_up(EMAIL.into(), good.clone(), "Ada".into(), ROLE.into())
        .await
        .unwrap();
    let e = client
        .sign_up(EMAIL.into(), good, "Ada".into(), ROLE.into())
        .await
        .unwrap_err();
    assert_eq!((e.code().as_str(), e.status()), ("conflict", Some(409)));
    assert_clean(&e, &[PASSWORD, &key.expose()]);

    // Wrong password: 401, with the route named and the request id kept.
    let e = match client
        .login(EMAIL.into(), Secret::new(pw.into()), ROLE.into())
        .await
    {
        Err(e) => e,
        Ok(_) => panic!("login with a wrong password succeeded"),
    };
    assert_eq!((e.code().as_str(), e.status()), ("unauthorized", Some(401)));
    assert!(e.detail().contains("login"), "{}", e.detail());
    assert_clean(&e, &[pw, PASSWORD, &key.expose()]);

    // A weak password is rejected locally and not echoed.
    let e = client
        .sign_up(
            "bob@example.com".into(),
            Secret::new("weakpw".into()),
            "Bob".into(),
            ROLE.into(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "invalid_input");
    assert_clean(&e, &["weakpw"]);

    // Nothing listening: transport.
    let dead = AuthFlowClient::new(key, Some("http://127.0.0.1:9".into())).unwrap();
    let e = dead.forgot_password(EMAIL.into(), None).await.unwrap_err();
    assert_eq!((e.code().as_str(), e.status()), ("transport", None));

    // A bad TOTP secret.
    let e = totp_at(Secret::new("not base32!".into()), 0).unwrap_err();
    assert_eq!(e.code(), "invalid_input");
    assert_clean(&e, &["not base32!"]);
}
