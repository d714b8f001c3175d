//! Server-Sent Events: an incremental parser and a reconnecting stream.
//!
//! [`SseParser`] turns bytes, fed in chunks of any size, into [`SseEvent`]s by
//! the WHATWG `EventSource` rules. [`reconnecting`] wraps a `connect`
//! function into an endless stream of events that reconnects with backoff,
//! sends the last event id back (for a `Last-Event-ID` header) and never
//! yields the same event twice.
//!
//! ```
//! use authflow::sse::{SseEvent, SseParser};
//!
//! let mut parser = SseParser::new();
//! // Chunks may split lines, line ends and UTF-8 characters anywhere.
//! assert!(parser.feed(b": heartbeat\nid: 7\nevent: inbound.rec").unwrap().is_empty());
//! let events = parser.feed(b"eived\ndata: {\"a\":1}\r\n\r\n").unwrap();
//! assert_eq!(
//!     events,
//!     vec![SseEvent {
//!         id: Some("7".into()),
//!         event: "inbound.received".into(),
//!         data: "{\"a\":1}".into(),
//!     }]
//! );
//! assert_eq!(parser.last_event_id(), Some("7"));
//! ```

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{Stream, StreamExt};

use crate::Error;
use crate::transport::{RetryPolicy, Sleep};

/// The default limit on one event's size: 1 MiB.
pub const DEFAULT_MAX_EVENT_SIZE: usize = 1024 * 1024;

/// The route name carried by errors this module creates.
const ROUTE: &str = "sse";

/// How many recent non-numeric event ids [`reconnecting`] remembers to skip replays.
const RECENT_IDS: usize = 1024;

const BOM: &[u8] = "\u{FEFF}".as_bytes();

/// One SSE event as received (comments and heartbeats are not events).
///
/// ```
/// use authflow::sse::SseEvent;
///
/// let e = SseEvent::message("hello");
/// assert_eq!((e.id, e.event.as_str(), e.data.as_str()), (None, "message", "hello"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `id:` given in this event's own block, if any and not empty. (The
    /// id in effect by the spec, which persists from event to event, is
    /// [`SseParser::last_event_id`].)
    pub id: Option<String>,
    /// The `event:` field, or `"message"` when the block has none.
    pub event: String,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

impl SseEvent {
    /// An event of type `message` with no id.
    pub fn message(data: impl Into<String>) -> Self {
        SseEvent {
            id: None,
            event: "message".to_owned(),
            data: data.into(),
        }
    }
}

/// Why an SSE byte stream could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SseError {
    /// An event (its data so far plus the line being read) grew beyond the limit.
    #[error("SSE event larger than {limit} bytes")]
    EventTooLarge {
        /// The configured limit in bytes.
        limit: usize,
    },
}

impl From<SseError> for Error {
    /// An [`Error::Decode`] for route `sse` (not retryable: the same stream
    /// would fail the same way again).
    fn from(e: SseError) -> Self {
        Error::Decode {
            route: ROUTE,
            status: 200,
            message: e.to_string(),
            request_id: None,
        }
    }
}

/// Incremental SSE parser (WHATWG `EventSource` rules).
///
/// - bytes may be fed in arbitrary chunks, split anywhere (inside a UTF-8
///   character or a `\r\n`); invalid UTF-8 becomes U+FFFD;
/// - lines end with `\n`, `\r\n` or `\r`; one BOM at the stream start is ignored;
/// - lines starting with `:` are comments (heartbeats); a line without a colon
///   is a field with an empty value; one space after the colon is stripped;
/// - `data:` lines are joined with `\n`; `event:` sets the type (default
///   `message`); `id:` sets the last event id unless it contains NUL (an empty
///   `id:` clears it); `retry:` with ASCII digits only sets the reconnection
///   delay in milliseconds; other fields are ignored;
/// - an event is dispatched on a blank line, and only if it has data; an
///   unfinished event at the end of the stream is never dispatched;
/// - an event (data so far plus the current line) larger than the limit
///   ([`DEFAULT_MAX_EVENT_SIZE`] unless set) is an [`SseError`], after which
///   the parser stays failed.
///
/// ```
/// use std::time::Duration;
/// use authflow::sse::SseParser;
///
/// let mut parser = SseParser::new();
/// let events = parser.feed(b"retry: 2500\ndata: line 1\ndata: line 2\n\n").unwrap();
/// assert_eq!(events[0].data, "line 1\nline 2");
/// assert_eq!(parser.retry(), Some(Duration::from_millis(2500)));
///
/// let mut small = SseParser::new().with_max_event_size(8);
/// assert!(small.feed(b"data: far too long\n\n").is_err());
/// ```
#[derive(Debug, Clone)]
pub struct SseParser {
    /// Bytes of the line being read (no line end).
    line: Vec<u8>,
    /// The previous chunk ended with `\r`: a `\n` starting the next one belongs to it.
    pending_cr: bool,
    /// No line has been completed yet (a leading BOM is still to be stripped).
    at_stream_start: bool,
    data: String,
    event_type: String,
    /// The spec's "last event ID buffer".
    id_buffer: String,
    /// The `id:` seen in the current block.
    block_id: Option<String>,
    /// The spec's "last event ID string" (updated on dispatch).
    last_event_id: String,
    retry: Option<Duration>,
    max_event_size: usize,
    failed: Option<SseError>,
}

impl Default for SseParser {
    fn default() -> Self {
        SseParser::new()
    }
}

impl SseParser {
    /// A parser at the start of a stream, with the default size limit.
    pub fn new() -> Self {
        SseParser {
            line: Vec::new(),
            pending_cr: false,
            at_stream_start: true,
            data: String::new(),
            event_type: String::new(),
            id_buffer: String::new(),
            block_id: None,
            last_event_id: String::new(),
            retry: None,
            max_event_size: DEFAULT_MAX_EVENT_SIZE,
            failed: None,
        }
    }

