//! The receiving side of one connection: checks the offer, asks for the blocks it lacks,
//! verifies each block's SHA-256 before storing it, and grants credit only as writes
//! finish, so a slow disk slows the sender instead of filling memory. Block data may arrive on
//! extra peer connections (lanes) the sender offers, a block's bytes in parts on several of
//! them (v5, `receiver/assembly.rs`).
//!
//! Memory: file data held here or by the host for it (blocks being assembled, blocks out
//! for hashing, verified blocks waiting for their write) never exceeds the credit window,
//! because the sender may not send more.

mod assembly;
mod lanes;
mod output;
mod wants;

pub use output::{DigestRequest, ReceiverEvent, ReceiverOutput, WriteRequest};

use crate::bdp::Bdp;
use crate::config::{BlockHashing, Config, MAX_LANES, MAX_WINDOW, MIN_BLOCK_PART, RECEIVED_REPORT_BYTES};
use crate::digest::ContentDigest;
use crate::error::{ErrorCode, TransferError};
use crate::frame::{Frame, Role};
use crate::have_map::HaveMap;
use crate::manifest::{Manifest, ManifestAssembler};
use crate::progress::{Progress, RateMeter};
use crate::session::{block_count, block_len, hello, negotiate, violation, Negotiated, Session};
use assembly::Assembly;
use lanes::LaneSlot;
use std::collections::{BTreeMap, HashMap, VecDeque};
use wants::Wants;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Handshake,
    AwaitManifest,
    /// The offer is shown to the person; waiting for `accept` or `reject`.
    Offered,
    Transferring,
}

/// Where the `DATA` arriving on a lane belongs: a part of a block being assembled.
#[derive(Debug, Clone, Copy)]
struct LanePart {
    file: u32,
    index: u64,
    part: usize,
}

/// Block digests verified ahead of the content digest's next block, kept at most per file: blocks
/// on different lanes finish out of order (a few blocks apart); a gap that stays open longer (a
/// block being retried) ends the content check for that file, as a resume does.
const MAX_EARLY_DIGESTS: usize = 1024;

/// The credit window on a wide-area path, in bandwidth-delay products: above the sender's
/// in-flight gain, so that the sender's measure is the one that binds.
const WINDOW_GAIN: u64 = 4;

/// Per-file state while receiving.
#[derive(Debug)]
struct FileState {
    size: u64,
    blocks: u64,
    /// Content digest over the verified blocks' digests in order; `None` once a gap stayed
    /// open too long (see [`MAX_EARLY_DIGESTS`]).
    content: Option<ContentDigest>,
    /// Digests of blocks verified ahead of the content digest's next one.
    early: BTreeMap<u64, [u8; 32]>,
    /// The sender's `FILE_DIGEST`, once it arrived; `Some(None)` when the sender had none.
    peer_digest: Option<Option<[u8; 32]>>,
    /// Whether this connection asked for the last block (so a `FILE_DIGEST` will follow).
    expects_digest: bool,
    complete: bool,
}

