//! Prometheus metrics, written in the text exposition format by hand (a few
//! counters and one histogram do not need a registry crate).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU16, AtomicU64, Ordering};
use std::time::Duration;

use authflow::api::routes::{ROUTES, Route};

const BUCKETS: [f64; 14] = [
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Distinct statuses counted lock-free per route; a route that sees more
/// (it never should) counts the rest under a lock.
const STATUS_SLOTS: usize = 8;

/// The request counters of one route: `status[i]` (0 = free slot, claimed
/// once with a compare-exchange) answered `count[i]` times.
#[derive(Debug, Default)]
struct RouteCounts {
    status: [AtomicU16; STATUS_SLOTS],
    count: [AtomicU64; STATUS_SLOTS],
}

impl RouteCounts {
    /// Count one answer with `status`; false when every slot holds another
    /// status.
    fn add(&self, status: u16) -> bool {
        for (slot, count) in self.status.iter().zip(&self.count) {
            let seen = slot.load(Ordering::Acquire);
            let mine = seen == status
                || (seen == 0
                    && match slot.compare_exchange(0, status, Ordering::AcqRel, Ordering::Acquire) {
                        Ok(_) => true,
                        Err(other) => other == status,
                    });
            if mine {
                count.fetch_add(1, Ordering::Relaxed);
                return true;
            }
        }
        false
    }
}

/// The proxy's metrics: atomics only on the request path.
#[derive(Debug)]
pub struct Metrics {
    /// One entry per route of the table, in table order, then `unmatched`.
    requests: Box<[RouteCounts]>,
    /// Statuses beyond a route's slots (and routes outside the table).
    overflow: Mutex<BTreeMap<(&'static str, u16), u64>>,
    upstream_errors: Mutex<BTreeMap<&'static str, u64>>,
    /// Non-cumulative: `buckets[i]` counts latencies in `(BUCKETS[i-1], BUCKETS[i]]`.
    buckets: [AtomicU64; BUCKETS.len()],
    sum_micros: AtomicU64,
    count: AtomicU64,
    in_flight: AtomicI64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            requests: (0..=ROUTES.len()).map(|_| RouteCounts::default()).collect(),
            overflow: Mutex::default(),
            upstream_errors: Mutex::default(),
            buckets: Default::default(),
            sum_micros: AtomicU64::new(0),
            count: AtomicU64::new(0),
            in_flight: AtomicI64::new(0),
        }
    }
}

