//! authflow-proxy vs Express (http-proxy-middleware) vs nginx, all doing the
//! same key injection in front of the same upstream, measured in one run by
//! the same load generator.
//!
//! Run it with `bench/proxy/run.sh` (installs nginx and the npm packages,
//! builds the proxy in release mode), or, with those in place,
//! `cargo bench -p authflow-bench --bench proxy`.
//!
//! - Upstream: a minimal in-process HTTP server answering
//!   `GET /auth/fooBar` with a small JSON token when (and only when) the
//!   expected `api_key` is in the query, else 401 — so every proxy's
//!   injection is checked on every request.
//! - Load: a Rust generator over raw keep-alive HTTP/1.1 connections
//!   (fixed concurrency, closed loop), 1 s warm-up then
//!   `PROXY_BENCH_SECS` (default 5) per target, `PROXY_BENCH_CONNS`
//!   (default 32) connections; non-200 answers count as errors.
//! - Then a paced run at half of authflow-proxy's peak rate, directly and
//!   through the proxy, for the latency the proxy adds.
//! - RSS: peak resident set (`VmHWM`) of each proxy's processes.
//! - Threads: authflow-proxy runs with its defaults, one worker per CPU
//!   (plus an acceptor thread, idle once the keep-alive connections are
//!   up), as nginx runs `worker_processes auto`; wrk (one thread by default)
//!   and the upstream (one thread) share the same CPUs with whichever proxy
//!   is measured. Nothing is pinned, for either proxy.
//!
//! - With `wrk` on the PATH (the Debian package; `run.sh` installs it) the
//!   peak table is measured by `wrk --latency` (`PROXY_BENCH_WRK_THREADS`,
//!   default 1, threads; same connections and duration, after a 1 s wrk
//!   warm-up); the Rust generator's figures for the same targets follow for
//!   comparison, and it alone does the paced run (wrk cannot pace).
//!   `PROXY_BENCH_WRK=0` skips wrk.
//!
//! Targets missing from the machine (node packages, nginx) are skipped;
//! `PROXY_BENCH_ONLY=authflow|express|nginx` runs one contender.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use authflow_bench::{ms, percentile};
use axum::Router;
use axum::extract::RawQuery;
use axum::http::StatusCode;
use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const KEY: &str = "af_0123456789abcdef0123456789abcdef";
const PATH: &str = "/auth/fooBar?identity=bench%40example.com&role=detective";

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The upstream, on its own single-threaded runtime and thread.
fn start_upstream() -> SocketAddr {
    let listener = StdListener::bind("127.0.0.1:0").expect("bind upstream");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let expected = format!("api_key={KEY}");
            let app = Router::new().route(
                "/auth/fooBar",
                get(move |RawQuery(q): RawQuery| {
                    let ok = q.as_deref().is_some_and(|q| {
                        q.split('&').filter(|kv| kv.starts_with("api_key=")).count() == 1
                            && q.split('&').any(|kv| kv == expected)
                    });
                    async move {
                        if ok {
                            (
                                StatusCode::OK,
                                [("content-type", "application/json")],
                                r#"{"token":"eyJhbGciOiJSUzUxMiJ9.eyJzdWIiOiJiZW5jaCJ9.c2lnbmF0dXJl"}"#,
                            )
                        } else {
                            (
                                StatusCode::UNAUTHORIZED,
                                [("content-type", "application/json")],
                                r#"{"message":"Invalid api_key"}"#,
                            )
                        }
                    }
                }),
            );
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            let _ = axum::serve(listener, app).await;
        });
    });
    addr
}

/// A child process killed on drop.
struct Proc {
    child: Child,
    _tmp: Option<PathBuf>,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(t) = &self._tmp {
            let _ = std::fs::remove_dir_all(t);
        }
    }
}

