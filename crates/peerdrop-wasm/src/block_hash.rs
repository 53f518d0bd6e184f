//! Block digests through WebCrypto, where the page has it.
//!
//! WebCrypto's SHA-256 runs in the browser's native code, about twice as fast as `sha2` in
//! wasm: `make bench` profiles showed `sha2` in wasm taking half of each
//! page's main-thread time during a transfer, and the transfer is CPU-bound. The engine still
//! compares every digest (`BlockHashing::Host`); this module only computes them. WebCrypto
//! exists only in secure contexts (https, localhost): elsewhere the engine hashes as before.

use futures::channel::mpsc;
use futures::StreamExt;
use js_sys::{Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen]
extern "C" {
    /// `crypto.subtle`.
    #[derive(Clone)]
    pub type Subtle;

    #[wasm_bindgen(method, catch)]
    fn digest(this: &Subtle, algorithm: &str, data: &Uint8Array) -> Result<Promise, JsValue>;
}

/// `crypto.subtle` of this page or worker, if it has one.
pub fn subtle() -> Option<Subtle> {
    let crypto = js_sys::Reflect::get(&js_sys::global(), &"crypto".into()).ok()?;
    let subtle = js_sys::Reflect::get(&crypto, &"subtle".into()).ok()?;
    (subtle.is_object()).then(|| subtle.unchecked_into())
}

/// Starts hashing `data`; the digest comes from [`finish`]. Starting several before awaiting
/// any lets WebCrypto work on them while the page goes on.
pub fn start(subtle: &Subtle, data: &Uint8Array) -> Result<Promise, JsValue> {
    subtle.digest("SHA-256", data)
}

/// The digest a [`start`]ed hash resolves to.
pub async fn finish(pending: Result<Promise, JsValue>) -> Result<[u8; 32], JsValue> {
    let buf = JsFuture::from(pending?).await?;
    let bytes = Uint8Array::new(&buf);
    let mut out = [0u8; 32];
    if bytes.length() != 32 {
        return Err(JsValue::from_str("WebCrypto returned a digest of the wrong length"));
    }
    bytes.copy_to(&mut out);
    Ok(out)
}

/// SHA-256 of `data` through WebCrypto; `None` if it failed (the engine then hashes).
pub async fn sha256(subtle: &Subtle, data: &Uint8Array) -> Option<[u8; 32]> {
    finish(start(subtle, data)).await.ok()
}

/// One assembled block on its way through WebCrypto: its bytes stay in wasm memory for the
/// engine, their JavaScript copy is hashed and then stored by the sink.
pub struct Job {
    pub file: u32,
    pub index: u64,
    pub data: Vec<u8>,
    pub copy: Uint8Array,
    digest: Result<Promise, JsValue>,
}

/// Hashes blocks concurrently and hands the digests back in the order the blocks came, as
/// the engine requires (`Receiver::handle_block_digest`).
pub struct InOrder {
    subtle: Subtle,
    tx: mpsc::UnboundedSender<Job>,
}

impl InOrder {
    /// `done` gets each job with its digest, in order. Once `self` is dropped (a new
    /// connection starts a new queue) the task still finishes the jobs already queued, then
    /// ends: `done` must tell a stale job from a current one (the receiver's `engine_id`).
    pub fn new(subtle: Subtle, mut done: impl FnMut(Job, [u8; 32]) + 'static) -> InOrder {
        let (tx, mut rx) = mpsc::unbounded::<Job>();
        wasm_bindgen_futures::spawn_local(async move {
            while let Some(mut job) = rx.next().await {
                let pending = std::mem::replace(&mut job.digest, Err(JsValue::NULL));
                let digest = match finish(pending).await {
                    Ok(d) => d,
                    Err(_) => peerdrop_core::Hasher::digest(&job.data),
                };
                done(job, digest);
            }
        });
        InOrder { subtle, tx }
    }

    /// Starts hashing a block the engine handed out.
    pub fn push(&self, request: peerdrop_core::DigestRequest) {
        let copy = Uint8Array::from(&request.data[..]);
        let digest = start(&self.subtle, &copy);
        let job = Job { file: request.file, index: request.index, data: request.data, copy, digest };
        // The receiving task ends only with `self`.
        let _ = self.tx.unbounded_send(job);
    }
}
