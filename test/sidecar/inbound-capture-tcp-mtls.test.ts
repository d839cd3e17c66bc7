// TCP inside mesh mTLS to a sidecar's inbound, as Istio carries it, over real loopback sockets
// with certificates from a real mesh CA: InboundCapture (host/sidecar/inbound-capture.ts) tells
// mesh TLS to an app port apart by the ALPN its ClientHello offers (inbound-alpn.ts): Istio's TCP
// client offers `istio-peer-exchange, istio` and is terminated and proxied as TCP to the app, with
// Istio's TCP metadata exchange when `istio-peer-exchange` is agreed; its HTTP client offers
// `istio-http/1.1, istio, http/1.1` and goes to the HTTP connection manager. The destination
// reporter's istio_tcp_* then say `mutual_tls`, the client's SPIFFE ID and the client's workload.
// The client here is what an Istio sidecar's upstream side does on such a connection.
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { TcpProxyServer } from '../../host/server/tcp-proxy-server.js';
import type { ProxyServer } from '../../host/server/proxy-server.js';
import { Stats } from '../../host/telemetry/stats.js';
import { inboundMesh } from '../../host/sidecar/inbound-mesh.js';
import { withInboundPassthrough } from '../../host/sidecar/inbound-passthrough.js';
import { InboundCapture } from '../../host/sidecar/inbound-capture.js';
import { inboundTransportConfig } from '../../host/server/inbound-transport.js';
import { WorkloadCertificateCell } from '../../host/tls/workload-certificate-cell.js';
import type { WorkloadCertificate } from '../../host/tls/workload-certificate.js';
import type { EffectiveMtlsMode } from '../../host/model/inbound-mtls.js';
import { workloadMetadata } from '../../host/model/workload-metadata.js';
import { encodeExchange, ExchangeReader, EXCHANGE_MAGIC, type ExchangedPeer } from '../../host/telemetry/tcp-metadata-exchange.js';
import { testMeshCa, type TestMeshCa } from '../helpers/mesh-ca.js';
import { workloadCertificate } from '../helpers/workload-certs.js';
import { tcpEchoServer } from '../helpers/tcp-echo.js';

let ca: TestMeshCa;
let client: WorkloadCertificate;
beforeAll(async () => {
  ca = await testMeshCa();
  client = await workloadCertificate(ca, 'shop', 'client');
});

const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

const CART = workloadMetadata({ name: 'cart', namespace: 'shop', labels: { app: 'cart', version: 'v2' }, nodeId: 'sidecar~10.1.0.7~cart-5d8.shop~shop.svc.cluster.local', principal: 'spiffe://cluster.local/ns/shop/sa/cart' });
const CLIENT = workloadMetadata({ name: 'client', namespace: 'shop', labels: { app: 'client', version: 'v1' }, nodeId: 'sidecar~10.1.0.9~client-77f.shop~shop.svc.cluster.local' });

interface Pod {
  /** The front door's port: every connection to it is taken as one to the app port. */
  port: number;
  /** Another front door: connections to it are taken as ones to a port the workload does not declare (inbound passthrough to the app). */
  passthroughPort: number;
  /** A third: connections to it are taken as ones to the capture's own port (the inbound port itself). */
  ownPort: number;
  tcp: TcpProxyServer;
  accepted: () => number;
  /** Bytes the app received. */
  appBytes: () => number;
  /** Connections the HTTP connection manager was handed. */
  http: Socket[];
  warnings: string[];
  stat(name: string): number;
  /** The istio_tcp_* series' label texts with their counts. */
  series(): Array<{ labels: string; opened: number; closed: number; received: number; sent: number }>;
}

