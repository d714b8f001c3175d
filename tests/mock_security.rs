//! Security tests for the in-process AuthFlow mock (`authflow-mock`), driven
//! over raw HTTP with `reqwest` (and a raw TCP socket where `reqwest` refuses
//! to send what we want), never through the SDK client.
//!
//! * **Bad input, every route**: a fixed battery of malformed requests per
//!   route of [`ROUTES`] (no params, empty or missing required params,
//!   unknown and duplicate params, wrong JSON types, non-JSON and non-object
//!   bodies, bodies over 64 KiB, percent-encoding garbage, 10 000-character
//!   values, garbage tokens), then ~200 seeded pseudo-random requests per
//!   route mixing realistic and garbage values. Each battery case expects its
//!   documented 4xx; random requests may also succeed. Never a 5xx, every
//!   error a `{"message": "…"}` body (the HTML page of `verify-email`
//!   excepted), and no body may echo a secret we sent.
//!   `AUTHFLOW_FUZZ_SEED` and `AUTHFLOW_FUZZ_ITERS` override the seed and the
//!   iteration count.
//! * **Token forgery**: `alg: none`, HS256/HS384/HS512 signed with the public
//!   key (JWKS text, modulus, PKCS#1 and SPKI PEM), `alg` swaps, tampered
//!   claims, foreign and spoofed `kid`s, tokens signed by another RSA key
//!   (and a second server holding it), fooBar tokens as sessions and the
//!   reverse, and expiry on the mock clock: all 401; the genuine token 200.
//! * **deleteUser's bearer**: missing, empty, other schemes, garbage: 401.
//! * **Isolation**: ten servers started concurrently share nothing (users,
//!   keys, sessions, fooBar tokens, emails, clocks).
//! * **Transport limits**: very long URLs, huge and too many headers, raw
//!   invalid bytes: a 4xx (or a closed connection), never a 5xx, and the
//!   server stays healthy.
//! * **forgot-password** answers known and unknown emails identically (status,
//!   content type, body bytes) and in comparable time.
//! * **Error-body consistency**: a wrong method is a 405 `{"message"}`, a
//!   malformed chunked body a 400 (not a 413), and a secret sent as a bare
//!   parameter *name* (`?af_…`) is not echoed in `Unknown parameter: …`.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use authflow::api::Api;
use authflow::api::routes::{self, KeyPlacement, Method, Params, Route};

/// The AuthFlow routes of the table (the Flow admin routes answer with the
/// error envelope instead and have their own battery in `flows_security.rs`).
fn af_routes() -> Vec<&'static Route> {
    routes::routes_of(Api::AuthFlow).collect()
}
use authflow_mock::{MockServer, SigningKey};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap};
use reqwest::{Client, Url};
use secrecy::ExposeSecret;
use serde_json::{Map, Value, json};

// ------------------------------------------------------------------ fixtures

/// A second RSA key, generated once per test process, standing for an
/// attacker's key.
fn attacker_key() -> &'static SigningKey {
    static KEY: std::sync::OnceLock<SigningKey> = std::sync::OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate().expect("attacker key"))
}

/// A password that satisfies the AuthFlow rule.
const PASSWORD: &str = "TestPass123!";
/// Another one.
const NEW_PASSWORD: &str = "NewPass123!";
/// Largest body the mock accepts.
const MAX_BODY: usize = 64 * 1024;
/// Default seed of the pseudo-random requests.
const DEFAULT_SEED: u64 = 0x0A17_F10A_5EED_2024;
/// Default number of pseudo-random requests per route.
const DEFAULT_ITERS: usize = 200;

/// The fields that carry a token the server verifies.
const TOKEN_FIELDS: [&str; 4] = ["foobar", "sessionToken", "tempToken", "token"];

// ------------------------------------------------------------- HTTP helpers

fn http_client() -> Client {
    Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client")
}

/// A response, fully read.
#[derive(Debug)]
struct Resp {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Resp {
    fn content_type(&self) -> String {
        self.headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {}: body is not JSON ({e}): {}",
                self.status,
                self.text()
            )
        })
    }
    fn message(&self) -> String {
        self.json()["message"]
            .as_str()
            .unwrap_or_else(|| panic!("no message in {}", self.text()))
            .to_owned()
    }
}

/// One request to a route: query pairs (form-encoded), a raw query suffix
/// (sent as is), a raw body, an `Authorization` header.
#[derive(Debug, Clone, Default)]
struct Req {
    pairs: Vec<(String, String)>,
    raw_query: Option<String>,
    body: Option<Vec<u8>>,
    authorization: Option<String>,
}

impl Req {
    /// A short description for failure messages.
    fn describe(&self) -> String {
        let mut s = String::new();
        if !self.pairs.is_empty() {
            let _ = write!(s, "query {:?} ", self.pairs);
        }
        if let Some(q) = &self.raw_query {
            let _ = write!(s, "raw query {q:?} ");
        }
        if let Some(b) = &self.body {
            let _ = write!(s, "body {:?} ", String::from_utf8_lossy(b));
        }
        if let Some(a) = &self.authorization {
            let _ = write!(s, "authorization {a:?}");
        }
        if s.chars().count() > 400 {
            let cut: String = s.chars().take(400).collect();
            format!("{cut}… ({} chars)", s.chars().count())
        } else {
            s
        }
    }
}

fn reqwest_method(m: Method) -> reqwest::Method {
    match m {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
        Method::Patch => reqwest::Method::PATCH,
        Method::Delete => reqwest::Method::DELETE,
    }
}

async fn read(resp: reqwest::Response) -> Resp {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.bytes().await.expect("response body").to_vec();
    Resp {
        status,
        headers,
        body,
    }
}

async fn send_to(client: &Client, base: &str, method: Method, path: &str, req: &Req) -> Resp {
    let mut url = Url::parse(&format!("{base}{path}")).expect("URL");
    if !req.pairs.is_empty() {
        url.query_pairs_mut().extend_pairs(req.pairs.iter());
    }
    if let Some(raw) = &req.raw_query {
        let q = match url.query() {
            Some(q) if !q.is_empty() => format!("{q}&{raw}"),
            _ => raw.clone(),
        };
        url.set_query(Some(&q));
    }
    let build = |client: &Client| {
        let mut rb = client.request(reqwest_method(method), url.clone());
        if let Some(b) = &req.body {
            rb = rb.header(CONTENT_TYPE, "application/json").body(b.clone());
        }
        if let Some(a) = &req.authorization {
            rb = rb.header(AUTHORIZATION, a.as_str());
        }
        rb
    };
    // The server answers an over-limit body without reading it all and then
    // closes the connection: send those on a connection of their own (so the
    // shared pool never reuses a closing one), and retry if the close races
    // the upload.
    if req.body.as_ref().is_some_and(|b| b.len() > MAX_BODY) {
        let mut last = None;
        for _ in 0..5 {
            let own = http_client();
            match build(&own).header("connection", "close").send().await {
                Ok(resp) => return read(resp).await,
                Err(e) => last = Some(e.without_url()),
            }
        }
        panic!("{method} {path} {}: {last:?}", req.describe());
    }
    let resp = build(client)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method} {path} {}: {}", req.describe(), e.without_url()));
    read(resp).await
}

async fn send(client: &Client, base: &str, route: &Route, req: &Req) -> Resp {
    send_to(client, base, route.method, route.path, req).await
}

async fn get(client: &Client, base: &str, path: &str, pairs: &[(&str, &str)]) -> Resp {
    let req = Req {
        pairs: pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..Req::default()
    };
    send_to(client, base, Method::Get, path, &req).await
}

async fn post(client: &Client, base: &str, path: &str, body: &Value, auth: Option<&str>) -> Resp {
    let req = Req {
        body: Some(serde_json::to_vec(body).expect("JSON")),
        authorization: auth.map(str::to_owned),
        ..Req::default()
    };
    send_to(client, base, Method::Post, path, &req).await
}

/// `GET /auth/fooBar` → the token.
async fn foobar_token(
    client: &Client,
    base: &str,
    key: &str,
    identity: &str,
    role: &str,
) -> String {
    let r = get(
        client,
        base,
        "/auth/fooBar",
        &[("identity", identity), ("api_key", key), ("role", role)],
    )
    .await;
    assert_eq!(r.status, 200, "fooBar for {identity}: {}", r.text());
    r.json()["token"].as_str().expect("fooBar token").to_owned()
}

