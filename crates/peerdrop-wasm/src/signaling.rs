//! Client of the v1 signaling contract (`docs/signaling.md`): JSON bodies posted to one
//! URL, nothing identifying in the URL itself, long polls the server may shorten.

use crate::error::{describe, RuntimeError};
use gloo_events::EventListener;
use peerdrop_core::seal::{SealError, SignalSeal};
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};

/// Longest a poll asks the server to hold (the server may answer sooner).
const POLL_WAIT_S: u32 = 20;

/// One relayed message as the server stores it.
#[derive(Debug, Clone, Deserialize)]
struct Relayed {
    id: u64,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    data: String,
    /// Who sent it: only in a room for several receivers (`docs/signaling.md` section 2.6).
    #[serde(default)]
    from: Option<u8>,
}

/// A message as relayed in a room for several receivers, with the peer that sent it (0 for
/// the sender; for `peer-joined` and `peer-left`, the receiver that joined or left). `data`
/// is as the server relays it: still sealed for `sealed` messages, which the caller opens
/// with the seal of that peer ([`open_sealed`]).
#[derive(Debug, Clone)]
pub struct Addressed {
    pub from: u8,
    pub kind: String,
    pub data: String,
}

/// A message from the other peer (opened from its seal) or from the server itself
/// (`peer-joined`, `peer-left`, which carry nothing secret).
#[derive(Debug, Clone)]
pub struct Message {
    pub kind: String,
    pub data: String,
}

/// What a create or join answered besides the seat itself.
struct Entered {
    /// The number the endpoint picked for a short-code room.
    code: Option<u16>,
    /// How many receivers a room for several seats (absent: a room for one).
    receivers: Option<u8>,
}

#[derive(Debug, Deserialize)]
struct Joined {
    token: String,
    /// The operator's STUN and TURN servers (absent from endpoints older than this field).
    #[serde(default)]
    ice_servers: Option<serde_json::Value>,
    /// The number the endpoint picked for a short-code room.
    #[serde(default)]
    code: Option<u16>,
    /// Only in the answer to a create for several receivers: how many it seats. Absent from
    /// an endpoint older than rooms for several, which made a room for one.
    #[serde(default)]
    receivers: Option<u8>,
}

#[derive(Debug, Deserialize)]
struct Polled {
    messages: Vec<Relayed>,
    cursor: u64,
    #[serde(default)]
    poll_after_ms: Option<u64>,
}

/// Signaling requests made (operation, status, milliseconds), for `diagnose()` and support.
#[derive(Debug, Default)]
pub struct SignalLog {
    entries: std::collections::VecDeque<(String, u16, f64)>,
    total: u64,
}

impl SignalLog {
    const KEEP: usize = 50;

    fn push(&mut self, op: String, status: u16, ms: f64) {
        self.total += 1;
        self.entries.push_back((op, status, ms));
        if self.entries.len() > Self::KEEP {
            self.entries.pop_front();
        }
    }

    /// `{requests, lastStatus, medianRoundTripMs, recent: [{op, status, ms}]}`; status 0 means
    /// the server could not be reached.
    pub fn to_js(&self) -> JsValue {
        use crate::js_value::object;
        let recent = js_sys::Array::new();
        for (op, status, ms) in &self.entries {
            recent.push(&object(&[
                ("op", op.as_str().into()),
                ("status", (*status).into()),
                ("ms", (*ms).into()),
            ]));
        }
        // Polls are held open on purpose; only the other requests measure round trips.
        let mut rtts: Vec<f64> = self.entries.iter().filter(|e| e.0 != "poll").map(|e| e.2).collect();
        rtts.sort_by(f64::total_cmp);
        object(&[
            ("requests", (self.total as f64).into()),
            ("lastStatus", self.entries.back().map_or(JsValue::NULL, |e| e.1.into())),
            ("medianRoundTripMs", rtts.get(rtts.len() / 2).map_or(JsValue::NULL, |v| (*v).into())),
            ("recent", recent.into()),
        ])
    }
}

