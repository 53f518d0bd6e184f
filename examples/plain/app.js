// The plain example: one page that sends (no fragment) or receives (a link's #fragment).
import init, { send, receive, itemsFromDrop } from './pkg/peerdrop.js';
import { renderSVG } from './vendor/uqr.js';

const $ = (id) => document.getElementById(id);
const SIGNAL_URL = new URL('signal.php', location.href).href;
// Copied from the package by scripts/serve-site: where this browser cannot stage files on disk
// (Firefox private windows), each file streams into the downloads folder through it.
const SERVICE_WORKER_URL = new URL('peerdrop-sw.js', location.href).href;
// `?sink=memory` (or opfs, download) picks where received files go; default: the best there is.
const SINK = new URLSearchParams(location.search).get('sink') ?? undefined;

const STATUS_TEXT = {
  signaling: 'Contacting the signaling server…',
  waiting: 'Waiting for the other browser…',
  connecting: 'Connecting to the other browser…',
  connected: 'Connected directly.',
  accepted: 'Receiving…',
  reconnecting: 'Connection lost, retrying; the transfer resumes where it stopped…',
  transferring: 'Transferring…',
  complete: 'Done: every file arrived and was verified.',
};

/** The link's own status when it is for several (each receiver's is in its row). */
const ROOM_STATUS_TEXT = {
  waiting: 'The link is open.',
  complete: 'Finished: how each receiver ended is in the list.',
};

let handle = null;
/** The last error, whose `ice` facts the diagnostics panel shows once the connection is gone. */
let lastError = null;
/** What was last offered, so a used-up short code can be replaced with a new one. */
let offered = null;
let files = [];
let fileBytes = [];
/** 'sender' or 'receiver': errors from the other side are worded for this one. */
let role = 'sender';
/** A link for several receivers: one entry per receiver number, in the order they showed up. */
let receivers = null;

function setState(state) {
  document.body.dataset.state = state;
}

/** While a lost connection is retried: says so, with the time left before giving up. */
let countdown = null;
function showRetrying(giveUpInMs) {
  clearInterval(countdown);
  const giveUpAt = Date.now() + giveUpInMs;
  const show = () => {
    const left = Math.max(0, Math.round((giveUpAt - Date.now()) / 1000));
    $('status').textContent = `Connection lost, retrying… (giving up in ${left} s; the transfer resumes where it stopped)`;
  };
  show();
  countdown = setInterval(show, 1000);
}

// Sizes and times in the page's language (<html lang>), by Intl.
const LOCALE = document.documentElement.lang || undefined;
const unit = (u, n, digits) => new Intl.NumberFormat(LOCALE, { style: 'unit', unit: u, unitDisplay: 'short', maximumFractionDigits: digits }).format(n);

