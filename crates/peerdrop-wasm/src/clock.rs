//! Milliseconds for the engines' clocks, from `performance.now()` where it exists.

/// A monotonic millisecond count; falls back to `Date.now()` outside pages and workers.
pub fn now_ms() -> u64 {
    let global = js_sys::global();
    let perf = js_sys::Reflect::get(&global, &"performance".into()).ok();
    let now = perf
        .filter(|p| !p.is_undefined())
        .and_then(|p| {
            let f = js_sys::Reflect::get(&p, &"now".into()).ok()?;
            let f: js_sys::Function = f.dyn_into().ok()?;
            f.call0(&p).ok()?.as_f64()
        })
        .unwrap_or_else(js_sys::Date::now);
    now as u64
}

use wasm_bindgen::JsCast;
