//! The receiver's engine events, handled one at a time and in order, even when one must await
//! (finishing a file in the sink, accepting an offer).

use super::accept::{accept, resume_in_page};
use super::negotiate::{reconnect, reconnectable};
use super::{finish_later, save_progress, Shared};
use crate::clock::now_ms;
use crate::connection::Connection;
use crate::driver;
use crate::error::RuntimeError;
use crate::events::manifest_to_js;
use crate::js_value::{hex, object};
use crate::sink::{self, Finished};
use peerdrop_core::ReceiverEvent;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::spawn_local;

/// Handles queued events one at a time, in order, even when one of them must await.
pub(super) fn dispatch(shared: &Shared) {
    {
        let mut s = shared.borrow_mut();
        if s.dispatching || s.queue.is_empty() {
            return;
        }
        s.dispatching = true;
    }
    let shared = shared.clone();
    spawn_local(async move {
        loop {
            let next = shared.borrow_mut().queue.pop_front();
            let Some(event) = next else { break };
            handle_event(&shared, event).await;
        }
        shared.borrow_mut().dispatching = false;
    });
}

async fn handle_event(shared: &Shared, event: ReceiverEvent) {
    let emitter = shared.borrow().page.emitter.clone();
    match event {
        ReceiverEvent::Offer(manifest) => {
            let carried = {
                let mut s = shared.borrow_mut();
                if s.sink.is_some() {
                    s.carried.take()
                } else {
                    None
                }
            };
            if let Some(have) = carried {
                return resume_in_page(shared, have);
            }
            emitter.emit(object(&[
                ("type", "offer".into()),
                ("files", manifest_to_js(&manifest)),
                ("totalBytes", (manifest.total_size() as f64).into()),
                ("canPick", sink::fs_access_supported().into()),
            ]));
            if shared.borrow().options.auto_accept {
                accept(shared, None).await;
            }
        }
        ReceiverEvent::Progress(p) => {
            save_progress(shared);
            emitter.progress(&p)
        }
        ReceiverEvent::BlockRejected { file, index, attempt } => emitter.emit(object(&[
            ("type", "blockRejected".into()),
            ("file", file.into()),
            ("block", (index as f64).into()),
            ("attempt", attempt.into()),
        ])),
        ReceiverEvent::FileComplete { file, digest } => {
            if shared.borrow().files_done.contains(&file) {
                return;
            }
            let entry = shared
                .borrow()
                .engine
                .as_ref()
                .and_then(|e| e.manifest().map(|m| m.files[file as usize].clone()));
            let Some(entry) = entry else { return };
            let finish = match shared.borrow_mut().sink.as_mut() {
                Some(sink) => sink.finish_file(file, &entry.path, &entry.mime),
                None => return,
            };
            match finish.resolve().await {
                Ok(done) => {
                    let (blob, saved) = match done {
                        Finished::Blob(b) => (b, false),
                        Finished::Saved => (JsValue::NULL, true),
                    };
                    shared.borrow_mut().files_done.push(file);
                    emitter.emit(object(&[
                        ("type", "file".into()),
                        ("index", file.into()),
                        ("path", entry.path.as_str().into()),
                        ("size", (entry.size as f64).into()),
                        ("mime", entry.mime.as_str().into()),
                        ("digest", digest.map_or(JsValue::NULL, |d| hex(&d).into())),
                        ("blob", blob),
                        ("saved", saved.into()),
                    ]));
                }
                Err(why) => {
                    if let Some(engine) = shared.borrow_mut().engine.as_mut() {
                        why.end(engine);
                    }
                    driver::pump(shared);
                }
            }
        }
        ReceiverEvent::Stalled { idle_ms } => {
            let (code, message) = shared
                .borrow()
                .page
                .conn
                .as_ref()
                .map(|c| c.stall_diagnosis())
                .unwrap_or(("channel_closed", "the connection is gone"));
            emitter.emit(object(&[
                ("type", "stalled".into()),
                ("idleMs", (idle_ms as f64).into()),
                ("diagnosis", code.into()),
                ("message", message.into()),
            ]));
            if Connection::peer_gone(code) {
                if let Some(engine) = shared.borrow_mut().engine.as_mut() {
                    engine.handle_connection_lost(now_ms());
                }
                driver::pump(shared);
            }
        }
        ReceiverEvent::Complete => {
            emitter.status("complete");
            emitter.emit(object(&[("type", "complete".into())]));
            finish_later(shared, false);
        }
        ReceiverEvent::Failed(err) if reconnectable(&shared.borrow(), &err) => {
            shared.borrow_mut().reconnecting = true;
            let shared = shared.clone();
            spawn_local(async move { reconnect(&shared).await });
        }
        ReceiverEvent::Failed(err) => {
            // A runtime failure (storage, memory cap) already told the page, more precisely.
            if !shared.borrow().page.finished {
                emitter.error(&RuntimeError::Transfer(err));
            }
            finish_later(shared, true);
        }
    }
}
