#!/usr/bin/env node
// An experiment, not part of wasmesh: how much of a proxied TCP connection's CPU is Node's
// net.Socket layer. Two minimal TCP proxies with no routing, stats or policy, run against the
// bench:protocols tcp-conn load (connect, 5 bytes each way, close) next to the real wasmesh
// proxy, alternating, each proxy's CPU read from /proc over the load's window:
//   net — net.Server + net.connect, each side's 'data' written to the other, 'end' passed on as end();
//   net-polluted — the same, after Node's stream classes saw objects of many shapes (megamorphic);
//   raw — no net.Socket at all: Node's TCP handles (process.binding('tcp_wrap'), deprecated and
//         undocumented), reads into one buffer per side, writes, shutdown on EOF, close.
// Usage: node scripts/tcp-conn-ceiling.mjs <rounds> <seconds> (after npm run build).
// docs/tcp.md and BENCHMARKS.md ("TCP connections: where the CPU goes") give the figures.
import { spawn } from 'node:child_process';
import { createServer, connect, Socket } from 'node:net';
import { Duplex, Readable, Writable } from 'node:stream';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const role = process.argv[2];
if (role === 'net' || role === 'raw') {
  process.on('SIGTERM', () => process.exit(0));
  const upPort = Number(process.argv[3]);
  const ready = (port) => process.stdout.write(`CEILING_READY ${port}\n`);
  // With `polluted`: the net proxy after Node's stream classes have seen objects of many shapes,
  // as in any larger program (wasmesh's start-up runs child processes, fetch, file streams, HTTP):
  // their property loads turn megamorphic, which is what the question is about.
  if (process.argv[4] === 'polluted') pollute();
  if (role === 'net') netProxy(upPort, ready);
  else rawProxy(upPort, ready);
} else {
  await main();
}

function pollute() {
  const streams = [];
  for (let i = 0; i < 12; i++) {
    const opts = { highWaterMark: 1024 * (i + 1) };
    for (let j = 0; j <= i; j++) opts[`extra${j}`] = j;
    streams.push(new Duplex({ ...opts, read() {}, write(_c, _e, cb) { cb(); } }), new Readable({ ...opts, read() {} }), new Writable({ ...opts, write(_c, _e, cb) { cb(); } }), new Socket({ ...opts }));
  }
  for (const st of streams) {
    st.on('data', () => {});
    st.on('error', () => {});
    if (typeof st.write === 'function' && !(st instanceof Socket)) st.write(Buffer.from('x'));
    if (typeof st.push === 'function' && !(st instanceof Socket)) st.push(Buffer.from('x'));
    st.destroy();
  }
}

function netProxy(upPort, ready) {
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (down) => {
    const up = connect({ host: '127.0.0.1', port: upPort, allowHalfOpen: true, noDelay: true });
    up.on('connect', () => {
      down.on('data', (c) => up.write(c));
      up.on('data', (c) => down.write(c));
      down.on('end', () => up.end());
      up.on('end', () => down.end());
      down.resume();
    });
    down.on('error', () => up.destroy());
    up.on('error', () => down.destroy());
    down.on('close', () => up.destroy());
  });
  server.listen(0, '127.0.0.1', () => ready(server.address().port));
}

