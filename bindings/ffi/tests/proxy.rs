//! `ProxyServer` in front of the in-process mock: a key-less
//! `AuthFlowClient::via_proxy` signs up and logs in through it; options
//! take effect; bad configuration fails with `config` without the key in
//! the error; shutdown stops it.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test"
)]

use authflow_ffi::{AuthFlowClient, LoginOutcome, MockServer, ProxyOptions, ProxyServer, Secret};

const PASSWORD: &str = "TestPass123!";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_and_log_in_through_the_proxy() {
    let mock = MockServer::start().await.unwrap();
    let proxy = ProxyServer::start(mock.base_url(), mock.api_key())
        .await
        .unwrap();
    assert!(proxy.base_url().starts_with("http://127.0.0.1:"));
    assert_ne!(proxy.base_url(), mock.base_url());

    let client = AuthFlowClient::via_proxy(proxy.base_url()).unwrap();
    let pw = Secret::new(PASSWORD.into());
    let session = client
        .sign_up(
            "eve@example.com".into(),
            pw.clone(),
            "Eve".into(),
            "detective".into(),
        )
        .await
        .unwrap();
    assert_eq!(session.email, "eve@example.com");
    match client
        .login("eve@example.com".into(), pw.clone(), "detective".into())
        .await
        .unwrap()
    {
        LoginOutcome::Session { session } => {
            assert!(client.validate(session.clone()).await.unwrap());
            let me = client.me(session.token.clone()).await.unwrap();
            assert_eq!(me.email, "eve@example.com");
        }
        LoginOutcome::TwoFactorRequired { .. } => panic!("no 2FA yet"),
    }
    // The user exists upstream: the proxy forwarded with the real key.
    assert!(
        mock.latest_email("eve@example.com".into())
            .unwrap()
            .is_some()
    );
    let e = client
        .login(
            "eve@example.com".into(),
            Secret::new("Wrong123!x".into()),
            "detective".into(),
        )
        .await
        .unwrap_err();
    assert_eq!((e.code().as_str(), e.status()), ("unauthorized", Some(401)));

    proxy.shutdown().await;
    proxy.shutdown().await; // idempotent
    let e = client
        .login("eve@example.com".into(), pw, "detective".into())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "transport", "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_take_effect() {
    let mock = MockServer::start().await.unwrap();
    let proxy = ProxyServer::start_with(
        mock.base_url(),
        mock.api_key(),
        ProxyOptions {
            body_limit: Some(16),
            ..ProxyOptions::default()
        },
    )
    .await
    .unwrap();
    let client = AuthFlowClient::via_proxy(proxy.base_url()).unwrap();
    // forgot-password is a POST with a JSON body longer than 16 bytes.
    let e = client
        .forgot_password("someone-with-a-long-address@example.com".into(), None)
        .await
        .unwrap_err();
    assert_eq!(
        (e.code().as_str(), e.status()),
        ("payload_too_large", Some(413))
    );

    // Cookie mode with an allow-list starts; a malformed origin does not.
    let cookie = ProxyServer::start_with(
        mock.base_url(),
        mock.api_key(),
        ProxyOptions {
            cookie_origins: vec!["http://localhost:3000".into()],
            cors_origins: vec!["http://localhost:3000".into()],
            body_limit: None,
        },
    )
    .await
    .unwrap();
    cookie.shutdown().await;
    let e = ProxyServer::start_with(
        mock.base_url(),
        mock.api_key(),
        ProxyOptions {
            cors_origins: vec!["not an origin".into()],
            ..ProxyOptions::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), "config");
    proxy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_configuration_is_config_and_keeps_the_key_out() {
    let mock = MockServer::start().await.unwrap();
    let bad_key = Secret::new("af_not-a-valid-key-SECRETVALUE".into());
    let e = ProxyServer::start(mock.base_url(), bad_key.clone())
        .await
        .unwrap_err();
    assert_eq!((e.code().as_str(), e.status()), ("config", None));
    assert!(!e.to_string().contains(&bad_key.expose()));
    assert!(!format!("{e:?}").contains("SECRETVALUE"));

    let e = ProxyServer::start("ftp://nowhere".into(), mock.api_key())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "config");
    assert!(!e.detail().contains(&mock.api_key().expose()));

    let proxy = ProxyServer::start(mock.base_url(), mock.api_key())
        .await
        .unwrap();
    assert!(!format!("{proxy:?}").contains(&mock.api_key().expose()));
}
