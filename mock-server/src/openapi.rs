//! The OpenAPI 3.1 document of every served route, generated at start-up:
//! component schemas from the wire types (`utoipa::ToSchema`, feature
//! `openapi` of the `authflow` crate), paths and parameters from the route
//! table. Served at `GET /openapi.json`.

use std::collections::BTreeMap;

use authflow::api::authflow::*;
use authflow::api::routes::{self, KeyPlacement, Method, Params, Route};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

/// How a route's success response is documented.
enum Success {
    /// JSON body of this component.
    Json(String),
    /// Bare status, no documented body.
    Empty,
    /// An HTML page.
    Html,
}

struct Doc {
    route: &'static Route,
    request: String,
    success: Success,
    errors: &'static [u16],
}

fn add<T: ToSchema>(schemas: &mut BTreeMap<String, Value>) -> String {
    let name = T::name().into_owned();
    let value = serde_json::to_value(T::schema()).unwrap_or(Value::Null);
    schemas.insert(name.clone(), value);
    let mut nested = Vec::new();
    T::schemas(&mut nested);
    for (n, s) in nested {
        schemas.insert(n, serde_json::to_value(s).unwrap_or(Value::Null));
    }
    name
}

/// Build the document. `server_url` goes in `servers`.
pub fn document(server_url: &str) -> Value {
    let mut s = BTreeMap::new();
    let token = add::<TokenResponse>(&mut s);
    let success = add::<SuccessResponse>(&mut s);
    let message = add::<MessageResponse>(&mut s);
    let codes = add::<RecoveryCodesResponse>(&mut s);
    let docs = vec![
        Doc {
            route: &routes::FOOBAR,
            request: add::<FooBarRequest>(&mut s),
            success: Success::Json(token.clone()),
            errors: &[400, 401],
        },
        Doc {
            route: &routes::SIGN_UP,
            request: add::<SignUpRequest>(&mut s),
            success: Success::Json(token.clone()),
            errors: &[400, 401, 409],
        },
        Doc {
            route: &routes::LOGIN,
            request: add::<LoginRequest>(&mut s),
            success: Success::Json(add::<LoginResponse>(&mut s)),
            errors: &[400, 401, 404, 429],
        },
        Doc {
            route: &routes::VALIDATE,
            request: add::<ValidateRequest>(&mut s),
            success: Success::Empty,
            errors: &[400, 401],
        },
        Doc {
            route: &routes::ME,
            request: add::<MeRequest>(&mut s),
            success: Success::Json(add::<Profile>(&mut s)),
            errors: &[400, 401],
        },
        Doc {
            route: &routes::LOGOUT,
            request: add::<LogoutRequest>(&mut s),
            success: Success::Json(success.clone()),
            errors: &[400, 401],
        },
        Doc {
            route: &routes::DELETE_USER,
            request: add::<DeleteUserRequest>(&mut s),
            success: Success::Json(message.clone()),
            errors: &[400, 401, 403, 404],
        },
        Doc {
            route: &routes::FORGOT_PASSWORD,
            request: add::<ForgotPasswordRequest>(&mut s),
            success: Success::Json(message.clone()),
            errors: &[400, 401],
        },
        Doc {
            route: &routes::RESET_PASSWORD,
            request: add::<ResetPasswordRequest>(&mut s),
            success: Success::Json(success.clone()),
            errors: &[400, 401],
        },
        Doc {
            route: &routes::CHANGE_PASSWORD,
            request: add::<ChangePasswordRequest>(&mut s),
            success: Success::Empty,
            errors: &[400, 401],
        },
        Doc {
            route: &routes::VERIFY_EMAIL,
            request: add::<VerifyEmailRequest>(&mut s),
            success: Success::Html,
            errors: &[400, 401],
        },
        Doc {
            route: &routes::RESEND_VERIFY_EMAIL,
            request: add::<ResendVerifyEmailRequest>(&mut s),
            success: Success::Json(add::<StatusMessageResponse>(&mut s)),
            errors: &[400, 401, 404],
        },
        Doc {
            route: &routes::TWO_FACTOR_ENABLE,
            request: add::<TwoFactorEnableRequest>(&mut s),
            success: Success::Json(add::<TwoFactorEnableResponse>(&mut s)),
            errors: &[400, 401, 403, 409],
        },
        Doc {
            route: &routes::TWO_FACTOR_VERIFY_SETUP,
            request: add::<TwoFactorVerifySetupRequest>(&mut s),
            success: Success::Json(codes.clone()),
            errors: &[400, 401, 403],
        },
        Doc {
            route: &routes::TWO_FACTOR_DISABLE,
            request: add::<TwoFactorDisableRequest>(&mut s),
            success: Success::Json(success.clone()),
            errors: &[400, 401, 403],
        },
        Doc {
            route: &routes::TWO_FACTOR_VERIFY,
            request: add::<TwoFactorVerifyRequest>(&mut s),
            success: Success::Json(token.clone()),
            errors: &[400, 401],
        },
        Doc {
            route: &routes::TWO_FACTOR_BACKUP_EMAIL,
            request: add::<TwoFactorBackupEmailRequest>(&mut s),
            success: Success::Json(message.clone()),
            errors: &[400, 401],
        },
        Doc {
            route: &routes::TWO_FACTOR_VERIFY_EMAIL_OTP,
            request: add::<TwoFactorVerifyEmailOtpRequest>(&mut s),
            success: Success::Json(token.clone()),
            errors: &[400, 401],
        },
        Doc {
            route: &routes::TWO_FACTOR_RECOVERY_CODES,
            request: add::<TwoFactorRecoveryCodesRequest>(&mut s),
            success: Success::Json(codes.clone()),
            errors: &[400, 401, 403],
        },
        Doc {
            route: &routes::TWO_FACTOR_VERIFY_RECOVERY,
            request: add::<TwoFactorVerifyRecoveryRequest>(&mut s),
            success: Success::Json(add::<RecoveryTokenResponse>(&mut s)),
            errors: &[400, 401],
        },
    ];
    let error = add::<ErrorBody>(&mut s);

    let mut paths = Map::new();
    for d in &docs {
        paths.insert(
            d.route.path.to_owned(),
            json!({ method_key(d.route.method): operation(d, &s, &error) }),
        );
    }
    paths.insert("/.well-known/jwks.json".into(), json!({"get": simple("jwks", "The RS512 public keys that verify session tokens", "object")}));
    paths.insert(
        "/openapi.json".into(),
        json!({"get": simple("openapi", "This document", "object")}),
    );
    control_paths(&mut paths);
    flow_paths(&mut paths, &mut s);
    aidenid_paths(&mut paths, &mut s);

    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "AuthFlow and Flow admin (authflow-mock)",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The AuthFlow /auth API and the Flow admin /api/admin/flows API as served by authflow-mock, plus its test-control API under /__mock/. Generated from the authflow crate's wire types and route table.",
        },
        "servers": [{ "url": server_url }],
        "paths": paths,
        "components": {
            "schemas": s,
            "securitySchemes": {
                "sessionBearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" },
                "flowsAdminBearer": { "type": "http", "scheme": "bearer", "description": "Flow admin token (read-only tokens may only read)" },
                "agentKey": { "type": "http", "scheme": "bearer", "description": "AIdenID agent key (aid_…), sent with X-Org-Id and X-Project-Id" },
                "consumerSession": { "type": "http", "scheme": "bearer", "description": "AIdenID consumer session (sess_…)" },
            },
        },
    })
}

