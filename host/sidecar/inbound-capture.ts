// A sidecar's inbound listener when it sees original destinations (TPROXY interception, the
// socket handed over by docker/wasmesh-listen.c): the accepted socket's local port is the app
// port the peer dialled (Istio's `inbound|<port>||`). A connection to an app port is sniffed
// (host/listener/protocol-sniff.ts; meshConfig protocolDetectionTimeout for server-first
// protocols): HTTP, and TLS (mesh mTLS) whose ClientHello offers HTTP by ALPN, go to the HTTP
// connection manager; TLS offering Istio's TCP names (`istio-peer-exchange`, `istio`:
// inbound-alpn.ts) is terminated here and proxied as TCP, with Istio's TCP metadata exchange
// alongside when that ALPN was agreed (listener/tcp/metadata-exchange.ts: the peer's workload
// labels its istio_tcp_* series once its first bytes bring it); anything else is proxied as TCP to the app at 127.0.0.1:<port> (the
// inbound cluster; ::1 on an IPv6-only pod: `appAddress`), except under STRICT mTLS, where
// plaintext is refused (closed, counted, logged) as Istio's STRICT chains refuse it.
// A connection to another port (one the workload does not declare) is passed through as TCP to
// its original destination by InboundPassthroughCluster (inbound-passthrough.ts), Istio's
// inbound catch-all, after the mesh mTLS is terminated as PeerAuthentication says (STRICT: TLS
// only; PERMISSIVE: TLS or plaintext by the first byte, plaintext after the detection timeout;
// DISABLE: as it comes), with the TLS transport and workload certificate the HTTP path uses
// (host/listener/transport/tls.ts). The byte proxy (TcpProxyServer with `authorization`) then
// runs the AuthorizationPolicy of the workload on each TCP connection, with the peer principal
// the certificate gave (Envoy's RBAC network filter). Connections to the listener's own port
// keep the HTTP path, except mesh TLS offering only Istio's TCP names: TCP to the first app port,
// as Envoy's virtualInbound does for its own port. Until the first config version, TCP is closed (the HTTP side denies all).
import { createServer, type Server, type Socket } from 'node:net';
import type { MeshConfig } from '../model/mesh.js';
import type { ProxyServer } from '../server/proxy-server.js';
import type { TcpProxyServer } from '../server/tcp-proxy-server.js';
import type { Log } from '../common/log.js';
import type { DownstreamTransportConfig } from '../tls/tls-settings.js';
import type { WorkloadCertificateSource } from '../tls/workload-certificate.js';
import { APP_ADDRESS, inboundClusterName } from './inbound-mesh.js';
import { sniffFirstBytes } from './sniff-first-bytes.js';
import { inboundPassthroughTarget } from './inbound-passthrough.js';
import { InboundTcpTransport } from './inbound-tcp-transport.js';
import { listenOn } from '../listener/listen-on.js';
import type { TcpTarget } from '../server/tcp-proxy-server.js';
import type { ConnectionSecurity } from '../tls/connection-security.js';
import { workloadMetadata, type WorkloadMetadata } from '../model/workload-metadata.js';
import { isMeshTcpAlpn } from './inbound-alpn.js';
import { startMetadataExchange } from '../listener/tcp/metadata-exchange.js';
import { encodeExchange, PEER_EXCHANGE_ALPN } from '../telemetry/tcp-metadata-exchange.js';
import { DEFAULT_LIMITS } from '../common/limits.js';

export interface InboundCaptureOptions {
  host: string;
  port: number;
  fd?: number;
  appPorts: readonly number[];
  /** Where the app is reached (the inbound mesh's app address: 127.0.0.1, or ::1 on an IPv6-only pod); default 127.0.0.1. */
  appAddress?: string;
  http: ProxyServer;
  /** The byte proxy to the app (TcpProxyServer with adopt, applied with the inbound mesh and InboundPassthroughCluster). */
  tcp: TcpProxyServer;
  maxConnections: number;
  log?: Log;
  /** The workload certificate (mesh mTLS terminated on TCP, as the HTTP path's transport uses it). */
  workloadCertificates?: WorkloadCertificateSource;
  /** This workload, as the TCP metadata exchange names it to peers (absent: an unknown workload is named). */
  workload?: WorkloadMetadata;
  /** The largest peer metadata of a TCP exchange (limits.maxPeerMetadataBytes; default 60 KiB). */
  maxPeerMetadataBytes?: number;
}

