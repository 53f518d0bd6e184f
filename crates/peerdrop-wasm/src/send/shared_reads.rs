//! The block cache the receivers of a link for several share (`peerdrop_core::BlockCache`),
//! driven: its reads done once from the files, its blocks handed to each receiver's engine.

use super::file_block::block;
use super::State;
use crate::block_hash::Subtle;
use crate::clock::now_ms;
use crate::driver;
use peerdrop_core::{BlockCache, CacheOutput, CacheStats, ReadRequest};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};
use wasm_bindgen_futures::spawn_local;
use web_sys::File;

pub(super) struct SharedReads {
    cache: BlockCache,
    files: Vec<File>,
    subtle: Option<Subtle>,
    /// Each receiver's sending state, by the number it asks with.
    engines: HashMap<usize, Weak<RefCell<State>>>,
}

pub(super) type SharedCache = Rc<RefCell<SharedReads>>;

pub(super) fn new(files: Vec<File>, subtle: Option<Subtle>, capacity: u64) -> SharedCache {
    Rc::new(RefCell::new(SharedReads {
        cache: BlockCache::new(capacity),
        files,
        subtle,
        engines: HashMap::new(),
    }))
}

/// Receiver `asker`'s state, to which its blocks are handed.
pub(super) fn register(cache: &SharedCache, asker: usize, state: &Rc<RefCell<State>>) {
    cache.borrow_mut().engines.insert(asker, Rc::downgrade(state));
}

/// Receiver `asker` ended: nothing more is handed to it.
pub(super) fn forget(cache: &SharedCache, asker: usize) {
    let mut c = cache.borrow_mut();
    c.cache.forget(asker);
    c.engines.remove(&asker);
}

pub(super) fn stats(cache: &SharedCache) -> CacheStats {
    cache.borrow().cache.stats()
}

/// Receiver `asker`'s engine asked for `r`.
pub(super) fn request(cache: &SharedCache, asker: usize, r: ReadRequest) {
    cache.borrow_mut().cache.request(asker, r);
    drain(cache);
}

/// Does what the cache asks, with it released (an engine fed here may ask again at once).
fn drain(cache: &SharedCache) {
    loop {
        let Some(output) = cache.borrow_mut().cache.poll_output() else { return };
        match output {
            CacheOutput::Read(r) => read(cache, r),
            CacheOutput::Deliver { to, file, offset, data, sha256 } => {
                feed(cache, to, |s| {
                    if let Some(engine) = s.engine.as_mut() {
                        engine.handle_hashed_read(now_ms(), file, offset, data, sha256);
                    }
                });
            }
            CacheOutput::Failed { to, message } => feed(cache, to, |s| {
                if let Some(engine) = s.engine.as_mut() {
                    engine.handle_read_error(now_ms(), &message);
                }
            }),
        }
    }
}

/// Runs `f` on receiver `to`'s state, if it is still there, then drains its engine.
fn feed(cache: &SharedCache, to: usize, f: impl FnOnce(&mut State)) {
    let state = cache.borrow().engines.get(&to).and_then(Weak::upgrade);
    if let Some(state) = state {
        f(&mut state.borrow_mut());
        driver::pump(&state);
    }
}

/// Reads and hashes one block for every receiver that asks for it.
fn read(cache: &SharedCache, r: ReadRequest) {
    let (file, subtle) = {
        let c = cache.borrow();
        (c.files[r.file as usize].clone(), c.subtle.clone())
    };
    let cache = cache.clone();
    spawn_local(async move {
        let result = block(&file, r, subtle.as_ref()).await;
        match result {
            Ok((data, sha256)) => cache.borrow_mut().cache.handle_read(r, data, sha256),
            Err(message) => cache.borrow_mut().cache.handle_read_error(r, &message),
        }
        drain(&cache);
    });
}
