// The TLS downstream transport: a tls.Server that never listens is handed each accepted socket
// (its 'connection' event, Node's documented way to serve sockets accepted elsewhere), so the
// handshake, session tickets and the handshake timeout are node:tls's own. Bytes already read
// from the socket (a PERMISSIVE sniff, unshifted back) are fed to the handshake first.
//
// Client certificates: requested when required, and checked here once the handshake is done,
// before a byte is read as HTTP: none → ssl.fail_verify_no_cert, one that does not chain to the
// trust bundle (foreign CA, expired) → ssl.fail_verify_error; either closes the connection and is
// logged with the reason. (With node:tls's own rejectUnauthorized a bad chain is dropped without
// a reason anyone can count; TLS 1.3 clients see a close after their handshake in both cases.)
// Other failures (plaintext on this port, protocol or version mismatch, timeout) arrive as
// tlsClientError → ssl.connection_error.
//
// The workload credential (PeerAuthentication STRICT/PERMISSIVE in the mesh): certificate, key
// and trust bundle come from a WorkloadCertificateSource; a new certificate replaces the server's
// secure context (setSecureContext: handshakes already done keep theirs); with none in hand a
// connection is closed at accept, before any handshake (ssl.workload_certificate_unavailable).
//
// Reads: a TLS socket over an accepted socket delivers Buffers ('data'), since net's `onread`
// only applies to a socket that makes its own handle; decryption costs far more than that Buffer.
import { createServer, type Server, type TLSSocket, type DetailedPeerCertificate } from 'node:tls';
import type { Socket } from 'node:net';
import { createHash } from 'node:crypto';
import type { Log } from '../../common/log.js';
import type { StatScope, DownstreamStat } from '../../telemetry/stats.js';
import { readPem } from '../../tls/pem-files.js';
import { tlsFailureReason, type TlsFailureReason } from '../../tls/handshake-failure.js';
import { ownIdentity, xfccElement, type ConnectionSecurity } from '../../tls/connection-security.js';
import { spiffeIdOf, certificateHash } from '../../tls/peer-certificate.js';
import type { DownstreamTlsSettings } from '../../tls/tls-settings.js';
import type { WorkloadCertificate, WorkloadCertificateSource } from '../../tls/workload-certificate.js';
import { WorkloadCredential } from '../../tls/workload-credential.js';
import { SOCKET_TAKEN, type ConnectionStart, type DownstreamTransport } from './downstream-transport.js';

const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
/** ALPN a downstream TLS listener accepts unless told otherwise, in the server's order of preference (h2 first: the listener serves both). */
export const DEFAULT_DOWNSTREAM_ALPN: readonly string[] = ['h2', 'http/1.1', 'istio-h2', 'istio-http/1.1', 'istio'];
const START = Symbol('wasmesh.start');

interface PendingSocket extends Socket {
  [START]?: ConnectionStart;
}

export class TlsDownstreamTransport implements DownstreamTransport {
  readonly kind: 'tls' | 'permissive' = 'tls';
  readonly #server: Server;
  readonly #stats: Pick<StatScope<DownstreamStat>, 'inc'>;
  readonly #log: Log | undefined;
  readonly #requireClientCert: boolean;
  /** The workload credential's hold (credential 'workload'); null with certificate files. */
  readonly #workload: WorkloadCredential<true> | null = null;
  /** The listener's SPIFFE ID from its certificate file (XFCC's By). */
  readonly #ownFromFile: string | null = null;

