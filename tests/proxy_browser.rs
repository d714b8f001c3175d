//! Browser-facing features: the session cookie mode (backend-for-frontend)
//! with its CSRF check, the CORS allow-list, the per-IP rate limit, and the
//! layer mounted inside an application's own router.

#[path = "proxy_support.rs"]
mod proxy_support;

use std::time::Duration;

use authflow_proxy::{CookieMode, ProxyConfig, ProxyLayer, RateLimit, ServeOptions, serve};
use axum::Router;
use axum::routing::get;
use proxy_support::{assert_envelope, assert_no_key, stack_with};
use reqwest::header::{COOKIE, ORIGIN, SET_COOKIE};
use serde_json::Value;

const APP: &str = "https://app.example";
const ROLE: &str = "detective";
const PASSWORD: &str = "TestPass123!";

fn cookie_mode() -> CookieMode {
    CookieMode::new(vec![APP.to_owned()])
}

/// `url?pairs`, form-encoded.
fn with_query(url: &str, pairs: &[(&str, &str)]) -> reqwest::Url {
    reqwest::Url::parse_with_params(url, pairs).expect("valid URL")
}

/// `name=value` of the session cookie set by a response, if any.
fn session_cookie(res: &reqwest::Response) -> Option<(String, String)> {
    let set = res.headers().get(SET_COOKIE)?.to_str().ok()?.to_owned();
    let pair = set.split(';').next()?.to_owned();
    Some((pair, set))
}

#[tokio::test]
async fn cookie_mode_browser_flow() {
    let (server, proxy) =
        stack_with(|b| b.cookie_mode(cookie_mode()).cors_origins([APP.to_owned()])).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let url = |p: &str| format!("{}{p}", proxy.url);
    let email = "bff@example.com";
    let foobar = |http: reqwest::Client| async move {
        let v: Value = http
            .get(with_query(
                &url("/auth/fooBar"),
                &[("identity", email), ("role", ROLE)],
            ))
            .header(ORIGIN, APP)
            .send()
            .await
            .expect("fooBar")
            .json()
            .await
            .expect("json");
        v["token"].as_str().expect("fooBar token").to_owned()
    };

    // CSRF: sign-up without Origin, or from another origin, never reaches the mock.
    let fb = foobar(http.clone()).await;
    let signup = [
        ("foobar", fb.as_str()),
        ("email", email),
        ("password", PASSWORD),
        ("fullname", "Browser User"),
        ("role", ROLE),
        ("disclaimed", "true"),
    ];
    let before = server.requests().len();
    let res = http
        .get(with_query(&url("/auth/signUp"), &signup))
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 403);
    let v: Value = res.json().await.expect("json");
    assert_envelope(&v, "forbidden");
    let res = http
        .get(with_query(&url("/auth/signUp"), &signup))
        .header(ORIGIN, "https://evil.example")
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 403);
    assert_eq!(
        server.requests().len(),
        before,
        "a CSRF attempt reached the mock"
    );

    // Sign-up from the app: the token moves into an HttpOnly cookie.
    let res = http
        .get(with_query(&url("/auth/signUp"), &signup))
        .header(ORIGIN, APP)
        .send()
        .await
        .expect("signUp");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["access-control-allow-origin"], APP);
    assert_eq!(res.headers()["access-control-allow-credentials"], "true");
    let (cookie, set) = session_cookie(&res).expect("session cookie");
    assert!(cookie.starts_with("authflow_session=ey"), "{cookie}");
    for attr in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(attr), "{set}");
    }
    let body: Value = res.json().await.expect("json");
    assert!(
        body.get("token").is_none(),
        "token left in the JSON: {body}"
    );

    // Later calls carry only the cookie: the proxy injects sessionToken.
    let me: Value = http
        .get(url("/auth/me"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .expect("me")
        .json()
        .await
        .expect("json");
    assert_eq!(me["email"], email, "{me}");
    let valid = http
        .get(with_query(&url("/auth/validate"), &[("email", email)]))
        .header(COOKIE, &cookie)
        .send()
        .await
        .expect("validate");
    assert_eq!(valid.status(), 200);
    let who = serde_json::json!({"email": email, "org_id": server.org_id(), "role": ROLE});
    let enable = http
        .post(url("/auth/2fa/enable"))
        .header(COOKIE, &cookie)
        .header(ORIGIN, APP)
        .json(&who)
        .send()
        .await
        .expect("2fa/enable");
    assert_eq!(enable.status(), 200, "POST body gets the session too");

    // Login from the app sets a fresh cookie.
    let fb = foobar(http.clone()).await;
    let res = http
        .get(with_query(
            &url("/auth/login"),
            &[
                ("foobar", fb.as_str()),
                ("email", email),
                ("password", PASSWORD),
                ("role", ROLE),
            ],
        ))
        .header(ORIGIN, APP)
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), 200);
    let (login_cookie, _) = session_cookie(&res).expect("login cookie");
    assert_ne!(login_cookie, cookie);

    // Logout (a state change: Origin required) clears the cookie and ends the session.
    let res = http
        .get(with_query(&url("/auth/logout"), &[("email", email)]))
        .header(COOKIE, &login_cookie)
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 403, "logout without Origin");
    let res = http
        .get(with_query(&url("/auth/logout"), &[("email", email)]))
        .header(COOKIE, &login_cookie)
        .header(ORIGIN, APP)
        .send()
        .await
        .expect("logout");
    assert_eq!(res.status(), 200);
    let (cleared, set) = session_cookie(&res).expect("clearing cookie");
    assert_eq!(cleared, "authflow_session=");
    assert!(set.contains("Max-Age=0"), "{set}");
    let me = http
        .get(url("/auth/me"))
        .header(COOKIE, &login_cookie)
        .send()
        .await
        .expect("me");
    assert_eq!(me.status(), 401);
}

