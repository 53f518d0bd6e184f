//! Keeps the receiver's signaling seat in `sessionStorage`, so a reload of the same tab takes
//! the seat up again (same token, next sequence number, same cursor) and can resume.
//!
//! Typed `web_sys` calls rather than `gloo-storage`: that crate throws where the page has no
//! `sessionStorage` (a worker, storage blocked in a sandboxed frame), and a seat that cannot be
//! kept only means a reload starts over.

use crate::signaling::Seat;

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

fn key(room: &str) -> String {
    format!("peerdrop-seat:{room}")
}

pub fn load(room: &str) -> Option<Seat> {
    let text = storage()?.get_item(&key(room)).ok()??;
    serde_json::from_str(&text).ok()
}

pub fn save(room: &str, seat: &Seat) {
    if let (Some(storage), Ok(text)) = (storage(), serde_json::to_string(seat)) {
        let _ = storage.set_item(&key(room), &text);
    }
}

pub fn clear(room: &str) {
    if let Some(storage) = storage() {
        let _ = storage.remove_item(&key(room));
    }
}
