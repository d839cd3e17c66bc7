// The TLS transport socket (Envoy's UpstreamTlsContext): tls.connect sockets that read through
// `onread` into the caller's buffer (Node 20 honours onread on tls.connect: the TLS layer
// decrypts into it, no Buffer per read), ready at `secureConnect`, once the chain verified against
// the CA bundle and the server's certificate carried one of the expected SANs. SNI, ALPN, a client
// certificate (MUTUAL), minimum version and session resumption (one cached session per
// destination, per factory) as asked. A failed handshake is a connect failure to the pool, counted
// by reason in the cluster's ssl.* stats and logged with the reason.
//
// ISTIO_MUTUAL (mesh mTLS): client certificate, key and roots from the proxy's workload
// certificate source; a new certificate rebuilds the secure context (connections open keep
// theirs, cached sessions are dropped); with none in hand a connection fails at once, before any
// TCP connect (ssl.workload_certificate_unavailable). ALPN as Istio: istio-http/1.1, istio, http/1.1.
import { connect, createSecureContext, checkServerIdentity, type ConnectionOptions, type PeerCertificate, type SecureContext, type TLSSocket } from 'node:tls';
import { isIP, Socket } from 'node:net';
import type { Log } from '../../common/log.js';
import type { StatScope, ClusterStat } from '../../telemetry/stats.js';
import { readPem } from '../../tls/pem-files.js';
import { spiffeIdOf, subjectAltNames } from '../../tls/peer-certificate.js';
import { sanMatches, sanMismatch } from '../../tls/san-match.js';
import { SAN_MISMATCH_CODE, tlsFailureReason } from '../../tls/handshake-failure.js';
import type { UpstreamTlsSettings } from '../../tls/tls-settings.js';
import type { WorkloadCertificateSource } from '../../tls/workload-certificate.js';
import { WorkloadCredential } from '../../tls/workload-credential.js';
import type { TransportSocketFactory, TransportSocketOptions } from './transport-socket.js';

/** Where the factory reports: the cluster's stats and the operational log (both optional). */
export interface TlsTransportReporting {
  readonly stats?: Pick<StatScope<ClusterStat>, 'inc'>;
  readonly log?: Log;
  /** For the log line: the cluster's name. */
  readonly cluster?: string;
}

/** What Istio's sidecars offer for mesh mTLS (and what its inbound filter chains match on). */
export const ISTIO_MUTUAL_ALPN: readonly string[] = ['istio-http/1.1', 'istio', 'http/1.1'];

/** tls.connect passes `onread` on to its net.Socket (Node ≥ 12); @types/node does not declare it. */
type ConnectionOptionsWithOnread = ConnectionOptions & { onread?: TransportSocketOptions['onread']; allowHalfOpen?: boolean };

/** The server's SPIFFE ID per socket offered a cached session (what a resumed session had). */
const sessionPeers = new WeakMap<TLSSocket, string | null>();

/**
 * The SPIFFE ID of the server a socket of this transport is connected to: its certificate's,
 * or, when the session was resumed (TLS 1.3 resumption shows the client no certificate), that of
 * the server the session was made with — the ticket only resumes with the server that issued it.
 */
export function upstreamPeerSpiffeId(socket: TLSSocket): string | null {
  const direct = spiffeIdOf(socket.getPeerCertificate());
  if (direct !== null || !socket.isSessionReused()) return direct;
  return sessionPeers.get(socket) ?? null;
}

export class TlsTransportSocketFactory implements TransportSocketFactory {
  readonly readyEvent = 'secureConnect';
  readonly settings: UpstreamTlsSettings;
  /** The files' context; null for ISTIO_MUTUAL, whose context the workload credential holds. */
  readonly #context: SecureContext | null = null;
  readonly #workload: WorkloadCredential<SecureContext> | null = null;
  readonly #alpn: string[] | undefined;
  readonly #reporting: TlsTransportReporting;
  /**
   * The latest session ticket per destination (host:port/sni), offered on the next connect, with
   * the SPIFFE ID of the server it was made with (a resumed session shows no certificate).
   */
  readonly #sessions = new Map<string, { ticket: Buffer; peerSpiffeId: string | null }>();

