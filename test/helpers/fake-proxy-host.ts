// A proxy-wasm host in JavaScript, just enough of ABI v0.2.1 for the wasmesh filters: it loads
// build/filters/wasmesh-filters.wasm the way Envoy does (env.proxy_* imports, memory handed out
// through proxy_on_memory_allocate) and records what the filters do, so their decisions,
// refusals and memory use are tested without Envoy (the Envoy tests run the real thing).
import { existsSync, readFileSync } from 'node:fs';
import { defaultFiltersWasmPath } from '../../host/envoy/filters-bootstrap.js';

const OK = 0;
const NOT_FOUND = 1;
const BAD_ARGUMENT = 2;

export interface LocalResponse {
  stream: number;
  status: number;
  details: string;
  body: string;
}

interface Stream {
  headers: Array<[string, string]>;
  paused: boolean;
  resumed: boolean;
}

export interface FilterExports {
  memory: WebAssembly.Memory;
  proxy_on_memory_allocate(size: number): number;
  proxy_on_context_create(id: number, parent: number): void;
  proxy_on_vm_start(root: number, size: number): number;
  proxy_on_configure(root: number, size: number): number;
  proxy_on_tick(root: number): void;
  proxy_on_request_headers(stream: number, count: number, eos: number): number;
  proxy_on_delete(id: number): void;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

let compiled: WebAssembly.Module | null = null;

function filtersModule(): WebAssembly.Module {
  if (compiled) return compiled;
  const path = defaultFiltersWasmPath();
  if (!existsSync(path)) throw new Error(`${path} missing: run npm run build:filters`);
  compiled = new WebAssembly.Module(readFileSync(path));
  return compiled;
}

/** Serializes a header map as the spec's pairs format. */
export function serializePairs(pairs: Array<[string, string]>): Uint8Array {
  const enc = pairs.map(([k, v]) => [encoder.encode(k), encoder.encode(v)] as const);
  const size = 4 + enc.length * 8 + enc.reduce((n, [k, v]) => n + k.length + v.length + 2, 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, enc.length, true);
  let at = 4 + enc.length * 8;
  enc.forEach(([k, v], i) => {
    view.setUint32(4 + i * 8, k.length, true);
    view.setUint32(8 + i * 8, v.length, true);
    out.set(k, at);
    at += k.length + 1;
    out.set(v, at);
    at += v.length + 1;
  });
  return out;
}

/** One VM instance of the filters with a fake host around it. */
export class FakeProxyHost {
  readonly exports: FilterExports;
  readonly logs: Array<{ level: number; message: string }> = [];
  readonly localResponses: LocalResponse[] = [];
  readonly metrics = new Map<string, number>();
  readonly foreignCalls: string[] = [];
  /** Root context id → its tick period (ms), as last set. */
  readonly tickPeriods = new Map<number, number>();
  nowMs = 1_000_000;
  #metricNames: string[] = [];
  #current = 0;
  #rootOf = new Map<number, number>();
  #rootIds = new Map<number, string>();
  #configs = new Map<number, Uint8Array>();
  #streams = new Map<number, Stream>();
  #nextId = 1;
  /** Overrides for tests of malformed host answers. */
  pairsOverride: Uint8Array | null = null;

