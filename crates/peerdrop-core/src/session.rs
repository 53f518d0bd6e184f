//! What the sender and receiver engines share: the handshake, block arithmetic, and the
//! queues of outgoing frames and events.

use crate::config::{Config, MAX_BLOCK_SIZE, MIN_BLOCK_SIZE, MIN_MESSAGE_SIZE, PROTOCOL_VERSION};
use crate::error::{ErrorCode, Origin, TransferError};
use crate::event::Event;
use crate::frame::{Frame, Role};
use std::collections::VecDeque;

/// Sizes both peers agreed on in `HELLO`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    pub message_size: u32,
    pub block_size: u32,
}

/// Our `HELLO`.
pub fn hello(config: &Config, role: Role, transfer_id: [u8; 16]) -> Vec<u8> {
    Frame::Hello {
        version: PROTOCOL_VERSION,
        role,
        max_message_size: config.local_message_size(),
        block_size: config.block_size.clamp(MIN_BLOCK_SIZE, MAX_BLOCK_SIZE),
        transfer_id,
    }
    .to_vec()
}

/// Checks the peer's `HELLO` and computes the agreed sizes: the smaller of both proposals.
pub fn negotiate(
    config: &Config,
    expected_role: Role,
    transfer_id: [u8; 16],
    frame: &Frame<'_>,
) -> Result<Negotiated, TransferError> {
    let Frame::Hello { version, role, max_message_size, block_size, transfer_id: theirs } = *frame else {
        return Err(violation("the first message must be HELLO"));
    };
    // v1 digested whole files, v2 digests the block digests: a v1 peer would fail every file's
    // digest check, so it is refused up front with a message that says what to do.
    if version < PROTOCOL_VERSION {
        return Err(TransferError::local(
            ErrorCode::UnsupportedVersion,
            format!(
                "the two sides run different PeerDrop versions (protocol {version} and \
                 {PROTOCOL_VERSION}); reload both pages"
            ),
        ));
    }
    if role != expected_role {
        return Err(violation("both sides claim the same role"));
    }
    if theirs != transfer_id {
        return Err(violation("the other side belongs to a different transfer"));
    }
    let message_size = max_message_size.min(config.local_message_size());
    let block_size = block_size.min(config.block_size.clamp(MIN_BLOCK_SIZE, MAX_BLOCK_SIZE));
    if message_size < MIN_MESSAGE_SIZE || block_size < MIN_BLOCK_SIZE {
        return Err(violation("the other side proposed sizes below the protocol minimum"));
    }
    Ok(Negotiated { message_size, block_size })
}

pub fn violation(message: impl Into<String>) -> TransferError {
    TransferError::local(ErrorCode::ProtocolViolation, message)
}

/// Number of blocks of a file.
pub fn block_count(size: u64, block_size: u32) -> u64 {
    size.div_ceil(u64::from(block_size))
}

/// Length of block `index` of a file (the last one may be short).
pub fn block_len(size: u64, block_size: u32, index: u64) -> u32 {
    let start = index * u64::from(block_size);
    (size - start).min(u64::from(block_size)) as u32
}

/// Longest reason or message text put in a `CANCEL` or `ERROR` frame, so the frame fits
/// the smallest message size any peer may negotiate.
pub const MAX_REASON_BYTES: usize = 512;

/// Cuts `text` to at most `max` bytes on a character boundary.
pub fn clip(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Outgoing control frames, events, and whether the transfer has ended.
#[derive(Debug, Default)]
pub struct Outbox {
    pub frames: VecDeque<Vec<u8>>,
    pub events: VecDeque<Event>,
    pub closed: bool,
    /// When this side last handed a frame out (for keepalives).
    pub last_sent_ms: u64,
    /// The latest time any `handle_*` call reported.
    pub now_ms: u64,
}

impl Outbox {
    pub fn send(&mut self, frame: Frame<'_>) {
        if !self.closed {
            self.frames.push_back(frame.to_vec());
        }
    }

    /// Hands out the next queued frame, noting when.
    pub fn pop_frame(&mut self) -> Option<Vec<u8>> {
        let frame = self.frames.pop_front()?;
        self.last_sent_ms = self.now_ms;
        Some(frame)
    }

    /// Queues a `KEEPALIVE` when nothing was sent for a third of the idle timeout.
    pub fn keepalive(&mut self, now_ms: u64, idle_timeout_ms: u64) {
        if !self.closed && self.frames.is_empty() && now_ms >= self.last_sent_ms + idle_timeout_ms / 3 {
            self.frames.push_back(Frame::Keepalive.to_vec());
            self.last_sent_ms = now_ms;
        }
    }

    /// When the next keepalive may be due.
    pub fn keepalive_due(&self, idle_timeout_ms: u64) -> u64 {
        self.last_sent_ms + idle_timeout_ms / 3
    }

    pub fn event(&mut self, event: Event) {
        self.events.push_back(event);
    }

    /// Ends the transfer with `error`; a local error is reported to the peer as well.
    pub fn fail(&mut self, error: TransferError) {
        if self.closed {
            return;
        }
        if error.origin == Origin::Local {
            let text = clip(&error.message, MAX_REASON_BYTES);
            let frame = if error.code == ErrorCode::Cancelled || error.code == ErrorCode::Rejected {
                Frame::Cancel { code: error.code as u16, reason: text }
            } else {
                Frame::Error { code: error.code as u16, message: text }
            };
            self.frames.push_back(frame.to_vec());
        }
        self.closed = true;
        self.events.push_back(Event::Failed(error));
    }

    /// Ends the transfer successfully.
    pub fn finish(&mut self) {
        if !self.closed {
            self.closed = true;
            self.events.push_back(Event::Complete);
        }
    }
}

/// A frame from the peer that ends the transfer, turned into the error to report.
pub fn remote_error(frame: &Frame<'_>) -> Option<TransferError> {
    match *frame {
        Frame::Cancel { code, reason } => {
            let msg =
                if reason.is_empty() { "the transfer was cancelled" } else { clip(reason, MAX_REASON_BYTES) };
            Some(TransferError::remote(ErrorCode::from_u16(code), msg))
        }
        Frame::Error { code, message } => {
            Some(TransferError::remote(ErrorCode::from_u16(code), clip(message, MAX_REASON_BYTES)))
        }
        _ => None,
    }
}

/// Refuses a message longer than this side ever allows (a peer ignoring the agreed size).
pub fn check_size(config: &Config, bytes: &[u8]) -> Result<(), TransferError> {
    if bytes.len() > config.local_message_size() as usize {
        return Err(violation("the other side sent a message larger than the agreed maximum"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ErrorCode, TransferError};
    use crate::frame::Frame;

    #[test]
    fn clip_cuts_on_a_character_boundary() {
        assert_eq!(clip("héllo", 2), "h");
        assert_eq!(clip("héllo", 3), "hé");
        assert_eq!(clip("short", 512), "short");
    }

    #[test]
    fn error_text_is_clipped_to_512_bytes_on_the_wire() {
        let mut out = Outbox::default();
        out.fail(TransferError::local(ErrorCode::IntegrityFailed, "é".repeat(400)));
        let frame = out.pop_frame().expect("an ERROR frame");
        match Frame::decode(&frame).expect("decodes") {
            Frame::Error { message, .. } => {
                assert!(message.len() <= MAX_REASON_BYTES && message.len() >= MAX_REASON_BYTES - 1);
                assert!(message.chars().all(|c| c == 'é'));
            }
            other => panic!("expected ERROR, got {other:?}"),
        }
    }
}
