//! The receiving page: joins the room named by the link, answers the sender's offer, and
//! drives a core `Receiver`, storing verified blocks and handing finished files out.

use crate::channel::{self, ChannelHooks};
use crate::clock::now_ms;
use crate::error::RuntimeError;
use crate::events::{hex, manifest_to_js, object, Emitter};
use crate::memory_sink::MemorySink;
use crate::options::Options;
use crate::rtc;
use crate::signaling::{sleep, SignalClient};
use peerdrop_core::{Config, ErrorCode, Event, LinkSecret, Receiver, TransferError};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;
use web_sys::{RtcDataChannel, RtcPeerConnection};

/// How long the receiver waits for the sender's offer after joining.
const OFFER_WAIT_MS: u64 = 30_000;

struct State {
    transfer_id: [u8; 16],
    config: Config,
    memory_cap: u64,
    auto_accept: bool,
    emitter: Emitter,
    engine: Option<Receiver>,
    sink: MemorySink,
    pc: Option<RtcPeerConnection>,
    dc: Option<RtcDataChannel>,
    hooks: Option<ChannelHooks>,
    ice_hook: Option<Closure<dyn FnMut()>>,
    channel_hook: Option<Closure<dyn FnMut(web_sys::RtcDataChannelEvent)>>,
    ticker: Option<gloo_timers::callback::Interval>,
    client: Option<SignalClient>,
    finished: bool,
}

type Shared = Rc<RefCell<State>>;

/// A running receive, returned by `receive()`.
#[wasm_bindgen]
pub struct ReceiveHandle {
    shared: Shared,
}

#[wasm_bindgen]
impl ReceiveHandle {
    /// Accepts the offered files (needed only with `autoAccept: false`).
    pub fn accept(&self) {
        accept(&self.shared);
    }

    /// Stops the transfer; the sender is told it was cancelled.
    pub fn cancel(&self) {
        let running = {
            let mut s = self.shared.borrow_mut();
            match s.engine.as_mut() {
                Some(e) if !e.is_closed() => {
                    e.cancel("the receiver cancelled the transfer");
                    true
                }
                _ => false,
            }
        };
        if running {
            pump(&self.shared);
        } else {
            fail(&self.shared, RuntimeError::Transfer(TransferError::local(
                ErrorCode::Cancelled,
                "the transfer was cancelled",
            )));
        }
    }
}

/// Starts receiving from a share link; files arrive through `options.onEvent`.
pub fn start(link: &str, options: JsValue) -> Result<ReceiveHandle, JsValue> {
    let options = Options::from_js(&options);
    let fragment = link.split_once('#').map(|(_, f)| f).unwrap_or("");
    if fragment.is_empty() {
        return Err(RuntimeError::BadLink("it has no code after '#'".into()).to_js());
    }
    let secret = LinkSecret::from_fragment(fragment)
        .map_err(|e| RuntimeError::BadLink(e.to_string()).to_js())?;
    let shared = Rc::new(RefCell::new(State {
        transfer_id: secret.transfer_id(),
        config: Config::default(),
        memory_cap: options.memory_cap,
        auto_accept: options.auto_accept,
        emitter: Emitter::new(options.on_event.clone()),
        engine: None,
        sink: MemorySink::default(),
        pc: None,
        dc: None,
        hooks: None,
        ice_hook: None,
        channel_hook: None,
        ticker: None,
        client: None,
        finished: false,
    }));
    let task = shared.clone();
    let room = secret.room_id();
    spawn_local(async move {
        if let Err(e) = negotiate(&task, &options, &room).await {
            fail(&task, e);
        }
    });
    Ok(ReceiveHandle { shared })
}

async fn join(url: &str, room: &str) -> Result<SignalClient, RuntimeError> {
    // The sender creates the room as it shows the link; a very fast click may beat it.
    let mut tries = 0;
    loop {
        match SignalClient::join(url, room).await {
            Err(RuntimeError::LinkExpired) if tries < 3 => tries += 1,
            other => return other,
        }
        sleep(Duration::from_millis(700)).await;
    }
}

