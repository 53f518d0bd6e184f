//! The one driver both pages share: it feeds an engine the channel's messages, timer ticks
//! and a lost connection, drains what the engine wants done (sending every message itself, so
//! that a refused send is handled one way on both sides), starts the engine when the channel
//! opens, and ends the transfer one way. Each page says only how to make its engine and what
//! to do with the outputs that are not messages.

use crate::channel::{self, ChannelHooks};
use crate::clock::now_ms;
use crate::connection::Connection;
use crate::error::RuntimeError;
use crate::events::Emitter;
use crate::signaling::SharedLog;
use crate::{ice, rtc};
use peerdrop_core::{ErrorCode, Receiver, ReceiverOutput, Sender, SenderOutput, TransferError};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen_futures::spawn_local;
use web_sys::{RtcDataChannel, RtcPeerConnection};

/// The calls the driver makes on either core engine.
pub trait Engine {
    type Output;
    fn handle_frame(&mut self, now_ms: u64, bytes: &[u8]);
    fn handle_timeout(&mut self, now_ms: u64);
    fn handle_connection_lost(&mut self, now_ms: u64);
    fn handle_round_trip(&mut self, now_ms: u64, rtt_ms: u64);
    fn poll_output(&mut self) -> Option<Self::Output>;
    /// The message to send and its lane, if `output` is one; otherwise the output back.
    fn message(output: Self::Output) -> Result<(usize, Vec<u8>), Self::Output>;
    fn is_closed(&self) -> bool;
}

macro_rules! engine {
    ($t:ty, $output:ident, $message:pat => $lane_frame:expr) => {
        impl Engine for $t {
            type Output = $output;
            fn handle_frame(&mut self, now_ms: u64, bytes: &[u8]) {
                <$t>::handle_frame(self, now_ms, bytes)
            }
            fn handle_timeout(&mut self, now_ms: u64) {
                <$t>::handle_timeout(self, now_ms)
            }
            fn handle_connection_lost(&mut self, now_ms: u64) {
                <$t>::handle_connection_lost(self, now_ms)
            }
            fn handle_round_trip(&mut self, now_ms: u64, rtt_ms: u64) {
                <$t>::handle_round_trip(self, now_ms, rtt_ms)
            }
            fn poll_output(&mut self) -> Option<$output> {
                <$t>::poll_output(self)
            }
            fn message(output: $output) -> Result<(usize, Vec<u8>), $output> {
                match output {
                    $message => Ok($lane_frame),
                    other => Err(other),
                }
            }
            fn is_closed(&self) -> bool {
                <$t>::is_closed(self)
            }
        }
    };
}
engine!(Sender, SenderOutput, SenderOutput::Transmit { lane, frame } => (lane, frame));
// The receiver speaks only on the first connection.
engine!(Receiver, ReceiverOutput, ReceiverOutput::Transmit(frame) => (0, frame));

/// What every page has, whichever side it is.
pub struct Page {
    pub emitter: Emitter,
    pub log: SharedLog,
    pub conn: Option<Connection>,
    /// Set once the transfer ended (completed, failed or cancelled) for this page.
    pub finished: bool,
}

impl Page {
    pub fn new(emitter: Emitter) -> Self {
        Page { emitter, log: SharedLog::default(), conn: None, finished: false }
    }

    pub fn channel(&self) -> Option<&RtcDataChannel> {
        self.conn.as_ref().and_then(|c| c.dc.as_ref())
    }

    /// A summary of the connection and signaling for support (no file names, no secret).
    pub fn diagnose(&self) -> crate::types::DiagnosisPromise {
        crate::diagnose::of(self.conn.as_ref(), &self.log)
    }
}

/// One page's state, as the driver needs it.
pub trait Side: Sized + 'static {
    type Engine: Engine;
    /// Work that needs the page's state released first (starting a read, awaiting a write).
    type Later;
    fn page(&mut self) -> &mut Page;
    fn engine(&mut self) -> Option<&mut Self::Engine>;
    /// Creates the engine for a channel that just opened.
    fn start_engine(&mut self, pc: &RtcPeerConnection, dc: &RtcDataChannel);
    /// Runs once the new engine is in place, with the shared state (default: nothing).
    fn engine_started(_shared: &Rc<RefCell<Self>>) {}
    /// Before the engine is drained (the sender reads the channel's `bufferedAmount`).
    fn before_drain(&mut self) {}
    /// After it was drained (the sender moves its low-water mark).
    fn after_drain(&mut self) {}
    /// An output that is not a message: done at once, or handed back as work for later.
    fn take(&mut self, output: <Self::Engine as Engine>::Output) -> Option<Self::Later>;
    /// Does the work `take` handed back, with the state released.
    fn run_later(shared: &Rc<RefCell<Self>>, later: Vec<Self::Later>);
    /// Releases the connection (and whatever else the page holds) once the transfer ended.
    fn finish(shared: &Rc<RefCell<Self>>, failed: bool);
    /// A connection that never opened (ICE failed, or the connect deadline passed): while this
    /// side is restoring a lost connection it tries again within that loss's window and says
    /// `true`; otherwise `false`, and the transfer fails with `ice_failed`.
    fn retry_unopened(shared: &Rc<RefCell<Self>>) -> bool;
}