  /**
   * Reads the files now: a missing or empty file throws here (TLS_FILE), not per connection.
   * ISTIO_MUTUAL takes its credential from `workload` (TLS_SETTINGS without one).
   */
  constructor(settings: UpstreamTlsSettings, reporting: TlsTransportReporting = {}, workload?: WorkloadCertificateSource) {
    if (settings.mode === 'ISTIO_MUTUAL') {
      if (workload === undefined) {
        throw new Error('wasmesh: upstream tls mode ISTIO_MUTUAL needs the proxy\'s workload certificate source, which this cluster was not given (TLS_SETTINGS)');
      }
      if (settings.clientCertificate !== undefined || settings.privateKey !== undefined || settings.caCertificates !== undefined) {
        throw new Error('wasmesh: upstream tls mode ISTIO_MUTUAL takes certificate, key and roots from the workload certificate; clientCertificate, privateKey and caCertificates must be absent (TLS_SETTINGS)');
      }
    }
    if (settings.mode === 'MUTUAL' && (settings.clientCertificate === undefined || settings.privateKey === undefined)) {
      throw new Error('wasmesh: upstream tls mode MUTUAL needs clientCertificate and privateKey (TLS_SETTINGS)');
    }
    this.settings = settings;
    this.#reporting = reporting;
    const minVersion = settings.minProtocolVersion ?? 'TLSv1.2';
    const alpn = settings.alpn ?? (settings.mode === 'ISTIO_MUTUAL' ? ISTIO_MUTUAL_ALPN : []);
    this.#alpn = alpn.length > 0 ? [...alpn] : undefined;
    if (settings.mode === 'ISTIO_MUTUAL') {
      const what = `upstream tls${reporting.cluster ? ` (cluster ${reporting.cluster})` : ''}`;
      this.#workload = new WorkloadCredential(workload!, (c) => {
        const ctx = createSecureContext({ ca: c.rootsPem, cert: c.certChainPem, key: c.keyPem, minVersion });
        // Sessions were made under the previous certificate.
        this.#sessions.clear();
        return ctx;
      }, what, reporting.log);
    } else {
      this.#context = createSecureContext({
        ca: settings.caCertificates !== undefined ? readPem(settings.caCertificates, 'caCertificates') : undefined,
        cert: settings.mode === 'MUTUAL' ? readPem(settings.clientCertificate!, 'clientCertificate') : undefined,
        key: settings.mode === 'MUTUAL' ? readPem(settings.privateKey!, 'privateKey') : undefined,
        minVersion,
      });
    }
  }

  connect(host: string, port: number, options: TransportSocketOptions): Socket {
    const s = this.settings;
    const context = this.#workload !== null ? this.#workload.take() : this.#context;
    if (context === null) return this.#unavailable(host, port);
    const servername = s.sni ?? options.hostname ?? (isIP(host) === 0 ? host : undefined);
    const key = `${host}:${port}/${servername ?? ''}`;
    const offered = this.#sessions.get(key);
    const expected = s.subjectAltNames ?? [];
    const tlsOptions: ConnectionOptionsWithOnread = {
      host,
      port,
      servername,
      secureContext: context,
      ALPNProtocols: this.#alpn,
      rejectUnauthorized: s.insecureSkipVerify !== true,
      session: offered?.ticket,
      onread: options.onread,
      allowHalfOpen: options.allowHalfOpen === true,
      checkServerIdentity: (hostname: string, cert: PeerCertificate): Error | undefined => {
        if (s.insecureSkipVerify === true) return undefined;
        if (expected.length > 0) {
          const sans = subjectAltNames(cert);
          if (sanMatches(expected, sans)) return undefined;
          return Object.assign(new Error(sanMismatch(expected, sans)), { code: SAN_MISMATCH_CODE });
        }
        // No expected names: an SNI given is checked as the host name (SIMPLE, MUTUAL); else, and
        // always for ISTIO_MUTUAL, whose SNI is Istio's outbound_… routing name, the chain decides.
        return s.sni !== undefined && s.mode !== 'ISTIO_MUTUAL' ? checkServerIdentity(hostname, cert) : undefined;
      },
    };
    const socket = connect(tlsOptions);
    socket.setNoDelay(options.noDelay);
    if (options.keepAlive) socket.setKeepAlive(true, options.keepAlive.timeMs);
    if (offered !== undefined) sessionPeers.set(socket, offered.peerSpiffeId);
    socket.on('session', (ticket: Buffer) => this.#sessions.set(key, { ticket, peerSpiffeId: upstreamPeerSpiffeId(socket) }));
    const stats = this.#reporting.stats;
    // Errors before the TCP connection (refused, unreachable) are no TLS failure.
    let tcpUp = false;
    socket.once('connect', () => (tcpUp = true));
    const onError = (err: Error): void => {
      if (!tcpUp) return;
      const reason = tlsFailureReason(err);
      stats?.inc(reason);
      // A stale session must not be offered again.
      this.#sessions.delete(key);
      this.#reporting.log?.('warn', `upstream tls handshake to ${host}:${port}${this.#reporting.cluster ? ` (cluster ${this.#reporting.cluster})` : ''} failed: ${reason}: ${err.message}`);
    };
    socket.once('error', onError);
    socket.once('secureConnect', () => {
      socket.off('error', onError);
      stats?.inc('ssl.handshake');
      if (socket.isSessionReused()) stats?.inc('ssl.session_reused');
    });
    return socket;
  }

  /** Fail closed: a socket that fails before connecting (the pool counts a connect failure). */
  #unavailable(host: string, port: number): Socket {
    this.#reporting.stats?.inc('ssl.workload_certificate_unavailable');
    const socket = new Socket();
    const err = Object.assign(new Error(`upstream tls to ${host}:${port}: no workload certificate in hand (ISTIO_MUTUAL fails closed)`), { code: 'WORKLOAD_CERTIFICATE_UNAVAILABLE' });
    process.nextTick(() => socket.destroy(err));
    return socket;
  }

  /** Stops following the workload certificate (the cluster is gone). */
  close(): void {
    this.#workload?.close();
  }

  /** Sessions cached (one per destination). */
  get cachedSessions(): number {
    return this.#sessions.size;
  }
}
