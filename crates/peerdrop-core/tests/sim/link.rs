//! One simulated connection: a real `Sender` and `Receiver`, the link between them (lanes
//! included) and the receiving host (hasher, disk, sink). The sender's reads are left to
//! whoever drives the link: a private disk for one pair ([`super::run`]), a block cache shared
//! by several links for one sender with many receivers ([`super::fanout`]).
//!
//! A driver repeats: [`Link::pump`] (drain both engines at `now`), take [`Link::reads`], stop
//! when [`Link::is_done`], advance `now` to the earliest [`Link::next_time`] (and its own
//! events), [`Link::advance_network`], hand back finished reads, [`Link::advance_host`].

use super::{content, NetParams, Outcome, Rng};
use peerdrop_core::{
    BlockHashing, Config, HaveMap, Manifest, ReadRequest, Receiver, ReceiverEvent, ReceiverOutput, Sender,
    SenderOutput,
};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, VecDeque};

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

/// What [`Link::pump`] calls for next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pump {
    /// An input was fed at `now` (accept, cancel): pump again before time moves.
    Again,
    /// Drained: time may move on.
    Idle,
}

/// What [`Link::advance_network`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advance {
    /// Messages delivered: go on with reads and the host.
    Go,
    /// A lane was lost: pump again before anything else happens.
    Skip,
    /// The connection was cut: both engines heard of it, the link is over.
    Cut,
}

pub struct Link {
    seed: u64,
    params: NetParams,
    rng: Rng,
    pub sender: Sender,
    pub receiver: Receiver,
    sink: Sink,
    /// Messages in flight: (arrival time, bytes), per lane towards the receiver. Each lane's
    /// link serialises them at `bytes_per_ms`.
    to_receiver: Vec<VecDeque<(u64, Vec<u8>)>>,
    to_sender: VecDeque<(u64, Vec<u8>)>,
    link_free_at: Vec<u64>,
    back_free_at: u64,
    /// Lane setup: (when, lane, what): the receiver sees an offer, the sender an answer or an open.
    lane_events: Vec<(u64, usize, LaneStep)>,
    lanes_opened: [bool; 8],
    lane_lost: bool,
    pending_writes: VecDeque<(u64, u32, u64, u64)>,
    disk_free_at: u64,
    /// The sender's host hashes its reads (`BlockHashing::Host` in the sender's config).
    pub host_hashing: bool,
    /// With host hashing: blocks being hashed by "the host", (done time, request), in order.
    pending_digests: VecDeque<(u64, peerdrop_core::DigestRequest)>,
    hasher_free_at: u64,
    digests_returned: u64,
    digests_asked: u64,
    pub out: Outcome,
    messages: u64,
    data_queued: u64,
    /// DATA payload bytes on the link (queued to leave, or travelling) toward the receiver.
    in_network: u64,
    accept_at: Option<u64>,
    /// When the runtime reports the round trip, if it has not yet.
    round_trip_at: Option<u64>,
    /// DATA messages sent so far (for `NetParams::flip_first`).
    data_messages: u64,
    resume: Option<HaveMap>,
    /// Reads the sender asked for that the driver has not taken yet, in order.
    pub reads: Vec<ReadRequest>,
}