/// Sans-IO receiver engine for one data-channel connection.
#[derive(Debug)]
pub struct Receiver {
    config: Config,
    transfer_id: [u8; 16],
    phase: Phase,
    sizes: Option<Negotiated>,
    out: Session<ReceiverEvent>,
    assembler: ManifestAssembler,
    manifest: Option<Manifest>,
    /// The manifest's total size, summed once when it arrives (progress needs it per block).
    total_bytes: u64,
    files: Vec<FileState>,
    have: HaveMap,
    /// Blocks whose bytes are arriving (a few: each lane works on one at a time, and a block
    /// shared among lanes is one of them).
    assembling: Vec<Assembly>,
    /// The block part each lane's `DATA` belongs to (lane 0: the first connection).
    parts: [Option<LanePart>; MAX_LANES],
    lanes: [LaneSlot; MAX_LANES],
    /// Lane offers for the runtime to answer, not yet polled.
    lane_offers: VecDeque<(usize, String)>,
    /// The path's bandwidth-delay product, from the rate blocks are stored at: the credit
    /// window follows it.
    bdp: Bdp,
    /// With [`BlockHashing::Host`], assembled blocks handed out for hashing, in the order they
    /// went out, with their expected digests; and the requests not yet polled.
    verifying: VecDeque<((u32, u64), [u8; 32])>,
    digests: VecDeque<DigestRequest>,
    /// Verified blocks handed to the sink, not yet reported written: (file, index) -> len.
    writing: BTreeMap<(u32, u64), u32>,
    writes: VecDeque<WriteRequest>,
    /// Block ranges to ask for, paced to what the sender queues.
    wants: Wants,
    /// Failed verifications of a block since it last passed one (retried blocks only).
    attempts: HashMap<(u32, u64), u32>,
    data_received: u64,
    /// `data_received` as last reported to the sender (`RECEIVED`).
    received_reported: u64,
    released: u64,
    credit_sent: u64,
    verified_bytes: u64,
    file_verified: Vec<u64>,
    files_left: usize,
    meter: RateMeter,
    last_progress_ms: u64,
    stall_reported: bool,
}

impl FileState {
    /// Adds a verified block's digest to the content digest, in block order: one verified
    /// ahead waits (a few blocks apart, as lanes finish out of order); one behind, or a gap
    /// kept open too long, ends the content check for this file.
    fn push_digest(&mut self, index: u64, sha256: [u8; 32]) {
        let Some(digest) = &mut self.content else { return };
        if index == digest.blocks() {
            digest.push(&sha256);
            while let Some(next) = self.early.remove(&digest.blocks()) {
                digest.push(&next);
            }
        } else if index > digest.blocks() && self.early.len() < MAX_EARLY_DIGESTS {
            self.early.insert(index, sha256);
        } else {
            self.content = None;
            self.early.clear();
        }
    }
}

impl Receiver {
    /// Starts a connection; its `HELLO` goes out in answer to the sender's.
    pub fn new(config: Config, transfer_id: [u8; 16], now_ms: u64) -> Self {
        // The receiver's HELLO answers the sender's (see `on_frame`), so nothing is queued yet.
        let out = Session::new(&config, "sender", now_ms);
        Receiver {
            have: HaveMap::new(transfer_id, config.block_size, 0),
            config,
            transfer_id,
            phase: Phase::Handshake,
            sizes: None,
            out,
            assembler: ManifestAssembler::default(),
            manifest: None,
            total_bytes: 0,
            files: Vec::new(),
            assembling: Vec::new(),
            parts: [None; MAX_LANES],
            lanes: [LaneSlot::Unused; MAX_LANES],
            lane_offers: VecDeque::new(),
            bdp: Bdp::default(),
            verifying: Default::default(),
            digests: Default::default(),
            writing: BTreeMap::new(),
            writes: Default::default(),
            wants: Wants::default(),
            attempts: HashMap::new(),
            data_received: 0,
            received_reported: 0,
            released: 0,
            credit_sent: 0,
            verified_bytes: 0,
            file_verified: Vec::new(),
            files_left: 0,
            meter: RateMeter::default(),
            last_progress_ms: now_ms,
            stall_reported: false,
        }
    }

    /// The offered files, once the manifest arrived.
    pub fn manifest(&self) -> Option<&Manifest> {
        self.manifest.as_ref()
    }

    /// The agreed block size, once the handshake is done.
    pub fn block_size(&self) -> Option<u32> {
        self.sizes.map(|s| s.block_size)
    }

    /// Verified blocks so far, for saving beside staged data.
    pub fn have_map(&self) -> &HaveMap {
        &self.have
    }

    pub fn is_closed(&self) -> bool {
        self.out.closed
    }

    /// Bytes verified so far, including those resumed from a have-map.
    pub fn verified_bytes(&self) -> u64 {
        self.verified_bytes
    }

    /// Feeds one message received from the peer on the first connection.
    pub fn handle_frame(&mut self, now_ms: u64, bytes: &[u8]) {
        let Some(frame) = self.out.receive(now_ms, bytes) else { return };
        if let Err(e) = self.on_frame(&frame) {
            self.out.fail(e);
        }
    }