#[tokio::test]
async fn cors_allow_list() {
    let (_server, proxy) = stack_with(|b| b.cors_origins([APP.to_owned()])).await;
    let http = reqwest::Client::new();
    let preflight = |origin: &'static str| {
        http.request(
            reqwest::Method::OPTIONS,
            format!("{}/auth/2fa/enable", proxy.url),
        )
        .header(ORIGIN, origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
    };
    let ok = preflight(APP).await.expect("preflight");
    assert!(ok.status().is_success());
    assert_eq!(ok.headers()["access-control-allow-origin"], APP);
    assert!(
        ok.headers()
            .get("access-control-allow-credentials")
            .is_none()
    );
    let evil = preflight("https://evil.example").await.expect("preflight");
    assert!(evil.headers().get("access-control-allow-origin").is_none());
    let res = http
        .get(format!("{}/auth/fooBar?identity=a%40b.co", proxy.url))
        .header(ORIGIN, "https://evil.example")
        .send()
        .await
        .expect("send");
    assert!(res.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn rate_limit_per_client_ip() {
    let (server, proxy) = stack_with(|b| {
        b.rate_limit(RateLimit {
            per_second: 0.01,
            burst: 2,
        })
    })
    .await;
    let http = reqwest::Client::new();
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let res = http
            .get(format!("{}/auth/fooBar?identity=a%40b.co", proxy.url))
            .send()
            .await
            .expect("send");
        statuses.push(res.status().as_u16());
        if res.status() == 429 {
            let retry: u64 = res.headers()["retry-after"]
                .to_str()
                .expect("ascii")
                .parse()
                .expect("seconds");
            assert!(retry >= 1);
            let v: Value = res.json().await.expect("json");
            assert_envelope(&v, "rate_limited");
            assert_eq!(v["retryable"], true);
        }
    }
    assert_eq!(statuses, [200, 200, 429]);
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn the_layer_inside_an_application_router() {
    let server = authflow_mock::MockServer::start().await.expect("mock");
    let config = ProxyConfig::builder(server.base_url(), server.api_key())
        .build()
        .expect("config");
    let app = Router::new()
        .route("/", get(|| async { "my app" }))
        .layer(ProxyLayer::new(config).expect("layer"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(listener, app, ServeOptions::default(), async {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();
    let home = http
        .get(format!("http://{addr}/"))
        .send()
        .await
        .expect("home");
    assert_eq!(home.text().await.expect("text"), "my app");
    let fb = http
        .get(format!("http://{addr}/auth/fooBar?identity=a%40b.co"))
        .send()
        .await
        .expect("fooBar");
    assert_eq!(fb.status(), 200);
    let bytes = fb.bytes().await.expect("bytes");
    assert_no_key(&bytes, &server.api_key());
    let nope = http
        .get(format!("http://{addr}/auth/nope"))
        .send()
        .await
        .expect("nope");
    assert_eq!(nope.status(), 404);
    assert_envelope(&nope.json().await.expect("json"), "not_found");
    assert_eq!(server.requests().len(), 1);
    let _ = stop.send(());
    tokio::time::sleep(Duration::from_millis(10)).await;
}