impl Link {
    /// A connection starting at `now`; `rng_seed` schedules its faults, `seed` is the content's.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        seed: u64,
        rng_seed: u64,
        now: u64,
        config: &Config,
        receiver_config: &Config,
        manifest: &Manifest,
        params: &NetParams,
        resume: Option<HaveMap>,
    ) -> Self {
        let transfer_id = [seed as u8; 16];
        let sender = Sender::new(config.clone(), manifest.clone(), transfer_id, now);
        let receiver = Receiver::new(receiver_config.clone(), transfer_id, now);
        let keep = manifest.total_size() <= 64 << 20;
        let lanes = peerdrop_core::config::MAX_LANES;
        let out = Outcome {
            sender_events: vec![],
            receiver_events: vec![],
            files: vec![],
            stored_sha256: vec![],
            have_map: receiver.have_map().clone(),
            blocks_sent: vec![],
            blocks_per_lane: vec![0; lanes],
            split_parts: vec![],
            data_bytes_sent: 0,
            lanes_declined: vec![],
            stored: vec![Default::default(); manifest.files.len()],
            max_receiver_held: 0,
            max_host_held: 0,
            reads_reordered: 0,
            max_sender_held: 0,
            max_in_network: 0,
            queued: vec![],
            flips: 0,
            disconnected: false,
            end_ms: 0,
        };
        Link {
            seed,
            params: params.clone(),
            rng: Rng::new(rng_seed),
            sender,
            receiver,
            sink: Sink { keep, files: vec![BTreeMap::new(); manifest.files.len()] },
            to_receiver: vec![VecDeque::new(); lanes],
            to_sender: VecDeque::new(),
            link_free_at: vec![now; lanes],
            back_free_at: now,
            lane_events: Vec::new(),
            lanes_opened: [false; 8],
            lane_lost: false,
            pending_writes: VecDeque::new(),
            disk_free_at: now,
            host_hashing: config.block_hashing == BlockHashing::Host,
            pending_digests: VecDeque::new(),
            hasher_free_at: now,
            digests_returned: 0,
            digests_asked: 0,
            out,
            messages: 0,
            data_queued: 0,
            in_network: 0,
            accept_at: None,
            round_trip_at: None,
            data_messages: 0,
            resume,
            reads: Vec::new(),
        }
    }

    fn latency(&self, lane: usize) -> u64 {
        self.params.latency_ms + lane as u64 * self.params.lane_skew_ms
    }

    /// `t`, or the end of the stall `t` falls in: nothing crosses the link while it stalls.
    fn unstalled(&self, t: u64) -> u64 {
        match self.params.stall {
            Some((from, ms)) if (from..from + ms).contains(&t) => from + ms,
            _ => t,
        }
    }

    /// Drains both engines at `now`, and feeds what the people and the runtime decide then.
    pub fn pump(&mut self, now: u64) -> Pump {
        self.pump_sender(now);
        self.pump_receiver(now);
        if self.accept_at.is_some_and(|t| t <= now) {
            self.accept_at = None;
            if self.params.reject {
                self.receiver.reject(now, "not now, thanks");
            } else {
                self.receiver.accept(now, self.resume.take());
                if self.params.round_trip_ms.is_some() {
                    self.round_trip_at = Some(now + self.params.round_trip_after_ms);
                }
            }
            return Pump::Again;
        }
        if self.round_trip_at.is_some_and(|t| t <= now) {
            self.round_trip_at = None;
            if let Some(rtt) = self.params.round_trip_ms {
                self.receiver.handle_round_trip(now, rtt);
                self.sender.handle_round_trip(now, rtt);
            }
            return Pump::Again;
        }
        if self.params.receiver_cancel_after.is_some_and(|n| self.messages >= n) && !self.receiver.is_closed()
        {
            self.receiver.cancel(now, "the receiver cancelled");
            return Pump::Again;
        }
        if self.params.cancel_after.is_some_and(|n| self.messages >= n) && !self.sender.is_closed() {
            self.sender.cancel(now, "the sender cancelled");
            return Pump::Again;
        }
        let out = &mut self.out;
        out.max_receiver_held = out.max_receiver_held.max(self.receiver.held_bytes());
        let host_held = self.pending_digests.iter().map(|(_, d)| d.data.len() as u64).sum::<u64>()
            + self.pending_writes.iter().map(|w| w.3).sum::<u64>();
        out.max_host_held = out.max_host_held.max(host_held);
        out.max_sender_held = out.max_sender_held.max(self.sender.held_bytes());
        Pump::Idle
    }

    /// Sender side: transmissions while flow control allows, reads, events.
    fn pump_sender(&mut self, now: u64) {
        let bytes_per_ms = self.params.bytes_per_ms;
        // Buffered amount: bytes queued on the link that have not left yet.
        for (lane, free_at) in self.link_free_at.iter().enumerate() {
            self.sender.handle_lane_buffered_amount(now, lane, free_at.saturating_sub(now) * bytes_per_ms);
        }
        while let Some(output) = self.sender.poll_output() {
            match output {
                SenderOutput::Read(req) => self.reads.push(req),
                SenderOutput::Event(e) => self.out.sender_events.push(e),
                SenderOutput::OpenLane(lane) => {
                    self.sender.lane_description(now, lane, &format!("sim offer {lane}"));
                }
                SenderOutput::CloseLane(lane) => self.out.lanes_declined.push(lane),
                SenderOutput::LaneAnswer { lane, sdp } => {
                    assert_eq!(sdp, format!("sim answer {lane}"));
                    // ICE, DTLS and SCTP: about a round trip more.
                    self.lane_events.push((now + 2 * self.latency(lane), lane, LaneStep::Open));
                }
                SenderOutput::Transmit { lane, frame } => self.transmit(now, lane, frame),
            }
        }
    }

    fn transmit(&mut self, now: u64, lane: usize, mut msg: Vec<u8>) {
        if msg.first() == Some(&0x07) {
            self.data_messages += 1;
        }
        let may_flip = self.params.flip_first == 0 || self.data_messages <= self.params.flip_first;
        let params = &self.params;
        let out = &mut self.out;
        if msg.first() == Some(&0x06) {
            let file = u32::from_be_bytes(msg[1..5].try_into().unwrap());
            let index = u64::from_be_bytes(msg[5..13].try_into().unwrap());
            let offset = u32::from_be_bytes(msg[17..21].try_into().unwrap());
            // A block's sending starts with its part at offset 0; later parts are splits.
            if offset == 0 {
                out.blocks_sent.push((file, index));
            } else {
                out.split_parts.push((file, index));
            }
            out.blocks_per_lane[lane] += 1;
        }
        if msg.first() == Some(&0x07) {
            out.data_bytes_sent += msg.len() as u64 - 1;
        }
        if msg.first() == Some(&0x07)
            && msg.len() > 1
            && may_flip
            && self.rng.below(1_000_000) < params.flip_ppm
        {
            let at = 1 + self.rng.below(msg.len() as u64 - 1) as usize;
            msg[at] ^= 1 << self.rng.below(8);
            out.flips += 1;
        }
        // FILE_DIGEST: type, file (4), has_digest (1), digest (32).
        if params.forge_file_digest && msg.first() == Some(&0x09) && msg.get(5) == Some(&1) {
            msg[6] ^= 0x80;
        }
        let payload = if msg.first() == Some(&0x07) { msg.len() as u64 - 1 } else { 0 };
        let start = self.unstalled(self.link_free_at[lane].max(now));
        let free_at = start + (msg.len() as u64).div_ceil(self.params.bytes_per_ms);
        self.link_free_at[lane] = free_at;
        let arrival = free_at + self.latency(lane);
        self.to_receiver[lane].push_back((arrival, msg));
        let buffered = free_at.saturating_sub(now) * self.params.bytes_per_ms;
        self.sender.handle_lane_buffered_amount(now, lane, buffered);
        if lane == 0 {
            self.out.queued.push((self.data_queued, buffered));
        }
        self.data_queued += payload;
        self.in_network += payload;
        self.out.max_in_network = self.out.max_in_network.max(self.in_network);
    }

    /// Receiver side: messages back, blocks to hash and to store, events.
    fn pump_receiver(&mut self, now: u64) {
        let params = &self.params;
        while let Some(output) = self.receiver.poll_output() {
            match output {
                ReceiverOutput::Transmit(msg) => {
                    let start = self.unstalled(self.back_free_at.max(now));
                    self.back_free_at = start + (msg.len() as u64).div_ceil(params.bytes_per_ms);
                    self.to_sender.push_back((self.back_free_at + params.latency_ms, msg));
                }
                ReceiverOutput::Digest(d) => {
                    assert!(self.host_hashing, "the engine asked the host to hash with BlockHashing::Engine");
                    let cost = (d.data.len() as u64 * params.host_hash_ms_per_mib).div_ceil(1 << 20);
                    self.hasher_free_at = self.hasher_free_at.max(now) + cost;
                    self.digests_asked += 1;
                    let pending = &mut self.pending_digests;
                    if params.host_swaps_two_digests && self.digests_asked == 3 && !pending.is_empty() {
                        // Ahead of the second block, if that one is still waiting (the last queued).
                        pending.insert(pending.len() - 1, (self.hasher_free_at, d));
                    } else {
                        pending.push_back((self.hasher_free_at, d));
                    }
                }
                ReceiverOutput::Write(w) => {
                    // Bit-exactness: whatever the receiver stores must equal the sender's bytes.
                    assert!(
                        w.data == content(self.seed, w.file, w.offset, w.data.len()),
                        "receiver stored wrong bytes at file {} offset {}",
                        w.file,
                        w.offset
                    );
                    let index = w.offset / u64::from(self.receiver.block_size().unwrap());
                    self.out.stored[w.file as usize].insert(index);
                    let len = w.data.len() as u64;
                    let cost = (len * params.write_ms_per_mib).div_ceil(1 << 20);
                    self.disk_free_at = self.disk_free_at.max(now) + cost;
                    if self.sink.keep {
                        self.sink.files[w.file as usize].insert(w.offset, w.data);
                    }
                    self.pending_writes.push_back((self.disk_free_at, w.file, w.offset, len));
                }
                ReceiverOutput::LaneOffer { lane, sdp } => {
                    assert_eq!(sdp, format!("sim offer {lane}"));
                    self.receiver.lane_description(now, lane, &format!("sim answer {lane}"));
                }
                ReceiverOutput::Event(e) => {
                    if let ReceiverEvent::Offer(_) = &e {
                        self.accept_at = Some(now + params.accept_after_ms);
                    }
                    self.out.receiver_events.push(e);
                }
            }
        }
    }

    /// Both engines closed and nothing left on the wire.
    pub fn is_done(&self) -> bool {
        self.sender.is_closed()
            && self.receiver.is_closed()
            && self.to_sender.is_empty()
            && self.to_receiver.iter().all(VecDeque::is_empty)
    }

    /// The next moment something happens on this link, the sender's reads aside.
    pub fn next_time(&self, now: u64) -> Option<u64> {
        [
            self.to_receiver.iter().filter_map(|q| q.front().map(|m| self.unstalled(m.0))).min(),
            self.lane_events.iter().map(|e| e.0).min(),
            self.to_sender.front().map(|m| self.unstalled(m.0)),
            self.pending_writes.front().map(|w| w.0),
            self.pending_digests.front().map(|d| d.0),
            self.sender.poll_timeout(),
            self.receiver.poll_timeout(),
            self.link_free_at.iter().copied().filter(|&t| t > now).min(),
            self.accept_at,
            self.round_trip_at,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Time moved on to `now`: faults that strike now, then the messages that arrived.
    pub fn advance_network(&mut self, now: u64) -> Advance {
        if let Some(limit) = self.params.disconnect_after {
            if self.messages >= limit {
                self.cut(now);
                return Advance::Cut;
            }
        }
        if self.params.lane_lost_after.is_some_and(|n| self.messages >= n)
            && self.lanes_opened[1]
            && !self.lane_lost
        {
            // Both runtimes see the connection close: the receiver's after it carried data is
            // the whole connection's; the sender's engine judges its own.
            self.lane_lost = true;
            self.to_receiver[1].clear();
            // What the other lanes carry is still on its way.
            self.in_network = self
                .to_receiver
                .iter()
                .flatten()
                .filter(|m| m.1.first() == Some(&0x07))
                .map(|m| m.1.len() as u64 - 1)
                .sum();
            self.sender.handle_lane_lost(now, 1);
            self.receiver.handle_connection_lost(now);
            return Advance::Skip;
        }
        let blackholed = self.params.blackhole_after.is_some_and(|limit| self.messages >= limit);
        self.lane_events.sort_by_key(|e| e.0);
        while self.lane_events.first().is_some_and(|e| e.0 <= now) {
            let (_, lane, step) = self.lane_events.remove(0);
            match step {
                LaneStep::Open => {
                    self.lanes_opened[lane] = true;
                    self.sender.handle_lane_open(now, lane);
                }
            }
        }
        if self.unstalled(now) != now {
            return Advance::Go;
        }
        for (lane, queue) in self.to_receiver.iter_mut().enumerate() {
            while queue.front().is_some_and(|m| m.0 <= now) {
                let (_, msg) = queue.pop_front().unwrap();
                self.messages += 1;
                if msg.first() == Some(&0x07) {
                    self.in_network -= msg.len() as u64 - 1;
                }
                if blackholed {
                    continue;
                }
                if lane == 0 {
                    self.receiver.handle_frame(now, &msg);
                } else {
                    self.receiver.handle_lane_frame(now, lane, &msg);
                }
            }
        }
        while self.to_sender.front().is_some_and(|m| m.0 <= now) {
            let (_, msg) = self.to_sender.pop_front().unwrap();
            self.messages += 1;
            if !blackholed {
                self.sender.handle_frame(now, &msg);
            }
        }
        Advance::Go
    }

    /// The connection closes under both engines; what is on the wire is lost.
    fn cut(&mut self, now: u64) {
        self.out.disconnected = true;
        self.sender.handle_connection_lost(now);
        self.receiver.handle_connection_lost(now);
        while let Some(output) = self.sender.poll_output() {
            if let SenderOutput::Event(e) = output {
                self.out.sender_events.push(e);
            }
        }
        while let Some(output) = self.receiver.poll_output() {
            if let ReceiverOutput::Event(e) = output {
                self.out.receiver_events.push(e);
            }
        }
        self.to_sender.clear();
        self.to_receiver.iter_mut().for_each(VecDeque::clear);
        self.in_network = 0;
    }

    /// The receiving host's hasher and disk, then both engines' timers.
    pub fn advance_host(&mut self, now: u64) {
        while self.pending_digests.front().is_some_and(|d| d.0 <= now) {
            let (_, mut d) = self.pending_digests.pop_front().unwrap();
            let sha256 = Sha256::digest(&d.data).into();
            self.digests_returned += 1;
            if self.params.host_shortens_a_block && self.digests_returned == 2 {
                d.data.pop();
            }
            self.receiver.handle_block_digest(now, d.file, d.index, sha256, d.data);
        }
        while self.pending_writes.front().is_some_and(|w| w.0 <= now) {
            let (_, file, offset, _) = self.pending_writes.pop_front().unwrap();
            self.receiver.handle_write_done(now, file, offset);
        }
        self.sender.handle_timeout(now);
        self.receiver.handle_timeout(now);
    }

    /// Gives a finished read to the sender, with its digest when its host hashes.
    pub fn hand_read(&mut self, now: u64, req: ReadRequest) {
        let data = content(self.seed, req.file, req.offset, req.len as usize);
        if self.host_hashing {
            let sha256 = Sha256::digest(&data).into();
            self.sender.handle_hashed_read(now, req.file, req.offset, data, sha256);
        } else {
            self.sender.handle_read(now, req.file, req.offset, data);
        }
    }

    /// What the run ended with, at `now`.
    pub fn finish(self, now: u64) -> Outcome {
        let Link { mut out, receiver, sink, .. } = self;
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
}