    /// Start with a last event id carried over from an earlier connection
    /// (as `EventSource` does when it reconnects).
    pub fn with_last_event_id(mut self, id: Option<&str>) -> Self {
        let id = id.filter(|id| !id.contains('\0')).unwrap_or_default();
        self.id_buffer = id.to_owned();
        self.last_event_id = id.to_owned();
        self
    }

    /// The largest event accepted, in bytes (data so far plus the line being read).
    pub fn with_max_event_size(mut self, bytes: usize) -> Self {
        self.max_event_size = bytes;
        self
    }

    /// Parse the next chunk and return the events it completed.
    ///
    /// On error, events completed earlier in the same chunk are dropped; use
    /// [`feed_into`](Self::feed_into) to keep them.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<SseEvent>, SseError> {
        let mut out = Vec::new();
        self.feed_into(chunk, &mut out)?;
        Ok(out)
    }

    /// Parse the next chunk, pushing the events it completes onto `out` (they
    /// stay there even when an error follows them).
    pub fn feed_into(&mut self, chunk: &[u8], out: &mut Vec<SseEvent>) -> Result<(), SseError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let mut rest = chunk;
        if self.pending_cr && !rest.is_empty() {
            self.pending_cr = false;
            if let Some(tail) = rest.strip_prefix(b"\n") {
                rest = tail;
            }
        }
        while !rest.is_empty() {
            let Some(end) = rest.iter().position(|&b| b == b'\n' || b == b'\r') else {
                self.push_line_bytes(rest)?;
                break;
            };
            let (line, tail) = rest.split_at(end);
            self.push_line_bytes(line)?;
            rest = match tail {
                [b'\r', b'\n', after @ ..] => after,
                [b'\r'] => {
                    self.pending_cr = true;
                    &[]
                }
                [_, after @ ..] => after,
                [] => &[],
            };
            let line = std::mem::take(&mut self.line);
            let result = self.process_line(&line, out);
            // Keep the allocation for the next line.
            self.line = line;
            self.line.clear();
            result?;
        }
        Ok(())
    }

    /// The last event id (the spec's "last event ID string"): set by `id:` when
    /// an event block ends, kept across events, `None` when empty.
    pub fn last_event_id(&self) -> Option<&str> {
        Some(self.last_event_id.as_str()).filter(|id| !id.is_empty())
    }

    /// The reconnection delay the server asked for with `retry:`, if it did.
    pub fn retry(&self) -> Option<Duration> {
        self.retry
    }

    fn fail(&mut self) -> SseError {
        let e = SseError::EventTooLarge {
            limit: self.max_event_size,
        };
        self.failed = Some(e.clone());
        e
    }

    fn push_line_bytes(&mut self, bytes: &[u8]) -> Result<(), SseError> {
        let size = self
            .data
            .len()
            .saturating_add(self.line.len())
            .saturating_add(bytes.len());
        if size > self.max_event_size {
            return Err(self.fail());
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    fn process_line(&mut self, raw: &[u8], out: &mut Vec<SseEvent>) -> Result<(), SseError> {
        let mut raw = raw;
        if self.at_stream_start {
            self.at_stream_start = false;
            raw = raw.strip_prefix(BOM).unwrap_or(raw);
        }
        if raw.is_empty() {
            self.dispatch(out);
            return Ok(());
        }
        if raw.first() == Some(&b':') {
            return Ok(());
        }
        let line = String::from_utf8_lossy(raw);
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (&*line, ""),
        };
        match field {
            "event" => {
                self.event_type.clear();
                self.event_type.push_str(value);
            }
            "data" => {
                // Lossy decoding can grow a line, so check again.
                if self.data.len().saturating_add(value.len()) >= self.max_event_size {
                    return Err(self.fail());
                }
                self.data.push_str(value);
                self.data.push('\n');
            }
            "id" if !value.contains('\0') => {
                self.id_buffer.clear();
                self.id_buffer.push_str(value);
                self.block_id = Some(value.to_owned());
            }
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                // Digits only, so the only failure is overflow: "longer than anything".
                let ms = value.parse::<u64>().unwrap_or(u64::MAX);
                self.retry = Some(Duration::from_millis(ms));
            }
            _ => {}
        }
        Ok(())
    }

    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        self.last_event_id.clone_from(&self.id_buffer);
        let id = self.block_id.take().filter(|id| !id.is_empty());
        if self.data.is_empty() {
            self.event_type.clear();
            return;
        }
        if self.data.ends_with('\n') {
            self.data.pop();
        }
        let event = if self.event_type.is_empty() {
            "message".to_owned()
        } else {
            std::mem::take(&mut self.event_type)
        };
        out.push(SseEvent {
            id,
            event,
            data: std::mem::take(&mut self.data),
        });
    }
}

