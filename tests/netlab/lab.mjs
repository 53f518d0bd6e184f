// A network lab built from Linux network namespaces, for tests that need real NATs between
// browsers. One "internet" segment (a bridge in its own namespace, 203.0.113.0/24) holds the
// servers: the signaling site (scripts/serve-site, i.e. signal.php under `php -S`) and coturn
// (STUN and TURN). NAT routers (nftables) hang off it, each with a LAN of 10.N.0.0/24 behind it,
// and every peer is a namespace of its own, where its browser runs.
//
// Nothing routes outside the namespaces the lab made: no namespace gets a link to the machine's
// own network, and the servers listen only on lab addresses. close() removes every namespace and
// stops every process the lab started; an exit handler does the same if the test process dies,
// and a new lab first sweeps namespaces left by a lab whose process is gone.
//
// Needs root, iproute2, nftables and coturn (scripts/bootstrap installs them). docs/netlab.md
// says how to add a scenario.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync, chmodSync, readFileSync, existsSync, openSync, closeSync as closeFd } from 'node:fs';
import { resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { freePort, waitForHttp } from '../support/net.mjs';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS } from '../e2e/harness.mjs';

/** The internet segment's own addresses. */
export const SERVER_IP = '203.0.113.10';
const INET_PREFIX = '203.0.113';
const TURN_PORT = 3478;
const PREFIX = 'pdl';
/** The userspace link emulator (crates/link-emulator), built by `make test-netlab`. */
export const LINK_EMULATOR = resolve('target/release/link-emulator');

/**
 * How each kind of router translates, as nftables rules (see ../shared notes and docs/netlab.md):
 * - `cone`: endpoint-independent mapping and filtering. Every outgoing flow keeps one public
 *   address (`snat ... persistent`), and any UDP arriving on the WAN goes to the one host behind
 *   it, as a home router with a "full cone" behaves. Hole punching works.
 * - `hard`: endpoint-dependent mapping: `masquerade random` gives every new destination a new
 *   random port, as carrier-grade and many office NATs do. Hole punching between two of them
 *   cannot work; only a relay can.
 * `blockUdp` also drops all UDP forwarded from the LAN, as networks that allow only web traffic do.
 */
function natRules({ nat, wanIp, hosts, blockUdp }) {
  const rules = [];
  if (nat === 'cone') {
    const inbound = hosts.length === 1 ? `iifname "wan" meta l4proto udp dnat to ${hosts[0]}` : '';
    rules.push(`table ip lab_nat {
  chain pre {
    type nat hook prerouting priority -100;
    ${inbound}
  }
  chain post {
    type nat hook postrouting priority 100;
    oifname "wan" snat to ${wanIp} persistent
  }
}`);
  } else if (nat === 'hard') {
    rules.push(`table ip lab_nat {
  chain post {
    type nat hook postrouting priority 100;
    oifname "wan" masquerade random
  }
}`);
  } else {
    throw new Error(`unknown NAT kind ${nat}: use "cone" or "hard"`);
  }
  if (blockUdp) {
    rules.push(`table inet lab_filter {
  chain from_lan {
    type filter hook forward priority 0;
    iifname "lan" meta l4proto udp drop
  }
}`);
  }
  return rules.join('\n');
}