function rawProxy(upPort, ready) {
  const { TCP, TCPConnectWrap, constants: TCPConstants } = process.binding('tcp_wrap');
  const { WriteWrap, ShutdownWrap, streamBaseState, kReadBytesOrError, kLastWriteWasAsync } = process.binding('stream_wrap');
  const UV_EOF = process.binding('uv').UV_EOF;
  const free = [];
  // A side: its handle, its read buffer, its peer; closed once both directions ended (or on an error).
  function side(handle) {
    return { handle, buf: free.pop() ?? Buffer.allocUnsafeSlow(16 * 1024), peer: null, readEnded: false, shutDown: false, closed: false };
  }
  function closeBoth(s) {
    for (const x of [s, s.peer]) {
      if (x.closed) continue;
      x.closed = true;
      x.handle.close();
      free.push(x.buf);
    }
  }
  function maybeClose(s) {
    if (s.readEnded && s.shutDown && s.peer.readEnded && s.peer.shutDown) closeBoth(s);
  }
  function onWriteDone(status) {
    if (status < 0) return closeBoth(this.side);
    // The reader held for this write (its buffer was still being written) reads on.
    const src = this.side.peer;
    if (!src.closed && !src.readEnded) src.handle.readStart();
  }
  function onShutdown(status) {
    const s = this.side;
    if (status < 0) return closeBoth(s);
    s.shutDown = true;
    maybeClose(s);
  }
  function onread() {
    const s = this.side;
    const nread = streamBaseState[kReadBytesOrError];
    if (nread > 0) {
      const req = new WriteWrap();
      req.handle = s.peer.handle;
      req.side = s.peer;
      req.oncomplete = onWriteDone;
      req.async = false;
      const data = s.buf.subarray(0, nread);
      const err = s.peer.handle.writeBuffer(req, data);
      if (err !== 0) return closeBoth(s);
      // Not all written at once: the read buffer is still referenced, so this side stops reading until the write completes.
      if (streamBaseState[kLastWriteWasAsync]) {
        req.buffer = data;
        this.readStop();
      }
      return;
    }
    if (nread === 0) return;
    if (nread !== UV_EOF) return closeBoth(s);
    s.readEnded = true;
    this.readStop();
    const req = new ShutdownWrap();
    req.handle = s.peer.handle;
    req.side = s.peer;
    req.oncomplete = onShutdown;
    if (s.peer.handle.shutdown(req) !== 0) closeBoth(s);
  }
  function start(s) {
    s.handle.side = s;
    s.handle.onread = onread;
    s.handle.useUserBuffer(s.buf);
    s.handle.setNoDelay(true);
    s.handle.readStart();
  }
  function afterConnect(status) {
    const d = this.down;
    if (status < 0) {
      d.handle.close();
      this.upHandle.close();
      return;
    }
    const u = side(this.upHandle);
    d.peer = u;
    u.peer = d;
    start(d);
    start(u);
  }
  const server = new TCP(TCPConstants.SERVER);
  server.onconnection = (err, clientHandle) => {
    if (err) return;
    const down = side(clientHandle);
    const upHandle = new TCP(TCPConstants.SOCKET);
    const req = new TCPConnectWrap();
    req.oncomplete = afterConnect;
    req.address = '127.0.0.1';
    req.port = upPort;
    req.down = down;
    req.upHandle = upHandle;
    if (upHandle.connect(req, '127.0.0.1', upPort) !== 0) {
      clientHandle.close();
      upHandle.close();
    }
  };
  const out = {};
  if (server.bind('127.0.0.1', 0) !== 0 || server.listen(511) !== 0) throw new Error('raw proxy: bind/listen failed');
  server.getsockname(out);
  ready(out.port);
}

