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
  configuration = new Uint8Array(0);
  props: StreamProps = {};
  request: Array<[string, string]> = [];
  response: Array<[string, string]> = [];
  #next = 1;
  #root = 0;

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
      const p = this.props;
      switch (path) {
        case 'plugin_root_id': return encoder.encode('wasmesh_stats');
        case 'response\0code': return p.code === undefined ? null : int64(p.code);
        case 'response\0flags': return int64(p.flags ?? 0);
        case 'request\0duration': return int64((p.durationMs ?? 0) * 1_000_000);
        case 'request\0total_size': return int64(p.requestSize ?? 0);
        case 'response\0total_size': return int64(p.responseSize ?? 0);
        case 'xds\0cluster_name': return p.cluster === undefined ? null : encoder.encode(p.cluster);
        case 'request\0host': return p.host === undefined ? null : encoder.encode(p.host);
        case 'connection\0mtls': return new Uint8Array([p.mtls ? 1 : 0]);
        case 'connection\0uri_san_peer_certificate': return p.peerUri === undefined ? null : encoder.encode(p.peerUri);
        default: return null;
      }
    };
    const env = {
      proxy_log: (_level: number, p: number, n: number) => (this.logs.push(str(p, n)), OK),
      proxy_get_buffer_bytes: (type: number, start: number, max: number, retData: number, retSize: number) =>
        type === 7 ? give(this.configuration.subarray(start, start + max), retData, retSize) : NOT_FOUND,
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
      proxy_set_tick_period_milliseconds: () => OK,
      proxy_set_effective_context: () => OK,
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

  /** Counters by their decoded tags (the bootstrap's regexes, as Envoy applies them). */
  series(): Array<{ name: string; tags: Record<string, string>; value: number }> {
    return [...this.counters].map(([id, value]) => ({ ...extract(this.defined[id]![1]), value }));
  }
}

function extract(name: string): { name: string; tags: Record<string, string> } {
  const tags: Record<string, string> = {};
  let rest = name;
  for (const t of istioStatsTags()) {
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
});