function run(cmd, args, opts = {}) {
  try {
    return execFileSync(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], encoding: 'utf8', ...opts });
  } catch (e) {
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr || e.message}`);
  }
}

const ns = (name, ...args) => run('ip', ['netns', 'exec', name, ...args]);
const ipIn = (name, ...args) => run('ip', ['-n', name, ...args]);

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops every process inside namespace `name` and deletes it (sync: usable in exit handlers). */
function removeNamespace(name) {
  let pids = '';
  try {
    pids = execFileSync('ip', ['netns', 'pids', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch { /* already gone */ }
  for (const pid of pids.split(/\s+/).filter(Boolean)) {
    try { process.kill(Number(pid), 'SIGKILL'); } catch { /* exited */ }
  }
  try {
    execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  } catch { /* already gone */ }
}

/** Namespaces of labs whose process has died (a killed test run): ours to remove. */
function sweepStale() {
  let list = '';
  try {
    list = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  } catch {
    return;
  }
  for (const line of list.split('\n')) {
    const m = line.match(new RegExp(`^(${PREFIX}(\\d+)-\\S+)`));
    if (m && !alive(Number(m[2]))) removeNamespace(m[1]);
  }
}

/** Whether this machine can build the lab: root, and the tools it uses. */
export function labMissing() {
  if (process.getuid?.() !== 0) return 'the network lab needs root (network namespaces, nftables)';
  for (const [tool, pkg] of [['ip', 'iproute2'], ['nft', 'nftables'], ['turnserver', 'coturn'], ['php', 'php-cli'], ['curl', 'curl'], ['socat', 'socat']]) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `${tool} is missing: apt-get install -y ${pkg} (scripts/bootstrap does)`;
    }
  }
  if (!existsSync('pkg/peerdrop_bg.wasm')) return "pkg/ is missing: run 'make wasm' first";
  if (!existsSync('sveltekit-addon/packages/sveltekit/dist/signaling/index.js')) {
    return "the SvelteKit handler is not built: run 'make test-netlab' (it builds sveltekit-addon/packages/sveltekit)";
  }
  return null;
}

/**
 * Builds a lab.
 *   routers: { NAME: { nat: 'cone' | 'hard', blockUdp?: boolean, link?: LINK } }: with `link`,
 *            the router's WAN reaches the internet through the link emulator (see `startLink`),
 *            LINK being { delayMs, lossPct, rateMbit, queueBytes, seed } for both directions
 *            (delayMs one way: half the round trip it adds), all optional.
 *   peers:   { NAME: { router: NAME } | { public: true, defaultRoute?: boolean } }: with
 *            `defaultRoute`, a public peer's browser offers its address with no STUN server.
 *   sites:   { NAME: { stun?: boolean, turn?: boolean | ['udp', 'tcp'], endpoint?: 'kit' } }:
 *            one site each (the example page), on its own port, configured with the lab's coturn
 *            as STUN and/or TURN server (TURN over UDP and TCP for `true`, else over the
 *            transports listed), or neither. Signaling is signal.php under php -S, or with
 *            `endpoint: 'kit'` the @peerdrop/sveltekit handler (kit-site.mjs; needs its dist/).
 *            `extra: 'DIR:PATH'` also serves DIR under PATH (scripts/serve-site's
 *            PEERDROP_SITE_EXTRA; the WAN bench serves its plain-JS pages so).
 *   turn:    start coturn (needed when any site names it).
 */
export async function createLab({ routers = {}, peers = {}, sites = { plain: {} }, turn = true } = {}) {
  const missing = labMissing();
  if (missing) throw new Error(missing);
  const linkMissing = Object.values(routers).some((r) => r.link) && linkEmulatorMissing();
  if (linkMissing) throw new Error(linkMissing);
  sweepStale();
  const tag = `${PREFIX}${process.pid}`;
  const dir = resolve(`target/netlab/${tag}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const made = [];
  const children = [];
  const lab = { dir, tag, peers: {}, sites: {}, turnSecret: randomBytes(16).toString('hex'), logs: {} };
  /** The running link emulators by router name (see `startLink`). */
  const links = {};

  const closeSync = () => {
    for (const child of children.splice(0)) {
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
    }
    for (const name of made.splice(0).reverse()) removeNamespace(name);
  };
  const onExit = () => closeSync();
  const onSignal = (sig) => {
    closeSync();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.on('exit', onExit);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  lab.close = async () => {
    closeSync();
    process.off('exit', onExit);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };

  const addNs = (short) => {
    const name = `${tag}-${short}`;
    run('ip', ['netns', 'add', name]);
    made.push(name);
    // The lab is IPv4 only. IPv6 link-local addresses would leave their tentative state a moment
    // after a browser starts, which Chromium reports as a network change (ERR_NETWORK_CHANGED
    // on page loads and module imports).
    ns(name, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1');
    ipIn(name, 'link', 'set', 'lo', 'up');
    return name;
  };

  const lans = {};
  try {
    // The internet: one bridge; the servers' address sits on it.
    const inet = addNs('inet');
    lab.inet = inet;
    ipIn(inet, 'link', 'add', 'br0', 'type', 'bridge');
    ipIn(inet, 'addr', 'add', `${SERVER_IP}/24`, 'dev', 'br0');
    ipIn(inet, 'link', 'set', 'br0', 'up');
    // coturn's relay sends fail with "Network is unreachable" in a namespace without a default
    // route, even to on-link peers. A default route onto the bridge leads nowhere else: the
    // bridge holds only the lab's own links.
    ipIn(inet, 'route', 'add', 'default', 'dev', 'br0');
    let port = 0;
    const plug = (other, ifname, address) => {
      // A veth pair made straight into the two namespaces: names never clash with the host's.
      const peerIf = `p${++port}`;
      ipIn(other, 'link', 'add', ifname, 'type', 'veth', 'peer', 'name', peerIf, 'netns', inet);
      ipIn(inet, 'link', 'set', peerIf, 'master', 'br0');
      ipIn(inet, 'link', 'set', peerIf, 'up');
      ipIn(other, 'addr', 'add', address, 'dev', ifname);
      ipIn(other, 'link', 'set', ifname, 'up');
    };

    /**
     * The router's WAN through a wire namespace `w-NAME` to the bridge: `wan` (router) to
     * `rside` (wire), and `iside` (wire) to a bridge port. The emulator copies frames between
     * `rside` and `iside`. Every veth a frame crosses on its way in or out of the wire has its
     * offloads off, so the emulator reads whole, checksummed frames no larger than the MTU
     * (crates/link-emulator/src/wire.rs says why).
     */
    const wireBetween = (r, name, wanIp) => {
      const w = addNs(`w-${name}`);
      // No addresses or IPv6 chatter of its own: the wire only carries the router's frames.
      ns(w, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1');
      const peerIf = `p${++port}`;
      ipIn(r, 'link', 'add', 'wan', 'type', 'veth', 'peer', 'name', 'rside', 'netns', w);
      ipIn(w, 'link', 'add', 'iside', 'type', 'veth', 'peer', 'name', peerIf, 'netns', inet);
      ipIn(inet, 'link', 'set', peerIf, 'master', 'br0');
      for (const [space, ifname] of [[r, 'wan'], [w, 'rside'], [w, 'iside'], [inet, peerIf]]) {
        ns(space, 'ethtool', '-K', ifname, 'tx', 'off', 'tso', 'off', 'gso', 'off', 'gro', 'off');
        ipIn(space, 'link', 'set', ifname, 'up');
      }
      ipIn(r, 'addr', 'add', `${wanIp}/24`, 'dev', 'wan');
      return { ns: w, router: r, name };
    };

    const routerNames = Object.keys(routers);
    routerNames.forEach((name, i) => {
      const n = i + 1;
      const r = addNs(`r-${name}`);
      const wanIp = `${INET_PREFIX}.${20 + n}`;
      if (routers[name].link) {
        links[name] = wireBetween(r, name, wanIp);
      } else {
        plug(r, 'wan', `${wanIp}/24`);
      }
      ipIn(r, 'link', 'add', 'lan', 'type', 'bridge');
      ipIn(r, 'addr', 'add', `10.${n}.0.1/24`, 'dev', 'lan');
      ipIn(r, 'link', 'set', 'lan', 'up');
      ns(r, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
      lans[name] = { ns: r, n, wanIp, hosts: [], ...routers[name] };
    });

    let publicHost = 50;
    for (const [name, spec] of Object.entries(peers)) {
      const p = addNs(`h-${name}`);
      if (spec.public) {
        const ip = `${INET_PREFIX}.${publicHost++}`;
        plug(p, 'eth0', `${ip}/24`);
        // Chromium gathers no host candidate in a namespace without a default route; one onto
        // the bridge, as the internet namespace has, leads nowhere outside the lab.
        if (spec.defaultRoute) ipIn(p, 'route', 'add', 'default', 'dev', 'eth0');
        lab.peers[name] = { ns: p, ip, public: true };
        continue;
      }
      const lan = lans[spec.router];
      if (!lan) throw new Error(`peer ${name}: no router named ${spec.router}`);
      const ip = `10.${lan.n}.0.${2 + lan.hosts.length}`;
      const hostIf = `h${lan.hosts.length}`;
      ipIn(lan.ns, 'link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', p);
      ipIn(lan.ns, 'link', 'set', hostIf, 'master', 'lan');
      ipIn(lan.ns, 'link', 'set', hostIf, 'up');
      ipIn(p, 'addr', 'add', `${ip}/24`, 'dev', 'eth0');
      ipIn(p, 'link', 'set', 'eth0', 'up');
      ipIn(p, 'route', 'add', 'default', 'via', `10.${lan.n}.0.1`);
      lan.hosts.push(ip);
      lab.peers[name] = { ns: p, ip, router: spec.router, nat: lan.nat, wanIp: lan.wanIp };
    }
    for (const lan of Object.values(lans)) {
      run('ip', ['netns', 'exec', lan.ns, 'nft', '-f', '-'], { input: natRules(lan) });
    }
    for (const [name, wire] of Object.entries(links)) {
      links[name] = await startLink(wire, routers[name].link, dir, children, lab.logs);
    }

    const start = (name, cmd, args, env = {}) => {
      const log = `${dir}/${name}.log`;
      const out = openSync(log, 'w');
      const child = spawn('ip', ['netns', 'exec', inet, cmd, ...args], {
        env: { ...process.env, ...env },
        stdio: ['ignore', out, out],
        detached: true,
      });
      closeFd(out);
      children.push(child);
      lab.logs[name] = log;
      return child;
    };

    if (turn) {
      start('coturn', 'turnserver', [
        '-n', `--listening-ip=${SERVER_IP}`, `--relay-ip=${SERVER_IP}`, `--listening-port=${TURN_PORT}`,
        '--realm=peerdrop.lab', '--use-auth-secret', `--static-auth-secret=${lab.turnSecret}`,
        '--no-cli', '--no-tls', '--no-dtls', '--fingerprint', '--no-software-attribute',
        '--min-port=49152', '--max-port=65535', `--userdb=${dir}/turndb`, `--pidfile=${dir}/turn.pid`,
        '--log-file=stdout', '--simple-log',
      ]);
    }

    let sitePort = 8080;
    for (const [name, spec] of Object.entries(sites)) {
      const p = sitePort++;
      const stun = spec.stun ? [`stun:${SERVER_IP}:${TURN_PORT}`] : [];
      const transports = spec.turn === true ? ['udp', 'tcp'] : spec.turn || [];
      const turnUrls = transports.map((t) => `turn:${SERVER_IP}:${TURN_PORT}?transport=${t}`);
      lab.sites[name] = { url: `http://${SERVER_IP}:${p}/`, origin: `http://${SERVER_IP}:${p}`, ...spec };
      if (spec.endpoint === 'kit') {
        start(`site-${name}`, 'node', ['tests/netlab/kit-site.mjs', SERVER_IP, String(p)], {
          SIGNAL_STUN_URL: stun.join(' '),
          SIGNAL_TURN_URL: turnUrls.join(' '),
          SIGNAL_TURN_SECRET: spec.turn ? lab.turnSecret : '',
        });
        continue;
      }
      const config = `${dir}/site-${name}.config.php`;
      writeFileSync(config, `<?php
return array(
  'poll_slots' => 0, 'poll_interval_ms' => 250, 'rate_limit_per_minute' => 0,
  'quota_rooms' => 0, 'quota_creates_per_minute' => 0, 'quota_failed_joins' => 0,
  'stun_urls' => ${phpList(stun)},
  'turn_urls' => ${phpList(turnUrls)},
  'turn_secret' => '${spec.turn ? lab.turnSecret : ''}',
);
`);
      start(`site-${name}`, 'scripts/serve-site', [String(p)], {
        PEERDROP_SITE_HOST: SERVER_IP,
        PEERDROP_SITE_CONFIG: config,
        PEERDROP_SITE_DIR: `${dir}/site-${name}`,
        PEERDROP_DATA_DIR: `${dir}/site-${name}-data`,
        PEERDROP_SITE_EXTRA: spec.extra ?? '',
      });
    }
    for (const site of Object.values(lab.sites)) await waitInside(inet, site.url, 20000, lab);
    if (turn) await waitForUdp(inet, TURN_PORT, 10000, lab);
  } catch (e) {
    closeSync();
    throw e;
  }

  /** Runs a command inside a peer's namespace (for checks: addresses, routes, reachability). */
  lab.exec = (peer, ...args) => ns(lab.peers[peer].ns, ...args);

  const emulator = (router) => {
    const l = links[router];
    if (!l) throw new Error(`router ${router} has no link emulator: give it \`link: {...}\` in createLab`);
    return l;
  };
  /**
   * Changes a router's emulated link at run time: { delayMs, lossPct, rateMbit (0 or null:
   * unlimited), queueBytes, dir: 'up' | 'down' | 'both' } (`up` leaves the router). Keys left
   * out keep their values.
   */
  lab.setLink = (router, settings) => emulator(router).command(linkSettings(settings));
  /** The emulator's own counters for a router's link (per direction: forwarded, dropped by loss, queue, down). */
  lab.linkStats = (router) => emulator(router).command('stats');
  /**
   * UDP counters of a peer's namespace (/proc/net/snmp is per namespace): `RcvbufErrors` are
   * datagrams the kernel dropped because a socket's receive buffer was full (a bursty link
   * overflows Chromium's 128 KiB ones), `InErrors` all receive errors, `InCsumErrors` bad checksums.
   */
  lab.udpDrops = (peer) => udpCounters(ns(lab.peers[peer].ns, 'cat', '/proc/net/snmp'));

  /** Runs a command inside a router's namespace (e.g. `tc` on its `wan`). */
  lab.execRouter = (router, ...args) => ns(lans[router].ns, ...args);

  /**
   * Moves a peer behind another router, as a phone leaving Wi-Fi for another network: its
   * link goes, a new one comes up with a new address on the other LAN.
   */
  lab.movePeer = (peer, router) => {
    lab.unplug(peer);
    lab.plug(peer, router);
  };

  /** Takes a peer off its network (its link is gone, as out of Wi-Fi range). */
  lab.unplug = (peer) => ipIn(lab.peers[peer].ns, 'link', 'del', 'eth0');

  /** Puts an unplugged peer on a router's LAN with a new address. */
  lab.plug = (peer, router) => {
    const p = lab.peers[peer];
    const lan = lans[router];
    if (!p || !lan) throw new Error(`lab.plug: no peer ${peer} or router ${router}`);
    const ip = `10.${lan.n}.0.${2 + lan.hosts.length}`;
    const hostIf = `h${lan.hosts.length}`;
    ipIn(lan.ns, 'link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', p.ns);
    ipIn(lan.ns, 'link', 'set', hostIf, 'master', 'lan');
    ipIn(lan.ns, 'link', 'set', hostIf, 'up');
    ipIn(p.ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0');
    ipIn(p.ns, 'link', 'set', 'eth0', 'up');
    ipIn(p.ns, 'route', 'add', 'default', 'via', `10.${lan.n}.0.1`);
    lan.hosts.push(ip);
    Object.assign(p, { ip, router, nat: lan.nat, wanIp: lan.wanIp });
  };

  /**
   * Takes a router's uplink down or up, as a cable pulled and plugged back in. A router with a
   * link emulator (`link` in createLab) keeps its interface up and the emulator cuts the wire
   * instead (frames on it are lost); the command is sent at once, and the returned promise
   * settles on the emulator's reply.
   */
  lab.link = (router, state) => {
    if (state !== 'up' && state !== 'down') throw new Error(`lab.link: "up" or "down", not ${state}`);
    if (links[router]) return links[router].command(state);
    ipIn(lans[router].ns, 'link', 'set', 'wan', state);
  };

  /** One headless Chromium inside `peer`'s namespace, treating the lab's sites as secure. */
  lab.chromium = (peer) => {
    const origins = Object.values(lab.sites).map((s) => s.origin).join(',');
    return chromium.launch({
      executablePath: lab.wrapper(peer, '/usr/bin/chromium'),
      args: [...CHROMIUM_ARGS, `--unsafely-treat-insecure-origin-as-secure=${origins}`],
    });
  };

  /**
   * Writes a wrapper that starts `binary` inside the peer's namespace, for drivers that take a
   * browser's path (Playwright's executablePath). The browser talks to its driver over pipes or
   * its own loopback, both of which cross `ip netns exec` unchanged.
   */
  lab.wrapper = (peer, binary) => {
    const path = `${dir}/${peer}-${binary.split('/').pop()}`;
    writeFileSync(path, `#!/bin/sh\nexec ip netns exec ${lab.peers[peer].ns} ${binary} "$@"\n`);
    chmodSync(path, 0o755);
    return path;
  };

  /**
   * Runs a driver (e.g. geckodriver) inside a peer's namespace, listening on its loopback at
   * a port chosen here (`{port}` in `args`), and relays the same port of this machine's
   * 127.0.0.1 to it with socat, so a WebDriver client here can reach it (the same number on both
   * sides, since geckodriver checks the Host header). Only that control connection crosses: the
   * namespace still has no route out. Returns the port.
   */
  lab.driverIn = async (peer, cmd, args) => {
    const peerNs = lab.peers[peer].ns;
    const port = await freePort();
    args = args.map((a) => a.replace('{port}', String(port)));
    const out = openSync(`${dir}/${peer}-driver.log`, 'w');
    lab.logs[`${peer}-driver`] = `${dir}/${peer}-driver.log`;
    const driver = spawn('ip', ['netns', 'exec', peerNs, cmd, ...args], { stdio: ['ignore', out, out], detached: true });
    closeFd(out);
    children.push(driver);
    const hostPort = port;
    const relay = spawn('socat', [`TCP-LISTEN:${hostPort},bind=127.0.0.1,reuseaddr,fork`,
      `EXEC:'ip netns exec ${peerNs} socat STDIO TCP:127.0.0.1:${port}'`], { stdio: 'ignore', detached: true });
    children.push(relay);
    await waitForHttp(`http://127.0.0.1:${hostPort}/status`, { timeoutMs: 15000, describe: () => lab.tail(`${peer}-driver`) });
    return hostPort;
  };

  /** The end of a log the lab keeps (coturn, a site), for failure messages. */
  lab.tail = (name, lines = 20) => {
    try {
      return readFileSync(lab.logs[name], 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  };
  return lab;
}

function phpList(items) {
  return `array(${items.map((s) => `'${s.replace(/'/g, '')}'`).join(', ')})`;
}

async function waitInside(name, url, ms, lab) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      execFileSync('ip', ['netns', 'exec', name, 'curl', '-sf', '-o', '/dev/null', '--max-time', '2', url], { stdio: 'ignore' });
      return;
    } catch {
      if (Date.now() > deadline) {
        throw new Error(`lab: ${url} did not answer within ${ms} ms\n${Object.keys(lab.logs).map((k) => `${k}:\n${lab.tail(k)}`).join('\n')}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

async function waitForUdp(name, port, ms, lab) {
  const deadline = Date.now() + ms;
  for (;;) {
    const out = execFileSync('ip', ['netns', 'exec', name, 'ss', '-Hlun', `sport = :${port}`], { encoding: 'utf8' });
    if (out.trim()) return;
    if (Date.now() > deadline) throw new Error(`lab: coturn did not listen on UDP ${port}\n${lab.tail('coturn')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Why a lab with emulated links cannot be built here, or null. */
export function linkEmulatorMissing() {
  if (!existsSync(LINK_EMULATOR)) return `${LINK_EMULATOR} is missing: cargo build --release -p link-emulator (make test-netlab does)`;
  try {
    execFileSync('sh', ['-c', 'command -v ethtool'], { stdio: 'ignore' });
  } catch {
    return 'ethtool is missing (it turns veth offloads off for the link emulator): apt-get install -y ethtool (scripts/bootstrap does)';
  }
  return null;
}

/** The emulator's `set` command for { delayMs, lossPct, rateMbit, queueBytes, dir }. */
export function linkSettings({ delayMs, lossPct, rateMbit, queueBytes, dir = 'both', seed, ...rest } = {}) {
  const unknown = Object.keys(rest);
  if (unknown.length) throw new Error(`unknown link setting ${unknown.join(', ')}: use delayMs, lossPct, rateMbit, queueBytes, dir`);
  const parts = [`set dir=${dir}`];
  if (delayMs != null) parts.push(`delay_ms=${delayMs}`);
  if (lossPct != null) parts.push(`loss=${lossPct / 100}`);
  if (rateMbit !== undefined) parts.push(`rate_mbit=${rateMbit ?? 0}`);
  if (queueBytes != null) parts.push(`queue_bytes=${queueBytes}`);
  return parts.join(' ');
}

/**
 * Starts crates/link-emulator between the wire's two interfaces, configured with `link`, and
 * returns `{ command(line) }`: one line to the emulator, its JSON reply (in order; an
 * `{"error"}` reply rejects). Its stderr goes to the lab's log `link-NAME`.
 */
async function startLink(wire, link, dir, children, logs) {
  const { seed, ...settings } = link;
  const log = `${dir}/link-${wire.name}.log`;
  const err = openSync(log, 'w');
  logs[`link-${wire.name}`] = log;
  const args = ['rside', 'iside', '--set', linkSettings(settings).replace(/^set /, '')];
  if (seed != null) args.push('--seed', String(seed));
  const child = spawn('ip', ['netns', 'exec', wire.ns, LINK_EMULATOR, ...args], { stdio: ['pipe', 'pipe', err], detached: true });
  closeFd(err);
  children.push(child);
  const waiting = [];
  let exited = null;
  createInterface({ input: child.stdout }).on('line', (line) => {
    let reply;
    try {
      reply = JSON.parse(line);
    } catch {
      reply = { error: `not JSON: ${line}` };
    }
    if (reply.final) return;
    const w = waiting.shift();
    if (!w) return;
    if (reply.error) w.reject(new Error(`link emulator ${wire.name}: ${reply.error}`));
    else w.resolve(reply);
  });
  child.on('exit', (code, signal) => {
    exited = `the link emulator of ${wire.name} exited (${signal ?? code}): ${readFileSync(log, 'utf8').trim()}`;
    for (const w of waiting.splice(0)) w.reject(new Error(exited));
  });
  child.stdin.on('error', () => { /* exited: reported through `exited` */ });
  const command = (line) => {
    if (exited) return Promise.reject(new Error(exited));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`link emulator ${wire.name}: no reply to "${line}" in 5 s`)), 5000);
      waiting.push({ resolve: (v) => { clearTimeout(timer); resolve(v); }, reject: (e) => { clearTimeout(timer); reject(e); } });
      child.stdin.write(`${line}\n`);
    });
  };
  // The first reply proves both sockets are open and the link carries frames.
  await command('stats');
  return { command };
}

/** The `Udp:` counters of a /proc/net/snmp text, by name. */
export function udpCounters(snmp) {
  const [names, values] = snmp.split('\n').filter((l) => l.startsWith('Udp:')).map((l) => l.split(/\s+/).slice(1));
  if (!names || !values) throw new Error('no Udp: lines in /proc/net/snmp');
  return Object.fromEntries(names.map((n, i) => [n, Number(values[i])]));
}