/// An endless stream of events over connections made by `connect`.
///
/// `connect(last_event_id)` opens one connection (send the id as the
/// `Last-Event-ID` header when it is `Some`) and returns its body as a stream
/// of byte chunks. Then:
///
/// - the events of each connection are parsed with a fresh [`SseParser`] that
///   starts from the last event id of the previous one; an unfinished event of
///   a dropped connection is discarded (the server sends it again);
/// - when the body ends or yields an error, or `connect` fails with an error
///   for which [`Error::is_retryable`] holds, the stream waits and reconnects.
///   The wait is, in order: the failed connect's `Retry-After`; the server's
///   `retry:` (after a connection that delivered events — after unproductive
///   attempts the longer of `retry:` and the backoff, so `retry: 0` cannot
///   cause a reconnect storm); else `policy.backoff(n)`. `retry:` is capped
///   at the policy's `max_retry_after`; a longer `Retry-After` on a failed
///   connect ends the stream with that error, as in the transport;
/// - `n` counts reconnects since the last connection that delivered an event;
/// - more than `policy.get_max_retries()` consecutive failed connects (a
///   connect that succeeds resets the count) end the stream with the last
///   error; a non-retryable error from `connect` ends it at once;
/// - an event whose id was already yielded is skipped (a server replaying
///   after a reconnect): when its id and the last yielded id are both
///   decimal numbers, it is skipped if not greater; otherwise if it equals
///   one of the last 1024 yielded ids. Events without an id are always
///   yielded. Numeric ids must therefore increase;
/// - an event larger than [`DEFAULT_MAX_EVENT_SIZE`] ends the stream with an
///   [`Error::Decode`] after the events before it.
///
/// `connect` should fail with an [`Error`] (not return a body) for a non-2xx
/// status or a response that is not `text/event-stream`.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use authflow::sse::reconnecting;
/// use authflow::transport::{RetryPolicy, TokioSleep};
/// use authflow::Error;
/// use futures_util::StreamExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// // A fake server: the first connection drops in the middle of event 2,
/// // the second resumes after the id it is given; then it goes away for good.
/// let mut calls = 0;
/// let connect = move |last_id: Option<String>| {
///     calls += 1;
///     let call = calls;
///     async move {
///         let body: &[u8] = match (call, last_id.as_deref()) {
///             (1, None) => b"id: 1\ndata: one\n\nid: 2\ndata: tw",
///             (2, Some("1")) => b"id: 2\ndata: two\n\n",
///             _ => return Err(Error::Config("server gone".into())),
///         };
///         Ok(futures_util::stream::iter([Ok::<_, Error>(body.to_vec())]))
///     }
/// };
/// let policy = RetryPolicy::default().base_delay(Duration::from_millis(1));
/// let items: Vec<_> = reconnecting(connect, policy, Arc::new(TokioSleep)).collect().await;
/// let data: Vec<_> = items.iter().flatten().map(|e| e.data.as_str()).collect();
/// assert_eq!(data, ["one", "two"]);
/// assert!(items.last().is_some_and(|last| last.is_err()));
/// # }
/// ```
pub fn reconnecting<C, Fut, S, B>(
    connect: C,
    policy: RetryPolicy,
    sleep: Arc<dyn Sleep>,
) -> impl Stream<Item = crate::Result<SseEvent>> + Send + 'static
where
    C: FnMut(Option<String>) -> Fut + Send + 'static,
    Fut: Future<Output = crate::Result<S>> + Send + 'static,
    S: Stream<Item = crate::Result<B>> + Send + 'static,
    B: AsRef<[u8]> + Send + 'static,
{
    let state = Reconnecting {
        connect,
        policy,
        sleep,
        conn: None,
        queue: VecDeque::new(),
        pending_error: None,
        resume_id: None,
        seen: Seen::default(),
        server_retry: None,
        wait: None,
        attempt: 0,
        failures: 0,
        done: false,
    };
    futures_util::stream::unfold(state, |mut state| async move {
        let item = state.next_item().await?;
        Some((item, state))
    })
}

struct Reconnecting<C, S> {
    connect: C,
    policy: RetryPolicy,
    sleep: Arc<dyn Sleep>,
    /// The open connection's body and parser.
    conn: Option<(Pin<Box<S>>, SseParser)>,
    /// Events parsed but not yet yielded.
    queue: VecDeque<SseEvent>,
    /// Yielded (ending the stream) once `queue` is empty.
    pending_error: Option<Error>,
    /// Passed to `connect`: the last event id of the previous connection.
    resume_id: Option<String>,
    seen: Seen,
    server_retry: Option<Duration>,
    /// How long to wait before the next connect (`None`: connect now).
    wait: Option<Duration>,
    /// Reconnects since a connection last delivered an event (the backoff exponent).
    attempt: u32,
    /// Consecutive failed connects.
    failures: u32,
    done: bool,
}

impl<C, Fut, S, B> Reconnecting<C, S>
where
    C: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = crate::Result<S>>,
    S: Stream<Item = crate::Result<B>>,
    B: AsRef<[u8]>,
{
    async fn next_item(&mut self) -> Option<crate::Result<SseEvent>> {
        loop {
            if self.done {
                return None;
            }
            if let Some(event) = self.queue.pop_front() {
                return Some(Ok(event));
            }
            if let Some(error) = self.pending_error.take() {
                self.done = true;
                return Some(Err(error));
            }
            if let Some((body, parser)) = &mut self.conn {
                match body.next().await {
                    Some(Ok(chunk)) => {
                        let mut events = Vec::new();
                        let parsed = parser.feed_into(chunk.as_ref(), &mut events);
                        self.resume_id = parser.last_event_id().map(str::to_owned);
                        self.server_retry = parser.retry().or(self.server_retry);
                        for event in events {
                            if let Some(id) = &event.id {
                                if self.seen.is_replay(id) {
                                    tracing::debug!(id = %id, "sse: skipping replayed event");
                                    continue;
                                }
                                self.seen.record(id);
                            }
                            self.attempt = 0;
                            self.queue.push_back(event);
                        }
                        if let Err(e) = parsed {
                            self.conn = None;
                            self.pending_error = Some(e.into());
                        }
                    }
                    end => {
                        if let Some(Err(e)) = &end {
                            tracing::debug!(error = %e, "sse: connection failed, reconnecting");
                        } else {
                            tracing::debug!("sse: connection closed, reconnecting");
                        }
                        self.conn = None;
                        self.wait = Some(self.backoff());
                    }
                }
                continue;
            }
            if let Some(delay) = self.wait.take() {
                self.sleep.sleep(delay).await;
            }
            match (self.connect)(self.resume_id.clone()).await {
                Ok(body) => {
                    self.failures = 0;
                    let parser = SseParser::new().with_last_event_id(self.resume_id.as_deref());
                    self.conn = Some((Box::pin(body), parser));
                }
                Err(error)
                    if error.is_retryable() && self.failures < self.policy.get_max_retries() =>
                {
                    let retry_after = match &error {
                        Error::Api { retry_after, .. } => *retry_after,
                        _ => None,
                    };
                    if retry_after.is_some_and(|d| d > self.policy.get_max_retry_after()) {
                        self.done = true;
                        return Some(Err(error));
                    }
                    tracing::debug!(error = %error, failures = self.failures + 1, "sse: connect failed, retrying");
                    self.failures += 1;
                    let backoff = self.backoff();
                    self.wait = Some(retry_after.unwrap_or(backoff));
                }
                Err(error) => {
                    self.done = true;
                    return Some(Err(error));
                }
            }
        }
    }

    /// The wait before the next reconnect (and count it).
    fn backoff(&mut self) -> Duration {
        let backoff = self.policy.backoff(self.attempt);
        let delay = match self.server_retry {
            Some(retry) => {
                let retry = retry.min(self.policy.get_max_retry_after());
                if self.attempt == 0 {
                    retry
                } else {
                    retry.max(backoff)
                }
            }
            None => backoff,
        };
        self.attempt = self.attempt.saturating_add(1);
        delay
    }
}