/// fooBar then `GET /auth/signUp` → the session token.
async fn sign_up(client: &Client, base: &str, key: &str, email: &str, role: &str) -> String {
    let foobar = foobar_token(client, base, key, email, role).await;
    let r = get(
        client,
        base,
        "/auth/signUp",
        &[
            ("foobar", &foobar),
            ("email", email),
            ("password", PASSWORD),
            ("fullname", "Security Tester"),
            ("role", role),
            ("disclaimed", "true"),
            ("api_key", key),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "signUp {email} on {base}: {}", r.text());
    r.json()["token"]
        .as_str()
        .expect("session token")
        .to_owned()
}

/// fooBar then `GET /auth/login` → the session token (no 2FA).
async fn login(
    client: &Client,
    base: &str,
    key: &str,
    email: &str,
    password: &str,
    role: &str,
) -> String {
    let foobar = foobar_token(client, base, key, email, role).await;
    let r = get(
        client,
        base,
        "/auth/login",
        &[
            ("foobar", &foobar),
            ("email", email),
            ("password", password),
            ("role", role),
            ("api_key", key),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "login {email}: {}", r.text());
    r.json()["token"]
        .as_str()
        .expect("session token")
        .to_owned()
}

/// `GET /auth/me` with a session token.
async fn me(client: &Client, base: &str, token: &str) -> Resp {
    get(client, base, "/auth/me", &[("sessionToken", token)]).await
}

/// `GET /auth/validate` with a session token and email.
async fn validate(client: &Client, base: &str, token: &str, email: &str) -> Resp {
    get(
        client,
        base,
        "/auth/validate",
        &[("sessionToken", token), ("email", email)],
    )
    .await
}

// ----------------------------------------------------------- body checks

fn json_escaped(s: &str) -> String {
    let quoted = serde_json::to_string(s).expect("string to JSON");
    quoted[1..quoted.len() - 1].to_owned()
}

/// Whether `body` contains `secret` (raw or JSON-escaped). Secrets shorter
/// than 8 bytes are not checked (they could match innocent text).
fn leaks(body: &str, secret: &str) -> bool {
    secret.len() >= 8 && (body.contains(secret) || body.contains(&json_escaped(secret)))
}

/// The documented error body: exactly `{"message": "<non-empty string>"}`,
/// served as JSON.
fn check_message_body(resp: &Resp) -> Result<(), String> {
    if !resp.content_type().starts_with("application/json") {
        return Err(format!(
            "error content-type {:?}, body {:?}",
            resp.content_type(),
            resp.text()
        ));
    }
    let v: Value = serde_json::from_slice(&resp.body)
        .map_err(|e| format!("error body is not JSON ({e}): {:?}", resp.text()))?;
    let obj = v
        .as_object()
        .ok_or_else(|| format!("error body is not an object: {v}"))?;
    match obj.get("message") {
        Some(Value::String(m)) if !m.trim().is_empty() && obj.len() == 1 => Ok(()),
        _ => Err(format!("error body is not {{\"message\": \"…\"}}: {v}")),
    }
}

/// Check a response: status in `expect`, never 5xx, the right body shape, no
/// secret echoed (`always` on every response, `on_error` on error responses).
fn check(
    route: &Route,
    resp: &Resp,
    expect: &[u16],
    always: &[String],
    on_error: &[String],
) -> Result<(), String> {
    if resp.status >= 500 {
        return Err(format!("server error {}: {:?}", resp.status, resp.text()));
    }
    if !expect.contains(&resp.status) {
        return Err(format!(
            "status {} not in {expect:?}: {:?}",
            resp.status,
            resp.text()
        ));
    }
    let html_page = route.name == "verify-email" && matches!(resp.status, 200 | 401);
    if html_page {
        if !resp.content_type().starts_with("text/html") || !resp.text().contains("<html") {
            return Err(format!("verify-email page is not HTML: {:?}", resp.text()));
        }
    } else if resp.status >= 400 {
        check_message_body(resp)?;
    } else if serde_json::from_slice::<Value>(&resp.body).is_err() {
        return Err(format!("success body is not JSON: {:?}", resp.text()));
    }
    let body = resp.text();
    let error = resp.status >= 400;
    let extra: &[String] = if error { on_error } else { &[] };
    for s in always.iter().chain(extra) {
        if leaks(&body, s) {
            return Err(format!(
                "response echoes a secret we sent ({s:?}): {body:?}"
            ));
        }
    }
    Ok(())
}

/// The secrets in a request: (`always`, `on_error`). Every value of a secret
/// field and the bearer token must never appear in an error body; the API key
/// and passwords must never appear in any body (a success body may carry a
/// fresh token, which can share a prefix with a truncated one we sent).
fn secrets_of(
    route: &Route,
    fields: &[(String, Value)],
    auth: Option<&str>,
) -> (Vec<String>, Vec<String>) {
    let mut always = Vec::new();
    let mut on_error = Vec::new();
    for (name, value) in fields {
        let Value::String(v) = value else { continue };
        if name == "api_key" || name.to_ascii_lowercase().contains("password") {
            if !v.starts_with("eyJ") {
                always.push(v.clone());
            }
            on_error.push(v.clone());
        } else if route.is_secret_field(name) {
            on_error.push(v.clone());
        }
    }
    if let Some(a) = auth {
        let token = a.split_once(' ').map_or(a, |(_, t)| t);
        on_error.push(token.trim().to_owned());
    }
    (always, on_error)
}

// ---------------------------------------------------------------- JWT bits

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(s: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(s).expect("base64url")
}

/// (header, payload, signature) of a compact JWT.
fn jwt_parts(token: &str) -> (Value, Value, String) {
    let mut it = token.split('.');
    let (h, p, s) = (
        it.next().expect("header"),
        it.next().expect("payload"),
        it.next().expect("signature"),
    );
    assert!(it.next().is_none(), "three parts");
    (
        serde_json::from_slice(&unb64(h)).expect("header JSON"),
        serde_json::from_slice(&unb64(p)).expect("payload JSON"),
        s.to_owned(),
    )
}

fn assemble(header: &Value, payload: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        b64(header.to_string().as_bytes()),
        b64(payload.to_string().as_bytes())
    )
}

/// Sign `payload` with `alg`, the given `kid` and key.
fn sign(alg: Algorithm, kid: Option<&str>, payload: &Value, key: &EncodingKey) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, payload, key).expect("sign JWT")
}

/// The attacker key as PKCS#1 DER.
fn attacker_der() -> Vec<u8> {
    attacker_key().pkcs1_der().to_vec()
}

/// An `alg: none` token with the given claims (empty signature).
fn alg_none(kid: Option<&str>, payload: &Value) -> String {
    let mut header = json!({"alg": "none", "typ": "JWT"});
    if let Some(k) = kid {
        header["kid"] = json!(k);
    }
    assemble(&header, payload, "")
}

// A minimal DER encoder, to rebuild the server's public key in the PEM forms
// an alg-confusion attacker would use as an HMAC secret.

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

fn der_uint(be: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = be.iter().copied().skip_while(|b| *b == 0).collect();
    let mut content = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_none_or(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend(trimmed);
    der(0x02, &content)
}

fn pem(label: &str, der: &[u8]) -> String {
    let b = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    let _ = writeln!(out, "-----END {label}-----");
    out
}

/// (PKCS#1 `RSA PUBLIC KEY` PEM, SPKI `PUBLIC KEY` PEM, PKCS#1 DER) of a JWK.
fn public_key_forms(n: &[u8], e: &[u8]) -> (String, String, Vec<u8>) {
    let pkcs1 = der(0x30, &[der_uint(n), der_uint(e)].concat());
    let rsa_encryption_oid = [
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
    ];
    let algorithm = der(0x30, &[&rsa_encryption_oid[..], &[0x05, 0x00]].concat());
    let bit_string = der(0x03, &[&[0u8][..], &pkcs1].concat());
    let spki = der(0x30, &[algorithm, bit_string].concat());
    (
        pem("RSA PUBLIC KEY", &pkcs1),
        pem("PUBLIC KEY", &spki),
        pkcs1,
    )
}

// --------------------------------------------------------- bad-input battery

fn takes_key(route: &Route) -> bool {
    route.api_key_placement() != KeyPlacement::None
}

/// A realistic-looking value for a field (tokens are garbage).
fn plausible(name: &str, org_id: &str) -> String {
    match name {
        "identity" | "email" | "email_owner" | "user_email" => "victim@example.com".into(),
        "role" => "user".into(),
        "org_id" => org_id.into(),
        "password" | "oldPassword" => PASSWORD.into(),
        "newPassword" => NEW_PASSWORD.into(),
        "fullname" => "Eve Example".into(),
        "disclaimed" => "true".into(),
        "totpCode" | "emailOTP" => "123456".into(),
        "secret" => "JBSWY3DPEHPK3PXP".into(),
        "recoveryCode" => "ABCD2345".into(),
        _ => "eyJhbGciOiJSUzUxMiJ9.eyJ4IjoxfQ.c2lnbmF0dXJl".into(),
    }
}

/// Build a request carrying `fields` where the route takes its parameters.
fn with_fields(route: &Route, fields: &[(String, Value)], auth: Option<&str>) -> Req {
    let mut req = Req {
        authorization: auth.map(str::to_owned),
        ..Req::default()
    };
    match route.params {
        Params::Query => {
            req.pairs = fields
                .iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), v)
                })
                .collect();
        }
        Params::JsonBody => {
            let obj: Map<String, Value> = fields.iter().cloned().collect();
            req.body = Some(serde_json::to_vec(&Value::Object(obj)).expect("JSON"));
        }
    }
    req
}

fn replaced(fields: &[(String, Value)], name: &str, value: Value) -> Vec<(String, Value)> {
    fields
        .iter()
        .map(|(k, v)| {
            if k == name {
                (k.clone(), value.clone())
            } else {
                (k.clone(), v.clone())
            }
        })
        .collect()
}

fn without(fields: &[(String, Value)], name: &str) -> Vec<(String, Value)> {
    fields.iter().filter(|(k, _)| k != name).cloned().collect()
}

/// One case of the battery.
struct Case {
    label: String,
    req: Req,
    expect: Vec<u16>,
    fields: Vec<(String, Value)>,
}

/// A server with one organization, for one route's battery.
struct Ctx {
    server: MockServer,
    client: Client,
    base: String,
    api_key: String,
    org_id: String,
}

impl Ctx {
    async fn start() -> Ctx {
        let server = MockServer::start().await.expect("mock server");
        Ctx {
            client: http_client(),
            base: server.base_url(),
            api_key: server.api_key().expose_secret().to_owned(),
            org_id: server.org_id(),
            server,
        }
    }
}

/// Garbage tokens: random strings, truncated and reshaped real JWTs, an
/// `alg: none` token with session-shaped claims.
fn garbage_tokens(real_jwt: &str, org_id: &str) -> Vec<String> {
    let (h, p, s) = {
        let mut it = real_jwt.split('.');
        (
            it.next().expect("h").to_owned(),
            it.next().expect("p").to_owned(),
            it.next().expect("s").to_owned(),
        )
    };
    let none = alg_none(
        None,
        &json!({"jti": "00000000-0000-0000-0000-000000000000", "email": "victim@example.com",
                "org_id": org_id, "role": "user", "iat": 0, "exp": 4_102_444_800_i64}),
    );
    vec![
        "x".into(),
        "null".into(),
        "undefined".into(),
        "0".into(),
        "Bearer abc".into(),
        "ZZZZ-not-a-token-ZZZZ-0123456789".into(),
        "d2e6c30aa5f74af4a81f98e8830a6e49e9bb2f31e1a7406a8d2f2eb3ef3028a1".into(),
        "a.b.c".into(),
        "..".into(),
        "....".into(),
        "eyJ".into(),
        h.clone(),
        format!("{h}."),
        format!("{h}.{p}"),
        format!("{h}.{p}."),
        format!("{h}.{p}.{}", &s[..s.len() / 2]),
        real_jwt[..real_jwt.len() - 1].to_owned(),
        format!("{real_jwt}.extra"),
        format!("{h}.{p}.{s}{s}"),
        none,
        format!("eyJ{}", "A".repeat(10_000)),
    ]
}

