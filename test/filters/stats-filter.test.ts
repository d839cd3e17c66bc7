// The wasmesh_stats filter in a JavaScript proxy-wasm host (build/filters/wasmesh-stats.wasm):
// the metric names it defines (Istio's encoding, decoded here with the bootstrap's own stats_tags
// regexes), the service labels from cluster and authority, response flags, metadata exchange in
// both directions, refused configurations (fail closed), metrics defined once per series, and
// memory that stays flat across requests and configuration updates.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultFiltersWasmPath } from '../../host/envoy/filters-bootstrap.js';
import { encodeStatsPluginConfig } from '../../host/envoy/stats-plugin-config.js';
import { istioStatsTags } from '../../host/envoy/stats-tags.js';
import { workloadMetadata } from '../../host/model/workload-metadata.js';
import { encodePeerMetadata } from '../../host/telemetry/peer-metadata.js';
import { encodeExchange } from '../../host/telemetry/tcp-metadata-exchange.js';
import { hostOfAuthority, serviceOfCluster, serviceOfHost } from '../../host/telemetry/istio-labels.js';
import fc from 'fast-check';

const OK = 0;
const NOT_FOUND = 1;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

interface Exports {
  memory: WebAssembly.Memory;
  proxy_on_memory_allocate(size: number): number;
  proxy_on_context_create(id: number, parent: number): void;
  proxy_on_vm_start(root: number, size: number): number;
  proxy_on_configure(root: number, size: number): number;
  proxy_on_request_headers(stream: number, count: number, eos: number): number;
  proxy_on_response_headers(stream: number, count: number, eos: number): number;
  proxy_on_log(stream: number): void;
  proxy_on_delete(id: number): void;
  proxy_on_tick(root: number): void;
  proxy_on_new_connection(id: number): number;
  proxy_on_downstream_data(id: number, size: number, eos: number): number;
  proxy_on_upstream_data(id: number, size: number, eos: number): number;
  proxy_on_downstream_connection_close(id: number, peer: number): void;
}

/** What Envoy's stream properties give on log (8-byte little-endian integers, strings as bytes). */
interface StreamProps {
  code?: number;
  flags?: number;
  durationMs?: number;
  requestSize?: number;
  responseSize?: number;
  cluster?: string;
  host?: string;
  mtls?: boolean;
  peerUri?: string;
  /** grpc_stats' filter state as Envoy's property gives it ("<req>,<resp>"); absent: not gRPC. */
  grpcStats?: string;
  grpcStatus?: number;
  /** A TCP connection's upstream host (set by tcp_proxy once connected). */
  upstreamAddress?: string;
  /** The upstream certificate's URI SAN (mesh mTLS to the upstream). */
  upstreamUri?: string;
}

function int64(v: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, BigInt(v), true);
  return b;
}

class StatsHost {
  readonly exports: Exports;
  readonly logs: string[] = [];
  /** Metric id → [type, name]; values by id. */
  readonly defined: Array<[number, string]> = [];
  readonly counters = new Map<number, number>();
  readonly records = new Map<number, number[]>();
  configuration: Uint8Array = new Uint8Array(0);
  props: StreamProps = {};
  request: Array<[string, string]> = [];
  response: Array<[string, string]> = [];
  #next = 1;
  #root = 0;
  /** The root_id Envoy's plugin names (wasmesh_stats, or the TCP filter's wasmesh_tcp_stats). */
  rootId = 'wasmesh_stats';
  tickPeriodMs = -1;
  /** The effective context the module switched to (proxy_set_effective_context). */
  effective = 0;
  /** Per connection, its properties (the effective context's are read). */
  readonly connProps = new Map<number, StreamProps>();
  /** The data buffer of the callback running (type 2 downstream, 3 upstream), as the module edits it. */
  dataBuffer: Uint8Array = new Uint8Array(0);
  dataType = -1;
  /** Streams the module closed (proxy_close_stream: 2 downstream, 3 upstream). */
  readonly closed: number[] = [];

