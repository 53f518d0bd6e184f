//! Errors the runtime reports to JavaScript: a stable `code` and a sentence to show.

use peerdrop_core::TransferError;
use wasm_bindgen::JsValue;

/// A failure outside the transfer protocol (signaling, connection, browser APIs).
#[derive(Debug, Clone, PartialEq)]
pub enum RuntimeError {
    /// The signaling endpoint could not be reached at all.
    SignalingUnreachable(String),
    /// The signaling endpoint answered with an error.
    Signaling { status: u16, code: String, message: String },
    /// The link is damaged or incomplete.
    BadLink(String),
    /// The room is gone: the sender closed the page or the link expired.
    LinkExpired,
    /// Someone else already opened this link (or, for a link several may open, as many
    /// people as its sender allowed).
    LinkInUse,
    /// The sender closed this link to newcomers (a link several may open).
    LinkClosed,
    /// The sender removed this receiver from the transfer (a link several may open).
    Dropped,
    /// The sender's side of the same: this page removed that receiver.
    RemovedReceiver,
    /// `receivers` is not a number of receivers this runtime can serve, or asks for several
    /// with a short code.
    InvalidReceivers(String),
    /// The other side never showed up in time.
    PeerNotFound,
    /// No connection could be made: why, judged from what ICE knew then (the servers, where
    /// they came from, both sides' candidates), which the error carries for support.
    IceFailed {
        why: peerdrop_core::connectivity::IceFailure,
        facts: peerdrop_core::connectivity::IceFacts,
        source: crate::ice::Source,
    },
    /// Nothing was picked.
    NoFiles,
    /// A browser API failed unexpectedly.
    Browser(String),
    /// The offer does not fit in the storage the browser grants this site.
    InsufficientStorage { needed: u64, available: Option<f64> },
    /// Received bytes could not be stored.
    Storage(String),
    /// The offer is larger than the in-memory cap and no disk-backed sink exists here.
    TooLargeForMemory { needed: u64, cap: u64 },
    /// A browser feature this path needs is missing (callers fall back where they can).
    Unsupported,
    /// What was typed is not a short code.
    BadCode(String),
    /// No sender is waiting with this code's number.
    CodeUnknown,
    /// The code's room already has a receiver: the code was used (one try per code).
    CodeUsed,
    /// The two sides used different codes.
    WrongCode,
    /// The other side left during the short-code exchange.
    CodeAbandoned,
    /// Signaling messages failed to open: altered, replayed, reflected or foreign.
    SignalingTampered(String),
    /// The transfer protocol ended early.
    Transfer(TransferError),
}

impl RuntimeError {
    /// The `ice_failed` error for `pc`, saying why it did not connect.
    pub fn ice_failed(pc: &web_sys::RtcPeerConnection, source: crate::ice::Source) -> RuntimeError {
        let facts = crate::ice::facts(pc);
        RuntimeError::IceFailed {
            why: peerdrop_core::connectivity::IceFailure::classify(&facts),
            facts,
            source,
        }
    }

    pub fn code(&self) -> &str {
        match self {
            RuntimeError::SignalingUnreachable(_) => "signaling_unreachable",
            RuntimeError::Signaling { .. } => "signaling_error",
            RuntimeError::BadLink(_) => "bad_link",
            RuntimeError::LinkExpired => "link_expired",
            RuntimeError::BadCode(_) => "bad_code",
            RuntimeError::CodeUnknown => "code_unknown",
            RuntimeError::CodeUsed => "code_used",
            RuntimeError::WrongCode => "wrong_code",
            RuntimeError::CodeAbandoned => "code_abandoned",
            RuntimeError::LinkInUse => "link_in_use",
            RuntimeError::LinkClosed => "link_closed",
            RuntimeError::Dropped | RuntimeError::RemovedReceiver => "dropped",
            RuntimeError::InvalidReceivers(_) => "invalid_receivers",
            RuntimeError::PeerNotFound => "peer_not_found",
            RuntimeError::IceFailed { .. } => "ice_failed",
            RuntimeError::NoFiles => "no_files",
            RuntimeError::Browser(_) => "browser_error",
            RuntimeError::InsufficientStorage { .. } => "insufficient_storage",
            RuntimeError::Storage(_) => "sink_failed",
            RuntimeError::TooLargeForMemory { .. } => "too_large_for_memory",
            RuntimeError::SignalingTampered(_) => "signaling_tampered",
            RuntimeError::Unsupported => "unsupported",
            RuntimeError::Transfer(e) => e.code.name(),
        }
    }

