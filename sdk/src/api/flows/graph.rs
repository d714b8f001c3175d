//! Nodes, edges and the graph.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A node type, exactly as the API document lists them; anything else is
/// kept verbatim as [`NodeKind::Unknown`] (validation reports it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum NodeKind {
    /// Input: user identifier (email, username, …).
    IdentifierInput,
    /// Input: password.
    PasswordInput,
    /// Input: social provider selection.
    SocialProviderSelect,
    /// Input: MFA verification.
    MfaVerification,
    /// Input: one-time password.
    OtpInput,
    /// Control: flow start.
    Start,
    /// Control: success end.
    Success,
    /// Control: failure end.
    Failure,
    /// Control: boolean branch (`true` / `false` edges).
    Condition,
    /// Control: multiple branch.
    Switch,
    /// Action: send an email.
    SendEmail,
    /// Action: send an SMS.
    SendSms,
    /// Action: call a webhook.
    Webhook,
    /// Action: set an attribute.
    SetAttribute,
    /// A type the document does not list.
    Unknown(String),
}

impl NodeKind {
    /// Every documented kind.
    pub const ALL: [NodeKind; 14] = [
        NodeKind::IdentifierInput,
        NodeKind::PasswordInput,
        NodeKind::SocialProviderSelect,
        NodeKind::MfaVerification,
        NodeKind::OtpInput,
        NodeKind::Start,
        NodeKind::Success,
        NodeKind::Failure,
        NodeKind::Condition,
        NodeKind::Switch,
        NodeKind::SendEmail,
        NodeKind::SendSms,
        NodeKind::Webhook,
        NodeKind::SetAttribute,
    ];

    /// The wire name.
    pub fn as_str(&self) -> &str {
        match self {
            NodeKind::IdentifierInput => "identifier_input",
            NodeKind::PasswordInput => "password_input",
            NodeKind::SocialProviderSelect => "social_provider_select",
            NodeKind::MfaVerification => "mfa_verification",
            NodeKind::OtpInput => "otp_input",
            NodeKind::Start => "start",
            NodeKind::Success => "success",
            NodeKind::Failure => "failure",
            NodeKind::Condition => "condition",
            NodeKind::Switch => "switch",
            NodeKind::SendEmail => "send_email",
            NodeKind::SendSms => "send_sms",
            NodeKind::Webhook => "webhook",
            NodeKind::SetAttribute => "set_attribute",
            NodeKind::Unknown(s) => s,
        }
    }

    /// `success` and `failure` end a flow.
    pub fn is_terminal(&self) -> bool {
        matches!(self, NodeKind::Success | NodeKind::Failure)
    }
}

impl From<String> for NodeKind {
    fn from(s: String) -> Self {
        NodeKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .unwrap_or(NodeKind::Unknown(s))
    }
}

impl From<NodeKind> for String {
    fn from(k: NodeKind) -> String {
        k.as_str().to_owned()
    }
}

impl fmt::Display for NodeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Canvas position of a node (for editors; ignored by validation).
/// Whole numbers serialize without a fraction (`200`, not `200.0`), so a
/// graph round-trips byte for byte as editors send it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Position {
    /// X.
    #[serde(serialize_with = "coordinate")]
    pub x: f64,
    /// Y.
    #[serde(serialize_with = "coordinate")]
    pub y: f64,
}

/// Largest magnitude at which every integer is exact in an `f64` (2^53).
const EXACT_INT: f64 = 9_007_199_254_740_992.0;

fn coordinate<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.fract() == 0.0 && v.abs() <= EXACT_INT {
        // Exact: the value is a whole number within the f64 integer range.
        s.serialize_i64(*v as i64)
    } else {
        s.serialize_f64(*v)
    }
}

/// One node. `config` stays the JSON it was sent as (so it round-trips);
/// [`Node::typed_config`] reads it for the kinds the document gives a shape.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Unique id within the graph.
    pub id: String,
    /// Node type.
    #[serde(rename = "type")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub kind: NodeKind,
    /// Per-type configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Value>,
    /// Canvas position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<Position>,
}

/// The typed configuration of the node kinds the document shows one for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NodeConfig {
    /// `identifier_input`: `{"identifier_types": ["email", "username"]}`.
    IdentifierInput {
        /// Accepted identifier kinds.
        identifier_types: Vec<String>,
    },
    /// `mfa_verification`: `{"methods": ["totp", "sms"]}`.
    MfaVerification {
        /// Accepted MFA methods.
        methods: Vec<String>,
    },
    /// `social_provider_select`: `{"providers": ["google", "github"]}`.
    SocialProviderSelect {
        /// Offered providers.
        providers: Vec<String>,
    },
    /// `condition`: `{"condition": "user.mfa_enabled"}`.
    Condition {
        /// The boolean expression.
        condition: String,
    },
    /// Any other kind: free-form JSON (or none).
    Other(Option<Value>),
}

