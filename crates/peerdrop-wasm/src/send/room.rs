//! A link several people may open at once (`receivers` > 1): one room and one held poll for
//! all of them, and for each receiver the very state and negotiation a transfer to one
//! receiver runs (`negotiate::serve`), with its own connection, words, progress and resume.
//! Their engines read through one shared block cache, so each block is read and hashed once.
//!
//! The link ends (`complete`) once it is closed to newcomers, or every seat is taken, and every
//! receiver that came has ended; `cancel()` ends it at once.

use super::negotiate::serve;
use super::read::Reads;
use super::shared_reads::{self, SharedCache};
use super::{stop, Shared, State};
use crate::block_hash::Subtle;
use crate::driver::{self, Page};
use crate::error::RuntimeError;
use crate::events::Emitter;
use crate::js_value::object;
use crate::options::Options;
use crate::room_signal::{PeerSignal, RoomPost};
use crate::signaling::{
    abort_if_tampered, is_transient, new_seal, sleep, Addressed, SharedLog, Signal, SignalClient, BYE,
};
use futures::channel::mpsc::UnboundedSender;
use peerdrop_core::frame::Role;
use peerdrop_core::{ErrorCode, LinkSecret, Manifest, TransferError};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;
use web_sys::File;

pub(super) struct Room {
    /// Events about the link as a whole (no `receiver`).
    emitter: Emitter,
    log: SharedLog,
    options: Options,
    secret: LinkSecret,
    manifest: Manifest,
    /// The files' blocks, read once for every receiver.
    reads: SharedCache,
    /// Set once the room exists.
    post: Option<Rc<RoomPost>>,
    ice_servers: Option<serde_json::Value>,
    /// The receivers that came, by peer number.
    receivers: BTreeMap<u8, Joined>,
    /// How many the room seats (what the endpoint granted).
    seats: u8,
    /// Closed to newcomers (`closing`: asked, not yet confirmed).
    closed: bool,
    closing: bool,
    /// Receivers that stopped coming back are being looked for (once nobody new can come).
    sweeping: bool,
    /// The link ended (complete, cancelled or failed).
    finished: bool,
}

/// A receiver that came: its sending state, and its share of the room's poll.
struct Joined {
    state: Shared,
    /// Where the room's poll puts this receiver's messages.
    inbox: Option<UnboundedSender<Addressed>>,
    ended: bool,
    /// Once nobody new can come: how long it has been without a running transfer.
    idle_ms: u64,
}

pub(super) type SharedRoom = Rc<RefCell<Room>>;

impl Room {
    pub(super) fn new(
        emitter: Emitter,
        options: Options,
        secret: LinkSecret,
        files: Vec<File>,
        manifest: Manifest,
        subtle: Option<Subtle>,
    ) -> SharedRoom {
        let reads = shared_reads::new(files, subtle, options.flow.shared_cache_bytes());
        Rc::new(RefCell::new(Room {
            emitter,
            log: SharedLog::default(),
            options,
            secret,
            manifest,
            reads,
            post: None,
            ice_servers: None,
            receivers: BTreeMap::new(),
            seats: 0,
            closed: false,
            closing: false,
            sweeping: false,
            finished: false,
        }))
    }

    pub(super) fn manifest(&self) -> &Manifest {
        &self.manifest
    }
}

/// Creates the room for up to `wanted` receivers and serves it until the link ends.
pub(super) fn start(room: &SharedRoom, wanted: u8) {
    let room = room.clone();
    spawn_local(async move {
        if let Err(e) = run(&room, wanted).await {
            end_link(&room, Some(e));
        }
    });
}

