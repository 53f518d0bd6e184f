//! The receiving page: joins the room named by the link, answers the sender's offer, and
//! drives a core `Receiver`, storing verified blocks in the chosen sink and handing finished
//! files out in order.

mod accept;
mod dispatch;
mod lanes;
mod negotiate;

use accept::accept;
use dispatch::dispatch;
use negotiate::{exchange_code, negotiate, reconnect};

use crate::block_hash::{self, InOrder, Subtle};
use crate::clock::now_ms;
use crate::code_exchange::Start;
use crate::driver::{self, Page, Side};
use crate::error::RuntimeError;
use crate::events::Emitter;
use crate::js_value::hex;
use crate::options::Options;
use crate::rtc;
use crate::seat_store;
use crate::signaling::SignalClient;
use crate::sink::{self, Sink};
use peerdrop_core::short_code::ShortCode;
use peerdrop_core::{ErrorCode, HaveMap, LinkSecret, Receiver, ReceiverEvent, ReceiverOutput, TransferError};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{RtcDataChannel, RtcPeerConnection};

/// Least time between two disk flushes of the staged data and have-map.
const SAVE_EVERY_MS: u64 = 500;

struct State {
    page: Page,
    transfer_id: [u8; 16],
    options: Options,
    engine: Option<Receiver>,
    sink: Option<Sink>,
    client: Option<SignalClient>,
    /// The room id, to forget the saved seat once the transfer is over.
    room: String,
    /// Engine events waiting to be handled in order (some need awaiting).
    queue: VecDeque<ReceiverEvent>,
    dispatching: bool,
    accepting: bool,
    /// When the have-map was last saved beside the staged bytes.
    last_saved_ms: u64,
    /// Whether a reload can resume this transfer (a link; not a short code, whose secret lives
    /// only in this page): only then is the have-map saved beside the staged bytes.
    resumable: bool,
    /// WebCrypto, when blocks are hashed with it (see `block_hash`), and the queue that hashes
    /// the current engine's blocks in order.
    subtle: Option<Subtle>,
    hashing: Option<InOrder>,
    /// Which engine is current: a restored connection starts a new one, and a hash or write
    /// the lost one started may still finish; its result is no longer the new engine's.
    engine_id: u32,
    /// While the engine takes a block's digest: the block's JavaScript copy (the one WebCrypto
    /// hashed), for the sink to store without copying it out of wasm memory again.
    verified_copy: Option<(u32, u64, js_sys::Uint8Array)>,
    /// While a lost connection is being restored (see `reconnect`).
    reconnecting: bool,
    /// When restoring the current loss is given up (cleared once a new channel opens).
    restore_until: Option<u64>,
    /// Ending without leaving the room or forgetting the seat: restoring was given up, and a
    /// later reopen of the link in this tab resumes.
    keep_seat: bool,
    /// The link's secret, to seal a new session's signaling when a connection is restored.
    secret: Option<LinkSecret>,
    /// What the engine of a lost connection had verified and stored, for the next engine to
    /// resume from in this page, whatever the sink (memory too).
    carried: Option<HaveMap>,
    /// Files whose `file` event went out, so that a resumed engine does not announce them again.
    files_done: Vec<u32>,
}

type Shared = Rc<RefCell<State>>;

/// A running receive, returned by `receive()`.
#[wasm_bindgen]
pub struct ReceiveHandle {
    shared: Shared,
}

#[wasm_bindgen]
impl ReceiveHandle {
    /// Accepts the offered files into the configured sink (`options.sink`, default `"auto"`:
    /// the origin-private file system where it exists, else downloads through the site's
    /// service worker where `options.serviceWorker` is set, else memory). With `{ pick: true }` it
    /// first asks where to save (File System Access): call it from a click.
    pub fn accept(&self, choice: crate::types::AcceptChoiceJs) {
        let choice: JsValue = choice.into();
        let pick = js_sys::Reflect::get(&choice, &"pick".into()).ok().and_then(|v| v.as_bool()) == Some(true);
        let target = if pick {
            let manifest = self.shared.borrow().engine.as_ref().and_then(|e| e.manifest().cloned());
            match manifest {
                Some(m) if sink::fs_access_supported() => Some(Sink::pick(&m)),
                Some(_) => {
                    let emitter = self.shared.borrow().page.emitter.clone();
                    emitter
                        .error(&RuntimeError::Storage("this browser cannot save to a picked folder".into()));
                    return;
                }
                None => return,
            }
        } else {
            None
        };
        let shared = self.shared.clone();
        spawn_local(async move { accept(&shared, target).await });
    }

