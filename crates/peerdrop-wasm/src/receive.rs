//! The receiving page: joins the room named by the link, answers the sender's offer, and
//! drives a core `Receiver`, storing verified blocks in the chosen sink and handing finished
//! files out in order.

use crate::block_hash::{self, InOrder, Subtle};
use crate::clock::now_ms;
use crate::code_exchange::{self, Start};
use crate::connection::Connection;
use crate::driver::{self, Page, Side};
use crate::error::RuntimeError;
use crate::events::{manifest_to_js, Emitter};
use crate::js_value::{hex, object};
use crate::memory_sink::MemorySink;
use crate::options::Options;
use crate::seat_store;
use crate::signaling::{
    abort_if_tampered, is_transient, new_seal, sleep, wait_for, wait_for_through_outages, SharedLog,
    SignalClient,
};
use crate::sink::{self, Finished, Sink, SinkKind};
use crate::{ice, rtc};
use peerdrop_core::frame::Role;
use peerdrop_core::seal::SealError;
use peerdrop_core::short_code::ShortCode;
use peerdrop_core::{
    ErrorCode, HaveMap, LinkSecret, Manifest, Origin, Receiver, ReceiverEvent, ReceiverOutput, TransferError,
};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{RtcDataChannel, RtcPeerConnection};

/// Least time between two disk flushes of the staged data and have-map.
const SAVE_EVERY_MS: u64 = 500;

/// How long the receiver waits for the sender's offer after joining.
const OFFER_WAIT_MS: u64 = 30_000;

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

/// Joins a short code's room and runs the key exchange; the client comes back sealed with
/// the agreed secret. `Ok(None)` when cancelled.
async fn exchange_code(
    shared: &Shared,
    code: &ShortCode,
) -> Result<Option<(SignalClient, LinkSecret)>, RuntimeError> {
    let (emitter, url, log) = {
        let s = shared.borrow();
        (s.page.emitter.clone(), s.options.signal_url.clone(), s.page.log.clone())
    };
    emitter.status("signaling");
    let mut client = SignalClient::join_for_code(&url, &code.room_id(), log).await.map_err(|e| match e {
        RuntimeError::LinkExpired => RuntimeError::CodeUnknown,
        RuntimeError::LinkInUse => RuntimeError::CodeUsed,
        other => other,
    })?;
    let cancelled = || shared.borrow().page.finished;
    let Some(secret) = code_exchange::exchange_sealed(&mut client, code, Role::Receiver, &cancelled).await?
    else {
        return Ok(None);
    };
    shared.borrow_mut().transfer_id = secret.transfer_id();
    Ok(Some((client, secret)))
}

async fn join(
    url: &str,
    room: &str,
    log: &SharedLog,
    secret: &LinkSecret,
) -> Result<SignalClient, RuntimeError> {
    // The sender creates the room as it shows the link; a very fast click may beat it.
    let mut tries = 0;
    loop {
        let seal = new_seal(secret, Role::Receiver)?;
        match SignalClient::join(url, room, log.clone(), seal).await {
            Err(RuntimeError::LinkExpired) if tries < 3 => tries += 1,
            other => return other,
        }
        sleep(Duration::from_millis(700)).await;
    }
}

/// Takes up the seat this tab held before a reload, or joins the room; then says `hello`.
async fn enter(
    url: &str,
    room: &str,
    log: &SharedLog,
    secret: &LinkSecret,
) -> Result<SignalClient, RuntimeError> {
    if let Some(seat) = seat_store::load(room) {
        let mut client = SignalClient::resume(url, seat, log.clone(), new_seal(secret, Role::Receiver)?);
        match client.send("hello", "").await {
            Ok(()) => return Ok(client),
            // The seat expired or the room is gone: fall back to joining afresh.
            Err(RuntimeError::Signaling { status: 401 | 404 | 409 | 410, .. }) => seat_store::clear(room),
            Err(e) => return Err(e),
        }
    }
    let mut client = join(url, room, log, secret).await?;
    client.send("hello", "").await?;
    Ok(client)
}