async fn run(room: &SharedRoom, wanted: u8) -> Result<(), RuntimeError> {
    let (emitter, url, log, room_id) = {
        let r = room.borrow();
        (r.emitter.clone(), r.options.signal_url.clone(), r.log.clone(), r.secret.room_id())
    };
    emitter.status("signaling");
    let (mut client, seats) =
        match SignalClient::create_for_receivers(&url, &room_id, wanted, log.clone()).await {
            // The endpoint seats fewer (its `max_receivers`): take what it allows.
            Err(RuntimeError::Signaling { status: 400, code, .. }) if code == "invalid_receivers" => {
                let allowed =
                    crate::signaling::max_receivers(&url).await.filter(|&n| n < wanted).ok_or_else(|| {
                        RuntimeError::InvalidReceivers(format!("{url} does not seat {wanted} receivers"))
                    })?;
                SignalClient::create_for_receivers(&url, &room_id, allowed, log).await?
            }
            other => other?,
        };
    let post = Rc::new(RoomPost::new(&url, client.seat(), room.borrow().log.clone()));
    let cancelled = {
        let mut r = room.borrow_mut();
        r.post = Some(post.clone());
        r.ice_servers = client.ice_servers().cloned();
        r.seats = seats;
        r.finished
    };
    if cancelled {
        // Cancelled while the room was being made.
        post.leave().await;
        return Ok(());
    }
    emitter.emit(object(&[("type", "room".into()), ("receivers", seats.into())]));
    emitter.status("waiting");
    // The sender's page going away ends the link for every receiver at once.
    let _leave_on_unload = post.leave_on_unload();
    while !room.borrow().finished {
        match client.poll_addressed().await {
            Ok(messages) => {
                for m in messages {
                    dispatch(room, m);
                }
                // After a close, only once the joins the endpoint took before it were seen.
                check_complete(room);
            }
            Err(e) if is_transient(&e) => sleep(Duration::from_secs(2)).await,
            Err(_) if room.borrow().finished => break,
            Err(e) => return lost_signaling(room, e),
        }
    }
    Ok(())
}

/// Signaling failed for good (the room expired, the endpoint refuses the seat): the receivers
/// connected go on peer to peer, but nobody new can come, and nobody can reconnect.
fn lost_signaling(room: &SharedRoom, e: RuntimeError) -> Result<(), RuntimeError> {
    let (emitter, active) = {
        let mut r = room.borrow_mut();
        r.closed = true;
        for seat in r.receivers.values_mut() {
            seat.inbox = None;
        }
        (r.emitter.clone(), r.receivers.values().any(|s| !s.ended))
    };
    if !active {
        return Err(e);
    }
    emitter.signaling_trouble(&format!(
        "The transfers under way continue, but nobody else can open the link and a lost connection cannot be restored: {}",
        e.message()
    ));
    check_complete(room);
    Ok(())
}

/// Hands one message of the room's poll to the receiver it is from.
fn dispatch(room: &SharedRoom, m: Addressed) {
    // The sender's own messages, and the server's about nobody, concern no receiver.
    if m.from == 0 {
        return;
    }
    if matches!(m.kind.as_str(), "peer-joined" | "sealed") {
        seat(room, m.from);
    }
    let inbox = room.borrow().receivers.get(&m.from).and_then(|s| s.inbox.clone());
    if let Some(inbox) = inbox {
        // A receiver whose transfer ended no longer reads its inbox.
        let _ = inbox.unbounded_send(m);
    }
}

/// Seats receiver `peer` the first time the room hears of it: its own sending state, its
/// share of the signaling seat, and its negotiation running.
fn seat(room: &SharedRoom, peer: u8) {
    let (state, signal) = {
        let mut r = room.borrow_mut();
        if r.finished || r.receivers.contains_key(&peer) {
            return;
        }
        let Some(post) = r.post.clone() else { return };
        let Ok(seal) = new_seal(&r.secret, Role::Sender) else { return };
        let mut page = Page::new(r.emitter.for_receiver(peer));
        page.log = r.log.clone();
        let asker = usize::from(peer);
        let state = Rc::new(RefCell::new(State::new(
            page,
            r.manifest.clone(),
            r.secret.transfer_id(),
            r.options.flow,
            Reads::Shared { cache: r.reads.clone(), asker },
        )));
        shared_reads::register(&r.reads, asker, &state);
        let (signal, inbox) = PeerSignal::new(peer, post, seal, r.ice_servers.clone());
        r.receivers
            .insert(peer, Joined { state: state.clone(), inbox: Some(inbox), ended: false, idle_ms: 0 });
        (state, signal)
    };
    if room.borrow().receivers.len() >= usize::from(room.borrow().seats) {
        sweep(room);
    }
    let room = room.clone();
    spawn_local(serve_receiver(room, peer, state, signal));
}

