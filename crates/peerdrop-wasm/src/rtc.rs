//! The browser's WebRTC objects: one peer connection and one ordered data channel.
//!
//! ICE is half-trickle: each side sends its description once gathering is complete (or
//! after a short wait; see `gathered`), so a whole exchange is one offer and one answer
//! through signaling.

use crate::error::{describe, RuntimeError};
use futures::channel::mpsc;
use futures::future::{select, Either};
use futures::StreamExt;
use std::time::Duration;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    RtcConfiguration, RtcDataChannel, RtcDataChannelInit, RtcDataChannelType, RtcIceGatheringState,
    RtcPeerConnection, RtcSdpType, RtcSessionDescriptionInit,
};

/// Longest wait for ICE gathering before sending what was gathered so far.
const GATHER_WAIT: Duration = Duration::from_secs(2);
/// Without ICE servers: how long after the last host candidate the description goes.
const HOST_QUIET: Duration = Duration::from_millis(30);
pub const CHANNEL_LABEL: &str = "peerdrop/1";

/// A peer connection configured with the given ICE servers (`[]` unless configured).
pub fn peer_connection(ice_servers: &JsValue) -> Result<RtcPeerConnection, RuntimeError> {
    let config = RtcConfiguration::new();
    let servers = if ice_servers.is_undefined() || ice_servers.is_null() {
        js_sys::Array::new().into()
    } else {
        ice_servers.clone()
    };
    config.set_ice_servers(&servers);
    RtcPeerConnection::new_with_configuration(&config).map_err(|e| RuntimeError::Browser(describe(&e)))
}

/// The sender's channel: ordered and reliable, binary messages as `ArrayBuffer`.
pub fn open_channel(pc: &RtcPeerConnection) -> RtcDataChannel {
    open_labelled_channel(pc, CHANNEL_LABEL)
}

/// An ordered, reliable channel with binary messages as `ArrayBuffer`, labelled `label`.
pub fn open_labelled_channel(pc: &RtcPeerConnection, label: &str) -> RtcDataChannel {
    let init = RtcDataChannelInit::new();
    init.set_ordered(true);
    let dc = pc.create_data_channel_with_data_channel_dict(label, &init);
    dc.set_binary_type(RtcDataChannelType::Arraybuffer);
    dc
}

/// Creates and applies the offer, waits for gathering, returns the SDP to send.
pub async fn make_offer(pc: &RtcPeerConnection) -> Result<String, RuntimeError> {
    let offer = JsFuture::from(pc.create_offer()).await.map_err(browser)?;
    let init: RtcSessionDescriptionInit = offer.unchecked_into();
    JsFuture::from(pc.set_local_description(&init)).await.map_err(browser)?;
    gathered(pc).await
}

/// Applies the remote offer, answers it, waits for gathering, returns the SDP to send.
pub async fn make_answer(pc: &RtcPeerConnection, offer_sdp: &str) -> Result<String, RuntimeError> {
    set_remote(pc, RtcSdpType::Offer, offer_sdp).await?;
    let answer = JsFuture::from(pc.create_answer()).await.map_err(browser)?;
    let init: RtcSessionDescriptionInit = answer.unchecked_into();
    JsFuture::from(pc.set_local_description(&init)).await.map_err(browser)?;
    gathered(pc).await
}

pub async fn set_remote(pc: &RtcPeerConnection, kind: RtcSdpType, sdp: &str) -> Result<(), RuntimeError> {
    let desc = RtcSessionDescriptionInit::new(kind);
    desc.set_sdp(sdp);
    JsFuture::from(pc.set_remote_description(&desc)).await.map_err(browser)?;
    Ok(())
}

fn browser(e: JsValue) -> RuntimeError {
    RuntimeError::Browser(describe(&e))
}

