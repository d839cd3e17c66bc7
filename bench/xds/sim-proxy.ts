// A simulated proxy for the convergence benchmark: one real gRPC ADS stream to the control plane
// that subscribes as the real client does and ACKs every response, recording when each response
// arrived and how many bytes it was on the wire (the encoded message). Three kinds:
//  - a wasmesh sidecar (delta): wasmesh's one resource, wildcard;
//  - an Envoy sidecar, SotW or delta: CDS and LDS wildcard first, then EDS for the clusters CDS
//    named and RDS for the route configurations the listeners' HTTP connection managers name,
//    as Envoy does (it asks for EDS/RDS when the clusters/listeners warm).
// Messages are encoded and decoded by protobufjs from Envoy's protos (host/xds/envoy-protos.ts).
import { credentials, makeGenericClientConstructor, type ClientDuplexStream, type ServiceDefinition } from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import { envoyProtos, TYPE_URL } from '../../host/xds/envoy-protos.js';
import { WASMESH_TYPE_URL } from '../../host/xds/wasmesh-resource.js';
import { nodeId } from '../../host/xds/xds-node.js';
import { BENCH_NAMESPACE } from './mesh-yaml.js';

type Plain = Record<string, unknown>;

export type SimKind = 'wasmesh-delta' | 'envoy-sotw' | 'envoy-delta';

/** One response as the simulated proxy saw it. */
export interface Received {
  at: number;
  type: string;
  bytes: number;
}

const HCM_TYPE = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

let codecs: { service: ServiceDefinition; listener: protobuf.Type; hcm: protobuf.Type; cluster: protobuf.Type } | null = null;

/** The ADS service with codecs that count each response's encoded size (set on the message). */
function adsCodecs(): NonNullable<typeof codecs> {
  if (codecs) return codecs;
  const root = envoyProtos();
  const codec = (name: string) => {
    const t = root.lookupType(name);
    return {
      serialize: (m: Plain): Buffer => Buffer.from(t.encode(t.fromObject(m)).finish()),
      // Only the envelope is turned into a plain object; resource bodies stay bytes until needed.
      deserialize: (b: Buffer): Plain => ({ ...(t.toObject(t.decode(b), { longs: String, enums: String, arrays: true, defaults: false }) as Plain), wireBytes: b.length }),
    };
  };
  const base = '/envoy.service.discovery.v3.AggregatedDiscoveryService/';
  const sotwReq = codec('envoy.service.discovery.v3.DiscoveryRequest');
  const sotwRes = codec('envoy.service.discovery.v3.DiscoveryResponse');
  const deltaReq = codec('envoy.service.discovery.v3.DeltaDiscoveryRequest');
  const deltaRes = codec('envoy.service.discovery.v3.DeltaDiscoveryResponse');
  const method = (path: string, req: ReturnType<typeof codec>, res: ReturnType<typeof codec>) => ({
    path: `${base}${path}`, requestStream: true, responseStream: true,
    requestSerialize: req.serialize, requestDeserialize: req.deserialize, responseSerialize: res.serialize, responseDeserialize: res.deserialize,
  });
  codecs = {
    service: {
      sotw: method('StreamAggregatedResources', sotwReq, sotwRes),
      delta: method('DeltaAggregatedResources', deltaReq, deltaRes),
    } as unknown as ServiceDefinition,
    listener: root.lookupType('envoy.config.listener.v3.Listener'),
    hcm: root.lookupType(HCM_TYPE),
    cluster: root.lookupType('envoy.config.cluster.v3.Cluster'),
  };
  return codecs;
}

/** Route configuration names a listener's HTTP connection managers ask RDS for. */
function routeNames(listener: protobuf.Type, hcm: protobuf.Type, bytes: Uint8Array): string[] {
  const l = listener.toObject(listener.decode(bytes), { defaults: false }) as { filter_chains?: Array<{ filters?: Array<{ typed_config?: { type_url: string; value: Uint8Array } }> }>; default_filter_chain?: { filters?: Array<{ typed_config?: { type_url: string; value: Uint8Array } }> } };
  const out: string[] = [];
  for (const chain of [...(l.filter_chains ?? []), ...(l.default_filter_chain ? [l.default_filter_chain] : [])]) {
    for (const f of chain.filters ?? []) {
      if (!f.typed_config || !f.typed_config.type_url.endsWith(HCM_TYPE)) continue;
      const h = hcm.toObject(hcm.decode(f.typed_config.value), { defaults: false }) as { rds?: { route_config_name?: string } };
      if (h.rds?.route_config_name) out.push(h.rds.route_config_name);
    }
  }
  return out;
}

export interface SimProxyOptions {
  port: number;
  kind: SimKind;
  /** Index among the simulated proxies: its pod name and its app label (svc-<index>). */
  index: number;
}

function toStruct(v: Record<string, unknown>): Plain {
  const value = (x: unknown): Plain =>
    typeof x === 'string' ? { stringValue: x } : { structValue: toStruct(x as Record<string, unknown>) };
  return { fields: Object.fromEntries(Object.entries(v).map(([k, x]) => [k, value(x)])) };
}

export class SimProxy {
  readonly kind: SimKind;
  readonly id: string;
  readonly received: Received[] = [];
  readonly #call: ClientDuplexStream<Plain, Plain>;
  readonly #client: { close(): void };
  readonly #delta: boolean;
  /** Names asked of RDS and EDS so far (SotW re-sends the full list on each request). */
  readonly #asked = new Map<string, string[]>();
  /** SotW: the last version and nonce per type (a new request carries them). */
  readonly #last = new Map<string, { version: string; nonce: string }>();
  #nodeSent = false;
  error: string | null = null;