    /// The path's round trip as the runtime measured it: on a wide-area path the credit window
    /// grows to `WINDOW_GAIN` times the bandwidth-delay product (the peak rate blocks are stored
    /// at, times the smallest round trip), so that a long, fast link is not held back by it,
    /// within [`MAX_WINDOW`]. (The sender keeps what is in flight nearer the product itself.)
    pub fn handle_round_trip(&mut self, now_ms: u64, rtt_ms: u64) {
        self.out.at(now_ms);
        self.bdp.round_trip(rtt_ms);
    }

    fn on_frame(&mut self, frame: &Frame<'_>) -> Result<(), TransferError> {
        match (self.phase, frame) {
            (Phase::Handshake, Frame::Hello { .. }) => {
                self.sizes = Some(negotiate(&self.config, Role::Sender, self.transfer_id, frame)?);
                // Speaking only once the sender has spoken: its channel is then surely open.
                // Chromium can lose a message the answering side sends straight from its
                // `datachannel` event while the creating side still waits for the channel's
                // open acknowledgement (seen under CPU load; docs/protocol.md §3).
                self.out.frames.push_back(hello(&self.config, Role::Receiver, self.transfer_id));
                self.phase = Phase::AwaitManifest;
            }
            (Phase::AwaitManifest, &Frame::Manifest { last, part }) => {
                let done = self
                    .assembler
                    .push(part, last)
                    .map_err(|e| TransferError::local(e.code(), e.to_string()))?;
                if let Some(manifest) = done {
                    self.phase = Phase::Offered;
                    self.out.event(ReceiverEvent::Offer(manifest.clone()));
                    self.total_bytes = manifest.total_size();
                    self.manifest = Some(manifest);
                }
            }
            (Phase::Transferring, &Frame::Block { file, index, len, offset, sha256 }) => {
                self.on_block(0, file, index, len, offset, sha256)?
            }
            (Phase::Transferring, &Frame::Data { payload }) => {
                // Bytes moving count as progress for the stall watchdog: on a slow, lossy link
                // one block may take longer than `stall_timeout_ms` to arrive whole.
                self.last_progress_ms = self.out.now_ms;
                self.on_data(0, payload)?
            }
            (Phase::Transferring, &Frame::LaneOffer { lane, sdp }) => {
                self.on_lane_offer(usize::from(lane), sdp)?
            }
            (Phase::Transferring, &Frame::FileDigest { file, digest }) => {
                let state = self
                    .files
                    .get_mut(file as usize)
                    .ok_or_else(|| violation("digest for a file that was not offered"))?;
                state.peer_digest = Some(digest);
                self.try_complete_file(file)?;
                self.try_finish();
            }
            _ => return Err(violation("unexpected message from the sender at this stage")),
        }
        Ok(())
    }

