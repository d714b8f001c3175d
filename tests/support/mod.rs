//! Shared helpers for the cross-crate tests.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use authflow::AuthFlowClient;
use authflow::transport::{RetryPolicy, Sleep, SleepFuture};
use secrecy::SecretString;

/// A well-formed organization key used by the contract tests.
pub const API_KEY: &str = "af_0123456789abcdef0123456789abcdef";

/// A sleeper that records each requested delay and returns at once.
#[derive(Debug, Default)]
pub struct RecordingSleep {
    delays: Mutex<Vec<Duration>>,
}

impl RecordingSleep {
    /// The delays requested so far.
    pub fn delays(&self) -> Vec<Duration> {
        self.delays.lock().map(|d| d.clone()).unwrap_or_default()
    }
}

impl Sleep for RecordingSleep {
    fn sleep(&self, duration: Duration) -> SleepFuture {
        if let Ok(mut d) = self.delays.lock() {
            d.push(duration);
        }
        Box::pin(async {})
    }
}

/// A client for `base_url` with [`API_KEY`], a recording sleeper and the
/// default retry policy with jitter off (so delays are exact).
pub fn client(base_url: &str) -> (AuthFlowClient, Arc<RecordingSleep>) {
    let sleep = Arc::new(RecordingSleep::default());
    let client = AuthFlowClient::builder()
        .api_key(SecretString::from(API_KEY))
        .base_url(base_url)
        .retry(RetryPolicy::default().jitter(false))
        .sleeper(sleep.clone())
        .build()
        .expect("valid test configuration");
    (client, sleep)
}

/// A secret from a literal.
pub fn secret(s: &str) -> SecretString {
    SecretString::from(s)
}

/// A `redis-server` child on a free loopback port; killed on drop.
pub struct RedisServer {
    child: Child,
    /// Its port.
    pub port: u16,
}

impl RedisServer {
    /// Start one (panics with a clear message if `redis-server` is missing:
    /// tests that need Redis fail, never skip).
    pub fn start() -> RedisServer {
        let mut last_err = String::new();
        // A port picked free may be taken before the server binds it: retry.
        for _ in 0..5 {
            let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                .and_then(|l| l.local_addr())
                .expect("a free loopback port")
                .port();
            let spawned = Command::new("redis-server")
                .args(["--port", &port.to_string()])
                .args(["--bind", "127.0.0.1"])
                .args(["--save", ""])
                .args(["--appendonly", "no"])
                .args(["--protected-mode", "yes"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            let child = match spawned {
                Ok(child) => child,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                    "redis-server is not installed (not on PATH). These tests need a real \
                     Redis: run scripts/redis-for-tests (apt-get install -y redis-server)."
                ),
                Err(e) => panic!("could not start redis-server: {e}"),
            };
            let mut server = RedisServer { child, port };
            match server.wait_ready(Duration::from_secs(10)) {
                Ok(()) => return server,
                Err(e) => last_err = e,
            }
        }
        panic!("redis-server did not come up: {last_err}");
    }

    /// Wait until the server answers PING.
    fn wait_ready(&mut self, within: Duration) -> Result<(), String> {
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("redis-server exited with {status}"));
            }
            if let Ok(mut s) = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)) {
                let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
                let mut buf = [0u8; 16];
                if s.write_all(b"PING\r\n").is_ok()
                    && s.read(&mut buf)
                        .is_ok_and(|n| buf[..n].starts_with(b"+PONG"))
                {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err("no PONG within the deadline".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `redis://127.0.0.1:PORT/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Stop it now.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
