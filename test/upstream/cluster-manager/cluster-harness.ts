// A ClusterManager on its own core with a fake clock, route tables compiled from hand-built
// meshes, and a small request driver that does what the proxy's request path does per attempt:
// admit, pick, acquire a pooled connection, exchange over a real loopback socket, report, release.
import { Core } from '../../../host/core/wasm.js';
import { RouteTable } from '../../../host/core/route/route-table.js';
import { compileRouteTable } from '../../../host/compile/route-table.js';
import { CoreHttp1Codec } from '../../../host/upstream/conn-pool/http1/core-http1-codec.js';
import { ClusterManager, type PickRequest, type EndpointLease } from '../../../host/upstream/cluster-manager.js';
import { resolveLimits, type Limits } from '../../../host/common/limits.js';
import { Stats } from '../../../host/telemetry/stats.js';
import { noHeaderOps, type Cluster, type ClusterPolicy, type LbPolicy, type MeshConfig } from '../../../host/model/mesh.js';
import { circuitBreakerLimitsFromIstio } from '../../../host/config/translate/circuit-breaker-limits.js';
import type { OutlierSettings } from '../../../host/model/outlier-settings.js';
import type { HashLbDescriptor } from '../../../host/model/hash-lb.js';
import type { PoolFailure, UpstreamStream } from '../../../host/upstream/conn-pool/conn-pool.js';

export interface Harness {
  core: Core;
  cm: ClusterManager;
  stats: Stats;
  clock: { t: number };
  /** Loads `mesh` as a new version; returns the version handle pickEndpoint takes. */
  load(mesh: MeshConfig): { table: RouteTable };
  close(): void;
}

let version = 0;

export function harness(limits: Partial<Limits> = {}): Harness {
  const core = new Core();
  const stats = new Stats();
  const clock = { t: 1_000_000 };
  const codec = new CoreHttp1Codec(core);
  const cm = new ClusterManager(core, stats, resolveLimits(limits), codec, { now: () => clock.t, manualTicks: true });
  const tables: RouteTable[] = [];
  return {
    core, cm, stats, clock,
    load(mesh) {
      const table = RouteTable.load(core, compileRouteTable(mesh), ++version);
      cm.apply(mesh, table);
      // The previous version is superseded (its "server reference" goes, as ProxyVersion.retire).
      tables.at(-1)?.release();
      tables.push(table);
      return { table };
    },
    close() {
      cm.close();
    },
  };
}

export interface ClusterOpts {
  lb?: LbPolicy;
  outlier?: OutlierSettings | null;
  limits?: Partial<ReturnType<typeof circuitBreakerLimitsFromIstio>>;
  connection?: Partial<ClusterPolicy['connection']>;
  hash?: HashLbDescriptor | null;
  /** No policy at all (Istio defaults, proxy-wide limits). */
  noPolicy?: boolean;
  weights?: number[];
}

export const CLUSTER = 'outbound|9080||svc.default.svc.cluster.local';

/** One route to one cluster whose endpoints are 127.0.0.1:<ports>. */
export function meshOf(ports: number[], o: ClusterOpts = {}): MeshConfig {
  const cluster: Cluster = {
    name: CLUSTER,
    host: 'svc.default.svc.cluster.local',
    port: 9080,
    subset: null,
    lb: o.lb ?? 'ROUND_ROBIN',
    endpoints: ports.map((port, i) => ({ address: '127.0.0.1', port, labels: {}, weight: o.weights?.[i] ?? 1 })),
  };
  if (!o.noPolicy) {
    cluster.policy = {
      connection: { connectTimeoutMs: 10_000, idleTimeoutMs: 3_600_000, tcpKeepalive: null, ...o.connection },
      limits: { ...circuitBreakerLimitsFromIstio(undefined), ...o.limits },
      outlier: o.outlier ?? null,
      hash: o.hash ?? null,
    };
  }
  return {
    virtualHosts: [{
      name: 'vh', domains: ['*'],
      routes: [{
        name: 'r', matches: [], requestHeaders: noHeaderOps(), responseHeaders: noHeaderOps(), timeoutMs: null,
        destinations: [{ cluster: CLUSTER, weight: 100, requestHeaders: noHeaderOps(), responseHeaders: noHeaderOps() }],
      }],
    }],
    clusters: [cluster],
  };
}

/** A request for the balancers: no headers unless given (as [name, value] pairs, flattened as ds.headers is). */
export function req(p: Partial<Omit<PickRequest, 'headers'>> & { headers?: ReadonlyArray<readonly [string, string]> } = {}): PickRequest {
  return { clientIp: '10.1.2.3', path: '/', authority: 'svc', ...p, headers: (p.headers ?? []).flat() };
}

/** Picks `n` times (each lease released at once) and counts picks per endpoint index. */
export function histogram(h: Harness, v: { table: RouteTable }, n: number, r: () => PickRequest = () => req()): Map<number, number> {
  const out = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const lease = h.cm.pickEndpoint(v, 0, r());
    const k = lease ? lease.index : -1;
    out.set(k, (out.get(k) ?? 0) + 1);
    lease?.release();
  }
  return out;
}

export interface Attempt {
  lease: EndpointLease | null;
  /** Status, or the local failure. */
  result: number | 'no_healthy' | 'overflow' | 'connect_fail' | 'connect_timeout' | 'reset';
  body: string;
  /** Which TCP connection served it (the pool's connection object). */
  conn: UpstreamStream | null;
}

/**
 * One attempt as the proxy makes it: admission, pick, pooled connection, GET exchange, outlier
 * report (status, or connect failure / reset), release. The upstream decides when it answers,
 * so a held response keeps the lease (and its active count) open.
 */
export function attempt(h: Harness, v: { table: RouteTable }, r: PickRequest = req(), path = '/'): Promise<Attempt> {
  return new Promise((resolve) => {
    const admitted = h.cm.admitRequest(v, 0);
    if (admitted === 'overflow') return resolve({ lease: null, result: 'overflow', body: '', conn: null });
    const lease = h.cm.pickEndpoint(v, 0, r);
    if (!lease) {
      admitted.release();
      return resolve({ lease: null, result: 'no_healthy', body: '', conn: null });
    }
    const end = (a: Attempt): void => {
      lease.release();
      admitted.release();
      resolve(a);
    };
    const onPoolFailure = (c: PoolFailure): void => {
      if (c === 'connect_fail' || c === 'connect_timeout') lease.report('connect_failed');
      end({ lease, result: c, body: '', conn: null });
    };
    lease.endpoint.newStream({ onPoolFailure, onPoolReady: (c) => {
      let status = 0;
      const chunks: Buffer[] = [];
      c.start(Buffer.from(`GET ${path} HTTP/1.1\r\nhost: svc\r\n\r\n`), {
        onResponseHead: (head) => {
          status = head.code;
          lease.report(head.code);
        },
        onResponseData: (d) => (chunks.push(Buffer.from(d)), true),
        onResponseEnd: () => end({ lease, result: status, body: Buffer.concat(chunks).toString(), conn: c }),
        onUpstreamFailure: () => {
          lease.report('reset');
          end({ lease, result: 'reset', body: '', conn: c });
        },
        onRequestDrain: () => {},
      }, { isHead: false, chunked: false, hasBody: false });
    } });
  });
}
