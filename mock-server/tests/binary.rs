//! The `authflow-mock` binary as a process: what it prints (the first stdout
//! line is `listening on http://HOST:PORT`; credentials from the environment
//! are never echoed, generated ones are), that the SDK works against it, that
//! it stops cleanly on SIGTERM, and that bad configuration fails fast with a
//! clear message.
//!
//! Every wait is bounded, and a guard kills the child if a test fails.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use authflow::api::validation::is_org_api_key;
use authflow::{AuthFlowClient, LoginOutcome, Session};
use secrecy::{ExposeSecret, SecretString};

const BIN: &str = env!("CARGO_BIN_EXE_authflow-mock");
/// Start-up generates an RSA key; allow for a loaded machine.
const START_TIMEOUT: Duration = Duration::from_secs(30);
const EXIT_TIMEOUT: Duration = Duration::from_secs(5);
/// Environment variables the binary reads; cleared so the host's do not leak in.
const ENV_VARS: [&str; 10] = [
    "AIDENID_AGENT_KEY",
    "AIDENID_ORG_ID",
    "AIDENID_PROJECT_ID",
    "AUTHFLOW_API_KEY",
    "AUTHFLOW_ORG_ID",
    "AUTHFLOW_OWNER_EMAIL",
    "AUTHFLOW_OWNER_PASSWORD",
    "AUTHFLOW_MOCK_LOG",
    "FLOWS_ADMIN_TOKEN",
    "FLOWS_READ_TOKEN",
];
const PASSWORD: &str = "B1nary-Pass!";

/// A running `authflow-mock`, killed on drop if still running.
struct Mock {
    child: Child,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
}

impl Drop for Mock {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Mock {
    fn spawn(args: &[&str], env: &[(&str, &str)]) -> Mock {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for var in ENV_VARS {
            cmd.env_remove(var);
        }
        cmd.envs(env.iter().copied());
        let mut child = cmd.spawn().expect("spawn authflow-mock");
        let out = child.stdout.take().expect("piped stdout");
        let err = child.stderr.take().expect("piped stderr");
        let (out_tx, stdout) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if out_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (err_tx, stderr) = mpsc::channel();
        thread::spawn(move || {
            let mut text = String::new();
            let _ = BufReader::new(err).read_to_string(&mut text);
            let _ = err_tx.send(text);
        });
        Mock {
            child,
            stdout,
            stderr,
        }
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// The next stdout line, or `None` at end of output or after `timeout`.
    fn line(&self, timeout: Duration) -> Option<String> {
        self.stdout.recv_timeout(timeout).ok()
    }

    /// Every stdout line until one starts with `last` (included).
    fn lines_until(&self, last: &str) -> Vec<String> {
        let deadline = Instant::now() + START_TIMEOUT;
        let mut lines = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .line(left)
                .unwrap_or_else(|| panic!("no `{last}` line; got {lines:?}"));
            let done = line.starts_with(last);
            lines.push(line);
            if done {
                return lines;
            }
        }
    }

