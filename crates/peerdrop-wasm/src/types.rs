//! TypeScript types of the JavaScript API, declared beside the Rust that produces the values
//! so the generated `peerdrop.d.ts` describes exactly what the runtime emits.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** A file to send with the relative path it should arrive at ("folder/sub/name.ext"). */
export interface SendItem { file: File; path: string; }

/** What `send()` takes: a file input's list, files, or items with relative paths. */
export type SendFiles = FileList | File | File[] | SendItem[];

/** An offered file as both sides see it. */
export interface FileInfo { path: string; size: number; modified: number; mime: string; }

export interface CommonOptions {
  /** URL of the signaling endpoint (signal.php or a SvelteKit route). Default "signal.php". */
  signalUrl?: string;
  /** Passed to RTCPeerConnection. Default: the STUN/TURN servers the signaling endpoint hands
   *  out with the room (none unless its operator configured them: then no third-party request).
   *  A list given here, even [], wins over the endpoint's. */
  iceServers?: RTCIceServer[];
  /** Milliseconds from the exchange of descriptions until the connection must be open, else
   *  the transfer ends with "ice_failed". Default 15000 (1000 to 600000). */
  connectTimeout?: number;
  /** Milliseconds a lost connection is retried before the transfer ends with
   *  "connection_lost". Default 120000; 0 turns retrying off. */
  reconnectWindow?: number;
  /** Receives every event of the transfer. */
  onEvent?: (event: PeerDropEvent) => void;
  /** Flow-control overrides in bytes; omit to keep the defaults (docs/performance.md). */
  flow?: FlowOptions;
  /** Who computes block digests: "webcrypto" (default; the browser's native SHA-256, where
   *  the page is a secure context, else the engine's) or "wasm" (always the engine's). */
  hasher?: "webcrypto" | "wasm";
}

/** Flow control. The sender queues on the channel until `bufferedAmount` reaches
 *  `bufferedHigh` (at least one message) and resumes at `bufferedLow` (at most half of
 *  `bufferedHigh`). A new connection starts at `bufferedStart` instead of `bufferedHigh` and
 *  grows to it as data goes through (a sixteenth of the bytes sent; the low mark in
 *  proportion): a large first burst stalls a new connection. The receiver lets the sender
 *  have `window` bytes in flight or unwritten (its memory bound, at least one block).
 *  `blockSize` is the preferred unit of hashing, retry and resume (default 1 MiB, 16 KiB to
 *  16 MiB; the smaller of both sides' preferences is used); the sender reads and hashes
 *  `readAhead` blocks ahead (default 4, 1 to 64) and so holds up to `readAhead + 1` blocks
 *  (with extra lanes, up to `max(readAhead, lanes)` plus one per lane; the receiver's window
 *  then grows to at least two blocks per lane).
 *  `maxLanes` caps the peer connections one transfer uses (default 8, 1 to 8; 1 keeps every
 *  block on the first connection): on a long or lossy path the sender opens more, each with
 *  its own congestion window (docs/performance.md). */
/*  `sharedCache` (a sender with several receivers): bytes of read and hashed blocks kept for
 *  all of them (default 32 MiB, at least 4 MiB). A receiver that falls further behind the
 *  others than this has its blocks read and hashed again rather than slowing them down. */
export interface FlowOptions { bufferedHigh?: number; bufferedLow?: number; bufferedStart?: number; window?: number; blockSize?: number; readAhead?: number; maxLanes?: number; sharedCache?: number; }

export interface SendOptions extends CommonOptions {
  /** Page the share link opens. Default: the current page without its fragment. */
  shareBase?: string;
  /** Offer a short code to read out ("7-guitar-orbit") instead of a link: `link` is then
   *  "", and a "code" event gives the code once the receiver can enter it (the signaling
   *  endpoint picks its number; `code` holds it from then on). One try per code. Default false. */
  shortCode?: boolean;
  /** The most people who may open the link at the same time: 1 (the default) is a transfer to
   *  one receiver, as always; 2 to 32 opens a room for several (a link only: a short code
   *  always means one receiver). Each receiver gets its own connection, verification words,
   *  progress and resume, and every event about one of them carries its `receiver` number;
   *  blocks are read and hashed once for all of them (`flow.sharedCache`). The signaling
   *  endpoint may seat fewer (its `max_receivers`): the `room` event says how many. */
  receivers?: number;
}

