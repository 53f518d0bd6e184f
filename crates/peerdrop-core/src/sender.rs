//! The sending side of one connection: offers a manifest, then serves the blocks the
//! receiver asks for, within the receiver's credit and each channel's buffer watermarks,
//! spread over the peer connections (lanes) the round trip calls for; lanes with nothing to
//! start share the blocks others are sending (`sender/lane.rs`, protocol v5).
//!
//! Memory: at most `read_ahead_blocks` blocks (or one per open lane, if more) are read or
//! waiting, besides the one each lane is transmitting (parts of one block share its bytes),
//! whatever the file sizes.

mod lane;
mod output;
mod path_limit;

pub use output::{ReadRequest, SenderEvent, SenderOutput};

use crate::bdp::Bdp;
use crate::config::{Config, MAX_QUEUED_WANTS};
use crate::digest::{ContentDigest, Hasher};
use crate::error::{ErrorCode, TransferError};
use crate::frame::{encode_data, Frame, Role, DATA_OVERHEAD};
use crate::lanes::lanes_for;
use crate::manifest::Manifest;
use crate::progress::{Progress, RateMeter};
use crate::ranges::RangeSet;
use crate::session::{block_count, block_len, hello, negotiate, violation, Negotiated, Session};
use lane::{Lane, LaneState, OutBlock};
use path_limit::{path_limit, PATH_BACKLOG, PATH_MESSAGE};
use std::collections::VecDeque;
use std::rc::Rc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for the receiver's `HELLO`.
    Handshake,
    /// Manifest sent; waiting for `ACCEPT`.
    Offered,
    Transferring,
}

/// A read in flight, and its result once it came: (file, block, bytes and host digest).
type PendingRead = (u32, u64, Option<(Vec<u8>, Option<[u8; 32]>)>);

/// A file's content digest, built while its blocks are read in order; `None` once a block was
/// skipped (after a resume the sender never reads the blocks the receiver already has).
type InOrderDigest = Option<ContentDigest>;

/// Sans-IO sender engine for one data-channel connection.
#[derive(Debug)]
pub struct Sender {
    config: Config,
    manifest: Manifest,
    /// The manifest's total size, summed once (progress needs it per acknowledged block).
    total_bytes: u64,
    transfer_id: [u8; 16],
    phase: Phase,
    sizes: Option<Negotiated>,
    out: Session<SenderEvent>,
    wants: VecDeque<(u32, u64, u64)>,
    /// Reads asked for and not yet taken into `ready`, in the order they were asked: (file,
    /// block, the bytes and host digest once they came). Several run at once, so a slow read
    /// does not leave the channel idle; they may finish in any order, and are taken in order
    /// (the file's content digest is built block by block).
    pending_reads: VecDeque<PendingRead>,
    ready: VecDeque<OutBlock>,
    /// Lane 0 is the connection the transfer started on; the rest are extra peer connections.
    lanes: Vec<Lane>,
    lanes_planned: bool,
    /// Lanes the runtime is to open, and answers it is to apply, not yet polled.
    lanes_to_open: VecDeque<usize>,
    lane_answers: VecDeque<(usize, String)>,
    /// Lanes the receiver declined, whose connections the runtime is to release.
    lanes_to_close: VecDeque<usize>,
    credit_limit: u64,
    data_sent: u64,
    content: Vec<InOrderDigest>,
    acked: Vec<RangeSet>,
    acked_file_bytes: Vec<u64>,
    acked_bytes: u64,
    resumed_bytes: u64,
    meter: RateMeter,
    /// The path's bandwidth-delay product, from the rate the receiver reports taking data at:
    /// the in-flight allowance ([`path_limit`]).
    bdp: Bdp,
    /// `DATA` payload bytes the receiver reported taking (`RECEIVED`).
    received: u64,
}

