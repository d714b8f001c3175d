//! `ConsumerClient`, `ConsumerSession` and `InboxEvents` against the
//! in-process mock: magic-link sign-in, identities, the live inbox stream
//! (events in order, resume, close), notifications, upgrade, and error
//! codes, with no token in any error text or `Debug` output.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test"
)]

use std::sync::Arc;
use std::time::Duration;

use authflow_ffi::{ConsumerClient, ConsumerSession, InboxEvent, InboxEvents, MockServer, Secret};

async fn signed_in(mock: &MockServer, email: &str) -> Arc<ConsumerSession> {
    let c = ConsumerClient::new(Some(mock.base_url())).unwrap();
    c.signup(email.into()).await.unwrap();
    let token = mock.magic_link_token(email.into()).unwrap().unwrap();
    c.verify(token).await.unwrap()
}

async fn next(events: &InboxEvents) -> InboxEvent {
    tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .expect("an event in time")
        .unwrap()
        .expect("the stream is open")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn magic_link_sign_in_and_errors() {
    let mock = MockServer::start().await.unwrap();
    let c = ConsumerClient::new(Some(mock.base_url())).unwrap();
    assert_eq!(c.base_url(), mock.base_url());
    c.signup("alice@example.com".into()).await.unwrap();
    let e = c.signup("alice@example.com".into()).await.unwrap_err();
    assert_eq!(
        (e.code().as_str(), e.status()),
        ("email_already_registered", Some(409))
    );
    let e = c.login("nobody@example.com".into()).await.unwrap_err();
    assert_eq!(
        (e.code().as_str(), e.status()),
        ("consumer_not_found", Some(404))
    );
    let e = c.signup("not-an-email".into()).await.unwrap_err();
    assert_eq!((e.code().as_str(), e.status()), ("invalid_input", None));

    let token = mock
        .magic_link_token("alice@example.com".into())
        .unwrap()
        .unwrap();
    let value = token.expose();
    assert!(value.starts_with("ml_"));
    let session = c.verify(token.clone()).await.unwrap();
    assert!(session.consumer_id().starts_with("csr_"));
    assert!(session.org_id().starts_with("org_personal_"));
    assert!(session.project_id().starts_with("proj_default_"));
    assert!(!session.expires_at().is_empty());
    let session_token = session.session_token().expose();
    assert!(session_token.starts_with("sess_"));

    // Single use: the second exchange is refused, without echoing the token.
    let e = c.verify(token).await.unwrap_err();
    assert_eq!(
        (e.code().as_str(), e.status()),
        ("invalid_magic_link", Some(401))
    );
    for text in [e.to_string(), format!("{e:?}"), format!("{session:?}")] {
        assert!(!text.contains(&value), "{text}");
        assert!(!text.contains(&session_token), "{text}");
    }
    let e = c.verify(Secret::new("  ".into())).await.unwrap_err();
    assert_eq!(e.code(), "invalid_input");

    // Login mails a new link.
    c.login("alice@example.com".into()).await.unwrap();
    let again = mock
        .magic_link_token("alice@example.com".into())
        .unwrap()
        .unwrap();
    assert_ne!(again.expose(), value);
    c.verify(again).await.unwrap();
    assert!(
        mock.magic_link_token("nobody@example.com".into())
            .unwrap()
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identities_limits_notifications_and_upgrade() {
    let mock = MockServer::start().await.unwrap();
    let session = signed_in(&mock, "bob@example.com").await;
    let mut made = Vec::new();
    for label in ["one", "two", "three"] {
        let i = session.create_identity(label.into()).await.unwrap();
        assert_eq!((i.label.as_str(), i.status.as_str()), (label, "active"));
        made.push(i);
    }
    let e = session.create_identity("four".into()).await.unwrap_err();
    assert_eq!(
        (e.code().as_str(), e.status()),
        ("identity_limit_reached", Some(403))
    );
    let page = session.identities(Some(2), None).await.unwrap();
    assert_eq!((page.total, page.items.len(), page.limit), (3, 2, 2));
    let e = session.identities(Some(0), None).await.unwrap_err();
    assert_eq!(e.code(), "invalid_input");

    // An extraction makes a notification that never holds the value.
    mock.deliver_email(
        made[0].email.clone(),
        "no-reply@example.com".into(),
        "Code".into(),
        "Your verification code is 551234.".into(),
    )
    .unwrap();
    let notes = session.notifications(None, None).await.unwrap();
    assert!(notes.total >= 1, "{notes:?}");
    let n = &notes.items[0];
    assert_eq!(n.kind, "extraction.completed");
    assert!(!n.read);
    assert!(!format!("{notes:?}").contains("551234"));

    let up = session.upgrade().await.unwrap();
    assert!(up.checkout_url.starts_with(&mock.base_url()), "{up:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbox_events_arrive_in_order_resume_and_close() {
    let mock = MockServer::start().await.unwrap();
    let session = signed_in(&mock, "carol@example.com").await;
    let ident = session.create_identity("stream".into()).await.unwrap();
    let events = session.inbox_events(None);

    // The stream starts with the consumer's whole event log: mail that
    // arrived before it connected is not lost.
    mock.deliver_email(
        ident.email.clone(),
        "no-reply@example.com".into(),
        "Sign-in".into(),
        "Your verification code is 123456.".into(),
    )
    .unwrap();
    let received = next(&events).await;
    assert_eq!(received.event_type, "inbound.received");
    assert_eq!(received.identity_id, ident.id);
    let data: serde_json::Value = serde_json::from_str(&received.data_json).unwrap();
    assert_eq!(data["subject"], "Sign-in");
    let extracted = next(&events).await;
    assert_eq!(extracted.event_type, "extraction.completed");
    assert_eq!(extracted.message_id, received.message_id);
    let data: serde_json::Value = serde_json::from_str(&extracted.data_json).unwrap();
    assert_eq!(
        (data["type"].as_str(), data["redacted_value"].as_str()),
        (Some("otp"), Some("***456"))
    );
    assert!(!extracted.data_json.contains("123456"));
    assert_ne!(received.id, extracted.id);

    // A second stream resuming after the first event sees only the second.
    let resumed = session.inbox_events(Some(received.id.clone()));
    assert_eq!(next(&resumed).await.id, extracted.id);
    resumed.close().await;
    assert!(resumed.next().await.unwrap().is_none());

    // close() wakes a next() that is waiting for an event (if it is not
    // waiting yet, it sees the close at once: either way it ends).
    let waiting = {
        let events = events.clone();
        tokio::spawn(async move { events.next().await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    events.close().await;
    let ended = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("close wakes next")
        .unwrap()
        .unwrap();
    assert!(ended.is_none());
    events.close().await;
    assert!(events.next().await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_session_ends_the_stream_with_session_expired() {
    let mock = MockServer::start().await.unwrap();
    let session = signed_in(&mock, "dave@example.com").await;
    mock.advance_clock(8 * 24 * 3600);
    let e = session.identities(None, None).await.unwrap_err();
    assert_eq!(
        (e.code().as_str(), e.status()),
        ("session_expired", Some(401))
    );
    let events = session.inbox_events(None);
    let e = tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .expect("an answer in time")
        .unwrap_err();
    assert_eq!(
        (e.code().as_str(), e.status()),
        ("session_expired", Some(401))
    );
    let token = session.session_token().expose();
    assert!(!e.to_string().contains(&token));
    assert!(events.next().await.unwrap().is_none(), "an error ends it");
}