fn battery_cases(route: &Route, ctx: &Ctx, real_jwt: &str, base_status: u16) -> Vec<Case> {
    let bad = [400];
    // Values that are rejected, or handled like the realistic request.
    let mut lenient = vec![400, 401, 404];
    if (200..300).contains(&base_status) {
        lenient.push(base_status);
    }
    let base: Vec<(String, Value)> = {
        let mut v: Vec<(String, Value)> = route
            .fields
            .iter()
            .map(|f| {
                (
                    f.name.to_owned(),
                    Value::String(plausible(f.name, &ctx.org_id)),
                )
            })
            .collect();
        if takes_key(route) {
            v.push(("api_key".into(), Value::String(ctx.api_key.clone())));
        }
        v
    };
    let auth =
        (route.name == "deleteUser").then(|| format!("Bearer {}", plausible("sessionToken", "")));
    let auth = auth.as_deref();
    let is_get = route.params == Params::Query;
    let mut cases = Vec::new();
    let mut add = |label: String, req: Req, expect: &[u16], fields: &[(String, Value)]| {
        cases.push(Case {
            label,
            req,
            expect: expect.to_vec(),
            fields: fields.to_vec(),
        });
    };

    // No parameters at all.
    add("no params".into(), Req::default(), &bad, &[]);
    if !is_get {
        for body in ["{}", "   ", "\n"] {
            let req = Req {
                body: Some(body.as_bytes().to_vec()),
                ..Req::default()
            };
            add(format!("body {body:?}"), req, &bad, &[]);
        }
    }
    // Only the API key (or only the bearer).
    if takes_key(route) {
        let f = vec![("api_key".to_owned(), json!(ctx.api_key))];
        add(
            "only api_key".into(),
            with_fields(route, &f, None),
            &bad,
            &f,
        );
    }
    if auth.is_some() {
        add(
            "only the bearer".into(),
            with_fields(route, &[], auth),
            &bad,
            &[],
        );
    }

    // Every required parameter empty / blank.
    for blank in ["", "   ", "\t\n"] {
        let f: Vec<(String, Value)> = base
            .iter()
            .map(|(k, v)| {
                if route.fields.iter().any(|fl| fl.required && fl.name == k) {
                    (k.clone(), json!(blank))
                } else {
                    (k.clone(), v.clone())
                }
            })
            .collect();
        add(
            format!("every required {blank:?}"),
            with_fields(route, &f, auth),
            &bad,
            &f,
        );
    }
    // Each required parameter missing, empty, null.
    for field in route.fields.iter().filter(|f| f.required) {
        let f = without(&base, field.name);
        add(
            format!("missing {}", field.name),
            with_fields(route, &f, auth),
            &bad,
            &f,
        );
        let f = replaced(&base, field.name, json!(""));
        add(
            format!("empty {}", field.name),
            with_fields(route, &f, auth),
            &bad,
            &f,
        );
        if !is_get {
            let f = replaced(&base, field.name, Value::Null);
            add(
                format!("null {}", field.name),
                with_fields(route, &f, auth),
                &bad,
                &f,
            );
        }
    }

    // The organization key.
    if takes_key(route) {
        let f = without(&base, "api_key");
        add(
            "missing api_key".into(),
            with_fields(route, &f, auth),
            &bad,
            &f,
        );
        let f = replaced(&base, "api_key", json!(""));
        add(
            "empty api_key".into(),
            with_fields(route, &f, auth),
            &bad,
            &f,
        );
        for wrong in [
            "af_ffffffffffffffffffffffffffffffff",
            "af_0123456789abcdef0123456789abcdef",
            "' OR '1'='1",
            "not-a-key",
        ] {
            let f = replaced(&base, "api_key", json!(wrong));
            add(
                format!("wrong api_key {wrong:?}"),
                with_fields(route, &f, auth),
                &[401],
                &f,
            );
        }
        let upper = ctx.api_key.to_uppercase();
        let f = replaced(&base, "api_key", json!(upper));
        add(
            "upper-case api_key".into(),
            with_fields(route, &f, auth),
            &[401],
            &f,
        );
        if !is_get {
            for v in [
                json!(1),
                json!(true),
                json!([ctx.api_key]),
                json!({"k": ctx.api_key}),
            ] {
                let f = replaced(&base, "api_key", v.clone());
                add(
                    format!("api_key {v}"),
                    with_fields(route, &f, auth),
                    &bad,
                    &f,
                );
            }
        }
    } else {
        let mut f = base.clone();
        f.push(("api_key".into(), json!(ctx.api_key)));
        add(
            "api_key on a keyless route".into(),
            with_fields(route, &f, auth),
            &bad,
            &f,
        );
    }

    // Unknown extra parameters.
    for extra in [
        "evil",
        "EMAIL",
        "sessiontoken",
        "__proto__",
        "",
        "api_key ",
        "a[b]",
    ] {
        let mut f = base.clone();
        f.push((extra.to_owned(), json!("1")));
        add(
            format!("unknown param {extra:?}"),
            with_fields(route, &f, auth),
            &bad,
            &f,
        );
    }

    // Duplicate query parameters.
    if is_get {
        let mut names: Vec<&str> = route.fields.iter().map(|f| f.name).collect();
        if takes_key(route) {
            names.push("api_key");
        }
        for name in names {
            let mut f = base.clone();
            let v = f
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .expect("field");
            f.push((name.to_owned(), v));
            add(
                format!("duplicate {name}"),
                with_fields(route, &f, auth),
                &bad,
                &f,
            );
        }
    }

    // Wrong JSON types.
    if !is_get {
        let wrong = [
            json!(1),
            json!(-1.5),
            json!(1e300),
            json!(true),
            json!(false),
            json!([]),
            json!(["victim@example.com"]),
            json!({}),
            json!({"$ne": null}),
        ];
        for field in route.fields {
            for v in &wrong {
                let f = replaced(&base, field.name, v.clone());
                add(
                    format!("{} = {v}", field.name),
                    with_fields(route, &f, auth),
                    &bad,
                    &f,
                );
            }
        }
        // Bodies that are not a JSON object.
        let mut deep = "[".repeat(5000);
        deep.push_str(&"]".repeat(5000));
        let bodies: Vec<Vec<u8>> = vec![
            b"not json".to_vec(),
            b"{".to_vec(),
            b"{\"email\": \"victim@example.com\"".to_vec(),
            b"{\"email\": 'single'}".to_vec(),
            b"{email: \"x\"}".to_vec(),
            b"email=victim%40example.com&role=user".to_vec(),
            b"{\"email\": \"\xff\xfe\"}".to_vec(),
            b"\xef\xbb\xbf{}".to_vec(),
            b"{\"email\": \"\\ud800\"}".to_vec(),
            b"{} trailing".to_vec(),
            b"{}{}".to_vec(),
            b"[]".to_vec(),
            b"[{\"email\": \"victim@example.com\"}]".to_vec(),
            b"\"a string\"".to_vec(),
            b"42".to_vec(),
            b"null".to_vec(),
            b"true".to_vec(),
            deep.into_bytes(),
            vec![0u8; 64],
        ];
        for b in bodies {
            let label = format!("body {:?}", String::from_utf8_lossy(&b[..b.len().min(40)]));
            let req = Req {
                body: Some(b),
                authorization: auth.map(str::to_owned),
                ..Req::default()
            };
            add(label, req, &bad, &[]);
        }
        // Garbage in the query of a POST route: ignored, parameters come from the body.
        let req = Req {
            raw_query: Some("email=%ff%fe&%zz=%&api_key=%00".into()),
            ..Req::default()
        };
        add("query garbage, no body".into(), req, &bad, &[]);
    }

    // Bodies over the limit (any route: the body is buffered before routing).
    {
        let pad = "a".repeat(MAX_BODY + 1);
        let req = Req {
            body: Some(format!("{{\"pad\":\"{pad}\"}}").into_bytes()),
            authorization: auth.map(str::to_owned),
            ..with_fields(route, if is_get { &base[..] } else { &[][..] }, None)
        };
        add("body over 64 KiB".into(), req, &[413], &base);
        let req = Req {
            body: Some(vec![b' '; 4 * MAX_BODY]),
            authorization: auth.map(str::to_owned),
            ..Req::default()
        };
        add("body of 256 KiB of spaces".into(), req, &[413], &[]);
    }
    // Exactly 64 KiB: accepted, handled like the realistic request.
    if !is_get {
        let mut body = with_fields(route, &base, None).body.expect("JSON body");
        body.resize(MAX_BODY, b' ');
        let req = Req {
            body: Some(body),
            authorization: auth.map(str::to_owned),
            ..Req::default()
        };
        add("body of exactly 64 KiB".into(), req, &lenient, &base);
    }

    // Percent-encoding garbage and invalid UTF-8 in the query.
    if is_get {
        let garbage = [
            "%ff%fe",
            "%zz",
            "%",
            "%%",
            "a%2",
            "%E0%80%80",
            "%C0%AF",
            "%ED%A0%80",
            "%00",
            "%u0041",
            "%0d%0aX-Injected:%201",
            "..%2f..%2fetc%2fpasswd",
            "+++",
        ];
        let mut names: Vec<&str> = route.fields.iter().map(|f| f.name).collect();
        if takes_key(route) {
            names.push("api_key");
        }
        for name in &names {
            for g in garbage {
                let f = without(&base, name);
                let mut req = with_fields(route, &f, auth);
                req.raw_query = Some(format!("{name}={g}"));
                let expect: &[u16] = if *name == "api_key" {
                    &[400, 401]
                } else {
                    &lenient
                };
                add(format!("{name}={g}"), req, expect, &base);
            }
        }
        for raw in [
            "%ff=1", "%zz", "=", "&&&=&", ";;;", "a=1=2", "%=%", "[]=1", "x%00y=1",
        ] {
            let mut req = with_fields(route, &base, auth);
            req.raw_query = Some(raw.to_owned());
            add(format!("raw query suffix {raw:?}"), req, &bad, &base);
        }
    }

    // Very long and odd values, one field at a time, then all at once.
    let long = "Aa1!".repeat(2500);
    let odd = [
        long.as_str(),
        "\0",
        "\u{202e}moc.elpmaxe@evil",
        "😀😀😀",
        "e\u{301}\u{200b}",
        "<script>alert(1)</script>",
        "' OR 1=1 --",
        "${jndi:ldap://x}",
        "\r\nSet-Cookie: x=1",
    ];
    let mut all_fields: Vec<&str> = route.fields.iter().map(|f| f.name).collect();
    if takes_key(route) {
        all_fields.push("api_key");
    }
    for name in &all_fields {
        for v in odd {
            let f = replaced(&base, name, json!(v));
            let expect: &[u16] = if *name == "api_key" {
                &[400, 401]
            } else {
                &lenient
            };
            let shown: String = v.chars().take(12).collect();
            add(
                format!("{name} = {shown:?}…"),
                with_fields(route, &f, auth),
                expect,
                &f,
            );
        }
    }
    {
        // Within the URL length a client can send (http's 64 KiB URI limit).
        let each = (56_000 / base.len().max(1)).min(10_000);
        let f: Vec<(String, Value)> = base
            .iter()
            .map(|(k, _)| (k.clone(), json!("A".repeat(each))))
            .collect();
        let expect: &[u16] = if takes_key(route) {
            &[400, 401]
        } else {
            &lenient
        };
        add(
            "every value 10 000 chars".into(),
            with_fields(route, &f, auth),
            expect,
            &f,
        );
    }

    // Garbage tokens where the route verifies one: 401.
    let tokens = garbage_tokens(real_jwt, &ctx.org_id);
    for name in route
        .fields
        .iter()
        .map(|f| f.name)
        .filter(|n| TOKEN_FIELDS.contains(n))
    {
        for t in &tokens {
            let f = replaced(&base, name, json!(t));
            let shown: String = t.chars().take(30).collect();
            add(
                format!("{name} = {shown:?}"),
                with_fields(route, &f, auth),
                &[401],
                &f,
            );
        }
    }
    if auth.is_some() {
        for t in &tokens {
            let a = format!("Bearer {t}");
            let shown: String = t.chars().take(30).collect();
            add(
                format!("bearer {shown:?}"),
                with_fields(route, &base, Some(&a)),
                &[401],
                &base,
            );
        }
    }
    cases
}

