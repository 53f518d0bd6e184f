//! Errors a transfer can end with.
//!
//! Every way a transfer stops early has one [`ErrorCode`]; the same numbers travel on the
//! wire in `ERROR` and `CANCEL` frames, so both peers report the same cause.

use std::fmt;

/// Why a transfer ended early. The numeric values are part of the wire protocol (unchanged
/// since v1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum ErrorCode {
    /// The peer sent a frame that breaks the protocol (wrong state, bad field, bad layout).
    ProtocolViolation = 1,
    /// The peers share no protocol version.
    UnsupportedVersion = 2,
    /// A file path in the manifest is unsafe to write (absolute, `..`, control characters, ...).
    UnsafePath = 3,
    /// A block failed verification more often than allowed, or a file digest did not match.
    IntegrityFailed = 4,
    /// A person cancelled the transfer.
    Cancelled = 5,
    /// The receiver declined the offered files.
    Rejected = 6,
    /// The sender sent more data than the receiver granted.
    FlowControlViolation = 7,
    /// Nothing arrived from the peer for longer than the idle timeout.
    Timeout = 8,
    /// Received data could not be stored (disk full, quota exceeded, permission lost).
    SinkFailed = 9,
    /// The sender could not read a file (moved, deleted, permission lost).
    SourceFailed = 10,
    /// The offer exceeds a limit (too many files, manifest too large, file too large to store).
    LimitExceeded = 11,
    /// The connection to the peer closed before the transfer completed.
    ConnectionLost = 12,
}

impl ErrorCode {
    /// Decodes a wire value; unknown values from newer peers map to `ProtocolViolation`.
    pub fn from_u16(value: u16) -> ErrorCode {
        use ErrorCode::*;
        match value {
            2 => UnsupportedVersion,
            3 => UnsafePath,
            4 => IntegrityFailed,
            5 => Cancelled,
            6 => Rejected,
            7 => FlowControlViolation,
            8 => Timeout,
            9 => SinkFailed,
            10 => SourceFailed,
            11 => LimitExceeded,
            12 => ConnectionLost,
            _ => ProtocolViolation,
        }
    }

    /// A stable machine-readable name, used by the JavaScript API.
    pub fn name(self) -> &'static str {
        use ErrorCode::*;
        match self {
            ProtocolViolation => "protocol_violation",
            UnsupportedVersion => "unsupported_version",
            UnsafePath => "unsafe_path",
            IntegrityFailed => "integrity_failed",
            Cancelled => "cancelled",
            Rejected => "rejected",
            FlowControlViolation => "flow_control_violation",
            Timeout => "timeout",
            SinkFailed => "sink_failed",
            SourceFailed => "source_failed",
            LimitExceeded => "limit_exceeded",
            ConnectionLost => "connection_lost",
        }
    }
}

/// Which side a [`TransferError`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Detected by this engine.
    Local,
    /// Reported by the peer in an `ERROR` or `CANCEL` frame.
    Remote,
}

/// A transfer-ending error: a code, a sentence a person can act on, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferError {
    pub code: ErrorCode,
    pub message: String,
    pub origin: Origin,
}

impl TransferError {
    pub fn local(code: ErrorCode, message: impl Into<String>) -> Self {
        TransferError { code, message: message.into(), origin: Origin::Local }
    }

    pub fn remote(code: ErrorCode, message: impl Into<String>) -> Self {
        TransferError { code, message: message.into(), origin: Origin::Remote }
    }
}

impl fmt::Display for TransferError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let who = match self.origin {
            Origin::Local => "",
            Origin::Remote => "the other side reported: ",
        };
        write!(f, "{who}{} ({})", self.message, self.code.name())
    }
}

impl std::error::Error for TransferError {}