/// Spawn and wait for the `listening on http://ADDR` first line.
fn spawn_listening(mut cmd: Command) -> Option<(Proc, SocketAddr)> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .ok()?;
    let stdout = child.stdout.take()?;
    let mut line = String::new();
    let mut reader = BufReader::new(stdout);
    reader.read_line(&mut line).ok()?;
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut sink = String::new();
        while reader.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
            sink.clear();
        }
    });
    let addr = line
        .trim()
        .strip_prefix("listening on http://")?
        .parse()
        .ok()?;
    Some((Proc { child, _tmp: None }, addr))
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn start_authflow_proxy(upstream: SocketAddr) -> Option<(Proc, SocketAddr)> {
    let bin = std::env::var_os("AUTHFLOW_PROXY_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/release/authflow-proxy"));
    if !bin.exists() {
        eprintln!(
            "skip authflow-proxy: {} missing (cargo build --release -p authflow-proxy)",
            bin.display()
        );
        return None;
    }
    let mut cmd = Command::new(bin);
    cmd.args(["--listen", "127.0.0.1:0", "--upstream"])
        .arg(format!("http://{upstream}"))
        .env("AUTHFLOW_API_KEY", KEY)
        .env("RUST_LOG", "warn");
    spawn_listening(cmd)
}

fn start_express(upstream: SocketAddr) -> Option<(Proc, SocketAddr)> {
    let dir = workspace_root().join("bench/proxy");
    if !dir.join("node_modules/express").exists() {
        eprintln!("skip express: run bench/proxy/run.sh (npm install) first");
        return None;
    }
    let mut cmd = Command::new("node");
    cmd.arg(dir.join("express-proxy.js"))
        .env("AUTHFLOW_API_KEY", KEY)
        .env("UPSTREAM", format!("http://{upstream}"))
        .env("PORT", "0");
    spawn_listening(cmd)
}

fn nginx_bin() -> Option<PathBuf> {
    ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

fn start_nginx(upstream: SocketAddr) -> Option<(Proc, SocketAddr)> {
    let Some(bin) = nginx_bin() else {
        eprintln!("skip nginx: not installed (apt-get install nginx)");
        return None;
    };
    let port = StdListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let tmp =
        std::env::temp_dir().join(format!("authflow-proxy-bench-nginx-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).ok()?;
    let t = tmp.display();
    // Same injection: only the key routes get it, a client api_key is refused
    // (nginx has no simple way to delete one query pair), others 404.
    let conf = format!(
        r#"worker_processes auto;
daemon off;
pid {t}/nginx.pid;
error_log {t}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {t}/body;
  proxy_temp_path {t}/proxy;
  fastcgi_temp_path {t}/fastcgi;
  uwsgi_temp_path {t}/uwsgi;
  scgi_temp_path {t}/scgi;
  client_max_body_size 1m;
  upstream authflow {{ server {upstream}; keepalive 64; }}
  server {{
    listen 127.0.0.1:{port};
    location ~ ^/auth/(fooBar|signUp|login|resend-verify-email)$ {{
      if ($args ~* "(^|&)api_key=") {{ return 400; }}
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass http://authflow$uri?$args&api_key={KEY};
    }}
    location / {{ return 404; }}
  }}
}}
"#
    );
    let conf_path = tmp.join("nginx.conf");
    std::fs::write(&conf_path, conf).ok()?;
    let child = Command::new(bin)
        .arg("-p")
        .arg(&tmp)
        .arg("-c")
        .arg(&conf_path)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .ok()?;
    let proc = Proc {
        child,
        _tmp: Some(tmp),
    };
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().ok()?;
    for _ in 0..100 {
        if std::net::TcpStream::connect(addr).is_ok() {
            return Some((proc, addr));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!("skip nginx: it did not start");
    None
}

/// Peak RSS (KiB) of `pid` and its children (nginx workers).
fn peak_rss_kib(pid: u32) -> u64 {
    let mut total = 0;
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    for e in entries.flatten() {
        let Ok(status) = std::fs::read_to_string(e.path().join("status")) else {
            continue;
        };
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<u64>().ok())
        };
        let me = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok());
        if me == Some(pid) || field("PPid:") == Some(u64::from(pid)) {
            total += field("VmHWM:").unwrap_or(0);
        }
    }
    total
}

