//! The Flow admin API's graph model: nodes, edges, typed node configs, a
//! builder, validation shared by the client and the mock, and a Mermaid
//! rendering, and compilation into an executable plan. No I/O.
//!
//! ```
//! use authflow::api::flows::{FlowGraph, NodeKind};
//!
//! let graph = FlowGraph::builder()
//!     .node("start", NodeKind::Start)
//!     .node("provider_select", NodeKind::SocialProviderSelect)
//!     .config("provider_select", serde_json::json!({"providers": ["google", "github"]}))
//!     .node("success", NodeKind::Success)
//!     .edge("start", "provider_select")
//!     .edge("provider_select", "success")
//!     .build();
//! assert!(graph.validate().valid);
//! assert!(graph.to_mermaid().starts_with("flowchart LR"));
//! ```

mod compile;
mod graph;
mod mermaid;
mod requests;
mod validate;
mod wire;

pub use compile::{CompiledPlan, Step, Transition};
pub use graph::{Edge, EdgeRef, FlowGraph, FlowGraphBuilder, Node, NodeConfig, NodeKind, Position};
pub use requests::{
    ActivateFlow, CompileFlow, DeactivateFlow, DeleteFlow, FlowGraphMermaid, GetFlow, ListFlows,
    UpdateFlow, ValidateFlow, flow_path,
};
pub use validate::{Issue, IssueCode, ValidationReport};
pub use wire::{
    CompileResponse, CreateFlowRequest, Flow, FlowCreated, FlowList, FlowStatus, FlowSummary,
    FlowType, StatusChangeResponse, UpdateFlowRequest, flow_id_for, is_valid_flow_name,
};