fn method_key(m: Method) -> &'static str {
    match m {
        Method::Get => "get",
        Method::Post => "post",
        Method::Put => "put",
        Method::Patch => "patch",
        Method::Delete => "delete",
    }
}

fn api_key_schema() -> Value {
    json!({ "type": "string", "pattern": "^af_[0-9a-f]{32}$", "description": "Organization API key" })
}

fn operation(d: &Doc, schemas: &BTreeMap<String, Value>, error: &str) -> Value {
    let r = d.route;
    let mut op = json!({
        "operationId": r.name.replace('/', "_"),
        "summary": format!("{} {}", r.method, r.path),
        "tags": [r.path.split('/').nth(2).filter(|g| *g == "2fa").map_or("session", |_| "two-factor")],
    });
    let request = schemas.get(&d.request).cloned().unwrap_or(Value::Null);
    match r.params {
        Params::Query => {
            let required: Vec<&str> = request["required"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let mut params: Vec<Value> = request["properties"]
                .as_object()
                .map(|props| {
                    props
                        .iter()
                        .map(|(name, schema)| json!({ "name": name, "in": "query", "required": required.contains(&name.as_str()), "schema": schema }))
                        .collect()
                })
                .unwrap_or_default();
            if r.api_key_placement() == KeyPlacement::Query {
                params.push(json!({ "name": "api_key", "in": "query", "required": true, "schema": api_key_schema() }));
            }
            op["parameters"] = Value::Array(params);
        }
        Params::JsonBody => {
            let reference = json!({ "$ref": format!("#/components/schemas/{}", d.request) });
            let schema = if r.api_key_placement() == KeyPlacement::Body {
                json!({ "allOf": [reference, { "type": "object", "required": ["api_key"], "properties": { "api_key": api_key_schema() } }] })
            } else {
                reference
            };
            op["requestBody"] = json!({ "required": true, "content": { "application/json": { "schema": schema } } });
        }
    }
    if r.credential == routes::Credential::SessionBearer {
        op["security"] = json!([{ "sessionBearer": [] }]);
    }
    let mut responses = Map::new();
    responses.insert(
        "200".into(),
        match &d.success {
            Success::Json(name) => json!({ "description": "Success", "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{name}") } } } }),
            Success::Empty => json!({ "description": "Success (no documented body)" }),
            Success::Html => json!({ "description": "HTML verification page", "content": { "text/html": { "schema": { "type": "string" } } } }),
        },
    );
    for status in d.errors.iter().chain(&[413]) {
        let description = match status {
            400 => "Missing or invalid parameters",
            401 => "Invalid api_key, token, session, password or code",
            403 => "Not allowed",
            404 => "Not found",
            409 => "Already exists",
            413 => "Request body over 64 KiB",
            429 => "Too many failed attempts (see Retry-After)",
            _ => "Error",
        };
        let content = if r.name == "verify-email" && *status == 401 {
            json!({ "text/html": { "schema": { "type": "string" } } })
        } else {
            json!({ "application/json": { "schema": { "$ref": format!("#/components/schemas/{error}") } } })
        };
        responses.insert(
            status.to_string(),
            json!({ "description": description, "content": content }),
        );
    }
    op["responses"] = Value::Object(responses);
    op
}

