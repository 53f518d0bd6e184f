//! wasm-bindgen tests that need a real browser: WebRTC objects, Blobs, the exported API.

use crate::memory_sink::MemorySink;
use crate::rtc;
use futures::channel::oneshot;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::RtcSdpType;

wasm_bindgen_test_configure!(run_in_browser);

fn code_of(err: &JsValue) -> String {
    js_sys::Reflect::get(err, &"code".into()).unwrap().as_string().unwrap()
}

#[wasm_bindgen_test]
fn room_id_export_matches_the_core_derivation() {
    let secret = peerdrop_core::LinkSecret::from_bytes([9; 16]);
    let link = format!("https://example.test/#{}", secret.to_fragment());
    assert_eq!(crate::room_id_for_link(&link).unwrap(), secret.room_id());
}

#[wasm_bindgen_test]
fn bad_input_is_a_typed_error_not_a_panic() {
    let err = crate::receive("https://example.test/", JsValue::UNDEFINED.unchecked_into()).err().unwrap();
    assert_eq!(code_of(&err), "bad_link");
    let err =
        crate::receive("https://example.test/#short", JsValue::UNDEFINED.unchecked_into()).err().unwrap();
    assert_eq!(code_of(&err), "bad_link");
    let err = crate::send(js_sys::Array::new().unchecked_into(), JsValue::UNDEFINED.unchecked_into())
        .err()
        .unwrap();
    assert_eq!(code_of(&err), "no_files");
}

