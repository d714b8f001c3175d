//! Security and robustness tests for the Flow admin API of the in-process
//! mock (`/api/admin/flows`), driven over raw HTTP with `reqwest` (and a raw
//! TCP socket where `reqwest` would normalise the request target), never
//! through the SDK client.
//!
//! * **Big graphs**: chains of 10 000 and 50 000 nodes and a 20 000-wide
//!   fan-out are created, validated, compiled, fetched, drawn and activated;
//!   a 50 000-node ring with a self-loop answers `cycle_without_exit`, 422
//!   `flow_invalid` and 409 `flow_not_compiled`; a 100 000-node one is over
//!   the 4 MiB body limit (413) and is validated by the mock's own validation
//!   function on a small stack (no recursion).
//! * **Graph defects**: self-loops, duplicate edges, edges to missing nodes,
//!   deep cycles without exit, … — the server's report is exactly the SDK's.
//! * **Every route** of `routes_of(Api::Flows)`: missing, wrong and malformed
//!   tokens (401), the read-only token (403 exactly on mutating routes),
//!   wrong methods (405), unknown ids (404), ids with `..`, `%2F`, unicode,
//!   invalid UTF-8 and 30 000 characters. Never a 5xx; every error is the
//!   envelope, whose `path` is the request path, whose `requestId` is the
//!   `X-Request-Id` header, and which is not retryable.
//! * **Bodies**: missing fields, wrong types at every level, unknown fields,
//!   non-object bodies, 100 000 nested `[`, trailing garbage, empty bodies,
//!   invalid UTF-8, bad names, 4 MiB + 1 (413); values sent are never echoed.
//! * **Query**: bad `limit`, `cursor`, `type`, `status`, unknown and
//!   duplicate parameters (400), unknown names never echoed.
//! * **Lifecycle conflicts**: 409 `flow_already_exists`, `flow_not_compiled`,
//!   `flow_not_active`, `flow_active`.
//!
//! After each battery the server still lists flows (200).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use authflow::api::Api;
use authflow::api::flows::{
    CreateFlowRequest, FlowGraph, FlowType, IssueCode, NodeKind, ValidationReport,
};
use authflow::api::routes::{self, Method, Route};
use authflow_mock::MockServer;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Client, Url};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

/// Largest body the Flow admin API accepts.
const MAX_BODY: usize = 4 * 1024 * 1024;
/// A value that must never come back in a response.
const SECRET: &str = "SECRET-abc123";
/// A secret-looking parameter or field *name*.
const SECRET_NAME: &str = "sk_live_5ecret0123456789";
const FLOWS: &str = "/api/admin/flows";

// ------------------------------------------------------------- HTTP helpers

fn http_client() -> Client {
    Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(120))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client")
}

/// A response, fully read, with the request path as it was sent.
#[derive(Debug)]
struct Resp {
    /// The path the server saw (percent-encoded, without the query).
    sent_path: String,
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Resp {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {}: body is not JSON ({e}): {}",
                self.status,
                short(&self.text())
            )
        })
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

fn short(s: &str) -> String {
    if s.chars().count() > 300 {
        let cut: String = s.chars().take(300).collect();
        format!("{cut}… ({} bytes)", s.len())
    } else {
        s.to_owned()
    }
}

/// One request.
#[derive(Debug, Clone)]
struct Call {
    method: reqwest::Method,
    /// Path and optional `?query`, appended to the base URL.
    target: String,
    auth: Option<String>,
    body: Option<Vec<u8>>,
}

impl Call {
    fn new(method: reqwest::Method, target: impl Into<String>) -> Self {
        Call {
            method,
            target: target.into(),
            auth: None,
            body: None,
        }
    }
    fn get(target: impl Into<String>) -> Self {
        Self::new(reqwest::Method::GET, target)
    }
    fn post(target: impl Into<String>) -> Self {
        Self::new(reqwest::Method::POST, target)
    }
    fn put(target: impl Into<String>) -> Self {
        Self::new(reqwest::Method::PUT, target)
    }
    fn bearer(mut self, token: &str) -> Self {
        self.auth = Some(format!("Bearer {token}"));
        self
    }
    fn authorization(mut self, value: &str) -> Self {
        self.auth = Some(value.to_owned());
        self
    }
    fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }
    fn json(self, body: &Value) -> Self {
        self.body(serde_json::to_vec(body).expect("JSON"))
    }
    fn describe(&self) -> String {
        let mut s = format!("{} {}", self.method, short(&self.target));
        if let Some(b) = &self.body {
            let _ = write!(s, " body {:?}", short(&String::from_utf8_lossy(b)));
        }
        if self.auth.is_none() {
            s.push_str(" (no Authorization)");
        }
        s
    }
}

fn to_reqwest(m: Method) -> reqwest::Method {
    match m {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
        Method::Patch => reqwest::Method::PATCH,
        Method::Delete => reqwest::Method::DELETE,
    }
}

async fn send(client: &Client, base: &str, call: &Call) -> Resp {
    let url = Url::parse(&format!("{base}{}", call.target)).expect("URL");
    let build = |client: &Client| {
        let mut rb = client.request(call.method.clone(), url.clone());
        if let Some(b) = &call.body {
            rb = rb.header(CONTENT_TYPE, "application/json").body(b.clone());
        }
        if let Some(a) = &call.auth {
            rb = rb.header(AUTHORIZATION, a.as_str());
        }
        rb
    };
    // An over-limit body is answered before it is read and the connection
    // closed: use a connection of its own and retry if the close races the
    // upload.
    let resp = if call.body.as_ref().is_some_and(|b| b.len() > MAX_BODY) {
        let mut last = None;
        let mut got = None;
        for _ in 0..5 {
            match build(&http_client())
                .header("connection", "close")
                .send()
                .await
            {
                Ok(r) => {
                    got = Some(r);
                    break;
                }
                Err(e) => last = Some(e.without_url()),
            }
        }
        got.unwrap_or_else(|| panic!("{}: {last:?}", call.describe()))
    } else {
        build(client)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: {}", call.describe(), e.without_url()))
    };
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.bytes().await.expect("response body").to_vec();
    Resp {
        sent_path: url.path().to_owned(),
        status,
        headers,
        body,
    }
}

/// Send raw bytes over TCP (`Connection: close`) and parse the answer; the
/// request target is sent exactly as given.
fn raw_http(addr: SocketAddr, request: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    stream.set_write_timeout(Some(Duration::from_secs(60)))?;
    // The server may answer and close before reading everything: keep going.
    let _ = stream.write_all(request);
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if buf.is_empty() && e.kind() != std::io::ErrorKind::ConnectionReset => {
                return Err(e);
            }
            Err(_) => break,
        }
    }
    Ok(buf)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = find(body, b"\r\n") {
        let size = std::str::from_utf8(&body[..eol])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 || body.len() < eol + 2 + size {
            break;
        }
        out.extend_from_slice(&body[eol + 2..eol + 2 + size]);
        body = &body[(eol + 4 + size).min(body.len())..];
    }
    out
}

fn parse_raw(sent_path: &str, raw: &[u8]) -> Resp {
    let split = find(raw, b"\r\n\r\n").unwrap_or_else(|| {
        panic!(
            "{sent_path}: no HTTP response: {:?}",
            short(&String::from_utf8_lossy(raw))
        )
    });
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.strip_prefix("HTTP/1.1 "))
        .and_then(|s| s.get(..3))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{sent_path}: bad status line in {head:?}"));
    let mut headers = HeaderMap::new();
    for line in lines {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(k.trim().as_bytes()),
            HeaderValue::from_str(v.trim()),
        ) {
            headers.append(k, v);
        }
    }
    let rest = &raw[split + 4..];
    let chunked = headers
        .get("transfer-encoding")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    Resp {
        sent_path: sent_path.to_owned(),
        status,
        headers,
        body,
    }
}

