//! AIdenID mode: on agent routes (`/v1/identities`, `/v1/reliability`…) the
//! proxy injects the agent key, `X-Org-Id`, `X-Project-Id` and
//! `X-Server-Auth-Injected: true`, replacing any client-sent credential;
//! consumer routes keep the client's own session; the key never reaches the
//! client; without the mode `/v1` is not forwarded at all.

#[path = "proxy_support.rs"]
mod proxy_support;

use authflow_mock::MockServer;
use authflow_proxy::AidenIdMode;
use proxy_support::{RunningProxy, assert_envelope, raw, start_proxy};
use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const KEY: &str = "af_0123456789abcdef0123456789abcdef";

fn mode(server: &MockServer) -> AidenIdMode {
    let seed = server.agent_key();
    AidenIdMode::new(
        seed.key.clone(),
        seed.org_id.clone(),
        seed.project_id.clone(),
    )
    .expect("valid agent key")
}

async fn stack() -> (MockServer, RunningProxy, SecretString) {
    let server = MockServer::start().await.expect("mock");
    let m = mode(&server);
    let proxy = start_proxy(&server.base_url(), server.api_key(), |b| b.aidenid(m)).await;
    let agent_key = server.agent_key().key;
    (server, proxy, agent_key)
}

#[track_caller]
fn assert_no_agent_key(bytes: &[u8], key: &SecretString) {
    let k = key.expose_secret().to_ascii_lowercase();
    let body = k.trim_start_matches("aid_");
    let text = String::from_utf8_lossy(bytes).to_ascii_lowercase();
    assert!(!text.contains(body), "the agent key leaked in: {text}");
}

fn post(target: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {target} HTTP/1.1\r\nHost: proxy.test\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n{extra}\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[tokio::test]
async fn creates_an_identity_with_no_client_credential() {
    let (server, proxy, agent_key) = stack().await;
    let res = raw(
        proxy.addr,
        &post(
            "/v1/identities",
            "Idempotency-Key: k-1\r\n",
            r#"{"label":"proxy-test"}"#,
        ),
    )
    .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let v = res.json();
    let id = v["id"].as_str().expect("identity id").to_owned();
    assert_no_agent_key(&res.bytes, &agent_key);

    let journal = server.requests();
    let entry = journal.last().expect("journal entry");
    assert_eq!(entry.path, "/v1/identities");
    assert_eq!(entry.status, 201);
    assert!(entry.authorization);

    // A read of it, with the templated path forwarded as sent.
    let res = raw(
        proxy.addr,
        format!("GET /v1/identities/{id} HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["id"], id.as_str());
    assert_no_agent_key(&res.bytes, &agent_key);
}

#[tokio::test]
async fn client_credentials_on_agent_routes_are_replaced() {
    let (server, proxy, agent_key) = stack().await;
    // Were any of these forwarded, the mock would answer 401/403.
    let res = raw(
        proxy.addr,
        &post(
            "/v1/identities",
            "Idempotency-Key: k-2\r\nAuthorization: Bearer aid_forged0000\r\n\
             X-Org-Id: org_evil\r\nX-Project-Id: proj_evil\r\nX-Server-Auth-Injected: false\r\n",
            r#"{"label":"forged"}"#,
        ),
    )
    .await;
    assert_eq!(res.status, 201, "{}", res.text());
    assert_no_agent_key(&res.bytes, &agent_key);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn consumer_routes_keep_the_clients_own_session() {
    let (server, proxy, agent_key) = stack().await;
    // No session: the agent key is not injected, the mock refuses.
    let res = raw(
        proxy.addr,
        b"GET /v1/consumer/inbox HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(res.status, 401, "{}", res.text());
    assert_no_agent_key(&res.bytes, &agent_key);
    let entry = server.requests().pop().expect("journal");
    assert_eq!(entry.path, "/v1/consumer/inbox");
    assert!(!entry.authorization);

    // The client's own (here bogus) session goes through unchanged.
    let res = raw(
        proxy.addr,
        b"GET /v1/consumer/inbox HTTP/1.1\r\nHost: p\r\nAuthorization: Bearer sess_bogus\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(res.status, 401, "{}", res.text());
    assert!(server.requests().pop().expect("journal").authorization);
}

#[tokio::test]
async fn v1_is_not_forwarded_without_aidenid_mode() {
    let server = MockServer::start().await.expect("mock");
    let proxy = start_proxy(&server.base_url(), server.api_key(), |b| b).await;
    let res = raw(
        proxy.addr,
        &post("/v1/identities", "Idempotency-Key: k-3\r\n", "{}"),
    )
    .await;
    assert_eq!(res.status, 404, "{}", res.text());
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn unknown_and_tricky_v1_paths_are_refused() {
    let (server, proxy, _) = stack().await;
    for (target, status) in [
        ("/v1/identities/..%2f..%2f__mock/emails", 400),
        ("/v1/identities/../../__mock/emails", 400),
        ("/v1/admin", 404),
        ("/v1/identities/a.b", 404),
    ] {
        let res = raw(
            proxy.addr,
            format!("GET {target} HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await;
        assert_eq!(res.status, status, "{target}: {}", res.text());
        assert_envelope(
            &res.json(),
            if status == 400 {
                "bad_request"
            } else {
                "not_found"
            },
        );
    }
    assert!(server.requests().is_empty());
}

/// An upstream echoing the request head it received in the body and a header.
async fn echo_upstream() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&seen).into_owned();
                let auth = head
                    .lines()
                    .find(|l| l.to_ascii_lowercase().starts_with("authorization:"))
                    .unwrap_or("")
                    .to_owned();
                let res = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nx-echo: {}\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n{head}",
                    auth.replace(':', "="),
                    head.len()
                );
                let _ = s.write_all(res.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn an_upstream_echoing_the_agent_key_is_scrubbed() {
    let upstream = echo_upstream().await;
    let agent_key = SecretString::from("aid_fedcba9876543210fedcba9876543210");
    let m = AidenIdMode::new(agent_key.clone(), "org_1", "proj_1").expect("mode");
    let proxy = start_proxy(&upstream, SecretString::from(KEY), |b| b.aidenid(m)).await;
    let res = raw(
        proxy.addr,
        b"GET /v1/identities/ident_1 HTTP/1.1\r\nHost: p\r\nAuthorization: Bearer mine\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_no_agent_key(&res.bytes, &agent_key);
    let text = res.text().to_ascii_lowercase();
    // What the upstream saw: the injected headers, not the client's.
    assert!(text.contains("x-server-auth-injected: true"), "{text}");
    assert!(text.contains("x-org-id: org_1"), "{text}");
    assert!(text.contains("x-project-id: proj_1"), "{text}");
    assert!(
        text.contains("authorization: bearer aid_[redacted]"),
        "{text}"
    );
    assert!(!text.contains("bearer mine"), "{text}");
}

#[test]
fn malformed_agent_keys_are_refused() {
    for bad in ["", "af_0123", "aid_", "aid_ spaces"] {
        assert!(
            AidenIdMode::new(SecretString::from(bad), "o", "p").is_err(),
            "{bad}"
        );
    }
    assert!(AidenIdMode::new(SecretString::from("aid_0123456789"), "", "p").is_err());
    let m = AidenIdMode::new(SecretString::from("aid_0123456789"), "o", "p").expect("ok");
    assert!(!format!("{m:?}").contains("0123456789"));
}
