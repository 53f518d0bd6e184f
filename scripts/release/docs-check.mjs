// Release gate "support readiness": the operational documents exist and agree with the code.
//   node scripts/release/docs-check.mjs      (exit 1 on any problem; last line is a summary)
// Checks: required files; the triage runbook covers every runtime error code of docs/api.md;
// the signaling runbook covers every 429/5xx code of docs/signaling.md, the host's 508, and
// every alert in ops/prometheus/peerdrop-rules.yml; every peerdrop_* metric named in the docs
// exists in signal.php or ops/probe.mjs; decision records state status, owner and revisit
// trigger; RELEASE_CHECKLIST.md lists exactly the gates of scripts/release-check; relative
// links resolve.
import { readFileSync, existsSync, readdirSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const read = (p) => readFileSync(join(repo, p), 'utf8');
let problems = 0;
let checks = 0;
const ok = (m) => { checks++; console.log(`ok    ${m}`); };
const bad = (m) => { checks++; problems++; console.log(`FAIL  ${m}`); };

const decisions = existsSync(join(repo, 'docs/decisions'))
  ? readdirSync(join(repo, 'docs/decisions')).filter((f) => /^\d{4}-.+\.md$/.test(f)).map((f) => `docs/decisions/${f}`)
  : [];
const required = [
  'RELEASE_CHECKLIST.md', 'docs/release/README.md',
  'docs/runbooks/transfer-failure-triage.md', 'docs/runbooks/signaling-diagnostics.md',
  'docs/operations/slo.md', 'docs/operations/ownership.md',
  'docs/operations/deploy-php.md', 'docs/operations/deploy-sveltekit.md',
  'docs/roadmap.md', 'ops/probe.mjs', 'ops/prometheus/peerdrop-rules.yml',
  'php-signaling/tests/migration-rehearsal.sh',
];
for (const f of required) {
  if (existsSync(join(repo, f)) && statSync(join(repo, f)).size > 200) ok(`${f} present`);
  else bad(`${f} missing or empty`);
}
if (problems) {
  console.log(`summary: ${checks - problems} of ${checks} checks passed`);
  process.exit(1);
}

const missingIn = (text, words) => words.filter((w) => !text.includes(w));
const report = (what, words, text) => {
  const missing = missingIn(text, words);
  if (missing.length) bad(`${what}: missing ${missing.join(', ')}`);
  else ok(`${what}: all ${words.length} covered`);
};

// Runtime error codes (docs/api.md, "### Error codes" table).
const api = read('docs/api.md');
const table = api.slice(api.indexOf('### Error codes'), api.indexOf('## Diagnostics'));
const runtimeCodes = [...new Set([...table.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]))];
const triage = read('docs/runbooks/transfer-failure-triage.md');
report('transfer-failure-triage.md covers the runtime error codes of docs/api.md', runtimeCodes, triage);
report('transfer-failure-triage.md reads the diagnose() fields of docs/api.md',
  ['iceConnectionState', 'candidatesGathered', 'localCandidateType', 'bufferedAmount', 'medianRoundTripMs', 'recent', 'wasmMemoryBytes'], triage);

// Signaling codes answered with 429 or 5xx (docs/signaling.md section 7), plus the host's 508.
const sig = read('docs/signaling.md');
const serverCodes = [...sig.matchAll(/^\| (429|5\d\d) \| `([a-z_]+)` \|/gm)].map((m) => m[2]);
const diag = read('docs/runbooks/signaling-diagnostics.md');
report('signaling-diagnostics.md covers every 429/5xx code of docs/signaling.md', serverCodes, diag);
report('signaling-diagnostics.md covers host and auth statuses', ['508', '401', 'metrics_unauthorized', 'php signal.php check', 'php signal.php migrate'], diag);

// Alerts -> runbook.
const rules = read('ops/prometheus/peerdrop-rules.yml');
const alerts = [...rules.matchAll(/- alert: (\w+)/g)].map((m) => m[1]);
report('signaling-diagnostics.md explains every alert of peerdrop-rules.yml', alerts, diag);