impl Sender {
    /// Starts a connection: queues our `HELLO`.
    pub fn new(config: Config, manifest: Manifest, transfer_id: [u8; 16], now_ms: u64) -> Self {
        let n = manifest.files.len();
        let mut out = Session::new(&config, "receiver", now_ms);
        out.frames.push_back(hello(&config, Role::Sender, transfer_id));
        Sender {
            config,
            total_bytes: manifest.total_size(),
            manifest,
            transfer_id,
            phase: Phase::Handshake,
            sizes: None,
            out,
            wants: VecDeque::new(),
            pending_reads: VecDeque::new(),
            ready: VecDeque::new(),
            lanes: vec![Lane::new(LaneState::Open)],
            lanes_planned: false,
            lanes_to_open: VecDeque::new(),
            lane_answers: VecDeque::new(),
            lanes_to_close: VecDeque::new(),
            credit_limit: 0,
            data_sent: 0,
            content: vec![Some(ContentDigest::new()); n],
            acked: vec![RangeSet::new(); n],
            acked_file_bytes: vec![0; n],
            acked_bytes: 0,
            resumed_bytes: 0,
            meter: RateMeter::default(),
            bdp: Bdp::default(),
            received: 0,
        }
    }

    /// True once the transfer completed or failed.
    pub fn is_closed(&self) -> bool {
        self.out.closed
    }

    /// Feeds one message received from the peer.
    pub fn handle_frame(&mut self, now_ms: u64, bytes: &[u8]) {
        let Some(frame) = self.out.receive(now_ms, bytes) else { return };
        if let Err(e) = self.on_frame(now_ms, &frame) {
            self.out.fail(e);
        }
    }

    fn on_frame(&mut self, now_ms: u64, frame: &Frame<'_>) -> Result<(), TransferError> {
        match (self.phase, frame) {
            (Phase::Handshake, Frame::Hello { .. }) => {
                let sizes = negotiate(&self.config, Role::Receiver, self.transfer_id, frame)?;
                self.sizes = Some(sizes);
                self.send_manifest(sizes.message_size);
                self.phase = Phase::Offered;
            }
            (Phase::Offered, &Frame::Accept { have_bytes }) => {
                if have_bytes > self.total_bytes {
                    return Err(violation("the receiver claims more bytes than were offered"));
                }
                self.phase = Phase::Transferring;
                self.resumed_bytes = have_bytes;
                self.out.event(SenderEvent::Accepted { resumed_bytes: have_bytes });
                self.report_progress(now_ms, None);
                self.plan_lanes();
            }
            (Phase::Offered | Phase::Transferring, &Frame::Want { file, first, count }) => {
                self.check_blocks(file, first, count)?;
                if self.wants.len() >= MAX_QUEUED_WANTS {
                    return Err(violation(format!(
                        "the receiver queued more than {MAX_QUEUED_WANTS} block requests at once"
                    )));
                }
                self.wants.push_back((file, first, first + count));
            }
            (Phase::Offered | Phase::Transferring, &Frame::Credit { limit }) => {
                // Credit only grows; an older, smaller grant that arrives late changes nothing.
                self.credit_limit = self.credit_limit.max(limit);
            }
            (Phase::Transferring, &Frame::Ack { file, index }) => {
                self.check_blocks(file, index, 1)?;
                if !self.acked[file as usize].contains(index) {
                    self.acked[file as usize].insert(index);
                    let size = self.manifest.files[file as usize].size;
                    let bs = self.block_size();
                    let len = u64::from(block_len(size, bs, index));
                    self.acked_file_bytes[file as usize] += len;
                    self.acked_bytes += len;
                    self.report_progress(now_ms, Some(file));
                }
            }
            (Phase::Transferring, &Frame::Received { bytes }) => {
                if bytes > self.data_sent {
                    return Err(violation("the receiver reported more data than was sent"));
                }
                if bytes > self.received {
                    self.received = bytes;
                    self.bdp.delivered(now_ms, bytes);
                }
            }
            (Phase::Transferring, Frame::Done) => self.out.finish(),
            (Phase::Transferring, &Frame::LaneAnswer { lane, sdp }) => {
                let lane = usize::from(lane);
                match self.lanes.get_mut(lane) {
                    // Given up here while the answer was on its way: nothing to do.
                    Some(l) if lane > 0 && l.state == LaneState::Closed => {}
                    Some(l) if lane > 0 && l.state == LaneState::Offered => {
                        if sdp.is_empty() {
                            l.state = LaneState::Closed;
                            self.lanes_to_close.push_back(lane);
                        } else {
                            l.state = LaneState::Answered;
                            self.lane_answers.push_back((lane, sdp.to_string()));
                        }
                    }
                    _ => return Err(violation("the receiver answered a connection that was not offered")),
                }
            }
            // The prologue took HELLO's siblings that end the transfer, and KEEPALIVE.
            _ => return Err(violation("unexpected message from the receiver at this stage")),
        }
        Ok(())
    }