  constructor() {
    const path = join(dirname(defaultFiltersWasmPath()), 'wasmesh-stats.wasm');
    if (!existsSync(path)) throw new Error(`${path} missing: run npm run build:filters`);
    const mem = (): Uint8Array => new Uint8Array(this.exports.memory.buffer);
    const dv = (): DataView => new DataView(this.exports.memory.buffer);
    const str = (p: number, n: number): string => decoder.decode(mem().subarray(p, p + n));
    const give = (bytes: Uint8Array, retData: number, retSize: number): number => {
      const p = bytes.length === 0 ? 0 : this.exports.proxy_on_memory_allocate(bytes.length);
      if (bytes.length > 0) mem().set(bytes, p);
      dv().setUint32(retData, p, true);
      dv().setUint32(retSize, bytes.length, true);
      return OK;
    };
    const map = (m: number): Array<[string, string]> => (m === 0 ? this.request : this.response);
    const setMap = (m: number, v: Array<[string, string]>): void => {
      if (m === 0) this.request = v;
      else this.response = v;
    };
    const property = (path: string): Uint8Array | null => {
      const p = this.connProps.get(this.effective) ?? this.props;
      switch (path) {
        case 'plugin_root_id': return encoder.encode(this.rootId);
        case 'filter_state\0envoy.filters.http.grpc_stats': return p.grpcStats === undefined ? null : encoder.encode(p.grpcStats);
        case 'response\0grpc_status': return p.grpcStatus === undefined ? null : int64(p.grpcStatus);
        case 'upstream\0address': return p.upstreamAddress === undefined ? null : encoder.encode(p.upstreamAddress);
        case 'response\0code': return p.code === undefined ? null : int64(p.code);
        case 'response\0flags': return int64(p.flags ?? 0);
        case 'request\0duration': return int64((p.durationMs ?? 0) * 1_000_000);
        case 'request\0total_size': return int64(p.requestSize ?? 0);
        case 'response\0total_size': return int64(p.responseSize ?? 0);
        case 'xds\0cluster_name': return p.cluster === undefined ? null : encoder.encode(p.cluster);
        case 'request\0host': return p.host === undefined ? null : encoder.encode(p.host);
        case 'connection\0mtls': return new Uint8Array([p.mtls ? 1 : 0]);
        case 'connection\0uri_san_peer_certificate': return p.peerUri === undefined ? null : encoder.encode(p.peerUri);
        case 'upstream\0uri_san_peer_certificate': return p.upstreamUri === undefined ? null : encoder.encode(p.upstreamUri);
        default: return null;
      }
    };
    const env = {
      proxy_log: (_level: number, p: number, n: number) => (this.logs.push(str(p, n)), OK),
      proxy_get_buffer_bytes: (type: number, start: number, max: number, retData: number, retSize: number) =>
        type === 7 ? give(this.configuration.subarray(start, start + max), retData, retSize)
          : type === this.dataType ? give(this.dataBuffer.subarray(start, start + max), retData, retSize) : NOT_FOUND,
      // As Envoy 1.40 on a network filter's data: start 0 drains `length` bytes, then prepends the data.
      proxy_set_buffer_bytes: (type: number, start: number, length: number, p: number, n: number) => {
        if (type !== this.dataType || start !== 0) return 2;
        const data = mem().slice(p, p + n);
        const rest = this.dataBuffer.subarray(length);
        const out = new Uint8Array(n + rest.length);
        out.set(data, 0);
        out.set(rest, n);
        this.dataBuffer = out;
        return OK;
      },
      proxy_close_stream: (type: number) => (this.closed.push(type), OK),
      proxy_get_property: (p: number, n: number, retData: number, retSize: number) => {
        const v = property(str(p, n));
        return v === null ? NOT_FOUND : give(v, retData, retSize);
      },
      proxy_get_header_map_value: (m: number, kp: number, kn: number, retData: number, retSize: number) => {
        const found = map(m).find(([k]) => k === str(kp, kn));
        return found ? give(encoder.encode(found[1]), retData, retSize) : NOT_FOUND;
      },
      proxy_replace_header_map_value: (m: number, kp: number, kn: number, vp: number, vn: number) => {
        const key = str(kp, kn);
        setMap(m, [...map(m).filter(([k]) => k !== key), [key, str(vp, vn)]]);
        return OK;
      },
      proxy_remove_header_map_value: (m: number, kp: number, kn: number) => {
        const key = str(kp, kn);
        setMap(m, map(m).filter(([k]) => k !== key));
        return OK;
      },
      proxy_define_metric: (type: number, p: number, n: number, ret: number) => {
        // As Envoy: a new id on every call.
        const id = this.defined.push([type, str(p, n)]) - 1;
        dv().setUint32(ret, id, true);
        return OK;
      },
      proxy_increment_metric: (id: number, delta: bigint) => {
        if (this.defined[id] === undefined) return NOT_FOUND;
        this.counters.set(id, (this.counters.get(id) ?? 0) + Number(delta));
        return OK;
      },
      // The TCP filter's periodic report (same module): its tick and its switch to a connection's context.
      proxy_set_tick_period_milliseconds: (ms: number) => ((this.tickPeriodMs = ms), OK),
      proxy_set_effective_context: (id: number) => ((this.effective = id), OK),
      proxy_record_metric: (id: number, value: bigint) => {
        if (this.defined[id] === undefined) return NOT_FOUND;
        this.records.set(id, [...(this.records.get(id) ?? []), Number(value)]);
        return OK;
      },
    };
    const instance = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(path)), { env });
    this.exports = instance.exports as unknown as Exports;
  }

  configure(text: string | Uint8Array): boolean {
    this.configuration = typeof text === 'string' ? encoder.encode(text) : text;
    if (this.#root === 0) {
      this.#root = this.#next++;
      this.exports.proxy_on_context_create(this.#root, 0);
      this.exports.proxy_on_vm_start(this.#root, 0);
    }
    return this.exports.proxy_on_configure(this.#root, this.configuration.length) === 1;
  }

  /** One whole stream: request headers, response headers, log, delete. */
  stream(request: Array<[string, string]>, response: Array<[string, string]>, props: StreamProps): { request: Array<[string, string]>; response: Array<[string, string]> } {
    const id = this.#next++;
    this.request = [...request];
    this.response = [...response];
    this.props = props;
    this.exports.proxy_on_context_create(id, this.#root);
    this.exports.proxy_on_request_headers(id, request.length, 1);
    this.exports.proxy_on_response_headers(id, response.length, 1);
    this.exports.proxy_on_log(id);
    this.exports.proxy_on_delete(id);
    return { request: this.request, response: this.response };
  }

  /** A TCP connection opened under the root (its properties: `props`); returns its id. */
  open(props: StreamProps): number {
    const id = this.#next++;
    this.connProps.set(id, props);
    this.effective = id;
    this.exports.proxy_on_context_create(id, this.#root);
    this.exports.proxy_on_new_connection(id);
    return id;
  }

  data(id: number, downstream: number, upstream: number): void {
    this.effective = id;
    if (downstream > 0) this.exports.proxy_on_downstream_data(id, downstream, 0);
    if (upstream > 0) this.exports.proxy_on_upstream_data(id, upstream, 0);
  }

  /** Bytes through one callback (`upstream`: proxy_on_upstream_data): what the buffer holds after the module's edits. */
  flow(id: number, upstream: boolean, bytes: Uint8Array): Uint8Array {
    this.effective = id;
    this.dataType = upstream ? 3 : 2;
    this.dataBuffer = bytes;
    if (upstream) this.exports.proxy_on_upstream_data(id, bytes.length, 0);
    else this.exports.proxy_on_downstream_data(id, bytes.length, 0);
    this.dataType = -1;
    return this.dataBuffer;
  }

  /** The connection's end as Envoy calls it: close, log, delete. */
  end(id: number): void {
    this.effective = id;
    this.exports.proxy_on_downstream_connection_close(id, 2);
    this.exports.proxy_on_log(id);
    this.exports.proxy_on_delete(id);
    this.connProps.delete(id);
  }

  tick(): void {
    this.effective = this.#root;
    this.exports.proxy_on_tick(this.#root);
  }

  /** Counters by their decoded tags (the bootstrap's regexes, as Envoy applies them). */
  series(): Array<{ name: string; tags: Record<string, string>; value: number }> {
    return [...this.counters].map(([id, value]) => ({ ...extract(this.defined[id]![1]), value }));
  }
}

function extract(name: string): { name: string; tags: Record<string, string> } {
  const tags: Record<string, string> = {};
  let rest = name;
  for (const t of istioStatsTags(['mesh_id'])) {
    const m = new RegExp(t.regex as string).exec(rest);
    if (m === null || m[1] === undefined) continue;
    tags[t.tag_name as string] = m[2]!;
    rest = rest.replace(m[1], '');
  }
  return { name: rest, tags };
}

const GATEWAY = workloadMetadata({ name: 'ingress', namespace: 'istio-system', labels: { app: 'istio-ingressgateway' } });
const REVIEWS = workloadMetadata({ name: 'reviews-v1', namespace: 'bookinfo', labels: { app: 'reviews', version: 'v1' } });
const OUT = 'outbound|9080||reviews.bookinfo.svc.cluster.local';

describe('wasmesh_stats filter', () => {
  it('source reporter: sends its metadata to mesh clusters only, takes the callee\'s from the response, names it', () => {
    const h = new StatsHost();
    expect(h.configure(encodeStatsPluginConfig({ reporter: 'source', self: GATEWAY, peers: [REVIEWS] }))).toBe(true);
    const r = h.stream([['x-wasmesh-cluster', OUT], ['x-envoy-peer-metadata', 'forged']], [['x-envoy-peer-metadata', encodePeerMetadata(REVIEWS)], ['x-envoy-peer-metadata-id', REVIEWS.nodeId]],
      { code: 200, durationMs: 7, requestSize: 120, responseSize: 900, cluster: OUT, host: 'reviews:9080' });
    // The app's forged value is replaced by this workload's own.
    expect(new Map(r.request).get('x-envoy-peer-metadata')).toBe(encodePeerMetadata(GATEWAY));
    expect(new Map(r.request).get('x-envoy-peer-metadata-id')).toBe(GATEWAY.nodeId);
    expect(r.response).toEqual([]);
    // Not a mesh cluster: nothing sent (and an app's own header is still removed).
    const ext = h.stream([['x-wasmesh-cluster', 'PassthroughCluster'], ['x-envoy-peer-metadata-id', 'x']], [], { code: 503, flags: 0x20 | 0x8000, cluster: 'PassthroughCluster' });
    expect(ext.request).toEqual([['x-wasmesh-cluster', 'PassthroughCluster']]);

    const [known, passthrough] = h.series();
    expect(known!.name).toBe('istio_requests_total');
    expect(known!.tags).toMatchObject({
      reporter: 'source', source_workload: 'ingress', source_workload_namespace: 'istio-system', source_app: 'istio-ingressgateway',
      destination_workload: 'reviews-v1', destination_workload_namespace: 'bookinfo', destination_version: 'v1', destination_principal: 'unknown', source_principal: 'unknown',
      destination_service: 'reviews.bookinfo.svc.cluster.local', destination_service_name: 'reviews', destination_service_namespace: 'bookinfo',
      request_protocol: 'http', response_code: '200', grpc_response_status: '', response_flags: '-', connection_security_policy: 'unknown',
    });
    expect(passthrough!.tags).toMatchObject({ destination_workload: 'unknown', destination_service: 'PassthroughCluster', destination_service_name: 'PassthroughCluster', destination_service_namespace: 'unknown', response_code: '503', response_flags: 'UF,URX' });
    // The histograms of the first series got the stream's figures.
    const ids = (suffix: string): number[] => h.defined.flatMap(([, n], id) => (extract(n).name === suffix ? [id] : []));
    expect(ids('istio_request_duration_milliseconds').map((id) => h.records.get(id))).toEqual([[7], [0]]);
    expect(ids('istio_request_bytes').map((id) => h.records.get(id))).toEqual([[120], [0]]);
    expect(ids('istio_response_bytes').map((id) => h.records.get(id))).toEqual([[900], [0]]);
    expect(h.defined.map(([t]) => t)).toEqual([0, 0, 0, 2, 2, 2, 0, 2, 2, 2]);
  });

  it('destination reporter: takes the caller\'s metadata out, answers a mesh caller only, service from the authority', () => {
    const h = new StatsHost();
    expect(h.configure(encodeStatsPluginConfig({ reporter: 'destination', self: REVIEWS, peers: [GATEWAY] }))).toBe(true);
    const r = h.stream([['x-envoy-peer-metadata', encodePeerMetadata(GATEWAY)], ['x-envoy-peer-metadata-id', GATEWAY.nodeId], [':authority', 'Reviews:9080']], [], { code: 200, host: 'Reviews:9080', mtls: true, peerUri: 'spiffe://cluster.local/ns/istio-system/sa/ingress' });
    expect(r.request).toEqual([[':authority', 'Reviews:9080']]);
    expect(new Map(r.response).get('x-envoy-peer-metadata')).toBe(encodePeerMetadata(REVIEWS));
    const plain = h.stream([], [], { code: 404, host: '10.0.0.1:9080' });
    expect(plain.response).toEqual([]);
    h.stream([], [], { code: 200, host: 'reviews.bookinfo.svc.cluster.local' });
    h.stream([['x-envoy-peer-metadata', 'bm90IGtub3du']], [], { code: 200, host: 'reviews.other' });
    // A SAN the name encoding cannot carry is not written; without mTLS no principal is taken.
    h.stream([], [], { code: 201, host: 'reviews', mtls: true, peerUri: 'spiffe://x;.;reporter=.=evil' });
    h.stream([], [], { code: 202, host: 'reviews', mtls: false, peerUri: 'spiffe://cluster.local/ns/a/sa/b' });
    const tags = h.series().map((s) => s.tags);
    expect(tags[4]).toMatchObject({ response_code: '201', source_principal: 'unknown', reporter: 'destination', connection_security_policy: 'mutual_tls' });
    expect(tags[5]).toMatchObject({ response_code: '202', source_principal: 'unknown', connection_security_policy: 'none' });
    expect(tags[0]).toMatchObject({ reporter: 'destination', source_workload: 'ingress', source_principal: 'spiffe://cluster.local/ns/istio-system/sa/ingress', destination_principal: 'unknown', destination_workload: 'reviews-v1', destination_service: 'reviews.bookinfo.svc.cluster.local', destination_service_name: 'reviews', destination_service_namespace: 'bookinfo', connection_security_policy: 'mutual_tls' });
    expect(tags[1]).toMatchObject({ source_workload: 'unknown', source_principal: 'unknown', destination_service: '10.0.0.1', destination_service_name: '10.0.0.1', destination_service_namespace: 'bookinfo', connection_security_policy: 'none', response_code: '404' });
    expect(tags[2]).toMatchObject({ source_workload: 'unknown', destination_service_name: 'reviews', destination_service_namespace: 'bookinfo' });
    expect(tags[3]).toMatchObject({ source_workload: 'unknown', destination_service: 'reviews.other', destination_service_name: 'reviews.other', destination_service_namespace: 'bookinfo' });
  });

  it('refuses a bad configuration (fail closed) with its code, and keeps the last good one', () => {
    const h = new StatsHost();
    expect(h.configure('not a configuration')).toBe(false);
    expect(h.logs.at(-1)).toMatch(/wasmesh_stats: plugin configuration rejected \(wasmesh_stats_config_invalid, 19 bytes\): a line without its newline/);
    const good = encodeStatsPluginConfig({ reporter: 'source', self: GATEWAY, peers: [] });
    expect(h.configure(good.replace('reporter\tsource', 'reporter\tsideways'))).toBe(false);
    expect(h.logs.at(-1)).toMatch(/reporter is neither source nor destination/);
    expect(h.configure(good.replace(/self_source\t[^\n]*\n/, ''))).toBe(false);
    expect(h.logs.at(-1)).toMatch(/a required line is missing/);
    const rejected = h.defined.findIndex(([, n]) => n === 'wasmesh_stats_config_rejected');
    expect(h.counters.get(rejected)).toBe(3);
    expect(h.configure(good)).toBe(true);
    h.stream([], [], { code: 200, cluster: OUT });
    expect(h.series().find((s) => s.name === 'istio_requests_total')?.tags.reporter).toBe('source');
  });

  it('defines a series\' metrics once, and keeps memory flat across requests and updates', () => {
    const h = new StatsHost();
    const config = encodeStatsPluginConfig({ reporter: 'source', self: GATEWAY, peers: [REVIEWS] });
    h.configure(config);
    const resp: Array<[string, string]> = [['x-envoy-peer-metadata', encodePeerMetadata(REVIEWS)]];
    for (let i = 0; i < 2000; i++) h.stream([['x-wasmesh-cluster', OUT]], resp, { code: 200, cluster: OUT });
    const before = h.exports.memory.buffer.byteLength;
    const defined = h.defined.length;
    for (let i = 0; i < 20_000; i++) {
      h.stream([['x-wasmesh-cluster', OUT]], resp, { code: i % 2 === 0 ? 200 : 503, cluster: OUT });
      if (i % 10 === 0) h.configure(config);
    }
    expect(h.exports.memory.buffer.byteLength).toBe(before);
    // One more series (503) of four metrics, plus nothing per request.
    expect(h.defined.length).toBe(defined + 4);
    const total = h.series().filter((s) => s.name === 'istio_requests_total').reduce((n, s) => n + s.value, 0);
    expect(total).toBe(22_000);
  });

  it('destination_service* on the source reporter equal wasmesh\'s (cluster, else authority), for any host (property)', () => {
    const h = new StatsHost();
    h.configure(encodeStatsPluginConfig({ reporter: 'source', self: GATEWAY, peers: [] }));
    const host = fc.stringMatching(/^[A-Za-z0-9.:\-[\]]{0,24}$/);
    let code = 100;
    fc.assert(fc.property(host, fc.boolean(), (authority, viaCluster) => {
      code++;
      const cluster = viaCluster ? `outbound|80||${hostOfAuthority(authority)}` : 'some-local-cluster';
      h.stream([], [], { code, cluster, host: authority });
      const tags = h.series().find((s) => s.tags.response_code === String(code))!.tags;
      const expected = viaCluster ? serviceOfCluster(cluster)! : serviceOfHost(hostOfAuthority(authority));
      expect([tags.destination_service, tags.destination_service_name, tags.destination_service_namespace]).toEqual([expected.service, expected.name, expected.namespace]);
    }), { numRuns: 300 });
  });

  it('an authority carrying the name encoding\'s separators injects no label: the service is unknown', () => {
    const h = new StatsHost();
    h.configure(encodeStatsPluginConfig({ reporter: 'destination', self: REVIEWS, peers: [] }));
    h.stream([], [], { code: 200, host: 'x;.;reporter=.=source;.;source_workload=.=admin;.;' });
    const [s] = h.series();
    expect(s!.tags).toMatchObject({ reporter: 'destination', source_workload: 'unknown', destination_service: 'unknown', destination_service_name: 'unknown' });
    expect(s!.name).toBe('istio_requests_total');
  });

  it('gRPC: request_protocol grpc with the status, message counters from grpc_stats\' filter state, defined on a series\' first messages', () => {
    const h = new StatsHost();
    h.configure(encodeStatsPluginConfig({ reporter: 'source', self: GATEWAY, peers: [] }));
    h.stream([], [], { code: 200, cluster: OUT, grpcStats: '2,4', grpcStatus: 0 });
    h.stream([], [], { code: 200, cluster: OUT, grpcStats: '1,1', grpcStatus: 0 });
    // A gRPC call without messages (a local reply) on its own series: no message counters yet.
    h.stream([], [], { code: 200, cluster: OUT, grpcStats: '0,0', grpcStatus: 14, flags: 0x2 });
    // A value not of the "<n>,<n>" form still makes the request gRPC, with no messages.
    h.stream([], [], { code: 200, cluster: OUT, grpcStats: '2;4', grpcStatus: 3 });
    h.stream([], [], { code: 200, cluster: OUT });
    const by = (name: string, status: string): number | undefined => h.series().find((x) => x.name === name && x.tags.grpc_response_status === status)?.value;
    expect(by('istio_requests_total', '0')).toBe(2);
    expect(by('istio_request_messages_total', '0')).toBe(3);
    expect(by('istio_response_messages_total', '0')).toBe(5);
    expect(h.series().find((x) => x.tags.grpc_response_status === '0')!.tags.request_protocol).toBe('grpc');
    expect(by('istio_requests_total', '14')).toBe(1);
    expect(h.defined.some(([, n]) => n.includes('grpc_response_status=.=14;') && n.endsWith('messages_total'))).toBe(false);
    expect(by('istio_requests_total', '3')).toBe(1);
    const http = h.series().filter((x) => x.tags.request_protocol === 'http');
    expect(http.map((x) => [x.name, x.tags.grpc_response_status])).toEqual([['istio_requests_total', '']]);
  });

  it('applies Telemetry overrides when it defines a series: disabled metrics, removed and upserted labels; merged series share a name', () => {
    const h = new StatsHost();
    const overrides = { client: { REQUEST_SIZE: { disabled: true, remove: [], upsert: [] }, REQUEST_COUNT: { disabled: false, remove: ['response_code'], upsert: [['mesh_id', 'm1'], ['destination_cluster', 'east']] as Array<[string, string]> } }, server: {} };
    expect(h.configure(encodeStatsPluginConfig({ reporter: 'source', self: GATEWAY, peers: [], overrides, newLabels: true }))).toBe(true);
    h.stream([], [], { code: 200, cluster: OUT });
    h.stream([], [], { code: 503, cluster: OUT });
    const names = h.defined.map(([, n]) => n);
    expect(names.some((n) => n.endsWith('istio_request_bytes'))).toBe(false);
    const counts = names.filter((n) => n.endsWith('istio_requests_total'));
    // One name for both codes: Envoy's stat is the same, the counts add up.
    expect(new Set(counts).size).toBe(1);
    const count = extract(counts[0]!);
    expect(count.tags.response_code).toBeUndefined();
    expect(count.tags).toMatchObject({ mesh_id: 'm1', destination_cluster: 'east', reporter: 'source' });
    // The other metrics keep Istio's labels.
    expect(extract(names.find((n) => n.endsWith('istio_response_bytes'))!).tags).toMatchObject({ response_code: '200', destination_cluster: 'unknown' });
    expect(h.series().filter((x) => x.name === 'istio_requests_total').reduce((n, x) => n + x.value, 0)).toBe(2);
  });

  it('refuses malformed override and tcp_reporting_ms lines with their reason', () => {
    const h = new StatsHost();
    const good = encodeStatsPluginConfig({ reporter: 'source', self: GATEWAY, peers: [] });
    for (const [line, why] of [
      ['disable\tNO_SUCH_METRIC', 'an override names an unknown metric'],
      ['remove\tREQUEST_COUNT', 'remove and upsert need a label'],
      ['upsert\tREQUEST_COUNT\tmesh_id', 'upsert needs a label and a value, remove a label only'],
      ['remove\tREQUEST_COUNT\tmesh_id\tx', 'upsert needs a label and a value, remove a label only'],
      ['disable\tREQUEST_COUNT\tx', 'disable takes a metric only'],
      ['tcp_reporting_ms\t5s', 'tcp_reporting_ms is not a number of milliseconds'],
      ['tcp_reporting_ms\t', 'tcp_reporting_ms is not a number of milliseconds'],
    ]) {
      expect(h.configure(`${good}${line}\n`), line).toBe(false);
      expect(h.logs.at(-1)).toContain(why);
    }
    expect(h.configure(`${good}disable\tTCP_SENT_BYTES\ntcp_reporting_ms\t250\n`)).toBe(true);
  });
});

describe('wasmesh_tcp_stats filter', () => {
  const tcpHost = (o: Partial<Parameters<typeof encodeStatsPluginConfig>[0]> = {}): StatsHost => {
    const h = new StatsHost();
    h.rootId = 'wasmesh_tcp_stats';
    expect(h.configure(encodeStatsPluginConfig({ reporter: 'source', self: GATEWAY, peers: [], ...o }))).toBe(true);
    return h;
  };
  const TCP_OUT = 'outbound|7000||echo.example';
  const value = (h: StatsHost, name: string, flags = '-'): number | undefined => h.series().find((x) => x.name === name && x.tags.response_flags === flags)?.value;

  it('reports an open connection\'s bytes on the tick once the upstream is connected, the rest at its end, and closes it once', () => {
    const h = tcpHost({ tcpReportingMs: 1000 });
    expect(h.tickPeriodMs).toBe(1000);
    const props: StreamProps = { cluster: TCP_OUT };
    const id = h.open(props);
    h.data(id, 10, 0);
    // Not connected yet: nothing counted.
    h.tick();
    expect(h.series()).toEqual([]);
    props.upstreamAddress = '127.0.0.1:7000';
    h.data(id, 0, 20);
    h.tick();
    expect(value(h, 'istio_tcp_connections_opened_total')).toBe(1);
    expect(value(h, 'istio_tcp_received_bytes_total')).toBe(10);
    expect(value(h, 'istio_tcp_sent_bytes_total')).toBe(20);
    expect(value(h, 'istio_tcp_connections_closed_total')).toBeUndefined();
    h.tick(); // nothing new: nothing added
    h.data(id, 5, 7);
    h.end(id);
    expect(value(h, 'istio_tcp_connections_opened_total')).toBe(1);
    expect(value(h, 'istio_tcp_connections_closed_total')).toBe(1);
    expect(value(h, 'istio_tcp_received_bytes_total')).toBe(15);
    expect(value(h, 'istio_tcp_sent_bytes_total')).toBe(27);
    const tags = h.series()[0]!.tags;
    expect(tags).toMatchObject({ reporter: 'source', source_workload: 'ingress', destination_workload: 'unknown', destination_service: 'echo.example', request_protocol: 'tcp', response_flags: '-', connection_security_policy: 'unknown' });
    expect(tags.response_code).toBeUndefined();
    expect(h.defined.map(([, n]) => extract(n).name)).toEqual(expect.arrayContaining(['istio_tcp_connections_opened_total', 'istio_tcp_connections_closed_total', 'istio_tcp_sent_bytes_total', 'istio_tcp_received_bytes_total']));
  });

  it('a connection that ends unreported counts as opened and closed with its flags; the destination reporter names an mTLS peer', () => {
    const h = tcpHost();
    expect(h.tickPeriodMs).toBe(5000);
    h.end(h.open({ cluster: TCP_OUT, flags: 0x20 | 0x8000 }));
    expect(value(h, 'istio_tcp_connections_opened_total', 'UF,URX')).toBe(1);
    expect(value(h, 'istio_tcp_connections_closed_total', 'UF,URX')).toBe(1);
    const d = tcpHost({ reporter: 'destination', self: REVIEWS });
    const id = d.open({ cluster: 'inbound|9080||', mtls: true, peerUri: 'spiffe://cluster.local/ns/istio-system/sa/ingress' });
    d.data(id, 3, 4);
    d.end(id);
    expect(d.series()[0]!.tags).toMatchObject({ reporter: 'destination', source_workload: 'unknown', source_principal: 'spiffe://cluster.local/ns/istio-system/sa/ingress', destination_workload: 'reviews-v1', destination_service: 'unknown', connection_security_policy: 'mutual_tls' });
  });

  it('keeps memory flat across connections, defines a series\' metrics once, and honours a disabled TCP metric', () => {
    const h = tcpHost({ tcpReportingMs: 1000 });
    const run = (n: number): void => {
      for (let i = 0; i < n; i++) {
        const id = h.open({ cluster: TCP_OUT, upstreamAddress: '127.0.0.1:7000' });
        h.data(id, 100, 200);
        if (i % 7 === 0) h.tick();
        h.end(id);
      }
    };
    run(2000);
    const before = h.exports.memory.buffer.byteLength;
    const defined = h.defined.length;
    run(20_000);
    expect(h.exports.memory.buffer.byteLength).toBe(before);
    expect(h.defined.length).toBe(defined);
    expect(value(h, 'istio_tcp_connections_closed_total')).toBe(22_000);
    expect(value(h, 'istio_tcp_sent_bytes_total')).toBe(22_000 * 200);
    const off = new StatsHost();
    off.rootId = 'wasmesh_tcp_stats';
    expect(off.configure(`${encodeStatsPluginConfig({ reporter: 'source', self: GATEWAY, peers: [] })}disable\tTCP_SENT_BYTES\n`)).toBe(true);
    const id = off.open({ cluster: TCP_OUT });
    off.data(id, 1, 2);
    off.end(id);
    expect(off.series().map((x) => x.name).sort()).toEqual(['istio_tcp_connections_closed_total', 'istio_tcp_connections_opened_total', 'istio_tcp_received_bytes_total']);
  });
});

describe('wasmesh_tcp_stats: Istio\'s TCP metadata exchange (filters/stats/tcp-exchange.ts)', () => {
  const GW_URI = 'spiffe://cluster.local/ns/istio-system/sa/ingress';
  const REVIEWS_URI = 'spiffe://cluster.local/ns/bookinfo/sa/reviews';
  const GW = workloadMetadata({ name: 'ingress', namespace: 'istio-system', labels: { app: 'istio-ingressgateway' }, nodeId: 'router~10.0.0.1~ingress-1.istio-system~istio-system.svc.cluster.local', principal: GW_URI });
  const REV = workloadMetadata({ name: 'reviews-v1', namespace: 'bookinfo', labels: { app: 'reviews', version: 'v1' }, nodeId: 'sidecar~10.0.0.2~reviews-v1-1.bookinfo~bookinfo.svc.cluster.local', principal: REVIEWS_URI });
  const host = (o: Partial<Parameters<typeof encodeStatsPluginConfig>[0]>): StatsHost => {
    const h = new StatsHost();
    h.rootId = 'wasmesh_tcp_stats';
    expect(h.configure(encodeStatsPluginConfig({ reporter: 'destination', self: REV, peers: [GW, REV], tcpExchange: true, ...o }))).toBe(true);
    return h;
  };
  const ascii = (s: string): Uint8Array => encoder.encode(s);
  const concat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(parts));
  const tagsOf = (h: StatsHost): Record<string, string> => h.series().find((x) => x.name === 'istio_tcp_connections_closed_total')!.tags;
  const own = (h: StatsHost, name: string): number | undefined => h.series().find((x) => x.name === name)?.value;

  it('destination: the client\'s exchange is taken off however its reads split it, names the peer; ours goes in front of the first reply (property)', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 400 }), { maxLength: 8 }), (cuts) => {
      const h = host({});
      const stream = concat(encodeExchange(GW), ascii('*1\r\n$4\r\nPING\r\n'));
      const id = h.open({ cluster: 'inbound|6379||', mtls: true, peerUri: GW_URI, upstreamAddress: '127.0.0.1:6379' });
      const at = [...new Set(cuts.filter((c) => c < stream.length))].sort((a, b) => a - b);
      let prev = 0;
      const out: Uint8Array[] = [];
      for (const c of [...at, stream.length]) {
        out.push(h.flow(id, false, stream.subarray(prev, c)));
        prev = c;
      }
      expect(Buffer.concat(out).toString()).toBe('*1\r\n$4\r\nPING\r\n');
      const reply = h.flow(id, true, ascii('+PONG\r\n'));
      expect(Buffer.from(reply)).toEqual(Buffer.concat([encodeExchange(REV), Buffer.from('+PONG\r\n')]));
      // Only once.
      expect(Buffer.from(h.flow(id, true, ascii('+OK\r\n'))).toString()).toBe('+OK\r\n');
      h.end(id);
      expect(tagsOf(h)).toMatchObject({ source_workload: 'ingress', source_app: 'istio-ingressgateway', source_principal: GW_URI, destination_workload: 'reviews-v1' });
      expect(own(h, 'istio_tcp_received_bytes_total')).toBe(14);
      expect(own(h, 'istio_tcp_sent_bytes_total')).toBe(12);
    }), { numRuns: 40 });
  });

  it('destination: the series waits on the tick until the exchange settled', () => {
    const h = host({ tcpReportingMs: 1000 });
    const id = h.open({ cluster: 'inbound|6379||', mtls: true, peerUri: GW_URI, upstreamAddress: '127.0.0.1:6379' });
    const ex = encodeExchange(GW);
    h.flow(id, false, ex.subarray(0, 10));
    h.tick();
    expect(h.series()).toEqual([]);
    h.flow(id, false, ex.subarray(10));
    h.tick();
    expect(h.series().find((x) => x.name === 'istio_tcp_connections_opened_total')!.tags).toMatchObject({ source_workload: 'ingress' });
  });

  it('a stream that does not start with the magic is application data, given back whole at the first byte that differs', () => {
    const h = host({});
    const id = h.open({ cluster: 'inbound|6379||', mtls: true, peerUri: GW_URI });
    // A prefix of the magic is held, then handed back with the byte that differs.
    expect(h.flow(id, false, Uint8Array.from([0x3d, 0x23]))).toHaveLength(0);
    expect(Buffer.from(h.flow(id, false, ascii('xy')))).toEqual(Buffer.from([0x3d, 0x23, 0x78, 0x79]));
    expect(Buffer.from(h.flow(id, false, ascii('more'))).toString()).toBe('more');
    h.end(id);
    // Named by its certificate (GW's principal is unique among the peers).
    expect(tagsOf(h)).toMatchObject({ source_workload: 'ingress', source_principal: GW_URI });
    expect(own(h, 'wasmesh_tcp_metadata_exchange_initial_header_not_found')).toBe(1);
  });

  it('a header announcing more than 60 KiB closes the connection, logged and counted; nothing passes', () => {
    const h = host({});
    const id = h.open({ cluster: 'inbound|6379||', mtls: true, peerUri: GW_URI });
    const head = Buffer.alloc(8);
    head.writeUInt32BE(0x3d230467, 0);
    head.writeUInt32BE(61441, 4);
    expect(h.flow(id, false, concat(head, ascii('data')))).toHaveLength(0);
    expect(h.closed).toEqual([2]);
    expect(h.logs.join('\n')).toMatch(/TCP metadata exchange of 61441 bytes, over the limit of 61440: connection closed/);
    expect(own(h, 'wasmesh_tcp_metadata_exchange_too_large')).toBe(1);
    // 60 KiB itself is taken (an Any the configuration does not list: the peer stays unknown).
    const ok = host({});
    const id2 = ok.open({ cluster: 'inbound|6379||' });
    const head2 = Buffer.alloc(8);
    head2.writeUInt32BE(0x3d230467, 0);
    head2.writeUInt32BE(61440, 4);
    expect(Buffer.from(ok.flow(id2, false, concat(head2, new Uint8Array(61440), ascii('x')))).toString()).toBe('x');
    expect(ok.closed).toEqual([]);
    expect(own(ok, 'wasmesh_tcp_metadata_exchange_unrecognised')).toBe(1);
  });

  it('source: ours in front of the first bytes to an upstream with a mesh certificate, the upstream\'s taken off its first bytes (a server-first greeting too)', () => {
    const h = host({ reporter: 'source', self: GW });
    const id = h.open({ cluster: 'outbound|3306||reviews.bookinfo.svc.cluster.local', upstreamAddress: '10.0.0.2:3306', upstreamUri: REVIEWS_URI });
    // Server-first: the greeting (with the server's exchange) comes before any client byte.
    expect(Buffer.from(h.flow(id, true, concat(encodeExchange(REV), ascii('GREETING')))).toString()).toBe('GREETING');
    expect(Buffer.from(h.flow(id, false, ascii('LOGIN')))).toEqual(Buffer.concat([encodeExchange(GW), Buffer.from('LOGIN')]));
    h.end(id);
    expect(tagsOf(h)).toMatchObject({ reporter: 'source', destination_workload: 'reviews-v1', destination_version: 'v1', destination_principal: REVIEWS_URI });
  });

  it('source: a plaintext upstream (no certificate) gets no header and its bytes are untouched', () => {
    const h = host({ reporter: 'source', self: GW });
    const id = h.open({ cluster: 'outbound|80||plain.example', upstreamAddress: '10.0.0.9:80' });
    expect(Buffer.from(h.flow(id, false, ascii('GET')))).toEqual(Buffer.from('GET'));
    expect(Buffer.from(h.flow(id, true, encodeExchange(REV)))).toEqual(encodeExchange(REV));
  });

  it('without tcp_exchange the filter edits nothing', () => {
    const h = host({ tcpExchange: false });
    const id = h.open({ cluster: 'inbound|6379||', mtls: true, peerUri: GW_URI });
    expect(Buffer.from(h.flow(id, false, encodeExchange(GW)))).toEqual(encodeExchange(GW));
    expect(Buffer.from(h.flow(id, true, ascii('+OK')))).toEqual(Buffer.from('+OK'));
  });

  it('refuses malformed exchange lines with their reason', () => {
    const base = encodeStatsPluginConfig({ reporter: 'destination', self: REV, peers: [] });
    for (const [line, why] of [
      ['peer_tcp\tabcd', 'peer_tcp before any peer line'],
      ['tcp_exchange\tzz', 'tcp_exchange is not the hex of an exchange'],
      ['tcp_exchange\t3d23', 'tcp_exchange is not the hex of an exchange'],
    ] as const) {
      const h = new StatsHost();
      h.rootId = 'wasmesh_tcp_stats';
      expect(h.configure(`${base}${line}\n`)).toBe(false);
      expect(h.logs.join('\n')).toContain(why);
    }
    const withPeer = encodeStatsPluginConfig({ reporter: 'destination', self: REV, peers: [GW], tcpExchange: true });
    const h = new StatsHost();
    h.rootId = 'wasmesh_tcp_stats';
    expect(h.configure(`${withPeer}peer_tcp\t00\n`)).toBe(false);
    expect(h.logs.join('\n')).toContain('two peer_tcp lines for one peer');
  });
});