  /**
   * Reads the files now: a missing file throws here (TLS_FILE). With credential 'workload' the
   * certificate comes from `workload` instead (required then; TLS_SETTINGS without it).
   */
  constructor(settings: DownstreamTlsSettings, stats: Pick<StatScope<DownstreamStat>, 'inc'>, log?: Log, workload?: WorkloadCertificateSource) {
    const fromWorkload = settings.credential === 'workload';
    if (settings.requireClientCertificate && !fromWorkload && settings.caCertificates === undefined) {
      throw new Error('wasmesh: downstream tls requireClientCertificate needs caCertificates (the trust bundle) (TLS_SETTINGS)');
    }
    const ticketKeys = settings.sessionTicketKeys === undefined ? undefined : Buffer.from(settings.sessionTicketKeys, 'base64');
    if (ticketKeys !== undefined && ticketKeys.length !== 48) {
      throw new Error(`wasmesh: downstream tls sessionTicketKeys must be 48 bytes (base64), got ${ticketKeys.length} (TLS_SETTINGS)`);
    }
    if (fromWorkload && workload === undefined) {
      throw new Error('wasmesh: downstream tls credential "workload" needs the proxy\'s workload certificate source, which this listener was not given (TLS_SETTINGS)');
    }
    if (fromWorkload && (settings.certificateChain !== undefined || settings.privateKey !== undefined || settings.caCertificates !== undefined)) {
      throw new Error('wasmesh: downstream tls credential "workload" takes certificate, key and trust bundle from the workload certificate; certificateChain, privateKey and caCertificates must be absent (TLS_SETTINGS)');
    }
    if (!fromWorkload && (settings.certificateChain === undefined || settings.privateKey === undefined)) {
      throw new Error('wasmesh: downstream tls needs certificateChain and privateKey (PEM files) (TLS_SETTINGS)');
    }
    this.#stats = stats;
    this.#log = log;
    this.#requireClientCert = settings.requireClientCertificate;
    const base = {
      requestCert: settings.requireClientCertificate,
      rejectUnauthorized: false,
      // h2 first: the server's order decides, and the listener serves both (HTTP/2 sessions in listener/http2/).
      ALPNProtocols: [...(settings.alpn ?? DEFAULT_DOWNSTREAM_ALPN)],
      minVersion: settings.minProtocolVersion ?? 'TLSv1.2',
      handshakeTimeout: settings.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
      ticketKeys,
    } as const;
    if (!fromWorkload) {
      const cert = readPem(settings.certificateChain!, 'certificateChain');
      this.#ownFromFile = ownIdentity(cert);
      this.#server = createServer({
        ...base,
        cert,
        key: readPem(settings.privateKey!, 'privateKey'),
        ca: settings.caCertificates !== undefined ? readPem(settings.caCertificates, 'caCertificates') : undefined,
        // node:tls derives the default from process.argv, which differs on a worker thread; a
        // session (with a client certificate) resumes only under the context it was made in.
        sessionIdContext: createHash('sha256').update(cert).digest('hex').slice(0, 32),
      });
    } else {
      // No certificate until the source has one: handshakes are refused at accept until then.
      const server = (this.#server = createServer(base));
      const contextOf = (c: WorkloadCertificate) => ({
        ...base,
        cert: c.certChainPem,
        key: c.keyPem,
        ca: c.rootsPem,
        // Stable across renewals of one identity, and the same on every thread.
        sessionIdContext: createHash('sha256').update(c.identity).digest('hex').slice(0, 32),
      });
      this.#workload = new WorkloadCredential<true>(workload!, (c) => {
        server.setSecureContext(contextOf(c));
        return true;
      }, 'downstream tls', log);
    }
    this.#server.on('secureConnection', (s: TLSSocket) => {
      try {
        this.#secured(s);
      } catch (err) {
        // A certificate this code cannot read closes its connection, not the proxy.
        this.#fail(s, 'ssl.connection_error', `peer certificate unreadable: ${(err as Error).message}`);
      }
    });
    this.#server.on('tlsClientError', (err: Error, s: TLSSocket) => this.#fail(s, tlsFailureReason(err), err.message));
  }

  /** The listener's own SPIFFE ID (XFCC's By): from its certificate file, or the workload certificate in use. */
  get own(): string | null {
    return this.#workload !== null ? this.#workload.identity : this.#ownFromFile;
  }

  accept(accepted: Socket, start: ConnectionStart): void {
    // Fail closed: no workload certificate in hand, no handshake.
    if (this.#workload !== null && this.#workload.take() === null) {
      this.#stats.inc('ssl.workload_certificate_unavailable');
      accepted.destroy();
      return;
    }
    (accepted as PendingSocket)[START] = start;
    accepted.setNoDelay(true);
    this.#server.emit('connection', accepted);
  }

  #secured(s: TLSSocket): void {
    // The TLS socket wraps the accepted one (node:tls keeps it as `_parent`), which carries the
    // start callback; a socket without one is not this transport's and is closed.
    const start = ((s as unknown as { _parent?: PendingSocket })._parent ?? (s as PendingSocket))[START];
    const peer = s.getPeerCertificate(false) as DetailedPeerCertificate | Record<string, never>;
    const hasCert = peer !== null && 'raw' in peer && peer.raw !== undefined;
    if (this.#requireClientCert) {
      if (!hasCert) return this.#fail(s, 'ssl.fail_verify_no_cert', 'client certificate required, none presented');
      if (!s.authorized) return this.#fail(s, 'ssl.fail_verify_error', `client certificate ${spiffeIdOf(peer) ?? '(no SPIFFE ID)'} rejected: ${String(s.authorizationError)}`);
    }
    if (start === undefined) {
      s.destroy();
      return;
    }
    this.#stats.inc('ssl.handshake');
    if (s.isSessionReused()) this.#stats.inc('ssl.session_reused');
    const mutual = this.#requireClientCert && hasCert && s.authorized;
    const security: ConnectionSecurity = {
      mutualTls: mutual,
      tls: true,
      peerSpiffeId: mutual ? spiffeIdOf(peer) : null,
      peerCertificateHash: hasCert ? certificateHash(peer as DetailedPeerCertificate) : null,
      tlsVersion: s.getProtocol(),
      alpn: s.alpnProtocol || null,
      sni: (s as TLSSocket & { servername?: string | false }).servername || null,
      xfcc: mutual ? xfccElement(this.own, peer as DetailedPeerCertificate) : null,
    };
    const reader = start(s, security);
    if (reader !== SOCKET_TAKEN) s.on('data', (d: Buffer) => reader.onRead(d));
  }

  #fail(s: TLSSocket | undefined, reason: TlsFailureReason, message: string): void {
    this.#stats.inc(reason);
    const who = s?.remoteAddress ?? 'unknown';
    this.#log?.('warn', `downstream tls handshake from ${who} failed: ${reason}: ${message}`);
    s?.destroy();
  }

  /** Handshakes under way end by themselves (handshake timeout); the server never listened. */
  close(): void {
    this.#workload?.close();
  }
}