async fn negotiate(shared: &Shared, options: &Options, room: &str) -> Result<(), RuntimeError> {
    let emitter = shared.borrow().emitter.clone();
    emitter.status("signaling");
    let mut client = join(&options.signal_url, room).await?;
    emitter.status("connecting");
    let deadline = now_ms() + OFFER_WAIT_MS;
    let offer = loop {
        if shared.borrow().finished {
            client.leave().await;
            return Ok(());
        }
        if now_ms() > deadline {
            client.leave().await;
            return Err(RuntimeError::PeerNotFound);
        }
        if let Some(m) = client.poll().await?.into_iter().find(|m| m.kind == "offer") {
            break m.data;
        }
    };
    let pc = rtc::peer_connection(&options.ice_servers)?;
    let weak = Rc::downgrade(shared);
    let ice_hook = rtc::on_ice_failed(&pc, move || {
        if let Some(shared) = weak.upgrade() {
            fail(&shared, RuntimeError::IceFailed);
        }
    });
    let weak = Rc::downgrade(shared);
    let channel_hook = Closure::<dyn FnMut(web_sys::RtcDataChannelEvent)>::new(
        move |e: web_sys::RtcDataChannelEvent| {
            if let Some(shared) = weak.upgrade() {
                let dc = e.channel();
                dc.set_binary_type(web_sys::RtcDataChannelType::Arraybuffer);
                let hooks = hooks(&shared, &dc);
                let open = dc.ready_state() == web_sys::RtcDataChannelState::Open;
                {
                    let mut s = shared.borrow_mut();
                    s.hooks = Some(hooks);
                    s.dc = Some(dc);
                }
                if open {
                    on_open(&shared);
                }
            }
        },
    );
    pc.set_ondatachannel(Some(channel_hook.as_ref().unchecked_ref()));
    {
        let mut s = shared.borrow_mut();
        s.pc = Some(pc.clone());
        s.ice_hook = Some(ice_hook);
        s.channel_hook = Some(channel_hook);
    }
    let answer = rtc::make_answer(&pc, &offer).await?;
    client.send("answer", &answer).await?;
    shared.borrow_mut().client = Some(client);
    Ok(())
}

fn hooks(shared: &Shared, dc: &RtcDataChannel) -> ChannelHooks {
    let (a, b, c, d) = (shared.clone(), shared.clone(), shared.clone(), shared.clone());
    channel::attach(
        dc,
        move || on_open(&a),
        move |bytes| {
            if let Some(engine) = b.borrow_mut().engine.as_mut() {
                engine.handle_frame(now_ms(), &bytes);
            }
            pump(&b);
        },
        move || pump(&c),
        move || {
            let running = {
                let mut s = d.borrow_mut();
                match s.engine.as_mut() {
                    Some(e) if !e.is_closed() => {
                        e.handle_connection_lost();
                        true
                    }
                    _ => false,
                }
            };
            if running {
                pump(&d);
            } else if d.borrow().engine.is_none() {
                fail(&d, RuntimeError::Transfer(TransferError::local(
                    ErrorCode::ConnectionLost,
                    "the connection closed before the transfer started",
                )));
            }
        },
    )
}

fn on_open(shared: &Shared) {
    {
        let mut s = shared.borrow_mut();
        if s.engine.is_some() {
            return;
        }
        let Some(pc) = s.pc.clone() else { return };
        let mut config = s.config.clone();
        config.max_message_size = rtc::max_message_size(&pc);
        s.emitter.status("connected");
        s.engine = Some(Receiver::new(config, s.transfer_id, now_ms()));
        let weak = Rc::downgrade(shared);
        s.ticker = Some(gloo_timers::callback::Interval::new(100, move || {
            if let Some(shared) = weak.upgrade() {
                if let Some(e) = shared.borrow_mut().engine.as_mut() {
                    e.handle_timeout(now_ms());
                }
                pump(&shared);
            }
        }));
    }
    pump(shared);
}

fn accept(shared: &Shared) {
    {
        let mut s = shared.borrow_mut();
        let State { engine, sink, .. } = &mut *s;
        let Some(engine) = engine.as_mut() else { return };
        let Some(count) = engine.manifest().map(|m| m.files.len()) else { return };
        *sink = MemorySink::new(count);
        engine.accept(now_ms(), None);
    }
    pump(shared);
}