    /// Wait for the process to exit.
    fn wait(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Wait for exit, then collect the rest of stdout and all of stderr.
    fn finish(&mut self, timeout: Duration) -> (ExitStatus, String, String) {
        let status = self
            .wait(timeout)
            .unwrap_or_else(|| panic!("authflow-mock still running after {timeout:?}"));
        let mut stdout = String::new();
        while let Ok(line) = self.stdout.recv_timeout(Duration::from_secs(5)) {
            stdout.push_str(&line);
            stdout.push('\n');
        }
        let stderr = self
            .stderr
            .recv_timeout(Duration::from_secs(5))
            .unwrap_or_default();
        (status, stdout, stderr)
    }

    fn sigterm(&self) {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
    }
}

/// The base URL of the first stdout line, which must be exactly
/// `listening on http://127.0.0.1:PORT`.
fn base_url_of(first: &str) -> String {
    let url = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line: {first:?}"));
    let port = url
        .strip_prefix("http://127.0.0.1:")
        .unwrap_or_else(|| panic!("first line: {first:?}"));
    let port: u16 = port
        .parse()
        .unwrap_or_else(|_| panic!("first line: {first:?}"));
    assert_ne!(port, 0, "a real port was picked");
    url.to_owned()
}

fn client(base_url: &str, key: &str) -> AuthFlowClient {
    AuthFlowClient::builder()
        .api_key(SecretString::from(key))
        .base_url(base_url)
        .build()
        .expect("valid client")
}

fn session(outcome: LoginOutcome) -> Session {
    match outcome {
        LoginOutcome::Session(s) => s.into_inner(),
        LoginOutcome::TwoFactorRequired(_) => panic!("no 2FA expected"),
    }
}

/// The value after `NAME=` in the printed credentials (the first word).
fn printed(lines: &[String], name: &str) -> String {
    let prefix = format!("{name}=");
    lines
        .iter()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.split_whitespace().next())
        .unwrap_or_else(|| panic!("no {name}= line in {lines:?}"))
        .to_owned()
}

/// Sign up a user, log in, and check the session.
async fn sign_up_and_login(client: &AuthFlowClient, email: &str) {
    let password = SecretString::from(PASSWORD);
    let signed_up = client
        .sign_up(email, &password, "Binary User", "user")
        .await
        .expect("sign-up against the binary")
        .into_inner();
    assert!(client.validate(&signed_up).await.expect("validate"));
    let logged_in = session(client.login(email, &password, "user").await.expect("login"));
    let me = client.me(&logged_in.token).await.expect("me");
    assert_eq!(me.email, email);
}

// ------------------------------------------------------------------- tests

#[tokio::test]
async fn serves_with_environment_credentials_and_stops_on_sigterm() {
    let key = "af_5e1f0c2b9a8d7e6f5a4b3c2d1e0f9a8b";
    let owner_email = "ops@example.org";
    let owner_password = "Env-0wner-Pass!";
    let mut mock = Mock::spawn(
        &["--listen", "127.0.0.1:0", "--fast-hashing"],
        &[
            ("AUTHFLOW_API_KEY", key),
            ("AUTHFLOW_OWNER_EMAIL", owner_email),
            ("AUTHFLOW_OWNER_PASSWORD", owner_password),
        ],
    );
    let first = mock
        .line(START_TIMEOUT)
        .expect("a first stdout line within the start timeout");
    let base_url = base_url_of(&first);
    let lines = mock.lines_until("owner role:");
    let shown = lines.join("\n");
    assert!(
        !shown.contains(key) && !shown.contains(&key[3..]),
        "the key from the environment is not printed: {shown}"
    );
    assert!(!shown.contains(owner_password), "{shown}");
    assert!(
        lines
            .iter()
            .any(|l| l == "AUTHFLOW_API_KEY: (from environment)"),
        "{shown}"
    );

    // The SDK works against it, with the environment's key and owner.
    let sdk = client(&base_url, key);
    sign_up_and_login(&sdk, "bin-user@example.com").await;
    let owner = session(
        sdk.login(owner_email, &SecretString::from(owner_password), "owner")
            .await
            .expect("the owner from the environment logs in"),
    );
    assert!(sdk.validate(&owner).await.expect("validate"));
    let other = client(&base_url, "af_00000000000000000000000000000000");
    let err = other
        .foobar("bin-user@example.com", None)
        .await
        .expect_err("only the environment's key is accepted");
    assert_eq!(err.status(), Some(401), "{err}");

    mock.sigterm();
    let (status, rest, stderr) = mock.finish(EXIT_TIMEOUT);
    assert!(status.success(), "exit after SIGTERM: {status:?}\n{stderr}");
    assert!(stderr.contains("shutting down"), "{stderr}");
    for text in [&rest, &stderr] {
        assert!(
            !text.contains(key) && !text.contains(owner_password),
            "{text}"
        );
    }
    let addr = base_url.trim_start_matches("http://");
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "the port is closed after exit"
    );
}

