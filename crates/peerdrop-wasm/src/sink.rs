//! Where received, verified bytes go: a folder or file the person picked (File System
//! Access), resumable staging in the origin-private file system, downloads streamed through
//! the site's service worker, or memory as a last resort.

use crate::error::{describe, RuntimeError};
use crate::memory_sink::MemorySink;
use peerdrop_core::Manifest;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen(module = "/js/opfs.js")]
extern "C" {
    #[wasm_bindgen(js_name = opfsSupported)]
    pub fn opfs_supported() -> bool;

    #[wasm_bindgen(js_name = storageAvailable)]
    fn storage_available() -> js_sys::Promise;

    /// Deletes staged transfers other than `keep`: a person resumes only the link they reopen.
    #[wasm_bindgen(js_name = pruneStaging)]
    pub fn prune_staging(keep: &str) -> js_sys::Promise;

    #[derive(Clone)]
    pub type OpfsStaging;

    #[wasm_bindgen(constructor)]
    fn new(name: &str, worker_url: Option<String>) -> OpfsStaging;
    #[wasm_bindgen(method)]
    fn open(this: &OpfsStaging, files: JsValue) -> js_sys::Promise;
    #[wasm_bindgen(method)]
    fn write(this: &OpfsStaging, file: u32, offset: f64, data: js_sys::Uint8Array) -> js_sys::Promise;
    #[wasm_bindgen(method, js_name = saveMeta)]
    fn save_meta(this: &OpfsStaging, data: js_sys::Uint8Array, flush: bool) -> js_sys::Promise;
    #[wasm_bindgen(method, js_name = finishFile)]
    fn finish_file(this: &OpfsStaging, file: u32) -> js_sys::Promise;
    #[wasm_bindgen(method, js_name = getFile)]
    fn get_file(this: &OpfsStaging, file: u32, name: &str, mime: &str) -> js_sys::Promise;
    #[wasm_bindgen(method)]
    fn close(this: &OpfsStaging) -> js_sys::Promise;
    #[wasm_bindgen(method)]
    fn remove(this: &OpfsStaging) -> js_sys::Promise;
}

#[wasm_bindgen(module = "/js/fs_access.js")]
extern "C" {
    #[wasm_bindgen(js_name = fsAccessSupported)]
    pub fn fs_access_supported() -> bool;

    #[wasm_bindgen(js_name = pickTarget)]
    fn pick_target(files: JsValue) -> js_sys::Promise;

    #[derive(Clone)]
    pub type PickedTarget;

    #[wasm_bindgen(constructor)]
    fn new(target: JsValue, files: JsValue) -> PickedTarget;
    #[wasm_bindgen(method)]
    fn write(this: &PickedTarget, file: u32, offset: f64, data: js_sys::Uint8Array) -> js_sys::Promise;
    #[wasm_bindgen(method, js_name = finishFile)]
    fn finish_file(this: &PickedTarget, file: u32) -> js_sys::Promise;
    #[wasm_bindgen(method)]
    fn abort(this: &PickedTarget) -> js_sys::Promise;
}

#[wasm_bindgen(module = "/js/download.js")]
extern "C" {
    #[wasm_bindgen(js_name = downloadSupported)]
    pub fn download_supported() -> bool;

    #[wasm_bindgen(js_name = openDownloads)]
    fn open_downloads(worker_url: &str, files: JsValue, hold_limit: f64) -> js_sys::Promise;

    #[derive(Clone)]
    pub type DownloadTarget;

    #[wasm_bindgen(method)]
    fn write(this: &DownloadTarget, file: u32, offset: f64, data: js_sys::Uint8Array) -> js_sys::Promise;
    #[wasm_bindgen(method, js_name = finishFile)]
    fn finish_file(this: &DownloadTarget, file: u32) -> js_sys::Promise;
    #[wasm_bindgen(method)]
    fn close(this: &DownloadTarget, failed: bool);
}

/// The kinds of sink, as named in the JavaScript API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkKind {
    Memory,
    Opfs,
    Picked,
    Download,
}

impl SinkKind {
    pub fn name(self) -> &'static str {
        match self {
            SinkKind::Memory => "memory",
            SinkKind::Opfs => "opfs",
            SinkKind::Picked => "pick",
            SinkKind::Download => "download",
        }
    }
}

