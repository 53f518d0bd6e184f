//! The sender's signaling: creates the room (for a short code, runs the key exchange in it),
//! then offers a connection each time the receiver says hello, and restores a lost one within
//! the reconnect window. The transfer itself runs in the driver once a channel opens.

use super::Shared;
use crate::clock::now_ms;
use crate::code_exchange::{self, Start};
use crate::driver;
use crate::error::RuntimeError;
use crate::js_value::object;
use crate::options::Options;
use crate::signaling::{
    abort_if_tampered, is_transient, new_seal, wait_for, wait_for_through_outages, SharedLog, Signal,
    SignalClient,
};
use crate::{ice, rtc};
use futures::channel::oneshot;
use futures::future::Either;
use peerdrop_core::frame::Role;
use peerdrop_core::seal::SealError;
use peerdrop_core::short_code::ShortCode;
use peerdrop_core::{ErrorCode, LinkSecret, TransferError};
use web_sys::RtcSdpType;

/// How long the sender waits for the receiver's answer once it made an offer.
const ANSWER_WAIT_MS: u64 = 30_000;

/// How one connection ended, as the negotiation loop needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ended {
    /// Completed, or failed in a way a new connection would not fix.
    Final,
    /// The receiver vanished mid-transfer (reload, crash, network): it may come back.
    Lost,
}

/// Fresh code words from the browser's secure random source. Their number is a placeholder
/// until the endpoint picks the room's ([`create_code_room`]).
pub(super) fn new_code() -> Result<ShortCode, RuntimeError> {
    let mut random = [0u8; 4];
    getrandom::getrandom(&mut random).map_err(|e| RuntimeError::Browser(e.to_string()))?;
    Ok(ShortCode::generate(random))
}

/// Creates the room for a short code: the endpoint picks its number (one no open room holds, so
/// no sender can choose or squat one), and the code is those words with that number.
async fn create_code_room(
    shared: &Shared,
    url: &str,
    words: ShortCode,
    log: &SharedLog,
) -> Result<(SignalClient, ShortCode), RuntimeError> {
    let (client, number) = SignalClient::create_for_code(url, log.clone()).await?;
    let code = words.with_number(number).map_err(|_| RuntimeError::Signaling {
        status: 201,
        code: "bad_reply".into(),
        message: format!("{url} picked {number}, which is not a short-code number (1 to 9999)"),
    })?;
    shared.borrow_mut().code = Some(code.to_string());
    Ok((client, code))
}

/// Signaling: create the room (and, for a short code, run the key exchange in it), then for
/// each (re)connection of the receiver wait for its sealed `hello`, offer, and take its
/// answer. A receiver that drops out mid-transfer can reopen the link and resume; the room
/// stays open until the transfer ends.
pub(super) async fn negotiate(shared: &Shared, options: &Options, start: Start) -> Result<(), RuntimeError> {
    let (emitter, log) = {
        let s = shared.borrow();
        (s.page.emitter.clone(), s.page.log.clone())
    };
    emitter.status("signaling");
    let (mut client, secret) = match start {
        Start::Link(secret) => {
            let seal = new_seal(&secret, Role::Sender)?;
            (SignalClient::create(&options.signal_url, &secret.room_id(), log, seal).await?, secret)
        }
        Start::Code(code) => {
            let (mut client, code) = create_code_room(shared, &options.signal_url, code, &log).await?;
            emitter.emit(object(&[("type", "code".into()), ("code", code.to_string().into())]));
            emitter.status("waiting");
            let cancelled = || shared.borrow().page.finished;
            let Some(secret) =
                code_exchange::exchange_sealed(&mut client, &code, Role::Sender, &cancelled).await?
            else {
                return Ok(());
            };
            shared.borrow_mut().transfer_id = secret.transfer_id();
            (client, secret)
        }
    };
    // The sender's page going away ends the transfer for good: tell the receiver at once.
    let leave_on_unload = client.leave_on_unload();
    let result = serve(shared, options, &secret, &mut client).await;
    drop(leave_on_unload);
    if let Err(e) = &result {
        abort_if_tampered(&mut client, e).await;
    }
    client.leave().await;
    result
}