pub type SharedLog = std::rc::Rc<std::cell::RefCell<SignalLog>>;

/// A seat in one room. Every payload to the other peer is sealed (`peerdrop_core::seal`):
/// the server stores and relays only ciphertext, and anything it alters is dropped.
pub struct SignalClient {
    url: String,
    token: String,
    seq: u64,
    cursor: u64,
    log: SharedLog,
    /// `None` only during a short-code key exchange, before the link secret exists.
    seal: Option<SignalSeal>,
    /// While true, unsealed `pake` messages are passed on (short-code key exchange).
    pake: bool,
    /// Messages dropped because they failed to open, since last taken.
    tampered: Vec<SealError>,
    /// The endpoint's STUN and TURN servers for this room, as it gave them.
    ice_servers: Option<serde_json::Value>,
    /// Messages polled but not yet consumed (they came in one batch with the one wanted).
    unread: std::collections::VecDeque<Message>,
    /// Sealed messages that arrived during a short-code exchange, before the key to open
    /// them existed; opened when the seal is set.
    deferred: Vec<String>,
}

/// Sealed messages kept unopened during a short-code exchange, at most (more is an attack).
const MAX_DEFERRED: usize = 8;

/// What a seat needs to be taken up again after a reload: kept in `sessionStorage`.
#[derive(Debug, Clone, serde::Serialize, Deserialize)]
pub struct Seat {
    pub token: String,
    pub seq: u64,
    pub cursor: u64,
    /// The endpoint's ICE servers, so a reloaded page connects the way it did before.
    #[serde(default)]
    pub ice_servers: Option<serde_json::Value>,
}

impl SignalClient {
    /// Creates the room as its first peer (the sender).
    pub async fn create(
        url: &str,
        room: &str,
        log: SharedLog,
        seal: SignalSeal,
    ) -> Result<SignalClient, RuntimeError> {
        Self::enter(url, json!({"v": 1, "op": "create", "room": room}), log, Some(seal)).await.map(|(c, _)| c)
    }

    /// Creates a short-code room, whose number the endpoint picks (one no open room holds):
    /// unsealed until [`reset_seal`](Self::reset_seal), and passing on `pake` messages until
    /// then. Returns the number with the seat.
    pub async fn create_for_code(url: &str, log: SharedLog) -> Result<(SignalClient, u16), RuntimeError> {
        let body = json!({"v": 1, "op": "create", "code": true});
        match Self::enter(url, body, log, None).await {
            Ok((client, Entered { code: Some(number), .. })) => Ok((client, number)),
            Ok((_, Entered { code: None, .. })) | Err(RuntimeError::Signaling { status: 400, .. }) => {
                Err(endpoint_too_old(url))
            }
            Err(e) => Err(e),
        }
    }

    /// Joins the short-code room with this number (see [`create_for_code`](Self::create_for_code)).
    pub async fn join_for_code(url: &str, number: u16, log: SharedLog) -> Result<SignalClient, RuntimeError> {
        let body = json!({"v": 1, "op": "join", "code": number});
        Self::enter(url, body, log, None).await.map(|(c, _)| c)
    }

    /// Takes the second seat (the receiver).
    pub async fn join(
        url: &str,
        room: &str,
        log: SharedLog,
        seal: SignalSeal,
    ) -> Result<SignalClient, RuntimeError> {
        Self::enter(url, json!({"v": 1, "op": "join", "room": room}), log, Some(seal)).await.map(|(c, _)| c)
    }

    /// Takes up a seat held before a reload.
    pub fn resume(url: &str, seat: Seat, log: SharedLog, seal: SignalSeal) -> SignalClient {
        SignalClient {
            url: url.to_string(),
            token: seat.token,
            seq: seat.seq,
            cursor: seat.cursor,
            log,
            seal: Some(seal),
            pake: false,
            tampered: Vec::new(),
            ice_servers: seat.ice_servers,
            unread: Default::default(),
            deferred: Vec::new(),
        }
    }

