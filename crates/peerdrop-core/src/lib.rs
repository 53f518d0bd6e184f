//! PeerDrop's transfer engine, free of I/O.
//!
//! A [`Sender`] and a [`Receiver`] are state machines in the style of quinn-proto: the
//! runtime feeds them what happened (`handle_frame`, `handle_read` / `handle_hashed_read`,
//! `handle_write_done`, `handle_block_digest`, `handle_buffered_amount`, `handle_timeout`,
//! each with the current time as a number) and drains what to do (`poll_transmit`,
//! `poll_read` / `poll_write` / `poll_digest`, `poll_event`, `poll_timeout`). Nothing here
//! knows about browsers, clocks or files, so every behaviour runs deterministically in
//! `cargo test`. The wire format is specified in `docs/protocol.md`.

pub mod config;
pub mod connectivity;
mod digest;
pub mod error;
pub mod event;
pub mod frame;
pub mod have_map;
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
mod wordlist;

pub use config::{BlockHashing, Config};
pub use digest::{ContentDigest, Hasher};
pub use error::{ErrorCode, Origin, TransferError};
pub use event::{DigestRequest, Event, ReadRequest, WriteRequest};
pub use have_map::HaveMap;
pub use link::LinkSecret;
pub use manifest::{FileEntry, Manifest};
pub use progress::Progress;
pub use receiver::Receiver;
pub use sender::Sender;