fn string_list(config: Option<&Value>, field: &str, required: bool) -> Result<Vec<String>, String> {
    let Some(v) = config.and_then(|c| c.get(field)) else {
        return if required {
            Err(format!("`{field}` is required"))
        } else {
            Ok(Vec::new())
        };
    };
    let items = v
        .as_array()
        .ok_or_else(|| format!("`{field}` must be an array of strings"))?;
    let list: Option<Vec<String>> = items
        .iter()
        .map(|i| i.as_str().filter(|s| !s.is_empty()).map(str::to_owned))
        .collect();
    let list = list.ok_or_else(|| format!("`{field}` must contain non-empty strings"))?;
    if list.is_empty() {
        return Err(format!("`{field}` must not be empty"));
    }
    Ok(list)
}

impl Node {
    /// A node with no config or position.
    pub fn new(id: impl Into<String>, kind: NodeKind) -> Self {
        Node {
            id: id.into(),
            kind,
            config: None,
            position: None,
        }
    }

    /// The typed configuration, or why it is invalid.
    pub fn typed_config(&self) -> Result<NodeConfig, String> {
        let c = self.config.as_ref();
        if c.is_some_and(|c| !c.is_object()) {
            return Err("config must be an object".into());
        }
        Ok(match self.kind {
            NodeKind::IdentifierInput => NodeConfig::IdentifierInput {
                identifier_types: string_list(c, "identifier_types", false)?,
            },
            NodeKind::MfaVerification => NodeConfig::MfaVerification {
                methods: string_list(c, "methods", false)?,
            },
            NodeKind::SocialProviderSelect => NodeConfig::SocialProviderSelect {
                providers: string_list(c, "providers", true)?,
            },
            NodeKind::Condition => {
                let cond = c
                    .and_then(|c| c.get("condition"))
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .ok_or("`condition` is required: a non-empty expression string")?;
                NodeConfig::Condition {
                    condition: cond.to_owned(),
                }
            }
            _ => NodeConfig::Other(self.config.clone()),
        })
    }
}

/// An edge; `condition` labels the branch (`"true"`/`"false"` after a condition node).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Edge {
    /// Source node id.
    pub source: String,
    /// Target node id.
    pub target: String,
    /// Branch label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
}

/// An edge's endpoints, as validation reports them.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EdgeRef {
    /// Source node id.
    pub source: String,
    /// Target node id.
    pub target: String,
}

/// A flow graph: `{"nodes": [...], "edges": [...]}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FlowGraph {
    /// Nodes.
    #[serde(default)]
    pub nodes: Vec<Node>,
    /// Edges.
    #[serde(default)]
    pub edges: Vec<Edge>,
}

impl FlowGraph {
    /// A builder.
    pub fn builder() -> FlowGraphBuilder {
        FlowGraphBuilder::default()
    }
}

/// Builds a [`FlowGraph`] readably; nodes and edges keep their order.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct FlowGraphBuilder {
    graph: FlowGraph,
}

impl FlowGraphBuilder {
    /// Add a node.
    pub fn node(mut self, id: impl Into<String>, kind: NodeKind) -> Self {
        self.graph.nodes.push(Node::new(id, kind));
        self
    }
    /// Set the config of the node `id` (the last one with that id).
    pub fn config(mut self, id: &str, config: Value) -> Self {
        if let Some(n) = self.graph.nodes.iter_mut().rev().find(|n| n.id == id) {
            n.config = Some(config);
        }
        self
    }
    /// Set the position of the node `id`.
    pub fn position(mut self, id: &str, x: f64, y: f64) -> Self {
        if let Some(n) = self.graph.nodes.iter_mut().rev().find(|n| n.id == id) {
            n.position = Some(Position { x, y });
        }
        self
    }
    /// Add an unconditional edge.
    pub fn edge(mut self, source: impl Into<String>, target: impl Into<String>) -> Self {
        self.graph.edges.push(Edge {
            source: source.into(),
            target: target.into(),
            condition: None,
        });
        self
    }
    /// Add a labelled edge (`"true"`, `"false"`, or a switch case).
    pub fn edge_if(
        mut self,
        source: impl Into<String>,
        target: impl Into<String>,
        condition: impl Into<String>,
    ) -> Self {
        self.graph.edges.push(Edge {
            source: source.into(),
            target: target.into(),
            condition: Some(condition.into()),
        });
        self
    }
    /// The graph.
    pub fn build(self) -> FlowGraph {
        self.graph
    }
}