export interface ReceiveOptions extends CommonOptions {
  /** Where received bytes go. Default "auto": the origin-private file system where the
   *  browser has it (resumable), else downloads through `serviceWorker` when set, else
   *  memory. "download" needs `serviceWorker`. */
  sink?: "auto" | "opfs" | "memory" | "download";
  /** URL of your site's copy of the package's `peerdrop-sw.js` (a service worker must come
   *  from the page's origin). Enables streaming each file to the browser's downloads where
   *  OPFS is missing (Firefox private windows, older Safari): memory stays flat, but such a
   *  transfer cannot resume after a reload. Default none. */
  serviceWorker?: string;
  /** Where the OPFS storage worker (the package's `snippets/.../js/opfs.js`) is served, when a
   *  bundler moved it (the SvelteKit package sets it). Default: beside the glue. */
  storageWorkerUrl?: string;
  /** Largest total kept in memory when the memory sink is used. Default 512 MiB. */
  memoryCap?: number;
  /** Accept the offer without waiting for accept(). Default true. */
  autoAccept?: boolean;
}

export interface AcceptChoice {
  /** Ask where to save (File System Access: save dialog for one file, folder picker for
   *  several). Call accept() from a click when set. */
  pick?: boolean;
}

/*  A sender with several receivers: the link's own status is "signaling", then "waiting"
 *  while the link is open, then "complete" once the link is closed (or every seat taken) and
 *  every receiver ended; each receiver's status (with `receiver`) goes through the phases of
 *  a transfer to one receiver. */
export type Phase =
  | "signaling" | "waiting" | "connecting" | "connected" | "transferring" | "reconnecting" | "complete";

export type PeerDropEvent = (
  | { type: "status"; phase: Phase; path?: "host" | "srflx" | "prflx" | "relay" | null;
      /** With phase "reconnecting": milliseconds left before a lost connection is given up. */
      giveUpInMs?: number;
      /** With phase "connected": words both sides show; if they differ, someone is in between. */
      verification?: string | null }
  | { type: "code"; code: string }
  | { type: "offer"; files: FileInfo[]; totalBytes: number; canPick: boolean }
  | { type: "accepted"; sink: "opfs" | "memory" | "pick" | "download"; resumedBytes: number }
  | { type: "pickCancelled" }
  | { type: "progress"; verifiedBytes: number; totalBytes: number; bytesPerSecond: number;
      etaSeconds: number | null; file?: number; fileBytes?: number }
  | { type: "blockRejected"; file: number; block: number; attempt: number }
  | { type: "file"; index: number; path: string; size: number; mime: string;
      digest: string | null; blob: Blob | null; saved: boolean }
  | { type: "stalled"; idleMs: number; diagnosis?: "ice_failed" | "ice_disconnected" | "channel_closed" | "peer_unresponsive"; message?: string }
  | { type: "disconnected"; message: string }
  | { type: "signalingWarning"; message: string }
  | { type: "complete" }
  | { type: "network"; source: IceSource; stunUrls: number; turnUrls: number }
  | { type: "error"; code: ErrorCode; message: string;
      /** With "ice_failed": why, and what ICE knew then. */
      reason?: IceFailureReason; ice?: IceFacts }
  /** A sender with several receivers: the room exists and the link works; it seats `receivers`
   *  (1 when the signaling endpoint is older than rooms for several: that one receiver is
   *  still reported as receiver 1). */
  | { type: "room"; receivers: number }
  /** A sender with several receivers: `closeLink()` took effect; nobody new can join. */
  | { type: "linkClosed" }
) & {
  /** A sender with several receivers: which receiver the event is about (1 to 32); absent
   *  from events about the link as a whole. */
  receiver?: number;
  /** With `receiver`, on the "connected" status: a short label for the list of receivers, the
   *  first two of that receiver's verification words (no names ever cross the wire). */
  label?: string;
};

