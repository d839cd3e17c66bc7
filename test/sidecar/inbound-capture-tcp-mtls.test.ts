// TCP inside mesh mTLS to a sidecar's inbound, as Istio carries it, over real loopback sockets
// with certificates from a real mesh CA: InboundCapture (host/sidecar/inbound-capture.ts) tells
// mesh TLS to an app port apart by the ALPN its ClientHello offers (inbound-alpn.ts): Istio's TCP
// client offers `istio-peer-exchange, istio` and is terminated and proxied as TCP to the app, with
// Istio's TCP metadata exchange when `istio-peer-exchange` is agreed; its HTTP client offers
// `istio-http/1.1, istio, http/1.1` and goes to the HTTP connection manager. The destination
// reporter's istio_tcp_* then say `mutual_tls`, the client's SPIFFE ID and the client's workload.
// The client here is what an Istio sidecar's upstream side does on such a connection.
import { createServer, type Server, type Socket } from 'node:net';
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
  tcp: TcpProxyServer;
  accepted: () => number;
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
    const server: Server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s: Socket) => capture.adopt(s, port));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    open.push({ close: () => new Promise((r) => { server.close(r); }) });
    return (server.address() as { port: number }).port;
  };
  const port = await front(appPort);
  // An undeclared port (1: nothing listens there, the passthrough's connect fails after the exchange).
  const passthroughPort = await front(1);
  return {
    port, passthroughPort: passthroughPort, tcp, accepted: () => app.accepted, http: handed, warnings,
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

describe('bad exchanges are closed and counted, the app never reached', () => {
  test('a wrong magic (the peer runs no exchange)', async () => {
    const p = await pod('STRICT');
    const t = await talk(p.port, ISTIO_TCP, 'hello', Buffer.from('GET / HT'));
    expect(t.reply).toBe('');
    expect(p.accepted()).toBe(0);
    expect(p.stat('sidecar_inbound.metadata_exchange.initial_header_not_found')).toBe(1);
    expect(p.warnings.join('\n')).toMatch(/\(spiffe:\/\/cluster.local\/ns\/shop\/sa\/client\) closed: metadata exchange failed: magic 0x47455420, expected 0x3d230467/);
  });

  test('metadata over maxPeerMetadataBytes', async () => {
    const p = await pod('STRICT', { maxPeerMetadataBytes: 64 });
    const t = await talk(p.port, ISTIO_TCP, 'hello');
    expect(t.reply).toBe('');
    expect(p.accepted()).toBe(0);
    expect(p.stat('sidecar_inbound.metadata_exchange.too_large')).toBe(1);
    expect(p.warnings.join('\n')).toMatch(/metadata of \d+ bytes, over the limit of 64/);
  });

  test('a magic with bytes that are no Any', async () => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(EXCHANGE_MAGIC, 0);
    head.writeUInt32BE(3, 4);
    const p = await pod('STRICT');
    const t = await talk(p.port, ISTIO_TCP, 'hello', Buffer.concat([head, Buffer.from([0xff, 0xff, 0xff])]));
    expect(t.reply).toBe('');
    expect(p.stat('sidecar_inbound.metadata_exchange.header_not_found')).toBe(1);
    expect(p.accepted()).toBe(0);
  });

  test('a client that closes before its exchange is whole', async () => {
    const p = await pod('STRICT');
    await talk(p.port, ISTIO_TCP, '', Buffer.from([0x3d, 0x23]));
    expect(p.stat('sidecar_inbound.metadata_exchange.closed')).toBe(1);
    expect(p.accepted()).toBe(0);
  });
});
