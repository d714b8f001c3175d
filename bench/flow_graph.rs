//! Validation and compilation of generated flow graphs of 1,000, 10,000 and
//! 100,000 nodes: median time of 21 runs and peak heap allocated during one
//! run (a counting global allocator). The 10,000-node goal: under 50 ms,
//! growing linearly.
//!
//! Run: `cargo bench -p authflow-bench --bench flow_graph`

#![allow(unsafe_code)] // the counting allocator below, and nothing else

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use authflow::api::flows::{FlowGraph, NodeKind};
use authflow_bench::{ms, percentile};

struct Counting;
static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: delegates to the system allocator; only counts bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        // SAFETY: same layout contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: ptr was allocated by System with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// start → n nodes in a chain where every 10th node is a condition whose
/// `false` branch skips ahead and every 7th sets an attribute → success,
/// plus a failure end reached from conditions near the end.
fn generate(n: usize) -> FlowGraph {
    let mut b = FlowGraph::builder().node("start", NodeKind::Start);
    for i in 0..n {
        let id = format!("n{i}");
        b = if i % 10 == 0 {
            b.node(&id, NodeKind::Condition)
                .config(&id, serde_json::json!({"condition": format!("attr.{i}")}))
        } else if i % 7 == 0 {
            b.node(&id, NodeKind::SetAttribute)
        } else {
            b.node(&id, NodeKind::OtpInput)
        };
    }
    b = b
        .node("success", NodeKind::Success)
        .node("failure", NodeKind::Failure)
        .edge("start", "n0");
    for i in 0..n {
        let next = if i + 1 < n {
            format!("n{}", i + 1)
        } else {
            "success".to_owned()
        };
        if i % 10 == 0 {
            let skip = if i + 5 < n {
                format!("n{}", i + 5)
            } else {
                "failure".to_owned()
            };
            b = b
                .edge_if(format!("n{i}"), next, "true")
                .edge_if(format!("n{i}"), skip, "false");
        } else {
            b = b.edge(format!("n{i}"), next);
        }
    }
    b.build()
}

fn measure(label: &str, g: &FlowGraph, f: impl Fn(&FlowGraph)) -> Duration {
    let mut samples = Vec::new();
    for _ in 0..21 {
        let t = Instant::now();
        f(g);
        samples.push(t.elapsed());
    }
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    f(g);
    let peak = PEAK.load(Ordering::Relaxed) - base;
    let median = percentile(&samples, 50.0);
    println!(
        "| {label} | {} | {} | {:.1} MiB |",
        g.nodes.len(),
        ms(median),
        peak as f64 / 1_048_576.0
    );
    median
}

fn main() {
    println!("| operation | nodes | median | peak heap |");
    println!("| --- | --- | --- | --- |");
    let mut medians = Vec::new();
    for n in [1_000, 10_000, 100_000] {
        let g = generate(n);
        assert!(g.validate().valid, "generated graph must be valid");
        let v = measure("validate", &g, |g| {
            std::hint::black_box(g.validate());
        });
        let c = measure("validate + compile", &g, |g| {
            std::hint::black_box(g.compile().expect("valid"));
        });
        medians.push((n, v, c));
    }
    let (n1, v1, c1) = medians[1];
    let (n2, v2, c2) = medians[2];
    println!(
        "scaling {n1} → {n2} nodes (×{}): validate ×{:.1}, compile ×{:.1} (linear = ×{})",
        n2 / n1,
        v2.as_secs_f64() / v1.as_secs_f64(),
        c2.as_secs_f64() / c1.as_secs_f64(),
        n2 / n1
    );
}