/// Says `hello` (joining the room first unless a short-code exchange already did), then
/// takes the sender's offer and answers it. Only a link's seat is kept for a reload: a
/// short code's secret exists only in this page.
async fn negotiate(
    shared: &Shared,
    room: &str,
    secret: &LinkSecret,
    entered: Option<SignalClient>,
) -> Result<(), RuntimeError> {
    let (emitter, url, log) = {
        let s = shared.borrow();
        (s.page.emitter.clone(), s.options.signal_url.clone(), s.page.log.clone())
    };
    // Known before anything can fail, so that ending forgets the seat saved for this room.
    shared.borrow_mut().room = room.to_string();
    shared.borrow_mut().secret = Some(secret.clone());
    let resumable = shared.borrow().resumable;
    let save_seat = |client: &SignalClient| {
        if resumable {
            seat_store::save(room, &client.seat());
        }
    };
    let mut client = match entered {
        Some(mut client) => {
            client.send("hello", "").await?;
            client
        }
        None => {
            emitter.status("signaling");
            enter(&url, room, &log, secret).await?
        }
    };
    save_seat(&client);
    emitter.status("connecting");
    let cancelled = || shared.borrow().page.finished;
    let on_tamper = |e: &SealError| emitter.signaling_warning(e);
    let deadline = Some(now_ms() + OFFER_WAIT_MS);
    let offer = wait_for(&mut client, "offer", deadline, &cancelled, &on_tamper).await;
    save_seat(&client);
    let offer = match offer {
        Ok(Some(offer)) => offer,
        Ok(None) => {
            client.leave().await;
            return Ok(());
        }
        Err(e) => {
            abort_if_tampered(&mut client, &e).await;
            client.leave().await;
            seat_store::clear(room);
            return Err(e);
        }
    };
    if let Err(e) = answer(shared, &offer, &mut client).await {
        client.leave().await;
        seat_store::clear(room);
        return Err(e);
    }
    save_seat(&client);
    shared.borrow_mut().client = Some(client);
    Ok(())
}

/// Makes the peer connection for `offer` and sends the answer.
async fn answer(shared: &Shared, offer: &str, client: &mut SignalClient) -> Result<(), RuntimeError> {
    let (ice, timeout_ms) = {
        let s = shared.borrow();
        (ice::choose(&s.options.ice_servers, client.ice_servers()), s.options.connect_timeout_ms)
    };
    let emitter = shared.borrow().page.emitter.clone();
    emitter.emit(ice::event(&ice));
    let pc = rtc::peer_connection(&ice.servers)?;
    let mut conn = driver::connection(shared, &pc, ice.source);
    let weak = Rc::downgrade(shared);
    conn.set_channel_hook(Closure::new(move |e: web_sys::RtcDataChannelEvent| {
        if let Some(shared) = weak.upgrade() {
            on_channel(&shared, e.channel());
        }
    }));
    shared.borrow_mut().page.conn = Some(conn);
    let answer = rtc::make_answer(&pc, offer).await?;
    client.send("answer", &answer).await?;
    driver::start_connect_deadline(shared, timeout_ms);
    Ok(())
}

fn on_channel(shared: &Shared, dc: RtcDataChannel) {
    dc.set_binary_type(web_sys::RtcDataChannelType::Arraybuffer);
    let hooks = driver::hooks(shared, &dc);
    // Announced channels are usually open already, and then may fire no `open` event.
    let open = dc.ready_state() == web_sys::RtcDataChannelState::Open;
    if let Some(conn) = shared.borrow_mut().page.conn.as_mut() {
        conn.set_channel(dc, hooks);
    }
    if open {
        driver::open(shared);
    }
}

