//! Compiling a valid graph into an executable plan.

use std::collections::{HashMap, HashSet, VecDeque};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::graph::{FlowGraph, NodeKind};
use super::validate::ValidationReport;

/// A deterministic, serialisable form of a valid flow: the steps reachable
/// from the start in breadth-first order (ties broken by edge order), each
/// with its config and its transitions resolved to step indices. The same
/// graph always compiles to the same plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompiledPlan {
    /// Index of the start step (always 0).
    pub entry: usize,
    /// The steps.
    pub steps: Vec<Step>,
}

/// One executable step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// The node id.
    pub id: String,
    /// The node type.
    #[serde(rename = "type")]
    pub kind: NodeKind,
    /// The node config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Value>,
    /// Where to go next, in edge order: the first transition whose `when`
    /// matches the step's outcome, else the first without `when`. Empty for
    /// `success` and `failure`.
    pub next: Vec<Transition>,
}

/// A resolved edge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// The branch label (`"true"`, `"false"`, a switch case), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// Target step index.
    pub to: usize,
}

impl FlowGraph {
    /// Compile the graph, or return the validation report that refuses it.
    pub fn compile(&self) -> Result<CompiledPlan, ValidationReport> {
        let report = self.validate();
        if !report.valid {
            return Err(report);
        }
        // Valid implies unique ids, valid edges and exactly one start.
        let index: HashMap<&str, usize> = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id.as_str(), i))
            .collect();
        let mut out_edges: Vec<Vec<(Option<&str>, usize)>> = vec![Vec::new(); self.nodes.len()];
        let mut seen_edges = HashSet::new();
        for e in &self.edges {
            if let (Some(&s), Some(&t)) =
                (index.get(e.source.as_str()), index.get(e.target.as_str()))
            {
                let label = e.condition.as_deref();
                if seen_edges.insert((s, t, label)) {
                    out_edges[s].push((label, t));
                }
            }
        }
        let Some(start) = self.nodes.iter().position(|n| n.kind == NodeKind::Start) else {
            return Err(report);
        };
        // BFS order becomes step order.
        let mut order = Vec::new();
        let mut step_of: HashMap<usize, usize> = HashMap::new();
        let mut queue = VecDeque::from([start]);
        step_of.insert(start, 0);
        while let Some(n) = queue.pop_front() {
            order.push(n);
            for &(_, t) in &out_edges[n] {
                if !step_of.contains_key(&t) {
                    step_of.insert(t, step_of.len());
                    queue.push_back(t);
                }
            }
        }
        let steps = order
            .iter()
            .map(|&n| {
                let node = &self.nodes[n];
                Step {
                    id: node.id.clone(),
                    kind: node.kind.clone(),
                    config: node.config.clone(),
                    next: out_edges[n]
                        .iter()
                        .map(|&(when, t)| Transition {
                            when: when.map(str::to_owned),
                            to: step_of[&t],
                        })
                        .collect(),
                }
            })
            .collect();
        Ok(CompiledPlan { entry: 0, steps })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::flows::IssueCode;
    use crate::api::flows::NodeKind::*;
    use serde_json::json;

    fn mfa() -> FlowGraph {
        FlowGraph::builder()
            .node("start", Start)
            .node("identifier", IdentifierInput)
            .node("password", PasswordInput)
            .node("mfa_check", Condition)
            .config("mfa_check", json!({"condition": "user.mfa_enabled"}))
            .node("mfa_verify", MfaVerification)
            .node("success", Success)
            .edge("start", "identifier")
            .edge("identifier", "password")
            .edge("password", "mfa_check")
            .edge_if("mfa_check", "mfa_verify", "true")
            .edge_if("mfa_check", "success", "false")
            .edge("mfa_verify", "success")
            .build()
    }

    #[test]
    fn plan_orders_steps_and_resolves_branches() {
        let plan = mfa().compile().unwrap();
        let ids: Vec<&str> = plan.steps.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "start",
                "identifier",
                "password",
                "mfa_check",
                "mfa_verify",
                "success"
            ]
        );
        assert_eq!(
            plan.steps[3].next,
            vec![
                Transition {
                    when: Some("true".into()),
                    to: 4
                },
                Transition {
                    when: Some("false".into()),
                    to: 5
                }
            ]
        );
        assert!(plan.steps[5].next.is_empty());
        assert_eq!(
            plan.steps[3].config,
            Some(json!({"condition": "user.mfa_enabled"}))
        );
    }

    #[test]
    fn deterministic_and_independent_of_node_order() {
        let g = mfa();
        assert_eq!(g.compile().unwrap(), g.compile().unwrap());
        let mut shuffled = g.clone();
        shuffled.nodes.reverse();
        assert_eq!(shuffled.compile().unwrap(), g.compile().unwrap());
        let json = serde_json::to_string(&g.compile().unwrap()).unwrap();
        assert_eq!(
            serde_json::from_str::<CompiledPlan>(&json).unwrap(),
            g.compile().unwrap()
        );
    }

    #[test]
    fn invalid_graphs_are_refused_with_their_report() {
        let g = FlowGraph::builder().node("success", Success).build();
        let report = g.compile().unwrap_err();
        assert_eq!(report.error_codes(), vec![IssueCode::MissingStartNode]);
    }
}