/// Read one HTTP/1.1 response; returns its status and whether the server
/// closes the connection after it.
async fn read_response(s: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<(u16, bool)> {
    let eof = || std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Err(eof());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let len = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    let close = head.contains("\r\nconnection: close");
    buf.drain(..head_end);
    match len {
        Some(len) => {
            while buf.len() < len {
                let n = s.read(&mut chunk).await?;
                if n == 0 {
                    return Err(eof());
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            buf.drain(..len);
        }
        None if head.contains("transfer-encoding: chunked") => loop {
            // Chunk size line, data, CRLF; the last chunk is 0.
            let line_end = loop {
                if let Some(i) = buf.windows(2).position(|w| w == b"\r\n") {
                    break i;
                }
                let n = s.read(&mut chunk).await?;
                if n == 0 {
                    return Err(eof());
                }
                buf.extend_from_slice(&chunk[..n]);
            };
            let size = usize::from_str_radix(
                String::from_utf8_lossy(&buf[..line_end])
                    .split(';')
                    .next()
                    .unwrap_or("0")
                    .trim(),
                16,
            )
            .unwrap_or(0);
            let need = line_end + 2 + size + 2;
            while buf.len() < need {
                let n = s.read(&mut chunk).await?;
                if n == 0 {
                    return Err(eof());
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            buf.drain(..need);
            if size == 0 {
                break;
            }
        },
        None => {}
    }
    Ok((status, close))
}

/// Whether `wrk` is usable (on the PATH and not turned off).
fn wrk_available() -> bool {
    std::env::var("PROXY_BENCH_WRK").map_or(true, |v| v != "0")
        && Command::new("wrk")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
}

/// A wrk latency figure (`812.00us`, `1.23ms`, `2.00s`).
fn wrk_duration(v: &str) -> Option<Duration> {
    let (num, unit) = v
        .find(|c: char| c.is_ascii_alphabetic())
        .map(|i| v.split_at(i))?;
    let n: f64 = num.parse().ok()?;
    let secs = match unit {
        "us" => n / 1e6,
        "ms" => n / 1e3,
        "s" => n,
        "m" => n * 60.0,
        _ => return None,
    };
    Some(Duration::from_secs_f64(secs))
}

/// Run `wrk --latency` against `addr` (1 s warm-up, then `secs`): RPS, p50,
/// p99 and non-2xx/socket errors.
fn wrk(addr: SocketAddr, with_key: bool, conns: usize, secs: u64) -> Option<Outcome> {
    let target = if with_key {
        format!("{PATH}&api_key={KEY}")
    } else {
        PATH.to_owned()
    };
    let url = format!("http://{addr}{target}");
    let threads = env_num("PROXY_BENCH_WRK_THREADS", 1)
        .max(1)
        .min(conns as u64);
    let run = |d: u64| {
        Command::new("wrk")
            .arg(format!("-t{threads}"))
            .arg(format!("-c{conns}"))
            .arg(format!("-d{d}s"))
            .arg("--latency")
            .arg(&url)
            .stderr(Stdio::inherit())
            .output()
            .ok()
    };
    run(1)?;
    let out = run(secs)?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut o = Outcome {
        rps: 0.0,
        p50: Duration::ZERO,
        p99: Duration::ZERO,
        errors: 0,
    };
    for line in text.lines() {
        let mut f = line.split_whitespace();
        match (f.next(), f.next()) {
            (Some("Requests/sec:"), Some(v)) => o.rps = v.parse().ok()?,
            (Some("50%"), Some(v)) => o.p50 = wrk_duration(v)?,
            (Some("99%"), Some(v)) => o.p99 = wrk_duration(v)?,
            (Some("Non-2xx"), _) => {
                o.errors += line
                    .rsplit(' ')
                    .next()
                    .and_then(|n| n.trim().parse::<u64>().ok())
                    .unwrap_or(0);
            }
            (Some("Socket"), Some("errors:")) => {
                // "Socket errors: connect 0, read 0, write 0, timeout 0"
                o.errors += line
                    .split(',')
                    .filter_map(|p| p.split_whitespace().last()?.parse::<u64>().ok())
                    .sum::<u64>();
            }
            _ => {}
        }
    }
    // wrk counts non-2xx answers in Requests/sec: report successes only.
    let total_secs = secs as f64;
    o.rps = (o.rps - o.errors as f64 / total_secs).max(0.0);
    Some(o)
}

struct Outcome {
    rps: f64,
    p50: Duration,
    p99: Duration,
    errors: u64,
}

/// Closed loop (`rate` = None) or paced at `rate` requests/s in total.
async fn load(
    addr: SocketAddr,
    with_key: bool,
    conns: usize,
    secs: u64,
    rate: Option<f64>,
) -> Outcome {
    let target = if with_key {
        format!("{PATH}&api_key={KEY}")
    } else {
        PATH.to_owned()
    };
    let request = Arc::new(
        format!("GET {target} HTTP/1.1\r\nHost: bench\r\nUser-Agent: authflow-bench\r\n\r\n")
            .into_bytes(),
    );
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for i in 0..conns {
        let request = request.clone();
        let measuring = measuring.clone();
        let stop = stop.clone();
        let interval = rate.map(|r| Duration::from_secs_f64(conns as f64 / r));
        tasks.push(tokio::spawn(async move {
            let mut samples: Vec<Duration> = Vec::with_capacity(1 << 16);
            let mut errors = 0u64;
            let mut buf = Vec::with_capacity(16 * 1024);
            let mut stream = match TcpStream::connect(addr).await {
                Ok(s) => s,
                Err(_) => return (samples, 1),
            };
            let _ = stream.set_nodelay(true);
            // Spread paced connections over one interval.
            let mut next = Instant::now()
                + interval.map_or(Duration::ZERO, |iv| iv.mul_f64(i as f64 / conns as f64));
            while !stop.load(Ordering::Relaxed) {
                if let Some(iv) = interval {
                    let now = Instant::now();
                    if next > now {
                        tokio::time::sleep(next - now).await;
                    }
                    next += iv;
                }
                let t0 = Instant::now();
                let mut ok = match stream.write_all(&request).await {
                    Ok(()) => read_response(&mut stream, &mut buf).await,
                    Err(e) => Err(e),
                };
                if ok.is_err() && buf.is_empty() {
                    // The server closed an idle keep-alive connection before
                    // reading the request: reconnect and send it again.
                    if let Ok(s) = TcpStream::connect(addr).await {
                        stream = s;
                        let _ = stream.set_nodelay(true);
                        ok = match stream.write_all(&request).await {
                            Ok(()) => read_response(&mut stream, &mut buf).await,
                            Err(e) => Err(e),
                        };
                    }
                }
                let took = t0.elapsed();
                let counted = measuring.load(Ordering::Relaxed);
                let reconnect = match ok {
                    Ok((status, close)) => {
                        if status == 200 {
                            if counted {
                                samples.push(took);
                            }
                        } else {
                            errors += u64::from(counted);
                        }
                        close
                    }
                    Err(_) => {
                        errors += u64::from(counted);
                        true
                    }
                };
                if reconnect {
                    buf.clear();
                    match TcpStream::connect(addr).await {
                        Ok(s) => {
                            stream = s;
                            let _ = stream.set_nodelay(true);
                        }
                        Err(_) => break,
                    }
                }
            }
            (samples, errors)
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    measuring.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        if let Ok((s, e)) = t.await {
            all.extend(s);
            errors += e;
        }
    }
    Outcome {
        rps: all.len() as f64 / elapsed.as_secs_f64(),
        p50: percentile(&all, 50.0),
        p99: percentile(&all, 99.0),
        errors,
    }
}

/// One target's results: name, wrk outcome, Rust generator outcome, peak RSS (KiB).
type Row<'a> = (&'a str, Option<Outcome>, Outcome, Option<u64>);

fn row(name: &str, o: &Outcome, rss: Option<u64>) {
    println!(
        "| {name} | {:.0} | {} | {} | {} | {} |",
        o.rps,
        ms(o.p50),
        ms(o.p99),
        o.errors,
        rss.map_or("—".to_owned(), |r| format!(
            "{:.1} MiB",
            r as f64 / 1024.0
        ))
    );
}

fn main() {
    let secs = env_num("PROXY_BENCH_SECS", 5);
    let conns = env_num("PROXY_BENCH_CONNS", 32) as usize;
    // PROXY_BENCH_ONLY=authflow|express|nginx: one contender (for profiling).
    let only = std::env::var("PROXY_BENCH_ONLY").ok();
    let use_wrk = wrk_available();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let upstream = start_upstream();
    println!(
        "proxy benchmark: GET /auth/fooBar, {conns} keep-alive connections, {secs} s per target (+1 s warm-up), {} CPUs",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if !use_wrk {
        println!("(wrk not found: Rust load generator only)");
    }
    type Starter = fn(SocketAddr) -> Option<(Proc, SocketAddr)>;
    let targets: [(&str, Starter); 3] = [
        ("authflow-proxy", start_authflow_proxy),
        ("express + http-proxy-middleware", start_express),
        ("nginx", start_nginx),
    ];
    // Per target: (name, wrk outcome, rust outcome, rss); the direct row first.
    let mut rows: Vec<Row> = Vec::new();
    let direct_wrk = use_wrk.then(|| wrk(upstream, true, conns, secs)).flatten();
    let direct = rt.block_on(load(upstream, true, conns, secs, None));
    rows.push(("direct (no proxy)", direct_wrk, direct, None));
    // Proxies kept running for the paced phase (Express cannot sustain it).
    let mut kept: Vec<(&str, Proc, SocketAddr)> = Vec::new();
    for (name, start) in targets {
        if only.as_deref().is_some_and(|o| !name.starts_with(o)) {
            continue;
        }
        let Some((proc, addr)) = start(upstream) else {
            continue;
        };
        let w = use_wrk.then(|| wrk(addr, false, conns, secs)).flatten();
        let out = rt.block_on(load(addr, false, conns, secs, None));
        let rss = peak_rss_kib(proc.child.id());
        if name != "express + http-proxy-middleware" {
            kept.push((name, proc, addr));
        }
        rows.push((name, w, out, Some(rss)));
    }
    let print_table = |title: &str, pick: &dyn Fn(&Row) -> Option<Outcome>| {
        println!();
        println!("{title}");
        println!();
        println!("| target | requests/s | p50 | p99 | errors | peak RSS |");
        println!("| --- | ---: | ---: | ---: | ---: | ---: |");
        let mut got: Vec<(&str, f64)> = Vec::new();
        for r in &rows {
            if let Some(o) = pick(r) {
                row(r.0, &o, r.3);
                got.push((r.0, o.rps));
            }
        }
        let rps = |n: &str| got.iter().find(|(m, _)| *m == n).map(|(_, v)| *v);
        if let Some(ours) = rps("authflow-proxy") {
            println!();
            for other in [
                "express + http-proxy-middleware",
                "nginx",
                "direct (no proxy)",
            ] {
                if let Some(theirs) = rps(other) {
                    println!("authflow-proxy / {other}: {:.2}× requests/s", ours / theirs);
                }
            }
        }
    };
    let copy = |o: &Outcome| Outcome {
        rps: o.rps,
        p50: o.p50,
        p99: o.p99,
        errors: o.errors,
    };
    if use_wrk {
        print_table(
            &format!(
                "peak, measured by wrk (-t{} -c{conns} -d{secs}s --latency):",
                env_num("PROXY_BENCH_WRK_THREADS", 1).max(1)
            ),
            &|r| r.1.as_ref().map(copy),
        );
    }
    print_table("peak, measured by the Rust load generator:", &|r| {
        Some(copy(&r.2))
    });

    let Some(ours) = rows
        .iter()
        .find(|r| r.0 == "authflow-proxy")
        .map(|r| r.1.as_ref().map_or(r.2.rps, |w| w.rps))
    else {
        return;
    };

    // Paced at half of authflow-proxy's peak: the latency each proxy adds.
    let rate = ours / 2.0;
    println!();
    println!("paced at half of authflow-proxy's peak ({rate:.0} requests/s, Rust load generator):");
    println!();
    println!("| target | p50 | p99 | added p50 | added p99 | errors |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    let d = rt.block_on(load(upstream, true, conns, secs, Some(rate)));
    println!(
        "| direct | {} | {} | — | — | {} |",
        ms(d.p50),
        ms(d.p99),
        d.errors
    );
    for (name, _proc, addr) in &kept {
        let p = rt.block_on(load(*addr, false, conns, secs, Some(rate)));
        println!(
            "| {name} | {} | {} | {} | {} | {} |",
            ms(p.p50),
            ms(p.p99),
            ms(p.p50.saturating_sub(d.p50)),
            ms(p.p99.saturating_sub(d.p99)),
            p.errors
        );
    }
}
