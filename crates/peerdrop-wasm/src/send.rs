//! The sending page: creates the room, offers a connection when the receiver arrives, and
//! drives a core `Sender` over the data channel, reading file slices as it asks.

use crate::block_hash::{self, Subtle};
use crate::clock::now_ms;
use crate::code_exchange::{self, Start};
use crate::driver::{self, Page, Side};
use crate::error::{describe, RuntimeError};
use crate::events::{manifest_to_js, Emitter};
use crate::js_value::object;
use crate::options::{current_page, Flow, Options};
use crate::signaling::{
    abort_if_tampered, is_transient, new_seal, wait_for, wait_for_through_outages, SharedLog, SignalClient,
};
use crate::{ice, rtc};
use futures::channel::oneshot;
use futures::future::Either;
use peerdrop_core::frame::Role;
use peerdrop_core::seal::SealError;
use peerdrop_core::short_code::ShortCode;
use peerdrop_core::{
    ErrorCode, FileEntry, LinkSecret, Manifest, ReadRequest, Sender, SenderEvent, SenderOutput, TransferError,
};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{File, RtcDataChannel, RtcDataChannelState, RtcPeerConnection, RtcSdpType};

/// How long the sender waits for the receiver's answer once it made an offer.
const ANSWER_WAIT_MS: u64 = 30_000;

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
    /// The channel's `bufferedAmountLowThreshold` as last set (kept here: reading it back is
    /// a call into JS on every pump).
    low_threshold: u32,
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
    /// it may change before the `code` event (another sender held its number).
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
        code: match &start {
            Start::Link(_) => None,
            Start::Code(code) => Some(code.to_string()),
        },
        engine: None,
        ended: None,
        opened: false,
        restoring: false,
        flow: options.flow,
        subtle: if options.webcrypto { block_hash::subtle() } else { None },
        low_threshold: 0,
    }));
    let task = shared.clone();
    spawn_local(async move {
        if let Err(e) = negotiate(&task, &options, start).await {
            driver::fail(&task, e);
        }
    });
    Ok(SendHandle { shared, link })
}

/// Files with the relative path each should arrive at.
fn collect_files(value: &JsValue) -> Vec<(File, String)> {
    let mut out = Vec::new();
    if let Some(list) = value.dyn_ref::<web_sys::FileList>() {
        for i in 0..list.length() {
            out.extend(list.get(i).map(with_path));
        }
    } else if let Some(array) = value.dyn_ref::<js_sys::Array>() {
        for v in array.iter() {
            if let Ok(file) = v.clone().dyn_into::<File>() {
                out.push(with_path(file));
            } else if let Some(item) = send_item(&v) {
                out.push(item);
            }
        }
    } else if let Ok(file) = value.clone().dyn_into::<File>() {
        out.push(with_path(file));
    }
    out
}

/// `{file, path}` from `itemsFromDrop()` or the application.
fn send_item(v: &JsValue) -> Option<(File, String)> {
    let file = js_sys::Reflect::get(v, &"file".into()).ok()?.dyn_into::<File>().ok()?;
    let path = js_sys::Reflect::get(v, &"path".into()).ok()?.as_string()?;
    Some((file, path))
}

/// A picked file's path: its folder-relative path when a folder was picked.
fn with_path(file: File) -> (File, String) {
    let relative = js_sys::Reflect::get(&file, &"webkitRelativePath".into())
        .ok()
        .and_then(|v| v.as_string())
        .filter(|p| !p.is_empty());
    let path = relative.unwrap_or_else(|| file.name());
    (file, path)
}

fn entry_for((file, path): &(File, String)) -> FileEntry {
    FileEntry {
        path: path.clone(),
        size: file.size() as u64,
        modified_ms: file.last_modified() as i64,
        mime: peerdrop_core::manifest::clip_mime(&file.type_()).to_string(),
    }
}

/// How one connection ended, as the negotiation loop needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    /// Completed, or failed in a way a new connection would not fix.
    Final,
    /// The receiver vanished mid-transfer (reload, crash, network): it may come back.
    Lost,
}