/// A write the sink is doing: (file, offset, its promise).
type Later = (u32, u64, js_sys::Promise);

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
                    Some(promise) => Some((w.file, w.offset, promise)),
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
            ReceiverOutput::Transmit(_) => None,
        }
    }

    fn run_later(shared: &Shared, writes: Vec<Later>) {
        let engine_id = shared.borrow().engine_id;
        for (file, offset, promise) in writes {
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

/// Opens the sink and accepts the offer. `picked` is the pending result of a save dialog.
async fn accept(shared: &Shared, picked: Option<js_sys::Promise>) {
    let (manifest, name, options, emitter) = {
        let mut s = shared.borrow_mut();
        if s.accepting || s.sink.is_some() || s.page.finished {
            return;
        }
        let Some(m) = s.engine.as_ref().and_then(|e| e.manifest().cloned()) else {
            // Accepted before the offer arrived: accept it as soon as it does.
            s.options.auto_accept = true;
            return;
        };
        s.accepting = true;
        (m, hex(&s.transfer_id), s.options.clone(), s.page.emitter.clone())
    };
    let opened = open_sink(&manifest, &name, &options, picked).await;
    shared.borrow_mut().accepting = false;
    let (sink, resume) = match opened {
        Ok(Some(pair)) => pair,
        Ok(None) => {
            // The person closed the save dialog: the offer stays open for another choice.
            emitter.emit(object(&[("type", "pickCancelled".into())]));
            return;
        }
        Err(e) => {
            if let Some(engine) = shared.borrow_mut().engine.as_mut() {
                engine.reject(now_ms(), &e.message());
            }
            driver::pump(shared);
            driver::fail(shared, e);
            return;
        }
    };
    let kind = sink.kind().name();
    shared.borrow_mut().sink = Some(sink);
    start_accepted(shared, kind, resume);
}

/// Accepts the offer into the open sink, resuming from `resume`, and says so.
fn start_accepted(shared: &Shared, sink_kind: &'static str, resume: Option<HaveMap>) {
    let (emitter, resumed) = {
        let mut s = shared.borrow_mut();
        let resumed = s.engine.as_mut().map_or(0, |engine| {
            engine.accept(now_ms(), resume);
            engine.verified_bytes()
        });
        (s.page.emitter.clone(), resumed)
    };
    emitter.emit(object(&[
        ("type", "accepted".into()),
        ("sink", sink_kind.into()),
        ("resumedBytes", (resumed as f64).into()),
    ]));
    emitter.status("transferring");
    driver::pump(shared);
}

/// Where bytes go when nothing on disk can be written at random places: a streamed download
/// keeps memory flat, so it comes before memory where the site enables it.
fn without_disk(options: &Options) -> SinkKind {
    if options.service_worker.is_some() && sink::download_supported() {
        SinkKind::Download
    } else {
        SinkKind::Memory
    }
}

async fn open_sink(
    manifest: &Manifest,
    name: &str,
    options: &Options,
    picked: Option<js_sys::Promise>,
) -> Result<Option<(Sink, Option<HaveMap>)>, RuntimeError> {
    if let Some(picked) = picked {
        return match JsFuture::from(picked).await {
            Ok(target) => Ok(Some((Sink::picked(target, manifest), None))),
            Err(e) if sink::error_name(&e) == "AbortError" => Ok(None),
            Err(e) => Err(RuntimeError::Storage(sink::storage_error(&e))),
        };
    }
    let auto = options.sink.is_none();
    let kind =
        options.sink.unwrap_or(if sink::opfs_supported() { SinkKind::Opfs } else { without_disk(options) });
    match kind {
        SinkKind::Opfs => match Sink::open_opfs(name, manifest, options.storage_worker_url.clone()).await {
            Ok((sink, saved)) => {
                let resume = saved.and_then(|bytes| HaveMap::from_bytes(&bytes).ok());
                Ok(Some((sink, resume)))
            }
            // No synchronous access handles, or OPFS switched off: stream downloads or keep
            // the files in memory.
            Err(RuntimeError::Unsupported) if auto => {
                open_without_disk(manifest, options, without_disk(options)).await
            }
            Err(RuntimeError::Unsupported) => Err(RuntimeError::Storage(
                "this browser cannot stage files on disk; receive into memory instead".into(),
            )),
            Err(e) => Err(e),
        },
        kind => open_without_disk(manifest, options, kind).await,
    }
}

/// Opens the download or the memory sink; "auto" falls back to memory when the service
/// worker cannot be started (memory announces its cap before any byte moves).
async fn open_without_disk(
    manifest: &Manifest,
    options: &Options,
    kind: SinkKind,
) -> Result<Option<(Sink, Option<HaveMap>)>, RuntimeError> {
    if kind == SinkKind::Download {
        let Some(url) = options.service_worker.as_deref() else {
            return Err(RuntimeError::Storage(
                "this site is not set up to save files as downloads (its `serviceWorker` option is missing)"
                    .into(),
            ));
        };
        match Sink::open_download(url, manifest, options.memory_cap).await {
            Ok(sink) => return Ok(Some((sink, None))),
            Err(_) if options.sink.is_none() => {}
            Err(RuntimeError::Unsupported) => {
                return Err(RuntimeError::Storage(
                    "this browser offers this page no service worker to stream downloads through (a private window, or a page not served over HTTPS)".into(),
                ))
            }
            Err(e) => return Err(e),
        }
    }
    let needed = manifest.total_size();
    if needed > options.memory_cap {
        return Err(RuntimeError::TooLargeForMemory { needed, cap: options.memory_cap });
    }
    Ok(Some((Sink::Memory(MemorySink::new(manifest.files.len())), None)))
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

/// Handles queued events one at a time, in order, even when one of them must await.
fn dispatch(shared: &Shared) {
    {
        let mut s = shared.borrow_mut();
        if s.dispatching || s.queue.is_empty() {
            return;
        }
        s.dispatching = true;
    }
    let shared = shared.clone();
    spawn_local(async move {
        loop {
            let next = shared.borrow_mut().queue.pop_front();
            let Some(event) = next else { break };
            handle_event(&shared, event).await;
        }
        shared.borrow_mut().dispatching = false;
    });
}

async fn handle_event(shared: &Shared, event: ReceiverEvent) {
    let emitter = shared.borrow().page.emitter.clone();
    match event {
        ReceiverEvent::Offer(manifest) => {
            let carried = {
                let mut s = shared.borrow_mut();
                if s.sink.is_some() {
                    s.carried.take()
                } else {
                    None
                }
            };
            if let Some(have) = carried {
                return resume_in_page(shared, have);
            }
            emitter.emit(object(&[
                ("type", "offer".into()),
                ("files", manifest_to_js(&manifest)),
                ("totalBytes", (manifest.total_size() as f64).into()),
                ("canPick", sink::fs_access_supported().into()),
            ]));
            if shared.borrow().options.auto_accept {
                accept(shared, None).await;
            }
        }
        ReceiverEvent::Progress(p) => {
            save_progress(shared);
            emitter.progress(&p)
        }
        ReceiverEvent::BlockRejected { file, index, attempt } => emitter.emit(object(&[
            ("type", "blockRejected".into()),
            ("file", file.into()),
            ("block", (index as f64).into()),
            ("attempt", attempt.into()),
        ])),
        ReceiverEvent::FileComplete { file, digest } => {
            if shared.borrow().files_done.contains(&file) {
                return;
            }
            let entry = shared
                .borrow()
                .engine
                .as_ref()
                .and_then(|e| e.manifest().map(|m| m.files[file as usize].clone()));
            let Some(entry) = entry else { return };
            let finish = match shared.borrow_mut().sink.as_mut() {
                Some(sink) => sink.finish_file(file, &entry.path, &entry.mime),
                None => return,
            };
            match finish.resolve().await {
                Ok(done) => {
                    let (blob, saved) = match done {
                        Finished::Blob(b) => (b, false),
                        Finished::Saved => (JsValue::NULL, true),
                    };
                    shared.borrow_mut().files_done.push(file);
                    emitter.emit(object(&[
                        ("type", "file".into()),
                        ("index", file.into()),
                        ("path", entry.path.as_str().into()),
                        ("size", (entry.size as f64).into()),
                        ("mime", entry.mime.as_str().into()),
                        ("digest", digest.map_or(JsValue::NULL, |d| hex(&d).into())),
                        ("blob", blob),
                        ("saved", saved.into()),
                    ]));
                }
                Err(why) => {
                    if let Some(engine) = shared.borrow_mut().engine.as_mut() {
                        why.end(engine);
                    }
                    driver::pump(shared);
                }
            }
        }
        ReceiverEvent::Stalled { idle_ms } => {
            let (code, message) = shared
                .borrow()
                .page
                .conn
                .as_ref()
                .map(|c| c.stall_diagnosis())
                .unwrap_or(("channel_closed", "the connection is gone"));
            emitter.emit(object(&[
                ("type", "stalled".into()),
                ("idleMs", (idle_ms as f64).into()),
                ("diagnosis", code.into()),
                ("message", message.into()),
            ]));
            if Connection::peer_gone(code) {
                if let Some(engine) = shared.borrow_mut().engine.as_mut() {
                    engine.handle_connection_lost(now_ms());
                }
                driver::pump(shared);
            }
        }
        ReceiverEvent::Complete => {
            emitter.status("complete");
            emitter.emit(object(&[("type", "complete".into())]));
            finish_later(shared, false);
        }
        ReceiverEvent::Failed(err) if reconnectable(&shared.borrow(), &err) => {
            shared.borrow_mut().reconnecting = true;
            let shared = shared.clone();
            spawn_local(async move { reconnect(&shared).await });
        }
        ReceiverEvent::Failed(err) => {
            // A runtime failure (storage, memory cap) already told the page, more precisely.
            if !shared.borrow().page.finished {
                emitter.error(&RuntimeError::Transfer(err));
            }
            finish_later(shared, true);
        }
    }
}

/// Whether the transfer ended because this side lost the connection, which a new one may fix:
/// not a failure the sender reported, not a cancel, not storage.
fn reconnectable(s: &State, err: &TransferError) -> bool {
    err.origin == Origin::Local
        && matches!(err.code, ErrorCode::ConnectionLost | ErrorCode::Timeout)
        && s.options.reconnect_window_ms > 0
        && s.client.is_some()
        && s.sink.is_some()
        && !s.page.finished
}

/// Restores a lost connection within the reconnect window: says hello again (riding out a
/// signaling outage: the network may still be down), takes the sender's new offer and answers
/// it. The lost connection's engine stays until the new channel opens and hands its have-map
/// over (`start_engine`), so no verified block is requested again.
async fn reconnect(shared: &Shared) {
    let (emitter, window_ms, give_up_at) = {
        let mut s = shared.borrow_mut();
        s.reconnecting = true;
        let window_ms = s.options.reconnect_window_ms;
        // A new connection that failed to open tries again within the window of the loss.
        let give_up_at = *s.restore_until.get_or_insert(now_ms() + window_ms);
        (s.page.emitter.clone(), window_ms, give_up_at)
    };
    let (conn, client) = {
        let mut s = shared.borrow_mut();
        (s.page.conn.take(), s.client.take())
    };
    drop(conn);
    let Some(mut client) = client else { return };
    let cancelled = || shared.borrow().page.finished;
    let on_tamper = |e: &SealError| emitter.signaling_warning(e);
    let secret = shared.borrow().secret.clone();
    let result = async {
        // A new signaling session on both sides: the sender renewed its seal once the last
        // connection was up, and now accepts the first new session it hears from.
        let secret =
            secret.ok_or_else(|| RuntimeError::Browser("no link secret to reconnect with".into()))?;
        client.reset_seal(new_seal(&secret, Role::Receiver)?);
        loop {
            emitter.reconnecting(give_up_at.saturating_sub(now_ms()));
            match client.send("hello", "").await {
                Ok(()) => break,
                Err(e) if is_transient(&e) && now_ms() < give_up_at && !cancelled() => {
                    sleep(Duration::from_secs(2)).await
                }
                Err(e) => return Err(e),
            }
        }
        match wait_for_through_outages(&mut client, "offer", Some(give_up_at), &cancelled, &on_tamper).await?
        {
            Some(offer) if !cancelled() => answer(shared, &offer, &mut client).await.map(|()| true),
            _ => Ok(false),
        }
    }
    .await;
    let room = shared.borrow().room.clone();
    // Cancelled meanwhile: `finish` found no client to leave with, so leave here.
    if shared.borrow().page.finished {
        seat_store::clear(&room);
        client.leave().await;
        return;
    }
    if shared.borrow().resumable {
        seat_store::save(&room, &client.seat());
    }
    shared.borrow_mut().client = Some(client);
    match result {
        Ok(_) => {}
        // Given up: the seat is kept and the room not left, so that reopening the link in this
        // tab later takes the seat up again and resumes from what was stored.
        Err(RuntimeError::PeerNotFound) | Err(RuntimeError::SignalingUnreachable(_)) => {
            shared.borrow_mut().keep_seat = true;
            driver::fail(
                shared,
                RuntimeError::Transfer(TransferError::local(
                    ErrorCode::ConnectionLost,
                    format!(
                        "the connection to the sender was lost and could not be restored within {} s; reopen the link to resume",
                        window_ms / 1000
                    ),
                )),
            )
        }
        // The sender left the room (closed its page): the room answers 410 to the hello.
        Err(RuntimeError::Signaling { status: 410, .. }) => driver::fail(shared, RuntimeError::LinkExpired),
        Err(e) => driver::fail(shared, e),
    }
}

/// Takes up a lost transfer on a new connection of the same page: the sink is open, so the
/// offer is accepted at once with what the lost connection verified.
fn resume_in_page(shared: &Shared, have: HaveMap) {
    let kind = shared.borrow().sink.as_ref().map_or("memory", |k| k.kind().name());
    start_accepted(shared, kind, Some(have));
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