    /// Stops the transfer; the sender is told it was cancelled.
    pub fn cancel(&self) {
        let running = {
            let mut s = self.shared.borrow_mut();
            let reconnecting = s.reconnecting;
            match s.engine.as_mut() {
                Some(e) if !e.is_closed() => {
                    e.cancel(now_ms(), "the receiver cancelled the transfer");
                    Some(true)
                }
                // A lost connection being restored: stop restoring it.
                Some(_) if reconnecting => Some(false),
                // Completed or failed: nothing left to cancel.
                Some(_) => None,
                None => Some(false),
            }
        };
        if running == Some(true) {
            driver::pump(&self.shared);
        } else if running == Some(false) {
            driver::fail(
                &self.shared,
                RuntimeError::Transfer(TransferError::local(
                    ErrorCode::Cancelled,
                    "the transfer was cancelled",
                )),
            );
        }
    }

    /// A summary of the connection and signaling for support (no file names, no secret).
    pub fn diagnose(&self) -> crate::types::DiagnosisPromise {
        self.shared.borrow().page.diagnose()
    }
}

/// Reads a share link (`…#secret`) or a short code (`7-guitar-orbit`).
fn parse_start(input: &str) -> Result<Start, RuntimeError> {
    let input = input.trim();
    if let Some((_, fragment)) = input.split_once('#') {
        if fragment.is_empty() {
            return Err(RuntimeError::BadLink("it has no code after '#'".into()));
        }
        return LinkSecret::from_fragment(fragment)
            .map(Start::Link)
            .map_err(|e| RuntimeError::BadLink(e.to_string()));
    }
    match ShortCode::parse(input) {
        Ok(code) => Ok(Start::Code(code)),
        // Starts like a code: say what is wrong with it as a code.
        Err(e) if input.starts_with(|c: char| c.is_ascii_digit()) => {
            Err(RuntimeError::BadCode(e.to_string()))
        }
        Err(_) => Err(RuntimeError::BadLink("it has no code after '#'".into())),
    }
}

/// Starts receiving from a share link or a short code; files arrive through `options.onEvent`.
pub fn start(link: &str, options: JsValue) -> Result<ReceiveHandle, JsValue> {
    let options = Options::from_js(&options);
    let start = parse_start(link).map_err(|e| e.to_js())?;
    let shared = Rc::new(RefCell::new(State {
        page: Page::new(Emitter::new(options.on_event.clone())),
        // Known once the link secret is: at once for a link, after the exchange for a code.
        transfer_id: start.transfer_id(),
        options,
        engine: None,
        sink: None,
        client: None,
        room: String::new(),
        queue: VecDeque::new(),
        dispatching: false,
        accepting: false,
        last_saved_ms: 0,
        resumable: matches!(start, Start::Link(_)),
        subtle: None,
        hashing: None,
        engine_id: 0,
        verified_copy: None,
        reconnecting: false,
        restore_until: None,
        keep_seat: false,
        secret: None,
        carried: None,
        files_done: Vec::new(),
    }));
    let task = shared.clone();
    spawn_local(async move {
        let (room, secret, entered) = match start {
            Start::Link(secret) => (secret.room_id(), secret, None),
            Start::Code(code) => match exchange_code(&task, &code).await {
                Ok(Some((client, secret))) => (code.room_id(), secret, Some(client)),
                Ok(None) => return,
                Err(e) => return driver::fail(&task, e),
            },
        };
        if sink::opfs_supported() {
            let _ = JsFuture::from(sink::prune_staging(&hex(&secret.transfer_id()))).await;
        }
        if let Err(e) = negotiate(&task, &room, &secret, entered).await {
            driver::fail(&task, e);
        }
    });
    Ok(ReceiveHandle { shared })
}

