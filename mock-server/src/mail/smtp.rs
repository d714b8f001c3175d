//! A small, robust SMTP receiver (an RFC 5321 subset) so applications under
//! test can deliver real mail to the mock.
//!
//! No maintained async SMTP *server* crate exists (the candidates are single
//! releases or built on async-std), so this is hand-written on tokio:
//!
//! - greeting `220`; `EHLO` (advertising `8BITMIME`, `SIZE <max>` and
//!   `PIPELINING`) and `HELO`; `MAIL FROM:<…>` (with `SIZE=`, `BODY=`,
//!   `SMTPUTF8` parameters), `RCPT TO:<…>` (many), `DATA` (dot-unstuffing,
//!   `.` terminator, CRLF or bare LF), `RSET`, `NOOP`, `QUIT`, `VRFY` (`252`);
//! - `500` unknown command or over-long line, `501` bad arguments, `502`
//!   unimplemented (`STARTTLS`, `AUTH`, `EXPN`, …), `503` bad sequence (for
//!   example `DATA` before `RCPT`), `552` message over the size limit (checked
//!   at `MAIL FROM … SIZE=` and while receiving), `452` too many recipients;
//! - limits: command line length, message size (default 10 MiB), an idle
//!   timeout per read and write (default 60 s, then `421`), a maximum number
//!   of concurrent connections (then `421` at connect) and of consecutive
//!   errors (then `421`).
//!
//! Pipelining needs nothing special: commands are read from a buffer and
//! answered in order.
//!
//! The [`Deliver`] callback runs once per accepted message, after the final
//! `.` and before the `250` reply; a panic in it becomes a `451` reply.

use std::fmt;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};

/// Called once for every message accepted.
pub type Deliver = Arc<dyn Fn(Envelope) + Send + Sync>;

/// One message as received: the SMTP envelope and the raw message bytes.
///
/// `Debug` shows the sizes only: the data may hold a one-time code.
#[derive(Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The reverse path of `MAIL FROM:<…>` without brackets (`""` for the
    /// null sender `<>`).
    pub mail_from: String,
    /// The forward paths of every accepted `RCPT TO:<…>`, in order.
    pub rcpt_to: Vec<String>,
    /// The message (RFC 5322 header and body), dot-unstuffed, lines ending in
    /// CRLF, without the terminating `.` line.
    pub data: Vec<u8>,
}

impl fmt::Debug for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Envelope")
            .field("mail_from", &self.mail_from)
            .field("rcpt_to", &self.rcpt_to)
            .field("data_len", &self.data.len())
            .finish()
    }
}

/// Limits and names of an [`SmtpServer`]; [`Default`] gives the documented
/// defaults.
#[derive(Debug, Clone)]
pub struct SmtpOptions {
    /// The name in the greeting and `EHLO` reply (`authflow.mock`).
    pub hostname: String,
    /// Largest message accepted, in bytes (10 MiB).
    pub max_message_size: usize,
    /// Longest command line, in bytes, CRLF included (4096; RFC 5321 asks
    /// for at least 512).
    pub max_line_length: usize,
    /// A read or write that waits longer than this closes the connection
    /// with `421` (60 s).
    pub idle_timeout: Duration,
    /// Connections served at once; more are told `421` and closed (64).
    pub max_connections: usize,
    /// Recipients per message; more get `452` (100).
    pub max_recipients: usize,
    /// Consecutive failed commands before the connection is closed with
    /// `421` (20).
    pub max_errors: usize,
}

impl Default for SmtpOptions {
    fn default() -> Self {
        SmtpOptions {
            hostname: "authflow.mock".to_owned(),
            max_message_size: 10 * 1024 * 1024,
            max_line_length: 4096,
            idle_timeout: Duration::from_secs(60),
            max_connections: 64,
            max_recipients: 100,
            max_errors: 20,
        }
    }
}

/// A running SMTP listener. Dropping it (or [`SmtpServer::shutdown`]) stops
/// accepting and closes every open connection.
pub struct SmtpServer {
    local_addr: SocketAddr,
    task: Option<JoinHandle<()>>,
}

impl fmt::Debug for SmtpServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpServer")
            .field("local_addr", &self.local_addr)
            .finish()
    }
}