// Metric names used in the docs exist.
const sources = read('php-signaling/signal.php') + read('ops/probe.mjs');
const docsText = ['docs/operations/slo.md', 'docs/runbooks/signaling-diagnostics.md', 'docs/runbooks/transfer-failure-triage.md',
  'docs/decisions/' + (decisions.find((d) => d.includes('telemetry')) || '').replace('docs/decisions/', '')]
  .filter((f) => f.endsWith('.md') && existsSync(join(repo, f))).map(read).join('\n');
const named = [...new Set([...docsText.matchAll(/\bpeerdrop_[a-z_]+\b/g)].map((m) => m[0]))]
  // not metrics: MySQL table names, the wasm file, the textfile name
  .filter((n) => !/^peerdrop_(rooms|messages|meta|rate_limits|counters|bg|probe)$/.test(n));
const unknown = named.filter((n) => !new RegExp(`\\b${n}\\b`).test(sources));
if (unknown.length) bad(`metrics named in the docs but not in signal.php/probe.mjs: ${unknown.join(', ')}`);
else ok(`${named.length} metric names in the docs exist in signal.php or ops/probe.mjs`);
const recorded = [...new Set([...docsText.matchAll(/\bpeerdrop:[a-z_:0-9]+/g)].map((m) => m[0]))];
const unrecorded = recorded.filter((r) => !rules.includes(`record: ${r}`));
if (unrecorded.length) bad(`recording rules named in the docs but not defined: ${unrecorded.join(', ')}`);
else ok(`${recorded.length} recording rule names in the docs are defined`);

// Decision records.
const topics = ['tailnet', 'relay', 'turn', 'pake', 'telemetry', 'browser'];
for (const t of topics) {
  if (decisions.some((d) => d.toLowerCase().includes(t))) ok(`decision record on ${t}`);
  else bad(`no decision record on ${t} in docs/decisions/`);
}
for (const d of decisions) {
  const text = read(d);
  const lacks = ['Status:', 'Owner:', 'Revisit when:', 'Reason'].filter((k) => !text.includes(k));
  const status = /Status:\*{0,2} *(resolved|deferred)/i.test(text);
  if (lacks.length || !status) bad(`${d}: lacks ${[...lacks, status ? null : 'a resolved/deferred status'].filter(Boolean).join(', ')}`);
  else ok(`${d}: status, owner, reason and revisit trigger`);
}

// Checklist <-> script.
const listed = execFileSync('bash', [join(repo, 'scripts/release-check'), '--list'], { encoding: 'utf8' })
  .trim().split('\n').map((l) => l.split('\t')[0]);
const checklist = read('RELEASE_CHECKLIST.md');
const inChecklist = [...checklist.matchAll(/^\| `?([A-Z]+-[A-Z0-9]+)`? \|/gm)].map((m) => m[1]);
const a = [...listed].sort().join(' ');
const b = [...new Set(inChecklist)].sort().join(' ');
if (a === b) ok(`RELEASE_CHECKLIST.md lists the same ${listed.length} gates as scripts/release-check`);
else bad(`gates differ: script [${a}] vs checklist [${b}]`);

// Relative links in the documents this gate owns.
const owned = [...required.filter((f) => f.endsWith('.md')), ...decisions, 'docs/release/evidence.md'].filter((f) => existsSync(join(repo, f)));
let links = 0;
for (const f of owned) {
  for (const m of read(f).matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
    if (/^[a-z]+:/.test(m[1])) continue;
    links++;
    const target = resolve(repo, dirname(f), m[1]);
    // evidence.md is written by scripts/release-check after this gate has run
    if (!existsSync(target) && target !== join(repo, 'docs/release/evidence.md')) bad(`${f}: broken link ${m[1]}`);
  }
}
ok(`${links} relative links checked in ${owned.length} documents`);

console.log(`summary: ${checks - problems} of ${checks} checks passed (${runtimeCodes.length} runtime codes, ${serverCodes.length} server codes, ${alerts.length} alerts, ${decisions.length} decision records, ${links} links)`);
process.exit(problems ? 1 : 0);
