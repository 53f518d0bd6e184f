//! What the sending and the receiving page do alike with their engine and connection: feed it
//! the channel's messages and timer ticks, start it when the channel opens, tell it when the
//! channel closes. Each page says only how to make its engine, pump it and fail.

use crate::channel::{self, ChannelHooks};
use crate::clock::now_ms;
use crate::connection::Connection;
use crate::error::RuntimeError;
use crate::events::Emitter;
use crate::{ice, rtc};
use peerdrop_core::{ErrorCode, Receiver, Sender, TransferError};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen_futures::spawn_local;
use web_sys::{RtcDataChannel, RtcPeerConnection};

/// The calls the shared wiring makes on either core engine.
pub trait Engine {
    fn handle_frame(&mut self, now_ms: u64, bytes: &[u8]);
    fn handle_timeout(&mut self, now_ms: u64);
    fn handle_connection_lost(&mut self);
    fn is_closed(&self) -> bool;
}

macro_rules! engine {
    ($t:ty) => {
        impl Engine for $t {
            fn handle_frame(&mut self, now_ms: u64, bytes: &[u8]) {
                <$t>::handle_frame(self, now_ms, bytes)
            }
            fn handle_timeout(&mut self, now_ms: u64) {
                <$t>::handle_timeout(self, now_ms)
            }
            fn handle_connection_lost(&mut self) {
                <$t>::handle_connection_lost(self)
            }
            fn is_closed(&self) -> bool {
                <$t>::is_closed(self)
            }
        }
    };
}
engine!(Sender);
engine!(Receiver);

/// One page's state, as the shared wiring needs it.
pub trait Side: Sized + 'static {
    type Engine: Engine;
    fn engine(&mut self) -> Option<&mut Self::Engine>;
    fn connection(&mut self) -> Option<&mut Connection>;
    /// Creates the engine for a channel that just opened.
    fn start_engine(&mut self, pc: &RtcPeerConnection, dc: &RtcDataChannel);
    fn emitter(&self) -> Emitter;
    /// Moves everything the engine wants done (frames out, reads or writes, events).
    fn pump(shared: &Rc<RefCell<Self>>);
    /// Ends the transfer with `error`, once.
    fn fail(shared: &Rc<RefCell<Self>>, error: RuntimeError);
    /// A connection that never opened (ICE failed, or the connect deadline passed): while this
    /// side is restoring a lost connection it tries again within that loss's window and says
    /// `true`; otherwise `false`, and the transfer fails with `ice_failed`.
    fn retry_unopened(shared: &Rc<RefCell<Self>>) -> bool;
}

/// A connection whose ICE failure before its channel opened fails the transfer, saying why
/// (`ice::failure`); after, the path died (a network change, a long outage), and the engine
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
        let opened = shared.borrow_mut().connection().is_some_and(|c| c.is_open());
        if !opened {
            if !S::retry_unopened(&shared) {
                S::fail(&shared, ice::failure(&pc2, ice_source));
            }
            return;
        }
        let running = match shared.borrow_mut().engine() {
            Some(e) if !e.is_closed() => {
                e.handle_connection_lost();
                true
            }
            _ => false,
        };
        if running {
            S::pump(&shared);
        }
    });
    Connection::new(pc.clone(), ice_source, ice_hook)
}

/// Both descriptions are known: unless the channel opens within `timeout_ms`, the connection
/// fails with `ice_failed`. Browsers may go on checking candidate pairs for a minute or more;
/// a person waiting should hear within seconds that this path does not work, and why.
pub fn start_connect_deadline<S: Side>(shared: &Rc<RefCell<S>>, timeout_ms: u32) {
    let weak = Rc::downgrade(shared);
    if let Some(conn) = shared.borrow_mut().connection() {
        let (pc, source) = (conn.pc.clone(), conn.ice_source);
        conn.set_connect_deadline(timeout_ms, move || {
            // The deadline lives in the connection: it fires only while that connection is
            // current and its channel never opened.
            if let Some(shared) = weak.upgrade() {
                if !S::retry_unopened(&shared) {
                    S::fail(&shared, ice::failure(&pc, source));
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
            S::pump(&b);
        },
        move || S::pump(&c),
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
            s.connection().filter(|c| !c.is_open()).and_then(|c| Some((c.pc.clone(), c.dc.clone()?)))
        else {
            return;
        };
        s.start_engine(&pc, &dc);
        let weak = Rc::downgrade(shared);
        if let Some(conn) = s.connection() {
            conn.connected();
            conn.start_ticker(move || {
                if let Some(shared) = weak.upgrade() {
                    if let Some(e) = shared.borrow_mut().engine() {
                        e.handle_timeout(now_ms());
                    }
                    S::pump(&shared);
                }
            });
        }
        pc
    };
    let emitter = shared.borrow().emitter();
    spawn_local(async move { emitter.emit(crate::diagnose::connected_event(&pc).await) });
    S::pump(shared);
}

/// The channel closed: a running engine learns it; before any engine, the transfer fails.
fn closed<S: Side>(shared: &Rc<RefCell<S>>) {
    let (running, started) = {
        let mut s = shared.borrow_mut();
        match s.engine() {
            Some(e) if !e.is_closed() => {
                e.handle_connection_lost();
                (true, true)
            }
            Some(_) => (false, true),
            None => (false, false),
        }
    };
    if running {
        S::pump(shared);
    } else if !started {
        S::fail(
            shared,
            RuntimeError::Transfer(TransferError::local(
                ErrorCode::ConnectionLost,
                "the connection closed before the transfer started",
            )),
        );
    }
}