/// A write the sink is doing: (file, offset, its promise).
/// Work the receiver's engine asks for that needs the state released.
enum Later {
    /// A write the sink is doing: (file, offset, its promise).
    Write(u32, u64, js_sys::Promise),
    /// A lane the sender offered, to answer.
    Lane(usize, String),
}

impl Side for State {
    type Engine = Receiver;
    type Later = Later;

    fn page(&mut self) -> &mut Page {
        &mut self.page
    }

    fn engine(&mut self) -> Option<&mut Receiver> {
        self.engine.as_mut()
    }

    fn start_engine(&mut self, pc: &RtcPeerConnection, _dc: &RtcDataChannel) {
        let mut config = self.options.flow.config(rtc::max_message_size(pc));
        self.subtle = if self.options.webcrypto { block_hash::subtle() } else { None };
        if self.subtle.is_some() {
            config.block_hashing = peerdrop_core::BlockHashing::Host;
        }
        // A new engine, a new hashing queue (made by `engine_started`, with the shared state).
        self.hashing = None;
        self.engine_id = self.engine_id.wrapping_add(1);
        // The engine of a lost connection hands over what it stored; one lost before it took
        // the offer over (it verified nothing) keeps the map it was handed.
        if let Some(old) = self.engine.take().filter(|_| self.sink.is_some()) {
            if self.carried.is_none() || old.verified_bytes() > 0 {
                self.carried = Some(old.have_map().clone());
            }
        }
        self.reconnecting = false;
        self.restore_until = None;
        self.engine = Some(Receiver::new(config, self.transfer_id, now_ms()));
    }

    fn engine_started(shared: &Shared) {
        start_hashing(shared);
    }

    fn take(&mut self, output: ReceiverOutput) -> Option<Later> {
        match output {
            // Handed out only with WebCrypto (`BlockHashing::Host`), whose queue exists then.
            ReceiverOutput::Digest(d) => {
                if let Some(queue) = self.hashing.as_ref() {
                    queue.push(d);
                }
                None
            }
            ReceiverOutput::Write(w) => {
                let copy = self
                    .verified_copy
                    .take_if(|(file, offset, _)| *file == w.file && *offset == w.offset)
                    .map(|(_, _, copy)| copy)
                    .unwrap_or_else(|| js_sys::Uint8Array::from(&w.data[..]));
                let promise = self.sink.as_mut().and_then(|k| k.write(w.file, w.offset, copy));
                match promise {
                    Some(promise) => Some(Later::Write(w.file, w.offset, promise)),
                    // Stored at once (memory).
                    None => {
                        if let Some(engine) = self.engine.as_mut() {
                            engine.handle_write_done(now_ms(), w.file, w.offset);
                        }
                        None
                    }
                }
            }
            ReceiverOutput::Event(e) => {
                self.queue.push_back(e);
                None
            }
            ReceiverOutput::LaneOffer { lane, sdp } => Some(Later::Lane(lane, sdp)),
            ReceiverOutput::Transmit(_) => None,
        }
    }

    fn run_later(shared: &Shared, later: Vec<Later>) {
        let engine_id = shared.borrow().engine_id;
        for work in later {
            let (file, offset, promise) = match work {
                Later::Write(file, offset, promise) => (file, offset, promise),
                Later::Lane(lane, sdp) => {
                    lanes::answer(shared, lane, sdp);
                    continue;
                }
            };
            let shared = shared.clone();
            spawn_local(async move {
                let result = JsFuture::from(promise).await;
                {
                    let mut s = shared.borrow_mut();
                    if s.engine_id != engine_id {
                        return;
                    }
                    let Some(engine) = s.engine.as_mut() else { return };
                    match result {
                        Ok(_) => engine.handle_write_done(now_ms(), file, offset),
                        Err(e) => sink::StoreError::from_js(&e).end(engine),
                    }
                }
                driver::pump(&shared);
            });
        }
        dispatch(shared);
    }