  constructor(opts: SimProxyOptions) {
    this.kind = opts.kind;
    this.#delta = opts.kind !== 'envoy-sotw';
    const c = adsCodecs();
    const Client = makeGenericClientConstructor(c.service, 'Ads');
    // One channel (one HTTP/2 connection) per proxy, as 100 separate sidecars would have.
    const client = new Client(`127.0.0.1:${opts.port}`, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 } as never) as unknown as Record<string, () => ClientDuplexStream<Plain, Plain>> & { close(): void };
    this.#client = client;
    this.#call = client[this.#delta ? 'delta' : 'sotw']!();
    const pod = `sim-${opts.index}`;
    this.id = nodeId('sidecar', `10.200.${opts.index >> 8}.${opts.index & 255}`, pod, BENCH_NAMESPACE);
    this.#call.on('data', (m: Plain) => this.#onResponse(m));
    this.#call.on('error', (e: { details?: string; message?: string }) => {
      if (this.error === null) this.error = e.details || e.message || 'stream error';
    });
    const metadata: Record<string, unknown> = { NAMESPACE: BENCH_NAMESPACE, LABELS: { app: `svc-${opts.index}` }, CLUSTER_ID: 'Kubernetes' };
    if (opts.kind === 'wasmesh-delta') metadata.WASMESH = '1';
    const node = { id: this.id, cluster: `svc-${opts.index}.${BENCH_NAMESPACE}`, metadata: toStruct(metadata), user_agent_name: opts.kind === 'wasmesh-delta' ? 'wasmesh' : 'envoy' };
    if (opts.kind === 'wasmesh-delta') this.#subscribe(WASMESH_TYPE_URL, [], node);
    else {
      // Envoy asks for clusters and listeners first; endpoints and routes follow as they warm.
      this.#subscribe(TYPE_URL.cluster, [], node);
      this.#subscribe(TYPE_URL.listener, []);
    }
  }

  #subscribe(type: string, names: string[], node?: Plain): void {
    const req: Plain = { type_url: type };
    if (node && !this.#nodeSent) {
      req.node = node;
      this.#nodeSent = true;
    }
    if (this.#delta) req.resource_names_subscribe = names;
    else {
      req.resource_names = names;
      const last = this.#last.get(type);
      if (last) {
        req.version_info = last.version;
        req.response_nonce = last.nonce;
      }
    }
    this.#call.write(req);
  }

  #onResponse(m: Plain): void {
    const type = String(m.type_url ?? '');
    const nonce = String(m.nonce ?? '');
    // New names for EDS / RDS are asked for after the ACK, as Envoy does once a cluster or listener warms.
    let follow: { type: string; names: string[] } | null = null;
    if (this.kind !== 'wasmesh-delta' && (type === TYPE_URL.cluster || type === TYPE_URL.listener)) {
      const names = this.#dependentNames(type, m);
      const dep = type === TYPE_URL.cluster ? TYPE_URL.endpoint : TYPE_URL.route;
      const before = this.#asked.get(dep) ?? [];
      const fresh = names.filter((n) => !before.includes(n));
      if (fresh.length > 0 || (!this.#delta && names.length !== before.length)) {
        this.#asked.set(dep, this.#delta ? [...before, ...fresh] : names);
        follow = { type: dep, names: this.#delta ? fresh : names };
      }
    }
    if (this.#delta) this.#call.write({ type_url: type, response_nonce: nonce });
    else {
      const version = String(m.version_info ?? '');
      this.#last.set(type, { version, nonce });
      this.#call.write({ type_url: type, version_info: version, response_nonce: nonce, resource_names: this.#asked.get(type) ?? [] });
    }
    if (follow) this.#subscribe(follow.type, follow.names);
    // Stamped once the ACK (and any follow-up request) is written: when this proxy has converged.
    this.received.push({ at: performance.now(), type, bytes: Number(m.wireBytes ?? 0) });
  }

  /** Cluster names from a CDS response (EDS asks for them), route names from an LDS one. */
  #dependentNames(type: string, m: Plain): string[] {
    const c = adsCodecs();
    if (this.#delta) {
      const rs = (m.resources as Array<{ name: string; resource?: { value: Uint8Array } }> | undefined) ?? [];
      if (type === TYPE_URL.cluster) {
        // Delta CDS carries only what changed: the names add to those already held.
        return [...new Set([...(this.#asked.get(TYPE_URL.endpoint) ?? []), ...rs.map((r) => r.name)])];
      }
      return [...new Set([...(this.#asked.get(TYPE_URL.route) ?? []), ...rs.flatMap((r) => (r.resource ? routeNames(c.listener, c.hcm, r.resource.value) : []))])];
    }
    const rs = (m.resources as Array<{ value: Uint8Array }> | undefined) ?? [];
    if (type === TYPE_URL.cluster) {
      return rs.map((r) => (c.cluster.toObject(c.cluster.decode(r.value), { defaults: false }) as { name: string }).name);
    }
    return [...new Set(rs.flatMap((r) => routeNames(c.listener, c.hcm, r.value)))];
  }

  /** Responses received since `t` (performance.now() time). */
  since(t: number): Received[] {
    const out: Received[] = [];
    for (let i = this.received.length - 1; i >= 0 && this.received[i]!.at >= t; i--) out.push(this.received[i]!);
    return out.reverse();
  }

  close(): void {
    try {
      this.#call.end();
      this.#call.cancel();
    } catch {
      // already closed
    }
    this.#client.close();
  }
}
