//! Tunables of one transfer, with defaults drawn from the browser's measured ceilings.

/// Protocol version this engine speaks. 2: `FILE_DIGEST` carries the content digest (SHA-256
/// over the block digests) instead of SHA-256 over the bytes. 3: block data may travel on
/// extra peer connections (lanes), negotiated with `LANE_OFFER` / `LANE_ANSWER`. 4: the
/// receiver reports the data it took (`RECEIVED`), and the sender holds what is in the network
/// to the path's measured capacity, message by message. 5: `BLOCK` carries the offset its
/// lane's data starts at, so one block's bytes may be shared among lanes (an idle lane takes
/// half of what another has yet to send).
pub const PROTOCOL_VERSION: u8 = 5;
/// The receiver reports the data it took (`RECEIVED`) each time this many more bytes came:
/// four per 512 KiB, so the sender learns within a round trip what left the network. The
/// sender always allows this much and a message more in the network, so a report is always
/// due while it waits for one.
pub const RECEIVED_REPORT_BYTES: u64 = 128 * 1024;
/// Most parts one block may be split into among lanes (each announced by a `BLOCK` of its
/// own, v5): bounds the receiver's bookkeeping per block.
pub const MAX_BLOCK_PARTS: u32 = 32;
/// Smallest part a sender splits off a block, or leaves of it (v5). So the blocks a receiver
/// has partly received number at most the data it allowed over this, plus one per lane: it
/// refuses more (`Receiver`'s assembly limit), which bounds what a hostile sender can make it
/// keep track of.
pub const MIN_BLOCK_PART: usize = 16 * 1024;
/// Most peer connections one transfer uses, the first included. Each has its own SCTP
/// association and congestion window; more than this adds CPU (one DTLS and SCTP stack each)
/// for little: see docs/performance.md.
pub const MAX_LANES: usize = 8;
/// Largest credit window a receiver grows to from the measured bandwidth-delay product: the
/// most file data in flight or unwritten, whatever the link.
pub const MAX_WINDOW: u64 = 64 * 1024 * 1024;
/// Smallest message size two peers may negotiate.
pub const MIN_MESSAGE_SIZE: u32 = 1024;
/// Largest message size used even when the channel allows more (Chromium's SCTP advertises
/// 256 KiB; bigger messages only add head-of-line blocking).
pub const MAX_MESSAGE_SIZE: u32 = 256 * 1024;
/// Block sizes two peers may agree on.
pub const MIN_BLOCK_SIZE: u32 = 16 * 1024;
pub const MAX_BLOCK_SIZE: u32 = 16 * 1024 * 1024;
/// Most `WANT` ranges a sender keeps queued at once (it refuses more: bounds its memory). A
/// receiver never has more outstanding: it sends the rest as the sender works through them.
pub const MAX_QUEUED_WANTS: usize = 65_536;

/// Who computes the SHA-256 of each block the receiver assembles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BlockHashing {
    /// The engine, with the `sha2` crate, as the bytes arrive.
    #[default]
    Engine,
    /// The host, with a faster hasher its platform has: the receiver hands each assembled block
    /// out ([`crate::ReceiverOutput::Digest`]) and takes its digest back
    /// ([`crate::Receiver::handle_block_digest`]); the comparison stays in the engine. In the
    /// browser, WebCrypto's SHA-256 is native code, about twice as fast as `sha2` in wasm
    /// (`make bench`), which took half of each page's main-thread time.
    Host,
}

/// Settings for a [`crate::Sender`] or [`crate::Receiver`].
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The largest message this side's channel takes (`RTCSctpTransport.maxMessageSize`).
    pub max_message_size: u32,
    /// Preferred block size: the unit of hashing, verification, resume and retry.
    pub block_size: u32,
    /// Receiver: bytes of data the sender may have in flight or unwritten. Bounds memory.
    pub window: u64,
    /// Sender: stop queueing when the channel's `bufferedAmount` reaches this, once a new
    /// connection has ramped up (see `buffered_start` and `Sender::lane_buffered_high`).
    pub buffered_high: u64,
    /// Sender: the runtime resumes sending when `bufferedAmount` drops to this, once ramped
    /// up (scaled with the high mark before; see `Sender::lane_buffered_low`).
    pub buffered_low: u64,
    /// Sender: the high mark a new connection starts with. It grows with the data sent (a
    /// sixteenth of it) up to `buffered_high`, and the low mark with it: a backlog of a
    /// megabyte or more in the first megabytes stalls a new SCTP association for a second or
    /// two (docs/performance.md).
    pub buffered_start: u64,
    /// Sender: blocks read (several reads at once) and hashed ahead of the one being transmitted.
    pub read_ahead_blocks: usize,
    /// Receiver: times a block that fails verification is requested again.
    pub max_block_retries: u32,
    /// No verified progress and no block data arriving for this long raises
    /// [`crate::ReceiverEvent::Stalled`].
    pub stall_timeout_ms: u64,
    /// Nothing at all from the peer for this long ends the transfer.
    pub idle_timeout_ms: u64,
    /// Most peer connections (lanes) to use, the first included: at most [`MAX_LANES`]; 1
    /// turns extra lanes off. The sender opens as many as the round trip calls for
    /// ([`crate::lanes_for`]); the receiver declines offers beyond its own setting.
    pub max_lanes: usize,
    /// Receiver: who hashes the blocks (the sender's host may always hash its own, see
    /// [`crate::Sender::handle_hashed_read`]).
    pub block_hashing: BlockHashing,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_message_size: MAX_MESSAGE_SIZE,
            block_size: 1024 * 1024,
            window: 8 * 1024 * 1024,
            // Measured (docs/performance.md): on a new connection, 2 MiB / 512 KiB beat 4 / 1 MiB.
            buffered_high: 2 * 1024 * 1024,
            buffered_low: 512 * 1024,
            buffered_start: 256 * 1024,
            read_ahead_blocks: 4,
            max_block_retries: 3,
            stall_timeout_ms: 10_000,
            idle_timeout_ms: 30_000,
            max_lanes: MAX_LANES,
            block_hashing: BlockHashing::Engine,
        }
    }
}

impl Config {
    /// Clamps the message size to what this engine uses.
    pub fn local_message_size(&self) -> u32 {
        self.max_message_size.clamp(MIN_MESSAGE_SIZE, MAX_MESSAGE_SIZE)
    }

    /// The lane limit, within `1..=MAX_LANES`.
    pub fn lane_limit(&self) -> usize {
        self.max_lanes.clamp(1, MAX_LANES)
    }
}
