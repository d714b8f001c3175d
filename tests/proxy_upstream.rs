//! Upstream failures and hostile upstreams: down, slow, echoing the key in a
//! header, the body or a redirect, or answering garbage. Every case ends in
//! the error envelope (or the scrubbed answer) and no byte of the key.

#[path = "proxy_support.rs"]
mod proxy_support;

use std::time::Duration;

use proxy_support::{assert_envelope, assert_no_key, get, raw, stack_with, start_proxy};
use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const KEY: &str = "af_0123456789abcdef0123456789abcdef";

fn key() -> SecretString {
    SecretString::from(KEY)
}

#[derive(Clone, Copy)]
enum Hostile {
    /// 200 echoing the request head in the body and the request line in a header.
    Echo,
    /// 302 to a URL carrying the key.
    Redirect,
    /// Not HTTP at all.
    Garbage,
    /// Accept, read, never answer.
    Silent,
}

/// A one-trick upstream on a random loopback port.
async fn hostile(kind: Hostile) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let mut n = 0;
                while !buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf[n..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(m) => n += m,
                    }
                }
                let head = String::from_utf8_lossy(&buf[..n]).into_owned();
                let line = head.lines().next().unwrap_or_default().to_owned();
                let reply = match kind {
                    Hostile::Echo => format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Echo: {line}\r\nX-Upper: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{head}",
                        line.to_ascii_uppercase(),
                        head.len()
                    ),
                    Hostile::Redirect => format!(
                        "HTTP/1.1 302 Found\r\nLocation: https://elsewhere.example/next?{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                        line.split('?')
                            .nth(1)
                            .unwrap_or_default()
                            .split(' ')
                            .next()
                            .unwrap_or_default()
                    ),
                    Hostile::Garbage => "SSH-2.0-OpenSSH_9.6\r\n\r\n".to_owned(),
                    Hostile::Silent => {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                        return;
                    }
                };
                let _ = s.write_all(reply.as_bytes()).await;
                let _ = s.shutdown().await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn upstream_down_is_503_dependency_unavailable() {
    // A port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let upstream = format!("http://127.0.0.1:{port}");
    let proxy = start_proxy(&upstream, key(), |b| b).await;
    let res = raw(proxy.addr, &get("/auth/fooBar?identity=a%40b.co")).await;
    assert_eq!(res.status, 503, "{}", res.text());
    let v = res.json();
    assert_envelope(&v, "dependency_unavailable");
    assert_eq!(v["retryable"], true);
    assert_no_key(&res.bytes, &key());
    assert!(
        !res.text().contains(&port.to_string()),
        "upstream address leaked"
    );
}

#[tokio::test]
async fn slow_upstream_is_504_dependency_timeout() {
    let (server, proxy) = stack_with(|b| b.request_timeout(Duration::from_millis(300))).await;
    let faults = reqwest::Client::new()
        .post(format!("{}/__mock/faults", server.base_url()))
        .json(&serde_json::json!({"route": "fooBar", "latency_ms": 2000}))
        .send()
        .await
        .expect("fault set");
    assert!(faults.status().is_success());
    let res = raw(proxy.addr, &get("/auth/fooBar?identity=a%40b.co")).await;
    assert_eq!(res.status, 504, "{}", res.text());
    assert_envelope(&res.json(), "dependency_timeout");
    assert_no_key(&res.bytes, &server.api_key());
    assert!(!res.text().contains(&server.addr().port().to_string()));

    // An upstream that accepts and never answers: same.
    let upstream = hostile(Hostile::Silent).await;
    let proxy = start_proxy(&upstream, key(), |b| {
        b.request_timeout(Duration::from_millis(300))
    })
    .await;
    let res = raw(proxy.addr, &get("/auth/login?email=a%40b.co")).await;
    assert_eq!(res.status, 504, "{}", res.text());
    assert_no_key(&res.bytes, &key());
}

#[tokio::test]
async fn an_upstream_echoing_the_key_is_scrubbed() {
    let upstream = hostile(Hostile::Echo).await;
    let proxy = start_proxy(&upstream, key(), |b| b).await;
    let res = raw(proxy.addr, &get("/auth/fooBar?identity=a%40b.co")).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let text = res.text();
    // The upstream did receive the key (the echo proves the injection) ...
    assert!(text.contains("api_key=[REDACTED]"), "{text}");
    assert!(
        text.to_ascii_lowercase()
            .contains("x-echo: get /auth/foobar?identity=a%40b.co&api_key=[redacted]"),
        "{text}"
    );
    // ... and none of it came back, in any case.
    assert_no_key(&res.bytes, &key());

    // The forwarded request carried the proxy's own hygiene headers.
    assert!(text.contains("x-forwarded-for: 127.0.0.1"), "{text}");
    assert!(text.contains("x-forwarded-proto: http"), "{text}");
    assert!(text.contains("accept-encoding: identity"), "{text}");

    // Hop-by-hop headers and those named in Connection are not forwarded,
    // and client X-Forwarded-* from an untrusted peer are replaced.
    let req = "GET /auth/me?sessionToken=t HTTP/1.1\r\nHost: proxy.test\r\nConnection: close, X-Hop\r\nX-Hop: secret-hop\r\nKeep-Alive: timeout=5\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Host: evil.example\r\nProxy-Authorization: Basic Zm9vOmJhcg==\r\nCookie: sid=abc\r\n\r\n";
    let res = raw(proxy.addr, req.as_bytes()).await;
    let text = res.text().to_ascii_lowercase();
    assert_eq!(res.status, 200, "{text}");
    for gone in [
        "secret-hop",
        "keep-alive: timeout",
        "6.6.6.6",
        "evil.example",
        "proxy-authorization",
        "sid=abc",
    ] {
        assert!(!text.contains(gone), "{gone} was forwarded: {text}");
    }
    assert!(text.contains("x-forwarded-host: proxy.test"), "{text}");
    // me takes no key: none was injected.
    assert!(!text.contains("api_key"), "{text}");
}

#[tokio::test]
async fn a_redirect_carrying_the_key_is_refused() {
    let upstream = hostile(Hostile::Redirect).await;
    let proxy = start_proxy(&upstream, key(), |b| b).await;
    // login takes the key in the query: the upstream redirects with it.
    let res = raw(proxy.addr, &get("/auth/login?email=a%40b.co")).await;
    assert_eq!(res.status, 502, "{}", res.text());
    assert_envelope(&res.json(), "dependency_failed");
    assert_no_key(&res.bytes, &key());
    assert!(!res.text().contains("elsewhere.example"));

    // me takes no key: the redirect has none and passes through, not followed.
    let res = raw(proxy.addr, &get("/auth/me?sessionToken=t")).await;
    assert_eq!(res.status, 302, "{}", res.text());
    assert!(res.text().contains("elsewhere.example/next?sessionToken=t"));
}

#[tokio::test]
async fn garbage_from_upstream_is_502() {
    let upstream = hostile(Hostile::Garbage).await;
    let proxy = start_proxy(&upstream, key(), |b| b).await;
    let res = raw(proxy.addr, &get("/auth/fooBar?identity=a%40b.co")).await;
    assert_eq!(res.status, 502, "{}", res.text());
    assert_envelope(&res.json(), "dependency_failed");
    assert_no_key(&res.bytes, &key());
}
