//! `FlowsClient` against the in-process mock: the whole lifecycle of a flow,
//! server-side validation, and error codes (including local `invalid_input`
//! checks), with no token in any error text or `Debug` output.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test"
)]

use authflow_ffi::{FlowsClient, MockServer, Secret};

const GRAPH: &str = r#"{"nodes":[{"id":"start","type":"start"},{"id":"password","type":"password_input"},{"id":"success","type":"success"}],"edges":[{"source":"start","target":"password"},{"source":"password","target":"success"}]}"#;

/// A graph whose `success` node is unreachable from `start`.
const BAD_GRAPH: &str = r#"{"nodes":[{"id":"start","type":"start"},{"id":"success","type":"success"},{"id":"fail","type":"failure"}],"edges":[{"source":"start","target":"fail"}]}"#;

async fn setup() -> (std::sync::Arc<MockServer>, std::sync::Arc<FlowsClient>) {
    let mock = MockServer::start().await.unwrap();
    let flows = FlowsClient::new(mock.flows_admin_token(), Some(mock.base_url())).unwrap();
    (mock, flows)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_create_validate_compile_activate_delete() {
    let (mock, flows) = setup().await;
    assert_eq!(flows.base_url(), mock.base_url());

    let created = flows
        .create(
            "password-login".into(),
            "Password login".into(),
            "login".into(),
            Some("by password".into()),
            GRAPH.into(),
        )
        .await
        .unwrap();
    assert_eq!(created.id, "flow_password_login");
    assert_eq!(created.name, "password-login");
    assert_eq!(created.flow_type, "login");
    assert_eq!(created.status, "draft");
    assert_eq!(created.version, 1);
    assert!(!created.compiled);
    assert_eq!(created.description.as_deref(), Some("by password"));
    let sent: serde_json::Value = serde_json::from_str(GRAPH).unwrap();
    let echoed: serde_json::Value = serde_json::from_str(&created.graph_json).unwrap();
    assert_eq!(echoed, sent);

    let got = flows.get(created.id.clone()).await.unwrap();
    let stored: serde_json::Value = serde_json::from_str(&got.graph_json).unwrap();
    assert_eq!(stored, sent);
    assert_eq!(got.display_name, "Password login");

    let page = flows
        .list(Some(10), None, Some("login".into()), Some("draft".into()))
        .await
        .unwrap();
    assert!(page.items.iter().any(|f| f.id == created.id), "{page:?}");
    assert!(page.items.iter().all(|f| f.flow_type == "login"));
    let none = flows
        .list(None, None, Some("mfa_setup".into()), None)
        .await
        .unwrap();
    assert!(none.items.iter().all(|f| f.id != created.id));

    let report = flows.validate(created.id.clone()).await.unwrap();
    assert!(report.valid, "{report:?}");
    assert!(report.errors.is_empty());

    let compiled = flows.compile(created.id.clone()).await.unwrap();
    assert_eq!(compiled.id, created.id);
    assert!(compiled.compiled);
    assert!(compiled.version >= 2);
    assert!(flows.get(created.id.clone()).await.unwrap().compiled);

    let mermaid = flows.mermaid(created.id.clone()).await.unwrap();
    assert!(mermaid.starts_with("flowchart"), "{mermaid}");
    assert!(mermaid.contains("password"));

    let active = flows.activate(created.id.clone()).await.unwrap();
    assert_eq!(active.status, "active");
    assert!(active.activated_at.is_some());
    let e = flows.delete(created.id.clone()).await.unwrap_err();
    assert_eq!((e.code().as_str(), e.status()), ("flow_active", Some(409)));

    let inactive = flows.deactivate(created.id.clone()).await.unwrap();
    assert_eq!(inactive.status, "inactive");
    assert!(inactive.deactivated_at.is_some());

    let updated = flows
        .update(
            created.id.clone(),
            Some("Renamed".into()),
            None,
            Some(GRAPH.into()),
        )
        .await
        .unwrap();
    assert_eq!(updated.display_name, "Renamed");
    assert_eq!(updated.description.as_deref(), Some("by password"));
    assert!(!updated.compiled, "a new graph clears compiled");

    flows.delete(created.id.clone()).await.unwrap();
    let e = flows.get(created.id.clone()).await.unwrap_err();
    assert_eq!(
        (e.code().as_str(), e.status()),
        ("flow_not_found", Some(404))
    );
    assert!(e.request_id().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_graphs_are_reported_and_refused_by_compile() {
    let (_mock, flows) = setup().await;
    let f = flows
        .create(
            "broken".into(),
            "Broken".into(),
            "registration".into(),
            None,
            BAD_GRAPH.into(),
        )
        .await
        .unwrap();
    let report = flows.validate(f.id.clone()).await.unwrap();
    assert!(!report.valid);
    let codes: Vec<&str> = report.errors.iter().map(|i| i.code.as_str()).collect();
    assert_eq!(codes, ["unreachable_success"], "{report:?}");
    assert!(!report.errors[0].detail.is_empty());
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.code == "unused_node" && w.node_id.as_deref() == Some("success"))
    );

    let e = flows.compile(f.id.clone()).await.unwrap_err();
    assert_eq!((e.code().as_str(), e.status()), ("flow_invalid", Some(422)));
    let e = flows.activate(f.id).await.unwrap_err();
    assert_eq!(e.code(), "flow_not_compiled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_checks_are_invalid_input_and_no_token_leaks() {
    let (mock, flows) = setup().await;
    for (e, field) in [
        (
            flows
                .create("ok".into(), "Ok".into(), "nope".into(), None, GRAPH.into())
                .await
                .unwrap_err(),
            "flow_type",
        ),
        (
            flows
                .create("ok".into(), "Ok".into(), "login".into(), None, "[1,".into())
                .await
                .unwrap_err(),
            "graph_json",
        ),
        (
            flows
                .create(
                    "bad name".into(),
                    "x".into(),
                    "login".into(),
                    None,
                    GRAPH.into(),
                )
                .await
                .unwrap_err(),
            "name",
        ),
        (
            flows
                .list(None, None, None, Some("paused".into()))
                .await
                .unwrap_err(),
            "status",
        ),
        (
            flows.list(Some(0), None, None, None).await.unwrap_err(),
            "limit",
        ),
        (flows.get(String::new()).await.unwrap_err(), "id"),
    ] {
        assert_eq!((e.code().as_str(), e.status()), ("invalid_input", None));
        assert!(e.detail().contains(field), "{field}: {}", e.detail());
    }

    // A read-only token may not write; an unknown token is refused.
    let token = mock.flows_read_token();
    let reader = FlowsClient::new(token.clone(), Some(mock.base_url())).unwrap();
    let e = reader
        .create("ro".into(), "Ro".into(), "login".into(), None, GRAPH.into())
        .await
        .unwrap_err();
    assert_eq!((e.code().as_str(), e.status()), ("forbidden", Some(403)));
    let stranger = Secret::new("not-the-admin-token-0123456789".into());
    let e = FlowsClient::new(stranger.clone(), Some(mock.base_url()))
        .unwrap()
        .list(None, None, None, None)
        .await
        .unwrap_err();
    assert_eq!((e.code().as_str(), e.status()), ("unauthorized", Some(401)));

    for secret in [
        token.expose(),
        stranger.expose(),
        mock.flows_admin_token().expose(),
    ] {
        assert!(!e.to_string().contains(&secret));
        assert!(!format!("{e:?}").contains(&secret));
        assert!(!format!("{reader:?}").contains(&secret));
        assert!(!format!("{flows:?}").contains(&secret));
    }
    let e = FlowsClient::new(Secret::new("has space".into()), None).unwrap_err();
    assert_eq!(e.code(), "invalid_input");
    assert!(!e.detail().contains("has space"));
}