/// The label of `route` (`unmatched` for none).
fn route_name(route: Option<&'static Route>) -> &'static str {
    route.map_or("unmatched", |r| r.name)
}

impl Metrics {
    pub(crate) fn start(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn finish(&self, route: Option<&'static Route>, status: u16, latency: Duration) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        let index = match route {
            Some(r) => ROUTES
                .iter()
                .position(|t| std::ptr::eq(t, r) || (t.name == r.name && t.api == r.api)),
            None => Some(ROUTES.len()),
        };
        let counted = status != 0 && index.is_some_and(|i| self.requests[i].add(status));
        if !counted && let Ok(mut m) = self.overflow.lock() {
            *m.entry((route_name(route), status)).or_default() += 1;
        }
        let secs = latency.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.sum_micros.fetch_add(
            u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn upstream_error(&self, code: &'static str) {
        if let Ok(mut m) = self.upstream_errors.lock() {
            *m.entry(code).or_default() += 1;
        }
    }

    /// Requests answered, by (route, status), sorted.
    fn request_counts(&self) -> BTreeMap<(&'static str, u16), u64> {
        let mut all = self.overflow.lock().map(|m| m.clone()).unwrap_or_default();
        let names = ROUTES.iter().map(|r| r.name).chain(["unmatched"]);
        for (name, counts) in names.zip(self.requests.iter()) {
            for (slot, count) in counts.status.iter().zip(&counts.count) {
                let status = slot.load(Ordering::Acquire);
                let n = count.load(Ordering::Relaxed);
                if status != 0 && n > 0 {
                    *all.entry((name, status)).or_default() += n;
                }
            }
        }
        all
    }

    /// The text exposition (`text/plain; version=0.0.4`).
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP authflow_proxy_requests_total Requests answered, by route and status.\n",
        );
        out.push_str("# TYPE authflow_proxy_requests_total counter\n");
        for ((route, status), n) in &self.request_counts() {
            let _ = writeln!(
                out,
                "authflow_proxy_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str("# HELP authflow_proxy_upstream_errors_total Upstream failures, by kind.\n");
        out.push_str("# TYPE authflow_proxy_upstream_errors_total counter\n");
        if let Ok(m) = self.upstream_errors.lock() {
            for (kind, n) in m.iter() {
                let _ = writeln!(
                    out,
                    "authflow_proxy_upstream_errors_total{{kind=\"{kind}\"}} {n}"
                );
            }
        }
        out.push_str("# HELP authflow_proxy_request_duration_seconds Time to answer a request.\n");
        out.push_str("# TYPE authflow_proxy_request_duration_seconds histogram\n");
        let mut cumulative = 0;
        for (i, b) in BUCKETS.iter().enumerate() {
            cumulative += self.buckets[i].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "authflow_proxy_request_duration_seconds_bucket{{le=\"{b}\"}} {cumulative}"
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "authflow_proxy_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "authflow_proxy_request_duration_seconds_sum {}",
            self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "authflow_proxy_request_duration_seconds_count {count}");
        out.push_str("# HELP authflow_proxy_in_flight Requests being handled.\n");
        out.push_str("# TYPE authflow_proxy_in_flight gauge\n");
        let _ = writeln!(
            out,
            "authflow_proxy_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histogram() {
        let m = Metrics::default();
        m.start();
        m.finish(
            Some(&authflow::api::routes::LOGIN),
            200,
            Duration::from_millis(3),
        );
        m.start();
        m.finish(None, 404, Duration::from_micros(100));
        m.start();
        m.finish(
            Some(&authflow::api::routes::LOGIN),
            200,
            Duration::from_millis(30),
        );
        m.upstream_error("dependency_timeout");
        let text = m.render();
        assert!(text.contains("authflow_proxy_requests_total{route=\"login\",status=\"200\"} 2"));
        assert!(
            text.contains("authflow_proxy_requests_total{route=\"unmatched\",status=\"404\"} 1")
        );
        assert!(
            text.contains("authflow_proxy_upstream_errors_total{kind=\"dependency_timeout\"} 1")
        );
        // Cumulative buckets: 0.1 ms, 3 ms, 30 ms.
        assert!(text.contains("authflow_proxy_request_duration_seconds_bucket{le=\"0.0005\"} 1"));
        assert!(text.contains("authflow_proxy_request_duration_seconds_bucket{le=\"0.0025\"} 1"));
        assert!(text.contains("authflow_proxy_request_duration_seconds_bucket{le=\"0.005\"} 2"));
        assert!(text.contains("authflow_proxy_request_duration_seconds_bucket{le=\"0.05\"} 3"));
        assert!(text.contains("authflow_proxy_request_duration_seconds_bucket{le=\"+Inf\"} 3"));
        assert!(text.contains("authflow_proxy_in_flight 0"));
    }

    #[test]
    fn many_statuses_of_one_route_overflow_into_the_locked_map() {
        let m = Metrics::default();
        let statuses = 200..(200 + STATUS_SLOTS as u16 + 3);
        for status in statuses.clone() {
            m.start();
            m.finish(Some(&authflow::api::routes::ME), status, Duration::ZERO);
        }
        m.start();
        m.finish(Some(&authflow::api::routes::ME), 200, Duration::ZERO);
        let text = m.render();
        for status in statuses {
            let n = if status == 200 { 2 } else { 1 };
            let line =
                format!("authflow_proxy_requests_total{{route=\"me\",status=\"{status}\"}} {n}\n");
            assert!(text.contains(&line), "{line}{text}");
        }
    }
}
