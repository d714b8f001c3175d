//! Benchmark helpers: percentiles over measured durations.

use std::time::Duration;

/// Sorted copy of `samples`.
fn sorted(samples: &[Duration]) -> Vec<Duration> {
    let mut v = samples.to_vec();
    v.sort_unstable();
    v
}

/// The `p`-th percentile (0–100) by nearest rank.
pub fn percentile(samples: &[Duration], p: f64) -> Duration {
    let v = sorted(samples);
    if v.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

/// Milliseconds with three decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}
