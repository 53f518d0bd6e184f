//! Keeps the receiver's signaling seat in `sessionStorage`, so a reload of the same tab takes
//! the seat up again (same token, next sequence number, same cursor) and can resume.

use crate::signaling::Seat;
use wasm_bindgen::{JsCast, JsValue};

fn storage() -> Option<js_sys::Object> {
    let s = js_sys::Reflect::get(&js_sys::global(), &"sessionStorage".into()).ok()?;
    s.dyn_into::<js_sys::Object>().ok()
}

fn key(room: &str) -> String {
    format!("peerdrop-seat:{room}")
}

fn call(method: &str, args: &[JsValue]) -> Option<JsValue> {
    let storage = storage()?;
    let f: js_sys::Function = js_sys::Reflect::get(&storage, &method.into()).ok()?.dyn_into().ok()?;
    let args: js_sys::Array = args.iter().collect();
    f.apply(&storage, &args).ok()
}

pub fn load(room: &str) -> Option<Seat> {
    let text = call("getItem", &[key(room).into()])?.as_string()?;
    serde_json::from_str(&text).ok()
}

pub fn save(room: &str, seat: &Seat) {
    if let Ok(text) = serde_json::to_string(seat) {
        call("setItem", &[key(room).into(), text.into()]);
    }
}

pub fn clear(room: &str) {
    call("removeItem", &[key(room).into()]);
}