    /// The seat, for taking it up again after a reload.
    pub fn seat(&self) -> Seat {
        Seat {
            token: self.token.clone(),
            seq: self.seq,
            cursor: self.cursor,
            ice_servers: self.ice_servers.clone(),
        }
    }

    /// Leaves the room when the page goes away, with a `keepalive` request that outlives the
    /// page, so the other side learns at once (`peer-left`) that this side will not come back
    /// instead of retrying for its whole reconnect window. Stops when the guard is dropped.
    pub fn leave_on_unload(&self) -> Option<EventListener> {
        let target = js_sys::global().dyn_into::<web_sys::EventTarget>().ok()?;
        let (url, body) = (self.url.clone(), json!({"v": 1, "op": "leave", "token": self.token}).to_string());
        Some(EventListener::new(&target, "pagehide", move |_| send_keepalive(&url, &body)))
    }

    /// The STUN and TURN servers the endpoint gave with the room, if any.
    pub fn ice_servers(&self) -> Option<&serde_json::Value> {
        self.ice_servers.as_ref()
    }

    /// Starts trusting a new session of the other side (it reloaded and came back), or
    /// starts sealing once a short-code exchange produced the link secret. From then on an
    /// unsealed `pake` message counts as tampering.
    pub fn reset_seal(&mut self, seal: SignalSeal) {
        self.seal = Some(seal);
        self.pake = false;
        for sealed in std::mem::take(&mut self.deferred) {
            if let Some(m) = self.open(&sealed) {
                self.unread.push_back(m);
            }
        }
    }

    /// Keeps `messages` for the next [`poll`](Self::poll), ahead of anything newer.
    pub fn put_back(&mut self, messages: Vec<Message>) {
        for m in messages.into_iter().rev() {
            self.unread.push_front(m);
        }
    }

    /// Opens one sealed message; a failure is recorded as tampering.
    fn open(&mut self, sealed: &str) -> Option<Message> {
        let seal = self.seal.as_mut()?;
        match seal.open(sealed) {
            Ok(opened) => match String::from_utf8(opened.payload) {
                Ok(data) => Some(Message { kind: opened.kind, data }),
                Err(_) => {
                    self.tampered.push(SealError::Garbled);
                    None
                }
            },
            Err(e) => {
                self.tampered.push(e);
                None
            }
        }
    }

    /// Messages dropped as tampered, replayed or foreign since the last call.
    pub fn take_tampered(&mut self) -> Vec<SealError> {
        std::mem::take(&mut self.tampered)
    }

    /// Posts a create or join and takes the seat; also returns a short-code room's number.
    async fn enter(
        url: &str,
        body: Value,
        log: SharedLog,
        seal: Option<SignalSeal>,
    ) -> Result<(SignalClient, Entered), RuntimeError> {
        let op = body["op"].as_str().unwrap_or_default();
        let value = post(url, &body, &log).await.map_err(|e| match e {
            RuntimeError::Signaling { status: 404, .. } | RuntimeError::Signaling { status: 410, .. } => {
                RuntimeError::LinkExpired
            }
            RuntimeError::Signaling { status: 409, ref code, .. }
                if op == "join" && code == "room_locked" =>
            {
                RuntimeError::LinkClosed
            }
            RuntimeError::Signaling { status: 409, .. } if op == "join" => RuntimeError::LinkInUse,
            other => other,
        })?;
        let pake = seal.is_none();
        let joined: Joined = serde_json::from_value(value).map_err(|e| bad_reply(url, e))?;
        let client = SignalClient {
            url: url.to_string(),
            token: joined.token,
            seq: 0,
            cursor: 0,
            log,
            seal,
            pake,
            tampered: Vec::new(),
            ice_servers: joined.ice_servers,
            unread: Default::default(),
            deferred: Vec::new(),
        };
        Ok((client, Entered { code: joined.code, receivers: joined.receivers }))
    }