function formatBytes(n, suffix = '') {
  const units = ['byte', 'kilobyte', 'megabyte', 'gigabyte', 'terabyte'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return unit(units[i] + suffix, n, i === 0 ? 0 : n < 10 ? 1 : 0);
}

function formatEta(seconds) {
  if (seconds == null || !isFinite(seconds)) return 'estimating time left…';
  const s = Math.ceil(seconds);
  if (s < 60) return `${unit('second', s, 0)} left`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${unit('minute', m, 0)} ${unit('second', s % 60, 0)} left` : `${unit('hour', Math.floor(m / 60), 0)} ${unit('minute', m % 60, 0)} left`;
}

/**
 * The runtime words transfer errors for developers: "the other side reported: … (cancelled)".
 * Shown to a person: who reported it, as a sentence, without the code in brackets.
 */
function readable(message) {
  const m = /^(the other side reported: )?([\s\S]+?) \(([a-z_]+)\)$/.exec(message ?? '');
  if (!m) return message;
  const what = m[2].trim();
  const end = /[.!?]$/.test(what) ? '' : '.';
  if (m[1]) return `The ${role === 'sender' ? 'receiver' : 'sender'} reported: ${what}${end}`;
  return `${what.charAt(0).toUpperCase()}${what.slice(1)}${end}`;
}

function showError(error) {
  clearInterval(countdown);
  // A short code allows one try; the sender can offer the same files with a new code.
  $('new-code').hidden = !(offered && ['wrong_code', 'code_abandoned'].includes(error.code));
  const box = $('error');
  box.textContent = readable(error.message);
  box.dataset.code = error.code;
  box.dataset.reason = error.reason ?? '';
  lastError = error;
  box.hidden = false;
  $('status').textContent = '';
  $('cancel').hidden = true;
  $('close-link').hidden = true;
  // The link ended (cancelled, expired): so did every receiver still in.
  for (const r of receivers?.values() ?? []) {
    r.remove.hidden = true;
    if (r.state !== 'complete' && r.state !== 'stopped') r.phase.textContent = 'Stopped.';
  }
  $('send-more').hidden = role !== 'sender' || !offered;
  setState('error');
}

function showFiles(list) {
  files = list;
  fileBytes = list.map(() => 0);
  const ul = $('file-list');
  ul.replaceChildren(...list.map((f, i) => {
    const li = document.createElement('li');
    li.id = `file-${i}`;
    const name = document.createElement('div');
    name.className = 'name';
    name.textContent = f.path;
    const bar = document.createElement('progress');
    bar.max = Math.max(f.size, 1);
    bar.value = f.size === 0 ? 1 : 0;
    const meta = document.createElement('div');
    meta.className = 'meta';
    meta.textContent = formatBytes(f.size);
    li.append(name, bar, meta);
    return li;
  }));
  $('progress').hidden = false;
}

function showProgress(p) {
  const total = Math.max(p.totalBytes, 1);
  $('total-bar').value = p.verifiedBytes / total;
  const percent = ((100 * p.verifiedBytes) / total).toFixed(1);
  $('total-text').textContent =
    `${percent}% · ${formatBytes(p.verifiedBytes)} of ${formatBytes(p.totalBytes)} · ` +
    `${formatBytes(p.bytesPerSecond, '-per-second')} · ${formatEta(p.etaSeconds)}`;
  if (p.file != null && files[p.file]) {
    fileBytes[p.file] = p.fileBytes;
    const li = $(`file-${p.file}`);
    li.querySelector('progress').value = p.fileBytes;
    li.querySelector('.meta').textContent =
      `${formatBytes(p.fileBytes)} of ${formatBytes(files[p.file].size)} verified`;
  }
}

/** Why a receiver of several ended, for the sender's list (the others go on). */
const RECEIVER_REASON = {
  dropped: 'You removed this receiver.',
  connection_lost: 'The connection to this receiver was lost and could not be restored.',
};
const RECEIVER_PHASE = {
  connecting: 'Connecting…', connected: 'Connected.', transferring: 'Receiving…',
  reconnecting: 'Connection lost, retrying…', complete: 'Done: every file arrived and was verified.',
};

/** The row of receiver `k`, made by the first event about it. */
function receiverRow(k) {
  let r = receivers.get(k);
  if (r) return r;
  const li = document.createElement('li');
  li.dataset.receiver = String(k);
  const name = document.createElement('div');
  name.className = 'name';
  name.textContent = `Receiver ${k}`;
  const phase = document.createElement('div');
  const bar = document.createElement('progress');
  bar.max = 1;
  bar.value = 0;
  bar.setAttribute('aria-label', `Progress of receiver ${k}`);
  const meta = document.createElement('div');
  meta.className = 'meta';
  const words = document.createElement('div');
  words.className = 'meta';
  const reason = document.createElement('div');
  reason.className = 'reason';
  const remove = document.createElement('button');
  remove.type = 'button';
  remove.textContent = 'Remove';
  remove.setAttribute('aria-label', `Remove receiver ${k}`);
  remove.addEventListener('click', () => handle?.dropReceiver(k));
  li.append(name, phase, bar, meta, words, reason, remove);
  $('receiver-list').append(li);
  r = { li, name, phase, bar, meta, words, reason, remove, state: 'connecting' };
  receivers.set(k, r);
  return r;
}

/** One line for the live region: it changes when someone joins or ends, never with progress. */
function showReceiverSummary() {
  const all = [...receivers.values()];
  const count = (f) => all.filter(f).length;
  const ended = (r) => r.state === 'complete' || r.state === 'stopped';
  const parts = [
    [count((r) => !ended(r)), 'receiving'], [count((r) => r.state === 'complete'), 'done'], [count((r) => r.state === 'stopped'), 'stopped'],
  ].filter(([n]) => n > 0).map(([n, what]) => `${n} ${what}`);
  $('receivers-summary').textContent = all.length === 0
    ? 'Nobody has opened the link yet.'
    : `${all.length} opened the link: ${parts.join(', ')}.`;
}

/** An event about one receiver of several: only its row changes. */
function onReceiverEvent(event) {
  const r = receiverRow(event.receiver);
  const before = r.state;
  switch (event.type) {
    case 'status':
      r.state = event.phase;
      r.phase.textContent = RECEIVER_PHASE[event.phase] ?? event.phase;
      r.reason.textContent = '';
      r.remove.hidden = event.phase === 'complete';
      if (event.label) {
        r.name.textContent = event.label;
        r.bar.setAttribute('aria-label', `Progress of ${event.label}`);
        r.remove.setAttribute('aria-label', `Remove ${event.label}`);
      }
      if (event.verification) r.words.textContent = `Their words: ${event.verification}`;
      break;
    case 'progress': {
      const total = Math.max(event.totalBytes, 1);
      r.bar.value = event.verifiedBytes / total;
      r.phase.textContent = RECEIVER_PHASE.transferring;
      r.meta.textContent = `${((100 * event.verifiedBytes) / total).toFixed(1)}% · ${formatBytes(event.verifiedBytes)} of ${formatBytes(event.totalBytes)} · ` +
        `${formatBytes(event.bytesPerSecond, '-per-second')} · ${formatEta(event.etaSeconds)}`;
      break;
    }
    case 'complete':
      r.state = 'complete';
      r.bar.value = 1;
      r.phase.textContent = RECEIVER_PHASE.complete;
      r.meta.textContent = `${formatBytes(files.reduce((sum, f) => sum + f.size, 0))} · verified`;
      r.remove.hidden = true;
      break;
    case 'error':
      r.state = 'stopped';
      r.phase.textContent = 'Stopped.';
      r.reason.textContent = RECEIVER_REASON[event.code] ?? readable(event.message);
      r.li.dataset.code = event.code;
      r.remove.hidden = true;
      break;
  }
  if (r.state !== before) showReceiverSummary();
}

function onEvent(event) {
  if (receivers && event.receiver != null) {
    onReceiverEvent(event);
    return;
  }
  switch (event.type) {
    case 'room':
      $('share-hint').textContent = `Up to ${event.receivers} people can open this link at the same time. Keep this page open until they are done.`;
      showReceiverSummary();
      break;
    case 'linkClosed':
      $('close-link').hidden = true;
      $('link-closed').hidden = false;
      break;
    case 'status':
      clearInterval(countdown);
      $('status').textContent = (receivers && ROOM_STATUS_TEXT[event.phase]) || (STATUS_TEXT[event.phase] ?? event.phase);
      if (event.phase === 'reconnecting' && event.giveUpInMs != null) showRetrying(event.giveUpInMs);
      if (event.phase === 'connected' && event.verification) {
        $('verification-words').textContent = event.verification;
        $('verification').hidden = false;
      }
      if (event.phase === 'connected' && event.path) {
        document.body.dataset.path = event.path;
        $('status').textContent += event.path === 'relay' ? ' (through a relay server)' : ' (peer to peer)';
      }
      setState(event.phase);
      break;
    case 'network':
      // Without STUN or TURN only devices that reach each other directly can connect.
      $('network-note').hidden = event.source !== 'none';
      break;
    case 'code':
      $('code-text').textContent = event.code;
      $('share-code').hidden = false;
      break;
    case 'offer':
      showOffer(event);
      break;
    case 'accepted':
      $('offer-actions').hidden = true;
      document.body.dataset.resumedBytes = String(event.resumedBytes);
      document.body.dataset.sink = event.sink;
      $('offer-text').textContent = {
        pick: 'Saving into the place you picked.',
        download: 'Each file goes to your downloads as it arrives. Keep this page open: a reload cannot resume this transfer.',
      }[event.sink] ?? 'Receiving into this browser; save each file when it is verified.';
      break;
    case 'signalingWarning':
      document.body.dataset.signalingWarnings = String(Number(document.body.dataset.signalingWarnings ?? 0) + 1);
      break;
    case 'disconnected':
      $('status').textContent = event.message;
      break;
    case 'pickCancelled':
      $('status').textContent = 'No place was picked. Choose again, or receive into the browser.';
      break;
    case 'progress':
      showProgress(event);
      break;
    case 'stalled':
      $('status').textContent = `No progress for ${Math.round(event.idleMs / 1000)} s: ` +
        (event.message ?? 'still trying') + '.';
      document.body.dataset.stalled = event.diagnosis ?? 'unknown';
      break;
    case 'blockRejected':
      document.body.dataset.rejectedBlocks = String(Number(document.body.dataset.rejectedBlocks ?? 0) + 1);
      $('status').textContent = 'A damaged block arrived; it was discarded and is being sent again.';
      break;
    case 'file':
      offerDownload(event);
      break;
    case 'complete':
      $('cancel').hidden = true;
      $('close-link').hidden = true;
      // A link for several ends with its room: nobody else can open it now.
      if (receivers) $('share').hidden = true;
      $('send-more').hidden = role !== 'sender';
      break;
    case 'error':
      showError(event);
      break;
  }
}

function showOffer(event) {
  showFiles(event.files);
  const count = event.files.length;
  $('offer-text').textContent =
    `The sender offers ${count} file${count === 1 ? '' : 's'} (${formatBytes(event.totalBytes)}).`;
  $('accept-pick').hidden = !event.canPick;
  $('offer-actions').hidden = false;
  setState('offered');
}

function offerDownload(event) {
  const li = $(`file-${event.index}`);
  if (event.saved) {
    const where = document.body.dataset.sink === 'download' ? 'in your downloads' : 'saved';
    li.querySelector('.meta').textContent = `${formatBytes(event.size)} · verified and ${where}`;
    li.querySelector('progress').value = li.querySelector('progress').max;
    return;
  }
  const url = URL.createObjectURL(event.blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = event.path.split('/').pop();
  a.textContent = 'Save';
  a.className = 'save';
  const meta = li.querySelector('.meta');
  meta.textContent = `${formatBytes(event.size)} · verified`;
  if (event.digest) {
    // Over the file's block digests: not what sha256sum prints (the note under the list says how to check that).
    const digest = document.createElement('span');
    digest.className = 'digest';
    digest.title = 'Computed over the file’s block digests, so it differs from the file’s SHA-256. Both screens show the same PeerDrop digest for the same file.';
    digest.textContent = ` · PeerDrop digest ${event.digest.slice(0, 16)}…`;
    meta.append(digest);
    $('digest-note').hidden = false;
  }
  li.querySelector('progress').value = li.querySelector('progress').max;
  li.append(' ', a);
  if (files.length === 1) a.click();
}

function startSending(picked) {
  if (!picked || picked.length === 0) {
    showError({ code: 'no_files', message: 'No file was picked. Choose one or more files to send.' });
    return;
  }
  $('error').hidden = true;
  $('new-code').hidden = true;
  const shortCode = $('use-code').checked;
  // A short code always means one receiver; 1 keeps the options exactly as for one.
  const count = shortCode || !$('several').checked ? 1 : Math.min(32, Math.max(2, Math.floor(Number($('receivers').value)) || 8));
  receivers = count > 1 ? new Map() : null;
  try {
    handle = send(picked, { signalUrl: SIGNAL_URL, onEvent, shortCode, ...(count > 1 ? { receivers: count } : {}) });
  } catch (e) {
    showError(e);
    return;
  }
  offered = picked;
  showFiles(handle.files);
  if (receivers) {
    // No progress of its own: each receiver's is in its row.
    $('progress').querySelector('.total').hidden = true;
    $('file-list').hidden = true;
    $('cancel').textContent = 'Stop for everyone';
    $('receiver-list').replaceChildren();
    $('receivers-summary').textContent = '';
    $('close-link').hidden = false;
    $('link-closed').hidden = true;
    $('receivers-view').hidden = false;
  }
  if (shortCode) {
    // Shown by the "code" event, once the receiver can use it.
    $('code-text').textContent = '';
  } else {
    $('share-link').value = handle.link;
    $('share-link-text').href = handle.link;
    $('share-link-text').textContent = handle.link;
    // Drawn here from the link alone (no request anywhere); a data: image fits the page's CSP.
    $('share-qr').src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(renderSVG(handle.link, { ecc: 'L', border: 2 }))}`;
    $('share').hidden = false;
  }
  for (const id of ['file-input', 'folder-input', 'use-code', 'several', 'receivers']) $(id).disabled = true;
  $('drop-zone').hidden = true;
  $('code-option').hidden = true;
  $('receivers-option').hidden = true;
  $('code-form').hidden = true;
}

