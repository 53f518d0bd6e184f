// Compiled with `tsc --noEmit --strict` against the generated pkg/peerdrop.d.ts: the published
// types must accept the documented usage and reject misuse (the @ts-expect-error lines).
import init, { send, receive, itemsFromDrop, type PeerDropEvent, type Diagnosis, type SendItem } from '../../pkg/peerdrop.js';

export async function example(input: HTMLInputElement, drop: DataTransfer): Promise<void> {
  await init();
  const onEvent = (e: PeerDropEvent): void => {
    switch (e.type) {
      case 'progress': {
        const eta: number | null = e.etaSeconds;
        console.log(e.verifiedBytes / e.totalBytes, e.bytesPerSecond, eta);
        break;
      }
      case 'file':
        if (e.blob) console.log(e.path, e.digest, e.blob.size);
        break;
      case 'error': {
        const code: string = e.code;
        console.log(code, e.message);
        if (e.code === 'ice_failed' && e.reason === 'no_ice_servers') console.log(e.ice?.localCandidates.host);
        break;
      }
      case 'network':
        if (e.source === 'none') console.log('only devices on one network can connect', e.stunUrls + e.turnUrls);
        break;
    }
  };
  const sender = send(input.files!, { signalUrl: '/signal.php', iceServers: [], connectTimeout: 20000, onEvent });
  // @ts-expect-error: connectTimeout is in milliseconds, a number
  send(input.files!, { connectTimeout: '20s' });
  const link: string = sender.link;
  const items: SendItem[] = await itemsFromDrop(drop);
  send(items, { onEvent });
  const receiver = receive(link, { sink: 'opfs', autoAccept: false, onEvent });
  receiver.accept({ pick: true });
  receiver.accept(undefined);
  const d: Diagnosis = await receiver.diagnose();
  console.log(d.signaling.requests, d.connection?.localCandidateType, d.connection?.ice.localNat, sender.files[0]?.path);
  const byCode = send(input.files!, { shortCode: true, onEvent: (e) => { if (e.type === 'code') console.log(e.code.toUpperCase()); } });
  const code: string | undefined = byCode.code;
  receive(code ?? '7-guitar-orbit', { onEvent });
  // @ts-expect-error: shortCode is a boolean
  send(input.files!, { shortCode: 'yes' });
  receive(link, { sink: 'download', serviceWorker: '/peerdrop-sw.js', onEvent: (e) => {
    if (e.type === 'accepted' && e.sink === 'download') console.log('streamed to the downloads folder');
  } });
  // @ts-expect-error: the sink is one of four names
  receive(link, { sink: 'disk' });
  // @ts-expect-error: serviceWorker is the worker's URL
  receive(link, { serviceWorker: true });
  // @ts-expect-error: events are a closed union
  onEvent({ type: 'nonsense' });
  // One link, several receivers: events about one carry its number; the handle drops one,
  // closes the link, and diagnoses one or the link's shared reads.
  const many = send(input.files!, { receivers: 8, flow: { sharedCache: 64 * 1024 * 1024 }, onEvent: (e) => {
    if (e.receiver !== undefined && e.type === 'status' && e.phase === 'connected') console.log(e.receiver, e.label?.toUpperCase());
    if (e.type === 'room') console.log(e.receivers);
    if (e.type === 'error' && (e.code === 'dropped' || e.code === 'link_closed' || e.code === 'invalid_receivers')) console.log(e.message);
  } });
  many.dropReceiver(3);
  many.closeLink();
  const shared = (await many.diagnose()).sharedReads;
  console.log(shared?.bytesRead, (await many.diagnose(3)).lanes);
  // @ts-expect-error: receivers is a number
  send(input.files!, { receivers: 'many' });
  // @ts-expect-error: a receiver is named by its number
  many.dropReceiver('brave lemon');
}
