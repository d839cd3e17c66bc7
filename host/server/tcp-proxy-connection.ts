// One connection of the TCP proxy from its upstream connect to its end (what Envoy's tcp_proxy
// filter holds per connection once a route, a unit of max_connections and an endpoint are
// chosen): the upstream connect within the cluster's connect timeout, the downstream leaving
// before it (Envoy's DC), then the byte-proxy session (host/listener/tcp/tcp-proxy-session.ts)
// whose end gives the unit, the endpoint and the config version back.
//
// One object per connection carries what these steps need, instead of a closure per step and a
// Timeout: the connect timeout is a sweep's (idle-sweep.ts, shared by every connect with the same
// timeout; the attempt's lastActivity is its start, so it times out between connectTimeoutMs and
// connectTimeoutMs plus a sixteenth, at most 1 s, later), and the session's callbacks are this
// object's methods. What a connect failure and a session's end mean for stats, Istio series and
// access logs is the server's (TcpConnectionOwner).
import { connect } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { startMetadataExchange, type PeerExchange } from '../listener/tcp/metadata-exchange.js';
import { PEER_EXCHANGE_ALPN } from '../telemetry/tcp-metadata-exchange.js';
import type { WorkloadLabels } from '../telemetry/istio-labels.js';
import type { TransportSocketFactory } from '../upstream/transport/transport-socket.js';
import { upstreamPeerSpiffeId } from '../upstream/transport/tls.js';
import { idleSweepFor, type IdleCandidate, type IdleSweep } from '../listener/tcp/idle-sweep.js';
import { TcpProxySession, type TcpSessionCallbacks, type TcpSessionOptions } from '../listener/tcp/tcp-proxy-session.js';
import { UserBufferReader } from '../listener/tcp/user-buffer-reader.js';
import type { ByteStream } from '../listener/tcp/byte-stream.js';
import { HandleSocket } from '../listener/tcp/handle-socket.js';
import { connectHandle, handleConnectable } from '../listener/tcp/handle-connect.js';
import type { TcpHandleBinding } from '../listener/tcp/tcp-handle-binding.js';
import type { EndpointLease } from '../upstream/cluster-manager.js';
import type { PoolSettings } from '../upstream/conn-pool/conn-pool.js';
import type { ClusterStats, TcpProxyStats } from '../telemetry/stats.js';

/** What a connection needs of its server (one object per server, not per connection). */
export interface TcpConnectionOwner<T> {
  /** Downstreams waiting for their upstream connect. */
  readonly connecting: Set<ByteStream>;
  /** The handle transport's bindings: plaintext upstreams to an IP connect on a raw handle (null: net.connect). */
  readonly handles: TcpHandleBinding | null;
  /** The tcp_proxy idle timeout of the sessions (0: none). */
  readonly idleTimeoutMs: number;
  /** Bytes queued toward each side before the other's reading is paused. */
  readonly bufferLimits: { toDownstream: number; toUpstream: number };
  /** This workload's TCP metadata exchange bytes for mesh mTLS upstreams (null: none is run). */
  readonly exchange: Buffer | null;
  /** The largest peer metadata taken from an upstream's exchange. */
  readonly maxPeerMetadataBytes: number;
  /** An upstream's metadata exchange failed (counted already; the connect then fails with UF). */
  exchangeFailed?(c: TcpProxyConnection<T>, detail: string): void;
  /** The connect failed or timed out (counted already): the downstream is closed with UF. */
  connectFailed(c: TcpProxyConnection<T>): void;
  /** The upstream is connected and the session runs. */
  opened(c: TcpProxyConnection<T>, session: TcpProxySession): void;
  /** The session is over (both sides closed). */
  closed(c: TcpProxyConnection<T>, session: TcpProxySession): void;
  /** The connection is done with what the server holds for it (called once, after the lease and the unit are given back). */
  released(c: TcpProxyConnection<T>): void;
}

/** The cluster's unit of max_connections this connection holds (ClusterManager.admitConnection; released once). */
export interface AdmittedConnection {
  release(): void;
  readonly settings: PoolSettings;
  readonly stats: ClusterStats;
  /** The cluster's transport: plain TCP, or its TLS origination (mesh mTLS). */
  readonly transport: TransportSocketFactory;
}

/** The downstream's reader once it streams (one function, not one per connection). */
function bulkReader(): UserBufferReader {
  return new UserBufferReader({ pipelined: true });
}