/** Back to picking files after a transfer ended. */
function sendMore() {
  handle = null;
  offered = null;
  receivers = null;
  for (const id of ['share', 'share-code', 'progress', 'error', 'verification', 'network-note', 'new-code', 'send-more', 'digest-note', 'receivers-view']) $(id).hidden = true;
  for (const id of ['file-input', 'folder-input', 'use-code', 'several', 'receivers']) $(id).disabled = false;
  $('progress').querySelector('.total').hidden = false;
  $('file-list').hidden = false;
  $('cancel').textContent = 'Cancel';
  $('share-hint').textContent = 'Open this link in the other browser. Keep this page open until the transfer completes.';
  $('receivers-option').hidden = false;
  showCodeOrMany();
  $('file-input').value = '';
  $('folder-input').value = '';
  $('cancel').hidden = false;
  $('drop-zone').hidden = false;
  $('code-option').hidden = false;
  $('code-form').hidden = false;
  $('status').textContent = '';
  setState('ready');
}

function startReceiving(linkOrCode) {
  role = 'receiver';
  $('error').hidden = true;
  $('send-view').hidden = true;
  $('receive-view').hidden = false;
  try {
    handle = receive(linkOrCode, { signalUrl: SIGNAL_URL, onEvent, autoAccept: false, serviceWorker: SERVICE_WORKER_URL, sink: SINK });
  } catch (e) {
    showError(e);
  }
}