async fn serve_receiver(room: SharedRoom, peer: u8, state: Shared, mut signal: PeerSignal) {
    let (options, secret) = {
        let r = room.borrow();
        (r.options.clone(), r.secret.clone())
    };
    let result = serve(&state, &options, &secret, &mut signal).await;
    if let Err(e) = result {
        if matches!(e, RuntimeError::SignalingTampered(_)) {
            abort_if_tampered(&mut signal, &e).await;
        } else {
            // Its wait ends at once, as a link for one's does when the sender leaves.
            let _ = signal.send(BYE, &e.message()).await;
        }
        driver::fail(&state, e);
    }
    let reads = {
        let mut r = room.borrow_mut();
        if let Some(seat) = r.receivers.get_mut(&peer) {
            seat.ended = true;
            seat.inbox = None;
        }
        r.reads.clone()
    };
    shared_reads::forget(&reads, usize::from(peer));
    check_complete(&room);
}

/// Ends the link once nobody else can come (closed, or every seat taken) and every receiver
/// that came has ended.
fn check_complete(room: &SharedRoom) {
    let done = {
        let r = room.borrow();
        !r.finished
            && r.post.is_some()
            && (r.closed || r.receivers.len() >= usize::from(r.seats))
            && r.receivers.values().all(|s| s.ended)
    };
    if done {
        end_link(room, None);
    }
}

/// Ends the link: `complete`, or `error`; the room is left, so every receiver still waiting
/// hears that the sender is gone.
fn end_link(room: &SharedRoom, error: Option<RuntimeError>) {
    let (emitter, post) = {
        let mut r = room.borrow_mut();
        if r.finished {
            return;
        }
        r.finished = true;
        (r.emitter.clone(), r.post.clone())
    };
    match error {
        None => {
            emitter.status("complete");
            emitter.emit(object(&[("type", "complete".into())]));
        }
        Some(e) => emitter.error(&e),
    }
    if let Some(post) = post {
        spawn_local(async move { post.leave().await });
    }
}

/// `cancel()`: every receiver is told the transfer was cancelled, and the link ends.
pub(super) fn cancel(room: &SharedRoom) {
    let states: Vec<Shared> =
        room.borrow().receivers.values().filter(|s| !s.ended).map(|s| s.state.clone()).collect();
    for state in states {
        stop(&state, "the sender cancelled the transfer", super::cancelled());
    }
    end_link(room, Some(super::cancelled()));
}

/// `dropReceiver(peer)`: ends that receiver alone, and its seat in the room.
pub(super) fn drop_receiver(room: &SharedRoom, peer: u8) {
    let (state, post) = {
        let r = room.borrow();
        match r.receivers.get(&peer) {
            Some(seat) if !seat.ended => (seat.state.clone(), r.post.clone()),
            _ => return,
        }
    };
    state.borrow_mut().dropped = true;
    stop(&state, "the sender removed you from this transfer", RuntimeError::RemovedReceiver);
    // A room for one (an endpoint older than rooms for several) has no `drop`.
    if let Some(post) = post.filter(|_| room.borrow().seats > 1) {
        spawn_local(async move {
            let _ = post.drop_receiver(peer).await;
        });
    }
}

