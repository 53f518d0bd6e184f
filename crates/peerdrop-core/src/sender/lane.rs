//! One peer connection's share of the sender's work: its state in the lane negotiation, its
//! send buffer, its ramp, and the block it is in the middle of. Lane 0 is the connection the
//! transfer started on; it carries every control frame and block data too.

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

/// A block read from the source, hashed, waiting to be transmitted or being transmitted.
#[derive(Debug)]
pub struct OutBlock {
    pub file: u32,
    pub index: u64,
    pub data: Vec<u8>,
    pub sha256: [u8; 32],
    pub header_sent: bool,
    pub sent: usize,
}

#[derive(Debug)]
pub struct Lane {
    pub state: LaneState,
    /// The channel's `bufferedAmount` as last reported, plus what was queued since.
    pub buffered: u64,
    /// Payload bytes sent on this lane (its ramp).
    pub sent: u64,
    /// The block whose frames go out on this lane: a block's `BLOCK` and `DATA` frames never
    /// leave its lane, so the receiver assembles one block per lane at a time.
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
