//! `diagnose()`: what a support person needs to see, from `getStats()` and the signaling log.

use crate::js_value::object;
use crate::signaling::SignalLog;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{RtcDataChannel, RtcPeerConnection};

fn get(v: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(v, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

fn text(v: &JsValue, key: &str) -> Option<String> {
    get(v, key).as_string()
}

/// All stats reports, as (id -> report).
async fn reports(pc: &RtcPeerConnection) -> Vec<JsValue> {
    let Ok(stats) = JsFuture::from(pc.get_stats()).await else { return Vec::new() };
    let values = get(&stats, "values");
    let Ok(values) = values.dyn_into::<js_sys::Function>() else { return Vec::new() };
    let Ok(iter) = values.call0(&stats) else { return Vec::new() };
    js_sys::try_iter(&iter).ok().flatten().map(|it| it.filter_map(Result::ok).collect()).unwrap_or_default()
}

/// The type (`host`, `srflx`, `prflx`, `relay`) of the local candidate in use, if connected.
pub async fn path_type(pc: &RtcPeerConnection) -> Option<String> {
    let all = reports(pc).await;
    let pair = selected_pair(&all)?;
    let local_id = text(&pair, "localCandidateId")?;
    all.iter().find(|r| text(r, "id").as_deref() == Some(&local_id)).and_then(|c| text(c, "candidateType"))
}

/// The round trip of the candidate pair in use, in milliseconds, once ICE measured it.
pub async fn round_trip_ms(pc: &RtcPeerConnection) -> Option<f64> {
    let all = reports(pc).await;
    let seconds = get(&selected_pair(&all)?, "currentRoundTripTime").as_f64()?;
    Some(seconds * 1000.0)
}

fn selected_pair(all: &[JsValue]) -> Option<JsValue> {
    let by_transport = all
        .iter()
        .find(|r| text(r, "type").as_deref() == Some("transport"))
        .and_then(|t| text(t, "selectedCandidatePairId"))
        .and_then(|id| all.iter().find(|r| text(r, "id").as_deref() == Some(&id)).cloned());
    by_transport.or_else(|| {
        all.iter()
            .find(|r| {
                text(r, "type").as_deref() == Some("candidate-pair")
                    && get(r, "nominated").as_bool() == Some(true)
                    && text(r, "state").as_deref() == Some("succeeded")
            })
            .cloned()
    })
}

/// A plain object summarising the connection and signaling; safe to show or copy into a ticket
/// (it holds no file names and no link secret).
pub async fn diagnose(
    pc: Option<&RtcPeerConnection>,
    dc: Option<&RtcDataChannel>,
    ice_source: crate::ice::Source,
    log: &Rc<RefCell<SignalLog>>,
) -> JsValue {
    let connection = match pc {
        None => JsValue::NULL,
        Some(pc) => {
            let all = reports(pc).await;
            let pair = selected_pair(&all);
            let candidate = |key: &str| {
                pair.as_ref()
                    .and_then(|p| text(p, key))
                    .and_then(|id| all.iter().find(|r| text(r, "id").as_deref() == Some(&id)).cloned())
            };
            let (local, remote) = (candidate("localCandidateId"), candidate("remoteCandidateId"));
            let gathered = js_sys::Object::new();
            for r in all.iter().filter(|r| text(r, "type").as_deref() == Some("local-candidate")) {
                let kind = text(r, "candidateType").unwrap_or_else(|| "unknown".into());
                let n = js_sys::Reflect::get(&gathered, &kind.as_str().into())
                    .ok()
                    .and_then(|v| v.as_f64())
                    .unwrap_or(0.0);
                let _ = js_sys::Reflect::set(&gathered, &kind.as_str().into(), &(n + 1.0).into());
            }
            object(&[
                ("iceConnectionState", format!("{:?}", pc.ice_connection_state()).to_lowercase().into()),
                ("connectionState", get(pc, "connectionState")),
                ("localCandidateType", local.as_ref().map_or(JsValue::NULL, |c| get(c, "candidateType"))),
                ("remoteCandidateType", remote.as_ref().map_or(JsValue::NULL, |c| get(c, "candidateType"))),
                ("protocol", local.as_ref().map_or(JsValue::NULL, |c| get(c, "protocol"))),
                // How this side reaches its TURN relay (udp, tcp or tls), when the path is relayed.
                ("relayProtocol", local.as_ref().map_or(JsValue::NULL, |c| get(c, "relayProtocol"))),
                (
                    "roundTripTimeMs",
                    pair.as_ref()
                        .and_then(|p| get(p, "currentRoundTripTime").as_f64())
                        .map_or(JsValue::NULL, |s| (s * 1000.0).into()),
                ),
                ("bytesSent", pair.as_ref().map_or(JsValue::NULL, |p| get(p, "bytesSent"))),
                ("bytesReceived", pair.as_ref().map_or(JsValue::NULL, |p| get(p, "bytesReceived"))),
                ("candidatesGathered", gathered.into()),
                ("ice", crate::ice::diagnosis(pc, ice_source)),
            ])
        }
    };
    let channel = match dc {
        None => JsValue::NULL,
        Some(dc) => object(&[
            ("state", format!("{:?}", dc.ready_state()).to_lowercase().into()),
            ("bufferedAmount", dc.buffered_amount().into()),
            ("maxMessageSize", pc.map_or(JsValue::NULL, |pc| crate::rtc::max_message_size(pc).into())),
        ]),
    };
    let memory: js_sys::WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
    let wasm_bytes = memory.buffer().unchecked_into::<js_sys::ArrayBuffer>().byte_length();
    object(&[
        ("connection", connection),
        ("channel", channel),
        ("signaling", log.borrow().to_js()),
        ("wasmMemoryBytes", wasm_bytes.into()),
    ])
}

/// `diagnose()` of a send or receive handle, as the typed promise the API returns.
pub fn of(
    conn: Option<&crate::connection::Connection>,
    log: &Rc<RefCell<SignalLog>>,
) -> crate::types::DiagnosisPromise {
    let pc = conn.map(|c| c.pc.clone());
    let dc = conn.and_then(|c| c.dc.clone());
    let source = conn.map_or(crate::ice::Source::None, |c| c.ice_source);
    // Peer connections carrying this transfer: the first and every extra lane that opened.
    let lanes = conn.map_or(0, |c| 1 + c.lanes().filter(|(_, l)| l.opened).count() as u32);
    let log = log.clone();
    wasm_bindgen_futures::future_to_promise(async move {
        let out = diagnose(pc.as_ref(), dc.as_ref(), source, &log).await;
        let _ = js_sys::Reflect::set(&out, &"lanes".into(), &lanes.into());
        Ok(out)
    })
    .unchecked_into()
}

/// The `connected` status event: the candidate type in use and the verification words.
pub async fn connected_event(pc: &RtcPeerConnection) -> JsValue {
    let path = path_type(pc).await;
    object(&[
        ("type", "status".into()),
        ("phase", "connected".into()),
        ("path", path.map_or(JsValue::NULL, JsValue::from)),
        ("verification", crate::rtc::verification_words(pc).map_or(JsValue::NULL, JsValue::from)),
    ])
}