/// A raw request: `method target` with an optional bearer and body.
async fn raw(
    addr: SocketAddr,
    method: &str,
    target: &str,
    auth: Option<&str>,
    extra_headers: &str,
    body: &[u8],
) -> Resp {
    let mut req = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(a) = auth {
        let _ = write!(req, "Authorization: Bearer {a}\r\n");
    }
    req.push_str(extra_headers);
    if !body.is_empty()
        && !extra_headers
            .to_ascii_lowercase()
            .contains("transfer-encoding")
    {
        let _ = write!(
            req,
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        );
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    let raw = tokio::task::spawn_blocking(move || raw_http(addr, &bytes))
        .await
        .expect("raw HTTP task")
        .expect("raw HTTP");
    let path = target.split('?').next().unwrap_or(target);
    parse_raw(path, &raw)
}

// ----------------------------------------------------------- checks

/// Whether the body contains `secret` (raw or JSON-escaped).
fn leaks(body: &str, secret: &str) -> bool {
    let escaped = serde_json::to_string(secret).expect("JSON string");
    body.contains(secret) || body.contains(&escaped[1..escaped.len() - 1])
}

/// Check the error envelope: `status`, `code`, a non-empty message,
/// `error.details.requestId` = `requestId` = `X-Request-Id`, `path` = the
/// request path, `retryable` false (4xx), an RFC 3339 timestamp, JSON.
fn envelope(resp: &Resp, status: u16, code: &str) -> Result<Value, String> {
    if resp.status >= 500 {
        return Err(format!(
            "server error {}: {}",
            resp.status,
            short(&resp.text())
        ));
    }
    if resp.status != status {
        return Err(format!(
            "status {} (expected {status} {code}): {}",
            resp.status,
            short(&resp.text())
        ));
    }
    let ct = resp.header("content-type").unwrap_or("");
    if !ct.starts_with("application/json") {
        return Err(format!("content-type {ct:?}: {}", short(&resp.text())));
    }
    let v: Value = serde_json::from_slice(&resp.body)
        .map_err(|e| format!("envelope is not JSON ({e}): {}", short(&resp.text())))?;
    let obj = v.as_object().ok_or_else(|| format!("not an object: {v}"))?;
    let keys: BTreeSet<&str> = obj.keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> = ["error", "requestId", "timestamp", "path", "retryable"]
        .into_iter()
        .collect();
    if keys != expected {
        return Err(format!("envelope keys {keys:?}: {v}"));
    }
    if v["error"]["code"] != code {
        return Err(format!(
            "code {} (expected {code}): {v}",
            v["error"]["code"]
        ));
    }
    match v["error"]["message"].as_str() {
        Some(m) if !m.trim().is_empty() => {}
        _ => return Err(format!("no error.message: {v}")),
    }
    let id = v["requestId"]
        .as_str()
        .filter(|id| id.starts_with("req_") && id.len() > 4)
        .ok_or_else(|| format!("bad requestId: {v}"))?;
    if v["error"]["details"]["requestId"] != id {
        return Err(format!("error.details.requestId differs: {v}"));
    }
    if resp.header("x-request-id") != Some(id) {
        return Err(format!(
            "X-Request-Id {:?} != requestId {id}",
            resp.header("x-request-id")
        ));
    }
    if v["path"] != resp.sent_path.as_str() {
        return Err(format!(
            "path {} != request path {:?}",
            v["path"],
            short(&resp.sent_path)
        ));
    }
    if v["retryable"] != false {
        return Err(format!("a {status} is not retryable: {v}"));
    }
    let ts = v["timestamp"].as_str().unwrap_or("");
    if !(ts.len() >= 20 && ts.as_bytes()[10] == b'T' && ts.starts_with("20")) {
        return Err(format!("timestamp {ts:?}"));
    }
    Ok(v)
}

fn report(what: &str, failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{what}: {} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A GET of the list still answers 200 with a list.
async fn assert_healthy(client: &Client, server: &MockServer, label: &str) {
    let admin = admin(server);
    let r = send(client, &server.base_url(), &Call::get(FLOWS).bearer(&admin)).await;
    assert_eq!(r.status, 200, "after {label}: {}", short(&r.text()));
    let v = r.json();
    assert!(v["items"].is_array() && v["total"].is_u64(), "{v}");
    assert!(
        r.header("x-request-id")
            .is_some_and(|id| id.starts_with("req_")),
        "after {label}: X-Request-Id on success too"
    );
}

fn admin(server: &MockServer) -> String {
    server.flows_admin_token().expose_secret().to_owned()
}

fn reader(server: &MockServer) -> String {
    server.flows_read_token().expose_secret().to_owned()
}

// ----------------------------------------------------------- graphs

/// start → n0 → … → n{len-1} → success (`len` + 2 nodes).
fn chain(len: usize) -> FlowGraph {
    let mut b = FlowGraph::builder().node("start", NodeKind::Start);
    for i in 0..len {
        b = b.node(format!("n{i}"), NodeKind::Webhook);
    }
    b = b.node("success", NodeKind::Success).edge("start", "n0");
    for i in 1..len {
        b = b.edge(format!("n{}", i - 1), format!("n{i}"));
    }
    b.edge(format!("n{}", len - 1), "success").build()
}

/// start → switch → `width` webhooks (labelled edges) → success.
fn fan_out(width: usize) -> FlowGraph {
    let mut b = FlowGraph::builder()
        .node("start", NodeKind::Start)
        .node("hub", NodeKind::Switch)
        .node("success", NodeKind::Success)
        .edge("start", "hub");
    for i in 0..width {
        b = b
            .node(format!("f{i}"), NodeKind::Webhook)
            .edge_if("hub", format!("f{i}"), format!("c{i}"))
            .edge(format!("f{i}"), "success");
    }
    b.build()
}

/// start → success, and start → n0 → … → n{len-1} → n0 (a ring of `len`
/// with no exit) with a self-loop on the last node.
fn trap_ring(len: usize) -> FlowGraph {
    let mut b = FlowGraph::builder()
        .node("start", NodeKind::Start)
        .node("success", NodeKind::Success)
        .edge("start", "success")
        .edge("start", "n0");
    for i in 0..len {
        b = b
            .node(format!("n{i}"), NodeKind::Webhook)
            .edge(format!("n{i}"), format!("n{}", (i + 1) % len));
    }
    let last = format!("n{}", len - 1);
    b.edge(&last, &last).build()
}

fn create_body(name: &str, graph: FlowGraph) -> Vec<u8> {
    serde_json::to_vec(&CreateFlowRequest {
        name: name.to_owned(),
        display_name: format!("Flow {name}"),
        description: Some("security test".into()),
        flow_type: FlowType::Login,
        graph,
    })
    .expect("JSON")
}

fn minimal_graph() -> Value {
    json!({
        "nodes": [{"id": "start", "type": "start"}, {"id": "success", "type": "success"}],
        "edges": [{"source": "start", "target": "success"}]
    })
}

fn valid_create(name: &str) -> Value {
    json!({
        "name": name,
        "display_name": "Valid flow",
        "type": "login",
        "graph": minimal_graph(),
    })
}

/// Create a flow (expects 201) and return its id.
async fn create(client: &Client, server: &MockServer, body: Vec<u8>) -> String {
    let r = send(
        client,
        &server.base_url(),
        &Call::post(FLOWS).bearer(&admin(server)).body(body),
    )
    .await;
    assert_eq!(r.status, 201, "create: {}", short(&r.text()));
    let v = r.json();
    assert_eq!(v["status"], "draft", "{v}");
    assert_eq!(v["version"], 1, "{v}");
    assert_eq!(v["compiled"], false, "{v}");
    v["id"].as_str().expect("id").to_owned()
}

async fn validate(client: &Client, server: &MockServer, id: &str) -> ValidationReport {
    let r = send(
        client,
        &server.base_url(),
        &Call::post(format!("{FLOWS}/{id}/validate")).bearer(&admin(server)),
    )
    .await;
    assert_eq!(r.status, 200, "validate {id}: {}", short(&r.text()));
    serde_json::from_slice(&r.body).expect("a validation report")
}

// ===================================================================== 1

/// Big graphs go through the whole lifecycle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_graphs_are_created_validated_compiled_and_fetched() {
    let server = MockServer::start().await.expect("mock server");
    let client = http_client();
    let base = server.base_url();
    let token = admin(&server);
    let cases = [
        ("chain-10k", chain(10_000 - 2)),
        ("chain-50k", chain(50_000 - 2)),
        ("fan-out-20k", fan_out(20_000)),
    ];
    for (name, graph) in cases {
        let nodes = graph.nodes.len();
        let body = create_body(name, graph.clone());
        assert!(body.len() <= MAX_BODY, "{name}: {} bytes", body.len());
        let id = create(&client, &server, body).await;

        let report = validate(&client, &server, &id).await;
        assert!(report.valid, "{name}: {:?}", report.error_codes());
        assert!(report.errors.is_empty() && report.warnings.is_empty());

        let r = send(
            &client,
            &base,
            &Call::post(format!("{FLOWS}/{id}/compile")).bearer(&token),
        )
        .await;
        assert_eq!(r.status, 200, "{name} compile: {}", short(&r.text()));
        let v = r.json();
        assert_eq!(
            (v["compiled"].clone(), v["version"].clone()),
            (json!(true), json!(2))
        );

        // The stored plan has every node as a step, the start first.
        let plan = send(
            &client,
            &base,
            &Call::get(format!("/__mock/flows/{id}/plan")),
        )
        .await;
        assert_eq!(plan.status, 200, "{name} plan");
        let plan = plan.json();
        assert_eq!(plan["steps"].as_array().map(Vec::len), Some(nodes));
        assert_eq!(plan["steps"][0]["id"], "start");

        let r = send(
            &client,
            &base,
            &Call::get(format!("{FLOWS}/{id}")).bearer(&token),
        )
        .await;
        assert_eq!(r.status, 200, "{name} get");
        let v = r.json();
        assert_eq!(v["graph"]["nodes"].as_array().map(Vec::len), Some(nodes));
        assert_eq!(v["compiled"], true);
        let back: FlowGraph = serde_json::from_value(v["graph"].clone()).expect("graph");
        assert!(back == graph, "{name}: the graph round-trips");

        let r = send(
            &client,
            &base,
            &Call::get(format!("{FLOWS}/{id}/graph.mmd")).bearer(&token),
        )
        .await;
        assert_eq!(r.status, 200, "{name} mermaid");
        assert!(r.text().starts_with("flowchart LR\n"));
        assert!(r.text().lines().count() > nodes, "{name}: every node drawn");

        let r = send(
            &client,
            &base,
            &Call::post(format!("{FLOWS}/{id}/activate")).bearer(&token),
        )
        .await;
        assert_eq!(r.status, 200, "{name} activate: {}", short(&r.text()));
        assert_eq!(r.json()["status"], "active");
    }
    let r = send(
        &client,
        &base,
        &Call::get(format!("{FLOWS}?status=active")).bearer(&token),
    )
    .await;
    assert_eq!(r.json()["total"], 3);
    assert_healthy(&client, &server, "big graphs").await;
}

/// Deep cycles: a 50 000-node ring with a self-loop over HTTP, a 100 000-node
/// one (over the body limit) through the mock's validation on a small stack.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_cycles_answer_the_documented_codes_without_overflow() {
    let server = MockServer::start().await.expect("mock server");
    let client = http_client();
    let base = server.base_url();
    let token = admin(&server);

    let ring = trap_ring(50_000);
    let id = create(&client, &server, create_body("ring-50k", ring.clone())).await;
    let report = validate(&client, &server, &id).await;
    assert_eq!(report.error_codes(), vec![IssueCode::CycleWithoutExit]);
    assert_eq!(report.errors[0].node_id.as_deref(), Some("n0"));
    assert!(report.warnings.is_empty(), "{:?}", report.warning_codes());
    assert_eq!(report, ring.validate(), "the server's report is the SDK's");

    let r = send(
        &client,
        &base,
        &Call::post(format!("{FLOWS}/{id}/compile")).bearer(&token),
    )
    .await;
    let v = envelope(&r, 422, "flow_invalid").unwrap_or_else(|e| panic!("compile: {e}"));
    assert_eq!(
        v["error"]["details"]["errors"],
        serde_json::to_value(&report.errors).expect("JSON")
    );
    let r = send(
        &client,
        &base,
        &Call::post(format!("{FLOWS}/{id}/activate")).bearer(&token),
    )
    .await;
    envelope(&r, 409, "flow_not_compiled").unwrap_or_else(|e| panic!("activate: {e}"));

    // 100 000 nodes do not fit in 4 MiB of JSON: 413, and the server is fine.
    let big = trap_ring(100_000);
    let body = create_body("ring-100k", big.clone());
    assert!(body.len() > MAX_BODY, "{} bytes", body.len());
    let r = send(&client, &base, &Call::post(FLOWS).bearer(&token).body(body)).await;
    envelope(&r, 413, "payload_too_large").unwrap_or_else(|e| panic!("100k: {e}"));
    let r = send(
        &client,
        &base,
        &Call::get(format!("{FLOWS}/flow_ring_100k")).bearer(&token),
    )
    .await;
    envelope(&r, 404, "flow_not_found").unwrap_or_else(|e| panic!("100k stored? {e}"));

    // The validation the mock runs, on a 256 KiB stack: no recursion.
    let report = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            let report = authflow_mock::flows::store::validate(&big);
            let compiled = big.compile();
            let mermaid = big.to_mermaid();
            (report, compiled.err(), mermaid.len())
        })
        .expect("thread")
        .join()
        .expect("validation of 100 000 nodes does not overflow a small stack");
    assert_eq!(report.0.error_codes(), vec![IssueCode::CycleWithoutExit]);
    assert_eq!(report.0.errors[0].node_id.as_deref(), Some("n0"));
    assert_eq!(report.1, Some(report.0.clone()), "compile refuses it");
    assert!(report.2 > 100_000);
    assert_healthy(&client, &server, "deep cycles").await;
}

