#!/usr/bin/env node
// Where the both-reporters telemetry pair's cost comes from (issue 14): the `--telemetry-pair`
// path (fortio → client side's `wasmesh proxy` → app's `wasmesh sidecar` → the Go upstream, plain
// HTTP) in variants that each leave one factor out, run one after another in rounds, each
// proxy's CPU read from /proc over the measured window: CPU ms per 1000 requests per process, and
// their sum (the pair's µs per request). On a shared machine only the same round's figures
// compare; take medians over rounds.
//
// Variants (the factor each one isolates):
//   off        --istio-metrics off, no tracing (the `-notel` contender)
//   full       Istio's metrics, the peer metadata exchange, 1 % Zipkin tracing (the `-telemetry` contender)
//   notrace    metrics and exchange, no tracing
//   traceonly  1 % tracing, metrics (and so the exchange) off
//   trace0     tracing at 0 %: every request's context and lines, no span built, nothing exported
//   tnoop      tracing configured, its filter returning at once (no trace, no lines): the filter's presence
//   nox        full, but no x-envoy-peer-metadata(-id) sent (peers `unknown`): the exchange's headers
//   norec      full, but the stats filter records nothing: the registry's part
//   dummy      off, plus two fields of the exchange's lengths (54 and 348 characters) on every
//              request (client side's route edit: proxy → sidecar → app) and response (proxy → client):
//              the same bytes without meaning
//   mnox       notrace, but no x-envoy-peer-metadata(-id) sent: metrics without the exchange
//   mnorec     notrace, but the stats filter records nothing: the exchange without the registry
// nox, norec and tnoop run a copy of this checkout's dist/ with one line changed (made here; the
// run fails if the line is not found). A variant `name@<dir>` runs another built checkout (an A/B
// of builds: a copy of a base build, node_modules linked).
// ATTR_PERF=<dir>: each proxy runs with --perf-basic-prof and `perf record -F 999 -e cpu-clock -g`
// samples it over the measured window into <dir>/<round>-<variant>-{proxy,sidecar}.data (read
// with `perf report -i … --no-children`); ATTR_NODE_FLAGS: more node flags for both proxies
// (e.g. `--require=scripts/alloc-sampler.cjs` for allocation per request).
// ATTR_SIDE_BY_SIDE=1: each round starts every variant and loads them all at once (the same
// machine load for each: a paired ratio per round), instead of one after another.
// Usage: FORTIO_BIN=bench/.bin/fortio node scripts/bench-telemetry-attribution.mjs <rounds> <seconds> <variant,…> [qps]
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const WT = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
const d = (p) => import(join(WT, 'dist/bench/e2e', p));
const { findLoadTools } = await d('load-tools.js');
const { driveLoad } = await d('measure.js');
const { startSpanSink } = await d('span-sink.js');
const { goToolchain, startUpstream } = await d('upstream.js');
const { cpuSeconds } = await d('proc-stats.js');
const { freePort, startReady, stopChild } = await d('processes.js');
const { writePairMesh, APP_WORKLOAD, CLIENT_WORKLOAD } = await d('mtls-pair.js');

const rounds = Number(process.argv[2] ?? 3);
const seconds = Number(process.argv[3] ?? 8);
const names = (process.argv[4] ?? 'off,full,notrace,traceonly,nox,norec,dummy').split(',');
const qps = Number(process.argv[5] ?? 1000);

/** name → [patch, metrics, tracing ('zero': 0 %), dummy fields]. */
const VARIANTS = {
  off: [null, false, false, false], full: [null, true, true, false], notrace: [null, true, false, false],
  traceonly: [null, false, true, false], trace0: [null, false, 'zero', false], tnoop: ['tnoop', false, true, false],
  nox: ['nox', true, true, false], norec: ['norec', true, true, false], dummy: [null, false, false, true],
  mnox: ['nox', true, false, false], mnorec: ['norec', true, false, false],
};
/** The one-line changes of the patched variants: [file under dist/, text, replacement]. */
const PATCHES = {
  nox: ['host/server/proxy-server.js', 'const peerOps = own === undefined ? null : peerMetadataRequestOps(own.id, own.metadata);', 'const peerOps = null;'],
  norec: ['host/http/filters/istio-stats.js', 'onLog(stream) {', 'onLog(stream) { return;'],
  tnoop: ['host/http/filters/tracing.js', 'onRequestHeaders(stream) {', 'onRequestHeaders(stream) { return 0;'],
};

