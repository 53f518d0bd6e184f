// Turning a drop (files and whole folders) into [{ file, path }] with relative paths.
// Folder entries are read through the File and Directory Entries API, which every current
// browser supports for drops; `readEntries` returns at most 100 entries per call.

function readAll(reader) {
  return new Promise((resolve, reject) => {
    const out = [];
    const next = () => reader.readEntries((batch) => {
      if (batch.length === 0) resolve(out);
      else { out.push(...batch); next(); }
    }, reject);
    next();
  });
}

function fileOf(entry) {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

async function walk(entry, prefix, out) {
  const path = prefix ? `${prefix}/${entry.name}` : entry.name;
  if (entry.isFile) {
    out.push({ file: await fileOf(entry), path });
  } else if (entry.isDirectory) {
    for (const child of await readAll(entry.createReader())) await walk(child, path, out);
  }
}

/** Every file in a `DataTransfer` from a drop, folders expanded, with relative paths. */
export async function itemsFromDataTransfer(dataTransfer) {
  const entries = [];
  for (const item of dataTransfer.items ?? []) {
    if (item.kind !== 'file') continue;
    const entry = item.webkitGetAsEntry?.();
    if (entry) entries.push(entry);
    else { const f = item.getAsFile(); if (f) entries.push({ isFile: true, name: f.name, file: (ok) => ok(f) }); }
  }
  // Entries must be taken synchronously during the drop event; reading them may then await.
  const out = [];
  for (const entry of entries) await walk(entry, '', out);
  return out;
}
