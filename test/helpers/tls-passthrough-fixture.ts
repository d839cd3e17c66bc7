// The TLS passthrough scenario shared by the wasmesh and the stock Envoy tests: two real
// node:https backends with their own certificates (a.example.com, b.example.com; each records
// the SNI it saw), the Istio YAML of a gateway with a PASSTHROUGH port 443 routed by `tls:` rules
// (a, b, and split.example.com 50/50) and an AUTO_PASSTHROUGH port 15443, and a client that
// opens a TLS session with a given SNI through a port and makes one HTTP/1.1 request over it.
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import { X509Certificate } from 'node:crypto';
import { leaf, meshRoot, type CertFiles } from './test-certs.js';
import { yamlAddress } from './tcp-yaml.js';

export interface PassthroughBackends {
  readonly servers: Record<'a' | 'b', HttpsServer>;
  readonly certs: Record<'a' | 'b', CertFiles>;
  /** SNI names each backend saw (its SNICallback): the ClientHello reached it untouched. */
  readonly seen: Record<'a' | 'b', string[]>;
  fingerprint(name: 'a' | 'b'): string;
  close(): Promise<void>;
}

/** The two backends on `host` (127.0.0.1 unless said; `::1` for the IPv6 tests). */
export async function startPassthroughBackends(host = '127.0.0.1'): Promise<PassthroughBackends> {
  const seen: Record<'a' | 'b', string[]> = { a: [], b: [] };
  const certs = {} as Record<'a' | 'b', CertFiles>;
  const servers = {} as Record<'a' | 'b', HttpsServer>;
  for (const name of ['a', 'b'] as const) {
    const c = leaf({ dns: [`${name}.example.com`], noSpiffe: true });
    certs[name] = c;
    const server = createHttpsServer({
      cert: c.certPem, key: c.keyPem,
      SNICallback: (servername, cb) => {
        seen[name].push(servername);
        cb(null, null as never); // the default context: this server's one certificate
      },
    }, (req, res) => res.end(`backend-${name} ${req.url}`));
    await new Promise<void>((r) => server.listen(0, host, r));
    servers[name] = server;
  }
  return {
    servers, certs, seen,
    fingerprint: (name) => new X509Certificate(certs[name].certPem).fingerprint256,
    close: async () => {
      for (const s of Object.values(servers)) await new Promise((r) => s.close(r));
    },
  };
}

const portOf = (s: HttpsServer): number => (s.address() as { port: number }).port;
const addressOf = (s: HttpsServer): string => (s.address() as { address: string }).address;

/** The Gateway's port numbers (default 80, 443, 15443) and the address its servers bind (Istio's `bind`; none by default). */
export interface PassthroughPorts {
  http: number;
  pass: number;
  auto: number;
  bind?: string;
}

export function passthroughYaml(b: PassthroughBackends, ports: PassthroughPorts = { http: 80, pass: 443, auto: 15443 }): string {
  const bind = ports.bind !== undefined ? `\n    bind: ${ports.bind}` : '';
  const se = (name: 'a' | 'b'): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: svc-${name}}
spec:
  hosts: [${name}.example.com]
  ports:
  - {number: 443, name: tls, protocol: TLS}
  location: MESH_EXTERNAL
  resolution: STATIC
  endpoints:
  - {address: ${yamlAddress(addressOf(b.servers[name]))}, ports: {tls: ${portOf(b.servers[name])}}}
`;
  return `${se('a')}---
${se('b')}---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: tls-gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: ${ports.http}, name: http, protocol: HTTP}
    hosts: ['*']${bind}
  - port: {number: ${ports.pass}, name: tls, protocol: TLS}
    hosts: ['*.example.com']
    tls: {mode: PASSTHROUGH}${bind}
  - port: {number: ${ports.auto}, name: tls-auto, protocol: TLS}
    hosts: ['*.example.com']
    tls: {mode: AUTO_PASSTHROUGH}${bind}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: tls-vs}
spec:
  hosts: [a.example.com, b.example.com, split.example.com]
  gateways: [tls-gw]
  tls:
  - match: [{port: ${ports.pass}, sniHosts: [a.example.com]}]
    route:
    - destination: {host: a.example.com, port: {number: 443}}
  - match: [{port: ${ports.pass}, sniHosts: [b.example.com]}]
    route:
    - destination: {host: b.example.com, port: {number: 443}}
  - match: [{sniHosts: [split.example.com]}]
    route:
    - destination: {host: a.example.com, port: {number: 443}}
      weight: 50
    - destination: {host: b.example.com, port: {number: 443}}
      weight: 50
`;
}

export interface Reached {
  /** The backend's reply to GET <path> over the TLS session. */
  body: string;
  /** SHA-256 fingerprint of the certificate the client saw. */
  fingerprint: string;
  authorized: boolean;
}

/** A TLS session through `host:port` with `servername` (over `socket` when given), then one HTTP/1.1 request. */
export function reach(port: number, servername: string | undefined, path = '/', socket?: Duplex, host = '127.0.0.1'): Promise<Reached> {
  return new Promise((resolve, reject) => {
    const s: TLSSocket = tlsConnect({
      ...(socket ? { socket } : { host, port }),
      ...(servername !== undefined ? { servername } : {}),
      ca: meshRoot().certPem,
      // The outbound_ SNI is not the certificate's name: the identity is checked by fingerprint.
      checkServerIdentity: () => undefined,
    }, () => {
      const fingerprint = s.getPeerCertificate().fingerprint256;
      const authorized = s.authorized;
      let body = '';
      s.on('data', (d: Buffer) => (body += d.toString()));
      s.on('end', () => resolve({ body: body.slice(body.indexOf('\r\n\r\n') + 4), fingerprint, authorized }));
      s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    });
    s.on('error', reject);
    s.on('close', () => reject(new Error('closed before the handshake')));
  });
}

/** `closed` when the connection with `servername` ends before a TLS session, else what happened. */
export function refused(port: number, servername: string | undefined, host = '127.0.0.1'): Promise<string> {
  return reach(port, servername, '/', undefined, host).then((r) => `reached ${r.body}`, (err: Error) => (err.message.includes('closed') || /ECONNRESET|socket disconnected/.test(err.message) ? 'closed' : err.message));
}
