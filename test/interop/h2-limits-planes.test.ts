// One set of HTTP/2 limits, both planes: stock Envoy on the bootstrap `wasmesh envoy-config
// --limit …` writes (host/envoy/http2-limits.ts) and `wasmesh proxy --limit …` with the same
// flags. A raw h2c client (test/listener/http2-core/h2-wire.ts) then sees the same behaviour:
// - downstreamHttp2KeepaliveIntervalMs / TimeoutMs: a PING arrives and, never ACKed, the
//   connection is closed;
// - downstreamHttp2InitialStreamWindowSize / ConnectionWindowSize: the windows announced;
// - http2MaxOutboundControlFrames=10: 50 PINGs in one write are a flood, the connection closes
//   and `http2.outbound_control_flood` is counted (wasmesh after 10 ACKs and GOAWAY
//   ENHANCE_YOUR_CALM; Envoy after writing every ACK it serialised, without GOAWAY); without the
//   limit, both answer all 50 and stay open.
// Each plane's admin /stats (Envoy's text format on both) shows the same counter.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { loadConfig } from '../../host/config/index.js';
import { envoyBootstrap } from '../../host/envoy/bootstrap.js';
import type { Limits } from '../../host/common/limits.js';
import { HTTP2_PREFACE } from '../../host/listener/protocol-sniff.js';
import { envoyForTests } from '../helpers/envoy-for-tests.js';
import { WireClient, frame, settings, PING, GOAWAY, SETTINGS, WINDOW_UPDATE, ACK } from '../listener/http2-core/h2-wire.js';
import { envoyUnavailable, onFreePorts, ROOT, startAndWait, stopChild, wasmeshUnavailable } from './data-planes.js';
import { gatewayVirtualServiceYaml, gatewayYaml, yamlDocs } from '../../host/config/istio-yaml-builders.js';

const FILES = {
  'gw.yaml': yamlDocs(gatewayYaml('gw'), gatewayVirtualServiceYaml({ name: 'vs', gateway: 'gw', http: ['directResponse: {status: 200, body: {string: ok}}'] })),
};

const KEEPALIVE: Partial<Limits> = {
  downstreamHttp2KeepaliveIntervalMs: 300, downstreamHttp2KeepaliveTimeoutMs: 300,
  downstreamHttp2InitialStreamWindowSize: 100_000, downstreamHttp2InitialConnectionWindowSize: 300_000,
};
const FLOOD: Partial<Limits> = { http2MaxOutboundControlFrames: 10 };

interface Plane { port: number; admin: number; child: ChildProcess }

