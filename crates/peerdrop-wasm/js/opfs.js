// Resumable staging of received files in the origin-private file system (OPFS).
//
// Writes go through synchronous access handles, which exist only in dedicated workers, and
// which write in place: a block written and flushed survives a reload or a crash, unlike a
// writable stream whose swap file is dropped unless closed. This one file is both the
// main-thread API (imported by the wasm glue) and the worker (started from its own URL), so
// the package ships a single snippet with no bundler configuration.

const IN_WORKER = typeof WorkerGlobalScope !== 'undefined' && self instanceof WorkerGlobalScope;
const ROOT = 'peerdrop-staging';
const META = 'have-map';

if (IN_WORKER) {
  let dir = null;
  const handles = new Map();
  let meta = null;

  async function open({ name, files }) {
    if (typeof FileSystemFileHandle === 'undefined' || !('createSyncAccessHandle' in FileSystemFileHandle.prototype)) {
      throw Object.assign(new Error('this browser has no synchronous file access in workers'), { name: 'NotSupportedError' });
    }
    const root = await navigator.storage.getDirectory();
    const staging = await root.getDirectoryHandle(ROOT, { create: true });
    dir = await staging.getDirectoryHandle(name, { create: true });
    const metaFile = await dir.getFileHandle(META, { create: true });
    meta = await metaFile.createSyncAccessHandle();
    const size = meta.getSize();
    const saved = new Uint8Array(size);
    if (size > 0) meta.read(saved, { at: 0 });
    for (let i = 0; i < files.length; i++) {
      const file = await dir.getFileHandle(`file-${i}`, { create: true });
      const handle = await file.createSyncAccessHandle();
      // Reserving the full size up front turns "no space left" into an error before any
      // byte is transferred instead of a failure half way.
      if (handle.getSize() !== files[i].size) handle.truncate(files[i].size);
      handles.set(i, handle);
    }
    return size > 0 ? saved : null;
  }

  function write({ file, offset, data }) {
    const handle = handles.get(file);
    let done = 0;
    while (done < data.byteLength) {
      done += handle.write(data.subarray(done), { at: offset + done });
    }
  }

  // Writes land in the file at once (a reload or a tab crash keeps them); flush() makes them
  // survive a crash of the whole machine too. The map is written after every block, and with
  // `flush` the data is flushed before the map, so a flushed map never lists unflushed bytes.
  function saveMeta({ data, flush }) {
    if (flush) for (const h of handles.values()) h.flush();
    meta.truncate(0);
    meta.write(data, { at: 0 });
    if (flush) meta.flush();
  }

  function finishFile({ file }) {
    const handle = handles.get(file);
    if (handle) {
      handle.flush();
      handle.close();
      handles.delete(file);
    }
  }

  function close() {
    for (const h of handles.values()) h.close();
    handles.clear();
    if (meta) meta.close();
    meta = null;
  }

  const ops = { open, write, saveMeta, finishFile, close };
  self.onmessage = async (event) => {
    const { id, op, args } = event.data;
    try {
      const result = await ops[op](args);
      self.postMessage({ id, ok: true, result });
    } catch (e) {
      self.postMessage({ id, ok: false, name: e?.name ?? 'Error', message: String(e?.message ?? e) });
    }
  };
}

/**
 * True where OPFS and workers exist. Synchronous access handles are exposed only inside
 * dedicated workers, so they cannot be detected here; `open` fails with `NotSupportedError`
 * where they are missing, and the caller falls back.
 */
export function opfsSupported() {
  return typeof navigator !== 'undefined' && !!navigator.storage?.getDirectory && typeof Worker !== 'undefined';
}

/**
 * A staging area for one transfer: `name` is the transfer id in hex. `workerUrl` is where this
 * file is served when a bundler moved it (Vite 7 pre-bundling serves `import.meta.url` from a
 * directory where it is not); by default it is loaded from beside itself.
 */
export class OpfsStaging {
  constructor(name, workerUrl) {
    this.name = name;
    // The default keeps `new URL(..., import.meta.url)` literally inside `new Worker(...)`: the
    // pattern bundlers recognise to emit the worker file.
    this.worker = workerUrl
      ? new Worker(workerUrl, { type: 'module' })
      : new Worker(new URL('./opfs.js', import.meta.url), { type: 'module' });
    const url = workerUrl || 'beside the runtime (opfs.js)';
    this.next = 1;
    this.pending = new Map();
    // A worker script that fails to load reports it once, maybe before the first call: every
    // call after that fails with the same error instead of waiting for an answer forever.
    this.failed = null;
    this.worker.onmessage = (event) => {
      const { id, ok, result, name, message } = event.data;
      const p = this.pending.get(id);
      this.pending.delete(id);
      if (!p) return;
      if (ok) p.resolve(result);
      else p.reject(Object.assign(new Error(message), { name }));
    };
    this.worker.onerror = (event) => {
      const why = event.message || `its script could not be loaded from ${url}`;
      const error = new Error(`the storage worker failed: ${why}`);
      this.failed = error;
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
    };
  }

  call(op, args, transfer = []) {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, op, args }, transfer);
    });
  }

  /** Opens (or reopens) the staging files; resolves to the saved have-map bytes or null. */
  open(files) {
    return this.call('open', { name: this.name, files });
  }

  /** Writes verified bytes at `offset` of file `file`; the bytes are moved, not copied. */
  write(file, offset, data) {
    return this.call('write', { file, offset, data }, [data.buffer]);
  }

  /** Saves the have-map; its bytes are moved, not copied. */
  saveMeta(data, flush) {
    return this.call('saveMeta', { data, flush }, [data.buffer]);
  }

  finishFile(file) {
    return this.call('finishFile', { file });
  }

  /** The finished file as a disk-backed `File` (no copy in memory). */
  async getFile(file, name, type) {
    const root = await navigator.storage.getDirectory();
    const staging = await root.getDirectoryHandle(ROOT);
    const dir = await staging.getDirectoryHandle(this.name);
    const handle = await dir.getFileHandle(`file-${file}`);
    const blob = await handle.getFile();
    return new File([blob], name, { type });
  }

  async close() {
    try { await this.call('close', {}); } finally { this.worker.terminate(); }
  }

  /** Deletes this transfer's staged bytes. */
  async remove() {
    const root = await navigator.storage.getDirectory();
    const staging = await root.getDirectoryHandle(ROOT, { create: true });
    await staging.removeEntry(this.name, { recursive: true }).catch(() => {});
  }
}

/** Bytes the origin may still store, or null where the browser does not say. */
export async function storageAvailable() {
  if (!navigator.storage?.estimate) return null;
  const { quota, usage } = await navigator.storage.estimate();
  return quota == null ? null : Math.max(0, quota - (usage ?? 0));
}

/** Removes staged transfers other than `keep` (their links were not reopened). */
export async function pruneStaging(keep) {
  const root = await navigator.storage.getDirectory();
  const staging = await root.getDirectoryHandle(ROOT, { create: true });
  for await (const name of staging.keys()) {
    if (name !== keep) await staging.removeEntry(name, { recursive: true }).catch(() => {});
  }
}