/// `flow` overrides reach the engine's configuration; out-of-range ones are clamped, absent
/// ones keep the engine's defaults.
#[wasm_bindgen_test]
fn flow_options_reach_the_engine_config() {
    let options = js_sys::JSON::parse(
        r#"{"flow": {"bufferedHigh": 4194304, "bufferedLow": 0, "blockSize": 4194304, "readAhead": 2}}"#,
    )
    .unwrap();
    let config = crate::options::Options::from_js(&options).flow.config(65_536);
    let defaults = peerdrop_core::Config::default();
    assert_eq!(config.max_message_size, 65_536);
    assert_eq!((config.buffered_high, config.buffered_low), (4 << 20, 0));
    assert_eq!((config.block_size, config.read_ahead_blocks), (4 << 20, 2));
    assert_eq!((config.buffered_start, config.window), (defaults.buffered_start, defaults.window));

    let options = js_sys::JSON::parse(r#"{"flow": {"blockSize": 1, "readAhead": 0}}"#).unwrap();
    let config = crate::options::Options::from_js(&options).flow.config(65_536);
    assert_eq!(config.block_size, peerdrop_core::config::MIN_BLOCK_SIZE);
    assert_eq!(config.read_ahead_blocks, 1);
    let options = js_sys::JSON::parse(r#"{"flow": {"blockSize": 1e12}}"#).unwrap();
    let config = crate::options::Options::from_js(&options).flow.config(65_536);
    assert_eq!(config.block_size, peerdrop_core::config::MAX_BLOCK_SIZE);
    assert_eq!(config.read_ahead_blocks, defaults.read_ahead_blocks);
}

#[wasm_bindgen_test]
async fn memory_sink_orders_blocks_by_offset() {
    let mut sink = MemorySink::new(1);
    sink.write(0, 3, js_sys::Uint8Array::from(&b"def"[..]));
    sink.write(0, 0, js_sys::Uint8Array::from(&b"abc"[..]));
    let blob = sink.take_blob(0, "text/plain").unwrap();
    assert_eq!(blob.type_(), "text/plain");
    let text = JsFuture::from(blob.text()).await.unwrap();
    assert_eq!(text.as_string().unwrap(), "abcdef");
}

/// WebCrypto's block digests equal the engine's, and come back in the order blocks went in,
/// whatever their sizes (a small block's digest may be ready before a large one's).
#[wasm_bindgen_test]
async fn webcrypto_block_digests_match_the_engine_and_keep_their_order() {
    use sha2::Digest;
    let subtle = crate::block_hash::subtle().expect("the test page is a secure context");
    let blocks: Vec<Vec<u8>> = [4 << 20, 1, 0, 70_000]
        .iter()
        .enumerate()
        .map(|(i, &n)| (0..n).map(|j| (j * 7 + i) as u8).collect())
        .collect();
    let got = Rc::new(RefCell::new(Vec::new()));
    let (tx, rx) = oneshot::channel::<()>();
    let tx = RefCell::new(Some(tx));
    let total = blocks.len();
    let sink = got.clone();
    let queue = crate::block_hash::InOrder::new(subtle.clone(), move |job, digest| {
        assert_eq!(job.copy.to_vec(), job.data, "the JavaScript copy is the block");
        sink.borrow_mut().push((job.index, digest));
        if sink.borrow().len() == total {
            let _ = tx.borrow_mut().take().unwrap().send(());
        }
    });
    for (i, data) in blocks.iter().enumerate() {
        queue.push(peerdrop_core::DigestRequest { file: 0, index: i as u64, data: data.clone() });
    }
    rx.await.unwrap();
    let want: Vec<(u64, [u8; 32])> =
        blocks.iter().enumerate().map(|(i, d)| (i as u64, sha2::Sha256::digest(d).into())).collect();
    assert_eq!(*got.borrow(), want);
    let view = js_sys::Uint8Array::from(&blocks[3][..]);
    assert_eq!(crate::block_hash::sha256(&subtle, &view).await, Some(want[3].1));
}

/// Two peer connections in one page, negotiated with the runtime's own helpers.
#[wasm_bindgen_test]
async fn two_peer_connections_open_a_channel_and_report_max_message_size() {
    let a = rtc::peer_connection(&JsValue::UNDEFINED).unwrap();
    let b = rtc::peer_connection(&js_sys::Array::new().into()).unwrap();
    let dc = rtc::open_channel(&a);
    let (tx, rx) = oneshot::channel::<Vec<u8>>();
    let tx = Rc::new(RefCell::new(Some(tx)));
    let on_channel =
        Closure::<dyn FnMut(web_sys::RtcDataChannelEvent)>::new(move |e: web_sys::RtcDataChannelEvent| {
            let remote = e.channel();
            remote.set_binary_type(web_sys::RtcDataChannelType::Arraybuffer);
            let tx = tx.clone();
            let hooks = crate::channel::attach(
                &remote,
                || {},
                move |bytes| {
                    if let Some(tx) = tx.borrow_mut().take() {
                        let _ = tx.send(bytes.to_vec());
                    }
                },
                || {},
                || {},
            );
            std::mem::forget(hooks);
        });
    b.set_ondatachannel(Some(on_channel.as_ref().unchecked_ref()));
    let offer = rtc::make_offer(&a).await.unwrap();
    let answer = rtc::make_answer(&b, &offer).await.unwrap();
    rtc::set_remote(&a, RtcSdpType::Answer, &answer).await.unwrap();
    let (open_tx, open_rx) = oneshot::channel::<()>();
    let open_tx = RefCell::new(Some(open_tx));
    let hooks = crate::channel::attach(
        &dc,
        move || {
            if let Some(t) = open_tx.borrow_mut().take() {
                let _ = t.send(());
            }
        },
        |_| {},
        || {},
        || {},
    );
    // The channel may have opened before the handler was attached.
    if dc.ready_state() != web_sys::RtcDataChannelState::Open {
        open_rx.await.unwrap();
    }
    assert_eq!(rtc::max_message_size(&a), 262_144);
    assert!(crate::channel::send(&dc, &[1, 2, 3]));
    assert_eq!(rx.await.unwrap(), vec![1, 2, 3]);
    drop(hooks);
    a.close();
    b.close();
}

/// A channel that opened before the connect deadline was set (the answer's upload returned
/// after the channel opened) must not be failed by that deadline later, mid-transfer.
#[wasm_bindgen_test]
async fn a_connect_deadline_set_after_the_channel_opened_never_fires() {
    let pc = rtc::peer_connection(&JsValue::UNDEFINED).unwrap();
    let mut conn = crate::connection::Connection::new(pc, crate::ice::Source::None, Closure::new(|| {}));
    conn.connected();
    let fired = Rc::new(RefCell::new(false));
    let flag = fired.clone();
    conn.set_connect_deadline(10, move || *flag.borrow_mut() = true);
    gloo_timers::future::sleep(std::time::Duration::from_millis(60)).await;
    assert!(!*fired.borrow(), "the deadline failed a connection whose channel was open");
}
