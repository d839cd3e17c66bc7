// The core HTTP/2 listener's connection protections as a ProxyServer configures them from its
// limits (`--limit`): a raw h2c client against the proxy's port. A lowered
// http2MaxOutboundControlFrames trips on a PING burst the default allows; downstream keepalive
// (off by default) closes a client that never ACKs its PING; both counted under Envoy's names in
// the proxy's root stats scope. The listener windows (downstreamHttp2Initial*WindowSize) are what
// both listener kinds announce.
import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import { ProxyServer } from '../../host/server/proxy-server.js';
import type { Limits } from '../../host/common/limits.js';
import { HTTP2_PREFACE } from '../../host/listener/protocol-sniff.js';
import { WireClient, frame, settings, PING, GOAWAY, SETTINGS, WINDOW_UPDATE, ACK } from '../listener/http2-core/h2-wire.js';
import { meshWith } from './traffic-helpers.js';

const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of closers.reverse()) await c();
  closers.length = 0;
});

async function coreProxy(limits: Partial<Limits>, http2Codec: 'core' | 'nghttp2' = 'core'): Promise<ProxyServer> {
  const p = new ProxyServer({ host: '127.0.0.1', port: 0, limits: { drainTimeoutMs: 100, ...limits }, istioMetrics: 'off', http2Codec });
  p.apply(meshWith([{ name: 'backend', ports: [1] }]), 1);
  await p.listen();
  closers.push(() => p.close());
  return p;
}

async function client(port: number): Promise<WireClient> {
  const sock = net.connect(port, '127.0.0.1');
  await new Promise<void>((r) => sock.once('connect', () => r()));
  const c = new WireClient(sock);
  closers.push(() => c.close());
  c.write(Buffer.from(HTTP2_PREFACE), settings());
  await c.until((f) => f.type === SETTINGS && (f.flags & ACK) === 0);
  c.write(frame(SETTINGS, ACK, 0));
  return c;
}

describe('core HTTP/2 listener limits through a ProxyServer', () => {
  it('http2MaxOutboundControlFrames=10: 50 PINGs at once trip it (GOAWAY ENHANCE_YOUR_CALM, http2.outbound_control_flood); the default answers them', async () => {
    const ping = frame(PING, 0, 0, Buffer.alloc(8));
    const strict = await coreProxy({ http2MaxOutboundControlFrames: 10 });
    const a = await client(strict.port);
    a.write(Buffer.concat(Array.from({ length: 50 }, () => ping)));
    const g = await a.goaway();
    expect(g.code).toBe(0xb);
    expect(strict.stats.downstream.get('http2.outbound_control_flood')).toBe(1);

    const plain = await coreProxy({});
    const b = await client(plain.port);
    b.write(Buffer.concat(Array.from({ length: 50 }, () => ping)));
    await b.until(() => b.frames.filter((f) => f.type === PING && (f.flags & ACK) !== 0).length === 50);
    expect(b.frames.some((f) => f.type === GOAWAY)).toBe(false);
  });

  it('downstreamHttp2KeepaliveIntervalMs: a client that never ACKs the PING is closed after the timeout, http2.keepalive_timeout', async () => {
    const p = await coreProxy({ downstreamHttp2KeepaliveIntervalMs: 50, downstreamHttp2KeepaliveTimeoutMs: 100 });
    const c = await client(p.port);
    await c.until(() => false, 2000).catch(() => undefined);
    expect(c.frames.some((f) => f.type === PING && (f.flags & ACK) === 0)).toBe(true);
    expect(c.closed).toBe(true);
    expect(p.stats.downstream.get('http2.keepalive_timeout')).toBe(1);
  });

  for (const codec of ['core', 'nghttp2'] as const) {
    it(`${codec}: downstreamHttp2InitialStreamWindowSize / ConnectionWindowSize are the SETTINGS_INITIAL_WINDOW_SIZE and the connection window announced; the defaults 1 MiB / 16 MiB`, async () => {
      const announced = async (p: ProxyServer): Promise<{ stream: number | undefined; connection: number }> => {
        const c = await client(p.port);
        await c.until((f) => f.type === WINDOW_UPDATE && f.stream === 0);
        const s = c.frames.find((f) => f.type === SETTINGS && (f.flags & ACK) === 0)!;
        let stream: number | undefined;
        for (let i = 0; i < s.payload.length; i += 6) if (s.payload.readUInt16BE(i) === 4) stream = s.payload.readUInt32BE(i + 2);
        const inc = c.frames.filter((f) => f.type === WINDOW_UPDATE && f.stream === 0).reduce((n, f) => n + (f.payload.readUInt32BE(0) & 0x7fffffff), 0);
        return { stream, connection: 65_535 + inc };
      };
      expect(await announced(await coreProxy({ downstreamHttp2InitialStreamWindowSize: 100_000, downstreamHttp2InitialConnectionWindowSize: 300_000 }, codec))).toEqual({ stream: 100_000, connection: 300_000 });
      expect(await announced(await coreProxy({}, codec))).toEqual({ stream: 1024 * 1024, connection: 16 * 1024 * 1024 });
    });
  }
});
