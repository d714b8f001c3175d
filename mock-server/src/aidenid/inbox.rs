//! Inbound mail for identities and the consumer inbox stream (SSE).
//!
//! Every message to an active identity's address — sent by the mock's own
//! AuthFlow, or by any application over the SMTP listener — is stored in
//! that identity's inbox with its OTP or link extracted. For
//! consumer-owned identities it also becomes `inbound.received` and
//! `extraction.completed` events on the stream and an extraction
//! notification.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde_json::json;

use super::identities::{kind_name, status};
use super::store::{MessageRecord, NotificationRecord, Owner};
use super::{ConsumerAuth, page};
use crate::clock::rfc3339_secs;
use crate::envelope::{EnvelopeError, EnvelopeResult};
use crate::mail::secret_extract::{self, redact};
use crate::state::{AppState, random_hex};

/// Default heartbeat interval of the inbox stream.
pub const HEARTBEAT: Duration = Duration::from_secs(15);

/// A received message, before delivery.
#[derive(Debug, Clone)]
pub struct Inbound {
    /// Sender.
    pub from: String,
    /// Recipients (envelope or header).
    pub to: Vec<String>,
    /// Subject.
    pub subject: String,
    /// Text body (HTML converted when there is no text part).
    pub text: String,
    /// HTML body.
    pub html: Option<String>,
}

/// Deliver a message to every active identity among its recipients.
/// Returns the ids of the stored messages (one per identity).
pub fn deliver(state: &AppState, mail: &Inbound) -> Vec<String> {
    let now = state.clock().now_millis();
    let a = &state.inner.aidenid;
    let extraction = secret_extract::extract(&mail.subject, &mail.text, mail.html.as_deref());
    let mut stored = Vec::new();
    for rcpt in &mail.to {
        // `Name <addr>` or `<addr>` or `addr`.
        let raw = rcpt.trim();
        let inner = match (raw.rfind('<'), raw.rfind('>')) {
            (Some(a), Some(b)) if a < b => &raw[a + 1..b],
            _ => raw,
        };
        let addr = inner.trim().to_lowercase();
        let found = a.with(|d| {
            let id = d.by_email.get(&addr)?.clone();
            let r = d.identities.get(&id)?.clone();
            if status(&r, now) != authflow::api::aidenid::IdentityStatus::Active {
                return None;
            }
            let msg = MessageRecord {
                id: format!("msg_{}", random_hex(8)),
                identity_id: r.id.clone(),
                from: mail.from.clone(),
                subject: mail.subject.clone(),
                text: mail.text.clone(),
                html: mail.html.clone(),
                received_ms: now,
                extraction: extraction.clone(),
            };
            d.messages.push(msg.clone());
            super::runs::on_message(d, &r.id, now, msg.extraction.as_ref());
            Some((r, msg))
        });
        let Some((identity, msg)) = found else {
            continue;
        };
        stored.push(msg.id.clone());
        let Owner::Consumer(cid) = &identity.owner else {
            continue;
        };
        let received_at = rfc3339_secs(now);
        a.emit(
            cid,
            "inbound.received",
            json!({ "identity_id": identity.id, "message_id": msg.id, "subject": msg.subject, "received_at": received_at }),
        );
        if let Some(e) = &msg.extraction {
            let kind = kind_name(e.kind);
            a.emit(
                cid,
                "extraction.completed",
                json!({ "identity_id": identity.id, "message_id": msg.id, "type": kind,
                        "redacted_value": redact(&e.value), "confidence": e.confidence, "received_at": received_at }),
            );
            let what = if kind == "otp" { "OTP" } else { "Link" };
            let pct = (e.confidence * 100.0).round();
            a.with(|d| {
                d.notifications.push(NotificationRecord {
                    id: format!("notif_{}", random_hex(4)),
                    consumer_id: cid.clone(),
                    kind: "extraction.completed".into(),
                    title: format!("{what} received for {}", identity.label),
                    body: format!(
                        "A redacted {} was extracted with {pct}% confidence",
                        if kind == "otp" { "code" } else { "link" }
                    ),
                    read: false,
                    created_ms: now,
                });
            });
        }
    }
    stored
}

/// `GET /v1/consumer/inbox`: the event stream. Resumes after
/// `Last-Event-ID` (or `?last_event_id=`): every later event of this
/// consumer is sent, in order, exactly once per connection.
pub(crate) async fn stream(
    auth: ConsumerAuth,
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> EnvelopeResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    page(query.as_deref())?;
    let from_query = url::form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "last_event_id")
        .map(|(_, v)| v.into_owned());
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or(from_query);
    let after = match last.as_deref().map(str::trim) {
        None | Some("") => 0,
        Some(v) => v.parse::<u64>().map_err(|_| {
            EnvelopeError::bad_request(
                "invalid_parameter",
                "Last-Event-ID is not an event id of this stream",
            )
        })?,
    };
    // Subscribe before reading the log: nothing emitted in between is lost.
    let rx = state.inner.aidenid.events_tx.subscribe();
    let consumer_id = auth.consumer.id;
    let heartbeat = state.inner.sse_heartbeat;
    struct Cursor {
        state: AppState,
        consumer_id: String,
        sent: u64,
        rx: tokio::sync::broadcast::Receiver<u64>,
        pending: std::collections::VecDeque<super::store::EventRecord>,
        first: bool,
        closing: tokio::sync::watch::Receiver<bool>,
    }
    let closing = state.inner.closing.subscribe();
    let cursor = Cursor {
        state,
        consumer_id,
        sent: after,
        rx,
        pending: Default::default(),
        first: true,
        closing,
    };
    let events = futures_util::stream::unfold(cursor, |mut c| async move {
        loop {
            if let Some(e) = c.pending.pop_front() {
                c.sent = e.id;
                let event = Event::default()
                    .id(e.id.to_string())
                    .event(e.event)
                    .data(e.data.to_string());
                return Some((Ok(event), c));
            }
            if *c.closing.borrow() {
                return None;
            }
            if !c.first {
                tokio::select! {
                    r = c.rx.recv() => match r {
                        Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                    },
                    // The server is shutting down: end the stream.
                    _ = c.closing.changed() => return None,
                }
            }
            c.first = false;
            c.pending = c
                .state
                .inner
                .aidenid
                .events_after(&c.consumer_id, c.sent)
                .into();
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(heartbeat).text("heartbeat")))
}
