//! The request-parameter extractor: query string for GET routes, JSON body
//! for POST routes, checked against the route table, with AuthFlow's
//! `{"message"}` errors for every rejection.

use axum::body::Body;
use axum::extract::FromRequest;
use axum::http::{Method, Request, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use authflow::api::routes::{self, Params as Encoding, Route};

use crate::error::ApiError;

/// Largest accepted body.
pub const MAX_BODY: usize = 64 * 1024;

/// A route's parsed parameters, plus the `api_key` if one was sent and the
/// bearer token of an `Authorization` header.
#[derive(Debug)]
pub struct Params<T> {
    /// The typed parameters.
    pub value: T,
    /// The organization key (query or body, where the route takes it).
    pub api_key: Option<String>,
    /// `Authorization: Bearer …`, if present.
    pub bearer: Option<String>,
    /// The matched route.
    pub route: &'static Route,
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request<Body>, _state: &S) -> Result<Self, ApiError> {
        let method = match *req.method() {
            Method::GET => routes::Method::Get,
            Method::POST => routes::Method::Post,
            Method::PUT => routes::Method::Put,
            Method::PATCH => routes::Method::Patch,
            Method::DELETE => routes::Method::Delete,
            _ => {
                return Err(ApiError::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "Method not allowed",
                ));
            }
        };
        let route = routes::match_path(method, req.uri().path())
            .ok_or_else(|| ApiError::not_found("Not found"))?;
        let bearer = req
            .headers()
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                // The scheme name is case-insensitive (RFC 9110 §11.1).
                let (scheme, token) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then_some(token)
            })
            .map(|t| t.trim().to_owned());
        let mut map = match route.params {
            Encoding::Query => parse_query(route, req.uri().query().unwrap_or(""))?,
            Encoding::JsonBody => {
                let bytes = axum::body::to_bytes(req.into_body(), MAX_BODY)
                    .await
                    .map_err(body_error)?;
                parse_body(&bytes)?
            }
        };
        let takes_key = route.api_key_placement() != routes::KeyPlacement::None;
        let api_key = if takes_key {
            match map.remove("api_key") {
                Some(Value::String(k)) => Some(k),
                Some(_) => return Err(ApiError::bad_request("Invalid parameter type: api_key")),
                None => None,
            }
        } else {
            None
        };
        for key in map.keys() {
            if !route.fields.iter().any(|f| f.name == key) {
                return Err(ApiError::bad_request(named(
                    "Unknown parameter",
                    route,
                    key,
                )));
            }
        }
        let missing_required =
            route
                .fields
                .iter()
                .filter(|f| f.required)
                .any(|f| match map.get(f.name) {
                    None | Some(Value::Null) => true,
                    Some(Value::String(s)) => s.trim().is_empty(),
                    _ => false,
                });
        if missing_required || (takes_key && api_key.as_deref().is_none_or(|k| k.trim().is_empty()))
        {
            return Err(ApiError::missing_fields());
        }
        // Optional fields sent empty count as absent.
        map.retain(|_, v| !matches!(v, Value::String(s) if s.is_empty()));
        let value = serde_json::from_value(Value::Object(map)).map_err(|e| {
            ApiError::bad_request(format!(
                "Invalid parameters: {}",
                authflow::sanitize::strip_quoted(&e.to_string())
            ))
        })?;
        Ok(Params {
            value,
            api_key,
            bearer,
            route,
        })
    }
}

fn parse_query(route: &Route, query: &str) -> Result<Map<String, Value>, ApiError> {
    let mut map = Map::new();
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        if map
            .insert(k.clone().into_owned(), Value::String(v.into_owned()))
            .is_some()
        {
            return Err(ApiError::bad_request(named(
                "Duplicate parameter",
                route,
                &k,
            )));
        }
    }
    Ok(map)
}

fn parse_body(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request("Request body must be a JSON object")),
        Err(_) => Err(ApiError::bad_request("Malformed JSON body")),
    }
}

/// `what: NAME` when `name` is `api_key` or a documented field of the route
/// (ignoring case), else just `what`: an arbitrary name may be a secret sent
/// without its `name=` (`?af_…`), and must not be echoed.
fn named(what: &str, route: &Route, name: &str) -> String {
    let known = name.eq_ignore_ascii_case("api_key")
        || route
            .fields
            .iter()
            .any(|f| f.name.eq_ignore_ascii_case(name));
    if known {
        format!("{what}: {name}")
    } else {
        what.to_owned()
    }
}

/// Map a body-read failure: 413 only when the size limit was hit, 400 for
/// anything else (a malformed chunked body, a reset connection).
pub(crate) fn body_error(e: axum::Error) -> ApiError {
    let inner = e.into_inner();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(inner.as_ref());
    while let Some(err) = source {
        if err.is::<http_body_util::LengthLimitError>() {
            return ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large");
        }
        source = err.source();
    }
    ApiError::bad_request("Malformed request body")
}