/** An app (`greeting`: it speaks first), the inbound byte proxy and InboundCapture under `mode`. */
async function pod(mode: EffectiveMtlsMode, opts: { greeting?: string; maxPeerMetadataBytes?: number } = {}): Promise<Pod> {
  const app = await tcpEchoServer('app');
  if (opts.greeting !== undefined) app.on('connection', (s: Socket) => s.write(opts.greeting!));
  let appBytes = 0;
  app.on('connection', (s: Socket) => s.on('data', (d: Buffer) => { appBytes += d.length; }));
  open.push({ close: () => new Promise((r) => { app.close(r); }) });
  const appPort = app.port;
  const warnings: string[] = [];
  const tcp = new TcpProxyServer({ host: '127.0.0.1', port: 15006, gatewayPort: 15006, adopt: true, authorization: true, seed: 1, limits: { drainTimeoutMs: 100 }, operationalLog: (_l, m) => warnings.push(m), istioMetrics: 'destination', workload: CART, tcpReportingMs: 0 });
  const mesh = withInboundPassthrough(inboundMesh([appPort]));
  tcp.apply(mesh, 1);
  open.push(tcp);
  const listener = new Stats();
  const handed: Socket[] = [];
  // The HTTP connection manager's side is not under test: it records what it is handed.
  const http = { stats: listener, adoptConnection: (s: Socket) => { handed.push(s); s.destroy(); } } as unknown as ProxyServer;
  const cell = new WorkloadCertificateCell();
  cell.set(await workloadCertificate(ca, 'shop', 'cart'));
  const capture = new InboundCapture({ host: '127.0.0.1', port: 0, appPorts: [appPort], http, tcp, maxConnections: 0, workloadCertificates: cell, workload: CART, log: (_l, m) => warnings.push(m), ...(opts.maxPeerMetadataBytes !== undefined ? { maxPeerMetadataBytes: opts.maxPeerMetadataBytes } : {}) });
  capture.apply(mesh, mode === 'DISABLE' ? { kind: 'raw' } : inboundTransportConfig(mode));
  open.push(capture);
  const front = async (port: number): Promise<number> => {
    const sockets = new Set<Socket>();
    const server: Server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s: Socket) => {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
      capture.adopt(s, port);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    // Closed with whatever is still open (a handshake a failed client left), not after its timeout.
    open.push({ close: () => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(r); }) });
    return (server.address() as { port: number }).port;
  };
  const port = await front(appPort);
  // An undeclared port (1: nothing listens there, the passthrough's connect fails after the exchange).
  const passthroughPort = await front(1);
  // The capture is not listening here: its own port is 0.
  const ownPort = await front(capture.port);
  return {
    port, passthroughPort: passthroughPort, ownPort, tcp, accepted: () => app.accepted, appBytes: () => appBytes, http: handed, warnings,
    stat: (name) => Object.fromEntries([...tcp.stats.records(), ...listener.records()].map((r) => [r.name, r.value]))[name] ?? 0,
    series: () => tcp.istio!.snapshot(),
  };
}

/** Waits (at most 5 s) until the proxy has closed its side too: the client sees the close first. */
async function closed(p: Pod, count: number): Promise<void> {
  for (let i = 0; i < 500 && (p.series()[0]?.closed ?? 0) < count; i++) await new Promise((r) => setTimeout(r, 10));
}

interface Talk {
  alpn: string | false;
  /** The server's exchange, when one came first. */
  peer: ExchangedPeer | null;
  /** What came after it, until the close. */
  reply: string;
}

/**
 * An Istio sidecar's upstream side: mTLS with `alpn` offered; on `istio-peer-exchange`, the
 * exchange `ours` (bytes) written before the payload and the server's read off the reply.
 */
function talk(port: number, alpn: string[], payload: string, ours: Buffer | null = encodeExchange(CLIENT)): Promise<Talk> {
  return new Promise((resolve) => {
    const s: TLSSocket = tlsConnect({ host: '127.0.0.1', port, ca: ca.rootsPem, cert: client.certChainPem, key: client.keyPem, checkServerIdentity: () => undefined, ALPNProtocols: alpn, allowHalfOpen: true });
    const reader = new ExchangeReader(65536);
    let peer: ExchangedPeer | null = null;
    let reply = '';
    let exchanging = false;
    s.once('secureConnect', () => {
      exchanging = s.alpnProtocol === 'istio-peer-exchange';
      if (exchanging && ours !== null) s.write(ours);
      s.end(payload);
    });
    s.on('data', (d: Buffer) => {
      if (!exchanging) return void (reply += d.toString());
      const r = reader.push(d);
      if (r.kind === 'done') {
        exchanging = false;
        peer = r.peer;
        reply += r.rest.toString();
      } else if (r.kind === 'error') reply += `<${r.error}>`;
    });
    s.on('end', () => s.end());
    s.on('error', () => {});
    s.on('close', () => resolve({ alpn: s.alpnProtocol ?? false, peer, reply }));
    setTimeout(() => s.destroy(), 8000).unref();
  });
}

