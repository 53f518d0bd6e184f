//! Where a sending engine's blocks come from: read from the file and hashed (WebCrypto where
//! the page has it) for this receiver alone, or through the cache the receivers of a link for
//! several share, which reads and hashes each block once for all of them.

use super::file_block::block;
use super::shared_reads::{self, SharedCache};
use super::Shared;
use crate::block_hash::Subtle;
use crate::clock::now_ms;
use crate::driver;
use peerdrop_core::ReadRequest;
use wasm_bindgen_futures::spawn_local;
use web_sys::File;

pub(super) enum Reads {
    /// This page reads the files for its one receiver.
    Own { files: Vec<File>, subtle: Option<Subtle> },
    /// Receiver `asker` of a link for several, through the shared cache.
    Shared { cache: SharedCache, asker: usize },
}

/// Starts the read an engine asked for; the engine gets the bytes and digest when they come.
pub(super) fn start(shared: &Shared, r: ReadRequest) {
    let (file, subtle) = {
        let s = shared.borrow();
        match &s.reads {
            Reads::Own { files, subtle } => (files[r.file as usize].clone(), subtle.clone()),
            Reads::Shared { cache, asker } => {
                let (cache, asker) = (cache.clone(), *asker);
                drop(s);
                shared_reads::request(&cache, asker, r);
                return;
            }
        }
    };
    let shared = shared.clone();
    spawn_local(async move {
        let result = block(&file, r, subtle.as_ref()).await;
        {
            let mut s = shared.borrow_mut();
            let Some(engine) = s.engine.as_mut() else { return };
            let now = now_ms();
            match result {
                Ok((bytes, Some(sha256))) => engine.handle_hashed_read(now, r.file, r.offset, bytes, sha256),
                Ok((bytes, None)) => engine.handle_read(now, r.file, r.offset, bytes),
                Err(message) => engine.handle_read_error(now, &message),
            }
        }
        driver::pump(&shared);
    });
}
