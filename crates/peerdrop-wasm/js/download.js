// The page side of the service-worker download sink: each received file becomes a browser
// download whose bytes the service worker (peerdrop-sw.js) pulls from this page chunk by
// chunk, so memory stays flat where neither OPFS nor File System Access exists.
//
// A download is a stream: bytes leave in file order. Blocks arrive in order except a block
// fetched again after failing its check, which the sender serves after everything already
// requested; see FileFeed for how that is held without stalling the transfer.
//
// Nothing here runs at import time (server-side rendering imports the package).

/**
 * How often the page shows the worker it is alive: a message event keeps an idle worker from
 * being stopped (after 30 s), and a ping on each file's channel tells its stream that a pull
 * left unanswered is waiting for bytes, not for a page that is gone.
 */
const KEEPALIVE_MS = 10000;
/** How long the worker and the browser may take to request a download once it is opened. */
const START_TIMEOUT_MS = 30000;
/**
 * How long a finished file's frame stays: Firefox drops a download whose frame is removed
 * before the download is set up, which an empty file reaches at once.
 */
const FRAME_LINGER_MS = 10000;

function error(name, message) {
  return Object.assign(new Error(message), { name });
}

/** True where a page can register a service worker and stream a response from it. */
export function downloadSupported() {
  return typeof navigator !== 'undefined' && !!navigator.serviceWorker &&
    typeof document !== 'undefined' && typeof ReadableStream !== 'undefined';
}

/**
 * Registers the worker at `workerUrl` and resolves to a DownloadTarget for `files`
 * ([{path, size}]). `holdLimit` bounds the bytes kept while a refetched block is awaited.
 */
export async function openDownloads(workerUrl, files, holdLimit) {
  if (!downloadSupported()) {
    throw error('DownloadUnsupported', 'this browser cannot stream downloads here (it offers no service workers to this page)');
  }
  const script = new URL(workerUrl, location.href);
  const scope = new URL('peerdrop-download/', script);
  let registration;
  try {
    // updateViaCache 'none': a new version of the worker is picked up at the next visit.
    registration = await navigator.serviceWorker.register(script.href, { scope: scope.href, updateViaCache: 'none' });
  } catch (e) {
    throw error('DownloadUnavailable', `the site's download service worker (${script.href}) could not be started: ${e?.message ?? e}`);
  }
  const worker = await activated(registration, script.href);
  return new DownloadTarget(worker, scope.href, files, holdLimit);
}

/** How long a newly registered download worker may take to activate. */
const ACTIVATE_TIMEOUT_MS = 10000;

function activated(registration, href) {
  const worker = registration.installing ?? registration.waiting ?? registration.active;
  if (worker.state === 'activated') return worker;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(error('DownloadUnavailable', `the site's download service worker (${href}) did not start within ${ACTIVATE_TIMEOUT_MS / 1000} s`)), ACTIVATE_TIMEOUT_MS);
    worker.addEventListener('statechange', () => {
      if (worker.state === 'activated') {
        clearTimeout(timer);
        resolve(worker);
      } else if (worker.state === 'redundant') {
        clearTimeout(timer);
        reject(error('DownloadUnavailable', `the site's download service worker (${href}) failed to install`));
      }
    });
  });
}

/** 128 random bits, base64url: names one download and nothing else. */
function randomId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** One transfer's downloads: a FileFeed and a hidden frame per file, opened at its first write. */
export class DownloadTarget {
  constructor(worker, scope, files, holdLimit) {
    this.worker = worker;
    this.scope = scope;
    this.files = files;
    this.budget = { held: 0, limit: holdLimit };
    this.feeds = new Map();
    this.keepalive = setInterval(() => {
      this.worker.postMessage({ type: 'peerdrop-keepalive' });
      for (const feed of this.feeds.values()) feed.ping();
    }, KEEPALIVE_MS);
  }

  feed(file) {
    let feed = this.feeds.get(file);
    if (!feed) {
      feed = this.start(file);
      this.feeds.set(file, feed);
    }
    return feed;
  }

  start(file) {
    const { path, size } = this.files[file];
    const name = path.split('/').pop();
    const id = randomId();
    const channel = new MessageChannel();
    const feed = new FileFeed(channel.port1, { name, size, budget: this.budget });
    this.worker.postMessage({ type: 'peerdrop-download', id, name, size }, [channel.port2]);
    // Armed now: a worker that never acknowledges must not leave the file waiting forever.
    feed.expectStart(START_TIMEOUT_MS);
    feed.registered.then(() => {
      // A navigation, unlike a fetch or <a download>, goes to the worker whose scope holds
      // the URL even though this page is not controlled by it.
      const frame = document.createElement('iframe');
      frame.hidden = true;
      frame.src = this.scope + id;
      document.body.append(frame);
      feed.frame = frame;
    }, () => {});
    return feed;
  }

  /** Hands verified bytes at `offset` of `file` over; resolves once the download took them. */
  write(file, offset, data) {
    return this.feed(file).write(offset, data);
  }

  /** Ends a finished file's download (an empty file is downloaded too). */
  async finishFile(file) {
    const feed = this.feed(file);
    await feed.finish();
    this.feeds.delete(file);
    // The browser has taken every byte; the frame only had to start the download.
    setTimeout(() => feed.frame?.remove(), FRAME_LINGER_MS);
  }