const ISTIO_TCP = ['istio-peer-exchange', 'istio'];
const ISTIO_HTTP = ['istio-http/1.1', 'istio', 'http/1.1'];

describe('mesh mTLS to the inbound port itself (no app port dialled), as Envoy\'s virtualInbound takes it', () => {
  test('Istio\'s TCP ALPN: terminated and proxied as TCP to the first app port, with the exchange', async () => {
    const p = await pod('STRICT');
    const t = await talk(p.ownPort, ISTIO_TCP, 'own');
    expect(t.alpn).toBe('istio-peer-exchange');
    expect(t.peer?.id).toBe(CART.nodeId);
    expect(t.reply).toBe('app:own');
    expect(p.accepted()).toBe(1);
    expect(p.http).toHaveLength(0);
    expect(p.stat('sidecar_inbound.sniffed_tcp_tls')).toBe(1);
    await closed(p, 1);
    expect(p.series()[0]!.labels).toContain('connection_security_policy="mutual_tls"');
  });

  test('Istio\'s HTTP ALPN and plaintext stay with the HTTP connection manager', async () => {
    const p = await pod('STRICT');
    await talk(p.ownPort, ISTIO_HTTP, 'GET / HTTP/1.1\r\n\r\n');
    await new Promise<void>((resolve) => {
      const s = netConnect(p.ownPort, '127.0.0.1', () => s.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n'));
      s.on('close', () => resolve());
      s.on('error', () => {});
    });
    expect(p.http).toHaveLength(2);
    expect(p.accepted()).toBe(0);
    expect(p.stat('sidecar_inbound.sniffed_tcp_tls')).toBe(0);
  });
});

describe('TCP inside mesh mTLS to a declared app port', () => {
  test('Istio\'s TCP ALPN: terminated, the metadata exchanged both ways, the app reached as TCP; istio_tcp_* name the peer, its principal and mutual_tls', async () => {
    const p = await pod('STRICT');
    const t = await talk(p.port, ISTIO_TCP, 'hello');
    expect(t.alpn).toBe('istio-peer-exchange');
    expect(t.peer?.id).toBe(CART.nodeId);
    expect(t.peer?.labels).toMatchObject({ workload: 'cart', namespace: 'shop', app: 'cart', version: 'v2' });
    expect(t.reply).toBe('app:hello');
    expect(p.accepted()).toBe(1);
    expect(p.http).toHaveLength(0);
    expect(p.stat('sidecar_inbound.sniffed_tcp_tls')).toBe(1);
    expect(p.stat('sidecar_inbound.metadata_exchange.alpn_protocol_found')).toBe(1);
    expect(p.stat('sidecar_inbound.metadata_exchange.metadata_added')).toBe(1);
    await closed(p, 1);
    const [s] = p.series();
    expect(p.series()).toHaveLength(1);
    expect(s).toMatchObject({ opened: 1, closed: 1, received: 5, sent: 9 });
    expect(s!.labels).toContain('reporter="destination"');
    expect(s!.labels).toContain('source_workload="client",source_canonical_service="client",source_canonical_revision="v1",source_workload_namespace="shop",source_principal="spiffe://cluster.local/ns/shop/sa/client",source_app="client",source_version="v1"');
    expect(s!.labels).toContain('destination_workload="cart"');
    expect(s!.labels).toContain('connection_security_policy="mutual_tls"');
  });

  test('a second connection from the same peer counts in the same series', async () => {
    const p = await pod('STRICT');
    expect((await talk(p.port, ISTIO_TCP, 'a')).reply).toBe('app:a');
    expect((await talk(p.port, ISTIO_TCP, 'bb')).reply).toBe('app:bb');
    await closed(p, 2);
    expect(p.series()).toHaveLength(1);
    expect(p.series()[0]).toMatchObject({ opened: 2, closed: 2, received: 3 });
  });

  test('ALPN `istio` alone: TCP without an exchange — mutual_tls and the principal, the peer\'s workload unknown', async () => {
    const p = await pod('STRICT');
    const t = await talk(p.port, ['istio'], 'plain');
    expect(t.alpn).toBe('istio');
    expect(t.reply).toBe('app:plain');
    expect(p.stat('sidecar_inbound.metadata_exchange.alpn_protocol_not_found')).toBe(1);
    const labels = p.series()[0]!.labels;
    expect(labels).toContain('source_workload="unknown"');
    expect(labels).toContain('source_principal="spiffe://cluster.local/ns/shop/sa/client"');
    expect(labels).toContain('connection_security_policy="mutual_tls"');
  });

  test('TLS offering no ALPN is TCP, as Istio\'s TCP chain takes it: terminated and proxied to the app, no exchange, mutual_tls and the principal', async () => {
    const p = await pod('STRICT');
    const t = await talk(p.port, [], 'bare');
    expect(t.alpn).toBe(false);
    expect(t.reply).toBe('app:bare');
    expect(p.accepted()).toBe(1);
    expect(p.http).toHaveLength(0);
    expect(p.stat('sidecar_inbound.sniffed_tcp_tls')).toBe(1);
    expect(p.stat('sidecar_inbound.sniffed_http')).toBe(0);
    expect(p.stat('sidecar_inbound.metadata_exchange.alpn_protocol_not_found')).toBe(1);
    await closed(p, 1);
    const labels = p.series()[0]!.labels;
    expect(labels).toContain('source_principal="spiffe://cluster.local/ns/shop/sa/client"');
    expect(labels).toContain('connection_security_policy="mutual_tls"');
  });

  test('Istio\'s HTTP ALPN goes to the HTTP connection manager, not the byte proxy', async () => {
    const p = await pod('STRICT');
    await talk(p.port, ISTIO_HTTP, 'GET / HTTP/1.1\r\n\r\n');
    expect(p.http).toHaveLength(1);
    expect(p.accepted()).toBe(0);
    expect(p.stat('sidecar_inbound.sniffed_http')).toBe(1);
    expect(p.stat('sidecar_inbound.sniffed_tcp_tls')).toBe(0);
  });

  test('a server-first app: the proxy writes its exchange at once, so a client that waits for it before writing its own still gets the greeting', async () => {
    const p = await pod('STRICT', { greeting: 'HELLO' });
    const t = await new Promise<Talk>((resolve) => {
      const s = tlsConnect({ host: '127.0.0.1', port: p.port, ca: ca.rootsPem, cert: client.certChainPem, key: client.keyPem, checkServerIdentity: () => undefined, ALPNProtocols: ISTIO_TCP });
      const reader = new ExchangeReader(65536);
      let peer: ExchangedPeer | null = null;
      let reply = '';
      s.on('data', (d: Buffer) => {
        if (peer !== null) reply += d.toString();
        else {
          const r = reader.push(d);
          if (r.kind !== 'done') return;
          peer = r.peer;
          reply += r.rest.toString();
          // Istio's upstream filter writes its own when it first reads (onData).
          s.write(encodeExchange(CLIENT));
        }
        if (reply === 'HELLO') s.destroy();
      });
      s.on('error', () => {});
      s.on('close', () => resolve({ alpn: 'istio-peer-exchange', peer, reply }));
      setTimeout(() => s.destroy(), 8000).unref();
    });
    expect(t.peer?.labels.workload).toBe('cart');
    expect(t.reply).toBe('HELLO');
  });

  test('the inbound passthrough (an undeclared port) runs the exchange too', async () => {
    const p = await pod('STRICT');
    const t = await talk(p.passthroughPort, ISTIO_TCP, 'x');
    expect(t.peer?.labels.workload).toBe('cart');
    // The passthrough goes to the original destination, which no app listens on here: what is checked is the exchange.
    expect(p.stat('sidecar_inbound.passthrough_tls')).toBe(1);
    expect(p.stat('sidecar_inbound.metadata_exchange.alpn_protocol_found')).toBe(1);
  });
});

describe('a peer without the exchange is not waited for; a bad exchange is closed and counted, the app gets no byte of it', () => {
  test('no magic (the peer sends no exchange though it agreed): its bytes are application data, its workload unknown, its certificate names it', async () => {
    const p = await pod('STRICT');
    const t = await talk(p.port, ISTIO_TCP, 'hello', Buffer.from('GET / HT'));
    expect(t.reply).toBe('app:GET / HThello');
    expect(p.stat('sidecar_inbound.metadata_exchange.initial_header_not_found')).toBe(1);
    expect(p.warnings).toEqual([]);
    await closed(p, 1);
    const labels = p.series()[0]!.labels;
    expect(labels).toContain('source_workload="unknown"');
    expect(labels).toContain('source_principal="spiffe://cluster.local/ns/shop/sa/client"');
  });

  test('metadata over maxPeerMetadataBytes', async () => {
    const p = await pod('STRICT', { maxPeerMetadataBytes: 64 });
    const t = await talk(p.port, ISTIO_TCP, 'hello');
    expect(t.reply).toBe('');
    expect(p.appBytes()).toBe(0);
    expect(p.stat('sidecar_inbound.metadata_exchange.too_large')).toBe(1);
    expect(p.warnings.join('\n')).toMatch(/\(spiffe:\/\/cluster.local\/ns\/shop\/sa\/client\) closed: metadata exchange failed: metadata of \d+ bytes, over the limit of 64/);
  });

  test('the default limit (60 KiB, maxPeerMetadataBytes) refuses a larger header from its length alone', async () => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(EXCHANGE_MAGIC, 0);
    head.writeUInt32BE(60 * 1024 + 1, 4);
    const p = await pod('STRICT');
    const t = await talk(p.port, ISTIO_TCP, 'hello', head);
    expect(t.reply).toBe('');
    expect(p.appBytes()).toBe(0);
    expect(p.stat('sidecar_inbound.metadata_exchange.too_large')).toBe(1);
    expect(p.warnings.join('\n')).toMatch(/metadata of 61441 bytes, over the limit of 61440/);
  });

  test('a magic with bytes that are no Any', async () => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(EXCHANGE_MAGIC, 0);
    head.writeUInt32BE(3, 4);
    const p = await pod('STRICT');
    const t = await talk(p.port, ISTIO_TCP, 'hello', Buffer.concat([head, Buffer.from([0xff, 0xff, 0xff])]));
    expect(t.reply).toBe('');
    expect(p.stat('sidecar_inbound.metadata_exchange.header_not_found')).toBe(1);
    expect(p.appBytes()).toBe(0);
    expect(p.warnings.join('\n')).toMatch(/metadata exchange failed: not a serialized google.protobuf.Any/);
  });

  test('a client that closes within its exchange: counted closed, logged, the connection closed', async () => {
    const p = await pod('STRICT');
    await talk(p.port, ISTIO_TCP, '', Buffer.from([0x3d, 0x23, 0x04, 0x67, 0x00]));
    expect(p.stat('sidecar_inbound.metadata_exchange.closed')).toBe(1);
    expect(p.appBytes()).toBe(0);
    expect(p.warnings.join('\n')).toMatch(/closed: metadata exchange failed: the peer closed within its metadata exchange \(5 bytes of it\)/);
  });

  test('a client that closes within the first 4 bytes sent data, not an exchange', async () => {
    const p = await pod('STRICT');
    const t = await talk(p.port, ISTIO_TCP, '', Buffer.from([0x3d, 0x23]));
    expect(t.reply).toBe('app:=#');
    expect(p.stat('sidecar_inbound.metadata_exchange.initial_header_not_found')).toBe(1);
  });

  test('property-like: the exchange split at every byte, with data in the last write, names the peer and hands on only the data', async () => {
    const p = await pod('STRICT');
    const whole = encodeExchange(CLIENT);
    const t = await new Promise<string>((resolve) => {
      const s = tlsConnect({ host: '127.0.0.1', port: p.port, ca: ca.rootsPem, cert: client.certChainPem, key: client.keyPem, checkServerIdentity: () => undefined, ALPNProtocols: ISTIO_TCP, allowHalfOpen: true });
      let got = '';
      s.once('secureConnect', async () => {
        s.setNoDelay(true);
        for (let i = 0; i < whole.length - 1; i += 7) {
          s.write(whole.subarray(i, Math.min(i + 7, whole.length - 1)));
          await new Promise((r) => setImmediate(r));
        }
        s.end(Buffer.concat([whole.subarray(whole.length - 1), Buffer.from('tail')]));
      });
      s.on('data', (d: Buffer) => (got += d.toString('latin1')));
      s.on('end', () => s.end());
      s.on('error', () => {});
      s.on('close', () => resolve(got));
      setTimeout(() => s.destroy(), 8000).unref();
    });
    expect(t.endsWith('app:tail')).toBe(true);
    expect(p.appBytes()).toBe(4);
    await closed(p, 1);
    expect(p.series()[0]!.labels).toContain('source_workload="client"');
  });
});

