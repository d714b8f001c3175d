//! The Flow admin API against the in-process mock server: build the
//! document's MFA login flow with the builder, validate it locally, create,
//! look at it as Mermaid, compile, activate, list, deactivate and delete.
//!
//! Run: `cargo run -p authflow-examples --example flows_admin`

use authflow::FlowsClient;
use authflow::api::flows::{
    CreateFlowRequest, FlowGraph, FlowStatus, FlowType, ListFlows, NodeKind,
};
use authflow_mock::MockServer;
use futures_util::TryStreamExt;
use serde_json::json;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let server = MockServer::start().await?;
    let flows = FlowsClient::builder()
        .token(server.flows_admin_token())
        .base_url(server.base_url())
        .build()?;

    let graph = FlowGraph::builder()
        .node("start", NodeKind::Start)
        .node("identifier", NodeKind::IdentifierInput)
        .config(
            "identifier",
            json!({ "identifier_types": ["email", "username"] }),
        )
        .node("password", NodeKind::PasswordInput)
        .node("mfa_check", NodeKind::Condition)
        .config("mfa_check", json!({ "condition": "user.mfa_enabled" }))
        .node("mfa_verify", NodeKind::MfaVerification)
        .config("mfa_verify", json!({ "methods": ["totp", "sms"] }))
        .node("success", NodeKind::Success)
        .edge("start", "identifier")
        .edge("identifier", "password")
        .edge("password", "mfa_check")
        .edge_if("mfa_check", "mfa_verify", "true")
        .edge_if("mfa_check", "success", "false")
        .edge("mfa_verify", "success")
        .build();
    let report = graph.validate();
    println!(
        "local validation: valid={} warnings={}",
        report.valid,
        report.warnings.len()
    );

    let created = flows
        .create(&CreateFlowRequest {
            name: "mfa-login".into(),
            display_name: "MFA Login Flow".into(),
            description: Some("Flow with MFA verification after password authentication".into()),
            flow_type: FlowType::Login,
            graph,
        })
        .await?;
    let id = created.summary.id.clone();
    println!(
        "created {id} (status {:?}, version {})",
        created.summary.status, created.summary.version
    );

    println!("\n{}", flows.mermaid(&id).await?.into_inner());

    let compiled = flows.compile(&id).await?;
    println!(
        "compiled: version {} at {}",
        compiled.version, compiled.compiled_at
    );
    let activated = flows.activate(&id).await?;
    println!("activated at {:?}", activated.activated_at);

    let active: Vec<_> = flows
        .list_all(ListFlows::default().status(FlowStatus::Active))
        .try_collect()
        .await?;
    println!(
        "active flows: {:?}",
        active.iter().map(|f| &f.id).collect::<Vec<_>>()
    );

    // An active flow cannot be deleted: the error carries the envelope's code.
    if let Err(e) = flows.delete(&id).await {
        println!(
            "delete while active: {} ({})",
            e,
            e.code().map_or("-", |c| c.as_str())
        );
    }
    flows.deactivate(&id).await?;
    flows.delete(&id).await?;
    println!(
        "deleted; {} flows left",
        flows.list(&ListFlows::default()).await?.total
    );
    Ok(())
}