// ===================================================================== 2

/// Graph defects give the documented issue codes, exactly the SDK's report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_defects_are_reported_by_validate() {
    use NodeKind::*;
    let server = MockServer::start().await.expect("mock server");
    let client = http_client();
    let base = server.base_url();
    let token = admin(&server);
    let base_graph = || {
        FlowGraph::builder()
            .node("start", Start)
            .node("success", Success)
    };
    let mut ring = base_graph().edge("start", "success").edge("start", "r0");
    for i in 0..1000 {
        ring = ring
            .node(format!("r{i}"), OtpInput)
            .edge(format!("r{i}"), format!("r{}", (i + 1) % 1000));
    }
    let cases: Vec<(&str, FlowGraph, Vec<IssueCode>, Vec<IssueCode>)> = vec![
        (
            // Self-loops and duplicate edges with an exit are fine (the SDK
            // reports nothing for them).
            "self-loop-and-duplicates",
            base_graph()
                .node("a", OtpInput)
                .edge("start", "a")
                .edge("a", "a")
                .edge("a", "a")
                .edge("a", "success")
                .edge("a", "success")
                .build(),
            vec![],
            vec![],
        ),
        (
            "self-loop-trap",
            base_graph()
                .node("a", OtpInput)
                .edge("start", "success")
                .edge("start", "a")
                .edge("a", "a")
                .build(),
            vec![IssueCode::CycleWithoutExit],
            vec![],
        ),
        (
            "edge-to-missing-target",
            base_graph()
                .node("password", PasswordInput)
                .edge("start", "password")
                .edge("password", "success")
                .edge("password", "mfa")
                .build(),
            vec![IssueCode::InvalidEdge],
            vec![],
        ),
        (
            "edge-from-missing-source",
            base_graph()
                .edge("start", "success")
                .edge("ghost", "success")
                .build(),
            vec![IssueCode::InvalidEdge],
            vec![],
        ),
        (
            "deep-cycle-1000",
            ring.build(),
            vec![IssueCode::CycleWithoutExit],
            vec![],
        ),
        (
            "duplicate-node-id",
            base_graph()
                .node("start", Webhook)
                .edge("start", "success")
                .build(),
            vec![IssueCode::DuplicateNodeId],
            vec![],
        ),
        (
            "missing-start",
            FlowGraph::builder().node("success", Success).build(),
            vec![IssueCode::MissingStartNode],
            vec![],
        ),
        (
            "two-starts",
            base_graph()
                .node("start2", Start)
                .edge("start", "success")
                .edge("start2", "success")
                .build(),
            vec![IssueCode::MultipleStartNodes],
            vec![],
        ),
        (
            "no-path-to-success",
            base_graph()
                .node("fail", Failure)
                .edge("start", "fail")
                .build(),
            vec![IssueCode::UnreachableSuccess],
            vec![IssueCode::UnusedNode],
        ),
        (
            "unknown-type",
            base_graph()
                .node("x", NodeKind::from(SECRET.to_owned()))
                .edge("start", "x")
                .edge("x", "success")
                .build(),
            vec![IssueCode::UnknownNodeType],
            vec![],
        ),
        (
            "config-not-an-object",
            base_graph()
                .node("c", Condition)
                .config("c", json!("user.mfa_enabled"))
                .edge("start", "c")
                .edge_if("c", "success", "true")
                .edge_if("c", "success", "false")
                .build(),
            vec![IssueCode::InvalidConfig],
            vec![],
        ),
        (
            "condition-missing-branch",
            base_graph()
                .node("c", Condition)
                .config("c", json!({"condition": "user.mfa_enabled"}))
                .edge("start", "c")
                .edge_if("c", "success", "true")
                .build(),
            vec![IssueCode::ConditionMissingBranch],
            vec![],
        ),
        (
            "empty-graph",
            FlowGraph::default(),
            vec![IssueCode::MissingStartNode],
            vec![],
        ),
    ];
    let mut failures = Vec::new();
    for (i, (label, graph, errors, warnings)) in cases.into_iter().enumerate() {
        let id = create(
            &client,
            &server,
            create_body(&format!("defect-{i}"), graph.clone()),
        )
        .await;
        let report = validate(&client, &server, &id).await;
        if report != graph.validate() {
            failures.push(format!(
                "{label}: server report differs from the SDK's: {report:?}"
            ));
        }
        if report.error_codes() != errors || report.warning_codes() != warnings {
            failures.push(format!(
                "{label}: errors {:?} warnings {:?}, expected {errors:?} {warnings:?}",
                report.error_codes(),
                report.warning_codes()
            ));
        }
        if report.valid != errors.is_empty() {
            failures.push(format!("{label}: valid = {}", report.valid));
        }
        let r = send(
            &client,
            &base,
            &Call::post(format!("{FLOWS}/{id}/compile")).bearer(&token),
        )
        .await;
        if errors.is_empty() {
            if r.status != 200 {
                failures.push(format!(
                    "{label}: compile {} {}",
                    r.status,
                    short(&r.text())
                ));
            }
        } else {
            match envelope(&r, 422, "flow_invalid") {
                Ok(v)
                    if v["error"]["details"]["errors"]
                        == serde_json::to_value(&report.errors).expect("JSON") => {}
                Ok(v) => failures.push(format!("{label}: compile details {v}")),
                Err(e) => failures.push(format!("{label}: compile {e}")),
            }
        }
    }
    // The documented invalid_edge shape.
    let edge_report = validate(&client, &server, "flow_defect_2").await;
    assert_eq!(
        edge_report.errors[0].message,
        "Edge 'password->mfa' target node does not exist"
    );
    let edge = edge_report.errors[0].edge.as_ref().expect("edge");
    assert_eq!(
        (edge.source.as_str(), edge.target.as_str()),
        ("password", "mfa")
    );
    report("graph defects", &failures);
    assert_healthy(&client, &server, "graph defects").await;
}

