// A sidecar's outbound listener when it sees original destinations (TPROXY interception, the
// listening socket made by docker/wasmesh-listen.c with IP_TRANSPARENT): each accepted socket's
// local address is where the app was connecting. Envoy's virtualOutbound listener with
// use_original_dst, in one place: the destination's service port (ServiceEntry addresses, or a
// TCP port of a service without one; host/model/service-address.ts) gives its protocol
// (host/model/port-protocol.ts) —
//   - HTTP ports: the HTTP connection manager, as before (routes by Host);
//   - TCP, MONGO, MYSQL, REDIS ports: the byte proxy (TcpProxyServer.handle: the service's
//     `tcp:` routes, else its default cluster);
//   - TLS and HTTPS ports, and TLS sniffed on an unnamed port: the ClientHello's SNI read and the
//     bytes passed through untouched (TcpProxyServer.handleTls: the service's mesh `tls:` routes by
//     SNI, port and destination subnet, else the service the SNI names at that port, else the
//     original destination's service);
//   - ports of unknown protocol: sniffed from the first bytes (listener/protocol-sniff.ts), with
//     meshConfig protocolDetectionTimeout for server-first protocols (Istio's default 0s: wait);
//   - an address the mesh does not know: ALLOW_ANY passes the bytes to it (PassthroughCluster,
//     the proxy's own ports refused), REGISTRY_ONLY closes it (BlackHoleCluster, UH).
// A connection made to the listener's own port (REDIRECT capture, or a client dialing 15001)
// has no other destination and goes to HTTP, as without this file.
import { BlockList, createServer, isIP, type Server, type Socket } from 'node:net';
import type { MeshConfig } from '../model/mesh.js';
import type { ServiceAddress } from '../model/service-address.js';
import { carriedAs } from '../model/port-protocol.js';
import { sniffFirstBytes } from './sniff-first-bytes.js';
import type { ProxyServer } from '../server/proxy-server.js';
import type { TcpProxyServer, TcpTarget } from '../server/tcp-proxy-server.js';
import type { Stats } from '../telemetry/stats.js';
import { listenOn } from '../listener/listen-on.js';
import { canonicalAddress } from '../common/host-port.js';

export interface OutboundCaptureOptions {
  host: string;
  port: number;
  /** An already listening descriptor (socket activation) instead of binding host:port. */
  fd?: number;
  /** The HTTP side (ProxyServer with adoptOnly) and the TCP side (TcpProxyServer with adopt). */
  http: ProxyServer;
  tcp: TcpProxyServer;
  maxConnections: number;
}

/** One config version's lookup of service ports by original destination. */
class DestinationIndex {
  readonly #exact = new Map<string, ServiceAddress>();
  readonly #ranges: Array<{ list: BlockList; entry: ServiceAddress }> = [];
  readonly #anyAddress = new Map<number, ServiceAddress>();
  /** TLS/HTTPS ports of services without addresses, by port then host: the SNI tells them apart. */
  readonly #tlsBySni = new Map<number, Map<string, ServiceAddress>>();

