//! The sending page: creates the room, offers a connection when the receiver arrives, and
//! drives a core `Sender` over the data channel, reading file slices as it asks. A link
//! several may open (`receivers` > 1) runs one such state per receiver (`room`).

mod file_block;
mod files;
mod lanes;
mod negotiate;
mod read;
mod room;
mod shared_reads;

use files::{collect_files, entry_for};
use negotiate::{negotiate, new_code, Ended};
use read::Reads;

use crate::block_hash;
use crate::clock::now_ms;
use crate::code_exchange::Start;
use crate::driver::{self, Page, Side};
use crate::error::RuntimeError;
use crate::events::{manifest_to_js, Emitter};
use crate::js_value::object;
use crate::options::{current_page, Flow, Options};
use crate::rtc;
use futures::channel::oneshot;
use peerdrop_core::{
    ErrorCode, LinkSecret, Manifest, ReadRequest, Sender, SenderEvent, SenderOutput, TransferError,
};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;
use web_sys::{File, RtcDataChannel, RtcDataChannelState, RtcPeerConnection};

struct State {
    page: Page,
    manifest: Manifest,
    transfer_id: [u8; 16],
    /// The short code on offer, in short-code mode.
    code: Option<String>,
    engine: Option<Sender>,
    /// Tells the negotiation loop how the current connection ended.
    ended: Option<oneshot::Sender<Ended>>,
    /// Whether the current connection's channel opened (a lost one that had opened gives the
    /// receiver a fresh reconnect window).
    opened: bool,
    /// While a lost connection is being restored: a new one that fails to open waits for the
    /// receiver's next hello instead of ending the transfer.
    restoring: bool,
    flow: Flow,
    /// Where blocks come from: this page's own reads, or the cache all receivers of a link for
    /// several share.
    reads: Reads,
    /// The sender removed this receiver (a link for several): its ending says so.
    dropped: bool,
    /// Each channel's `bufferedAmountLowThreshold` as last set, by lane (see
    /// `lanes::set_low_thresholds`).
    low_thresholds: Vec<u32>,
}

type Shared = Rc<RefCell<State>>;

impl State {
    fn new(page: Page, manifest: Manifest, transfer_id: [u8; 16], flow: Flow, reads: Reads) -> Self {
        State {
            page,
            manifest,
            transfer_id,
            // A code's number comes from the endpoint with its room: known at the `code` event.
            code: None,
            engine: None,
            ended: None,
            opened: false,
            restoring: false,
            flow,
            reads,
            dropped: false,
            low_thresholds: Vec::new(),
        }
    }
}

/// A running send, returned by `send()`.
#[wasm_bindgen]
pub struct SendHandle {
    sending: Sending,
    link: String,
}

/// To one receiver, or to each of the receivers of a link several may open.
enum Sending {
    One(Shared),
    Many(room::SharedRoom),
}

#[wasm_bindgen]
impl SendHandle {
    /// The share link; its secret is only in the `#fragment`.
    #[wasm_bindgen(getter)]
    pub fn link(&self) -> String {
        self.link.clone()
    }

    /// The short code to read out (`7-guitar-orbit`) when sending with `shortCode: true`;
    /// `undefined` until the `code` event (the signaling endpoint picks its number).
    #[wasm_bindgen(getter)]
    pub fn code(&self) -> Option<String> {
        match &self.sending {
            Sending::One(shared) => shared.borrow().code.clone(),
            Sending::Many(_) => None,
        }
    }

    /// The offered files as `[{path, size, modified, mime}]`.
    #[wasm_bindgen(getter)]
    pub fn files(&self) -> crate::types::FileInfoArray {
        let files = match &self.sending {
            Sending::One(shared) => manifest_to_js(&shared.borrow().manifest),
            Sending::Many(room) => manifest_to_js(room.borrow().manifest()),
        };
        files.unchecked_into()
    }

    /// A summary of the connection and signaling for support (no file names, no secret). With
    /// a link several may open: receiver `receiver`'s connection, or without it the link's
    /// signaling alone.
    pub fn diagnose(&self, receiver: Option<u8>) -> crate::types::DiagnosisPromise {
        match &self.sending {
            Sending::One(shared) => shared.borrow().page.diagnose(),
            Sending::Many(room) => room::diagnose(room, receiver),
        }
    }

    /// Stops the transfer; the receiver (every receiver) is told it was cancelled.
    pub fn cancel(&self) {
        match &self.sending {
            Sending::One(shared) => stop(shared, "the sender cancelled the transfer", cancelled()),
            Sending::Many(room) => room::cancel(room),
        }
    }

    /// A link several may open: ends receiver `receiver` alone (it is told it was removed, and
    /// its seat is gone); the others go on. With one receiver: the same as `cancel()`.
    #[wasm_bindgen(js_name = dropReceiver)]
    pub fn drop_receiver(&self, receiver: u8) {
        match &self.sending {
            Sending::One(_) => self.cancel(),
            Sending::Many(room) => room::drop_receiver(room, receiver),
        }
    }