/// An opened sink for one transfer.
pub enum Sink {
    Memory(MemorySink),
    Opfs(OpfsStaging),
    Picked(PickedTarget),
    Download(DownloadTarget),
}

/// What a finished file became.
pub enum Finished {
    /// A `Blob` or disk-backed `File` the page can offer for saving.
    Blob(JsValue),
    /// Already saved where the person picked.
    Saved,
}

fn files_js(manifest: &Manifest) -> JsValue {
    crate::events::manifest_to_js(manifest)
}

async fn wait(p: js_sys::Promise) -> Result<JsValue, JsValue> {
    JsFuture::from(p).await
}

pub(crate) fn error_name(e: &JsValue) -> String {
    js_sys::Reflect::get(e, &"name".into()).ok().and_then(|n| n.as_string()).unwrap_or_default()
}

/// Turns a storage exception into the typed error a person can act on.
pub fn storage_error(e: &JsValue) -> String {
    let name = error_name(e);
    match name.as_str() {
        "QuotaExceededError" => {
            "the disk or the browser's storage quota is full; free some space and try again".into()
        }
        "NotAllowedError" | "SecurityError" => {
            "the browser no longer allows writing there; pick the place again".into()
        }
        "AbortError" => "no place to save was picked".into(),
        // js/download.js words these for people already.
        n if n.starts_with("Download") => describe(e),
        _ => format!("the received data could not be stored: {}", describe(e)),
    }
}

/// Why storing failed: the person stopped it (cancelled the download) or it broke.
#[derive(Debug)]
pub enum StoreError {
    Cancelled(String),
    Failed(String),
}

impl StoreError {
    pub fn from_js(e: &JsValue) -> StoreError {
        match error_name(e).as_str() {
            "DownloadCancelled" => StoreError::Cancelled(describe(e)),
            _ => StoreError::Failed(storage_error(e)),
        }
    }

    /// Ends the transfer: `cancelled` when the person stopped the download, else `sink_failed`.
    pub fn end(&self, engine: &mut peerdrop_core::Receiver) {
        match self {
            StoreError::Cancelled(why) => engine.cancel(crate::clock::now_ms(), why),
            StoreError::Failed(why) => engine.handle_write_error(crate::clock::now_ms(), why),
        }
    }
}

impl Sink {
    /// Resumable OPFS staging for the transfer `name`; returns the saved have-map bytes, if any.
    pub async fn open_opfs(
        name: &str,
        manifest: &Manifest,
        worker_url: Option<String>,
    ) -> Result<(Sink, Option<Vec<u8>>), RuntimeError> {
        let available = wait(storage_available()).await.ok().and_then(|v| v.as_f64());
        let needed = manifest.total_size();
        // Checked before the worker reserves space, so the person learns before any byte moves.
        // (Bytes already staged for a resume count against usage, so this errs on the safe side.)
        if available.is_some_and(|a| (needed as f64) > a) {
            return Err(RuntimeError::InsufficientStorage { needed, available });
        }
        let staging = OpfsStaging::new(name, worker_url);
        let saved = wait(staging.open(files_js(manifest))).await;
        let saved = match saved {
            Ok(v) if v.is_null() || v.is_undefined() => None,
            Ok(v) => Some(js_sys::Uint8Array::new(&v).to_vec()),
            Err(e) => {
                let _ = wait(staging.close()).await;
                let _ = wait(staging.remove()).await;
                return Err(match error_name(&e).as_str() {
                    "QuotaExceededError" => RuntimeError::InsufficientStorage { needed, available },
                    // SecurityError: OPFS is switched off here (Firefox private windows).
                    "NotSupportedError" | "SecurityError" => RuntimeError::Unsupported,
                    _ => RuntimeError::Storage(storage_error(&e)),
                });
            }
        };
        Ok((Sink::Opfs(staging), saved))
    }

    /// Downloads through the site's service worker at `worker_url`. `hold_limit` bounds the
    /// bytes kept while a refetched block is awaited (downloads are written in order).
    pub async fn open_download(
        worker_url: &str,
        manifest: &Manifest,
        hold_limit: u64,
    ) -> Result<Sink, RuntimeError> {
        match wait(open_downloads(worker_url, files_js(manifest), hold_limit as f64)).await {
            Ok(target) => Ok(Sink::Download(target.unchecked_into())),
            Err(e) if error_name(&e) == "DownloadUnsupported" => Err(RuntimeError::Unsupported),
            Err(e) => Err(RuntimeError::Storage(storage_error(&e))),
        }
    }