/// A fresh short code from the browser's secure random source.
fn new_code() -> Result<ShortCode, RuntimeError> {
    let mut random = [0u8; 4];
    getrandom::getrandom(&mut random).map_err(|e| RuntimeError::Browser(e.to_string()))?;
    Ok(ShortCode::generate(random))
}

/// How many numbers a sender tries when other senders hold the ones it drew.
const CODE_ROOM_ATTEMPTS: u32 = 5;

/// Creates the room for a short code, drawing a new code while its number is taken.
async fn create_code_room(
    shared: &Shared,
    url: &str,
    mut code: ShortCode,
    log: &SharedLog,
) -> Result<(SignalClient, ShortCode), RuntimeError> {
    let mut attempt = 1;
    loop {
        match SignalClient::create_for_code(url, &code.room_id(), log.clone()).await {
            Err(RuntimeError::Signaling { status: 409, .. }) if attempt < CODE_ROOM_ATTEMPTS => {
                attempt += 1;
                code = new_code()?;
                shared.borrow_mut().code = Some(code.to_string());
            }
            other => return other.map(|client| (client, code)),
        }
    }
}

/// Signaling: create the room (and, for a short code, run the key exchange in it), then for
/// each (re)connection of the receiver wait for its sealed `hello`, offer, and take its
/// answer. A receiver that drops out mid-transfer can reopen the link and resume; the room
/// stays open until the transfer ends.
async fn negotiate(shared: &Shared, options: &Options, start: Start) -> Result<(), RuntimeError> {
    let (emitter, log) = {
        let s = shared.borrow();
        (s.page.emitter.clone(), s.page.log.clone())
    };
    emitter.status("signaling");
    let (mut client, secret) = match start {
        Start::Link(secret) => {
            let seal = new_seal(&secret, Role::Sender)?;
            (SignalClient::create(&options.signal_url, &secret.room_id(), log, seal).await?, secret)
        }
        Start::Code(code) => {
            let (mut client, code) = create_code_room(shared, &options.signal_url, code, &log).await?;
            emitter.emit(object(&[("type", "code".into()), ("code", code.to_string().into())]));
            emitter.status("waiting");
            let cancelled = || shared.borrow().page.finished;
            let Some(secret) =
                code_exchange::exchange_sealed(&mut client, &code, Role::Sender, &cancelled).await?
            else {
                return Ok(());
            };
            shared.borrow_mut().transfer_id = secret.transfer_id();
            (client, secret)
        }
    };
    // The sender's page going away ends the transfer for good: tell the receiver at once.
    let leave_on_unload = client.leave_on_unload();
    let result = serve(shared, options, &secret, &mut client).await;
    drop(leave_on_unload);
    if let Err(e) = &result {
        abort_if_tampered(&mut client, e).await;
    }
    client.leave().await;
    result
}

