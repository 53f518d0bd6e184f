//! The receiver's signaling: joins the room (or takes up this tab's seat after a reload), says
//! hello, answers the sender's offer, and restores a lost connection within the reconnect
//! window.

use super::{Shared, State};
use crate::clock::now_ms;
use crate::code_exchange;
use crate::driver;
use crate::error::RuntimeError;
use crate::ice;
use crate::rtc;
use crate::seat_store;
use crate::signaling::{
    abort_if_tampered, is_transient, new_seal, sleep, wait_for, wait_for_through_outages, SharedLog,
    SignalClient,
};
use peerdrop_core::frame::Role;
use peerdrop_core::seal::SealError;
use peerdrop_core::short_code::ShortCode;
use peerdrop_core::{ErrorCode, LinkSecret, Origin, TransferError};
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::prelude::*;
use web_sys::RtcDataChannel;

/// How long the receiver waits for the sender's offer after joining.
const OFFER_WAIT_MS: u64 = 30_000;

/// Joins a short code's room and runs the key exchange; the client comes back sealed with
/// the agreed secret. `Ok(None)` when cancelled.
pub(super) async fn exchange_code(
    shared: &Shared,
    code: &ShortCode,
) -> Result<Option<(SignalClient, LinkSecret)>, RuntimeError> {
    let (emitter, url, log) = {
        let s = shared.borrow();
        (s.page.emitter.clone(), s.options.signal_url.clone(), s.page.log.clone())
    };
    emitter.status("signaling");
    let mut client = SignalClient::join_for_code(&url, code.number(), log).await.map_err(|e| match e {
        RuntimeError::LinkExpired => RuntimeError::CodeUnknown,
        RuntimeError::LinkInUse => RuntimeError::CodeUsed,
        other => other,
    })?;
    let cancelled = || shared.borrow().page.finished;
    let Some(secret) = code_exchange::exchange_sealed(&mut client, code, Role::Receiver, &cancelled).await?
    else {
        return Ok(None);
    };
    shared.borrow_mut().transfer_id = secret.transfer_id();
    Ok(Some((client, secret)))
}

async fn join(
    url: &str,
    room: &str,
    log: &SharedLog,
    secret: &LinkSecret,
) -> Result<SignalClient, RuntimeError> {
    // The sender creates the room as it shows the link; a very fast click may beat it.
    let mut tries = 0;
    loop {
        let seal = new_seal(secret, Role::Receiver)?;
        match SignalClient::join(url, room, log.clone(), seal).await {
            Err(RuntimeError::LinkExpired) if tries < 3 => tries += 1,
            other => return other,
        }
        sleep(Duration::from_millis(700)).await;
    }
}

/// Takes up the seat this tab held before a reload, or joins the room; then says `hello`.
async fn enter(
    url: &str,
    room: &str,
    log: &SharedLog,
    secret: &LinkSecret,
) -> Result<SignalClient, RuntimeError> {
    if let Some(seat) = seat_store::load(room) {
        let mut client = SignalClient::resume(url, seat, log.clone(), new_seal(secret, Role::Receiver)?);
        match client.send("hello", "").await {
            Ok(()) => return Ok(client),
            // The sender removed this receiver: joining afresh would sneak back in.
            Err(RuntimeError::Dropped) => {
                seat_store::clear(room);
                return Err(RuntimeError::Dropped);
            }
            // The seat expired or the room is gone: fall back to joining afresh.
            Err(RuntimeError::Signaling { status: 401 | 404 | 409 | 410, .. }) => seat_store::clear(room),
            Err(e) => return Err(e),
        }
    }
    let mut client = join(url, room, log, secret).await?;
    client.send("hello", "").await?;
    Ok(client)
}

/// Says `hello` (joining the room first unless a short-code exchange already did), then
/// takes the sender's offer and answers it. Only a link's seat is kept for a reload: a
/// short code's secret exists only in this page.
pub(super) async fn negotiate(
    shared: &Shared,
    room: &str,
    secret: &LinkSecret,
    entered: Option<SignalClient>,
) -> Result<(), RuntimeError> {
    let (emitter, url, log) = {
        let s = shared.borrow();
        (s.page.emitter.clone(), s.options.signal_url.clone(), s.page.log.clone())
    };
    // Known before anything can fail, so that ending forgets the seat saved for this room.
    shared.borrow_mut().room = room.to_string();
    shared.borrow_mut().secret = Some(secret.clone());
    let resumable = shared.borrow().resumable;
    let save_seat = |client: &SignalClient| {
        if resumable {
            seat_store::save(room, &client.seat());
        }
    };
    let mut client = match entered {
        Some(mut client) => {
            client.send("hello", "").await?;
            client
        }
        None => {
            emitter.status("signaling");
            enter(&url, room, &log, secret).await?
        }
    };
    save_seat(&client);
    emitter.status("connecting");
    let cancelled = || shared.borrow().page.finished;
    let on_tamper = |e: &SealError| emitter.signaling_warning(e);
    let deadline = Some(now_ms() + OFFER_WAIT_MS);
    let offer = wait_for(&mut client, "offer", deadline, &cancelled, &on_tamper).await;
    save_seat(&client);
    let offer = match offer {
        Ok(Some(offer)) => offer,
        Ok(None) => {
            client.leave().await;
            return Ok(());
        }
        Err(e) => {
            abort_if_tampered(&mut client, &e).await;
            client.leave().await;
            seat_store::clear(room);
            return Err(e);
        }
    };
    if let Err(e) = answer(shared, &offer, &mut client).await {
        client.leave().await;
        seat_store::clear(room);
        return Err(e);
    }
    save_seat(&client);
    shared.borrow_mut().client = Some(client);
    Ok(())
}