    /// Asks where to save; call synchronously from a click.
    pub fn pick(manifest: &Manifest) -> js_sys::Promise {
        pick_target(files_js(manifest))
    }

    pub fn picked(target: JsValue, manifest: &Manifest) -> Sink {
        Sink::Picked(PickedTarget::new(target, files_js(manifest)))
    }

    pub fn kind(&self) -> SinkKind {
        match self {
            Sink::Memory(_) => SinkKind::Memory,
            Sink::Opfs(_) => SinkKind::Opfs,
            Sink::Picked(_) => SinkKind::Picked,
            Sink::Download(_) => SinkKind::Download,
        }
    }

    /// Starts storing `data` (already copied out of wasm memory, which stays flat); `None`
    /// when the write already finished (memory).
    pub fn write(&mut self, file: u32, offset: u64, data: js_sys::Uint8Array) -> Option<js_sys::Promise> {
        match self {
            Sink::Memory(m) => {
                m.write(file, offset, data);
                None
            }
            Sink::Opfs(s) => Some(s.write(file, offset as f64, data)),
            Sink::Picked(p) => Some(p.write(file, offset as f64, data)),
            Sink::Download(d) => Some(d.write(file, offset as f64, data)),
        }
    }

    /// Stores the have-map beside the staged bytes (OPFS only); `flush` also makes the data
    /// and the map durable against a machine crash, which costs a disk flush.
    pub fn save_progress(&self, have_map: &peerdrop_core::HaveMap, flush: bool) -> Option<js_sys::Promise> {
        match self {
            // Only this sink survives a reload, so only it serializes the map.
            Sink::Opfs(s) => Some(s.save_meta(js_sys::Uint8Array::from(&have_map.to_bytes()[..]), flush)),
            _ => None,
        }
    }

    /// Seals one finished file and returns what the page can do with it.
    pub fn finish_file(&mut self, file: u32, path: &str, mime: &str) -> FinishFuture {
        let name = path.rsplit('/').next().unwrap_or(path).to_string();
        match self {
            Sink::Memory(m) => {
                let blob = m.take_blob(file, mime).map(JsValue::from);
                FinishFuture::Ready(blob.map(Finished::Blob).map_err(|e| StoreError::from_js(&e)))
            }
            Sink::Opfs(s) => {
                let s = s.clone();
                let mime = mime.to_string();
                FinishFuture::Pending(Box::pin(async move {
                    wait(s.finish_file(file)).await.map_err(|e| StoreError::from_js(&e))?;
                    let f =
                        wait(s.get_file(file, &name, &mime)).await.map_err(|e| StoreError::from_js(&e))?;
                    Ok(Finished::Blob(f))
                }))
            }
            Sink::Picked(p) => {
                let p = p.clone();
                FinishFuture::Pending(Box::pin(async move {
                    wait(p.finish_file(file)).await.map_err(|e| StoreError::from_js(&e))?;
                    Ok(Finished::Saved)
                }))
            }
            // Saved means handed to the browser's download, which writes it to disk.
            Sink::Download(d) => {
                let d = d.clone();
                FinishFuture::Pending(Box::pin(async move {
                    wait(d.finish_file(file)).await.map_err(|e| StoreError::from_js(&e))?;
                    Ok(Finished::Saved)
                }))
            }
        }
    }

    /// Releases the sink; on failure a picked target drops partial files and downloads fail.
    pub async fn close(self, failed: bool) {
        match self {
            Sink::Memory(_) => {}
            Sink::Opfs(s) => {
                let _ = wait(s.close()).await;
            }
            Sink::Picked(p) => {
                if failed {
                    let _ = wait(p.abort()).await;
                }
            }
            // On failure, unfinished downloads end as failed rather than as truncated files.
            Sink::Download(d) => d.close(failed),
        }
    }
}

/// The result of [`Sink::finish_file`].
pub enum FinishFuture {
    Ready(Result<Finished, StoreError>),
    Pending(std::pin::Pin<Box<dyn std::future::Future<Output = Result<Finished, StoreError>>>>),
}

impl FinishFuture {
    pub async fn resolve(self) -> Result<Finished, StoreError> {
        match self {
            FinishFuture::Ready(r) => r,
            FinishFuture::Pending(f) => f.await,
        }
    }
}
