// The PERMISSIVE downstream transport: TLS and plaintext on one port, the first bytes deciding
// (Envoy's tls_inspector): a TLS record starts with a handshake content type, 0x16 (then 0x03,
// the version's major byte); an HTTP/1.x request never does. TLS goes to the TLS transport with
// the sniffed bytes unshifted back into the socket; plaintext goes to the raw transport's
// onread socket with them handed over first, and is marked plaintext (no peer identity; an
// incoming x-forwarded-client-cert is not trusted). A connection that sends nothing within the
// handshake timeout is closed (downstream_pre_cx_timeout).
import type { Socket } from 'node:net';
import type { Log } from '../../common/log.js';
import type { StatScope, DownstreamStat } from '../../telemetry/stats.js';
import { PLAINTEXT } from '../../tls/connection-security.js';
import type { DownstreamTlsSettings } from '../../tls/tls-settings.js';
import type { WorkloadCertificateSource } from '../../tls/workload-certificate.js';
import type { ConnectionStart, DownstreamTransport } from './downstream-transport.js';
import { RAW_DOWNSTREAM } from './raw.js';
import { TlsDownstreamTransport } from './tls.js';

const TLS_HANDSHAKE_RECORD = 0x16;

export class PermissiveDownstreamTransport implements DownstreamTransport {
  readonly kind = 'permissive';
  readonly #tls: TlsDownstreamTransport;
  readonly #stats: Pick<StatScope<DownstreamStat>, 'inc'>;
  readonly #timeoutMs: number;
  readonly #pending = new Set<Socket>();

  /** `workload`: the certificate source for credential 'workload' (TLS connections fail closed without one in hand; plaintext is served). */
  constructor(settings: DownstreamTlsSettings, stats: Pick<StatScope<DownstreamStat>, 'inc'>, log?: Log, workload?: WorkloadCertificateSource) {
    this.#tls = new TlsDownstreamTransport(settings, stats, log, workload);
    this.#stats = stats;
    this.#timeoutMs = settings.handshakeTimeoutMs ?? 10_000;
  }

  accept(accepted: Socket, start: ConnectionStart): void {
    this.#pending.add(accepted);
    const timer = setTimeout(() => {
      this.#stats.inc('downstream_pre_cx_timeout');
      done();
      accepted.destroy();
    }, this.#timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      this.#pending.delete(accepted);
      accepted.off('readable', onReadable);
      accepted.off('close', done);
    };
    const onReadable = (): void => {
      const first = accepted.read() as Buffer | null;
      if (first === null || first.length === 0) return;
      done();
      if (first[0] === TLS_HANDSHAKE_RECORD) {
        accepted.unshift(first);
        this.#tls.accept(accepted, start);
      } else {
        RAW_DOWNSTREAM.acceptWith(accepted, start, PLAINTEXT, first);
      }
    };
    accepted.on('readable', onReadable);
    accepted.once('close', done);
    accepted.on('error', () => accepted.destroy());
  }

  close(): void {
    this.#tls.close();
    for (const s of this.#pending) s.destroy();
    this.#pending.clear();
  }
}
