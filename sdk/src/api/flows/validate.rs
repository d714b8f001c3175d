//! Flow validation, shared by the SDK (validate locally before sending) and
//! the mock server. Iterative and linear in nodes + edges: no recursion, so
//! graphs of any size or depth cannot overflow the stack.

use std::collections::{HashMap, HashSet, VecDeque};

use serde::{Deserialize, Serialize};

use super::graph::{EdgeRef, FlowGraph, NodeKind};

/// A validation error or warning code.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum IssueCode {
    /// Error: no `start` node.
    MissingStartNode,
    /// Error: more than one `start` node.
    MultipleStartNodes,
    /// Error: no `success` node reachable from the start.
    UnreachableSuccess,
    /// Error: an edge names a node that does not exist.
    InvalidEdge,
    /// Error: two nodes share an id.
    DuplicateNodeId,
    /// Error: a node type the document does not list.
    UnknownNodeType,
    /// Error: a node's config does not fit its type.
    InvalidConfig,
    /// Error: a condition node lacks its `true` or `false` edge.
    ConditionMissingBranch,
    /// Error: a reachable cycle from which no end node can be reached.
    CycleWithoutExit,
    /// Warning: a node not reachable from the start.
    UnusedNode,
    /// Warning: a non-terminal node with no outgoing edge.
    DeadEnd,
}

impl IssueCode {
    /// The wire name (`missing_start_node`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            IssueCode::MissingStartNode => "missing_start_node",
            IssueCode::MultipleStartNodes => "multiple_start_nodes",
            IssueCode::UnreachableSuccess => "unreachable_success",
            IssueCode::InvalidEdge => "invalid_edge",
            IssueCode::DuplicateNodeId => "duplicate_node_id",
            IssueCode::UnknownNodeType => "unknown_node_type",
            IssueCode::InvalidConfig => "invalid_config",
            IssueCode::ConditionMissingBranch => "condition_missing_branch",
            IssueCode::CycleWithoutExit => "cycle_without_exit",
            IssueCode::UnusedNode => "unused_node",
            IssueCode::DeadEnd => "dead_end",
        }
    }
}

impl std::fmt::Display for IssueCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One error or warning.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issue {
    /// What.
    pub code: IssueCode,
    /// Human-readable message.
    pub message: String,
    /// The node concerned, if one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    /// The edge concerned, if one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edge: Option<EdgeRef>,
}

/// The document's validation response: `valid`, `errors`, `warnings`
/// (empty lists are left out, as in the document's examples).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ValidationReport {
    /// No errors.
    pub valid: bool,
    /// Errors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<Issue>,
    /// Warnings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Issue>,
}

impl ValidationReport {
    /// The error codes, in order.
    pub fn error_codes(&self) -> Vec<IssueCode> {
        self.errors.iter().map(|i| i.code).collect()
    }
    /// The warning codes, in order.
    pub fn warning_codes(&self) -> Vec<IssueCode> {
        self.warnings.iter().map(|i| i.code).collect()
    }
}

fn issue(code: IssueCode, message: String, node_id: Option<&str>) -> Issue {
    Issue {
        code,
        message,
        node_id: node_id.map(str::to_owned),
        edge: None,
    }
}

/// Breadth-first reach over `adj` from `roots`.
fn reach(roots: impl IntoIterator<Item = usize>, adj: &[Vec<usize>]) -> Vec<bool> {
    let mut seen = vec![false; adj.len()];
    let mut queue: VecDeque<usize> = VecDeque::new();
    for r in roots {
        if !seen[r] {
            seen[r] = true;
            queue.push_back(r);
        }
    }
    while let Some(n) = queue.pop_front() {
        for &m in &adj[n] {
            if !seen[m] {
                seen[m] = true;
                queue.push_back(m);
            }
        }
    }
    seen
}

