//! A deterministic, seeded network and disk simulation that drives a real `Sender` and
//! `Receiver` against each other. Time is a number; nothing sleeps.

#![allow(dead_code)]

use peerdrop_core::{
    BlockHashing, Config, FileEntry, HaveMap, Manifest, Receiver, ReceiverEvent, ReceiverOutput, Sender,
    SenderEvent, SenderOutput,
};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, VecDeque};

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
    /// Each extra lane's one-way latency is this much longer than the one before (paths of
    /// separate connections differ; blocks finish out of order).
    pub lane_skew_ms: u64,
    /// Extra lane 1's connection dies once this many messages have crossed.
    pub lane_lost_after: Option<u64>,
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
            lane_skew_ms: 0,
            lane_lost_after: None,
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
    /// Blocks started on each lane (index: lane).
    pub blocks_per_lane: Vec<u64>,
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

/// The receiving disk: keeps small files in memory, hashes every file it is given in order.
struct Sink {
    keep: bool,
    files: Vec<BTreeMap<u64, Vec<u8>>>,
}

/// A step of an extra lane's setup that the simulated runtime performs later.
#[derive(Debug, Clone, Copy)]
enum LaneStep {
    /// The sender's channel for the lane opened.
    Open,
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
    let transfer_id = [seed as u8; 16];
    let mut rng = Rng::new(seed);
    let mut now = 0u64;
    let mut sender = Sender::new(config.clone(), manifest.clone(), transfer_id, now);
    let mut receiver = Receiver::new(receiver_config.clone(), transfer_id, now);
    let keep = manifest.total_size() <= 64 << 20;
    let mut sink = Sink { keep, files: vec![BTreeMap::new(); manifest.files.len()] };
    // Messages in flight: (arrival time, bytes), per lane towards the receiver. Each lane's
    // link serialises them at `bytes_per_ms`.
    let lanes = peerdrop_core::config::MAX_LANES;
    let mut to_receiver: Vec<VecDeque<(u64, Vec<u8>)>> = vec![VecDeque::new(); lanes];
    let mut to_sender: VecDeque<(u64, Vec<u8>)> = VecDeque::new();
    let mut link_free_at = vec![0u64; lanes];
    let latency = |lane: usize| params.latency_ms + lane as u64 * params.lane_skew_ms;
    // Lane setup: (when, lane, what): the receiver sees an offer, the sender an answer or an open.
    let mut lane_events: Vec<(u64, usize, LaneStep)> = Vec::new();
    let mut lanes_opened = [false; 8];
    let mut lane_lost = false;
    let mut back_free_at = 0u64;
    let mut pending_reads: VecDeque<(u64, peerdrop_core::ReadRequest)> = VecDeque::new();
    let mut pending_writes: VecDeque<(u64, u32, u64, u64)> = VecDeque::new();
    let mut disk_free_at = 0u64;
    // With host hashing: blocks being hashed by "the host", (done time, request), in order.
    let host_hashing = config.block_hashing == BlockHashing::Host;
    let mut pending_digests: VecDeque<(u64, peerdrop_core::DigestRequest)> = VecDeque::new();
    let mut hasher_free_at = 0u64;
    let mut digests_returned = 0u64;
    let mut digests_asked = 0u64;
    let mut out = Outcome {
        sender_events: vec![],
        receiver_events: vec![],
        files: vec![],
        stored_sha256: vec![],
        have_map: receiver.have_map().clone(),
        blocks_sent: vec![],
        blocks_per_lane: vec![0; peerdrop_core::config::MAX_LANES],
        lanes_declined: vec![],
        stored: vec![Default::default(); manifest.files.len()],
        max_receiver_held: 0,
        max_host_held: 0,
        reads_reordered: 0,
        max_sender_held: 0,
        queued: vec![],
        flips: 0,
        disconnected: false,
        end_ms: 0,
    };
    let mut messages = 0u64;
    let mut data_queued = 0u64;
    let mut accept_at: Option<u64> = None;
    let mut resume = resume;