// ===================================================================== 3

fn concrete(route: &Route, id: &str) -> String {
    route.path.replace("{id}", id)
}

/// Missing and wrong tokens, the read-only token, unknown ids, wrong methods,
/// on every Flow route.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_authenticates_and_answers_the_envelope() {
    let server = MockServer::start().await.expect("mock server");
    let client = http_client();
    let base = server.base_url();
    let token = admin(&server);
    let read = reader(&server);
    let flow_routes: Vec<&Route> = routes::routes_of(Api::Flows).collect();
    assert_eq!(
        flow_routes.len(),
        10,
        "nine documented routes and graph.mmd"
    );
    let id = create(
        &client,
        &server,
        serde_json::to_vec(&valid_create("battery")).expect("JSON"),
    )
    .await;
    let body_for = |route: &Route| match route.name {
        "createFlow" => Some(serde_json::to_vec(&valid_create("battery-2")).expect("JSON")),
        "updateFlow" => Some(br#"{"display_name": "Changed"}"#.to_vec()),
        _ => None,
    };
    let mut b = Battery::new(&[&token, &read, SECRET]);
    for route in &flow_routes {
        let path = concrete(route, &id);
        let method = to_reqwest(route.method);
        let with_body = |c: Call| match body_for(route) {
            Some(b) => c.body(b),
            None => c,
        };
        // 401: no token, unknown tokens, other schemes, near misses.
        let bad_auth = [
            None,
            Some(String::new()),
            Some("Bearer".to_owned()),
            Some("Bearer ".to_owned()),
            Some("Bearer wrong".to_owned()),
            Some(format!("Basic {token}")),
            Some(format!(
                "Basic {}",
                STANDARD.encode(format!("admin:{token}"))
            )),
            Some(format!("Token {token}")),
            Some(format!("Bearer {token}x")),
            Some(format!("Bearer {}", &token[..token.len() - 1])),
            Some(format!("Bearer {}", token.to_uppercase())),
            Some(format!("Bearer {token},{token}")),
            Some(format!("Bearer {}", "A".repeat(8000))),
            Some(format!("Bearer {}", server.api_key().expose_secret())),
            Some(format!("Bearer {SECRET}")),
        ];
        for auth in bad_auth {
            let mut call = with_body(Call::new(method.clone(), path.clone()));
            if let Some(a) = &auth {
                call = call.authorization(a);
            }
            let r = send(&client, &base, &call).await;
            b.check(&call, &r, 401, "unauthorized");
        }
        // The read-only token: 403 exactly on mutating routes.
        let call = with_body(Call::new(method.clone(), path.clone())).bearer(&read);
        let r = send(&client, &base, &call).await;
        if route.mutates {
            b.check(&call, &r, 403, "forbidden");
        } else if r.status != 200 {
            b.fail(format!(
                "{}: read-only token got {}",
                call.describe(),
                r.status
            ));
        }
        // Unknown flow ids: 404 with either token (403 first for readers on mutations).
        if route.path.contains("{id}") {
            for t in [&token, &read] {
                let call =
                    with_body(Call::new(method.clone(), concrete(route, "flow_nope"))).bearer(t);
                let r = send(&client, &base, &call).await;
                if route.mutates && t == &read {
                    b.check(&call, &r, 403, "forbidden");
                } else {
                    b.check(&call, &r, 404, "flow_not_found");
                }
            }
        }
    }
    // The scheme is case-insensitive; the battery flow is untouched.
    let r = send(
        &client,
        &base,
        &Call::get(format!("{FLOWS}/{id}")).authorization(&format!("bEaReR {token}")),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(
        (&v["display_name"], &v["version"], &v["status"]),
        (&json!("Valid flow"), &json!(1), &json!("draft")),
        "nothing was changed by rejected requests"
    );
    let r = send(
        &client,
        &base,
        &Call::get(format!("{FLOWS}/flow_battery_2")).bearer(&token),
    )
    .await;
    b.check(&Call::get("flow_battery_2"), &r, 404, "flow_not_found");

    // Wrong methods: 405 for every method a path does not serve.
    let all = [
        reqwest::Method::GET,
        reqwest::Method::POST,
        reqwest::Method::PUT,
        reqwest::Method::PATCH,
        reqwest::Method::DELETE,
        reqwest::Method::OPTIONS,
        reqwest::Method::from_bytes(b"PROPFIND").expect("method"),
    ];
    let mut paths: Vec<&str> = flow_routes.iter().map(|r| r.path).collect();
    paths.dedup();
    for template in paths {
        let served: Vec<reqwest::Method> = flow_routes
            .iter()
            .filter(|r| r.path == template)
            .map(|r| to_reqwest(r.method))
            .collect();
        for m in all.iter().filter(|m| !served.contains(m)) {
            for auth in [Some(&token), Some(&read), None] {
                let mut call = Call::new(m.clone(), template.replace("{id}", &id))
                    .body(serde_json::to_vec(&valid_create("wrong-method")).expect("JSON"));
                if let Some(t) = auth {
                    call = call.bearer(t);
                }
                let r = send(&client, &base, &call).await;
                b.check(&call, &r, 405, "method_not_allowed");
            }
        }
    }

    // Unknown /api paths.
    for target in [
        "/api",
        "/api/",
        "/api/admin",
        "/api/admin/flowz",
        "/api/admin/flows/",
        "/api/admin/flows/x/y/z",
        "/api/admin/flows/x/validate/extra",
        "/api/admin/flows/x/graph.svg",
    ] {
        let call = Call::get(target).bearer(&token);
        let r = send(&client, &base, &call).await;
        b.check(&call, &r, 404, "not_found");
    }
    b.finish(200, "route battery");
    assert_healthy(&client, &server, "route battery").await;
}

/// Collects the failures of a battery.
struct Battery {
    failures: Vec<String>,
    total: usize,
    secrets: Vec<String>,
}

impl Battery {
    fn new(secrets: &[&str]) -> Self {
        Battery {
            failures: Vec::new(),
            total: 0,
            secrets: secrets.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
    fn fail(&mut self, failure: String) {
        self.failures.push(failure);
    }
    /// The envelope with `status` and `code`, and no secret echoed.
    fn check(&mut self, call: &Call, resp: &Resp, status: u16, code: &str) {
        self.total += 1;
        if let Err(e) = envelope(resp, status, code) {
            self.failures.push(format!("{}: {e}", call.describe()));
        }
        let text = resp.text();
        for s in &self.secrets {
            if leaks(&text, s) {
                self.failures
                    .push(format!("{}: echoes {s:?}", call.describe()));
            }
        }
    }
    fn finish(self, min: usize, what: &str) {
        report_total(&self.failures, self.total, min, what);
    }
}

fn report_total(failures: &[String], total: usize, min: usize, what: &str) {
    assert!(total >= min, "{what}: only {total} cases ran");
    report(what, failures);
}

/// Odd ids on every route with an id, sent verbatim over TCP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_flow_ids_are_not_found_never_server_errors() {
    let server = MockServer::start().await.expect("mock server");
    let client = http_client();
    let token = admin(&server);
    let read = reader(&server);
    let id = create(
        &client,
        &server,
        serde_json::to_vec(&valid_create("odd")).expect("JSON"),
    )
    .await;
    let long_a = "a".repeat(4096);
    let long_b = format!("flow_{}", "%C3%A9".repeat(5000));
    let ids: Vec<String> = [
        "..",
        ".",
        "%2e%2e",
        "..%2F..%2F..%2Fetc%2Fpasswd",
        "a%2Fb",
        "%2F",
        &format!("{id}%2F"),
        &format!("{id}%00"),
        "%00",
        "%20",
        "flow%20odd",
        "%D1%84%D0%BB%D0%BE%D1%83",
        "%F0%9F%94%A5",
        "FLOW_ODD",
        "flow_odd%0d%0aX-Injected:%201",
        "%25",
        "'%20OR%20'1'='1",
        "%3Cscript%3E",
        SECRET,
        &long_a,
        &long_b,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let mut failures = Vec::new();
    let mut total = 0;
    for route in routes::routes_of(Api::Flows).filter(|r| r.path.contains("{id}")) {
        for odd in &ids {
            for t in [&token, &read] {
                let target = concrete(route, odd);
                let body: &[u8] = if route.method == Method::Put {
                    br#"{"display_name": "x"}"#
                } else {
                    b""
                };
                let r = raw(
                    server.addr(),
                    route.method.as_str(),
                    &target,
                    Some(t),
                    "",
                    body,
                )
                .await;
                total += 1;
                let expected = if route.mutates && t == &read {
                    (403, "forbidden")
                } else {
                    (404, "flow_not_found")
                };
                if let Err(e) = envelope(&r, expected.0, expected.1) {
                    failures.push(format!("{} {}: {e}", route.method, short(&target)));
                }
                // The envelope's `path` is the request path; nothing else
                // repeats the id.
                let message = serde_json::from_slice::<Value>(&r.body)
                    .map(|v| v["error"].to_string())
                    .unwrap_or_default();
                if leaks(&message, SECRET) || r.headers.contains_key("x-injected") {
                    failures.push(format!(
                        "{} {}: echoes the id",
                        route.method,
                        short(&target)
                    ));
                }
            }
        }
        // Invalid UTF-8 after percent-decoding: 400, not a 5xx.
        for odd in ["%FF", "flow_%C3", "%ED%A0%80"] {
            let target = concrete(route, odd);
            let r = raw(
                server.addr(),
                route.method.as_str(),
                &target,
                Some(&token),
                "",
                b"",
            )
            .await;
            total += 1;
            if let Err(e) = envelope(&r, 400, "invalid_request") {
                failures.push(format!("{} {}: {e}", route.method, target));
            }
        }
        // Dot segments are not resolved: `/flows/odd/../x` is no route.
        let target = route.path.replace("{id}", &format!("{id}/.."));
        let r = raw(
            server.addr(),
            route.method.as_str(),
            &target,
            Some(&token),
            "",
            b"",
        )
        .await;
        total += 1;
        if r.status >= 500 || !(r.status == 404 || r.status == 405) {
            failures.push(format!("{target}: {} {}", r.status, short(&r.text())));
        }
    }
    // The real flow is still there, untouched.
    let r = send(
        &client,
        &server.base_url(),
        &Call::get(format!("{FLOWS}/{id}")).bearer(&token),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["version"], 1);
    report_total(&failures, total, 100, "odd ids");
    assert_healthy(&client, &server, "odd ids").await;
}

// ===================================================================== 4

/// Malformed create and update bodies answer the documented 400 codes and
/// never echo what was sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_answer_documented_codes_without_echo() {
    let server = MockServer::start().await.expect("mock server");
    let client = http_client();
    let base = server.base_url();
    let token = admin(&server);
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = valid_create("body-case");
        f(&mut v);
        serde_json::to_vec(&v).expect("JSON")
    };
    let nested = |depth: usize| {
        let mut s = String::from(
            r#"{"name":"deep","display_name":"D","type":"login","graph":{"nodes":[{"id":"start","type":"start","config":"#,
        );
        s.push_str(&"[".repeat(depth));
        s.push_str(&"]".repeat(depth));
        s.push_str("}],\"edges\":[]}}");
        s.into_bytes()
    };
    let mut bad_utf8 = br#"{"name":"utf","display_name":""#.to_vec();
    bad_utf8.extend_from_slice(&[0xff, 0xfe, 0xc3]);
    bad_utf8.extend_from_slice(br#"","type":"login","graph":{}}"#);
    // (label, body, code, the message must contain)
    let cases: Vec<(&str, Vec<u8>, &str, &str)> = vec![
        ("empty", b"".to_vec(), "invalid_request", ""),
        ("whitespace", b" \r\n\t ".to_vec(), "invalid_request", ""),
        ("null", b"null".to_vec(), "invalid_request", ""),
        ("true", b"true".to_vec(), "invalid_request", ""),
        ("number", b"12345".to_vec(), "invalid_request", ""),
        ("string", format!("\"{SECRET}\"").into_bytes(), "invalid_request", ""),
        ("empty array", b"[]".to_vec(), "invalid_request", ""),
        (
            "positional array",
            serde_json::to_vec(&json!(["positional", SECRET, null, "login", minimal_graph()]))
                .expect("JSON"),
            "invalid_request",
            "",
        ),
        ("100k [", "[".repeat(100_000).into_bytes(), "invalid_json", ""),
        ("100k [ balanced", format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes(), "invalid_json", ""),
        ("100k { ", "{\"a\":".repeat(100_000).into_bytes(), "invalid_request", ""),
        ("config nested 100k", nested(100_000), "invalid_json", ""),
        ("truncated", br#"{"name": "trunc", "display_name": "#.to_vec(), "invalid_json", ""),
        ("not JSON", format!("name={SECRET}").into_bytes(), "invalid_json", ""),
        ("single quotes", format!("{{'name': '{SECRET}'}}").into_bytes(), "invalid_json", ""),
        ("trailing garbage", {
            let mut b = serde_json::to_vec(&valid_create("trailing")).expect("JSON");
            b.extend_from_slice(format!(" {SECRET}").as_bytes());
            b
        }, "invalid_json", ""),
        ("two objects", {
            let mut b = serde_json::to_vec(&valid_create("two")).expect("JSON");
            b.extend(serde_json::to_vec(&valid_create("two")).expect("JSON"));
            b
        }, "invalid_json", ""),
        ("invalid UTF-8", bad_utf8, "invalid_json", ""),
        ("leading BOM", {
            let mut b = vec![0xef, 0xbb, 0xbf];
            b.extend(serde_json::to_vec(&valid_create("bom")).expect("JSON"));
            b
        }, "invalid_json", ""),
        ("missing name", with(&|v| { v.as_object_mut().expect("obj").remove("name"); }), "invalid_request", "missing field `name`"),
        ("missing display_name", with(&|v| { v.as_object_mut().expect("obj").remove("display_name"); }), "invalid_request", "missing field `display_name`"),
        ("missing type", with(&|v| { v.as_object_mut().expect("obj").remove("type"); }), "invalid_request", "missing field `type`"),
        ("missing graph", with(&|v| { v.as_object_mut().expect("obj").remove("graph"); }), "invalid_request", "missing field `graph`"),
        ("empty object", b"{}".to_vec(), "invalid_request", "missing field"),
        ("name as number", with(&|v| v["name"] = json!(123_456_789)), "invalid_request", "name: "),
        ("name as object", with(&|v| v["name"] = json!({"x": SECRET})), "invalid_request", "name: "),
        ("name null", with(&|v| v["name"] = Value::Null), "invalid_request", "name: "),
        ("display_name as array", with(&|v| v["display_name"] = json!([SECRET])), "invalid_request", "display_name: "),
        ("description as number", with(&|v| v["description"] = json!(7)), "invalid_request", "description: "),
        ("type as number", with(&|v| v["type"] = json!(1)), "invalid_request", "type: "),
        ("type unknown", with(&|v| v["type"] = json!(SECRET)), "invalid_request", "type: "),
        ("graph as string", with(&|v| v["graph"] = json!(SECRET)), "invalid_request", "graph: "),
        ("graph as array", with(&|v| v["graph"] = json!([SECRET])), "invalid_request", "graph"),
        ("nodes as object", with(&|v| v["graph"]["nodes"] = json!({"start": SECRET})), "invalid_request", "graph.nodes: "),
        ("nodes as string", with(&|v| v["graph"]["nodes"] = json!(SECRET)), "invalid_request", "graph.nodes: "),
        ("edges as number", with(&|v| v["graph"]["edges"] = json!(5)), "invalid_request", "graph.edges: "),
        ("node as string", with(&|v| v["graph"]["nodes"][1] = json!(SECRET)), "invalid_request", "graph.nodes[1]"),
        ("node id as number", with(&|v| v["graph"]["nodes"][0]["id"] = json!(42)), "invalid_request", "graph.nodes[0].id: "),
        ("node id missing", with(&|v| { v["graph"]["nodes"][0].as_object_mut().expect("obj").remove("id"); }), "invalid_request", "graph.nodes[0]"),
        ("node type as bool", with(&|v| v["graph"]["nodes"][1]["type"] = json!(true)), "invalid_request", "graph.nodes[1].type: "),
        ("node type missing", with(&|v| { v["graph"]["nodes"][1].as_object_mut().expect("obj").remove("type"); }), "invalid_request", "missing field `type`"),
        ("position as string", with(&|v| v["graph"]["nodes"][0]["position"] = json!(SECRET)), "invalid_request", "graph.nodes[0].position: "),
        ("position.x as string", with(&|v| v["graph"]["nodes"][0]["position"] = json!({"x": SECRET, "y": 0})), "invalid_request", "graph.nodes[0].position.x: "),
        ("position.y missing", with(&|v| v["graph"]["nodes"][0]["position"] = json!({"x": 0})), "invalid_request", "missing field `y`"),
        ("edge source missing", with(&|v| v["graph"]["edges"][0] = json!({"target": "success"})), "invalid_request", "missing field `source`"),
        ("edge target as number", with(&|v| v["graph"]["edges"][0]["target"] = json!(9)), "invalid_request", "graph.edges[0].target: "),
        ("edge condition as object", with(&|v| v["graph"]["edges"][0]["condition"] = json!({"c": SECRET})), "invalid_request", "graph.edges[0].condition: "),
        ("unknown field", with(&|v| v["colour"] = json!(SECRET)), "invalid_request", "unknown field"),
        ("secret-named field", with(&|v| v[SECRET_NAME] = json!(1)), "invalid_request", "unknown field"),
        ("duplicate field", format!(r#"{{"name":"dup","name":"{SECRET}","display_name":"D","type":"login","graph":{{}}}}"#).into_bytes(), "invalid_request", "duplicate field"),
        ("name empty", with(&|v| v["name"] = json!("")), "invalid_flow_name", ""),
        ("name with space", with(&|v| v["name"] = json!("with space")), "invalid_flow_name", ""),
        ("name unicode", with(&|v| v["name"] = json!("ünïcode-флоу")), "invalid_flow_name", ""),
        ("name 65 chars", with(&|v| v["name"] = json!("x".repeat(65))), "invalid_flow_name", ""),
        ("name 10k chars", with(&|v| v["name"] = json!("x".repeat(10_000))), "invalid_flow_name", ""),
        ("name leading hyphen", with(&|v| v["name"] = json!("-lead")), "invalid_flow_name", ""),
        ("name trailing hyphen", with(&|v| v["name"] = json!("trail-")), "invalid_flow_name", ""),
        ("name underscore", with(&|v| v["name"] = json!("under_score")), "invalid_flow_name", ""),
        ("name path", with(&|v| v["name"] = json!("../etc")), "invalid_flow_name", ""),
        ("name secret", with(&|v| v["name"] = json!(SECRET.replace('-', "_"))), "invalid_flow_name", ""),
        ("name NUL", with(&|v| v["name"] = json!("a\u{0}b")), "invalid_flow_name", ""),
        ("display_name empty", with(&|v| v["display_name"] = json!("")), "invalid_request", "display_name"),
        ("display_name blank", with(&|v| v["display_name"] = json!("  \t ")), "invalid_request", "display_name"),
        ("display_name 201 chars", with(&|v| v["display_name"] = json!("d".repeat(201))), "invalid_request", "display_name"),
        ("description 2001 chars", with(&|v| v["description"] = json!("d".repeat(2001))), "invalid_request", "description"),
    ];
    let mut failures = Vec::new();
    let mut total = 0;
    for (label, body, code, needle) in &cases {
        let call = Call::post(FLOWS).bearer(&token).body(body.clone());
        let r = send(&client, &base, &call).await;
        total += 1;
        match envelope(&r, 400, code) {
            Ok(v) => {
                let message = v["error"]["message"].as_str().unwrap_or("");
                if !message.contains(needle) {
                    failures.push(format!("{label}: message {message:?} lacks {needle:?}"));
                }
            }
            Err(e) => failures.push(format!("{label}: {e}")),
        }
        let text = r.text();
        for s in [
            SECRET,
            SECRET_NAME,
            "abc123",
            "5ecret",
            "ünïcode",
            "positional",
        ] {
            if leaks(&text, s) {
                failures.push(format!("{label}: echoes {s:?}: {}", short(&text)));
            }
        }
    }
    // Nothing above was created.
    let r = send(&client, &base, &Call::get(FLOWS).bearer(&token)).await;
    if r.json()["total"] != 0 {
        failures.push(format!(
            "flows were created by bad bodies: {}",
            short(&r.text())
        ));
    }
    report_total(&failures, total, 60, "create bodies");

    // Boundaries that are fine: a 64-character name, whitespace, 4 MiB exactly.
    let name64 = format!("a{}c", "-b".repeat(31));
    assert_eq!(name64.len(), 64);
    let mut body = serde_json::to_vec(&valid_create(&name64)).expect("JSON");
    body.resize(MAX_BODY, b' ');
    let id = create(&client, &server, body).await;
    assert_eq!(id, format!("flow_{}", name64.replace('-', "_")));
    let r = send(
        &client,
        &base,
        &Call::post(FLOWS)
            .bearer(&token)
            .json(&valid_create(&name64)),
    )
    .await;
    envelope(&r, 409, "flow_already_exists").unwrap_or_else(|e| panic!("duplicate: {e}"));

    // One byte over: 413, with a Content-Length or chunked.
    let mut body = serde_json::to_vec(&valid_create("too-big")).expect("JSON");
    body.resize(MAX_BODY + 1, b' ');
    let r = send(
        &client,
        &base,
        &Call::post(FLOWS).bearer(&token).body(body.clone()),
    )
    .await;
    envelope(&r, 413, "payload_too_large").unwrap_or_else(|e| panic!("4 MiB + 1: {e}"));
    let mut chunked = Vec::new();
    for part in body.chunks(1 << 20) {
        chunked.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        chunked.extend_from_slice(part);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let r = raw(
        server.addr(),
        "POST",
        FLOWS,
        Some(&token),
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n",
        &chunked,
    )
    .await;
    envelope(&r, 413, "payload_too_large").unwrap_or_else(|e| panic!("chunked 4 MiB + 1: {e}"));
    let mut huge = format!(r#"{{"name":"huge","display_name":"{SECRET}"#).into_bytes();
    huge.resize(6 * 1024 * 1024, b'x');
    let r = send(&client, &base, &Call::post(FLOWS).bearer(&token).body(huge)).await;
    envelope(&r, 413, "payload_too_large").unwrap_or_else(|e| panic!("6 MiB: {e}"));
    assert!(!leaks(&r.text(), SECRET));

    // Update: the same rules, 404 first for an unknown flow.
    let put = |body: &[u8]| {
        Call::put(format!("{FLOWS}/{id}"))
            .bearer(&token)
            .body(body.to_vec())
    };
    let update_cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("empty", b"".to_vec(), 400, "invalid_request"),
        ("array", b"[]".to_vec(), 400, "invalid_request"),
        (
            "positional",
            serde_json::to_vec(&json!([SECRET])).expect("JSON"),
            400,
            "invalid_request",
        ),
        ("null", b"null".to_vec(), 400, "invalid_request"),
        ("garbage", SECRET.as_bytes().to_vec(), 400, "invalid_json"),
        (
            "unknown field",
            serde_json::to_vec(&json!({"name": SECRET})).expect("JSON"),
            400,
            "invalid_request",
        ),
        (
            "secret-named field",
            serde_json::to_vec(&json!({SECRET_NAME: 1})).expect("JSON"),
            400,
            "invalid_request",
        ),
        (
            "display_name empty",
            br#"{"display_name": ""}"#.to_vec(),
            400,
            "invalid_request",
        ),
        (
            "display_name number",
            br#"{"display_name": 5}"#.to_vec(),
            400,
            "invalid_request",
        ),
        (
            "graph as string",
            serde_json::to_vec(&json!({"graph": SECRET})).expect("JSON"),
            400,
            "invalid_request",
        ),
        (
            "node id as number",
            br#"{"graph": {"nodes": [{"id": 1, "type": "start"}]}}"#.to_vec(),
            400,
            "invalid_request",
        ),
        (
            "trailing",
            br#"{"display_name": "x"} x"#.to_vec(),
            400,
            "invalid_json",
        ),
        (
            "too big",
            {
                let mut b = br#"{"display_name": "x"}"#.to_vec();
                b.resize(MAX_BODY + 1, b' ');
                b
            },
            413,
            "payload_too_large",
        ),
    ];
    let mut failures = Vec::new();
    for (label, body, status, code) in &update_cases {
        let r = send(&client, &base, &put(body)).await;
        if let Err(e) = envelope(&r, *status, code) {
            failures.push(format!("update {label}: {e}"));
        }
        for s in [SECRET, SECRET_NAME] {
            if leaks(&r.text(), s) {
                failures.push(format!(
                    "update {label}: echoes {s:?}: {}",
                    short(&r.text())
                ));
            }
        }
    }
    let r = send(
        &client,
        &base,
        &Call::put(format!("{FLOWS}/flow_nope"))
            .bearer(&token)
            .body(b"[".to_vec()),
    )
    .await;
    if let Err(e) = envelope(&r, 404, "flow_not_found") {
        failures.push(format!("update of an unknown flow: {e}"));
    }
    let r = send(
        &client,
        &base,
        &Call::get(format!("{FLOWS}/{id}")).bearer(&token),
    )
    .await;
    let v = r.json();
    if v["display_name"] != "Valid flow" || v["updated_at"] != v["created_at"] {
        failures.push(format!("rejected updates changed the flow: {v}"));
    }
    report("update bodies", &failures);
    assert_healthy(&client, &server, "bodies").await;
}

// ===================================================================== 5

/// Bad query parameters of the list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_list_queries_answer_400_without_echo() {
    let server = MockServer::start().await.expect("mock server");
    let client = http_client();
    let base = server.base_url();
    let token = admin(&server);
    for i in 0..5 {
        create(
            &client,
            &server,
            serde_json::to_vec(&valid_create(&format!("page-{i}"))).expect("JSON"),
        )
        .await;
    }
    // Paging works and yields every flow once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut first_cursor = None;
    loop {
        let target = match &cursor {
            Some(c) => format!("{FLOWS}?limit=2&cursor={c}"),
            None => format!("{FLOWS}?limit=2"),
        };
        let v = send(&client, &base, &Call::get(target).bearer(&token))
            .await
            .json();
        assert_eq!(v["total"], 5);
        for item in v["items"].as_array().expect("items") {
            seen.push(item["name"].as_str().expect("name").to_owned());
        }
        match v["cursor"].as_str() {
            Some(c) => {
                first_cursor.get_or_insert_with(|| c.to_owned());
                cursor = Some(c.to_owned());
            }
            None => break,
        }
        assert!(seen.len() <= 5, "paging does not loop");
    }
    assert_eq!(
        seen,
        (0..5).map(|i| format!("page-{i}")).collect::<Vec<_>>()
    );
    let real = first_cursor.expect("a cursor");
    let decoded =
        String::from_utf8(URL_SAFE_NO_PAD.decode(&real).expect("base64url")).expect("utf8");
    let enc = |s: &str| URL_SAFE_NO_PAD.encode(s);

    let queries: Vec<(String, &str)> = vec![
        ("limit=0".into(), "invalid_parameter"),
        ("limit=101".into(), "invalid_parameter"),
        ("limit=-1".into(), "invalid_parameter"),
        ("limit=abc".into(), "invalid_parameter"),
        ("limit=1.5".into(), "invalid_parameter"),
        ("limit=".into(), "invalid_parameter"),
        ("limit".into(), "invalid_parameter"),
        ("limit=%20".into(), "invalid_parameter"),
        ("limit=%FF".into(), "invalid_parameter"),
        ("limit=99999999999999999999999".into(), "invalid_parameter"),
        (format!("limit={SECRET}"), "invalid_parameter"),
        ("limit=1&limit=2".into(), "invalid_parameter"),
        ("limit=1&limit=1".into(), "invalid_parameter"),
        ("type=unknown".into(), "invalid_parameter"),
        ("type=LOGIN".into(), "invalid_parameter"),
        ("type=".into(), "invalid_parameter"),
        (format!("type={SECRET}"), "invalid_parameter"),
        ("type=login&type=login".into(), "invalid_parameter"),
        ("status=unknown".into(), "invalid_parameter"),
        ("status=Active".into(), "invalid_parameter"),
        (format!("status={SECRET}"), "invalid_parameter"),
        ("status=active&status=draft".into(), "invalid_parameter"),
        (format!("{SECRET_NAME}=1"), "invalid_parameter"),
        (SECRET_NAME.to_owned(), "invalid_parameter"),
        (
            format!("{SECRET_NAME}=1&{SECRET_NAME}=1"),
            "invalid_parameter",
        ),
        (
            format!("limit=1&{SECRET_NAME}={SECRET}"),
            "invalid_parameter",
        ),
        (
            "api_key=af_0123456789abcdef0123456789abcdef".into(),
            "invalid_parameter",
        ),
        ("Limit=1".into(), "invalid_parameter"),
        ("=1".into(), "invalid_parameter"),
        ("cursor=".into(), "invalid_cursor"),
        ("cursor=!!!".into(), "invalid_cursor"),
        (format!("cursor={SECRET}"), "invalid_cursor"),
        (format!("cursor={real}="), "invalid_cursor"),
        (format!("cursor=x{real}"), "invalid_cursor"),
        (
            format!("cursor={}", STANDARD.encode(&decoded)),
            "invalid_cursor",
        ),
        (format!("cursor={}", enc("v1:")), "invalid_cursor"),
        (format!("cursor={}", enc("v1:-1")), "invalid_cursor"),
        (format!("cursor={}", enc("v1:two")), "invalid_cursor"),
        (format!("cursor={}", enc("v2:2")), "invalid_cursor"),
        (
            format!("cursor={}", enc("v1:18446744073709551616")),
            "invalid_cursor",
        ),
        (
            format!("cursor={}", enc(&format!("{decoded} "))),
            "invalid_cursor",
        ),
        (format!("cursor={real}&cursor={real}"), "invalid_parameter"),
    ];
    let mut failures = Vec::new();
    for (query, code) in &queries {
        let call = Call::get(format!("{FLOWS}?{query}")).bearer(&token);
        let r = send(&client, &base, &call).await;
        if let Err(e) = envelope(&r, 400, code) {
            failures.push(format!("?{query}: {e}"));
        }
        for s in [SECRET, SECRET_NAME, "sk_live", "af_0123456789abcdef"] {
            if leaks(&r.text(), s) {
                failures.push(format!("?{query}: echoes {s:?}: {}", r.text()));
            }
        }
    }
    // The bare `sk_live_123` of the brief.
    let r = send(
        &client,
        &base,
        &Call::get(format!("{FLOWS}?sk_live_123")).bearer(&token),
    )
    .await;
    if let Err(e) = envelope(&r, 400, "invalid_parameter") {
        failures.push(format!("?sk_live_123: {e}"));
    }
    if r.text().contains("sk_live_123") {
        failures.push(format!("?sk_live_123 is echoed: {}", r.text()));
    }
    // Fine ones still work.
    for query in [
        "",
        "limit=1",
        "limit=100",
        "type=login",
        "status=draft",
        "type=login&status=draft&limit=3",
    ] {
        let r = send(
            &client,
            &base,
            &Call::get(format!("{FLOWS}?{query}")).bearer(&token),
        )
        .await;
        if r.status != 200 {
            failures.push(format!("?{query}: {} {}", r.status, r.text()));
        }
    }
    // A cursor past the end is an empty last page, not an error.
    let past = enc("v1:1000");
    let v = send(
        &client,
        &base,
        &Call::get(format!("{FLOWS}?cursor={past}")).bearer(&token),
    )
    .await
    .json();
    assert_eq!(v, json!({"items": [], "total": 5, "cursor": null}));
    report_total(&failures, queries.len(), 40, "list queries");
    assert_healthy(&client, &server, "queries").await;
}

// ===================================================================== lifecycle

/// The documented conflicts of the lifecycle, and the mock clock in the
/// timestamps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_conflicts_answer_409() {
    let server = MockServer::start().await.expect("mock server");
    let client = http_client();
    let base = server.base_url();
    let token = admin(&server);
    let id = create(
        &client,
        &server,
        serde_json::to_vec(&valid_create("life")).expect("JSON"),
    )
    .await;
    let post = |action: &str| Call::post(format!("{FLOWS}/{id}/{action}")).bearer(&token);
    let del = Call::new(reqwest::Method::DELETE, format!("{FLOWS}/{id}")).bearer(&token);

    let r = send(
        &client,
        &base,
        &Call::post(FLOWS).bearer(&token).json(&valid_create("life")),
    )
    .await;
    envelope(&r, 409, "flow_already_exists").unwrap_or_else(|e| panic!("{e}"));
    let r = send(&client, &base, &post("activate")).await;
    envelope(&r, 409, "flow_not_compiled").unwrap_or_else(|e| panic!("{e}"));
    let r = send(&client, &base, &post("deactivate")).await;
    envelope(&r, 409, "flow_not_active").unwrap_or_else(|e| panic!("{e}"));

    server.clock().advance(Duration::from_secs(3600));
    let r = send(&client, &base, &post("compile")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let compiled_at = r.json()["compiled_at"].as_i64().expect("compiled_at");
    let r = send(&client, &base, &post("activate")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = send(&client, &base, &del).await;
    let v = envelope(&r, 409, "flow_active").unwrap_or_else(|e| panic!("{e}"));
    // The envelope's timestamp is the mock clock's (an hour on).
    let created = send(
        &client,
        &base,
        &Call::get(format!("{FLOWS}/{id}")).bearer(&token),
    )
    .await
    .json()["created_at"]
        .as_i64()
        .expect("created_at");
    assert!(compiled_at >= created + 3600, "{compiled_at} vs {created}");
    assert!(v["timestamp"].is_string());

    let r = send(&client, &base, &post("deactivate")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "inactive");
    let r = send(&client, &base, &del).await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert!(r.body.is_empty());
    let r = send(&client, &base, &del).await;
    envelope(&r, 404, "flow_not_found").unwrap_or_else(|e| panic!("{e}"));

    // The journal records the requests but never the bearer token.
    let journal = serde_json::to_string(
        &server
            .requests()
            .iter()
            .map(|e| format!("{e:?}"))
            .collect::<Vec<_>>(),
    )
    .expect("JSON");
    assert!(journal.contains("/api/admin/flows"), "{journal}");
    assert!(
        !journal.contains(&token),
        "the journal holds the admin token"
    );
    assert_healthy(&client, &server, "lifecycle").await;
}