impl FlowGraph {
    /// Validate the graph. Deterministic: the same graph always gives the
    /// same report, in node and edge order.
    pub fn validate(&self) -> ValidationReport {
        let mut errors = Vec::new();
        let mut warnings = Vec::new();

        // Node index (first occurrence wins) and duplicate ids.
        let mut index: HashMap<&str, usize> = HashMap::with_capacity(self.nodes.len());
        let mut reported_dup: HashSet<&str> = HashSet::new();
        for (i, n) in self.nodes.iter().enumerate() {
            let first = *index.entry(n.id.as_str()).or_insert(i);
            if first != i && reported_dup.insert(n.id.as_str()) {
                errors.push(issue(
                    IssueCode::DuplicateNodeId,
                    format!("Node id '{}' is used more than once", n.id),
                    Some(&n.id),
                ));
            }
        }

        // Types and configs.
        for n in &self.nodes {
            if let NodeKind::Unknown(t) = &n.kind {
                errors.push(issue(
                    IssueCode::UnknownNodeType,
                    format!("Node '{}' has unknown type '{t}'", n.id),
                    Some(&n.id),
                ));
            } else if let Err(why) = n.typed_config() {
                errors.push(issue(
                    IssueCode::InvalidConfig,
                    format!("Node '{}' ({}) has an invalid config: {why}", n.id, n.kind),
                    Some(&n.id),
                ));
            }
        }

        // Edges: adjacency over valid edges; invalid ones reported.
        let count = self.nodes.len();
        let mut adj: Vec<Vec<usize>> = vec![Vec::new(); count];
        let mut radj: Vec<Vec<usize>> = vec![Vec::new(); count];
        let mut labels: Vec<HashSet<&str>> = vec![HashSet::new(); count];
        for e in &self.edges {
            let (s, t) = (index.get(e.source.as_str()), index.get(e.target.as_str()));
            let missing = match (s, t) {
                (None, _) => Some(("source", &e.source)),
                (_, None) => Some(("target", &e.target)),
                _ => None,
            };
            if let Some((end, _)) = missing {
                errors.push(Issue {
                    code: IssueCode::InvalidEdge,
                    message: format!(
                        "Edge '{}->{}' {end} node does not exist",
                        e.source, e.target
                    ),
                    node_id: None,
                    edge: Some(EdgeRef {
                        source: e.source.clone(),
                        target: e.target.clone(),
                    }),
                });
                continue;
            }
            if let (Some(&s), Some(&t)) = (s, t) {
                adj[s].push(t);
                radj[t].push(s);
                if let Some(c) = &e.condition {
                    labels[s].insert(c.as_str());
                }
            }
        }

        // Condition nodes need both branches.
        for (i, n) in self.nodes.iter().enumerate() {
            if n.kind == NodeKind::Condition && index.get(n.id.as_str()) == Some(&i) {
                let missing: Vec<&str> = ["true", "false"]
                    .into_iter()
                    .filter(|b| !labels[i].contains(b))
                    .collect();
                if !missing.is_empty() {
                    errors.push(issue(
                        IssueCode::ConditionMissingBranch,
                        format!(
                            "Condition node '{}' has no '{}' edge",
                            n.id,
                            missing.join("' or '")
                        ),
                        Some(&n.id),
                    ));
                }
            }
        }

        // Start nodes.
        let starts: Vec<usize> = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(i, n)| n.kind == NodeKind::Start && index.get(n.id.as_str()) == Some(i))
            .map(|(i, _)| i)
            .collect();
        match starts.len() {
            0 => errors.push(issue(
                IssueCode::MissingStartNode,
                "Flow is missing a start node".into(),
                None,
            )),
            1 => {}
            _ => errors.push(issue(
                IssueCode::MultipleStartNodes,
                format!(
                    "Flow has {} start nodes; exactly one is allowed",
                    starts.len()
                ),
                Some(&self.nodes[starts[1]].id),
            )),
        }

