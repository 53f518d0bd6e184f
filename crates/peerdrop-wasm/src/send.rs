//! The sending page: creates the room, offers a connection when the receiver arrives, and
//! drives a core `Sender` over the data channel, reading file slices as it asks.

mod files;
mod lanes;
mod negotiate;

use files::{collect_files, entry_for};
use negotiate::{negotiate, new_code, Ended};

use crate::block_hash::{self, Subtle};
use crate::clock::now_ms;
use crate::code_exchange::Start;
use crate::driver::{self, Page, Side};
use crate::error::{describe, RuntimeError};
use crate::events::{manifest_to_js, Emitter};
use crate::js_value::object;
use crate::options::{current_page, Flow, Options};
use crate::rtc;
use futures::channel::oneshot;
use peerdrop_core::{ErrorCode, LinkSecret, Manifest, ReadRequest, Sender, SenderEvent, SenderOutput};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{File, RtcDataChannel, RtcDataChannelState, RtcPeerConnection};

struct State {
    page: Page,
    files: Vec<File>,
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
    /// WebCrypto, when blocks are hashed with it (see `block_hash`).
    subtle: Option<Subtle>,
    /// Each channel's `bufferedAmountLowThreshold` as last set, by lane (see
    /// `lanes::set_low_thresholds`).
    low_thresholds: Vec<u32>,
}

type Shared = Rc<RefCell<State>>;

/// A running send, returned by `send()`.
#[wasm_bindgen]
pub struct SendHandle {
    shared: Shared,
    link: String,
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
        self.shared.borrow().code.clone()
    }

    /// The offered files as `[{path, size, modified, mime}]`.
    #[wasm_bindgen(getter)]
    pub fn files(&self) -> crate::types::FileInfoArray {
        manifest_to_js(&self.shared.borrow().manifest).unchecked_into()
    }

    /// A summary of the connection and signaling for support (no file names, no secret).
    pub fn diagnose(&self) -> crate::types::DiagnosisPromise {
        self.shared.borrow().page.diagnose()
    }

    /// Stops the transfer; the receiver is told it was cancelled.
    pub fn cancel(&self) {
        enum Now {
            Running,
            /// Completed or failed, and closing: nothing left to cancel.
            Ending,
            /// Not connected yet, or waiting for the receiver to come back.
            Idle,
        }
        let now = {
            let mut s = self.shared.borrow_mut();
            let has_connection = s.page.conn.is_some();
            match s.engine.as_mut() {
                Some(engine) if !engine.is_closed() => {
                    engine.cancel(now_ms(), "the sender cancelled the transfer");
                    Now::Running
                }
                Some(_) if has_connection => Now::Ending,
                _ => Now::Idle,
            }
        };
        match now {
            Now::Running => driver::pump(&self.shared),
            Now::Idle => driver::fail(
                &self.shared,
                RuntimeError::Transfer(peerdrop_core::TransferError::local(
                    peerdrop_core::ErrorCode::Cancelled,
                    "the transfer was cancelled",
                )),
            ),
            Now::Ending => {}
        }
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
    let (link, start) = if options.short_code {
        (String::new(), Start::Code(new_code().map_err(|e| e.to_js())?))
    } else {
        let mut secret = [0u8; peerdrop_core::link::SECRET_BYTES];
        getrandom::getrandom(&mut secret).map_err(|e| RuntimeError::Browser(e.to_string()).to_js())?;
        let secret = LinkSecret::from_bytes(secret);
        let base = options.share_base.clone().or_else(current_page).unwrap_or_default();
        (format!("{base}#{}", secret.to_fragment()), Start::Link(secret))
    };
    let shared = Rc::new(RefCell::new(State {
        page: Page::new(emitter),
        files,
        manifest,
        // Known once the link secret is: at once for a link, after the exchange for a code.
        transfer_id: start.transfer_id(),
        // A code's number comes from the endpoint with its room: known at the `code` event.
        code: None,
        engine: None,
        ended: None,
        opened: false,
        restoring: false,
        flow: options.flow,
        subtle: if options.webcrypto { block_hash::subtle() } else { None },
        low_thresholds: Vec::new(),
    }));
    let task = shared.clone();
    spawn_local(async move {
        if let Err(e) = negotiate(&task, &options, start).await {
            driver::fail(&task, e);
        }
    });
    Ok(SendHandle { shared, link })
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
                Later::Read(r) => start_read(shared, r),
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
            let conn = shared.borrow_mut().page.conn.take();
            drop(conn);
            connection_ended(shared, Ended::Lost);
        }
        SenderEvent::Failed(err) => {
            emitter.error(&RuntimeError::Transfer(err));
            connection_ended(shared, Ended::Final);
            finish_after_flush(shared);
        }
    }
}

/// Reads a block and hashes it (WebCrypto where the page has it), then hands both to the engine.
fn start_read(shared: &Shared, r: peerdrop_core::ReadRequest) {
    let (file, subtle) = {
        let s = shared.borrow();
        (s.files[r.file as usize].clone(), s.subtle.clone())
    };
    let shared = shared.clone();
    spawn_local(async move {
        let start = r.offset as f64;
        let end = start + f64::from(r.len);
        let result = match file.slice_with_f64_and_f64(start, end) {
            Ok(blob) => JsFuture::from(blob.array_buffer()).await,
            Err(e) => Err(e),
        };
        let result = match result {
            Ok(buf) => {
                let view = js_sys::Uint8Array::new(&buf);
                let sha256 = match &subtle {
                    Some(subtle) => block_hash::sha256(subtle, &view).await,
                    None => None,
                };
                Ok((view.to_vec(), sha256))
            }
            Err(e) => Err(e),
        };
        {
            let mut s = shared.borrow_mut();
            let Some(engine) = s.engine.as_mut() else { return };
            let now = now_ms();
            match result {
                Ok((bytes, Some(sha256))) => engine.handle_hashed_read(now, r.file, r.offset, bytes, sha256),
                Ok((bytes, None)) => engine.handle_read(now, r.file, r.offset, bytes),
                Err(e) => engine.handle_read_error(
                    now,
                    &format!(
                        "could not read {:?}: {}; it may have been moved or deleted",
                        file.name(),
                        describe(&e)
                    ),
                ),
            }
        }
        driver::pump(&shared);
    });
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

/// Releases the connection; the negotiation task leaves the room once it sees `finished`.
fn finish(shared: &Shared) {
    let (conn, ended) = {
        let mut s = shared.borrow_mut();
        s.page.finished = true;
        (s.page.conn.take(), s.ended.take())
    };
    drop(conn);
    if let Some(tx) = ended {
        let _ = tx.send(Ended::Final);
    }
}
