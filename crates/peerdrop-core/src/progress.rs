//! Progress counted from verified bytes, with a rate and an ETA people can trust.
//!
//! The rate is measured over a sliding window of recent samples rather than since the
//! start, so it follows a link that speeds up or slows down within a few seconds.

use std::collections::VecDeque;

/// How far back the rate looks.
const WINDOW_MS: u64 = 5_000;
/// Samples kept at most (one per verified block is plenty).
const MAX_SAMPLES: usize = 64;

/// Verified progress of one transfer.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// The file that moved, with its verified bytes (`None` for a transfer-wide update).
    pub file: Option<(u32, u64)>,
    pub verified_bytes: u64,
    pub total_bytes: u64,
    /// Bytes per second over the last few seconds.
    pub bytes_per_second: f64,
    /// Seconds left at the current rate; `None` while the rate is unknown.
    pub eta_seconds: Option<f64>,
}

/// Sliding-window rate of a growing byte count.
#[derive(Debug, Clone)]
pub struct RateMeter {
    window_ms: u64,
    samples: VecDeque<(u64, u64)>,
}

impl Default for RateMeter {
    fn default() -> Self {
        RateMeter::with_window(WINDOW_MS)
    }
}

impl RateMeter {
    /// A meter that looks back `window_ms` (flow control wants a quicker one than people do).
    pub fn with_window(window_ms: u64) -> Self {
        RateMeter { window_ms, samples: VecDeque::new() }
    }

    /// Records that `bytes` (cumulative) were reached at `now_ms`.
    pub fn record(&mut self, now_ms: u64, bytes: u64) {
        self.samples.push_back((now_ms, bytes));
        while self.samples.len() > MAX_SAMPLES {
            self.samples.pop_front();
        }
        while self.samples.len() > 2 && now_ms.saturating_sub(self.samples[1].0) >= self.window_ms {
            self.samples.pop_front();
        }
    }

    /// Bytes per second across the window; 0 until two samples at distinct times exist.
    pub fn rate(&self) -> f64 {
        match (self.samples.front(), self.samples.back()) {
            (Some(&(t0, b0)), Some(&(t1, b1))) if t1 > t0 => {
                b1.saturating_sub(b0) as f64 * 1000.0 / (t1 - t0) as f64
            }
            _ => 0.0,
        }
    }

    /// Milliseconds between the oldest and the newest sample the rate is computed over.
    pub fn span_ms(&self) -> u64 {
        match (self.samples.front(), self.samples.back()) {
            (Some(&(t0, _)), Some(&(t1, _))) => t1.saturating_sub(t0),
            _ => 0,
        }
    }

    /// Seconds to move `remaining` bytes at the current rate.
    pub fn eta(&self, remaining: u64) -> Option<f64> {
        if remaining == 0 {
            return Some(0.0);
        }
        let rate = self.rate();
        (rate > 0.0).then(|| remaining as f64 / rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_and_eta_follow_recent_samples() {
        let mut m = RateMeter::default();
        assert_eq!(m.rate(), 0.0);
        assert_eq!(m.eta(10), None);
        for s in 0..=10u64 {
            m.record(s * 1000, s * 1_000_000);
        }
        assert!((m.rate() - 1_000_000.0).abs() < 1.0);
        assert!((m.eta(5_000_000).unwrap() - 5.0).abs() < 0.01);
        // The link slows to a tenth: within the window the rate follows.
        for s in 11..=20u64 {
            m.record(s * 1000, 10_000_000 + (s - 10) * 100_000);
        }
        assert!((m.rate() - 100_000.0).abs() < 1.0, "{}", m.rate());
        assert_eq!(m.eta(0), Some(0.0));
    }
}