    /// Sends one message to the other peer. Retries reuse the sequence number, so the
    /// server stores it once.
    pub async fn send(&mut self, kind: &str, data: &str) -> Result<(), RuntimeError> {
        let seal = self.seal.as_mut().ok_or_else(|| {
            RuntimeError::Browser(
                "a signaling message was to be sent before the short-code exchange ended".into(),
            )
        })?;
        let sealed = seal.seal(kind, data.as_bytes()).map_err(|e| RuntimeError::Browser(e.to_string()))?;
        self.post_message("sealed", &sealed).await
    }

    /// Sends one short-code key exchange message. It is public by design (SPAKE2 messages and
    /// confirmations reveal nothing that helps guess the code), so it is not sealed.
    pub async fn send_pake(&mut self, data: &str) -> Result<(), RuntimeError> {
        self.post_message("pake", data).await
    }

    async fn post_message(&mut self, kind: &str, data: &str) -> Result<(), RuntimeError> {
        self.seq += 1;
        let body =
            json!({"v": 1, "op": "send", "token": self.token, "seq": self.seq, "type": kind, "data": data});
        post_retrying(&self.url, &body, &self.log).await.map(|_| ())
    }

    /// One held poll: the messages not seen before (the cursor moved past them), and the pause
    /// the server asks for before the next poll if it could not hold this one.
    async fn poll_fresh(&mut self) -> Result<(Vec<Relayed>, u64), RuntimeError> {
        let body =
            json!({"v": 1, "op": "poll", "token": self.token, "after": self.cursor, "wait": POLL_WAIT_S});
        let value = post_retrying(&self.url, &body, &self.log).await?;
        let polled: Polled = serde_json::from_value(value).map_err(|e| bad_reply(&self.url, e))?;
        // Delivery is at least once: a message at or below the cursor was seen already.
        let seen = self.cursor;
        let fresh: Vec<Relayed> = polled.messages.into_iter().filter(|m| m.id > seen).collect();
        self.cursor = fresh.iter().map(|m| m.id).fold(self.cursor.max(polled.cursor), u64::max);
        Ok((fresh, polled.poll_after_ms.unwrap_or(1000).clamp(100, 10_000)))
    }

    /// Waits for the next messages; returns an empty list when the server ends a poll early.
    pub async fn poll(&mut self) -> Result<Vec<Message>, RuntimeError> {
        if !self.unread.is_empty() {
            return Ok(self.unread.drain(..).collect());
        }
        let (fresh, pause) = self.poll_fresh().await?;
        let mut messages = Vec::new();
        for m in fresh {
            match m.kind.as_str() {
                "peer-joined" | "peer-left" => messages.push(Message { kind: m.kind, data: String::new() }),
                "pake" if self.pake => messages.push(Message { kind: m.kind, data: m.data }),
                // The other side may seal its first message as soon as it confirmed the
                // code, before this side has: keep it until the key exists.
                "sealed" if self.seal.is_none() && self.deferred.len() < MAX_DEFERRED => {
                    self.deferred.push(m.data)
                }
                "sealed" if self.seal.is_none() => self.tampered.push(SealError::Tampered),
                "sealed" => messages.extend(self.open(&m.data)),
                // Anything unsealed from the other peer is not trusted.
                _ => self.tampered.push(SealError::Tampered),
            }
        }
        if messages.is_empty() {
            // The server had no slot to hold the poll: wait as it asks before the next one.
            sleep(Duration::from_millis(pause)).await;
        }
        Ok(messages)
    }

    /// Leaves the room; failures are ignored (the server expires silent peers anyway).
    pub async fn leave(&mut self) {
        let body = json!({"v": 1, "op": "leave", "token": self.token});
        let _ = post(&self.url, &body, &self.log).await;
    }
}