fn simple(id: &str, summary: &str, ty: &str) -> Value {
    json!({
        "operationId": id,
        "summary": summary,
        "responses": { "200": { "description": "Success", "content": { "application/json": { "schema": { "type": ty } } } } },
    })
}

fn control_paths(paths: &mut Map<String, Value>) {
    let mut emails = simple(
        "mock_emails",
        "Captured emails (all, or to one address), newest last",
        "array",
    );
    emails["tags"] = json!(["test-control"]);
    emails["parameters"] =
        json!([{ "name": "to", "in": "query", "required": false, "schema": { "type": "string" } }]);
    paths.insert("/__mock/emails".into(), json!({ "get": emails }));
    let mut advance = simple(
        "mock_clock_advance",
        "Move the mock clock forward",
        "object",
    );
    advance["requestBody"] = json!({ "required": true, "content": { "application/json": { "schema": {
        "type": "object", "required": ["seconds"], "additionalProperties": false,
        "properties": { "seconds": { "type": "number", "minimum": 0 } } } } } });
    paths.insert("/__mock/clock/advance".into(), json!({ "post": advance }));
    paths.insert("/__mock/reset".into(), json!({ "post": simple("mock_reset", "Forget all state; re-seed organizations", "object") }));
    paths.insert(
        "/__mock/requests".into(),
        json!({ "get": simple("mock_requests", "The request journal, secrets redacted", "array") }),
    );
    let mut fault = simple(
        "mock_faults_set",
        "Inject latency or a forced status on a route",
        "object",
    );
    fault["requestBody"] = json!({ "required": true, "content": { "application/json": { "schema": {
        "type": "object", "required": ["route"],
        "properties": { "route": { "type": "string" }, "status": { "type": "integer" }, "times": { "type": "integer" }, "latency_ms": { "type": "integer" } } } } } });
    paths.insert(
        "/__mock/faults".into(),
        json!({ "post": fault, "delete": simple("mock_faults_clear", "Clear every fault", "object") }),
    );
}