/** Where a connection's STUN/TURN servers came from: the page's iceServers, the endpoint, or none. */
export type IceSource = "page" | "endpoint" | "none";

export type IceFailureReason =
  | "no_ice_servers" | "stun_unreachable" | "peer_stun_unreachable" | "no_relay_configured"
  | "relay_unreachable" | "relay_failed";

export interface CandidateCounts { host: number; srflx: number; prflx: number; relay: number; }

/** Servers and candidates of a connection; `*Nat` says whether the NAT in front of that side
 *  keeps ports ("port_preserving") or rewrites them ("port_changing": perhaps symmetric). */
export interface IceFacts {
  source: IceSource; stunUrls: number; turnUrls: number;
  localCandidates: CandidateCounts; remoteCandidates: CandidateCounts;
  localNat: "port_preserving" | "port_changing" | "unknown";
  remoteNat: "port_preserving" | "port_changing" | "unknown";
}

export type ErrorCode =
  | "signaling_unreachable" | "signaling_error" | "signaling_tampered" | "bad_link" | "link_expired"
  | "link_in_use" | "peer_not_found" | "ice_failed" | "no_files" | "browser_error" | "unsupported"
  | "insufficient_storage" | "sink_failed" | "too_large_for_memory"
  | "protocol_violation" | "unsupported_version" | "unsafe_path" | "integrity_failed" | "cancelled"
  | "rejected" | "flow_control_violation" | "timeout" | "source_failed" | "limit_exceeded"
  | "connection_lost" | "bad_code" | "code_unknown" | "code_used" | "wrong_code" | "code_abandoned"
  | "invalid_receivers" | "link_closed" | "dropped";

/** What diagnose() resolves to: safe to share with support (no file names, no link). */
export interface Diagnosis {
  connection: null | {
    iceConnectionState: string; connectionState: string;
    localCandidateType: string | null; remoteCandidateType: string | null; protocol: string | null;
    relayProtocol: string | null;
    roundTripTimeMs: number | null; bytesSent: number | null; bytesReceived: number | null;
    candidatesGathered: Record<string, number>;
    ice: IceFacts;
  };
  channel: null | { state: string; bufferedAmount: number; maxMessageSize: number | null };
  signaling: { requests: number; lastStatus: number | null; medianRoundTripMs: number | null;
    recent: { op: string; status: number; ms: number }[] };
  wasmMemoryBytes: number;
  /** Peer connections carrying this transfer: the first, and every extra one that opened
   *  (0 before any connection). */
  lanes: number;
  /** A sender with several receivers, diagnose() without a receiver: the reading and hashing
   *  its receivers shared (each read is one block read and hashed once). */
  sharedReads?: { reads: number; bytesRead: number; deliveries: number; bytesDelivered: number;
    heldBytes: number; maxHeldBytes: number };
}
"#;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(typescript_type = "SendFiles")]
    pub type SendFilesJs;
    #[wasm_bindgen(typescript_type = "SendOptions | undefined")]
    pub type SendOptionsJs;
    #[wasm_bindgen(typescript_type = "ReceiveOptions | undefined")]
    pub type ReceiveOptionsJs;
    #[wasm_bindgen(typescript_type = "AcceptChoice | undefined")]
    pub type AcceptChoiceJs;
    #[wasm_bindgen(typescript_type = "FileInfo[]")]
    pub type FileInfoArray;
    #[wasm_bindgen(typescript_type = "Promise<Diagnosis>")]
    pub type DiagnosisPromise;
    #[wasm_bindgen(typescript_type = "Promise<SendItem[]>")]
    pub type SendItemsPromise;
}