/// Rooms for several receivers (`docs/signaling.md` section 2.6): the sender's seat.
impl SignalClient {
    /// Creates a room for up to `receivers` receivers (2 to 32; `docs/signaling.md` section
    /// 2.6) as its sender, peer 0. The seat has no seal of its own: each receiver has its own
    /// session, so messages go out through the seat's token (`room_signal`) with that
    /// receiver's seal and come in through [`poll_addressed`](Self::poll_addressed).
    /// Returns the number of receivers the room seats: 1 when the endpoint is older than rooms
    /// for several (it made a room for one, which works the same way for its one receiver).
    pub async fn create_for_receivers(
        url: &str,
        room: &str,
        receivers: u8,
        log: SharedLog,
    ) -> Result<(SignalClient, u8), RuntimeError> {
        let body = json!({"v": 1, "op": "create", "room": room, "receivers": receivers});
        let (mut client, entered) = Self::enter(url, body, log, None).await?;
        // No seal of its own, and no short-code exchange either.
        client.pake = false;
        Ok((client, entered.receivers.unwrap_or(1)))
    }

    /// The sender of a room for several: waits for the next messages of all its receivers
    /// (one held poll, whatever their number), each with the peer that sent it, unopened.
    /// Returns an empty list when the server ends a poll early (after waiting as it asks).
    pub async fn poll_addressed(&mut self) -> Result<Vec<Addressed>, RuntimeError> {
        let (fresh, pause) = self.poll_fresh().await?;
        // A room for one has no `from`: its only other peer is the receiver, peer 1.
        let messages: Vec<Addressed> = fresh
            .into_iter()
            .map(|m| Addressed { from: m.from.unwrap_or(1), kind: m.kind, data: m.data })
            .collect();
        if messages.is_empty() {
            sleep(Duration::from_millis(pause)).await;
        }
        Ok(messages)
    }
}

/// What a negotiation needs of its signaling: a transfer to one receiver has a
/// [`SignalClient`] of its own; each receiver of a link for several has a
/// [`PeerSignal`](crate::room_signal::PeerSignal), its share of the sender's one seat.
pub(crate) trait Signal {
    /// Waits for the next messages; an empty list when nothing came for a while.
    async fn poll(&mut self) -> Result<Vec<Message>, RuntimeError>;
    /// Messages dropped as tampered, replayed or foreign since the last call.
    fn take_tampered(&mut self) -> Vec<SealError>;
    /// Keeps `messages` for the next poll, ahead of anything newer.
    fn put_back(&mut self, messages: Vec<Message>);
    /// Sends one sealed message to the other side.
    async fn send(&mut self, kind: &str, data: &str) -> Result<(), RuntimeError>;
    /// Starts trusting a new session of the other side.
    fn reset_seal(&mut self, seal: SignalSeal);
    /// The STUN and TURN servers the endpoint gave with the room, if any.
    fn ice_servers(&self) -> Option<&serde_json::Value>;
}

impl Signal for SignalClient {
    async fn poll(&mut self) -> Result<Vec<Message>, RuntimeError> {
        SignalClient::poll(self).await
    }
    fn take_tampered(&mut self) -> Vec<SealError> {
        SignalClient::take_tampered(self)
    }
    fn put_back(&mut self, messages: Vec<Message>) {
        SignalClient::put_back(self, messages)
    }
    async fn send(&mut self, kind: &str, data: &str) -> Result<(), RuntimeError> {
        SignalClient::send(self, kind, data).await
    }
    fn reset_seal(&mut self, seal: SignalSeal) {
        SignalClient::reset_seal(self, seal)
    }
    fn ice_servers(&self) -> Option<&serde_json::Value> {
        SignalClient::ice_servers(self)
    }
}

/// Opens a sealed message of a room for several with the seal of the receiver that sent it.
pub fn open_sealed(seal: &mut SignalSeal, sealed: &str) -> Result<Message, SealError> {
    let opened = seal.open(sealed)?;
    let data = String::from_utf8(opened.payload).map_err(|_| SealError::Garbled)?;
    Ok(Message { kind: opened.kind, data })
}

/// An endpoint from before short-code numbers were picked by the endpoint (it asks for a room
/// id instead): say so, rather than pass on its complaint about a missing field.
fn endpoint_too_old(url: &str) -> RuntimeError {
    RuntimeError::Signaling {
        status: 400,
        code: "short_codes_unsupported".into(),
        message: format!(
            "{url} is older than this page and cannot hand out short codes: update signal.php \
             (or the signaling handler), or send a link instead"
        ),
    }
}

