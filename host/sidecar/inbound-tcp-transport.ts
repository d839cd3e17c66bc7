// Mesh mTLS in front of a sidecar's inbound byte proxy, as PeerAuthentication decides it for the
// inbound listener (host/server/inbound-transport.ts): STRICT terminates the mesh's TLS and
// nothing else is served; PERMISSIVE takes TLS or plaintext by the first byte (a TLS record's
// 0x16, Envoy's tls_inspector), a silent client (a server-first protocol) being plaintext once
// meshConfig protocolDetectionTimeout passes; DISABLE passes the bytes as they come. TLS is
// terminated by the HTTP path's own transport (host/listener/transport/tls.ts: the workload
// certificate, client certificates required and checked against the trust bundle, failures
// counted as `ssl.*` and closed), so both paths take the same peers. What the handshake
// established (the peer's SPIFFE ID) goes with the plaintext socket to the byte proxy, whose
// RBAC network filter reads it.
import type { Socket } from 'node:net';
import type { Log } from '../common/log.js';
import type { StatScope, DownstreamStat } from '../telemetry/stats.js';
import type { ConnectionSecurity } from '../tls/connection-security.js';
import type { DownstreamTransportConfig } from '../tls/tls-settings.js';
import type { WorkloadCertificateSource } from '../tls/workload-certificate.js';
import { InboundTransport } from '../server/inbound-transport.js';
import { createDownstreamTransport } from '../listener/transport/create-transport.js';
import { SOCKET_TAKEN } from '../listener/transport/downstream-transport.js';
import { sniffFirstBytes } from './sniff-first-bytes.js';
import { DEFAULT_DOWNSTREAM_ALPN } from '../listener/transport/tls.js';
import { PEER_EXCHANGE_ALPN } from '../telemetry/tcp-metadata-exchange.js';

/** A TLS record's first byte (a ClientHello's handshake record): PERMISSIVE's test, as the HTTP path's. */
const TLS_HANDSHAKE_RECORD = 0x16;

/** The plaintext of an accepted connection, with its TLS (null: it came as plaintext). */
export type PlaintextConnection = (socket: Socket, security: ConnectionSecurity | null) => void;

export interface InboundTcpTransportOptions {
  /** Where `ssl.*` are counted (the inbound listener's scope). */
  readonly stats: Pick<StatScope<DownstreamStat>, 'inc'>;
  readonly log?: Log;
  /** The workload certificate; required for STRICT and PERMISSIVE. */
  readonly workloadCertificates?: WorkloadCertificateSource;
}

export class InboundTcpTransport {
  readonly #opts: InboundTcpTransportOptions;
  /** The TLS transport (STRICT's, PERMISSIVE's TLS side); null until a config asks for TLS. */
  #tls: InboundTransport | null = null;
  #kind: DownstreamTransportConfig['kind'] | null = null;
  #detectMs = 0;
  readonly #pending = new Set<Socket>();

  constructor(opts: InboundTcpTransportOptions) {
    this.#opts = opts;
  }

  /** The mode in force: the transport's kind, or null before the first config (nothing served). */
  get kind(): DownstreamTransportConfig['kind'] | null {
    return this.#kind;
  }

  /**
   * Takes the inbound listener's transport `config` for connections accepted from now on, and
   * PERMISSIVE's detection timeout. Throws, keeping the current one, when TLS cannot be built.
   */
  set(config: DownstreamTransportConfig, detectMs: number): void {
    if (config.kind !== 'raw') {
      // PERMISSIVE's plaintext is told apart here (the byte proxy reads it): the transport is TLS
      // only. Istio's TCP chains accept `istio-peer-exchange` (its TCP metadata exchange) first:
      // the server's order decides, so a client offering it gets it.
      const alpn = config.tls.alpn ?? DEFAULT_DOWNSTREAM_ALPN;
      const tls: DownstreamTransportConfig = { kind: 'tls', tls: { ...config.tls, alpn: [PEER_EXCHANGE_ALPN, ...alpn.filter((a) => a !== PEER_EXCHANGE_ALPN)] } };
      const o = this.#opts;
      if (this.#tls === null) this.#tls = new InboundTransport((c) => createDownstreamTransport(c, o.stats, o.log, o.workloadCertificates), tls);
      else this.#tls.set(tls);
    }
    this.#kind = config.kind;
    this.#detectMs = detectMs;
  }

  /**
   * Takes `socket` (accepted paused, or with sniffed bytes unshifted back) and calls `plaintext`
   * once with the socket to proxy and its security; a connection the mode refuses (none before
   * the first config), whose handshake fails, or that leaves first, never gets there.
   */
  accept(socket: Socket, plaintext: PlaintextConnection): void {
    switch (this.#kind) {
      case null:
        socket.destroy();
        return;
      case 'raw':
        plaintext(socket, null);
        return;
      case 'tls':
        this.#terminate(socket, plaintext);
        return;
      case 'permissive':
        this.#pending.add(socket);
        sniffFirstBytes(socket, this.#detectMs, (_protocol, first) => {
          this.#pending.delete(socket);
          if (first.length > 0) socket.unshift(first);
          if (first.length > 0 && first[0] === TLS_HANDSHAKE_RECORD) this.#terminate(socket, plaintext);
          else plaintext(socket, null);
        }, () => this.#pending.delete(socket));
    }
  }

  #terminate(socket: Socket, plaintext: PlaintextConnection): void {
    this.#tls!.accept(socket, (plain, security) => {
      // The byte proxy passes half-closes on, as for a plaintext connection.
      plain.allowHalfOpen = true;
      plaintext(plain, security);
      return SOCKET_TAKEN;
    });
  }

  close(): void {
    this.#tls?.close();
    for (const s of this.#pending) s.destroy();
    this.#pending.clear();
  }
}
