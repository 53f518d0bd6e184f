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

let handle = null;
/** The last error, whose `ice` facts the diagnostics panel shows once the connection is gone. */
let lastError = null;
/** What was last offered, so a used-up short code can be replaced with a new one. */
let offered = null;
let files = [];
let fileBytes = [];
/** 'sender' or 'receiver': errors from the other side are worded for this one. */
let role = 'sender';

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

function onEvent(event) {
  switch (event.type) {
    case 'status':
      clearInterval(countdown);
      $('status').textContent = STATUS_TEXT[event.phase] ?? event.phase;
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
  try {
    handle = send(picked, { signalUrl: SIGNAL_URL, onEvent, shortCode });
  } catch (e) {
    showError(e);
    return;
  }
  offered = picked;
  showFiles(handle.files);
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
  for (const id of ['file-input', 'folder-input', 'use-code']) $(id).disabled = true;
  $('drop-zone').hidden = true;
  $('code-option').hidden = true;
  $('code-form').hidden = true;
}

/** Back to picking files after a transfer ended. */
function sendMore() {
  handle = null;
  offered = null;
  for (const id of ['share', 'share-code', 'progress', 'error', 'verification', 'network-note', 'new-code', 'send-more', 'digest-note']) $(id).hidden = true;
  for (const id of ['file-input', 'folder-input', 'use-code']) $(id).disabled = false;
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
