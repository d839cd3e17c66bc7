// An HTTP/2 upstream that goes away (GOAWAY last-stream-id 0) after receiving a request, through a
// ProxyServer: the stream above the last-stream-id was never processed, so the router retries it
// under `refused-stream` on a new connection (Envoy's refused-stream semantics,
// upstream_rq_retry), and the client gets the second connection's answer. Over both upstream
// codecs (node:http2's client sessions and the core codec's connection).
import { afterEach, describe, expect, it } from 'vitest';
import { ProxyServer } from '../../host/server/proxy-server.js';
import { retryPolicyFromIstio } from '../../host/config/translate/retry-policy.js';
import { HTTP2_UPSTREAM_CODECS } from '../../host/upstream/http2-upstream-codec.js';
import { request } from '../helpers/http-client.js';
import { meshWith } from './traffic-helpers.js';
import { frame, u32, DATA, HEADERS, GOAWAY, END_HEADERS, END_STREAM } from '../listener/http2-core/h2-wire.js';
import { rawH2Peer } from '../helpers/raw-h2-peer.js';

const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of closers.reverse()) await c();
  closers.length = 0;
});

/**
 * A raw h2c server (node:http2 cannot send a GOAWAY below a stream it received: nghttp2 raises the
 * last-stream-id): its first connection answers the first request with GOAWAY(NO_ERROR, last 0),
 * later connections answer 200 with a body.
 */
async function goingAway(): Promise<{ port: number; sessions: () => number; streams: number[] }> {
  const streams: number[] = [];
  const peer = await rawH2Peer((f, sock) => {
    if (f.type !== HEADERS) return;
    streams.push(f.conn);
    if (f.conn === 0) sock.write(frame(GOAWAY, 0, 0, Buffer.concat([u32(0), u32(0)])));
    else sock.write(Buffer.concat([frame(HEADERS, END_HEADERS, f.stream, Buffer.from([0x88])), frame(DATA, END_STREAM, f.stream, Buffer.from('from the second connection'))]));
  });
  closers.push(() => peer.close());
  return { port: peer.port, sessions: () => peer.conns.length, streams };
}

describe.each(HTTP2_UPSTREAM_CODECS)('an HTTP/2 upstream going away mid-request, upstream codec %s', (codec) => {
  it('the stream above GOAWAY\'s last-stream-id is retried under refused-stream on a new connection: 200, upstream_rq_retry 1', async () => {
    const up = await goingAway();
    const p = new ProxyServer({ host: '127.0.0.1', port: 0, limits: { drainTimeoutMs: 100 }, istioMetrics: 'off', http2UpstreamCodec: codec });
    const m = meshWith([{ name: 'backend', ports: [up.port] }], { retry: retryPolicyFromIstio({ attempts: 2, retryOn: 'refused-stream' }) });
    (m.clusters[0] as { protocol?: string }).protocol = 'HTTP2';
    p.apply(m, 1);
    await p.listen();
    closers.push(() => p.close());
    const r = await request(p.port, { path: '/once' });
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('from the second connection');
    expect(up.streams).toEqual([0, 1]); // the request on the first connection, then on the second
    expect(up.sessions()).toBe(2);
    const cs = p.stats.cluster('backend');
    expect(cs.get('upstream_rq_retry')).toBe(1);
    expect(cs.get('upstream_cx_close_notify')).toBe(1);
  });
});
