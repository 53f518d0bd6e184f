//! One live peer connection and everything attached to it: the data channel's callbacks, the
//! ICE watcher, the connect deadline, and the ticker that delivers engine timeouts. Dropping it detaches all of
//! them and closes the connection.

use crate::channel::ChannelHooks;
use crate::lane::LaneConn;
use wasm_bindgen::prelude::*;
use web_sys::{RtcDataChannel, RtcDataChannelState, RtcIceConnectionState, RtcPeerConnection};

/// How often engine timeouts are checked and `bufferedAmount` is re-read (the
/// `bufferedamountlow` event is not always delivered).
pub const TICK_MS: u32 = 100;

pub struct Connection {
    pub pc: RtcPeerConnection,
    pub dc: Option<RtcDataChannel>,
    /// Where its STUN and TURN servers came from (for `diagnose()`).
    pub ice_source: crate::ice::Source,
    /// Set once the channel opened.
    open: bool,
    hooks: Option<ChannelHooks>,
    _ice_hook: Closure<dyn FnMut()>,
    channel_hook: Option<Closure<dyn FnMut(web_sys::RtcDataChannelEvent)>>,
    ticker: Option<gloo_timers::callback::Interval>,
    /// Fails the connection if its channel has not opened in time (see `ice::CONNECT_TIMEOUT_MS`).
    connect_deadline: Option<gloo_timers::callback::Timeout>,
    /// Closes the connection when the page goes away, so the other side learns at once
    /// instead of after the idle timeout. Detached when dropped.
    _pagehide: Option<gloo_events::EventListener>,
    /// Extra peer connections for block data, by lane number (0, the first, is this one).
    lanes: Vec<Option<LaneConn>>,
}

impl Connection {
    pub fn new(
        pc: RtcPeerConnection,
        ice_source: crate::ice::Source,
        ice_hook: Closure<dyn FnMut()>,
    ) -> Self {
        let pc2 = pc.clone();
        let pagehide =
            global_target().map(|t| gloo_events::EventListener::new(&t, "pagehide", move |_| pc2.close()));
        Connection {
            pc,
            dc: None,
            ice_source,
            open: false,
            hooks: None,
            _ice_hook: ice_hook,
            channel_hook: None,
            ticker: None,
            connect_deadline: None,
            _pagehide: pagehide,
            lanes: Vec::new(),
        }
    }

    /// Lane `lane`, if it was set up.
    pub fn lane(&self, lane: usize) -> Option<&LaneConn> {
        self.lanes.get(lane).and_then(Option::as_ref)
    }

    pub fn lane_mut(&mut self, lane: usize) -> Option<&mut LaneConn> {
        self.lanes.get_mut(lane).and_then(Option::as_mut)
    }

    pub fn set_lane(&mut self, lane: usize, conn: LaneConn) {
        if self.lanes.len() <= lane {
            self.lanes.resize_with(lane + 1, || None);
        }
        self.lanes[lane] = Some(conn);
    }

    /// Releases lane `lane` (declined, or failed before it opened), on the next turn: this may
    /// run inside one of its own callbacks.
    pub fn remove_lane(&mut self, lane: usize) {
        if let Some(conn) = self.lanes.get_mut(lane).and_then(Option::take) {
            wasm_bindgen_futures::spawn_local(async move { drop(conn) });
        }
    }

    /// Lanes set up, with their numbers.
    pub fn lanes(&self) -> impl Iterator<Item = (usize, &LaneConn)> {
        self.lanes.iter().enumerate().filter_map(|(i, l)| l.as_ref().map(|l| (i, l)))
    }

    /// Every channel carrying this transfer, with its lane number: this connection's (lane 0)
    /// and each extra lane's that opened.
    pub fn channels(&self) -> impl Iterator<Item = (usize, &RtcDataChannel)> {
        let first = self.dc.as_ref().map(|dc| (0, dc));
        first.into_iter().chain(self.lanes().filter_map(|(i, l)| l.dc.as_ref().map(|dc| (i, dc))))
    }

    /// The channel that carries lane `lane`'s messages (0: this connection's own).
    pub fn channel_of(&self, lane: usize) -> Option<&RtcDataChannel> {
        if lane == 0 {
            self.dc.as_ref()
        } else {
            self.lane(lane).and_then(|l| l.dc.as_ref())
        }
    }

    /// Whether `pc` is lane `lane`'s connection (an answer or description that comes back
    /// after the connection was replaced belongs to none).
    pub fn is_lane(&self, lane: usize, pc: &RtcPeerConnection) -> bool {
        self.lane(lane).is_some_and(|l| js_sys::Object::is(&l.pc, pc))
    }

    pub fn set_channel(&mut self, dc: RtcDataChannel, hooks: ChannelHooks) {
        self.dc = Some(dc);
        self.hooks = Some(hooks);
    }

    pub fn set_channel_hook(&mut self, hook: Closure<dyn FnMut(web_sys::RtcDataChannelEvent)>) {
        self.pc.set_ondatachannel(Some(hook.as_ref().unchecked_ref()));
        self.channel_hook = Some(hook);
    }

    pub fn start_ticker(&mut self, tick: impl FnMut() + 'static) {
        self.ticker = Some(gloo_timers::callback::Interval::new(TICK_MS, tick));
    }

    /// Calls `on_late` unless [`connected`](Self::connected) comes within `ms`. A channel may
    /// open before the deadline is set (the receiver's answer reaches the sender, and the
    /// channel opens, while the receiver still awaits the answer's upload): then there is
    /// nothing to wait for, and no deadline.
    pub fn set_connect_deadline(&mut self, ms: u32, on_late: impl FnOnce() + 'static) {
        if self.open {
            return;
        }
        self.connect_deadline = Some(gloo_timers::callback::Timeout::new(ms, on_late));
    }

    /// The channel opened: the connect deadline no longer applies.
    pub fn connected(&mut self) {
        self.open = true;
        if let Some(t) = self.connect_deadline.take() {
            t.cancel();
        }
    }

    /// Whether its channel opened (and an engine was started for it).
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// True when the diagnosis means the peer is gone rather than slow.
    pub fn peer_gone(code: &str) -> bool {
        matches!(code, "ice_failed" | "ice_disconnected" | "channel_closed")
    }

    /// Why no progress is being made, judged from the connection's own state.
    pub fn stall_diagnosis(&self) -> (&'static str, &'static str) {
        let channel_open = self.dc.as_ref().is_some_and(|d| d.ready_state() == RtcDataChannelState::Open);
        match self.pc.ice_connection_state() {
            RtcIceConnectionState::Failed => ("ice_failed", "the connection failed; the network between the browsers changed or blocks it"),
            RtcIceConnectionState::Disconnected => ("ice_disconnected", "the direct connection dropped; the other browser may have gone offline or to sleep"),
            _ if !channel_open => ("channel_closed", "the data channel closed; the other page may have been closed or reloaded"),
            _ => ("peer_unresponsive", "the connection is up but the other side sends nothing; its page may be frozen or in the background"),
        }
    }
}

fn global_target() -> Option<web_sys::EventTarget> {
    js_sys::global().dyn_into::<web_sys::EventTarget>().ok()
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.lanes.clear();
        self.ticker = None;
        self.connect_deadline = None;
        self.hooks = None;
        self.pc.set_oniceconnectionstatechange(None);
        self.pc.set_ondatachannel(None);
        self.pc.close();
    }
}

use wasm_bindgen::JsCast;
