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

#[cfg(test)]
mod tests {
    use super::*;

    use tokio::io::{AsyncBufReadExt, BufReader};
    use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
    use tokio::sync::mpsc;

    use crate::mail::mime;

    async fn server(options: SmtpOptions) -> (SmtpServer, mpsc::UnboundedReceiver<Envelope>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let deliver: Deliver = Arc::new(move |env| {
            let _ = tx.send(env);
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        (start_with(listener, deliver, options).await.unwrap(), rx)
    }

    struct Client {
        read: BufReader<OwnedReadHalf>,
        write: OwnedWriteHalf,
    }

    impl Client {
        async fn connect(addr: SocketAddr) -> Client {
            let (read, write) = TcpStream::connect(addr).await.unwrap().into_split();
            Client {
                read: BufReader::new(read),
                write,
            }
        }

        async fn send(&mut self, raw: &str) {
            self.write.write_all(raw.as_bytes()).await.unwrap();
        }

        /// One (possibly multi-line) reply: its code and its lines.
        async fn reply(&mut self) -> (u16, Vec<String>) {
            let mut lines = Vec::new();
            loop {
                let mut line = String::new();
                let n =
                    tokio::time::timeout(Duration::from_secs(10), self.read.read_line(&mut line))
                        .await
                        .expect("reply timed out")
                        .unwrap();
                assert!(n > 0, "connection closed; got {lines:?}");
                let line = line.trim_end().to_owned();
                let last = line.as_bytes().get(3) != Some(&b'-');
                lines.push(line);
                if last {
                    break;
                }
            }
            let code = lines[0][..3].parse().unwrap();
            (code, lines)
        }

        async fn code(&mut self) -> u16 {
            self.reply().await.0
        }

        async fn closed(&mut self) -> bool {
            let mut line = String::new();
            matches!(
                tokio::time::timeout(Duration::from_secs(10), self.read.read_line(&mut line)).await,
                Ok(Ok(0)) | Ok(Err(_))
            )
        }
    }

    #[tokio::test]
    async fn lettre_delivers_a_real_message() {
        use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

        let (srv, mut rx) = server(SmtpOptions::default()).await;
        let email = Message::builder()
            .from("Acme <no-reply@acme.example>".parse().unwrap())
            .to("ident_1@inbox.mock".parse().unwrap())
            .to("ident_2@inbox.mock".parse().unwrap())
            .subject("Ihr Bestätigungscode")
            .body(String::from(
                "Hallo,\n\nIhr Bestätigungscode lautet 482913.\n.\n..leading dots survive\n",
            ))
            .unwrap();
        let mailer = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(srv.local_addr().port())
            .build();
        mailer.send(email).await.unwrap();

        let env = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(env.mail_from, "no-reply@acme.example");
        assert_eq!(
            env.rcpt_to,
            vec!["ident_1@inbox.mock", "ident_2@inbox.mock"]
        );
        let mail = mime::parse(&env.data).unwrap();
        assert_eq!(mail.subject, "Ihr Bestätigungscode");
        assert_eq!(mail.from, "no-reply@acme.example");
        assert_eq!(mail.to, vec!["ident_1@inbox.mock", "ident_2@inbox.mock"]);
        assert!(
            mail.text.contains("Ihr Bestätigungscode lautet 482913."),
            "{:?}",
            mail.text
        );
        assert!(
            mail.text.contains("\n.\n..leading dots survive"),
            "{:?}",
            mail.text
        );
        let secret = crate::mail::secret_extract::extract(&mail.subject, &mail.text, None).unwrap();
        assert_eq!(secret.value, "482913");
        // Debug of the envelope shows no body.
        assert!(!format!("{env:?}").contains("482913"));
        srv.shutdown().await;
    }

    #[tokio::test]
    async fn pipelined_transaction() {
        let (srv, mut rx) = server(SmtpOptions::default()).await;
        let mut c = Client::connect(srv.local_addr()).await;
        assert_eq!(c.code().await, 220);
        c.send(
            "EHLO client.example\r\nMAIL FROM:<app@example.com> SIZE=100 BODY=8BITMIME\r\n\
             RCPT TO:<a@inbox.mock>\r\nRCPT TO:<b@inbox.mock>\r\nDATA\r\n",
        )
        .await;
        let (code, ehlo) = c.reply().await;
        assert_eq!(code, 250);
        assert!(ehlo.iter().any(|l| l == "250-8BITMIME"), "{ehlo:?}");
        assert!(ehlo.iter().any(|l| l == "250-SIZE 10485760"), "{ehlo:?}");
        assert!(ehlo.iter().any(|l| l == "250 PIPELINING"), "{ehlo:?}");
        assert_eq!(c.code().await, 250);
        assert_eq!(c.code().await, 250);
        assert_eq!(c.code().await, 250);
        assert_eq!(c.code().await, 354);
        // Message, terminator, a second transaction and QUIT in one write.
        c.send(
            "Subject: one\r\n\r\nfirst\r\n.\r\nMAIL FROM:<>\r\nRCPT TO:<c@inbox.mock>\r\nDATA\r\n",
        )
        .await;
        assert_eq!(c.code().await, 250);
        assert_eq!(c.code().await, 250);
        assert_eq!(c.code().await, 250);
        assert_eq!(c.code().await, 354);
        c.send("Subject: two\n\nbare LF lines\n.\nQUIT\r\n").await;
        assert_eq!(c.code().await, 250);
        assert_eq!(c.code().await, 221);
        assert!(c.closed().await);

        let first = rx.recv().await.unwrap();
        assert_eq!(first.mail_from, "app@example.com");
        assert_eq!(first.rcpt_to, vec!["a@inbox.mock", "b@inbox.mock"]);
        assert_eq!(first.data, b"Subject: one\r\n\r\nfirst\r\n");
        let second = rx.recv().await.unwrap();
        assert_eq!(second.mail_from, "");
        assert_eq!(second.rcpt_to, vec!["c@inbox.mock"]);
        assert_eq!(second.data, b"Subject: two\r\n\r\nbare LF lines\r\n");
    }

    #[tokio::test]
    async fn bad_commands_and_sequence() {
        let (srv, mut rx) = server(SmtpOptions::default()).await;
        let mut c = Client::connect(srv.local_addr()).await;
        assert_eq!(c.code().await, 220);
        c.send("MAIL FROM:<a@example.com>\r\n").await;
        assert_eq!(c.code().await, 503, "MAIL before EHLO");
        c.send("HELO\r\n").await;
        assert_eq!(c.code().await, 501, "HELO without a name");
        c.send("HELO client.example\r\n").await;
        assert_eq!(c.code().await, 250);
        c.send("DATA\r\n").await;
        assert_eq!(c.code().await, 503, "DATA before MAIL");
        c.send("RCPT TO:<b@inbox.mock>\r\n").await;
        assert_eq!(c.code().await, 503, "RCPT before MAIL");
        c.send("MAIL FROM a@example.com\r\n").await;
        assert_eq!(c.code().await, 501, "no colon");
        c.send("MAIL FROM:<not an address>\r\n").await;
        assert_eq!(c.code().await, 501);
        c.send("MAIL FROM:<a@example.com> FOO=1\r\n").await;
        assert_eq!(c.code().await, 555);
        c.send("MAIL FROM:<a@example.com>\r\n").await;
        assert_eq!(c.code().await, 250);
        c.send("MAIL FROM:<a@example.com>\r\n").await;
        assert_eq!(c.code().await, 503, "nested MAIL");
        c.send("DATA\r\n").await;
        assert_eq!(c.code().await, 503, "DATA before RCPT");
        c.send("RCPT TO:<>\r\n").await;
        assert_eq!(c.code().await, 501);
        c.send("RCPT TO:<@relay.example:b@inbox.mock>\r\n").await;
        assert_eq!(c.code().await, 250, "source route dropped");
        c.send("DATA extra\r\n").await;
        assert_eq!(c.code().await, 501);
        c.send("RSET\r\n").await;
        assert_eq!(c.code().await, 250);
        c.send("DATA\r\n").await;
        assert_eq!(c.code().await, 503, "RSET forgot the transaction");
        c.send("NOOP hello\r\n").await;
        assert_eq!(c.code().await, 250);
        c.send("VRFY someone\r\n").await;
        assert_eq!(c.code().await, 252);
        c.send("STARTTLS\r\n").await;
        assert_eq!(c.code().await, 502);
        c.send("BOGUS\r\n").await;
        assert_eq!(c.code().await, 500);
        c.send("\r\n").await;
        assert_eq!(c.code().await, 500);
        c.send(&format!("NOOP {}\r\n", "x".repeat(10_000))).await;
        assert_eq!(c.code().await, 500, "line too long");
        c.send("\u{ff}\u{fe}\r\n").await;
        assert_eq!(c.code().await, 500);
        c.send("QUIT\r\n").await;
        assert_eq!(c.code().await, 221);
        assert!(rx.try_recv().is_err(), "nothing delivered");
    }

    #[tokio::test]
    async fn oversize_messages_get_552() {
        let options = SmtpOptions {
            max_message_size: 1024,
            ..SmtpOptions::default()
        };
        let (srv, mut rx) = server(options).await;
        let mut c = Client::connect(srv.local_addr()).await;
        assert_eq!(c.code().await, 220);
        c.send("EHLO x\r\n").await;
        let (_, ehlo) = c.reply().await;
        assert!(ehlo.iter().any(|l| l == "250-SIZE 1024"), "{ehlo:?}");
        c.send("MAIL FROM:<a@example.com> SIZE=5000\r\n").await;
        assert_eq!(c.code().await, 552, "declared size too big");
        c.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@inbox.mock>\r\nDATA\r\n")
            .await;
        assert_eq!(c.code().await, 250);
        assert_eq!(c.code().await, 250);
        assert_eq!(c.code().await, 354);
        let body = "0123456789".repeat(30) + "\r\n";
        c.send(&format!("Subject: big\r\n\r\n{}.\r\n", body.repeat(10)))
            .await;
        assert_eq!(c.code().await, 552);
        // One enormous line is dropped the same way.
        c.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@inbox.mock>\r\nDATA\r\n")
            .await;
        assert_eq!(c.code().await, 250);
        assert_eq!(c.code().await, 250);
        assert_eq!(c.code().await, 354);
        c.send(&format!("{}\r\n.\r\n", "y".repeat(50_000))).await;
        assert_eq!(c.code().await, 552);
        // The session is still usable and a small message goes through.
        c.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@inbox.mock>\r\nDATA\r\n")
            .await;
        assert_eq!(c.code().await, 250);
        assert_eq!(c.code().await, 250);
        assert_eq!(c.code().await, 354);
        c.send("Subject: small\r\n\r\nok\r\n.\r\n").await;
        assert_eq!(c.code().await, 250);
        let env = rx.recv().await.unwrap();
        assert_eq!(env.data, b"Subject: small\r\n\r\nok\r\n");
        assert!(rx.try_recv().is_err());
    }

    #[tokio::test]
    async fn dot_stuffing() {
        let (srv, mut rx) = server(SmtpOptions::default()).await;
        let mut c = Client::connect(srv.local_addr()).await;
        assert_eq!(c.code().await, 220);
        c.send("EHLO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@inbox.mock>\r\nDATA\r\n")
            .await;
        for want in [250, 250, 250, 354] {
            assert_eq!(c.code().await, want);
        }
        c.send("Subject: dots\r\n\r\n..\r\n...two\r\n.x\r\nend.\r\n. \r\n.\r\n")
            .await;
        assert_eq!(c.code().await, 250);
        let env = rx.recv().await.unwrap();
        assert_eq!(
            String::from_utf8(env.data).unwrap(),
            "Subject: dots\r\n\r\n.\r\n..two\r\nx\r\nend.\r\n \r\n"
        );
    }

    #[tokio::test]
    async fn idle_timeout_and_connection_limit() {
        let options = SmtpOptions {
            idle_timeout: Duration::from_millis(300),
            max_connections: 1,
            ..SmtpOptions::default()
        };
        let (srv, _rx) = server(options).await;
        let mut first = Client::connect(srv.local_addr()).await;
        assert_eq!(first.code().await, 220);
        let mut second = Client::connect(srv.local_addr()).await;
        assert_eq!(second.code().await, 421, "over the connection limit");
        assert!(second.closed().await);
        // The idle first connection is told 421 and closed.
        assert_eq!(first.code().await, 421);
        assert!(first.closed().await);
        // Its slot is free again.
        let mut third = Client::connect(srv.local_addr()).await;
        assert_eq!(third.code().await, 220);
    }

    #[tokio::test]
    async fn garbage_does_not_hurt_the_server() {
        let options = SmtpOptions {
            max_line_length: 512,
            ..SmtpOptions::default()
        };
        let (srv, _rx) = server(options).await;
        let mut seed: u64 = 0xDEAD_BEEF_CAFE_F00D;
        for round in 0..20 {
            let mut c = Client::connect(srv.local_addr()).await;
            assert_eq!(c.code().await, 220);
            let mut junk = Vec::new();
            for _ in 0..(round * 500) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                junk.push(match seed % 10 {
                    0 => b'\n',
                    1 => b'.',
                    _ => (seed >> 24) as u8,
                });
            }
            // The server may close on us (too many errors): ignore write errors.
            let _ = c.write.write_all(&junk).await;
            let _ = c.write.write_all(b"\r\nDATA\r\n.\r\n").await;
            drop(c);
        }
        let mut c = Client::connect(srv.local_addr()).await;
        assert_eq!(c.code().await, 220);
        c.send("NOOP\r\n").await;
        assert_eq!(c.code().await, 250);
    }

    #[tokio::test]
    async fn too_many_errors_closes() {
        let options = SmtpOptions {
            max_errors: 3,
            ..SmtpOptions::default()
        };
        let (srv, _rx) = server(options).await;
        let mut c = Client::connect(srv.local_addr()).await;
        assert_eq!(c.code().await, 220);
        c.send("A\r\nB\r\nC\r\n").await;
        assert_eq!(c.code().await, 500);
        assert_eq!(c.code().await, 500);
        assert_eq!(c.code().await, 421);
        assert!(c.closed().await);
    }

    #[tokio::test]
    async fn panicking_deliver_gets_451_and_drop_stops_the_server() {
        let deliver: Deliver = Arc::new(|_env| panic!("boom"));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let srv = start(listener, deliver).await.unwrap();
        let addr = srv.local_addr();
        let mut c = Client::connect(addr).await;
        assert_eq!(c.code().await, 220);
        c.send("HELO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@inbox.mock>\r\nDATA\r\n")
            .await;
        for want in [250, 250, 250, 354] {
            assert_eq!(c.code().await, want);
        }
        c.send("Subject: x\r\n\r\nx\r\n.\r\n").await;
        assert_eq!(c.code().await, 451);
        c.send("NOOP\r\n").await;
        assert_eq!(c.code().await, 250);
        drop(srv);
        // The open connection is closed and nothing listens any more.
        assert!(c.closed().await);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(TcpStream::connect(addr).await.is_err());
    }
}