/// Moves everything the engine wants done: messages out on the channel, the rest to the page.
/// A message the channel refuses means the connection is gone, on either side.
pub fn pump<S: Side>(shared: &Rc<RefCell<S>>) {
    let mut later = Vec::new();
    {
        let mut s = shared.borrow_mut();
        if s.engine().is_none() || s.page().channel().is_none() {
            return;
        }
        s.before_drain();
        while let Some(output) = s.engine().and_then(|e| e.poll_output()) {
            match S::Engine::message(output) {
                Ok((lane, bytes)) => {
                    let conn = s.page().conn.as_ref();
                    let sent =
                        conn.and_then(|c| c.channel_of(lane)).is_some_and(|dc| channel::send(dc, &bytes));
                    if !sent {
                        if let Some(engine) = s.engine() {
                            engine.handle_connection_lost(now_ms());
                        }
                    }
                }
                Err(other) => later.extend(s.take(other)),
            }
        }
        s.after_drain();
    }
    S::run_later(shared, later);
}

/// Runs `f` on the page's state if `pc` is still lane `lane` of its current connection (a
/// callback or an answer that comes after the connection was replaced belongs to none), then
/// drains the engine.
pub fn on_lane<S: Side>(
    shared: &Rc<RefCell<S>>,
    lane: usize,
    pc: &RtcPeerConnection,
    f: impl FnOnce(&mut S),
) {
    {
        let mut s = shared.borrow_mut();
        if !s.page().conn.as_ref().is_some_and(|c| c.is_lane(lane, pc)) {
            return;
        }
        f(&mut s);
    }
    pump(shared);
}

/// Marks lane `lane` of the page's connection as opened.
pub fn lane_opened<S: Side>(s: &mut S, lane: usize) {
    if let Some(l) = s.page().conn.as_mut().and_then(|c| c.lane_mut(lane)) {
        l.opened = true;
    }
}

/// Whether lane `lane` of the page's connection opened.
pub fn lane_was_opened<S: Side>(s: &mut S, lane: usize) -> bool {
    s.page().conn.as_ref().and_then(|c| c.lane(lane)).is_some_and(|l| l.opened)
}

/// Ends the transfer with `error`, once: the page hears it, and the connection is released
/// on the next turn (this may run inside a callback of the very connection it releases, and a
/// closure must not be dropped while it runs).
pub fn fail<S: Side>(shared: &Rc<RefCell<S>>, error: RuntimeError) {
    let emitter = {
        let mut s = shared.borrow_mut();
        let page = s.page();
        if page.finished {
            return;
        }
        page.finished = true;
        page.emitter.clone()
    };
    emitter.error(&error);
    let shared = shared.clone();
    spawn_local(async move { S::finish(&shared, true) });
}

/// Feeds the engine, if one runs, that the connection is lost, and drains it.
fn lose<S: Side>(shared: &Rc<RefCell<S>>) -> bool {
    let running = match shared.borrow_mut().engine() {
        Some(e) if !e.is_closed() => {
            e.handle_connection_lost(now_ms());
            true
        }
        _ => false,
    };
    if running {
        pump(shared);
    }
    running
}

/// A connection whose ICE failure before its channel opened fails the transfer, saying why
/// (`RuntimeError::ice_failed`); after, the path died (a network change, a long outage), and the engine
/// learns that the connection is lost, so that the page may restore it.
pub fn connection<S: Side>(
    shared: &Rc<RefCell<S>>,
    pc: &RtcPeerConnection,
    ice_source: ice::Source,
) -> Connection {
    let weak = Rc::downgrade(shared);
    let pc2 = pc.clone();
    let ice_hook = rtc::on_ice_failed(pc, move || {
        let Some(shared) = weak.upgrade() else { return };
        let opened = shared.borrow_mut().page().conn.as_ref().is_some_and(|c| c.is_open());
        if !opened {
            if !S::retry_unopened(&shared) {
                fail(&shared, RuntimeError::ice_failed(&pc2, ice_source));
            }
            return;
        }
        lose(&shared);
    });
    Connection::new(pc.clone(), ice_source, ice_hook)
}

