// A bare ADS client for the server's tests: opens a SotW or delta stream with the same
// protobufjs codecs, sends requests as plain objects and awaits responses one by one. Streams may
// share a channel (adsChannel: one HTTP/2 connection each); rawAdsStream sends bytes as given.
import { credentials, makeGenericClientConstructor, type ClientDuplexStream, type ServiceDefinition } from '@grpc/grpc-js';
import { envoyProtos } from '../../host/xds/envoy-protos.js';

type Plain = Record<string, unknown>;

function service(): ServiceDefinition {
  const root = envoyProtos();
  const codec = (name: string) => {
    const t = root.lookupType(name);
    return {
      serialize: (m: Plain): Buffer => Buffer.from(t.encode(t.fromObject(m)).finish()),
      deserialize: (b: Buffer): Plain => t.toObject(t.decode(b), { longs: String, enums: String, arrays: true, defaults: false }) as Plain,
    };
  };
  const base = '/envoy.service.discovery.v3.AggregatedDiscoveryService/';
  const sotwReq = codec('envoy.service.discovery.v3.DiscoveryRequest');
  const sotwRes = codec('envoy.service.discovery.v3.DiscoveryResponse');
  const deltaReq = codec('envoy.service.discovery.v3.DeltaDiscoveryRequest');
  const deltaRes = codec('envoy.service.discovery.v3.DeltaDiscoveryResponse');
  return {
    sotw: { path: `${base}StreamAggregatedResources`, requestStream: true, responseStream: true, requestSerialize: sotwReq.serialize, requestDeserialize: sotwReq.deserialize, responseSerialize: sotwRes.serialize, responseDeserialize: sotwRes.deserialize },
    delta: { path: `${base}DeltaAggregatedResources`, requestStream: true, responseStream: true, requestSerialize: deltaReq.serialize, requestDeserialize: deltaReq.deserialize, responseSerialize: deltaRes.serialize, responseDeserialize: deltaRes.deserialize },
  } as unknown as ServiceDefinition;
}

type Client = Record<string, () => ClientDuplexStream<Plain, Plain>> & { close(): void };

/** One channel (its own connection: no subchannel shared with other channels) for many streams. */
export function adsChannel(port: number): Client {
  const Client = makeGenericClientConstructor(service(), 'Ads');
  return new Client(`127.0.0.1:${port}`, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 } as never) as unknown as Client;
}

/**
 * A stream whose requests are bytes sent as they are (garbage, or a request encoded by
 * `encodeRequest`); responses decode as usual. `closed` resolves with the status.
 */
export function rawAdsStream(port: number, protocol: 'sotw' | 'delta'): { write(b: Uint8Array): void; responses: Plain[]; closed: Promise<{ code?: number; details?: string } | null>; cancel(): void } {
  const defs = service() as unknown as Record<string, Record<string, unknown>>;
  const raw = { [protocol]: { ...defs[protocol], requestSerialize: (b: Buffer) => b } } as unknown as ServiceDefinition;
  const Client = makeGenericClientConstructor(raw, 'RawAds');
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure()) as unknown as Record<string, () => ClientDuplexStream<Buffer, Plain>>;
  const call = client[protocol]!();
  const responses: Plain[] = [];
  call.on('data', (m: Plain) => responses.push(m));
  const closed = new Promise<{ code?: number; details?: string } | null>((resolve) => {
    call.on('error', (e: { code?: number; details?: string }) => resolve(e));
    call.on('end', () => resolve(null));
  });
  return { write: (b) => void call.write(Buffer.from(b)), responses, closed, cancel: () => call.cancel() };
}

/** A request encoded with Envoy's protos (for rawAdsStream). */
export function encodeRequest(protocol: 'sotw' | 'delta', req: Plain): Uint8Array {
  const t = envoyProtos().lookupType(protocol === 'sotw' ? 'envoy.service.discovery.v3.DiscoveryRequest' : 'envoy.service.discovery.v3.DeltaDiscoveryRequest');
  return t.encode(t.fromObject(req)).finish();
}

export class TestAdsStream {
  readonly #call: ClientDuplexStream<Plain, Plain>;
  readonly #queue: Plain[] = [];
  readonly #waiters: Array<(m: Plain) => void> = [];
  error: { code?: number; details?: string } | null = null;
  readonly closed: Promise<void>;

  /** `at`: the server's port (a channel of its own), or a channel shared with other streams. */
  constructor(at: number | Client, protocol: 'sotw' | 'delta') {
    let client: Client;
    if (typeof at === 'number') {
      const Client = makeGenericClientConstructor(service(), 'Ads');
      client = new Client(`127.0.0.1:${at}`, credentials.createInsecure()) as unknown as Client;
    } else client = at;
    this.#call = client[protocol]!();
    this.#call.on('data', (m: Plain) => {
      const w = this.#waiters.shift();
      if (w) w(m);
      else this.#queue.push(m);
    });
    this.closed = new Promise((resolve) => {
      this.#call.on('error', (e: { code?: number; details?: string }) => {
        this.error = e;
        resolve();
      });
      this.#call.on('end', () => resolve());
    });
  }

  send(req: Plain): void {
    this.#call.write(req);
  }

  /** The next response (rejects after `ms`). */
  next(ms = 3000): Promise<Plain> {
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        const i = this.#waiters.indexOf(w);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(new Error(`no response in ${ms} ms${this.error ? ` (stream error ${this.error.code}: ${this.error.details})` : ''}`));
      }, ms);
      const w = (m: Plain): void => {
        clearTimeout(t);
        resolve(m);
      };
      this.#waiters.push(w);
    });
  }

  /** Resolves true when no response arrives within `ms`. */
  async quiet(ms = 300): Promise<boolean> {
    try {
      await this.next(ms);
      return false;
    } catch {
      return true;
    }
  }

  close(): void {
    this.#call.end();
    this.#call.cancel();
  }

  /** Cancels the call without ending its half first (a client that goes away mid-stream). */
  cancel(): void {
    this.#call.cancel();
  }
}