    /// A link several may open: nobody new can open it (they are told the link is closed); the
    /// receivers already in go on. With one receiver: nothing to do.
    #[wasm_bindgen(js_name = closeLink)]
    pub fn close_link(&self) {
        if let Sending::Many(room) = &self.sending {
            room::close_link(room);
        }
    }
}

fn cancelled() -> RuntimeError {
    RuntimeError::Transfer(TransferError::local(ErrorCode::Cancelled, "the transfer was cancelled"))
}

/// Ends one receiver's transfer: a running engine tells the receiver `reason` and ends as
/// cancelled; before it runs (or while a lost connection is restored) the page ends with
/// `error` at once; one already ending is left to end.
fn stop(shared: &Shared, reason: &str, error: RuntimeError) {
    enum Now {
        Running,
        /// Completed or failed, and closing: nothing left to cancel.
        Ending,
        /// Not connected yet, or waiting for the receiver to come back.
        Idle,
    }
    let now = {
        let mut s = shared.borrow_mut();
        let has_connection = s.page.conn.is_some();
        match s.engine.as_mut() {
            Some(engine) if !engine.is_closed() => {
                engine.cancel(now_ms(), reason);
                Now::Running
            }
            Some(_) if has_connection => Now::Ending,
            _ => Now::Idle,
        }
    };
    match now {
        Now::Running => driver::pump(shared),
        Now::Idle => driver::fail(shared, error),
        Now::Ending => {}
    }
}

/// Starts sending `files` (a `FileList` or an array of `File`); progress and errors arrive
/// through `options.onEvent`.
pub fn start(files: JsValue, options: JsValue) -> Result<SendHandle, JsValue> {
    let options = Options::from_js(&options);
    let emitter = Emitter::new(options.on_event.clone());
    let files = collect_files(&files);
    if files.is_empty() {
        return Err(RuntimeError::NoFiles.to_js());
    }
    let manifest = Manifest { files: files.iter().map(entry_for).collect() };
    let files: Vec<File> = files.into_iter().map(|(f, _)| f).collect();
    // The receiver would refuse this offer with the same code (unsafe_path, limit_exceeded).
    manifest.validate().map_err(|e| {
        RuntimeError::Transfer(peerdrop_core::TransferError::local(e.code(), e.to_string())).to_js()
    })?;
    let receivers = options.receivers.clone().map_err(|why| RuntimeError::InvalidReceivers(why).to_js())?;
    if receivers > 1 && options.short_code {
        return Err(RuntimeError::InvalidReceivers(
            "a short code is for one receiver; send a link to reach several".into(),
        )
        .to_js());
    }
    let (link, start) = if options.short_code {
        (String::new(), Start::Code(new_code().map_err(|e| e.to_js())?))
    } else {
        let mut secret = [0u8; peerdrop_core::link::SECRET_BYTES];
        getrandom::getrandom(&mut secret).map_err(|e| RuntimeError::Browser(e.to_string()).to_js())?;
        let secret = LinkSecret::from_bytes(secret);
        let base = options.share_base.clone().or_else(current_page).unwrap_or_default();
        (format!("{base}#{}", secret.to_fragment()), Start::Link(secret))
    };
    let subtle = if options.webcrypto { block_hash::subtle() } else { None };
    if let (true, Start::Link(secret)) = (receivers > 1, &start) {
        let room = room::Room::new(emitter, options, secret.clone(), files, manifest, subtle);
        room::start(&room, receivers);
        return Ok(SendHandle { sending: Sending::Many(room), link });
    }
    // Known once the link secret is: at once for a link, after the exchange for a code.
    let transfer_id = start.transfer_id();
    let shared = Rc::new(RefCell::new(State::new(
        Page::new(emitter),
        manifest,
        transfer_id,
        options.flow,
        Reads::Own { files, subtle },
    )));
    let task = shared.clone();
    spawn_local(async move {
        if let Err(e) = negotiate(&task, &options, start).await {
            driver::fail(&task, e);
        }
    });
    Ok(SendHandle { sending: Sending::One(shared), link })
}

/// Work the sender's engine asks for that needs the state released.
enum Later {
    Read(ReadRequest),
    Event(SenderEvent),
    OpenLane(usize),
    LaneAnswer(usize, String),
}

impl Side for State {
    type Engine = Sender;
    type Later = Later;

    fn page(&mut self) -> &mut Page {
        &mut self.page
    }

    fn engine(&mut self) -> Option<&mut Sender> {
        self.engine.as_mut()
    }

    fn start_engine(&mut self, pc: &RtcPeerConnection, _dc: &RtcDataChannel) {
        self.opened = true;
        let config = self.flow.config(rtc::max_message_size(pc));
        let engine = Sender::new(config, self.manifest.clone(), self.transfer_id, now_ms());
        self.engine = Some(engine);
        // A new connection's channels: every mark is set afresh.
        self.low_thresholds.clear();
        lanes::set_low_thresholds(self);
    }

    fn before_drain(&mut self) {
        lanes::report_buffered(self);
    }

