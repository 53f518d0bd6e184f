//! A deterministic, seeded network and disk simulation that drives a real `Sender` and
//! `Receiver` against each other. Time is a number; nothing sleeps.
//!
//! `link.rs` is one connection (both engines, the link, the receiving host); [`run`] drives
//! one with the sender's own disk, [`fanout::run`] several that share one sender's disk
//! through a `BlockCache`.

#![allow(dead_code)]

pub mod fanout;
mod link;

use link::{Advance, Link, Pump};
use peerdrop_core::{Config, FileEntry, HaveMap, Manifest, ReceiverEvent, SenderEvent};
use sha2::{Digest, Sha256};
use std::collections::VecDeque;

/// SplitMix64: tiny, seeded, good enough to schedule faults.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }
}

/// The content byte at `offset` of file `file`: generated, so huge files need no memory.
pub fn content_byte(seed: u64, file: u32, offset: u64) -> u8 {
    let x = offset.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (u64::from(file) << 48) ^ seed;
    (x ^ (x >> 29) ^ (x >> 43)) as u8
}

pub fn content(seed: u64, file: u32, offset: u64, len: usize) -> Vec<u8> {
    (0..len as u64).map(|i| content_byte(seed, file, offset + i)).collect()
}

pub fn sha256_of_file(seed: u64, file: u32, size: u64) -> [u8; 32] {
    let mut h = Sha256::new();
    let mut off = 0;
    while off < size {
        let n = (size - off).min(1 << 20) as usize;
        h.update(content(seed, file, off, n));
        off += n as u64;
    }
    h.finalize().into()
}

/// The content digest the protocol reports (v2): SHA-256 over the blocks' SHA-256 digests,
/// written out here with `sha2` directly rather than through the engine's own type.
pub fn content_digest_of_file(seed: u64, file: u32, size: u64, block_size: u64) -> [u8; 32] {
    let mut list = Sha256::new();
    let mut off = 0;
    while off < size {
        let n = (size - off).min(block_size) as usize;
        list.update(Sha256::digest(content(seed, file, off, n)));
        off += n as u64;
    }
    list.finalize().into()
}

/// Knobs of one simulated run.
#[derive(Clone, Debug)]
pub struct NetParams {
    pub latency_ms: u64,
    /// Bytes the link moves per millisecond.
    pub bytes_per_ms: u64,
    /// Milliseconds the receiving disk needs per MiB written.
    pub write_ms_per_mib: u64,
    /// Flip one bit in a DATA message with this probability, in parts per million.
    pub flip_ppm: u64,
    /// Alter the digest in every `FILE_DIGEST` that carries one (a sender that lies about a
    /// file, or a bug that placed a block wrongly).
    pub forge_file_digest: bool,
    /// Cut the connection once this many messages have crossed (either way).
    pub disconnect_after: Option<u64>,
    /// Silently drop everything once this many messages have crossed (no close event).
    pub blackhole_after: Option<u64>,
    /// The receiver declines the offer instead of accepting it.
    pub reject: bool,
    /// The sender's user cancels once this many messages have crossed.
    pub cancel_after: Option<u64>,
    /// The person takes this long to accept the offer.
    pub accept_after_ms: u64,
    /// The receiver's user cancels once this many messages have crossed.
    pub receiver_cancel_after: Option<u64>,
    /// With `BlockHashing::Host`: milliseconds the host's hasher needs per MiB (blocks queue
    /// behind each other, as WebCrypto calls awaited in order do).
    pub host_hash_ms_per_mib: u64,
    /// Reads that finish at the same moment are handed to the sender last first.
    pub reads_out_of_order: bool,
    /// With `BlockHashing::Host`: the host hands back the second block it hashes one byte short
    /// (a host bug: the bytes cannot be trusted).
    pub host_shortens_a_block: bool,
    /// With `BlockHashing::Host`: the host hands back the third block's digest before the
    /// second's (a host bug; needs a hasher slow enough that the second is still waiting).
    pub host_swaps_two_digests: bool,
    /// The round trip the runtime reports to both engines when the offer is accepted (`None`:
    /// never measured, one lane). Extra lanes then open after one round trip of setup.
    pub round_trip_ms: Option<u64>,
    /// The round trip is reported this long after the acceptance rather than with it (ICE's
    /// first measurement may come after the first blocks left).
    pub round_trip_after_ms: u64,
    /// Only the first this many DATA messages may be flipped (`flip_ppm`); 0: any of them.
    pub flip_first: u64,
    /// Each extra lane's one-way latency is this much longer than the one before (paths of
    /// separate connections differ; blocks finish out of order).
    pub lane_skew_ms: u64,
    /// Extra lane 1's connection dies once this many messages have crossed.
    pub lane_lost_after: Option<u64>,
    /// (from, for): from this millisecond, for this long, nothing crosses the link either way;
    /// what was sent meanwhile arrives afterwards (a path that stalls and comes back, as SCTP
    /// retransmits across a short outage).
    pub stall: Option<(u64, u64)>,
}

impl Default for NetParams {
    fn default() -> Self {
        NetParams {
            latency_ms: 5,
            bytes_per_ms: 20_000,
            write_ms_per_mib: 2,
            flip_ppm: 0,
            forge_file_digest: false,
            disconnect_after: None,
            blackhole_after: None,
            reject: false,
            cancel_after: None,
            accept_after_ms: 0,
            receiver_cancel_after: None,
            host_hash_ms_per_mib: 1,
            reads_out_of_order: false,
            host_shortens_a_block: false,
            host_swaps_two_digests: false,
            round_trip_ms: None,
            round_trip_after_ms: 0,
            flip_first: 0,
            lane_skew_ms: 0,
            lane_lost_after: None,
            stall: None,
        }
    }
}

