//! The last-resort sink: verified blocks kept as JavaScript byte arrays and joined into a
//! `Blob` per file. Its size is capped before the transfer starts.

use std::collections::BTreeMap;
use wasm_bindgen::JsValue;
use web_sys::{Blob, BlobPropertyBag};

/// Blocks of each file, by offset (a refetched block may arrive after later ones).
#[derive(Default)]
pub struct MemorySink {
    files: Vec<BTreeMap<u64, js_sys::Uint8Array>>,
}

impl MemorySink {
    pub fn new(file_count: usize) -> Self {
        MemorySink { files: vec![BTreeMap::new(); file_count] }
    }

    /// Keeps verified bytes, already copied out of wasm memory.
    pub fn write(&mut self, file: u32, offset: u64, data: js_sys::Uint8Array) {
        self.files[file as usize].insert(offset, data);
    }

    /// Joins a finished file's blocks into a `Blob` and releases them.
    pub fn take_blob(&mut self, file: u32, mime: &str) -> Result<Blob, JsValue> {
        let parts = js_sys::Array::new();
        for (_, chunk) in std::mem::take(&mut self.files[file as usize]) {
            parts.push(&chunk);
        }
        let props = BlobPropertyBag::new();
        props.set_type(mime);
        Blob::new_with_u8_array_sequence_and_options(&parts, &props)
    }
}
