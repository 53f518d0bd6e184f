//! The bodies of the fuzz targets, kept in a library so that a plain `cargo test` (stable,
//! no libFuzzer) proves what each reaches: a target whose seeds stop at the first check (as
//! the hostile sender did while it spoke protocol 1 to a protocol-2 receiver) fails here.
//! `make test` then runs every target for a few seconds from these seeds.

use peerdrop_core::config::PROTOCOL_VERSION;
use peerdrop_core::frame::{Frame, Role};
use peerdrop_core::{
    BlockHashing, Config, ErrorCode, FileEntry, HaveMap, Manifest, Receiver, ReceiverEvent, ReceiverOutput,
    Sender, SenderOutput,
};
use sha2::{Digest, Sha256};

pub const TRANSFER_ID: [u8; 16] = [7; 16];

/// Small sizes, so that a few kilobytes of input cover whole blocks, the window and the
/// manifest's pieces.
pub fn config(hashing: BlockHashing) -> Config {
    Config {
        window: 64 * 1024,
        block_size: 16 * 1024,
        max_message_size: 4 * 1024,
        block_hashing: hashing,
        ..Config::default()
    }
}

/// Which decoders took the input.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Decoded {
    pub frame: bool,
    pub manifest: bool,
    pub have_map: bool,
}

/// Every decoder that reads peer bytes: frames, manifests, saved have-maps. None may panic or
/// allocate more than the input justifies; what one accepts encodes back to the same bytes
/// (a manifest to one that decodes equal: its encoding is not unique) and is valid.
pub fn decode(data: &[u8]) -> Decoded {
    let mut decoded = Decoded::default();
    if let Ok(frame) = Frame::decode(data) {
        assert_eq!(frame.to_vec(), data, "a decoded frame re-encodes to the same bytes");
        decoded.frame = true;
    }
    if let Ok(manifest) = Manifest::decode(data) {
        let again = Manifest::decode(&manifest.encode()).expect("a decoded manifest's encoding decodes");
        assert_eq!(again, manifest, "a manifest survives encoding");
        assert!(manifest.files.iter().all(|f| !f.path.is_empty()), "an empty path was accepted");
        decoded.manifest = true;
    }
    if let Ok(map) = HaveMap::from_bytes(data) {
        assert_eq!(map.to_bytes(), data, "a have-map re-encodes to the same bytes");
        decoded.have_map = true;
    }
    decoded
}

/// How far a hostile sender's messages took the receiver.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reached {
    pub offered: bool,
    pub blocks_written: usize,
    pub files_complete: usize,
    pub complete: bool,
    pub failed: Option<ErrorCode>,
}

/// A hostile sender: after a valid `HELLO`, the receiver is fed arbitrary messages and
/// accepts any offer. It must end in a typed error or keep going, never panic, and never hold
/// more than its window. Input: one byte (odd: the host hashes the blocks, as with
/// WebCrypto), then messages, each a big-endian `u16` length and that many bytes.
pub fn hostile_sender(data: &[u8]) -> Reached {
    let Some((&mode, mut rest)) = data.split_first() else { return Reached::default() };
    let hashing = if mode & 1 == 1 { BlockHashing::Host } else { BlockHashing::Engine };
    let config = config(hashing);
    let mut receiver = Receiver::new(config.clone(), TRANSFER_ID, 0);
    let mut reached = Reached::default();
    let mut now = 0;
    receiver.handle_frame(now, &sender_hello(&config));
    drain(&mut receiver, now, &mut reached, drop);
    while rest.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        let (message, tail) = rest[2..].split_at(len);
        rest = tail;
        now += 10;
        receiver.handle_frame(now, message);
        drain(&mut receiver, now, &mut reached, drop);
        assert!(receiver.held_bytes() <= config.window, "the receiver holds more than its window");
    }
    receiver.handle_timeout(now + 60_000);
    drain(&mut receiver, now, &mut reached, drop);
    reached
}

fn sender_hello(config: &Config) -> Vec<u8> {
    Frame::Hello {
        version: PROTOCOL_VERSION,
        role: Role::Sender,
        max_message_size: config.max_message_size,
        block_size: config.block_size,
        transfer_id: TRANSFER_ID,
    }
    .to_vec()
}

/// Does what the receiver asks at once (accepts the offer, hashes, stores), handing each
/// message it sends to `transmit`.
fn drain(receiver: &mut Receiver, now: u64, reached: &mut Reached, mut transmit: impl FnMut(Vec<u8>)) {
    while let Some(output) = receiver.poll_output() {
        match output {
            ReceiverOutput::Transmit(message) => transmit(message),
            ReceiverOutput::Digest(d) => {
                let sha256 = Sha256::digest(&d.data).into();
                receiver.handle_block_digest(now, d.file, d.index, sha256, d.data);
            }
            ReceiverOutput::Write(w) => {
                reached.blocks_written += 1;
                receiver.handle_write_done(now, w.file, w.offset);
            }
            ReceiverOutput::Event(ReceiverEvent::Offer(_)) => {
                reached.offered = true;
                receiver.accept(now, None);
            }
            ReceiverOutput::Event(ReceiverEvent::FileComplete { .. }) => reached.files_complete += 1,
            ReceiverOutput::Event(ReceiverEvent::Complete) => reached.complete = true,
            ReceiverOutput::Event(ReceiverEvent::Failed(e)) => reached.failed = Some(e.code),
            ReceiverOutput::LaneOffer { lane, .. } => {
                receiver.lane_description(now, lane, "v=0");
            }
            ReceiverOutput::Event(_) => {}
        }
    }
}