  constructor(entries: readonly ServiceAddress[]) {
    for (const e of entries) {
      if (e.address === null) {
        // Two services on one port without addresses: the first (by host) keeps it, as Istio's
        // listener conflict resolution keeps one.
        if (!this.#anyAddress.has(e.port)) this.#anyAddress.set(e.port, e);
        if (isTlsPort(e)) {
          const byHost = this.#tlsBySni.get(e.port) ?? new Map<string, ServiceAddress>();
          if (!byHost.has(e.host)) byHost.set(e.host, e);
          this.#tlsBySni.set(e.port, byHost);
        }
        continue;
      }
      const slash = e.address.indexOf('/');
      if (slash < 0) {
        const key = `${normalize(e.address)}|${e.port}`;
        if (!this.#exact.has(key)) this.#exact.set(key, e);
        continue;
      }
      const address = e.address.slice(0, slash);
      const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      const list = new BlockList();
      list.addSubnet(address, Number(e.address.slice(slash + 1)), family);
      this.#ranges.push({ list, entry: e });
    }
  }

  /** The service port at address:port: an exact address first, then a range, then a port of a service without addresses. */
  find(address: string, port: number): ServiceAddress | null {
    const exact = this.#exact.get(`${address}|${port}`);
    if (exact !== undefined) return exact;
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    for (const r of this.#ranges) if (r.entry.port === port && r.list.check(address, family)) return r.entry;
    return this.#anyAddress.get(port) ?? null;
  }

  /** The service without addresses whose TLS port `port` an SNI names (Istio: its 0.0.0.0_<port> chains by server_names). */
  findBySni(port: number, sni: string): ServiceAddress | null {
    return this.#tlsBySni.get(port)?.get(sni) ?? null;
  }
}

/** A port whose traffic is TLS the sidecar passes through, routed by SNI (`tls`/`https`). */
function isTlsPort(e: ServiceAddress): boolean {
  return e.protocol === 'TLS' || e.protocol === 'HTTPS';
}

/** `::ffff:10.0.0.1` → `10.0.0.1`, IPv6 in one spelling (`FD00:0::5` → `fd00::5`): a ServiceEntry address as the socket reports it. */
const normalize = canonicalAddress;

/** Counters of the capture's decisions (`sidecar_outbound.*`). */
export const OUTBOUND_CAPTURE_STATS = ['original_dst_http', 'original_dst_tcp', 'original_dst_tls', 'original_dst_passthrough', 'original_dst_blackhole', 'sniffed_http', 'sniffed_tcp', 'sniffed_tls', 'sniff_timeout', 'direct'] as const;

export class OutboundCapture {
  readonly #opts: OutboundCaptureOptions;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #stats: Stats;
  #index = new DestinationIndex([]);
  #allowAny = true;
  #detectMs = 0;
  #port = 0;

  constructor(opts: OutboundCaptureOptions) {
    this.#opts = opts;
    this.#stats = opts.http.stats;
    this.#server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (s) => this.#onConnection(s));
    this.#server.maxConnections = opts.maxConnections;
  }

  get port(): number {
    return this.#port;
  }

  /** Takes a config version's service addresses, outbound policy and detection timeout (after the HTTP and TCP sides took it). */
  apply(mesh: MeshConfig): void {
    this.#index = new DestinationIndex(mesh.serviceAddresses ?? []);
    this.#allowAny = (mesh.outboundTrafficPolicy ?? 'ALLOW_ANY') === 'ALLOW_ANY';
    this.#detectMs = mesh.protocolDetectionTimeoutMs ?? 0;
  }

  async listen(): Promise<void> {
    this.#port = await listenOn(this.#server, this.#opts);
  }

  /** Stops accepting; connections handed over belong to the HTTP and TCP sides, which close them. */
  close(): void {
    if (this.#server.listening) this.#server.close();
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
  }

  #count(name: (typeof OUTBOUND_CAPTURE_STATS)[number]): void {
    this.#stats.downstream.incDynamic(`sidecar_outbound.${name}`);
  }

  #onConnection(socket: Socket): void {
    const address = normalize(socket.localAddress ?? '');
    const port = socket.localPort ?? 0;
    if (port === this.#port || address === '') {
      this.#count('direct');
      this.#opts.http.adoptConnection(socket);
      return;
    }
    const entry = this.#index.find(address, port);
    if (entry === null) {
      if (this.#allowAny) {
        this.#count('original_dst_passthrough');
        this.#opts.tcp.handle(socket, { address, port, service: null });
      } else {
        this.#count('original_dst_blackhole');
        this.#opts.tcp.blackHole(socket);
      }
      return;
    }
    const service = { host: entry.host, cluster: entry.cluster };
    switch (carriedAs(entry.protocol)) {
      case 'http1':
      case 'http2':
        this.#count('original_dst_http');
        this.#opts.http.adoptConnection(socket, undefined, { address, port });
        return;
      case 'tcp':
        if (isTlsPort(entry)) {
          this.#count('original_dst_tls');
          this.#handleTls(socket, address, port, service, entry.address === null);
          return;
        }
        this.#count('original_dst_tcp');
        this.#opts.tcp.handle(socket, { address, port, service });
        return;
      case 'sniff':
        this.#sockets.add(socket);
        sniffFirstBytes(socket, this.#detectMs, (protocol, first, timedOut) => {
          this.#sockets.delete(socket);
          if (timedOut) this.#count('sniff_timeout');
          if (protocol === 'http1' || protocol === 'http2') {
            this.#count('sniffed_http');
            this.#opts.http.adoptConnection(socket, first, { address, port });
          } else if (protocol === 'tls') {
            this.#count('sniffed_tls');
            if (first.length > 0) socket.unshift(first);
            this.#handleTls(socket, address, port, service, entry.address === null);
          } else {
            this.#count('sniffed_tcp');
            if (first.length > 0) socket.unshift(first);
            this.#opts.tcp.handle(socket, { address, port, service });
          }
        }, () => this.#sockets.delete(socket));
        return;
      case 'none':
        socket.destroy();
        return;
    }
  }

  /**
   * A TLS connection: routed by SNI through the mesh's `tls:` rules (TcpProxyServer.handleTls).
   * `anyAddress`: found by port alone (a service without addresses), so the SNI may name another
   * service sharing the port; a VIP's connection stays with the VIP's service.
   */
  #handleTls(socket: Socket, address: string, port: number, service: TcpTarget['service'], anyAddress: boolean): void {
    const index = this.#index;
    const bySni = (sni: string): TcpTarget['service'] => {
      const e = index.findBySni(port, sni);
      return e === null ? null : { host: e.host, cluster: e.cluster };
    };
    this.#opts.tcp.handleTls(socket, { address, port, service }, { timeoutMs: this.#detectMs, ...(anyAddress ? { bySni } : {}) });
  }
}