    /// Accepts the offer. `resume` is a have-map saved by an earlier connection of the same
    /// transfer; blocks it lists are not requested again.
    pub fn accept(&mut self, now_ms: u64, resume: Option<HaveMap>) {
        if self.out.closed || self.phase != Phase::Offered {
            return;
        }
        // Only the sizes are needed; the manifest itself (up to 8 MiB) is not copied.
        let sizes: Vec<u64> = self
            .manifest
            .as_ref()
            .expect("Offered implies a manifest")
            .files
            .iter()
            .map(|f| f.size)
            .collect();
        let bs = self.sizes.expect("negotiated before the offer").block_size;
        let n = sizes.len();
        // A person may have taken minutes to decide; the peer was not silent meanwhile.
        self.out.last_heard_ms = now_ms;
        self.out.at(now_ms);
        let fits = |map: &HaveMap| {
            map.transfer_id == self.transfer_id
                && map.block_size == bs
                && map.files.len() == n
                && map.files.iter().zip(&sizes).all(|(set, &size)| {
                    set.ranges().last().map_or(true, |&(_, end)| end <= block_count(size, bs))
                })
        };
        self.have = match resume {
            Some(map) if fits(&map) => map,
            _ => HaveMap::new(self.transfer_id, bs, n),
        };
        self.files = sizes
            .iter()
            .map(|&size| FileState {
                size,
                blocks: block_count(size, bs),
                content: Some(ContentDigest::new()),
                early: BTreeMap::new(),
                peer_digest: None,
                expects_digest: false,
                complete: false,
            })
            .collect();
        self.file_verified = vec![0; n];
        let mut resumed_bytes = 0;
        for (i, set) in self.have.files.iter().enumerate() {
            let size = self.files[i].size;
            let bs = u64::from(bs);
            let bytes: u64 = set.ranges().iter().map(|&(s, e)| (e * bs).min(size) - s * bs).sum();
            self.file_verified[i] = bytes;
            resumed_bytes += bytes;
        }
        self.verified_bytes = resumed_bytes;
        self.phase = Phase::Transferring;
        self.out.send(Frame::Accept { have_bytes: resumed_bytes });
        for file in 0..n {
            let state = &mut self.files[file];
            let gaps = self.have.files[file].gaps(state.blocks);
            if !self.have.files[file].is_empty() {
                state.content = None;
            }
            state.expects_digest = gaps.last().is_some_and(|&(_, e)| e == state.blocks);
            for (first, end) in gaps {
                self.wants.push(file as u32, first, end);
            }
        }
        self.send_wants();
        self.files_left = n;
        self.grant_credit(true);
        self.last_progress_ms = now_ms;
        self.meter.record(now_ms, self.verified_bytes);
        for file in 0..n as u32 {
            if let Err(e) = self.try_complete_file(file) {
                self.out.fail(e);
                return;
            }
        }
        self.try_finish();
    }

    /// Declines the offer and tells the sender.
    pub fn reject(&mut self, now_ms: u64, reason: &str) {
        self.out.at(now_ms);
        self.out.fail(TransferError::local(ErrorCode::Rejected, reason));
    }

    /// Asks for as many waiting block ranges as the sender's queue takes.
    fn send_wants(&mut self) {
        while let Some(want) = self.wants.next_frame() {
            self.out.send(want);
        }
    }

    /// A `BLOCK`: lane `lane`'s data now belongs to this block from `offset` on. A lane may
    /// move on before its part reached the block's end (another lane took the rest, v5).
    fn on_block(
        &mut self,
        lane: usize,
        file: u32,
        index: u64,
        len: u32,
        offset: u32,
        sha256: [u8; 32],
    ) -> Result<(), TransferError> {
        let bs = self.sizes.expect("negotiated").block_size;
        let state =
            self.files.get(file as usize).ok_or_else(|| violation("block of a file that was not offered"))?;
        if index >= state.blocks || len != block_len(state.size, bs, index) {
            return Err(violation("block outside the file or of the wrong length"));
        }
        let at = match self.assembling.iter().position(|a| (a.file, a.index) == (file, index)) {
            Some(at) => at,
            None => {
                if self.have.files[file as usize].contains(index)
                    || self.writing.contains_key(&(file, index))
                    || self.verifying.iter().any(|(key, _)| *key == (file, index))
                {
                    return Err(violation("the sender sent a block that was already verified"));
                }
                if self.assembling.len() >= self.assembly_limit() {
                    return Err(violation("the sender started more blocks than this side allowed data for"));
                }
                self.wants.arrived(file, index);
                self.send_wants();
                let engine_hashes = self.config.block_hashing == BlockHashing::Engine;
                self.assembling.push(Assembly::new(file, index, len as usize, sha256, engine_hashes));
                self.assembling.len() - 1
            }
        };
        let part = self.assembling[at].add_part(offset as usize, &sha256)?;
        self.parts[lane] = Some(LanePart { file, index, part });
        Ok(())
    }