/// The offer the seeds carry: two files over several blocks, one empty, in a folder.
pub fn seed_manifest() -> Manifest {
    let entry =
        |path: &str, size| FileEntry { path: path.into(), size, modified_ms: 1, mime: "text/plain".into() };
    Manifest { files: vec![entry("notes/a.txt", 40_000), entry("notes/empty", 0), entry("b.bin", 16_384)] }
}

/// What an honest sender says to an honest receiver for [`seed_manifest`], after its `HELLO`,
/// in the hostile-sender target's input format (`mode` first).
pub fn honest_transcript(mode: u8) -> Vec<u8> {
    let hashing = if mode & 1 == 1 { BlockHashing::Host } else { BlockHashing::Engine };
    let config = config(hashing);
    let mut sender = Sender::new(config.clone(), seed_manifest(), TRANSFER_ID, 0);
    let mut receiver = Receiver::new(config, TRANSFER_ID, 0);
    let mut input = vec![mode];
    let mut first = true;
    let mut reached = Reached::default();
    for _ in 0..10_000 {
        sender.handle_lane_buffered_amount(0, 0, 0);
        let mut moved = false;
        while let Some(output) = sender.poll_output() {
            moved = true;
            match output {
                SenderOutput::Transmit { frame: message, .. } => {
                    // The target sends the sender's HELLO itself.
                    if !std::mem::take(&mut first) {
                        input.extend_from_slice(&(message.len() as u16).to_be_bytes());
                        input.extend_from_slice(&message);
                    }
                    receiver.handle_frame(0, &message);
                }
                SenderOutput::Read(r) => {
                    let data = vec![r.file as u8 ^ 0x5a; r.len as usize];
                    sender.handle_read(0, r.file, r.offset, data);
                }
                // No round trip is reported: one lane.
                SenderOutput::OpenLane(_)
                | SenderOutput::LaneAnswer { .. }
                | SenderOutput::CloseLane(_)
                | SenderOutput::Event(_) => {}
            }
        }
        drain(&mut receiver, 0, &mut reached, |message| {
            moved = true;
            sender.handle_frame(0, &message);
        });
        if !moved {
            break;
        }
    }
    assert!(reached.complete, "the honest transfer behind the seeds did not complete: {reached:?}");
    input
}

/// Starting inputs for each target: (target, name, bytes).
pub fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut seeds = vec![
        ("receiver", "honest-engine-hashing".to_string(), honest_transcript(0)),
        ("receiver", "honest-host-hashing".to_string(), honest_transcript(1)),
    ];
    let frames = [
        sender_hello(&config(BlockHashing::Engine)),
        Frame::Accept { have_bytes: 40_000 }.to_vec(),
        Frame::Want { file: 1, first: 2, count: 3 }.to_vec(),
        Frame::Credit { limit: 1 << 20 }.to_vec(),
        Frame::Block { file: 0, index: 1, len: 16_384, offset: 0, sha256: [9; 32] }.to_vec(),
        Frame::Data { payload: b"some block bytes" }.to_vec(),
        Frame::Ack { file: 2, index: 0 }.to_vec(),
        Frame::FileDigest { file: 0, digest: Some([3; 32]) }.to_vec(),
        Frame::Done.to_vec(),
        Frame::Cancel { code: ErrorCode::Cancelled as u16, reason: "not now" }.to_vec(),
        Frame::Error { code: ErrorCode::SinkFailed as u16, message: "disk full" }.to_vec(),
        Frame::Keepalive.to_vec(),
    ];
    for (i, frame) in frames.into_iter().enumerate() {
        seeds.push(("decode", format!("frame-{i:02}"), frame));
    }
    seeds.push(("decode", "manifest".to_string(), seed_manifest().encode()));
    let mut have = HaveMap::new(TRANSFER_ID, 16_384, 3);
    have.files[0].insert(1);
    have.files[2].insert(0);
    seeds.push(("decode", "have-map".to_string(), have.to_bytes()));
    seeds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hostile_sender_seeds_reach_a_completed_transfer_in_both_hashing_modes() {
        for mode in [0, 1] {
            let reached = hostile_sender(&honest_transcript(mode));
            assert_eq!(reached.failed, None, "mode {mode}");
            assert!(reached.offered && reached.complete, "mode {mode}: {reached:?}");
            assert_eq!(reached.blocks_written, 4, "mode {mode}");
            assert_eq!(reached.files_complete, 3, "mode {mode}");
        }
    }

    #[test]
    fn every_decode_seed_is_taken_by_a_decoder() {
        for (target, name, bytes) in seeds().into_iter().filter(|s| s.0 == "decode") {
            let decoded = decode(&bytes);
            let taken = match name.as_str() {
                "manifest" => decoded.manifest,
                "have-map" => decoded.have_map,
                _ => decoded.frame,
            };
            assert!(taken, "{target}/{name} was refused: {decoded:?}");
        }
    }
}
