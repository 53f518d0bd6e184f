//! PeerDrop's transfer engine, free of I/O.
//!
//! A [`Sender`] and a [`Receiver`] are state machines in the style of str0m and quinn-proto:
//! the runtime feeds them what happened (`handle_frame`, `handle_read`, `handle_write_done`,
//! `handle_timeout`, `cancel`, ...: every input carries the current time as a number), then
//! drains what to do, one [`SenderOutput`] or [`ReceiverOutput`] at a time from
//! `poll_output` (messages to send, reads, writes, blocks to hash, events), and asks
//! `poll_timeout` when to call `handle_timeout` next. Nothing here knows about browsers,
//! clocks or files, so every behaviour runs deterministically in `cargo test`. The wire
//! format is specified in `docs/protocol.md`.

mod bdp;
pub mod block_cache;
pub mod config;
pub mod connectivity;
mod digest;
pub mod error;
pub mod frame;
pub mod have_map;
mod lanes;
pub mod link;
pub mod manifest;
pub mod path;
pub mod progress;
pub mod ranges;
pub mod receiver;
pub mod seal;
pub mod sender;
mod session;
pub mod short_code;
mod text;
mod wordlist;

pub use block_cache::{BlockCache, CacheOutput, CacheStats};
pub use config::{BlockHashing, Config};
pub use digest::{ContentDigest, Hasher};
pub use error::{ErrorCode, Origin, TransferError};
pub use have_map::HaveMap;
pub use lanes::lanes_for;
pub use link::LinkSecret;
pub use manifest::{FileEntry, Manifest};
pub use progress::Progress;
pub use receiver::{DigestRequest, Receiver, ReceiverEvent, ReceiverOutput, WriteRequest};
pub use sender::{ReadRequest, Sender, SenderEvent, SenderOutput};