  /** Stops the keepalive; on failure, unfinished downloads end as failed in the browser. */
  close(failed) {
    clearInterval(this.keepalive);
    for (const feed of this.feeds.values()) {
      feed.abort(failed ? 'the transfer failed' : 'the transfer stopped');
      feed.frame?.remove();
    }
    this.feeds.clear();
  }
}

/**
 * One file's bytes on their way to the service worker's stream over `port`, in file order.
 *
 * A block at the end of the bytes received so far is handed over when the worker pulls for
 * it, and only then does its write resolve: that is the backpressure reaching the engine,
 * whose credit window bounds these blocks. A block past a gap (the missing block failed its
 * check and was asked for again) resolves at once and waits here: the sender serves the
 * refetch after everything already requested, so holding those writes would stop the credit
 * it needs. Such held bytes count against `budget` (shared by a transfer's files); past its
 * limit the file fails with a message instead of growing memory.
 */
export class FileFeed {
  constructor(port, { name, size, budget }) {
    this.port = port;
    this.name = name;
    this.size = size;
    this.budget = budget;
    /** Blocks not yet handed over, by offset: {data, held, resolve, reject}. */
    this.blocks = new Map();
    /** Offset of the next byte the stream takes. */
    this.next = 0;
    /** End of the bytes received without a gap from `next`. */
    this.contiguous = 0;
    this.pulled = false;
    this.started = false;
    this.failure = null;
    this.ending = null;
    /** The hidden frame that opened the download, once it exists. */
    this.frame = null;
    this.registered = new Promise((resolve, reject) => { this.onRegistered = { resolve, reject }; });
    this.registered.catch(() => {});
    this.port.onmessage = ({ data }) => this.onMessage(data);
  }

  onMessage(msg) {
    if (this.failure) return;
    switch (msg.type) {
      case 'registered':
        this.onRegistered.resolve();
        break;
      case 'started':
        this.started = true;
        clearTimeout(this.startTimer);
        break;
      case 'pull':
        this.pulled = true;
        this.flush();
        break;
      case 'cancel':
        this.fail(error('DownloadCancelled', `the download of “${this.name}” was cancelled in the browser, so the transfer stopped`), false);
        break;
    }
  }

  /** Fails the file unless the browser requests its download within `ms`. */
  expectStart(ms) {
    if (this.started || this.failure) return;
    this.startTimer = setTimeout(() => {
      if (!this.started) {
        this.fail(error('DownloadNotStarted', `the browser did not start the download of “${this.name}”; allow this site to download files (with several files the browser may ask once), then try again`), true);
      }
    }, ms);
  }

  write(offset, data) {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const block = { data, held: offset !== this.contiguous, resolve, reject };
      if (block.held && this.budget.held + data.byteLength > this.budget.limit) {
        const limit = `${Math.round(this.budget.limit / 1048576)} MiB`;
        this.fail(error('DownloadHoldLimit', `a damaged block of “${this.name}” had to be fetched again, and holding what arrived meanwhile would take more than the ${limit} of memory allowed (downloads are written in order); try again`), true);
        reject(this.failure);
        return;
      }
      this.blocks.set(offset, block);
      if (block.held) {
        this.budget.held += data.byteLength;
        resolve();
      } else {
        // Extends the run, through blocks that were waiting past the gap this one filled.
        this.contiguous += data.byteLength;
        while (this.blocks.has(this.contiguous)) this.contiguous += this.blocks.get(this.contiguous).data.byteLength;
      }
      this.flush();
    });
  }

  /** Resolves once the stream has taken every byte and was told the file ended. */
  finish() {
    if (this.failure) return Promise.reject(this.failure);
    this.ending ??= new Promise((resolve, reject) => { this.onEnded = { resolve, reject }; });
    this.flush();
    return this.ending;
  }

  /** Answers a pending pull with the next chunk in order, or with the end once all is sent. */
  flush() {
    if (!this.pulled || this.failure) return;
    const block = this.blocks.get(this.next);
    if (block) {
      this.pulled = false;
      this.blocks.delete(this.next);
      this.next += block.data.byteLength;
      if (block.held) this.budget.held -= block.data.byteLength;
      // The bytes move to the worker; this page keeps no copy.
      this.port.postMessage({ type: 'chunk', data: block.data }, [block.data.buffer]);
      block.resolve();
    } else if (this.ending && this.next >= this.size) {
      this.pulled = false;
      this.port.postMessage({ type: 'end' });
      this.port.close();
      this.onEnded.resolve();
    }
  }

  ping() {
    if (!this.failure) this.port.postMessage({ type: 'ping' });
  }

  /** Ends the download as failed in the browser (the transfer stopped). */
  abort(message) {
    this.fail(error('DownloadAborted', message), true);
  }

  fail(reason, tellWorker) {
    if (this.failure) return;
    this.failure = reason;
    clearTimeout(this.startTimer);
    if (tellWorker) this.port.postMessage({ type: 'abort', message: reason.message });
    this.port.close();
    for (const block of this.blocks.values()) {
      if (block.held) this.budget.held -= block.data.byteLength;
      else block.reject(reason);
    }
    this.blocks.clear();
    this.onRegistered.reject(reason);
    this.onEnded?.reject(reason);
  }
}
