//! The byte layout of protocol frames (see `docs/protocol.md`).
//!
//! One frame is one data-channel message. Integers are big-endian. Decoding never panics
//! and never allocates more than the frame it was given: every length is checked against
//! the bytes actually present.

use std::fmt;

/// The four bytes every `HELLO` starts with.
pub const MAGIC: [u8; 4] = *b"PDRP";

/// Frame type bytes.
mod kind {
    pub const HELLO: u8 = 0x01;
    pub const MANIFEST: u8 = 0x02;
    pub const ACCEPT: u8 = 0x03;
    pub const WANT: u8 = 0x04;
    pub const CREDIT: u8 = 0x05;
    pub const BLOCK: u8 = 0x06;
    pub const DATA: u8 = 0x07;
    pub const ACK: u8 = 0x08;
    pub const FILE_DIGEST: u8 = 0x09;
    pub const DONE: u8 = 0x0A;
    pub const CANCEL: u8 = 0x0B;
    pub const ERROR: u8 = 0x0C;
    pub const KEEPALIVE: u8 = 0x0D;
    pub const LANE_OFFER: u8 = 0x0E;
    pub const LANE_ANSWER: u8 = 0x0F;
    pub const RECEIVED: u8 = 0x10;
}

/// The role a peer announces in its `HELLO`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Sender = 0,
    Receiver = 1,
}

/// One protocol frame. Borrowed payloads keep decoding copy-free.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame<'a> {
    Hello {
        version: u8,
        role: Role,
        max_message_size: u32,
        block_size: u32,
        transfer_id: [u8; 16],
    },
    /// A piece of the encoded manifest; `last` marks the final piece.
    Manifest {
        last: bool,
        part: &'a [u8],
    },
    /// The receiver accepts the offer; `have_bytes` were verified in an earlier connection.
    Accept {
        have_bytes: u64,
    },
    /// The receiver asks for `count` blocks of `file` starting at block `first`.
    Want {
        file: u32,
        first: u64,
        count: u64,
    },
    /// The receiver allows data payload bytes up to this cumulative total.
    Credit {
        limit: u64,
    },
    /// Announces the block whose payload follows in `DATA` frames on this lane, from byte
    /// `offset` of the block on (v5: a block's bytes may be shared among lanes, each part
    /// announced on its own lane; `len` is the whole block's).
    Block {
        file: u32,
        index: u64,
        len: u32,
        offset: u32,
        sha256: [u8; 32],
    },
    Data {
        payload: &'a [u8],
    },
    /// The receiver verified and stored a block.
    Ack {
        file: u32,
        index: u64,
    },
    /// Sent right after a file's last block: the file's content digest
    /// ([`crate::ContentDigest`]), or `None` when the sender did not read the file in order
    /// (after a resume).
    FileDigest {
        file: u32,
        digest: Option<[u8; 32]>,
    },
    Done,
    Cancel {
        code: u16,
        reason: &'a str,
    },
    Error {
        code: u16,
        message: &'a str,
    },
    /// Sent when a side has sent nothing for a third of the idle timeout, so a slow disk or
    /// a slow source is not mistaken for a vanished peer.
    Keepalive,
    /// The sender offers an extra peer connection (a *lane*, numbered from 1) for block data:
    /// its session description, ICE candidates included.
    LaneOffer {
        lane: u8,
        sdp: &'a str,
    },
    /// The receiver's answer to a `LANE_OFFER`; an empty description declines the lane.
    LaneAnswer {
        lane: u8,
        sdp: &'a str,
    },
    /// The receiver has taken this many `DATA` payload bytes (cumulative, all lanes) on this
    /// connection: what left the network, so the sender knows what is still in it within a
    /// round trip instead of a block (v4).
    Received {
        bytes: u64,
    },
}