/// `closeLink()`: nobody new can open the link; `linkClosed` once the endpoint confirmed. The
/// link completes once the receivers in have ended (seen by the room's poll, after any join the
/// endpoint took before the close).
pub(super) fn close_link(room: &SharedRoom) {
    let post = {
        let mut r = room.borrow_mut();
        if r.finished || r.closed || r.closing {
            return;
        }
        let Some(post) = r.post.clone() else { return };
        r.closing = true;
        post
    };
    let room = room.clone();
    spawn_local(async move {
        // A room for one (an endpoint older than rooms for several) seats nobody else anyway.
        let one = room.borrow().seats <= 1;
        let result = if one { Ok(()) } else { post.close_room().await };
        let emitter = room.borrow().emitter.clone();
        room.borrow_mut().closing = false;
        match result {
            Ok(()) => {
                room.borrow_mut().closed = true;
                emitter.emit(object(&[("type", "linkClosed".into())]));
                sweep(&room);
            }
            Err(_) if room.borrow().finished => {}
            Err(e) => emitter
                .signaling_trouble(&format!("The link could not be closed to newcomers: {}", e.message())),
        }
    });
}

/// How often, once nobody new can come, the room looks for receivers that stopped coming back.
const SWEEP: Duration = Duration::from_secs(5);

/// Once nobody new can come (closed, or every seat taken), a receiver without a running
/// transfer for longer than the reconnect window ends with `connection_lost`: one that closed
/// its page mid-transfer, or joined and never said hello, would otherwise keep the link from
/// ever completing (receivers keep their seat for a reload, so none says it left).
fn sweep(room: &SharedRoom) {
    if std::mem::replace(&mut room.borrow_mut().sweeping, true) {
        return;
    }
    let room = room.clone();
    spawn_local(async move {
        let step = SWEEP.as_millis() as u64;
        while !room.borrow().finished {
            sleep(SWEEP).await;
            let window = room.borrow().options.reconnect_window_ms;
            let mut gone = Vec::new();
            for seat in room.borrow_mut().receivers.values_mut().filter(|s| !s.ended) {
                let running = seat.state.borrow().engine.as_ref().is_some_and(|e| !e.is_closed());
                seat.idle_ms = if running { 0 } else { seat.idle_ms + step };
                if seat.idle_ms > window.max(step) {
                    gone.push(seat.state.clone());
                }
            }
            for state in gone {
                driver::fail(
                    &state,
                    RuntimeError::Transfer(TransferError::local(
                        ErrorCode::ConnectionLost,
                        format!(
                            "the receiver has been gone for more than {} s and the link takes nobody new",
                            window.max(step) / 1000
                        ),
                    )),
                );
            }
        }
    });
}

/// `diagnose(receiver)`: that receiver's connection; without one, the link's signaling and
/// how much reading its receivers shared (`sharedReads`).
pub(super) fn diagnose(room: &SharedRoom, receiver: Option<u8>) -> crate::types::DiagnosisPromise {
    let r = room.borrow();
    if let Some(seat) = receiver.and_then(|peer| r.receivers.get(&peer)) {
        return seat.state.borrow().page.diagnose();
    }
    let stats = shared_reads::stats(&r.reads);
    let shared = object(&[
        ("reads", (stats.reads as f64).into()),
        ("bytesRead", (stats.bytes_read as f64).into()),
        ("deliveries", (stats.deliveries as f64).into()),
        ("bytesDelivered", (stats.bytes_delivered as f64).into()),
        ("heldBytes", (stats.held_bytes as f64).into()),
        ("maxHeldBytes", (stats.max_held_bytes as f64).into()),
    ]);
    let link: js_sys::Promise = crate::diagnose::of(None, &r.log).unchecked_into();
    wasm_bindgen_futures::future_to_promise(async move {
        let diagnosis = wasm_bindgen_futures::JsFuture::from(link).await?;
        js_sys::Reflect::set(&diagnosis, &"sharedReads".into(), &shared)?;
        Ok(diagnosis)
    })
    .unchecked_into()
}
