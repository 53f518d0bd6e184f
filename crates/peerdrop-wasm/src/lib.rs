//! PeerDrop's browser runtime: drives the sans-IO engine of `peerdrop-core` over the
//! browser's own `RTCPeerConnection` data channels, with signaling over plain HTTP.
//!
//! Nothing here runs at import time: browser objects are touched only inside `send()` and
//! `receive()`, so server-side rendering can import the package.

mod block_hash;
mod channel;
mod clock;
mod code_exchange;
mod connection;
mod diagnose;
mod driver;
mod error;
mod events;
mod hash;
mod ice;
mod js_value;
mod lane;
mod memory_sink;
mod options;
mod receive;
mod room_signal;
mod rtc;
mod seat_store;
mod send;
mod signaling;
mod sink;
mod types;

pub use hash::Sha256;
pub use receive::ReceiveHandle;
pub use send::SendHandle;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// Offers `files` (a `FileList`, a `File` or an array of `File`). The returned handle's
/// `link` is the share link; events arrive through `options.onEvent`.
///
/// Options: `signalUrl` (default `"signal.php"`), `iceServers` (default: the endpoint's, else none),
/// `onEvent(event)`, `shareBase` (page the link opens; default this page), `shortCode`
/// (offer a code to read out, like `7-guitar-orbit`, instead of a link: `handle.code`,
/// and a `code` event once the receiver can enter it).
#[wasm_bindgen]
pub fn send(files: types::SendFilesJs, options: types::SendOptionsJs) -> Result<SendHandle, JsValue> {
    send::start(files.into(), options.into())
}

/// Receives from a share link, or from a short code the sender read out (`7-guitar-orbit`).
/// Options as for `send`, plus `sink` (`"auto"`, `"opfs"`, `"memory"` or `"download"`),
/// `serviceWorker` (URL of the site's copy of `peerdrop-sw.js`: enables streamed downloads
/// where OPFS is missing), `memoryCap` (bytes kept in memory at most; larger offers are
/// refused before any byte moves) and `autoAccept`.
#[wasm_bindgen]
pub fn receive(link: &str, options: types::ReceiveOptionsJs) -> Result<ReceiveHandle, JsValue> {
    receive::start(link, options.into())
}

#[wasm_bindgen(module = "/js/drop.js")]
extern "C" {
    #[wasm_bindgen(js_name = itemsFromDataTransfer)]
    fn items_from_data_transfer(data_transfer: &JsValue) -> js_sys::Promise;
}

/// Every file of a drop, folders expanded, as `[{file, path}]` for `send()`. Call it inside
/// the `drop` event handler (the browser allows reading the drop only then).
#[wasm_bindgen(js_name = itemsFromDrop)]
pub fn items_from_drop(data_transfer: JsValue) -> types::SendItemsPromise {
    items_from_data_transfer(&data_transfer).unchecked_into()
}

/// The room id a link's secret maps to (what the signaling server sees), for tests and
/// diagnostics.
#[wasm_bindgen(js_name = roomIdForLink)]
pub fn room_id_for_link(link: &str) -> Result<String, JsValue> {
    let fragment = link.split_once('#').map(|(_, f)| f).unwrap_or(link);
    peerdrop_core::LinkSecret::from_fragment(fragment)
        .map(|s| s.room_id())
        .map_err(|e| JsValue::from_str(&e.to_string()))
}

#[cfg(test)]
mod browser_tests;
