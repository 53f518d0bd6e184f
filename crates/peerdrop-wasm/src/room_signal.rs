//! The sender's signaling in a room for several receivers (`docs/signaling.md` section 2.6):
//! one seat and one held poll for all of them, split into a [`PeerSignal`] per receiver, so
//! that each receiver's negotiation is the very code a transfer to one receiver runs.
//!
//! The room's poll loop owns the `SignalClient` (a poll is held for up to 20 s); everything
//! sent meanwhile goes through the [`RoomPost`], which shares the seat's token and sequence.

use crate::error::RuntimeError;
use crate::signaling::{
    open_sealed, post, post_retrying, send_keepalive, Addressed, Message, Seat, SharedLog, Signal,
};
use futures::channel::mpsc;
use futures::StreamExt;
use gloo_events::EventListener;
use peerdrop_core::seal::{SealError, SignalSeal};
use serde_json::json;
use std::cell::Cell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::JsCast;

/// How often a receiver's wait looks up from an empty inbox (to see a cancel or a deadline).
const IDLE_WAKE: Duration = Duration::from_secs(1);

/// The sender's seat for sending while its poll is held: messages to one receiver, drops,
/// closing, leaving.
pub struct RoomPost {
    url: String,
    token: String,
    log: SharedLog,
    /// One sequence for all the receivers (the endpoint deduplicates retries by it).
    seq: Cell<u64>,
}

impl RoomPost {
    /// What sends, drops and closes for `seat` (at `url`) while its poll is held: its token,
    /// and its sequence from here on.
    pub fn new(url: &str, seat: Seat, log: SharedLog) -> Self {
        RoomPost { url: url.to_string(), token: seat.token, log, seq: Cell::new(seat.seq) }
    }

    /// Sends one sealed message to receiver `to` alone. Retries reuse its sequence number.
    pub async fn send_to(&self, to: u8, sealed: &str) -> Result<(), RuntimeError> {
        let seq = self.seq.get() + 1;
        self.seq.set(seq);
        let body = json!({"v": 1, "op": "send", "token": self.token, "seq": seq, "type": "sealed",
            "data": sealed, "to": to});
        post_retrying(&self.url, &body, &self.log).await.map(|_| ())
    }

    /// Ends receiver `peer`'s seat: its token stops working, the others go on. Idempotent.
    pub async fn drop_receiver(&self, peer: u8) -> Result<(), RuntimeError> {
        let body = json!({"v": 1, "op": "drop", "token": self.token, "peer": peer});
        post_retrying(&self.url, &body, &self.log).await.map(|_| ())
    }

    /// Closes the room to newcomers (their join gets `room_locked`). Idempotent.
    pub async fn close_room(&self) -> Result<(), RuntimeError> {
        let body = json!({"v": 1, "op": "close", "token": self.token});
        post_retrying(&self.url, &body, &self.log).await.map(|_| ())
    }

    /// Leaves the room: every receiver hears `peer-left`. Failures are ignored (the server
    /// expires silent peers anyway).
    pub async fn leave(&self) {
        let body = json!({"v": 1, "op": "leave", "token": self.token});
        let _ = post(&self.url, &body, &self.log).await;
    }

    /// Leaves the room when the page goes away (see `SignalClient::leave_on_unload`).
    pub fn leave_on_unload(&self) -> Option<EventListener> {
        let target = js_sys::global().dyn_into::<web_sys::EventTarget>().ok()?;
        let (url, body) = (self.url.clone(), json!({"v": 1, "op": "leave", "token": self.token}).to_string());
        Some(EventListener::new(&target, "pagehide", move |_| send_keepalive(&url, &body)))
    }
}

/// One receiver's share of the sender's seat: its messages as the room's poll hands them
/// over, opened with its own seal (each receiver is its own session), and sends addressed to it.
pub struct PeerSignal {
    peer: u8,
    post: Rc<RoomPost>,
    inbox: mpsc::UnboundedReceiver<Addressed>,
    seal: SignalSeal,
    tampered: Vec<SealError>,
    unread: VecDeque<Message>,
    ice_servers: Option<serde_json::Value>,
}

impl PeerSignal {
    /// Receiver `peer`'s share, and where the room's poll puts its messages.
    pub fn new(
        peer: u8,
        post: Rc<RoomPost>,
        seal: SignalSeal,
        ice_servers: Option<serde_json::Value>,
    ) -> (PeerSignal, mpsc::UnboundedSender<Addressed>) {
        let (tx, inbox) = mpsc::unbounded();
        let signal = PeerSignal {
            peer,
            post,
            inbox,
            seal,
            tampered: Vec::new(),
            unread: VecDeque::new(),
            ice_servers,
        };
        (signal, tx)
    }

    fn open(&mut self, m: Addressed) -> Option<Message> {
        match m.kind.as_str() {
            "peer-left" => Some(Message { kind: m.kind, data: String::new() }),
            "sealed" => match open_sealed(&mut self.seal, &m.data) {
                Ok(opened) => Some(opened),
                Err(e) => {
                    self.tampered.push(e);
                    None
                }
            },
            // Its join was seen by the room already; anything unsealed is not trusted.
            "peer-joined" => None,
            _ => {
                self.tampered.push(SealError::Tampered);
                None
            }
        }
    }
}

impl Signal for PeerSignal {
    async fn poll(&mut self) -> Result<Vec<Message>, RuntimeError> {
        if !self.unread.is_empty() {
            return Ok(self.unread.drain(..).collect());
        }
        let next =
            futures::future::select(self.inbox.next(), Box::pin(crate::signaling::sleep(IDLE_WAKE))).await;
        let first = match next {
            futures::future::Either::Left((Some(m), _)) => m,
            // The room's poll ended: the room is gone for everyone.
            futures::future::Either::Left((None, _)) => return Err(RuntimeError::LinkExpired),
            futures::future::Either::Right(_) => return Ok(Vec::new()),
        };
        let mut messages: Vec<Message> = self.open(first).into_iter().collect();
        while let Ok(m) = self.inbox.try_recv() {
            messages.extend(self.open(m));
        }
        Ok(messages)
    }

    fn take_tampered(&mut self) -> Vec<SealError> {
        std::mem::take(&mut self.tampered)
    }

    fn put_back(&mut self, messages: Vec<Message>) {
        for m in messages.into_iter().rev() {
            self.unread.push_front(m);
        }
    }

    async fn send(&mut self, kind: &str, data: &str) -> Result<(), RuntimeError> {
        let sealed =
            self.seal.seal(kind, data.as_bytes()).map_err(|e| RuntimeError::Browser(e.to_string()))?;
        self.post.send_to(self.peer, &sealed).await
    }

    fn reset_seal(&mut self, seal: SignalSeal) {
        self.seal = seal;
    }

    fn ice_servers(&self) -> Option<&serde_json::Value> {
        self.ice_servers.as_ref()
    }
}