    for _step in 0..50_000_000u64 {
        // Sender side: transmissions while flow control allows, reads, events.
        // Buffered amount: bytes queued on the link that have not left yet.
        for (lane, free_at) in link_free_at.iter().enumerate() {
            sender.handle_lane_buffered_amount(now, lane, free_at.saturating_sub(now) * params.bytes_per_ms);
        }
        while let Some(output) = sender.poll_output() {
            match output {
                SenderOutput::Read(req) => pending_reads.push_back((now, req)),
                SenderOutput::Event(e) => out.sender_events.push(e),
                SenderOutput::OpenLane(lane) => {
                    sender.lane_description(now, lane, &format!("sim offer {lane}"));
                }
                SenderOutput::CloseLane(lane) => out.lanes_declined.push(lane),
                SenderOutput::LaneAnswer { lane, sdp } => {
                    assert_eq!(sdp, format!("sim answer {lane}"));
                    // ICE, DTLS and SCTP: about a round trip more.
                    lane_events.push((now + 2 * latency(lane), lane, LaneStep::Open));
                }
                SenderOutput::Transmit { lane, frame: mut msg } => {
                    if msg.first() == Some(&0x06) {
                        let file = u32::from_be_bytes(msg[1..5].try_into().unwrap());
                        let index = u64::from_be_bytes(msg[5..13].try_into().unwrap());
                        out.blocks_sent.push((file, index));
                        out.blocks_per_lane[lane] += 1;
                    }
                    if msg.first() == Some(&0x07) && msg.len() > 1 && rng.below(1_000_000) < params.flip_ppm {
                        let at = 1 + rng.below(msg.len() as u64 - 1) as usize;
                        msg[at] ^= 1 << rng.below(8);
                        out.flips += 1;
                    }
                    // FILE_DIGEST: type, file (4), has_digest (1), digest (32).
                    if params.forge_file_digest && msg.first() == Some(&0x09) && msg.get(5) == Some(&1) {
                        msg[6] ^= 0x80;
                    }
                    let payload = if msg.first() == Some(&0x07) { msg.len() as u64 - 1 } else { 0 };
                    let start = link_free_at[lane].max(now);
                    link_free_at[lane] = start + (msg.len() as u64).div_ceil(params.bytes_per_ms);
                    to_receiver[lane].push_back((link_free_at[lane] + latency(lane), msg));
                    let buffered = link_free_at[lane].saturating_sub(now) * params.bytes_per_ms;
                    sender.handle_lane_buffered_amount(now, lane, buffered);
                    if lane == 0 {
                        out.queued.push((data_queued, buffered));
                    }
                    data_queued += payload;
                }
            }
        }
        // Receiver side: messages back, blocks to hash and to store, events.
        while let Some(output) = receiver.poll_output() {
            match output {
                ReceiverOutput::Transmit(msg) => {
                    let start = back_free_at.max(now);
                    back_free_at = start + (msg.len() as u64).div_ceil(params.bytes_per_ms);
                    to_sender.push_back((back_free_at + params.latency_ms, msg));
                }
                ReceiverOutput::Digest(d) => {
                    assert!(host_hashing, "the engine asked the host to hash with BlockHashing::Engine");
                    let cost = (d.data.len() as u64 * params.host_hash_ms_per_mib).div_ceil(1 << 20);
                    hasher_free_at = hasher_free_at.max(now) + cost;
                    digests_asked += 1;
                    if params.host_swaps_two_digests && digests_asked == 3 && !pending_digests.is_empty() {
                        // Ahead of the second block, if that one is still waiting (the last queued).
                        pending_digests.insert(pending_digests.len() - 1, (hasher_free_at, d));
                    } else {
                        pending_digests.push_back((hasher_free_at, d));
                    }
                }
                ReceiverOutput::Write(w) => {
                    // Bit-exactness: whatever the receiver stores must equal the sender's bytes.
                    assert!(
                        w.data == content(seed, w.file, w.offset, w.data.len()),
                        "receiver stored wrong bytes at file {} offset {}",
                        w.file,
                        w.offset
                    );
                    out.stored[w.file as usize].insert(w.offset / u64::from(receiver.block_size().unwrap()));
                    let len = w.data.len() as u64;
                    let cost = (len * params.write_ms_per_mib).div_ceil(1 << 20);
                    disk_free_at = disk_free_at.max(now) + cost;
                    if sink.keep {
                        sink.files[w.file as usize].insert(w.offset, w.data);
                    }
                    pending_writes.push_back((disk_free_at, w.file, w.offset, len));
                }
                ReceiverOutput::LaneOffer { lane, sdp } => {
                    assert_eq!(sdp, format!("sim offer {lane}"));
                    receiver.lane_description(now, lane, &format!("sim answer {lane}"));
                }
                ReceiverOutput::Event(e) => {
                    if let ReceiverEvent::Offer(_) = &e {
                        accept_at = Some(now + params.accept_after_ms);
                    }
                    out.receiver_events.push(e);
                }
            }
        }
        if accept_at.is_some_and(|t| t <= now) {
            accept_at = None;
            if params.reject {
                receiver.reject(now, "not now, thanks");
            } else {
                receiver.accept(now, resume.take());
                if let Some(rtt) = params.round_trip_ms {
                    receiver.handle_round_trip(now, rtt);
                    sender.handle_round_trip(now, rtt);
                }
            }
            continue;
        }
        if params.receiver_cancel_after.is_some_and(|n| messages >= n) && !receiver.is_closed() {
            receiver.cancel(now, "the receiver cancelled");
            continue;
        }
        if params.cancel_after.is_some_and(|n| messages >= n) && !sender.is_closed() {
            sender.cancel(now, "the sender cancelled");
            continue;
        }
        out.max_receiver_held = out.max_receiver_held.max(receiver.held_bytes());
        let host_held = pending_digests.iter().map(|(_, d)| d.data.len() as u64).sum::<u64>()
            + pending_writes.iter().map(|w| w.3).sum::<u64>();
        out.max_host_held = out.max_host_held.max(host_held);
        out.max_sender_held = out.max_sender_held.max(sender.held_bytes());
        if sender.is_closed()
            && receiver.is_closed()
            && to_sender.is_empty()
            && to_receiver.iter().all(VecDeque::is_empty)
        {
            break;
        }
        // Advance to the next thing that happens.
        let next = [
            to_receiver.iter().filter_map(|q| q.front().map(|m| m.0)).min(),
            lane_events.iter().map(|e| e.0).min(),
            to_sender.front().map(|m| m.0),
            pending_reads.front().map(|r| r.0 + 1),
            pending_writes.front().map(|w| w.0),
            pending_digests.front().map(|d| d.0),
            sender.poll_timeout(),
            receiver.poll_timeout(),
            link_free_at.iter().copied().filter(|&t| t > now).min(),
            accept_at,
        ]
        .into_iter()
        .flatten()
        .min();
        let Some(next) = next else { break };
        now = now.max(next);
        if let Some(limit) = params.disconnect_after {
            if messages >= limit {
                out.disconnected = true;
                sender.handle_connection_lost(now);
                receiver.handle_connection_lost(now);
                while let Some(output) = sender.poll_output() {
                    if let SenderOutput::Event(e) = output {
                        out.sender_events.push(e);
                    }
                }
                while let Some(output) = receiver.poll_output() {
                    if let ReceiverOutput::Event(e) = output {
                        out.receiver_events.push(e);
                    }
                }
                break;
            }
        }
        if params.lane_lost_after.is_some_and(|n| messages >= n) && lanes_opened[1] && !lane_lost {
            // Both runtimes see the connection close: the receiver's after it carried data is
            // the whole connection's; the sender's engine judges its own.
            lane_lost = true;
            to_receiver[1].clear();
            sender.handle_lane_lost(now, 1);
            receiver.handle_connection_lost(now);
            continue;
        }
        let blackholed = params.blackhole_after.is_some_and(|limit| messages >= limit);
        lane_events.sort_by_key(|e| e.0);
        while lane_events.first().is_some_and(|e| e.0 <= now) {
            let (_, lane, step) = lane_events.remove(0);
            match step {
                LaneStep::Open => {
                    lanes_opened[lane] = true;
                    sender.handle_lane_open(now, lane);
                }
            }
        }
        for (lane, queue) in to_receiver.iter_mut().enumerate() {
            while queue.front().is_some_and(|m| m.0 <= now) {
                let (_, msg) = queue.pop_front().unwrap();
                messages += 1;
                if blackholed {
                    continue;
                }
                if lane == 0 {
                    receiver.handle_frame(now, &msg);
                } else {
                    receiver.handle_lane_frame(now, lane, &msg);
                }
            }
        }
        while to_sender.front().is_some_and(|m| m.0 <= now) {
            let (_, msg) = to_sender.pop_front().unwrap();
            messages += 1;
            if !blackholed {
                sender.handle_frame(now, &msg);
            }
        }
        let mut finished_reads = Vec::new();
        while pending_reads.front().is_some_and(|r| r.0 < now) {
            finished_reads.push(pending_reads.pop_front().unwrap().1);
        }
        if params.reads_out_of_order && finished_reads.len() > 1 {
            finished_reads.reverse();
            out.reads_reordered += 1;
        }
        for req in finished_reads {
            let data = content(seed, req.file, req.offset, req.len as usize);
            if host_hashing {
                let sha256 = Sha256::digest(&data).into();
                sender.handle_hashed_read(now, req.file, req.offset, data, sha256);
            } else {
                sender.handle_read(now, req.file, req.offset, data);
            }
        }
        while pending_digests.front().is_some_and(|d| d.0 <= now) {
            let (_, mut d) = pending_digests.pop_front().unwrap();
            let sha256 = Sha256::digest(&d.data).into();
            digests_returned += 1;
            if params.host_shortens_a_block && digests_returned == 2 {
                d.data.pop();
            }
            receiver.handle_block_digest(now, d.file, d.index, sha256, d.data);
        }
        while pending_writes.front().is_some_and(|w| w.0 <= now) {
            let (_, file, offset, _) = pending_writes.pop_front().unwrap();
            receiver.handle_write_done(now, file, offset);
        }
        sender.handle_timeout(now);
        receiver.handle_timeout(now);
    }
    out.end_ms = now;
    out.have_map = receiver.have_map().clone();
    for parts in sink.files {
        let mut bytes = Vec::new();
        for (off, data) in parts {
            if bytes.len() < off as usize + data.len() {
                bytes.resize(off as usize + data.len(), 0);
            }
            bytes[off as usize..off as usize + data.len()].copy_from_slice(&data);
        }
        out.stored_sha256.push(Sha256::digest(&bytes).into());
        out.files.push(bytes);
    }
    out
}
