// Slow clients through the real listener. A request trickled at 1 KB/s (head, then body) is
// served whole as long as bytes keep moving: shown with the stream idle timeout lowered to 2 s
// and a 10 s trickle (five timeouts long), instead of 30 s at the 5-minute default; the same
// setup with a 3 s stall is cut, so the timeout is live. A client that reads its response
// slowly gets all of it through backpressure; one that stops reading is cut after the timeout.
//
// And at the default limits, a 30 KB upload trickled at 1 KB/s for 30 s (the listener this one
// replaced cut every such upload after ~10 s, with no answer, logged as the client's fault).
import { describe, it, expect, afterEach } from 'vitest';
import net from 'node:net';
import { createHash } from 'node:crypto';
import { exchange, forwarded, startRig, HOST, type Rig, type Step } from './wire-harness.js';
import { startRawUpstream, type RawUpstream } from '../../helpers/upstream-servers.js';
import { mesh } from '../../helpers/mesh-fixtures.js';
import { ProxyServer } from '../../../host/server/proxy-server.js';

const STREAM_IDLE_MS = 2000;
const H = `Host: ${HOST}\r\n`;

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function rig(): Promise<Rig> {
  const r = await startRig({ limits: { streamIdleTimeoutMs: STREAM_IDLE_MS } });
  cleanups.push(() => r.close());
  return r;
}

/** `bytes` as 100-byte writes every 100 ms (1 KB/s), with `stallMs` after the first `stallAfter` bytes. */
function trickle(bytes: string, stallAfter = Infinity, stallMs = 0): Step[] {
  const steps: Step[] = [];
  for (let at = 0; at < bytes.length; at += 100) {
    if (at === stallAfter) steps.push({ pause: stallMs });
    steps.push(bytes.slice(at, at + 100), { pause: 100 });
  }
  return steps;
}

// A ~2 KB head (20 fields of 90 bytes) and an 8 KB body: 10 KB, 10 s at 1 KB/s.
const FIELDS = Array.from({ length: 20 }, (_, i) => `x-pad-${String(i).padStart(2, '0')}: ${'p'.repeat(78)}`);
const BODY = Array.from({ length: 8000 }, (_, i) => String.fromCharCode(0x61 + (i % 26))).join('');
const HEAD = `POST /upload HTTP/1.1\r\n${H}${FIELDS.map((f) => `${f}\r\n`).join('')}Content-Length: ${BODY.length}\r\n\r\n`;

describe('HTTP/1.1 listener: slow clients', () => {
  it(`a 10 KB request trickled at 1 KB/s for 10 s (head, then body) is served whole under a ${STREAM_IDLE_MS / 1000} s stream idle timeout`, async () => {
    const r = await rig();
    const started = Date.now();
    const ex = await exchange(r.proxy.port, trickle(HEAD + BODY), 1, { maxMs: 20_000 });
    const took = Date.now() - started;
    expect(ex.responses.map((x) => x.status)).toEqual([200]);
    expect(took).toBeGreaterThan(9_500);
    expect(r.upstream.requests.map((x) => x.bytes)).toEqual([
      forwarded('POST /upload HTTP/1.1', [`host: ${HOST}`, ...FIELDS], `content-length: ${BODY.length}`, BODY),
    ]);
    expect(r.proxy.stats.downstream.get('downstream_rq_idle_timeout')).toBe(0);
  }, 30_000);

  it('at the default limits, a 30 KB upload trickled at 1 KB/s for 30 s is served whole', async () => {
    const r = await startRig();
    cleanups.push(() => r.close());
    const body = BODY.repeat(4).slice(0, 28_000); // + the ~2 KB head: 30 KB, 30 s
    const head = HEAD.replace(`Content-Length: ${BODY.length}`, `Content-Length: ${body.length}`);
    const started = Date.now();
    const ex = await exchange(r.proxy.port, trickle(head + body), 1, { maxMs: 45_000 });
    const took = Date.now() - started;
    expect(ex.responses.map((x) => x.status)).toEqual([200]);
    expect(took).toBeGreaterThan(29_000);
    expect(r.upstream.requests.map((x) => x.bytes)).toEqual([
      forwarded('POST /upload HTTP/1.1', [`host: ${HOST}`, ...FIELDS], `content-length: ${body.length}`, body),
    ]);
    expect(r.proxy.stats.downstream.get('downstream_rq_idle_timeout')).toBe(0);
  }, 60_000);

  it('the same upload stalled for 3 s after 1 KB of body is cut: 408, nothing whole upstream', async () => {
    const r = await rig();
    const ex = await exchange(r.proxy.port, trickle(HEAD + BODY, HEAD.length + 1000 - ((HEAD.length + 1000) % 100), 3000), 1, { maxMs: 20_000 });
    expect(ex.responses.map((x) => x.status)).toEqual([408]);
    expect(ex.closedByServer).toBe(true);
    expect(r.upstream.requests).toEqual([]);
    expect(r.proxy.stats.downstream.get('downstream_rq_idle_timeout')).toBe(1);
  }, 30_000);

  it('a head stalled for 3 s half-way is cut by the listener: 408, nothing upstream', async () => {
    const r = await rig();
    const ex = await exchange(r.proxy.port, trickle(HEAD, 1000, 3000), 1, { maxMs: 20_000 });
    expect(ex.responses.map((x) => [x.status, x.body])).toEqual([[408, 'stream_idle_timeout']]);
    expect(ex.closedByServer).toBe(true);
    expect(r.upstream.requests).toEqual([]);
    expect(r.upstream.connections.filter((k) => k.leftover !== '')).toEqual([]);
  }, 30_000);
});

