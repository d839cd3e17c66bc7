// Before the mTLS mode measures a sidecar pair, it proves the pair does mesh mTLS: a benchmark of
// plaintext would be a lie. Three facts, each from a real connection: a request through the pair
// reaches the app with x-forwarded-client-cert naming the client side's SPIFFE ID (the inbound
// sidecar verified a client certificate from the mesh CA), plaintext HTTP to the inbound
// sidecar gets no response from the app, and neither does TLS without a client certificate.
import { connect as tcpConnect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { ISTIO_ALPN, type PairCertificates } from './mtls-pair.js';
import { exchange } from './raw-http.js';

/** The inbound sidecar of a pair: where mTLS terminates, and the process holding those connections. */
export interface MtlsInbound {
  host: string;
  port: number;
  pid: number;
}

/** Asks the benchmark's upstream to echo the XFCC it received (bench/e2e/upstream/upstream.go). */
export const ECHO_XFCC = { 'x-bench-echo-xfcc': '1' };

export class MtlsCheckError extends Error {
  readonly code = 'E2E_NOT_MTLS';
}

function opened<T extends Socket>(socket: T, event: 'connect' | 'secureConnect', timeoutMs = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no ${event} within ${timeoutMs} ms`)); }, timeoutMs);
    socket.once(event, () => { clearTimeout(timer); resolve(socket); });
    socket.once('error', (err) => { clearTimeout(timer); reject(err); });
  });
}

/**
 * A TLS connection to the inbound sidecar as the client side's sidecar opens it: Istio's ALPN, the
 * mesh roots, the app's SPIFFE ID required of the server; with the client's certificate unless
 * `withClientCertificate` is false.
 */
export function connectMtls(inbound: MtlsInbound, certs: PairCertificates, withClientCertificate = true): Promise<TLSSocket> {
  const socket = tlsConnect({
    host: inbound.host,
    port: inbound.port,
    ca: readFileSync(join(certs.clientDir, 'root-cert.pem')),
    ...(withClientCertificate ? { cert: readFileSync(join(certs.clientDir, 'cert-chain.pem')), key: readFileSync(join(certs.clientDir, 'key.pem')) } : {}),
    ALPNProtocols: ISTIO_ALPN,
    // A SPIFFE certificate names its workload by URI SAN, not a DNS name: check that instead.
    checkServerIdentity: (_host, cert) =>
      (cert.subjectaltname ?? '').split(', ').includes(`URI:${certs.appId}`) ? undefined : new Error(`server certificate is not ${certs.appId}: ${cert.subjectaltname}`),
  });
  return opened(socket, 'secureConnect');
}

/** How a refused attempt ended, for the report: the error, or the status that came back. */
async function attempt(open: () => Promise<Socket>): Promise<{ reachedApp: boolean; how: string }> {
  let socket: Socket | undefined;
  try {
    socket = await open();
    const res = await exchange(socket, '/', ECHO_XFCC, 3000);
    return { reachedApp: res.status < 400, how: `HTTP ${res.status}` };
  } catch (err) {
    return { reachedApp: false, how: (err as NodeJS.ErrnoException).code ?? (err as Error).message };
  } finally {
    socket?.destroy();
  }
}

/**
 * Proves `url` (the pair's outbound side) and `inbound` do mesh mTLS with `certs`; resolves with
 * the facts seen, rejects with MtlsCheckError naming the one that failed.
 */
export async function checkMtls(url: string, inbound: MtlsInbound, certs: PairCertificates): Promise<string[]> {
  const u = new URL(url);
  const facts: string[] = [];
  const through = await opened(tcpConnect({ host: u.hostname, port: Number(u.port) }), 'connect');
  try {
    const res = await exchange(through, u.pathname, ECHO_XFCC);
    const xfcc = res.headers['x-bench-xfcc'] ?? '';
    if (res.status !== 200) throw new MtlsCheckError(`a request through the pair got HTTP ${res.status}`);
    if (!xfcc.includes(`URI=${certs.clientId}`)) throw new MtlsCheckError(`the app saw no XFCC naming ${certs.clientId} (got ${JSON.stringify(xfcc)}): the hop between the sidecars is not mTLS`);
    facts.push(`the app saw x-forwarded-client-cert ${JSON.stringify(xfcc)}`);
  } finally {
    through.destroy();
  }
  const plain = await attempt(() => opened(tcpConnect({ host: inbound.host, port: inbound.port }), 'connect'));
  if (plain.reachedApp) throw new MtlsCheckError(`plaintext HTTP to the inbound sidecar reached the app (${plain.how}): not STRICT`);
  facts.push(`plaintext HTTP to the inbound sidecar refused (${plain.how})`);
  const anonymous = await attempt(() => connectMtls(inbound, certs, false));
  if (anonymous.reachedApp) throw new MtlsCheckError(`TLS without a client certificate reached the app (${anonymous.how}): not mutual`);
  facts.push(`TLS without a client certificate refused (${anonymous.how})`);
  return facts;
}