/// The error envelope of the Flow admin (and AIdenID) APIs.
fn envelope_schema() -> Value {
    json!({
        "type": "object",
        "required": ["error", "requestId", "timestamp", "path", "retryable"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "details"],
                "properties": {
                    "code": { "type": "string" },
                    "message": { "type": "string" },
                    "details": { "type": "object", "required": ["requestId"], "properties": { "requestId": { "type": "string" } } },
                },
            },
            "requestId": { "type": "string" },
            "timestamp": { "type": "string", "format": "date-time" },
            "path": { "type": "string" },
            "retryable": { "type": "boolean" },
        },
    })
}

fn flow_paths(paths: &mut Map<String, Value>, s: &mut BTreeMap<String, Value>) {
    use authflow::api::flows::{
        CompileResponse, CreateFlowRequest, Flow, FlowCreated, FlowList, StatusChangeResponse,
        UpdateFlowRequest, ValidationReport,
    };
    s.insert("ErrorEnvelope".into(), envelope_schema());
    let list = add::<FlowList>(s);
    let flow = add::<Flow>(s);
    let created = add::<FlowCreated>(s);
    let create = add::<CreateFlowRequest>(s);
    let update = add::<UpdateFlowRequest>(s);
    let report = add::<ValidationReport>(s);
    let compiled = add::<CompileResponse>(s);
    let status = add::<StatusChangeResponse>(s);
    let json_of = |name: &str| json!({ "application/json": { "schema": { "$ref": format!("#/components/schemas/{name}") } } });
    for r in routes::routes_of(routes::Api::Flows) {
        let (code, body, request, errors): (u16, Value, Option<&str>, &[u16]) = match r.name {
            "listFlows" => (200, json_of(&list), None, &[400]),
            "getFlow" => (200, json_of(&flow), None, &[404]),
            "createFlow" => (201, json_of(&created), Some(&create), &[400, 409, 413]),
            "updateFlow" => (200, json_of(&flow), Some(&update), &[400, 404, 413]),
            "deleteFlow" => (204, Value::Null, None, &[404, 409]),
            "validateFlow" => (200, json_of(&report), None, &[404]),
            "compileFlow" => (200, json_of(&compiled), None, &[404, 422]),
            "activateFlow" | "deactivateFlow" => (200, json_of(&status), None, &[404, 409]),
            "flowGraphMermaid" => (
                200,
                json!({ "text/vnd.mermaid": { "schema": { "type": "string" } } }),
                None,
                &[404],
            ),
            _ => continue,
        };
        let mut responses = Map::new();
        let mut ok = json!({ "description": "Success" });
        if !body.is_null() {
            ok["content"] = body;
        }
        responses.insert(code.to_string(), ok);
        for e in [401, 403].iter().chain(errors) {
            let description = match e {
                400 => "Invalid parameters or body",
                401 => "Missing or invalid bearer token",
                403 => "The token may not do this (read-only token on a mutation)",
                404 => "Flow not found",
                409 => "Conflict with the flow's state or name",
                413 => "Body over 4 MiB",
                422 => "The graph is invalid (error.details.errors lists why)",
                _ => "Error",
            };
            responses.insert(
                e.to_string(),
                json!({ "description": description, "content": json_of("ErrorEnvelope") }),
            );
        }
        let mut params = Vec::new();
        if r.path.contains("{id}") {
            params.push(json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }));
        }
        if r.name == "listFlows" {
            params.push(json!({ "name": "limit", "in": "query", "required": false, "schema": { "type": "integer", "minimum": 1, "maximum": 100, "default": 20 } }));
            params.push(json!({ "name": "cursor", "in": "query", "required": false, "schema": { "type": "string" } }));
            params.push(json!({ "name": "type", "in": "query", "required": false, "schema": { "$ref": "#/components/schemas/FlowType" } }));
            params.push(json!({ "name": "status", "in": "query", "required": false, "schema": { "$ref": "#/components/schemas/FlowStatus" } }));
        }
        let mut op = json!({
            "operationId": r.name,
            "summary": format!("{} {}", r.method, r.path),
            "tags": ["flows"],
            "security": [{ "flowsAdminBearer": [] }],
            "parameters": params,
            "responses": responses,
        });
        if let Some(req) = request {
            op["requestBody"] = json!({ "required": true, "content": json_of(req) });
        }
        let entry = paths.entry(r.path.to_owned()).or_insert_with(|| json!({}));
        entry[method_key(r.method)] = op;
    }
}