    /// Most blocks partly received at once from a sender that keeps the rules: every part of a
    /// split block is at least [`MIN_BLOCK_PART`], and what is in flight is within the credit
    /// window, so whole parts on their way number at most the window over that; besides, one
    /// part per lane being received here and one per lane not yet sent there. (Unsplit
    /// blocks, however small, complete on their own lane before that lane's next `BLOCK`.)
    fn assembly_limit(&self) -> usize {
        let window = MAX_WINDOW.max(self.config.window);
        (window / MIN_BLOCK_PART as u64) as usize + 2 * MAX_LANES
    }

    fn on_data(&mut self, lane: usize, payload: &[u8]) -> Result<(), TransferError> {
        let outside = || violation("data outside a block");
        let LanePart { file, index, part } = self.parts[lane].ok_or_else(outside)?;
        let at =
            self.assembling.iter().position(|a| (a.file, a.index) == (file, index)).ok_or_else(outside)?;
        self.data_received += payload.len() as u64;
        if self.data_received > self.credit_sent {
            return Err(TransferError::local(
                ErrorCode::FlowControlViolation,
                "the sender sent more data than this side allowed",
            ));
        }
        if self.data_received >= self.received_reported + RECEIVED_REPORT_BYTES {
            self.received_reported = self.data_received;
            self.out.send(Frame::Received { bytes: self.data_received });
        }
        // Room for whole blocks only while no more are in progress than lanes: the common
        // case, and bounded whatever the sender does.
        let reserve = self.assembling.len() <= MAX_LANES;
        self.assembling[at].append(part, payload, reserve)?;
        if self.assembling[at].is_complete() {
            let block = self.assembling.swap_remove(at);
            for p in &mut self.parts {
                if p.is_some_and(|p| (p.file, p.index) == (file, index)) {
                    *p = None;
                }
            }
            self.on_block_complete(block)?;
        }
        // The sender may now be close to its limit while earlier releases went unannounced.
        self.grant_credit(false);
        Ok(())
    }

    fn on_block_complete(&mut self, block: Assembly) -> Result<(), TransferError> {
        let (file, index, expected) = (block.file, block.index, block.expected);
        match block.finish() {
            (data, Some(actual)) => self.check_block(file, index, expected, actual, data),
            (data, None) => {
                self.verifying.push_back(((file, index), expected));
                self.digests.push_back(DigestRequest { file, index, data });
                Ok(())
            }
        }
    }

    /// The next thing for the driver to do: control frames first, then blocks to hash,
    /// verified blocks to store, events. `None` until an input changes something.
    pub fn poll_output(&mut self) -> Option<ReceiverOutput> {
        if let Some(frame) = self.out.pop_frame() {
            return Some(ReceiverOutput::Transmit(frame));
        }
        if let Some(digest) = self.digests.pop_front() {
            return Some(ReceiverOutput::Digest(digest));
        }
        if let Some((lane, sdp)) = self.lane_offers.pop_front().filter(|_| !self.out.closed) {
            return Some(ReceiverOutput::LaneOffer { lane, sdp });
        }
        if let Some(write) = self.writes.pop_front() {
            return Some(ReceiverOutput::Write(write));
        }
        self.out.events.pop_front().map(ReceiverOutput::Event)
    }

    /// With [`BlockHashing::Host`]: the SHA-256 of a block from [`ReceiverOutput::Digest`], and
    /// its data back. Digests must come back in the order the requests went out (the content
    /// digest is built block by block): one that overtakes another ends the transfer with
    /// `sink_failed`; one for a block not handed out (a previous connection's) is ignored.
    pub fn handle_block_digest(
        &mut self,
        now_ms: u64,
        file: u32,
        index: u64,
        sha256: [u8; 32],
        data: Vec<u8>,
    ) {
        if self.out.closed {
            return;
        }
        self.out.at(now_ms);
        let Some(at) = self.verifying.iter().position(|(key, _)| *key == (file, index)) else { return };
        if at != 0 {
            // A host bug; the order the blocks were checked in cannot be trusted.
            self.out.fail(TransferError::local(
                ErrorCode::SinkFailed,
                "received blocks were checked out of order on this device; reload the page to resume",
            ));
            return;
        }
        let (_, expected) = self.verifying.pop_front().expect("found at the front");
        let state = &self.files[file as usize];
        let bs = self.sizes.expect("negotiated").block_size;
        if data.len() != block_len(state.size, bs, index) as usize {
            // A host bug; the bytes cannot be trusted to be the block's.
            self.out.fail(TransferError::local(
                ErrorCode::SinkFailed,
                "a received block was damaged on this device while being checked; reload the page to resume",
            ));
            return;
        }
        if let Err(e) = self.check_block(file, index, expected, sha256, data) {
            self.out.fail(e);
            return;
        }
        self.grant_credit(false);
    }