export class InboundCapture {
  readonly #opts: InboundCaptureOptions;
  readonly #server: Server;
  readonly #pending = new Set<Socket>();
  #detectMs = 0;
  /** Mesh mTLS on TCP as PeerAuthentication decides it (nothing served before the first config). */
  readonly #tcpTransport: InboundTcpTransport;
  #port = 0;
  /** This workload's TCP metadata exchange bytes, encoded on first use. */
  #exchange: Buffer | null = null;

  constructor(opts: InboundCaptureOptions) {
    this.#opts = opts;
    this.#tcpTransport = new InboundTcpTransport({ stats: opts.http.stats.downstream, ...(opts.log !== undefined ? { log: opts.log } : {}), ...(opts.workloadCertificates !== undefined ? { workloadCertificates: opts.workloadCertificates } : {}) });
    this.#server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (s) => this.#onConnection(s));
    this.#server.maxConnections = opts.maxConnections;
  }

  get port(): number {
    return this.#port;
  }

  /**
   * The workload's config version: the detection timeout, and `transport`, the inbound listener's
   * transport as PeerAuthentication decides it (host/server/inbound-transport.ts), which TCP
   * follows too. Throws, keeping the current one, when the TLS transport cannot be built.
   */
  apply(mesh: MeshConfig, transport: DownstreamTransportConfig): void {
    this.#detectMs = mesh.protocolDetectionTimeoutMs ?? 0;
    this.#tcpTransport.set(transport, this.#detectMs);
  }

  async listen(): Promise<void> {
    this.#port = await listenOn(this.#server, this.#opts);
  }

  close(): void {
    this.#tcpTransport.close();
    if (this.#server.listening) this.#server.close();
    for (const s of this.#pending) s.destroy();
    this.#pending.clear();
  }

  #count(name: string): void {
    this.#opts.http.stats.downstream.incDynamic(`sidecar_inbound.${name}`);
  }

  #onConnection(socket: Socket): void {
    this.adopt(socket, socket.localPort ?? 0);
  }

