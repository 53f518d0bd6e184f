//! The bandwidth-delay product of the path, as both engines measure it: the rate at which
//! blocks are delivered (acknowledged, or verified and stored) over the last couple of round
//! trips, times the smallest round trip the runtime reported (queueing only ever adds to it).
//! Flow control sizes what may be in flight from it rather than from fixed numbers.

use crate::lanes::LOCAL_RTT_MS;
use crate::progress::RateMeter;

/// The delivery rate looks back this many round trips: short enough to follow the rate
/// doubling while a long path fills, long enough to smooth one block's worth of jitter.
const RATE_ROUND_TRIPS: u64 = 2;
/// ... and never less than this, so that a short round trip still spans several blocks.
const MIN_RATE_WINDOW_MS: u64 = 100;

#[derive(Debug, Clone, Default)]
pub struct Bdp {
    min_rtt_ms: Option<u64>,
    delivered: RateMeter,
}

impl Bdp {
    /// A round trip measured by the runtime; the smallest one is kept.
    pub fn round_trip(&mut self, rtt_ms: u64) {
        let rtt = self.min_rtt_ms.map_or(rtt_ms, |m| m.min(rtt_ms));
        if self.min_rtt_ms != Some(rtt) {
            self.min_rtt_ms = Some(rtt);
            self.delivered =
                RateMeter::with_window(RATE_ROUND_TRIPS.saturating_mul(rtt).max(MIN_RATE_WINDOW_MS));
        }
    }

    /// Bytes delivered so far (cumulative) at `now_ms`.
    pub fn delivered(&mut self, now_ms: u64, bytes: u64) {
        self.delivered.record(now_ms, bytes);
    }

    /// The smallest round trip reported, once one was.
    pub fn round_trip_ms(&self) -> Option<u64> {
        self.min_rtt_ms
    }

    /// The round trip, once known and long enough that the path is not local.
    pub fn wide_area_rtt_ms(&self) -> Option<u64> {
        self.min_rtt_ms.filter(|&rtt| rtt >= LOCAL_RTT_MS)
    }

    /// Bytes per round trip at the current delivery rate (0 before it is measured), on a
    /// wide-area path; `None` on a local one or before the round trip is known.
    pub fn bytes(&self) -> Option<u64> {
        let rtt = self.wide_area_rtt_ms()?;
        Some((self.delivered.rate() * rtt as f64 / 1000.0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_times_the_smallest_round_trip_on_wide_area_paths_only() {
        let mut bdp = Bdp::default();
        assert_eq!(bdp.bytes(), None);
        bdp.round_trip(5);
        assert_eq!(bdp.bytes(), None, "a local path");
        bdp.round_trip(50);
        assert_eq!(bdp.bytes(), None, "the smallest round trip counts: queueing only adds");
        let mut far = Bdp::default();
        far.round_trip(80);
        far.round_trip(50);
        far.round_trip(120);
        assert_eq!(far.bytes(), Some(0), "nothing delivered yet");
        for t in 0..=10u64 {
            far.delivered(1000 + t * 10, t * 100_000);
        }
        // 10 MB/s over 50 ms.
        assert_eq!(far.bytes(), Some(500_000));
    }
}
