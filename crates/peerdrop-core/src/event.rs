//! What the engines tell the runtime: events to show, reads and writes to perform.

use crate::error::TransferError;
use crate::manifest::Manifest;
use crate::progress::Progress;

/// Something the application should know about.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Receiver: the sender offers these files; call `accept` or `reject`.
    Offer(Manifest),
    /// Sender: the receiver accepted; `resumed_bytes` were already verified earlier.
    Accepted { resumed_bytes: u64 },
    /// Verified bytes moved forward.
    Progress(Progress),
    /// Receiver: a block failed its SHA-256 check and was requested again.
    BlockRejected { file: u32, index: u64, attempt: u32 },
    /// Receiver: every block of a file is verified and stored. `digest` is the file's content
    /// digest ([`crate::ContentDigest`]) when this side saw every block in order (not after a
    /// resume).
    FileComplete { file: u32, digest: Option<[u8; 32]> },
    /// No verified progress for the stall timeout; the transfer goes on waiting.
    Stalled { idle_ms: u64 },
    /// Every file arrived and was verified.
    Complete,
    /// The transfer ended early.
    Failed(TransferError),
}

/// Sender: read `len` bytes of file `file` at `offset`, then call `Sender::handle_read` (or
/// `Sender::handle_hashed_read` with the block's SHA-256, when the host hashed it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadRequest {
    pub file: u32,
    pub offset: u64,
    pub len: u32,
}

/// Receiver: store verified bytes, then call `Receiver::handle_write_done`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteRequest {
    pub file: u32,
    pub offset: u64,
    pub data: Vec<u8>,
}

/// Receiver with [`crate::config::BlockHashing::Host`]: compute the SHA-256 of this assembled
/// block, then call `Receiver::handle_block_digest` with the digest and the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestRequest {
    pub file: u32,
    pub index: u64,
    pub data: Vec<u8>,
}