fn bad_reply(url: &str, e: serde_json::Error) -> RuntimeError {
    RuntimeError::Signaling {
        status: 200,
        code: "bad_reply".into(),
        message: format!("{url} answered with something that is not PeerDrop signaling ({e})"),
    }
}

pub async fn sleep(d: Duration) {
    gloo_timers::future::sleep(d).await
}

/// Attempts of an idempotent request (a poll, or a send that the server deduplicates by seq)
/// before a transient failure is reported.
const RETRIES: u32 = 5;

/// Posts an idempotent request, riding out transient failures: the server busy (503), rate
/// limiting (429), or a dropped connection. Waits as `Retry-After` says, else backs off.
pub(crate) async fn post_retrying(url: &str, body: &Value, log: &SharedLog) -> Result<Value, RuntimeError> {
    let mut attempt = 0;
    loop {
        let (result, retry_after_ms) = post_once(url, body, log).await;
        let transient = matches!(
            result,
            Err(RuntimeError::SignalingUnreachable(_))
                | Err(RuntimeError::Signaling { status: 429 | 503, .. })
        );
        attempt += 1;
        if !transient || attempt >= RETRIES {
            return result;
        }
        let backoff = 250u64 << attempt.min(5);
        sleep(Duration::from_millis(retry_after_ms.unwrap_or(backoff).clamp(100, 10_000))).await;
    }
}

/// Posts JSON once and returns the JSON reply; every failure becomes a typed error.
pub(crate) async fn post(url: &str, body: &Value, log: &SharedLog) -> Result<Value, RuntimeError> {
    post_once(url, body, log).await.0
}

/// One request, and the server's `Retry-After` in milliseconds if it sent one.
async fn post_once(url: &str, body: &Value, log: &SharedLog) -> (Result<Value, RuntimeError>, Option<u64>) {
    match post_inner(url, body, log).await {
        Ok(value) => (Ok(value), None),
        Err((e, retry)) => (Err(e), retry),
    }
}

/// A POST the browser finishes even if the page is gone (`keepalive`); its answer is ignored.
pub(crate) fn send_keepalive(url: &str, body: &str) {
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_body(&JsValue::from_str(body));
    let _ = js_sys::Reflect::set(&init, &"keepalive".into(), &true.into());
    let Ok(headers) = web_sys::Headers::new() else { return };
    if headers.set("Content-Type", "application/json").is_err() {
        return;
    }
    init.set_headers(&headers);
    let Ok(request) = Request::new_with_str_and_init(url, &init) else { return };
    if let Some(fetch) = global_fetch() {
        let _ = fetch.call1(&js_sys::global(), &request);
    }
}

/// The global `fetch`, in a window or a worker alike (`web_sys::Window` exists only in the
/// former).
fn global_fetch() -> Option<js_sys::Function> {
    js_sys::Reflect::get(&js_sys::global(), &"fetch".into()).ok()?.dyn_into().ok()
}

/// Longest a signaling request may take: a held poll's wait plus ten seconds.
const REQUEST_TIMEOUT_MS: u32 = (POLL_WAIT_S + 10) * 1000;

/// `AbortSignal.timeout(ms)`, where the browser has it.
fn abort_after(ms: u32) -> Option<JsValue> {
    let class = js_sys::Reflect::get(&js_sys::global(), &"AbortSignal".into()).ok()?;
    let timeout: js_sys::Function = js_sys::Reflect::get(&class, &"timeout".into()).ok()?.dyn_into().ok()?;
    timeout.call1(&class, &ms.into()).ok()
}