    pub fn message(&self) -> String {
        match self {
            RuntimeError::SignalingUnreachable(url) => format!(
                "Cannot reach the signaling server at {url}. Check your connection, or ask whoever runs this site whether the server is up."
            ),
            RuntimeError::Signaling { status, message, .. } => {
                format!("The signaling server refused the request ({status}): {message}")
            }
            RuntimeError::BadLink(why) => format!("This link does not work: {why}."),
            RuntimeError::BadCode(why) => format!("That is not a PeerDrop code: {why}."),
            RuntimeError::CodeUnknown => {
                "No sender is waiting with this code. Check the number with the sender; a code works only while their page is open.".into()
            }
            RuntimeError::CodeUsed => {
                "This code has already been used: each code allows one try. Ask the sender for a new code.".into()
            }
            RuntimeError::WrongCode => {
                "The codes did not match, so nothing was sent. Each code allows one try: the sender makes a new code, then enter that one.".into()
            }
            RuntimeError::CodeAbandoned => {
                "The other side left before the code was checked. Make a new code and try again.".into()
            }
            RuntimeError::LinkExpired => {
                "This link has expired or the sender closed their page. Ask for a new link.".into()
            }
            RuntimeError::LinkInUse => {
                "This link is taken: someone else already opened it (or as many people as the sender allowed). Ask the sender for a new one.".into()
            }
            RuntimeError::LinkClosed => {
                "The sender closed this link to newcomers. Ask them for a new link.".into()
            }
            RuntimeError::Dropped => "The sender removed you from this transfer. Ask them for the files again if you still need them.".into(),
            RuntimeError::RemovedReceiver => "You removed this receiver; the others go on.".into(),
            RuntimeError::InvalidReceivers(why) => format!("Cannot send to several receivers: {why}."),
            RuntimeError::PeerNotFound => {
                "The other side did not answer in time. Make sure their page is still open, then try again.".into()
            }
            RuntimeError::IceFailed { why, .. } => why.to_string(),
            RuntimeError::NoFiles => "No file was picked.".into(),
            RuntimeError::Browser(what) => format!("The browser refused an operation: {what}"),
            RuntimeError::InsufficientStorage { needed, available } => match available {
                Some(a) => format!(
                    "Not enough storage: the files need {}, and this browser lets the site store {} more. Free some disk space, or save to a folder you pick.",
                    crate::js_value::human_bytes(*needed as f64), crate::js_value::human_bytes(*a)
                ),
                None => format!(
                    "Not enough storage for {}. Free some disk space, or save to a folder you pick.",
                    crate::js_value::human_bytes(*needed as f64)
                ),
            },
            RuntimeError::Storage(why) => format!("Saving failed: {why}."),
            RuntimeError::TooLargeForMemory { needed, cap } => format!(
                "The files total {}, more than the {} this browser can hold in memory. Open the link in a browser that can save to disk (Chrome, Edge, Firefox or Safari).",
                crate::js_value::human_bytes(*needed as f64), crate::js_value::human_bytes(*cap as f64)
            ),
            RuntimeError::Unsupported => "This browser lacks a feature PeerDrop needs here; try a current Chrome, Edge, Firefox or Safari.".into(),
            RuntimeError::SignalingTampered(why) => format!(
                "The connection was not set up because signaling messages were tampered with: {why}. Nothing was sent. Try again, or use another signaling server."
            ),
            RuntimeError::Transfer(e) => e.to_string(),
        }
    }

    /// `{code, message}` for JavaScript.
    pub fn to_js(&self) -> JsValue {
        let obj = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&obj, &"code".into(), &self.code().into());
        let _ = js_sys::Reflect::set(&obj, &"message".into(), &self.message().into());
        if let RuntimeError::IceFailed { why, facts, source } = self {
            let _ = js_sys::Reflect::set(&obj, &"reason".into(), &why.name().into());
            let _ = js_sys::Reflect::set(&obj, &"ice".into(), &crate::ice::facts_to_js(facts, *source));
        }
        obj.into()
    }
}

/// Describes a thrown JavaScript value in one line.
pub fn describe(value: &JsValue) -> String {
    if let Some(s) = value.as_string() {
        return s;
    }
    js_sys::Reflect::get(value, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| format!("{value:?}"))
}