    fn block_size(&self) -> u32 {
        self.sizes.map(|s| s.block_size).unwrap_or(self.config.block_size)
    }

    fn check_blocks(&self, file: u32, first: u64, count: u64) -> Result<(), TransferError> {
        let entry = self
            .manifest
            .files
            .get(file as usize)
            .ok_or_else(|| violation("the receiver asked for a file that was not offered"))?;
        let total = block_count(entry.size, self.block_size());
        match first.checked_add(count) {
            Some(end) if count > 0 && end <= total => Ok(()),
            _ => Err(violation("the receiver asked for blocks outside the file")),
        }
    }

    fn send_manifest(&mut self, message_size: u32) {
        let encoded = self.manifest.encode();
        let piece = message_size as usize - 2;
        let mut chunks = encoded.chunks(piece).peekable();
        while let Some(part) = chunks.next() {
            self.out.send(Frame::Manifest { last: chunks.peek().is_none(), part });
        }
    }

    /// The next block the receiver wants, if any.
    fn next_wanted(&mut self) -> Option<(u32, u64)> {
        let (file, next, end) = self.wants.front_mut()?;
        let block = (*file, *next);
        *next += 1;
        if *next == *end {
            self.wants.pop_front();
        }
        Some(block)
    }

    /// The next thing for the driver to do: control frames first, then block data as flow
    /// control allows, reads to start, events. `None` until an input changes something.
    /// Feed each open lane's `bufferedAmount` (`handle_lane_buffered_amount`) before draining.
    pub fn poll_output(&mut self) -> Option<SenderOutput> {
        if let Some((lane, frame)) = self.poll_transmit() {
            return Some(SenderOutput::Transmit { lane, frame });
        }
        if !self.out.closed {
            if let Some(lane) = self.lanes_to_open.pop_front() {
                return Some(SenderOutput::OpenLane(lane));
            }
            if let Some((lane, sdp)) = self.lane_answers.pop_front() {
                return Some(SenderOutput::LaneAnswer { lane, sdp });
            }
            if let Some(lane) = self.lanes_to_close.pop_front() {
                return Some(SenderOutput::CloseLane(lane));
            }
        }
        if let Some(read) = self.poll_read() {
            return Some(SenderOutput::Read(read));
        }
        self.out.events.pop_front().map(SenderOutput::Event)
    }

    /// A read the runtime should perform now.
    fn poll_read(&mut self) -> Option<ReadRequest> {
        if self.out.closed || self.phase != Phase::Transferring {
            return None;
        }
        let open = self.open_lanes();
        if self.ready.len() + self.pending_reads.len() >= self.config.read_ahead_blocks.max(open) {
            return None;
        }
        let (file, index) = self.next_wanted()?;
        self.pending_reads.push_back((file, index, None));
        let bs = self.block_size();
        let size = self.manifest.files[file as usize].size;
        Some(ReadRequest { file, offset: index * u64::from(bs), len: block_len(size, bs, index) })
    }

    /// The bytes of a [`ReadRequest`] (several may be out at once; any order).
    pub fn handle_read(&mut self, now_ms: u64, file: u32, offset: u64, data: Vec<u8>) {
        self.out.at(now_ms);
        self.take_read(file, offset, data, None);
    }

