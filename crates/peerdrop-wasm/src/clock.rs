//! Milliseconds for the engines' clocks, from `performance.now()` where it exists.

use wasm_bindgen::{JsCast, JsValue};

thread_local! {
    /// `performance` and its `now`, looked up once: the clock is read for every message.
    static PERFORMANCE_NOW: Option<(JsValue, js_sys::Function)> = {
        let perf = js_sys::Reflect::get(&js_sys::global(), &"performance".into()).ok().filter(|p| !p.is_undefined());
        perf.and_then(|p| {
            let now = js_sys::Reflect::get(&p, &"now".into()).ok()?.dyn_into::<js_sys::Function>().ok()?;
            Some((p, now))
        })
    };
}

/// A monotonic millisecond count; falls back to `Date.now()` outside pages and workers.
pub fn now_ms() -> u64 {
    let now = PERFORMANCE_NOW
        .with(|pn| pn.as_ref().and_then(|(perf, now)| now.call0(perf).ok()?.as_f64()))
        .unwrap_or_else(js_sys::Date::now);
    now as u64
}