    /// Compares an assembled block's digest with the one its `BLOCK` header announced: stores
    /// it when they match, asks for it again when not.
    fn check_block(
        &mut self,
        file: u32,
        index: u64,
        expected: [u8; 32],
        actual: [u8; 32],
        data: Vec<u8>,
    ) -> Result<(), TransferError> {
        let len = data.len();
        if actual != expected {
            // The bytes are dropped, so their credit comes back.
            self.released += len as u64;
            let attempt = self.attempts.entry((file, index)).or_insert(0);
            *attempt += 1;
            let attempt = *attempt;
            self.out.event(ReceiverEvent::BlockRejected { file, index, attempt });
            if attempt > self.config.max_block_retries {
                let path = &self.manifest.as_ref().expect("manifest").files[file as usize].path;
                return Err(TransferError::local(
                    ErrorCode::IntegrityFailed,
                    format!("{path:?} arrived damaged {attempt} times in a row; the file was refused"),
                ));
            }
            // The caller (`on_data`, `handle_block_digest`) grants the released credit next.
            self.wants.push(file, index, index + 1);
            self.send_wants();
            return Ok(());
        }
        self.attempts.remove(&(file, index));
        self.files[file as usize].push_digest(index, expected);
        let bs = self.sizes.expect("negotiated").block_size;
        self.writing.insert((file, index), len as u32);
        self.writes.push_back(WriteRequest { file, offset: index * u64::from(bs), data });
        Ok(())
    }

    /// The sink stored the block written at `offset` of `file`.
    pub fn handle_write_done(&mut self, now_ms: u64, file: u32, offset: u64) {
        if self.out.closed {
            return;
        }
        self.out.at(now_ms);
        let Some(bs) = self.block_size() else { return };
        let index = offset / u64::from(bs);
        let Some(len) = self.writing.remove(&(file, index)) else { return };
        self.have.files[file as usize].insert(index);
        self.released += u64::from(len);
        self.verified_bytes += u64::from(len);
        self.file_verified[file as usize] += u64::from(len);
        self.out.send(Frame::Ack { file, index });
        self.grant_credit(false);
        self.last_progress_ms = now_ms;
        self.stall_reported = false;
        self.meter.record(now_ms, self.verified_bytes);
        self.bdp.delivered(now_ms, self.verified_bytes);
        let total_bytes = self.total_bytes;
        self.out.event(ReceiverEvent::Progress(Progress {
            file: Some((file, self.file_verified[file as usize])),
            verified_bytes: self.verified_bytes,
            total_bytes,
            bytes_per_second: self.meter.rate(),
            eta_seconds: self.meter.eta(total_bytes.saturating_sub(self.verified_bytes)),
        }));
        if let Err(e) = self.try_complete_file(file) {
            self.out.fail(e);
            return;
        }
        self.try_finish();
    }

    /// The sink failed (disk full, quota, permission): ends the transfer with a typed error.
    pub fn handle_write_error(&mut self, now_ms: u64, message: &str) {
        self.out.at(now_ms);
        self.out.fail(TransferError::local(ErrorCode::SinkFailed, message));
    }