#[tokio::test]
async fn generates_and_prints_missing_credentials() {
    let mut mock = Mock::spawn(&["--listen", "127.0.0.1:0", "--fast-hashing"], &[]);
    let first = mock.line(START_TIMEOUT).expect("a first stdout line");
    let base_url = base_url_of(&first);
    let lines = mock.lines_until("owner role:");

    let key_line = lines
        .iter()
        .find(|l| l.starts_with("AUTHFLOW_API_KEY="))
        .unwrap_or_else(|| panic!("no AUTHFLOW_API_KEY= line: {lines:?}"));
    let key = printed(&lines, "AUTHFLOW_API_KEY");
    assert!(is_org_api_key(&key), "{key_line}");
    let owner_email = printed(&lines, "AUTHFLOW_OWNER_EMAIL");
    let owner_password = printed(&lines, "AUTHFLOW_OWNER_PASSWORD");
    assert!(!printed(&lines, "AUTHFLOW_ORG_ID").is_empty());

    let sdk = client(&base_url, &key);
    sign_up_and_login(&sdk, "gen-user@example.com").await;
    let owner = session(
        sdk.login(&owner_email, &SecretString::from(owner_password), "owner")
            .await
            .expect("the printed owner credentials work"),
    );
    assert!(sdk.validate(&owner).await.expect("validate"));
    assert!(owner.token.expose_secret().starts_with("eyJ"), "a JWT");

    mock.sigterm();
    let (status, _, stderr) = mock.finish(EXIT_TIMEOUT);
    assert!(status.success(), "{status:?}\n{stderr}");
}

