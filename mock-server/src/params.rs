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
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(|t| t.trim().to_owned());
        let mut map = match route.params {
            Encoding::Query => parse_query(req.uri().query().unwrap_or(""))?,
            Encoding::JsonBody => {
                let bytes = axum::body::to_bytes(req.into_body(), MAX_BODY)
                    .await
                    .map_err(|_| {
                        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large")
                    })?;
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
                return Err(ApiError::bad_request(format!(
                    "Unknown parameter: {}",
                    printable(key)
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

fn parse_query(query: &str) -> Result<Map<String, Value>, ApiError> {
    let mut map = Map::new();
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        if map
            .insert(k.clone().into_owned(), Value::String(v.into_owned()))
            .is_some()
        {
            return Err(ApiError::bad_request(format!(
                "Duplicate parameter: {}",
                printable(&k)
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

/// A parameter name made safe to echo: printable ASCII, at most 40 chars.
fn printable(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(40)
        .collect()
}
