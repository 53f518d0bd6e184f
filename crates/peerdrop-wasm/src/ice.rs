//! Which STUN and TURN servers a connection uses, and why it failed when it did.
//!
//! The operator configures the servers once, on the signaling endpoint, which hands them out
//! with the room (TURN with short-lived credentials); a page's own `iceServers` option still
//! wins, so an application can pin its own or turn them off with `[]`. With neither, no
//! request leaves the page's own origin and only devices on one network can connect.

use peerdrop_core::connectivity::{Candidates, IceFacts, NatHint};
use wasm_bindgen::JsValue;
use web_sys::RtcPeerConnection;

/// How long a connection may take, from the moment both descriptions are known until its data
/// channel opens, before it fails with `ice_failed` (the `connectTimeout` option changes it).
/// ICE through a relay takes a few seconds at most; browsers themselves may keep checking for
/// a minute or more, which a person would see as a silent stall.
pub const CONNECT_TIMEOUT_MS: u32 = 15_000;

/// Where a connection's ICE servers came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The page's `iceServers` option.
    Page,
    /// The signaling endpoint's `ice_servers`, given with the room.
    Endpoint,
    /// Neither configured any.
    None,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Page => "page",
            Source::Endpoint => "endpoint",
            Source::None => "none",
        }
    }
}

/// The servers for a new connection, and where they came from.
pub struct IceConfig {
    pub servers: JsValue,
    pub source: Source,
}

/// The page's option wins when it is given at all (even `[]`); else the endpoint's list.
pub fn choose(page: &JsValue, endpoint: Option<&serde_json::Value>) -> IceConfig {
    if !page.is_undefined() && !page.is_null() {
        return IceConfig { servers: page.clone(), source: Source::Page };
    }
    match endpoint.filter(|v| v.as_array().is_some_and(|a| !a.is_empty())) {
        Some(list) => IceConfig {
            servers: js_sys::JSON::parse(&list.to_string()).unwrap_or_else(|_| js_sys::Array::new().into()),
            source: Source::Endpoint,
        },
        None => IceConfig { servers: js_sys::Array::new().into(), source: Source::None },
    }
}

/// The `network` event: where this connection's servers come from and how many of each kind,
/// so a page can say up front when only devices on one network will connect.
pub fn event(cfg: &IceConfig) -> JsValue {
    let (stun, turn) = url_counts(&cfg.servers);
    crate::js_value::object(&[
        ("type", "network".into()),
        ("source", cfg.source.name().into()),
        ("stunUrls", stun.into()),
        ("turnUrls", turn.into()),
    ])
}

/// Counts the STUN and TURN URLs of an `iceServers` list (`urls` may be a string or a list).
pub fn url_counts(servers: &JsValue) -> (u32, u32) {
    let (mut stun, mut turn) = (0, 0);
    let Ok(Some(iter)) = js_sys::try_iter(servers) else { return (0, 0) };
    for server in iter.flatten() {
        let urls = js_sys::Reflect::get(&server, &"urls".into()).unwrap_or(JsValue::UNDEFINED);
        let list: Vec<String> = match urls.as_string() {
            Some(one) => vec![one],
            None => js_sys::try_iter(&urls)
                .ok()
                .flatten()
                .map(|it| it.flatten().filter_map(|u| u.as_string()).collect())
                .unwrap_or_default(),
        };
        for url in list {
            let url = url.to_ascii_lowercase();
            if url.starts_with("turn:") || url.starts_with("turns:") {
                turn += 1;
            } else if url.starts_with("stun:") || url.starts_with("stuns:") {
                stun += 1;
            }
        }
    }
    (stun, turn)
}

/// What this connection knows now: its servers and both sides' candidates. Descriptions are
/// sent once gathering is done (`rtc::gathered`), so they hold every candidate either side had.
pub fn facts(pc: &RtcPeerConnection) -> IceFacts {
    let configured =
        pc.get_configuration().get_ice_servers().map(JsValue::from).unwrap_or(JsValue::UNDEFINED);
    let (stun_urls, turn_urls) = url_counts(&configured);
    let sdp = |d: Option<web_sys::RtcSessionDescription>| {
        d.map(|d| Candidates::from_sdp(&d.sdp())).unwrap_or_default()
    };
    IceFacts {
        stun_urls,
        turn_urls,
        local: sdp(pc.local_description()),
        remote: sdp(pc.remote_description()),
    }
}

fn counts(c: &Candidates) -> JsValue {
    crate::js_value::object(&[
        ("host", c.host.into()),
        ("srflx", c.srflx.into()),
        ("prflx", c.prflx.into()),
        ("relay", c.relay.into()),
    ])
}

/// The `ice` part of `diagnose()` (and of an `ice_failed` error): servers by kind and source,
/// candidates offered by each side, and what the NAT in front of each looks like.
pub fn diagnosis(pc: &RtcPeerConnection, source: Source) -> JsValue {
    facts_to_js(&facts(pc), source)
}

pub fn facts_to_js(f: &IceFacts, source: Source) -> JsValue {
    crate::js_value::object(&[
        ("source", source.name().into()),
        ("stunUrls", f.stun_urls.into()),
        ("turnUrls", f.turn_urls.into()),
        ("localCandidates", counts(&f.local)),
        ("remoteCandidates", counts(&f.remote)),
        ("localNat", NatHint::of(&f.local).name().into()),
        ("remoteNat", NatHint::of(&f.remote).name().into()),
    ])
}
