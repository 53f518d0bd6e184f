//! Turning engine and runtime happenings into plain JavaScript objects for `onEvent`.

use crate::error::RuntimeError;
use crate::js_value::object;
use peerdrop_core::{Manifest, Progress};
use wasm_bindgen::JsValue;

/// Calls the application's `onEvent(event)`; exceptions in it are logged, never rethrown
/// into the engine.
#[derive(Clone)]
pub struct Emitter {
    callback: Option<js_sys::Function>,
    /// With a link several may open: the receiver every event of this emitter is about.
    receiver: Option<u8>,
}

impl Emitter {
    pub fn new(callback: Option<js_sys::Function>) -> Self {
        Emitter { callback, receiver: None }
    }

    /// The same callback, for the events about receiver `receiver` of a link several may open:
    /// each carries `receiver`, and its `connected` status a `label` from its words.
    pub fn for_receiver(&self, receiver: u8) -> Self {
        Emitter { callback: self.callback.clone(), receiver: Some(receiver) }
    }

    pub fn emit(&self, event: JsValue) {
        if let Some(receiver) = self.receiver {
            tag(&event, receiver);
        }
        if let Some(f) = &self.callback {
            if let Err(e) = f.call1(&JsValue::NULL, &event) {
                gloo_console::error!("PeerDrop onEvent handler threw:", e);
            }
        }
    }

    pub fn status(&self, phase: &str) {
        self.emit(object(&[("type", "status".into()), ("phase", phase.into())]));
    }

    /// The connection was lost and is being restored; it is given up in `give_up_in_ms`.
    pub fn reconnecting(&self, give_up_in_ms: u64) {
        self.emit(object(&[
            ("type", "status".into()),
            ("phase", "reconnecting".into()),
            ("giveUpInMs", (give_up_in_ms as f64).into()),
        ]));
    }

    pub fn error(&self, error: &RuntimeError) {
        let e = error.to_js();
        let _ = js_sys::Reflect::set(&e, &"type".into(), &"error".into());
        self.emit(e);
    }

    /// A signaling message was dropped because it failed to open.
    pub fn signaling_warning(&self, e: &peerdrop_core::seal::SealError) {
        self.signaling_trouble(&e.to_string());
    }

    /// Signaling failed in a way the transfer survives: `message` says what no longer works.
    pub fn signaling_trouble(&self, message: &str) {
        self.emit(object(&[("type", "signalingWarning".into()), ("message", message.into())]));
    }

    pub fn progress(&self, p: &Progress) {
        let obj = object(&[
            ("type", "progress".into()),
            ("verifiedBytes", (p.verified_bytes as f64).into()),
            ("totalBytes", (p.total_bytes as f64).into()),
            ("bytesPerSecond", p.bytes_per_second.into()),
            ("etaSeconds", p.eta_seconds.map_or(JsValue::NULL, JsValue::from)),
        ]);
        if let Some((file, bytes)) = p.file {
            let _ = js_sys::Reflect::set(&obj, &"file".into(), &file.into());
            let _ = js_sys::Reflect::set(&obj, &"fileBytes".into(), &(bytes as f64).into());
        }
        self.emit(obj);
    }
}

/// Marks an event as being about `receiver`; its `connected` status gets the first two of the
/// verification words as the receiver's label in the sender's list (no names cross the wire).
fn tag(event: &JsValue, receiver: u8) {
    let _ = js_sys::Reflect::set(event, &"receiver".into(), &receiver.into());
    let words = js_sys::Reflect::get(event, &"verification".into()).ok().and_then(|w| w.as_string());
    if let Some(words) = words {
        let label: Vec<&str> = words.split_whitespace().take(2).collect();
        let _ = js_sys::Reflect::set(event, &"label".into(), &label.join(" ").into());
    }
}

/// `[{path, size, modified, mime}]` for the offer and the sender's own view.
pub fn manifest_to_js(m: &Manifest) -> JsValue {
    let files = js_sys::Array::new();
    for f in &m.files {
        files.push(&object(&[
            ("path", f.path.as_str().into()),
            ("size", (f.size as f64).into()),
            ("modified", (f.modified_ms as f64).into()),
            ("mime", f.mime.as_str().into()),
        ]));
    }
    files.into()
}