export class TcpProxyConnection<T> implements IdleCandidate, TcpSessionCallbacks {
  /** When the connect started: the connect timeout's reference. */
  readonly lastActivity = Date.now();
  readonly downstream: ByteStream;
  readonly upstream: ByteStream;
  /** The route's (or listener's) tcp stats: flow control and bytes. */
  readonly stats: TcpProxyStats;
  readonly admitted: AdmittedConnection;
  readonly lease: EndpointLease;
  /** What the server keeps per connection (its config version, log fields, Istio report). */
  readonly data: T;
  readonly #owner: TcpConnectionOwner<T>;
  readonly #connectSweep: IdleSweep;
  /** The version, endpoint and unit are given back (once). */
  #released = false;
  /** Istio's TCP metadata exchange with the downstream peer (a sidecar's inbound mesh mTLS), run by the session's reading of it. */
  readonly #downstreamExchange: PeerExchange | null;

  /** Connects to `lease`'s endpoint (from `bindAddress` if given). */
  constructor(owner: TcpConnectionOwner<T>, downstream: ByteStream, stats: TcpProxyStats, admitted: AdmittedConnection, lease: EndpointLease, data: T, bindAddress?: string, downstreamExchange: PeerExchange | null = null) {
    this.#owner = owner;
    this.#downstreamExchange = downstreamExchange;
    this.downstream = downstream;
    this.stats = stats;
    this.admitted = admitted;
    this.lease = lease;
    this.data = data;
    const settings = admitted.settings;
    const ka = settings.tcpKeepalive;
    const transport = admitted.transport;
    // Plain TCP: the upstream reads into a buffer of its own (no 64 KiB allocation per read;
    // docs/tcp.md). TLS (the cluster's mesh mTLS): Node's reads, so the peer's TCP metadata
    // exchange can be read off the stream before the session pipes it.
    const reader = transport.readyEvent === 'connect' ? new UserBufferReader({ pipelined: true }) : null;
    const handles = owner.handles;
    const endpoint = lease.endpoint;
    // The handle transport (docs/tcp.md): a raw TCP handle instead of a net.Socket, for an IP endpoint.
    const upstream = (this.upstream = reader !== null && handles !== null && handleConnectable(endpoint.address)
      ? connectHandle(handles, endpoint.address, endpoint.port, reader, { localAddress: bindAddress, keepAliveInitialDelayMs: ka === null ? null : ka.timeMs })
      : reader !== null
      ? connect({
        host: lease.endpoint.address,
        port: lease.endpoint.port,
        localAddress: bindAddress,
        allowHalfOpen: true,
        noDelay: true,
        onread: reader.onread,
        keepAlive: ka !== null,
        keepAliveInitialDelay: ka?.timeMs ?? 0,
      })
      : transport.connect(lease.endpoint.address, lease.endpoint.port, { noDelay: true, keepAlive: ka === null ? null : { timeMs: ka.timeMs }, allowHalfOpen: true }));
    owner.connecting.add(downstream);
    // `on`, not `once` (no wrapper per connection): each of these events comes once, and the
    // handlers are removed or harmless after it.
    downstream.on('close', this.#downstreamGone);
    this.#connectSweep = idleSweepFor(settings.connectTimeoutMs);
    this.#connectSweep.add(this);
    upstream.on('error', this.#upstreamError);
    if (reader !== null) upstream.on('connect', () => this.#connected(reader));
    else upstream.on('secureConnect', () => this.#secured());
  }

  /** Istio's TCP metadata exchange on the upstream (with `istio-peer-exchange` agreed), else null. */
  exchange: PeerExchange | null = null;
  /** The upstream certificate's SPIFFE ID (mesh mTLS), else null. */
  upstreamPrincipal: string | null = null;

  /**
   * The TLS upstream is verified: the session starts at once; with `istio-peer-exchange` agreed,
   * Istio's TCP metadata exchange runs alongside it (ours written now, the peer's taken off its
   * first bytes whenever they come; a bad one closes the connection, counted as
   * `metadata_exchange.<why>` on the cluster).
   */
  #secured(): void {
    const upstream = this.upstream as unknown as TLSSocket;
    this.upstreamPrincipal = upstreamPeerSpiffeId(upstream);
    const ours = this.#owner.exchange;
    const stats = this.admitted.stats;
    if (upstream.alpnProtocol !== PEER_EXCHANGE_ALPN || ours === null) {
      if (ours !== null) stats.incDynamic('metadata_exchange.alpn_protocol_not_found');
      return this.#connected(null);
    }
    stats.incDynamic('metadata_exchange.alpn_protocol_found');
    stats.incDynamic('metadata_exchange.metadata_added');
    this.exchange = startMetadataExchange(upstream, ours, { maxBytes: this.#owner.maxPeerMetadataBytes });
    this.exchange.whenSettled((outcome) => {
      if (outcome.kind === 'done') return;
      if (outcome.kind === 'absent') return stats.incDynamic('metadata_exchange.initial_header_not_found');
      stats.incDynamic(`metadata_exchange.${outcome.kind === 'closed' ? 'closed' : outcome.error}`);
      this.#owner.exchangeFailed?.(this, outcome.detail);
    });
    this.#connected(null);
  }

  /** The connect timeout (called by the sweep once the connect has taken connectTimeoutMs). */
  idleOut(): void {
    if (!this.#owner.connecting.has(this.downstream)) return;
    this.admitted.stats.inc('upstream_cx_connect_timeout');
    this.upstream.destroy();
    this.lease.report('connect_failed');
    this.#connectFailed();
  }

  /** The client left before the upstream answered: Envoy's DC on a tcp_proxy. */
  readonly #downstreamGone = (): void => {
    this.#owner.connecting.delete(this.downstream);
    this.#connectSweep.delete(this);
    this.upstream.destroy();
    this.#giveBack();
  };

  readonly #upstreamError = (): void => {
    // After the connect, errors are the session's (it resets the downstream).
    if (!this.#owner.connecting.has(this.downstream)) return;
    this.admitted.stats.inc('upstream_cx_connect_fail');
    this.lease.report('connect_failed');
    this.#connectFailed();
  };

  #connectFailed(): void {
    this.#owner.connecting.delete(this.downstream);
    this.#connectSweep.delete(this);
    this.downstream.off('close', this.#downstreamGone);
    this.#giveBack();
    this.#owner.connectFailed(this);
  }

  #connected(reader: UserBufferReader | null): void {
    const owner = this.#owner;
    this.#connectSweep.delete(this);
    owner.connecting.delete(this.downstream);
    this.downstream.off('close', this.#downstreamGone);
    this.lease.report('connect_success');
    const cluster = this.admitted.stats;
    cluster.inc('upstream_cx_total');
    cluster.inc('upstream_cx_active');
    const limits = owner.bufferLimits;
    const down = this.downstream;
    // A downstream on the handle transport reads into its own buffer from the start; a net.Socket
    // one moves to a buffer of its own once it shows a bulk stream (its handle re-wrapped:
    // user-buffer-downstream.ts), until then, and if it cannot move, Node's reads.
    const opts: TcpSessionOptions = down instanceof HandleSocket
      ? (reader !== null
        ? { idleTimeoutMs: owner.idleTimeoutMs, upstreamReader: reader, downstreamReader: down.reader, pipelined: true, bufferLimits: limits }
        : { idleTimeoutMs: owner.idleTimeoutMs, downstreamReader: down.reader, pipelined: true, bufferLimits: limits, upstreamExchange: this.exchange })
      : reader !== null
      ? { idleTimeoutMs: owner.idleTimeoutMs, upstreamReader: reader, downstreamReaderOnBulk: bulkReader, pipelined: true, bufferLimits: limits, downstreamExchange: this.#downstreamExchange }
      : { idleTimeoutMs: owner.idleTimeoutMs, pipelined: true, bufferLimits: limits, downstreamExchange: this.#downstreamExchange, upstreamExchange: this.exchange };
    owner.opened(this, new TcpProxySession(this.downstream, this.upstream, opts, this));
  }

  onDownstreamFlowControl(paused: boolean): void {
    this.stats.inc(paused ? 'downstream_flow_control_paused_reading_total' : 'downstream_flow_control_resumed_reading_total');
  }

  onEnd(session: TcpProxySession): void {
    const cluster = this.admitted.stats;
    cluster.inc('upstream_cx_tx_bytes_total', session.rxBytes);
    cluster.inc('upstream_cx_rx_bytes_total', session.txBytes);
    cluster.dec('upstream_cx_active');
    if (session.end === 'upstream_reset') cluster.inc('upstream_cx_destroy_remote');
    else if (session.end !== 'closed') cluster.inc('upstream_cx_destroy_local');
    this.#owner.closed(this, session);
    this.#giveBack();
  }

  #giveBack(): void {
    if (this.#released) return;
    this.#released = true;
    this.lease.release();
    this.admitted.release();
    this.#owner.released(this);
  }
}