/// Makes the peer connection for `offer` and sends the answer.
pub(super) async fn answer(
    shared: &Shared,
    offer: &str,
    client: &mut SignalClient,
) -> Result<(), RuntimeError> {
    let (ice, timeout_ms) = {
        let s = shared.borrow();
        (ice::choose(&s.options.ice_servers, client.ice_servers()), s.options.connect_timeout_ms)
    };
    let emitter = shared.borrow().page.emitter.clone();
    emitter.emit(ice::event(&ice));
    let pc = rtc::peer_connection(&ice.servers)?;
    let mut conn = driver::connection(shared, &pc, ice.source);
    let weak = Rc::downgrade(shared);
    conn.set_channel_hook(Closure::new(move |e: web_sys::RtcDataChannelEvent| {
        if let Some(shared) = weak.upgrade() {
            on_channel(&shared, e.channel());
        }
    }));
    shared.borrow_mut().page.conn = Some(conn);
    let answer = rtc::make_answer(&pc, offer).await?;
    client.send("answer", &answer).await?;
    driver::start_connect_deadline(shared, timeout_ms);
    Ok(())
}

fn on_channel(shared: &Shared, dc: RtcDataChannel) {
    dc.set_binary_type(web_sys::RtcDataChannelType::Arraybuffer);
    let hooks = driver::hooks(shared, &dc);
    // Announced channels are usually open already, and then may fire no `open` event.
    let open = dc.ready_state() == web_sys::RtcDataChannelState::Open;
    if let Some(conn) = shared.borrow_mut().page.conn.as_mut() {
        conn.set_channel(dc, hooks);
    }
    if open {
        driver::open(shared);
    }
}

/// Whether the transfer ended because this side lost the connection, which a new one may fix:
/// not a failure the sender reported, not a cancel, not storage.
pub(super) fn reconnectable(s: &State, err: &TransferError) -> bool {
    err.origin == Origin::Local
        && matches!(err.code, ErrorCode::ConnectionLost | ErrorCode::Timeout)
        && s.options.reconnect_window_ms > 0
        && s.client.is_some()
        && s.sink.is_some()
        && !s.page.finished
}

/// Restores a lost connection within the reconnect window: says hello again (riding out a
/// signaling outage: the network may still be down), takes the sender's new offer and answers
/// it. The lost connection's engine stays until the new channel opens and hands its have-map
/// over (`start_engine`), so no verified block is requested again.
pub(super) async fn reconnect(shared: &Shared) {
    let (emitter, window_ms, give_up_at) = {
        let mut s = shared.borrow_mut();
        s.reconnecting = true;
        let window_ms = s.options.reconnect_window_ms;
        // A new connection that failed to open tries again within the window of the loss.
        let give_up_at = *s.restore_until.get_or_insert(now_ms() + window_ms);
        (s.page.emitter.clone(), window_ms, give_up_at)
    };
    let (conn, client) = {
        let mut s = shared.borrow_mut();
        (s.page.conn.take(), s.client.take())
    };
    drop(conn);
    let Some(mut client) = client else { return };
    let cancelled = || shared.borrow().page.finished;
    let on_tamper = |e: &SealError| emitter.signaling_warning(e);
    let secret = shared.borrow().secret.clone();
    let result = async {
        // A new signaling session on both sides: the sender renewed its seal once the last
        // connection was up, and now accepts the first new session it hears from.
        let secret =
            secret.ok_or_else(|| RuntimeError::Browser("no link secret to reconnect with".into()))?;
        client.reset_seal(new_seal(&secret, Role::Receiver)?);
        loop {
            emitter.reconnecting(give_up_at.saturating_sub(now_ms()));
            match client.send("hello", "").await {
                Ok(()) => break,
                Err(e) if is_transient(&e) && now_ms() < give_up_at && !cancelled() => {
                    sleep(Duration::from_secs(2)).await
                }
                Err(e) => return Err(e),
            }
        }
        match wait_for_through_outages(&mut client, "offer", Some(give_up_at), &cancelled, &on_tamper).await?
        {
            Some(offer) if !cancelled() => answer(shared, &offer, &mut client).await.map(|()| true),
            _ => Ok(false),
        }
    }
    .await;
    let room = shared.borrow().room.clone();
    // Cancelled meanwhile: `finish` found no client to leave with, so leave here.
    if shared.borrow().page.finished {
        seat_store::clear(&room);
        client.leave().await;
        return;
    }
    if shared.borrow().resumable {
        seat_store::save(&room, &client.seat());
    }
    shared.borrow_mut().client = Some(client);
    match result {
        Ok(_) => {}
        // Given up: the seat is kept and the room not left, so that reopening the link in this
        // tab later takes the seat up again and resumes from what was stored.
        Err(RuntimeError::PeerNotFound) | Err(RuntimeError::SignalingUnreachable(_)) => {
            shared.borrow_mut().keep_seat = true;
            driver::fail(
                shared,
                RuntimeError::Transfer(TransferError::local(
                    ErrorCode::ConnectionLost,
                    format!(
                        "the connection to the sender was lost and could not be restored within {} s; reopen the link to resume",
                        window_ms / 1000
                    ),
                )),
            )
        }
        // The sender left the room (closed its page): the room answers 410 to the hello.
        Err(RuntimeError::Signaling { status: 410, .. }) => driver::fail(shared, RuntimeError::LinkExpired),
        Err(e) => driver::fail(shared, e),
    }
}
