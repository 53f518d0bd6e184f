// SHA-256 off the page's main thread, for the bench's "hashing in a worker" reference: each
// buffer comes in transferred and goes back transferred, with its WebCrypto digest.
onmessage = async (e) => {
  const digest = await crypto.subtle.digest('SHA-256', e.data.buffer);
  postMessage({ id: e.data.id, buffer: e.data.buffer, digest }, [e.data.buffer]);
};