/// Why bytes could not be decoded as a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    Empty,
    UnknownType(u8),
    Truncated {
        kind: &'static str,
    },
    TrailingBytes {
        kind: &'static str,
    },
    BadMagic,
    BadRole(u8),
    BadUtf8 {
        kind: &'static str,
    },
    /// A flag byte other than 0 or 1, or an absent digest that is not all zeros.
    NonCanonical {
        kind: &'static str,
    },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Empty => write!(f, "empty message"),
            FrameError::UnknownType(t) => write!(f, "unknown frame type 0x{t:02x}"),
            FrameError::Truncated { kind } => write!(f, "{kind} frame is truncated"),
            FrameError::TrailingBytes { kind } => write!(f, "{kind} frame has trailing bytes"),
            FrameError::BadMagic => write!(f, "not a PeerDrop peer (bad magic)"),
            FrameError::BadRole(r) => write!(f, "unknown role {r}"),
            FrameError::BadUtf8 { kind } => write!(f, "{kind} frame text is not UTF-8"),
            FrameError::NonCanonical { kind } => write!(f, "{kind} frame has an invalid flag"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Bytes of a `DATA` frame that are not payload.
pub const DATA_OVERHEAD: usize = 1;

/// Writes the `DATA` frame header in front of a payload without building a `Frame`.
pub fn encode_data(payload: &[u8], out: &mut Vec<u8>) {
    out.reserve(DATA_OVERHEAD + payload.len());
    out.push(kind::DATA);
    out.extend_from_slice(payload);
}

impl<'a> Frame<'a> {
    /// Appends the encoding of this frame to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match *self {
            Frame::Hello { version, role, max_message_size, block_size, transfer_id } => {
                out.push(kind::HELLO);
                out.extend_from_slice(&MAGIC);
                out.push(version);
                out.push(role as u8);
                out.extend_from_slice(&max_message_size.to_be_bytes());
                out.extend_from_slice(&block_size.to_be_bytes());
                out.extend_from_slice(&transfer_id);
            }
            Frame::Manifest { last, part } => {
                out.push(kind::MANIFEST);
                out.push(last as u8);
                out.extend_from_slice(part);
            }
            Frame::Accept { have_bytes } => {
                out.push(kind::ACCEPT);
                out.extend_from_slice(&have_bytes.to_be_bytes());
            }
            Frame::Want { file, first, count } => {
                out.push(kind::WANT);
                out.extend_from_slice(&file.to_be_bytes());
                out.extend_from_slice(&first.to_be_bytes());
                out.extend_from_slice(&count.to_be_bytes());
            }
            Frame::Credit { limit } => {
                out.push(kind::CREDIT);
                out.extend_from_slice(&limit.to_be_bytes());
            }
            Frame::Block { file, index, len, offset, sha256 } => {
                out.push(kind::BLOCK);
                out.extend_from_slice(&file.to_be_bytes());
                out.extend_from_slice(&index.to_be_bytes());
                out.extend_from_slice(&len.to_be_bytes());
                out.extend_from_slice(&offset.to_be_bytes());
                out.extend_from_slice(&sha256);
            }
            Frame::Data { payload } => encode_data(payload, out),
            Frame::Ack { file, index } => {
                out.push(kind::ACK);
                out.extend_from_slice(&file.to_be_bytes());
                out.extend_from_slice(&index.to_be_bytes());
            }
            Frame::FileDigest { file, digest } => {
                out.push(kind::FILE_DIGEST);
                out.extend_from_slice(&file.to_be_bytes());
                out.push(digest.is_some() as u8);
                out.extend_from_slice(&digest.unwrap_or([0; 32]));
            }
            Frame::Done => out.push(kind::DONE),
            Frame::Cancel { code, reason } => {
                out.push(kind::CANCEL);
                out.extend_from_slice(&code.to_be_bytes());
                out.extend_from_slice(reason.as_bytes());
            }
            Frame::Error { code, message } => {
                out.push(kind::ERROR);
                out.extend_from_slice(&code.to_be_bytes());
                out.extend_from_slice(message.as_bytes());
            }
            Frame::Keepalive => out.push(kind::KEEPALIVE),
            Frame::LaneOffer { lane, sdp } => {
                out.push(kind::LANE_OFFER);
                out.push(lane);
                out.extend_from_slice(sdp.as_bytes());
            }
            Frame::LaneAnswer { lane, sdp } => {
                out.push(kind::LANE_ANSWER);
                out.push(lane);
                out.extend_from_slice(sdp.as_bytes());
            }
            Frame::Received { bytes } => {
                out.push(kind::RECEIVED);
                out.extend_from_slice(&bytes.to_be_bytes());
            }
        }
    }

    /// The encoding of this frame as a new vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// Decodes one whole message.
    pub fn decode(bytes: &'a [u8]) -> Result<Frame<'a>, FrameError> {
        let (&t, body) = bytes.split_first().ok_or(FrameError::Empty)?;
        let name = match t {
            kind::HELLO => "HELLO",
            kind::MANIFEST => "MANIFEST",
            kind::ACCEPT => "ACCEPT",
            kind::WANT => "WANT",
            kind::CREDIT => "CREDIT",
            kind::BLOCK => "BLOCK",
            kind::DATA => return Ok(Frame::Data { payload: body }),
            kind::ACK => "ACK",
            kind::FILE_DIGEST => "FILE_DIGEST",
            kind::DONE => "DONE",
            kind::CANCEL => "CANCEL",
            kind::ERROR => "ERROR",
            kind::KEEPALIVE => "KEEPALIVE",
            kind::LANE_OFFER => "LANE_OFFER",
            kind::LANE_ANSWER => "LANE_ANSWER",
            kind::RECEIVED => "RECEIVED",
            other => return Err(FrameError::UnknownType(other)),
        };
        let mut r = Reader { bytes: body, kind: name };
        let frame = match t {
            kind::HELLO => {
                if r.array::<4>()? != MAGIC {
                    return Err(FrameError::BadMagic);
                }
                let version = r.u8()?;
                let role = match r.u8()? {
                    0 => Role::Sender,
                    1 => Role::Receiver,
                    other => return Err(FrameError::BadRole(other)),
                };
                Frame::Hello {
                    version,
                    role,
                    max_message_size: r.u32()?,
                    block_size: r.u32()?,
                    transfer_id: r.array()?,
                }
            }
            kind::MANIFEST => {
                let last = r.flag()?;
                Frame::Manifest { last, part: r.rest() }
            }
            kind::ACCEPT => Frame::Accept { have_bytes: r.u64()? },
            kind::WANT => Frame::Want { file: r.u32()?, first: r.u64()?, count: r.u64()? },
            kind::CREDIT => Frame::Credit { limit: r.u64()? },
            kind::BLOCK => Frame::Block {
                file: r.u32()?,
                index: r.u64()?,
                len: r.u32()?,
                offset: r.u32()?,
                sha256: r.array()?,
            },
            kind::ACK => Frame::Ack { file: r.u32()?, index: r.u64()? },
            kind::FILE_DIGEST => {
                let file = r.u32()?;
                let known = r.flag()?;
                let digest: [u8; 32] = r.array()?;
                if !known && digest != [0; 32] {
                    return Err(FrameError::NonCanonical { kind: "FILE_DIGEST" });
                }
                Frame::FileDigest { file, digest: known.then_some(digest) }
            }
            kind::DONE => Frame::Done,
            kind::CANCEL => Frame::Cancel { code: r.u16()?, reason: r.text()? },
            kind::ERROR => Frame::Error { code: r.u16()?, message: r.text()? },
            kind::KEEPALIVE => Frame::Keepalive,
            kind::LANE_OFFER => Frame::LaneOffer { lane: r.u8()?, sdp: r.text()? },
            kind::LANE_ANSWER => Frame::LaneAnswer { lane: r.u8()?, sdp: r.text()? },
            kind::RECEIVED => Frame::Received { bytes: r.u64()? },
            _ => unreachable!("type checked above"),
        };
        r.finish()?;
        Ok(frame)
    }
}