describe('wasmesh to wasmesh: the outbound byte proxy originates Istio\'s TCP mTLS', () => {
  const CLUSTER = 'outbound|5005||cart.shop.svc.cluster.local';

  /** A client sidecar's outbound byte proxy whose cart cluster is ISTIO_MUTUAL to `port`; returns the port its app dials. */
  async function clientSide(port: number, san = 'spiffe://cluster.local/ns/shop/sa/cart', maxPeerMetadataBytes?: number): Promise<{ port: number; tcp: TcpProxyServer; warnings: string[] }> {
    const cell = new WorkloadCertificateCell();
    cell.set(client);
    const warnings: string[] = [];
    const tcp = new TcpProxyServer({ host: '127.0.0.1', port: 15001, gatewayPort: 15001, adopt: true, seed: 1, limits: { drainTimeoutMs: 100, ...(maxPeerMetadataBytes !== undefined ? { maxPeerMetadataBytes } : {}) }, istioMetrics: 'source', workload: { ...CLIENT, principal: 'spiffe://cluster.local/ns/shop/sa/client' }, workloadCertificates: cell, tcpReportingMs: 0, operationalLog: (_l, m) => warnings.push(m) });
    tcp.apply({
      virtualHosts: [],
      clusters: [{ name: CLUSTER, host: 'cart.shop.svc.cluster.local', port: 5005, subset: null, endpoints: [{ address: '127.0.0.1', port, labels: {}, weight: 1 }], lb: 'ROUND_ROBIN', tls: { mode: 'ISTIO_MUTUAL', auto: true, subjectAltNames: [san] } }],
    }, 1);
    open.push(tcp);
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s: Socket) => tcp.handle(s, { address: '10.96.0.5', port: 5005, service: { host: 'cart.shop.svc.cluster.local', cluster: CLUSTER } }));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    open.push({ close: () => new Promise((r) => { server.close(r); }) });
    return { port: (server.address() as { port: number }).port, tcp, warnings };
  }

  /** The app's plaintext exchange through the client side: `text`, half-close, all until the close. */
  function plain(port: number, text: string): Promise<string> {
    return new Promise((resolve) => {
      const s = netConnect({ host: '127.0.0.1', port, allowHalfOpen: true });
      let got = '';
      s.once('connect', () => s.end(text));
      s.on('data', (d: Buffer) => (got += d.toString()));
      s.on('end', () => s.end());
      s.on('error', () => {});
      s.on('close', () => resolve(got));
      setTimeout(() => s.destroy(), 8000).unref();
    });
  }

  test('both reporters name the other workload: istio_tcp_* with the peer\'s labels, principals and bytes on each side', async () => {
    const server = await pod('STRICT');
    const c = await clientSide(server.port);
    const got = await plain(c.port, 'ping');
    expect(got).toBe('app:ping');
    await closed(server, 1);
    for (let i = 0; i < 500 && (c.tcp.istio!.snapshot()[0]?.closed ?? 0) < 1; i++) await new Promise((r) => setTimeout(r, 10));
    const src = c.tcp.istio!.snapshot();
    expect(src).toHaveLength(1);
    expect(src[0]).toMatchObject({ opened: 1, closed: 1, received: 4, sent: 8 });
    expect(src[0]!.labels).toContain('reporter="source"');
    expect(src[0]!.labels).toContain('source_workload="client"');
    for (const l of ['destination_workload="cart"', 'destination_workload_namespace="shop"', 'destination_principal="spiffe://cluster.local/ns/shop/sa/cart"', 'destination_app="cart"', 'destination_version="v2"', 'destination_service="cart.shop.svc.cluster.local"']) expect(src[0]!.labels).toContain(l);
    expect(src[0]!.labels).toContain('connection_security_policy="unknown"');
    const dst = server.series();
    expect(dst[0]).toMatchObject({ opened: 1, closed: 1, received: 4, sent: 8 });
    expect(dst[0]!.labels).toContain('source_workload="client"');
    expect(dst[0]!.labels).toContain('source_principal="spiffe://cluster.local/ns/shop/sa/client"');
    expect(dst[0]!.labels).toContain('connection_security_policy="mutual_tls"');
    const stat = (name: string): number => c.tcp.stats.records().find((r) => r.name === name)?.value ?? 0;
    expect(stat(`cluster.${CLUSTER}.ssl.handshake`)).toBe(1);
    expect(stat(`cluster.${CLUSTER}.metadata_exchange.alpn_protocol_found`)).toBe(1);
  });

  test('a server-first app through both proxies: the greeting arrives though the client app never writes', async () => {
    const server = await pod('STRICT', { greeting: 'READY' });
    const c = await clientSide(server.port);
    const got = await new Promise<string>((resolve) => {
      const s = netConnect({ host: '127.0.0.1', port: c.port });
      let data = '';
      s.on('data', (d: Buffer) => {
        data += d.toString();
        if (data === 'READY') s.destroy();
      });
      s.on('error', () => {});
      s.on('close', () => resolve(data));
      setTimeout(() => s.destroy(), 8000).unref();
    });
    expect(got).toBe('READY');
  });

  test('an upstream whose certificate is not the expected identity fails the connect (UF), nothing reaches the app', async () => {
    const server = await pod('STRICT');
    const c = await clientSide(server.port, 'spiffe://cluster.local/ns/shop/sa/someone-else');
    expect(await plain(c.port, 'ping')).toBe('');
    expect(server.accepted()).toBe(0);
    const stat = (name: string): number => c.tcp.stats.records().find((r) => r.name === name)?.value ?? 0;
    expect(stat(`cluster.${CLUSTER}.upstream_cx_connect_fail`)).toBe(1);
    expect(c.tcp.istio!.snapshot()[0]!.labels).toContain('response_flags="UF"');
  });

  test('an upstream whose metadata is over the byte proxy\'s maxPeerMetadataBytes closes the connection (too_large)', async () => {
    const server = await pod('STRICT');
    const c = await clientSide(server.port, undefined, 64);
    expect(await plain(c.port, 'ping')).toBe('');
    const stat = (name: string): number => c.tcp.stats.records().find((r) => r.name === name)?.value ?? 0;
    expect(stat(`cluster.${CLUSTER}.metadata_exchange.too_large`)).toBe(1);
    expect(c.warnings.join('\n')).toMatch(/metadata exchange failed: metadata of \d+ bytes, over the limit of 64/);
  });

  test('a server that writes its exchange only in front of its reply (as the Envoy plane\'s filter can): not waited for, its workload named', async () => {
    const { createServer: createTlsServer } = await import('node:tls');
    const cart = await workloadCertificate(ca, 'shop', 'cart');
    const sockets: Socket[] = [];
    const lazy = createTlsServer({ cert: cart.certChainPem, key: cart.keyPem, ca: ca.rootsPem, requestCert: true, ALPNProtocols: ['istio-peer-exchange', 'istio'] }, (s) => {
      sockets.push(s);
      s.on('error', () => {});
      const reader = new ExchangeReader(65536);
      let read = false;
      s.on('data', (d: Buffer) => {
        let data = d;
        if (!read) {
          const r = reader.push(d);
          if (r.kind !== 'done') return;
          read = true;
          data = r.rest;
        }
        // The reply carries the exchange in front (client-first: only after the client's bytes).
        if (data.length > 0) s.write(Buffer.concat([encodeExchange(CART), Buffer.from(`lazy:${data.toString()}`)]));
      });
      s.on('end', () => s.end());
    });
    await new Promise<void>((r) => lazy.listen(0, '127.0.0.1', r));
    open.push({ close: () => new Promise((r) => { for (const s of sockets) s.destroy(); lazy.close(r); }) });
    const c = await clientSide((lazy.address() as { port: number }).port);
    expect(await plain(c.port, 'ping')).toBe('lazy:ping');
    for (let i = 0; i < 500 && (c.tcp.istio!.snapshot()[0]?.closed ?? 0) < 1; i++) await new Promise((r) => setTimeout(r, 10));
    const src = c.tcp.istio!.snapshot();
    expect(src[0]).toMatchObject({ opened: 1, closed: 1, received: 4, sent: 9 });
    expect(src[0]!.labels).toContain('destination_workload="cart"');
    expect(src[0]!.labels).toContain('destination_version="v2"');
  });

  test('an upstream that sends no exchange (though it agreed): its bytes are data, its certificate names it', async () => {
    // A server that agrees on istio-peer-exchange with a mesh certificate but answers with bytes that are no exchange.
    const { createServer: createTlsServer } = await import('node:tls');
    const cart = await workloadCertificate(ca, 'shop', 'cart');
    const bogus = createTlsServer({ cert: cart.certChainPem, key: cart.keyPem, ca: ca.rootsPem, requestCert: true, ALPNProtocols: ['istio-peer-exchange', 'istio'] }, (s) => { sockets.push(s); s.on('error', () => {}); s.resume(); s.write('NOT AN EXCHANGE'); });
    const sockets: Socket[] = [];
    await new Promise<void>((r) => bogus.listen(0, '127.0.0.1', r));
    open.push({ close: () => new Promise((r) => { for (const s of sockets) s.destroy(); bogus.close(r); }) });
    const c = await clientSide((bogus.address() as { port: number }).port);
    expect(await plain(c.port, 'ping')).toBe('NOT AN EXCHANGE');
    const stat = (name: string): number => c.tcp.stats.records().find((r) => r.name === name)?.value ?? 0;
    expect(stat(`cluster.${CLUSTER}.metadata_exchange.initial_header_not_found`)).toBe(1);
    expect(c.warnings).toEqual([]);
    for (let i = 0; i < 500 && (c.tcp.istio!.snapshot()[0]?.closed ?? 0) < 1; i++) await new Promise((r) => setTimeout(r, 10));
    const labels = c.tcp.istio!.snapshot()[0]!.labels;
    expect(labels).toContain('destination_workload="unknown"');
    expect(labels).toContain('destination_principal="spiffe://cluster.local/ns/shop/sa/cart"');
  });

  test('an upstream whose exchange is malformed closes the connection, counted on the cluster and logged', async () => {
    const { createServer: createTlsServer } = await import('node:tls');
    const cart = await workloadCertificate(ca, 'shop', 'cart');
    const head = Buffer.alloc(8);
    head.writeUInt32BE(EXCHANGE_MAGIC, 0);
    head.writeUInt32BE(3, 4);
    const sockets: Socket[] = [];
    const bogus = createTlsServer({ cert: cart.certChainPem, key: cart.keyPem, ca: ca.rootsPem, requestCert: true, ALPNProtocols: ['istio-peer-exchange', 'istio'] }, (s) => { sockets.push(s); s.on('error', () => {}); s.write(Buffer.concat([head, Buffer.from([0xff, 0xff, 0xff]), Buffer.from('data')])); });
    await new Promise<void>((r) => bogus.listen(0, '127.0.0.1', r));
    open.push({ close: () => new Promise((r) => { for (const s of sockets) s.destroy(); bogus.close(r); }) });
    const c = await clientSide((bogus.address() as { port: number }).port);
    expect(await plain(c.port, 'ping')).toBe('');
    const stat = (name: string): number => c.tcp.stats.records().find((r) => r.name === name)?.value ?? 0;
    expect(stat(`cluster.${CLUSTER}.metadata_exchange.header_not_found`)).toBe(1);
    expect(c.warnings.join('\n')).toMatch(/metadata exchange failed: not a serialized google.protobuf.Any/);
  });
});
