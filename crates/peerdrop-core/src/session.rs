//! What the sender and receiver engines share: the handshake, block arithmetic, and one
//! connection's session: the frame prologue every incoming message goes through, the queue
//! of outgoing control frames and events, keepalives, and how a transfer ends.

use crate::config::{Config, MAX_BLOCK_SIZE, MIN_BLOCK_SIZE, MIN_MESSAGE_SIZE, PROTOCOL_VERSION};
use crate::error::{ErrorCode, Origin, TransferError};
use crate::frame::{Frame, Role};
use crate::text::clip;
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

/// The two events that end a transfer, whichever side's event type carries them.
pub trait Ending {
    fn complete() -> Self;
    fn failed(error: TransferError) -> Self;
}

/// One connection as both engines see it: what was heard and sent when, the control frames
/// and events waiting to be drained, and whether the transfer has ended. `E` is the side's
/// own event type.
#[derive(Debug)]
pub struct Session<E> {
    /// "sender" or "receiver": who the peer is, in messages a person reads.
    peer: &'static str,
    /// The largest message this side accepts (its own limit, whatever was agreed).
    max_message: usize,
    pub frames: VecDeque<Vec<u8>>,
    pub events: VecDeque<E>,
    pub closed: bool,
    /// When this side last handed a frame out (for keepalives).
    pub last_sent_ms: u64,
    /// When anything last arrived from the peer (for the idle timeout).
    pub last_heard_ms: u64,
    /// The time the latest input carried.
    pub now_ms: u64,
}

impl<E: Ending> Session<E> {
    pub fn new(config: &Config, peer: &'static str, now_ms: u64) -> Self {
        Session {
            peer,
            max_message: config.local_message_size() as usize,
            frames: VecDeque::new(),
            events: VecDeque::new(),
            closed: false,
            last_sent_ms: now_ms,
            last_heard_ms: now_ms,
            now_ms,
        }
    }

    /// The prologue of every incoming message: notes the time, refuses a message larger than
    /// this side accepts or one it cannot read, ends the transfer on the peer's `CANCEL` or
    /// `ERROR`, and swallows `KEEPALIVE`. What is left is for the side's own state machine.
    pub fn receive<'a>(&mut self, now_ms: u64, bytes: &'a [u8]) -> Option<Frame<'a>> {
        if self.closed {
            return None;
        }
        self.last_heard_ms = now_ms;
        self.now_ms = now_ms;
        if bytes.len() > self.max_message {
            self.fail(violation(format!(
                "the {} sent a message of {} bytes; this side accepts at most {}",
                self.peer,
                bytes.len(),
                self.max_message
            )));
            return None;
        }
        let frame = match Frame::decode(bytes) {
            Ok(frame) => frame,
            Err(e) => {
                self.fail(violation(format!("unreadable message from the {}: {e}", self.peer)));
                return None;
            }
        };
        if let Some(error) = remote_error(&frame) {
            self.fail(error);
            return None;
        }
        (!matches!(frame, Frame::Keepalive)).then_some(frame)
    }

    /// Notes the time an input carried.
    pub fn at(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
    }

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
    pub fn keepalive(&mut self, idle_timeout_ms: u64) {
        let now_ms = self.now_ms;
        if !self.closed && self.frames.is_empty() && now_ms >= self.keepalive_due(idle_timeout_ms) {
            self.frames.push_back(Frame::Keepalive.to_vec());
            self.last_sent_ms = now_ms;
        }
    }

    /// When the next keepalive may be due.
    pub fn keepalive_due(&self, idle_timeout_ms: u64) -> u64 {
        self.last_sent_ms + idle_timeout_ms / 3
    }

    /// When the peer's silence ends the transfer.
    pub fn idle_deadline(&self, idle_timeout_ms: u64) -> u64 {
        self.last_heard_ms + idle_timeout_ms
    }

    /// Ends the transfer when nothing arrived for the idle timeout; true if it did.
    pub fn check_idle(&mut self, idle_timeout_ms: u64) -> bool {
        if self.closed || self.now_ms < self.idle_deadline(idle_timeout_ms) {
            return false;
        }
        self.fail(TransferError::local(
            ErrorCode::Timeout,
            format!(
                "nothing arrived from the {} for {} s; it may have closed the page or lost its connection",
                self.peer,
                idle_timeout_ms / 1000
            ),
        ));
        true
    }

    pub fn event(&mut self, event: E) {
        self.events.push_back(event);
    }

    /// A person stopped the transfer; the peer is told.
    pub fn cancel(&mut self, reason: &str) {
        self.fail(TransferError::local(ErrorCode::Cancelled, reason));
    }

    /// The channel closed under this side.
    pub fn connection_lost(&mut self) {
        let message = format!("the connection to the {} closed before the transfer completed", self.peer);
        self.fail(TransferError::local(ErrorCode::ConnectionLost, message));
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
        self.events.push_back(E::failed(error));
    }

    /// Ends the transfer successfully.
    pub fn finish(&mut self) {
        if !self.closed {
            self.closed = true;
            self.events.push_back(E::complete());
        }
    }
}

/// A frame from the peer that ends the transfer, turned into the error to report.
fn remote_error(frame: &Frame<'_>) -> Option<TransferError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::frame::Frame;

    #[derive(Debug, PartialEq)]
    enum Ended {
        Complete,
        Failed(TransferError),
    }

    impl Ending for Ended {
        fn complete() -> Self {
            Ended::Complete
        }
        fn failed(error: TransferError) -> Self {
            Ended::Failed(error)
        }
    }

    #[test]
    fn error_text_is_clipped_to_512_bytes_on_the_wire() {
        let mut session = Session::<Ended>::new(&Config::default(), "receiver", 0);
        session.fail(TransferError::local(ErrorCode::IntegrityFailed, "é".repeat(400)));
        let frame = session.pop_frame().expect("an ERROR frame");
        match Frame::decode(&frame).expect("decodes") {
            Frame::Error { message, .. } => {
                assert!(message.len() <= MAX_REASON_BYTES && message.len() >= MAX_REASON_BYTES - 1);
                assert!(message.chars().all(|c| c == 'é'));
            }
            other => panic!("expected ERROR, got {other:?}"),
        }
    }

    #[test]
    fn an_oversized_message_names_this_sides_own_limit() {
        let config = Config { max_message_size: 2048, ..Config::default() };
        let mut session = Session::<Ended>::new(&config, "sender", 0);
        assert!(session.receive(5, &vec![0; 4096]).is_none());
        let Some(Ended::Failed(error)) = session.events.pop_front() else { panic!("failed") };
        assert_eq!(error.code, ErrorCode::ProtocolViolation);
        assert_eq!(error.message, "the sender sent a message of 4096 bytes; this side accepts at most 2048");
    }

    #[test]
    fn keepalive_and_the_peers_cancel_end_in_the_prologue() {
        let mut session = Session::<Ended>::new(&Config::default(), "sender", 0);
        assert!(session.receive(1, &Frame::Keepalive.to_vec()).is_none());
        assert!(!session.closed);
        assert_eq!(session.last_heard_ms, 1);
        let cancel = Frame::Cancel { code: ErrorCode::Cancelled as u16, reason: "" }.to_vec();
        assert!(session.receive(2, &cancel).is_none());
        assert_eq!(
            session.events.pop_front(),
            Some(Ended::Failed(TransferError::remote(ErrorCode::Cancelled, "the transfer was cancelled")))
        );
        assert!(session.frames.is_empty(), "a remote end is not echoed back");
    }
}
