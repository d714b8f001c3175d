//! The Flow admin API end to end: SDK (`FlowsClient`) ↔ mock.
//!
//! - both seed examples (the MFA login flow and the social login flow) go
//!   through create → get → update → validate → compile → activate →
//!   deactivate → delete, with the documented response shapes checked on
//!   the raw wire and the typed values checked through the SDK;
//! - every validation code has a failing graph that produces it and only it,
//!   on the server, the same as the SDK's local validation;
//! - 250 flows page through with no gaps or repeats, with filters and totals;
//! - the lifecycle rules (compile refuses invalid graphs, activate needs a
//!   compiled flow, delete refuses an active one, update clears `compiled`),
//!   the admin/read-only tokens, the stored plan and the Mermaid picture.

// In tests a panic is the failure report, helpers included.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use authflow::api::flows::{
    CreateFlowRequest, FlowGraph, FlowStatus, FlowType, IssueCode, ListFlows, NodeKind,
    UpdateFlowRequest,
};
use authflow::{Error, FlowsClient};
use authflow_mock::MockServer;
use futures_util::TryStreamExt;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

/// The document's "Get Flow Details" example flow.
fn mfa_login_seed() -> Value {
    json!({
        "name": "mfa-login",
        "display_name": "MFA Login Flow",
        "description": "Flow with MFA verification after password authentication",
        "type": "login",
        "graph": {
            "nodes": [
                { "id": "start", "type": "start", "position": { "x": 0, "y": 0 } },
                { "id": "identifier", "type": "identifier_input", "config": { "identifier_types": ["email", "username"] }, "position": { "x": 200, "y": 0 } },
                { "id": "password", "type": "password_input", "position": { "x": 400, "y": 0 } },
                { "id": "mfa_check", "type": "condition", "config": { "condition": "user.mfa_enabled" }, "position": { "x": 600, "y": 0 } },
                { "id": "mfa_verify", "type": "mfa_verification", "config": { "methods": ["totp", "sms"] }, "position": { "x": 800, "y": -100 } },
                { "id": "success", "type": "success", "position": { "x": 1000, "y": 0 } }
            ],
            "edges": [
                { "source": "start", "target": "identifier" },
                { "source": "identifier", "target": "password" },
                { "source": "password", "target": "mfa_check" },
                { "source": "mfa_check", "target": "mfa_verify", "condition": "true" },
                { "source": "mfa_check", "target": "success", "condition": "false" },
                { "source": "mfa_verify", "target": "success" }
            ]
        }
    })
}

/// The document's "Create Flow" example.
fn social_login_seed() -> Value {
    json!({
        "name": "social-login",
        "display_name": "Social Login Flow",
        "description": "Login using social providers",
        "type": "login",
        "graph": {
            "nodes": [
                { "id": "start", "type": "start" },
                { "id": "provider_select", "type": "social_provider_select", "config": { "providers": ["google", "github"] } },
                { "id": "success", "type": "success" }
            ],
            "edges": [
                { "source": "start", "target": "provider_select" },
                { "source": "provider_select", "target": "success" }
            ]
        }
    })
}

/// The document's "Update Flow" example body (for the social login flow).
fn social_login_update() -> Value {
    json!({
        "display_name": "Social Login Flow (Updated)",
        "graph": {
            "nodes": [
                { "id": "start", "type": "start" },
                { "id": "provider_select", "type": "social_provider_select", "config": { "providers": ["google", "github", "apple"] } },
                { "id": "success", "type": "success" }
            ],
            "edges": [
                { "source": "start", "target": "provider_select" },
                { "source": "provider_select", "target": "success" }
            ]
        }
    })
}

struct Api {
    server: MockServer,
    http: reqwest::Client,
    flows: FlowsClient,
}

impl Api {
    async fn start() -> Api {
        let server = MockServer::start().await.expect("mock server");
        // Timestamps are compared exactly: time moves only when the test says.
        server.clock().freeze();
        let flows = FlowsClient::builder()
            .token(server.flows_admin_token())
            .base_url(server.base_url())
            .build()
            .expect("flows client");
        Api {
            server,
            http: reqwest::Client::new(),
            flows,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base_url())
    }

