//! The consumer inbox stream end to end: `ConsumerSession::inbox_events()`
//! against the mock, through a TCP relay the test can cut, so reconnects
//! happen for real: no event is lost or repeated, `Last-Event-ID` resumes
//! across processes, and mail sent over SMTP reaches the stream quickly.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use authflow::transport::RetryPolicy;
use authflow::{ConsumerClient, ConsumerSession};
use authflow_mock::MockServer;
use authflow_tests::RecordingSleep;
use futures_util::StreamExt;
use secrecy::SecretString;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A TCP relay to the mock whose live connections can be cut.
struct Relay {
    addr: SocketAddr,
    conns: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accepted: Arc<Mutex<usize>>,
    _accept: JoinHandle<()>,
}

impl Relay {
    async fn start(upstream: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let conns: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let accepted: Arc<Mutex<usize>> = Arc::default();
        let (c, a) = (conns.clone(), accepted.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut down, _)) = listener.accept().await {
                *a.lock().unwrap() += 1;
                let task = tokio::spawn(async move {
                    if let Ok(mut up) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut down, &mut up).await;
                    }
                });
                c.lock().unwrap().push(task);
            }
        });
        Relay {
            addr,
            conns,
            accepted,
            _accept: accept,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Drop every live connection (both directions close).
    fn cut(&self) {
        for t in self.conns.lock().unwrap().drain(..) {
            t.abort();
        }
    }

    fn accepted(&self) -> usize {
        *self.accepted.lock().unwrap()
    }
}

async fn signed_in(server: &MockServer, base_url: &str, email: &str) -> ConsumerSession {
    let consumers = ConsumerClient::builder()
        .base_url(base_url)
        .sleeper(Arc::new(RecordingSleep::default()))
        .stream_retry(RetryPolicy::default().max_retries(20).jitter(false))
        .build()
        .unwrap();
    consumers.signup(email).await.unwrap();
    let mail = server.emails().latest(email).unwrap();
    let token = mail.links[0].split("token=").nth(1).unwrap().to_owned();
    consumers.verify(&SecretString::from(token)).await.unwrap()
}

/// Deliver a mail with a code to `to` through the control API.
async fn deliver(server: &MockServer, to: &str, code: &str) {
    let raw = format!(
        "From: Example <no-reply@example.com>\r\nTo: {to}\r\nSubject: Sign-in\r\n\r\nYour verification code is {code}.\r\n"
    );
    let resp = reqwest::Client::new()
        .post(format!("{}/__mock/inbound", server.base_url()))
        .body(raw)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn reconnects_without_losing_or_repeating_events() {
    let server = MockServer::start().await.unwrap();
    let relay = Relay::start(server.addr()).await;
    let session = signed_in(&server, &relay.url(), "stream@example.com").await;
    let ident = session
        .create_identity("stream")
        .await
        .unwrap()
        .into_inner();
    let mut events = Box::pin(session.inbox_events(None));

    let mut seen = Vec::new();
    for round in 0..5u32 {
        deliver(&server, &ident.email, &format!("{:06}", 100_000 + round)).await;
        // Each mail gives two events: inbound.received, extraction.completed.
        for _ in 0..2 {
            let e = tokio::time::timeout(Duration::from_secs(5), events.next())
                .await
                .expect("an event in time")
                .expect("stream open")
                .expect("event");
            seen.push(e);
        }
        // Drop the connection, then send more mail while it is down.
        relay.cut();
        if round == 2 {
            deliver(&server, &ident.email, "777777").await;
            deliver(&server, &ident.email, "888888").await;
            for _ in 0..4 {
                let e = tokio::time::timeout(Duration::from_secs(5), events.next())
                    .await
                    .unwrap()
                    .unwrap()
                    .unwrap();
                seen.push(e);
            }
        }
    }
    assert!(
        relay.accepted() >= 5,
        "the stream reconnected after each cut"
    );
    let ids: Vec<u64> = seen.iter().map(|e| e.id.parse().unwrap()).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(ids, sorted, "in order, no repeats: {ids:?}");
    assert_eq!(ids.len(), 14);
    // Consecutive: nothing skipped (this consumer's events are the only ones).
    assert_eq!(ids.last().unwrap() - ids[0], 13);
    let kinds: Vec<&str> = seen.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == "extraction.completed")
            .count(),
        7
    );
    for e in &seen {
        assert_eq!(e.data.identity_id, ident.id);
        if e.event == "extraction.completed" {
            assert_eq!(e.data.kind.as_deref(), Some("otp"));
            let r = e.data.redacted_value.as_deref().unwrap();
            assert!(r.starts_with("***") && r.len() == 6, "{r}");
        }
    }
    let codes: Vec<&str> = seen
        .iter()
        .filter_map(|e| e.data.redacted_value.as_deref())
        .collect();
    assert!(codes.contains(&"***777") && codes.contains(&"***888"));
}

