//! How much block data the sender lets into a wide-area path at once, from what the receiver
//! reports it took (`RECEIVED`, protocol v4) rather than from whole-block acknowledgements.
//!
//! Each lane is an SCTP association with a congestion window of its own, and nothing paces
//! them together: several lanes slow-starting at once, or one association's slow start
//! overshooting, overflow a router's queue, and Chromium's SCTP recovers from a burst of
//! losses slowly (docs/performance.md, "Real links"). So every `DATA` payload byte handed to
//! any lane's channel counts until the receiver reports it taken, and the total stays within
//! one bandwidth-delay product (peak delivery rate times the smallest round trip) plus
//! [`HEADROOM`], or plus a quarter of the product where that is more:
//!
//! - a router's queue then holds at most the headroom: half a megabyte, less than the queue of
//!   a 100 Mbit/s link at 40 ms (a quarter of the product only on paths whose product passes
//!   2 MiB, whose queues are larger too);
//! - the headroom is how the path is filled and a faster path found: what it lets through
//!   raises the peak, so the allowance grows by the headroom every round trip while the path
//!   has room (a 150 ms path at 100 Mbit/s is full after four round trips), and by a quarter
//!   once the product is larger, so a fat long path fills in seconds, not minutes. A start that
//!   doubles (twice the product, as slow start) overshot a queue of a third of the product by
//!   the product itself in its last round;
//! - it is two of the largest messages, so a message always fits once the data before it was
//!   reported, and a report is always due while the sender waits (what the receiver took past
//!   its last report grows to at least [`RECEIVED_REPORT_BYTES`]).
//!
//! Bytes waiting in a lane's own buffer count too: handed to the channel, the browser sends
//! them whenever that association's window allows, which is what must not burst. So that the
//! headroom can keep a message waiting on each of several lanes (a lane whose window opens and
//! finds nothing to send idles until the next report), block data on a limited path goes in
//! messages of [`PATH_MESSAGE`]: eight fit the headroom.

use crate::bdp::Bdp;
use crate::config::{MAX_MESSAGE_SIZE, MAX_WINDOW, RECEIVED_REPORT_BYTES};

/// Allowed above the product at least (see the module documentation).
pub const HEADROOM: u64 = 2 * MAX_MESSAGE_SIZE as u64;
/// Largest `DATA` payload on a path the limit applies to.
pub const PATH_MESSAGE: usize = 64 * 1024;
/// Most that waits in one lane's channel (`bufferedAmount`) on such a path before another
/// message goes in: a message, refilled at half of it, so its association always has the
/// next bytes while the runtime wakes (a few milliseconds: 20 kB at 100 Mbit/s). Bytes handed to a
/// channel can only go on that connection; kept here, any idle lane can take them
/// (`OutBlock::split`). With the configured marks (256 KiB on a new connection), the first
/// lane alone for the second the others take to open held 2.5 s of a lossy connection's
/// data, which the transfer's end then waited for.
pub const PATH_BACKLOG: u64 = PATH_MESSAGE as u64;
const _: () = assert!(HEADROOM >= MAX_MESSAGE_SIZE as u64 + RECEIVED_REPORT_BYTES);

/// The most data that may be handed to the lanes and not yet reported taken: unlimited on a
/// local path or before the round trip is known (the receiver's credit bounds it).
pub fn path_limit(bdp: &Bdp) -> u64 {
    bdp.bytes().map_or(u64::MAX, |product| {
        let p = product.min(MAX_WINDOW);
        p + HEADROOM.max(p / 4)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlimited_on_a_local_path_the_product_and_headroom_or_a_quarter_on_a_long_one() {
        let mut local = Bdp::default();
        local.round_trip(2);
        assert_eq!(path_limit(&local), u64::MAX);
        assert_eq!(path_limit(&Bdp::default()), u64::MAX, "round trip not known yet");

        let mut far = Bdp::default();
        far.round_trip(100);
        assert_eq!(path_limit(&far), HEADROOM, "nothing measured yet");
        // 8 MB/s for a second, reported every 10 ms.
        for t in 1..=100u64 {
            far.delivered(t * 10, t * 80_000);
        }
        assert_eq!(path_limit(&far), 800_000 + HEADROOM);

        // 80 MB/s: the product, 8 MB, passes four headrooms; a quarter of it is allowed above.
        let mut fat = Bdp::default();
        fat.round_trip(100);
        for t in 1..=100u64 {
            fat.delivered(t * 10, t * 800_000);
        }
        assert_eq!(path_limit(&fat), 8_000_000 + 2_000_000);
    }
}