async fn serve(
    shared: &Shared,
    options: &Options,
    secret: &LinkSecret,
    client: &mut SignalClient,
) -> Result<(), RuntimeError> {
    let emitter = shared.borrow().page.emitter.clone();
    let cancelled = || shared.borrow().page.finished;
    let on_tamper = |e: &SealError| emitter.signaling_warning(e);
    let mut hello_waiting = false;
    // Set once a connection was lost: until then the link waits for its receiver as long as
    // the room lives; after, the receiver has `reconnect_window_ms` to come back.
    let mut give_up_at: Option<u64> = None;
    // After the window: waiting for a reopen, which needs signaling (an outage now ends it).
    let mut patient = false;
    loop {
        match give_up_at {
            // After the window the page already says why it waits (the `disconnected` below).
            None if patient => {}
            None => emitter.status("waiting"),
            Some(at) => emitter.reconnecting(at.saturating_sub(now_ms())),
        }
        // After a lost connection the seal was already renewed to accept the receiver's new
        // page session; a hello that ended the last connection counts for this one.
        if !std::mem::take(&mut hello_waiting) {
            let waited = if patient {
                wait_for(client, "hello", None, &cancelled, &on_tamper).await
            } else {
                wait_for_through_outages(client, "hello", give_up_at, &cancelled, &on_tamper).await
            };
            match waited {
                Ok(Some(_)) => patient = false,
                Ok(None) => return Ok(()),
                Err(RuntimeError::LinkExpired) => return Err(receiver_left()),
                // The window passed: stop retrying, but keep the link open while the room lives
                // (and signaling answers): reopening it resumes from what the receiver stored.
                Err(RuntimeError::PeerNotFound) if give_up_at.is_some() => {
                    emitter.status("waiting");
                    emitter.emit(object(&[
                        ("type", "disconnected".into()),
                        (
                            "message",
                            format!(
                                "The receiver did not come back within {} s. The link stays open: if they reopen it, the transfer resumes where it stopped.",
                                options.reconnect_window_ms / 1000
                            )
                            .into(),
                        ),
                    ]));
                    give_up_at = None;
                    patient = true;
                    continue;
                }
                Err(e) if patient => {
                    return Err(RuntimeError::Transfer(TransferError::local(
                        ErrorCode::ConnectionLost,
                        format!(
                            "the connection to the receiver was lost and signaling is unreachable ({})",
                            e.message()
                        ),
                    )))
                }
                Err(e) => return Err(e),
            }
        }
        shared.borrow_mut().restoring = give_up_at.is_some();
        match connect(shared, options, secret, client, &cancelled, &on_tamper).await {
            Ok(Outcome::Lost { rehello }) => hello_waiting = rehello,
            Ok(Outcome::Over) => return Ok(()),
            // While a lost connection is being restored, a negotiation that fails (this side's
            // network still down, the receiver gone again) waits for the next hello.
            Err(e) if give_up_at.is_some() && (is_transient(&e) || e == RuntimeError::PeerNotFound) => {}
            Err(RuntimeError::LinkExpired) => return Err(receiver_left()),
            Err(e) => return Err(e),
        }
        if options.reconnect_window_ms == 0 {
            return Err(RuntimeError::Transfer(TransferError::local(
                ErrorCode::ConnectionLost,
                "the connection to the receiver was lost",
            )));
        }
        // A fresh window after a connection that worked; one that never opened does not
        // extend the window it was trying to save.
        let window_end = now_ms() + options.reconnect_window_ms;
        if std::mem::take(&mut shared.borrow_mut().opened) {
            give_up_at = Some(window_end);
        } else {
            give_up_at.get_or_insert(window_end);
        }
    }
}

/// The receiver left the room (closed its page for good, or ended the transfer): signaling
/// says so with `peer-left`, and no reconnection can come.
fn receiver_left() -> RuntimeError {
    RuntimeError::Transfer(TransferError::local(
        ErrorCode::ConnectionLost,
        "the receiver left the transfer (closed the page or cancelled)",
    ))
}

/// How one connection attempt ended, for the loop in [`serve`].
enum Outcome {
    /// Done: completed, cancelled, or failed for good (the error is already reported).
    Over,
    /// Lost mid-transfer; `rehello` when the receiver's hello for the next one already came.
    Lost { rehello: bool },
}