        // Reachability questions need exactly one start.
        if let [start] = starts[..] {
            let reachable = reach([start], &adj);
            let success_reached = self
                .nodes
                .iter()
                .enumerate()
                .any(|(i, n)| n.kind == NodeKind::Success && reachable[i]);
            if !success_reached {
                errors.push(issue(
                    IssueCode::UnreachableSuccess,
                    "No path to success node".into(),
                    None,
                ));
            }
            // Nodes that can reach an end node.
            let terminals = self
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| n.kind.is_terminal())
                .map(|(i, _)| i);
            let can_end = reach(terminals, &radj);
            // Among reachable nodes that can never end, any cycle is a trap:
            // Kahn's algorithm on that subgraph leaves exactly the nodes on or
            // after a cycle.
            let trapped: Vec<usize> = (0..count)
                .filter(|&i| reachable[i] && !can_end[i])
                .collect();
            if !trapped.is_empty() {
                let in_trap: HashSet<usize> = trapped.iter().copied().collect();
                let mut indeg: HashMap<usize, usize> = trapped.iter().map(|&i| (i, 0)).collect();
                for &i in &trapped {
                    for &j in &adj[i] {
                        if in_trap.contains(&j) {
                            *indeg.entry(j).or_default() += 1;
                        }
                    }
                }
                let mut queue: VecDeque<usize> =
                    trapped.iter().copied().filter(|i| indeg[i] == 0).collect();
                while let Some(i) = queue.pop_front() {
                    for &j in &adj[i] {
                        if let Some(d) = indeg.get_mut(&j) {
                            *d -= 1;
                            if *d == 0 {
                                queue.push_back(j);
                            }
                        }
                    }
                }
                if let Some(&first) = trapped.iter().find(|i| indeg[i] > 0) {
                    errors.push(issue(
                        IssueCode::CycleWithoutExit,
                        format!(
                            "Node '{}' is in a cycle with no path to a success or failure node",
                            self.nodes[first].id
                        ),
                        Some(&self.nodes[first].id),
                    ));
                }
            }
            for (i, n) in self.nodes.iter().enumerate() {
                if !reachable[i] && index.get(n.id.as_str()) == Some(&i) {
                    warnings.push(issue(
                        IssueCode::UnusedNode,
                        format!("Node '{}' is unreachable", n.id),
                        Some(&n.id),
                    ));
                }
            }
        }

        // Dead ends: a non-terminal node with no outgoing edge.
        for (i, n) in self.nodes.iter().enumerate() {
            if !n.kind.is_terminal() && adj[i].is_empty() && index.get(n.id.as_str()) == Some(&i) {
                warnings.push(issue(
                    IssueCode::DeadEnd,
                    format!("Node '{}' has no outgoing edge", n.id),
                    Some(&n.id),
                ));
            }
        }

        ValidationReport {
            valid: errors.is_empty(),
            errors,
            warnings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::flows::NodeKind::*;
    use serde_json::json;

    fn seed_mfa() -> FlowGraph {
        serde_json::from_value(json!({
            "nodes": [
                {"id": "start", "type": "start", "position": {"x": 0, "y": 0}},
                {"id": "identifier", "type": "identifier_input", "config": {"identifier_types": ["email", "username"]}, "position": {"x": 200, "y": 0}},
                {"id": "password", "type": "password_input", "position": {"x": 400, "y": 0}},
                {"id": "mfa_check", "type": "condition", "config": {"condition": "user.mfa_enabled"}, "position": {"x": 600, "y": 0}},
                {"id": "mfa_verify", "type": "mfa_verification", "config": {"methods": ["totp", "sms"]}, "position": {"x": 800, "y": -100}},
                {"id": "success", "type": "success", "position": {"x": 1000, "y": 0}}
            ],
            "edges": [
                {"source": "start", "target": "identifier"},
                {"source": "identifier", "target": "password"},
                {"source": "password", "target": "mfa_check"},
                {"source": "mfa_check", "target": "mfa_verify", "condition": "true"},
                {"source": "mfa_check", "target": "success", "condition": "false"},
                {"source": "mfa_verify", "target": "success"}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn seed_example_is_valid_and_round_trips() {
        let g = seed_mfa();
        let r = g.validate();
        assert!(r.valid, "{r:?}");
        assert!(r.warnings.is_empty());
        assert_eq!(serde_json::to_value(&r).unwrap(), json!({"valid": true}));
        let back: FlowGraph = serde_json::from_value(serde_json::to_value(&g).unwrap()).unwrap();
        assert_eq!(back, g);
    }

    fn base() -> FlowGraphBuilder {
        FlowGraph::builder()
            .node("start", Start)
            .node("success", Success)
    }

    use super::super::graph::FlowGraphBuilder;

    /// Each error code has a graph that produces it and only it (no warnings either).
    #[test]
    fn each_error_code_alone() {
        let cases: Vec<(IssueCode, FlowGraph)> = vec![
            (
                IssueCode::MissingStartNode,
                FlowGraph::builder().node("success", Success).build(),
            ),
            (
                IssueCode::MultipleStartNodes,
                base()
                    .node("start2", Start)
                    .edge("start", "success")
                    .edge("start2", "success")
                    .build(),
            ),
            (
                IssueCode::UnreachableSuccess,
                base()
                    .node("fail", Failure)
                    .edge("start", "fail")
                    .edge("success", "fail")
                    .build(),
            ),
            (
                IssueCode::InvalidEdge,
                base()
                    .edge("start", "success")
                    .edge("start", "ghost")
                    .build(),
            ),
            (
                IssueCode::DuplicateNodeId,
                base()
                    .node("success", Success)
                    .edge("start", "success")
                    .build(),
            ),
            (
                IssueCode::UnknownNodeType,
                base()
                    .node("x", Unknown("teleport".into()))
                    .edge("start", "x")
                    .edge("x", "success")
                    .build(),
            ),
            (
                IssueCode::InvalidConfig,
                base()
                    .node("c", SocialProviderSelect)
                    .config("c", json!({"providers": "google"}))
                    .edge("start", "c")
                    .edge("c", "success")
                    .build(),
            ),
            (
                IssueCode::ConditionMissingBranch,
                base()
                    .node("c", Condition)
                    .config("c", json!({"condition": "user.x"}))
                    .edge("start", "c")
                    .edge_if("c", "success", "true")
                    .build(),
            ),
            (
                IssueCode::CycleWithoutExit,
                base()
                    .node("a", PasswordInput)
                    .node("b", OtpInput)
                    .edge("start", "success")
                    .edge("start", "a")
                    .edge("a", "b")
                    .edge("b", "a")
                    .build(),
            ),
        ];
        for (code, g) in cases {
            let r = g.validate();
            assert_eq!(r.error_codes(), vec![code], "{code:?}: {r:#?}");
            assert!(
                r.warnings.is_empty() || code == IssueCode::UnreachableSuccess,
                "{code:?}: {r:#?}"
            );
            assert!(!r.valid);
        }
    }

    #[test]
    fn warnings() {
        let g = base()
            .node("orphan", SendEmail)
            .node("dead", Webhook)
            .edge("start", "success")
            .edge("start", "dead")
            .build();
        let r = g.validate();
        assert!(r.valid);
        assert_eq!(
            r.warning_codes(),
            vec![
                IssueCode::UnusedNode,
                IssueCode::DeadEnd,
                IssueCode::DeadEnd
            ]
        );
        assert_eq!(r.warnings[0].node_id.as_deref(), Some("orphan"));
        assert_eq!(r.warnings[0].message, "Node 'orphan' is unreachable");
    }

    #[test]
    fn invalid_edge_message_names_the_missing_node_as_the_seed_does() {
        let g = base()
            .node("password", PasswordInput)
            .edge("start", "password")
            .edge("password", "success")
            .edge("password", "mfa")
            .build();
        let r = g.validate();
        assert_eq!(
            r.errors[0].message,
            "Edge 'password->mfa' target node does not exist"
        );
        assert_eq!(
            r.errors[0].edge,
            Some(EdgeRef {
                source: "password".into(),
                target: "mfa".into()
            })
        );
        assert_eq!(
            serde_json::to_value(&r.errors[0]).unwrap()["code"],
            "invalid_edge"
        );
    }

    #[test]
    fn self_loops_and_duplicate_edges_do_not_break_it() {
        let g = base()
            .node("a", OtpInput)
            .edge("start", "a")
            .edge("a", "a")
            .edge("a", "a")
            .edge("a", "success")
            .edge("a", "success")
            .build();
        assert!(g.validate().valid);
        let trap = base()
            .node("a", OtpInput)
            .edge("start", "success")
            .edge("start", "a")
            .edge("a", "a")
            .build();
        assert_eq!(
            trap.validate().error_codes(),
            vec![IssueCode::CycleWithoutExit]
        );
    }

    #[test]
    fn deep_chains_do_not_overflow() {
        let n = 200_000;
        let mut b = FlowGraph::builder().node("start", Start);
        for i in 0..n {
            b = b.node(format!("n{i}"), SetAttribute);
        }
        b = b.node("success", Success).edge("start", "n0");
        for i in 0..n - 1 {
            b = b.edge(format!("n{i}"), format!("n{}", i + 1));
        }
        let g = b.edge(format!("n{}", n - 1), "success").build();
        assert!(g.validate().valid);
    }

    #[test]
    fn mermaid_rendering() {
        let m = seed_mfa().to_mermaid();
        assert!(m.starts_with("flowchart LR\n"));
        assert!(m.contains("{\"mfa_check<br/><i>condition</i>\"}"), "{m}");
        assert!(m.contains("-->|\"true\"|"));
        let broken = base().edge("start", "gh\"ost").build().to_mermaid();
        assert!(broken.contains("missing: gh'ost"), "{broken}");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn kind() -> impl Strategy<Value = NodeKind> {
            prop_oneof![
                3 => Just(Start),
                3 => Just(Success),
                1 => Just(Failure),
                2 => Just(Condition),
                4 => proptest::sample::select(NodeKind::ALL.to_vec()),
                1 => "[a-z_]{1,8}".prop_map(NodeKind::from),
            ]
        }

        fn graph() -> impl Strategy<Value = FlowGraph> {
            let ids = proptest::collection::vec("[a-e]{1,2}", 0..24);
            (
                ids,
                proptest::collection::vec(kind(), 24),
                proptest::collection::vec(
                    (
                        0usize..30,
                        0usize..30,
                        prop::option::of(prop_oneof![
                            Just("true".to_owned()),
                            Just("false".to_owned()),
                            "[a-z]{1,3}"
                        ]),
                    ),
                    0..60,
                ),
            )
                .prop_map(|(ids, kinds, edges)| {
                    let nodes: Vec<_> = ids
                        .iter()
                        .zip(kinds)
                        .map(|(id, k)| {
                            let mut n = crate::api::flows::Node::new(id.clone(), k.clone());
                            if k == Condition && id.len() == 1 {
                                n.config = Some(json!({"condition": "x"}));
                            }
                            n
                        })
                        .collect();
                    let name =
                        |i: usize| ids.get(i).cloned().unwrap_or_else(|| format!("ghost{i}"));
                    let edges = edges
                        .into_iter()
                        .map(|(s, t, c)| crate::api::flows::Edge {
                            source: name(s),
                            target: name(t),
                            condition: c,
                        })
                        .collect();
                    FlowGraph { nodes, edges }
                })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]
            /// Validation never panics, is deterministic, `valid` means no
            /// errors, and the report survives a JSON round trip.
            #[test]
            fn validation_is_total_and_stable(g in graph()) {
                let a = g.validate();
                let b = g.clone().validate();
                prop_assert_eq!(&a, &b);
                prop_assert_eq!(a.valid, a.errors.is_empty());
                let json = serde_json::to_string(&a).unwrap();
                let back: ValidationReport = serde_json::from_str(&json).unwrap();
                prop_assert_eq!(back, a.clone());
                // Compilation succeeds exactly for valid graphs, deterministically.
                match (g.compile(), g.compile()) {
                    (Ok(p), Ok(q)) => { prop_assert!(a.valid); prop_assert_eq!(p, q); }
                    (Err(r), Err(_)) => { prop_assert!(!a.valid); prop_assert_eq!(r, a); }
                    _ => prop_assert!(false, "compile is not deterministic"),
                }
                let _ = g.to_mermaid();
            }
        }
    }
}