    /// The bytes of a [`ReadRequest`] with their SHA-256, computed by the host with a
    /// faster hasher than the engine's (see [`crate::BlockHashing`]). A wrong digest only makes
    /// the receiver refuse the block.
    pub fn handle_hashed_read(
        &mut self,
        now_ms: u64,
        file: u32,
        offset: u64,
        data: Vec<u8>,
        sha256: [u8; 32],
    ) {
        self.out.at(now_ms);
        self.take_read(file, offset, data, Some(sha256));
    }

    fn take_read(&mut self, file: u32, offset: u64, data: Vec<u8>, sha256: Option<[u8; 32]>) {
        if self.out.closed {
            return;
        }
        let bs = u64::from(self.block_size());
        let slot =
            self.pending_reads.iter_mut().find(|(f, i, got)| *f == file && i * bs == offset && got.is_none());
        let Some((_, _, got)) = slot else { return };
        *got = Some((data, sha256));
        while self.pending_reads.front().is_some_and(|(_, _, got)| got.is_some()) {
            let (file, index, got) = self.pending_reads.pop_front().expect("checked");
            let (data, sha256) = got.expect("checked");
            self.take_block(file, index, data, sha256);
            if self.out.closed {
                return;
            }
        }
    }

    /// A block read in order: checked, hashed (unless the host did) and queued to send.
    fn take_block(&mut self, file: u32, index: u64, data: Vec<u8>, sha256: Option<[u8; 32]>) {
        let size = self.manifest.files[file as usize].size;
        if data.len() != block_len(size, self.block_size(), index) as usize {
            self.out.fail(TransferError::local(
                ErrorCode::SourceFailed,
                format!(
                    "{:?} changed size while being sent; pick it again",
                    self.manifest.files[file as usize].path
                ),
            ));
            return;
        }
        let sha256 = sha256.unwrap_or_else(|| Hasher::digest(&data));
        let content = &mut self.content[file as usize];
        if let Some(digest) = content {
            if index == digest.blocks() {
                digest.push(&sha256);
            } else if index > digest.blocks() {
                *content = None;
            }
        }
        self.ready.push_back(OutBlock::new(file, index, data, sha256));
    }

    /// The source could not be read.
    pub fn handle_read_error(&mut self, now_ms: u64, message: &str) {
        self.out.at(now_ms);
        self.pending_reads.clear();
        self.out.fail(TransferError::local(ErrorCode::SourceFailed, message.to_string()));
    }

    /// The current `bufferedAmount` of lane `lane`'s channel.
    pub fn handle_lane_buffered_amount(&mut self, now_ms: u64, lane: usize, amount: u64) {
        self.out.at(now_ms);
        if let Some(l) = self.lanes.get_mut(lane) {
            l.buffered = amount;
        }
    }

    /// The path's round trip as the runtime measured it (the ICE candidate pair's). The
    /// smallest one so far decides, once, when the transfer runs, how many lanes to open
    /// ([`lanes_for`]), and sizes the in-flight limit (`sender/path_limit.rs`).
    pub fn handle_round_trip(&mut self, now_ms: u64, rtt_ms: u64) {
        self.out.at(now_ms);
        self.bdp.round_trip(rtt_ms);
        self.plan_lanes();
    }

    /// Asks the runtime for the extra lanes this transfer should have, once the transfer runs
    /// and the round trip is known.
    fn plan_lanes(&mut self) {
        let Some(rtt_ms) = self.bdp.round_trip_ms() else { return };
        if self.lanes_planned || self.phase != Phase::Transferring || self.out.closed {
            return;
        }
        self.lanes_planned = true;
        let left = self.total_bytes.saturating_sub(self.resumed_bytes);
        for lane in 1..lanes_for(rtt_ms, left, self.config.lane_limit()) {
            self.lanes.push(Lane::new(LaneState::Planned));
            self.lanes_to_open.push_back(lane);
        }
    }