/// Run the battery against one route on its own server; the failures.
async fn battery(route: &'static Route) -> (usize, Vec<String>) {
    let ctx = Ctx::start().await;
    let real_jwt = foobar_token(
        &ctx.client,
        &ctx.base,
        &ctx.api_key,
        "victim@example.com",
        "user",
    )
    .await;
    // The realistic request (garbage tokens): what "handled like it" means.
    let base_status = {
        let mut f: Vec<(String, Value)> = route
            .fields
            .iter()
            .map(|f| (f.name.to_owned(), json!(plausible(f.name, &ctx.org_id))))
            .collect();
        if takes_key(route) {
            f.push(("api_key".into(), json!(ctx.api_key)));
        }
        let auth = (route.name == "deleteUser")
            .then(|| format!("Bearer {}", plausible("sessionToken", "")));
        send(
            &ctx.client,
            &ctx.base,
            route,
            &with_fields(route, &f, auth.as_deref()),
        )
        .await
        .status
    };
    let cases = battery_cases(route, &ctx, &real_jwt, base_status);
    let mut failures = Vec::new();
    for case in &cases {
        let resp = send(&ctx.client, &ctx.base, route, &case.req).await;
        let (mut always, on_error) =
            secrets_of(route, &case.fields, case.req.authorization.as_deref());
        always.push(ctx.api_key.clone());
        if let Err(e) = check(route, &resp, &case.expect, &always, &on_error) {
            failures.push(format!(
                "{} {} [{}]: {e}\n    request: {}",
                route.method,
                route.path,
                case.label,
                case.req.describe()
            ));
        }
    }
    // Still alive and well.
    let health = get(&ctx.client, &ctx.base, "/.well-known/jwks.json", &[]).await;
    if health.status != 200 {
        failures.push(format!(
            "{}: JWKS answers {} after the battery",
            route.path, health.status
        ));
    }
    drop(ctx.server);
    (cases.len(), failures)
}

fn report(what: &str, failures: &[String]) {
    if failures.is_empty() {
        return;
    }
    let shown: Vec<&str> = failures.iter().take(60).map(String::as_str).collect();
    panic!(
        "{what}: {} failure(s){}:\n{}",
        failures.len(),
        if failures.len() > shown.len() {
            " (first 60 shown)"
        } else {
            ""
        },
        shown.join("\n")
    );
}

/// Every route of the table, a battery of malformed requests: documented
/// 4xx statuses, a `{"message"}` body, never a 5xx, never a secret echoed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_route_rejects_malformed_input_with_a_message() {
    let routes = af_routes();
    assert_eq!(routes.len(), 20, "the AuthFlow route table");
    let tasks: Vec<_> = routes.iter().map(|r| tokio::spawn(battery(r))).collect();
    let mut total = 0;
    let mut failures = Vec::new();
    for t in tasks {
        let (n, f) = t.await.expect("battery task");
        total += n;
        failures.extend(f);
    }
    assert!(total >= routes.len() * 40, "only {total} cases ran");
    report("bad-input battery", &failures);
}

// ----------------------------------------------------- pseudo-random inputs

/// xorshift64: small, seeded, reproducible.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        XorShift(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }
    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn ascii(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| char::from(b' ' + self.below(95) as u8))
            .collect()
    }
    fn digits(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }
    fn unicode(&mut self, len: usize) -> String {
        const CHARS: [char; 24] = [
            '\0',
            '\u{1}',
            '\u{7f}',
            'é',
            'ß',
            '\u{202e}',
            '\u{200b}',
            '\u{fffd}',
            '\u{1f600}',
            '\u{1d518}',
            '\u{10ffff}',
            '"',
            '\\',
            '<',
            '&',
            '%',
            '+',
            '=',
            '#',
            ' ',
            '\n',
            '\r',
            '\t',
            'a',
        ];
        (0..len).map(|_| *self.pick(&CHARS)).collect()
    }
}

fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => v.parse().ok(),
    }
}

/// Real values a fuzzed request may borrow, so some requests get past the
/// first check (and some succeed).
struct Pool {
    api_key: String,
    org_id: String,
    user_email: String,
    owner_email: String,
    owner_password: String,
    sessions: Vec<String>,
    foobars: Vec<String>,
}

impl Pool {
    fn tokens(&self) -> Vec<String> {
        let mut t: Vec<String> = self.sessions.iter().chain(&self.foobars).cloned().collect();
        let s = &self.sessions[0];
        t.push(s[..s.len() / 2].to_owned());
        t.push(format!("{}x", &s[..s.len() - 1]));
        let (_, p, _) = jwt_parts(s);
        t.push(alg_none(None, &p));
        t
    }
}

fn fuzz_string(rng: &mut XorShift, name: &str, pool: &Pool) -> String {
    match rng.below(12) {
        0..=3 => match name {
            "identity" | "email" | "email_owner" | "user_email" => rng
                .pick(&[
                    pool.user_email.clone(),
                    pool.user_email.to_uppercase(),
                    pool.owner_email.clone(),
                    "fresh@example.com".into(),
                    "victim@example.com".into(),
                    format!(" {} ", pool.user_email),
                ])
                .clone(),
            "role" => rng.pick(&["user", "owner", "admin", "USER"]).to_string(),
            "org_id" => rng
                .pick(&[
                    pool.org_id.clone(),
                    "00000000-0000-0000-0000-000000000000".into(),
                ])
                .clone(),
            "password" | "oldPassword" => rng
                .pick(&[
                    PASSWORD.to_owned(),
                    pool.owner_password.clone(),
                    "Wrong123!".into(),
                ])
                .clone(),
            "newPassword" => rng
                .pick(&[
                    NEW_PASSWORD,
                    "weak",
                    "ALLUPPER1!",
                    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1!",
                ])
                .to_string(),
            "fullname" => rng
                .pick(&["Eve", "<b>Eve</b>", "Zoë \u{1f600}"])
                .to_string(),
            "disclaimed" => rng
                .pick(&["true", "false", "1", "0", "yes", "maybe"])
                .to_string(),
            "totpCode" | "emailOTP" => rng.digits(6),
            "recoveryCode" => rng.pick(&["ABCD2345", "abcd2345", "00000000"]).to_string(),
            "secret" => rng.pick(&["JBSWY3DPEHPK3PXP", "not base32!"]).to_string(),
            "api_key" => pool.api_key.clone(),
            _ => rng.pick(&pool.tokens()).clone(),
        },
        4 => rng.pick(&["", " ", "\t\n", "\u{a0}"]).to_string(),
        5 => {
            let n = 1 + rng.below(40);
            rng.ascii(n)
        }
        6 => {
            let n = 1 + rng.below(20);
            rng.unicode(n)
        }
        7 => {
            let n = 1000 + rng.below(9001);
            let c = *rng.pick(&['A', '%', '.', 'é', '\u{1f600}']);
            std::iter::repeat_n(c, n).collect()
        }
        8 => rng.pick(&pool.tokens()).clone(),
        9 => rng
            .pick(&[
                "' OR '1'='1",
                "\"; DROP TABLE users; --",
                "<script>alert(1)</script>",
                "../../../../etc/passwd",
                "${jndi:ldap://127.0.0.1/a}",
                "{{7*7}}",
                "%00",
                "\r\nX-Injected: 1",
                "a@b.c\u{0}@evil.com",
            ])
            .to_string(),
        10 => rng
            .pick(&[
                "0",
                "-1",
                "1e309",
                "NaN",
                "true",
                "null",
                "[]",
                "{}",
                "18446744073709551616",
            ])
            .to_string(),
        _ => rng.pick(&pool.tokens()).chars().rev().collect(),
    }
}

fn fuzz_value(rng: &mut XorShift, name: &str, pool: &Pool, json_body: bool) -> Value {
    if json_body && rng.chance(12) {
        return match rng.below(9) {
            0 => json!(rng.next_u64() as i64),
            1 => json!(-0.5),
            2 => json!(rng.chance(50)),
            3 => Value::Null,
            4 => json!([]),
            5 => json!([fuzz_string(rng, name, pool)]),
            6 => json!({}),
            7 => json!({"$gt": ""}),
            _ => json!(u64::MAX),
        };
    }
    Value::String(fuzz_string(rng, name, pool))
}

/// A value consistent with one identity (`who`: 0 the user, 1 the owner, 2
/// a fresh email with a fooBar token but no account).
fn realistic_value(rng: &mut XorShift, name: &str, who: usize, pool: &Pool) -> String {
    let (email, role, password) = match who {
        0 => (pool.user_email.as_str(), "user", PASSWORD),
        1 => (
            pool.owner_email.as_str(),
            "owner",
            pool.owner_password.as_str(),
        ),
        _ => ("fresh@example.com", "user", PASSWORD),
    };
    match name {
        "identity" | "email" => email.to_owned(),
        "email_owner" => pool.owner_email.clone(),
        "user_email" => pool.user_email.clone(),
        "role" => role.to_owned(),
        "org_id" => pool.org_id.clone(),
        "password" | "oldPassword" => password.to_owned(),
        "newPassword" => rng.pick(&[NEW_PASSWORD, PASSWORD]).to_string(),
        "fullname" => "Fuzz Person".to_owned(),
        "disclaimed" => "true".to_owned(),
        "totpCode" | "emailOTP" => rng.digits(6),
        "secret" => "JBSWY3DPEHPK3PXP".to_owned(),
        "recoveryCode" => "ABCD2345".to_owned(),
        "sessionToken" => pool.sessions[who.min(1)].clone(),
        "foobar" => pool.foobars[[0, 2, 1][who.min(2)]].clone(),
        "api_key" => pool.api_key.clone(),
        _ => format!("{:016x}{:016x}", rng.next_u64(), rng.next_u64()),
    }
}