async fn post_inner(url: &str, body: &Value, log: &SharedLog) -> Result<Value, (RuntimeError, Option<u64>)> {
    let browser = |e: JsValue| (RuntimeError::Browser(describe(&e)), None);
    let started = crate::clock::now_ms();
    let op = body.get("op").and_then(Value::as_str).unwrap_or("").to_string();
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_body(&JsValue::from_str(&body.to_string()));
    let headers = web_sys::Headers::new().map_err(browser)?;
    headers.set("Content-Type", "application/json").map_err(browser)?;
    init.set_headers(&headers);
    // On a network that silently drops packets a request could hang for minutes; past a held
    // poll's longest wait it counts as unreachable, so retries and deadlines stay honest.
    if let Some(signal) = abort_after(REQUEST_TIMEOUT_MS) {
        let _ = js_sys::Reflect::set(&init, &"signal".into(), &signal);
    }
    let request = Request::new_with_str_and_init(url, &init).map_err(browser)?;
    let fetch =
        global_fetch().ok_or_else(|| (RuntimeError::Browser("fetch is not available".into()), None))?;
    let promise: js_sys::Promise =
        fetch.call1(&js_sys::global(), &request).map_err(browser)?.unchecked_into();
    let response: Response = match JsFuture::from(promise).await {
        Ok(r) => r.unchecked_into(),
        Err(_) => {
            log.borrow_mut().push(op, 0, (crate::clock::now_ms() - started) as f64);
            return Err((RuntimeError::SignalingUnreachable(url.to_string()), None));
        }
    };
    let status = response.status();
    let retry_after_ms = response
        .headers()
        .get("Retry-After")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|s| s * 1000);
    log.borrow_mut().push(op, status, (crate::clock::now_ms() - started) as f64);
    let text = match response.text() {
        Ok(p) => JsFuture::from(p).await.ok().and_then(|t| t.as_string()),
        Err(_) => None,
    };
    // The answer began but its body never came whole (the network dropped, or the request's
    // time ran out, mid-body): the endpoint was not reached, as far as retrying goes. Taking
    // it for a foreign reply would end a transfer over a passing outage.
    let Some(text) = text else {
        return Err((RuntimeError::SignalingUnreachable(url.to_string()), retry_after_ms));
    };
    let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if (200..300).contains(&status) {
        return Ok(value);
    }
    let code = value.pointer("/error/code").and_then(Value::as_str).unwrap_or("http_error").to_string();
    let message = value
        .pointer("/error/message")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| format!("HTTP status {status}"));
    if status == 0 || status == 502 || status == 504 || status == 508 {
        return Err((RuntimeError::SignalingUnreachable(url.to_string()), retry_after_ms));
    }
    // This seat's receiver was removed by the sender (section 2.7), whatever it was doing.
    if status == 410 && code == "peer_dropped" {
        return Err((RuntimeError::Dropped, None));
    }
    Err((RuntimeError::Signaling { status, code, message }, retry_after_ms))
}

/// The most receivers the endpoint at `url` seats a room: its health check's (`GET`,
/// `docs/signaling.md` section 8) `max_receivers`, if it answers with one.
pub async fn max_receivers(url: &str) -> Option<u8> {
    let promise: js_sys::Promise =
        global_fetch()?.call1(&js_sys::global(), &url.into()).ok()?.dyn_into().ok()?;
    let response: web_sys::Response =
        wasm_bindgen_futures::JsFuture::from(promise).await.ok()?.dyn_into().ok()?;
    let body = wasm_bindgen_futures::JsFuture::from(response.json().ok()?).await.ok()?;
    let limits = js_sys::Reflect::get(&body, &"limits".into()).ok()?;
    let n = js_sys::Reflect::get(&limits, &"max_receivers".into()).ok()?.as_f64()?;
    (1.0..=f64::from(crate::options::MAX_RECEIVERS)).contains(&n).then_some(n as u8)
}

/// The sealed message one side sends when it abandons a negotiation because signaling was
/// tampered with, so the other side stops too (if the relay lets it through).
pub const ABORT: &str = "abort";

/// The sealed message the sender of a link for several sends a receiver whose part ended
/// without the files (no answer in time, no connection, a loss it could not restore): it ends
/// that receiver's wait at once, as `peer-left` does for a link for one.
pub const BYE: &str = "bye";

/// Tells the other side a negotiation was abandoned over tampering; best effort.
pub async fn abort_if_tampered(client: &mut impl Signal, error: &RuntimeError) {
    if let RuntimeError::SignalingTampered(_) = error {
        let _ = client.send(ABORT, "signaling_tampered").await;
    }
}

