//! Options an application passes to `send()` and `receive()`.

use wasm_bindgen::{JsCast, JsValue};

/// How long a lost connection is retried by default: a Wi-Fi hiccup, a phone moving between
/// networks or a laptop lid closed for a minute or two.
pub const RECONNECT_WINDOW_MS: u64 = 120_000;

/// Largest total a receiver keeps in memory by default before refusing an offer.
pub const DEFAULT_MEMORY_CAP: u64 = 512 * 1024 * 1024;

/// The most receivers one link may have (the signaling contract's cap, `docs/signaling.md` 2.6).
pub const MAX_RECEIVERS: u8 = 32;

/// Blocks kept for a sender's receivers by default: 32 blocks of the default size, so that
/// receivers within 32 MiB of each other share every read.
const DEFAULT_SHARED_CACHE: u64 = 32 << 20;
const MIN_SHARED_CACHE: u64 = 4 << 20;

/// Parsed options; unknown keys are ignored.
#[derive(Clone)]
pub struct Options {
    /// URL of the signaling endpoint (`signal.php` or a SvelteKit route).
    pub signal_url: String,
    /// Passed to `RTCPeerConnection` as is when given (even `[]`); when not given, the
    /// signaling endpoint's servers are used (see `ice::choose`).
    pub ice_servers: JsValue,
    /// Milliseconds from the exchange of descriptions until the channel must be open, else
    /// `ice_failed` (`connectTimeout`; default `ice::CONNECT_TIMEOUT_MS`, at least 1000).
    pub connect_timeout_ms: u32,
    /// Milliseconds a lost connection is retried (signaling and ICE anew) before the transfer
    /// ends with `connection_lost` (`reconnectWindow`; default [`RECONNECT_WINDOW_MS`], 0 turns
    /// retrying off).
    pub reconnect_window_ms: u64,
    pub on_event: Option<js_sys::Function>,
    /// Page the share link points at; defaults to the current page without its fragment.
    pub share_base: Option<String>,
    /// Receiver: refuse offers larger than this when keeping files in memory.
    pub memory_cap: u64,
    /// Receiver: accept offers without waiting for `accept()`.
    pub auto_accept: bool,
    /// Receiver: where bytes go (`"opfs"`, `"memory"` or `"download"`); `None` ("auto") picks
    /// the best available.
    pub sink: Option<crate::sink::SinkKind>,
    /// Receiver: URL of the site's copy of `peerdrop-sw.js`, which enables the `"download"` sink.
    pub service_worker: Option<String>,
    /// Receiver: where the OPFS storage worker script (`snippets/*/js/opfs.js`) is served, for
    /// bundlers that move it; `None` loads it beside the glue.
    pub storage_worker_url: Option<String>,
    /// Sender: offer a short code instead of a link.
    pub short_code: bool,
    /// Sender: the most receivers who may open the link at once (`receivers`, 1 to
    /// [`MAX_RECEIVERS`]; default 1), or why the value given is not one.
    pub receivers: Result<u8, String>,
    /// Flow-control overrides (`flow: { bufferedHigh, bufferedLow, bufferedStart, window,
    /// blockSize }` in bytes, `readAhead` in blocks, `maxLanes` in peer connections).
    pub flow: Flow,
    /// Hash blocks with WebCrypto where the page has it (`hasher: "webcrypto"`, the default),
    /// or always with the engine's `sha2` in wasm (`hasher: "wasm"`, for comparisons).
    pub webcrypto: bool,
}

/// Flow-control settings an application may override; `None` keeps the engine's default.
/// Defaults suit a fast loopback or LAN path; a slow, long path may want smaller marks.
#[derive(Debug, Clone, Copy, Default)]
pub struct Flow {
    pub buffered_high: Option<u64>,
    pub buffered_low: Option<u64>,
    pub buffered_start: Option<u64>,
    pub window: Option<u64>,
    /// Preferred block size (the smaller of both sides' wins; clamped to 16 KiB..16 MiB).
    pub block_size: Option<u64>,
    /// Sender: blocks read and hashed ahead (clamped to 1..64); it holds up to one more.
    pub read_ahead: Option<u64>,
    /// Most peer connections per transfer (1 turns extra lanes off; at most 8).
    pub max_lanes: Option<u64>,
    /// Sender with several receivers: bytes of read and hashed blocks kept for all of them.
    pub shared_cache: Option<u64>,
}

impl Flow {
    /// The bound of the block cache a sender's receivers share (`flow.sharedCache`).
    pub fn shared_cache_bytes(&self) -> u64 {
        self.shared_cache.map_or(DEFAULT_SHARED_CACHE, |b| b.max(MIN_SHARED_CACHE))
    }

