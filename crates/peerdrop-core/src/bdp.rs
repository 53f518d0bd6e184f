//! The bandwidth-delay product of the path, as both engines measure it: the peak rate at which
//! blocks were delivered (acknowledged, or verified and stored) over the last few round trips,
//! times the smallest round trip the runtime reported (queueing only ever adds to it).
//! Flow control sizes what may be in flight from it rather than from fixed numbers.
//!
//! Why the peak and not the average: deliveries come a whole block at a time, and a round trip
//! in which none came (a lane still opening, a block retried) would pull an average down, and
//! with it the limit that decides what may be sent, which then holds the rate down in turn: on
//! a clean 150 ms path the average held PeerDrop near one block per round trip. The peak over a
//! few round trips (as BBR keeps it) forgets a faster past within those round trips, so a path
//! that really slowed is followed.

use crate::lanes::LOCAL_RTT_MS;
use crate::progress::RateMeter;
use std::collections::VecDeque;

/// Each rate sample spans at least one round trip, so one burst of deliveries (blocks of
/// several lanes acknowledged together) is not mistaken for the path's rate.
const SAMPLE_ROUND_TRIPS: u64 = 1;
/// ... and never less than this, so that a short round trip still spans several blocks.
const MIN_SAMPLE_MS: u64 = 100;
/// The peak is kept this many round trips: longer than a gap of a round trip or two without
/// deliveries, short enough to follow a path that really slowed.
const PEAK_ROUND_TRIPS: u64 = 8;
/// Deliveries recorded per round trip at most (the rate meter keeps 64 samples).
const SAMPLES_PER_ROUND_TRIP: u64 = 16;

#[derive(Debug, Clone, Default)]
pub struct Bdp {
    min_rtt_ms: Option<u64>,
    delivered: RateMeter,
    /// Rate samples (time, bytes per second) that may still be the peak: each one higher than
    /// every later one, the oldest first.
    peaks: VecDeque<(u64, f64)>,
    last_recorded_ms: Option<u64>,
}

impl Bdp {
    /// A round trip measured by the runtime; the smallest one is kept. The rates measured so
    /// far stay: the runtime reports a few samples, a millisecond apart on a long path, and
    /// forgetting the peak at each would restart the path's fill. Only a round trip at most
    /// half the last one (a path that really changed) measures afresh over its own span.
    pub fn round_trip(&mut self, rtt_ms: u64) {
        let rtt = self.min_rtt_ms.map_or(rtt_ms, |m| m.min(rtt_ms));
        if self.min_rtt_ms.map_or(true, |old| rtt.saturating_mul(2) <= old) {
            self.delivered =
                RateMeter::with_window(SAMPLE_ROUND_TRIPS.saturating_mul(rtt).max(MIN_SAMPLE_MS));
            self.peaks.clear();
        }
        self.min_rtt_ms = Some(rtt);
    }

    /// Bytes delivered so far (cumulative) at `now_ms`.
    pub fn delivered(&mut self, now_ms: u64, bytes: u64) {
        // Before the round trip is known nothing is measured: its first report starts the
        // meter afresh anyway.
        let Some(rtt) = self.min_rtt_ms else { return };
        // At most [`SAMPLES_PER_ROUND_TRIP`] a round trip: the meter keeps a bounded number,
        // and a fast path reports far more often (every 128 KiB: 150 a round trip at 100 MB/s
        // over 200 ms), which would leave it less than a round trip to measure over.
        if self.last_recorded_ms.is_some_and(|t| now_ms < t + rtt / SAMPLES_PER_ROUND_TRIP) {
            return;
        }
        self.last_recorded_ms = Some(now_ms);
        self.delivered.record(now_ms, bytes);
        let keep_ms = PEAK_ROUND_TRIPS.saturating_mul(rtt).max(PEAK_ROUND_TRIPS * MIN_SAMPLE_MS);
        while self.peaks.front().is_some_and(|&(t, _)| now_ms.saturating_sub(t) > keep_ms) {
            self.peaks.pop_front();
        }
        if self.delivered.span_ms() < SAMPLE_ROUND_TRIPS.saturating_mul(rtt).max(MIN_SAMPLE_MS) {
            return;
        }
        let rate = self.delivered.rate();
        while self.peaks.back().is_some_and(|&(_, r)| r <= rate) {
            self.peaks.pop_back();
        }
        self.peaks.push_back((now_ms, rate));
    }

    /// The smallest round trip reported, once one was.
    pub fn round_trip_ms(&self) -> Option<u64> {
        self.min_rtt_ms
    }

    /// The round trip, once known and long enough that the path is not local.
    pub fn wide_area_rtt_ms(&self) -> Option<u64> {
        self.min_rtt_ms.filter(|&rtt| rtt >= LOCAL_RTT_MS)
    }

    /// Bytes per round trip at the peak delivery rate of the last few round trips (0 before it
    /// is measured), on a wide-area path; `None` on a local one or before the round trip is
    /// known.
    pub fn bytes(&self) -> Option<u64> {
        let rtt = self.wide_area_rtt_ms()?;
        let rate = self.peaks.front().map_or(0.0, |&(_, r)| r);
        Some((rate * rtt as f64 / 1000.0) as u64)
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
        // Another sample a millisecond shorter keeps the peak: the fill does not restart.
        far.round_trip(49);
        assert_eq!(far.bytes(), Some(490_000));
    }

    #[test]
    fn a_round_trip_without_deliveries_keeps_the_peak_a_slower_path_is_followed() {
        let mut bdp = Bdp::default();
        bdp.round_trip(150);
        // A block (1 MB) every 100 ms: 10 MB/s, 1.5 MB per round trip.
        let mut bytes = 0;
        let mut t = 0;
        for _ in 0..10 {
            t += 100;
            bytes += 1_000_000;
            bdp.delivered(t, bytes);
        }
        assert_eq!(bdp.bytes(), Some(1_500_000));
        // Nothing for two round trips, then one block: the average over a round trip would be
        // a third of the rate, the peak stays.
        t += 300;
        bytes += 1_000_000;
        bdp.delivered(t, bytes);
        assert_eq!(bdp.bytes(), Some(1_500_000));
        // A block every 400 ms from now on: after the peak's round trips the slower rate rules.
        for _ in 0..10 {
            t += 400;
            bytes += 1_000_000;
            bdp.delivered(t, bytes);
        }
        assert_eq!(bdp.bytes(), Some(375_000));
    }

    #[test]
    fn a_burst_of_deliveries_is_not_taken_for_the_rate() {
        let mut bdp = Bdp::default();
        bdp.round_trip(100);
        // Two blocks half a round trip apart: no sample spans a round trip yet.
        bdp.delivered(1_000, 1_000_000);
        bdp.delivered(1_050, 2_000_000);
        assert_eq!(bdp.bytes(), Some(0));
        // A round trip on, four blocks of four lanes acknowledged within 3 ms: one is recorded
        // (a sixteenth of a round trip apart at most), so the rate is 2 MB over 100 ms, not
        // 5 MB over 103 ms.
        for (i, t) in [1_100u64, 1_101, 1_102, 1_103].into_iter().enumerate() {
            bdp.delivered(t, 3_000_000 + i as u64 * 1_000_000);
        }
        assert_eq!(bdp.bytes(), Some(2_000_000));
    }
}
