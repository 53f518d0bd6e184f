//! One peer connection's share of the sender's work: its state in the lane negotiation, its
//! send buffer, its ramp, and the part of a block it is in the middle of. Lane 0 is the
//! connection the transfer started on; it carries every control frame and block data too.

use crate::config::{MAX_BLOCK_PARTS, MIN_BLOCK_PART};
use std::cell::Cell;
use std::rc::Rc;

/// The send backlog of a lane may grow to 1/RAMP_DIVISOR of the data sent on it so far.
/// Measured with plain JS on new connections (docs/performance.md): growing by a sixteenth
/// never stalled, by a quarter (1 MiB after 4 MiB) sometimes did, a fixed 1 MiB always did.
const RAMP_DIVISOR: u64 = 16;

/// Where a lane is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaneState {
    /// The runtime was asked to open it and has not described it yet.
    Planned,
    /// Its offer went to the receiver.
    Offered,
    /// The receiver's answer was handed to the runtime; waiting for the channel to open.
    Answered,
    /// Carrying block data.
    Open,
    /// Declined, or failed before it opened: never used.
    Closed,
}

/// A block read from the source and hashed, shared by the lanes sending parts of it.
#[derive(Debug)]
pub struct SharedBlock {
    pub file: u32,
    pub index: u64,
    pub data: Vec<u8>,
    pub sha256: [u8; 32],
    /// Parts announced or to be announced so far (see [`MAX_BLOCK_PARTS`]).
    parts: Cell<u32>,
}

/// One lane's part of a block: bytes `sent..end` are still to go, after its `BLOCK` header
/// (which announces `start`). A block starts as one part covering it; an idle lane may take
/// the second half of what another lane has yet to send ([`OutBlock::split`]), so the lanes
/// finish a transfer's last blocks together instead of waiting on the slowest one.
#[derive(Debug)]
pub struct OutBlock {
    pub block: Rc<SharedBlock>,
    pub start: usize,
    pub header_sent: bool,
    pub sent: usize,
    pub end: usize,
}

impl OutBlock {
    pub fn new(file: u32, index: u64, data: Vec<u8>, sha256: [u8; 32]) -> Self {
        let end = data.len();
        let block = Rc::new(SharedBlock { file, index, data, sha256, parts: Cell::new(1) });
        OutBlock { block, start: 0, header_sent: false, sent: 0, end }
    }

    /// Bytes of this part not yet handed to the lane's channel.
    pub fn unsent(&self) -> usize {
        self.end - self.sent
    }

    /// Whether [`Self::split`] may take from this part: each side keeps at least
    /// [`MIN_BLOCK_PART`] (a 53-byte header per 16 KiB is nothing, and a lossy connection
    /// moves that much in a tenth of a second or more).
    pub fn can_split(&self) -> bool {
        self.unsent() >= 2 * MIN_BLOCK_PART && self.block.parts.get() < MAX_BLOCK_PARTS
    }

    /// Takes the second half of what this part has yet to send, as a new part for another
    /// lane. Only when [`Self::can_split`].
    pub fn split(&mut self) -> OutBlock {
        let at = self.sent + self.unsent() / 2;
        let taken = OutBlock {
            block: Rc::clone(&self.block),
            start: at,
            header_sent: false,
            sent: at,
            end: self.end,
        };
        self.end = at;
        self.block.parts.set(self.block.parts.get() + 1);
        taken
    }

    /// Whether this part's bytes are all handed to its lane.
    pub fn finished(&self) -> bool {
        self.header_sent && self.sent == self.end
    }
}

#[derive(Debug)]
pub struct Lane {
    pub state: LaneState,
    /// The channel's `bufferedAmount` as last reported, plus what was queued since.
    pub buffered: u64,
    /// Payload bytes sent on this lane (its ramp).
    pub sent: u64,
    /// The part of a block whose frames go out on this lane: a part's `BLOCK` and `DATA`
    /// frames never leave its lane, so the receiver knows where each `DATA` belongs.
    pub current: Option<OutBlock>,
}

impl Lane {
    pub fn new(state: LaneState) -> Self {
        Lane { state, buffered: 0, sent: 0, current: None }
    }

    /// How much may wait on this lane's channel now: `start` on a new connection, growing with
    /// the data sent on it up to `high` (a backlog of a megabyte or more in the first
    /// megabytes stalls a new SCTP association for a second or two).
    pub fn high_mark(&self, start: u64, high: u64) -> u64 {
        (self.sent / RAMP_DIVISOR).clamp(start, high)
    }

    /// The `bufferedAmount` to be woken at: `low` (at most half of `high`, or the sender would
    /// never wait for the low-water event), scaled down while the high mark ramps up.
    pub fn low_mark(&self, start: u64, high: u64, low: u64) -> u64 {
        let low = low.min(high / 2);
        // u128: the product of two byte counts may not fit in u64.
        (u128::from(low) * u128::from(self.high_mark(start, high)) / u128::from(high)) as u64
    }

    /// Open, with room on its channel.
    pub fn has_room(&self, start: u64, high: u64) -> bool {
        self.state == LaneState::Open && self.buffered < self.high_mark(start, high)
    }
}
