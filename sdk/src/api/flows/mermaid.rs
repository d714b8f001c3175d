//! `FlowGraph::to_mermaid()`: a flowchart anyone can paste into a Mermaid renderer.

use std::fmt::Write as _;

use super::graph::{FlowGraph, NodeKind};

/// Mermaid-safe node identifier (ids may hold any characters).
fn ident(i: usize) -> String {
    format!("n{i}")
}

/// Text safe inside a quoted Mermaid label.
fn label(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '"' => '\''.to_string(),
            '<' => "&lt;".into(),
            '>' => "&gt;".into(),
            '\n' | '\r' => " ".into(),
            c => c.to_string(),
        })
        .collect()
}

impl FlowGraph {
    /// The graph as a Mermaid `flowchart LR`: start/end nodes are rounded,
    /// conditions are diamonds, edge labels carry their condition. Edges to
    /// missing nodes are drawn to a dashed placeholder.
    pub fn to_mermaid(&self) -> String {
        let mut out = String::from("flowchart LR\n");
        let mut index = std::collections::HashMap::new();
        for (i, n) in self.nodes.iter().enumerate() {
            index.entry(n.id.as_str()).or_insert(i);
            let text = format!("{}<br/><i>{}</i>", label(&n.id), label(n.kind.as_str()));
            let shape = match n.kind {
                NodeKind::Start | NodeKind::Success | NodeKind::Failure => {
                    format!("([\"{text}\"])")
                }
                NodeKind::Condition | NodeKind::Switch => format!("{{\"{text}\"}}"),
                _ => format!("[\"{text}\"]"),
            };
            let _ = writeln!(out, "    {}{}", ident(i), shape);
        }
        let mut missing = 0;
        for e in &self.edges {
            let mut end = |id: &str, out: &mut String| match index.get(id) {
                Some(i) => ident(*i),
                None => {
                    missing += 1;
                    let m = format!("missing{missing}");
                    let _ = writeln!(out, "    {m}[/\"missing: {}\"/]", label(id));
                    m
                }
            };
            let (s, t) = (end(&e.source, &mut out), end(&e.target, &mut out));
            match &e.condition {
                Some(c) => {
                    let _ = writeln!(out, "    {s} -->|\"{}\"| {t}", label(c));
                }
                None => {
                    let _ = writeln!(out, "    {s} --> {t}");
                }
            }
        }
        out
    }
}