fn fuzz_request(route: &Route, rng: &mut XorShift, pool: &Pool) -> (Req, Vec<(String, Value)>) {
    let json_body = route.params == Params::JsonBody;
    let mut fields: Vec<(String, Value)> = Vec::new();
    // Half the requests are realistic (one coherent identity, the right key)
    // with up to two fields mutated; the other half are random field by field.
    let realistic = rng.chance(50);
    if realistic {
        let who = rng.below(3);
        for f in route.fields {
            if f.required || rng.chance(50) {
                fields.push((
                    f.name.to_owned(),
                    json!(realistic_value(rng, f.name, who, pool)),
                ));
            }
        }
        if takes_key(route) && rng.chance(90) {
            fields.push(("api_key".into(), json!(pool.api_key)));
        }
        for _ in 0..rng.below(3) {
            if fields.is_empty() {
                break;
            }
            let i = rng.below(fields.len());
            if rng.chance(15) {
                fields.remove(i);
            } else {
                let name = fields[i].0.clone();
                fields[i].1 = fuzz_value(rng, &name, pool, json_body);
            }
        }
    } else {
        for f in route.fields {
            if rng.chance(if f.required { 90 } else { 50 }) {
                fields.push((f.name.to_owned(), fuzz_value(rng, f.name, pool, json_body)));
            }
        }
        if takes_key(route) {
            if rng.chance(75) {
                fields.push(("api_key".into(), json!(pool.api_key)));
            } else if rng.chance(70) {
                fields.push((
                    "api_key".into(),
                    fuzz_value(rng, "api_key", pool, json_body),
                ));
            }
        } else if rng.chance(4) {
            fields.push(("api_key".into(), json!(pool.api_key)));
        }
    }
    if rng.chance(5) {
        let name = *rng.pick(&[
            "evil",
            "EMAIL",
            "sessiontoken",
            "__proto__",
            "",
            "%ff",
            "role ",
        ]);
        fields.push((name.to_owned(), json!("1")));
    }
    if !json_body && !fields.is_empty() && rng.chance(5) {
        let i = rng.below(fields.len());
        let name = fields[i].0.clone();
        fields.push((name.clone(), fuzz_value(rng, &name, pool, false)));
    }
    // Shuffle (Fisher-Yates).
    for i in (1..fields.len()).rev() {
        let j = rng.below(i + 1);
        fields.swap(i, j);
    }
    let auth = if route.name == "deleteUser" && realistic && rng.chance(70) {
        Some(format!("Bearer {}", pool.sessions[1]))
    } else if route.name == "deleteUser" || rng.chance(5) {
        let tokens = pool.tokens();
        match rng.below(8) {
            0 => None,
            1 => Some("Bearer ".to_owned()),
            2 => Some(format!("Basic {}", STANDARD.encode("owner:pw"))),
            3 => Some(rng.ascii(20).trim().to_owned()).filter(|s| !s.is_empty()),
            4 => Some(format!("bearer {}", rng.pick(&tokens))),
            _ => Some(format!("Bearer {}", rng.pick(&tokens))),
        }
    } else {
        None
    };
    if !json_body {
        shrink_to_fit_url(&mut fields);
    }
    let mut req = with_fields(route, &fields, auth.as_deref());
    if json_body && rng.chance(4) {
        req.body = Some(match rng.below(4) {
            0 => (0..rng.below(64)).map(|_| rng.next_u64() as u8).collect(),
            1 => b"[1,2,3]".to_vec(),
            2 => {
                let mut b = req.body.take().unwrap_or_default();
                b.truncate(b.len() / 2);
                b
            }
            _ => Vec::new(),
        });
    }
    if !json_body && rng.chance(4) {
        req.raw_query = Some(
            rng.pick(&["%ff", "%zz=1", "&", "=", "x=%", "%E0%80"])
                .to_string(),
        );
    }
    (req, fields)
}

/// Halve the longest string values until the form-encoded query fits in
/// the 64 KiB URI `http` (hence `reqwest`) accepts.
fn shrink_to_fit_url(fields: &mut [(String, Value)]) {
    let encoded_len = |fields: &[(String, Value)]| {
        let mut u = Url::parse("http://x/").expect("URL");
        for (k, v) in fields {
            u.query_pairs_mut()
                .append_pair(k, v.as_str().unwrap_or_default());
        }
        u.as_str().len()
    };
    while encoded_len(fields) > 60_000 {
        let Some((_, Value::String(longest))) = fields
            .iter_mut()
            .max_by_key(|(_, v)| v.as_str().map_or(0, str::len))
        else {
            return;
        };
        let half: String = longest.chars().take(longest.chars().count() / 2).collect();
        *longest = half;
    }
}

/// ~200 seeded pseudo-random requests against one route on its own server.
async fn fuzz_route(route: &'static Route, seed: u64, iters: usize) -> Vec<String> {
    let ctx = Ctx::start().await;
    let (c, b, k) = (&ctx.client, ctx.base.as_str(), ctx.api_key.as_str());
    let user_email = "fuzz.user@example.com";
    let user_session = sign_up(c, b, k, user_email, "user").await;
    let owner = ctx.server.default_org().clone();
    let owner_password = owner.owner_password.expose_secret().to_owned();
    let owner_session = login(
        c,
        b,
        k,
        &owner.owner_email,
        &owner_password,
        &owner.owner_role,
    )
    .await;
    let foobars = vec![
        foobar_token(c, b, k, user_email, "user").await,
        foobar_token(c, b, k, "fresh@example.com", "user").await,
        foobar_token(c, b, k, &owner.owner_email, &owner.owner_role).await,
    ];
    let pool = Pool {
        api_key: ctx.api_key.clone(),
        org_id: ctx.org_id.clone(),
        user_email: user_email.into(),
        owner_email: owner.owner_email.clone(),
        owner_password: owner_password.clone(),
        sessions: vec![user_session, owner_session],
        foobars,
    };
    let any = [200, 400, 401, 403, 404, 409, 413, 429];
    let mut rng = XorShift::new(seed);
    let mut failures = Vec::new();
    for i in 0..iters {
        let (req, fields) = fuzz_request(route, &mut rng, &pool);
        let resp = send(c, b, route, &req).await;
        let (mut always, on_error) = secrets_of(route, &fields, req.authorization.as_deref());
        always.push(pool.api_key.clone());
        always.push(owner_password.clone());
        if let Err(e) = check(route, &resp, &any, &always, &on_error) {
            failures.push(format!(
                "{} {} [seed {seed:#x}, iteration {i}]: {e}\n    request: {}",
                route.method,
                route.path,
                req.describe()
            ));
        }
    }
    let health = get(c, b, "/.well-known/jwks.json", &[]).await;
    if health.status != 200 {
        failures.push(format!(
            "{}: JWKS answers {} after fuzzing",
            route.path, health.status
        ));
    }
    failures
}

/// ~200 pseudo-random requests per route mixing realistic values (real
/// tokens, the right org, the right password) and garbage: never a 5xx,
/// always a `{"message"}` on errors, never a secret echoed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn random_inputs_never_cause_server_errors_or_leak_secrets() {
    let seed = env_u64("AUTHFLOW_FUZZ_SEED").unwrap_or(DEFAULT_SEED);
    let iters = env_u64("AUTHFLOW_FUZZ_ITERS").map_or(DEFAULT_ITERS, |n| n as usize);
    let tasks: Vec<_> = af_routes()
        .into_iter()
        .map(|r| tokio::spawn(fuzz_route(r, seed ^ fnv1a(r.name), iters)))
        .collect();
    let mut failures = Vec::new();
    for t in tasks {
        failures.extend(t.await.expect("fuzz task"));
    }
    report(
        &format!("pseudo-random inputs (AUTHFLOW_FUZZ_SEED={seed:#x})"),
        &failures,
    );
}

/// The xorshift generator is deterministic (a failing seed reproduces).
#[test]
fn xorshift_is_reproducible() {
    let mut a = XorShift::new(42);
    let mut b = XorShift::new(42);
    let xs: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
    let ys: Vec<u64> = (0..8).map(|_| b.next_u64()).collect();
    assert_eq!(xs, ys);
    assert!(xs.windows(2).all(|w| w[0] != w[1]));
    let mut z = XorShift::new(0);
    assert_ne!(z.next_u64(), 0, "a zero seed must not stick at zero");
}

// ------------------------------------------------------ token forgery (alg)

/// Both session-checking reads answer 401 `{"message"}` for `token`.
async fn assert_rejected(client: &Client, base: &str, email: &str, label: &str, token: &str) {
    for (route, resp) in [
        ("validate", validate(client, base, token, email).await),
        ("me", me(client, base, token).await),
    ] {
        assert_eq!(
            resp.status,
            401,
            "{label}: {route} answered {}: {}",
            resp.status,
            resp.text()
        );
        check_message_body(&resp).unwrap_or_else(|e| panic!("{label}: {route}: {e}"));
        assert!(
            !leaks(&resp.text(), token),
            "{label}: {route} echoes the token"
        );
    }
}

async fn assert_accepted(client: &Client, base: &str, email: &str, token: &str) {
    let v = validate(client, base, token, email).await;
    assert_eq!(v.status, 200, "genuine token: validate {}", v.text());
    assert_eq!(v.json(), json!({"valid": true}));
    let m = me(client, base, token).await;
    assert_eq!(m.status, 200, "genuine token: me {}", m.text());
    assert_eq!(m.json()["email"], json!(email));
}

