// The core codec's upstream HTTP/2 connection against a hand-written server on a raw socket: what
// a well-behaved node:http2 server never sends. The connection waits for the server's SETTINGS
// (connect timeout otherwise) and ACKs them; a broken HPACK block, a PUSH_PROMISE (push is off)
// and a WINDOW_UPDATE past 2^31-1 are connection errors: GOAWAY with the RFC code, the streams fail.
// And the same connection over the cluster's TLS transport socket, ALPN h2, to a node:http2 server.
import { describe, it, expect, afterEach } from 'vitest';
import type { Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Core } from '../../../../host/core/wasm.js';
import { CoreHttp1Codec } from '../../../../host/upstream/conn-pool/http1/core-http1-codec.js';
import { ClusterPool } from '../../../../host/upstream/cluster-pool.js';
import { RAW_TRANSPORT } from '../../../../host/upstream/transport/raw.js';
import { LocalBreaker } from '../../../../host/upstream/connection-breaker.js';
import type { UpstreamStream } from '../../../../host/upstream/conn-pool/conn-pool.js';
import { Stats } from '../../../../host/telemetry/stats.js';
import { resolveLimits, type Limits } from '../../../../host/common/limits.js';
import { http2ConnectionSettings } from '../../../../host/core/h2/h2-connection-settings.js';
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import { TlsTransportSocketFactory } from '../../../../host/upstream/transport/tls.js';
import { leaf, meshRoot, spiffeId } from '../../../helpers/test-certs.js';
import { acquire, run, until } from './h2-pool-driver.js';
import { rawH2Peer, type RawH2Peer, type PeerFrame } from '../../../helpers/raw-h2-peer.js';
import { frame, u32, DATA, HEADERS, SETTINGS, RST_STREAM, GOAWAY, WINDOW_UPDATE, ACK, END_HEADERS, COMPRESSION_ERROR, PROTOCOL_ERROR, FLOW_CONTROL_ERROR } from '../../../listener/http2-core/h2-wire.js';

const core = new Core();
const codec = new CoreHttp1Codec(core);
const PUSH_PROMISE = 5;
let servers: Http2SecureServer[] = [];
let peers: RawH2Peer[] = [];
let pools: ClusterPool[] = [];

afterEach(async () => {
  for (const p of pools) p.destroyAll();
  for (const p of peers) await p.close();
  for (const s of servers) await new Promise<void>((r) => s.close(() => r()));
  servers = [];
  peers = [];
  pools = [];
});

/** A raw server that sends its SETTINGS (unless `sendSettings` is 'never') and never ACKs the client's: the test's frames go through `onFrame`. */
async function rawServer(onFrame: (f: PeerFrame, sock: Socket) => void, sendSettings: 'reply' | 'never' = 'reply'): Promise<RawH2Peer> {
  const p = await rawH2Peer(onFrame, { sendSettings, ackSettings: false });
  peers.push(p);
  return p;
}

function makePool(connectTimeoutMs = 2000, limits: Partial<Limits> = {}): ClusterPool {
  const l = resolveLimits(limits);
  const pool = new ClusterPool('c', new Stats().cluster('c'), l, codec, RAW_TRANSPORT, true, core);
  pool.configure({ connectTimeoutMs, idleTimeoutMs: 60_000, tcpKeepalive: null, http2: http2ConnectionSettings(l, 'upstream') }, new LocalBreaker({ maxConnections: 16, maxPending: 16, maxRequestsPerConnection: 0 }));
  pools.push(pool);
  return pool;
}

const goawayCode = (seen: PeerFrame[]): number | undefined => {
  const g = seen.find((f) => f.type === GOAWAY);
  return g?.payload.readUInt32BE(4);
};