    /// The session description (ICE candidates included) of lane `lane`, which the runtime
    /// opened after [`SenderOutput::OpenLane`]: it goes to the receiver on the first lane. A
    /// description larger than a message is dropped, and the lane with it. `false` when the
    /// lane is dropped (or was not asked for): the runtime then releases what it made for it.
    pub fn lane_description(&mut self, now_ms: u64, lane: usize, sdp: &str) -> bool {
        self.out.at(now_ms);
        let fits = self.sizes.is_some_and(|s| sdp.len() + 2 <= s.message_size as usize);
        let closed = self.out.closed;
        let Some(l) = self.lanes.get_mut(lane).filter(|l| l.state == LaneState::Planned) else {
            return false;
        };
        if closed || !fits || sdp.is_empty() {
            l.state = LaneState::Closed;
            return false;
        }
        l.state = LaneState::Offered;
        // Lanes are numbered below MAX_LANES, so the number fits a byte.
        self.out.send(Frame::LaneOffer { lane: lane as u8, sdp });
        true
    }

    /// Lane `lane`'s channel opened: block data may go out on it.
    pub fn handle_lane_open(&mut self, now_ms: u64, lane: usize) {
        self.out.at(now_ms);
        if let Some(l) = self.lanes.get_mut(lane).filter(|l| l.state == LaneState::Answered) {
            l.state = LaneState::Open;
        }
    }

    /// Lane `lane` could not be opened, or closed. One that never carried data is simply not
    /// used; losing one that did loses the blocks in flight on it, so the connection counts as
    /// lost (the transfer resumes as after any drop, from the verified blocks).
    pub fn handle_lane_lost(&mut self, now_ms: u64, lane: usize) {
        self.out.at(now_ms);
        match self.lanes.get_mut(lane) {
            Some(l) if lane > 0 && l.state != LaneState::Open => l.state = LaneState::Closed,
            Some(_) => self.out.connection_lost(),
            None => {}
        }
    }

    /// Lanes carrying block data now, the first included.
    pub fn open_lanes(&self) -> usize {
        self.lanes.iter().filter(|l| l.state == LaneState::Open).count()
    }

    /// How much may wait on lane `lane`'s channel now: `buffered_start` on a new connection,
    /// growing with the data sent on it (a sixteenth of it) up to `buffered_high`. Both marks
    /// are at least one message (this side's message size), whatever the configuration says.
    pub fn lane_buffered_high(&self, lane: usize) -> u64 {
        let (start, high) = self.marks();
        self.lanes.get(lane).map_or(start, |l| l.high_mark(start, high))
    }

    /// The `bufferedAmount` to be woken at (the runtime's `bufferedAmountLowThreshold`) on
    /// lane `lane`: the configured low mark, at most half the high mark (or the sender would
    /// never wait for the low-water event), scaled down while the lane's high mark ramps up.
    pub fn lane_buffered_low(&self, lane: usize) -> u64 {
        let (start, high) = self.marks();
        self.lanes.get(lane).map_or(0, |l| l.low_mark(start, high, self.config.buffered_low))
    }

    /// The configured start and high marks, each at least one message; on a path the limit
    /// applies to, [`PATH_BACKLOG`] for both.
    fn marks(&self) -> (u64, u64) {
        if self.inflight_limit() != u64::MAX {
            return (PATH_BACKLOG, PATH_BACKLOG);
        }
        let message = u64::from(self.config.local_message_size());
        let high = self.config.buffered_high.max(message);
        (self.config.buffered_start.clamp(message, high), high)
    }

