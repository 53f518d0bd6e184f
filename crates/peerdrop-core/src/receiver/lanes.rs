//! The receiver's side of extra lanes (protocol v3, docs/protocol.md §2.15): answering the
//! sender's offers, taking block data on the lanes it answered, and the credit window's floor
//! that keeps lanes from waiting on each other.

use super::{Phase, Receiver};
use crate::config::MAX_WINDOW;
use crate::error::TransferError;
use crate::frame::Frame;
use crate::session::violation;

/// Where an extra lane is, as the receiver sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaneSlot {
    Unused,
    /// Offered; the runtime is making the answer.
    Offered,
    /// Answered with a description: block data may come on it.
    Answered,
    /// Declined: its number is spent, and nothing may come on it.
    Declined,
}

impl Receiver {
    /// Feeds one message received on extra lane `lane` (see
    /// [`ReceiverOutput::LaneOffer`](crate::ReceiverOutput::LaneOffer)): only block data travels
    /// there.
    pub fn handle_lane_frame(&mut self, now_ms: u64, lane: usize, bytes: &[u8]) {
        if self.out.closed {
            return;
        }
        // Before the prologue: not even CANCEL, ERROR or KEEPALIVE counts on a lane not agreed.
        if lane == 0 || self.lanes.get(lane) != Some(&LaneSlot::Answered) {
            self.out.at(now_ms);
            self.out.fail(violation("block data arrived on a connection that was not agreed"));
            return;
        }
        let Some(frame) = self.out.receive(now_ms, bytes) else { return };
        let result = match (self.phase, &frame) {
            (Phase::Transferring, &Frame::Block { file, index, len, offset, sha256 }) => {
                self.on_block(lane, file, index, len, offset, sha256)
            }
            (Phase::Transferring, &Frame::Data { payload }) => {
                self.last_progress_ms = self.out.now_ms;
                self.on_data(lane, payload)
            }
            _ => Err(violation("only block data may travel on an extra connection")),
        };
        if let Err(e) = result {
            self.out.fail(e);
        }
    }

    /// The local description answering the sender's offer for lane `lane` (empty to decline
    /// it): it goes to the sender on the first connection. A description larger than a
    /// message declines the lane. `false` when the lane is declined (or was not offered): the
    /// runtime then releases what it made for it.
    pub fn lane_description(&mut self, now_ms: u64, lane: usize, sdp: &str) -> bool {
        self.out.at(now_ms);
        if self.lanes.get(lane) != Some(&LaneSlot::Offered) || self.out.closed {
            return false;
        }
        let fits = !sdp.is_empty() && self.sizes.is_some_and(|s| sdp.len() + 2 <= s.message_size as usize);
        self.lanes[lane] = if fits { LaneSlot::Answered } else { LaneSlot::Declined };
        self.out.send(Frame::LaneAnswer { lane: lane as u8, sdp: if fits { sdp } else { "" } });
        fits
    }

    /// The sender offers lane `lane` (on lane 0).
    pub(super) fn on_lane_offer(&mut self, lane: usize, sdp: &str) -> Result<(), TransferError> {
        if lane == 0 || self.lanes.get(lane) != Some(&LaneSlot::Unused) {
            return Err(violation("the sender offered a connection number that is not free"));
        }
        if lane >= self.config.lane_limit() || sdp.is_empty() || !self.window_fits_another_lane() {
            // Declined: this side takes no more lanes.
            self.lanes[lane] = LaneSlot::Declined;
            self.out.send(Frame::LaneAnswer { lane: lane as u8, sdp: "" });
        } else {
            self.lanes[lane] = LaneSlot::Offered;
            self.lane_offers.push_back((lane, sdp.to_string()));
        }
        Ok(())
    }

    /// Lanes offered and not declined (being answered, or answered).
    pub(super) fn accepted_lanes(&self) -> u64 {
        self.lanes.iter().filter(|l| matches!(l, LaneSlot::Offered | LaneSlot::Answered)).count() as u64
    }

    /// The least window for `lanes` extra lanes: one block with none (or a block could never
    /// complete); with lanes the sender starts a block only once credit covers it and the
    /// blocks other lanes are finishing, and two blocks per lane keep that from ever waiting on
    /// a grant.
    pub(super) fn window_floor(&self, lanes: u64) -> u64 {
        let block = self.sizes.map_or(0, |s| u64::from(s.block_size));
        if lanes == 0 {
            block
        } else {
            block.saturating_mul(2 * (1 + lanes))
        }
    }

    /// Whether one more lane keeps the window floor within [`MAX_WINDOW`] (or the configured
    /// window, if larger): with very large blocks, fewer lanes.
    fn window_fits_another_lane(&self) -> bool {
        self.window_floor(self.accepted_lanes() + 1) <= MAX_WINDOW.max(self.config.window)
    }
}