    /// The low mark grows while a new connection ramps up (`Config::buffered_start`).
    fn after_drain(&mut self) {
        lanes::set_low_thresholds(self);
    }

    fn take(&mut self, output: SenderOutput) -> Option<Later> {
        match output {
            SenderOutput::Read(r) => Some(Later::Read(r)),
            SenderOutput::Event(e) => Some(Later::Event(e)),
            SenderOutput::OpenLane(lane) => Some(Later::OpenLane(lane)),
            SenderOutput::LaneAnswer { lane, sdp } => Some(Later::LaneAnswer(lane, sdp)),
            SenderOutput::CloseLane(lane) => {
                lanes::release(self, lane);
                None
            }
            SenderOutput::Transmit { .. } => None,
        }
    }

    fn run_later(shared: &Shared, later: Vec<Later>) {
        for work in later {
            match work {
                Later::Read(r) => read::start(shared, r),
                Later::Event(e) => on_event(shared, e),
                Later::OpenLane(lane) => lanes::open(shared, lane),
                Later::LaneAnswer(lane, sdp) => lanes::answer(shared, lane, sdp),
            }
        }
    }

    fn finish(shared: &Shared, _failed: bool) {
        finish(shared)
    }

    fn retry_unopened(shared: &Shared) -> bool {
        let conn = {
            let mut s = shared.borrow_mut();
            if !s.restoring || s.page.finished {
                return false;
            }
            s.page.conn.take()
        };
        // Released on the next turn: this runs inside a callback of that very connection.
        spawn_local(async move { drop(conn) });
        connection_ended(shared, Ended::Lost);
        true
    }
}

fn on_event(shared: &Shared, event: SenderEvent) {
    let emitter = shared.borrow().page.emitter.clone();
    match event {
        SenderEvent::Accepted { .. } => emitter.status("transferring"),
        SenderEvent::Progress(p) => emitter.progress(&p),
        SenderEvent::Complete => {
            emitter.status("complete");
            emitter.emit(object(&[("type", "complete".into())]));
            connection_ended(shared, Ended::Final);
            finish_after_flush(shared);
        }
        SenderEvent::Failed(err)
            if matches!(err.code, ErrorCode::ConnectionLost | ErrorCode::Timeout)
                && err.origin == peerdrop_core::Origin::Local =>
        {
            // The receiver may reopen the link and resume: keep the room, drop the connection.
            emitter.emit(object(&[
                ("type", "disconnected".into()),
                ("message", "The connection to the receiver was lost. Retrying; if they reopen the link, the transfer resumes where it stopped.".into()),
            ]));
            // The lost engine's blocks are not needed: a restored connection starts a new one.
            let conn = {
                let mut s = shared.borrow_mut();
                s.engine = None;
                s.page.conn.take()
            };
            drop(conn);
            connection_ended(shared, Ended::Lost);
        }
        SenderEvent::Failed(err) => {
            let dropped = shared.borrow().dropped && err.code == ErrorCode::Cancelled;
            emitter.error(&if dropped { RuntimeError::RemovedReceiver } else { RuntimeError::Transfer(err) });
            connection_ended(shared, Ended::Final);
            finish_after_flush(shared);
        }
    }
}

fn connection_ended(shared: &Shared, how: Ended) {
    if let Some(tx) = shared.borrow_mut().ended.take() {
        let _ = tx.send(how);
    }
}

/// Gives the last frames time to arrive before closing the connection.
fn finish_after_flush(shared: &Shared) {
    let shared = shared.clone();
    spawn_local(async move {
        let channel = || shared.borrow().page.channel().cloned();
        // The last frame (CANCEL, ERROR) may sit behind megabytes of buffered data: closing
        // before it leaves would show the receiver a lost connection instead. Wait for the
        // buffer to drain, 10 s at most.
        // A closed channel keeps its last bufferedAmount: stop waiting then too.
        for _ in 0..100 {
            gloo_timers::future::sleep(Duration::from_millis(100)).await;
            if channel()
                .map_or(true, |dc| dc.buffered_amount() == 0 || dc.ready_state() != RtcDataChannelState::Open)
            {
                break;
            }
        }
        // A drained buffer means sent, not received: a lost packet is resent only after a
        // retransmission timeout. The receiver closes its side once it has the last frame
        // (after its own short grace); wait for that, 3 s at most.
        for _ in 0..30 {
            if channel().map_or(true, |dc| dc.ready_state() != RtcDataChannelState::Open) {
                break;
            }
            gloo_timers::future::sleep(Duration::from_millis(100)).await;
        }
        finish(&shared);
    });
}

/// Releases the connection and the engine's blocks; the negotiation task leaves the room once
/// it sees `finished` (with several receivers, the page stays for `diagnose(receiver)`).
fn finish(shared: &Shared) {
    let (conn, ended) = {
        let mut s = shared.borrow_mut();
        s.page.finished = true;
        s.engine = None;
        (s.page.conn.take(), s.ended.take())
    };
    drop(conn);
    if let Some(tx) = ended {
        let _ = tx.send(Ended::Final);
    }
}