    /// The next message to send and its lane, if flow control allows one now. Control frames
    /// go on the first lane; block data on the open lane with room and the least buffered,
    /// one finishing a block before one starting the next.
    fn poll_transmit(&mut self) -> Option<(usize, Vec<u8>)> {
        if let Some(frame) = self.out.pop_frame() {
            self.lanes[0].buffered += frame.len() as u64;
            return Some((0, frame));
        }
        if self.out.closed {
            return None;
        }
        let message_size = self.sizes?.message_size as usize;
        let (start, high) = self.marks();
        if self.lanes.len() == 1 {
            // The common case, without the ordering below.
            let room = self.lanes[0].has_room(start, high);
            return if room { self.block_frame(0, message_size).map(|f| (0, f)) } else { None };
        }
        let mut order: Vec<usize> =
            (0..self.lanes.len()).filter(|&i| self.lanes[i].has_room(start, high)).collect();
        order.sort_by_key(|&i| (self.lanes[i].current.is_none(), self.lanes[i].buffered));
        order.into_iter().find_map(|lane| self.block_frame(lane, message_size).map(|f| (lane, f)))
    }

    /// The most block data that may be handed to the lanes and not yet reported taken by the
    /// receiver ([`path_limit`]): unlimited on a local link or before the round trip is known.
    fn inflight_limit(&self) -> u64 {
        path_limit(&self.bdp)
    }

    /// Whether a new block of `len` bytes may start: while several lanes are open, only when
    /// the receiver's credit covers it on top of the blocks lanes are in the middle of. A
    /// started block then always has the credit to finish: lanes that each hold part of a
    /// block can never wait on each other. (One lane needs no such reserve: its block finishes
    /// as credit comes, as the receiver guarantees.) The path's limit applies per message
    /// ([`Self::block_frame`]): what is in the network is known from the receiver's reports
    /// at any point of a block, so lanes in the middle of blocks never wait on each other
    /// there either.
    fn may_start_block(&self, len: u64) -> bool {
        if self.open_lanes() == 1 {
            return true;
        }
        let unsent: u64 = self
            .lanes
            .iter()
            .filter(|l| l.state == LaneState::Open)
            .filter_map(|l| l.current.as_ref())
            .map(|part| part.unsent() as u64)
            .sum();
        unsent + len <= self.credit_limit.saturating_sub(self.data_sent)
    }

    /// The next frame of lane `lane`'s part of a block: it takes the next ready block if it
    /// has none and one may start, or else half of what another lane has yet to send.
    fn block_frame(&mut self, lane: usize, message_size: usize) -> Option<Vec<u8>> {
        if self.lanes[lane].current.is_none() {
            let next = match self.ready.front() {
                Some(b) if self.may_start_block(b.block.data.len() as u64) => self.ready.pop_front(),
                _ => self.split_busiest_part(),
            };
            self.lanes[lane].current = Some(next?);
        }
        let credit = self.credit_limit.saturating_sub(self.data_sent);
        let limit = self.inflight_limit();
        let l = &mut self.lanes[lane];
        let part = l.current.as_mut()?;
        let block = Rc::clone(&part.block);
        let frame = if !part.header_sent {
            part.header_sent = true;
            Frame::Block {
                file: block.file,
                index: block.index,
                len: block.data.len() as u32,
                // Blocks are at most MAX_BLOCK_SIZE, so an offset into one fits.
                offset: part.start as u32,
                sha256: block.sha256,
            }
            .to_vec()
        } else {
            let mut largest = message_size - DATA_OVERHEAD;
            if limit != u64::MAX {
                largest = largest.min(PATH_MESSAGE);
            }
            let next = part.unsent().min(largest);
            // Whole messages only: a path that has room for less waits for the next report.
            if self.data_sent - self.received + next as u64 > limit {
                return None;
            }
            // `min` before the cast: a grant more than 4 GiB ahead must not wrap on wasm32.
            let n = next.min(credit.min(usize::MAX as u64) as usize);
            if n == 0 {
                return None;
            }
            let mut frame = Vec::new();
            encode_data(&block.data[part.sent..part.sent + n], &mut frame);
            part.sent += n;
            l.sent += n as u64;
            self.data_sent += n as u64;
            frame
        };
        l.buffered += frame.len() as u64;
        if part.finished() {
            // Of a block's parts, the one ending where the block ends is its last (a split
            // takes the end), so the file's digest follows the file's last part.
            let last = part.end == block.data.len();
            l.current = None;
            if last {
                self.after_block_sent(block.file, block.index);
            }
        }
        self.out.last_sent_ms = self.out.now_ms;
        Some(frame)
    }