/// Serves one receiver until its transfer ends: for each (re)connection, waits for its hello,
/// offers, and runs the transfer; a lost connection is restored within the reconnect window.
/// `client` is the page's own seat, or this receiver's share of a link for several.
pub(super) async fn serve(
    shared: &Shared,
    options: &Options,
    secret: &LinkSecret,
    client: &mut impl Signal,
) -> Result<(), RuntimeError> {
    let emitter = shared.borrow().page.emitter.clone();
    let cancelled = || shared.borrow().page.finished;
    let on_tamper = |e: &SealError| emitter.signaling_warning(e);
    let mut hello_waiting = false;
    // Set once a connection was lost: until then the link waits for its receiver as long as
    // the room lives; after, the receiver has `reconnect_window_ms` to come back.
    let mut give_up_at: Option<u64> = None;
    // After the window: waiting for a reopen, which needs signaling (an outage now ends it).
    let mut patient = false;
    loop {
        match give_up_at {
            // After the window the page already says why it waits (the `disconnected` below).
            None if patient => {}
            None => emitter.status("waiting"),
            Some(at) => emitter.reconnecting(at.saturating_sub(now_ms())),
        }
        // After a lost connection the seal was already renewed to accept the receiver's new
        // page session; a hello that ended the last connection counts for this one.
        if !std::mem::take(&mut hello_waiting) {
            let waited = if patient {
                wait_for(client, "hello", None, &cancelled, &on_tamper).await
            } else {
                wait_for_through_outages(client, "hello", give_up_at, &cancelled, &on_tamper).await
            };
            match waited {
                Ok(Some(_)) => patient = false,
                Ok(None) => return Ok(()),
                Err(RuntimeError::LinkExpired) => return Err(receiver_left()),
                // The window passed: stop retrying, but keep the link open while the room lives
                // (and signaling answers): reopening it resumes from what the receiver stored.
                Err(RuntimeError::PeerNotFound) if give_up_at.is_some() => {
                    emitter.status("waiting");
                    emitter.emit(object(&[
                        ("type", "disconnected".into()),
                        (
                            "message",
                            format!(
                                "The receiver did not come back within {} s. The link stays open: if they reopen it, the transfer resumes where it stopped.",
                                options.reconnect_window_ms / 1000
                            )
                            .into(),
                        ),
                    ]));
                    give_up_at = None;
                    patient = true;
                    continue;
                }
                Err(e) if patient => {
                    return Err(RuntimeError::Transfer(TransferError::local(
                        ErrorCode::ConnectionLost,
                        format!(
                            "the connection to the receiver was lost and signaling is unreachable ({})",
                            e.message()
                        ),
                    )))
                }
                Err(e) => return Err(e),
            }
        }
        shared.borrow_mut().restoring = give_up_at.is_some();
        match connect(shared, options, secret, client, &cancelled, &on_tamper).await {
            Ok(Outcome::Lost { rehello }) => hello_waiting = rehello,
            Ok(Outcome::Over) => return Ok(()),
            // While a lost connection is being restored, a negotiation that fails (this side's
            // network still down, the receiver gone again) waits for the next hello.
            Err(e) if give_up_at.is_some() && (is_transient(&e) || e == RuntimeError::PeerNotFound) => {}
            Err(RuntimeError::LinkExpired) => return Err(receiver_left()),
            Err(e) => return Err(e),
        }
        if options.reconnect_window_ms == 0 {
            return Err(RuntimeError::Transfer(TransferError::local(
                ErrorCode::ConnectionLost,
                "the connection to the receiver was lost",
            )));
        }
        // A fresh window after a connection that worked; one that never opened does not
        // extend the window it was trying to save.
        let window_end = now_ms() + options.reconnect_window_ms;
        if std::mem::take(&mut shared.borrow_mut().opened) {
            give_up_at = Some(window_end);
        } else {
            give_up_at.get_or_insert(window_end);
        }
    }
}

