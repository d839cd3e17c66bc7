#!/usr/bin/env node
// A/B of wasmesh builds on the bench:protocols TCP loads (tcp-conn: CPU ms per 1000 connections;
// AB_KIND=tcp-bytes: CPU ms per MiB), the builds side by side against one TCP echo, alternating
// who goes first each round, each proxy's CPU read from /proc at the load's window marks.
// bench:protocols compares wasmesh with Envoy; this compares two wasmesh builds (a change
// against its base) on a shared machine, where only paired rounds mean anything.
// Usage: node scripts/bench-tcp-ab.mjs <rounds> <seconds> <dir>[|<node flags>],<dir>[|<node flags>]…
//   each <dir> a built checkout (bin/, dist/, build/, asconfig.json; a copy of a base build will
//   do, with node_modules linked); `--no-semi` in the flags drops --max-semi-space-size=1.
// Default: the base copy at /tmp/tcpconn-base against this checkout, 3 rounds of 5 s.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const WT = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
const KIND = process.env.AB_KIND ?? 'tcp-conn';
const { protocolMeshYaml, GATEWAY_HTTP_PORT, GATEWAY_TCP_PORT, PROTO_GATEWAY } = await import(`${WT}/dist/bench/protocols/mesh-yaml.js`);
const { freePort, startReady, stopChild } = await import(`${WT}/dist/bench/e2e/processes.js`);
const rounds = Number(process.argv[2] ?? 3), dur = Number(process.argv[3] ?? 5);
const dirs = (process.argv[4] ?? `/tmp/tcpconn-base,${WT}`).split(',');
const extra = (process.env.AB_FLAGS ?? '').split(' ').filter(Boolean);
function rssMiB(pid) { return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024; }
function cpu(pid) { const s = readFileSync(`/proc/${pid}/stat`, 'utf8'); const f = s.slice(s.lastIndexOf(')') + 2).split(' '); return (Number(f[11]) + Number(f[12])) / 100; }
const srv = spawn(process.execPath, [`${WT}/dist/bench/protocols/servers.js`, "tcp"], { stdio: ["ignore", "pipe", "ignore"] });
process.on("exit", () => srv.kill());
const tcpUp = await new Promise((r) => { let o = ''; srv.stdout.on('data', (b) => { o += b; const m = /WASMESH_PROTO_SERVER (\d+)/.exec(o); if (m) r(Number(m[1])); }); });
const mesh = mkdtempSync(join(tmpdir(), 'tcpconn-ab-'));
for (const [n, t] of Object.entries(protocolMeshYaml({ h2: 1, grpc: 1, ws: 1, tcp: tcpUp }))) writeFileSync(join(mesh, n), t);
const proxies = [];
for (const spec of dirs) {
  const [d, flagText = ''] = spec.split('|');
  const own = flagText.split(' ').filter(Boolean);
  const [h, t, a] = [await freePort(), await freePort(), await freePort()];
  const { child } = await startReady(process.execPath, [...(own.includes('--no-semi') ? [] : ['--max-semi-space-size=1']), ...own.filter((f) => f !== '--no-semi'), ...extra, join(d, 'bin/wasmesh.js'), 'proxy', '-f', mesh, '--gateway', PROTO_GATEWAY, '--port-map', `${GATEWAY_HTTP_PORT}=127.0.0.1:${h},${GATEWAY_TCP_PORT}=127.0.0.1:${t}`, '--admin', `127.0.0.1:${a}`, '--workers', '1', '--access-log', 'off'], { url: `http://127.0.0.1:${a}/ready` }, d);
  proxies.push({ d: spec, child, port: t, admin: a });
}
// The measuring window opens at a fixed instant (the load's startAtEpochMs, after its warm-up);
// the proxy's CPU is read from /proc at that instant and when the window closes.
function load(p, d, w) {
  return new Promise((res) => {
    const startAt = Date.now() + 300 + w * 1000;
    const c = spawn(process.execPath, [`${WT}/dist/bench/protocols/load-client.js`, JSON.stringify({ kind: KIND, host: '127.0.0.1', port: p.port, connections: KIND === 'tcp-conn' ? 16 : 4, inFlight: KIND === 'tcp-conn' ? 1 : 4, durationS: d, warmupS: w, startAtEpochMs: startAt })], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '', c0 = null, used = null, rss = null;
    setTimeout(() => (c0 = cpu(p.child.pid)), startAt - Date.now());
    const end = setTimeout(() => { used = cpu(p.child.pid) - c0; rss = rssMiB(p.child.pid); }, startAt + d * 1000 - Date.now());
    c.stdout.on('data', (b) => { out += String(b); });
    c.on('exit', () => { clearTimeout(end); if (used === null) { used = cpu(p.child.pid) - c0; rss = rssMiB(p.child.pid); } const l = out.split('\n').find((x) => x.startsWith('WASMESH_PROTO_LOAD ')); const f = JSON.parse(l.slice(19)); res({ rate: f.rate, ops: f.ops, cpuMs: KIND === 'tcp-conn' ? used * 1e6 / f.ops : used * 1000 / (f.bytes / 1048576), p99: f.latencyMs.p99, rss }); });
  });
}
for (const p of proxies) await load(p, 0.5, 0);
const res = new Map(dirs.map((d) => [d, []]));
for (let r = 0; r < rounds; r++) {
  const order = r % 2 ? [...proxies].reverse() : proxies;
  for (const p of order) { const x = await load(p, dur, 1); res.get(p.d).push(x); console.log(r, p.d, KIND === 'tcp-conn' ? `${x.rate.toFixed(0)} conn/s` : `${(x.rate / 1048576).toFixed(1)} MiB/s`, x.cpuMs.toFixed(KIND === 'tcp-conn' ? 1 : 3), KIND === 'tcp-conn' ? 'CPU ms per 1000 conn' : 'CPU ms per MiB', 'p99', x.p99.toFixed(1), 'RSS MiB', x.rss.toFixed(1)); }
}
for (const [d, xs] of res) { const c = xs.map((x) => x.cpuMs).sort((a, b) => a - b); console.log('SUMMARY', d, 'CPU median', c[c.length >> 1].toFixed(KIND === 'tcp-conn' ? 1 : 3), 'all', c.map((v) => v.toFixed(KIND === 'tcp-conn' ? 0 : 3)).join(','), 'rate', xs.map((x) => (KIND === 'tcp-conn' ? x.rate : x.rate / 1048576).toFixed(0)).join(','), 'RSS MiB at window ends', xs.map((x) => x.rss.toFixed(0)).join(',')); }
// Connections each proxy took in all (warm-ups included): what an allocation profile divides by.
for (const p of proxies) {
  const text = await (await fetch(`http://127.0.0.1:${p.admin}/stats`)).text();
  const n = text.split('\n').filter((l) => /^tcp\..*\.downstream_cx_total: /.test(l)).reduce((sum, l) => sum + Number(l.split(': ')[1]), 0);
  console.log('CONNECTIONS', p.d, n);
}
for (const p of proxies) await stopChild(p.child, 5000);
srv.kill();