// ── Slow readers ─────────────────────────────────────────────────────────────────────────

const BIG = 16 * 1024 * 1024;
const PATTERN = Buffer.alloc(BIG);
for (let i = 0; i < BIG; i += 4) PATTERN.writeUInt32LE(i, i);
const BIG_SHA = createHash('sha256').update(PATTERN).digest('hex');

/** A ProxyServer in front of an upstream that answers every request with 16 MiB. */
async function bigResponseProxy(): Promise<{ proxy: ProxyServer; upstream: RawUpstream }> {
  const upstream = await startRawUpstream((s) => {
    s.once('data', () => {
      s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${BIG}\r\n\r\n`);
      s.write(PATTERN);
    });
  });
  const proxy = new ProxyServer({ host: '127.0.0.1', port: 0, limits: { streamIdleTimeoutMs: STREAM_IDLE_MS, drainTimeoutMs: 100 } });
  proxy.apply(mesh([{ name: 'backend', ports: [upstream.port] }], [{ name: 'big', dests: [{ cluster: 'backend' }] }], [HOST]), 1);
  await proxy.listen();
  cleanups.push(() => upstream.close(), () => proxy.close());
  return { proxy, upstream };
}

/**
 * Sends a GET and reads the answer at most `budget` bytes per `everyMs` (pausing the socket in
 * between), stopping altogether for `stallMs` once `stallAfter` bytes arrived; resolves with the
 * body's length and hash when the response is whole or the connection closes.
 */
function slowRead(port: number, budget: number, everyMs: number, stallAfter = Infinity, stallMs = 0): Promise<{ length: number; sha: string; closed: boolean; ms: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const s = net.connect(port, '127.0.0.1', () => s.write(`GET /big HTTP/1.1\r\n${H}\r\n`));
    const chunks: Buffer[] = [];
    let total = 0;
    let inWindow = 0;
    let stalled = false;
    let stallDone = false;
    let bodyStart = -1;
    const tick = setInterval(() => {
      inWindow = 0;
      if (!stalled && !s.destroyed) s.resume();
    }, everyMs);
    const done = (closed: boolean): void => {
      clearInterval(tick);
      s.destroy();
      const all = Buffer.concat(chunks);
      const body = bodyStart >= 0 ? all.subarray(bodyStart) : Buffer.alloc(0);
      resolve({ length: body.length, sha: createHash('sha256').update(body).digest('hex'), closed, ms: Date.now() - started });
    };
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      total += d.length;
      inWindow += d.length;
      if (bodyStart < 0) {
        const all = Buffer.concat(chunks);
        const end = all.indexOf('\r\n\r\n');
        if (end >= 0) bodyStart = end + 4;
      }
      if (bodyStart >= 0 && total - bodyStart >= BIG) return done(false);
      if (!stallDone && total >= stallAfter) {
        stalled = stallDone = true;
        s.pause();
        setTimeout(() => {
          stalled = false;
          s.resume();
        }, stallMs);
      } else if (inWindow >= budget) s.pause();
    });
    s.on('error', () => {});
    s.on('close', () => done(true));
  });
}

describe('HTTP/1.1 listener: slow readers', () => {
  it('a client reading 16 MiB at 4 MiB/s (1 MiB per 250 ms) gets all of it, byte for byte', async () => {
    const { proxy } = await bigResponseProxy();
    const got = await slowRead(proxy.port, 1024 * 1024, 250);
    expect(got.closed).toBe(false);
    expect(got.length).toBe(BIG);
    expect(got.sha).toBe(BIG_SHA);
    expect(got.ms).toBeGreaterThan(2_500);
    expect(proxy.stats.downstream.get('downstream_rq_idle_timeout')).toBe(0);
  }, 30_000);

  it(`a client that stops reading for 3 s is cut after the ${STREAM_IDLE_MS / 1000} s stream idle timeout, never given a short body as whole`, async () => {
    const { proxy } = await bigResponseProxy();
    const got = await slowRead(proxy.port, 1024 * 1024, 250, 2 * 1024 * 1024, 3000);
    expect(got.closed).toBe(true);
    expect(got.length).toBeLessThan(BIG);
    expect(proxy.stats.downstream.get('downstream_rq_idle_timeout')).toBe(1);
  }, 30_000);
});
