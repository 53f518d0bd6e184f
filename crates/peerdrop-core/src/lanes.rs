//! How many peer connections (lanes) a transfer uses, from what was measured.
//!
//! One Chromium data channel is held back by its SCTP congestion window on a long or lossy
//! link (a few MiB/s at 20 ms, a tenth of that with 1 % loss: docs/performance.md), and every
//! channel of one peer connection shares that window. Each extra peer connection brings an
//! association, a window and a socket of its own, so N connections move up to N times as much
//! where the window is the limit. On a LAN the window is not the limit, and each connection
//! costs CPU (its own DTLS and SCTP work) that two cores cannot spare: one lane there.

use crate::config::MAX_LANES;

/// Below this round trip the link is local: one lane.
pub const LOCAL_RTT_MS: u64 = 10;
/// One more lane for every this many milliseconds of round trip, up to [`MAX_LANES`].
const RTT_MS_PER_LANE: u64 = 8;

/// Data left per lane worth opening: a lane takes parts of blocks (v5), so a few blocks can
/// keep several lanes busy, but a part smaller than this would not pay for the lane's setup.
pub const LANE_SHARE: u64 = 256 * 1024;

/// Lanes for a link with round trip `rtt_ms` and `bytes_left` to move, within `limit`.
pub fn lanes_for(rtt_ms: u64, bytes_left: u64, limit: usize) -> usize {
    let wanted = if rtt_ms < LOCAL_RTT_MS { 1 } else { 2 + (rtt_ms / RTT_MS_PER_LANE) as usize };
    // A lane's setup (a description each way over the first lane, ICE, DTLS and SCTP: a few
    // round trips) is worth it for a quarter of a megabyte: on a lossy path that takes seconds
    // on one connection. (Whole blocks per lane left 4 MiB on four connections where four
    // plain ones, set up beforehand, moved 1.3 x as much: docs/performance.md.)
    let worth = bytes_left.div_ceil(LANE_SHARE).clamp(1, MAX_LANES as u64) as usize;
    wanted.min(worth).min(limit.clamp(1, MAX_LANES))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_links_use_one_lane_long_ones_more_up_to_the_cap() {
        assert_eq!(lanes_for(0, 1 << 40, MAX_LANES), 1);
        assert_eq!(lanes_for(LOCAL_RTT_MS - 1, 1 << 40, MAX_LANES), 1);
        assert_eq!(lanes_for(20, 1 << 40, MAX_LANES), 4);
        assert_eq!(lanes_for(50, 1 << 40, MAX_LANES), MAX_LANES);
        assert_eq!(lanes_for(150, 1 << 40, MAX_LANES), MAX_LANES);
        assert_eq!(lanes_for(u64::MAX, u64::MAX, usize::MAX), MAX_LANES);
    }

    #[test]
    fn small_transfers_and_the_configured_limit_keep_lanes_down() {
        assert_eq!(lanes_for(150, 1, MAX_LANES), 1);
        assert_eq!(lanes_for(150, 0, MAX_LANES), 1);
        assert_eq!(lanes_for(150, LANE_SHARE, MAX_LANES), 1);
        assert_eq!(lanes_for(150, 3 * LANE_SHARE, MAX_LANES), 3);
        // A 4 MiB file: four blocks, on eight lanes that share them.
        assert_eq!(lanes_for(150, 4 << 20, MAX_LANES), MAX_LANES);
        assert_eq!(lanes_for(150, 1 << 40, 2), 2);
        assert_eq!(lanes_for(150, 1000, 0), 1);
    }
}
