//! One block of a file as a sender needs it: its bytes, and their SHA-256 from WebCrypto where
//! the page has it (else the engine or the shared cache hashes them).

use crate::block_hash::{self, Subtle};
use crate::error::describe;
use peerdrop_core::ReadRequest;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::File;

/// Reads `r` from `file` and hashes it with WebCrypto when given (else the digest is left to
/// the engine or the cache); a failure is the sentence the transfer ends with.
pub(super) async fn block(
    file: &File,
    r: ReadRequest,
    subtle: Option<&Subtle>,
) -> Result<(Vec<u8>, Option<[u8; 32]>), String> {
    let start = r.offset as f64;
    let end = start + f64::from(r.len);
    let read = match file.slice_with_f64_and_f64(start, end) {
        Ok(blob) => JsFuture::from(blob.array_buffer()).await,
        Err(e) => Err(e),
    };
    let buf: JsValue = read.map_err(|e| {
        format!("could not read {:?}: {}; it may have been moved or deleted", file.name(), describe(&e))
    })?;
    let view = js_sys::Uint8Array::new(&buf);
    let sha256 = match subtle {
        Some(subtle) => block_hash::sha256(subtle, &view).await,
        None => None,
    };
    Ok((view.to_vec(), sha256))
}