/// A bounds-checked cursor over a frame body.
struct Reader<'a> {
    bytes: &'a [u8],
    kind: &'static str,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], FrameError> {
        if self.bytes.len() < n {
            return Err(FrameError::Truncated { kind: self.kind });
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], FrameError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, FrameError> {
        Ok(self.take(1)?[0])
    }

    fn flag(&mut self) -> Result<bool, FrameError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(FrameError::NonCanonical { kind: self.kind }),
        }
    }

    fn u16(&mut self) -> Result<u16, FrameError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, FrameError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, FrameError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.bytes)
    }

    fn text(&mut self) -> Result<&'a str, FrameError> {
        let kind = self.kind;
        std::str::from_utf8(self.rest()).map_err(|_| FrameError::BadUtf8 { kind })
    }

    fn finish(&self) -> Result<(), FrameError> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(FrameError::TrailingBytes { kind: self.kind })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn frame_strategy() -> impl Strategy<Value = (u8, u32, u64, u64, [u8; 32], Vec<u8>, String, bool)> {
        (
            0u8..16,
            any::<u32>(),
            any::<u64>(),
            any::<u64>(),
            any::<[u8; 32]>(),
            proptest::collection::vec(any::<u8>(), 0..64),
            ".{0,20}",
            any::<bool>(),
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn build<'a>(
        k: u8,
        a: u32,
        b: u64,
        c: u64,
        h: [u8; 32],
        bytes: &'a [u8],
        text: &'a str,
        flag: bool,
    ) -> Frame<'a> {
        match k {
            0 => Frame::Hello {
                version: (b % 256) as u8,
                role: if flag { Role::Sender } else { Role::Receiver },
                max_message_size: a,
                block_size: c as u32,
                transfer_id: h[..16].try_into().unwrap(),
            },
            1 => Frame::Manifest { last: flag, part: bytes },
            2 => Frame::Accept { have_bytes: b },
            3 => Frame::Want { file: a, first: b, count: c },
            4 => Frame::Credit { limit: b },
            5 => Frame::Block { file: a, index: b, len: c as u32, offset: (c >> 32) as u32, sha256: h },
            6 => Frame::Data { payload: bytes },
            7 => Frame::Ack { file: a, index: b },
            8 => Frame::FileDigest { file: a, digest: flag.then_some(h) },
            9 => Frame::Done,
            10 => Frame::Cancel { code: a as u16, reason: text },
            12 => Frame::Keepalive,
            13 => Frame::LaneOffer { lane: a as u8, sdp: text },
            14 => Frame::LaneAnswer { lane: a as u8, sdp: text },
            15 => Frame::Received { bytes: b },
            _ => Frame::Error { code: a as u16, message: text },
        }
    }

    proptest! {
        #[test]
        fn every_frame_round_trips((k, a, b, c, h, bytes, text, flag) in frame_strategy()) {
            let frame = build(k, a, b, c, h, &bytes, &text, flag);
            let encoded = frame.to_vec();
            prop_assert_eq!(Frame::decode(&encoded), Ok(frame));
        }

        #[test]
        fn arbitrary_bytes_decode_or_error_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
            if let Ok(frame) = Frame::decode(&bytes) {
                // Whatever decodes re-encodes to the same bytes: no two readings of one message.
                prop_assert_eq!(frame.to_vec(), bytes);
            }
        }
    }

    #[test]
    fn truncation_and_trailing_bytes_are_errors() {
        let bytes = Frame::Want { file: 1, first: 2, count: 3 }.to_vec();
        assert_eq!(Frame::decode(&bytes[..bytes.len() - 1]), Err(FrameError::Truncated { kind: "WANT" }));
        let mut long = bytes.clone();
        long.push(0);
        assert_eq!(Frame::decode(&long), Err(FrameError::TrailingBytes { kind: "WANT" }));
        assert_eq!(Frame::decode(&[]), Err(FrameError::Empty));
        assert_eq!(Frame::decode(&[0xEE]), Err(FrameError::UnknownType(0xEE)));
    }
}
