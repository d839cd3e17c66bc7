// The inbound listener's transport as PeerAuthentication decides it (host/model/inbound-mtls.ts),
// swapped live when a config version changes it: STRICT terminates mesh mTLS only, PERMISSIVE
// takes mTLS or plaintext by the first bytes, DISABLE is plain TCP; TLS uses the proxy's
// workload certificate. One listener serves every app port, so when portLevelMtls asks for
// different modes the strictest is taken (STRICT over PERMISSIVE over DISABLE): a port never
// accepts plaintext that its policy refuses, at the price of refusing plaintext on a port that
// would take it.
import type { ConnectionStart, DownstreamTransport } from '../listener/transport/downstream-transport.js';
import { strictestMode, type EffectiveMtlsMode, type InboundMtls } from '../model/inbound-mtls.js';
import type { DownstreamTransportConfig } from '../tls/tls-settings.js';

export { strictestMode };

/** The listener transport for a workload's inbound mTLS (the workload certificate for TLS). */
export function inboundTransportConfig(m: InboundMtls | EffectiveMtlsMode, sessionTicketKeys?: string): DownstreamTransportConfig {
  const mode = typeof m === 'string' ? m : strictestMode(m);
  if (mode === 'DISABLE') return { kind: 'raw' };
  return { kind: mode === 'STRICT' ? 'tls' : 'permissive', tls: { credential: 'workload', requireClientCertificate: true, sessionTicketKeys } };
}

/** How long a replaced transport keeps its handshakes under way before it is closed. */
const RETIRE_AFTER_MS = 10_000;

/**
 * A DownstreamTransport whose implementation a config version replaces: connections accepted
 * from then on get the new one; connections already served keep theirs; handshakes under way
 * on the old one finish (it is closed after the handshake timeout).
 */
export class InboundTransport implements DownstreamTransport {
  readonly #build: (config: DownstreamTransportConfig) => DownstreamTransport;
  #current: DownstreamTransport;
  #key: string;
  readonly #retiring = new Set<NodeJS.Timeout>();

  constructor(build: (config: DownstreamTransportConfig) => DownstreamTransport, config: DownstreamTransportConfig) {
    this.#build = build;
    this.#current = build(config);
    this.#key = JSON.stringify(config);
  }

  get kind(): DownstreamTransport['kind'] {
    return this.#current.kind;
  }

  /** Takes `config` for new connections; the same config again changes nothing. Throws (keeping the current one) when it cannot be built. */
  set(config: DownstreamTransportConfig): void {
    const key = JSON.stringify(config);
    if (key === this.#key) return;
    const next = this.#build(config);
    const old = this.#current;
    this.#current = next;
    this.#key = key;
    const timer = setTimeout(() => {
      this.#retiring.delete(timer);
      old.close();
    }, RETIRE_AFTER_MS);
    timer.unref();
    this.#retiring.add(timer);
  }

  accept(accepted: import('node:net').Socket, start: ConnectionStart): void {
    this.#current.accept(accepted, start);
  }

  close(): void {
    for (const t of this.#retiring) clearTimeout(t);
    this.#retiring.clear();
    this.#current.close();
  }
}