/// `GET /api/admin/flows` with an optional bearer token.
async fn list_flows(base_url: &str, token: Option<&str>) -> reqwest::Response {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client");
    let mut req = client.get(format!("{base_url}/api/admin/flows"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.expect("GET /api/admin/flows")
}

/// `POST /api/admin/flows` (a minimal valid flow) with a bearer token.
async fn create_flow(base_url: &str, token: &str) -> reqwest::Response {
    let body = serde_json::json!({
        "name": "binary-flow",
        "display_name": "Binary flow",
        "type": "login",
        "graph": {
            "nodes": [{"id": "start", "type": "start"}, {"id": "success", "type": "success"}],
            "edges": [{"source": "start", "target": "success"}]
        }
    });
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client")
        .post(format!("{base_url}/api/admin/flows"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("POST /api/admin/flows")
}

/// A 401 envelope whose `requestId` is the `X-Request-Id` header.
async fn assert_unauthorized(resp: reqwest::Response) {
    assert_eq!(resp.status().as_u16(), 401);
    let header = resp
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .expect("X-Request-Id");
    let v: serde_json::Value = resp.json().await.expect("JSON envelope");
    assert_eq!(v["error"]["code"], "unauthorized", "{v}");
    assert_eq!(v["requestId"], header.as_str(), "{v}");
    assert_eq!(v["error"]["details"]["requestId"], header.as_str(), "{v}");
    assert_eq!(v["path"], "/api/admin/flows", "{v}");
    assert_eq!(v["retryable"], false, "{v}");
}

#[tokio::test]
async fn flow_admin_token_from_the_environment_is_used_and_not_printed() {
    let token = "fla_env_7c1d9e2f4a6b8c0d1e3f5a7b9c2d4e6f";
    let mut mock = Mock::spawn(
        &["--listen", "127.0.0.1:0", "--fast-hashing"],
        &[("FLOWS_ADMIN_TOKEN", token)],
    );
    let first = mock.line(START_TIMEOUT).expect("a first stdout line");
    let base_url = base_url_of(&first);
    let lines = mock.lines_until("owner role:");
    let shown = lines.join("\n");
    assert!(
        !shown.contains(token) && !shown.contains(&token[4..]),
        "the admin token from the environment is not printed: {shown}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l == "FLOWS_ADMIN_TOKEN: (from environment)"),
        "{shown}"
    );
    let read = printed(&lines, "FLOWS_READ_TOKEN");
    assert!(
        read.starts_with("flr_"),
        "the read token is generated: {shown}"
    );

    let resp = list_flows(&base_url, Some(token)).await;
    assert_eq!(resp.status().as_u16(), 200);
    let v: serde_json::Value = resp.json().await.expect("JSON list");
    assert_eq!(
        v,
        serde_json::json!({"items": [], "total": 0, "cursor": null})
    );
    assert_unauthorized(list_flows(&base_url, None).await).await;
    assert_unauthorized(list_flows(&base_url, Some("fla_not_the_token")).await).await;
    // The generated read-only token reads, and may not create.
    assert_eq!(
        list_flows(&base_url, Some(&read)).await.status().as_u16(),
        200
    );
    assert_eq!(create_flow(&base_url, &read).await.status().as_u16(), 403);

    mock.sigterm();
    let (status, rest, stderr) = mock.finish(EXIT_TIMEOUT);
    assert!(status.success(), "{status:?}\n{stderr}");
    for text in [&rest, &stderr] {
        assert!(!text.contains(token), "{text}");
    }
}

#[tokio::test]
async fn generates_and_prints_flow_tokens_when_unset() {
    let mut mock = Mock::spawn(&["--listen", "127.0.0.1:0", "--fast-hashing"], &[]);
    let first = mock.line(START_TIMEOUT).expect("a first stdout line");
    let base_url = base_url_of(&first);
    let lines = mock.lines_until("owner role:");
    let is_token = |t: &str, prefix: &str| {
        t.strip_prefix(prefix).is_some_and(|hex| {
            hex.len() == 32
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
    };
    let mut tokens = Vec::new();
    for (name, prefix) in [("FLOWS_ADMIN_TOKEN", "fla_"), ("FLOWS_READ_TOKEN", "flr_")] {
        let line = lines
            .iter()
            .find(|l| l.starts_with(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name}= line: {lines:?}"));
        let token = printed(&lines, name);
        assert!(is_token(&token, prefix), "{line}");
        assert_eq!(*line, format!("{name}={token} (generated)"));
        tokens.push(token);
    }
    assert_ne!(tokens[0], tokens[1]);

    let resp = create_flow(&base_url, &tokens[0]).await;
    assert_eq!(
        resp.status().as_u16(),
        201,
        "the printed admin token creates"
    );
    let resp = list_flows(&base_url, Some(&tokens[1])).await;
    assert_eq!(resp.status().as_u16(), 200);
    let v: serde_json::Value = resp.json().await.expect("JSON list");
    assert_eq!(v["total"], 1, "{v}");
    assert_eq!(
        create_flow(&base_url, &tokens[1]).await.status().as_u16(),
        403
    );
    assert_unauthorized(list_flows(&base_url, None).await).await;

    mock.sigterm();
    let (status, _, stderr) = mock.finish(EXIT_TIMEOUT);
    assert!(status.success(), "{status:?}\n{stderr}");
}

#[test]
fn malformed_api_key_fails_without_echoing_it() {
    for key in [
        "af_THIS-IS-NOT-A-VALID-KEY-7f3a9c",
        "af_0123456789ABCDEF0123456789ABCDEF",
        "af_0123456789abcdef0123456789abcde",
        "sk_live_0123456789abcdef0123456789abcdef",
    ] {
        let mut mock = Mock::spawn(
            &["--listen", "127.0.0.1:0", "--fast-hashing"],
            &[("AUTHFLOW_API_KEY", key)],
        );
        let (status, stdout, stderr) = mock.finish(Duration::from_secs(20));
        assert!(!status.success(), "{key}: exits non-zero");
        assert!(
            stderr.contains("AUTHFLOW_API_KEY") && stderr.contains("32 lowercase hex"),
            "{key}: a clear message: {stderr:?}"
        );
        assert!(!stderr.contains(key), "{key}: stderr echoes the key");
        assert!(!stdout.contains(key), "{key}: stdout echoes the key");
        assert!(
            !stdout.contains("listening on"),
            "{key}: never started: {stdout}"
        );
    }
}

#[test]
fn busy_address_fails_with_a_bind_error() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind a port");
    let addr = taken.local_addr().expect("local addr").to_string();
    let mut mock = Mock::spawn(&["--listen", &addr, "--fast-hashing"], &[]);
    let (status, stdout, stderr) = mock.finish(START_TIMEOUT);
    assert!(!status.success(), "{stdout}");
    assert!(
        stderr.contains("could not bind") && stderr.contains(&addr),
        "{stderr:?}"
    );
    assert!(!stdout.contains("listening on"), "{stdout}");
}

#[test]
fn help_documents_the_flags_environment_and_control_api() {
    let mut mock = Mock::spawn(&["--help"], &[]);
    let (status, stdout, stderr) = mock.finish(Duration::from_secs(10));
    assert!(status.success(), "{stderr}");
    for needle in [
        "--listen",
        "--fast-hashing",
        "AUTHFLOW_API_KEY",
        "AUTHFLOW_OWNER_PASSWORD",
        "/__mock/",
    ] {
        assert!(stdout.contains(needle), "--help lacks {needle}:\n{stdout}");
    }
}

/// `--smtp-listen` and `AIDENID_AGENT_KEY`: an identity created with the
/// key from the environment receives a message sent over SMTP; the key is
/// not printed.
#[tokio::test]
async fn smtp_listener_and_agent_key_from_the_environment() {
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
    const KEY: &str = "aid_binarytestkey0123456789";
    let mut mock = Mock::spawn(
        &[
            "--listen",
            "127.0.0.1:0",
            "--fast-hashing",
            "--smtp-listen",
            "127.0.0.1:0",
        ],
        &[
            ("AIDENID_AGENT_KEY", KEY),
            ("AIDENID_ORG_ID", "org_bin"),
            ("AIDENID_PROJECT_ID", "proj_bin"),
        ],
    );
    let first = mock.line(START_TIMEOUT).expect("a first stdout line");
    let base_url = base_url_of(&first);
    let lines = mock.lines_until("smtp on ");
    assert!(!lines.join("\n").contains(KEY), "{lines:?}");
    let smtp: std::net::SocketAddr = lines
        .last()
        .and_then(|l| l.strip_prefix("smtp on "))
        .and_then(|a| a.parse().ok())
        .expect("smtp address");

    let http = reqwest::Client::new();
    let ident: serde_json::Value = http
        .post(format!("{base_url}/v1/identities"))
        .bearer_auth(KEY)
        .header("X-Org-Id", "org_bin")
        .header("X-Project-Id", "proj_bin")
        .header("Idempotency-Key", "bin-1")
        .json(&serde_json::json!({ "label": "binary" }))
        .send()
        .await
        .expect("create identity")
        .json()
        .await
        .expect("JSON");
    let address = ident["email"].as_str().expect("email").to_owned();
    let id = ident["id"].as_str().expect("id").to_owned();

    let mailer = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.ip().to_string())
        .port(smtp.port())
        .build();
    let msg = Message::builder()
        .from("App <app@example.com>".parse().expect("from"))
        .to(address.parse().expect("to"))
        .subject("Your code")
        .body(String::from("Your verification code is 246810."))
        .expect("message");
    mailer.send(msg).await.expect("SMTP delivery");

    let inbox: serde_json::Value = http
        .get(format!("{base_url}/v1/identities/{id}/messages"))
        .bearer_auth(KEY)
        .header("X-Org-Id", "org_bin")
        .header("X-Project-Id", "proj_bin")
        .send()
        .await
        .expect("messages")
        .json()
        .await
        .expect("JSON");
    assert_eq!(inbox["total"], 1, "{inbox}");
    assert_eq!(inbox["items"][0]["extraction"]["type"], "otp");
    assert_eq!(inbox["items"][0]["extraction"]["redacted_value"], "***810");

    mock.sigterm();
    let (status, _, stderr) = mock.finish(EXIT_TIMEOUT);
    assert!(status.success(), "{status:?}\n{stderr}");
}