/// Alg confusion, `alg: none`, tampering, foreign keys and kids, token-type
/// confusion and expiry: only the genuine, unexpired RS512 token passes.
#[tokio::test]
async fn forged_and_tampered_tokens_are_rejected() {
    let server = MockServer::start().await.expect("mock server");
    let client = http_client();
    let base = server.base_url();
    let key = server.api_key().expose_secret().to_owned();
    let email = "alg.victim@example.com";
    let token = sign_up(&client, &base, &key, email, "r").await;
    assert_accepted(&client, &base, email, &token).await;

    let (header, payload, sig) = jwt_parts(&token);
    assert_eq!(header["alg"], json!("RS512"));
    let kid = header["kid"].as_str().expect("kid").to_owned();
    for claim in ["jti", "email", "org_id", "role", "iat", "exp"] {
        assert!(
            payload.get(claim).is_some(),
            "session claim {claim}: {payload}"
        );
    }

    // The public key, as an attacker would fetch it.
    let jwks_resp = get(&client, &base, "/.well-known/jwks.json", &[]).await;
    assert_eq!(jwks_resp.status, 200);
    let jwks_text = jwks_resp.body.clone();
    let jwks = jwks_resp.json();
    let jwk = jwks["keys"]
        .as_array()
        .and_then(|k| k.iter().find(|k| k["kid"] == json!(kid)))
        .expect("the token's kid is published")
        .clone();
    assert_eq!(jwk["alg"], json!("RS512"));
    let n_txt = jwk["n"].as_str().expect("n").to_owned();
    let e_txt = jwk["e"].as_str().expect("e").to_owned();
    let (n, e) = (unb64(&n_txt), unb64(&e_txt));
    let (pkcs1_pem, spki_pem, pkcs1_der) = public_key_forms(&n, &e);

    let mut forged: Vec<(String, String)> = Vec::new();

    // alg: none (and spellings), with and without the original signature.
    for alg in ["none", "None", "NONE", "nOnE"] {
        let h = json!({"alg": alg, "typ": "JWT", "kid": kid});
        forged.push((
            format!("alg {alg}, no signature"),
            assemble(&h, &payload, ""),
        ));
        forged.push((
            format!("alg {alg}, original signature"),
            assemble(&h, &payload, &sig),
        ));
    }
    forged.push(("alg none without kid".into(), alg_none(None, &payload)));
    forged.push((
        "header without alg".into(),
        assemble(&json!({"typ": "JWT", "kid": kid}), &payload, &sig),
    ));

    // HMAC keyed with the public key in every form an attacker might try.
    let secrets: Vec<(&str, Vec<u8>)> = vec![
        ("the JWKS document", jwks_text.clone()),
        ("the JWK", jwk.to_string().into_bytes()),
        ("n (base64url)", n_txt.clone().into_bytes()),
        ("n (bytes)", n.clone()),
        ("PKCS#1 PEM", pkcs1_pem.clone().into_bytes()),
        (
            "PKCS#1 PEM, no trailing newline",
            pkcs1_pem.trim_end().as_bytes().to_vec(),
        ),
        ("SPKI PEM", spki_pem.clone().into_bytes()),
        (
            "SPKI PEM, no trailing newline",
            spki_pem.trim_end().as_bytes().to_vec(),
        ),
        ("PKCS#1 DER", pkcs1_der.clone()),
        ("the kid", kid.clone().into_bytes()),
        ("empty", Vec::new()),
    ];
    for (what, secret) in &secrets {
        for alg in [Algorithm::HS512, Algorithm::HS256, Algorithm::HS384] {
            let k = EncodingKey::from_secret(secret);
            forged.push((
                format!("{alg:?} keyed with {what}"),
                sign(alg, Some(&kid), &payload, &k),
            ));
        }
        let k = EncodingKey::from_secret(secret);
        forged.push((
            format!("HS512 keyed with {what}, no kid"),
            sign(Algorithm::HS512, None, &payload, &k),
        ));
    }

    // The header's alg swapped, the RS512 signature kept.
    for alg in [
        "RS256", "RS384", "PS512", "ES512", "HS512", "EdDSA", "rs512",
    ] {
        let h = json!({"alg": alg, "typ": "JWT", "kid": kid});
        forged.push((
            format!("alg {alg} over the RS512 signature"),
            assemble(&h, &payload, &sig),
        ));
    }

    // Claims tampered, signature kept.
    let tamper = |k: &str, v: Value| {
        let mut p = payload.clone();
        p[k] = v;
        assemble(&header, &p, &sig)
    };
    forged.push((
        "email changed".into(),
        tamper("email", json!("attacker@example.com")),
    ));
    forged.push(("role changed".into(), tamper("role", json!("owner"))));
    forged.push((
        "jti changed".into(),
        tamper("jti", json!("00000000-0000-0000-0000-000000000000")),
    ));
    forged.push((
        "exp extended".into(),
        tamper("exp", json!(4_102_444_800_i64)),
    ));
    forged.push((
        "org_id changed".into(),
        tamper("org_id", json!("other-org")),
    ));
    {
        let mut p = payload.clone();
        p["admin"] = json!(true);
        forged.push(("extra claim".into(), assemble(&header, &p, &sig)));
    }
    // Same claims re-encoded with different whitespace: different bytes signed.
    {
        let pretty = serde_json::to_string_pretty(&payload).expect("JSON");
        let h_b64 = token.split('.').next().expect("header part");
        forged.push((
            "payload re-encoded".into(),
            format!("{h_b64}.{}.{sig}", b64(pretty.as_bytes())),
        ));
    }

    // Header tampered, signature kept.
    for (label, h) in [
        (
            "different kid",
            json!({"alg": "RS512", "typ": "JWT", "kid": "attacker-kid"}),
        ),
        ("no kid", json!({"alg": "RS512", "typ": "JWT"})),
        (
            "kid path traversal",
            json!({"alg": "RS512", "typ": "JWT", "kid": "../../../../dev/null"}),
        ),
        (
            "jku injected",
            json!({
                "alg": "RS512", "typ": "JWT", "kid": kid,
                "jku": "http://127.0.0.1:1/jwks.json",
            }),
        ),
        (
            "embedded jwk",
            json!({"alg": "RS512", "typ": "JWT", "kid": kid, "jwk": jwk}),
        ),
    ] {
        forged.push((label.into(), assemble(&h, &payload, &sig)));
    }

    // Signature mangled.
    {
        let mut s: Vec<u8> = sig.clone().into_bytes();
        let mid = s.len() / 2;
        s[mid] = if s[mid] == b'A' { b'B' } else { b'A' };
        let (h, p) = token
            .rsplit_once('.')
            .map(|(hp, _)| hp)
            .expect("parts")
            .split_once('.')
            .expect("h.p");
        let hp = format!("{h}.{p}");
        forged.push((
            "one signature byte changed".into(),
            format!("{hp}.{}", String::from_utf8(s).expect("ASCII")),
        ));
        forged.push(("signature stripped".into(), format!("{hp}.")));
        forged.push(("signature only".into(), sig.clone()));
        forged.push(("extra segment".into(), format!("{token}.{sig}")));
        forged.push(("signature from another token".into(), {
            let other = foobar_token(&client, &base, &key, email, "r").await;
            let other_sig = other.rsplit('.').next().expect("sig").to_owned();
            format!("{hp}.{other_sig}")
        }));
        forged.push(("padded base64".into(), format!("{token}==")));
        forged.push(("surrounding junk".into(), format!("x{token}")));
    }

    // Signed with another RSA key: its own kid, and the server's kid spoofed.
    let attacker = EncodingKey::from_rsa_der(&attacker_der());
    let attacker_kid = attacker_key().kid().to_owned();
    assert_ne!(attacker_kid, kid);
    forged.push((
        "RS512 by another key, its kid".into(),
        sign(Algorithm::RS512, Some(&attacker_kid), &payload, &attacker),
    ));
    forged.push((
        "RS512 by another key, the server's kid".into(),
        sign(Algorithm::RS512, Some(&kid), &payload, &attacker),
    ));
    forged.push((
        "RS512 by another key, no kid".into(),
        sign(Algorithm::RS512, None, &payload, &attacker),
    ));
    forged.push((
        "RS256 by another key, the server's kid".into(),
        sign(Algorithm::RS256, Some(&kid), &payload, &attacker),
    ));
    forged.push((
        "PS512 by another key, the server's kid".into(),
        sign(Algorithm::PS512, Some(&kid), &payload, &attacker),
    ));

    // A fooBar token (same key, same kid) used as a session.
    let foobar = foobar_token(&client, &base, &key, email, "r").await;
    forged.push(("a fooBar token as the session".into(), foobar.clone()));

    for (label, t) in &forged {
        assert_rejected(&client, &base, email, label, t).await;
    }

    // The genuine token with another email: 401.
    let r = validate(&client, &base, &token, "someone.else@example.com").await;
    assert_eq!(r.status, 401, "validate with another email: {}", r.text());

    // A session token used as a fooBar token: 401 on signUp and login.
    let signup = get(
        &client,
        &base,
        "/auth/signUp",
        &[
            ("foobar", &token),
            ("email", email),
            ("password", PASSWORD),
            ("fullname", "X"),
            ("role", "r"),
            ("disclaimed", "true"),
            ("api_key", &key),
        ],
    )
    .await;
    assert_eq!(
        signup.status,
        401,
        "session as fooBar on signUp: {}",
        signup.text()
    );
    let lg = get(
        &client,
        &base,
        "/auth/login",
        &[
            ("foobar", &token),
            ("email", email),
            ("password", PASSWORD),
            ("role", "r"),
            ("api_key", &key),
        ],
    )
    .await;
    assert_eq!(lg.status, 401, "session as fooBar on login: {}", lg.text());

    // A second server with its own key: its genuine tokens mean nothing here,
    // and ours mean nothing there.
    let other = MockServer::builder()
        .signing_key(SigningKey::generate().expect("second key"))
        .start()
        .await
        .expect("second mock server");
    let other_jwks = other.jwks();
    assert_ne!(other_jwks["keys"][0]["kid"], json!(kid));
    assert_ne!(other_jwks["keys"][0]["n"], server.jwks()["keys"][0]["n"]);
    let other_base = other.base_url();
    let other_key = other.api_key().expose_secret().to_owned();
    let other_token = sign_up(&client, &other_base, &other_key, email, "r").await;
    assert_accepted(&client, &other_base, email, &other_token).await;
    assert_rejected(
        &client,
        &base,
        email,
        "a session of another server (other key)",
        &other_token,
    )
    .await;
    assert_rejected(
        &client,
        &other_base,
        email,
        "our session on the other server",
        &token,
    )
    .await;

    // The genuine token still works after all that.
    assert_accepted(&client, &base, email, &token).await;

    // Expiry on the mock clock: valid just before 12 h, rejected after.
    server.clock().advance(Duration::from_secs(12 * 3600 - 5));
    assert_accepted(&client, &base, email, &token).await;
    server.clock().advance(Duration::from_secs(6));
    assert_rejected(
        &client,
        &base,
        email,
        "expired session (12 h + 1 s)",
        &token,
    )
    .await;
    // Re-signing the expired claims with a later exp does not help.
    assert_rejected(
        &client,
        &base,
        email,
        "expired session, exp extended",
        &tamper("exp", json!(4_102_444_800_i64)),
    )
    .await;
}

// -------------------------------------------------------- deleteUser bearer

/// deleteUser takes the owner's session only as `Authorization: Bearer`.
#[tokio::test]
async fn delete_user_requires_the_owners_bearer_token() {
    let server = MockServer::start().await.expect("mock server");
    let client = http_client();
    let base = server.base_url();
    let key = server.api_key().expose_secret().to_owned();
    let owner = server.default_org().clone();
    let owner_password = owner.owner_password.expose_secret().to_owned();
    let victim = "delete.me@example.com";
    let victim_session = sign_up(&client, &base, &key, victim, "user").await;
    let owner_session = login(
        &client,
        &base,
        &key,
        &owner.owner_email,
        &owner_password,
        &owner.owner_role,
    )
    .await;
    let owner_foobar =
        foobar_token(&client, &base, &key, &owner.owner_email, &owner.owner_role).await;
    let body =
        json!({"email_owner": owner.owner_email, "org_id": server.org_id(), "user_email": victim});

    let cases: Vec<(String, Option<String>)> = vec![
        ("missing header".into(), None),
        ("Bearer and nothing".into(), Some("Bearer ".into())),
        ("Bearer without a space".into(), Some("Bearer".into())),
        (
            "Basic credentials".into(),
            Some(format!("Basic {}", STANDARD.encode("owner:pw"))),
        ),
        ("Basic xxx".into(), Some("Basic xxx".into())),
        (
            "the owner's token under Basic".into(),
            Some(format!("Basic {owner_session}")),
        ),
        (
            "the owner's token under Token".into(),
            Some(format!("Token {owner_session}")),
        ),
        (
            "the owner's token without a scheme".into(),
            Some(owner_session.clone()),
        ),
        (
            "Bearer glued to the token".into(),
            Some(format!("Bearer{owner_session}")),
        ),
        ("garbage".into(), Some("garbage".into())),
        ("Bearer garbage".into(), Some("Bearer garbage".into())),
        ("Bearer null".into(), Some("Bearer null".into())),
        (
            "Bearer truncated owner token".into(),
            Some(format!(
                "Bearer {}",
                &owner_session[..owner_session.len() - 8]
            )),
        ),
        (
            "Bearer owner token with junk".into(),
            Some(format!("Bearer {owner_session}x")),
        ),
        (
            "Bearer owner fooBar".into(),
            Some(format!("Bearer {owner_foobar}")),
        ),
        (
            "Bearer alg none".into(),
            Some(format!(
                "Bearer {}",
                alg_none(None, &jwt_parts(&owner_session).1)
            )),
        ),
        (
            "Bearer, comma, owner token".into(),
            Some(format!("Bearer , {owner_session}")),
        ),
    ];
    for (label, auth) in &cases {
        let r = post(&client, &base, "/auth/deleteUser", &body, auth.as_deref()).await;
        assert_eq!(r.status, 401, "{label}: {}", r.text());
        check_message_body(&r).unwrap_or_else(|e| panic!("{label}: {e}"));
        assert!(
            !leaks(&r.text(), &owner_session),
            "{label}: echoes the owner token"
        );
    }

    // The token in the body is not a credential (unknown parameter).
    let mut with_token = body.clone();
    with_token["sessionToken"] = json!(owner_session);
    let r = post(&client, &base, "/auth/deleteUser", &with_token, None).await;
    assert_eq!(r.status, 400, "token in the body: {}", r.text());
    assert!(!leaks(&r.text(), &owner_session));
    // Nor in the query.
    let req = Req {
        pairs: vec![("sessionToken".into(), owner_session.clone())],
        body: Some(serde_json::to_vec(&body).expect("JSON")),
        ..Req::default()
    };
    let r = send_to(&client, &base, Method::Post, "/auth/deleteUser", &req).await;
    assert_eq!(r.status, 401, "token in the query: {}", r.text());

    // A valid session that is not the owner's: 403.
    let r = post(
        &client,
        &base,
        "/auth/deleteUser",
        &body,
        Some(&format!("Bearer {victim_session}")),
    )
    .await;
    assert_eq!(r.status, 403, "non-owner bearer: {}", r.text());
    check_message_body(&r).expect("403 body");

    // Nothing was deleted.
    let m = me(&client, &base, &victim_session).await;
    assert_eq!(
        m.status,
        200,
        "the victim survives every refused call: {}",
        m.text()
    );

    // The owner's bearer deletes; the victim's session dies with the account.
    let r = post(
        &client,
        &base,
        "/auth/deleteUser",
        &body,
        Some(&format!("Bearer {owner_session}")),
    )
    .await;
    assert_eq!(r.status, 200, "owner bearer: {}", r.text());
    assert_eq!(r.json()["success"], json!(true));
    let m = me(&client, &base, &victim_session).await;
    assert_eq!(m.status, 401, "deleted user's session: {}", m.text());
}

