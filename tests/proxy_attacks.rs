//! Attacks on the proxy, each sent as raw bytes (so no client library
//! normalises them first) and each asserting that the mock behind it saw
//! nothing — or, for a smuggled `api_key`, that only the configured key
//! reached it.

#[path = "proxy_support.rs"]
mod proxy_support;

use proxy_support::{assert_envelope, assert_no_key, get, raw, stack, stack_with};
use secrecy::ExposeSecret;

/// A key of the right shape that the mock does not know.
const FOREIGN_KEY: &str = "af_ffffffffffffffffffffffffffffffff";

#[tokio::test]
async fn path_tricks_are_refused_before_the_upstream() {
    let (server, proxy) = stack().await;
    let mock = server.addr();
    let attacks: Vec<(String, u16)> = vec![
        ("/auth/..%2f__mock/emails".into(), 400),
        ("/auth/..%2F__mock/emails".into(), 400),
        ("/auth/%2e%2e/x".into(), 400),
        ("/auth/%2E%2E/__mock/requests".into(), 400),
        ("/auth/%252e%252e/__mock/emails".into(), 400),
        ("/auth/../__mock/emails".into(), 400),
        ("/auth/./login".into(), 400),
        ("/auth/login%00".into(), 400),
        ("/auth/%5c..%5c__mock/emails".into(), 400),
        ("//evil.example/auth/login".into(), 400),
        (format!("//{mock}/__mock/emails"), 400),
        (format!("http://{mock}/__mock/emails"), 400),
        ("http://evil.example/auth/login".into(), 400),
        ("/__mock/emails".into(), 404),
        ("/__mock/requests".into(), 404),
        ("/openapi.json".into(), 404),
        ("/auth/login/".into(), 404),
        ("/auth//login".into(), 404),
        ("/auth/Login".into(), 404),
        ("/auth".into(), 404),
    ];
    for (target, status) in attacks {
        let res = raw(proxy.addr, &get(&target)).await;
        assert_eq!(res.status, status, "{target}: {}", res.text());
        assert_envelope(
            &res.json(),
            if status == 400 {
                "bad_request"
            } else {
                "not_found"
            },
        );
        assert_no_key(&res.bytes, &server.api_key());
    }
    // Backslashes in the request line: refused (by the HTTP parser or by us).
    let res = raw(
        proxy.addr,
        b"GET /auth\\..\\__mock/emails HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(res.status, 400, "{}", res.text());
    assert!(
        server.requests().is_empty(),
        "the mock saw {:?}",
        server.requests()
    );
}

#[tokio::test]
async fn wrong_method_is_405_and_not_forwarded() {
    let (server, proxy) = stack().await;
    let res = raw(
        proxy.addr,
        b"DELETE /auth/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(res.status, 405, "{}", res.text());
    assert!(res.text().to_ascii_lowercase().contains("allow: get"));
    assert_envelope(&res.json(), "method_not_allowed");
    let res = raw(
        proxy.addr,
        b"POST /auth/me HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    )
    .await;
    assert_eq!(res.status, 405);
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn smuggling_framing_is_refused() {
    let (server, proxy) = stack().await;
    let body = r#"{"email":"a@b.co"}"#;
    let te_and_cl = format!(
        "POST /auth/forgot-password HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
        body.len(),
        body.len()
    );
    let res = raw(proxy.addr, te_and_cl.as_bytes()).await;
    assert_eq!(res.status, 400, "TE+CL: {}", res.text());

    let cl_then_te = format!(
        "POST /auth/forgot-password HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\nConnection: close\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
        body.len()
    );
    let res = raw(proxy.addr, cl_then_te.as_bytes()).await;
    assert_eq!(res.status, 400, "TE then CL: {}", res.text());

    let chunked = format!(
        "POST /auth/forgot-password HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
        body.len()
    );
    let res = raw(proxy.addr, chunked.as_bytes()).await;
    assert_eq!(res.status, 400, "chunked: {}", res.text());
    assert_envelope(&res.json(), "bad_request");

    // GET with a chunked body hiding a second request.
    let hidden = "GET /__mock/emails HTTP/1.1\r\nHost: x\r\n\r\n";
    let get_smuggle = format!(
        "GET /auth/fooBar?identity=a%40b.co HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n{:x}\r\n{hidden}\r\n0\r\n\r\n",
        hidden.len()
    );
    let res = raw(proxy.addr, get_smuggle.as_bytes()).await;
    assert_eq!(res.status, 400, "GET smuggle: {}", res.text());

    let diff_cl = format!(
        "POST /auth/forgot-password HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nContent-Length: 3\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let res = raw(proxy.addr, diff_cl.as_bytes()).await;
    assert_eq!(res.status, 400, "conflicting CL: {}", res.text());

    assert!(server.requests().is_empty(), "{:?}", server.requests());

    // Identical duplicate Content-Lengths are unambiguous: hyper folds them
    // into one (RFC 9110 §8.6) and exactly one well-framed request goes on.
    let same_cl = format!(
        "POST /auth/forgot-password HTTP/1.1\r\nHost: x\r\nContent-Length: {n}\r\nContent-Length: {n}\r\nConnection: close\r\n\r\n{body}",
        n = body.len()
    );
    let res = raw(proxy.addr, same_cl.as_bytes()).await;
    assert!(matches!(res.status, 200 | 400), "{}", res.text());
    assert!(server.requests().len() <= 1);
}

#[tokio::test]
async fn oversized_headers_and_bodies_are_refused() {
    let (server, proxy) = stack_with(|b| b.body_limit(1024)).await;
    let big = "a".repeat(20 * 1024);
    let req = format!(
        "GET /auth/fooBar?identity=a%40b.co HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\nConnection: close\r\n\r\n"
    );
    let res = raw(proxy.addr, req.as_bytes()).await;
    assert_eq!(res.status, 431, "{}", res.text());

    // Many small headers adding up past the limit.
    let many: String = (0..95)
        .map(|i| format!("X-H{i}: {}\r\n", "b".repeat(200)))
        .collect();
    let req = format!(
        "GET /auth/fooBar?identity=a%40b.co HTTP/1.1\r\nHost: x\r\n{many}Connection: close\r\n\r\n"
    );
    let res = raw(proxy.addr, req.as_bytes()).await;
    assert_eq!(res.status, 431, "{}", res.text());

    // A declared length over the limit: refused before the body is read.
    let body = format!(r#"{{"email":"a@b.co","pad":"{}"}}"#, "x".repeat(2048));
    let req = format!(
        "POST /auth/forgot-password HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let res = raw(proxy.addr, req.as_bytes()).await;
    assert_eq!(res.status, 413, "{}", res.text());
    assert_envelope(&res.json(), "payload_too_large");

    assert!(server.requests().is_empty(), "{:?}", server.requests());
}

#[tokio::test]
async fn a_client_api_key_is_never_forwarded() {
    let (server, proxy) = stack().await;
    let key = server.api_key();

    // Query: the client's (foreign) key is stripped, the configured one injected once.
    for target in [
        format!("/auth/fooBar?identity=a%40b.co&api_key={FOREIGN_KEY}"),
        format!("/auth/fooBar?api_key={FOREIGN_KEY}&identity=a%40b.co&api_key={FOREIGN_KEY}"),
        format!("/auth/fooBar?identity=a%40b.co&API_KEY={FOREIGN_KEY}&api%5Fkey={FOREIGN_KEY}"),
    ] {
        let res = raw(proxy.addr, &get(&target)).await;
        assert_eq!(res.status, 200, "{target}: {}", res.text());
    }
    // On a route without a key, a client key would make the mock answer
    // 400 `Unknown parameter: api_key`; stripped, the session check runs.
    let res = raw(
        proxy.addr,
        &get(&format!("/auth/me?sessionToken=nope&api_key={FOREIGN_KEY}")),
    )
    .await;
    assert_eq!(res.status, 401, "{}", res.text());

    // Body: forgot-password takes the key in the body; 2fa/backup/email takes none.
    for (path, body, status) in [
        (
            "/auth/forgot-password",
            format!(r#"{{"email":"a@b.co","api_key":"{FOREIGN_KEY}"}}"#),
            200,
        ),
        (
            "/auth/forgot-password",
            format!(r#"{{"api_key":"{FOREIGN_KEY}","email":"a@b.co","api_key":"x"}}"#),
            200,
        ),
        (
            "/auth/2fa/backup/email",
            format!(
                r#"{{"tempToken":"t","email":"a@b.co","org_id":"o","role":"r","api_key":"{FOREIGN_KEY}"}}"#
            ),
            401,
        ),
    ] {
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let res = raw(proxy.addr, req.as_bytes()).await;
        assert_eq!(res.status, status, "{path} {body}: {}", res.text());
        assert_no_key(&res.bytes, &key);
    }

    let journal = server.requests();
    assert_eq!(journal.len(), 7);
    for e in &journal {
        let keys = e
            .query
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("api_key") || k == "api%5Fkey")
            .count();
        match e.route.as_deref() {
            Some("fooBar") => assert_eq!(keys, 1, "{e:?}"),
            Some("forgot-password") => {
                assert_eq!(keys, 0);
                assert_eq!(e.body["api_key"], "[REDACTED]");
                assert_eq!(e.body.as_object().map(|m| m.len()), Some(2), "{e:?}");
            }
            _ => {
                assert_eq!(keys, 0, "{e:?}");
                assert!(e.body.get("api_key").is_none(), "{e:?}");
            }
        }
    }
    // The foreign key was never the one used: each 200 above proves the mock
    // got its own key (a foreign or duplicated one is 401/400 there).
    assert_ne!(key.expose_secret(), FOREIGN_KEY);
}