/// The receiver left the room (closed its page for good, or ended the transfer): signaling
/// says so with `peer-left`, and no reconnection can come.
fn receiver_left() -> RuntimeError {
    RuntimeError::Transfer(TransferError::local(
        ErrorCode::ConnectionLost,
        "the receiver left the transfer (closed the page or cancelled)",
    ))
}

/// How one connection attempt ended, for the loop in [`serve`].
enum Outcome {
    /// Done: completed, cancelled, or failed for good (the error is already reported).
    Over,
    /// Lost mid-transfer; `rehello` when the receiver's hello for the next one already came.
    Lost { rehello: bool },
}

/// One connection: offer, answer, then the transfer until it ends.
async fn connect(
    shared: &Shared,
    options: &Options,
    secret: &LinkSecret,
    client: &mut impl Signal,
    cancelled: &dyn Fn() -> bool,
    on_tamper: &dyn Fn(&SealError),
) -> Result<Outcome, RuntimeError> {
    let emitter = shared.borrow().page.emitter.clone();
    emitter.status("connecting");
    let ice = ice::choose(&options.ice_servers, client.ice_servers());
    emitter.emit(ice::event(&ice));
    let pc = rtc::peer_connection(&ice.servers)?;
    let dc = rtc::open_channel(&pc);
    let mut conn = driver::connection(shared, &pc, ice.source);
    conn.set_channel(dc.clone(), driver::hooks(shared, &dc));
    let (tx, rx) = oneshot::channel();
    {
        let mut s = shared.borrow_mut();
        s.page.conn = Some(conn);
        s.engine = None;
        s.ended = Some(tx);
    }
    let offer = rtc::make_offer(&pc).await?;
    client.send("offer", &offer).await?;
    let deadline = Some(now_ms() + ANSWER_WAIT_MS);
    let Some(answer) = wait_for(client, "answer", deadline, cancelled, on_tamper).await? else {
        return Ok(Outcome::Over);
    };
    rtc::set_remote(&pc, RtcSdpType::Answer, &answer).await?;
    driver::start_connect_deadline(shared, options.connect_timeout_ms);
    // While the transfer runs, a new hello means the receiver reopened the link or lost the
    // connection first: the old connection is gone even if this side has not noticed yet.
    // Polls ride out signaling outages: the transfer itself does not need signaling.
    client.reset_seal(new_seal(secret, Role::Sender)?);
    let rehello = Box::pin(wait_for_through_outages(client, "hello", None, cancelled, on_tamper));
    match futures::future::select(rx, rehello).await {
        Either::Left((Ok(Ended::Lost), _)) => Ok(Outcome::Lost { rehello: false }),
        Either::Left(_) => Ok(Outcome::Over),
        Either::Right((Ok(Some(_)), rx)) => {
            let running =
                shared.borrow_mut().engine.as_mut().map(|e| e.handle_connection_lost(now_ms())).is_some();
            if running {
                driver::pump(shared);
                let _ = rx.await;
            } else {
                let (conn, _) = {
                    let mut s = shared.borrow_mut();
                    (s.page.conn.take(), s.ended.take())
                };
                drop(conn);
            }
            Ok(Outcome::Lost { rehello: true })
        }
        Either::Right((Ok(None), _)) => Ok(Outcome::Over),
        // The receiver left while the transfer runs: its CANCEL (or the channel's end) tells the
        // engine; only a loss without one is final.
        Either::Right((Err(RuntimeError::LinkExpired), rx)) => match rx.await {
            Ok(Ended::Lost) => Err(receiver_left()),
            _ => Ok(Outcome::Over),
        },
        // Signaling failed for good (room expired, tampering) while the transfer runs peer to
        // peer: it does not need signaling, so let it finish. Only a reconnection is
        // impossible now.
        Either::Right((Err(e), rx)) if shared.borrow().engine.as_ref().is_some_and(|e| !e.is_closed()) => {
            emitter.signaling_trouble(&format!(
                "The transfer continues, but it could not resume after a disconnection: {}",
                e.message()
            ));
            match rx.await {
                Ok(Ended::Lost) => Err(e),
                _ => Ok(Outcome::Over),
            }
        }
        Either::Right((Err(e), _)) => Err(e),
    }
}
