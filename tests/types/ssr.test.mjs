// Server-side rendering imports the package in Node, where there is no window, no
// RTCPeerConnection and no storage: importing must not touch any of them.
import { test } from 'node:test';
import assert from 'node:assert/strict';

test('importing pkg/ in Node touches no browser global', async () => {
  for (const name of ['window', 'document', 'RTCPeerConnection', 'navigator', 'sessionStorage']) {
    assert.equal(typeof globalThis[name] === 'undefined' || name === 'navigator', true, `${name} must be absent here`);
  }
  const mod = await import('../../pkg/peerdrop.js');
  assert.equal(typeof mod.send, 'function');
  assert.equal(typeof mod.receive, 'function');
  assert.equal(typeof mod.default, 'function', 'init is exported and not run at import');
});
