//! The flows of the mock's one tenant, in memory, in creation order.

use std::collections::HashMap;
use std::sync::Mutex;

use authflow::api::flows::{
    CompiledPlan, Flow, FlowGraph, FlowStatus, FlowSummary, FlowType, ValidationReport,
};

/// One stored flow.
#[derive(Debug, Clone)]
pub struct FlowRecord {
    /// Creation sequence number (the pagination order).
    pub seq: u64,
    /// What `GET` returns.
    pub flow: Flow,
    /// The plan of the last compile (cleared with `compiled`).
    pub plan: Option<CompiledPlan>,
    /// Set by activate.
    pub activated_at: Option<i64>,
    /// Set by deactivate.
    pub deactivated_at: Option<i64>,
}

/// Why a flow could not be created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateError {
    /// The name (so the id) is taken.
    Duplicate,
}

/// A page of a listing.
#[derive(Debug, Clone)]
pub struct Page {
    /// The flows of this page.
    pub items: Vec<FlowSummary>,
    /// Matching flows in all pages.
    pub total: u64,
    /// Sequence number of the last item, when more follow.
    pub next_after: Option<u64>,
}

#[derive(Debug, Default)]
struct Data {
    next_seq: u64,
    by_id: HashMap<String, FlowRecord>,
}

/// The flow registry.
#[derive(Debug, Default)]
pub struct FlowRegistry {
    data: Mutex<Data>,
}

impl FlowRegistry {
    fn with<R>(&self, f: impl FnOnce(&mut Data) -> R) -> R {
        // A poisoned lock only means another handler panicked mid-update of
        // plain data; the map itself is still usable.
        let mut guard = self.data.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    /// Forget every flow.
    pub fn clear(&self) {
        self.with(|d| *d = Data::default());
    }

    /// Number of flows.
    pub fn len(&self) -> usize {
        self.with(|d| d.by_id.len())
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Store a new flow (draft, version 1, not compiled).
    pub fn create(&self, flow: Flow) -> Result<Flow, CreateError> {
        self.with(|d| {
            if d.by_id.contains_key(&flow.summary.id) {
                return Err(CreateError::Duplicate);
            }
            d.next_seq += 1;
            let record = FlowRecord {
                seq: d.next_seq,
                flow: flow.clone(),
                plan: None,
                activated_at: None,
                deactivated_at: None,
            };
            d.by_id.insert(flow.summary.id.clone(), record);
            Ok(flow)
        })
    }

    /// A copy of one flow.
    pub fn get(&self, id: &str) -> Option<FlowRecord> {
        self.with(|d| d.by_id.get(id).cloned())
    }

    /// Change one flow in place; `None` if it does not exist.
    pub fn update<R>(&self, id: &str, f: impl FnOnce(&mut FlowRecord) -> R) -> Option<R> {
        self.with(|d| d.by_id.get_mut(id).map(f))
    }

    /// Remove one flow unless `refuse` says why not.
    pub fn remove_unless<E>(
        &self,
        id: &str,
        refuse: impl FnOnce(&FlowRecord) -> Option<E>,
    ) -> Option<Result<(), E>> {
        self.with(|d| {
            let record = d.by_id.get(id)?;
            if let Some(e) = refuse(record) {
                return Some(Err(e));
            }
            d.by_id.remove(id);
            Some(Ok(()))
        })
    }

    /// Flows matching the filters, in creation order, after sequence
    /// number `after`, at most `limit`.
    pub fn page(
        &self,
        flow_type: Option<FlowType>,
        status: Option<FlowStatus>,
        after: u64,
        limit: usize,
    ) -> Page {
        self.with(|d| {
            let mut matching: Vec<&FlowRecord> = d
                .by_id
                .values()
                .filter(|r| flow_type.is_none_or(|t| r.flow.summary.flow_type == t))
                .filter(|r| status.is_none_or(|s| r.flow.summary.status == s))
                .collect();
            matching.sort_unstable_by_key(|r| r.seq);
            let total = matching.len() as u64;
            let rest: Vec<&FlowRecord> = matching.into_iter().filter(|r| r.seq > after).collect();
            let more = rest.len() > limit;
            let items: Vec<&FlowRecord> = rest.into_iter().take(limit).collect();
            Page {
                next_after: if more {
                    items.last().map(|r| r.seq)
                } else {
                    None
                },
                items: items.iter().map(|r| r.flow.summary.clone()).collect(),
                total,
            }
        })
    }
}

/// The validation report of a stored graph (shared with the SDK: one function).
pub fn validate(graph: &FlowGraph) -> ValidationReport {
    graph.validate()
}