    /// The engine's settings for a channel that takes `max_message_size`-byte messages (the
    /// engine keeps the marks sensible: see `Sender::lane_buffered_high`).
    pub fn config(&self, max_message_size: u32) -> peerdrop_core::Config {
        let d = peerdrop_core::Config { max_message_size, ..peerdrop_core::Config::default() };
        peerdrop_core::Config {
            buffered_high: self.buffered_high.unwrap_or(d.buffered_high),
            buffered_low: self.buffered_low.unwrap_or(d.buffered_low),
            buffered_start: self.buffered_start.unwrap_or(d.buffered_start),
            window: self.window.unwrap_or(d.window),
            block_size: self.block_size.map_or(d.block_size, |b| {
                b.clamp(
                    u64::from(peerdrop_core::config::MIN_BLOCK_SIZE),
                    u64::from(peerdrop_core::config::MAX_BLOCK_SIZE),
                ) as u32
            }),
            read_ahead_blocks: self.read_ahead.map_or(d.read_ahead_blocks, |n| n.clamp(1, 64) as usize),
            max_lanes: self
                .max_lanes
                .map_or(d.max_lanes, |n| n.clamp(1, peerdrop_core::config::MAX_LANES as u64) as usize),
            ..d
        }
    }
}

impl Options {
    pub fn from_js(value: &JsValue) -> Options {
        let get = |key: &str| -> JsValue {
            if value.is_object() {
                js_sys::Reflect::get(value, &key.into()).unwrap_or(JsValue::UNDEFINED)
            } else {
                JsValue::UNDEFINED
            }
        };
        Options {
            signal_url: get("signalUrl").as_string().unwrap_or_else(|| "signal.php".into()),
            ice_servers: get("iceServers"),
            connect_timeout_ms: get("connectTimeout")
                .as_f64()
                .filter(|v| v.is_finite())
                .map_or(crate::ice::CONNECT_TIMEOUT_MS, |v| v.clamp(1000.0, 600_000.0) as u32),
            reconnect_window_ms: get("reconnectWindow")
                .as_f64()
                .filter(|v| v.is_finite())
                .map_or(RECONNECT_WINDOW_MS, |v| v.clamp(0.0, 3_600_000.0) as u64),
            on_event: get("onEvent").dyn_into::<js_sys::Function>().ok(),
            share_base: get("shareBase").as_string(),
            memory_cap: get("memoryCap").as_f64().map_or(DEFAULT_MEMORY_CAP, |v| v.max(0.0) as u64),
            auto_accept: get("autoAccept").as_bool().unwrap_or(true),
            sink: match get("sink").as_string().as_deref() {
                Some("opfs") => Some(crate::sink::SinkKind::Opfs),
                Some("memory") => Some(crate::sink::SinkKind::Memory),
                Some("download") => Some(crate::sink::SinkKind::Download),
                _ => None,
            },
            service_worker: get("serviceWorker").as_string().filter(|url| !url.is_empty()),
            storage_worker_url: get("storageWorkerUrl").as_string().filter(|url| !url.is_empty()),
            short_code: get("shortCode").as_bool().unwrap_or(false),
            receivers: receivers(&get("receivers")),
            webcrypto: get("hasher").as_string().as_deref() != Some("wasm"),
            flow: {
                let flow = get("flow");
                // 0 is a legitimate bufferedLow ("resume once the buffer is empty").
                let bytes = |key: &str| -> Option<u64> {
                    let v = js_sys::Reflect::get(&flow, &key.into()).ok()?.as_f64()?;
                    (v.is_finite() && v >= 0.0).then_some(v as u64)
                };
                if flow.is_object() {
                    Flow {
                        buffered_high: bytes("bufferedHigh"),
                        buffered_low: bytes("bufferedLow"),
                        buffered_start: bytes("bufferedStart"),
                        window: bytes("window"),
                        block_size: bytes("blockSize"),
                        read_ahead: bytes("readAhead"),
                        max_lanes: bytes("maxLanes"),
                        shared_cache: bytes("sharedCache"),
                    }
                } else {
                    Flow::default()
                }
            },
        }
    }
}

/// `receivers`: absent means one; else a whole number from 1 to [`MAX_RECEIVERS`].
fn receivers(value: &JsValue) -> Result<u8, String> {
    if value.is_undefined() || value.is_null() {
        return Ok(1);
    }
    match value.as_f64() {
        Some(n) if n.fract() == 0.0 && (1.0..=f64::from(MAX_RECEIVERS)).contains(&n) => Ok(n as u8),
        _ => Err(format!("receivers must be a whole number from 1 to {MAX_RECEIVERS}")),
    }
}

/// The current page's address without its fragment, where there is a page.
pub fn current_page() -> Option<String> {
    let location = js_sys::Reflect::get(&js_sys::global(), &"location".into()).ok()?;
    let href = js_sys::Reflect::get(&location, &"href".into()).ok()?.as_string()?;
    Some(href.split('#').next().unwrap_or(&href).to_string())
}