fn aidenid_paths(paths: &mut Map<String, Value>, s: &mut BTreeMap<String, Value>) {
    use authflow::api::aidenid::{
        ConsumerSessionInfo, ConsumerSignupRequest, ConsumerVerifyRequest, CreateIdentityRequest,
        EmailSent, Identity, IdentityList, InboxEventData, MessageList, NotificationList,
        UpgradeResponse,
    };
    let identity = add::<Identity>(s);
    let identities = add::<IdentityList>(s);
    let create = add::<CreateIdentityRequest>(s);
    let messages = add::<MessageList>(s);
    let email_req = add::<ConsumerSignupRequest>(s);
    let sent = add::<EmailSent>(s);
    let verify = add::<ConsumerVerifyRequest>(s);
    let session = add::<ConsumerSessionInfo>(s);
    let notifications = add::<NotificationList>(s);
    let upgrade = add::<UpgradeResponse>(s);
    let event = add::<InboxEventData>(s);
    let run = add::<authflow::api::reliability::Run>(s);
    let runs = add::<authflow::api::reliability::RunList>(s);
    let run_req = add::<authflow::api::reliability::CreateRunRequest>(s);
    let secret = add::<authflow::api::reliability::RunSecret>(s);
    s.insert(
        "LabelRequest".into(),
        json!({ "type": "object", "required": ["label"], "additionalProperties": false,
                "properties": { "label": { "type": "string", "minLength": 1, "maxLength": 128 } } }),
    );
    let json_of = |name: &str| json!({ "application/json": { "schema": { "$ref": format!("#/components/schemas/{name}") } } });
    let page_params = || {
        vec![
            json!({ "name": "limit", "in": "query", "required": false, "schema": { "type": "integer", "minimum": 1, "maximum": 100, "default": 20 } }),
            json!({ "name": "offset", "in": "query", "required": false, "schema": { "type": "integer", "minimum": 0, "default": 0 } }),
        ]
    };
    for r in routes::routes_of(routes::Api::AidenId).chain(routes::routes_of(routes::Api::Consumer))
    {
        let (code, body, request, errors): (u16, Value, Option<&str>, &[u16]) = match r.name {
            "createIdentity" => (
                201,
                json_of(&identity),
                Some(&create),
                &[400, 401, 403, 409],
            ),
            "getIdentity" => (200, json_of(&identity), None, &[401, 403, 404]),
            "listIdentities" => (200, json_of(&identities), None, &[400, 401, 403]),
            "squashIdentity" => (200, json_of(&identity), None, &[400, 401, 403, 404, 409]),
            "listIdentityMessages" => (200, json_of(&messages), None, &[400, 401, 403, 404]),
            "createPasswordResetRun" | "createInviteRun" => (
                201,
                json_of(&run),
                Some(&run_req),
                &[400, 401, 403, 404, 409, 503],
            ),
            "getRun" => (200, json_of(&run), None, &[401, 403, 404]),
            "listRuns" => (200, json_of(&runs), None, &[400, 401, 403]),
            "getRunSecret" => (200, json_of(&secret), None, &[401, 403, 404, 409]),
            "consumerSignup" => (200, json_of(&sent), Some(&email_req), &[400, 409]),
            "consumerLogin" => (200, json_of(&sent), Some(&email_req), &[400, 404, 409]),
            "consumerVerify" => (200, json_of(&session), Some(&verify), &[400, 401, 409]),
            "consumerInbox" => (
                200,
                json!({ "text/event-stream": { "schema": { "type": "string", "description": format!("events inbound.received and extraction.completed; data: #/components/schemas/{event}") } } }),
                None,
                &[400, 401, 403],
            ),
            "consumerListIdentities" => (200, json_of(&identities), None, &[400, 401, 403]),
            "consumerCreateIdentity" => (
                201,
                json_of(&identity),
                Some("LabelRequest"),
                &[400, 401, 403, 409],
            ),
            "consumerNotifications" => (200, json_of(&notifications), None, &[400, 401, 403]),
            "consumerUpgrade" => (200, json_of(&upgrade), None, &[400, 401, 403, 409]),
            _ => continue,
        };
        let mut responses = Map::new();
        responses.insert(
            code.to_string(),
            json!({ "description": "Success", "content": body }),
        );
        for e in errors {
            let description = match e {
                400 => "Invalid input, or missing Idempotency-Key on a mutation",
                401 => "Missing or invalid credential, invalid magic link, expired session",
                403 => "Lacking scope, scope mismatch, or tier limit",
                404 => "Not found",
                409 => {
                    "Conflict (already squashed, already registered, already upgraded, Idempotency-Key reused)"
                }
                _ => "Error",
            };
            responses.insert(
                e.to_string(),
                json!({ "description": description, "content": json_of("ErrorEnvelope") }),
            );
        }
        let mut params = Vec::new();
        if r.path.contains("{id}") {
            params.push(json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }));
        }
        if r.fields.iter().any(|f| f.name == "status") {
            params.push(json!({ "name": "status", "in": "query", "required": false, "schema": { "$ref": "#/components/schemas/RunStatus" } }));
        }
        if r.fields.iter().any(|f| f.name == "limit") {
            params.extend(page_params());
        }
        if r.idempotency_key {
            params.push(json!({ "name": "Idempotency-Key", "in": "header", "required": true, "schema": { "type": "string", "maxLength": 255 } }));
        }
        if r.name == "consumerInbox" {
            params.push(json!({ "name": "Last-Event-ID", "in": "header", "required": false, "schema": { "type": "string" } }));
        }
        let security = match r.credential {
            routes::Credential::AgentKey => json!([{ "agentKey": [] }]),
            routes::Credential::ConsumerSession => json!([{ "consumerSession": [] }]),
            _ => json!([]),
        };
        let mut op = json!({
            "operationId": r.name,
            "summary": format!("{} {}", r.method, r.path),
            "tags": [if r.api == routes::Api::Consumer { "consumer" } else { "identities" }],
            "security": security,
            "parameters": params,
            "responses": responses,
        });
        if let Some(req) = request {
            op["requestBody"] = json!({ "required": true, "content": json_of(req) });
        }
        let entry = paths.entry(r.path.to_owned()).or_insert_with(|| json!({}));
        entry[method_key(r.method)] = op;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_of_the_table_is_documented() {
        let doc = document("http://127.0.0.1:1");
        assert_eq!(doc["openapi"], "3.1.0");
        for r in routes::ROUTES {
            let op = &doc["paths"][r.path][method_key(r.method)];
            assert!(op.is_object(), "{} missing", r.path);
            let ok = ["200", "201", "204"]
                .iter()
                .any(|c| op["responses"][c].is_object());
            assert!(ok, "{} has no success response", r.path);
        }
        // Query parameters come from the wire types, api_key from the table.
        let login = &doc["paths"]["/auth/login"]["get"]["parameters"];
        let names: Vec<&str> = login
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        for n in ["foobar", "email", "password", "role", "api_key"] {
            assert!(names.contains(&n), "{n} in {names:?}");
        }
        // Every $ref resolves.
        let text = doc.to_string();
        for part in text.split("\"#/components/schemas/").skip(1) {
            let name = &part[..part.find('"').unwrap()];
            assert!(
                doc["components"]["schemas"][name].is_object(),
                "dangling $ref {name}"
            );
        }
    }
}