// ------------------------------------------------------------- isolation

/// Ten servers in one process share nothing: users, organization keys,
/// sessions, fooBar tokens (even though the signing key is shared), emails,
/// clocks and resets.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_servers_side_by_side_share_no_state() {
    const N: usize = 10;
    let email = "same.person@example.com";
    let client = http_client();
    let tasks: Vec<_> = (0..N)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                let server = MockServer::start().await.expect("mock server");
                let key = server.api_key().expose_secret().to_owned();
                let session = sign_up(&client, &server.base_url(), &key, email, "user").await;
                (server, key, session)
            })
        })
        .collect();
    let mut servers = Vec::new();
    for t in tasks {
        servers.push(t.await.expect("server task"));
    }

    let mut urls: Vec<String> = servers.iter().map(|(s, _, _)| s.base_url()).collect();
    let mut keys: Vec<String> = servers.iter().map(|(_, k, _)| k.clone()).collect();
    let mut orgs: Vec<String> = servers.iter().map(|(s, _, _)| s.org_id()).collect();
    for v in [&mut urls, &mut keys, &mut orgs] {
        v.sort();
        v.dedup();
        assert_eq!(v.len(), N, "distinct per server");
    }

    for (i, (server, key, session)) in servers.iter().enumerate() {
        let base = server.base_url();
        // Own session valid here.
        assert_eq!(
            me(&client, &base, session).await.status,
            200,
            "server {i}: own session"
        );
        // One verification email, to the address, linking to this server.
        let mails = server.emails().all();
        assert_eq!(mails.len(), 1, "server {i}: emails {mails:?}");
        assert_eq!(mails[0].to, email);
        assert!(
            mails[0]
                .links
                .iter()
                .any(|l| l.starts_with(&format!("{base}/auth/verify-email?token="))),
            "server {i}: link to itself: {:?}",
            mails[0].links
        );
        // And the control API agrees.
        let listed = get(&client, &base, "/__mock/emails", &[("to", email)]).await;
        assert_eq!(listed.status, 200);
        assert_eq!(
            listed.json().as_array().map(Vec::len),
            Some(1),
            "server {i}"
        );

        for (j, (other, other_key, other_session)) in servers.iter().enumerate() {
            if i == j {
                continue;
            }
            // Another server's organization key: 401 Invalid api_key.
            let r = get(
                &client,
                &base,
                "/auth/fooBar",
                &[
                    ("identity", email),
                    ("api_key", other_key),
                    ("role", "user"),
                ],
            )
            .await;
            assert_eq!(r.status, 401, "server {i} with key of {j}: {}", r.text());
            assert_eq!(r.message(), "Invalid api_key");
            assert!(!leaks(&r.text(), other_key));
            let r = post(
                &client,
                &base,
                "/auth/forgot-password",
                &json!({"email": email, "api_key": other_key}),
                None,
            )
            .await;
            assert_eq!(
                r.status,
                401,
                "forgot-password on {i} with key of {j}: {}",
                r.text()
            );
            assert_eq!(r.message(), "Invalid api_key");
            // Another server's session (same signing key!): 401.
            if j == (i + 1) % N {
                let r = me(&client, &base, other_session).await;
                assert_eq!(
                    r.status,
                    401,
                    "server {i} with session of {j}: {}",
                    r.text()
                );
                // Another server's fooBar token, with this server's key: 401.
                let foreign = foobar_token(
                    &client,
                    &other.base_url(),
                    other_key,
                    "new@example.com",
                    "user",
                )
                .await;
                let r = get(
                    &client,
                    &base,
                    "/auth/signUp",
                    &[
                        ("foobar", &foreign),
                        ("email", "new@example.com"),
                        ("password", PASSWORD),
                        ("fullname", "New"),
                        ("role", "user"),
                        ("disclaimed", "true"),
                        ("api_key", key),
                    ],
                )
                .await;
                assert_eq!(r.status, 401, "server {i} with fooBar of {j}: {}", r.text());
            }
        }
    }

    // Email sent by one server is captured there only.
    let (first, first_key, _) = &servers[0];
    let r = post(
        &client,
        &first.base_url(),
        "/auth/forgot-password",
        &json!({"email": email, "api_key": first_key}),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(first.emails().all().len(), 2);
    for (i, (s, _, _)) in servers.iter().enumerate().skip(1) {
        assert_eq!(
            s.emails().all().len(),
            1,
            "server {i} saw another server's email"
        );
    }

    // Clocks and resets are per server.
    first.clock().advance(Duration::from_secs(13 * 3600));
    let r = post(
        &client,
        &first.base_url(),
        "/__mock/reset",
        &json!({}),
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        me(&client, &first.base_url(), &servers[0].2).await.status,
        401,
        "reset forgets sessions"
    );
    for (i, (s, _, session)) in servers.iter().enumerate().skip(1) {
        assert_eq!(
            me(&client, &s.base_url(), session).await.status,
            200,
            "server {i} after 0 reset"
        );
        assert_eq!(s.emails().all().len(), 1, "server {i} emails after 0 reset");
    }
}

// --------------------------------------------------------- transport limits

/// Send raw bytes over TCP (`Connection: close`), read until the server closes.
/// `Ok(None)` when the server closed or reset without an answer.
fn raw_http(addr: SocketAddr, request: &[u8]) -> std::io::Result<(Option<u16>, String)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    stream.set_write_timeout(Some(Duration::from_secs(20)))?;
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
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|s| s.get(..3))
        .and_then(|s| s.parse().ok());
    Ok((status, text))
}

async fn raw(addr: SocketAddr, request: Vec<u8>) -> (Option<u16>, String) {
    tokio::task::spawn_blocking(move || raw_http(addr, &request))
        .await
        .expect("raw HTTP task")
        .expect("raw HTTP")
}

/// `POST /auth/forgot-password` with extra header lines and a raw body.
fn raw_post(extra_headers: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "POST /auth/forgot-password HTTP/1.1\r\nHost: mock\r\nConnection: close\r\n{extra_headers}\r\n"
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

fn raw_get(addr: SocketAddr, target: &[u8], extra_headers: &[u8]) -> Vec<u8> {
    let mut r = b"GET ".to_vec();
    r.extend_from_slice(target);
    r.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    r.extend_from_slice(addr.to_string().as_bytes());
    r.extend_from_slice(b"\r\nConnection: close\r\n");
    r.extend_from_slice(extra_headers);
    r.extend_from_slice(b"\r\n");
    r
}

async fn assert_healthy(client: &Client, server: &MockServer, label: &str) {
    let base = server.base_url();
    let r = get(client, &base, "/.well-known/jwks.json", &[]).await;
    assert_eq!(r.status, 200, "after {label}: JWKS {}", r.text());
    let key = server.api_key().expose_secret().to_owned();
    let email = format!("healthy{}@example.com", fnv1a(label));
    let session = sign_up(client, &base, &key, &email, "user").await;
    assert_eq!(
        me(client, &base, &session).await.status,
        200,
        "after {label}"
    );
}

/// Very long URLs, huge and too many headers, raw invalid bytes: a 4xx from
/// hyper or the app (or a closed connection), never a 5xx; the server keeps
/// serving.
#[tokio::test]
async fn oversized_and_malformed_requests_get_a_4xx_and_the_server_survives() {
    let server = MockServer::start().await.expect("mock server");
    let client = http_client();
    let base = server.base_url();
    let addr = server.addr();
    let key = server.api_key().expose_secret().to_owned();

    // Within hyper's limits: the app answers with its own message.
    let long = "A".repeat(60_000);
    let r = me(&client, &base, &long).await;
    assert_eq!(r.status, 401, "60 KB session token: {}", r.text());
    check_message_body(&r).expect("60 KB token body");
    let r = get(&client, &base, "/auth/validate", &[("x", &long)]).await;
    assert_eq!(r.status, 400, "60 KB unknown param: {}", r.text());
    check_message_body(&r).expect("60 KB param body");
    let many: Vec<(String, String)> = (0..5000)
        .map(|i| (format!("p{i}"), "1".to_owned()))
        .collect();
    let req = Req {
        pairs: many,
        ..Req::default()
    };
    let r = send_to(&client, &base, Method::Get, "/auth/me", &req).await;
    assert_eq!(r.status, 400, "5000 params: {}", r.text());
    let req = Req {
        raw_query: Some("a=1&".repeat(12_000)),
        ..Req::default()
    };
    let r = send_to(&client, &base, Method::Get, "/auth/me", &req).await;
    assert_eq!(r.status, 400, "12 000 duplicate params: {}", r.text());
    let r = get(
        &client,
        &base,
        &format!("/auth/{}", "x".repeat(60_000)),
        &[],
    )
    .await;
    assert_eq!(r.status, 404, "60 KB path: {}", r.text());
    check_message_body(&r).expect("404 body");
    // A 200 KB header (under hyper's 400 KB head limit) reaches the app.
    let resp = client
        .get(format!("{base}/auth/me?sessionToken=x"))
        .header("X-Padding", "p".repeat(200_000))
        .send()
        .await
        .expect("200 KB header");
    let r = read(resp).await;
    assert_eq!(r.status, 401, "200 KB header: {}", r.text());
    // A 100 KB bearer on deleteUser.
    let body = json!({
        "email_owner": "owner@example.com",
        "org_id": server.org_id(),
        "user_email": "a@b.co",
    });
    let r = post(
        &client,
        &base,
        "/auth/deleteUser",
        &body,
        Some(&format!("Bearer {}", "A".repeat(100_000))),
    )
    .await;
    assert_eq!(r.status, 401, "100 KB bearer: {}", r.text());
    assert_healthy(&client, &server, "long values").await;

    // Beyond the transport's limits: hyper answers (414, 431, 400) or closes.
    let long_query = format!("/auth/me?sessionToken={}", "A".repeat(100_000));
    let long_path = format!("/auth/{}", "a".repeat(100_000));
    let huge_header = format!("X-Huge: {}\r\n", "h".repeat(600_000));
    let many_headers: String = (0..200).map(|i| format!("X-H{i}: v\r\n")).collect();
    let query_with_key = format!(
        "/auth/fooBar?identity=a%40b.co&api_key={key}&pad={}",
        "p".repeat(100_000)
    );
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("100 KB query", raw_get(addr, long_query.as_bytes(), b"")),
        ("100 KB path", raw_get(addr, long_path.as_bytes(), b"")),
        (
            "100 KB query with the api key",
            raw_get(addr, query_with_key.as_bytes(), b""),
        ),
        (
            "600 KB header",
            raw_get(addr, b"/auth/me?sessionToken=x", huge_header.as_bytes()),
        ),
        (
            "200 headers",
            raw_get(addr, b"/auth/me?sessionToken=x", many_headers.as_bytes()),
        ),
        (
            "raw invalid UTF-8 in the target",
            raw_get(addr, b"/auth/me?sessionToken=\xff\xfe\xc0\xaf", b""),
        ),
        (
            "control bytes in the target",
            raw_get(addr, b"/auth/me?sessionToken=\x01\x7f", b""),
        ),
        (
            "space in the target",
            raw_get(addr, b"/auth/me?sessionToken=a b", b""),
        ),
        (
            "NUL in a header",
            raw_get(addr, b"/auth/me?sessionToken=x", b"X-Bad: a\x00b\r\n"),
        ),
        (
            "header without a colon",
            raw_get(addr, b"/auth/me?sessionToken=x", b"NoColonHere\r\n"),
        ),
        (
            "bad Content-Length",
            raw_post("Content-Length: abc\r\n", b"{}"),
        ),
        (
            "Content-Length and chunked",
            raw_post(
                "Content-Length: 2\r\nTransfer-Encoding: chunked\r\n",
                b"0\r\n\r\n",
            ),
        ),
        (
            "bad chunk size",
            raw_post("Transfer-Encoding: chunked\r\n", b"zz\r\n{}\r\n0\r\n\r\n"),
        ),
        (
            "garbage request line",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 TLS?\r\n\r\n".to_vec(),
        ),
        ("HTTP/0.9 style", b"GET /auth/me\r\n\r\n".to_vec()),
        (
            "unknown method",
            b"BREW /auth/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
        ),
    ];
    for (label, request) in cases {
        let (status, text) = raw(addr, request).await;
        match status {
            Some(s) => {
                assert!(
                    (400..500).contains(&s),
                    "{label}: status {s}: {}",
                    text.chars().take(300).collect::<String>()
                );
                assert!(!text.contains(&key), "{label}: echoes the api key");
            }
            None => assert!(
                text.is_empty() || !text.contains("HTTP/1.1 5"),
                "{label}: {text:.200}"
            ),
        }
        assert_healthy(&client, &server, label).await;
    }
}