/** A counter from the plane's admin /stats (Envoy's text format on both planes), 0 when absent. */
async function counter(p: Plane, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${p.admin}/stats?filter=${encodeURIComponent(name.replace(/\./g, '\\.'))}`)).text();
  const m = new RegExp(`(?:^|\\.)${name.replace(/\./g, '\\.')}: (\\d+)`, 'm').exec(text);
  return m === null ? 0 : Number(m[1]);
}

async function startPlane(kind: 'envoy' | 'wasmesh', dir: string, limits: Partial<Limits>): Promise<Plane> {
  return onFreePorts(async (port, adminPort) => {
    if (kind === 'envoy') {
      const loaded = loadConfig([dir], { gateway: 'gw' });
      const { yaml } = envoyBootstrap(loaded, { listen: { host: '127.0.0.1', port }, admin: { host: '127.0.0.1', port: adminPort }, gateway: 'gw', limits });
      // Beside, not in, the Istio folder both planes read.
      const file = join(`${dir}-envoy`, `envoy-${port}.yaml`);
      writeFileSync(file, yaml);
      return { port, admin: adminPort, child: await startAndWait(envoyForTests('h2-limits-planes')!, ['-c', file, '--concurrency', '1', '--disable-hot-restart', '-l', 'warning'], adminPort, 'envoy') };
    }
    const args = [join(ROOT, 'bin', 'wasmesh.js'), 'proxy', '-f', dir, '--gateway', 'gw', '--listen', `127.0.0.1:${port}`, '--admin', `127.0.0.1:${adminPort}`,
      ...Object.entries(limits).flatMap(([k, v]) => ['--limit', `${k}=${v}`])];
    return { port, admin: adminPort, child: await startAndWait(process.execPath, args, adminPort, 'wasmesh proxy') };
  });
}

async function client(port: number): Promise<WireClient> {
  const sock = net.connect(port, '127.0.0.1');
  await new Promise<void>((r, j) => { sock.once('connect', () => r()); sock.once('error', j); });
  const c = new WireClient(sock);
  c.write(Buffer.from(HTTP2_PREFACE), settings());
  await c.until((f) => f.type === SETTINGS && (f.flags & ACK) === 0);
  c.write(frame(SETTINGS, ACK, 0));
  return c;
}

const ping = frame(PING, 0, 0, Buffer.alloc(8));
const acks = (c: WireClient): number => c.frames.filter((f) => f.type === PING && (f.flags & ACK) !== 0).length;

for (const kind of ['envoy', 'wasmesh'] as const) {
  const unavailable = kind === 'envoy' ? envoyUnavailable(false) : wasmeshUnavailable();
  describe.skipIf(unavailable !== null)(`${kind}: HTTP/2 limits set once (--limit)`, () => {
    let dir = '';
    let keepalive: Plane;
    let flood: Plane;
    let plain: Plane;
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'wasmesh-h2-limits-planes-'));
      for (const [name, text] of Object.entries(FILES)) writeFileSync(join(dir, name), text);
      mkdirSync(`${dir}-envoy`);
      [keepalive, flood, plain] = await Promise.all([startPlane(kind, dir, KEEPALIVE), startPlane(kind, dir, FLOOD), startPlane(kind, dir, {})]);
    }, 40_000);
    afterAll(async () => {
      await Promise.all([keepalive, flood, plain].filter((p) => p !== undefined).map((p) => stopChild(p.child)));
      rmSync(dir, { recursive: true, force: true });
      rmSync(`${dir}-envoy`, { recursive: true, force: true });
    });

    it('keepalive: a PING comes after about the interval; never ACKed, the connection is closed after the timeout', async () => {
      const c = await client(keepalive.port);
      const t0 = Date.now();
      const p = await c.until((f) => f.type === PING && (f.flags & ACK) === 0, 3000);
      expect(p).toBeDefined();
      const pingAt = Date.now() - t0;
      expect(pingAt).toBeGreaterThanOrEqual(150); // 300 ms less up to 15 % jitter, both planes
      await c.until(() => false, 3000).catch(() => undefined);
      expect(c.closed).toBe(true);
      expect(c.frames.some((f) => f.type === GOAWAY)).toBe(false); // both close without GOAWAY
      expect(await counter(keepalive, 'http2.keepalive_timeout')).toBe(1);
      c.close();
    });

    it('the listener windows: SETTINGS_INITIAL_WINDOW_SIZE and the connection window announced are the limits', async () => {
      const c = await client(keepalive.port);
      await c.until((f) => f.type === WINDOW_UPDATE && f.stream === 0);
      const s = c.frames.find((f) => f.type === SETTINGS && (f.flags & ACK) === 0)!;
      let stream: number | undefined;
      for (let i = 0; i < s.payload.length; i += 6) if (s.payload.readUInt16BE(i) === 4) stream = s.payload.readUInt32BE(i + 2);
      const inc = c.frames.filter((f) => f.type === WINDOW_UPDATE && f.stream === 0).reduce((n, f) => n + (f.payload.readUInt32BE(0) & 0x7fffffff), 0);
      expect({ stream, connection: 65_535 + inc }).toEqual({ stream: 100_000, connection: 300_000 });
      c.close();
    });

    it('the plain plane sends no PING of its own within a second (keepalive is off by default)', async () => {
      const c = await client(plain.port);
      await new Promise((r) => setTimeout(r, 1000));
      expect(c.frames.some((f) => f.type === PING && (f.flags & ACK) === 0)).toBe(false);
      expect(c.closed).toBe(false);
      c.close();
    });

    it('http2MaxOutboundControlFrames=10: 50 PINGs in one write close the connection, http2.outbound_control_flood; the default answers all 50', async () => {
      const a = await client(flood.port);
      a.write(Buffer.concat(Array.from({ length: 50 }, () => ping)));
      await a.until(() => false, 3000).catch(() => undefined);
      expect(a.closed).toBe(true);
      // How the connection ends differs: wasmesh stops at the limit and sends GOAWAY
      // ENHANCE_YOUR_CALM; Envoy (1.3x) writes the ACKs already serialised and closes without one.
      const g = a.frames.find((f) => f.type === GOAWAY);
      if (kind === 'wasmesh') {
        expect(acks(a)).toBeLessThanOrEqual(10);
        expect(g?.payload.readUInt32BE(4)).toBe(0xb);
      } else {
        expect(g).toBeUndefined();
      }
      expect(await counter(flood, 'http2.outbound_control_flood')).toBe(1);
      a.close();

      const b = await client(plain.port);
      b.write(Buffer.concat(Array.from({ length: 50 }, () => ping)));
      await b.until(() => acks(b) === 50, 3000);
      expect(b.frames.some((f) => f.type === GOAWAY)).toBe(false);
      b.close();
      expect(await counter(plain, 'http2.outbound_control_flood')).toBe(0);
    });
  });
}