    /// Half of the largest unsent remainder of another lane's part, for a lane that has no
    /// block to start: bytes not yet handed to a channel can still go on any lane, so the
    /// lanes finish the last blocks together (on a lossy path one connection's block can take
    /// seconds longer than another's). `None` when no part is worth splitting.
    fn split_busiest_part(&mut self) -> Option<OutBlock> {
        let busiest = self
            .lanes
            .iter_mut()
            .filter(|l| l.state == LaneState::Open)
            .filter_map(|l| l.current.as_mut())
            .filter(|part| part.can_split())
            .max_by_key(|part| part.unsent())?;
        Some(busiest.split())
    }

    fn after_block_sent(&mut self, file: u32, index: u64) {
        let size = self.manifest.files[file as usize].size;
        if index + 1 != block_count(size, self.block_size()) {
            return;
        }
        let digest = self.content[file as usize]
            .as_ref()
            .filter(|d| d.blocks() == index + 1)
            .map(ContentDigest::finish);
        self.out.send(Frame::FileDigest { file, digest });
    }

    /// When `handle_timeout` should next be called, in the same clock as `now_ms`.
    pub fn poll_timeout(&self) -> Option<u64> {
        match self.phase {
            _ if self.out.closed => None,
            // A person may take their time deciding whether to accept.
            Phase::Offered => None,
            // Keepalives are sent only while transferring (`handle_timeout`), so only then
            // is one due; in the handshake only the idle deadline counts.
            Phase::Handshake => Some(self.out.idle_deadline(self.config.idle_timeout_ms)),
            Phase::Transferring => Some(
                self.out
                    .idle_deadline(self.config.idle_timeout_ms)
                    .min(self.out.keepalive_due(self.config.idle_timeout_ms)),
            ),
        }
    }

    pub fn handle_timeout(&mut self, now_ms: u64) {
        self.out.at(now_ms);
        if self.phase == Phase::Transferring {
            self.out.keepalive(self.config.idle_timeout_ms);
        }
        if self.poll_timeout().is_some() {
            self.out.check_idle(self.config.idle_timeout_ms);
        }
    }

    /// Stops the transfer and tells the receiver.
    pub fn cancel(&mut self, now_ms: u64, reason: &str) {
        self.out.at(now_ms);
        self.out.cancel(reason);
    }

    /// The channel closed under us.
    pub fn handle_connection_lost(&mut self, now_ms: u64) {
        self.out.at(now_ms);
        self.out.connection_lost();
    }

    fn report_progress(&mut self, now_ms: u64, file: Option<u32>) {
        let total = self.acked_bytes + self.resumed_bytes;
        self.meter.record(now_ms, total);
        let total_bytes = self.total_bytes;
        self.out.event(SenderEvent::Progress(Progress {
            file: file.map(|f| (f, self.acked_file_bytes[f as usize])),
            verified_bytes: total,
            total_bytes,
            bytes_per_second: self.meter.rate(),
            eta_seconds: self.meter.eta(total_bytes.saturating_sub(total)),
        }));
    }

    /// Bytes of file data this engine holds right now.
    pub fn held_bytes(&self) -> usize {
        let waiting: usize = self
            .pending_reads
            .iter()
            .filter_map(|(_, _, got)| got.as_ref().map(|(data, _)| data.len()))
            .sum();
        // Parts of one block share its bytes: each block counts once.
        let mut sending: Vec<&Rc<lane::SharedBlock>> =
            self.lanes.iter().filter_map(|l| l.current.as_ref()).map(|part| &part.block).collect();
        sending.sort_by_key(|b| Rc::as_ptr(b));
        sending.dedup_by(|a, b| Rc::ptr_eq(a, b));
        sending.iter().map(|b| b.data.len()).sum::<usize>()
            + self.ready.iter().map(|part| part.block.data.len()).sum::<usize>()
            + waiting
    }
}
