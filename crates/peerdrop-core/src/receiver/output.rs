//! What a [`Receiver`](super::Receiver) asks its driver to do, drained with `poll_output`.

use crate::error::TransferError;
use crate::manifest::Manifest;
use crate::progress::Progress;
use crate::session::Ending;

/// One thing for the driver to do, in the order the receiver wants them done.
#[derive(Debug, Clone, PartialEq)]
pub enum ReceiverOutput {
    /// Send this message on the first connection's data channel (the receiver sends nothing
    /// on extra lanes).
    Transmit(Vec<u8>),
    /// The sender offers extra lane `lane`: a new peer connection with this remote description.
    /// Answer it with `Receiver::lane_description` (an empty description declines it) and feed
    /// its channel's messages to `Receiver::handle_lane_frame`; its loss after it carried data
    /// is the connection's (`handle_connection_lost`).
    LaneOffer { lane: usize, sdp: String },
    /// With [`BlockHashing::Host`](crate::BlockHashing::Host): hash this assembled block, then
    /// call `handle_block_digest`.
    Digest(DigestRequest),
    /// Store these verified bytes, then call `handle_write_done` (or `handle_write_error`).
    Write(WriteRequest),
    /// Something the application should know about.
    Event(ReceiverEvent),
}

/// What happened to the transfer, as the receiving application sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum ReceiverEvent {
    /// The sender offers these files; call `accept` or `reject`.
    Offer(Manifest),
    /// Verified bytes moved forward.
    Progress(Progress),
    /// A block failed its SHA-256 check and was requested again.
    BlockRejected { file: u32, index: u64, attempt: u32 },
    /// Every block of a file is verified and stored. `digest` is the file's content digest
    /// ([`crate::ContentDigest`]) when this side checked every block (not after a resume).
    FileComplete { file: u32, digest: Option<[u8; 32]> },
    /// No verified progress and no block data for the stall timeout; the transfer goes on
    /// waiting.
    Stalled { idle_ms: u64 },
    /// Every file arrived and was verified.
    Complete,
    /// The transfer ended early.
    Failed(TransferError),
}

impl Ending for ReceiverEvent {
    fn complete() -> Self {
        ReceiverEvent::Complete
    }
    fn failed(error: TransferError) -> Self {
        ReceiverEvent::Failed(error)
    }
}

/// Store verified bytes, then call `Receiver::handle_write_done`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteRequest {
    pub file: u32,
    pub offset: u64,
    pub data: Vec<u8>,
}

/// Compute the SHA-256 of this assembled block, then call `Receiver::handle_block_digest` with
/// the digest and the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestRequest {
    pub file: u32,
    pub index: u64,
    pub data: Vec<u8>,
}