/// The ids already yielded, to skip replays.
#[derive(Debug, Default)]
struct Seen {
    last: Option<String>,
    recent: VecDeque<String>,
    recent_set: HashSet<String>,
}

impl Seen {
    fn is_replay(&self, id: &str) -> bool {
        if let (Some(id), Some(last)) = (as_number(id), self.last.as_deref().and_then(as_number)) {
            return id <= last;
        }
        self.recent_set.contains(id)
    }

    fn record(&mut self, id: &str) {
        self.last = Some(id.to_owned());
        if self.recent_set.insert(id.to_owned()) {
            self.recent.push_back(id.to_owned());
            if self.recent.len() > RECENT_IDS
                && let Some(old) = self.recent.pop_front()
            {
                self.recent_set.remove(&old);
            }
        }
    }
}

/// A decimal id (digits only) as a number.
fn as_number(id: &str) -> Option<u64> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    id.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;
    use crate::TransportKind;
    use crate::transport::SleepFuture;
    use proptest::prelude::*;
    use std::sync::Mutex;

    fn ev(id: Option<&str>, event: &str, data: &str) -> SseEvent {
        SseEvent {
            id: id.map(str::to_owned),
            event: event.to_owned(),
            data: data.to_owned(),
        }
    }

    fn msg(data: &str) -> SseEvent {
        ev(None, "message", data)
    }

    /// Everything one parser makes of `chunks`: events, whether it failed, last id, retry.
    type Outcome = (Vec<SseEvent>, bool, Option<String>, Option<Duration>);

    fn parse_chunks<'a>(parser: SseParser, chunks: impl IntoIterator<Item = &'a [u8]>) -> Outcome {
        let mut parser = parser;
        let mut events = Vec::new();
        let mut failed = false;
        for chunk in chunks {
            if parser.feed_into(chunk, &mut events).is_err() {
                failed = true;
                break;
            }
        }
        (
            events,
            failed,
            parser.last_event_id().map(str::to_owned),
            parser.retry(),
        )
    }

    fn parse(input: &[u8]) -> Outcome {
        parse_chunks(SseParser::new(), [input])
    }

    #[test]
    fn parser_rules_table() {
        let ms = Duration::from_millis;
        #[allow(clippy::type_complexity)]
        let table: Vec<(&str, &[u8], Vec<SseEvent>, Option<&str>, Option<Duration>)> = vec![
            ("simple", b"data: hello\n\n", vec![msg("hello")], None, None),
            (
                "no space after colon",
                b"data:hello\n\n",
                vec![msg("hello")],
                None,
                None,
            ),
            (
                "only one space stripped",
                b"data:  two\n\n",
                vec![msg(" two")],
                None,
                None,
            ),
            (
                "tab is not stripped",
                b"data:\tx\n\n",
                vec![msg("\tx")],
                None,
                None,
            ),
            (
                "colon in value",
                b"data: a:b: c\n\n",
                vec![msg("a:b: c")],
                None,
                None,
            ),
            (
                "data lines joined",
                b"data: a\ndata: b\ndata: c\n\n",
                vec![msg("a\nb\nc")],
                None,
                None,
            ),
            (
                "empty data lines",
                b"data:\ndata:\n\n",
                vec![msg("\n")],
                None,
                None,
            ),
            (
                "field without colon",
                b"data\n\n",
                vec![msg("")],
                None,
                None,
            ),
            (
                "crlf",
                b"data: a\r\ndata: b\r\n\r\n",
                vec![msg("a\nb")],
                None,
                None,
            ),
            ("cr", b"data: a\rdata: b\r\r", vec![msg("a\nb")], None, None),
            (
                "mixed line ends",
                b"data: a\r\ndata: b\rdata: c\n\r\n",
                vec![msg("a\nb\nc")],
                None,
                None,
            ),
            (
                "cr then lf is one line end",
                b"data: a\r\n\rdata: b\n\n",
                vec![msg("a"), msg("b")],
                None,
                None,
            ),
            (
                "event type",
                b"event: add\ndata: x\n\n",
                vec![ev(None, "add", "x")],
                None,
                None,
            ),
            (
                "event type resets after dispatch",
                b"event: add\ndata: x\n\ndata: y\n\n",
                vec![ev(None, "add", "x"), msg("y")],
                None,
                None,
            ),
            (
                "event type resets without data",
                b"event: add\n\ndata: y\n\n",
                vec![msg("y")],
                None,
                None,
            ),
            (
                "empty event type is message",
                b"event:\ndata: x\n\n",
                vec![msg("x")],
                None,
                None,
            ),
            (
                "comments",
                b": heartbeat\n:\n:data: x\n\n",
                vec![],
                None,
                None,
            ),
            (
                "comment inside event",
                b"data: a\n: ping\ndata: b\n\n",
                vec![msg("a\nb")],
                None,
                None,
            ),
            (
                "id",
                b"id: 1\ndata: x\n\n",
                vec![ev(Some("1"), "message", "x")],
                Some("1"),
                None,
            ),
            (
                "id persists, event carries its own",
                b"id: 1\ndata: a\n\ndata: b\n\n",
                vec![ev(Some("1"), "message", "a"), msg("b")],
                Some("1"),
                None,
            ),
            (
                "id with NUL ignored",
                b"id: 1\n\nid: a\0b\ndata: x\n\n",
                vec![msg("x")],
                Some("1"),
                None,
            ),
            (
                "empty id clears",
                b"id: 1\ndata: a\n\nid\ndata: b\n\n",
                vec![ev(Some("1"), "message", "a"), msg("b")],
                None,
                None,
            ),
            (
                "id only block sets last id",
                b"id: 9\n\n",
                vec![],
                Some("9"),
                None,
            ),
            (
                "id not set until dispatch",
                b"id: 5\ndata: x\n",
                vec![],
                None,
                None,
            ),
            (
                "id keeps spaces after the first",
                b"id:  7 \ndata: x\n\n",
                vec![ev(Some(" 7 "), "message", "x")],
                Some(" 7 "),
                None,
            ),
            ("retry", b"retry: 1500\n\n", vec![], None, Some(ms(1500))),
            (
                "retry without dispatch",
                b"retry: 10\n",
                vec![],
                None,
                Some(ms(10)),
            ),
            ("retry zero", b"retry:0\n", vec![], None, Some(ms(0))),
            (
                "retry not digits",
                b"retry: 15a\nretry: -1\nretry: 1.5\nretry:\nretry:  100\nretry\n",
                vec![],
                None,
                None,
            ),
            (
                "later valid retry wins",
                b"retry: 100\nretry: x\nretry: 200\n",
                vec![],
                None,
                Some(ms(200)),
            ),
            (
                "retry overflow saturates",
                b"retry: 99999999999999999999999\n",
                vec![],
                None,
                Some(ms(u64::MAX)),
            ),
            (
                "unknown field",
                b"foo: bar\ndata: x\n\n",
                vec![msg("x")],
                None,
                None,
            ),
            (
                "field names are case sensitive",
                b"Data: x\nID: 3\n\n",
                vec![],
                None,
                None,
            ),
            (
                "leading space makes another field",
                b" data: x\n\n",
                vec![],
                None,
                None,
            ),
            (
                "bom stripped at start",
                "\u{FEFF}data: x\n\n".as_bytes(),
                vec![msg("x")],
                None,
                None,
            ),
            (
                "only one bom stripped",
                "\u{FEFF}\u{FEFF}data: x\n\n".as_bytes(),
                vec![],
                None,
                None,
            ),
            (
                "bom later is not stripped",
                "data: a\n\n\u{FEFF}data: x\n\n".as_bytes(),
                vec![msg("a")],
                None,
                None,
            ),
            (
                "bom in value kept",
                "data: \u{FEFF}x\n\n".as_bytes(),
                vec![msg("\u{FEFF}x")],
                None,
                None,
            ),
            (
                "dispatch only on blank line",
                b"data: x",
                vec![],
                None,
                None,
            ),
            (
                "dispatch only on blank line 2",
                b"data: x\n",
                vec![],
                None,
                None,
            ),
            (
                "blank lines alone dispatch nothing",
                b"\n\n\r\n\r",
                vec![],
                None,
                None,
            ),
            (
                "unicode",
                "data: héllo 🦀\n\n".as_bytes(),
                vec![msg("héllo 🦀")],
                None,
                None,
            ),
            (
                "invalid utf-8 replaced",
                b"data: a\xffb\n\n",
                vec![msg("a\u{FFFD}b")],
                None,
                None,
            ),
            (
                "several events",
                b"id: 1\nevent: a\ndata: 1\n\nid: 2\nevent: b\ndata: 2\n\n",
                vec![ev(Some("1"), "a", "1"), ev(Some("2"), "b", "2")],
                Some("2"),
                None,
            ),
        ];
        for (name, input, events, last_id, retry) in table {
            let (got, failed, got_id, got_retry) = parse(input);
            assert!(!failed, "{name}: failed");
            assert_eq!(got, events, "{name}: events");
            assert_eq!(got_id.as_deref(), last_id, "{name}: last event id");
            assert_eq!(got_retry, retry, "{name}: retry");
        }
    }

    #[test]
    fn seeded_last_event_id() {
        let p = SseParser::new().with_last_event_id(Some("41"));
        assert_eq!(p.last_event_id(), Some("41"));
        let (events, _, id, _) = parse_chunks(p, [b"data: x\n\n".as_slice()]);
        assert_eq!((events, id.as_deref()), (vec![msg("x")], Some("41")));
        assert_eq!(
            SseParser::new()
                .with_last_event_id(Some("a\0"))
                .last_event_id(),
            None
        );
        assert_eq!(
            SseParser::new()
                .with_last_event_id(Some(""))
                .last_event_id(),
            None
        );
    }

    #[test]
    fn max_event_size() {
        // Data accumulated over many lines.
        let mut p = SseParser::new().with_max_event_size(16);
        assert_eq!(p.feed(b"data: 0123\n").map(|e| e.len()), Ok(0));
        assert_eq!(
            p.feed(b"data: 4567\ndata: 89ab\n"),
            Err(SseError::EventTooLarge { limit: 16 })
        );
        // Failed for good.
        assert!(p.feed(b"\n").is_err());

        // One long line without a line end (e.g. a never-ending comment).
        let mut p = SseParser::new().with_max_event_size(16);
        assert!(p.feed(b": 0123456789").is_ok());
        assert!(p.feed(b"abcdef").is_err());

        // Events before the error in the same chunk are kept by feed_into.
        let mut p = SseParser::new().with_max_event_size(16);
        let mut out = Vec::new();
        let r = p.feed_into(b"data: ok\n\ndata: 0123456789abcdef\n\n", &mut out);
        assert!(r.is_err());
        assert_eq!(out, vec![msg("ok")]);

        // Limit counts per event: many small events are fine.
        let mut p = SseParser::new().with_max_event_size(16);
        let input = b"data: 0123456789\n\n".repeat(100);
        assert_eq!(p.feed(&input).map(|e| e.len()), Ok(100));

        // The default is 1 MiB.
        let mut p = SseParser::new();
        let big = format!("data: {}\n\n", "x".repeat(DEFAULT_MAX_EVENT_SIZE - 100));
        assert_eq!(p.feed(big.as_bytes()).map(|e| e.len()), Ok(1));
        let too_big = format!("data: {}\n\n", "x".repeat(DEFAULT_MAX_EVENT_SIZE));
        assert!(p.feed(too_big.as_bytes()).is_err());

        // Invalid UTF-8 grows 3x when decoded; still bounded.
        let mut p = SseParser::new().with_max_event_size(16);
        assert!(p.feed(b"data: \xff\xff\xff\xff\xff\xff\xff\n\n").is_err());

        let e: Error = SseError::EventTooLarge { limit: 16 }.into();
        assert!(e.is_decode() && !e.is_retryable());
    }

    /// Input exercising every rule, with line ends and UTF-8 characters to split.
    const RICH: &[u8] =
        "\u{FEFF}: hi\r\nretry: 300\nid: 1\nevent: a\ndata: é🦀\r\ndata\rdata:  x\r\n\r\
        id: 2\0\ndata: z\n\nfoo\nid\n\n\rid: 3\ndata: last\r\n\r\nid: 4\ndata: cut"
            .as_bytes();

    #[test]
    fn rich_input_events() {
        let (events, failed, id, retry) = parse(RICH);
        assert!(!failed);
        assert_eq!(
            events,
            vec![
                ev(Some("1"), "a", "é🦀\n\n x"),
                msg("z"),
                ev(Some("3"), "message", "last"),
            ]
        );
        assert_eq!(id.as_deref(), Some("3"));
        assert_eq!(retry, Some(Duration::from_millis(300)));
    }

    #[test]
    fn same_events_at_every_split() {
        let whole = parse(RICH);
        for i in 0..=RICH.len() {
            let (a, b) = RICH.split_at(i);
            assert_eq!(
                parse_chunks(SseParser::new(), [a, b]),
                whole,
                "split at {i}"
            );
            for j in i..=RICH.len() {
                let chunks = [&RICH[..i], &RICH[i..j], &RICH[j..]];
                assert_eq!(
                    parse_chunks(SseParser::new(), chunks),
                    whole,
                    "split at {i}, {j}"
                );
            }
        }
        let bytes = parse_chunks(SseParser::new(), RICH.chunks(1));
        assert_eq!(bytes, whole, "byte by byte");
        // Empty chunks change nothing, even after a trailing \r.
        let chunks = [&b"data: a\r"[..], b"", b"\n", b"", b"data: b\n\n"];
        assert_eq!(parse_chunks(SseParser::new(), chunks).0, vec![msg("a\nb")]);
    }

    fn split_by(input: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
        cuts.sort_unstable();
        let mut chunks = Vec::new();
        let mut start = 0;
        for c in cuts {
            chunks.push(input[start..c].to_vec());
            start = c;
        }
        chunks.push(input[start..].to_vec());
        chunks
    }

    proptest! {
        #[test]
        fn chunking_never_changes_the_result(
            input in proptest::collection::vec(
                prop_oneof![
                    3 => proptest::sample::select(b"\n\r: \0\xEF\xBB\xBFdatiery1".to_vec()),
                    1 => any::<u8>(),
                ],
                0..300,
            ),
            prefix in proptest::collection::vec(prop_oneof![
                Just(&b"data"[..]), Just(&b"id"[..]), Just(&b"retry"[..]), Just(&b"event"[..]), Just(&b"\xEF\xBB\xBF"[..]),
            ], 0..3),
            cuts in proptest::collection::vec(any::<usize>(), 0..8),
            limit in prop_oneof![Just(DEFAULT_MAX_EVENT_SIZE), 1usize..64],
        ) {
            let mut bytes: Vec<u8> = prefix.concat();
            bytes.extend_from_slice(&input);
            let whole = parse_chunks(SseParser::new().with_max_event_size(limit), [bytes.as_slice()]);
            let chunks = split_by(&bytes, &cuts);
            let split = parse_chunks(
                SseParser::new().with_max_event_size(limit),
                chunks.iter().map(Vec::as_slice),
            );
            prop_assert_eq!(split, whole);
        }
    }

    // ---- the reconnecting stream ----

    /// Records the delays instead of waiting.
    #[derive(Debug, Default)]
    struct Recorder(Mutex<Vec<Duration>>);

    impl Sleep for Recorder {
        fn sleep(&self, d: Duration) -> SleepFuture {
            self.0.lock().unwrap().push(d);
            Box::pin(async {})
        }
    }

    impl Recorder {
        fn millis(&self) -> Vec<u128> {
            self.0
                .lock()
                .unwrap()
                .iter()
                .map(Duration::as_millis)
                .collect()
        }
    }

    enum Conn {
        Fail(Error),
        Open(Vec<crate::Result<Vec<u8>>>),
    }

    fn open(chunks: &[&str]) -> Conn {
        Conn::Open(chunks.iter().map(|c| Ok(c.as_bytes().to_vec())).collect())
    }

    fn refused() -> Error {
        Error::Transport {
            route: "inbox",
            kind: TransportKind::Connect,
            message: "connection refused".into(),
        }
    }

    fn unauthorized() -> Error {
        Error::Api {
            route: "inbox",
            status: 401,
            code: ErrorCode::Unauthorized,
            message: "session expired".into(),
            request_id: None,
            retryable: false,
            retry_after: None,
        }
    }

    fn unavailable(retry_after: Option<Duration>) -> Error {
        Error::Api {
            route: "inbox",
            status: 503,
            code: ErrorCode::ServerError,
            message: "busy".into(),
            request_id: None,
            retryable: true,
            retry_after,
        }
    }

    /// A fake server: scripted connections; when the script runs out, 401.
    #[derive(Default)]
    struct Fake {
        script: Mutex<VecDeque<Conn>>,
        last_ids: Mutex<Vec<Option<String>>>,
    }

    struct Run {
        items: Vec<crate::Result<SseEvent>>,
        last_ids: Vec<Option<String>>,
        sleeps: Vec<u128>,
    }

    impl Run {
        fn events(&self) -> Vec<SseEvent> {
            self.items
                .iter()
                .filter_map(|i| i.as_ref().ok())
                .cloned()
                .collect()
        }
        fn data(&self) -> Vec<String> {
            self.events().into_iter().map(|e| e.data).collect()
        }
        fn error(&self) -> &Error {
            let last = self.items.last().expect("an item");
            assert!(
                self.items[..self.items.len() - 1].iter().all(Result::is_ok),
                "only the last item may be an error"
            );
            last.as_ref().expect_err("the stream ends with an error")
        }
    }

    fn policy() -> RetryPolicy {
        RetryPolicy::default()
            .jitter(false)
            .base_delay(Duration::from_millis(100))
            .max_delay(Duration::from_millis(1000))
            .max_retries(3)
    }

    async fn run(script: Vec<Conn>, policy: RetryPolicy) -> Run {
        let fake = Arc::new(Fake {
            script: Mutex::new(script.into()),
            ..Fake::default()
        });
        let sleep = Arc::new(Recorder::default());
        let f = fake.clone();
        let connect = move |last_id: Option<String>| {
            f.last_ids.lock().unwrap().push(last_id);
            let next = f.script.lock().unwrap().pop_front();
            std::future::ready(match next {
                Some(Conn::Open(chunks)) => Ok(futures_util::stream::iter(chunks)),
                Some(Conn::Fail(e)) => Err(e),
                None => Err(unauthorized()),
            })
        };
        let items = reconnecting(connect, policy, sleep.clone()).collect().await;
        let last_ids = fake.last_ids.lock().unwrap().clone();
        Run {
            items,
            last_ids,
            sleeps: sleep.millis(),
        }
    }

    fn ids(v: &[Option<&str>]) -> Vec<Option<String>> {
        v.iter().map(|i| i.map(str::to_owned)).collect()
    }

    #[tokio::test]
    async fn resumes_after_a_drop_mid_event_with_last_event_id() {
        let r = run(
            vec![
                open(&[
                    "id: 1\ndata: one\n\nid: 2\nda",
                    "ta: two\n\nid: 3\ndata: thr",
                ]),
                open(&["id: 3\ndata: three\n\n", ": heartbeat\n\n"]),
                open(&["id: 4\ndata: four\n\n"]),
            ],
            policy(),
        )
        .await;
        assert_eq!(r.data(), ["one", "two", "three", "four"]);
        assert_eq!(r.events()[2].id.as_deref(), Some("3"));
        assert_eq!(r.last_ids, ids(&[None, Some("2"), Some("3"), Some("4")]));
        assert!(r.error().is_unauthorized());
        // Every connection delivered an event, so the backoff never grew.
        assert_eq!(r.sleeps, [100, 100, 100]);
    }

    #[tokio::test]
    async fn body_error_is_a_dropped_connection() {
        let body_error = Error::Transport {
            route: "inbox",
            kind: TransportKind::Body,
            message: "connection reset".into(),
        };
        let r = run(
            vec![
                Conn::Open(vec![
                    Ok(b"id: 1\ndata: one\n\nid: 2\ndata: t".to_vec()),
                    Err(body_error),
                ]),
                open(&["id: 2\ndata: two\n\n"]),
            ],
            policy(),
        )
        .await;
        assert_eq!(r.data(), ["one", "two"]);
        assert_eq!(r.last_ids, ids(&[None, Some("1"), Some("2")]));
    }

    #[tokio::test]
    async fn replayed_numeric_ids_are_skipped() {
        let r = run(
            vec![
                open(&["id: 1\ndata: a\n\nid: 2\ndata: b\n\nid: 3\ndata: c\n\n"]),
                // The server ignores Last-Event-ID and replays everything.
                open(&[
                    "id: 1\ndata: a\n\nid: 2\ndata: b\n\n",
                    "id: 3\ndata: c\n\nid: 4\ndata: d\n\n",
                ]),
                // Events without ids cannot be deduplicated and are yielded.
                open(&["id: 04\ndata: d\n\ndata: no id\n\nid: 5\ndata: e\n\n"]),
            ],
            policy(),
        )
        .await;
        assert_eq!(r.data(), ["a", "b", "c", "d", "no id", "e"]);
        assert_eq!(r.last_ids, ids(&[None, Some("3"), Some("4"), Some("5")]));
    }

    #[tokio::test]
    async fn replayed_string_ids_are_skipped() {
        let r = run(
            vec![
                open(&["id: evt_a\ndata: a\n\nid: evt_b\ndata: b\n\n"]),
                open(&["id: evt_a\ndata: a\n\nid: evt_b\ndata: b\n\nid: evt_c\ndata: c\n\n"]),
                open(&["id: evt_b\ndata: b\n\nid: 7\ndata: d\n\n"]),
            ],
            policy(),
        )
        .await;
        assert_eq!(r.data(), ["a", "b", "c", "d"]);
        assert_eq!(
            r.last_ids,
            ids(&[None, Some("evt_b"), Some("evt_c"), Some("7")])
        );
    }

    #[tokio::test]
    async fn server_retry_is_honoured() {
        let r = run(
            vec![
                open(&["retry: 2500\ndata: a\n\n"]),
                // retry persists across connections; this one delivers nothing...
                open(&[": only a heartbeat\n\n"]),
                // ...so the backoff (200 ms) and retry (2.5 s) compete: the longer wins.
                open(&["retry: 0\n\n"]),
                // Now retry 0 < backoff 400: the backoff prevents a reconnect storm.
                open(&["data: b\n\nretry: 3600000\n\n"]),
                // Capped at max_retry_after (60 s by default), also for the next connection.
                open(&["data: c\n\n"]),
            ],
            policy(),
        )
        .await;
        assert_eq!(r.data(), ["a", "b", "c"]);
        assert_eq!(r.sleeps, [2500, 2500, 400, 60_000, 60_000]);
    }

    #[tokio::test]
    async fn backoff_grows_and_resets_after_delivery() {
        let r = run(
            vec![
                Conn::Fail(refused()),
                Conn::Fail(refused()),
                open(&["data: a\n\n"]),
                // Comments are not events: no reset.
                open(&[": ping\n\n"]),
                Conn::Fail(unavailable(None)),
                open(&["data: b\n\n"]),
                Conn::Fail(refused()),
            ],
            policy(),
        )
        .await;
        assert_eq!(r.data(), ["a", "b"]);
        assert_eq!(r.sleeps, [100, 200, 100, 200, 400, 100, 200]);
        assert_eq!(r.last_ids.len(), 8);
        assert!(r.error().is_unauthorized());
    }

    #[tokio::test]
    async fn non_retryable_error_ends_the_stream() {
        let r = run(
            vec![Conn::Fail(unauthorized()), open(&["data: never\n\n"])],
            policy(),
        )
        .await;
        assert_eq!(r.items.len(), 1);
        assert!(r.error().is_unauthorized());
        assert_eq!(r.last_ids, ids(&[None]));
        assert!(r.sleeps.is_empty());

        let maintenance = Error::Api {
            route: "inbox",
            status: 503,
            code: ErrorCode::ServerError,
            message: "maintenance".into(),
            request_id: None,
            retryable: false,
            retry_after: None,
        };
        let r = run(
            vec![open(&["data: a\n\n"]), Conn::Fail(maintenance)],
            policy(),
        )
        .await;
        assert_eq!(r.data(), ["a"]);
        assert_eq!(r.error().status(), Some(503));
        assert_eq!(r.sleeps, [100]);
    }

    #[tokio::test]
    async fn consecutive_failures_are_bounded() {
        let script = (0..10).map(|_| Conn::Fail(refused())).collect();
        let r = run(script, policy()).await;
        assert_eq!(r.items.len(), 1);
        assert!(r.error().is_transport());
        // max_retries(3): four connects, three waits.
        assert_eq!(r.last_ids.len(), 4);
        assert_eq!(r.sleeps, [100, 200, 400]);

        let script = (0..10).map(|_| Conn::Fail(refused())).collect();
        let r = run(script, policy().max_retries(0)).await;
        assert_eq!((r.items.len(), r.last_ids.len()), (1, 1));
        assert!(r.sleeps.is_empty());
    }

    #[tokio::test]
    async fn a_successful_connect_resets_the_failure_count() {
        let mut script = Vec::new();
        for _ in 0..3 {
            script.push(Conn::Fail(refused()));
            script.push(Conn::Fail(refused()));
            script.push(Conn::Fail(refused()));
            script.push(open(&[": connected, nothing to say\n\n"]));
        }
        script.push(open(&["data: finally\n\n"]));
        let r = run(script, policy()).await;
        assert_eq!(r.data(), ["finally"]);
        assert!(r.error().is_unauthorized());
        assert_eq!(r.last_ids.len(), 14);
        // No event until the end: the backoff keeps growing, capped at 1 s;
        // after the event it starts again.
        assert_eq!(
            r.sleeps,
            [
                100, 200, 400, 800, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 100
            ]
        );
    }

    #[tokio::test]
    async fn retry_after_of_a_failed_connect() {
        let r = run(
            vec![
                Conn::Fail(unavailable(Some(Duration::from_secs(3)))),
                open(&["data: a\n\n"]),
                Conn::Fail(unavailable(Some(Duration::from_secs(61)))),
            ],
            policy(),
        )
        .await;
        assert_eq!(r.data(), ["a"]);
        assert_eq!(r.sleeps, [3000, 100]);
        // Beyond max_retry_after: give up with that error, as the transport does.
        assert_eq!(r.error().status(), Some(503));
        assert_eq!(r.last_ids.len(), 3);
    }

    #[tokio::test]
    async fn oversized_event_ends_the_stream_after_earlier_events() {
        let huge = format!("data: {}\n\n", "x".repeat(DEFAULT_MAX_EVENT_SIZE));
        let r = run(
            vec![Conn::Open(vec![
                Ok(b"id: 1\ndata: a\n\n".to_vec()),
                Ok([b"id: 2\ndata: b\n\n".as_slice(), huge.as_bytes()].concat()),
            ])],
            policy(),
        )
        .await;
        assert_eq!(r.data(), ["a", "b"]);
        assert!(r.error().is_decode());
        assert_eq!(r.last_ids.len(), 1);
    }

    #[tokio::test]
    async fn stream_is_send_and_static() {
        fn assert_send_static<T: Send + 'static>(_: &T) {}
        let s = reconnecting(
            |_id| async {
                Ok(futures_util::stream::iter(
                    Vec::<crate::Result<Vec<u8>>>::new(),
                ))
            },
            RetryPolicy::none(),
            Arc::new(Recorder::default()),
        );
        assert_send_static(&s);
        let boxed: Pin<Box<dyn Stream<Item = crate::Result<SseEvent>> + Send>> = Box::pin(s);
        drop(boxed);
    }

    #[test]
    fn numeric_ids() {
        assert_eq!(as_number("42"), Some(42));
        assert_eq!(as_number("007"), Some(7));
        assert_eq!(as_number("+4"), None);
        assert_eq!(as_number(""), None);
        assert_eq!(as_number("99999999999999999999999"), None);
        let mut seen = Seen::default();
        assert!(!seen.is_replay("5"));
        seen.record("5");
        assert!(seen.is_replay("5") && seen.is_replay("4") && !seen.is_replay("6"));
        assert!(!seen.is_replay("x"));
        seen.record("x");
        assert!(seen.is_replay("x"));
        // The last id is not numeric: "4" is compared by equality only.
        assert!(!seen.is_replay("4") && seen.is_replay("5"));
        for i in 0..RECENT_IDS {
            seen.record(&format!("id{i}"));
        }
        assert!(!seen.is_replay("x"), "forgotten after {RECENT_IDS} ids");
    }
}