describe('CoreH2UpstreamConnection against a raw server', () => {
  it("is established only once the server's SETTINGS arrived: none within the connect timeout is connect_timeout", async () => {
    const s = await rawServer(() => {}, 'never');
    const pool = makePool(150);
    expect(await acquire(pool, s.port)).toBe('connect_timeout');
    // It did send its own preface and SETTINGS (push off).
    expect(s.seen[0]!.type).toBe(SETTINGS);
    expect(s.seen[0]!.payload.subarray(0, 6)).toEqual(Buffer.from([0, 2, 0, 0, 0, 0]));
  });

  it("ACKs the server's SETTINGS, then sends the request HEADERS", async () => {
    const s = await rawServer(() => {});
    const pool = makePool();
    const st = await acquire(pool, s.port);
    expect(typeof st).toBe('object');
    void run(st as UpstreamStream);
    await until(() => s.seen.some((f) => f.type === HEADERS));
    const ackAt = s.seen.findIndex((f) => f.type === SETTINGS && (f.flags & ACK) !== 0);
    expect(ackAt).toBeGreaterThan(0);
    expect(s.seen.find((f) => f.type === HEADERS)!.stream).toBe(1);
  });

  /** SETTINGS_INITIAL_WINDOW_SIZE (0x4) the client announced, and its connection WINDOW_UPDATE increment. */
  const announced = (seen: PeerFrame[]): { stream: number | undefined; connection: number | undefined } => {
    const st = seen.find((f) => f.type === SETTINGS && (f.flags & ACK) === 0)!;
    let stream: number | undefined;
    for (let at = 0; at + 6 <= st.payload.length; at += 6) if (st.payload.readUInt16BE(at) === 4) stream = st.payload.readUInt32BE(at + 2);
    const wu = seen.find((f) => f.type === WINDOW_UPDATE && f.stream === 0);
    return { stream, connection: wu === undefined ? undefined : 65_535 + wu.payload.readUInt32BE(0) };
  };

  it('announces the windows of upstreamHttp2InitialStreamWindowSize / ConnectionWindowSize: 1 MiB / 16 MiB by default', async () => {
    const s = await rawServer(() => {}, 'never');
    expect(await acquire(makePool(100), s.port)).toBe('connect_timeout');
    expect(announced(s.seen)).toEqual({ stream: 1024 * 1024, connection: 16 * 1024 * 1024 });
    const t = await rawServer(() => {}, 'never');
    expect(await acquire(makePool(100, { upstreamHttp2InitialStreamWindowSize: 100_000, upstreamHttp2InitialConnectionWindowSize: 300_000 }), t.port)).toBe('connect_timeout');
    expect(announced(t.seen)).toEqual({ stream: 100_000, connection: 300_000 });
    // At the protocol's least (65535) there is no connection WINDOW_UPDATE to send.
    const u = await rawServer(() => {}, 'never');
    expect(await acquire(makePool(100, { upstreamHttp2InitialStreamWindowSize: 65_535, upstreamHttp2InitialConnectionWindowSize: 65_535 }), u.port)).toBe('connect_timeout');
    expect(announced(u.seen)).toEqual({ stream: 65_535, connection: undefined });
  });

  it('holds the server to the stream window it announced: response DATA past it resets the stream FLOW_CONTROL_ERROR', async () => {
    const window = 70_000;
    const s = await rawServer((f, sock) => {
      if (f.type !== HEADERS) return;
      sock.write(frame(HEADERS, END_HEADERS, f.stream, Buffer.from([0x88]))); // :status 200
      // window + 1 bytes in frames of 16 KiB, without waiting for a WINDOW_UPDATE.
      for (let sent = 0; sent <= window; sent += 16_384) sock.write(frame(DATA, 0, f.stream, Buffer.alloc(Math.min(16_384, window + 1 - sent))));
    });
    const pool = makePool(2000, { upstreamHttp2InitialStreamWindowSize: window });
    const st = await acquire(pool, s.port);
    const stream = st as UpstreamStream;
    // A handler that does not consume: no window goes back.
    stream.pauseResponse?.();
    const failed = run(stream);
    await until(() => s.seen.some((f) => f.type === RST_STREAM));
    expect(s.seen.find((f) => f.type === RST_STREAM)!.payload.readUInt32BE(0)).toBe(FLOW_CONTROL_ERROR);
    expect(await failed).toBe('reset_mid_response');
  });

  it.each([
    ['a broken HPACK block', (sock: Socket, id: number) => sock.write(frame(HEADERS, END_HEADERS, id, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))), COMPRESSION_ERROR],
    ['a PUSH_PROMISE (push is off)', (sock: Socket, id: number) => sock.write(frame(PUSH_PROMISE, END_HEADERS, id, Buffer.concat([u32(2), Buffer.from([0x82])]))), PROTOCOL_ERROR],
    ['a WINDOW_UPDATE past 2^31-1', (sock: Socket) => sock.write(frame(WINDOW_UPDATE, 0, 0, u32(0x7fffffff))), FLOW_CONTROL_ERROR],
  ] as const)('%s is a connection error: GOAWAY with its code, the stream fails reset_before_head', async (_name, send, code) => {
    const s = await rawServer((f, sock) => {
      if (f.type === HEADERS) send(sock, f.stream);
    });
    const pool = makePool();
    const st = await acquire(pool, s.port);
    expect(await run(st as UpstreamStream)).toBe('reset_before_head');
    await until(() => goawayCode(s.seen) !== undefined);
    expect(goawayCode(s.seen)).toBe(code);
  });

  it("refuses a stream handed out before the server's GOAWAY and started after it (retriable), instead of sending it", async () => {
    const s = await rawServer(() => {});
    const pool = makePool();
    const st = (await acquire(pool, s.port)) as UpstreamStream;
    s.conns[0]!.write(frame(GOAWAY, 0, 0, Buffer.concat([u32(0), u32(0)])));
    await new Promise((r) => setTimeout(r, 50));
    expect(await run(st)).toBe('refused_stream');
    expect(s.seen.some((f) => f.type === HEADERS)).toBe(false);
  });

  it('runs over the TLS transport socket with ALPN h2 (a node:http2 TLS server), many streams on one connection', async () => {
    const cert = leaf({ ns: 'shop', sa: 'cart' });
    const server = createSecureServer({ cert: cert.certPem, key: cert.keyPem, ALPNProtocols: ['h2'] });
    servers.push(server);
    let sessions = 0;
    server.on('session', () => void sessions++);
    server.on('stream', (stream, headers) => {
      stream.respond({ ':status': 200, 'x-path': String(headers[':path']) });
      stream.end('secure');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    const stats = new Stats().cluster('c');
    const factory = new TlsTransportSocketFactory({ mode: 'SIMPLE', caCertificates: meshRoot().cert, subjectAltNames: [spiffeId('shop', 'cart')], alpn: ['h2'] }, { stats, log: () => {}, cluster: 'c' });
    const pool = new ClusterPool('c', stats, resolveLimits({}), codec, factory, true, core);
    pools.push(pool);
    const outcomes = await Promise.all(Array.from({ length: 5 }, async () => run((await acquire(pool, port)) as UpstreamStream)));
    expect(outcomes).toEqual(['ended', 'ended', 'ended', 'ended', 'ended']);
    expect(sessions).toBe(1);
  });
});

describe('the request body end', () => {
  const END_STREAM = 0x1;
  /** A POST on `st` with a body; `send` writes it and ends it as the router would. */
  const post = (st: UpstreamStream, send: (st: UpstreamStream) => void): void => {
    st.start(Buffer.from('POST /svc.Echo/Say HTTP/1.1\r\nhost: svc\r\ncontent-type: application/grpc\r\n\r\n'), {
      onResponseHead: () => {}, onResponseData: () => true, onResponseEnd: () => {}, onUpstreamFailure: () => {}, onRequestDrain: () => {},
    }, { isHead: false, chunked: true, hasBody: true });
    send(st);
  };

  it("ends the stream on the body's last DATA frame when the end comes in the same turn (a gRPC message: one frame, as Envoy sends it)", async () => {
    const s = await rawServer(() => {});
    const st = await acquire(makePool(), s.port);
    post(st as UpstreamStream, (x) => {
      x.writeBody(Buffer.from('message'));
      x.endRequest();
    });
    await until(() => s.seen.some((f) => f.type === DATA && (f.flags & END_STREAM) !== 0));
    const data = s.seen.filter((f) => f.type === DATA);
    expect(data).toHaveLength(1);
    expect(data[0]!.payload.toString()).toBe('message');
  });

  it('sends an empty DATA frame with END_STREAM when the end comes after the body was written out', async () => {
    const s = await rawServer(() => {});
    const st = await acquire(makePool(), s.port);
    post(st as UpstreamStream, (x) => x.writeBody(Buffer.from('message')));
    await until(() => s.seen.some((f) => f.type === DATA));
    (st as UpstreamStream).endRequest();
    await until(() => s.seen.some((f) => f.type === DATA && (f.flags & END_STREAM) !== 0));
    const data = s.seen.filter((f) => f.type === DATA);
    expect(data.map((f) => [f.payload.length, f.flags & END_STREAM])).toEqual([[7, 0], [0, END_STREAM]]);
  });
});