  /**
   * Serves a connection (paused) whose original destination port is `port`: the capture's own
   * accept reads it from the socket's local address (TPROXY keeps the address dialled).
   */
  adopt(socket: Socket, port: number): void {
    if (port === this.#port) {
      this.#ownPort(socket);
      return;
    }
    if (!this.#opts.appPorts.includes(port)) {
      this.#passThrough(socket, port);
      return;
    }
    this.#pending.add(socket);
    sniffFirstBytes(socket, this.#detectMs, (protocol, first, timedOut) => {
      this.#pending.delete(socket);
      if (timedOut) this.#count('sniff_timeout');
      if (protocol === 'tls') {
        // Mesh TLS: HTTP or TCP by the ALPN offered, as Istio's inbound chains match it.
        socket.unshift(first);
        this.#pending.add(socket);
        this.#opts.tcp.inspectAlpn(socket, this.#detectMs, (alpn) => {
          this.#pending.delete(socket);
          if (alpn === null) return;
          if (isMeshTcpAlpn(alpn)) this.#tcpOverTls(socket, port);
          else {
            this.#count('sniffed_http');
            this.#opts.http.adoptConnection(socket);
          }
        });
        return;
      }
      if (protocol === 'http1' || protocol === 'http2') {
        this.#count('sniffed_http');
        this.#opts.http.adoptConnection(socket, first);
        return;
      }
      const mode = this.#tcpTransport.kind;
      if (mode === null || mode === 'tls') {
        this.#count('tcp_refused');
        this.#opts.log?.('warn', `inbound TCP connection to app port ${port} from ${socket.remoteAddress ?? '?'} refused: ${mode === null ? 'no config yet' : 'plaintext under PeerAuthentication STRICT'}`);
        socket.destroy();
        return;
      }
      this.#count('sniffed_tcp');
      if (first.length > 0) socket.unshift(first);
      // AuthorizationPolicy: the byte proxy's RBAC network filter, with destination.ip the pod's address.
      this.#opts.tcp.handle(socket, this.#appTarget(socket, port, null));
    }, () => this.#pending.delete(socket));
  }

  /**
   * A connection to the listener's own port (no app port dialled: a peer that addressed the
   * inbound port itself, or one handed over without capture): HTTP, except mesh TLS offering only
   * Istio's TCP names, which goes as TCP to the first app port — as Envoy's virtualInbound sends
   * its own port's TCP chain to the first app port (host/envoy/inbound-listener.ts).
   */
  #ownPort(socket: Socket): void {
    this.#pending.add(socket);
    sniffFirstBytes(socket, this.#detectMs, (protocol, first) => {
      this.#pending.delete(socket);
      if (protocol !== 'tls') {
        this.#opts.http.adoptConnection(socket, first);
        return;
      }
      socket.unshift(first);
      this.#pending.add(socket);
      this.#opts.tcp.inspectAlpn(socket, this.#detectMs, (alpn) => {
        this.#pending.delete(socket);
        if (alpn === null) return;
        if (isMeshTcpAlpn(alpn)) this.#tcpOverTls(socket, this.#opts.appPorts[0]!);
        else this.#opts.http.adoptConnection(socket);
      });
    }, () => this.#pending.delete(socket));
  }

  /** The app port's inbound cluster; AuthorizationPolicy's destination.ip is the pod's address. */
  #appTarget(socket: Socket, port: number, security: ConnectionSecurity | null): TcpTarget {
    return { address: this.#opts.appAddress ?? APP_ADDRESS, port, service: { host: '', cluster: inboundClusterName(port) }, destinationIp: socket.localAddress ?? null, security };
  }

  /** Mesh TLS carrying TCP to an app port: terminated as the mode says, then to the app. */
  #tcpOverTls(socket: Socket, port: number): void {
    if (this.#tcpTransport.kind === null) {
      this.#count('tcp_refused');
      socket.destroy();
      return;
    }
    this.#count('sniffed_tcp_tls');
    const local = socket.localAddress ?? null;
    this.#tcpTransport.accept(socket, (plain, security) => {
      const target: TcpTarget = { ...this.#appTarget(plain, port, security), destinationIp: local };
      this.#toByteProxy(plain, target);
    });
  }

  /**
   * Hands the plaintext of a connection to the byte proxy at once; when its TLS agreed on
   * `istio-peer-exchange`, Istio's TCP metadata exchange runs alongside (ours written now, the
   * peer's taken off its first bytes: its workload goes to the connection's series when it
   * arrives; no exchange from the peer names it by its certificate, counted
   * `initial_header_not_found`; a malformed, oversized or cut-short one closes the connection,
   * counted as `metadata_exchange.<why>` and logged). TLS without it: `alpn_protocol_not_found`, as Istio counts it.
   */
  #toByteProxy(plain: Socket, target: TcpTarget): void {
    const security = target.security ?? null;
    if (security === null || security.alpn !== PEER_EXCHANGE_ALPN) {
      if (security !== null) this.#count('metadata_exchange.alpn_protocol_not_found');
      this.#opts.tcp.handle(plain, target);
      return;
    }
    this.#count('metadata_exchange.alpn_protocol_found');
    this.#count('metadata_exchange.metadata_added');
    this.#exchange ??= encodeExchange(this.#opts.workload ?? workloadMetadata({}));
    const exchange = startMetadataExchange(plain, this.#exchange, { maxBytes: this.#opts.maxPeerMetadataBytes ?? DEFAULT_LIMITS.maxPeerMetadataBytes });
    exchange.whenSettled((outcome) => {
      if (outcome.kind === 'done') return;
      if (outcome.kind === 'absent') return this.#count('metadata_exchange.initial_header_not_found');
      this.#count(`metadata_exchange.${outcome.kind === 'closed' ? 'closed' : outcome.error}`);
      this.#opts.log?.('warn', `inbound TCP connection from ${plain.remoteAddress ?? '?'} (${security.peerSpiffeId ?? 'no principal'}) closed: metadata exchange failed: ${outcome.detail}`);
    });
    this.#opts.tcp.handle(plain, { ...target, exchange });
  }

  /** A port the workload does not declare: mesh TLS terminated as the mode says, then to its original destination. */
  #passThrough(socket: Socket, port: number): void {
    if (this.#tcpTransport.kind === null) {
      this.#count('passthrough_refused');
      socket.destroy();
      return;
    }
    const target = inboundPassthroughTarget(socket.localAddress ?? '', port);
    this.#tcpTransport.accept(socket, (plain, security) => {
      this.#count(security === null ? 'passthrough' : 'passthrough_tls');
      this.#toByteProxy(plain, security === null ? target : { ...target, security });
    });
  }
}