/// Both descriptions are known: unless the channel opens within `timeout_ms`, the connection
/// fails with `ice_failed`. Browsers may go on checking candidate pairs for a minute or more;
/// a person waiting should hear within seconds that this path does not work, and why.
pub fn start_connect_deadline<S: Side>(shared: &Rc<RefCell<S>>, timeout_ms: u32) {
    let weak = Rc::downgrade(shared);
    if let Some(conn) = shared.borrow_mut().page().conn.as_mut() {
        let (pc, source) = (conn.pc.clone(), conn.ice_source);
        conn.set_connect_deadline(timeout_ms, move || {
            // The deadline lives in the connection: it fires only while that connection is
            // current and its channel never opened.
            if let Some(shared) = weak.upgrade() {
                if !S::retry_unopened(&shared) {
                    fail(&shared, RuntimeError::ice_failed(&pc, source));
                }
            }
        });
    }
}

/// The channel's callbacks, routed to the engine.
pub fn hooks<S: Side>(shared: &Rc<RefCell<S>>, dc: &RtcDataChannel) -> ChannelHooks {
    let (a, b, c, d) = (shared.clone(), shared.clone(), shared.clone(), shared.clone());
    channel::attach(
        dc,
        move || open(&a),
        move |bytes| {
            if let Some(engine) = b.borrow_mut().engine() {
                engine.handle_frame(now_ms(), bytes);
            }
            pump(&b);
        },
        move || pump(&c),
        move || closed(&d),
    )
}

/// Starts the engine once the channel is open (a second call does nothing), with a ticker
/// for its timeouts, and reports `connected`.
pub fn open<S: Side>(shared: &Rc<RefCell<S>>) {
    let pc = {
        let mut s = shared.borrow_mut();
        // Once per connection: a restored connection starts a new engine even though the lost
        // one's is still there (it hands its have-map over).
        let Some((pc, dc)) =
            s.page().conn.as_ref().filter(|c| !c.is_open()).and_then(|c| Some((c.pc.clone(), c.dc.clone()?)))
        else {
            return;
        };
        s.start_engine(&pc, &dc);
        let weak = Rc::downgrade(shared);
        if let Some(conn) = s.page().conn.as_mut() {
            conn.connected();
            conn.start_ticker(move || {
                if let Some(shared) = weak.upgrade() {
                    if let Some(e) = shared.borrow_mut().engine() {
                        e.handle_timeout(now_ms());
                    }
                    pump(&shared);
                }
            });
        }
        pc
    };
    S::engine_started(shared);
    let emitter = shared.borrow_mut().page().emitter.clone();
    let pc2 = pc.clone();
    spawn_local(async move { emitter.emit(crate::diagnose::connected_event(&pc2).await) });
    measure_round_trip(shared, pc);
    pump(shared);
}

/// Tells the engine the path's round trip once ICE has measured it (the selected candidate
/// pair's `currentRoundTripTime`): the sender opens lanes by it, the receiver sizes its window.
/// Tried for a few seconds: the first consent check may not have come back yet. A few more
/// samples follow the first: the engines keep the smallest, and the first is taken while both
/// pages are busy setting up, so on a loaded machine a local path can first look wide-area
/// (10 ms or more) and be held to a path limit it does not need.
fn measure_round_trip<S: Side>(shared: &Rc<RefCell<S>>, pc: RtcPeerConnection) {
    const TRIES: u32 = 20;
    const SAMPLES: u32 = 5;
    let weak = Rc::downgrade(shared);
    spawn_local(async move {
        let mut samples = 0;
        for _ in 0..TRIES {
            let rtt = crate::diagnose::round_trip_ms(&pc).await;
            let Some(shared) = weak.upgrade() else { return };
            let current =
                shared.borrow_mut().page().conn.as_ref().is_some_and(|c| js_sys::Object::is(&c.pc, &pc));
            if !current {
                return;
            }
            if let Some(rtt) = rtt {
                if let Some(engine) = shared.borrow_mut().engine() {
                    engine.handle_round_trip(now_ms(), rtt.round() as u64);
                }
                pump(&shared);
                samples += 1;
                if samples == SAMPLES {
                    return;
                }
            }
            drop(shared);
            gloo_timers::future::sleep(std::time::Duration::from_millis(250)).await;
        }
    });
}

/// The channel closed: a running engine learns it; before any engine, the transfer fails.
fn closed<S: Side>(shared: &Rc<RefCell<S>>) {
    let started = shared.borrow_mut().engine().is_some();
    if !lose(shared) && !started {
        fail(
            shared,
            RuntimeError::Transfer(TransferError::local(
                ErrorCode::ConnectionLost,
                "the connection closed before the transfer started",
            )),
        );
    }
}
