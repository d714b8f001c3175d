//! The mock's clock: real time plus an offset that tests advance, so expiry
//! (45-second fooBar tokens, 5-minute temp tokens, one-hour reset links, …) is
//! tested without sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A controllable clock. Cheap to clone; clones share the offset.
///
/// ```
/// use std::time::Duration;
/// use authflow_mock::Clock;
///
/// let clock = Clock::new();
/// let before = clock.now_secs();
/// clock.advance(Duration::from_secs(46));
/// assert!(clock.now_secs() >= before + 46);
/// ```
#[derive(Debug, Clone)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
    /// The frozen instant (ms), or `NOT_FROZEN`.
    frozen_ms: Arc<AtomicI64>,
}

const NOT_FROZEN: i64 = i64::MIN;

impl Default for Clock {
    fn default() -> Self {
        Clock {
            offset_ms: Arc::default(),
            frozen_ms: Arc::new(AtomicI64::new(NOT_FROZEN)),
        }
    }
}

impl Clock {
    /// A clock that reads real time (no offset yet).
    pub fn new() -> Self {
        Self::default()
    }

    /// Move the clock forward.
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.offset_ms.fetch_add(ms, Ordering::SeqCst);
    }

    /// Drop any offset and unfreeze: back to real time.
    pub fn reset(&self) {
        self.offset_ms.store(0, Ordering::SeqCst);
        self.frozen_ms.store(NOT_FROZEN, Ordering::SeqCst);
    }

    /// Stop the clock at the current instant: time then moves only by
    /// [`advance`](Self::advance), so tests can compare timestamps exactly.
    ///
    /// ```
    /// use std::time::Duration;
    /// let clock = authflow_mock::Clock::new();
    /// clock.freeze();
    /// let t = clock.now_millis();
    /// clock.advance(Duration::from_millis(1500));
    /// assert_eq!(clock.now_millis(), t + 1500);
    /// ```
    pub fn freeze(&self) {
        let now = real_millis();
        let _ =
            self.frozen_ms
                .compare_exchange(NOT_FROZEN, now, Ordering::SeqCst, Ordering::SeqCst);
    }

    /// Let the clock run with real time again (the offset stays).
    pub fn unfreeze(&self) {
        let frozen = self.frozen_ms.swap(NOT_FROZEN, Ordering::SeqCst);
        if frozen != NOT_FROZEN {
            // Keep reading the same instant at the moment of unfreezing.
            self.offset_ms
                .fetch_add(frozen - real_millis(), Ordering::SeqCst);
        }
    }

    /// Milliseconds since the Unix epoch, as the mock sees it.
    pub fn now_millis(&self) -> i64 {
        let base = match self.frozen_ms.load(Ordering::SeqCst) {
            NOT_FROZEN => real_millis(),
            frozen => frozen,
        };
        base.saturating_add(self.offset_ms.load(Ordering::SeqCst))
    }

    /// Seconds since the Unix epoch, as the mock sees it.
    pub fn now_secs(&self) -> i64 {
        self.now_millis().div_euclid(1000)
    }

    /// The current time as RFC 3339 (UTC, milliseconds).
    pub fn now_rfc3339(&self) -> String {
        rfc3339(self.now_millis())
    }
}

fn real_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Format Unix milliseconds as RFC 3339 UTC (`2026-04-06T21:33:45.225Z`).
pub fn rfc3339(unix_ms: i64) -> String {
    let secs = unix_ms.div_euclid(1000);
    let ms = unix_ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Format Unix milliseconds as RFC 3339 UTC to the second
/// (`2026-04-06T08:00:00Z`), as the AIdenID documents show timestamps.
pub fn rfc3339_secs(unix_ms: i64) -> String {
    let full = rfc3339(unix_ms.div_euclid(1000) * 1000);
    full.replace(".000Z", "Z")
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_775_344_800_000), "2026-04-04T23:20:00.000Z");
        assert_eq!(rfc3339(951_782_400_123), "2000-02-29T00:00:00.123Z");
    }

    #[test]
    fn clones_share_the_offset() {
        let a = Clock::new();
        let b = a.clone();
        let t = b.now_secs();
        a.advance(Duration::from_secs(3600));
        assert!(b.now_secs() >= t + 3600);
        b.reset();
        assert!(a.now_secs() < t + 3600);
    }
}