async function main() {
  const WT = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
  const { protocolMeshYaml, GATEWAY_HTTP_PORT, GATEWAY_TCP_PORT, PROTO_GATEWAY } = await import(`${WT}/dist/bench/protocols/mesh-yaml.js`);
  const { freePort, startReady, stopChild } = await import(`${WT}/dist/bench/e2e/processes.js`);
  const rounds = Number(process.argv[2] ?? 3), dur = Number(process.argv[3] ?? 5);
  const cpu = (pid) => { const s = readFileSync(`/proc/${pid}/stat`, 'utf8'); const f = s.slice(s.lastIndexOf(')') + 2).split(' '); return (Number(f[11]) + Number(f[12])) / 100; };
  const srv = spawn(process.execPath, [`${WT}/dist/bench/protocols/servers.js`, 'tcp'], { stdio: ['ignore', 'pipe', 'ignore'] });
  process.on('exit', () => srv.kill());
  const upPort = await new Promise((r) => { let o = ''; srv.stdout.on('data', (b) => { o += b; const m = /WASMESH_PROTO_SERVER (\d+)/.exec(o); if (m) r(Number(m[1])); }); });
  const proxies = [];
  for (const [kind, extra] of [['raw', ''], ['net', ''], ['net', 'polluted']]) {
    const child = spawn(process.execPath, ['--max-semi-space-size=1', new URL(import.meta.url).pathname, kind, String(upPort), extra], { stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise((r) => { let o = ''; child.stdout.on('data', (b) => { o += b; const m = /CEILING_READY (\d+)/.exec(o); if (m) r(Number(m[1])); }); });
    proxies.push({ name: extra === '' ? kind : `${kind}-${extra}`, child, port });
  }
  const mesh = mkdtempSync(join(tmpdir(), 'tcp-ceiling-'));
  for (const [n, t] of Object.entries(protocolMeshYaml({ h2: 1, grpc: 1, ws: 1, tcp: upPort }))) writeFileSync(join(mesh, n), t);
  const [h, t, a] = [await freePort(), await freePort(), await freePort()];
  const { child: wm } = await startReady(process.execPath, ['--max-semi-space-size=1', join(WT, 'bin/wasmesh.js'), 'proxy', '-f', mesh, '--gateway', PROTO_GATEWAY, '--port-map', `${GATEWAY_HTTP_PORT}=127.0.0.1:${h},${GATEWAY_TCP_PORT}=127.0.0.1:${t}`, '--admin', `127.0.0.1:${a}`, '--workers', '1', '--access-log', 'off'], { url: `http://127.0.0.1:${a}/ready` }, 'wasmesh');
  proxies.push({ name: 'wasmesh', child: wm, port: t });
  const load = (p, d, w) => new Promise((res) => {
    const startAt = Date.now() + 300 + w * 1000;
    const c = spawn(process.execPath, [`${WT}/dist/bench/protocols/load-client.js`, JSON.stringify({ kind: 'tcp-conn', host: '127.0.0.1', port: p.port, connections: 16, inFlight: 1, durationS: d, warmupS: w, startAtEpochMs: startAt })], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '', c0 = null, used = null;
    const t0 = setTimeout(() => (c0 = cpu(p.child.pid)), startAt - Date.now());
    const t1 = setTimeout(() => (used = cpu(p.child.pid) - c0), startAt + d * 1000 - Date.now());
    c.stdout.on('data', (b) => { out += String(b); });
    c.on('exit', () => {
      clearTimeout(t0);
      clearTimeout(t1);
      if (used === null) used = cpu(p.child.pid) - (c0 ?? cpu(p.child.pid));
      const f = JSON.parse(out.split('\n').find((x) => x.startsWith('WASMESH_PROTO_LOAD ')).slice(19));
      res({ rate: f.rate, cpuMs: used * 1e6 / f.ops, p99: f.latencyMs.p99, errors: f.errors ?? 0 });
    });
  });
  for (const p of proxies) await load(p, 0.5, 0);
  const res = new Map(proxies.map((p) => [p.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (const p of r % 2 ? [...proxies].reverse() : proxies) {
      const x = await load(p, dur, 1);
      res.get(p.name).push(x);
      console.log(r, p.name, `${x.rate.toFixed(0)} conn/s`, x.cpuMs.toFixed(1), 'CPU ms per 1000 conn', 'p99', x.p99.toFixed(1), 'errors', x.errors);
    }
  }
  for (const [n, xs] of res) { const c = xs.map((x) => x.cpuMs).sort((a, b) => a - b); console.log('SUMMARY', n, 'CPU median', c[c.length >> 1].toFixed(1), 'all', c.map((v) => v.toFixed(0)).join(','), 'p99', xs.map((x) => x.p99.toFixed(1)).join(',')); }
  for (const p of proxies) p.name === 'wasmesh' ? await stopChild(p.child, 5000) : p.child.kill();
  srv.kill();
}
