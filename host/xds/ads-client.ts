// A wasmesh proxy's side of ADS (state of the world): one stream to the control plane, the node
// sent on its first request, each response handed to the proxy to apply and then ACKed — or
// NACKed with the proxy's reason, the last good config serving on — and a new stream after
// jittered exponential backoff whenever the control plane is away. Nothing here stops serving:
// the proxy applies a config or keeps the one it has.
import { credentials, makeGenericClientConstructor, type ClientDuplexStream, type ServiceDefinition } from '@grpc/grpc-js';
import { envoyProtos } from './envoy-protos.js';

type Plain = Record<string, unknown>;

/** What the client gives the proxy: one response's resources of one type. */
export interface AdsUpdate {
  typeUrl: string;
  version: string;
  resources: Array<{ type_url: string; value: Uint8Array }>;
}

export interface AdsClientOptions {
  target: { host: string; port: number };
  node: { id: string; cluster: string; metadata: Record<string, unknown> };
  /** The types to subscribe to (wildcard). */
  types: string[];
  /** Applies an update; returns null to ACK, or the reason to NACK (the proxy keeps what it had). */
  apply(update: AdsUpdate): string | null;
  log(level: 'info' | 'warn' | 'error', message: string): void;
  /** Reconnect backoff: first delay and cap (ms), fully jittered; defaults 500 ms and 30 s. */
  backoff?: { baseMs: number; maxMs: number };
}

function service(): ServiceDefinition {
  const root = envoyProtos();
  const req = root.lookupType('envoy.service.discovery.v3.DiscoveryRequest');
  const res = root.lookupType('envoy.service.discovery.v3.DiscoveryResponse');
  return {
    stream: {
      path: '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources',
      requestStream: true,
      responseStream: true,
      requestSerialize: (m: Plain) => Buffer.from(req.encode(req.fromObject(m)).finish()),
      requestDeserialize: (b: Buffer) => req.toObject(req.decode(b)),
      responseSerialize: (m: Plain) => Buffer.from(res.encode(res.fromObject(m)).finish()),
      responseDeserialize: (b: Buffer) => res.toObject(res.decode(b), { longs: String, enums: String, arrays: true, defaults: false }),
    },
  } as unknown as ServiceDefinition;
}

/** Istio's node metadata as a google.protobuf.Struct object (camelCase members: protobufjs's struct.proto). */
function toStruct(v: Record<string, unknown>): Plain {
  const value = (x: unknown): Plain => {
    if (x === null || x === undefined) return { nullValue: 'NULL_VALUE' };
    if (typeof x === 'string') return { stringValue: x };
    if (typeof x === 'number') return { numberValue: x };
    if (typeof x === 'boolean') return { boolValue: x };
    if (Array.isArray(x)) return { listValue: { values: x.map(value) } };
    return { structValue: toStruct(x as Record<string, unknown>) };
  };
  return { fields: Object.fromEntries(Object.entries(v).map(([k, x]) => [k, value(x)])) };
}

export class AdsClient {
  readonly #opts: AdsClientOptions;
  readonly #client: { stream(): ClientDuplexStream<Plain, Plain>; close(): void };
  #call: ClientDuplexStream<Plain, Plain> | null = null;
  #closed = false;
  #attempt = 0;
  #retry: NodeJS.Timeout | null = null;
  /** Per type: the version last applied (ACKed), sent again on a new stream. */
  readonly #applied = new Map<string, string>();
  #connected = false;

  constructor(opts: AdsClientOptions) {
    this.#opts = opts;
    const Client = makeGenericClientConstructor(service(), 'AggregatedDiscoveryService');
    const { host, port } = opts.target;
    this.#client = new Client(`${host.includes(':') ? `[${host}]` : host}:${port}`, credentials.createInsecure(), {
      // The control plane may be away for long: keep trying, never give up the channel.
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
    } as never) as unknown as { stream(): ClientDuplexStream<Plain, Plain>; close(): void };
  }

  /** A stream is open and has received at least one response. */
  get connected(): boolean {
    return this.#connected;
  }

  start(): void {
    this.#open();
  }

  #open(): void {
    if (this.#closed) return;
    const call = this.#client.stream();
    this.#call = call;
    let first = true;
    call.on('data', (res: Plain) => {
      if (this.#call !== call) return;
      this.#attempt = 0;
      this.#connected = true;
      this.#onResponse(call, res);
    });
    const lost = (why: string): void => {
      if (this.#call !== call) return;
      this.#call = null;
      this.#connected = false;
      if (this.#closed) return;
      this.#scheduleReconnect(why);
    };
    call.on('error', (e: { details?: string; message?: string }) => lost(e.details || e.message || 'stream error'));
    call.on('end', () => lost('the control plane ended the stream'));
    for (const type of this.#opts.types) {
      const req: Plain = { type_url: type, version_info: this.#applied.get(type) ?? '' };
      if (first) req.node = { id: this.#opts.node.id, cluster: this.#opts.node.cluster, metadata: toStruct(this.#opts.node.metadata), user_agent_name: 'wasmesh' };
      first = false;
      call.write(req);
    }
  }

  #onResponse(call: ClientDuplexStream<Plain, Plain>, res: Plain): void {
    const typeUrl = String(res.type_url ?? '');
    const version = String(res.version_info ?? '');
    const nonce = String(res.nonce ?? '');
    const resources = ((res.resources as Array<{ type_url: string; value: Uint8Array }> | undefined) ?? []);
    let error: string | null;
    try {
      error = this.#opts.apply({ typeUrl, version, resources });
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    if (error === null) {
      this.#applied.set(typeUrl, version);
      call.write({ type_url: typeUrl, version_info: version, response_nonce: nonce });
    } else {
      this.#opts.log('warn', `xDS: NACK ${typeUrl} version ${version}: ${error}`);
      call.write({ type_url: typeUrl, version_info: this.#applied.get(typeUrl) ?? '', response_nonce: nonce, error_detail: { code: 3, message: error } });
    }
  }

  #scheduleReconnect(why: string): void {
    const { baseMs, maxMs } = this.#opts.backoff ?? { baseMs: 500, maxMs: 30_000 };
    const cap = Math.min(maxMs, baseMs * 2 ** Math.min(this.#attempt, 16));
    this.#attempt++;
    // Full jitter: proxies that lost the same control plane do not all come back at once.
    const delay = Math.floor(Math.random() * cap);
    this.#opts.log('warn', `xDS: ${why}; reconnecting in ${delay} ms (serving the last config meanwhile)`);
    this.#retry = setTimeout(() => {
      this.#retry = null;
      this.#open();
    }, delay);
    this.#retry.unref();
  }

  close(): void {
    this.#closed = true;
    if (this.#retry) clearTimeout(this.#retry);
    const call = this.#call;
    this.#call = null;
    call?.cancel();
    this.#client.close();
  }
}