/// What a run ended with.
#[derive(Debug)]
pub struct Outcome {
    pub sender_events: Vec<SenderEvent>,
    pub receiver_events: Vec<ReceiverEvent>,
    /// Received bytes per file, when kept (small files only).
    pub files: Vec<Vec<u8>>,
    /// SHA-256 of what the receiver stored, per file, computed by the test's own sink.
    pub stored_sha256: Vec<[u8; 32]>,
    pub have_map: HaveMap,
    /// Blocks the sender put on the wire, as (file, index), in order.
    pub blocks_sent: Vec<(u32, u64)>,
    /// Block parts started on each lane (index: lane): whole blocks, or parts split off.
    pub blocks_per_lane: Vec<u64>,
    /// Parts an idle lane split off another lane's block (`BLOCK` with an offset), as the
    /// block's (file, index).
    pub split_parts: Vec<(u32, u64)>,
    /// `DATA` payload bytes put on the wire (a byte sent twice counts twice).
    pub data_bytes_sent: u64,
    /// Lanes the receiver declined (the sender asked its runtime to release them).
    pub lanes_declined: Vec<usize>,
    /// Blocks the sink stored, per file; every stored byte was checked against the source.
    pub stored: Vec<peerdrop_core::ranges::RangeSet>,
    pub max_receiver_held: u64,
    /// Most bytes the receiver's host held at once: blocks out for hashing and awaiting writes
    /// (counted from the host's side, not from the engine's own accounting).
    pub max_host_held: u64,
    /// Batches of finished reads handed to the sender in reverse (with `reads_out_of_order`).
    pub reads_reordered: u64,
    pub max_sender_held: usize,
    /// Most DATA payload bytes on the link toward the receiver at once (queued there to leave,
    /// as in a channel's buffer or a router's queue, or travelling).
    pub max_in_network: u64,
    /// After each message the sender queued: (DATA bytes it had queued before it, the link's
    /// backlog, i.e. `bufferedAmount`, with it).
    pub queued: Vec<(u64, u64)>,
    pub flips: u64,
    pub disconnected: bool,
    pub end_ms: u64,
}

impl Outcome {
    pub fn receiver_complete(&self) -> bool {
        self.receiver_events.iter().any(|e| matches!(e, ReceiverEvent::Complete))
    }
    pub fn sender_complete(&self) -> bool {
        self.sender_events.iter().any(|e| matches!(e, SenderEvent::Complete))
    }
    pub fn receiver_failure(&self) -> Option<&peerdrop_core::TransferError> {
        self.receiver_events.iter().find_map(|e| match e {
            ReceiverEvent::Failed(err) => Some(err),
            _ => None,
        })
    }
    pub fn sender_failure(&self) -> Option<&peerdrop_core::TransferError> {
        self.sender_events.iter().find_map(|e| match e {
            SenderEvent::Failed(err) => Some(err),
            _ => None,
        })
    }
}

pub fn manifest(sizes: &[u64]) -> Manifest {
    Manifest {
        files: sizes
            .iter()
            .enumerate()
            .map(|(i, &size)| FileEntry {
                path: format!("dir{}/file{i}.bin", i % 3),
                size,
                modified_ms: 0,
                mime: "application/octet-stream".into(),
            })
            .collect(),
    }
}

/// Runs one connection to its end (or to the cut) and returns what happened.
pub fn run(
    seed: u64,
    config: &Config,
    manifest: &Manifest,
    params: &NetParams,
    resume: Option<HaveMap>,
) -> Outcome {
    run_with(seed, config, config, manifest, params, resume)
}

/// [`run`] with a receiver configured apart from the sender.
pub fn run_with(
    seed: u64,
    config: &Config,
    receiver_config: &Config,
    manifest: &Manifest,
    params: &NetParams,
    resume: Option<HaveMap>,
) -> Outcome {
    let mut link = Link::new(seed, seed, 0, config, receiver_config, manifest, params, resume);
    let mut now = 0u64;
    // The sender's own disk: each read takes a millisecond, several run at once.
    let mut pending_reads: VecDeque<(u64, peerdrop_core::ReadRequest)> = VecDeque::new();
    for _step in 0..50_000_000u64 {
        let pump = link.pump(now);
        pending_reads.extend(link.reads.drain(..).map(|r| (now, r)));
        if pump == Pump::Again {
            continue;
        }
        if link.is_done() {
            break;
        }
        // Advance to the next thing that happens.
        let next = [link.next_time(now), pending_reads.front().map(|r| r.0 + 1)].into_iter().flatten().min();
        let Some(next) = next else { break };
        now = now.max(next);
        match link.advance_network(now) {
            Advance::Cut => break,
            Advance::Skip => continue,
            Advance::Go => {}
        }
        let mut finished_reads = Vec::new();
        while pending_reads.front().is_some_and(|r| r.0 < now) {
            finished_reads.push(pending_reads.pop_front().unwrap().1);
        }
        if params.reads_out_of_order && finished_reads.len() > 1 {
            finished_reads.reverse();
            link.out.reads_reordered += 1;
        }
        for req in finished_reads {
            link.hand_read(now, req);
        }
        link.advance_host(now);
    }
    link.finish(now)
}
