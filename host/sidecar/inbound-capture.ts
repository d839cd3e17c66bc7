// A sidecar's inbound listener when it sees original destinations (TPROXY interception, the
// socket handed over by docker/wasmesh-listen.c): the accepted socket's local port is the app
// port the peer dialled (Istio's `inbound|<port>||`). A connection to an app port is sniffed
// (host/listener/protocol-sniff.ts; meshConfig protocolDetectionTimeout for server-first
// protocols): HTTP and TLS (mesh mTLS, PERMISSIVE or STRICT) go to the HTTP connection manager as
// before; anything else is proxied as TCP to the app at 127.0.0.1:<port> (the inbound cluster),
// unless this workload has AuthorizationPolicies or STRICT mTLS, which the TCP path cannot
// enforce yet: then it is refused (closed, counted, logged) rather than served open.
// A connection to another port (one the workload does not declare) is passed through as TCP to
// its original destination by InboundPassthroughCluster (inbound-passthrough.ts), Istio's
// inbound catch-all; connections to the listener's own port keep the HTTP path.
import { createServer, type Server, type Socket } from 'node:net';
import type { MeshConfig } from '../model/mesh.js';
import type { ProxyServer } from '../server/proxy-server.js';
import type { TcpProxyServer } from '../server/tcp-proxy-server.js';
import type { Log } from '../common/log.js';
import { inboundClusterName } from './inbound-mesh.js';
import { sniffFirstBytes } from './sniff-first-bytes.js';
import { inboundPassthroughRefusal, inboundPassthroughTarget } from './inbound-passthrough.js';
import { listenOn } from '../listener/listen-on.js';

export interface InboundCaptureOptions {
  host: string;
  port: number;
  fd?: number;
  appPorts: readonly number[];
  http: ProxyServer;
  /** The byte proxy to the app (TcpProxyServer with adopt, applied with the inbound mesh and InboundPassthroughCluster). */
  tcp: TcpProxyServer;
  maxConnections: number;
  log?: Log;
}

export class InboundCapture {
  readonly #opts: InboundCaptureOptions;
  readonly #server: Server;
  readonly #pending = new Set<Socket>();
  #detectMs = 0;
  /** Why plain TCP to the app is refused under the current config (null: allowed). */
  #tcpRefusal: string | null = 'no config yet';
  /** Why undeclared ports are closed under the current config (null: passed through). */
  #passthroughRefusal: string | null = 'no config yet';
  #port = 0;

  constructor(opts: InboundCaptureOptions) {
    this.#opts = opts;
    this.#server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (s) => this.#onConnection(s));
    this.#server.maxConnections = opts.maxConnections;
  }

  get port(): number {
    return this.#port;
  }

  /** The workload's config version: detection timeout, and whether TCP to the app may be served. */
  apply(mesh: MeshConfig): void {
    this.#detectMs = mesh.protocolDetectionTimeoutMs ?? 0;
    const policies = mesh.authorization ?? [];
    this.#tcpRefusal = policies.length > 0 ? `AuthorizationPolicy ${policies[0]!.name} selects this workload and is not enforced on TCP yet`
      : mesh.inboundMtlsMode === 'STRICT' ? 'PeerAuthentication STRICT is not enforced on TCP yet' : null;
    const passthrough = inboundPassthroughRefusal(mesh);
    // Warned once per change, as the Envoy plane warns when it leaves the passthrough chain out.
    if (passthrough !== null && passthrough !== this.#passthroughRefusal) this.#opts.log?.('warn', `inbound: connections to ports other than the app ports (--app-ports ${this.#opts.appPorts.join(',')}) are closed, not passed through: ${passthrough}`);
    this.#passthroughRefusal = passthrough;
  }

  async listen(): Promise<void> {
    this.#port = await listenOn(this.#server, this.#opts);
  }

  close(): void {
    if (this.#server.listening) this.#server.close();
    for (const s of this.#pending) s.destroy();
    this.#pending.clear();
  }

  #count(name: string): void {
    this.#opts.http.stats.downstream.incDynamic(`sidecar_inbound.${name}`);
  }

  #onConnection(socket: Socket): void {
    const port = socket.localPort ?? 0;
    if (port === this.#port) {
      this.#opts.http.adoptConnection(socket);
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
      if (protocol === 'http1' || protocol === 'http2' || protocol === 'tls') {
        this.#count('sniffed_http');
        this.#opts.http.adoptConnection(socket, first);
        return;
      }
      const refusal = this.#tcpRefusal;
      if (refusal !== null) {
        this.#count('tcp_refused');
        this.#opts.log?.('warn', `inbound TCP connection to app port ${port} from ${socket.remoteAddress ?? '?'} refused: ${refusal}`);
        socket.destroy();
        return;
      }
      this.#count('sniffed_tcp');
      if (first.length > 0) socket.unshift(first);
      this.#opts.tcp.handle(socket, { address: '127.0.0.1', port, service: { host: '', cluster: inboundClusterName(port) } });
    }, () => this.#pending.delete(socket));
  }

  /** A port the workload does not declare: to its original destination, or closed (counted). */
  #passThrough(socket: Socket, port: number): void {
    if (this.#passthroughRefusal !== null) {
      this.#count('passthrough_refused');
      socket.destroy();
      return;
    }
    this.#count('passthrough');
    this.#opts.tcp.handle(socket, inboundPassthroughTarget(socket.localAddress ?? '', port));
  }
}