/// How long a negotiation goes on after a message failed to open before it is abandoned as
/// tampered with (a single stray message is survivable; an altered exchange is not).
const TAMPER_GRACE_MS: u64 = 8_000;

/// A fresh seal for this page session: a new random session id each time.
pub fn new_seal(
    secret: &peerdrop_core::LinkSecret,
    role: peerdrop_core::frame::Role,
) -> Result<SignalSeal, RuntimeError> {
    let mut session = [0u8; peerdrop_core::seal::SESSION_ID_BYTES];
    getrandom::getrandom(&mut session).map_err(|e| RuntimeError::Browser(e.to_string()))?;
    Ok(SignalSeal::new(secret, role, session))
}

/// Whether a signaling failure may pass by itself: this side's network is down, or the
/// endpoint is briefly unreachable or busy.
pub fn is_transient(e: &RuntimeError) -> bool {
    matches!(
        e,
        RuntimeError::SignalingUnreachable(_) | RuntimeError::Signaling { status: 429 | 502 | 503 | 504, .. }
    )
}

/// Pause between two tries while signaling is unreachable.
const OUTAGE_RETRY: Duration = Duration::from_secs(2);

/// [`wait_for`], riding out signaling outages (the network down, the endpoint briefly away)
/// until `deadline`, or for as long as `cancelled` allows without one.
pub async fn wait_for_through_outages(
    client: &mut impl Signal,
    kind: &str,
    deadline: Option<u64>,
    cancelled: &dyn Fn() -> bool,
    on_tamper: &dyn Fn(&SealError),
) -> Result<Option<String>, RuntimeError> {
    loop {
        match wait_for(client, kind, deadline, cancelled, on_tamper).await {
            Err(e) if is_transient(&e) && deadline.map_or(true, |d| crate::clock::now_ms() < d) => {
                sleep(OUTAGE_RETRY).await
            }
            other => return other,
        }
    }
}

/// Polls until a message of `kind` arrives and returns its data; `Ok(None)` once `cancelled`.
/// Messages that fail to open are dropped and passed to `on_tamper`; after the first one the
/// wait ends within [`TAMPER_GRACE_MS`] with [`RuntimeError::SignalingTampered`].
pub async fn wait_for(
    client: &mut impl Signal,
    kind: &str,
    deadline: Option<u64>,
    cancelled: &dyn Fn() -> bool,
    on_tamper: &dyn Fn(&SealError),
) -> Result<Option<String>, RuntimeError> {
    let mut deadline = deadline;
    let mut first_tamper: Option<SealError> = None;
    loop {
        if cancelled() {
            return Ok(None);
        }
        let now = crate::clock::now_ms();
        if deadline.is_some_and(|d| now > d) {
            return Err(match first_tamper {
                Some(e) => RuntimeError::SignalingTampered(e.to_string()),
                None => RuntimeError::PeerNotFound,
            });
        }
        let messages = client.poll().await?;
        for e in client.take_tampered() {
            on_tamper(&e);
            if first_tamper.is_none() {
                deadline = Some(deadline.map_or(now + TAMPER_GRACE_MS, |d| d.min(now + TAMPER_GRACE_MS)));
                first_tamper = Some(e);
            }
        }
        if let Some(m) = messages.iter().find(|m| m.kind == ABORT) {
            return Err(RuntimeError::SignalingTampered(format!(
                "the other side saw altered signaling messages ({})",
                m.data
            )));
        }
        if let Some(pos) = messages.iter().position(|m| m.kind == kind) {
            let mut messages = messages;
            let rest = messages.split_off(pos + 1);
            client.put_back(rest);
            return Ok(messages.pop().map(|m| m.data));
        }
        // The other side left the room (closed its page, or ended the transfer), or ended this
        // side's part of a link for several: nothing it could still send will come.
        if messages.iter().any(|m| m.kind == "peer-left" || m.kind == BYE) {
            return Err(RuntimeError::LinkExpired);
        }
    }
}
