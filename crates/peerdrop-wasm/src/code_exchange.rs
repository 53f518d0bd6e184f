//! The short-code key exchange over signaling: SPAKE2 and key confirmation
//! (`peerdrop_core::short_code`) carried as unsealed `pake` messages, ending in the
//! [`LinkSecret`] that seals everything after it.
//!
//! Both sides run the same steps, so there is one function for both: send our SPAKE2
//! message, take theirs, send our confirmation, check theirs. The sender posts its message
//! as soon as the room exists (it waits in the receiver's queue), so the receiver never
//! waits for a round trip it could avoid. A code allows one try: the room takes a single
//! receiver, so after a wrong code the endpoint refuses every further join.

use crate::error::RuntimeError;
use crate::signaling::{new_seal, SignalClient};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use peerdrop_core::frame::Role;
use peerdrop_core::short_code::{PakeError, PakeSession, ShortCode};
use peerdrop_core::LinkSecret;

/// How the two sides agree on the link secret.
pub enum Start {
    /// It is in the share link's fragment.
    Link(LinkSecret),
    /// A short code read out to the receiver, run through the exchange below.
    Code(ShortCode),
}

impl Start {
    /// The transfer id as far as it is known before signaling: a code's comes from the
    /// exchange, so it is zero until then.
    pub fn transfer_id(&self) -> [u8; 16] {
        match self {
            Start::Link(secret) => secret.transfer_id(),
            Start::Code(_) => [0; 16],
        }
    }
}

/// [`exchange`], then seals the client with the agreed secret. A code allows one try, so on
/// anything but success (a wrong code, an error, a cancel) the room is left.
pub async fn exchange_sealed(
    client: &mut SignalClient,
    code: &ShortCode,
    role: Role,
    cancelled: &dyn Fn() -> bool,
) -> Result<Option<LinkSecret>, RuntimeError> {
    let result = match exchange(client, code, role, cancelled).await {
        Ok(Some(secret)) => new_seal(&secret, role).map(|seal| {
            client.reset_seal(seal);
            Some(secret)
        }),
        other => other,
    };
    if !matches!(result, Ok(Some(_))) {
        client.leave().await;
    }
    result
}

/// Prefixes that tell the two `pake` messages apart.
const SPAKE: &str = "spake2 ";
const CONFIRM: &str = "confirm ";

/// Once the other side's SPAKE2 message arrived, its confirmation follows within one round
/// trip; a much longer silence means it gave up.
const CONFIRM_WAIT_MS: u64 = 30_000;

/// Runs the exchange in `client`'s room. `Ok(None)` when `cancelled` before it ended. The
/// wait for the other side's first message has no deadline: a person may be typing the code.
async fn exchange(
    client: &mut SignalClient,
    code: &ShortCode,
    role: Role,
    cancelled: &dyn Fn() -> bool,
) -> Result<Option<LinkSecret>, RuntimeError> {
    let mut random = [0u8; 32];
    getrandom::getrandom(&mut random).map_err(|e| RuntimeError::Browser(e.to_string()))?;
    let (session, message) = PakeSession::start(code, role, random);
    client.send_pake(&format!("{SPAKE}{}", URL_SAFE_NO_PAD.encode(&message))).await?;
    let Some(theirs) = next(client, SPAKE, None, cancelled).await? else {
        return Ok(None);
    };
    let keys = session.finish(&theirs).map_err(pake_error)?;
    client.send_pake(&format!("{CONFIRM}{}", URL_SAFE_NO_PAD.encode(keys.confirmation()))).await?;
    let deadline = crate::clock::now_ms() + CONFIRM_WAIT_MS;
    let Some(confirmation) = next(client, CONFIRM, Some(deadline), cancelled).await? else {
        return Ok(None);
    };
    keys.verify_confirmation(&confirmation).map(Some).map_err(pake_error)
}

/// Polls until a `pake` message with `prefix` arrives and returns its decoded bytes.
async fn next(
    client: &mut SignalClient,
    prefix: &str,
    deadline: Option<u64>,
    cancelled: &dyn Fn() -> bool,
) -> Result<Option<Vec<u8>>, RuntimeError> {
    loop {
        if cancelled() {
            return Ok(None);
        }
        if deadline.is_some_and(|d| crate::clock::now_ms() > d) {
            return Err(RuntimeError::PeerNotFound);
        }
        let mut messages = client.poll().await?.into_iter();
        while let Some(m) = messages.next() {
            if m.kind == "peer-left" {
                return Err(RuntimeError::CodeAbandoned);
            }
            let Some(b64) = m.data.strip_prefix(prefix).filter(|_| m.kind == "pake") else { continue };
            // The other side's next message may have come in the same batch.
            client.put_back(messages.collect());
            return URL_SAFE_NO_PAD.decode(b64).map(Some).map_err(|_| pake_error(PakeError::Garbled));
        }
    }
}

fn pake_error(e: PakeError) -> RuntimeError {
    match e {
        PakeError::WrongCode => RuntimeError::WrongCode,
        other => RuntimeError::SignalingTampered(other.to_string()),
    }
}
