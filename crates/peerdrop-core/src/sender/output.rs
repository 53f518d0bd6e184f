//! What a [`Sender`](super::Sender) asks its driver to do, drained with `poll_output`.

use crate::error::TransferError;
use crate::progress::Progress;
use crate::session::Ending;

/// One thing for the driver to do, in the order the sender wants them done.
#[derive(Debug, Clone, PartialEq)]
pub enum SenderOutput {
    /// Send this message on lane `lane`'s data channel (0: the first connection).
    Transmit { lane: usize, frame: Vec<u8> },
    /// Open extra lane `lane`: a new peer connection with one data channel, configured as the
    /// first; hand its local description (after ICE gathering) to `Sender::lane_description`,
    /// its channel's opening to `Sender::handle_lane_open`, a failure to
    /// `Sender::handle_lane_lost`.
    OpenLane(usize),
    /// Apply the receiver's answer for lane `lane` as its remote description.
    LaneAnswer { lane: usize, sdp: String },
    /// The receiver declined lane `lane`: release its connection.
    CloseLane(usize),
    /// Read a slice of a file, then hand it back with `handle_read` (or `handle_hashed_read`).
    Read(ReadRequest),
    /// Something the application should know about.
    Event(SenderEvent),
}

/// What happened to the transfer, as the sending application sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum SenderEvent {
    /// The receiver accepted; `resumed_bytes` were already verified earlier.
    Accepted { resumed_bytes: u64 },
    /// The receiver verified more bytes.
    Progress(Progress),
    /// The receiver verified every file.
    Complete,
    /// The transfer ended early.
    Failed(TransferError),
}

impl Ending for SenderEvent {
    fn complete() -> Self {
        SenderEvent::Complete
    }
    fn failed(error: TransferError) -> Self {
        SenderEvent::Failed(error)
    }
}

/// Read `len` bytes of file `file` at `offset`, then call `Sender::handle_read` (or
/// `Sender::handle_hashed_read` with the block's SHA-256, when the host hashed it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReadRequest {
    pub file: u32,
    pub offset: u64,
    pub len: u32,
}
