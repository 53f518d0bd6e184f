//! Accepting the offer: choosing and opening the sink (a picked folder, OPFS staging, a streamed
//! download or memory), resuming from what it or a lost connection stored.

use super::Shared;
use crate::clock::now_ms;
use crate::driver;
use crate::error::RuntimeError;
use crate::js_value::{hex, object};
use crate::memory_sink::MemorySink;
use crate::options::Options;
use crate::sink::{self, Sink, SinkKind};
use peerdrop_core::{HaveMap, Manifest};
use wasm_bindgen_futures::JsFuture;

/// Opens the sink and accepts the offer. `picked` is the pending result of a save dialog.
pub(super) async fn accept(shared: &Shared, picked: Option<js_sys::Promise>) {
    let (manifest, name, options, emitter) = {
        let mut s = shared.borrow_mut();
        if s.accepting || s.sink.is_some() || s.page.finished {
            return;
        }
        let Some(m) = s.engine.as_ref().and_then(|e| e.manifest().cloned()) else {
            // Accepted before the offer arrived: accept it as soon as it does.
            s.options.auto_accept = true;
            return;
        };
        s.accepting = true;
        (m, hex(&s.transfer_id), s.options.clone(), s.page.emitter.clone())
    };
    let opened = open_sink(&manifest, &name, &options, picked).await;
    shared.borrow_mut().accepting = false;
    let (sink, resume) = match opened {
        Ok(Some(pair)) => pair,
        Ok(None) => {
            // The person closed the save dialog: the offer stays open for another choice.
            emitter.emit(object(&[("type", "pickCancelled".into())]));
            return;
        }
        Err(e) => {
            if let Some(engine) = shared.borrow_mut().engine.as_mut() {
                engine.reject(now_ms(), &e.message());
            }
            driver::pump(shared);
            driver::fail(shared, e);
            return;
        }
    };
    let kind = sink.kind().name();
    shared.borrow_mut().sink = Some(sink);
    start_accepted(shared, kind, resume);
}

/// Accepts the offer into the open sink, resuming from `resume`, and says so.
pub(super) fn start_accepted(shared: &Shared, sink_kind: &'static str, resume: Option<HaveMap>) {
    let (emitter, resumed) = {
        let mut s = shared.borrow_mut();
        let resumed = s.engine.as_mut().map_or(0, |engine| {
            engine.accept(now_ms(), resume);
            engine.verified_bytes()
        });
        (s.page.emitter.clone(), resumed)
    };
    emitter.emit(object(&[
        ("type", "accepted".into()),
        ("sink", sink_kind.into()),
        ("resumedBytes", (resumed as f64).into()),
    ]));
    emitter.status("transferring");
    driver::pump(shared);
}

/// Where bytes go when nothing on disk can be written at random places: a streamed download
/// keeps memory flat, so it comes before memory where the site enables it.
fn without_disk(options: &Options) -> SinkKind {
    if options.service_worker.is_some() && sink::download_supported() {
        SinkKind::Download
    } else {
        SinkKind::Memory
    }
}

async fn open_sink(
    manifest: &Manifest,
    name: &str,
    options: &Options,
    picked: Option<js_sys::Promise>,
) -> Result<Option<(Sink, Option<HaveMap>)>, RuntimeError> {
    if let Some(picked) = picked {
        return match JsFuture::from(picked).await {
            Ok(target) => Ok(Some((Sink::picked(target, manifest), None))),
            Err(e) if sink::error_name(&e) == "AbortError" => Ok(None),
            Err(e) => Err(RuntimeError::Storage(sink::storage_error(&e))),
        };
    }
    let auto = options.sink.is_none();
    let kind =
        options.sink.unwrap_or(if sink::opfs_supported() { SinkKind::Opfs } else { without_disk(options) });
    match kind {
        SinkKind::Opfs => match Sink::open_opfs(name, manifest, options.storage_worker_url.clone()).await {
            Ok((sink, saved)) => {
                let resume = saved.and_then(|bytes| HaveMap::from_bytes(&bytes).ok());
                Ok(Some((sink, resume)))
            }
            // No synchronous access handles, or OPFS switched off: stream downloads or keep
            // the files in memory.
            Err(RuntimeError::Unsupported) if auto => {
                open_without_disk(manifest, options, without_disk(options)).await
            }
            Err(RuntimeError::Unsupported) => Err(RuntimeError::Storage(
                "this browser cannot stage files on disk; receive into memory instead".into(),
            )),
            Err(e) => Err(e),
        },
        kind => open_without_disk(manifest, options, kind).await,
    }
}

/// Opens the download or the memory sink; "auto" falls back to memory when the service
/// worker cannot be started (memory announces its cap before any byte moves).
async fn open_without_disk(
    manifest: &Manifest,
    options: &Options,
    kind: SinkKind,
) -> Result<Option<(Sink, Option<HaveMap>)>, RuntimeError> {
    if kind == SinkKind::Download {
        let Some(url) = options.service_worker.as_deref() else {
            return Err(RuntimeError::Storage(
                "this site is not set up to save files as downloads (its `serviceWorker` option is missing)"
                    .into(),
            ));
        };
        match Sink::open_download(url, manifest, options.memory_cap).await {
            Ok(sink) => return Ok(Some((sink, None))),
            Err(_) if options.sink.is_none() => {}
            Err(RuntimeError::Unsupported) => {
                return Err(RuntimeError::Storage(
                    "this browser offers this page no service worker to stream downloads through (a private window, or a page not served over HTTPS)".into(),
                ))
            }
            Err(e) => return Err(e),
        }
    }
    let needed = manifest.total_size();
    if needed > options.memory_cap {
        return Err(RuntimeError::TooLargeForMemory { needed, cap: options.memory_cap });
    }
    Ok(Some((Sink::Memory(MemorySink::new(manifest.files.len())), None)))
}

/// Takes up a lost transfer on a new connection of the same page: the sink is open, so the
/// offer is accepted at once with what the lost connection verified.
pub(super) fn resume_in_page(shared: &Shared, have: HaveMap) {
    let kind = shared.borrow().sink.as_ref().map_or("memory", |k| k.kind().name());
    start_accepted(shared, kind, Some(have));
}