    fn finish(shared: &Shared, failed: bool) {
        finish(shared, failed)
    }

    fn retry_unopened(shared: &Shared) -> bool {
        let retry = {
            let s = shared.borrow();
            s.reconnecting && !s.page.finished
        };
        if retry {
            let shared = shared.clone();
            spawn_local(async move { reconnect(&shared).await });
        }
        retry
    }
}

/// The queue that hashes the current engine's blocks with WebCrypto, in order.
fn start_hashing(shared: &Shared) {
    let mut s = shared.borrow_mut();
    let Some(subtle) = s.subtle.clone() else { return };
    let engine_id = s.engine_id;
    let weak = Rc::downgrade(shared);
    s.hashing = Some(InOrder::new(subtle, move |job, digest| {
        let Some(shared) = weak.upgrade() else { return };
        {
            let mut s = shared.borrow_mut();
            if s.engine_id != engine_id {
                return;
            }
            let State { engine, verified_copy, .. } = &mut *s;
            let Some(engine) = engine.as_mut() else { return };
            let offset = job.index * u64::from(engine.block_size().unwrap_or(0));
            *verified_copy = Some((job.file, offset, job.copy));
            engine.handle_block_digest(now_ms(), job.file, job.index, digest, job.data);
        }
        driver::pump(&shared);
        shared.borrow_mut().verified_copy = None;
    }));
}

/// Saves the have-map beside the staged bytes after verified progress: after every block (a
/// reload resends nothing verified), flushed to disk (slow) at most every `SAVE_EVERY_MS`. Not
/// for a short code: nothing could read the map back.
fn save_progress(shared: &Shared) {
    let save = {
        let mut s = shared.borrow_mut();
        let now = now_ms();
        let flush = now >= s.last_saved_ms + SAVE_EVERY_MS;
        let State { engine, sink, resumable, last_saved_ms, .. } = &mut *s;
        // An engine that has not taken the offer yet (a restored connection's) has nothing to
        // save, and its empty map must not replace the saved one.
        let have = engine.as_ref().map(|e| e.have_map()).filter(|h| !h.files.is_empty());
        let (Some(have), Some(sink), true) = (have, sink.as_ref(), *resumable) else { return };
        if flush {
            *last_saved_ms = now;
        }
        sink.save_progress(have, flush)
    };
    let Some(save) = save else { return };
    let shared = shared.clone();
    spawn_local(async move {
        if let Err(e) = JsFuture::from(save).await {
            if let Some(engine) = shared.borrow_mut().engine.as_mut() {
                engine.handle_write_error(now_ms(), &sink::storage_error(&e));
            }
            driver::pump(&shared);
        }
    });
}

/// Lets the last frames (DONE, ERROR) leave before the connection closes.
fn finish_later(shared: &Shared, failed: bool) {
    let shared = shared.clone();
    spawn_local(async move {
        gloo_timers::future::sleep(Duration::from_millis(1000)).await;
        finish(&shared, failed);
    });
}

fn finish(shared: &Shared, failed: bool) {
    let (client, conn, sink) = {
        let mut s = shared.borrow_mut();
        if s.page.finished && s.page.conn.is_none() && s.client.is_none() && s.sink.is_none() {
            return;
        }
        s.page.finished = true;
        let keep_seat = s.keep_seat && s.resumable;
        if !keep_seat {
            seat_store::clear(&s.room);
        }
        let client = s.client.take().filter(|_| !keep_seat);
        (client, s.page.conn.take(), s.sink.take())
    };
    drop(conn);
    spawn_local(async move {
        if let Some(sink) = sink {
            sink.close(failed).await;
        }
        if let Some(mut client) = client {
            client.leave().await;
        }
    });
}