const work = join(tmpdir(), `wasmesh-attribution-${process.pid}`);
function patchedRoot(patch) {
  const root = join(work, patch);
  if (existsSync(root)) return root;
  mkdirSync(root, { recursive: true });
  for (const n of ['bin', 'dist']) cpSync(join(WT, n), join(root, n), { recursive: true });
  for (const n of ['package.json', 'asconfig.json']) cpSync(join(WT, n), join(root, n));
  symlinkSync(join(WT, 'build'), join(root, 'build'));
  symlinkSync(join(WT, 'node_modules'), join(root, 'node_modules'));
  const [file, from, to] = PATCHES[patch];
  const path = join(root, 'dist', file);
  const text = readFileSync(path, 'utf8');
  if (!text.includes(from)) throw new Error(`variant ${patch}: '${from}' not found in dist/${file} (rebuild, or update PATCHES)`);
  writeFileSync(path, text.replace(from, to));
  return root;
}

const tools = findLoadTools();
const upstream = await startUpstream(goToolchain().go);
const sink = await startSpanSink();
const PERF_DIR = process.env.ATTR_PERF;
if (PERF_DIR) mkdirSync(PERF_DIR, { recursive: true });
/** perf record of one process until stopped (SIGINT: perf writes its file). */
function perfRecord(pid, file) {
  const p = spawn('perf', ['record', '-F', '999', '-e', 'cpu-clock', '-g', '-p', String(pid), '-o', file], { stdio: ['ignore', 'ignore', 'inherit'] });
  const done = new Promise((res) => p.on('exit', res));
  return async () => {
    p.kill('SIGINT');
    await done;
  };
}
const DUMMY_ID = 'x'.repeat(54), DUMMY_MD = 'y'.repeat(348);

async function start(spec) {
  const [name, dir] = spec.split('@');
  const v = VARIANTS[name];
  if (v === undefined) throw new Error(`unknown variant '${name}' (one of ${Object.keys(VARIANTS).join(', ')})`);
  const [patch, metrics, tracing, dummy] = v;
  const root = dir ?? (patch === null ? WT : patchedRoot(patch));
  const [port, admin, inbound, outbound, health, sidecarAdmin] = await Promise.all([1, 2, 3, 4, 5, 6].map(() => freePort()));
  const meshDir = writePairMesh(inbound, { mtls: false, extraDirs: tracing ? ['config-telemetry'] : [], vars: { SINK_PORT: String(sink.port) } });
  const edit = (prefix, from, to) => {
    const f = join(meshDir, readdirSync(meshDir).find((n) => n.startsWith(prefix)));
    const text = readFileSync(f, 'utf8');
    if (!text.includes(from)) throw new Error(`${spec}: '${from.trim()}' not in ${f}`);
    writeFileSync(f, text.replace(from, to));
  };
  if (tracing === 'zero') edit('config-telemetry', 'randomSamplingPercentage: 1', 'randomSamplingPercentage: 0');
  if (dummy) {
    const set = `{x-dummy-peer-data-id: "${DUMMY_ID}", x-dummy-peer-data: "${DUMMY_MD}"}`;
    edit('config-pair', '    rewrite:\n', `    headers:\n      request:\n        set: ${set}\n      response:\n        set: ${set}\n    rewrite:\n`);
  }
  const extraFlags = [...(PERF_DIR ? ['--perf-basic-prof'] : []), ...(process.env.ATTR_NODE_FLAGS ?? '').split(' ').filter((f) => f !== '')];
  const node = ['--max-semi-space-size=1', ...extraFlags, join(root, 'bin', 'wasmesh.js')];
  const common = ['--access-log', 'off', '--stats', 'off', ...(metrics ? [] : ['--istio-metrics', 'off'])];
  const inner = await startReady(process.execPath, [...node, 'sidecar', '-f', meshDir, '--app-ports', String(upstream.ports.v1), '--inbound', `127.0.0.1:${inbound}`,
    '--outbound', `127.0.0.1:${outbound}`, '--health', `127.0.0.1:${health}`, '--admin', `127.0.0.1:${sidecarAdmin}`, '--merged-stats', 'off', '--labels', 'app=bench',
    '--workload', APP_WORKLOAD, ...common], { url: `http://127.0.0.1:${sidecarAdmin}/ready` }, `${spec} sidecar`);
  const outer = await startReady(process.execPath, [...node, 'proxy', '-f', meshDir, '--gateway', 'bench-gateway', '--listen', `127.0.0.1:${port}`,
    '--admin', `127.0.0.1:${admin}`, '--workload', CLIENT_WORKLOAD, ...common], { url: `http://127.0.0.1:${admin}/ready` }, `${spec} proxy`).catch(async (err) => {
    await stopChild(inner.child, 5000);
    throw err;
  });
  return {
    url: `http://127.0.0.1:${port}/`,
    pids: [outer.child.pid, inner.child.pid],
    stop: async () => {
      await stopChild(outer.child, 5000);
      await stopChild(inner.child, 5000);
      rmSync(meshDir, { recursive: true, force: true });
    },
  };
}