/** A short code means one receiver: the two choices exclude each other. */
function showCodeOrMany() {
  $('several').disabled = $('use-code').checked;
  $('use-code').disabled = $('several').checked;
  $('receivers-count').hidden = !$('several').checked;
}

async function showDiagnosis() {
  const d = handle ? await handle.diagnose() : null;
  // A connection that failed is gone; what ICE knew then came with the error.
  if (d && !d.connection && lastError?.ice) d.failedConnection = { reason: lastError.reason, ice: lastError.ice };
  $('diagnosis').textContent = d ? JSON.stringify(d, null, 2) : 'Not connected yet.';
}

async function main() {
  // A link pasted into this tab later (same page, new fragment) starts receiving.
  addEventListener('hashchange', () => { if (location.hash.length > 1) location.reload(); });
  await init();
  const fragment = location.hash.slice(1);
  $('cancel').addEventListener('click', () => handle?.cancel());
  $('send-more').addEventListener('click', sendMore);
  $('accept').addEventListener('click', () => handle?.accept());
  $('accept-pick').addEventListener('click', () => handle?.accept({ pick: true }));
  $('diagnose').addEventListener('click', showDiagnosis);
  $('diagnostics').addEventListener('toggle', () => { if ($('diagnostics').open) showDiagnosis(); });
  if (fragment) {
    const link = location.href;
    // The secret stays out of the address bar, history and screenshots once read.
    history.replaceState(null, '', location.pathname);
    startReceiving(link);
    return;
  }
  $('send-view').hidden = false;
  $('use-code').addEventListener('change', showCodeOrMany);
  $('several').addEventListener('change', showCodeOrMany);
  $('close-link').addEventListener('click', () => handle?.closeLink());
  for (const id of ['file-input', 'folder-input']) {
    const input = $(id);
    input.addEventListener('change', () => startSending(input.files));
    input.addEventListener('cancel', () =>
      showError({ code: 'no_files', message: 'No file was picked. Choose one or more files to send.' }));
  }
  const zone = $('drop-zone');
  zone.addEventListener('dragover', (e) => { e.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    if (handle) return;
    itemsFromDrop(e.dataTransfer).then(startSending, (err) =>
      showError({ code: 'no_files', message: `The dropped items could not be read: ${err.message ?? err}` }));
  });
  $('code-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const code = $('code-input').value.trim();
    if (code) startReceiving(code);
  });
  $('new-code').addEventListener('click', () => {
    $('share-code').hidden = true;
    startSending(offered);
  });
  $('copy-link').addEventListener('click', async () => {
    await navigator.clipboard.writeText($('share-link').value);
    $('copy-link').textContent = 'Copied';
  });
  setState('ready');
}

main().catch((e) => showError({ code: 'load_failed', message: `PeerDrop could not start: ${e.message ?? e}` }));