/// One connection: offer, answer, then the transfer until it ends.
async fn connect(
    shared: &Shared,
    options: &Options,
    secret: &LinkSecret,
    client: &mut SignalClient,
    cancelled: &dyn Fn() -> bool,
    on_tamper: &dyn Fn(&SealError),
) -> Result<Outcome, RuntimeError> {
    let emitter = shared.borrow().page.emitter.clone();
    emitter.status("connecting");
    let ice = ice::choose(&options.ice_servers, client.ice_servers());
    emitter.emit(ice::event(&ice));
    let pc = rtc::peer_connection(&ice.servers)?;
    let dc = rtc::open_channel(&pc);
    let mut conn = driver::connection(shared, &pc, ice.source);
    conn.set_channel(dc.clone(), driver::hooks(shared, &dc));
    let (tx, rx) = oneshot::channel();
    {
        let mut s = shared.borrow_mut();
        s.page.conn = Some(conn);
        s.engine = None;
        s.ended = Some(tx);
    }
    let offer = rtc::make_offer(&pc).await?;
    client.send("offer", &offer).await?;
    let deadline = Some(now_ms() + ANSWER_WAIT_MS);
    let Some(answer) = wait_for(client, "answer", deadline, cancelled, on_tamper).await? else {
        return Ok(Outcome::Over);
    };
    rtc::set_remote(&pc, RtcSdpType::Answer, &answer).await?;
    driver::start_connect_deadline(shared, options.connect_timeout_ms);
    // While the transfer runs, a new hello means the receiver reopened the link or lost the
    // connection first: the old connection is gone even if this side has not noticed yet.
    // Polls ride out signaling outages: the transfer itself does not need signaling.
    client.reset_seal(new_seal(secret, Role::Sender)?);
    let rehello = Box::pin(wait_for_through_outages(client, "hello", None, cancelled, on_tamper));
    match futures::future::select(rx, rehello).await {
        Either::Left((Ok(Ended::Lost), _)) => Ok(Outcome::Lost { rehello: false }),
        Either::Left(_) => Ok(Outcome::Over),
        Either::Right((Ok(Some(_)), rx)) => {
            let running =
                shared.borrow_mut().engine.as_mut().map(|e| e.handle_connection_lost(now_ms())).is_some();
            if running {
                driver::pump(shared);
                let _ = rx.await;
            } else {
                let (conn, _) = {
                    let mut s = shared.borrow_mut();
                    (s.page.conn.take(), s.ended.take())
                };
                drop(conn);
            }
            Ok(Outcome::Lost { rehello: true })
        }
        Either::Right((Ok(None), _)) => Ok(Outcome::Over),
        // The receiver left while the transfer runs: its CANCEL (or the channel's end) tells the
        // engine; only a loss without one is final.
        Either::Right((Err(RuntimeError::LinkExpired), rx)) => match rx.await {
            Ok(Ended::Lost) => Err(receiver_left()),
            _ => Ok(Outcome::Over),
        },
        // Signaling failed for good (room expired, tampering) while the transfer runs peer to
        // peer: it does not need signaling, so let it finish. Only a reconnection is
        // impossible now.
        Either::Right((Err(e), rx)) if shared.borrow().engine.as_ref().is_some_and(|e| !e.is_closed()) => {
            emitter.emit(object(&[
                ("type", "signalingWarning".into()),
                (
                    "message",
                    format!(
                        "The transfer continues, but it could not resume after a disconnection: {}",
                        e.message()
                    )
                    .into(),
                ),
            ]));
            match rx.await {
                Ok(Ended::Lost) => Err(e),
                _ => Ok(Outcome::Over),
            }
        }
        Either::Right((Err(e), _)) => Err(e),
    }
}

/// Work the sender's engine asks for that needs the state released.
enum Later {
    Read(ReadRequest),
    Event(SenderEvent),
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

    fn start_engine(&mut self, pc: &RtcPeerConnection, dc: &RtcDataChannel) {
        self.opened = true;
        let config = self.flow.config(rtc::max_message_size(pc));
        let engine = Sender::new(config, self.manifest.clone(), self.transfer_id, now_ms());
        self.low_threshold = low_threshold(&engine);
        dc.set_buffered_amount_low_threshold(self.low_threshold);
        self.engine = Some(engine);
    }

    fn before_drain(&mut self) {
        let amount = self.page.channel().map_or(0, |dc| dc.buffered_amount());
        if let Some(engine) = self.engine.as_mut() {
            engine.handle_buffered_amount(now_ms(), u64::from(amount));
        }
    }

    /// The low mark grows while a new connection ramps up (`Config::buffered_start`).
    fn after_drain(&mut self) {
        let Some(low) = self.engine.as_ref().map(low_threshold) else { return };
        if low != self.low_threshold {
            self.low_threshold = low;
            if let Some(dc) = self.page.channel() {
                dc.set_buffered_amount_low_threshold(low);
            }
        }
    }

    fn take(&mut self, output: SenderOutput) -> Option<Later> {
        match output {
            SenderOutput::Read(r) => Some(Later::Read(r)),
            SenderOutput::Event(e) => Some(Later::Event(e)),
            SenderOutput::Transmit(_) => None,
        }
    }

    fn run_later(shared: &Shared, later: Vec<Later>) {
        for work in later {
            match work {
                Later::Read(r) => start_read(shared, r),
                Later::Event(e) => on_event(shared, e),
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

/// The engine's low mark as `bufferedAmountLowThreshold` (an unsigned long).
fn low_threshold(engine: &Sender) -> u32 {
    engine.buffered_low().min(u64::from(u32::MAX)) as u32
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