const mode = { name: 'rate', kind: 'fixed-rate', connections: 16, qps };
const out = [];
/** One measured window over running variants (all at once when side by side): CPU per 1000 requests per process. */
async function measure(r, specs, runs) {
  await Promise.all(runs.map((running) => driveLoad(tools, mode, running.url, 4)));
  const perfs = PERF_DIR ? runs.flatMap((running, k) => running.pids.map((pid, i) => perfRecord(pid, join(PERF_DIR, `${r}-${specs[k].split('@')[0]}-${i === 0 ? 'proxy' : 'sidecar'}.data`)))) : [];
  const before = runs.map((running) => running.pids.map(cpuSeconds));
  const loads = await Promise.all(runs.map((running) => driveLoad(tools, mode, running.url, seconds)));
  const after = runs.map((running) => running.pids.map(cpuSeconds));
  for (const stop of perfs) await stop();
  runs.forEach((running, k) => {
    const load = loads[k];
    if (load.errors > 0) throw new Error(`${specs[k]}: ${load.errors} failed requests`);
    const ms = running.pids.map((p, i) => ((after[k][i] - before[k][i]) * 1e6) / load.requests);
    const rec = { round: r, variant: specs[k], pids: running.pids.join(','), load: Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]), requests: load.requests,
      proxy: +ms[0].toFixed(1), sidecar: +ms[1].toFixed(1), sum: +(ms[0] + ms[1]).toFixed(1) };
    out.push(rec);
    console.log(JSON.stringify(rec));
  });
}
const sideBySide = process.env.ATTR_SIDE_BY_SIDE === '1';
try {
  for (let r = 1; r <= rounds; r++) {
    // Side by side: every variant runs (and is loaded) at once, so the machine's load moves them
    // together; their start order turns by one each round (no variant always first or last).
    const turned = names.map((_, i) => names[(i + r - 1) % names.length]);
    const groups = sideBySide ? [turned] : names.map((n) => [n]);
    for (const specs of groups) {
      const runs = [];
      try {
        for (const spec of specs) runs.push(await start(spec));
        await measure(r, specs, runs);
      } finally {
        for (const running of runs) await running.stop();
      }
    }
  }
} finally {
  await sink.close();
  await upstream.stop?.();
  rmSync(work, { recursive: true, force: true });
}
const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const base = out.filter((o) => o.variant === names[0]);
for (const spec of names) {
  const rs = out.filter((o) => o.variant === spec);
  const sum = med(rs.map((o) => o.sum));
  // The same round's ratio to the first variant, then its median: paired, so a round's load cancels out.
  const paired = med(rs.map((o) => o.sum / base.find((b) => b.round === o.round).sum));
  console.log(`${spec.padEnd(12)} proxy ${med(rs.map((o) => o.proxy))}  sidecar ${med(rs.map((o) => o.sidecar))}  pair ${sum}  ÷ ${names[0]} ${(sum / med(base.map((o) => o.sum))).toFixed(2)}, paired ${paired.toFixed(2)}  (CPU ms per 1000 requests, medians of ${rs.length}; pair per round ${rs.map((o) => o.sum).join(' ')})`);
}
process.exit(0);
