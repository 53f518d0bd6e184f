// Streaming received files straight to a place the person picked, through the File System
// Access API (Chromium). Writes land in the browser's swap file on disk, so memory stays flat;
// each file is committed when its last block is stored.

/** True where the save and directory pickers exist. */
export function fsAccessSupported() {
  return typeof window !== 'undefined' && typeof window.showSaveFilePicker === 'function' &&
    typeof window.showDirectoryPicker === 'function';
}

/**
 * Asks the person where to save: a save dialog for one file, a folder picker for several.
 * Must be called from a click (or other user activation), before any other await.
 */
export function pickTarget(files) {
  if (files.length === 1 && !files[0].path.includes('/')) {
    return window.showSaveFilePicker({ suggestedName: files[0].path }).then((handle) => ({ file: handle }));
  }
  return window.showDirectoryPicker({ mode: 'readwrite' }).then((handle) => ({ dir: handle }));
}

async function fileHandleFor(target, path) {
  if (target.file) return target.file;
  const parts = path.split('/');
  let dir = target.dir;
  for (const part of parts.slice(0, -1)) dir = await dir.getDirectoryHandle(part, { create: true });
  return dir.getFileHandle(parts[parts.length - 1], { create: true });
}

/** Open writable streams for a transfer's files at the picked target. */
export class PickedTarget {
  constructor(target, files) {
    this.target = target;
    this.files = files;
    this.writables = new Map();
  }

  // Writes of one file's blocks arrive concurrently: the promise is cached at once so they all
  // share one stream (two streams for one file would each commit only part of it).
  writable(file) {
    let w = this.writables.get(file);
    if (!w) {
      w = fileHandleFor(this.target, this.files[file].path).then((handle) => handle.createWritable());
      this.writables.set(file, w);
    }
    return w;
  }

  async write(file, offset, data) {
    const w = await this.writable(file);
    await w.write({ type: 'write', position: offset, data });
  }

  /** Commits a finished file (an empty file is created too). */
  async finishFile(file) {
    const w = await this.writable(file);
    await w.close();
    this.writables.delete(file);
  }

  /** Drops unfinished files' partial data. */
  async abort() {
    for (const w of this.writables.values()) await w.then((s) => s.abort()).catch(() => {});
    this.writables.clear();
  }
}