// ------------------------------------------------- forgot-password enumeration

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

async fn forgot(
    client: &Client,
    base: &str,
    key: &str,
    email: &str,
    role: Option<&str>,
) -> (Resp, Duration) {
    let mut body = json!({"email": email, "api_key": key});
    if let Some(r) = role {
        body["role"] = json!(r);
    }
    let start = Instant::now();
    let r = post(client, base, "/auth/forgot-password", &body, None).await;
    (r, start.elapsed())
}

/// forgot-password tells nothing about whether an account exists: the same
/// status, headers and body bytes, and comparable timing.
#[tokio::test]
async fn forgot_password_does_not_reveal_accounts() {
    let server = MockServer::start().await.expect("mock server");
    let client = http_client();
    let base = server.base_url();
    let key = server.api_key().expose_secret().to_owned();
    let known = "known.user@example.com";
    let unknown = "nobody.here@example.com";
    sign_up(&client, &base, &key, known, "user").await;

    let (k, _) = forgot(&client, &base, &key, known, None).await;
    assert_eq!(k.status, 200, "{}", k.text());
    let header_set = |r: &Resp| -> Vec<(String, String)> {
        let mut h: Vec<(String, String)> = r
            .headers
            .iter()
            .filter(|(n, _)| n.as_str() != "date")
            .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("?").to_owned()))
            .collect();
        h.sort();
        h
    };
    for (label, email, role) in [
        ("unknown email", unknown, None),
        ("unknown email, role given", unknown, Some("user")),
        ("known email in other case", "KNOWN.User@Example.com", None),
        ("known email, another role", known, Some("admin")),
    ] {
        let (u, _) = forgot(&client, &base, &key, email, role).await;
        assert_eq!(u.status, k.status, "{label}: status");
        assert_eq!(u.content_type(), k.content_type(), "{label}: content-type");
        assert_eq!(header_set(&u), header_set(&k), "{label}: headers");
        assert_eq!(u.body, k.body, "{label}: body bytes");
    }
    assert!(k.content_type().starts_with("application/json"));
    assert_eq!(k.json()["success"], json!(true));
    // A malformed address is rejected for its shape alone (this reveals
    // nothing about which accounts exist).
    let (bad, _) = forgot(&client, &base, &key, "not-an-email", None).await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["message"], json!("Invalid email address"));

    // Only the real account gets mail.
    let resets = |to: &str| {
        server
            .emails()
            .to(to)
            .into_iter()
            .filter(|m| m.kind == authflow_mock::EmailKind::PasswordReset)
            .count()
    };
    assert_eq!(
        resets(known),
        2,
        "known: the first call and the other-case call"
    );
    assert_eq!(resets(unknown), 0);

    // Timing: alternate known and unknown, compare medians.
    for _ in 0..3 {
        forgot(&client, &base, &key, known, None).await;
        forgot(&client, &base, &key, unknown, None).await;
    }
    let (mut tk, mut tu) = (Vec::new(), Vec::new());
    for i in 0..60 {
        let email = if i % 2 == 0 { known } else { unknown };
        let (r, d) = forgot(&client, &base, &key, email, None).await;
        assert_eq!(r.status, 200);
        if i % 2 == 0 {
            tk.push(d);
        } else {
            tu.push(d);
        }
    }
    let (mk, mu) = (median(tk), median(tu));
    let diff = mk.abs_diff(mu);
    let bound = Duration::from_millis(5).max(mk.max(mu) / 2);
    assert!(
        diff < bound,
        "forgot-password timing differs: known median {mk:?}, unknown median {mu:?} (bound {bound:?})"
    );
}

// --------------------------------------------------------------- sanity

/// The route table is what the battery walks: every route answers something
/// other than the fallback 404 to its own method (so the battery is not
/// testing the fallback), and wrong methods never 5xx.
#[tokio::test]
async fn every_route_is_served_and_wrong_methods_are_client_errors() {
    let server = MockServer::start().await.expect("mock server");
    let client = http_client();
    let base = server.base_url();
    for route in af_routes() {
        let r = send(&client, &base, route, &Req::default()).await;
        assert_eq!(
            r.status,
            400,
            "{} {}: {}",
            route.method,
            route.path,
            r.text()
        );
        assert_eq!(r.message(), "Missing required fields", "{}", route.path);
        let wrong = match route.method {
            Method::Get => Method::Post,
            _ => Method::Get,
        };
        for m in [wrong, Method::Put, Method::Delete, Method::Patch] {
            let r = send_to(&client, &base, m, route.path, &Req::default()).await;
            assert!(
                (400..500).contains(&r.status),
                "{m} {}: {} {}",
                route.path,
                r.status,
                r.text()
            );
        }
        assert!(routes::find(route.name).is_some());
    }
}

// ------------------------------------------------ consistency of error bodies

/// A path that exists, called with a method it does not take, answers 405
/// with the mock's `{"message"}` body like every other error (the unknown
/// path fallback does, and `params.rs` has a `Method not allowed` error for
/// exactly this).
#[tokio::test]
async fn wrong_methods_answer_405_with_a_message() {
    let server = MockServer::start().await.expect("mock server");
    let client = http_client();
    let base = server.base_url();
    let mut failures = Vec::new();
    for route in af_routes() {
        let wrong = match route.method {
            Method::Get => Method::Post,
            _ => Method::Get,
        };
        for m in [wrong, Method::Put, Method::Delete, Method::Patch] {
            let r = send_to(&client, &base, m, route.path, &Req::default()).await;
            if r.status != 405 {
                failures.push(format!("{m} {}: status {}", route.path, r.status));
            } else if let Err(e) = check_message_body(&r) {
                failures.push(format!("{m} {}: {e}", route.path));
            }
        }
    }
    report("wrong methods", &failures);
}

/// A chunked body that cannot be decoded is a malformed request (400), not
/// one that is too large (413).
#[tokio::test]
async fn a_malformed_chunked_body_is_a_400_not_a_413() {
    let server = MockServer::start().await.expect("mock server");
    let addr = server.addr();
    let request = raw_post(
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n",
        b"zz\r\n{}\r\n0\r\n\r\n",
    );
    let (status, text) = raw(addr, request).await;
    assert_eq!(status, Some(400), "malformed chunked body: {text}");
    assert!(text.contains("\"message\""), "{text}");
    assert_healthy(&http_client(), &server, "malformed chunked body").await;
}

/// A client that botches its query (`?af_…` without `api_key=`, or a
/// password without its name) must not get the secret back in the error
/// message: the mock echoes unknown and duplicate parameter *names*.
#[tokio::test]
async fn secrets_sent_as_parameter_names_are_not_echoed() {
    let server = MockServer::start().await.expect("mock server");
    let client = http_client();
    let base = server.base_url();
    let key = server.api_key().expose_secret().to_owned();
    let secrets = [key.clone(), PASSWORD.to_owned(), "ABCD2345".to_owned()];
    let mut failures = Vec::new();
    for route in af_routes() {
        for secret in &secrets {
            let mut reqs = Vec::new();
            if route.params == Params::Query {
                // A bare name, and the same name twice (duplicate check).
                reqs.push(Req {
                    raw_query: Some(secret.clone()),
                    ..Req::default()
                });
                reqs.push(Req {
                    raw_query: Some(format!("{secret}&{secret}")),
                    ..Req::default()
                });
                reqs.push(Req {
                    raw_query: Some(format!("api_key&{secret}")),
                    ..Req::default()
                });
            } else {
                let body = json!({ secret.as_str(): "" });
                reqs.push(Req {
                    body: Some(serde_json::to_vec(&body).expect("JSON")),
                    ..Req::default()
                });
            }
            for req in reqs {
                let r = send(&client, &base, route, &req).await;
                if let Err(e) = check(route, &r, &[400], &secrets, &[]) {
                    failures.push(format!(
                        "{} {} [{}]: {e}",
                        route.method,
                        route.path,
                        req.describe()
                    ));
                }
            }
        }
    }
    report("secrets as parameter names", &failures);
}