  constructor() {
    const mem = (): Uint8Array => new Uint8Array(this.exports.memory.buffer);
    const dv = (): DataView => new DataView(this.exports.memory.buffer);
    const str = (p: number, n: number): string => decoder.decode(mem().subarray(p, p + n));
    const give = (bytes: Uint8Array, retData: number, retSize: number): number => {
      // As Envoy: memory for returned data comes from the module's allocator.
      const p = bytes.length === 0 ? 0 : this.exports.proxy_on_memory_allocate(bytes.length);
      if (bytes.length > 0) mem().set(bytes, p);
      dv().setUint32(retData, p, true);
      dv().setUint32(retSize, bytes.length, true);
      return OK;
    };
    const stream = (): Stream | undefined => this.#streams.get(this.#current);
    const env = {
      proxy_log: (level: number, p: number, n: number) => {
        this.logs.push({ level, message: str(p, n) });
        return OK;
      },
      proxy_get_buffer_bytes: (type: number, start: number, max: number, retData: number, retSize: number) => {
        if (type !== 7) return NOT_FOUND;
        const root = this.#rootOf.get(this.#current) ?? this.#current;
        const config = this.#configs.get(root) ?? new Uint8Array(0);
        return give(config.subarray(start, start + max), retData, retSize);
      },
      proxy_get_property: (p: number, n: number, retData: number, retSize: number) => {
        if (str(p, n) !== 'plugin_root_id') return NOT_FOUND;
        const root = this.#rootOf.get(this.#current) ?? this.#current;
        return give(encoder.encode(this.#rootIds.get(root) ?? ''), retData, retSize);
      },
      proxy_get_header_map_pairs: (map: number, retData: number, retSize: number) => {
        const s = stream();
        if (map !== 0 || !s) return BAD_ARGUMENT;
        return give(this.pairsOverride ?? serializePairs(s.headers), retData, retSize);
      },
      proxy_get_header_map_value: (map: number, kp: number, kn: number, retData: number, retSize: number) => {
        const s = stream();
        if (map !== 0 || !s) return BAD_ARGUMENT;
        const key = str(kp, kn);
        const found = s.headers.find(([k]) => k === key);
        if (!found) return NOT_FOUND;
        return give(encoder.encode(found[1]), retData, retSize);
      },
      proxy_replace_header_map_value: (map: number, kp: number, kn: number, vp: number, vn: number) => {
        const s = stream();
        if (map !== 0 || !s) return BAD_ARGUMENT;
        const key = str(kp, kn);
        s.headers = [...s.headers.filter(([k]) => k !== key), [key, str(vp, vn)]];
        return OK;
      },
      proxy_send_local_response: (status: number, dp: number, dn: number, bp: number, bn: number) => {
        this.localResponses.push({ stream: this.#current, status, details: str(dp, dn), body: str(bp, bn) });
        return OK;
      },
      proxy_set_effective_context: (id: number) => {
        if (!this.#streams.has(id) && !this.#rootIds.has(id)) return BAD_ARGUMENT;
        this.#current = id;
        return OK;
      },
      proxy_continue_stream: (type: number) => {
        const s = stream();
        if (type !== 0 || !s) return BAD_ARGUMENT;
        s.resumed = true;
        return OK;
      },
      proxy_set_tick_period_milliseconds: (ms: number) => {
        const root = this.#rootOf.get(this.#current) ?? this.#current;
        this.tickPeriods.set(root, ms);
        return OK;
      },
      proxy_get_current_time_nanoseconds: (ret: number) => {
        dv().setBigUint64(ret, BigInt(this.nowMs) * 1_000_000n, true);
        return OK;
      },
      proxy_define_metric: (type: number, p: number, n: number, ret: number) => {
        const name = str(p, n);
        let id = this.#metricNames.indexOf(name);
        if (id < 0) id = this.#metricNames.push(name) - 1;
        if (!this.metrics.has(name)) this.metrics.set(name, 0);
        dv().setUint32(ret, id, true);
        return type === 0 ? OK : BAD_ARGUMENT;
      },
      proxy_increment_metric: (id: number, delta: bigint) => {
        const name = this.#metricNames[id];
        if (name === undefined) return NOT_FOUND;
        this.metrics.set(name, (this.metrics.get(name) ?? 0) + Number(delta));
        return OK;
      },
      proxy_call_foreign_function: (p: number, n: number, _a: number, _an: number, retData: number, retSize: number) => {
        this.foreignCalls.push(str(p, n));
        dv().setUint32(retData, 0, true);
        dv().setUint32(retSize, 0, true);
        return OK;
      },
    };
    const instance = new WebAssembly.Instance(filtersModule(), { env });
    this.exports = instance.exports as unknown as FilterExports;
  }

  /** Creates a root context for `rootId` and configures it; returns [context id, on_configure result]. */
  startRoot(rootId: string, configuration: Uint8Array): [number, boolean] {
    const id = this.#nextId++;
    this.#rootIds.set(id, rootId);
    this.#configs.set(id, configuration);
    this.#current = id;
    this.exports.proxy_on_context_create(id, 0);
    this.exports.proxy_on_vm_start(id, 0);
    return [id, this.configure(id, configuration)];
  }

  /** Delivers a new configuration to an existing root context. */
  configure(root: number, configuration: Uint8Array): boolean {
    this.#configs.set(root, configuration);
    this.#current = root;
    return this.exports.proxy_on_configure(root, configuration.length) === 1;
  }

  /** Sends request headers through a new stream of `root`; returns the stream id and action (0 Continue, 1 Pause). */
  request(root: number, headers: Array<[string, string]>): { stream: number; action: number; headers: Array<[string, string]> } {
    const id = this.#nextId++;
    const s: Stream = { headers: [...headers], paused: false, resumed: false };
    this.#streams.set(id, s);
    this.#rootOf.set(id, root);
    this.#current = id;
    this.exports.proxy_on_context_create(id, root);
    const action = this.exports.proxy_on_request_headers(id, headers.length, 1);
    s.paused = action === 1;
    return { stream: id, action, headers: s.headers };
  }

  /** Ends a stream (Envoy's proxy_on_delete). */
  end(stream: number): void {
    this.#current = stream;
    this.exports.proxy_on_delete(stream);
    this.#streams.delete(stream);
    this.#rootOf.delete(stream);
  }

  /** Removes a root context. */
  endRoot(root: number): void {
    this.#current = root;
    this.exports.proxy_on_delete(root);
    this.#rootIds.delete(root);
    this.#configs.delete(root);
  }

  /** Fires the root context's tick. */
  tick(root: number): void {
    this.#current = root;
    this.exports.proxy_on_tick(root);
  }

  resumed(stream: number): boolean {
    return this.#streams.get(stream)?.resumed ?? false;
  }

  header(stream: number, name: string): string | undefined {
    return this.#streams.get(stream)?.headers.find(([k]) => k === name)?.[1];
  }

  get memoryBytes(): number {
    return this.exports.memory.buffer.byteLength;
  }
}