    fn try_complete_file(&mut self, file: u32) -> Result<(), TransferError> {
        let state = &mut self.files[file as usize];
        if state.complete || self.have.files[file as usize].len() != state.blocks {
            return Ok(());
        }
        if state.expects_digest && state.peer_digest.is_none() {
            return Ok(());
        }
        let ours = state.content.as_ref().filter(|d| d.blocks() == state.blocks).map(ContentDigest::finish);
        if let (Some(ours), Some(Some(theirs))) = (ours, state.peer_digest) {
            if ours != theirs {
                let path = &self.manifest.as_ref().expect("manifest").files[file as usize].path;
                return Err(TransferError::local(
                    ErrorCode::IntegrityFailed,
                    format!("{path:?} does not match the sender's file digest; it was refused"),
                ));
            }
        }
        state.complete = true;
        self.files_left -= 1;
        self.out.event(ReceiverEvent::FileComplete { file, digest: ours });
        Ok(())
    }

    fn try_finish(&mut self) {
        if self.phase == Phase::Transferring && self.files_left == 0 && !self.out.closed {
            self.out.send(Frame::Done);
            self.out.finish();
        }
    }

    /// Raises the sender's allowance so that unreleased data never exceeds the window.
    /// Grants go out in steps of a quarter window to keep `CREDIT` frames rare, and also
    /// whenever the sender is down to less than half a window, so that a small release
    /// (a 1-byte block) can never leave both sides waiting on each other.
    fn grant_credit(&mut self, force: bool) {
        let window = self.window();
        let limit = self.released + window;
        let sender_left = self.credit_sent.saturating_sub(self.data_received);
        let step = limit >= self.credit_sent + window / 4;
        let starving = limit > self.credit_sent && sender_left < window / 2;
        if force || step || starving {
            self.credit_sent = limit;
            self.out.send(Frame::Credit { limit });
        }
    }

    /// The credit window: the configured one, or [`WINDOW_GAIN`] bandwidth-delay products once
    /// the round trip is known, if larger (within [`MAX_WINDOW`]); never smaller than two
    /// blocks a lane (with one lane, a block: or it could never complete).
    fn window(&self) -> u64 {
        let measured = self.bdp.bytes().map_or(0, |bdp| bdp.saturating_mul(WINDOW_GAIN)).min(MAX_WINDOW);
        self.config.window.max(measured).max(self.window_floor(self.accepted_lanes()))
    }

    /// When `handle_timeout` should next be called.
    pub fn poll_timeout(&self) -> Option<u64> {
        if self.out.closed || self.phase == Phase::Offered {
            return None;
        }
        let idle = self.out.idle_deadline(self.config.idle_timeout_ms);
        if self.phase != Phase::Transferring {
            return Some(idle);
        }
        let keepalive = self.out.keepalive_due(self.config.idle_timeout_ms);
        if self.stall_reported {
            Some(idle.min(keepalive))
        } else {
            Some(idle.min(keepalive).min(self.last_progress_ms + self.config.stall_timeout_ms))
        }
    }

    pub fn handle_timeout(&mut self, now_ms: u64) {
        if self.out.closed {
            return;
        }
        self.out.at(now_ms);
        if self.phase == Phase::Transferring {
            self.out.keepalive(self.config.idle_timeout_ms);
        }
        if self.phase != Phase::Offered && self.out.check_idle(self.config.idle_timeout_ms) {
            return;
        }
        let idle_ms = now_ms.saturating_sub(self.last_progress_ms);
        if self.phase == Phase::Transferring
            && !self.stall_reported
            && idle_ms >= self.config.stall_timeout_ms
        {
            self.stall_reported = true;
            self.out.event(ReceiverEvent::Stalled { idle_ms });
        }
    }

    /// Stops the transfer and tells the sender.
    pub fn cancel(&mut self, now_ms: u64, reason: &str) {
        self.out.at(now_ms);
        self.out.cancel(reason);
    }

    /// The channel closed under us.
    pub fn handle_connection_lost(&mut self, now_ms: u64) {
        self.out.at(now_ms);
        self.out.connection_lost();
    }

    /// Bytes of file data held for this engine right now (assembling, out for hashing,
    /// awaiting writes).
    pub fn held_bytes(&self) -> u64 {
        self.data_received - self.released.min(self.data_received)
    }
}