/// Moves everything the engine wants done: frames out, blocks stored, events delivered.
fn pump(shared: &Shared) {
    let mut events = Vec::new();
    {
        let mut s = shared.borrow_mut();
        let State { engine, dc, sink, .. } = &mut *s;
        let (Some(engine), Some(dc)) = (engine.as_mut(), dc.as_ref()) else { return };
        loop {
            let mut progressed = false;
            while let Some(w) = engine.poll_write() {
                sink.write(w.file, w.offset, &w.data);
                engine.handle_write_done(now_ms(), w.file, w.offset);
                progressed = true;
            }
            while let Some(frame) = engine.poll_transmit() {
                if !channel::send(dc, &frame) {
                    engine.handle_connection_lost();
                }
                progressed = true;
            }
            while let Some(e) = engine.poll_event() {
                events.push(e);
            }
            if !progressed {
                break;
            }
        }
    }
    for e in events {
        handle_event(shared, e);
    }
}

fn handle_event(shared: &Shared, event: Event) {
    let emitter = shared.borrow().emitter.clone();
    match event {
        Event::Offer(manifest) => {
            let total = manifest.total_size();
            let cap = shared.borrow().memory_cap;
            emitter.emit(object(&[
                ("type", "offer".into()),
                ("files", manifest_to_js(&manifest)),
                ("totalBytes", (total as f64).into()),
            ]));
            if total > cap {
                let message = format!(
                    "the files total {total} bytes, more than the {cap} bytes this page can hold in memory"
                );
                if let Some(e) = shared.borrow_mut().engine.as_mut() {
                    e.reject(&message);
                }
                pump(shared);
            } else if shared.borrow().auto_accept {
                accept(shared);
            }
        }
        Event::Progress(p) => emitter.progress(&p),
        Event::BlockRejected { file, index, attempt } => emitter.emit(object(&[
            ("type", "blockRejected".into()),
            ("file", file.into()),
            ("block", (index as f64).into()),
            ("attempt", attempt.into()),
        ])),
        Event::FileComplete { file, sha256 } => {
            let entry = shared
                .borrow()
                .engine
                .as_ref()
                .and_then(|e| e.manifest().map(|m| m.files[file as usize].clone()));
            let Some(entry) = entry else { return };
            let blob = shared.borrow_mut().sink.take_blob(file, &entry.mime);
            match blob {
                Ok(blob) => emitter.emit(object(&[
                    ("type", "file".into()),
                    ("index", file.into()),
                    ("path", entry.path.as_str().into()),
                    ("size", (entry.size as f64).into()),
                    ("mime", entry.mime.as_str().into()),
                    ("sha256", sha256.map_or(JsValue::NULL, |d| hex(&d).into())),
                    ("blob", blob.into()),
                ])),
                Err(e) => fail(shared, RuntimeError::Browser(crate::error::describe(&e))),
            }
        }
        Event::Stalled { idle_ms } => emitter.emit(object(&[
            ("type", "stalled".into()),
            ("idleMs", (idle_ms as f64).into()),
        ])),
        Event::Complete => {
            emitter.status("complete");
            emitter.emit(object(&[("type", "complete".into())]));
            finish_later(shared);
        }
        Event::Failed(err) => {
            emitter.error(&RuntimeError::Transfer(err));
            finish_later(shared);
        }
        Event::Accepted { .. } => {}
    }
}

fn fail(shared: &Shared, error: RuntimeError) {
    if shared.borrow().finished {
        return;
    }
    let emitter = shared.borrow().emitter.clone();
    emitter.error(&error);
    finish(shared);
}

/// Lets the last frames (DONE, ERROR) leave before the connection closes.
fn finish_later(shared: &Shared) {
    let shared = shared.clone();
    spawn_local(async move {
        gloo_timers::future::sleep(Duration::from_millis(1000)).await;
        finish(&shared);
    });
}

fn finish(shared: &Shared) {
    let (client, pc, ice_hook, channel_hook) = {
        let mut s = shared.borrow_mut();
        if s.finished && s.pc.is_none() && s.client.is_none() {
            return;
        }
        s.finished = true;
        s.ticker = None;
        s.hooks = None;
        s.dc = None;
        (s.client.take(), s.pc.take(), s.ice_hook.take(), s.channel_hook.take())
    };
    if let Some(pc) = pc {
        pc.set_oniceconnectionstatechange(None);
        pc.set_ondatachannel(None);
        pc.close();
    }
    drop((ice_hook, channel_hook));
    if let Some(mut client) = client {
        spawn_local(async move { client.leave().await });
    }
}
