//! `AidenIdClient` against the in-process mock: identities and their inbox,
//! reliability runs against the mock's demo targets (link and OTP), secret
//! retrieval only with `secrets:read`, run timeouts on the mock clock, and
//! error codes, with no key or extracted value in any error or `Debug`.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test"
)]

use std::sync::Arc;

use authflow_ffi::{AgentKey, AidenIdClient, MockServer, Secret};

fn client(mock: &MockServer, key: &AgentKey) -> Arc<AidenIdClient> {
    AidenIdClient::new(
        key.key.clone(),
        key.org_id.clone(),
        key.project_id.clone(),
        Some(mock.base_url()),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identities_inbox_and_squash() {
    let mock = MockServer::start().await.unwrap();
    let aid = client(&mock, &mock.agent_key());
    assert_eq!(aid.base_url(), mock.base_url());

    let ident = aid
        .create_identity("signup-test".into(), Some(2))
        .await
        .unwrap();
    assert!(ident.id.starts_with("ident_"), "{ident:?}");
    assert_eq!(ident.label, "signup-test");
    assert_eq!(ident.status, "active");
    assert!(ident.email.contains('@'));
    assert_eq!(aid.identity(ident.id.clone()).await.unwrap(), ident);

    let other = aid.create_identity("second".into(), None).await.unwrap();
    let page = aid.list_identities(Some(1), Some(0)).await.unwrap();
    assert_eq!((page.total, page.limit, page.offset), (2, 1, 0));
    assert_eq!(page.items.len(), 1);
    let rest = aid.list_identities(Some(1), Some(1)).await.unwrap();
    assert_ne!(rest.items[0].id, page.items[0].id);

    // A mail with a code arrives; the inbox shows it redacted.
    let ids = mock
        .deliver_email(
            ident.email.clone(),
            "no-reply@example.com".into(),
            "Your code".into(),
            "Your verification code is 482913.".into(),
        )
        .unwrap();
    assert_eq!(ids.len(), 1);
    let messages = aid.messages(ident.id.clone()).await.unwrap();
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(
        (m.id.as_str(), m.identity_id.as_str()),
        (ids[0].as_str(), ident.id.as_str())
    );
    assert_eq!(m.subject, "Your code");
    assert!(m.sender.contains("no-reply@example.com"));
    let x = m.extraction.clone().unwrap();
    assert_eq!(x.kind, "otp");
    assert_eq!(x.redacted_value, "***913");
    assert!(!format!("{messages:?}").contains("482913"));
    assert!(aid.messages(other.id.clone()).await.unwrap().is_empty());

    let squashed = aid.squash_identity(ident.id.clone()).await.unwrap();
    assert_eq!(squashed.status, "squashed");
    let e = aid.squash_identity(ident.id.clone()).await.unwrap_err();
    assert_eq!(
        (e.code().as_str(), e.status()),
        ("identity_already_squashed", Some(409))
    );
    let e = aid.identity("ident_nope".into()).await.unwrap_err();
    assert_eq!(
        (e.code().as_str(), e.status()),
        ("identity_not_found", Some(404))
    );
    assert!(e.request_id().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_reset_run_completes_and_secret_needs_the_scope() {
    let mock = MockServer::start().await.unwrap();
    let aid = client(&mock, &mock.agent_key());
    let ident = aid.create_identity("reset".into(), Some(1)).await.unwrap();
    let target = mock.demo_target_url("password_reset".into()).unwrap();
    assert_eq!(
        target,
        format!("{}/__mock/demo/forgot-password", mock.base_url())
    );

    let created = aid
        .create_password_reset_run(ident.id.clone(), target.clone(), Some(120))
        .await
        .unwrap();
    assert!(created.id.starts_with("run_"));
    assert_eq!(created.kind, "password_reset");
    assert_eq!(created.identity_id, ident.id);
    assert_eq!(created.target_url, target);

    let run = aid
        .wait_for_run(created.id.clone(), Some(30_000))
        .await
        .unwrap();
    assert_eq!(run.status, "completed", "{run:?}");
    assert!(run.completed_at.is_some());
    assert!(run.failure.is_none());
    let result = run.result.clone().unwrap();
    assert_eq!(result.kind, "link");
    assert!(result.has_secret && result.secret_retrieval_available);
    assert!(result.redacted_value.starts_with("***"));
    assert!(result.confidence > 0.5 && result.confidence <= 1.0);
    assert_eq!(aid.run(run.id.clone()).await.unwrap(), run);

    // Forbidden without secrets:read; the link with it, ending as redacted.
    let e = aid.run_secret(run.id.clone()).await.unwrap_err();
    assert_eq!((e.code().as_str(), e.status()), ("forbidden", Some(403)));
    let privileged = client(&mock, &mock.agent_key_with_secrets());
    let secret = privileged.run_secret(run.id.clone()).await.unwrap();
    let value = secret.expose();
    assert!(value.contains("/__mock/demo/reset?token="), "a link");
    assert!(value.ends_with(&result.redacted_value[3..]));
    assert_eq!(format!("{secret:?}"), "[REDACTED]");
    assert!(!format!("{run:?}").contains(&value));

    let page = aid
        .list_runs(Some("completed".into()), None, None)
        .await
        .unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.items[0].id, run.id);
    assert_eq!(
        aid.list_runs(Some("failed".into()), None, None)
            .await
            .unwrap()
            .total,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invite_run_extracts_an_otp() {
    let mock = MockServer::start().await.unwrap();
    let aid = client(&mock, &mock.agent_key_with_secrets());
    let ident = aid.create_identity("invite".into(), None).await.unwrap();
    let target = mock.demo_target_url("invite".into()).unwrap();
    let created = aid
        .create_invite_run(ident.id.clone(), target, None)
        .await
        .unwrap();
    assert_eq!(created.kind, "invite");
    let run = aid.wait_for_run(created.id, None).await.unwrap();
    assert_eq!(run.status, "completed", "{run:?}");
    let result = run.result.unwrap();
    assert_eq!(result.kind, "otp");
    let code = aid.run_secret(run.id).await.unwrap().expose();
    assert_eq!(code.len(), 6);
    assert!(code.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(result.redacted_value, format!("***{}", &code[3..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_mail_times_out_on_the_mock_clock_and_waits_give_up() {
    let mock = MockServer::start().await.unwrap();
    let aid = client(&mock, &mock.agent_key_with_secrets());
    let ident = aid.create_identity("drop".into(), None).await.unwrap();
    let target = format!(
        "{}?drop=true",
        mock.demo_target_url("password_reset".into()).unwrap()
    );
    let created = aid
        .create_password_reset_run(ident.id.clone(), target, Some(60))
        .await
        .unwrap();
    // Waiting 1 ms is less than the first poll delay: code `timeout`.
    let e = aid
        .wait_for_run(created.id.clone(), Some(1))
        .await
        .unwrap_err();
    assert_eq!((e.code().as_str(), e.status()), ("timeout", None));
    assert!(e.retryable());
    assert_eq!(aid.run(created.id.clone()).await.unwrap().status, "pending");

    mock.advance_clock(61);
    let run = aid
        .wait_for_run(created.id.clone(), Some(5_000))
        .await
        .unwrap();
    assert_eq!(run.status, "timeout");
    assert_eq!(run.failure.unwrap().code, "timeout");
    assert!(run.result.is_none());
    let e = aid.run_secret(run.id).await.unwrap_err();
    assert_eq!(
        (e.code().as_str(), e.status()),
        ("secret_not_available", Some(409))
    );
    assert_eq!(
        aid.list_runs(Some("timeout".into()), Some(10), None)
            .await
            .unwrap()
            .total,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_carry_codes_and_never_the_key() {
    let mock = MockServer::start().await.unwrap();
    let key = mock.agent_key();
    let aid = client(&mock, &key);
    let e = aid.run("run_nope".into()).await.unwrap_err();
    assert_eq!(
        (e.code().as_str(), e.status()),
        ("run_not_found", Some(404))
    );

    let local = [
        aid.list_runs(Some("queued".into()), None, None)
            .await
            .unwrap_err(),
        aid.list_identities(Some(101), None).await.unwrap_err(),
        aid.create_identity(String::new(), None).await.unwrap_err(),
        aid.create_invite_run("ident_x".into(), "ftp://example.com/x".into(), None)
            .await
            .unwrap_err(),
        aid.create_invite_run("ident_x".into(), "https://example.com".into(), Some(0))
            .await
            .unwrap_err(),
        mock.demo_target_url("signup".into()).unwrap_err(),
    ];
    for e in &local {
        assert_eq!(
            (e.code().as_str(), e.status()),
            ("invalid_input", None),
            "{e}"
        );
    }

    // Writes need a write scope.
    let reader = client(&mock, &mock.agent_key_read_only());
    let e = reader.create_identity("x".into(), None).await.unwrap_err();
    assert_eq!((e.code().as_str(), e.status()), ("forbidden", Some(403)));

    // A wrong key: 401; a malformed one is refused locally.
    let wrong = Secret::new("aid_wrong_key_0123456789abcdef".into());
    let e = AidenIdClient::new(
        wrong.clone(),
        key.org_id.clone(),
        key.project_id.clone(),
        Some(mock.base_url()),
    )
    .unwrap()
    .list_identities(None, None)
    .await
    .unwrap_err();
    assert_eq!((e.code().as_str(), e.status()), ("unauthorized", Some(401)));
    let bad = Secret::new("af_not_an_agent_key".into());
    let e2 = AidenIdClient::new(bad.clone(), "org".into(), "proj".into(), None).unwrap_err();
    assert_eq!(e2.code(), "invalid_input");

    for secret in [key.key.expose(), wrong.expose(), bad.expose()] {
        for text in [
            e.to_string(),
            format!("{e:?}"),
            e2.to_string(),
            format!("{e2:?}"),
            format!("{aid:?}"),
            format!("{key:?}"),
        ] {
            assert!(!text.contains(&secret), "{text}");
        }
    }
}
