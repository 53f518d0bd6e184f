//! Wiring a data channel's callbacks to Rust closures, kept alive as long as the hooks.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{MessageEvent, RtcDataChannel};

/// Keeps the callbacks alive; dropping it detaches them.
pub struct ChannelHooks {
    dc: RtcDataChannel,
    _closures: Vec<Closure<dyn FnMut(JsValue)>>,
}

impl Drop for ChannelHooks {
    fn drop(&mut self) {
        self.dc.set_onopen(None);
        self.dc.set_onmessage(None);
        self.dc.set_onbufferedamountlow(None);
        self.dc.set_onclose(None);
        self.dc.set_onerror(None);
    }
}

/// Routes `open`, binary `message`, `bufferedamountlow` and `close`/`error` to closures.
///
/// `on_open` runs once, and always before the first `on_message`: Chromium can dispatch a
/// message before the channel's own `open` event (the peer sends as soon as its side opens).
/// Each message is copied out of JavaScript into one buffer reused for every message.
pub fn attach(
    dc: &RtcDataChannel,
    on_open: impl FnMut() + 'static,
    mut on_message: impl FnMut(&[u8]) + 'static,
    mut on_low: impl FnMut() + 'static,
    on_close: impl FnMut() + 'static,
) -> ChannelHooks {
    let opened = Rc::new(Cell::new(false));
    let on_open = Rc::new(RefCell::new(on_open));
    let open_once = {
        let (opened, on_open) = (opened.clone(), on_open.clone());
        move || {
            if !opened.replace(true) {
                (on_open.borrow_mut())();
            }
        }
    };
    let open_first = open_once.clone();
    let on_close = Rc::new(RefCell::new(on_close));
    let close2 = on_close.clone();
    let mut scratch = Vec::new();
    let closures: Vec<Closure<dyn FnMut(JsValue)>> = vec![
        Closure::new(move |_| open_once()),
        Closure::new(move |e: JsValue| {
            let e: MessageEvent = e.unchecked_into();
            // Only binary frames belong to the protocol; anything else is ignored here
            // and would be caught as a protocol error if it mattered.
            if let Some(buf) = e.data().dyn_ref::<js_sys::ArrayBuffer>() {
                open_first();
                let bytes = js_sys::Uint8Array::new(buf);
                scratch.resize(bytes.length() as usize, 0);
                bytes.copy_to(&mut scratch);
                on_message(&scratch);
            }
        }),
        Closure::new(move |_| on_low()),
        Closure::new(move |_| (on_close.borrow_mut())()),
        Closure::new(move |_| (close2.borrow_mut())()),
    ];
    dc.set_onopen(Some(closures[0].as_ref().unchecked_ref()));
    dc.set_onmessage(Some(closures[1].as_ref().unchecked_ref()));
    dc.set_onbufferedamountlow(Some(closures[2].as_ref().unchecked_ref()));
    dc.set_onclose(Some(closures[3].as_ref().unchecked_ref()));
    dc.set_onerror(Some(closures[4].as_ref().unchecked_ref()));
    ChannelHooks { dc: dc.clone(), _closures: closures }
}

/// Sends one frame; `false` when the channel refused it (closed or queue full).
pub fn send(dc: &RtcDataChannel, frame: &[u8]) -> bool {
    dc.send_with_u8_array(frame).is_ok()
}