/// Waits until the description holds the candidates worth waiting for, then returns the local
/// SDP: until ICE gathering completes or [`GATHER_WAIT`] passes, or, with no ICE servers
/// configured (the default), [`HOST_QUIET`] after the last host candidate. Host candidates come
/// within milliseconds of each other, while Chromium declares gathering complete only ~115 ms
/// later; without STUN or TURN no other kind of candidate can come, and each side waits once
/// per setup. An interface whose candidate comes later than that is left out (ICE may still
/// learn its address as peer-reflexive from the other side's checks).
async fn gathered(pc: &RtcPeerConnection) -> Result<String, RuntimeError> {
    if pc.ice_gathering_state() != RtcIceGatheringState::Complete {
        let host_only = !has_ice_servers(pc);
        let (tx, mut rx) = mpsc::unbounded::<Gathering>();
        let pc2 = pc.clone();
        let on_state = {
            let tx = tx.clone();
            Closure::<dyn FnMut()>::new(move || {
                if pc2.ice_gathering_state() == RtcIceGatheringState::Complete {
                    let _ = tx.unbounded_send(Gathering::Complete);
                }
            })
        };
        // A null candidate also means the end of gathering.
        let on_candidate = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            let candidate = js_sys::Reflect::get(&event, &"candidate".into()).unwrap_or(JsValue::NULL);
            let what = if candidate.is_null() { Gathering::Complete } else { Gathering::Candidate };
            let _ = tx.unbounded_send(what);
        });
        pc.set_onicegatheringstatechange(Some(on_state.as_ref().unchecked_ref()));
        pc.set_onicecandidate(Some(on_candidate.as_ref().unchecked_ref()));
        let mut deadline = Box::pin(gloo_timers::future::sleep(GATHER_WAIT));
        let mut seen_host = false;
        loop {
            let quiet = Box::pin(async move {
                if host_only && seen_host {
                    gloo_timers::future::sleep(HOST_QUIET).await
                } else {
                    futures::future::pending::<()>().await
                }
            });
            match select(select(rx.next(), &mut deadline), quiet).await {
                Either::Left((Either::Left((Some(Gathering::Candidate), _)), _)) => seen_host = true,
                _ => break,
            }
        }
        pc.set_onicegatheringstatechange(None);
        pc.set_onicecandidate(None);
        drop((on_state, on_candidate));
    }
    pc.local_description()
        .map(|d| d.sdp())
        .ok_or_else(|| RuntimeError::Browser("no local description after negotiation".into()))
}

/// What ICE gathering reported.
enum Gathering {
    Candidate,
    Complete,
}

/// Whether the connection was configured with STUN or TURN servers.
fn has_ice_servers(pc: &RtcPeerConnection) -> bool {
    pc.get_configuration().get_ice_servers().is_some_and(|servers| servers.length() > 0)
}

/// `RTCSctpTransport.maxMessageSize` once known, else the 64 KiB every browser accepts.
pub fn max_message_size(pc: &RtcPeerConnection) -> u32 {
    let sctp = js_sys::Reflect::get(pc, &"sctp".into()).ok().filter(|v| !v.is_null() && !v.is_undefined());
    sctp.and_then(|s| js_sys::Reflect::get(&s, &"maxMessageSize".into()).ok())
        .and_then(|v| v.as_f64())
        .filter(|&v| v > 0.0)
        .map(|v| v.min(u32::MAX as f64) as u32)
        .unwrap_or(64 * 1024)
}

/// Calls `on_failed` when ICE gives up; keep the returned closure as long as `pc` lives.
pub fn on_ice_failed(pc: &RtcPeerConnection, on_failed: impl Fn() + 'static) -> Closure<dyn FnMut()> {
    let pc2 = pc.clone();
    let cb = Closure::<dyn FnMut()>::new(move || {
        if pc2.ice_connection_state() == web_sys::RtcIceConnectionState::Failed {
            on_failed();
        }
    });
    pc.set_oniceconnectionstatechange(Some(cb.as_ref().unchecked_ref()));
    cb
}

/// The certificate fingerprint from an SDP's `a=fingerprint:` line ("sha-256 AB:CD:...").
pub fn fingerprint(sdp: &str) -> Option<String> {
    sdp.lines().find_map(|l| l.trim().strip_prefix("a=fingerprint:")).map(|f| f.trim().to_string())
}

/// Words both sides can read aloud to confirm nobody sits between them: derived from both
/// DTLS fingerprints, so a relay that swapped either would make the words differ.
pub fn verification_words(pc: &RtcPeerConnection) -> Option<String> {
    let local = fingerprint(&pc.local_description()?.sdp())?;
    let remote = fingerprint(&pc.remote_description()?.sdp())?;
    Some(peerdrop_core::short_code::verification_words(&local, &remote))
}
