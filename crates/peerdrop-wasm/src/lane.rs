//! Extra peer connections (lanes) that carry block data beside the first one. Each has its own
//! SCTP association and congestion window, so on a long or lossy path several move more than
//! one (docs/performance.md); the core decides how many (`peerdrop_core::lanes_for`). They are
//! negotiated over the first connection's channel, which DTLS already authenticates, so
//! signaling stays at the first connection's few requests and nobody in between can swap a
//! lane's description. A lane lives inside its first connection's `Connection` and goes with it.

use crate::channel::ChannelHooks;
use crate::error::{describe, RuntimeError};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{RtcDataChannel, RtcDataChannelEvent, RtcPeerConnection};

/// The label of a lane's channel (the first connection's is `rtc::CHANNEL_LABEL`).
pub const LANE_LABEL: &str = "peerdrop/lane";

pub struct LaneConn {
    pub pc: RtcPeerConnection,
    pub dc: Option<RtcDataChannel>,
    /// Whether its channel opened (and carried, or may carry, block data).
    pub opened: bool,
    hooks: Option<ChannelHooks>,
    _ice_hook: Closure<dyn FnMut()>,
    channel_hook: Option<Closure<dyn FnMut(RtcDataChannelEvent)>>,
}

impl LaneConn {
    pub fn new(pc: RtcPeerConnection, ice_hook: Closure<dyn FnMut()>) -> Self {
        LaneConn { pc, dc: None, opened: false, hooks: None, _ice_hook: ice_hook, channel_hook: None }
    }

    pub fn set_channel(&mut self, dc: RtcDataChannel, hooks: ChannelHooks) {
        self.dc = Some(dc);
        self.hooks = Some(hooks);
    }

    /// The receiver learns of the lane's channel through `datachannel`.
    pub fn set_channel_hook(&mut self, hook: Closure<dyn FnMut(RtcDataChannelEvent)>) {
        self.pc.set_ondatachannel(Some(hook.as_ref().unchecked_ref()));
        self.channel_hook = Some(hook);
    }
}

impl Drop for LaneConn {
    fn drop(&mut self) {
        self.hooks = None;
        self.pc.set_oniceconnectionstatechange(None);
        self.pc.set_ondatachannel(None);
        self.pc.close();
    }
}

/// A new peer connection configured as `first`: the same STUN and TURN servers (a lane goes the
/// way the first connection could), the same certificate.
pub fn peer_connection_like(first: &RtcPeerConnection) -> Result<RtcPeerConnection, RuntimeError> {
    RtcPeerConnection::new_with_configuration(&first.get_configuration())
        .map_err(|e| RuntimeError::Browser(describe(&e)))
}