#[tokio::test]
async fn resumes_after_a_given_event_id() {
    let server = MockServer::start().await.unwrap();
    let session = signed_in(&server, &server.base_url(), "resume@example.com").await;
    let ident = session
        .create_identity("resume")
        .await
        .unwrap()
        .into_inner();
    deliver(&server, &ident.email, "111111").await;
    deliver(&server, &ident.email, "222222").await;
    let first: Vec<_> = session
        .inbox_events(None)
        .take(4)
        .map(|e| e.unwrap())
        .collect()
        .await;
    assert_eq!(first.len(), 4);
    // A new process resumes after the second event: it gets exactly the rest.
    deliver(&server, &ident.email, "333333").await;
    let rest: Vec<_> = session
        .inbox_events(Some(first[1].id.clone()))
        .take(4)
        .map(|e| e.unwrap())
        .collect()
        .await;
    let ids: Vec<&str> = rest.iter().map(|e| e.id.as_str()).collect();
    let want: Vec<&str> = first[2..].iter().map(|e| e.id.as_str()).collect();
    assert_eq!(&ids[..2], want.as_slice());
    assert_eq!(rest[3].data.redacted_value.as_deref(), Some("***333"));
}

#[tokio::test]
async fn a_refused_session_ends_the_stream_with_the_error() {
    let server = MockServer::start().await.unwrap();
    let session = signed_in(&server, &server.base_url(), "expired@example.com").await;
    server.clock().advance(Duration::from_secs(8 * 24 * 3600));
    let mut events = Box::pin(session.inbox_events(None));
    let err = tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert_eq!(err.code().map(|c| c.as_str()), Some("session_expired"));
    assert!(!format!("{err:?}").contains("sess_"));
    assert!(events.next().await.is_none());
}

#[tokio::test]
async fn stream_latency_from_delivery_is_small() {
    let server = MockServer::start().await.unwrap();
    let session = signed_in(&server, &server.base_url(), "fast@example.com").await;
    let ident = session.create_identity("fast").await.unwrap().into_inner();
    let mut events = Box::pin(session.inbox_events(None));
    // Open the stream first (the first delivery proves it is connected).
    deliver(&server, &ident.email, "123123").await;
    events.next().await.unwrap().unwrap();
    events.next().await.unwrap().unwrap();
    let sent = Instant::now();
    deliver(&server, &ident.email, "456456").await;
    let e = events.next().await.unwrap().unwrap();
    assert_eq!(e.event, "inbound.received");
    // A correctness bound, not a benchmark: in-process delivery is
    // immediate; only a lost wake-up would take seconds.
    assert!(
        sent.elapsed() < Duration::from_secs(2),
        "{:?}",
        sent.elapsed()
    );
}

/// A real application delivers over SMTP (lettre): the mail lands in the
/// identity's inbox and on the stream within 100 ms of the SMTP `250`.
#[tokio::test]
async fn smtp_mail_reaches_the_inbox_and_the_stream() {
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
    let server = MockServer::builder().smtp(true).start().await.unwrap();
    let smtp = server.smtp_addr().expect("smtp listener");
    let session = signed_in(&server, &server.base_url(), "smtp@example.com").await;
    let ident = session.create_identity("smtp").await.unwrap().into_inner();
    let mut events = Box::pin(session.inbox_events(None));
    // Connect the stream before sending (an earlier mail proves it).
    deliver(&server, &ident.email, "000111").await;
    events.next().await.unwrap().unwrap();
    events.next().await.unwrap().unwrap();

    let mailer = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.ip().to_string())
        .port(smtp.port())
        .build();
    let email = Message::builder()
        .from("Shop <no-reply@shop.example>".parse().unwrap())
        .to(ident.email.parse().unwrap())
        .subject("Reset your password")
        .header(lettre::message::header::ContentType::TEXT_HTML)
        .body(String::from(
            "<p>Click <a href=\"https://shop.example/reset?token=abcDEF123456\">reset your password</a>.</p>\
             <p><a href=\"https://shop.example/unsubscribe\">unsubscribe</a></p>",
        ))
        .unwrap();
    mailer.send(email).await.unwrap();
    let sent = Instant::now();
    let received = events.next().await.unwrap().unwrap();
    let extracted = events.next().await.unwrap().unwrap();
    let latency = sent.elapsed();
    assert_eq!(received.event, "inbound.received");
    assert_eq!(
        received.data.subject.as_deref(),
        Some("Reset your password")
    );
    assert_eq!(extracted.event, "extraction.completed");
    assert_eq!(extracted.data.kind.as_deref(), Some("link"));
    assert_eq!(extracted.data.redacted_value.as_deref(), Some("***456"));
    assert!(latency < Duration::from_millis(100), "{latency:?}");

    // And in the identity's inbox, through the agent view of the owner.
    let emails: Vec<String> = session
        .identities(Default::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(|i| i.email.clone())
        .collect();
    assert!(emails.contains(&ident.email));
}

/// An open inbox stream does not hold up a graceful shutdown: the stream
/// ends and `shutdown()` returns.
#[tokio::test]
async fn shutdown_ends_open_streams() {
    let server = MockServer::start().await.unwrap();
    let base = server.base_url();
    let session = signed_in(&server, &base, "bye@example.com").await;
    let ident = session.create_identity("bye").await.unwrap().into_inner();
    deliver(&server, &ident.email, "135790").await;
    // A raw stream (no reconnects), read until its first event.
    let token = secrecy::ExposeSecret::expose_secret(&session.info().session_token).to_owned();
    let mut resp = reqwest::Client::new()
        .get(format!("{base}/v1/consumer/inbox"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert!(resp.chunk().await.unwrap().is_some());
    tokio::time::timeout(Duration::from_secs(5), server.shutdown())
        .await
        .expect("shutdown does not wait on the stream");
    let rest = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(Some(_)) = resp.chunk().await {}
    })
    .await;
    assert!(rest.is_ok(), "the stream ended");
}