    /// A raw request with the admin token; (status, JSON body or Null).
    async fn raw(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> (u16, Value) {
        self.raw_as(&self.server.flows_admin_token(), method, path, body)
            .await
    }

    async fn raw_as(
        &self,
        token: &SecretString,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut rb = self
            .http
            .request(method, self.url(path))
            .bearer_auth(token.expose_secret());
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let resp = rb.send().await.expect("request");
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.expect("body");
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    fn now(&self) -> i64 {
        self.server.clock().now_secs()
    }

    fn advance(&self, secs: u64) {
        self.server.clock().advance(Duration::from_secs(secs));
    }
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

fn api_code(e: &Error) -> (u16, String) {
    match e {
        Error::Api { status, code, .. } => (*status, code.as_str().to_owned()),
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// One seed example through every route, checking documented shapes.
async fn round_trip(api: &Api, seed: Value, update: Value) {
    use reqwest::Method;
    let name = seed["name"].as_str().unwrap().to_owned();
    let id = format!("flow_{}", name.replace('-', "_"));

    // Create: 201 with exactly the documented fields.
    let created_at = api.now();
    let (status, created) = api.raw(Method::POST, "/api/admin/flows", Some(&seed)).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        created,
        json!({
            "id": id, "name": name, "display_name": seed["display_name"], "type": "login",
            "status": "draft", "version": 1, "compiled": false, "created_at": created_at,
        })
    );

    // Get: the graph comes back as sent; the documented fields, no
    // compiled_at before a compile.
    api.advance(60);
    let flow = api.flows.get(&id).await.expect("get").into_inner();
    assert_eq!(serde_json::to_value(&flow.graph).unwrap(), seed["graph"]);
    assert_eq!(flow.summary.status, FlowStatus::Draft);
    assert!(!flow.compiled && flow.compiled_at.is_none());
    let (_, raw) = api
        .raw(Method::GET, &format!("/api/admin/flows/{id}"), None)
        .await;
    assert_eq!(
        keys(&raw),
        set(&[
            "id",
            "name",
            "display_name",
            "description",
            "type",
            "status",
            "version",
            "graph",
            "compiled",
            "created_at",
            "updated_at"
        ])
    );

    // Update (partial): the display name and graph change, the description stays.
    api.advance(60);
    let changes: UpdateFlowRequest = serde_json::from_value(update.clone()).unwrap();
    let updated = api
        .flows
        .update(&id, changes)
        .await
        .expect("update")
        .into_inner();
    assert_eq!(updated.summary.display_name, update["display_name"]);
    assert_eq!(
        serde_json::to_value(&updated.graph).unwrap(),
        update["graph"]
    );
    assert_eq!(updated.description.as_deref(), seed["description"].as_str());
    assert_eq!(updated.summary.updated_at, Some(api.now()));
    assert_eq!(updated.summary.created_at, created_at);
    assert_eq!(
        updated.summary.version, 1,
        "update does not bump the version"
    );

    // Validate: the document's success shape (no errors, no warnings here).
    let (status, report) = api
        .raw(
            Method::POST,
            &format!("/api/admin/flows/{id}/validate"),
            None,
        )
        .await;
    assert_eq!((status, &report), (200, &json!({ "valid": true })));

    // Compile: exactly the documented fields; version 2; compiled_at now.
    api.advance(3600);
    let compiled_at = api.now();
    let (status, compiled) = api
        .raw(
            Method::POST,
            &format!("/api/admin/flows/{id}/compile"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{compiled}");
    assert_eq!(
        compiled,
        json!({ "id": id, "compiled": true, "compiled_at": compiled_at, "version": 2 })
    );
    let (_, raw) = api
        .raw(Method::GET, &format!("/api/admin/flows/{id}"), None)
        .await;
    assert_eq!(raw["compiled"], json!(true));
    assert_eq!(raw["compiled_at"], json!(compiled_at));
    // The document's GET example shape, once compiled.
    assert_eq!(
        keys(&raw),
        set(&[
            "id",
            "name",
            "display_name",
            "description",
            "type",
            "status",
            "version",
            "graph",
            "compiled",
            "compiled_at",
            "created_at",
            "updated_at"
        ])
    );
    // The stored plan is the SDK's compile of the same graph.
    let (status, plan) = api
        .raw(Method::GET, &format!("/__mock/flows/{id}/plan"), None)
        .await;
    assert_eq!(status, 200);
    let local = updated.graph.compile().expect("valid graph compiles");
    assert_eq!(plan, serde_json::to_value(&local).unwrap());

    // Activate: the documented shape.
    api.advance(86_400);
    let activated_at = api.now();
    let (status, activated) = api
        .raw(
            Method::POST,
            &format!("/api/admin/flows/{id}/activate"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        activated,
        json!({ "id": id, "status": "active", "activated_at": activated_at })
    );
    // Active flows cannot be deleted.
    let err = api.flows.delete(&id).await.unwrap_err();
    assert_eq!(api_code(&err), (409, "flow_active".into()));

    // Deactivate: the documented shape.
    api.advance(86_400);
    let deactivated_at = api.now();
    let (status, deactivated) = api
        .raw(
            Method::POST,
            &format!("/api/admin/flows/{id}/deactivate"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        deactivated,
        json!({ "id": id, "status": "inactive", "deactivated_at": deactivated_at })
    );
    let flow = api.flows.get(&id).await.unwrap().into_inner();
    assert_eq!(flow.summary.status, FlowStatus::Inactive);
    assert_eq!(flow.summary.version, 2);

    // Delete: 204, then gone.
    let resp = api
        .http
        .delete(api.url(&format!("/api/admin/flows/{id}")))
        .bearer_auth(api.server.flows_admin_token().expose_secret())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    assert!(resp.bytes().await.unwrap().is_empty());
    let err = api.flows.get(&id).await.unwrap_err();
    assert_eq!(api_code(&err), (404, "flow_not_found".into()));
    let err = api.flows.delete(&id).await.unwrap_err();
    assert_eq!(api_code(&err), (404, "flow_not_found".into()));
}

#[tokio::test]
async fn the_mfa_login_example_round_trips_through_every_route() {
    let api = Api::start().await;
    let mut update = mfa_login_seed();
    let update = json!({
        "display_name": "MFA Login Flow (TOTP only)",
        "graph": {
            "nodes": update["graph"]["nodes"].as_array_mut().map(|nodes| {
                nodes[4]["config"] = json!({ "methods": ["totp"] });
                nodes.clone()
            }),
            "edges": update["graph"]["edges"],
        }
    });
    round_trip(&api, mfa_login_seed(), update).await;
}

#[tokio::test]
async fn the_social_login_example_round_trips_through_every_route() {
    let api = Api::start().await;
    round_trip(&api, social_login_seed(), social_login_update()).await;
}

#[tokio::test]
async fn the_sdk_covers_the_same_lifecycle_with_typed_values() {
    let api = Api::start().await;
    let graph = FlowGraph::builder()
        .node("start", NodeKind::Start)
        .node("identifier", NodeKind::IdentifierInput)
        .config("identifier", json!({ "identifier_types": ["email"] }))
        .node("otp", NodeKind::OtpInput)
        .node("success", NodeKind::Success)
        .edge("start", "identifier")
        .edge("identifier", "otp")
        .edge("otp", "success")
        .build();
    assert!(graph.validate().valid, "validated locally first");
    let created = api
        .flows
        .create(&CreateFlowRequest {
            name: "passwordless".into(),
            display_name: "Passwordless".into(),
            description: None,
            flow_type: FlowType::Login,
            graph: graph.clone(),
        })
        .await
        .expect("create");
    assert_eq!(created.status(), 201);
    assert!(created.request_id().is_some_and(|r| r.starts_with("req_")));
    let id = created.summary.id.clone();
    assert_eq!(id, "flow_passwordless");
    assert_eq!(created.summary.version, 1);
    assert!(!created.compiled);

    let report = api.flows.validate(&id).await.unwrap().into_inner();
    assert_eq!(report, graph.validate(), "server and SDK validate alike");

    // Activate before compile: refused.
    let err = api.flows.activate(&id).await.unwrap_err();
    assert_eq!(api_code(&err), (409, "flow_not_compiled".into()));
    // Deactivate a draft: refused.
    let err = api.flows.deactivate(&id).await.unwrap_err();
    assert_eq!(api_code(&err), (409, "flow_not_active".into()));

    let c1 = api.flows.compile(&id).await.unwrap().into_inner();
    assert_eq!(c1.version, 2);
    // Compiling an unchanged, compiled flow changes nothing.
    api.advance(10);
    let c2 = api.flows.compile(&id).await.unwrap().into_inner();
    assert_eq!(c2, c1);

    // A new graph clears `compiled`; activate is refused until recompiled.
    let mut g2 = graph.clone();
    g2.nodes[2].config = Some(json!({ "length": 8 }));
    let updated = api
        .flows
        .update(
            &id,
            UpdateFlowRequest {
                graph: Some(g2.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .into_inner();
    assert!(!updated.compiled && updated.compiled_at.is_none());
    assert_eq!(updated.summary.version, 2);
    let (status, _) = api
        .raw(
            reqwest::Method::GET,
            &format!("/__mock/flows/{id}/plan"),
            None,
        )
        .await;
    assert_eq!(status, 404, "the old plan is gone with the old graph");
    assert_eq!(
        api_code(&api.flows.activate(&id).await.unwrap_err()),
        (409, "flow_not_compiled".into())
    );
    let c3 = api.flows.compile(&id).await.unwrap().into_inner();
    assert_eq!(c3.version, 3);
    assert_eq!(c3.compiled_at, api.now());

    // Activate twice: the second answers the same activation.
    let a1 = api.flows.activate(&id).await.unwrap().into_inner();
    api.advance(5);
    let a2 = api.flows.activate(&id).await.unwrap().into_inner();
    assert_eq!(a1, a2);
    assert_eq!(a1.status, FlowStatus::Active);

    // The Mermaid picture is the SDK's rendering of the stored graph.
    let mmd = api.flows.mermaid(&id).await.unwrap().into_inner();
    assert_eq!(mmd, g2.to_mermaid());
    assert!(mmd.starts_with("flowchart LR"));

    // Names: a duplicate is a 409; a bad name is refused locally and remotely.
    let again = CreateFlowRequest {
        name: "passwordless".into(),
        display_name: "Again".into(),
        description: None,
        flow_type: FlowType::Registration,
        graph: graph.clone(),
    };
    assert_eq!(
        api_code(&api.flows.create(&again).await.unwrap_err()),
        (409, "flow_already_exists".into())
    );
    let bad = CreateFlowRequest {
        name: "with space".into(),
        ..again.clone()
    };
    assert!(matches!(
        api.flows.create(&bad).await.unwrap_err(),
        Error::InvalidInput { .. }
    ));
    let (status, body) = api
        .raw(
            reqwest::Method::POST,
            "/api/admin/flows",
            Some(&serde_json::to_value(&bad).unwrap()),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_flow_name");
}

/// Each validation error code has a graph that produces it and only it, on
/// the server as in the SDK; compile refuses each with the same errors.
#[tokio::test]
async fn each_validation_code_alone_and_compile_refuses_it() {
    let api = Api::start().await;
    let start = json!({ "id": "start", "type": "start" });
    let success = json!({ "id": "success", "type": "success" });
    let e = |s: &str, t: &str| json!({ "source": s, "target": t });
    let cases: Vec<(&str, Value)> = vec![
        (
            "missing_start_node",
            json!({ "nodes": [success], "edges": [] }),
        ),
        (
            "multiple_start_nodes",
            json!({ "nodes": [start, success, { "id": "start2", "type": "start" }],
                    "edges": [e("start", "success"), e("start2", "success")] }),
        ),
        (
            "unreachable_success",
            json!({ "nodes": [start, success, { "id": "fail", "type": "failure" }],
                    "edges": [e("start", "fail"), e("success", "fail")] }),
        ),
        (
            "invalid_edge",
            json!({ "nodes": [start, success], "edges": [e("start", "success"), e("start", "ghost")] }),
        ),
        (
            "duplicate_node_id",
            json!({ "nodes": [start, success, success], "edges": [e("start", "success")] }),
        ),
        (
            "unknown_node_type",
            json!({ "nodes": [start, success, { "id": "x", "type": "teleport" }],
                    "edges": [e("start", "x"), e("x", "success")] }),
        ),
        (
            "invalid_config",
            json!({ "nodes": [start, success, { "id": "c", "type": "social_provider_select", "config": { "providers": "google" } }],
                    "edges": [e("start", "c"), e("c", "success")] }),
        ),
        (
            "condition_missing_branch",
            json!({ "nodes": [start, success, { "id": "c", "type": "condition", "config": { "condition": "user.x" } }],
                    "edges": [e("start", "c"), { "source": "c", "target": "success", "condition": "true" }] }),
        ),
        (
            "cycle_without_exit",
            json!({ "nodes": [start, success, { "id": "a", "type": "password_input" }, { "id": "b", "type": "otp_input" }],
                    "edges": [e("start", "success"), e("start", "a"), e("a", "b"), e("b", "a")] }),
        ),
    ];
    assert_eq!(cases.len(), 9, "every documented error code");
    for (i, (code, graph)) in cases.into_iter().enumerate() {
        let name = format!("case-{i}");
        let body = json!({ "name": name, "display_name": code, "type": "login", "graph": graph });
        let (status, created) = api
            .raw(reqwest::Method::POST, "/api/admin/flows", Some(&body))
            .await;
        assert_eq!(status, 201, "{code}: drafts may be invalid: {created}");
        let id = created["id"].as_str().unwrap().to_owned();

        let report = api.flows.validate(&id).await.unwrap().into_inner();
        let codes: Vec<&str> = report.errors.iter().map(|e| e.code.as_str()).collect();
        assert_eq!(codes, vec![code], "{code}: {report:?}");
        assert!(!report.valid);
        let local: FlowGraph = serde_json::from_value(graph.clone()).unwrap();
        assert_eq!(local.validate(), report, "{code}: SDK and server agree");

        let (status, raw) = api
            .raw(
                reqwest::Method::POST,
                &format!("/api/admin/flows/{id}/validate"),
                None,
            )
            .await;
        assert_eq!(
            status, 200,
            "an invalid graph is still a successful validation"
        );
        assert_eq!(raw["valid"], json!(false));
        if code == "invalid_edge" {
            assert_eq!(
                raw["errors"][0],
                json!({ "code": "invalid_edge", "message": "Edge 'start->ghost' target node does not exist",
                        "edge": { "source": "start", "target": "ghost" } })
            );
        }

        let (status, err) = api
            .raw(
                reqwest::Method::POST,
                &format!("/api/admin/flows/{id}/compile"),
                None,
            )
            .await;
        assert_eq!(status, 422, "{code}");
        assert_eq!(err["error"]["code"], "flow_invalid");
        assert_eq!(err["error"]["details"]["errors"][0]["code"], json!(code));
        assert!(err["error"]["message"].as_str().unwrap().contains(code));
        let flow = api.flows.get(&id).await.unwrap().into_inner();
        assert!(!flow.compiled);
        assert_eq!(flow.summary.version, 1, "a refused compile bumps nothing");
    }
}

#[tokio::test]
async fn warnings_do_not_block_compile() {
    let api = Api::start().await;
    let graph = json!({
        "nodes": [
            { "id": "start", "type": "start" }, { "id": "success", "type": "success" },
            { "id": "fallback", "type": "send_email" }
        ],
        "edges": [{ "source": "start", "target": "success" }]
    });
    let body = json!({ "name": "warned", "display_name": "Warned", "type": "registration", "graph": graph });
    api.raw(reqwest::Method::POST, "/api/admin/flows", Some(&body))
        .await;
    let (_, report) = api
        .raw(
            reqwest::Method::POST,
            "/api/admin/flows/flow_warned/validate",
            None,
        )
        .await;
    // The document's success example, exactly.
    assert_eq!(
        report,
        json!({ "valid": true, "warnings": [
            { "code": "unused_node", "message": "Node 'fallback' is unreachable", "node_id": "fallback" },
            { "code": "dead_end", "message": report["warnings"][1]["message"], "node_id": "fallback" }
        ] })
    );
    let c = api.flows.compile("flow_warned").await.unwrap().into_inner();
    assert!(c.compiled);
}

/// 250 flows: every page walk visits each exactly once, in creation order,
/// with `total` constant, for several page sizes and with filters.
#[tokio::test]
async fn pagination_walks_250_flows_without_gaps_or_repeats() {
    let api = Api::start().await;
    let types = [
        FlowType::Login,
        FlowType::Registration,
        FlowType::PasswordReset,
        FlowType::MfaSetup,
        FlowType::AccountRecovery,
    ];
    let graph = FlowGraph::builder()
        .node("start", NodeKind::Start)
        .node("success", NodeKind::Success)
        .edge("start", "success")
        .build();
    let mut expected = Vec::new();
    for i in 0..250 {
        let req = CreateFlowRequest {
            name: format!("flow-{i:03}"),
            display_name: format!("Flow {i}"),
            description: None,
            flow_type: types[i % types.len()],
            graph: graph.clone(),
        };
        let created = api.flows.create(&req).await.expect("create").into_inner();
        expected.push(created.summary.id);
    }
    // Some become active, so status filters have something to find.
    for id in expected.iter().step_by(10) {
        api.flows.compile(id).await.unwrap();
        api.flows.activate(id).await.unwrap();
    }

    // Default page size is 20: 13 pages, the last with 10 and a null cursor.
    let (status, first) = api
        .raw(reqwest::Method::GET, "/api/admin/flows", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(first["items"].as_array().unwrap().len(), 20);
    assert_eq!(first["total"], json!(250));
    assert!(first["cursor"].is_string());

    for limit in [1u32, 7, 20, 100] {
        let mut seen = Vec::new();
        let mut page = ListFlows::default().limit(limit);
        let mut pages = 0;
        loop {
            let list = api.flows.list(&page).await.unwrap().into_inner();
            assert_eq!(list.total, 250);
            assert!(list.items.len() <= limit as usize);
            seen.extend(list.items.into_iter().map(|f| f.id));
            pages += 1;
            match list.cursor {
                Some(c) => page = page.cursor(c),
                None => break,
            }
        }
        assert_eq!(
            seen, expected,
            "limit {limit}: no gaps, no repeats, in order"
        );
        assert_eq!(pages, 250usize.div_ceil(limit as usize), "limit {limit}");
    }

    // The auto-paging stream gives the same.
    let all: Vec<String> = api
        .flows
        .list_all(ListFlows::default().limit(33))
        .map_ok(|f| f.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all, expected);

    // Filters: type and status, with matching totals.
    let logins: Vec<_> = api
        .flows
        .list_all(ListFlows::default().flow_type(FlowType::Login).limit(9))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(logins.len(), 50);
    assert!(logins.iter().all(|f| f.flow_type == FlowType::Login));
    let active = api
        .flows
        .list(&ListFlows::default().status(FlowStatus::Active).limit(100))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(active.total, 25);
    assert_eq!(active.items.len(), 25);
    assert!(active.cursor.is_none());
    let active_logins = api
        .flows
        .list(
            &ListFlows::default()
                .status(FlowStatus::Active)
                .flow_type(FlowType::Login),
        )
        .await
        .unwrap()
        .into_inner();
    // Every 10th flow is active and every 5th a login: i % 10 == 0.
    assert_eq!(active_logins.total, 25);

    // Deleting during a walk neither repeats nor skips the others.
    let mut page = ListFlows::default().limit(50);
    let mut seen = Vec::new();
    let mut deleted = BTreeSet::new();
    loop {
        let list = api.flows.list(&page).await.unwrap().into_inner();
        seen.extend(list.items.iter().map(|f| f.id.clone()));
        // Delete a draft flow further on (not the next one).
        let last = seen
            .last()
            .and_then(|l| expected.iter().position(|id| id == l));
        if let Some(victim) = last.and_then(|at| {
            expected
                .iter()
                .skip(at + 2)
                .find(|id| !id.ends_with('0') && !deleted.contains(*id))
        }) {
            api.flows.delete(victim).await.unwrap();
            deleted.insert(victim.clone());
        }
        match list.cursor {
            Some(c) => page = page.cursor(c),
            None => break,
        }
    }
    let want: Vec<_> = expected
        .iter()
        .filter(|id| !deleted.contains(*id))
        .cloned()
        .collect();
    assert_eq!(seen, want);
    assert!(!deleted.is_empty());
}

#[tokio::test]
async fn tokens_admin_read_only_and_none() {
    let api = Api::start().await;
    let body = social_login_seed();
    let read = api.server.flows_read_token();
    let (status, err) = api
        .raw_as(
            &read,
            reqwest::Method::POST,
            "/api/admin/flows",
            Some(&body),
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(err["error"]["code"], "forbidden");
    assert_eq!(err["retryable"], json!(false));
    let (status, _) = api
        .raw(reqwest::Method::POST, "/api/admin/flows", Some(&body))
        .await;
    assert_eq!(status, 201);
    // The read-only token reads and validates, but cannot change anything.
    let reader = FlowsClient::builder()
        .token(read)
        .base_url(api.server.base_url())
        .build()
        .unwrap();
    assert_eq!(reader.list(&ListFlows::default()).await.unwrap().total, 1);
    assert!(reader.get("flow_social_login").await.is_ok());
    assert!(reader.validate("flow_social_login").await.unwrap().valid);
    assert!(reader.mermaid("flow_social_login").await.is_ok());
    for res in [
        reader.compile("flow_social_login").await.map(|_| ()),
        reader.delete("flow_social_login").await,
        reader
            .update("flow_social_login", UpdateFlowRequest::default())
            .await
            .map(|_| ()),
    ] {
        assert_eq!(api_code(&res.unwrap_err()), (403, "forbidden".into()));
    }
    // A wrong token: 401; the token never appears in the error.
    let wrong = FlowsClient::builder()
        .token(SecretString::from("fla_not-the-token"))
        .base_url(api.server.base_url())
        .build()
        .unwrap();
    let err = wrong.list(&ListFlows::default()).await.unwrap_err();
    assert_eq!(api_code(&err), (401, "unauthorized".into()));
    assert!(!format!("{err} {err:?}").contains("not-the-token"));
    assert!(err.request_id().is_some_and(|r| r.starts_with("req_")));
    // No token at all: 401 envelope.
    let resp = api
        .http
        .get(api.url("/api/admin/flows"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let request_id = resp
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
    assert_eq!(body["requestId"], body["error"]["details"]["requestId"]);
    assert_eq!(body["requestId"].as_str(), request_id.as_deref());
    assert_eq!(body["path"], "/api/admin/flows");
    // The client refuses to be built without a usable token.
    assert!(FlowsClient::builder().build().is_err());
    assert!(
        FlowsClient::builder()
            .token(SecretString::from("two words"))
            .build()
            .is_err()
    );
}

#[tokio::test]
async fn reset_forgets_flows_and_the_sdk_validates_ids() {
    let api = Api::start().await;
    api.raw(
        reqwest::Method::POST,
        "/api/admin/flows",
        Some(&social_login_seed()),
    )
    .await;
    assert_eq!(
        api.flows.list(&ListFlows::default()).await.unwrap().total,
        1
    );
    let (status, _) = api.raw(reqwest::Method::POST, "/__mock/reset", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        api.flows.list(&ListFlows::default()).await.unwrap().total,
        0
    );
    // Ids are one path segment: `..` or `/` cannot reach another route.
    for id in ["../flows", "a/compile", "flow x", "%2e%2e"] {
        let err = api.flows.get(id).await.unwrap_err();
        assert_eq!(api_code(&err), (404, "flow_not_found".into()), "{id}");
    }
    for id in ["", ".", ".."] {
        assert!(
            matches!(
                api.flows.get(id).await.unwrap_err(),
                Error::InvalidInput { .. }
            ),
            "{id:?}"
        );
    }
    assert!(matches!(
        api.flows
            .list(&ListFlows::default().limit(101))
            .await
            .unwrap_err(),
        Error::InvalidInput { .. }
    ));
}

#[test]
fn issue_codes_match_their_wire_names() {
    for code in [
        IssueCode::MissingStartNode,
        IssueCode::MultipleStartNodes,
        IssueCode::UnreachableSuccess,
        IssueCode::InvalidEdge,
        IssueCode::DuplicateNodeId,
        IssueCode::UnknownNodeType,
        IssueCode::InvalidConfig,
        IssueCode::ConditionMissingBranch,
        IssueCode::CycleWithoutExit,
        IssueCode::UnusedNode,
        IssueCode::DeadEnd,
    ] {
        assert_eq!(serde_json::to_value(code).unwrap(), json!(code.as_str()));
        assert_eq!(code.to_string(), code.as_str());
    }
}