impl SmtpServer {
    /// The address the listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stop accepting, close every connection, and wait until the listener
    /// task has ended (so the port is free).
    pub async fn shutdown(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Serve SMTP on `listener` with the default [`SmtpOptions`], handing every
/// accepted message to `deliver`.
pub async fn start(listener: TcpListener, deliver: Deliver) -> std::io::Result<SmtpServer> {
    start_with(listener, deliver, SmtpOptions::default()).await
}

/// [`start`] with explicit limits.
pub async fn start_with(
    listener: TcpListener,
    deliver: Deliver,
    options: SmtpOptions,
) -> std::io::Result<SmtpServer> {
    let local_addr = listener.local_addr()?;
    let options = Arc::new(options);
    let task = tokio::spawn(accept_loop(listener, deliver, options));
    Ok(SmtpServer {
        local_addr,
        task: Some(task),
    })
}

async fn accept_loop(listener: TcpListener, deliver: Deliver, options: Arc<SmtpOptions>) {
    let permits = Arc::new(Semaphore::new(options.max_connections.max(1)));
    // Owning the connections here means aborting this task drops them all.
    let mut connections = JoinSet::new();
    let ids = Arc::new(AtomicU64::new(1));
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(conn) => conn,
                    Err(e) => {
                        // EMFILE and friends: back off instead of spinning.
                        tracing::warn!(error = %e, "smtp accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let options = options.clone();
                match permits.clone().try_acquire_owned() {
                    Ok(permit) => {
                        let deliver = deliver.clone();
                        let ids = ids.clone();
                        connections.spawn(async move {
                            let _permit = permit;
                            if let Err(e) = serve(stream, &deliver, &options, &ids).await {
                                tracing::debug!(%peer, error = %e, "smtp connection ended");
                            }
                        });
                    }
                    Err(_) => {
                        connections.spawn(async move {
                            let mut stream = stream;
                            let _ = tokio::time::timeout(
                                options.idle_timeout,
                                stream.write_all(b"421 4.3.2 Too many connections, try again later\r\n"),
                            )
                            .await;
                        });
                    }
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Reads lines from a stream with a hard cap on their length.
struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    /// Start of unconsumed bytes in `buf`.
    pos: usize,
    /// How far `buf[pos..]` has been searched for `\n`.
    scanned: usize,
}

enum Line {
    /// A line without its `\r\n` / `\n`.
    Full(Vec<u8>),
    /// A line longer than the cap (its bytes were discarded).
    TooLong,
    /// End of stream.
    Eof,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    fn new(inner: R) -> Self {
        LineReader {
            inner,
            buf: Vec::with_capacity(8192),
            pos: 0,
            scanned: 0,
        }
    }

    async fn read_line(&mut self, max: usize) -> std::io::Result<Line> {
        let mut discarding = false;
        loop {
            if let Some(nl) = self.buf[self.pos + self.scanned..]
                .iter()
                .position(|&b| b == b'\n')
            {
                let end = self.pos + self.scanned + nl;
                let mut line = &self.buf[self.pos..end];
                if line.last() == Some(&b'\r') {
                    line = &line[..line.len() - 1];
                }
                let out = if discarding || line.len() + 2 > max {
                    Line::TooLong
                } else {
                    Line::Full(line.to_vec())
                };
                self.pos = end + 1;
                self.scanned = 0;
                return Ok(out);
            }
            self.scanned = self.buf.len() - self.pos;
            if self.scanned > max {
                // Drop what we have of the over-long line, keep looking for
                // its end.
                discarding = true;
                self.buf.clear();
                self.pos = 0;
                self.scanned = 0;
            }
            if self.pos > 0 && self.pos >= self.buf.len() / 2 {
                self.buf.drain(..self.pos);
                self.pos = 0;
            }
            let mut chunk = [0u8; 8192];
            let n = self.inner.read(&mut chunk).await?;
            if n == 0 {
                return Ok(Line::Eof);
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// Where a session is.
#[derive(Default)]
struct Session {
    greeted: bool,
    mail_from: Option<String>,
    rcpt_to: Vec<String>,
}

impl Session {
    fn reset(&mut self) {
        self.mail_from = None;
        self.rcpt_to.clear();
    }
}

async fn serve(
    stream: TcpStream,
    deliver: &Deliver,
    options: &SmtpOptions,
    ids: &AtomicU64,
) -> std::io::Result<()> {
    let _ = stream.set_nodelay(true);
    let (read, mut write) = stream.into_split();
    let mut reader = LineReader::new(read);
    let timeout = options.idle_timeout;
    let host = options.hostname.as_str();

    reply(
        &mut write,
        timeout,
        &format!("220 {host} ESMTP authflow-mock ready"),
    )
    .await?;

    let mut session = Session::default();
    let mut errors = 0usize;
    loop {
        let line =
            match tokio::time::timeout(timeout, reader.read_line(options.max_line_length)).await {
                Ok(line) => line?,
                Err(_) => {
                    let _ = reply(
                        &mut write,
                        timeout,
                        "421 4.4.2 Idle timeout, closing connection",
                    )
                    .await;
                    return Ok(());
                }
            };
        let line = match line {
            Line::Eof => return Ok(()),
            Line::TooLong => {
                errors += 1;
                if errors >= options.max_errors {
                    return too_many_errors(&mut write, timeout).await;
                }
                reply(&mut write, timeout, "500 5.5.2 Line too long").await?;
                continue;
            }
            Line::Full(line) => line,
        };
        let line = String::from_utf8_lossy(&line);
        let (verb, args) = match line.split_once(' ') {
            Some((v, a)) => (v, a.trim()),
            None => (line.trim(), ""),
        };
        let verb = verb.to_ascii_uppercase();
        let response: Response = match verb.as_str() {
            "EHLO" | "HELO" if args.is_empty() => {
                Response::Err("501 5.5.4 Syntax: EHLO hostname".into())
            }
            "EHLO" => {
                session.reset();
                session.greeted = true;
                Response::Ok(format!(
                    "250-{host} greets {args}\r\n250-8BITMIME\r\n250-SIZE {}\r\n250 PIPELINING",
                    options.max_message_size
                ))
            }
            "HELO" => {
                session.reset();
                session.greeted = true;
                Response::Ok(format!("250 {host}"))
            }
            "MAIL" => mail_from(&mut session, args, options),
            "RCPT" => rcpt_to(&mut session, args, options),
            "DATA" => {
                if !args.is_empty() {
                    Response::Err("501 5.5.4 DATA takes no arguments".into())
                } else if session.mail_from.is_none() {
                    Response::Err("503 5.5.1 Need MAIL command first".into())
                } else if session.rcpt_to.is_empty() {
                    Response::Err("503 5.5.1 Need RCPT command first".into())
                } else {
                    reply(&mut write, timeout, "354 End data with <CR><LF>.<CR><LF>").await?;
                    match receive_data(&mut reader, options).await? {
                        Data::Eof => return Ok(()),
                        Data::Timeout => {
                            let _ = reply(
                                &mut write,
                                timeout,
                                "421 4.4.2 Idle timeout, closing connection",
                            )
                            .await;
                            return Ok(());
                        }
                        Data::TooBig => {
                            session.reset();
                            Response::Err(
                                "552 5.3.4 Message exceeds fixed maximum message size".into(),
                            )
                        }
                        Data::Message(data) => {
                            let envelope = Envelope {
                                mail_from: session.mail_from.take().unwrap_or_default(),
                                rcpt_to: std::mem::take(&mut session.rcpt_to),
                                data,
                            };
                            session.reset();
                            let delivered = std::panic::catch_unwind(AssertUnwindSafe(|| {
                                deliver(envelope);
                            }));
                            match delivered {
                                Ok(()) => Response::Ok(format!(
                                    "250 2.0.0 OK queued as {:08x}",
                                    ids.fetch_add(1, Ordering::Relaxed)
                                )),
                                Err(_) => {
                                    tracing::error!("smtp deliver callback panicked");
                                    Response::Err("451 4.3.0 Local error in processing".into())
                                }
                            }
                        }
                    }
                }
            }
            "RSET" => {
                session.reset();
                Response::Ok("250 2.0.0 OK".into())
            }
            "NOOP" => Response::Ok("250 2.0.0 OK".into()),
            "QUIT" => {
                let _ = reply(&mut write, timeout, &format!("221 2.0.0 {host} closing")).await;
                let _ = write.shutdown().await;
                return Ok(());
            }
            "VRFY" => Response::Ok("252 2.5.2 Cannot VRFY user, but will accept message".into()),
            "EXPN" | "HELP" | "TURN" | "ETRN" | "STARTTLS" | "AUTH" | "BDAT" | "SEND" | "SOML"
            | "SAML" => Response::Err("502 5.5.1 Command not implemented".into()),
            _ => Response::Err("500 5.5.2 Command not recognized".into()),
        };
        match response {
            Response::Ok(text) => {
                errors = 0;
                reply(&mut write, timeout, &text).await?;
            }
            Response::Err(text) => {
                errors += 1;
                if errors >= options.max_errors {
                    return too_many_errors(&mut write, timeout).await;
                }
                reply(&mut write, timeout, &text).await?;
            }
        }
    }
}

enum Response {
    Ok(String),
    Err(String),
}

async fn too_many_errors<W: AsyncWrite + Unpin>(
    write: &mut W,
    timeout: Duration,
) -> std::io::Result<()> {
    let _ = reply(
        write,
        timeout,
        "421 4.7.0 Too many errors, closing connection",
    )
    .await;
    Ok(())
}

async fn reply<W: AsyncWrite + Unpin>(
    write: &mut W,
    timeout: Duration,
    text: &str,
) -> std::io::Result<()> {
    let mut out = Vec::with_capacity(text.len() + 2);
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(b"\r\n");
    match tokio::time::timeout(timeout, write.write_all(&out)).await {
        Ok(r) => r,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "smtp write timed out",
        )),
    }
}

fn mail_from(session: &mut Session, args: &str, options: &SmtpOptions) -> Response {
    if !session.greeted {
        return Response::Err("503 5.5.1 Send EHLO/HELO first".into());
    }
    if session.mail_from.is_some() {
        return Response::Err("503 5.5.1 Nested MAIL command".into());
    }
    let Some(rest) = strip_prefix_ci(args, "FROM:") else {
        return Response::Err("501 5.5.4 Syntax: MAIL FROM:<address>".into());
    };
    let Some((path, params)) = parse_path(rest) else {
        return Response::Err("501 5.1.7 Bad sender address syntax".into());
    };
    for param in params.split_whitespace() {
        let (key, value) = param.split_once('=').unwrap_or((param, ""));
        match key.to_ascii_uppercase().as_str() {
            "SIZE" => match value.parse::<u64>() {
                Ok(n) if n > options.max_message_size as u64 => {
                    return Response::Err(
                        "552 5.3.4 Message size exceeds fixed maximum message size".into(),
                    );
                }
                Ok(_) => {}
                Err(_) => return Response::Err("501 5.5.4 Bad SIZE parameter".into()),
            },
            "BODY" => {
                if !matches!(value.to_ascii_uppercase().as_str(), "7BIT" | "8BITMIME") {
                    return Response::Err("501 5.5.4 Bad BODY parameter".into());
                }
            }
            "SMTPUTF8" | "AUTH" | "RET" | "ENVID" => {}
            _ => return Response::Err("555 5.5.4 Unsupported MAIL parameter".into()),
        }
    }
    session.mail_from = Some(path);
    Response::Ok("250 2.1.0 Sender OK".into())
}

fn rcpt_to(session: &mut Session, args: &str, options: &SmtpOptions) -> Response {
    if session.mail_from.is_none() {
        return Response::Err("503 5.5.1 Need MAIL command first".into());
    }
    let Some(rest) = strip_prefix_ci(args, "TO:") else {
        return Response::Err("501 5.5.4 Syntax: RCPT TO:<address>".into());
    };
    let Some((path, _params)) = parse_path(rest) else {
        return Response::Err("501 5.1.3 Bad recipient address syntax".into());
    };
    if path.is_empty() {
        return Response::Err("501 5.1.3 Bad recipient address syntax".into());
    }
    if session.rcpt_to.len() >= options.max_recipients {
        return Response::Err("452 4.5.3 Too many recipients".into());
    }
    session.rcpt_to.push(path);
    Response::Ok("250 2.1.5 Recipient OK".into())
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s[prefix.len()..].trim_start())
}

/// `<user@example.com> SIZE=10` → (`user@example.com`, `SIZE=10`). Accepts a
/// bare address without brackets too, drops an RFC 5321 source route
/// (`<@a,@b:user@c>`), rejects spaces, control characters and unbalanced
/// brackets.
fn parse_path(s: &str) -> Option<(String, &str)> {
    let s = s.trim_start();
    let (path, params) = if let Some(inner) = s.strip_prefix('<') {
        let close = inner.find('>')?;
        (&inner[..close], &inner[close + 1..])
    } else {
        match s.split_once(' ') {
            Some((p, rest)) => (p, rest),
            None => (s, ""),
        }
    };
    let path = match path.split_once(':') {
        Some((route, addr)) if route.starts_with('@') => addr,
        _ => path,
    };
    if path
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
    {
        return None;
    }
    if !path.is_empty() && (!path.contains('@') && !path.eq_ignore_ascii_case("postmaster")) {
        return None;
    }
    Some((path.to_owned(), params.trim()))
}

enum Data {
    Message(Vec<u8>),
    TooBig,
    Eof,
    Timeout,
}

/// Read a message up to the `.` line, unstuffing leading dots. Over the size
/// limit the rest is read and dropped so the session stays in step.
async fn receive_data<R: AsyncRead + Unpin>(
    reader: &mut LineReader<R>,
    options: &SmtpOptions,
) -> std::io::Result<Data> {
    let max = options.max_message_size;
    let mut data = Vec::new();
    let mut too_big = false;
    loop {
        // A single line may be as long as the whole message may be.
        let line = match tokio::time::timeout(
            options.idle_timeout,
            reader.read_line(max.saturating_add(2)),
        )
        .await
        {
            Ok(line) => line?,
            Err(_) => return Ok(Data::Timeout),
        };
        let line = match line {
            Line::Eof => return Ok(Data::Eof),
            Line::TooLong => {
                too_big = true;
                data = Vec::new();
                continue;
            }
            Line::Full(line) => line,
        };
        if line == b"." {
            return Ok(if too_big {
                Data::TooBig
            } else {
                Data::Message(data)
            });
        }
        if too_big {
            continue;
        }
        let content = line.strip_prefix(b".").unwrap_or(&line);
        if data.len() + content.len() + 2 > max {
            too_big = true;
            data = Vec::new();
            continue;
        }
        data.extend_from_slice(content);
        data.extend_from_slice(b"\r\n");
    }
}
