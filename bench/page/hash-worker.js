// SHA-256 off the page's main thread, for the bench's "hashing in a worker" reference: each
// buffer comes in transferred and goes back transferred, with the WebCrypto digest of the
// view `[byteOffset, byteOffset + length)` of it.
onmessage = async (e) => {
  const { id, buffer, byteOffset, length } = e.data;
  const digest = await crypto.subtle.digest('SHA-256', new Uint8Array(buffer, byteOffset, length));
  postMessage({ id, buffer, digest }, [buffer]);
};
