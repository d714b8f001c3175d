//! Prometheus metrics, written in the text exposition format by hand (a few
//! counters and one histogram do not need a registry crate).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

const BUCKETS: [f64; 14] = [
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The proxy's metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    upstream_errors: Mutex<BTreeMap<&'static str, u64>>,
    buckets: [AtomicU64; BUCKETS.len()],
    sum_micros: AtomicU64,
    count: AtomicU64,
    in_flight: AtomicI64,
}

impl Metrics {
    pub(crate) fn start(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn finish(&self, route: &'static str, status: u16, latency: Duration) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((route, status)).or_default() += 1;
        }
        let secs = latency.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.sum_micros
            .fetch_add(latency.as_micros() as u64, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn upstream_error(&self, code: &'static str) {
        if let Ok(mut m) = self.upstream_errors.lock() {
            *m.entry(code).or_default() += 1;
        }
    }

    /// The text exposition (`text/plain; version=0.0.4`).
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP authflow_proxy_requests_total Requests answered, by route and status.\n",
        );
        out.push_str("# TYPE authflow_proxy_requests_total counter\n");
        if let Ok(m) = self.requests.lock() {
            for ((route, status), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "authflow_proxy_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
                );
            }
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
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "authflow_proxy_request_duration_seconds_bucket{{le=\"{b}\"}} {}",
                self.buckets[i].load(Ordering::Relaxed)
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
        m.finish("login", 200, Duration::from_millis(3));
        m.upstream_error("dependency_timeout");
        let text = m.render();
        assert!(text.contains("authflow_proxy_requests_total{route=\"login\",status=\"200\"} 1"));
        assert!(
            text.contains("authflow_proxy_upstream_errors_total{kind=\"dependency_timeout\"} 1")
        );
        assert!(text.contains("authflow_proxy_request_duration_seconds_bucket{le=\"0.005\"} 1"));
        assert!(text.contains("authflow_proxy_request_duration_seconds_bucket{le=\"0.0025\"} 0"));
        assert!(text.contains("authflow_proxy_in_flight 0"));
    }
}
