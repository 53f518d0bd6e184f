//! `Sha256`: the incremental SHA-256 the engine uses, for applications (hashing a picked file
//! to show its `sha256sum`) and for `make bench` to compare with other hashers. The `file`
//! event's `digest` is the protocol's content digest (SHA-256 over the block digests), not this.

use wasm_bindgen::prelude::*;

/// Incremental SHA-256 (the `sha2` crate compiled to wasm).
#[wasm_bindgen]
#[derive(Default)]
pub struct Sha256 {
    inner: sha2::Sha256,
}

#[wasm_bindgen]
impl Sha256 {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Sha256 {
        Sha256::default()
    }

    /// Adds bytes. They are read in place from JavaScript memory: one copy into wasm memory.
    pub fn update(&mut self, data: &[u8]) {
        use sha2::Digest;
        self.inner.update(data);
    }

    /// The digest as lowercase hex; the hasher can no longer be used.
    #[wasm_bindgen(js_name = digestHex)]
    pub fn digest_hex(self) -> String {
        use sha2::Digest;
        crate::js_value::hex(&self.inner.finalize())
    }
}
