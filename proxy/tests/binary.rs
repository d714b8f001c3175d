//! Drives the `authflow-proxy` binary: start-up line, forwarding to the mock,
//! the key's sources (environment or file, never argv), refusal of a
//! malformed key, the TOML file, and graceful shutdown on SIGTERM draining an
//! in-flight request.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use authflow_mock::MockServer;
use secrecy::ExposeSecret;

const BIN: &str = env!("CARGO_BIN_EXE_authflow-proxy");

/// Kills the child on drop (if a test fails half-way).
struct Running {
    child: Child,
    url: String,
    _stdout: BufReader<std::process::ChildStdout>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(mut cmd: Command) -> Running {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    let mut stdout = BufReader::new(stdout);
    stdout.read_line(&mut line).expect("first line");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    Running {
        child,
        url,
        _stdout: stdout,
    }
}

fn proxy_cmd(upstream: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(["--listen", "127.0.0.1:0", "--upstream", upstream])
        .env_remove("AUTHFLOW_API_KEY")
        .env("RUST_LOG", "warn");
    cmd
}

fn run(mut cmd: Command) -> Output {
    cmd.stdin(Stdio::null()).output().expect("binary runs")
}

#[tokio::test]
async fn forwards_with_the_key_from_the_environment_and_drains_on_sigterm() {
    let mock = MockServer::start().await.expect("mock");
    let mut cmd = proxy_cmd(&mock.base_url());
    cmd.env("AUTHFLOW_API_KEY", mock.api_key().expose_secret());
    let mut proxy = start(cmd);
    let http = reqwest::Client::new();

    let health = http
        .get(format!("{}/healthz", proxy.url))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    let fb = http
        .get(format!("{}/auth/fooBar?identity=a%40b.co", proxy.url))
        .send()
        .await
        .expect("fooBar");
    assert_eq!(fb.status(), 200);
    let metrics = http
        .get(format!("{}/metrics", proxy.url))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(metrics.contains("authflow_proxy_requests_total{route=\"fooBar\",status=\"200\"} 1"));

    // A slow in-flight request survives SIGTERM; then the process exits 0.
    http.post(format!("{}/__mock/faults", mock.base_url()))
        .json(&serde_json::json!({"route": "fooBar", "latency_ms": 1500}))
        .send()
        .await
        .expect("fault");
    let slow = tokio::spawn({
        let url = format!("{}/auth/fooBar?identity=b%40b.co", proxy.url);
        let http = http.clone();
        async move { http.get(url).send().await.map(|r| r.status().as_u16()) }
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    let killed = Command::new("kill")
        .args(["-TERM", &proxy.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    assert_eq!(
        slow.await
            .expect("task")
            .expect("in-flight request completes"),
        200
    );
    let mut status = None;
    for _ in 0..50 {
        if let Some(s) = proxy.child.try_wait().expect("wait") {
            status = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(status.expect("exited after SIGTERM").success());
    assert!(
        http.get(format!("{}/healthz", proxy.url))
            .send()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn key_file_and_toml_config() {
    let mock = MockServer::start().await.expect("mock");
    let dir = std::env::temp_dir().join(format!("authflow-proxy-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let key_file = dir.join("key");
    std::fs::write(&key_file, format!("{}\n", mock.api_key().expose_secret())).expect("write key");
    let config = dir.join("proxy.toml");
    std::fs::write(
        &config,
        format!(
            "upstream = \"{}\"\napi_key_file = \"{}\"\ncors_origins = [\"https://app.example\"]\n",
            mock.base_url(),
            key_file.display()
        ),
    )
    .expect("write config");
    let mut cmd = Command::new(BIN);
    cmd.args(["--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .env_remove("AUTHFLOW_API_KEY")
        .env("RUST_LOG", "warn");
    let proxy = start(cmd);
    let res = reqwest::Client::new()
        .get(format!("{}/auth/fooBar?identity=a%40b.co", proxy.url))
        .header("origin", "https://app.example")
        .send()
        .await
        .expect("fooBar");
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    drop(proxy);

    // A key inside the TOML file is refused (and not echoed).
    std::fs::write(
        &config,
        format!("api_key = \"{}\"\n", mock.api_key().expose_secret()),
    )
    .expect("write config");
    let mut cmd = proxy_cmd(&mock.base_url());
    cmd.arg("--config")
        .arg(&config)
        .arg("--api-key-file")
        .arg(&key_file);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown field"), "{err}");
    assert!(!err.contains(mock.api_key().expose_secret()), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn refuses_a_malformed_key_with_a_clear_message() {
    let bad = "af_NOT-A-REAL-KEY-0123456789";
    let mut cmd = proxy_cmd("http://127.0.0.1:9");
    cmd.env("AUTHFLOW_API_KEY", bad);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("malformed") && err.contains("32 lowercase hex"),
        "{err}"
    );
    assert!(!err.contains(bad), "the key was echoed: {err}");
    assert!(out.stdout.is_empty(), "started anyway");
}

#[test]
fn never_takes_the_key_from_argv() {
    let key = "af_0123456789abcdef0123456789abcdef";
    for args in [
        vec!["--api-key".to_owned(), key.to_owned()],
        vec![format!("--api-key={key}")],
    ] {
        let mut cmd = proxy_cmd("http://127.0.0.1:9");
        cmd.args(&args);
        let out = run(cmd);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("AUTHFLOW_API_KEY"), "{err}");
        assert!(!err.contains(key), "{err}");
    }
    let out = run(proxy_cmd("http://127.0.0.1:9"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no AuthFlow API key"));
}
